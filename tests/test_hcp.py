"""HCP 7T reader: round trip on a tiny HCP-layout file, the paper's ROI set, and clear errors."""

import numpy as np
import pytest

from semvideo.data.atlas import N_CORTEX
from semvideo.data.cifti import write_dtseries
from semvideo.data.hcp import load_run, roi_mask, run_path


def test_round_trip_of_a_tiny_hcp_run(tmp_path):
    rng = np.random.default_rng(0)
    grayordinates = np.sort(rng.choice(N_CORTEX, 300, replace=False))
    data = rng.normal(size=(20, 300)).astype(np.float32)
    path = run_path(tmp_path, "100610", "MOVIE2_7T_PA")
    write_dtseries(path, data, grayordinates, tr=1.0)
    back, columns, usable = load_run(path, expected_volumes=20)
    np.testing.assert_array_equal(back, data)
    np.testing.assert_array_equal(columns, grayordinates)
    assert usable.all()
    assert path.name == "tfMRI_MOVIE2_7T_PA_Atlas.dtseries.nii"


def test_paper_roi_set_selects_5820_cortical_vertices():
    assert roi_mask(np.arange(N_CORTEX)).sum() == 5820


def test_errors_name_the_file(tmp_path):
    path = run_path(tmp_path, "100610", "MOVIE1_7T_AP")
    write_dtseries(path, np.zeros((5, 2), np.float32) + [[1, 2]], np.array([10, 20]), tr=2.0)
    with pytest.raises(ValueError, match="TR is 2.0 s"):
        load_run(path)
    write_dtseries(path, np.ones((5, 2), np.float32), np.array([10, 20]), tr=1.0)
    with pytest.raises(ValueError, match="5 volumes, expected 921"):
        load_run(path, expected_volumes=921)
    with pytest.raises(ValueError, match="unknown HCP movie run"):
        run_path(tmp_path, "100610", "MOVIE5_7T_AP")


def test_glasser_count_of_the_paper_rois_per_hemisphere():
    """The shipped atlas gives exactly the paper's 5,820 grayordinates: 2,933 left + 2,887 right."""
    from semvideo.config import FmriConfig
    from semvideo.data.atlas import HCP_VISUAL_ROIS, load_glasser

    atlas = load_glasser()
    left, right = atlas.select(HCP_VISUAL_ROIS, "L"), atlas.select(HCP_VISUAL_ROIS, "R")
    assert (len(left), len(right)) == (2933, 2887)
    assert len(left) + len(right) == 5820
    assert right.min() >= 29696 and left.max() < 29696  # left cortex first, all cortical
    assert tuple(FmriConfig().rois) == HCP_VISUAL_ROIS
    per_roi = {roi: len(atlas.select((roi,))) for roi in HCP_VISUAL_ROIS}
    assert per_roi["V1"] == 1618 and per_roi["MT"] == 100 and sum(per_roi.values()) == 5820
