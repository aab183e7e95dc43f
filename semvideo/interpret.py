"""ROI importance from the SAD's first layer (paper §4.4, Fig. 6; appendix D.1, Figs. 12/13).

The paper's procedure: take the fitted weights of the subject-specific first layer f_SAD^θm of each level's
SAD, average them per voxel, average the voxels of each cortical region, and normalise to [0, 1] for
comparison. Here, step by step:

1. :func:`voxel_importance` — one number per input voxel from the ``(D_l, V)`` weight matrix of the
   subject's ``nn.Linear``: the **mean absolute weight over the D_l hidden units**, ``mean_h |W[h, v]|``.
   Absolute, because the sign of a hidden unit is arbitrary (flipping a unit's sign and the sign of the next
   layer's column gives the same network), so signed weights of one voxel would cancel; a mean rather than a
   sum, so the number does not depend on D_l; L1 rather than L2, so one large weight does not dominate the
   voxel's score (``norm="rms"`` gives the root-mean-square instead). The BOLD inputs are z-scored per voxel,
   so weight magnitudes are comparable across voxels.
2. :func:`roi_importance` — mean voxel importance per Glasser ROI (hemispheres merged by default:
   ``L_MT`` and ``R_MT`` → ``MT``), then min–max normalised over the ROIs to [0, 1].
3. :func:`roi_importance_table` — every subject × level fine-tuned SAD (``sad/{level}_{subject}/``), as one
   long table saved to ``results/<name>/interpret/roi_importance.csv``.
4. On the twin, :func:`truth_roi_importance` builds the same table from the simulator's encoding maps,
   :func:`compare_with_truth` gives Spearman rank correlations between decoded and true ROI importance, and
   :func:`dorsal_vs_ventral` puts numbers on the paper's claim that the motion SAD draws on MT/MST/TPOJ
   rather than on the ventral (object) stream.

**Weights or what training changed.** The paper reads the fitted weights W. A freshly initialised layer
already has weights of the same size for every voxel, so when training moves them little (short runs, the
smoke config) |W| mostly shows the random start and the ROI means mostly show ROI size (small ROIs have
noisier means). ``measure="change"`` reads W − W₀ instead, with the start W₀ rebuilt from the run's seed
(:func:`initial_projection_weight`); the notebook reports both against the twin's truth.

**Which ground-truth channel belongs to which level (twin).** The simulator has three vertex families
(``semvideo.data.synthetic.brain.FAMILIES``): ``early`` (V1–V4, retinotopic contrast and colour), ``motion``
(MT, MST, FST, V4t, TPOJ1–3, motion energy / expansion / rotation) and ``object`` (LO1–3, PIT, FFC, VVC,
VMV1–3, PH, V8, category and colour), each encoding known scene attributes (``brain.ENCODED_ATTRIBUTES``).
What a level's decoder should draw on is decided by what its captions' embeddings carry, measured rather than
assumed (:func:`caption_family_weights`): the share of the training targets' variance that each scene attribute's
class means explain (η², :func:`caption_attribute_shares`), summed per family over the attributes it encodes (an
attribute encoded by two families split between them, :func:`level_family_weights`). The twin's motion captions
name the object as well as its motion ("The red bar grows larger as it approaches…"), so their embeddings vary
with the category and colour (η² ≈ 0.19 and 0.13 on the default twin) about as much as with the motion type
(0.18), and a decoder that reads them perfectly draws on the object family too — a hand-made table "motion
captions → motion family" would score such a decoder as wrong.

The true importance of a ROI for a level is the mean, over the decoder's input voxels in that ROI, of
``gain × weight of the voxel's family for the level`` (``gain`` = 0 for noise and unresponsive vertices),
normalised to [0, 1] like the decoded one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from semvideo.config import LEVELS, Config
from semvideo.data.atlas import load_glasser
from semvideo.data.prepared import PreparedData
from semvideo.data.synthetic.brain import ENCODED_ATTRIBUTES
from semvideo.data.synthetic.truth import scene_graphs, scene_labels, truth_vertices
from semvideo.embed import load_embeddings
from semvideo.io import atomic_path
from semvideo.paths import RunPaths

__all__ = [
    "EARLY_ROIS",
    "MEASURES",
    "MOTION_ROIS",
    "PAPER_FIGURES",
    "SCENE_ATTRIBUTES",
    "VENTRAL_ROIS",
    "caption_attribute_shares",
    "caption_family_weights",
    "claim_checks",
    "compare_with_truth",
    "dorsal_vs_ventral",
    "initial_projection_weight",
    "level_family_weights",
    "paper_figure_names",
    "projection_weight",
    "roi_importance",
    "roi_importance_table",
    "roi_name",
    "roi_surface_values",
    "sad_model_dir",
    "truth_roi_importance",
    "voxel_importance",
]

#: The scene-graph attributes whose share of a caption level's embedding variance is measured (twin).
SCENE_ATTRIBUTES = ("category", "colour", "background", "motion", "speed")
#: The dorsal motion ROIs the paper names (MT, MST, TPOJ; TPOJ is split into TPOJ1–3 by Glasser).
MOTION_ROIS = ("MT", "MST", "TPOJ1", "TPOJ2", "TPOJ3")
#: Glasser et al.'s "ventral stream visual cortex" section: object/category regions.
VENTRAL_ROIS = ("V8", "VVC", "PIT", "FFC", "VMV1", "VMV2", "VMV3")
#: Early visual cortex.
EARLY_ROIS = ("V1", "V2", "V3", "V4")


# ---------------------------------------------------------------------------------------------- core


def voxel_importance(weight, norm: str = "mean_abs") -> np.ndarray:
    """Importance of each input voxel from a first-layer weight matrix.

    Parameters
    ----------
    weight
        ``(D_l, V)`` array or tensor, as ``nn.Linear.weight`` stores it (one column per input voxel).
    norm
        ``"mean_abs"`` (default): ``mean_h |W[h, v]|``; ``"rms"``: ``sqrt(mean_h W[h, v]²)``.

    Returns
    -------
    numpy.ndarray
        float64 ``(V,)``.
    """
    if hasattr(weight, "detach"):
        weight = weight.detach().cpu().numpy()
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"voxel_importance: expected a (hidden, voxels) matrix, got shape {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("voxel_importance: the weight matrix has NaN/inf entries; the model did not train")
    if norm == "mean_abs":
        return np.abs(w).mean(axis=0)
    if norm == "rms":
        return np.sqrt((w**2).mean(axis=0))
    raise ValueError(f"voxel_importance: unknown norm {norm!r}; use 'mean_abs' or 'rms'")


def roi_name(label: str, merge_hemispheres: bool = True) -> str:
    """``'L_MT'`` → ``'MT'`` (merged) or ``'L_MT'`` (kept); unlabelled vertices (``''``) → ``'none'``."""
    label = str(label)
    if not label or label == "nan":
        return "none"
    if merge_hemispheres and label[:2] in ("L_", "R_"):
        return label[2:]
    return label


def _minmax(values: np.ndarray) -> np.ndarray:
    lo, hi = np.min(values), np.max(values)
    if hi - lo <= 0:  # a single ROI, or all equal: every ROI is as important as the most important one
        return np.ones_like(values, dtype=float)
    return (values - lo) / (hi - lo)


def roi_importance(importance, labels, merge_hemispheres: bool = True, normalise: bool = True) -> pd.DataFrame:
    """Average voxel importance per ROI, min–max normalised over ROIs.

    Parameters
    ----------
    importance
        ``(V,)`` voxel importance (:func:`voxel_importance`).
    labels
        ``(V,)`` Glasser labels (``'L_V1'``, ``'R_MT'``…) of the same voxels, in the same order.
    merge_hemispheres
        Pool ``L_x`` and ``R_x`` into ``x`` (default) or keep them apart.
    normalise
        Min–max over the ROIs to [0, 1] (the most important ROI gets 1, the least 0).

    Returns
    -------
    pandas.DataFrame
        Columns ``roi, importance, raw_importance, n_voxels``; most important first (ties by ROI name).
    """
    importance = np.asarray(importance, dtype=float)
    labels = np.asarray(labels)
    if importance.shape != labels.shape or importance.ndim != 1:
        raise ValueError(f"roi_importance: {importance.shape} importances but {labels.shape} labels; "
                         "pass one label per voxel, in the decoder's input order")
    rois = [roi_name(lab, merge_hemispheres) for lab in labels]
    table = (pd.DataFrame({"roi": rois, "value": importance}).groupby("roi", sort=True)["value"]
             .agg(raw_importance="mean", n_voxels="size").reset_index())
    table["importance"] = _minmax(table["raw_importance"].to_numpy()) if normalise else table["raw_importance"]
    table = table.sort_values(["importance", "roi"], ascending=[False, True], kind="stable")
    return table[["roi", "importance", "raw_importance", "n_voxels"]].reset_index(drop=True)


def projection_weight(model, subject: str) -> np.ndarray:
    """The ``(D_l, V_subject)`` weight of ``subject``'s input layer f_SAD^θm of a SemanticAlignmentDecoder."""
    if subject not in model.projector:
        raise KeyError(f"the SAD has input layers for {list(model.projector)}, not for {subject!r}")
    return model.projector[subject].weight.detach().cpu().numpy()


def initial_projection_weight(model, subject: str, seed: int) -> np.ndarray:
    """The input layer's weights *before* training, rebuilt from the seed.

    ``semvideo.models.sad`` seeds ``torch.manual_seed(cfg.seed)`` right before building the pre-training SAD,
    and fine-tuning starts from it, so building the class again from the saved config with the same seed
    reproduces the starting weights. A check guards the convention: trained weights stay correlated with
    their start; if they are not (correlation < 0.05), the seed or the construction order changed and this
    raises instead of returning an unrelated matrix.
    """
    import torch

    kwargs = {k: v for k, v in model.config.items() if not k.startswith("_")}
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        fresh = type(model)(**kwargs)
    finally:
        torch.random.set_rng_state(state)
    start, trained = projection_weight(fresh, subject), projection_weight(model, subject)
    corr = np.corrcoef(start.ravel(), trained.ravel())[0, 1]
    if not corr > 0.05:
        raise ValueError(f"cannot rebuild {subject}'s initial SAD weights from seed {seed} (correlation with the "
                         f"trained weights {corr:.3f}); use measure='weights'")
    return start


# ---------------------------------------------------------------------------------------------- run level

#: ``weights``: the paper's measure, |W| of the fitted first layer. ``change``: |W − W₀|, what training moved
#: the weights by since their random start W₀ — on a short training run |W| is mostly the initialisation.
MEASURES = ("weights", "change")


def sad_model_dir(cfg: Config, level: str, subject: str) -> Path:
    """The fine-tuned SAD of one subject and level: ``results/<name>/sad/{level}_{subject}/``."""

    return RunPaths.from_config(cfg).sad / f"{level}_{subject}"


def _out_dir(cfg: Config) -> Path:

    return RunPaths.from_config(cfg).root / "interpret"


def _save_csv(table: pd.DataFrame, path: Path) -> Path:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return path


def _labels(cfg: Config, subject: str) -> np.ndarray:

    return PreparedData.from_config(cfg).selected_voxels(subject)["label"].astype(str).to_numpy()


def roi_importance_table(cfg: Config, levels=LEVELS, merge_hemispheres: bool = True, norm: str = "mean_abs",
                         measure: str = "weights", save: bool = True) -> pd.DataFrame:
    """ROI importance of every subject × level fine-tuned SAD (paper Figs. 6/12/13).

    ``measure`` is ``"weights"`` (the paper's: the fitted weights W) or ``"change"`` (W − W₀, see
    :func:`initial_projection_weight`). Returns the long table ``subject, level, roi, importance,
    raw_importance, n_voxels`` (importance in [0, 1] within each subject × level) and, with ``save``, writes it
    to ``results/<name>/interpret/roi_importance.csv`` (``roi_importance_change.csv`` for ``"change"``).
    """
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; use one of {MEASURES}")
    from semvideo.models.sad import SemanticAlignmentDecoder  # diffusers: loaded here, not by every notebook

    parts = []
    for subject in cfg.subjects:
        labels = _labels(cfg, subject)
        for level in levels:
            folder = sad_model_dir(cfg, level, subject)
            if not (folder / "config.json").exists():
                raise FileNotFoundError(f"{folder}: no fine-tuned SAD; run `python -m semvideo train-sad "
                                        "--config ...` (Snakemake rule `train_sad`) first")
            model = SemanticAlignmentDecoder.from_pretrained(folder)
            weight = projection_weight(model, subject)
            if measure == "change":
                weight = weight - initial_projection_weight(model, subject, cfg.seed)
            if weight.shape[1] != len(labels):
                raise ValueError(f"{folder}: the input layer of {subject} takes {weight.shape[1]} voxels but "
                                 f"{subject}/voxels.csv selects {len(labels)}; rerun `train-sad` after `prepare`")
            table = roi_importance(voxel_importance(weight, norm), labels, merge_hemispheres)
            parts.append(table.assign(subject=subject, level=level))
    out = pd.concat(parts, ignore_index=True)
    out = out[["subject", "level", "roi", "importance", "raw_importance", "n_voxels"]]
    if save:
        suffix = "" if measure == "weights" else f"_{measure}"
        _save_csv(out, _out_dir(cfg) / f"roi_importance{suffix}.csv")
    return out


def caption_attribute_shares(embeddings: np.ndarray, labels: pd.DataFrame) -> pd.Series:
    """η² of each scene attribute: the share of the variance of caption embeddings (N, 77, D) (or any (N, ...)
    array) that the attribute's class means explain, Σ_k n_k‖μ_k − μ‖² / Σ_i‖z_i − μ‖². ``labels`` has one row per
    embedding and one column per attribute. Returns attribute → share in [0, 1]."""
    flat = np.asarray(embeddings, dtype=np.float32).reshape(len(embeddings), -1)
    flat = flat - flat.mean(axis=0)
    total = float((flat.astype(np.float64) ** 2).sum())
    shares = {}
    for attribute in labels.columns:
        codes, classes = pd.factorize(labels[attribute])
        onehot = np.eye(len(classes), dtype=np.float32)[codes]  # (N, K)
        counts = onehot.sum(axis=0)
        sums = onehot.T @ flat  # (K, F): per-class sums of the centred embeddings
        shares[attribute] = float(((sums.astype(np.float64) ** 2).sum(axis=1) / counts).sum() / total)
    return pd.Series(shares)


def level_family_weights(shares: pd.Series, encoded=ENCODED_ATTRIBUTES) -> dict[str, float]:
    """How much a decoder of captions with these attribute shares (:func:`caption_attribute_shares`) should draw on
    each vertex family: the summed shares of the attributes the family encodes (``encoded``: family → attributes),
    an attribute encoded by several families split evenly between them."""
    n_families = {a: sum(a in attrs for attrs in encoded.values()) for attrs in encoded.values() for a in attrs}
    return {family: float(sum(shares.get(a, 0.0) / n_families[a] for a in attrs)) for family, attrs in encoded.items()}


def caption_family_weights(cfg: Config, levels=LEVELS) -> pd.DataFrame:
    """The twin's family weights per caption level (:func:`level_family_weights`) from the training clips' true
    caption embeddings and scene graphs. Returns one row per level: ``level``, the attribute shares
    (:data:`SCENE_ATTRIBUTES`) and ``weight_<family>`` for each family."""
    paths, data = RunPaths.from_config(cfg), PreparedData.from_config(cfg)
    labels = scene_labels(scene_graphs(paths.raw), data.split_clips("train")["clip_id"], SCENE_ATTRIBUTES)
    rows = []
    for level in levels:
        shares = caption_attribute_shares(load_embeddings(cfg, level, "train"), labels.drop(columns="clip_id"))
        weights = level_family_weights(shares)
        rows.append({"level": level, **shares.round(4).to_dict(),
                     **{f"weight_{family}": round(w, 4) for family, w in weights.items()}})
    return pd.DataFrame(rows)


def truth_roi_importance(cfg: Config, levels=LEVELS, merge_hemispheres: bool = True, save: bool = True,
                         family_weights: pd.DataFrame | None = None) -> pd.DataFrame:
    """The twin's ground-truth ROI importance per subject × level (see the module doc for the definition).

    Uses the same voxels as the decoders (the selected ones), so the ROIs and ``n_voxels`` match
    :func:`roi_importance_table`. Returns ``subject, level, roi, importance, raw_importance, n_voxels``;
    with ``save``, writes ``results/<name>/interpret/roi_importance_truth.csv``. ``family_weights``: the table of
    :func:`caption_family_weights` when the caller already has it (it reads every level's training embeddings).
    """

    if cfg.world != "twin":
        raise ValueError(f"world '{cfg.world}' has no ground-truth encoding maps; only the twin does")
    raw, data = RunPaths.from_config(cfg).raw, PreparedData.from_config(cfg)
    if family_weights is None:
        family_weights = caption_family_weights(cfg, levels)
    family_weights = family_weights.set_index("level")
    parts = []
    for subject in cfg.subjects:
        path = raw / "truth" / f"{subject}_vertices.csv"
        if not path.exists():
            raise FileNotFoundError(f"{path}: no ground truth; generate the twin first (`python -m semvideo "
                                    "generate-twin --config ...`)")
        truth = truth_vertices(raw, subject)[["grayordinate", "family", "gain"]]
        voxels = data.selected_voxels(subject)[["grayordinate", "label"]]
        merged = voxels.merge(truth, on="grayordinate", how="left")  # keeps the decoder's voxel order
        merged["gain"] = merged["gain"].fillna(0.0)
        for level in levels:
            weights = {family: family_weights.loc[level, f"weight_{family}"] for family in ENCODED_ATTRIBUTES}
            value = merged["gain"].to_numpy() * merged["family"].map(weights).fillna(0.0).to_numpy()
            table = roi_importance(value, merged["label"].astype(str).to_numpy(), merge_hemispheres)
            parts.append(table.assign(subject=subject, level=level))
    out = pd.concat(parts, ignore_index=True)[["subject", "level", "roi", "importance", "raw_importance",
                                               "n_voxels"]]
    if save:
        _save_csv(out, _out_dir(cfg) / "roi_importance_truth.csv")
    return out


def compare_with_truth(decoded: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Spearman rank correlation between decoded and true ROI importance, per subject × level.

    Returns ``subject, level, n_rois, spearman_rho, p_value`` (ρ is NaN when either side is constant).
    """
    from scipy.stats import spearmanr

    keys = ["subject", "level", "roi"]
    both = decoded[keys + ["importance"]].merge(truth[keys + ["importance"]], on=keys, suffixes=("", "_true"))
    rows = []
    for (subject, level), group in both.groupby(["subject", "level"], sort=False):
        a, b = group["importance"].to_numpy(), group["importance_true"].to_numpy()
        if len(group) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
            rho, p = np.nan, np.nan
        else:
            rho, p = spearmanr(a, b)
        rows.append({"subject": subject, "level": level, "n_rois": len(group), "spearman_rho": float(rho),
                     "p_value": float(p)})
    return pd.DataFrame(rows)


def dorsal_vs_ventral(table: pd.DataFrame, motion_rois=MOTION_ROIS, ventral_rois=VENTRAL_ROIS) -> pd.DataFrame:
    """Numbers for the claim "motion importance ranks MT/MST/TPOJ above the ventral ROIs".

    For each subject × level of a long ROI table (hemispheres merged), ranks the ROIs (1 = most important,
    ties averaged) and returns ``mean_rank_motion``, ``mean_rank_ventral`` (lower = more important),
    ``mean_importance_motion``, ``mean_importance_ventral``, ``motion_minus_ventral`` (difference of mean
    importance) and ``p_motion_above_ventral``: the fraction of (motion ROI, ventral ROI) pairs in which the
    motion ROI is more important (ties count ½; 0.5 = no preference, 1 = every motion ROI above every ventral
    one), with the ROI counts ``n_motion, n_ventral, n_rois``. ROIs with no voxels are left out.
    """
    rows = []
    for (subject, level), group in table.groupby(["subject", "level"], sort=False):
        values = group.set_index("roi")["importance"]
        ranks = values.rank(ascending=False, method="average")
        motion = [r for r in motion_rois if r in values.index]
        ventral = [r for r in ventral_rois if r in values.index]
        if motion and ventral:
            diff = values[motion].to_numpy()[:, None] - values[ventral].to_numpy()[None, :]
            above = float(((diff > 0) + 0.5 * (diff == 0)).mean())
        else:
            above = np.nan
        rows.append({"subject": subject, "level": level, "n_rois": len(values), "n_motion": len(motion),
                     "n_ventral": len(ventral),
                     "mean_rank_motion": float(ranks[motion].mean()) if motion else np.nan,
                     "mean_rank_ventral": float(ranks[ventral].mean()) if ventral else np.nan,
                     "mean_importance_motion": float(values[motion].mean()) if motion else np.nan,
                     "mean_importance_ventral": float(values[ventral].mean()) if ventral else np.nan,
                     "p_motion_above_ventral": above})
    out = pd.DataFrame(rows)
    out["motion_minus_ventral"] = out["mean_importance_motion"] - out["mean_importance_ventral"]
    return out


def claim_checks(claims: pd.DataFrame, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """The paper's interpretation (§4.4, appendix D.1) as measured statements, one row per statement.

    ``claims`` is :func:`dorsal_vs_ventral`'s table, ``scores`` (optional, twin only) :func:`compare_with_truth`'s.
    Each statement is measured per subject; the row gives ``value`` (mean over subjects), ``per_subject``
    (the values), ``criterion`` (what would support the paper, per subject), ``n_agree`` (subjects that meet
    it) and ``holds``: every subject meets it — the paper claims a pattern that is similar across subjects.
    Nothing is decided here beyond comparing numbers.
    """
    wide = claims.pivot_table(index="subject", columns="level",
                              values=["p_motion_above_ventral", "motion_minus_ventral"])

    def column(name, level):
        return wide[(name, level)] if (name, level) in wide.columns else pd.Series(np.nan, index=wide.index)

    above = column("p_motion_above_ventral", "motion")
    shift = {level: column("motion_minus_ventral", level) for level in LEVELS}
    low = np.minimum(shift["anchor"], shift["motion"])
    high = np.maximum(shift["anchor"], shift["motion"])
    measured = [
        ("motion SAD: fraction of (MT/MST/TPOJ, ventral) ROI pairs in which the motion ROI is more important",
         above, above > 0.5, "> 0.5 (0.5 = no preference)"),
        ("motion-minus-ventral importance, motion SAD − anchor SAD", shift["motion"] - shift["anchor"],
         shift["motion"] - shift["anchor"] > 0, "> 0"),
        ("holi SAD balanced: its motion-minus-ventral importance (between anchor's and motion's)", shift["holi"],
         (shift["holi"] >= low) & (shift["holi"] <= high), "between the anchor and motion SADs' values"),
    ]
    if scores is not None:
        for level, group in scores.groupby("level", sort=False):
            rho = group.set_index("subject")["spearman_rho"]
            ok = (rho > 0) & (group.set_index("subject")["p_value"] < 0.05)
            measured.append((f"{level} SAD: Spearman ρ, decoded vs the twin's true ROI importance", rho, ok,
                             "> 0 with p < 0.05"))
    rows = []
    for check, values, ok, criterion in measured:
        values = values.astype(float)
        rows.append({"check": check, "value": float(values.mean()),
                     "per_subject": ", ".join(f"{v:.3f}" for v in values), "criterion": criterion,
                     "n_agree": f"{int(ok.sum())}/{len(values)}", "holds": bool(len(values) and ok.all())})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------- maps


def roi_surface_values(table: pd.DataFrame, column: str = "importance") -> tuple[np.ndarray, np.ndarray]:
    """Paint each ROI of a table (one subject × level) onto all its atlas vertices.

    ROI names may be merged (``MT``: both hemispheres' parcels) or per hemisphere (``L_MT``). Returns
    ``(grayordinates, values)`` for :func:`semvideo.viz.plot_on_surface` or :func:`semvideo.viz.plot_subject_figure`.
    """

    atlas = load_glasser()
    value_of = dict(zip(table["roi"], table[column]))
    parcel_value = np.full(len(atlas.labels), np.nan)
    for index, label in enumerate(atlas.labels):
        if not label:
            continue
        for key in (label, roi_name(label)):
            if key in value_of:
                parcel_value[index] = value_of[key]
                break
    values = parcel_value[atlas.parcel]
    grayordinates = np.flatnonzero(np.isfinite(values))
    return grayordinates, values[grayordinates]


#: The paper's ROI-importance figures, one per subject in order: Fig. 6 (subject 1), Figs. 12 and 13 (subjects 2, 3).
PAPER_FIGURES = ("fig6", "fig12", "fig13")


def paper_figure_names(subjects: list[str]) -> dict[str, str]:
    """subject → figure file stem (``fig6_roi_importance_subject1`` …) for the first three subjects."""
    return {s: f"{fig}_roi_importance_{s}" for fig, s in zip(PAPER_FIGURES, subjects)}


