"""Which renders carry their clip's object category, and which avoid it? A ladder read with the image judge.

    OMP_NUM_THREADS=2 python benchmarks/category_ladder.py --config config/hcp_twin.yaml [--subject 100610]
        [--render "w/o MAD" "Oracle (b): true captions alone"]

For every render of one subject that the run holds (``recon/``; plus MAD's blurry video), the rank of the truth's
category (the image judge's category marginal on the true frames, argmax) in the render's category marginal
(0 = its top category, 1 = its last; mean over frames), against random re-pairings of the same renders with the
truths (:func:`semvideo.metrics.stats.pairing_null`, 2,000 draws): a render that carries its clip's category ranks
it lower than its re-pairing chance (``p_carries``), one that avoids it ranks it higher (``p_avoids``).
``--render`` first renders the named methods of :mod:`semvideo.plan` (ablations, oracle rows) into
``benchmarks/out/category_ladder/`` for runs that have none (e.g. the HCP twin, whose config renders no ladder).
Prints the table and writes ``benchmarks/out/category_ladder_<config name>_<subject>.csv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from semvideo.config import load_config
from semvideo.data.prepared import PreparedData
from semvideo.metrics.judges import attribute_marginals, load_judges
from semvideo.metrics.stats import pairing_null
from semvideo.models.cvr import load_pipeline
from semvideo.plan import recon_path, render_jobs, render_variant
from semvideo.stages.render import render_method

OUT = Path(__file__).resolve().parent / "out"


def category_marginal(judge, clips: np.ndarray) -> np.ndarray:
    """Image judge's category probabilities, mean over frames: uint8 (N, T, H, W, 3) → (N, n_categories)."""
    n, t = clips.shape[:2]
    category = attribute_marginals(judge(clips.reshape(n * t, *clips.shape[2:])), judge.model.head_sizes)[0]
    return category.reshape(n, t, -1).mean(axis=1)


def rank_matrix(truth_category: np.ndarray, render_marginal: np.ndarray) -> np.ndarray:
    """(N_truth, N_render): normalised rank (0 best) of truth i's category in render j's marginal."""
    ranks = np.argsort(np.argsort(-render_marginal, axis=1), axis=1) / (render_marginal.shape[1] - 1)
    return ranks[:, truth_category].T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/default.yaml")
    parser.add_argument("--subject", default=None, help="default: the config's first subject")
    parser.add_argument("--render", nargs="*", default=[], help="methods of semvideo.plan to render first")
    args = parser.parse_args()
    cfg = load_config(args.config)
    subject = args.subject or cfg.subjects[0]
    data = PreparedData.from_config(cfg)
    judge = load_judges(cfg).image
    truth_category = category_marginal(judge, data.frames("test")).argmax(axis=1)
    files = {method: recon_path(cfg, method, subject) for method, s in render_jobs(cfg) if s == subject}
    if args.render:
        pipe, scratch = load_pipeline(cfg), OUT / "category_ladder" / cfg.name
        for method in args.render:
            files[method] = scratch / f"{render_variant(method).folder}_{subject}.npz"
            if not files[method].exists():
                render_method(cfg, pipe, method, subject, files[method])
    renders = {method: np.load(path)["frames"] for method, path in files.items() if path.exists()}
    renders["MAD blurry video"] = np.load(recon_path(cfg, "SemVideo", subject))["blurry"]
    rng, rows = np.random.default_rng(cfg.seed), []
    for method, frames in renders.items():
        result = pairing_null([rank_matrix(truth_category, category_marginal(judge, frames))], 2000, rng)
        rows.append({"method": method, "rank": result["matched"], "null_mean": result["null_mean"],
                     "null_sd": result["null_sd"], "p_carries": result["p_below"], "p_avoids": result["p_above"]})
    table = pd.DataFrame(rows)
    OUT.mkdir(exist_ok=True)
    table.to_csv(OUT / f"category_ladder_{cfg.name}_{subject}.csv", index=False)
    print(table.to_string(index=False, float_format="%.3f"))


if __name__ == "__main__":
    main()
