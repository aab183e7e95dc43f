"""Are the twin T2V prior's samples as coherent in time as real clips, and do they move as their captions say?

    OMP_NUM_THREADS=2 python benchmarks/t2v_coherence.py [--t2v semvideo/assets/twin_priors/t2v] [--clips 48]
        [--guidance 1 3 7.5] [--initial-correlation 0 0.9]

Samples T2V clips (20 DDIM steps, from noise) from the true holistic captions of the first ``--clips`` test clips of
the priors' world (``config/twin_priors.yaml``, whose ``train-priors`` run must exist: its embeddings and judges are
read), once per guidance scale and per correlation of the sampler's noise between frames (a sampling-side test: the
frames' noise shares that much variance, whatever the prior was trained with; 0 = as the prior was trained when it
was trained on independent noise). Reports, beside the real clips: the mean absolute frame-to-frame change (uint8
levels), the video judge's motion accuracy, the share of samples it reads as static, and the flow's motion
direction accuracy (translating clips only). Writes ``benchmarks/out/t2v_coherence.csv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from diffusers import UNetMotionModel

from semvideo.config import load_config
from semvideo.data.prepared import PreparedData
from semvideo.data.synthetic.truth import scene_graphs, scene_labels
from semvideo.embed import load_embeddings
from semvideo.metrics.following import motion_direction_following
from semvideo.metrics.judges import attribute_marginals, load_judges
from semvideo.metrics.temporal import frame_change
from semvideo.models.cvr import SemVideoPipeline, clip_generators
from semvideo.models.priors import (
    decode_latents,
    encode_frames,
    load_t2i,
    load_vae,
    make_scheduler,
    unconditional_embedding,
)
from semvideo.paths import RunPaths
from semvideo.stages.priors import loading_priors_from

OUT = Path(__file__).resolve().parent / "out"
SHIPPED = "semvideo/assets/twin_priors"


def judged_motion(judge, clips: np.ndarray) -> np.ndarray:
    """The video judge's motion class (its head's marginal argmax) of each uint8 clip (N, T, H, W, 3)."""
    head = list(judge.model.config.head_names).index("motion")
    marginal = attribute_marginals(judge(clips), judge.model.head_sizes)[head]
    return np.asarray(judge.model.config.class_names[head])[marginal.argmax(1)]


def coherence_row(judge, clips: np.ndarray, motions: np.ndarray, **settings) -> dict:
    """One table row: frame-to-frame change, judge motion accuracy, share read static, flow direction accuracy."""
    read = judged_motion(judge, clips)
    return {**settings, "frame_change": float(frame_change(clips).mean()),
            "judge_motion": float((read == motions).mean()), "read_static": float((read == "static").mean()),
            "flow_direction": motion_direction_following(clips, motions, "")["accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config/twin_priors.yaml")
    parser.add_argument("--t2v", default=f"{SHIPPED}/t2v")
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--guidance", type=float, nargs="+", default=[7.5])
    parser.add_argument("--initial-correlation", type=float, nargs="+", default=[0.0])
    args = parser.parse_args()
    cfg = loading_priors_from(load_config(args.config), SHIPPED)
    vae, t2v = load_vae(cfg), UNetMotionModel.from_pretrained(args.t2v).float().eval()
    pipe = SemVideoPipeline(vae=vae, unet=load_t2i(cfg), motion_unet=t2v, scheduler=make_scheduler())
    pipe.set_progress_bar_config(disable=True)
    data, k = PreparedData.from_config(cfg), args.clips
    truth = np.asarray(data.frames("test")[:k])
    ids = data.split_clips("test")["clip_id"].to_numpy()[:k].astype(str)
    motions = np.asarray(scene_labels(scene_graphs(RunPaths.from_config(cfg).raw), ids, ["motion"])["motion"])
    holi = torch.from_numpy(np.asarray(load_embeddings(cfg, "holi", "test")[:k]))
    uncond = unconditional_embedding(cfg, holi.shape[-1]).expand_as(holi)
    judge = load_judges(cfg).video
    zeros = torch.zeros(k, truth.shape[1], *encode_frames(vae, truth[:1, 0]).shape[1:])
    rows = [coherence_row(judge, truth, motions, source="test clips")]
    for correlation in args.initial_correlation:
        t2v.register_to_config(frame_noise_correlation=correlation)  # the sampler's noise, whatever training used
        for scale in args.guidance:
            latents = pipe.vid2vid(zeros, holi, uncond, 1.0, num_inference_steps=20, guidance_scale=scale,
                                   generator=clip_generators(cfg.seed, range(k)))
            rows.append(coherence_row(judge, decode_latents(vae, latents), motions, source="T2V samples",
                                      guidance=scale, initial_correlation=correlation))
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    OUT.mkdir(exist_ok=True)
    table.to_csv(OUT / "t2v_coherence.csv", index=False)
    print(table.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
