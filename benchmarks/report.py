"""Stage costs of a finished Snakemake run, from the ``benchmark:`` files every rule writes.

    python benchmarks/report.py results/twin            # → benchmarks/out/twin_rules.csv and twin_rules.png

Each rule of the workflow records its wall time, peak RSS and CPU time in
``results/<name>/benchmarks/<rule>.tsv`` (Snakemake's ``benchmark:`` directive, measured with psutil), so every
run of the main job doubles as a benchmark; each ``python -m semvideo`` stage adds its device and, on CUDA, its
peak GPU memory (``<command>_device.json``), shown as ``device`` and ``peak_cuda_mb``. This script tabulates them in pipeline order and reports the sum of
wall times (the run's length with ``--cores 1``; less under ``--cores 2``, where jobs overlap) and the largest peak RSS.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


def rule_costs(run_dir: Path) -> pd.DataFrame:
    """One row per rule: rule, wall_s, max_rss_mb, cpu_s (rows sorted by wall time, longest first)."""
    files = sorted((Path(run_dir) / "benchmarks").glob("*.tsv"))
    if not files:
        raise FileNotFoundError(f"{run_dir}/benchmarks: no benchmark files; run `snakemake --cores 2 all` first")
    rows = []
    for path in files:
        tsv = pd.read_csv(path, sep="\t")
        rows.append({"rule": path.stem, "wall_s": float(tsv["s"].iloc[-1]),
                     "max_rss_mb": float(pd.to_numeric(tsv["max_rss"], errors="coerce").iloc[-1]),
                     "cpu_s": float(pd.to_numeric(tsv["cpu_time"], errors="coerce").iloc[-1])})
    costs = pd.DataFrame(rows).sort_values("wall_s", ascending=False, ignore_index=True)
    devices = {p.name.removesuffix("_device.json").replace("-", "_"): json.loads(p.read_text())
               for p in (Path(run_dir) / "benchmarks").glob("*_device.json")}
    if devices:
        costs["device"] = costs["rule"].map(lambda r: devices.get(r, {}).get("device"))
        costs["peak_cuda_mb"] = costs["rule"].map(lambda r: devices.get(r, {}).get("peak_cuda_mb"))
    return costs


def summary(costs: pd.DataFrame) -> dict[str, float]:
    """Total wall time (s, the run's length with one core), total CPU time (s) and the largest peak RSS (MB)."""
    return {"total_wall_s": float(costs["wall_s"].sum()), "total_cpu_s": float(costs["cpu_s"].sum()),
            "peak_rss_mb": float(costs["max_rss_mb"].max())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="results/<name> of a finished run")
    args = parser.parse_args(argv)
    costs = rule_costs(args.run_dir)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    costs.to_csv(out / f"{args.run_dir.name}_rules.csv", index=False)
    import matplotlib

    matplotlib.use("Agg")
    import seaborn as sns

    ax = sns.barplot(costs, y="rule", x="wall_s", color="#9cc3e6")
    ax.set(xlabel="wall time (s)", ylabel="", title=f"{args.run_dir.name}: wall time per rule")
    ax.figure.tight_layout()
    ax.figure.savefig(out / f"{args.run_dir.name}_rules.png", dpi=120)
    print(costs.to_string(index=False))
    print(summary(costs))


if __name__ == "__main__":
    main()
