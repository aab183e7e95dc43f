"""Does the twin T2V prior use what its caption says, and does it model time at all? A paired denoising test.

    OMP_NUM_THREADS=2 python benchmarks/t2v_caption_use.py [--priors semvideo/assets/twin_priors] [--clips 96]
        [--checkpoint results/twin_priors/priors/.ckpt/t2v/epoch_0012.pt]

Sampling-based following (``priors/following.csv``) says *that* T2V samples ignore the caption's motion, not
*why*. This reads the T2V UNet's own training objective on the test clips of the priors' world
(``config/twin_priors.yaml``, whose ``train-priors`` run must exist) under paired changes — the same clips, noise
and timesteps, only one thing changed:

* **caption, other motion**: the holistic caption of a training clip with the same category, colour and
  background but another motion (what the caption adds about motion);
* **caption, other appearance**: that of a training clip with the same motion but another category or colour;
* **no caption**: the unconditional embedding;
* **frames shuffled** / **frames reversed**: the clip's frames permuted / in reverse order, caption unchanged. A
  prior that denoises each frame alone loses nothing to either; one that models coherent motion loses on the
  shuffle, and one that ties the caption's motion to the direction of time also loses on the reversal; the
  reversal is also read on the translating clips alone (**frames reversed, translations**), where it turns the
  motion into the opposite one (a still, spinning or bouncing clip played backwards may match its caption).

Loss gap = mean over clips of (loss with the change − loss as trained), ± its paired standard error, per band of
timesteps (noisy bands are where layout and motion are decided). ``--checkpoint`` reads the T2V weights of a
``train-priors`` checkpoint instead (a training run in progress; the VAE stays ``--priors``'s). Writes
``benchmarks/out/t2v_caption_use.csv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from diffusers import DDPMScheduler

from semvideo.config import load_config
from semvideo.data.prepared import PreparedData
from semvideo.data.synthetic.truth import scene_graphs, scene_labels
from semvideo.data.synthetic.world import TRANSLATIONS
from semvideo.embed import load_embeddings
from semvideo.models.priors import (
    encode_frames,
    frame_noise,
    frame_noise_correlation,
    load_t2v,
    load_vae,
    make_scheduler,
    unconditional_embedding,
    unet_condition,
)
from semvideo.paths import RunPaths
from semvideo.stages.priors import loading_priors_from

OUT = Path(__file__).resolve().parent / "out"
APPEARANCE = ["category", "colour", "background"]
NOISE = DDPMScheduler.from_config(make_scheduler().config)  # the schedule the priors were trained with
BANDS = {"t < 300": (0, 300), "300 ≤ t < 700": (300, 700), "t ≥ 700": (700, 1000)}


def donor_captions(test: pd.DataFrame, train: pd.DataFrame, same: list[str], differ: list[str],
                   rng: np.random.Generator) -> np.ndarray:
    """For each test clip, the row of a random training clip equal on ``same`` and different on every column of
    ``differ`` (-1 where none exists)."""
    rows = []
    for clip in test.itertuples():
        match = np.ones(len(train), bool)
        for column in same:
            match &= train[column].to_numpy() == getattr(clip, column)
        unlike = np.zeros(len(train), bool)
        for column in differ:
            unlike |= train[column].to_numpy() != getattr(clip, column)
        candidates = np.flatnonzero(match & unlike)
        rows.append(rng.choice(candidates) if len(candidates) else -1)
    return np.asarray(rows)


@torch.no_grad()
def clip_losses(unet, video: torch.Tensor, embeds: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Per-clip ε-prediction MSE of a UNetMotionModel: video (B, C, n, h, w), embeds (B, 77, D), t (B,)."""
    noisy = NOISE.add_noise(video, noise, t)
    pred = unet(noisy, t, **unet_condition(unet, embeds, video.shape[2])).sample
    return ((pred - noise) ** 2).mean(dim=(1, 2, 3, 4))


def paired_losses(unet, video, embeds, donors, uncond, draws: int, seed: int, batch: int) -> pd.DataFrame:
    """Loss of every clip under every condition for ``draws`` (t, noise) draws shared by the conditions."""
    n = video.shape[0]
    shuffle = torch.randperm(video.shape[2], generator=torch.Generator().manual_seed(seed))
    conditions = {
        "as trained": (video, embeds),
        "caption, other motion": (video, donors["motion"]),
        "caption, other appearance": (video, donors["appearance"]),
        "no caption": (video, uncond.expand_as(embeds)),
        "frames shuffled": (video[:, :, shuffle], embeds),
        "frames reversed": (video.flip(2), embeds),
    }
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for draw in range(draws):
        t = torch.randint(0, NOISE.config.num_train_timesteps, (n,), generator=generator)
        noise = frame_noise(video.shape, generator, frame_noise_correlation(unet))  # as the prior was trained
        for name, (x, e) in conditions.items():
            for first in range(0, n, batch):
                part = slice(first, first + batch)
                loss = clip_losses(unet, x[part], e[part], t[part], noise[part])
                rows += [{"draw": draw, "clip": first + i, "t": int(t[first + i]), "condition": name,
                          "loss": float(v)} for i, v in enumerate(loss)]
    return pd.DataFrame(rows)


def gaps(losses: pd.DataFrame, valid: dict[str, np.ndarray]) -> pd.DataFrame:
    """Mean paired loss gap to "as trained" per condition and band of t, with its standard error."""
    wide = losses.pivot_table(index=["draw", "clip", "t"], columns="condition", values="loss").reset_index()
    rows = []
    for condition in [c for c in losses["condition"].unique() if c != "as trained"]:
        ok = wide["clip"].map(dict(enumerate(valid[condition]))) if condition in valid else True
        for band, (low, high) in BANDS.items():
            part = wide[ok & wide["t"].between(low, high - 1)]
            gap = part[condition] - part["as trained"]
            rows.append({"condition": condition, "band": band, "n": len(gap), "gap": gap.mean(),
                         "se": gap.std(ddof=1) / np.sqrt(len(gap)),
                         "relative": gap.mean() / part["as trained"].mean()})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path("config/twin_priors.yaml"))
    parser.add_argument("--priors", default="semvideo/assets/twin_priors")
    parser.add_argument("--checkpoint", type=Path, help="a T2V epoch_NNNN.pt of a train-priors run")
    parser.add_argument("--clips", type=int, default=96)
    parser.add_argument("--draws", type=int, default=6)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    cfg = loading_priors_from(load_config(args.config), args.priors)
    data, graphs = PreparedData.from_config(cfg), scene_graphs(RunPaths.from_config(cfg).raw)
    ids = {split: data.split_clips(split)["clip_id"] for split in ("test", "train")}
    labels = {split: scene_labels(graphs, ids[split], APPEARANCE + ["motion"]) for split in ids}
    test = labels["test"].iloc[: args.clips]
    rng = np.random.default_rng(cfg.seed)
    rows = {"motion": donor_captions(test, labels["train"], APPEARANCE, ["motion"], rng),
            "appearance": donor_captions(test, labels["train"], ["motion"], ["category", "colour"], rng)}
    train_holi = load_embeddings(cfg, "holi", "train")
    holi = torch.from_numpy(np.array(load_embeddings(cfg, "holi", "test")[: args.clips]))
    donors = {k: torch.from_numpy(np.array(train_holi[np.maximum(r, 0)])) for k, r in rows.items()}
    valid = {"caption, other motion": rows["motion"] >= 0, "caption, other appearance": rows["appearance"] >= 0}
    video = encode_frames(load_vae(cfg), np.asarray(data.frames("test")[: args.clips])).permute(0, 2, 1, 3, 4)
    uncond = unconditional_embedding(cfg, holi.shape[-1])
    t2v = load_t2v(cfg)
    if args.checkpoint:
        t2v.load_state_dict(torch.load(args.checkpoint, map_location="cpu", weights_only=False)["model"])
    losses = paired_losses(t2v, video, holi, donors, uncond, args.draws, cfg.seed, args.batch)
    # a translation played backwards moves the other way: the one reversal the caption's direction rules out
    losses = pd.concat([losses, losses[losses["condition"] == "frames reversed"].assign(
        condition="frames reversed, translations")])
    valid["frames reversed, translations"] = test["motion"].isin(list(TRANSLATIONS)).to_numpy()
    table = gaps(losses, valid).assign(priors=str(args.checkpoint or args.priors))
    OUT.mkdir(exist_ok=True)
    table.to_csv(OUT / "t2v_caption_use.csv", index=False)
    print(f"{valid['caption, other motion'].sum()} / {len(test)} clips have a motion donor, "
          f"{valid['caption, other appearance'].sum()} an appearance donor")
    print(table.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
