"""One MAD training trial on a finished default-twin run (results/twin): blurry-video SSIM and EPE on the test
clips against the mean-frame baseline and against MAD's own frames averaged per clip (a static video).

    python benchmarks/mad_trials.py '{}'                                   # the configured MAD
    python benchmarks/mad_trials.py '{"epochs": 16}'                       # overrides of the mad section
    python benchmarks/mad_trials.py '{"contrastive_centred": true, "contrastive_weight": 1.0}'

Prints one JSON line. Trains subject 1's full MAD (true Z(C_motion), SAD's Ẑ(C_motion) at test) in a temporary
folder, so the run's own artefacts are untouched.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from semvideo.config import load_config
from semvideo.data.prepared import PreparedData
from semvideo.metrics.pixel import mean_frame, ssim
from semvideo.metrics.temporal import epe
from semvideo.models.mad import build_mad, predict_mad, train_mad
from semvideo.models.priors import decode_latents, load_vae
from semvideo.paths import RunPaths


def trial(overrides: dict, subject: str = "subject1") -> dict:
    base = load_config("config/default.yaml")
    cfg = load_config("config/default.yaml", mad={**base.mad.model_dump(), **overrides})
    paths, data = RunPaths.from_config(cfg), PreparedData.from_config(cfg)
    latents = torch.from_numpy(np.load(paths.mad / "latents_train.npy"))
    bold = {split: np.array(data.bold(subject, split), dtype=np.float32) for split in ("train", "test")}
    semantic = torch.from_numpy(np.load(paths.embeddings / "motion_train.npy").astype(np.float32))
    semantic_test = np.load(paths.sad / "pred" / f"{subject}_motion_refined.npy").astype(np.float32)
    start = time.perf_counter()
    model = build_mad(cfg, bold["train"].shape[1], latents.shape[2:], semantic.shape[-1])
    model.latent_mean.copy_(latents.mean(dim=(0, 1)))
    log = train_mad(model, cfg, bold["train"], semantic, latents, Path(tempfile.mkdtemp()) / "ckpt", desc="trial")
    blurry = decode_latents(load_vae(cfg), torch.from_numpy(predict_mad(model, bold["test"], semantic_test)))
    truth = np.asarray(data.frames("test"))
    baseline_frame = mean_frame(data.frames("train"))
    static = blurry.mean(axis=1, keepdims=True).round().astype(np.uint8)
    last = log[log["epoch"] == log["epoch"].max()]
    return {"overrides": overrides, "seconds": round(time.perf_counter() - start),
            "final_l1": round(float(last["l1"].mean()), 3), "final_contrastive": round(float(last["contrastive"].mean()), 3),
            "ssim": float(ssim(truth, blurry).mean()), "epe": float(epe(truth, blurry).mean()),
            "ssim_mean_frame": float(ssim(truth, np.broadcast_to(baseline_frame, truth.shape)).mean()),
            "epe_mean_frame": float(epe(truth, np.broadcast_to(baseline_frame, truth.shape)).mean()),
            "epe_static_mad": float(epe(truth, np.broadcast_to(static, blurry.shape)).mean())}


if __name__ == "__main__":
    print(json.dumps(trial(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})))
