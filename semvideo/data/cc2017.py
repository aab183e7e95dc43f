"""Reader for the CC2017 dataset layout (Wen et al. 2018), shared by the real data and the twin.

Layout under the data root::

    stimuli/seg{1..18}.mp4, test{1..5}.mp4                                  30 fps, 8 minutes each
    subject{1,2,3}/fmri/{seg|test}{k}/cifti/{seg|test}{k}_{rep}_Atlas.dtseries.nii

Runs have 245 or 246 volumes: the 240 stimulus volumes are [1:241] or [2:242] (the real data's rule, which
the twin follows). Cortex = the first 59,412 of 91,282 grayordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semvideo.config import Config
from semvideo.data.cifti import read_dtseries, usable_columns
from semvideo.io import InputError

__all__ = [
    "VOLUMES_AFTER_STIMULUS",
    "Layout",
    "first_stimulus_volume",
    "layout_for",
    "load_run",
    "run_path",
    "stimulus_path",
]

VOLUMES_AFTER_STIMULUS = 4  #: 245 = 1 + 240 + 4 and 246 = 2 + 240 + 4


@dataclass(frozen=True)
class Layout:
    """Which segments exist, how often each was shown, and how many stimulus TRs a run holds."""

    segments: tuple[tuple[str, str], ...]  #: (segment, split) pairs, e.g. ("seg1", "train")
    repeats: dict[str, int]  #: split → number of repeats
    n_trs: int  #: stimulus volumes per run (240 for 8-minute segments at TR = 2 s)
    tr: float

    def runs(self, subject: str, exclude: list[str] | tuple[str, ...] = ()) -> list[tuple[str, str, int]]:
        """(segment, split, rep) of every run of ``subject`` not listed in ``exclude`` ("subject3/test2/9")."""
        return [(seg, split, rep) for seg, split in self.segments for rep in range(1, self.repeats[split] + 1)
                if f"{subject}/{seg}/{rep}" not in exclude]


def layout_for(cfg: Config) -> Layout:
    """The real CC2017 layout (18 train + 5 test segments, 2 / 10 repeats) or the twin's from its config."""
    if cfg.world == "hcp" or (cfg.world == "twin" and cfg.twin.layout == "hcp"):
        raise ValueError(f"config '{cfg.name}' uses the HCP 7T layout (movie runs, no repeats): use "
                         "semvideo.data.hcp.hcp_layout(cfg), not the CC2017 layout_for")
    if cfg.world == "twin":
        twin = cfg.twin
        segments = [(f"seg{k}", "train") for k in range(1, twin.n_train_segments + 1)] + \
            [(f"test{k}", "test") for k in range(1, twin.n_test_segments + 1)]
        return Layout(tuple(segments), {"train": twin.train_repeats, "test": twin.test_repeats},
                      int(round(twin.segment_seconds / twin.tr)), twin.tr)
    segments = [(f"seg{k}", "train") for k in range(1, 19)] + [(f"test{k}", "test") for k in range(1, 6)]
    return Layout(tuple(segments), {"train": 2, "test": 10}, 240, 2.0)


def stimulus_path(root: Path, segment: str) -> Path:
    return Path(root) / "stimuli" / f"{segment}.mp4"


def run_path(root: Path, subject: str, segment: str, rep: int) -> Path:
    return Path(root) / subject / "fmri" / segment / "cifti" / f"{segment}_{rep}_Atlas.dtseries.nii"


def first_stimulus_volume(n_volumes: int, n_trs: int, path: Path | str = "run") -> int:
    """Index of the first stimulus volume: 1 for n_trs + 5 volumes (245), 2 for n_trs + 6 (246)."""
    first = n_volumes - n_trs - VOLUMES_AFTER_STIMULUS
    if first not in (1, 2):
        raise InputError(f"{path}: {n_volumes} volumes, expected {n_trs + 5} or {n_trs + 6} for a {n_trs}-TR "
                         "segment; the run is incomplete — re-download it or exclude it (fmri.exclude_runs)")
    return first


def load_run(path: Path, layout: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read one run and validate it.

    Returns the cortical data (n_volumes, V) float32, the grayordinate of each column (V,), and a boolean
    mask (V,) of *usable* columns (finite and not constant). NaN or constant vertices are reported with a
    warning and masked, not fatal: real CIFTI files have a few.
    """
    data, grayordinates, tr = read_dtseries(path)
    if not np.isclose(tr, layout.tr):
        raise InputError(f"{path}: TR is {tr} s, expected {layout.tr} s; wrong dataset or config")
    first_stimulus_volume(len(data), layout.n_trs, path)
    return data, grayordinates, usable_columns(data, path)
