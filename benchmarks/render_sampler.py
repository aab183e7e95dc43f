"""The render's sampler and step count against the metrics (issue 20: a multistep solver with fewer steps, where the
metrics hold).

    python benchmarks/render_sampler.py results/twin --samplers ddim:6 dpmsolver++:4 dpmsolver++:3

For each ``scheduler:steps``, renders and scores the finished run's test set again in a sibling folder
``<run>_<scheduler><steps>/`` (every upstream folder hard-linked from the run, so nothing is trained again and the
run itself is never written to): ``python -m semvideo render`` and ``evaluate`` with ``cvr.scheduler`` and
``cvr.num_inference_steps`` set, timed (wall and CPU seconds of the stage processes and their workers). A folder
whose scores exist is read, not rendered again. Prints, per rendered method, each metric's mean over the subjects'
test clips under every sampler, the difference to the first sampler and its paired t-test p over clips.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml
from scipy import stats

from semvideo.config import load_config
from semvideo.metrics.evaluate import METRICS

RENDERED = ("recon", "metrics", "benchmarks", "logs", "notebooks")  # what a variant makes itself


def variant_folder(run: Path, scheduler: str, steps: int) -> Path:
    return run.with_name(f"{run.name}_{scheduler.replace('+', 'p')}{steps}")


def prepare_variant(run: Path, config: str, scheduler: str, steps: int) -> Path:
    """The variant's folder with the run's upstream outputs hard-linked and its config file; returns the config."""
    folder = variant_folder(run, scheduler, steps)
    folder.mkdir(exist_ok=True)
    for source in run.iterdir():
        if source.name not in RENDERED and not (folder / source.name).exists():
            subprocess.run(["cp", "-al", str(source), str(folder)], check=True)
    cfg = load_config(config).model_dump(mode="json")
    cfg.update(name=folder.name, paths={**cfg["paths"], "results": str(folder.parent)})
    cfg["cvr"].update(scheduler=scheduler, num_inference_steps=steps)
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return folder / "config.yaml"


def run_stage(stage: str, config: Path) -> dict:
    """Run one stage in a child process; its wall and CPU seconds (children's user + system, workers included)."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    with open(config.parent / f"{stage}.log", "w") as log:
        subprocess.run([sys.executable, "-m", "semvideo", stage, "--config", str(config)], check=True,
                       stdout=log, stderr=subprocess.STDOUT, env=os.environ)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {f"{stage}_wall_s": round(time.perf_counter() - start, 1), f"{stage}_cpu_s": round(cpu, 1)}


def scores(folder: Path) -> pd.DataFrame:
    return pd.concat([pd.read_csv(f).assign(subject=f.name.removesuffix("_scores.csv"))
                      for f in sorted((folder / "metrics").glob("*_scores.csv"))], ignore_index=True)


def compare(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per (method, metric): the mean under each sampler, and each sampler's difference to the first with the
    paired t-test p over (subject, clip)."""
    reference_name, reference = next(iter(tables.items()))
    paired_tables = {name: reference.merge(table, on=["method", "subject", "clip_id"], suffixes=("_ref", ""))
                     for name, table in tables.items()}
    rows = []
    for method, metric in ((m, metric) for m in reference["method"].unique() for metric in METRICS):
        row = {"method": method, "metric": metric}
        for name, both in paired_tables.items():
            paired = both[both["method"] == method]
            row[name] = paired[metric].mean()
            if name != reference_name:
                row[f"{name} − {reference_name}"] = (paired[metric] - paired[f"{metric}_ref"]).mean()
                row[f"p {name}"] = stats.ttest_rel(paired[metric], paired[f"{metric}_ref"]).pvalue
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished run folder, e.g. results/twin")
    parser.add_argument("--config", default="default", help="the run's config")
    parser.add_argument("--samplers", nargs="+", default=["ddim:6", "dpmsolver++:4"],
                        help="scheduler:steps, the first is the reference")
    parser.add_argument("--methods", nargs="+", default=["SemVideo", "Single caption (BLIP-style)"])
    args = parser.parse_args()

    tables, costs = {}, []
    for sampler in args.samplers:
        scheduler, steps = sampler.split(":")
        config = prepare_variant(args.run, args.config, scheduler, int(steps))
        cost = {"sampler": sampler}
        if not list((config.parent / "metrics").glob("*_scores.csv")):
            cost |= run_stage("render", config) | run_stage("evaluate", config)
        costs.append(cost)
        tables[sampler] = scores(config.parent)
    table = compare(tables)
    table = table[table["method"].isin(args.methods)]
    out = Path("benchmarks/out")
    out.mkdir(exist_ok=True)
    table.to_csv(out / "render_sampler.csv", index=False)
    print(pd.DataFrame(costs).to_string(index=False))
    print(table.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
