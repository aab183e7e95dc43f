"""Reader, clip timing and preprocessing for the HCP 7T movie-watching runs (TR = 1 s), the paper's second dataset.

Layout under the data root (fMRI as the HCP 1200 release unpacks; stimuli copied into ``stimuli/``)::

    stimuli/7T_MOVIE1_CC1_v2.mp4, 7T_MOVIE2_HO1_v2.mp4, 7T_MOVIE3_CC2_v2.mp4, 7T_MOVIE4_HO2_v2.mp4
    {subject}/MNINonLinear/Results/tfMRI_{run}/tfMRI_{run}_Atlas.dtseries.nii

Runs and phase-encoding directions, as HCP names them: MOVIE1_7T_AP, MOVIE2_7T_PA, MOVIE3_7T_PA,
MOVIE4_7T_AP (sessions 1 and 4 of the 7T protocol each hold an AP and a PA movie run; the directions are *not*
alternating 1/3 vs 2/4). Runs have 921, 918, 915 and 901 volumes at TR = 1 s. Each movie file is the whole run
(its timeline starts with the first volume): a 20-s rest, then 3–4 movie segments separated by 20-s rests, then
the same 83-s test-retest montage in every run, then a final rest.

**Clip timing.** The movie segments (rest excluded) are listed in ``hcp_movie_segments.csv`` next to this file:
run, movie file, segment number, start and stop second, and whether it is the test-retest montage. The table
was assembled offline from two independent sources that agree: the segment boundaries used in public HCP 7T
movie encoding code (e.g. ``slice_starts``/``slice_stops`` of 7T movie feature loaders) and the fixed protocol
(20-s rest blocks; 83-s retest clip), whose sums reproduce the published run lengths 921 / 918 / 915 (MOVIE4:
900 of 901 volumes, the last rest being 21 s). It is *not* copied from the HCP release's own timing files,
which were not reachable here: check it against ``*_7T_MOVIE*_v2.xlsx`` / the S1200 reference manual before a
paper-grade run, and point ``fmri.segment_table`` at a corrected copy if it differs.

Every movie segment is cut into consecutive 1-s clips (``fmri.clip_seconds``). With the table above that
gives 2,882 clips of unique footage plus 83 per copy of the retest montage: 2,965 with one copy
(``fmri.retest_clips: once``, the default: the four copies are identical footage, which a random split would
put on both sides), 3,214 with all four (``each``). The paper reports 3,040 clips without saying how it cut
them; neither count matches it exactly.

**Responses.** Per run: 4th-order polynomial detrend and z-score over the whole run (HCP's own pipeline has
already high-pass filtered and ICA-FIX denoised the ``_Atlas`` series, but the per-run z-score puts runs and
subjects on one scale); the response to a clip starting at second ``t`` of its run is the mean of the volumes
covering ``[t + lag, t + lag + clip_seconds)``, i.e. volume ``t + 4`` for 1-s clips and the 4-s lag. HCP shows
each movie once, so there is no repeat averaging and no reliability-based voxel selection: the vertices are
the Glasser ROIs ``fmri.rois`` of both hemispheres (the paper's 12 ROIs: 5,820 grayordinates), minus any
NaN / constant column.

**Split.** Clips are split 9:1 (``fmri.test_fraction``) by a random permutation seeded with
``fmri.split_seed`` over the clip table in its listed order; the split is the same for every subject.
Neighbouring 1-s clips of one shot can fall on both sides: that is what a split by clip means (as the paper).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from semvideo.config import Config, TwinConfig
from semvideo.data.atlas import HCP_VISUAL_ROIS, load_glasser
from semvideo.data.cifti import read_dtseries, usable_columns
from semvideo.data.preprocess import detrend_zscore
from semvideo.data.video import read_frames, resize_frames, video_meta
from semvideo.io import InputError, MissingInputError

__all__ = [
    "HCP_SUBJECTS",
    "HCP_TR",
    "MOVIE_FILES",
    "MOVIE_RUNS",
    "RUN_VOLUMES",
    "SEGMENT_TABLE",
    "HcpLayout",
    "clip_frame_times",
    "clip_responses",
    "clip_table",
    "clip_volumes",
    "hcp_layout",
    "load_run",
    "prepare_hcp",
    "read_segment_table",
    "roi_mask",
    "roi_vertex_counts",
    "run_path",
    "segment_summary",
    "split_clips",
    "stimulus_path",
    "twin_segment_table",
    "uses_hcp_layout",
]

HCP_SUBJECTS = ("100610", "102816", "104416")
MOVIE_RUNS = ("MOVIE1_7T_AP", "MOVIE2_7T_PA", "MOVIE3_7T_PA", "MOVIE4_7T_AP")
#: the stimulus file of each run, as distributed with the HCP 7T release
MOVIE_FILES = {"MOVIE1_7T_AP": "7T_MOVIE1_CC1_v2.mp4", "MOVIE2_7T_PA": "7T_MOVIE2_HO1_v2.mp4",
               "MOVIE3_7T_PA": "7T_MOVIE3_CC2_v2.mp4", "MOVIE4_7T_AP": "7T_MOVIE4_HO2_v2.mp4"}
#: volumes of each run in the HCP 1200 release
RUN_VOLUMES = {"MOVIE1_7T_AP": 921, "MOVIE2_7T_PA": 918, "MOVIE3_7T_PA": 915, "MOVIE4_7T_AP": 901}
HCP_TR = 1.0
SEGMENT_TABLE = Path(__file__).with_name("hcp_movie_segments.csv")
_TABLE_COLUMNS = ("run", "movie_file", "segment", "start_s", "stop_s", "retest")


# ------------------------------------------------------------------------------------------- files
def uses_hcp_layout(cfg: Config) -> bool:
    """True for the real HCP world and for the twin written in the HCP layout (``twin.layout: hcp``)."""
    return cfg.world == "hcp" or (cfg.world == "twin" and cfg.twin.layout == "hcp")


def run_path(root: Path, subject: str, run: str) -> Path:
    if run not in MOVIE_RUNS:
        raise ValueError(f"unknown HCP movie run '{run}'; expected one of {', '.join(MOVIE_RUNS)}")
    return Path(root) / subject / "MNINonLinear" / "Results" / f"tfMRI_{run}" / f"tfMRI_{run}_Atlas.dtseries.nii"


def stimulus_path(root: Path, run: str) -> Path:
    if run not in MOVIE_FILES:
        raise ValueError(f"unknown HCP movie run '{run}'; expected one of {', '.join(MOVIE_RUNS)}")
    return Path(root) / "stimuli" / MOVIE_FILES[run]


def load_run(path: Path, expected_volumes: int | None = None, tr: float = HCP_TR
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read and validate one movie run: (n_volumes, V) float32, grayordinates (V,), usable mask (V,)."""
    data, grayordinates, file_tr = read_dtseries(path)
    if not np.isclose(file_tr, tr):
        raise InputError(f"{path}: TR is {file_tr} s, expected {tr} s for HCP 7T movie runs; wrong file?")
    if expected_volumes is not None and len(data) != expected_volumes:
        raise InputError(f"{path}: {len(data)} volumes, expected {expected_volumes}; the run is incomplete — "
                         "re-download it")
    return data, grayordinates, usable_columns(data, path)


def roi_mask(grayordinates: np.ndarray, rois: tuple[str, ...] | list[str] = HCP_VISUAL_ROIS) -> np.ndarray:
    """Boolean mask of the columns whose grayordinate lies in ``rois`` (both hemispheres)."""
    return np.isin(grayordinates, load_glasser().select(tuple(rois)))


# ------------------------------------------------------------------------------------------- timing
@dataclass(frozen=True, eq=False)
class HcpLayout:
    """The movie segments of every run (a table with :data:`_TABLE_COLUMNS`), volumes per run and the TR."""

    segments: pd.DataFrame
    n_volumes: dict[str, int] = field(default_factory=dict)
    tr: float = HCP_TR

    @property
    def runs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.segments["run"]))


def read_segment_table(path: str | Path = SEGMENT_TABLE) -> pd.DataFrame:
    """Read and validate a movie-segment table; a one-line error names the file and the bad row."""
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path}: movie-segment table not found; fix fmri.segment_table or leave it "
                                "empty for the shipped table")
    table = pd.read_csv(path)
    missing = set(_TABLE_COLUMNS) - set(table.columns)
    if missing:
        raise InputError(f"{path}: columns {sorted(missing)} missing; expected {', '.join(_TABLE_COLUMNS)}")
    table["retest"] = table["retest"].astype(str).str.lower().map({"true": True, "false": False, "1": True,
                                                                    "0": False})
    if table["retest"].isna().any():
        raise InputError(f"{path}: column retest must be true/false")
    _validate_segments(table, path)
    return table[list(_TABLE_COLUMNS)].reset_index(drop=True)


def _validate_segments(table: pd.DataFrame, where: Path | str) -> None:
    for row in table.itertuples():
        if row.run not in MOVIE_RUNS:
            raise InputError(f"{where}: row {row.Index + 1}: unknown run '{row.run}'; expected one of "
                             f"{', '.join(MOVIE_RUNS)}")
        if not 0 <= row.start_s < row.stop_s:
            raise InputError(f"{where}: row {row.Index + 1}: start_s {row.start_s} must be >= 0 and < stop_s "
                             f"{row.stop_s}")
    for run, rows in table.groupby("run", sort=False):
        starts, stops = rows["start_s"].to_numpy(), rows["stop_s"].to_numpy()
        if (starts[1:] < stops[:-1]).any():
            raise InputError(f"{where}: the segments of {run} overlap or are out of order")


def twin_segment_table(twin: TwinConfig) -> tuple[pd.DataFrame, dict[str, int]]:
    """The twin's HCP-style runs: rest, then ``segments_per_run`` movie segments each followed by rest.

    Returns the segment table (same columns as the shipped HCP table; no retest montage) and volumes per run.
    """
    rows, volumes = [], {}
    for run in MOVIE_RUNS[: twin.movie_runs]:
        t = twin.rest_seconds
        for k in range(1, twin.segments_per_run + 1):
            rows.append({"run": run, "movie_file": MOVIE_FILES[run], "segment": k, "start_s": t,
                         "stop_s": t + twin.segment_seconds, "retest": False})
            t += twin.segment_seconds + twin.rest_seconds
        volumes[run] = int(round(t / twin.tr))
    return pd.DataFrame(rows, columns=list(_TABLE_COLUMNS)), volumes


def hcp_layout(cfg: Config) -> HcpLayout:
    """The real HCP 7T timing (the shipped or configured table) or the HCP-layout twin's, from the config."""
    if cfg.world == "twin":
        if cfg.twin.layout != "hcp":
            raise ValueError("hcp_layout needs world hcp or a twin with twin.layout: hcp")
        table, volumes = twin_segment_table(cfg.twin)
        return HcpLayout(table, volumes, cfg.twin.tr)
    table = read_segment_table(cfg.fmri.segment_table or SEGMENT_TABLE)
    return HcpLayout(table, {run: RUN_VOLUMES[run] for run in dict.fromkeys(table["run"])}, HCP_TR)


def clip_table(layout: HcpLayout, clip_seconds: float = 1.0, retest: str = "once") -> pd.DataFrame:
    """One row per clip: consecutive ``clip_seconds`` clips inside each movie segment (rest excluded).

    Columns: clip_id (``MOVIE1_s2_0007`` = 8th clip of segment 2 of MOVIE1), segment (``MOVIE1_s2``),
    clip_index (within the segment), run, onset_s (seconds from the run's first volume), retest.
    ``retest`` keeps the test-retest montage of every run (``each``), of the first run only (``once``) or drops
    it (``drop``). A segment's incomplete last clip (when its length is not a multiple of ``clip_seconds``) is
    dropped.
    """
    if retest not in ("each", "once", "drop"):
        raise ValueError(f"retest must be each, once or drop, got {retest!r}")
    rows, seen_retest = [], False
    for seg in layout.segments.itertuples():
        if seg.retest and (retest == "drop" or (retest == "once" and seen_retest)):
            continue
        seen_retest |= bool(seg.retest)
        name = f"{seg.run.split('_')[0]}_s{seg.segment}"
        n = int(np.floor((seg.stop_s - seg.start_s) / clip_seconds + 1e-9))
        rows += [{"clip_id": f"{name}_{k:04d}", "segment": name, "clip_index": k, "run": seg.run,
                  "onset_s": float(seg.start_s + k * clip_seconds), "retest": bool(seg.retest)} for k in range(n)]
    return pd.DataFrame(rows)


def split_clips(n_clips: int, test_fraction: float = 0.1, seed: int = 0) -> np.ndarray:
    """``"train"`` / ``"test"`` per clip: a seeded random permutation, its first round(n·fraction) held out."""
    split = np.full(n_clips, "train", dtype=object)
    n_test = int(round(n_clips * test_fraction))
    split[np.random.default_rng(seed).permutation(n_clips)[:n_test]] = "test"
    return split.astype(str)


def clip_volumes(onsets: np.ndarray, clip_seconds: float, lag_seconds: float, tr: float) -> np.ndarray:
    """(N, k) volume indices of each clip's response: the k = clip_seconds / TR volumes starting at
    ``(onset + lag) / TR`` (for 1-s clips, TR = 1 s and a 4-s lag: volume onset + 4)."""
    per_clip = max(1, int(round(clip_seconds / tr)))
    first = np.round((np.asarray(onsets, float) + lag_seconds) / tr).astype(int)
    return first[:, None] + np.arange(per_clip)[None, :]


def clip_responses(run: np.ndarray, volumes: np.ndarray, path: Path | str = "run") -> np.ndarray:
    """Mean of each clip's response volumes: run (T, V), volumes (N, k) → (N, V)."""
    if volumes.size and volumes.max() >= len(run):
        raise InputError(f"{path}: {len(run)} volumes, but a clip's lagged response needs volume "
                         f"{volumes.max()}; the run is incomplete or the segment table does not fit it")
    return run[volumes].mean(1)


def clip_frame_times(onsets: np.ndarray, clip_seconds: float, n_frames: int) -> np.ndarray:
    """(N, n_frames) seconds of the frames the decoders see: centres of n_frames equal bins of each clip."""
    return np.asarray(onsets, float)[:, None] + (np.arange(n_frames) + 0.5) * clip_seconds / n_frames


# ------------------------------------------------------------------------------------------- prepare
def prepare_hcp(cfg: Config, out: Path, root: Path) -> None:
    """Write the prepared dataset (see :mod:`semvideo.data.prepared`) of an HCP-layout world into ``out``."""
    layout = hcp_layout(cfg)
    fmri = cfg.fmri
    clips = clip_table(layout, fmri.clip_seconds, fmri.retest_clips)
    if clips.empty:
        raise ValueError("the movie-segment table yields no clips; check fmri.segment_table / fmri.clip_seconds")
    clips.insert(1, "split", split_clips(len(clips), fmri.test_fraction, fmri.split_seed))
    clips["volume"] = clip_volumes(clips["onset_s"].to_numpy(), fmri.clip_seconds, fmri.lag_seconds,
                                   layout.tr)[:, 0]
    graphs = root / "truth" / "scene_graphs.jsonl"
    shots = {}
    if graphs.exists():  # the twin knows its shots; real data leaves shot_id empty
        shots = {g["clip_id"]: g["shot_id"] for g in map(json.loads, graphs.read_text().splitlines())}
    clips["shot_id"] = clips["clip_id"].map(shots).fillna("")
    clips = clips[["clip_id", "split", "segment", "clip_index", "onset_s", "shot_id", "run", "volume", "retest"]]
    clips.to_csv(out / "clips.csv", index=False)
    frames = _clip_frames(cfg, layout, root, clips)
    for split in ("train", "test"):
        np.save(out / f"frames_{split}.npy", frames[(clips["split"] == split).to_numpy()])
    summary = {subject: _prepare_subject(cfg, layout, root, subject, clips, out / subject)
               for subject in cfg.subjects}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def _clip_frames(cfg: Config, layout: HcpLayout, root: Path, clips: pd.DataFrame) -> np.ndarray:
    """uint8 (N, frames_per_clip, S, S, 3) in clip-table order, read run by run from the movie files."""

    fmri = cfg.fmri
    out = np.zeros((len(clips), fmri.frames_per_clip, fmri.frame_size, fmri.frame_size, 3), np.uint8)
    for run in tqdm(layout.runs, desc="movie frames", unit="run"):
        rows = np.flatnonzero((clips["run"] == run).to_numpy())
        if not len(rows):
            continue
        path = stimulus_path(root, run)
        if not path.exists():
            raise MissingInputError(f"{path}: movie file not found; copy the HCP 7T movie stimuli into "
                                    f"{Path(root) / 'stimuli'} (see README, 'Getting the data')")
        fps = video_meta(path)["fps"]
        times = clip_frame_times(clips["onset_s"].to_numpy()[rows], fmri.clip_seconds, fmri.frames_per_clip)
        index = np.floor(times * fps + 1e-6).astype(int)
        out[rows] = resize_frames(read_frames(path, index), fmri.frame_size)
    return out


def _prepare_subject(cfg: Config, layout: HcpLayout, root: Path, subject: str, clips: pd.DataFrame,
                     out: Path) -> dict:
    """Lagged responses of every clip for one subject, restricted to the configured Glasser ROIs."""
    fmri = cfg.fmri
    responses = np.zeros(0, np.float32)
    grayordinates, usable = None, None
    volumes = clip_volumes(clips["onset_s"].to_numpy(), fmri.clip_seconds, fmri.lag_seconds, layout.tr)
    excluded = set(fmri.exclude_runs)
    for run in tqdm(layout.runs, desc=f"{subject} runs", unit="run"):
        rows = np.flatnonzero((clips["run"] == run).to_numpy())
        if f"{subject}/{run}" in excluded:
            raise InputError(f"{subject}/{run} is excluded (fmri.exclude_runs), but HCP has one viewing per "
                             "movie: its clips would have no response. Drop the run's segments from "
                             "fmri.segment_table instead")
        path = run_path(root, subject, run)
        data, columns, ok = load_run(path, layout.n_volumes.get(run), layout.tr)
        if grayordinates is None:
            grayordinates, usable = columns, ok
            responses = np.zeros((len(clips), len(columns)), np.float32)
        elif not np.array_equal(columns, grayordinates):
            raise InputError(f"{path}: its vertices differ from the subject's other runs; re-download it")
        usable &= ok
        responses[rows] = clip_responses(detrend_zscore(data, fmri.detrend_order), volumes[rows], path)
    in_rois = roi_mask(grayordinates, fmri.rois)
    mask = in_rois & usable
    if not mask.any():
        raise InputError(f"{subject}: no usable vertex in the ROIs {fmri.rois}; are these cortical CIFTI files?")
    atlas = load_glasser()
    voxels = pd.DataFrame({"grayordinate": grayordinates, "label": atlas.label_of(grayordinates),
                           "mean_r": np.nan, "t": np.nan, "p": np.nan, "selected": mask, "usable": usable,
                           "in_rois": in_rois})
    out.mkdir(parents=True)
    voxels.to_csv(out / "voxels.csv", index=False)
    for split in ("train", "test"):
        rows = (clips["split"] == split).to_numpy()
        np.save(out / f"bold_{split}.npy", responses[rows][:, mask].astype(np.float32))
    return {"n_vertices": len(mask), "n_selected": int(mask.sum()), "n_unusable": int((~usable).sum()),
            "n_in_rois": int(in_rois.sum())}


# ------------------------------------------------------------------------------------------- summaries
def roi_vertex_counts(voxels: dict[str, pd.DataFrame], rois: tuple[str, ...] | list[str] = HCP_VISUAL_ROIS
                      ) -> pd.DataFrame:
    """Selected vertices per Glasser ROI (both hemispheres) and subject, with a ``total`` row.

    ``voxels`` maps subject → its ``voxels.csv`` table (``label`` like ``L_V1``, boolean ``selected``); rows are
    ``rois`` in the given order, columns the subjects (notebook 01's HCP counterpart of the reliability plot).
    """
    counts = {}
    for subject, table in voxels.items():
        chosen = table.loc[table["selected"].astype(bool), "label"].astype(str)
        counts[subject] = chosen.str.split("_", n=1).str[-1].value_counts().reindex(list(rois), fill_value=0)
    table = pd.DataFrame(counts, index=list(rois)).fillna(0).astype(int)
    table.loc["total"] = table.sum()
    table.index.name = "ROI"
    return table


def segment_summary(clips: pd.DataFrame) -> pd.DataFrame:
    """One row per movie segment of a prepared clip table: run, first onset, clips and clips per split."""
    counts = pd.crosstab(clips["segment"], clips["split"]).reindex(columns=["train", "test"], fill_value=0)
    first = clips.groupby("segment", sort=False).agg(run=("run", "first"), onset_s=("onset_s", "min"),
                                                    clips=("clip_id", "size"))
    return first.join(counts).rename(columns={"train": "train clips", "test": "test clips"})
