"""Preprocessing on hand-built arrays (known answers) and on the tiny twin (against its ground truth)."""

import numpy as np
import pandas as pd
import pytest

from semvideo.data.prepared import PreparedData
from semvideo.data.preprocess import (
    clip_responses,
    detrend_zscore,
    repeat_reliability,
    select_voxels,
    trim_run,
)


def test_detrend_removes_a_quartic_trend_exactly_and_zscores():
    t = np.linspace(-1, 1, 240)[:, None]
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(240, 3))
    trend = 5 + 3 * t - 2 * t**2 + 4 * t**3 + t**4
    out = detrend_zscore(signal + 100 * trend)
    np.testing.assert_allclose(out, detrend_zscore(signal), atol=1e-4)
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(0), 1, atol=1e-5)
    assert (detrend_zscore(np.full((50, 2), 7.0)) == 0).all()  # constant columns become zeros, not NaN


@pytest.mark.parametrize("n_volumes,first", [(245, 1), (246, 2)])
def test_trim_follows_the_cc2017_rule(n_volumes, first):
    run = np.arange(n_volumes)[:, None]
    trimmed = trim_run(run)
    assert len(trimmed) == 240 and trimmed[0, 0] == first and trimmed[-1, 0] == first + 239


def test_trim_rejects_incomplete_runs():
    with pytest.raises(ValueError, match="244 volumes, expected 245 or 246"):
        trim_run(np.zeros((244, 1)))


def test_clip_responses_apply_the_lag():
    run = np.arange(246, dtype=float)[:, None]  # 246 volumes: stimulus starts at volume 2
    out = clip_responses(run, n_trs=240, n_clips=240, lag_trs=2)
    assert out[0, 0] == 4 and out[-1, 0] == 243  # clip i ↔ volume 2 + 2 + i
    halves = clip_responses(run, n_trs=240, n_clips=120, lag_trs=0)  # two volumes per clip (e.g. TR 1 s)
    assert halves[0, 0] == 2.5


def test_repeat_reliability_matches_numpy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 60, 4))
    b[:, 0] = a[:, 0]
    expected = [np.corrcoef(a[:, j], b[:, j])[0, 1] for j in range(4)]
    np.testing.assert_allclose(repeat_reliability(a, b), expected, atol=1e-12)


def test_selection_finds_planted_reliable_vertices():
    rng = np.random.default_rng(2)
    z = rng.normal(0, 0.05, size=(18, 1000))
    z[:, :50] += 0.3  # 50 reliable vertices
    table = select_voxels(z)
    assert table["selected"][:50].all() and not table["selected"][50:].any()
    assert (table["p"][:50] * 1000 < 0.05).all()


def test_prepared_twin_matches_the_clip_index_and_the_ground_truth(tiny_twin):
    cfg, paths = tiny_twin
    data = PreparedData.from_config(cfg)
    n_train, n_test = (data.clips["split"] == "train").sum(), (data.clips["split"] == "test").sum()
    assert data.frames("train").shape == (n_train, cfg.fmri.frames_per_clip, cfg.fmri.frame_size,
                                          cfg.fmri.frame_size, 3)
    assert data.frames("test").dtype == np.uint8
    voxels = data.voxels("subject1")
    bold = data.bold("subject1", "train")
    assert bold.shape == (n_train, voxels["selected"].sum()) and data.bold("subject1", "test").shape[0] == n_test
    truth = pd.read_csv(paths.raw / "truth" / "subject1_vertices.csv")
    merged = voxels.merge(truth, on="grayordinate")
    precision = merged.loc[merged["selected"], "responsive"].mean()
    assert precision >= 0.95, f"selected vertices must be truly responsive (precision {precision:.2f})"
    assert set(merged.loc[merged["selected"], "family"]) <= {"early", "motion", "object"}


def test_prepared_data_errors_point_at_the_missing_stage(tmp_path):
    from tests.conftest import tiny_config

    cfg = tiny_config(tmp_path)
    with pytest.raises(FileNotFoundError, match="prepare"):
        PreparedData.from_config(cfg)
