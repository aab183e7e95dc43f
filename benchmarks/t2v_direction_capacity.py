"""Can the twin T2V's architecture tie a caption's direction to the direction of time at all? An overfitting test.

    OMP_NUM_THREADS=2 python benchmarks/t2v_direction_capacity.py [--clips 16] [--epochs 60] [--batch 8] [--t-min 0]

Every CPU pre-training of the T2V left its loss blind to a translating clip played backwards under its own caption
(benchmarks/t2v_caption_use.py, "frames reversed, translations"), even one that trained on exactly those pairs
(``priors.t2v_time_reversal``). Too little training, or a model that cannot represent it? This continues the shipped
T2V on a handful of translating training clips of the priors' world (``config/twin_priors.yaml``, whose
``train-priors`` run must exist), each also played backwards under the caption of the opposite direction
(:func:`semvideo.stages.priors.with_time_reversed_translations`), and reads before and after, with paired noise and
timesteps, the loss gap of each clip played backwards under its own caption, per band of the diffusion timestep —
on those training clips (can it fit the direction?) and on as many held-out translating test clips (does what it
fits carry over?). Below t ≈ 700 the noisy clip itself shows which way the object goes, so the caption's direction
can only pay where the noise hides it; a model that represents it opens a gap there on the clips it trains on.
``--t-min`` trains on the noisy timesteps alone (t ≥ t-min), where the direction has to come from the caption.
Writes ``benchmarks/out/t2v_direction_capacity.csv``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from t2v_caption_use import NOISE, clip_losses

from semvideo.config import load_config
from semvideo.data.prepared import PreparedData
from semvideo.data.synthetic.truth import scene_graphs
from semvideo.data.synthetic.world import TRANSLATIONS
from semvideo.embed import load_embeddings
from semvideo.models.priors import encode_frames, load_t2v, load_vae, unet_condition
from semvideo.paths import RunPaths
from semvideo.stages.priors import holistic_tokens, loading_priors_from, with_time_reversed_translations
from semvideo.train import fit

OUT = Path(__file__).parent / "out"


def translating_rows(cfg, split: str, n: int) -> tuple[np.ndarray, list[dict]]:
    """(rows, scene graphs) of the first ``n // 4`` clips of ``split`` moving in each of the four directions."""
    graphs = scene_graphs(RunPaths.from_config(cfg).raw)
    ids = PreparedData.from_config(cfg).split_clips(split)["clip_id"].tolist()
    per_direction = {d: [r for r, c in enumerate(ids) if graphs[c]["motion"] == d] for d in TRANSLATIONS}
    rows = sorted(r for found in per_direction.values() for r in found[: n // len(TRANSLATIONS)])
    return np.asarray(rows), [graphs[ids[r]] for r in rows]


#: bands of the diffusion timestep: the caption's direction can only matter where the noisy clip no longer shows it
BANDS = {"t < 700": (0, 700), "700 ≤ t < 900": (700, 900), "t ≥ 900": (900, 1000)}


def reversal_gap(unet, video: torch.Tensor, embeds: torch.Tensor, draws: int, seed: int) -> dict[str, pd.Series]:
    """Per band of t and clip, mean over ``draws`` paired (t, noise) draws of loss(frames reversed) − loss(as
    trained), relative to the band's mean loss as trained; video (B, C, n, h, w), embeds (B, 77, D)."""
    generator, out = torch.Generator().manual_seed(seed), {}
    for band, (low, high) in BANDS.items():
        gaps, base = [], []
        for _ in range(draws):
            t = torch.randint(low, high, (len(video),), generator=generator)
            noise = torch.randn(video.shape, generator=generator)
            plain = clip_losses(unet, video, embeds, t, noise)
            gaps.append(clip_losses(unet, video.flip(2), embeds, t, noise) - plain)
            base.append(plain)
        out[band] = pd.Series((torch.stack(gaps).mean(0) / torch.stack(base).mean()).numpy())
    return out


def denoising_step(t_min: int):
    """A T2V training step on the ε-prediction loss with t uniform in [t_min, 1000) and no caption dropout."""

    def step(model, batch, generator):
        video, embeds = batch  # (B, C, n, h, w), (B, 77, D)
        noise = torch.randn(video.shape, generator=generator)
        t = torch.randint(t_min, NOISE.config.num_train_timesteps, (len(video),), generator=generator)
        pred = model(NOISE.add_noise(video, noise, t), t, **unet_condition(model, embeds, video.shape[2])).sample
        return {"loss": ((pred - noise) ** 2).mean()}

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path("config/twin_priors.yaml"))
    parser.add_argument("--priors", default="semvideo/assets/twin_priors")
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--draws", type=int, default=8)
    parser.add_argument("--t-min", type=int, default=0, help="train on timesteps t >= this only")
    args = parser.parse_args()
    cfg = loading_priors_from(load_config(args.config), args.priors)
    data, vae, t2v = PreparedData.from_config(cfg), load_vae(cfg), load_t2v(cfg)
    sets = {}
    for split in ("train", "test"):
        rows, graphs = translating_rows(cfg, split, args.clips)
        latents = encode_frames(vae, np.asarray(data.frames(split))[rows])  # (B, n, C, h, w)
        sets[split] = (latents, graphs, np.asarray(load_embeddings(cfg, "holi", split))[rows])
    read = lambda: {split: reversal_gap(t2v, lat.permute(0, 2, 1, 3, 4), torch.from_numpy(emb), args.draws, cfg.seed)
                    for split, (lat, _, emb) in sets.items()}
    before = read()
    latents, graphs, embeds = sets["train"]
    with tempfile.TemporaryDirectory() as folder:
        tokens = holistic_tokens(cfg, Path(folder) / "captions.jsonl")
        clips, captions = with_time_reversed_translations(graphs, latents, embeds, tokens, cfg.fmri.clip_seconds)
        log = fit(t2v, denoising_step(args.t_min), (clips.permute(0, 2, 1, 3, 4).contiguous(), captions),
                  ckpt_dir=Path(folder) / "ckpt", epochs=args.epochs, batch_size=args.batch, lr=cfg.priors.lr,
                  seed=cfg.seed, desc="T2V")
    after = read()
    table = pd.DataFrame([{"clips": split, "when": when, "band": band, "n": len(gap), "reversal gap": gap.mean(),
                           "se": gap.std(ddof=1) / np.sqrt(len(gap))}
                          for when, reads in (("before", before), ("after", after))
                          for split, bands in reads.items() for band, gap in bands.items()])
    last_epoch = log.loc[log["epoch"] == log["epoch"].max(), "loss"]
    table = table.assign(t_min=args.t_min, steps=len(log), last_epoch_loss=last_epoch.mean())
    OUT.mkdir(exist_ok=True)
    table.to_csv(OUT / "t2v_direction_capacity.csv", index=False)
    print(table.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
