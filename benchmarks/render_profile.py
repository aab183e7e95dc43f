"""Where one render batch spends its time: the T2I UNet, the T2V UNet and the VAE (issue 20, the render's cost).

    OMP_NUM_THREADS=1 python benchmarks/render_profile.py results/twin --threads 1

Renders the first ``cvr.batch_size`` test clips of ``--subject`` from a finished run's SAD and MAD predictions with
``--config``'s render settings, twice (the first call pays for allocation and warm-up), timing each module's
calls. Prints seconds per module and per clip.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from semvideo.config import load_config
from semvideo.models import priors as priors_lib
from semvideo.models.cvr import clip_generators, load_pipeline, render_kwargs


def timed(costs: dict, name: str, function):
    """``function`` that adds its seconds to ``costs[name]``."""
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            costs[name] += time.perf_counter() - start
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished run folder, e.g. results/twin")
    parser.add_argument("--config", default="default")
    parser.add_argument("--subject", default="subject1")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    pipe = load_pipeline(cfg)
    costs = defaultdict(float)
    pipe.vae.decode = timed(costs, "VAE decode", pipe.vae.decode)
    pipe.vae.encode = timed(costs, "VAE encode", pipe.vae.encode)
    pipe.unet.forward = timed(costs, "T2I UNet", pipe.unet.forward)
    pipe.motion_unet.forward = timed(costs, "T2V UNet", pipe.motion_unet.forward)
    n = cfg.cvr.batch_size
    latents = np.load(args.run / "mad" / "pred" / f"{args.subject}_latents.npy", mmap_mode="r")[:n]
    anchor, holi = (np.load(args.run / "sad" / "pred" / f"{args.subject}_{level}_refined.npy", mmap_mode="r")[:n]
                    for level in ("anchor", "holi"))
    negative = priors_lib.unconditional_embedding(cfg, anchor.shape[-1])
    for attempt in ("first call", "second call"):
        costs.clear()
        start = time.perf_counter()
        pipe(torch.from_numpy(np.array(latents)), torch.from_numpy(np.array(anchor)), torch.from_numpy(np.array(holi)),
             negative_prompt_embeds=negative, generator=clip_generators(cfg.seed, range(n)), **render_kwargs(cfg))
        total = time.perf_counter() - start
        print(f"{attempt}: {total:.2f} s for {n} clips ({total / n:.3f} s per clip, {args.threads} threads)")
        for name, seconds in sorted(costs.items(), key=lambda item: -item[1]):
            print(f"  {name:11s} {seconds:6.2f} s ({seconds / total:.0%})")


if __name__ == "__main__":
    main()
