"""The information ceiling (semvideo.metrics.ceiling) on planted data with a known answer."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from sklearn.linear_model import RidgeClassifier

from semvideo.data.prepared import PreparedData
from semvideo.data.synthetic.truth import scene_labels
from semvideo.io import InputError
from semvideo.metrics.ceiling import (
    ALL_GROUP,
    _folds,
    decode_attributes,
    encodes,
    fit_ridge_decoders,
    information_ceiling,
    roi_group_columns,
)

COLOURS = np.array(["red", "green", "blue", "white"])
MOTIONS = np.array(["left", "right", "up"])


def _planted(rng, n, columns, classes, strength):
    """Labels (n,) and responses (n, columns): the labels' one-hot through random weights, plus unit noise."""
    labels = rng.choice(classes, n)
    onehot = (labels[:, None] == classes[None]).astype(float)
    return labels, strength * onehot @ rng.normal(0, 1, (len(classes), columns)) + rng.normal(0, 1, (n, columns))


def _dataset(tmp_path, seed=0, n_segments=6, per_segment=40, n_test=120):
    """A prepared dataset whose V1 columns carry the colour, MT columns carry the motion, LO1 columns nothing;
    speed is noise everywhere. Returns (PreparedData, scene graphs)."""
    rng = np.random.default_rng(seed)
    n_train = n_segments * per_segment
    n = n_train + n_test
    colour, early = _planted(rng, n, 20, COLOURS, 1.0)
    motion, mt = _planted(rng, n, 15, MOTIONS, 1.0)
    lo = rng.normal(0, 1, (n, 25))
    speed = rng.choice(np.array(["slow", "fast"]), n)
    bold = np.hstack([early, mt, lo]).astype(np.float32)
    labels = ["L_V1"] * 20 + ["R_MT"] * 15 + ["L_LO1"] * 25
    segments = [f"seg{1 + i // per_segment}" for i in range(n_train)] + ["test1"] * n_test
    clips = pd.DataFrame({"clip_id": [f"c{i:04d}" for i in range(n)], "split": ["train"] * n_train + ["test"] * n_test,
                          "segment": segments, "clip_index": np.arange(n), "onset_s": 0.0, "shot_id": ""})
    clips.to_csv(tmp_path / "clips.csv", index=False)
    (tmp_path / "s1").mkdir()
    np.save(tmp_path / "s1" / "bold_train.npy", bold[:n_train])
    np.save(tmp_path / "s1" / "bold_test.npy", bold[n_train:])
    pd.DataFrame({"grayordinate": np.arange(len(labels)), "label": labels, "selected": True}).to_csv(
        tmp_path / "s1" / "voxels.csv", index=False)
    graphs = {c: {"colour": str(colour[i]), "motion": str(motion[i]), "speed": str(speed[i])}
              for i, c in enumerate(clips["clip_id"])}
    return PreparedData(tmp_path), graphs


def test_planted_attributes_are_recovered_from_their_group_and_stay_at_chance_elsewhere(tmp_path):
    data, graphs = _dataset(tmp_path)
    table = information_ceiling(data, graphs, ["s1"], attributes=("colour", "motion", "speed"))
    assert len(table) == 4 * 3
    cell = table.set_index(["roi_group", "attribute"])
    for group, attribute in [("early visual", "colour"), ("motion complex", "motion"), (ALL_GROUP, "colour"),
                             (ALL_GROUP, "motion")]:
        row = cell.loc[(group, attribute)]
        assert row["accuracy"] > row["chance"] + 0.3 and row["p"] < 0.01, (group, attribute)
    for group, attribute in [("early visual", "motion"), ("motion complex", "colour"),
                             ("ventral/lateral occipital", "colour"), ("ventral/lateral occipital", "motion")]:
        row = cell.loc[(group, attribute)]
        assert row["p"] > 0.01 and abs(row["accuracy"] - 1 / row["n_classes"]) < 0.15, (group, attribute)
    assert (cell.xs("speed", level="attribute")["p"] > 0.01).all()
    assert cell.loc[("early visual", "colour"), "n_vertices"] == 20
    assert cell.loc[("motion complex", "motion"), "n_vertices"] == 15
    assert cell.loc[(ALL_GROUP, "speed"), "n_vertices"] == 60
    assert (table["n_test"] == 120).all()
    # the simulator's design: early visual carries colour, not motion; every group carries something in "all"
    assert cell.loc[("early visual", "colour"), "encoded"] and not cell.loc[("early visual", "motion"), "encoded"]
    assert cell.loc[("motion complex", "motion"), "encoded"] and cell.loc[(ALL_GROUP, "speed"), "encoded"]


def test_a_group_without_selected_vertices_gets_nan_scores(tmp_path):
    data, graphs = _dataset(tmp_path)
    voxels = data.voxels("s1")
    voxels.loc[voxels["label"] == "R_MT", "selected"] = False
    voxels.to_csv(tmp_path / "s1" / "voxels.csv", index=False)
    bold = np.load(tmp_path / "s1" / "bold_train.npy")
    keep = (voxels["selected"]).to_numpy()
    for split in ("train", "test"):
        np.save(tmp_path / "s1" / f"bold_{split}.npy", np.load(tmp_path / "s1" / f"bold_{split}.npy")[:, keep])
    assert bold.shape[1] == 60
    table = information_ceiling(data, graphs, ["s1"], attributes=("colour",)).set_index("roi_group")
    assert table.loc["motion complex", "n_vertices"] == 0 and np.isnan(table.loc["motion complex", "accuracy"])
    assert table.loc["early visual", "p"] < 0.01


def test_chance_is_the_majority_rate_and_p_the_one_sided_binomial():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (200, 10))
    y_train = rng.choice(np.array(["a", "b", "c"]), 200)
    y_test = np.array(["a"] * 30 + ["b"] * 6 + ["c"] * 4)  # majority 30 / 40
    groups = np.repeat(np.arange(5), 40)
    x_test = rng.normal(0, 1, (40, 10))
    row = decode_attributes(x, {"k": y_train}, groups, x_test, {"k": y_test}).iloc[0]
    assert row["chance"] == pytest.approx(0.75)
    decoder = fit_ridge_decoders(x, {"k": y_train}, groups)["k"]
    hits = int((decoder.predict(x_test) == y_test).sum())
    assert row["accuracy"] == pytest.approx(hits / 40)
    assert row["p"] == pytest.approx(binomtest(hits, 40, 0.75, alternative="greater").pvalue)
    assert row["n_test"] == 40 and row["n_classes"] == 3


def test_training_uses_only_training_clips():
    rng = np.random.default_rng(2)
    y, x = _planted(rng, 300, 12, COLOURS, 1.0)
    groups = np.repeat(np.arange(6), 40)
    train, test = slice(0, 240), slice(240, 300)
    shuffled = rng.permutation(y[test])
    a = decode_attributes(x[train], {"c": y[train]}, groups, x[test], {"c": y[test]}).iloc[0]
    b = decode_attributes(x[train], {"c": y[train]}, groups, x[test], {"c": shuffled}).iloc[0]
    decoder = fit_ridge_decoders(x[train], {"c": y[train]}, groups)["c"]
    guess = decoder.predict(x[test])
    assert a["alpha"] == b["alpha"] == decoder.alpha
    assert a["accuracy"] == pytest.approx((guess == y[test]).mean())
    assert b["accuracy"] == pytest.approx((guess == shuffled).mean())
    # test rows are scored one by one: other test rows (and their scaling) cannot move a prediction
    assert (decoder.predict(x[test][:5]) == guess[:5]).all()


@pytest.mark.parametrize("n_vertices", [30, 400])  # fewer vertices than clips (SVD) and more (Gram matrix)
def test_ridge_decoder_matches_sklearn_at_the_chosen_penalty(n_vertices):
    rng = np.random.default_rng(3)
    y, x = _planted(rng, 240, n_vertices, COLOURS, 0.5)
    decoder = fit_ridge_decoders(x, {"c": y}, np.repeat(np.arange(4), 60))["c"]
    z = (x - x.mean(0)) / x.std(0)
    reference = RidgeClassifier(alpha=decoder.alpha * x.shape[1]).fit(z, y)
    x_new = rng.normal(0, 1, (50, n_vertices))
    # sklearn's targets are ±1, ours one-hot 0/1: its decision function is 2·ours − 1
    ours = decoder.decision_function(x_new)
    np.testing.assert_allclose(reference.decision_function((x_new - x.mean(0)) / x.std(0)), 2 * ours - 1, atol=1e-8)
    assert list(decoder.classes) == list(reference.classes_)


def test_folds_hold_out_whole_segments():
    groups = np.repeat(["s3", "s1", "s2", "s5", "s4"], 7)
    folds = _folds(groups, 3)
    assert len(folds) == 3
    held = np.concatenate([h for _, h in folds])
    assert sorted(held) == list(range(len(groups)))
    for train, held in folds:
        assert not set(groups[train]) & set(groups[held])
    with pytest.raises(ValueError, match="two segments"):
        _folds(np.zeros(10), 3)


def test_roi_groups_and_encoding_follow_the_simulator():
    masks = roi_group_columns(["L_V1", "R_V4", "L_MT", "R_TPOJ2", "L_FFC", "R_PH", "L_V3A", ""])
    assert masks["early visual"].tolist() == [True, True, False, False, False, False, False, False]
    assert masks["motion complex"].tolist() == [False, False, True, True, False, False, False, False]
    assert masks["ventral/lateral occipital"].tolist() == [False, False, False, False, True, True, False, False]
    assert masks[ALL_GROUP].all()
    assert encodes("motion complex", "motion") and encodes("motion complex", "speed")
    assert not encodes("motion complex", "category") and encodes("ventral/lateral occipital", "category")
    assert encodes("early visual", "background") and not encodes("ventral/lateral occipital", "background")


def test_missing_scene_graph_names_the_fix():
    with pytest.raises(InputError, match="rerun generate-twin"):
        scene_labels({"a": {"colour": "red"}}, ["a", "b"], ("colour",))
    assert json.dumps(scene_labels({"a": {"colour": "red"}}, ["a"], ("colour",))["colour"].tolist()) == '["red"]'


def _table():
    """Two subjects; speed encoded in the motion complex but decodable only for s1; category decodable from the
    motion complex (not encoded there) for s2."""
    rows = []
    for subject in ("s1", "s2"):
        for group, attribute, encoded, p in [("motion complex", "motion", True, 1e-6),
                                             ("motion complex", "speed", True, 1e-3 if subject == "s1" else 0.2),
                                             ("motion complex", "category", False, 1e-4 if subject == "s2" else 0.5),
                                             (ALL_GROUP, "speed", True, 0.5)]:
            rows.append({"subject": subject, "roi_group": group, "attribute": attribute, "accuracy": 0.6,
                         "chance": 0.5, "p": p, "encoded": encoded})
    return pd.DataFrame(rows)


def test_verdicts_and_prose_are_computed_from_the_table():
    from semvideo.metrics.ceiling import ceiling_verdicts, describe_ceiling

    verdicts = ceiling_verdicts(_table()).set_index(["roi_group", "attribute"])
    assert verdicts.loc[("motion complex", "motion"), "n_decodable"] == 2
    assert not verdicts.loc[("motion complex", "motion"), "broken"]
    assert verdicts.loc[("motion complex", "speed"), "broken"] and verdicts.loc[("motion complex", "speed"),
                                                                                "n_decodable"] == 1
    assert not verdicts.loc[("motion complex", "category"), "broken"]
    text = describe_ceiling(_table())
    assert "Of the 2 attribute × ROI-group cells the simulator encodes, 1 are decodable" in text
    assert "motion from motion complex (2/2)" in text
    assert "(a broken mechanism): speed from motion complex (1/2)" in text
    assert "does not put it (subjects with p < 0.01): category from motion complex (1/2)" in text
    assert "From all selected vertices together, 0 of 1 attributes are decodable for every subject; not for every " \
        "subject: speed from all selected (0/2)." in text


def test_plot_ceiling_draws_one_heatmap_per_subject():
    import matplotlib

    matplotlib.use("Agg")
    from semvideo.viz import plot_ceiling

    fig = plot_ceiling(_table())
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["s1", "s2"]
