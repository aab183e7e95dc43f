"""ROI importance (paper Figs. 6/12/13): hand-computed ROI means, normalisation, hemisphere merge, recovery of
a planted ROI by a fitted linear decoder, a SAD save/load round trip, and the twin's ground-truth checks."""

import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from semvideo.interpret import (
    MOTION_ROIS,
    VENTRAL_ROIS,
    caption_attribute_shares,
    caption_family_weights,
    claim_checks,
    compare_with_truth,
    dorsal_vs_ventral,
    initial_projection_weight,
    level_family_weights,
    projection_weight,
    roi_importance,
    roi_importance_table,
    roi_name,
    roi_surface_values,
    truth_roi_importance,
    voxel_importance,
)
from semvideo.models.sad import SemanticAlignmentDecoder

LABELS = np.array(["L_V1", "R_V1", "L_MT", "R_MT", "L_FFC"])
WEIGHT = np.array([[1.0, -3.0, 0.5, 0.0, -2.0],
                   [-1.0, 1.0, 0.5, 1.0, 0.0]])  # (hidden = 2, voxels = 5), as nn.Linear stores it


def test_voxel_importance_is_mean_absolute_weight_over_hidden_units():
    np.testing.assert_allclose(voxel_importance(WEIGHT), [1.0, 2.0, 0.5, 0.5, 1.0])
    np.testing.assert_allclose(voxel_importance(WEIGHT, norm="rms"),
                               [1.0, np.sqrt(5.0), 0.5, np.sqrt(0.5), np.sqrt(2.0)])
    np.testing.assert_allclose(voxel_importance(torch.tensor(WEIGHT)), [1.0, 2.0, 0.5, 0.5, 1.0])
    with pytest.raises(ValueError, match="norm"):
        voxel_importance(WEIGHT, norm="max")
    with pytest.raises(ValueError, match="hidden, voxels"):
        voxel_importance(WEIGHT[0])
    with pytest.raises(ValueError, match="NaN"):
        voxel_importance(np.array([[np.nan, 1.0]]))


def test_roi_importance_hand_computed_and_normalised():
    table = roi_importance(voxel_importance(WEIGHT), LABELS)
    # V1 = mean(1, 2) = 1.5, MT = mean(0.5, 0.5) = 0.5, FFC = 1.0 → min–max: V1 1, FFC 0.5, MT 0
    assert table["roi"].tolist() == ["V1", "FFC", "MT"]
    np.testing.assert_allclose(table["raw_importance"], [1.5, 1.0, 0.5])
    np.testing.assert_allclose(table["importance"], [1.0, 0.5, 0.0])
    assert table["n_voxels"].tolist() == [2, 1, 2]
    assert table["importance"].between(0, 1).all()
    raw = roi_importance(voxel_importance(WEIGHT), LABELS, normalise=False)
    np.testing.assert_allclose(raw["importance"], raw["raw_importance"])
    flat = roi_importance(np.ones(3), ["L_V1", "R_V1", "L_MT"])
    np.testing.assert_allclose(flat["importance"], [1.0, 1.0])  # all equal: no ROI is less important
    with pytest.raises(ValueError, match="one label per voxel"):
        roi_importance(np.ones(3), LABELS)


def test_hemisphere_merge_and_split():
    assert roi_name("L_MT") == "MT" and roi_name("R_TPOJ1") == "TPOJ1"
    assert roi_name("L_MT", merge_hemispheres=False) == "L_MT"
    assert roi_name("") == "none"
    split = roi_importance(voxel_importance(WEIGHT), LABELS, merge_hemispheres=False).set_index("roi")
    # voxels: L_V1 1.0, R_V1 2.0, L_MT 0.5, R_MT 0.5, L_FFC 1.0 → min 0.5, max 2.0
    assert sorted(split.index) == ["L_FFC", "L_MT", "L_V1", "R_MT", "R_V1"]
    np.testing.assert_allclose(split.loc[["R_V1", "L_V1", "L_FFC", "L_MT", "R_MT"], "importance"],
                               [1.0, 1 / 3, 1 / 3, 0.0, 0.0])
    assert (split["n_voxels"] == 1).all()


def _planted(seed=0, n=400, per_roi=15, k=6):
    """Responses of 4 ROIs (both hemispheres); only MT voxels carry the signal that the targets are made of."""
    rng = np.random.default_rng(seed)
    rois = ["V1", "MT", "FFC", "V4"]
    labels = np.array([f"{h}_{roi}" for roi in rois for h in "LR" for _ in range(per_roi // 2 + 1)])
    x = rng.normal(size=(n, len(labels)))
    signal = np.char.endswith(labels, "_MT")
    y = x[:, signal] @ rng.normal(size=(signal.sum(), k)) + 0.1 * rng.normal(size=(n, k))
    return x, y, labels


def test_least_squares_decoder_recovers_planted_roi():
    x, y, labels = _planted()
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)  # (V, k)
    table = roi_importance(voxel_importance(coef.T), labels)
    assert table["roi"].iloc[0] == "MT"
    assert table["importance"].iloc[0] == 1.0
    assert table["importance"].iloc[1:].max() < 0.2  # the unused ROIs are far below


def test_torch_linear_decoder_recovers_planted_roi():
    x, y, labels = _planted(seed=1)
    torch.manual_seed(0)
    layer = nn.Linear(x.shape[1], y.shape[1])
    optim = torch.optim.Adam(layer.parameters(), lr=0.05)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    for _ in range(300):
        optim.zero_grad()
        loss = ((layer(xt) - yt) ** 2).mean()
        loss.backward()
        optim.step()
    table = roi_importance(voxel_importance(layer.weight), labels)
    assert table["roi"].iloc[0] == "MT"
    assert table.set_index("roi").loc[["V1", "FFC", "V4"], "importance"].max() < 0.5


def _tiny_sad(subjects=("s1", "s2"), n_voxels=(5, 3)):
    return SemanticAlignmentDecoder(subjects=list(subjects), n_voxels=list(n_voxels), hidden_dim=2, n_tokens=3,
                                    embed_dim=4, prior_layers=1, prior_heads=1, prior_head_dim=4,
                                    prior_timesteps=5)


def test_round_trip_through_save_pretrained(tmp_path):
    model = _tiny_sad()
    with torch.no_grad():
        model.projector["s1"].weight.copy_(torch.tensor(WEIGHT, dtype=torch.float32))
    model.save_pretrained(tmp_path / "sad")
    loaded = SemanticAlignmentDecoder.from_pretrained(tmp_path / "sad")
    weight = projection_weight(loaded, "s1")
    assert weight.shape == (2, 5)
    np.testing.assert_allclose(weight, WEIGHT)
    table = roi_importance(voxel_importance(weight), LABELS)
    np.testing.assert_allclose(table.set_index("roi").loc[["V1", "FFC", "MT"], "importance"], [1.0, 0.5, 0.0])
    with pytest.raises(KeyError, match="s3"):
        projection_weight(loaded, "s3")


def test_initial_weights_are_rebuilt_from_the_seed(tmp_path):
    torch.manual_seed(7)
    model = _tiny_sad()
    start = projection_weight(model, "s1").copy()
    with torch.no_grad():
        model.projector["s1"].weight[:, 2] += 0.5  # "training" moved voxel 2 only
    model.save_pretrained(tmp_path / "sad")
    loaded = SemanticAlignmentDecoder.from_pretrained(tmp_path / "sad")
    np.testing.assert_allclose(initial_projection_weight(loaded, "s1", seed=7), start)
    change = projection_weight(loaded, "s1") - initial_projection_weight(loaded, "s1", seed=7)
    np.testing.assert_allclose(voxel_importance(change), [0, 0, 0.5, 0, 0], atol=1e-6)


def test_dorsal_vs_ventral_numbers():
    rois = list(MOTION_ROIS[:2]) + list(VENTRAL_ROIS[:2]) + ["V1"]
    table = pd.DataFrame({"subject": "s", "level": "motion", "roi": rois, "importance": [1.0, 0.8, 0.2, 0.0, 0.5]})
    row = dorsal_vs_ventral(table).iloc[0]
    assert row["mean_rank_motion"] == 1.5 and row["mean_rank_ventral"] == 4.5
    assert row["p_motion_above_ventral"] == 1.0
    assert row["motion_minus_ventral"] == pytest.approx(0.8)
    flipped = dorsal_vs_ventral(table.assign(importance=1 - table["importance"])).iloc[0]
    assert flipped["p_motion_above_ventral"] == 0.0


def test_claim_checks_need_every_subject():
    def level_table(subject, level, motion, ventral):
        return pd.DataFrame({"subject": subject, "level": level, "roi": list(MOTION_ROIS) + list(VENTRAL_ROIS),
                             "importance": [motion] * len(MOTION_ROIS) + [ventral] * len(VENTRAL_ROIS)})

    tables = [level_table(s, "motion", 1.0, 0.0) for s in ("s1", "s2")]
    tables += [level_table(s, "anchor", 0.0, 1.0) for s in ("s1", "s2")]
    tables += [level_table(s, "holi", 0.6, 0.4) for s in ("s1", "s2")]
    checks = claim_checks(dorsal_vs_ventral(pd.concat(tables))).set_index("criterion")
    assert checks["holds"].all() and (checks["n_agree"] == "2/2").all()
    assert checks.iloc[0]["value"] == 1.0 and checks.iloc[1]["value"] == pytest.approx(2.0)
    tables[1] = level_table("s2", "motion", 0.0, 1.0)  # one subject disagrees: the pattern does not hold
    checks = claim_checks(dorsal_vs_ventral(pd.concat(tables)))
    assert not checks.iloc[0]["holds"] and checks.iloc[0]["n_agree"] == "1/2"
    assert checks.iloc[0]["value"] == pytest.approx(0.5)
    scores = pd.DataFrame({"subject": ["s1", "s2"], "level": "motion", "n_rois": 12, "spearman_rho": [0.8, 0.7],
                           "p_value": [0.001, 0.01]})
    assert claim_checks(dorsal_vs_ventral(pd.concat(tables)), scores).iloc[-1]["holds"]


def test_compare_with_truth_spearman():
    truth = pd.DataFrame({"subject": "s", "level": "motion", "roi": list("abcd"), "importance": [0, 1, 2, 3.0]})
    same = compare_with_truth(truth.assign(importance=[0.0, 0.1, 0.5, 0.9]), truth).iloc[0]
    assert same["spearman_rho"] == pytest.approx(1.0) and same["n_rois"] == 4
    reverse = compare_with_truth(truth.assign(importance=[3.0, 2, 1, 0]), truth).iloc[0]
    assert reverse["spearman_rho"] == pytest.approx(-1.0)
    flat = compare_with_truth(truth.assign(importance=1.0), truth).iloc[0]
    assert np.isnan(flat["spearman_rho"])


def test_surface_values_paint_whole_parcels():
    from semvideo.data.atlas import load_glasser

    atlas = load_glasser()
    grayordinates, values = roi_surface_values(pd.DataFrame({"roi": ["MT", "L_V1"], "importance": [0.25, 1.0]}))
    mt, v1_left = atlas.select(["MT"]), atlas.select(["V1"], hemispheres="L")
    assert set(grayordinates) == set(mt) | set(v1_left)
    lookup = dict(zip(grayordinates, values))
    assert {lookup[g] for g in mt} == {0.25} and {lookup[g] for g in v1_left} == {1.0}


def test_run_tables_on_the_tiny_twin(tiny_twin, tmp_path):
    """Plant motion-family weights into saved SADs of a copy of the tiny twin: the tables find them and match the
    truth derived from what the levels' (hand-made) caption embeddings carry."""
    from semvideo.paths import RunPaths

    cfg, shared = tiny_twin
    cfg = cfg.model_copy(update={"paths": cfg.paths.model_copy(update={"results": str(tmp_path / "results")})})
    paths = RunPaths.from_config(cfg)  # the shared twin's raw data and preprocessing, none of its later stages
    shutil.copytree(shared.root, paths.root, ignore=shutil.ignore_patterns("embeddings", "sad", "interpret"))
    write_caption_embeddings(cfg, paths, {"anchor": ("category", "background"), "motion": ("motion",),
                                          "holi": ("motion",)})
    check_tables_on_the_tiny_twin(cfg, paths)


def write_caption_embeddings(cfg, paths, named: dict) -> None:
    """Training-clip "caption embeddings" (N, 3, 8) that carry only the one-hots of the attributes each level
    names, so that the levels' truths differ as the planted weights below do."""
    from semvideo.data.prepared import PreparedData
    from semvideo.data.synthetic.truth import scene_graphs, scene_labels

    ids = PreparedData.from_config(cfg).split_clips("train")["clip_id"]
    labels = scene_labels(scene_graphs(paths.raw), ids, ["category", "background", "motion"])
    paths.embeddings.mkdir(parents=True)
    for level, attributes in named.items():
        onehots = [np.eye(16)[pd.factorize(labels[a])[0]] for a in attributes]  # (N, 16) each
        np.save(paths.embeddings / f"{level}_train.npy",
                np.concatenate(onehots, axis=1).reshape(len(ids), -1, 8).astype(np.float32))


def check_tables_on_the_tiny_twin(cfg, paths) -> None:
    from semvideo.data.prepared import PreparedData
    from semvideo.data.synthetic.truth import truth_vertices

    weights = caption_family_weights(cfg).set_index("level")
    assert weights.loc["motion", "motion"] == pytest.approx(1.0)  # the motion "captions" are the motion one-hot
    assert weights.loc["motion", "weight_motion"] > weights.loc["motion", ["weight_early", "weight_object"]].max()
    assert weights.loc["anchor", "weight_object"] > weights.loc["anchor", "weight_motion"]
    subject = cfg.subjects[0]
    voxels = PreparedData.from_config(cfg).selected_voxels(subject)
    family = voxels.merge(truth_vertices(paths.raw, subject), on="grayordinate", how="left")["family"]
    with pytest.raises(FileNotFoundError, match="train-sad"):
        roi_importance_table(cfg, levels=("motion",), save=False)
    rng = np.random.default_rng(0)
    for level, wanted in (("anchor", ("early", "object")), ("motion", ("motion",)), ("holi", ("motion",))):
        torch.manual_seed(cfg.seed)
        model = SemanticAlignmentDecoder(subjects=[subject], n_voxels=[len(voxels)], hidden_dim=4, n_tokens=3,
                                         embed_dim=4, prior_layers=1, prior_heads=1, prior_head_dim=4,
                                         prior_timesteps=5)
        scale = np.where(family.isin(wanted), 1.0, 0.01)
        with torch.no_grad():
            model.projector[subject].weight.copy_(torch.tensor(rng.normal(size=(4, len(voxels))) * scale,
                                                               dtype=torch.float32))
        model.save_pretrained(paths.sad / f"{level}_{subject}")
    decoded = roi_importance_table(cfg)
    assert (paths.root / "interpret" / "roi_importance.csv").exists()
    assert set(decoded["level"]) == {"anchor", "motion", "holi"}
    assert decoded.groupby("level")["importance"].max().eq(1.0).all()
    assert decoded.groupby("level")["n_voxels"].sum().eq(len(voxels)).all()
    truth = truth_roi_importance(cfg)
    given = truth_roi_importance(cfg, save=False, family_weights=caption_family_weights(cfg))
    pd.testing.assert_frame_equal(given, truth)  # the notebook passes the table it already computed
    scores = compare_with_truth(decoded, truth).set_index("level")
    assert scores.loc["motion", "spearman_rho"] > 0.6
    assert scores.loc["anchor", "spearman_rho"] > 0.3
    claim = dorsal_vs_ventral(decoded).set_index("level")
    if claim.loc["motion", ["n_motion", "n_ventral"]].min() > 0:  # the tiny twin may miss some ROIs
        assert claim.loc["motion", "p_motion_above_ventral"] == 1.0
        assert claim.loc["anchor", "p_motion_above_ventral"] < 0.5
    small = pd.read_csv(paths.root / "interpret" / "roi_importance.csv")
    assert list(small.columns) == ["subject", "level", "roi", "importance", "raw_importance", "n_voxels"]


def test_caption_attribute_shares_hand_computed():
    """z = [one-hot(A), 2·one-hot(B)] over four clips, A and B balanced and independent: the A block's centred
    squared norm sums to 4 · 0.5 = 2, the B block's to 4 · 2 = 8, so η²(A) = 2/10 and η²(B) = 8/10; an attribute
    equal to A explains A's share, a constant one nothing."""
    labels = pd.DataFrame({"A": ["a", "a", "b", "b"], "B": ["x", "y", "x", "y"], "C": ["a", "a", "b", "b"],
                           "K": ["k"] * 4})
    onehot = lambda column: pd.get_dummies(labels[column]).to_numpy(float)
    z = np.concatenate([onehot("A"), 2 * onehot("B")], axis=1).reshape(4, 2, 2)
    shares = caption_attribute_shares(z, labels)
    np.testing.assert_allclose(shares[["A", "B", "C", "K"]].to_numpy(), [0.2, 0.8, 0.2, 0.0], atol=1e-6)


def test_level_family_weights_split_shared_attributes():
    """Colour is encoded by the early and the object family: each gets half of its share."""
    encoded = {"early": ("colour", "background"), "motion": ("motion", "speed"), "object": ("category", "colour")}
    shares = pd.Series({"category": 0.2, "colour": 0.1, "background": 0.05, "motion": 0.3, "speed": 0.0})
    weights = level_family_weights(shares, encoded)
    assert weights == pytest.approx({"early": 0.1, "motion": 0.3, "object": 0.25})
