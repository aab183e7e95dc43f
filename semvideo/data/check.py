"""``python -m semvideo check-data --config ...``: check a dataset download file by file before a long run.

Every expected stimulus video and fMRI run is opened (headers only for CIFTI, metadata only for mp4) and each
problem is listed with its path; the command exits non-zero if anything is missing or malformed. The CC2017
layout (real or twin) and the HCP 7T layout (``world: hcp`` or ``twin.layout: hcp``; :mod:`semvideo.data.hcp`)
are covered.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib

from semvideo.config import Config
from semvideo.data import hcp
from semvideo.data.cc2017 import Layout, first_stimulus_volume, layout_for, run_path, stimulus_path
from semvideo.data.video import video_meta
from semvideo.paths import RunPaths

__all__ = ["check_cc2017", "check_data", "check_hcp"]


def _series_axis(path: Path, tr: float) -> tuple[object | None, str | None]:
    """The CIFTI series axis of ``path`` or the problem that prevents reading it (missing, unreadable, TR)."""
    if not path.exists():
        return None, "missing"
    try:
        header = nib.load(path).header
        series = header.get_axis(0)
    except Exception as err:
        return None, f"unreadable CIFTI ({type(err).__name__})"
    if not isinstance(series, nib.cifti2.SeriesAxis):
        return None, "not a dense time series"
    if abs(series.step - tr) > 1e-6:
        return None, f"TR {series.step} s, expected {tr} s"
    return series, None


def _check_run(path: Path, layout: Layout) -> str | None:
    series, problem = _series_axis(path, layout.tr)
    if problem:
        return problem
    try:
        first_stimulus_volume(series.size, layout.n_trs, path)
    except ValueError:
        return f"{series.size} volumes, expected {layout.n_trs + 5} or {layout.n_trs + 6}"
    return None


def _check_video(path: Path, seconds: float) -> str | None:
    if not path.exists():
        return "missing"
    try:
        meta = video_meta(path)
    except Exception as err:
        return f"unreadable video ({type(err).__name__})"
    if meta["duration"] and meta["duration"] + 1.0 < seconds:
        return f"{meta['duration']:.1f} s long, expected {seconds:.0f} s"
    return None


def check_cc2017(root: Path, layout: Layout, subjects: list[str], exclude: list[str] = ()) -> list[tuple[Path, str]]:
    """(path, problem) for every expected file that is missing or malformed; empty when the download is good."""
    problems = []
    for segment, _ in layout.segments:
        path = stimulus_path(root, segment)
        if problem := _check_video(path, layout.n_trs * layout.tr):
            problems.append((path, problem))
    for subject in subjects:
        for segment, _, rep in layout.runs(subject, exclude):
            path = run_path(root, subject, segment, rep)
            if problem := _check_run(path, layout):
                problems.append((path, problem))
    return problems


def check_hcp(root: Path, layout, subjects: list[str]) -> list[tuple[Path, str]]:
    """(path, problem) for every expected HCP 7T movie file and run (``layout``: an ``hcp.HcpLayout``).

    A movie must be readable and last until its run's last movie segment ends; a run must be a CIFTI dense
    time series at the layout's TR with exactly the run's number of volumes (921 / 918 / 915 / 901 for the
    real MOVIE1–4).
    """

    problems = []
    for run in layout.runs:
        path = hcp.stimulus_path(root, run)
        end = float(layout.segments.loc[layout.segments["run"] == run, "stop_s"].max())
        if problem := _check_video(path, end):
            problems.append((path, problem))
    for subject in subjects:
        for run in layout.runs:
            path = hcp.run_path(root, subject, run)
            series, problem = _series_axis(path, layout.tr)
            expected = layout.n_volumes.get(run)
            if not problem and expected is not None and series.size != expected:
                problem = f"{series.size} volumes, expected {expected} for {run}; the run is incomplete"
            if problem:
                problems.append((path, problem))
    return problems


def check_data(cfg: Config) -> None:
    """Print every problem of the configured dataset; raise SystemExit(1) if there is any."""

    root = RunPaths.from_config(cfg).data_root
    if hcp.uses_hcp_layout(cfg):
        layout = hcp.hcp_layout(cfg)
        problems = check_hcp(root, layout, cfg.subjects)
        for path, problem in problems:
            print(f"{path}: {problem}")
        print(f"checked {len(layout.runs) * (1 + len(cfg.subjects))} files under {root}: {len(problems)} problem(s)")
        if problems:
            raise SystemExit(1)
        return
    problems = check_cc2017(root, layout_for(cfg), cfg.subjects, cfg.fmri.exclude_runs)
    for path, problem in problems:
        print(f"{path}: {problem}")
    n_files = len(layout_for(cfg).segments) + sum(len(layout_for(cfg).runs(s, cfg.fmri.exclude_runs))
                                                   for s in cfg.subjects)
    print(f"checked {n_files} files under {root}: {len(problems)} problem(s)")
    if problems:
        raise SystemExit(1)
