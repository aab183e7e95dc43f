"""The HCP-layout summaries of notebooks 01 and 06: ROI vertex counts, segment/split summary, clip timing plot,
the paper's Table 2 and the coloured table with reported (NaN) cells."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from semvideo.data.hcp import HCP_SUBJECTS, roi_vertex_counts, segment_summary
from semvideo.metrics.evaluate import METRICS, PAPER_TABLE2, TABLE2_METRICS
from semvideo.viz import plot_clip_timing, plot_significance_table


def test_roi_vertex_counts_sums_hemispheres_and_skips_unselected():
    voxels = pd.DataFrame({"label": ["L_V1", "R_V1", "L_MT", "R_MST", "L_RSC", "L_V2"],
                           "selected": [True, True, True, False, False, True]})
    counts = roi_vertex_counts({"100610": voxels, "102816": voxels.iloc[:1]}, ["V1", "V2", "MT", "MST"])
    assert list(counts.index) == ["V1", "V2", "MT", "MST", "total"]
    assert counts["100610"].tolist() == [2, 1, 1, 0, 4]
    assert counts["102816"].tolist() == [1, 0, 0, 0, 1]


def _clips():
    return pd.DataFrame({"clip_id": [f"c{k}" for k in range(6)],
                         "split": ["train", "test", "train", "train", "train", "test"],
                         "segment": ["MOVIE1_s1"] * 3 + ["MOVIE2_s1"] * 3,
                         "run": ["MOVIE1_7T_AP"] * 3 + ["MOVIE2_7T_PA"] * 3,
                         "onset_s": [20.0, 21.0, 22.0, 20.0, 21.0, 22.0]})


def test_segment_summary_counts_clips_per_split():
    summary = segment_summary(_clips())
    assert list(summary.index) == ["MOVIE1_s1", "MOVIE2_s1"]
    assert summary["clips"].tolist() == [3, 3]
    assert summary["train clips"].tolist() == [2, 2]
    assert summary["test clips"].tolist() == [1, 1]
    assert summary.loc["MOVIE2_s1", "run"] == "MOVIE2_7T_PA" and summary["onset_s"].tolist() == [20.0, 20.0]


def test_plot_clip_timing_draws_one_row_per_run():
    import matplotlib.pyplot as plt

    fig = plot_clip_timing(_clips(), {"MOVIE1_7T_AP": 40.0, "MOVIE2_7T_PA": 40.0})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["MOVIE1_7T_AP", "MOVIE2_7T_PA"]
    assert len(ax.collections) == 4  # train and test bars of two runs
    plt.close(fig)


def test_paper_table2_is_the_papers_hcp_table():
    assert set(TABLE2_METRICS) <= set(METRICS)
    assert list(PAPER_TABLE2) == ["Nishimoto", "Wen", "Mind-video", "Mind-Animator", "SemVideo"]
    assert all(len(row) == len(TABLE2_METRICS) for row in PAPER_TABLE2.values())
    ours = dict(zip(TABLE2_METRICS, PAPER_TABLE2["SemVideo"]))
    assert ours == {"2-way-I": 0.815, "2-way-V": 0.796, "PSNR": 9.336, "Hue-pcc": 0.858, "CLIP-pcc": 0.523,
                    "EPE": 4.05}
    assert np.isnan(PAPER_TABLE2["Wen"][1]) and PAPER_TABLE2["Nishimoto"][2] == pytest.approx(11.316)


def test_significance_table_shows_reported_nan_as_dash():
    import matplotlib.pyplot as plt

    means = pd.DataFrame({"PSNR": [9.0, 11.316], "EPE": [4.0, np.nan]}, index=["SemVideo", "Nishimoto (reported)"])
    pvalues = pd.DataFrame(np.nan, index=means.index, columns=means.columns)
    fig = plot_significance_table(means, pvalues)
    texts = [c.get_text().get_text() for c in fig.axes[0].tables[0].get_celld().values()]
    assert "–" in texts and "nan" not in texts
    plt.close(fig)


def test_hcp_subjects_are_the_papers():
    assert HCP_SUBJECTS == ("100610", "102816", "104416")
