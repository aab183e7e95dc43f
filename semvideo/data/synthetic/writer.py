"""Write the twin in the CC2017 layout (see the package docstring) or the HCP 7T layout (``twin.layout: hcp``);
deterministic for a given config."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from semvideo.config import Config
from semvideo.data import hcp
from semvideo.data.cc2017 import VOLUMES_AFTER_STIMULUS, layout_for, run_path, stimulus_path
from semvideo.data.cifti import write_dtseries
from semvideo.data.synthetic.brain import (
    FAMILIES,
    Brain,
    bold_signal,
    frame_features,
    sample_brain,
    simulate_run,
    tr_average,
)
from semvideo.data.synthetic.render import background, render_clip
from semvideo.data.synthetic.world import object_state, sample_segment
from semvideo.data.video import write_video
from semvideo.io import atomic_dir
from semvideo.paths import RunPaths
from semvideo.workers import map_jobs

__all__ = ["generate_twin"]


def generate_twin(cfg: Config) -> None:
    """Generate the whole twin dataset under ``results/<name>/raw`` (replaced atomically as one folder).

    ``twin.layout: cc2017`` (default) writes the CC2017 layout; ``twin.layout: hcp`` the HCP 7T movie layout
    (:func:`_generate_hcp`). Both use the same world, renderer and brain simulator.
    """
    if cfg.twin.layout == "hcp":
        with atomic_dir(RunPaths.from_config(cfg).raw) as root:
            _generate_hcp(cfg, root)
        return
    with atomic_dir(RunPaths.from_config(cfg).raw) as root:
        features, graphs = _write_stimuli(cfg, root)
        for index, subject in enumerate(cfg.subjects):
            _write_subject(cfg, root, index, subject, features)
        (root / "truth" / "scene_graphs.jsonl").write_text("".join(json.dumps(g) + "\n" for g in graphs))


def _write_stimuli(cfg: Config, root: Path) -> tuple[dict[str, dict], list[dict]]:
    """Every segment's scene graphs (drawn in order from one RNG), then its video and per-TR features, rendered
    segment by segment in ``cfg.workers`` processes (each segment has its own RNG: the same files either way)."""
    twin = cfg.twin
    n_clips = int(round(twin.segment_seconds / cfg.fmri.clip_seconds))
    rng = np.random.default_rng([cfg.seed, 0])
    (root / "truth").mkdir(parents=True, exist_ok=True)
    segments = [(number, segment, sample_segment(rng, twin, segment, split, n_clips, cfg.fmri.clip_seconds))
                for number, (segment, split) in enumerate(layout_for(cfg).segments)]
    features = map_jobs(cfg, _write_segment, [(cfg, root, *segment) for segment in segments])
    return {segment: f for (_, segment, _), f in zip(segments, features)}, [c for *_, clips in segments for c in clips]


def _write_segment(_, job: tuple[Config, Path, int, str, list[dict]]) -> dict[str, np.ndarray]:
    """Render one segment's clips → its stimulus video and ``truth/features_{segment}.npz``; returns the per-TR
    features (a :func:`semvideo.workers.map_jobs` job)."""
    cfg, root, number, segment, clips = job
    frames, per_frame = _render_segment(cfg, clips, np.random.default_rng([cfg.seed, 1, number]))
    write_video(stimulus_path(root, segment), frames, fps=cfg.twin.fps)
    frames_per_tr = int(round(cfg.twin.tr * cfg.twin.fps))
    features = {k: tr_average(v, frames_per_tr) for k, v in per_frame.items()}
    np.savez_compressed(root / "truth" / f"features_{segment}.npz", **features)
    print(f"twin stimuli: {segment} ({len(clips)} clips)", flush=True)
    return features


def _render_segment(cfg: Config, clips: list[dict], rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Frames (T, S, S, 3) uint8 of a segment and their per-frame features, rendered clip by clip (the
    features of a whole segment at full resolution would take gigabytes)."""
    twin = cfg.twin
    clip_frames = int(round(cfg.fmri.clip_seconds * twin.fps))
    backgrounds: dict[str, np.ndarray] = {}
    frames, per_frame = [], []
    for clip in clips:
        if clip["shot_id"] not in backgrounds:
            backgrounds[clip["shot_id"]] = background(clip["background"], twin.frame_size, rng)
        rgb = render_clip(clip, clip_frames, twin.fps, twin.frame_size, backgrounds[clip["shot_id"]])
        frames.append(rgb)
        per_frame.append(frame_features(rgb, *_kinematics([clip], clip_frames, twin.fps),
                                        *_labels([clip], clip_frames, twin), len(twin.categories),
                                        len(twin.colours), twin=twin))
    return np.concatenate(frames), {k: np.concatenate([f[k] for f in per_frame]) for k in per_frame[0]}


def _kinematics(clips: list[dict], clip_frames: int, fps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame velocity (T, 2) in frame widths / s, expansion rate (T,) 1/s and rotation (T,) deg/s."""
    dt = 1.0 / fps
    velocity, expansion, rotation = [], [], []
    for clip in clips:
        for i in range(clip_frames):
            t = clip["shot_time"] + i * dt
            now, nxt = object_state(clip, t), object_state(clip, t + dt)
            velocity.append((nxt["xy"] - now["xy"]) / dt)
            expansion.append(np.log(nxt["scale"] / now["scale"]) / dt)
            rotation.append((nxt["angle"] - now["angle"]) / dt)
    return np.asarray(velocity), np.asarray(expansion), np.asarray(rotation)


def _labels(clips: list[dict], clip_frames: int, twin) -> tuple[np.ndarray, np.ndarray]:
    category = np.repeat([twin.categories.index(c["category"]) for c in clips], clip_frames)
    colour = np.repeat([twin.colours.index(c["colour"]) for c in clips], clip_frames)
    return category, colour


def _subject_brain(cfg: Config, root: Path, index: int, subject: str):
    """One simulated subject (either layout): its RNG, brain (ground truth saved), per-vertex scanner baseline
    and signal amplitude, and grayordinates. Draws in a fixed order, so a subject is the same in any layout."""
    twin = cfg.twin
    rng = np.random.default_rng([cfg.seed, 2, index])
    brain = sample_brain(rng, twin, twin.responsive_fraction[index], len(twin.categories), len(twin.colours))
    _save_truth(root / "truth", subject, brain)
    v = len(brain.vertices)
    baseline = rng.uniform(500, 1500, v)
    amplitude = rng.uniform(5, 15, v)
    return rng, brain, baseline, amplitude, brain.vertices["grayordinate"].to_numpy()


def _write_subject(cfg: Config, root: Path, index: int, subject: str, features: dict[str, dict]) -> None:
    twin = cfg.twin
    rng, brain, baseline, amplitude, grayordinates = _subject_brain(cfg, root, index, subject)
    runs = []
    n_trs = int(round(twin.segment_seconds / twin.tr))
    for segment, split in tqdm(layout_for(cfg).segments, desc=f"{subject} runs", unit="segment"):
        repeats = twin.train_repeats if split == "train" else twin.test_repeats
        for rep in range(1, repeats + 1):
            n_pre = int(rng.integers(1, 3))  # 1 → 245-volume run, 2 → 246 (for 240 TRs), as in CC2017
            n_volumes = n_pre + n_trs + VOLUMES_AFTER_STIMULUS
            signal = _driven_signal(brain, features[segment], twin, n_pre, n_trs, n_volumes)
            bold = simulate_run(rng, signal, twin, baseline, amplitude)
            write_dtseries(run_path(root, subject, segment, rep), bold, grayordinates, twin.tr)
            runs.append({"subject": subject, "segment": segment, "rep": rep, "n_volumes": n_volumes,
                         "first_stimulus_volume": n_pre})
    pd.DataFrame(runs).to_csv(root / "truth" / f"{subject}_runs.csv", index=False)


def _driven_signal(brain: Brain, features: dict, twin, n_pre: int, n_trs: int, n_volumes: int) -> np.ndarray:
    """(n_volumes, V) stimulus-driven signal: unit variance over the stimulus volumes, times each gain."""
    signal = np.zeros((n_volumes, len(brain.vertices)))
    for family in FAMILIES:
        columns = np.flatnonzero(brain.vertices["family"].to_numpy() == family)
        convolved = bold_signal(features[family], twin.tr, n_pre, n_volumes, twin.lag_seconds)
        signal[:, columns] = convolved @ brain.weights[family]
    window = signal[n_pre: n_pre + n_trs]  # the stimulus volumes
    mean, sd = window.mean(0), window.std(0)
    sd[sd == 0] = 1.0
    return (signal - mean) / sd * brain.vertices["gain"].to_numpy()


def _save_truth(folder: Path, subject: str, brain: Brain) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    brain.vertices.to_csv(folder / f"{subject}_vertices.csv", index=False)
    np.savez_compressed(folder / f"{subject}_weights.npz", **brain.weights)


# ------------------------------------------------------------------------------------------- HCP layout
def _generate_hcp(cfg: Config, root: Path) -> None:
    """The twin in the HCP 7T layout (semvideo.data.hcp): one movie file and one CIFTI run per MOVIE run.

    Each run is rest (a flat grey screen), then ``twin.segments_per_run`` movie segments of
    ``twin.segment_seconds`` separated by ``twin.rest_seconds`` of rest, and a final rest; every subject sees
    every run once. Files::

        stimuli/7T_MOVIE{k}_..._v2.mp4           the whole run's screen (rest included), twin.fps
        {subject}/MNINonLinear/Results/tfMRI_{run}/tfMRI_{run}_Atlas.dtseries.nii    TR = twin.tr
        movie_segments.csv                      the segment table (the real data's hcp_movie_segments.csv)
        truth/scene_graphs.jsonl, features_{run}.npz, {subject}_vertices.csv, {subject}_weights.npz,
        {subject}_runs.csv
    """

    twin = cfg.twin
    layout = hcp.hcp_layout(cfg)
    (root / "truth").mkdir(parents=True, exist_ok=True)
    layout.segments.to_csv(root / "movie_segments.csv", index=False)
    clips = hcp.clip_table(layout, cfg.fmri.clip_seconds, cfg.fmri.retest_clips)
    split = dict(zip(clips["clip_id"], hcp.split_clips(len(clips), cfg.fmri.test_fraction, cfg.fmri.split_seed)))
    rng = np.random.default_rng([cfg.seed, 0])
    n_seg_clips = int(round(twin.segment_seconds / cfg.fmri.clip_seconds))
    frames_per_tr = int(round(twin.tr * twin.fps))
    features, graphs = {}, []
    for number, run in enumerate(tqdm(layout.runs, desc="twin movie runs", unit="run")):
        n_frames = int(round(layout.n_volumes[run] * layout.tr * twin.fps))
        screen = np.full((n_frames, twin.frame_size, twin.frame_size, 3), 128, np.uint8)  # rest: flat grey
        per_frame = None
        for seg in layout.segments[layout.segments["run"] == run].itertuples():
            name = f"{run.split('_')[0]}_s{seg.segment}"
            seg_graphs = sample_segment(rng, twin, name, "train", n_seg_clips, cfg.fmri.clip_seconds)
            for graph in seg_graphs:
                graph.update(split=split.get(graph["clip_id"], "train"), run=run,
                             onset_s=float(seg.start_s + graph["clip_index"] * cfg.fmri.clip_seconds))
            frames, seg_features = _render_segment(cfg, seg_graphs,
                                                   np.random.default_rng([cfg.seed, 1, number, seg.segment]))
            if per_frame is None:
                per_frame = {k: np.zeros((n_frames, v.shape[1])) for k, v in seg_features.items()}
            first = int(round(seg.start_s * twin.fps))
            screen[first: first + len(frames)] = frames
            for key, value in seg_features.items():
                per_frame[key][first: first + len(value)] = value
            graphs += seg_graphs
        hcp_file = hcp.stimulus_path(root, run)
        write_video(hcp_file, screen, fps=twin.fps)
        features[run] = {k: tr_average(v, frames_per_tr) for k, v in per_frame.items()}
        np.savez_compressed(root / "truth" / f"features_{run}.npz", **features[run])
    for index, subject in enumerate(cfg.subjects):
        _write_hcp_subject(cfg, root, index, subject, layout, features)
    (root / "truth" / "scene_graphs.jsonl").write_text("".join(json.dumps(g) + "\n" for g in graphs))


def _write_hcp_subject(cfg: Config, root: Path, index: int, subject: str, layout, features: dict) -> None:

    twin = cfg.twin
    rng, brain, baseline, amplitude, grayordinates = _subject_brain(cfg, root, index, subject)
    runs = []
    for run in tqdm(layout.runs, desc=f"{subject} runs", unit="run"):
        n_volumes = layout.n_volumes[run]
        # the movie file is the run's whole screen: its first TR is volume 0 (no pre-stimulus volumes)
        signal = _driven_signal(brain, features[run], twin, 0, n_volumes, n_volumes)
        bold = simulate_run(rng, signal, twin, baseline, amplitude)
        write_dtseries(hcp.run_path(root, subject, run), bold, grayordinates, twin.tr)
        runs.append({"subject": subject, "segment": run, "rep": 1, "n_volumes": n_volumes,
                     "first_stimulus_volume": 0})
    pd.DataFrame(runs).to_csv(root / "truth" / f"{subject}_runs.csv", index=False)
