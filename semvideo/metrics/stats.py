"""Statistics of Table 1 and Fig. 5: bootstrap p-values against SemVideo, significance colours, the frame-shuffle
test, paired t-tests with Bonferroni correction and the re-pairing null of the N-way columns.

Every random draw takes a ``numpy.random.Generator`` so results are repeatable from a seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import cv2
import numpy as np
import pandas as pd
from scipy import stats as sps
from tqdm.auto import tqdm

from semvideo.metrics.conventions import FlowEPE
from semvideo.metrics.temporal import clip_flows, optical_flow

__all__ = [
    "SHUFFLE_PROTOCOLS",
    "SIGNIFICANCE_BINS",
    "bootstrap_indices",
    "bootstrap_means",
    "bootstrap_pvalues",
    "bootstrap_table",
    "paired_ttests",
    "pairing_null",
    "pvalue_resolution",
    "shuffle_test",
    "shuffle_test_testset",
    "significance_bin",
    "significance_colours",
    "significance_labels",
]

#: Table 1's colour code: (upper bound of p, label, colour). The paper's cells are blue (p < 0.0001),
#: pink (p < 0.01), yellow (p < 0.05) and green (p ≥ 0.05; its caption writes "p > 0.05").
SIGNIFICANCE_BINS = (
    (1e-4, "p < 0.0001", "#9cc3e6"),
    (1e-2, "p < 0.01", "#f4b6c2"),
    (5e-2, "p < 0.05", "#fbe7a1"),
    (np.inf, "p ≥ 0.05", "#b8e0b0"),
)


def bootstrap_indices(n: int, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """Resampled test-clip indices: int64 (n_bootstrap, n), each row n draws with replacement from range(n)."""
    return rng.integers(0, n, size=(n_bootstrap, n))


def bootstrap_means(scores: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Mean score of each bootstrap sample set: scores (N,), indices (B, N) → float64 (B,)."""
    return np.asarray(scores, dtype=np.float64)[indices].mean(axis=1)


def bootstrap_table(scores: pd.DataFrame, metrics: Sequence[str], higher_is_better: Mapping[str, bool],
                    n_bootstrap: int, rng: np.random.Generator, reference: str = "SemVideo",
                    test: str = "fraction") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Means and bootstrap p-values against ``reference`` of a long per-clip score table (Tables 1–3).

    ``scores`` has one row per (method, subject, clip_id) and one column per metric; every method must list
    the same (subject, clip_id) pairs, which are aligned before resampling (paired bootstrap). Returns
    (means, p-values), both indexed by method in order of first appearance, one column per metric; the
    reference's own p-values are NaN.
    """
    methods = list(dict.fromkeys(scores["method"]))
    if reference not in methods:
        raise ValueError(f"no '{reference}' rows in the score table (methods: {methods})")
    ordered = scores.sort_values(["subject", "clip_id"], kind="stable")
    keys = {m: g[["subject", "clip_id"]].to_numpy().tolist() for m, g in ordered.groupby("method", sort=False)}
    mismatched = [m for m in methods if keys[m] != keys[reference]]
    if mismatched:
        raise ValueError(f"methods {mismatched} were not scored on the same clips as '{reference}'")
    means = scores.groupby("method", sort=False)[list(metrics)].mean().loc[methods]
    pvalues = pd.DataFrame(np.nan, index=methods, columns=list(metrics))
    state = rng.bit_generator.state
    for metric in metrics:
        rng.bit_generator.state = state  # the same bootstrap sample sets for every metric
        per_method = {m: g[metric].to_numpy() for m, g in ordered.groupby("method", sort=False)}
        p = bootstrap_pvalues(per_method, reference, higher_is_better[metric], n_bootstrap, rng, test)
        pvalues[metric] = pd.Series(p)
    pvalues.loc[reference] = np.nan
    pvalues.attrs["resolution"] = pvalue_resolution(test, n_bootstrap)  # read by the colouring
    return means, pvalues


def bootstrap_pvalues(scores: Mapping[str, np.ndarray], reference: str, higher_is_better: bool,
                      n_bootstrap: int, rng: np.random.Generator, method: str = "fraction") -> dict[str, float]:
    """One-sided bootstrap p-value of every method against the reference method (Table 1's colours).

    100 sample sets of the test clips are drawn with replacement (the same sets for every method, so the
    comparison is paired clip by clip), and each method's metric is averaged within every set. With
    ``d_b = mean_ref,b − mean_method,b`` (sign flipped for lower-is-better metrics such as EPE, so that
    ``d_b > 0`` means the reference is better in set b), the null hypothesis is "the method is at least as
    good as the reference":

    * ``method="fraction"`` (default): ``p = #{b : d_b ≤ 0} / B`` — the fraction of sample sets in which the
      method is not worse than SemVideo, the bootstrap test behind the "100 sample sets were constructed
      using the bootstrap method" captions of MinD-Video / NeuroClips / SemVideo. It resolves p only in steps
      of 1/B: with B = 100, ``p = 0`` means p < 0.01 and is placed in the strongest colour bin.
    * ``method="normal"``: ``p = Φ(−mean(d) / sd(d))``, the one-sided z-test of the same bootstrap
      distribution, which resolves the p < 1e-4 bin from 100 sets (assumes d is near normal, which the
      central limit theorem gives for means over hundreds of clips).

    Identical score sets give ``d ≡ 0`` and p = 1 with both methods. The reference gets p = NaN.

    Parameters
    ----------
    scores : method name → per-clip scores (N,), all over the same N test clips in the same order
    reference : the method tested against (SemVideo)
    higher_is_better : False for EPE
    n_bootstrap : number of sample sets B (100 in the paper)
    rng : numpy Generator
    method : "fraction" or "normal"

    Returns
    -------
    method name → p-value.
    """
    if reference not in scores:
        raise KeyError(f"reference method '{reference}' is not among the scored methods {sorted(scores)}")
    if method not in ("fraction", "normal"):
        raise ValueError(f"method must be 'fraction' or 'normal', got {method!r}")
    n = len(scores[reference])
    for name, values in scores.items():
        if len(values) != n:
            raise ValueError(f"method '{name}' has {len(values)} per-clip scores, the reference has {n}")
    idx = bootstrap_indices(n, n_bootstrap, rng)
    ref = bootstrap_means(scores[reference], idx)
    sign = 1.0 if higher_is_better else -1.0
    pvalues = {}
    for name, values in scores.items():
        if name == reference:
            pvalues[name] = float("nan")
            continue
        d = sign * (ref - bootstrap_means(values, idx))
        pvalues[name] = _fraction_p(d) if method == "fraction" else _normal_p(d)
    return pvalues


def _fraction_p(d: np.ndarray) -> float:
    return float(np.mean(d <= 0))


def _normal_p(d: np.ndarray) -> float:
    sd = d.std(ddof=1)
    if sd == 0:  # a constant difference: certain, one way or the other
        return 0.0 if d.mean() > 0 else 1.0
    return float(sps.norm.sf(d.mean() / sd))


def pairing_null(matrices: Sequence[np.ndarray], n_permutations: int, rng: np.random.Generator) -> dict[str, float]:
    """A method's score against the chance of its own reconstructions: the same reconstructions paired with the
    truths at random (a permutation test of "carries something of its clip").

    ``matrices`` holds one (N, N) score matrix per subject, entry (i, j) = reconstruction j scored against truth i
    (e.g. :func:`semvideo.metrics.semantic.n_way_expected`); the statistic is the mean over subjects of each
    subject's mean matched score (the diagonal). Each of ``n_permutations`` draws re-pairs every subject with its
    own random permutation. Returns matched, null_mean, null_sd and the one-sided permutation p-values p_above
    (the score beats chance) and p_below (it is below chance), each ``(1 + #as extreme) / (1 + n_permutations)``.
    """
    if not matrices or any(m.ndim != 2 or m.shape[0] != m.shape[1] for m in map(np.asarray, matrices)):
        raise ValueError("pairing_null needs one square (N, N) score matrix per subject")
    matched = float(np.mean([np.mean(np.diag(m)) for m in matrices]))
    null = np.zeros(n_permutations)
    for m in map(np.asarray, matrices):
        n = len(m)
        columns = np.argsort(rng.random((n_permutations, n)), axis=1)  # a random permutation per draw
        null += m[np.arange(n), columns].mean(axis=1) / len(matrices)
    return {"matched": matched, "null_mean": float(null.mean()), "null_sd": float(null.std(ddof=1)),
            "p_above": float((1 + (null >= matched).sum()) / (1 + n_permutations)),
            "p_below": float((1 + (null <= matched).sum()) / (1 + n_permutations))}


def significance_bin(p: float, resolution: float | None = None) -> int:
    """Index into :data:`SIGNIFICANCE_BINS` of a p-value (0 = p < 1e-4 … 3 = p ≥ 0.05; NaN → 3).

    ``resolution`` is the smallest p the test can resolve — ``1 / B`` for the ``fraction`` bootstrap test
    with B sample sets, where p = 0 only says p < 1/B. A bin whose upper bound is below the resolution is
    never painted: with B = 100 a p of 0 lands in "p < 0.01", not "p < 0.0001" (that colour needs
    B ≥ 10⁴). None (the ``normal`` test) paints every bin.
    """
    for i, (upper, _, _) in enumerate(SIGNIFICANCE_BINS):
        if p < upper and (resolution is None or upper >= resolution):
            return i
    return len(SIGNIFICANCE_BINS) - 1


def pvalue_resolution(test: str, n_bootstrap: int) -> float | None:
    """Smallest p a bootstrap test resolves: 1 / B for ``fraction``, None (unbounded) for ``normal``."""
    return 1.0 / n_bootstrap if test == "fraction" else None


def significance_colours(pvalues: pd.DataFrame, reference_colour: str = "white",
                         resolution: float | None = None) -> pd.DataFrame:
    """Cell colours of a table of p-values (rows: methods, columns: metrics); NaN (the reference) → white.

    ``resolution`` as in :func:`significance_bin`; by default ``pvalues.attrs["resolution"]``, which
    :func:`bootstrap_table` sets (1 / B for the fraction test).
    """
    if resolution is None:
        resolution = pvalues.attrs.get("resolution")
    return pvalues.map(lambda p: reference_colour if np.isnan(p)
                       else SIGNIFICANCE_BINS[significance_bin(p, resolution)][2])


def significance_labels(resolution: float | None = None) -> list[str]:
    """Legend labels of :data:`SIGNIFICANCE_BINS`; bins finer than ``resolution`` are marked unresolvable."""
    return [label if resolution is None or upper >= resolution
            else f"{label}: unresolvable with {round(1 / resolution)} sets (smallest p {resolution:g})"
            for upper, label, _ in SIGNIFICANCE_BINS]


def shuffle_test(truth: np.ndarray, recon: np.ndarray, n_permutations: int, rng: np.random.Generator) -> np.ndarray:
    """Frame-order shuffle test of a reconstruction's motion, one P per clip (paper §4.3, Fig. 5 left).

    For each clip, the reconstructed frames are put in ``n_permutations`` (100) random orders and the EPE of
    each order against the truth is compared with the EPE of the original order:
    ``P = Σ_i δ_i / n_permutations`` where ``δ_i = 1`` when shuffle i has a *lower* (better) EPE than the
    original order (paper's formula, following Mind-Animator's permutation test). A shuffle whose EPE *equals*
    the original counts ½ (mid-p): a frame-static reconstruction carries no order information, every
    shuffle ties, and P = 0.5 — chance, as it should be — rather than 0. A reconstruction equal to the truth
    gives P ≈ 0 (only the identity shuffle, or shuffles of identical frames, tie). Lower P = the
    reconstruction's frame order matters and matches the truth's. Random permutations may repeat or be the
    identity, as in the reference.

    EPE follows :func:`semvideo.metrics.temporal.epe`. Because a permutation only reorders frames, the flows
    of all T(T−1) ordered frame pairs of the reconstruction are computed once per clip and every shuffle's EPE
    is assembled from them exactly.

    Parameters
    ----------
    truth, recon : uint8 (N, T, H, W, 3), RGB 0–255
    n_permutations : shuffles per clip (100 in the paper)
    rng : numpy Generator

    Returns
    -------
    float64 (N,): P per clip, in [0, 1].
    """
    truth, recon = np.asarray(truth), np.asarray(recon)
    if truth.shape != recon.shape or truth.ndim != 5 or truth.shape[1] < 2:
        raise ValueError(f"shuffle_test needs clips of equal shape (N, T≥2, H, W, 3), got {truth.shape} "
                         f"and {recon.shape}")
    t = truth.shape[1]
    orders = np.stack([np.stack([rng.permutation(t) for _ in range(n_permutations)]) for _ in range(len(truth))])
    return np.array([_clip_shuffle_p(a, b, order) for a, b, order in
                     tqdm(zip(truth, recon, orders), total=len(truth), desc="shuffle test", leave=False)])


def _clip_shuffle_p(truth: np.ndarray, recon: np.ndarray, orders: np.ndarray) -> float:
    """P of one clip: truth, recon (T, H, W, 3); orders (n_permutations, T) frame orders."""
    t = len(truth)
    errors = _pair_errors(clip_flows(truth), recon)  # (T-1, T, T)
    steps = np.arange(t - 1)
    original = errors[steps, steps, steps + 1].mean()
    shuffled = errors[steps, orders[:, :-1], orders[:, 1:]].mean(axis=1)  # (n_permutations,)
    ties = np.isclose(shuffled, original, rtol=1e-9, atol=1e-12)
    return float(((shuffled < original) & ~ties).mean() + 0.5 * ties.mean())


def _pair_errors(truth_flows: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """errors[k, i, j] = mean end-point error between truth flow k→k+1 and the flow of recon frame i→j.

    truth_flows float32 (T-1, H, W, 2); recon uint8 (T, H, W, 3) → float64 (T-1, T, T); the diagonal
    (i = j, never used by a permutation) is NaN.
    """
    t = len(recon)
    errors = np.full((len(truth_flows), t, t), np.nan)
    for i in range(t):
        for j in range(t):
            if i != j:
                flow = optical_flow(recon[i], recon[j]).astype(np.float64)
                errors[:, i, j] = np.linalg.norm(truth_flows - flow, axis=-1).mean(axis=(1, 2))
    return errors


def shuffle_test_testset(truth: np.ndarray, recon: np.ndarray, n_permutations: int,
                         rng: np.random.Generator | np.random.RandomState, n_repeats: int = 5,
                         epe=None) -> np.ndarray:
    """Mind-Animator's shuffle test: one P per repeat for the whole test set (its ``shuffle_for_EPE.py``).

    The reference protocol, beside our per-clip test (:func:`shuffle_test`): in each of ``n_repeats`` (5)
    repeats, ``n_permutations`` (100) random frame orders are drawn (``rng.permutation(T)``); each order is
    applied to *every* clip at once, and the test-set mean EPE of the shuffled reconstructions is compared
    with that of the original order. ``P = #{shuffles whose mean EPE is not above the original's} /
    n_permutations`` — the reference counts K = #{shuffled mean > original mean} and reports 100 − K, so a
    tie counts as a shuffle that beats the original (a frame-static reconstruction gets P = 1, where the
    mid-p per-clip test gives 0.5). Reported as the mean ± std of the repeats' P.

    Differences from :func:`shuffle_test`: one permutation per shuffle for all clips (not one per clip), the
    test-set mean instead of per-clip P, ties counted as wins, and EPE as Mind-Animator's shuffle script
    computes it (``COLOR_BGR2GRAY`` on the RGB frames, no resizing; ``epe`` may be any
    :class:`semvideo.metrics.conventions.FlowEPE`). With a ``RandomState`` seeded like the reference's
    ``np.random.seed`` the permutations, and so P, are the reference's.

    Parameters
    ----------
    truth, recon : uint8 (N, T, H, W, 3), RGB 0–255
    n_permutations : shuffles per repeat (100)
    rng : numpy Generator or RandomState
    n_repeats : repeats (5)
    epe : FlowEPE; default Mind-Animator's

    Returns
    -------
    float64 (n_repeats,): P of each repeat, in [0, 1], a multiple of 1 / n_permutations.
    """

    epe = epe if epe is not None else FlowEPE(cv2.COLOR_BGR2GRAY, None, float32=True)
    truth, recon = np.asarray(truth), np.asarray(recon)
    if truth.shape != recon.shape or truth.ndim != 5 or truth.shape[1] < 2:
        raise ValueError(f"shuffle_test_testset needs clips of equal shape (N, T≥2, H, W, 3), got {truth.shape} "
                         f"and {recon.shape}")
    t = truth.shape[1]
    tables = np.stack([_pair_errors_epe(epe, a, b) for a, b in zip(truth, recon)])  # (N, T-1, T, T)
    steps = np.arange(t - 1)
    original = tables[:, steps, steps, steps + 1].mean(axis=1).mean()
    p = np.empty(n_repeats)
    for r in range(n_repeats):
        orders = np.stack([rng.permutation(t) for _ in range(n_permutations)])  # (n_permutations, T)
        shuffled = tables[:, steps, orders[:, :-1], orders[:, 1:]].mean(axis=2).mean(axis=0)
        p[r] = (n_permutations - int((shuffled > original).sum())) / n_permutations
    return p


def _pair_errors_epe(epe, truth: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """errors[k, i, j] = EPE (``epe.error``) between truth flow k→k+1 and recon flow i→j, one clip; (T-1, T, T)."""
    t = len(recon)
    truth_flows = epe.flows(truth)
    errors = np.full((t - 1, t, t), np.nan)
    for i in range(t):
        for j in range(t):
            if i != j:
                flow = epe.flows(recon[[i, j]])[0]
                errors[:, i, j] = [epe.error(truth_flows[k], flow) for k in range(t - 1)]
    return errors


#: Fig. 5's shuffle tests by name: ours (per clip, mid-p; what Fig. 5 shows) and Mind-Animator's protocol.
SHUFFLE_PROTOCOLS = {"per_clip": shuffle_test, "testset": shuffle_test_testset}


def paired_ttests(values: Mapping[str, np.ndarray], pairs: Sequence[tuple[str, str]] | None = None,
                  alpha: float = 0.05) -> pd.DataFrame:
    """Paired t-tests between variants over the same clips, Bonferroni-corrected (Fig. 5 left).

    Each pair (a, b) is tested with ``scipy.stats.ttest_rel(values[a], values[b])`` (two-sided, paired by clip);
    the Bonferroni p is ``min(1, p · m)`` for m tested pairs, and a pair is significant when it is below
    ``alpha``. Identical value sets (zero differences) get t = 0, p = 1.

    Parameters
    ----------
    values : variant name → per-clip values (N,), e.g. shuffle-test P of each ablation
    pairs : the pairs to test; default every pair of variants
    alpha : family-wise error rate

    Returns
    -------
    DataFrame with one row per pair: a, b, mean_a, mean_b, t, p, p_bonferroni, significant.
    """
    pairs = list(pairs) if pairs is not None else list(combinations(values, 2))
    rows = []
    for a, b in pairs:
        x, y = np.asarray(values[a], dtype=np.float64), np.asarray(values[b], dtype=np.float64)
        if np.all(x == y):
            t_stat, p = 0.0, 1.0
        else:
            t_stat, p = sps.ttest_rel(x, y)
        rows.append({"a": a, "b": b, "mean_a": x.mean(), "mean_b": y.mean(), "t": float(t_stat), "p": float(p)})
    table = pd.DataFrame(rows, columns=["a", "b", "mean_a", "mean_b", "t", "p"])
    table["p_bonferroni"] = np.minimum(1.0, table["p"] * len(pairs))
    table["significant"] = table["p_bonferroni"] < alpha
    return table
