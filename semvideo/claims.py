"""The paper's claims about its method, each tested on a finished run (DESIGN §5; issue 18 part 7).

:func:`paper_claims` reads a run's tables (``figures/``: Tables 1/3/6 and their bootstrap p-values, Fig. 5's
paired t-tests, the oracle ladder, the information ceiling, notebook 08's ROI importance; ``results/<name>/``:
per-clip scores) and returns one row per claim: ``claim``, ``paper`` (where the paper makes it),
``measurement`` (what on the twin tests it), ``numbers``, ``verdict`` and ``why``.

Verdict rules (one per kind of evidence, stated in each row's ``measurement``):

* **comparison of two rows of a table** (:func:`compare_rows`): the claim names the winner, the loser and the
  metrics it is about. It **holds** when the winner's mean is better on *every* named metric with a one-sided
  bootstrap p < 0.05 (the p-values of the table's colours: the paper's own test); otherwise it **does not hold**,
  and ``why`` lists the metrics that fail;
* **above chance** ("the reconstructions carry their clip"): SemVideo's N-way columns against the re-pairing
  chance of its own reconstructions (notebook 06's ``table1_chance``: permutation p_above < 0.05 for each) and its
  VIFI against Table 1's chance row (bootstrap p < 0.05);
* **paired t-tests of Fig. 5**: holds when the claimed lower mean is lower for every named quantity (P, EPE)
  with a Bonferroni-corrected p < 0.05;
* **ROI importance** (§4.4): holds when, in every subject, a motion ROI (MT/MST/TPOJ) outranks a ventral ROI in
  more than half of the (motion, ventral) pairs of the motion SAD (notebook 08's criterion); cannot be tested on
  the twin when its ground truth fails the criterion itself (the truth's own fraction ≤ 0.5 in every subject:
  captions whose embeddings carry more of the object than of its motion, :mod:`semvideo.interpret`);
* **information ceiling**: holds when every attribute the simulator encodes in an ROI group is decodable from
  that group at p < 0.01 for every subject (:func:`semvideo.metrics.ceiling.ceiling_verdicts`).

A claim whose artefact is absent gets **cannot be tested on the twin** with the missing file named; so does a
claim the twin has no ingredient for (e.g. a second multimodal captioner).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from semvideo.interpret import dorsal_vs_ventral
from semvideo.metrics.ceiling import ceiling_verdicts
from semvideo.metrics.evaluate import HIGHER_IS_BETTER, MISMATCHED
from semvideo.metrics.stats import bootstrap_table, pvalue_resolution
from semvideo.plan import ORACLE_VARIANTS

__all__ = [
    "ALPHA",
    "HOLDS",
    "MISSING",
    "NOT_HOLD",
    "UNTESTABLE",
    "compare_rows",
    "paper_claims",
]

ALPHA = 0.05
HOLDS, NOT_HOLD, UNTESTABLE = "holds", "does not hold", "cannot be tested on the twin"
MISSING = "artefact missing"
SEMANTIC = ("2-way-I", "2-way-V", "50-way-I", "50-way-V", "VIFI")
PIXEL = ("SSIM", "PSNR", "Hue-pcc")
MOTION = ("CLIP-pcc", "EPE")
ALL_METRICS = SEMANTIC + PIXEL + MOTION
LOWER_IS_BETTER = {"EPE", "P"}


def _row(claim: str, paper: str, measurement: str, numbers: str, verdict: str, why: str) -> dict:
    return {"claim": claim, "paper": paper, "measurement": measurement, "numbers": numbers, "verdict": verdict,
            "why": why}


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path, index_col=0) if path.exists() else None


def _untestable_without(claim: str, paper: str, measurement: str, *paths: Path) -> dict | None:
    """The claim's "cannot be tested" row naming every absent artefact, or None when all of ``paths`` exist."""
    absent = [str(p) for p in paths if not Path(p).exists()]
    return _row(claim, paper, measurement, "", UNTESTABLE, f"{MISSING}: {', '.join(absent)}") if absent else None


def compare_rows(means: pd.DataFrame, pvalues: pd.DataFrame, winner: str, loser: str, metrics: Sequence[str],
                 alpha: float = ALPHA, resolution: float | None = None) -> tuple[str, str, str]:
    """(numbers, verdict, why) of "``winner`` beats ``loser`` on ``metrics``" from a table's means and its
    one-sided bootstrap p-values against the winner (the table's reference: p is in the loser's row).

    Holds when the winner is better on every metric with p < ``alpha``. ``resolution`` is the smallest p the
    bootstrap resolves (1/B for the fraction test, :func:`semvideo.metrics.stats.pvalue_resolution`): above
    ``alpha`` the claim cannot be tested (p = 0 from B = 10 sets only says p < 0.1).
    """
    missing = [r for r in (winner, loser) if r not in means.index or r not in pvalues.index]
    if missing:
        return "", UNTESTABLE, f"{MISSING}: no row {missing} in the table"
    metrics = [m for m in metrics if m in means.columns]
    cells, failing = [], []
    for m in metrics:
        a, b, p = means.loc[winner, m], means.loc[loser, m], pvalues.loc[loser, m]
        better = a < b if m in LOWER_IS_BETTER else a > b
        cells.append(f"{m} {a:.3f} vs {b:.3f} (p {p:.3g})")
        if not (better and p < alpha):
            failing.append(m)
    numbers = f"{winner} vs {loser}: " + "; ".join(cells)
    if not metrics:
        return numbers, UNTESTABLE, f"{MISSING}: none of the metrics {list(metrics)} in the table"
    if resolution is not None and resolution > alpha:
        return numbers, UNTESTABLE, (f"the bootstrap resolves p only down to {resolution:g} (too few sample sets "
                                     f"for p < {alpha:g}; raise eval.n_bootstrap)")
    if failing:
        return numbers, NOT_HOLD, (f"{winner} is not better at p < {alpha:g} on {', '.join(failing)} "
                                   f"({len(metrics) - len(failing)} of {len(metrics)} metrics hold)")
    return numbers, HOLDS, f"better at p < {alpha:g} on all {len(metrics)} metrics"


def _table_claim(figures: Path, table: str, claim: str, paper: str, winner: str, loser: str,
                 metrics: Sequence[str], resolution: float | None) -> dict:
    files = figures / f"{table}.csv", figures / f"{table}_pvalues.csv"
    measurement = (f"{table}: {winner} vs {loser} on {', '.join(metrics)}; holds if better on every one at "
                   f"one-sided bootstrap p < {ALPHA:g}")
    if missing := _untestable_without(claim, paper, measurement, *files):
        return missing
    means, pvalues = (pd.read_csv(f, index_col=0) for f in files)
    return _row(claim, paper, measurement, *compare_rows(means, pvalues, winner, loser, metrics,
                                                         resolution=resolution))


def _chance_claim(figures: Path, table: str, resolution: float | None) -> dict:
    """"The reconstructions carry their clip": SemVideo's N-way columns against the re-pairing chance of its own
    reconstructions (``<table>_chance.csv``, notebook 06: a permutation test, p_above), VIFI against the table's
    chance row (one re-pairing, bootstrap; the re-pairing null covers the N-way columns only)."""
    claim, paper = "the reconstructions carry their clip (above chance)", "§4.1, Table 1 (the premise of every row)"
    chance_file = figures / f"{table}_chance.csv"
    measurement = (f"{table}_chance: SemVideo's N-way columns against the re-pairing chance of its own "
                   f"reconstructions, permutation p_above < {ALPHA:g} for each; VIFI against {table}'s chance row, "
                   f"one-sided bootstrap p < {ALPHA:g}")
    if missing := _untestable_without(claim, paper, measurement, figures / f"{table}.csv",
                                      figures / f"{table}_pvalues.csv", chance_file):
        return missing
    chance = pd.read_csv(chance_file)
    chance = chance[chance["method"] == "SemVideo"].set_index("metric")
    if chance.empty:
        return _row(claim, paper, measurement, "", UNTESTABLE, f"{MISSING}: no SemVideo rows in {chance_file}")
    cells = [f"{m} {r['matched']:.3f} vs chance {r['null_mean']:.3f} ± {r['null_sd']:.3f} (p {r['p_above']:.3g})"
             for m, r in chance.iterrows()]
    failing = [m for m, r in chance.iterrows() if not r["p_above"] < ALPHA]
    means, pvalues = (pd.read_csv(figures / f"{table}{suffix}.csv", index_col=0) for suffix in ("", "_pvalues"))
    vifi, vifi_verdict, vifi_why = compare_rows(means, pvalues, "SemVideo", MISMATCHED, ["VIFI"],
                                                resolution=resolution)
    numbers = "SemVideo: " + "; ".join(cells) + f"; {vifi}"
    if vifi_verdict == UNTESTABLE:
        return _row(claim, paper, measurement, numbers, UNTESTABLE, f"VIFI: {vifi_why}")
    if vifi_verdict != HOLDS:
        failing.append("VIFI")
    columns = len(chance) + 1  # the N-way columns and VIFI
    if failing:
        return _row(claim, paper, measurement, numbers, NOT_HOLD,
                    f"not above chance at p < {ALPHA:g} on {', '.join(failing)} "
                    f"({columns - len(failing)} of {columns} columns hold)")
    return _row(claim, paper, measurement, numbers, HOLDS, f"above chance at p < {ALPHA:g} on all {columns}")


def _shuffle_claim(figures: Path, claim: str, paper: str, full: str, ablated: str,
                   quantities: Sequence[str]) -> dict:
    path = figures / "fig5_paired_ttests.csv"
    measurement = (f"Fig. 5 paired t-tests over clips: {full} lower than {ablated} on {', '.join(quantities)}, "
                   f"Bonferroni p < {ALPHA:g} for each")
    if missing := _untestable_without(claim, paper, measurement, path):
        return missing
    tests = pd.read_csv(path, index_col=0)
    cells, failing = [], []
    for q in quantities:
        row = tests[(tests["a"] == full) & (tests["b"] == ablated) & (tests["metric"] == q)]
        if row.empty:
            return _row(claim, paper, measurement, "", UNTESTABLE, f"{MISSING}: no {full}/{ablated} {q} test in {path}")
        r = row.iloc[0]
        cells.append(f"{q} {r['mean_a']:.3f} vs {r['mean_b']:.3f} (Bonferroni p {r['p_bonferroni']:.3g})")
        if not (r["mean_a"] < r["mean_b"] and r["p_bonferroni"] < ALPHA):
            failing.append(q)
    numbers = f"{full} vs {ablated}: " + "; ".join(cells)
    if failing:
        return _row(claim, paper, measurement, numbers, NOT_HOLD, f"not lower at Bonferroni p < {ALPHA:g}: "
                                                                  f"{', '.join(failing)}")
    return _row(claim, paper, measurement, numbers, HOLDS, f"lower at Bonferroni p < {ALPHA:g} on all")


def _roi_claim(figures: Path) -> dict:

    claim = "motion decoding draws on MT/MST/TPOJ rather than the ventral stream"
    paper = "§4.4, Fig. 6 (Figs. 12/13)"
    measurement = ("notebook 08: motion SAD's mean absolute first-layer weight per ROI; fraction of (MT/MST/TPOJ, "
                   "ventral) ROI pairs in which the motion ROI is more important; holds if > 0.5 in every subject")
    path = figures / "roi_importance.csv"
    if missing := _untestable_without(claim, paper, measurement, path):
        return missing
    table = pd.read_csv(path)
    above = dorsal_vs_ventral(table[table["level"] == "motion"]).set_index("subject")["p_motion_above_ventral"]
    numbers = "per subject: " + ", ".join(f"{s} {v:.2f}" for s, v in above.items())
    truth = _read(figures / "roi_importance_vs_truth.csv")
    truth_above = None
    if truth is not None and {"measure", "level", "spearman_rho"} <= set(truth.reset_index().columns):
        t = truth.reset_index()
        t = t[(t["measure"] == "weights") & (t["level"] == "motion")]
        numbers += f"; Spearman ρ with the twin's true importance (motion): {', '.join(f'{r:.2f}' for r in t['spearman_rho'])}"
        if "p_motion_above_ventral_truth" in t:
            truth_above = t["p_motion_above_ventral_truth"]
            numbers += f"; the truth's own fraction: {', '.join(f'{v:.2f}' for v in truth_above)}"
    if above.isna().all():
        return _row(claim, paper, measurement, numbers, UNTESTABLE, "no motion or no ventral ROI has input voxels")
    if truth_above is not None and (truth_above <= 0.5).all():
        return _row(claim, paper, measurement, numbers, UNTESTABLE,
                    "on the twin a decoder that reads the motion captions perfectly would not draw on the motion ROIs "
                    "more either (the truth's own fraction ≤ 0.5): the twin's motion captions name the object as much "
                    "as its motion (notebook 08, caption_family_weights); the ρ say whether the weights recover "
                    "what the decoder should use")
    if (above > 0.5).all():
        return _row(claim, paper, measurement, numbers, HOLDS, "motion ROIs outrank ventral ROIs in every subject")
    return _row(claim, paper, measurement, numbers, NOT_HOLD,
                f"not in {int((~(above > 0.5)).sum())} of {len(above)} subjects")


def _ceiling_claim(figures: Path) -> dict:

    claim = "the fMRI carries each caption-named attribute where the brain encodes it (the method's premise)"
    paper = "premise of §3 (SAD/MAD decode captions and motion from fMRI)"
    measurement = ("notebook 01 information ceiling: every attribute the simulator encodes in an ROI group is "
                   "decodable from that group's test BOLD at p < 0.01 for every subject")
    path = figures / "information_ceiling.csv"
    if missing := _untestable_without(claim, paper, measurement, path):
        return missing
    verdicts = ceiling_verdicts(pd.read_csv(path))
    encoded = verdicts[verdicts["encoded"] & (verdicts["roi_group"] != "all selected")]
    broken = encoded[encoded["broken"]]
    numbers = "; ".join(f"{r.attribute}/{r.roi_group} {r.n_decodable}/{r.n_subjects}" for r in encoded.itertuples())
    if encoded.empty:
        return _row(claim, paper, measurement, numbers, UNTESTABLE, "no encoded cell in the table")
    if broken.empty:
        return _row(claim, paper, measurement, numbers, HOLDS, f"all {len(encoded)} encoded cells decodable")
    return _row(claim, paper, measurement, numbers, NOT_HOLD, "not decodable for every subject: " + ", ".join(
        f"{r.attribute} from {r.roi_group}" for r in broken.itertuples()))


def _ladder_claim(results: Path, subjects: Sequence[str], n_bootstrap: int, seed: int, test: str) -> dict:

    oracle = next(iter(ORACLE_VARIANTS))  # (b): true captions alone
    claim = "the render's semantics come from its captions"
    paper = "§3.2 (captions condition T2I/T2V); issue 18's oracle ladder"
    metrics = ("2-way-V", "50-way-I")
    measurement = (f"oracle ladder row (b), {oracle}, vs the ridge and single-caption baselines on "
                   f"{', '.join(metrics)}; holds if better on each at one-sided bootstrap p < {ALPHA:g}")
    files = [results / "metrics" / f"{s}_scores.csv" for s in subjects]
    if missing := _untestable_without(claim, paper, measurement, *files):
        return missing
    scores = pd.concat([pd.read_csv(f).assign(subject=s) for f, s in zip(files, subjects)], ignore_index=True)
    rows = [oracle, "Ridge latent decoder", "Single caption (BLIP-style)"]
    if not set(rows) <= set(scores["method"]):
        return _row(claim, paper, measurement, "", UNTESTABLE, f"{MISSING}: oracle rows not scored")
    means, pvalues = bootstrap_table(scores[scores["method"].isin(rows)], metrics, HIGHER_IS_BETTER, n_bootstrap,
                                     np.random.default_rng(seed), reference=oracle, test=test)
    parts = [compare_rows(means, pvalues, oracle, loser, metrics, resolution=pvalue_resolution(test, n_bootstrap))
             for loser in rows[1:]]
    numbers = "; ".join(p[0] for p in parts)  # no "|": the table is also written as Markdown
    verdict = UNTESTABLE if any(p[1] == UNTESTABLE for p in parts) else NOT_HOLD if any(
        p[1] == NOT_HOLD for p in parts) else HOLDS
    return _row(claim, paper, measurement, numbers, verdict,
                "; ".join(dict.fromkeys(p[2] for p in parts if p[1] != HOLDS))
                or f"better than both baselines at p < {ALPHA:g}")


def paper_claims(figures: Path | str, results: Path | str | None = None, subjects: Sequence[str] = (),
                 n_bootstrap: int = 100, seed: int = 0, test: str = "fraction") -> pd.DataFrame:
    """One row per claim of the paper about its method, with its twin measurement, numbers and verdict.

    ``figures``: the run's figures folder; ``results``: ``results/<name>/`` (per-clip scores of the ablation
    ``subjects``, for the oracle-ladder claim; None skips it). See the module doc for the verdict rules.
    """

    figures = Path(figures)
    t1, t3, t6 = "table1", "table3", "table6"
    res = pvalue_resolution(test, n_bootstrap)
    rows = [
        _chance_claim(figures, t1, res),
        _table_claim(figures, t1, "hierarchical captions beat a single caption on semantic metrics",
                     "§4.1, Table 1", "SemVideo", "Single caption (BLIP-style)", SEMANTIC, res),
        _table_claim(figures, t1, "the render adds semantics over the blurry video",
                     "§3.2, Fig. 3 (CVR)", "SemVideo", "MAD blurry video", SEMANTIC, res),
        _table_claim(figures, t3, "C_anchor matters for the semantic level", "§4.2, Table 3", "SemVideo",
                     "w/o C_anchor", SEMANTIC, res),
        _table_claim(figures, t3, "C_holi matters at every level", "§4.2, Table 3", "SemVideo", "w/o C_holi",
                     ALL_METRICS, res),
        _table_claim(figures, t3, "C_motion matters for the pixel and spatiotemporal levels", "§4.2, Table 3",
                     "SemVideo", "w/o C_motion", PIXEL + MOTION, res),
        _table_claim(figures, t3, "C_motion helps motion (EPE, CLIP-pcc)", "§4.3, Table 3 / Fig. 5", "SemVideo",
                     "w/o C_motion", ("EPE", "CLIP-pcc"), res),
        _shuffle_claim(figures, "C_motion makes the frame order matter", "§4.3, Fig. 5", "SemVideo", "w/o C_motion",
                       ("P",)),
        _shuffle_claim(figures, "MAD carries the motion", "§4.3, Fig. 5", "SemVideo", "w/o MAD", ("P", "EPE")),
        _table_claim(figures, t6, "SemMiner's captions beat a single-caption captioner", "Appendix A.3, Table 6",
                     "SemMiner, oracle captioner (SemVideo)", "BLIP-style single caption", SEMANTIC, res),
        _row("SemMiner is robust to the choice of multimodal model", "Appendix A.3, Table 6",
             "would need a second captioner on the twin", "", UNTESTABLE,
             "the twin has one (oracle) captioner; the real configs list VideoLlama / Qwen2.5-VL / Llava-Video"),
        _roi_claim(figures),
        _ceiling_claim(figures),
    ]
    if results is not None:
        rows.append(_ladder_claim(Path(results), subjects, n_bootstrap, seed, test))
    return pd.DataFrame(rows)
