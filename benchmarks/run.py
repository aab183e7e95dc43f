"""Benchmarks: wall time and peak RSS of every compute stage, and how cost grows with the problem size.

    python benchmarks/run.py --config config/default.yaml            # every stage once
    python benchmarks/run.py --config config/smoke.yaml --scaling    # + clips ×1/×2/×4, voxels, frames
    python benchmarks/run.py --config config/smoke.yaml --scaling --sweeps clips voxels --max-factor 2

Writes ``benchmarks/out/stages.csv`` (and ``scaling.csv`` with fitted exponents, ``scaling.png``).
Each stage runs in a fresh process (``benchmarks/measure.py``), so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
#: The compute stages in pipeline order (the names of ``python -m semvideo`` commands).
STAGES = ["generate-twin", "prepare", "caption", "embed", "train-sad", "train-priors", "train-mad",
          "render", "train-judges", "evaluate"]
#: Scaling sweeps: (label, dotted config key, values of the multiplier applied to the base value).
SWEEPS = [("clips", "twin.n_train_segments", [1, 2, 4]),
          ("voxels", "twin.vertex_fraction", [1, 2, 4]),
          ("frames", "fmri.frames_per_clip", [1, 2, 4])]


def run_stage(stage: str, config: Path) -> dict:
    done = subprocess.run([sys.executable, str(HERE / "measure.py"), stage, str(config)], cwd=ROOT, check=False,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"stage {stage} failed on {config}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_pipeline(config: Path, stages: list[str]) -> pd.DataFrame:
    return pd.DataFrame([run_stage(stage, config) for stage in stages])


def scaled_config(base: Path, key: str, factor: float, tag: str) -> Path:
    """A copy of ``base`` with ``key`` multiplied by ``factor`` and its own results folder."""
    cfg = yaml.safe_load(base.read_text())
    section, field = key.split(".")
    from semvideo.config import load_config

    current = getattr(getattr(load_config(base), section), field)
    value = type(current)(min(current * factor, 1.0) if isinstance(current, float) else current * factor)
    cfg.setdefault(section, {})[field] = value
    cfg["name"] = f"{cfg['name']}-bench-{tag}"
    path = OUT / "configs" / f"{cfg['name']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg))
    return path


def fit_exponent(sizes: np.ndarray, seconds: np.ndarray) -> float:
    """Slope of log(time) against log(size): cost ∝ size^exponent."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def run_scaling(base: Path, stages: list[str], base_run: pd.DataFrame, sweeps: list[str],
                max_factor: int) -> pd.DataFrame:
    """Every stage at each factor of each sweep; factor 1 is ``base_run`` (the base config, run once)."""
    rows = []
    for label, key, factors in SWEEPS:
        if label not in sweeps:
            continue
        for factor in (f for f in factors if f <= max_factor):
            run = base_run if factor == 1 else run_pipeline(scaled_config(base, key, factor, f"{label}x{factor}"),
                                                              stages)
            for record in run.to_dict("records"):
                rows.append({"sweep": label, "factor": factor, **record})
    table = pd.DataFrame(rows)
    exponents = (table.groupby(["sweep", "stage"])
                 .apply(lambda g: fit_exponent(g["factor"].to_numpy(float), g["wall_s"].clip(lower=1e-3)),
                        include_groups=False)
                 .rename("exponent").reset_index())
    return table.merge(exponents, on=["sweep", "stage"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/default.yaml", type=Path)
    parser.add_argument("--stages", nargs="*", default=STAGES)
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument("--sweeps", nargs="*", default=[label for label, _, _ in SWEEPS],
                        choices=[label for label, _, _ in SWEEPS])
    parser.add_argument("--max-factor", type=int, default=4, help="largest size multiplier of a sweep")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    stages = run_pipeline(args.config, args.stages)
    stages.to_csv(OUT / "stages.csv", index=False)
    print(stages.to_string(index=False))
    print(f"total wall {stages['wall_s'].sum():.1f} s, peak RSS {stages['peak_rss_mib'].max():.0f} MiB")
    if args.scaling:
        scaling = run_scaling(args.config, args.stages, stages, args.sweeps, args.max_factor)
        scaling.to_csv(OUT / "scaling.csv", index=False)
        plot_scaling(scaling, OUT / "scaling.png")
        print(scaling.drop_duplicates(["sweep", "stage"])[["sweep", "stage", "exponent"]].to_string(index=False))


def plot_scaling(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import seaborn as sns

    grid = sns.relplot(data=table, x="factor", y="wall_s", hue="stage", col="sweep", kind="line", marker="o",
                       facet_kws={"sharey": False}, height=3)
    grid.set(xscale="log", yscale="log")
    grid.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
