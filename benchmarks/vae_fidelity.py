"""How fast does the twin VAE learn to keep what the judges see? (issue 18: "the VAE must keep what the judges see")

    OMP_NUM_THREADS=2 python benchmarks/vae_fidelity.py results/twin_priors results/twin/judges/image \
        --init semvideo/assets/twin_priors/vae --steps 300 --every 100 --batch 16 --crop 32 --name shipped+300

Trains a twin VAE (from ``--init`` or from scratch; AdamW, linear warm-up, then constant LR) on the training frames of a prepared twin run
(``RUN/data/frames_train.npy``) and, every ``--every`` steps, reconstructs the first ``--clips`` test clips and has
a twin image judge read category, colour and background on them: the share of the judge's accuracy on the real
clips that the reconstructions keep (the target is 0.9 per attribute), with PSNR/SSIM. ``--deterministic``
decodes the posterior mean during training instead of a posterior sample (:func:`semvideo.models.priors.vae_loss`).
One CSV row per (step, attribute) goes to ``benchmarks/out/vae_fidelity_<name>.csv``; the trained VAE to
``benchmarks/out/vae_<name>/``. The judge may come from another run of the same twin world (same categories,
colours and backgrounds): it reads frames, not a particular world sample.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from diffusers import AutoencoderKL

from semvideo.data.synthetic.truth import scene_graphs
from semvideo.metrics.following import following_table
from semvideo.metrics.judges import TwinJudge, TwinJudgeRunner, judge_labels
from semvideo.models.priors import _to_pixels, build_vae, decode_latents, encode_frames, vae_loss
from semvideo.stages.priors import reconstruction_quality

OUT = Path(__file__).resolve().parent / "out"


def fidelity(vae: AutoencoderKL, judge: TwinJudgeRunner, clips: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Image-judge rows of the real clips and their reconstructions, with the reconstructions' PSNR / SSIM."""
    vae.eval()
    with torch.no_grad():
        recon = decode_latents(vae, encode_frames(vae, clips))
    vae.train()
    table = following_table({"real": clips, "vae": recon}, {"image": judge}, {"image": labels}, ["static"] * len(clips),
                            {"vae": 0.9})
    return table[table["source"] == "vae"].assign(**reconstruction_quality(clips, recon))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("judge", type=Path)
    parser.add_argument("--init", type=Path)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--crop", type=int)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=50, help="steps of linear LR warm-up (a warm start needs it)")
    parser.add_argument("--clips", type=int, default=96)
    parser.add_argument("--deterministic", action="store_true")
    parser.add_argument("--name", required=True)
    args = parser.parse_args()

    frames = np.load(args.run / "data" / "frames_train.npy", mmap_mode="r")
    frames = frames.reshape(-1, *frames.shape[-3:])
    clips_csv = pd.read_csv(args.run / "data" / "clips.csv")
    test_ids = clips_csv[clips_csv["split"] == "test"]["clip_id"].to_numpy()[:args.clips]
    clips = np.asarray(np.load(args.run / "data" / "frames_test.npy", mmap_mode="r")[:args.clips])
    judge = TwinJudgeRunner(TwinJudge.from_pretrained(args.judge))
    labels = judge_labels(scene_graphs(args.run / "raw"), test_ids, list(judge.model.config.head_names),
                          [list(v) for v in judge.model.config.class_names])
    torch.manual_seed(0)
    vae = AutoencoderKL.from_pretrained(args.init) if args.init else build_vae(frames.shape[-2])
    optimiser = torch.optim.AdamW(vae.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda k: min(1.0, (k + 1) / max(args.warmup, 1)))
    generator, rng = torch.Generator().manual_seed(0), np.random.default_rng(0)
    rows, start = [], time.perf_counter()
    for step in range(args.steps + 1):
        if step % args.every == 0:
            rows.append(fidelity(vae, judge, clips, labels).assign(step=step, seconds=time.perf_counter() - start))
            print(rows[-1][["step", "attribute", "accuracy", "share_of_real", "psnr"]].to_string(index=False), flush=True)
        if step == args.steps:
            break
        batch = _to_pixels(frames[np.sort(rng.choice(len(frames), args.batch, replace=False))])
        loss = vae_loss(vae, batch, generator, crop=args.crop, sample_posterior=not args.deterministic)["loss"]
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        optimiser.step()
        warmup.step()
    OUT.mkdir(exist_ok=True)
    pd.concat(rows, ignore_index=True).to_csv(OUT / f"vae_fidelity_{args.name}.csv", index=False)
    vae.save_pretrained(OUT / f"vae_{args.name}")


if __name__ == "__main__":
    main()
