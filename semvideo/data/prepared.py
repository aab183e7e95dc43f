"""Reading the prepared dataset (``results/<name>/data/``) that every later stage starts from.

Files::

    clips.csv                       clip_id, split, segment, clip_index, onset_s, shot_id
    frames_{train,test}.npy         uint8 (N, n_frames, S, S, 3), RGB 0–255, rows in clips.csv order
    {subject}/bold_{train,test}.npy float32 (N, V_subject): z-scored, lag-aligned, repeat-averaged
    {subject}/voxels.csv            every vertex: grayordinate, label, mean_r, t, p, selected, usable
    summary.json                    vertex counts per subject
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from semvideo.config import Config
from semvideo.io import MissingInputError
from semvideo.paths import RunPaths

__all__ = ["PreparedData"]


@dataclass(frozen=True)
class PreparedData:
    root: Path

    @classmethod
    def from_config(cls, cfg: Config) -> PreparedData:
        root = RunPaths.from_config(cfg).data
        if not (root / "clips.csv").exists():
            raise MissingInputError(f"{root}: no prepared data; run `python -m semvideo prepare --config ...` "
                                    "(or the Snakemake rule `prepare`) first")
        return cls(root)

    @property
    def clips(self) -> pd.DataFrame:
        return pd.read_csv(self.root / "clips.csv", keep_default_na=False)

    def split_clips(self, split: str) -> pd.DataFrame:
        """The clips of one split, in array-row order."""
        clips = self.clips
        return clips[clips["split"] == split].reset_index(drop=True)

    def frames(self, split: str) -> np.ndarray:
        """uint8 (N, n_frames, S, S, 3), memory-mapped."""
        return np.load(self.root / f"frames_{split}.npy", mmap_mode="r")

    def bold(self, subject: str, split: str) -> np.ndarray:
        """float32 (N, V_subject) responses of the selected voxels, memory-mapped."""
        return np.load(self.root / subject / f"bold_{split}.npy", mmap_mode="r")

    def voxels(self, subject: str) -> pd.DataFrame:
        """Every vertex of the subject's runs with its reliability statistics and ``selected`` flag."""
        return pd.read_csv(self.root / subject / "voxels.csv", keep_default_na=False)

    def selected_voxels(self, subject: str) -> pd.DataFrame:
        """The selected vertices, in the column order of :meth:`bold`."""
        voxels = self.voxels(subject)
        return voxels[voxels["selected"]].reset_index(drop=True)
