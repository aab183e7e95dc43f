"""What the fMRI carries: every scene attribute a caption names, decoded from each ROI group's test BOLD.

This is the information ceiling every decoder works under (DESIGN §5, "What each stage contributes"): if an
attribute cannot be read from a subject's test responses by a linear classifier, no caption or video decoder
can recover it either; and on the twin, an attribute the simulator encodes in an ROI group must be readable
from that group, or the simulator is broken.

The classifier is a ridge classifier (one-hot targets, argmax) on vertices z-scored with the *training* clips'
mean and SD. Its penalty is chosen by cross-validation over the training clips only, in folds of whole
segments: neighbouring clips share a shot and, through the HRF, part of their response, so clip-wise folds
would reward under-regularised fits. The test clips are touched once, to score the final model. One SVD per
fold serves every attribute and every penalty.

Chance is the majority-class rate of the test labels; ``p`` is the one-sided binomial probability of at least
the observed number of correct test clips at that rate (``scipy.stats.binomtest``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from semvideo.data.prepared import PreparedData
from semvideo.data.synthetic.brain import ENCODED_ATTRIBUTES, FAMILIES
from semvideo.data.synthetic.truth import scene_labels

__all__ = [
    "ALL_GROUP",
    "ALPHA_GRID",
    "ATTRIBUTES",
    "ROI_GROUPS",
    "RidgeDecoder",
    "ceiling_verdicts",
    "decode_attributes",
    "describe_ceiling",
    "encodes",
    "fit_ridge_decoders",
    "information_ceiling",
    "roi_group_columns",
]

#: scene-graph fields the caption levels name (``motion`` is the motion type / direction)
ATTRIBUTES = ("category", "colour", "background", "motion", "speed")
ALL_GROUP = "all selected"
#: ROI groups (hemisphere-free Glasser names): the twin simulator's three encoding families, and every vertex
ROI_GROUPS: dict[str, tuple[str, ...] | None] = {
    "early visual": FAMILIES["early"],
    "motion complex": FAMILIES["motion"],
    "ventral/lateral occipital": FAMILIES["object"],
    ALL_GROUP: None,
}
_GROUP_FAMILY = {"early visual": "early", "motion complex": "motion", "ventral/lateral occipital": "object"}
#: ridge penalties tried, in units of the number of vertices (the mean eigenvalue of X Xᵀ for z-scored columns)
ALPHA_GRID = np.logspace(-3, 3, 13)


@dataclass(frozen=True)
class RidgeDecoder:
    """A fitted ridge classifier: ``predict(x)`` → class labels of raw (un-standardised) rows ``x`` (N, V)."""

    mean: np.ndarray  # (V,) training mean
    scale: np.ndarray  # (V,) training SD
    coef: np.ndarray  # (V, K)
    intercept: np.ndarray  # (K,)
    classes: np.ndarray  # (K,)
    alpha: float  # chosen penalty, in units of V

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, np.float64) - self.mean) / self.scale) @ self.coef + self.intercept

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classes[self.decision_function(x).argmax(1)]


class _RidgePath:
    """Ridge fits of centred targets on the rows ``x`` (N, V) for any penalty, from one thin SVD."""

    def __init__(self, x: np.ndarray):
        self.mean = x.mean(0)
        centred = x - self.mean
        if centred.shape[1] <= centred.shape[0]:
            self.u, self.s, self.vt = np.linalg.svd(centred, full_matrices=False)
            return
        # more vertices than clips: the N × N Gram matrix's eigenvectors are the left singular vectors (2–3× faster
        # than the SVD); directions with s² below 1e-10 of the largest (the centring's null one) carry nothing
        evals, u = np.linalg.eigh(centred @ centred.T)
        keep = evals > evals.max() * 1e-10
        self.u, self.s = u[:, keep], np.sqrt(evals[keep])
        self.vt = (self.u.T @ centred) / self.s[:, None]

    def coef(self, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """Weights (V, K) and intercept (K,) of the ridge fit of ``y`` (N, K) with penalty ``alpha``."""
        y_mean = y.mean(0)
        coef = self.vt.T @ ((self.s / (self.s ** 2 + alpha))[:, None] * (self.u.T @ (y - y_mean)))
        return coef, y_mean - self.mean @ coef

    def predict(self, x_eval: np.ndarray, y: np.ndarray, alphas: np.ndarray) -> np.ndarray:
        """Predictions (n_alphas, N_eval, K) for the rows ``x_eval`` at every penalty."""
        y_mean = y.mean(0)
        projected = (x_eval - self.mean) @ self.vt.T  # (N_eval, r)
        uty = self.u.T @ (y - y_mean)  # (r, K)
        shrink = self.s[None] / (self.s[None] ** 2 + alphas[:, None])  # (n_alphas, r)
        return np.einsum("er,ar,rk->aek", projected, shrink, uty) + y_mean


def _folds(groups: np.ndarray, n_splits: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/held-out row indices: whole groups (segments) per fold, in their order of first appearance."""
    _, first = np.unique(groups, return_index=True)
    order = np.asarray(groups)[np.sort(first)]
    if len(order) < 2:
        raise ValueError("cross-validation needs training clips from at least two segments (groups)")
    blocks = np.array_split(order, min(n_splits, len(order)))
    return [(np.flatnonzero(~np.isin(groups, b)), np.flatnonzero(np.isin(groups, b))) for b in blocks]


def _one_hot(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    classes, index = np.unique(np.asarray(y), return_inverse=True)
    return classes, np.eye(len(classes))[index]


def fit_ridge_decoders(x_train: np.ndarray, labels: dict[str, np.ndarray], groups: np.ndarray,
                       alphas: np.ndarray = ALPHA_GRID, n_splits: int = 5) -> dict[str, RidgeDecoder]:
    """One ridge classifier per attribute, fitted on the training rows only.

    x_train (N, V) responses; ``labels[attribute]`` (N,) class labels; ``groups`` (N,) the segment of each row
    (folds hold out whole segments). The penalty (``alphas`` × V) maximises the held-out accuracy summed over
    folds; ties go to the stronger penalty.
    """
    x_train = np.asarray(x_train, np.float64)
    mean, scale = x_train.mean(0), x_train.std(0)
    scale[scale < 1e-12] = 1.0
    x = (x_train - mean) / scale
    penalties = np.asarray(alphas, np.float64) * x.shape[1]
    targets = {name: _one_hot(y) for name, y in labels.items()}
    correct = {name: np.zeros(len(penalties)) for name in labels}
    for train, held in _folds(np.asarray(groups), n_splits):
        path = _RidgePath(x[train])
        for name, (_, y) in targets.items():
            guess = path.predict(x[held], y[train], penalties).argmax(-1)  # (n_alphas, N_held)
            correct[name] += (guess == y[held].argmax(-1)[None]).sum(1)
    full = _RidgePath(x)
    decoders = {}
    for name, (classes, y) in targets.items():
        best = len(penalties) - 1 - int(np.argmax(correct[name][::-1]))
        coef, intercept = full.coef(y, penalties[best])
        decoders[name] = RidgeDecoder(mean, scale, coef, intercept, classes, float(alphas[best]))
    return decoders


def decode_attributes(x_train: np.ndarray, labels_train: dict[str, np.ndarray], groups: np.ndarray,
                      x_test: np.ndarray, labels_test: dict[str, np.ndarray], **fit_kw) -> pd.DataFrame:
    """Fit on the training rows, score on the test rows: one row per attribute with ``accuracy``, ``chance``
    (majority-class rate of the test labels), ``n_test``, ``n_classes``, ``alpha`` and ``p`` (one-sided
    binomial test of the number correct against chance). ``fit_kw`` go to :func:`fit_ridge_decoders`."""
    decoders = fit_ridge_decoders(x_train, labels_train, groups, **fit_kw)
    rows = []
    for name, decoder in decoders.items():
        truth = np.asarray(labels_test[name])
        hits = int((decoder.predict(x_test) == truth).sum())
        _, counts = np.unique(truth, return_counts=True)
        chance = float(counts.max() / len(truth))
        rows.append({"attribute": name, "accuracy": hits / len(truth), "chance": chance, "n_test": len(truth),
                     "n_classes": len(decoder.classes), "alpha": decoder.alpha,
                     "p": float(binomtest(hits, len(truth), chance, alternative="greater").pvalue)})
    return pd.DataFrame(rows)


def roi_group_columns(labels: Sequence[str]) -> dict[str, np.ndarray]:
    """Boolean column mask per ROI group from Glasser labels (``'L_V1'``; ``''`` when unlabelled)."""
    names = np.array([str(label).split("_", 1)[-1] if label else "" for label in labels])
    return {group: np.ones(len(names), bool) if rois is None else np.isin(names, rois)
            for group, rois in ROI_GROUPS.items()}


def encodes(group: str, attribute: str) -> bool:
    """Whether the twin's simulator encodes ``attribute`` in ``group`` (brain.ENCODED_ATTRIBUTES)."""
    families = list(_GROUP_FAMILY.values()) if group == ALL_GROUP else [_GROUP_FAMILY[group]]
    return any(attribute in ENCODED_ATTRIBUTES[family] for family in families)


def information_ceiling(data: PreparedData, graphs: dict[str, dict], subjects: Sequence[str],
                        attributes: Sequence[str] = ATTRIBUTES, **fit_kw) -> pd.DataFrame:
    """The tidy ceiling table: one row per subject × ROI group × attribute.

    Columns: subject, roi_group, attribute, accuracy, chance, n_test, n_classes, n_vertices (selected vertices
    in the group), alpha, p, encoded (the simulator puts the attribute in that group by construction). Groups
    without selected vertices get NaN scores.
    """
    train, test = data.split_clips("train"), data.split_clips("test")
    labels = {split: scene_labels(graphs, clips["clip_id"], attributes).drop(columns="clip_id").to_dict("series")
              for split, clips in (("train", train), ("test", test))}
    tables = []
    for subject in subjects:
        bold = {split: np.asarray(data.bold(subject, split)) for split in ("train", "test")}
        for group, columns in roi_group_columns(data.selected_voxels(subject)["label"]).items():
            if columns.any():
                table = decode_attributes(bold["train"][:, columns], labels["train"], train["segment"].to_numpy(),
                                          bold["test"][:, columns], labels["test"], **fit_kw)
            else:
                table = pd.DataFrame({"attribute": list(attributes), "n_test": len(test)})
            tables.append(table.assign(subject=subject, roi_group=group, n_vertices=int(columns.sum())))
    out = pd.concat(tables, ignore_index=True)
    out["encoded"] = [encodes(g, a) for g, a in zip(out["roi_group"], out["attribute"])]
    order = ["subject", "roi_group", "attribute", "accuracy", "chance", "n_test", "n_classes", "n_vertices",
             "alpha", "p", "encoded"]
    return out.reindex(columns=order)


def ceiling_verdicts(table: pd.DataFrame, alpha: float = 0.01) -> pd.DataFrame:
    """Per ROI group × attribute of an :func:`information_ceiling` table: ``encoded``, the subjects (``n_subjects``)
    and how many of them decode it at p < ``alpha`` (``n_decodable``), the range of accuracy − chance, and
    ``broken`` = encoded but not decodable for some subject (the twin's criterion)."""
    scored = table.assign(decodable=table["p"] < alpha, margin=table["accuracy"] - table["chance"])
    out = scored.groupby(["roi_group", "attribute"], sort=False).agg(
        encoded=("encoded", "first"), n_subjects=("subject", "nunique"), n_decodable=("decodable", "sum"),
        min_margin=("margin", "min"), max_margin=("margin", "max"))
    out["broken"] = out["encoded"] & (out["n_decodable"] < out["n_subjects"])
    return out.reset_index()


def _cells(verdicts: pd.DataFrame) -> str:
    return "; ".join(f"{r.attribute} from {r.roi_group} ({r.n_decodable}/{r.n_subjects})"
                     for r in verdicts.itertuples()) or "none"


def describe_ceiling(table: pd.DataFrame, alpha: float = 0.01) -> str:
    """Prose, computed from the table: which encoded attributes are decodable where, which are not (the
    simulator's failures), and what is decodable beyond the simulator's design (e.g. through correlations)."""
    verdicts = ceiling_verdicts(table, alpha)
    encoded = verdicts[verdicts["encoded"] & (verdicts["roi_group"] != ALL_GROUP)]
    good, broken = encoded[~encoded["broken"]], encoded[encoded["broken"]]
    extra = verdicts[~verdicts["encoded"] & (verdicts["n_decodable"] > 0)]
    n = int(verdicts["n_subjects"].max())
    text = [(f"Of the {len(encoded)} attribute × ROI-group cells the simulator encodes, {len(good)} are "
             f"decodable at p < {alpha:g} for all {n} subjects: {_cells(good)}.")]
    text.append(f"Encoded but not decodable for every subject (a broken mechanism): {_cells(broken)}."
                if len(broken) else "No encoded attribute falls short: the twin's mechanisms carry what they claim.")
    pooled = verdicts[verdicts["encoded"] & (verdicts["roi_group"] == ALL_GROUP)]
    short = pooled[pooled["broken"]]
    text.append(f"From {ALL_GROUP} vertices together, {len(pooled) - len(short)} of {len(pooled)} attributes are "
                f"decodable for every subject" + (f"; not for every subject: {_cells(short)}." if len(short) else "."))
    text.append(f"Decodable where the simulator does not put it (subjects with p < {alpha:g}): {_cells(extra)}.")
    return " ".join(text)
