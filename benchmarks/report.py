"""Stage costs of a finished Snakemake run, from the ``benchmark:`` files every rule writes.

    python benchmarks/report.py results/twin            # → benchmarks/out/twin_rules.csv and twin_rules.png
    python benchmarks/report.py results/twin --log .snakemake/log/<run>.snakemake.log   # + when each job ran

Each rule of the workflow records its wall time, peak RSS and CPU time in
``results/<name>/benchmarks/<rule>.tsv`` (Snakemake's ``benchmark:`` directive, measured with psutil), so every
run of the main job doubles as a benchmark; each ``python -m semvideo`` stage adds its device and, on CUDA, its
peak GPU memory (``<command>_device.json``), shown as ``device`` and ``peak_cuda_mb``. This script tabulates them (longest first) and reports the sum of
wall times (the run's length with ``--cores 1``; less under ``--cores 2``, where jobs overlap) and the largest peak RSS.
With ``--log`` (the run's Snakemake output, or the copy Snakemake keeps under ``.snakemake/log/``, where the nested
HCP run of the default twin writes its own beside it) it adds when each job started and finished, in seconds from the
run's first job, and lists the jobs in order of start: under ``--cores 2`` that shows which chain of jobs the run
waited for.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import datetime
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


_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
_START = re.compile(r"^(?:local)?rule (\w+):$")
_FINISH = re.compile(r"^Finished jobid: \d+ \(Rule: (\w+)\)$")


def job_times(log: str) -> pd.DataFrame:
    """When each job of a Snakemake run started and finished: rule, start_s, end_s (seconds from the first time
    stamp of the log; one-second resolution), in order of start. A Snakemake log puts a ``[<date>]`` line before
    each ``rule <name>:`` (``localrule`` for local rules) and ``Finished jobid: <n> (Rule: <name>)`` line."""
    lines = log.splitlines()
    first, start, end = None, {}, {}
    for stamp, event in zip(lines, lines[1:]):
        if not (found := _STAMP.match(stamp.strip())):
            continue
        moment = datetime.strptime(" ".join(found.group(1).split()), "%a %b %d %H:%M:%S %Y")
        first = first or moment
        seconds = (moment - first).total_seconds()
        if rule := _START.match(event.strip()):
            start[rule.group(1)] = seconds
        elif rule := _FINISH.match(event.strip()):
            end[rule.group(1)] = seconds
    if not start:
        raise ValueError("no job start in this log: expected Snakemake's `[<date>]` line before each `rule <name>:`")
    times = pd.DataFrame({"rule": list(start), "start_s": list(start.values())})
    times["end_s"] = times["rule"].map(end)  # NaN: the job did not finish in this log
    return times.sort_values("start_s", kind="stable", ignore_index=True)


def summary(costs: pd.DataFrame) -> dict[str, float]:
    """Total wall time (s, the run's length with one core), total CPU time (s) and the largest peak RSS (MB)."""
    return {"total_wall_s": float(costs["wall_s"].sum()), "total_cpu_s": float(costs["cpu_s"].sum()),
            "peak_rss_mb": float(costs["max_rss_mb"].max())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="results/<name> of a finished run")
    parser.add_argument("--log", type=Path, help="that run's Snakemake log (.snakemake/log/*.snakemake.log)")
    args = parser.parse_args(argv)
    costs = rule_costs(args.run_dir)
    if args.log is not None:
        costs = job_times(args.log.read_text()).merge(costs, on="rule", how="left")  # in order of start
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
