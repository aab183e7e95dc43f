"""The oracle ladder (DESIGN §5, "What each stage contributes"): which stage loses what.

The rows substitute the truth for one decoded input at a time (:data:`semvideo.plan.ORACLE_LADDER`):
(a) the VAE round trip of the true clip, (b) the render from the true captions alone, (c) true captions + the true
latents as the blurry input, (d) true captions + MAD's ê, (e) SAD's decoded captions + the true latents,
(f) SemVideo (everything decoded), beside Table 1's baselines. :func:`ladder_table` gives the mean ± s.e. of
each metric per row and a **two-sided** bootstrap p against SemVideo (an oracle row may be better or worse),
:func:`ladder_steps` the loss of each step between rows, and :func:`describe_ladder` the prose.

Two-sided p: the one-sided bootstrap p of :func:`semvideo.metrics.stats.bootstrap_table` is computed in both
directions on the same sample sets and ``p = min(1, 2 · min(p_SemVideo better, p_row better))``; with the
``fraction`` test and B sets the smallest resolvable p is 2/B (stored in ``attrs["resolution"]`` for the colours).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from semvideo.metrics.stats import bootstrap_table

__all__ = ["LADDER_STEPS", "METRIC_GROUPS", "describe_ladder", "ladder_cells", "ladder_steps", "ladder_table"]

#: Metric groups of the read-out: Table 1's semantic, pixel and spatiotemporal (motion) levels.
METRIC_GROUPS = {
    "semantic": ("2-way-I", "2-way-V", "50-way-I", "50-way-V", "VIFI"),
    "pixel": ("SSIM", "PSNR", "Hue-pcc"),
    "motion": ("CLIP-pcc", "EPE"),
}
#: The ladder's steps, (from row letter, to row letter, what changes, kind); a step's loss is from-row minus
#: to-row. ``stage`` steps are what a stage of the method loses (the render, or a decoder in place of the truth);
#: the ``input`` step is what the blurry input contributes (no stage of SemVideo drops it).
LADDER_STEPS = (
    ("a", "c", "the render itself, given true captions and true latents", "stage"),
    ("c", "d", "MAD's ê instead of the true latents (true captions)", "stage"),
    ("c", "e", "SAD's captions instead of the true ones (true latents)", "stage"),
    ("d", "f", "SAD's captions instead of the true ones (MAD's ê)", "stage"),
    ("e", "f", "MAD's ê instead of the true latents (SAD's captions)", "stage"),
    ("c", "b", "dropping the blurry input (true captions alone)", "input"),
)


def ladder_table(scores: pd.DataFrame, rows: Sequence[str], metrics: Sequence[str],
                 higher_is_better: Mapping[str, bool], n_bootstrap: int, rng: np.random.Generator,
                 reference: str = "SemVideo", test: str = "fraction") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(means, standard errors, two-sided p) per row × metric of a long per-clip score table.

    ``scores`` has one row per (method, subject, clip_id) and one column per metric, as for
    :func:`~semvideo.metrics.stats.bootstrap_table`; ``rows`` are the methods shown, in order (the reference
    among them). The s.e. is the per-clip SD / √n over every clip of every subject; p is NaN for the reference.
    """
    missing = [r for r in rows if r not in set(scores["method"])]
    if missing:
        raise ValueError(f"no scores for {missing}; rerun `python -m semvideo evaluate` after the render")
    frame = scores[scores["method"].isin(rows)]
    state = rng.bit_generator.state
    means, p_ref_better = bootstrap_table(frame, metrics, higher_is_better, n_bootstrap, rng, reference, test)
    rng.bit_generator.state = state  # the same sample sets, the other direction
    flipped = {m: not higher_is_better[m] for m in metrics}
    _, p_row_better = bootstrap_table(frame, metrics, flipped, n_bootstrap, rng, reference, test)
    pvalues = np.minimum(1.0, 2 * np.minimum(p_ref_better, p_row_better)).loc[list(rows)]
    pvalues.attrs["resolution"] = 2.0 / n_bootstrap if test == "fraction" else None
    grouped = frame.groupby("method")[list(metrics)]
    ses = (grouped.std(ddof=1) / np.sqrt(grouped.count())).loc[list(rows)]
    return means.loc[list(rows)], ses, pvalues


def ladder_cells(means: pd.DataFrame, ses: pd.DataFrame, higher_is_better: Mapping[str, bool],
                 reference: str = "SemVideo") -> pd.DataFrame:
    """Text cells "mean ± s.e." with ▲ (better than the reference) or ▼ (worse), for the coloured figure."""
    sign = pd.Series({m: 1.0 if higher_is_better[m] else -1.0 for m in means.columns})
    better = means.sub(means.loc[reference]).mul(sign)
    arrow = better.map(lambda d: " ▲" if d > 0 else " ▼" if d < 0 else "")
    arrow.loc[reference] = ""
    return means.map("{:.3f}".format) + " ± " + ses.map("{:.3f}".format) + arrow


def ladder_steps(means: pd.DataFrame, scores: pd.DataFrame, rows: Sequence[str],
                 higher_is_better: Mapping[str, bool], steps=LADDER_STEPS,
                 groups: Mapping[str, Sequence[str]] = METRIC_GROUPS) -> pd.DataFrame:
    """The loss of every ladder step, per metric group, in units of each metric's per-clip SD.

    ``rows`` are the ladder's rows in order (a)…(f) (their letters index ``steps``). A metric's loss at a
    step is ``sign · (mean_from − mean_to) / sd`` (sign so that a positive loss is a worse ``to`` row; sd = the
    metric's per-clip SD pooled over the ladder's rows); a group's loss is the mean over its metrics.
    Returns one row per step: ``step``, ``from``, ``to``, ``what``, ``kind`` and one column per group.
    """
    letters = dict(zip("abcdefghij", rows))
    frame = scores[scores["method"].isin(rows)]
    out = []
    for start, end, what, kind in steps:
        row = {"step": f"{start} → {end}", "from": letters[start], "to": letters[end], "what": what, "kind": kind}
        for group, metrics in groups.items():
            losses = [(1.0 if higher_is_better[m] else -1.0) * (means.loc[letters[start], m] - means.loc[letters[end], m])
                      / (frame[m].std(ddof=1) or 1.0) for m in metrics if m in means.columns]
            row[group] = float(np.mean(losses)) if losses else np.nan
        out.append(row)
    return pd.DataFrame(out)


def describe_ladder(means: pd.DataFrame, pvalues: pd.DataFrame, steps: pd.DataFrame,
                    higher_is_better: Mapping[str, bool], reference: str = "SemVideo", alpha: float = 0.05) -> str:
    """Prose computed from the ladder: the stage step that loses most per metric group, what the blurry input
    contributes, and the rows significantly better or worse than the reference (only where the bootstrap can
    resolve ``alpha``: ``pvalues.attrs["resolution"]``)."""
    text = []
    stages, inputs = steps[steps["kind"] == "stage"], steps[steps["kind"] == "input"]
    for group in (g for g in METRIC_GROUPS if g in steps.columns):
        order = stages.sort_values(group, ascending=False)
        top = order.iloc[0]
        text.append(f"On the **{group}** metrics ({', '.join(METRIC_GROUPS[group])}) the stage that loses most is "
                    f"step {top['step']}, {top['what']}: {top[group]:.2f} per-clip SDs (next: step "
                    f"{order.iloc[1]['step']}, {order.iloc[1][group]:.2f}).")
    for r in inputs.itertuples():
        text.append(f"Step {r.step}, {r.what}, changes the metrics by " + ", ".join(
            f"{getattr(r, g):.2f} ({g})" for g in METRIC_GROUPS if g in steps.columns)
                    + " per-clip SDs (positive = worse without it).")
    resolution = pvalues.attrs.get("resolution")
    if resolution is not None and resolution > alpha:
        text.append(f"The bootstrap resolves p only down to {resolution:g} here (too few sample sets): no row can be "
                    f"called better or worse than {reference} at p < {alpha:g}.")
        return "\n\n".join(text)
    sign = pd.Series({m: 1.0 if higher_is_better[m] else -1.0 for m in means.columns})
    better = means.sub(means.loc[reference]).mul(sign)
    for row in means.index.drop(reference):
        up = [m for m in means.columns if pvalues.loc[row, m] < alpha and better.loc[row, m] > 0]
        down = [m for m in means.columns if pvalues.loc[row, m] < alpha and better.loc[row, m] < 0]
        text.append(f"{row}: better than {reference} at p < {alpha:g} on {', '.join(up) or 'no metric'}; "
                    f"worse on {', '.join(down) or 'no metric'}.")
    return "\n\n".join(text)
