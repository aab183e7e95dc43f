"""fMRI preprocessing and clip alignment (paper §4 "Datasets and Pre-processing", DESIGN §3).

Per run: 4th-order polynomial detrend and z-score over time; the stimulus volumes shifted by the
hemodynamic lag (4 s = 2 TRs) give one response per 2-s clip. Responses are averaged over repeats (2 train,
10 test). Voxels are selected by their repeat reliability: per training segment, the correlation between the
two repeats' responses → Fisher z → one-sample t-test across segments → Bonferroni p < 0.05.

:func:`prepare_cc2017` prepares a CC2017-layout dataset; the stage ``prepare``
(:func:`semvideo.data.prepare.prepare_dataset`) calls it, or :func:`semvideo.data.hcp.prepare_hcp` for HCP-layout
worlds (one viewing per movie, so no repeat averaging or reliability selection; Glasser ROI vertices; a seeded
9:1 split by clip), and writes ``results/<name>/data/`` (see :mod:`semvideo.data.prepared`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from semvideo.config import Config
from semvideo.data.atlas import load_glasser
from semvideo.data.cc2017 import Layout, first_stimulus_volume, layout_for, load_run, run_path, stimulus_path
from semvideo.data.video import clip_frame_indices, read_frames, resize_frames
from semvideo.io import InputError

__all__ = [
    "clip_responses",
    "detrend_zscore",
    "prepare_cc2017",
    "repeat_reliability",
    "select_voxels",
    "trim_run",
]


def detrend_zscore(run: np.ndarray, order: int = 4) -> np.ndarray:
    """Remove a polynomial trend of ``order`` from each column of ``run`` (T, V), then z-score over time.

    Uses a Legendre basis on [-1, 1] (well conditioned for order 4). Constant columns become zeros.
    """
    t = np.linspace(-1.0, 1.0, len(run))
    basis = np.polynomial.legendre.legvander(t, order)  # (T, order + 1)
    coef, *_ = np.linalg.lstsq(basis, run.astype(np.float64), rcond=None)
    residual = run - basis @ coef
    sd = residual.std(0)
    return np.divide(residual, sd, out=np.zeros_like(residual), where=sd > 1e-12).astype(np.float32)


def trim_run(run: np.ndarray, n_trs: int = 240) -> np.ndarray:
    """The ``n_trs`` stimulus volumes of a run: 245 → [1:241], 246 → [2:242] (CC2017's rule)."""
    first = first_stimulus_volume(len(run), n_trs)
    return run[first: first + n_trs]


def clip_responses(run: np.ndarray, n_trs: int, n_clips: int, lag_trs: int) -> np.ndarray:
    """One response per clip: (n_volumes, V) → (n_clips, V).

    Clip i covers stimulus volumes [i·k, (i+1)·k) with k = n_trs / n_clips (1 for 2-s clips at TR 2 s); its
    response is the mean of those volumes shifted ``lag_trs`` later. The shift reads into the volumes after
    the stimulus, so no clip is lost.
    """
    first = first_stimulus_volume(len(run), n_trs)
    per_clip = n_trs // n_clips
    start = first + lag_trs
    if start + n_trs > len(run):
        raise ValueError(f"a lag of {lag_trs} TRs needs {start + n_trs} volumes, the run has {len(run)}")
    return run[start: start + n_trs].reshape(n_clips, per_clip, -1).mean(1)


def repeat_reliability(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation over time between two repeats (T, V) of one segment, per column → (V,)."""
    a = a - a.mean(0)
    b = b - b.mean(0)
    denom = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    return np.divide((a * b).sum(0), denom, out=np.zeros(a.shape[1]), where=denom > 0)


def select_voxels(fisher_z: np.ndarray, alpha: float = 0.05) -> pd.DataFrame:
    """One-sample t-test of Fisher-z repeat correlations (n_segments, V) > 0, Bonferroni over V vertices.

    Returns a table with columns ``mean_r`` (mean correlation), ``t``, ``p`` (one-sided, uncorrected) and
    ``selected`` (p · V < alpha).
    """
    t, p = stats.ttest_1samp(fisher_z, 0.0, axis=0, alternative="greater")
    t, p = np.nan_to_num(t), np.nan_to_num(p, nan=1.0)
    return pd.DataFrame({"mean_r": np.tanh(fisher_z.mean(0)), "t": t, "p": p,
                         "selected": p * fisher_z.shape[1] < alpha})


def prepare_cc2017(cfg: Config, out: Path, root: Path) -> None:
    """Preprocess a CC2017-layout dataset under ``root`` (real or twin) into the folder ``out``: ``clips.csv``,
    ``frames_{train,test}.npy``, one folder per subject and ``summary.json`` (see :mod:`semvideo.data.prepared`)."""
    layout = layout_for(cfg)
    clips = _clip_index(cfg, layout, root)
    clips.to_csv(out / "clips.csv", index=False)
    for split in ("train", "test"):
        np.save(out / f"frames_{split}.npy", _clip_frames(cfg, layout, root, split))
    summary = {subject: _prepare_subject(cfg, layout, root, subject, out / subject) for subject in cfg.subjects}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def _n_clips(cfg: Config, layout: Layout) -> int:
    return int(round(layout.n_trs * layout.tr / cfg.fmri.clip_seconds))


def _clip_index(cfg: Config, layout: Layout, root: Path) -> pd.DataFrame:
    n_clips = _n_clips(cfg, layout)
    rows = [{"clip_id": f"{seg}_{i:04d}", "split": split, "segment": seg, "clip_index": i,
             "onset_s": i * cfg.fmri.clip_seconds} for seg, split in layout.segments for i in range(n_clips)]
    clips = pd.DataFrame(rows)
    graphs = root / "truth" / "scene_graphs.jsonl"
    if graphs.exists():  # the twin knows its shots; real data leaves shot_id empty
        shots = {g["clip_id"]: g["shot_id"] for g in map(json.loads, graphs.read_text().splitlines())}
        clips["shot_id"] = clips["clip_id"].map(shots)
    else:
        clips["shot_id"] = ""
    return clips


def _clip_frames(cfg: Config, layout: Layout, root: Path, split: str) -> np.ndarray:
    """uint8 (N, frames_per_clip, S, S, 3): each clip's frames at 3 fps, resized to the model resolution."""
    n_clips, fmri = _n_clips(cfg, layout), cfg.fmri
    out = []
    fps = cfg.twin.fps if cfg.world == "twin" else 30
    index = np.stack([clip_frame_indices(i, fmri.clip_seconds, fps, fmri.frames_per_clip) for i in range(n_clips)])
    for seg, _ in tqdm([s for s in layout.segments if s[1] == split], desc=f"{split} frames"):
        out.append(resize_frames(read_frames(stimulus_path(root, seg), index), fmri.frame_size))
    return np.concatenate(out)


def _prepare_subject(cfg: Config, layout: Layout, root: Path, subject: str, out: Path) -> dict:
    """Responses per clip for one subject, voxel selection, and the voxel table."""
    n_clips = _n_clips(cfg, layout)
    lag_trs = int(round(cfg.fmri.lag_seconds / layout.tr))
    responses: dict[tuple[str, int], np.ndarray] = {}
    grayordinates, usable = None, None
    for seg, _split, rep in tqdm(layout.runs(subject, cfg.fmri.exclude_runs), desc=f"{subject} runs"):
        path = run_path(root, subject, seg, rep)
        data, columns, ok = load_run(path, layout)
        if grayordinates is None:
            grayordinates, usable = columns, ok
        elif not np.array_equal(columns, grayordinates):
            raise InputError(f"{path}: its {len(columns)} vertices differ from the {len(grayordinates)} of "
                             f"{subject}'s other runs; re-download it or exclude it (fmri.exclude_runs)")
        usable &= ok
        responses[seg, rep] = clip_responses(detrend_zscore(data, cfg.fmri.detrend_order), layout.n_trs,
                                             n_clips, lag_trs)
    train_segments = [s for s, split in layout.segments if split == "train"]
    reliability = np.stack([repeat_reliability(responses[s, 1], responses[s, 2]) for s in train_segments
                            if (s, 1) in responses and (s, 2) in responses])
    voxels = select_voxels(np.arctanh(np.clip(reliability, -0.999999, 0.999999)), cfg.fmri.voxel_alpha)
    voxels["selected"] &= usable
    if cfg.fmri.max_voxels is not None and voxels["selected"].sum() > cfg.fmri.max_voxels:
        keep = voxels["t"].where(voxels["selected"]).nlargest(cfg.fmri.max_voxels).index
        voxels["selected"] = voxels.index.isin(keep)
    if not voxels["selected"].any():
        raise InputError(f"{root / subject}: no vertex passes the reliability test (alpha {cfg.fmri.voxel_alpha}; "
                         f"{int((~usable).sum())} of {len(usable)} vertices are NaN or constant in some run); "
                         "check the data or raise fmri.voxel_alpha")
    voxels.insert(0, "grayordinate", grayordinates)
    voxels.insert(1, "label", load_glasser().label_of(grayordinates))
    voxels["usable"] = usable
    out.mkdir(parents=True)
    voxels.to_csv(out / "voxels.csv", index=False)
    mask = voxels["selected"].to_numpy()
    for split in ("train", "test"):
        segments = [s for s, sp in layout.segments if sp == split]
        averaged = [np.mean([r for (s, _), r in responses.items() if s == seg], axis=0) for seg in segments]
        np.save(out / f"bold_{split}.npy", np.concatenate(averaged)[:, mask].astype(np.float32))
    return {"n_vertices": len(mask), "n_selected": int(mask.sum()), "n_unusable": int((~usable).sum())}
