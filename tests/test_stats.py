"""Bootstrap p-values, significance colours, the frame-shuffle test and Bonferroni paired t-tests."""

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import gaussian_filter

from semvideo.metrics.stats import (
    SIGNIFICANCE_BINS,
    bootstrap_pvalues,
    bootstrap_table,
    paired_ttests,
    shuffle_test,
    significance_bin,
    significance_colours,
)
from semvideo.viz import plot_significance_table


def _scores(n=200, seed=0):
    return np.random.default_rng(seed).normal(0.5, 0.1, n)


@pytest.mark.parametrize("method", ["fraction", "normal"])
def test_bootstrap_identical_vs_shifted(method):
    ours = _scores()
    scores = {"semvideo": ours, "same": ours.copy(), "worse": ours - 0.05, "better": ours + 0.05}
    p = bootstrap_pvalues(scores, "semvideo", True, 100, np.random.default_rng(0), method=method)
    assert np.isnan(p["semvideo"])
    assert p["same"] == 1.0          # never worse than itself
    assert p["worse"] < 1e-4         # shifted down in every clip
    assert p["better"] == 1.0
    # lower-is-better metrics (EPE) flip the direction
    q = bootstrap_pvalues(scores, "semvideo", False, 100, np.random.default_rng(0), method=method)
    assert q["better"] < 1e-4 and q["worse"] == 1.0


def test_bootstrap_noisy_difference_is_graded_and_seeded():
    ours = _scores()
    other = ours + 0.005 + np.random.default_rng(1).normal(0, 0.1, ours.size)  # no clear difference
    p1 = bootstrap_pvalues({"s": ours, "o": other}, "s", True, 100, np.random.default_rng(5))["o"]
    p2 = bootstrap_pvalues({"s": ours, "o": other}, "s", True, 100, np.random.default_rng(5))["o"]
    assert p1 == p2 and 0.0 < p1 < 1.0
    with pytest.raises(ValueError, match="3 per-clip scores"):
        bootstrap_pvalues({"s": ours, "o": ours[:3]}, "s", True, 10, np.random.default_rng(0))
    with pytest.raises(KeyError, match="reference method 'x'"):
        bootstrap_pvalues({"s": ours}, "x", True, 10, np.random.default_rng(0))


def test_significance_bins_and_colours():
    assert [significance_bin(p) for p in (0.0, 5e-5, 1e-4, 0.009, 0.03, 0.05, 0.7)] == [0, 0, 1, 1, 2, 3, 3]
    table = pd.DataFrame({"SSIM": [np.nan, 0.001], "EPE": [np.nan, 0.2]}, index=["SemVideo", "ridge"])
    colours = significance_colours(table)
    assert colours.loc["SemVideo", "SSIM"] == "white"
    assert colours.loc["ridge", "SSIM"] == SIGNIFICANCE_BINS[1][2]
    assert colours.loc["ridge", "EPE"] == SIGNIFICANCE_BINS[3][2]
    fig = plot_significance_table(table.fillna(0.5), table)
    assert len(fig.axes) == 1


def _moving_clips(n=3, t=4, size=32):
    base = gaussian_filter(np.random.default_rng(0).random((size, size, 3)), sigma=(2, 2, 0))
    base = ((base - base.min()) / np.ptp(base) * 255).astype(np.uint8)
    # each clip moves differently between frames so that frame order matters
    return np.stack([np.stack([np.roll(base, (k * (c + 1)) ** 2 % 7, axis=c % 2) for k in range(t)])
                     for c in range(n)])


def test_shuffle_test_truth_zero_static_half():
    truth = _moving_clips()
    p_truth = shuffle_test(truth, truth, 30, np.random.default_rng(0))
    assert p_truth.shape == (3,)
    assert (p_truth <= 0.1).all()  # only the identity (1 in 24) ties with the original order
    static = np.repeat(truth[:, :1], truth.shape[1], axis=1)
    np.testing.assert_array_equal(shuffle_test(truth, static, 30, np.random.default_rng(0)), 0.5)


def test_paired_ttests_bonferroni():
    rng = np.random.default_rng(0)
    full = rng.uniform(0, 0.1, 50)
    values = {"full": full, "same": full.copy(), "no_mad": full + rng.uniform(0.3, 0.5, 50)}
    table = paired_ttests(values).set_index(["a", "b"])
    assert len(table) == 3
    assert table.loc[("full", "same"), "p"] == 1.0 and not table.loc[("full", "same"), "significant"]
    row = table.loc[("full", "no_mad")]
    assert row["significant"] and row["t"] < 0
    assert row["p_bonferroni"] == pytest.approx(min(1.0, row["p"] * 3))
    only = paired_ttests(values, pairs=[("full", "no_mad")])
    assert only.loc[0, "p_bonferroni"] == pytest.approx(only.loc[0, "p"])


def _long_scores(values: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"method": m, "subject": "s1", "clip_id": [f"c{i}" for i in range(len(v))],
                                    "EPE": v, "SSIM": -v}) for m, v in values.items()], ignore_index=True)


def test_bootstrap_table_flags_a_worse_method_and_not_an_equal_one():
    rng = np.random.default_rng(0)
    base = rng.normal(5.0, 1.0, 200)
    scores = _long_scores({"SemVideo": base, "same": base.copy(), "worse": base + 0.5})
    means, p = bootstrap_table(scores, ["EPE", "SSIM"], {"EPE": False, "SSIM": True}, 100,
                               np.random.default_rng(1))
    assert list(means.index) == ["SemVideo", "same", "worse"]
    assert means.loc["worse", "EPE"] == pytest.approx(means.loc["SemVideo", "EPE"] + 0.5)
    assert np.isnan(p.loc["SemVideo"]).all()
    assert p.loc["worse", "EPE"] < 0.01 and p.loc["worse", "SSIM"] < 0.01  # worse on both, in both directions
    assert p.loc["same", "EPE"] >= 0.05


def test_bootstrap_table_refuses_methods_scored_on_other_clips():
    scores = _long_scores({"SemVideo": np.ones(5), "other": np.ones(5)})
    scores.loc[scores["method"] == "other", "clip_id"] = "x"
    with pytest.raises(ValueError, match="same clips"):
        bootstrap_table(scores, ["EPE"], {"EPE": False}, 10, np.random.default_rng(0))


def test_pairing_null_of_reconstructions_that_carry_their_clip_or_nothing():
    from semvideo.metrics.stats import pairing_null

    n, draws = 30, 500
    own = np.eye(n)  # each reconstruction scores 1 against its own truth, 0 against any other
    result = pairing_null([own, own], draws, np.random.default_rng(0))
    assert result["matched"] == 1 and result["null_mean"] == pytest.approx(1 / n, abs=0.01)
    assert result["p_above"] == 1 / (draws + 1) and result["p_below"] == 1.0
    avoids = 1 - own  # each scores 0 against its own clip only: below its chance
    below = pairing_null([avoids], draws, np.random.default_rng(0))
    assert below["matched"] == 0 and below["p_below"] == 1 / (draws + 1) and below["p_above"] == 1.0
    constant = np.full((n, n), 0.7)  # carries nothing: every re-pairing scores the same
    flat = pairing_null([constant], draws, np.random.default_rng(0))
    assert flat["null_sd"] == pytest.approx(0) and flat["p_above"] == 1.0 and flat["p_below"] == 1.0
    with pytest.raises(ValueError, match="square"):
        pairing_null([np.ones((3, 4))], draws, np.random.default_rng(0))
