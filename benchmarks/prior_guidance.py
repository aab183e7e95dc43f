"""How strongly do the shipped twin priors follow their captions at each classifier-free guidance scale?

    OMP_NUM_THREADS=2 python benchmarks/prior_guidance.py 1 3 7.5

Samples T2I and T2V clips from the true captions of the first 96 test clips of the priors' own world
(``config/twin_priors.yaml``, whose ``train-priors`` run must exist: its embeddings and judges are read) with the
shipped priors (``semvideo/assets/twin_priors``), once per guidance scale, and has that world's judges read them
(:func:`semvideo.stages.priors.read_samples`). Prints the judges' accuracy per attribute and scale; writes
``benchmarks/out/prior_guidance.csv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from semvideo.config import load_config
from semvideo.models.priors import load_t2i, load_t2v, load_vae
from semvideo.stages.priors import loading_priors_from, read_samples, sample_priors

OUT = Path(__file__).resolve().parent / "out"
SHIPPED = "semvideo/assets/twin_priors"


def following_at(scale: float, config: Path, clips: int) -> pd.DataFrame:
    """The following table of the shipped priors' samples at one guidance scale."""
    cfg = loading_priors_from(load_config(config), SHIPPED)
    cfg = cfg.model_copy(update={"cvr": cfg.cvr.model_copy(update={"guidance_scale": scale})})
    samples = sample_priors(cfg, load_vae(cfg), load_t2i(cfg), load_t2v(cfg), clips)
    return read_samples(cfg, samples)[1].assign(guidance=scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scales", type=float, nargs="+")
    parser.add_argument("--config", type=Path, default=Path("config/twin_priors.yaml"))
    parser.add_argument("--clips", type=int, default=96)
    args = parser.parse_args()
    table = pd.concat([following_at(s, args.config, args.clips) for s in args.scales], ignore_index=True)
    OUT.mkdir(exist_ok=True)
    table.to_csv(OUT / "prior_guidance.csv", index=False)
    samples = table[table["source"].str.startswith("T2")]
    print(samples.pivot_table(index=["source", "judge", "attribute"], columns="guidance", values="accuracy").round(3))


if __name__ == "__main__":
    main()
