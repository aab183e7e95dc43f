"""Seconds per clip of the CVR pipeline with the default twin's priors and sampler settings, at the torch thread
count of the environment (random motion latents and text embeddings of the shapes the priors take).

    OMP_NUM_THREADS=1 python benchmarks/render_threads.py 16   # 16 clips per pipeline call, 1 thread
    OMP_NUM_THREADS=2 python benchmarks/render_threads.py 16
"""

import sys
import time

import torch

from semvideo.config import load_config
from semvideo.models.cvr import clip_generators, load_pipeline, render_kwargs


def main(batch: int) -> None:
    cfg = load_config("config/default.yaml")
    pipe = load_pipeline(cfg)
    unet = pipe.unet.config  # the latent and text shapes the priors were trained for
    latents = torch.randn(batch, cfg.fmri.frames_per_clip, unet.in_channels, unet.sample_size, unet.sample_size)
    text = torch.randn(batch, 77, unet.cross_attention_dim)
    for _ in range(2):  # the first call includes one-off set-up
        start = time.perf_counter()
        pipe(latents, text, text, generator=clip_generators(cfg.seed, range(batch)), **render_kwargs(cfg))
        print(f"{torch.get_num_threads()} threads, {batch} clips: {(time.perf_counter() - start) / batch:.3f} s per clip")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 16)
