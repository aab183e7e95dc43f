"""The twin's brain: stimulus features → vertex time series on real fs_LR grayordinates (DESIGN §3).

Three families of visual vertices, each with ground-truth tuning, and noise-only vertices elsewhere:

* early visual (V1–V4): population receptive fields (x, y, σ) reading local contrast and two colour-opponent
  channels on a coarse grid of the frame;
* motion (MT, MST, FST, V4t, TPOJ1–3): direction-tuned motion (8 directions, von Mises tuning), or
  expansion / contraction / rotation selectivity, each times a log-Gaussian tuning to local image speed around
  the vertex's preferred speed (MT's separable direction × speed tuning: Rodman & Albright 1987; speed tuning
  curves and preferred speeds spread over the population: Maunsell & Van Essen 1983, Nover, Anderson &
  DeAngelis 2005). Without it the speed of a motion would only scale the response amplitude, which a linear
  readout cannot tell from the direction tuning (fast in a flank direction ≈ slow in the preferred one);
* object (LO1–3, PIT, FFC, VVC, VMV1–3, PH, V8): linear weights on the object's category and colour.

Features are averaged per TR, convolved with nilearn's Glover HRF, and sampled so that the response to a clip
peaks ``lag_seconds`` after its onset. A run adds repeat-specific noise, slow drift and a per-run offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
from scipy.signal import fftconvolve

from semvideo.config import TwinConfig
from semvideo.data.atlas import N_CORTEX, load_glasser

__all__ = [
    "DIRECTIONS",
    "ENCODED_ATTRIBUTES",
    "FAMILIES",
    "GRID",
    "Brain",
    "bold_signal",
    "frame_features",
    "lag_shift",
    "motion_features",
    "sample_brain",
    "simulate_run",
    "speed_tuning",
    "tr_average",
]

FAMILIES = {
    "early": ("V1", "V2", "V3", "V4"),
    "motion": ("MT", "MST", "FST", "V4t", "TPOJ1", "TPOJ2", "TPOJ3"),
    "object": ("LO1", "LO2", "LO3", "PIT", "FFC", "VVC", "VMV1", "VMV2", "VMV3", "PH", "V8"),
}
#: The scene-graph attributes each family's features carry by construction (see :func:`frame_features`):
#: pRF contrast / colour-opponent maps see the object's and the background's colours; direction-tuned energy
#: and expansion / rotation channels see the motion type and scale with its speed; the object family's weights
#: read the category and colour one-hots. The information ceiling (semvideo.metrics.ceiling) checks each.
ENCODED_ATTRIBUTES = {
    "early": ("colour", "background"),
    "motion": ("motion", "speed"),
    "object": ("category", "colour"),
}
GRID = 8  #: retinotopic feature maps are GRID × GRID
DIRECTIONS = np.deg2rad(np.arange(0, 360, 45))  #: preferred directions of motion vertices (x right, y down)
_FINE_DT = 0.1  # seconds: resolution of the HRF convolution


@dataclass
class Brain:
    """One subject's ground truth: vertex table and encoding weights per family.

    ``vertices`` has one row per simulated grayordinate (sorted), with label, family, responsive, gain and
    tuning parameters; ``weights[family]`` is (n_features_of_family, n_vertices_of_family).
    """

    vertices: pd.DataFrame
    weights: dict[str, np.ndarray]


def sample_brain(rng: np.random.Generator, twin: TwinConfig, responsive_fraction: float,
                 n_categories: int, n_colours: int) -> Brain:
    atlas = load_glasser()
    rows, weights = [], {}
    chosen = set()
    for family, rois in FAMILIES.items():
        vertices = atlas.select(rois)
        vertices = np.sort(rng.choice(vertices, int(round(twin.visual_fraction * len(vertices))), replace=False))
        chosen.update(vertices.tolist())
        params, weights[family] = _tuning(family, rng, len(vertices), n_categories, n_colours, twin)
        responsive = rng.random(len(vertices)) < responsive_fraction
        gain = np.where(responsive, rng.uniform(0.3, 1.0, len(vertices)), 0.0)
        rows.append(pd.DataFrame({"grayordinate": vertices, "family": family, "responsive": responsive,
                                  "gain": gain, **params}))
    rest = np.setdiff1d(np.arange(N_CORTEX), np.fromiter(chosen, int))
    noise = np.sort(rng.choice(rest, int(round(twin.vertex_fraction * len(rest))), replace=False))
    rows.append(pd.DataFrame({"grayordinate": noise, "family": "noise", "responsive": False, "gain": 0.0}))
    table = pd.concat(rows, ignore_index=True)
    table.insert(1, "label", atlas.label_of(table["grayordinate"].to_numpy()))
    order = np.argsort(table["grayordinate"].to_numpy(), kind="stable")
    return Brain(vertices=table.iloc[order].reset_index(drop=True), weights=weights)


def _tuning(family: str, rng, n: int, n_categories: int, n_colours: int,
            twin: TwinConfig) -> tuple[dict, np.ndarray]:
    """Tuning parameters (table columns) and weights (n_features, n) of ``n`` vertices of one family."""
    if family == "early":
        x, y = rng.uniform(0.05, 0.95, (2, n))
        sigma = rng.uniform(0.08, 0.25, n)
        gx = (np.arange(GRID) + 0.5) / GRID
        prf = np.exp(-((gx[None, :, None] - y[:, None, None]) ** 2 + (gx[None, None, :] - x[:, None, None]) ** 2)
                     / (2 * sigma[:, None, None] ** 2)).reshape(n, -1)
        prf /= prf.sum(1, keepdims=True)
        channel = np.stack([np.ones(n), rng.normal(0, 0.6, n), rng.normal(0, 0.6, n)])  # contrast, R−G, B−Y
        w = (channel[:, :, None] * prf[None]).transpose(0, 2, 1).reshape(3 * GRID * GRID, n)
        return {"prf_x": x, "prf_y": y, "prf_sigma": sigma}, w
    if family == "motion":
        kind = rng.choice(["direction", "expansion", "contraction", "rotation"], n, p=[0.7, 0.1, 0.1, 0.1])
        preferred = rng.uniform(0, 2 * np.pi, n)
        tuning = np.exp(2.0 * (np.cos(DIRECTIONS[:, None] - preferred[None]) - 1))  # von Mises, κ = 2
        speeds = np.asarray(twin.preferred_speeds)
        channel = rng.integers(0, len(speeds), n)  # each vertex's preferred speed, log-spaced grid
        w = np.zeros((len(DIRECTIONS) + 3, len(speeds), n))  # (motion channel, speed channel, vertex)
        w[: len(DIRECTIONS), channel, np.arange(n)] = np.where(kind == "direction", tuning, 0.0)
        for row, name in enumerate(["expansion", "contraction", "rotation"], start=len(DIRECTIONS)):
            w[row, channel, np.arange(n)] = kind == name
        return {"motion_kind": kind, "preferred_deg": np.where(kind == "direction", np.rad2deg(preferred), np.nan),
                "preferred_speed": speeds[channel]}, w.reshape(-1, n)
    w = np.concatenate([rng.normal(0, 1, (n_categories, n)), 0.4 * rng.normal(0, 1, (n_colours, n))])
    return {"preferred_category": w[:n_categories].argmax(0)}, w


def frame_features(frames: np.ndarray, velocity: np.ndarray, expansion: np.ndarray, rotation: np.ndarray,
                   category: np.ndarray, colour: np.ndarray, n_categories: int, n_colours: int, *,
                   twin: TwinConfig) -> dict:
    """Per-frame features of the three families.

    frames (T, H, W, 3) uint8; velocity (T, 2) frame widths / s; expansion (T,) d log(scale)/dt in 1/s;
    rotation (T,) deg / s; category, colour (T,) int indices. Returns arrays with T rows; the motion features
    are (T, 11 · S) for S = ``len(twin.preferred_speeds)`` (see :func:`motion_features`).
    """
    rgb = _downsample(frames).astype(np.float32) / 255.0  # (T, 4·GRID, 4·GRID, 3): enough for 8×8 pRF maps
    lum = rgb.mean(-1)
    contrast = np.abs(lum - lum.mean((1, 2), keepdims=True))
    rg = rgb[..., 0] - rgb[..., 1]
    by = rgb[..., 2] - 0.5 * (rgb[..., 0] + rgb[..., 1])
    maps = np.stack([_pool(c) for c in (contrast, rg, by)], axis=1)  # (T, 3, GRID, GRID)
    onehot = np.concatenate([np.eye(n_categories)[category], np.eye(n_colours)[colour]], 1)
    return {"early": maps.reshape(len(frames), -1), "motion": motion_features(velocity, expansion, rotation, twin),
            "object": onehot}


def speed_tuning(speed: np.ndarray, preferred: np.ndarray, sigma: float) -> np.ndarray:
    """Log-Gaussian speed tuning (Nover et al. 2005): (T,) speeds ≥ 0 → (T, S) responses in [0, 1] of units
    preferring ``preferred`` (S,), ``exp(−ln²(speed / preferred) / 2σ²)``; 0 for a speed of 0."""
    speed = np.asarray(speed, np.float64)[:, None]
    ratio = np.log(np.where(speed > 0, speed, 1.0) / np.asarray(preferred)[None])
    return np.where(speed > 0, np.exp(-ratio ** 2 / (2 * sigma ** 2)), 0.0)


def motion_features(velocity: np.ndarray, expansion: np.ndarray, rotation: np.ndarray,
                    twin: TwinConfig) -> np.ndarray:
    """(T, 11, S) → (T, 11 · S): 8 direction channels, expansion, contraction, rotation, each × S speed channels.

    Direction channel d is the half-wave rectified cosine between the velocity and direction d (before any
    averaging) times the speed tuning of |velocity|; the flow channels read the local image speed that the
    expansion rate or the rotation makes at ``twin.flow_radius`` frame widths from the object's centre.
    """
    speed = np.linalg.norm(velocity, axis=1)
    unit = np.stack([np.cos(DIRECTIONS), np.sin(DIRECTIONS)], 1)  # (8, 2)
    cosine = np.maximum(velocity @ unit.T, 0.0) / np.where(speed > 0, speed, 1.0)[:, None]  # (T, 8)
    tune = partial(speed_tuning, preferred=np.asarray(twin.preferred_speeds), sigma=twin.speed_tuning_sigma)
    radius = twin.flow_radius
    flow = [tune(np.maximum(expansion, 0) * radius), tune(np.maximum(-expansion, 0) * radius),
            tune(np.deg2rad(np.abs(rotation)) * radius)]
    channels = np.concatenate([cosine[:, :, None] * tune(speed)[:, None], np.stack(flow, 1)], 1)  # (T, 11, S)
    return channels.reshape(len(velocity), -1)


def _downsample(frames: np.ndarray) -> np.ndarray:
    import cv2

    side = 4 * GRID
    if frames.shape[1] == side:
        return frames
    return np.stack([cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA) for f in frames])


def _pool(channel: np.ndarray) -> np.ndarray:
    t, h, w = channel.shape
    return channel.reshape(t, GRID, h // GRID, GRID, w // GRID).mean((2, 4))


def tr_average(features: np.ndarray, frames_per_tr: int) -> np.ndarray:
    """Average consecutive frames into TRs: (T, F) → (T // frames_per_tr, F)."""
    n = len(features) // frames_per_tr
    return features[: n * frames_per_tr].reshape(n, frames_per_tr, -1).mean(1)


def lag_shift(tr: float, lag_seconds: float) -> float:
    """Seconds by which volumes are sampled after their nominal time so responses peak at ``lag_seconds``.

    The Glover HRF convolved with a one-TR stimulus peaks ≈ 6 s after the stimulus onset; sampling volume j
    at ``j·TR + shift`` with ``shift = peak − lag_seconds`` makes clip i's response largest in volume
    ``i + lag_seconds / TR`` — the lag the preprocessing assumes (4 s = 2 TRs in the paper).
    """
    hrf = _hrf(tr)
    boxcar = np.ones(int(round(tr / _FINE_DT)))
    return float(np.argmax(np.convolve(boxcar, hrf)) * _FINE_DT - lag_seconds)


def _hrf(tr: float) -> np.ndarray:
    from nilearn.glm.first_level import glover_hrf

    oversampling = int(round(tr / _FINE_DT))
    return glover_hrf(tr, oversampling=oversampling, time_length=32.0)


def bold_signal(tr_features: np.ndarray, tr: float, n_pre: int, n_volumes: int, lag_seconds: float) -> np.ndarray:
    """HRF-convolved features sampled at each volume of a run: (n_TR, F) → (n_volumes, F).

    Volume ``n_pre`` is the first volume of the stimulus; features are zero before and after the stimulus.
    """
    per_tr = int(round(tr / _FINE_DT))
    fine = np.repeat(tr_features, per_tr, axis=0)
    conv = fftconvolve(fine, _hrf(tr)[:, None], axes=0)[: len(fine) + 10 * per_tr]
    conv = np.concatenate([conv, np.zeros((max(0, (n_volumes + 10) * per_tr - len(conv)), conv.shape[1]))])
    times = (np.arange(n_volumes) - n_pre) * tr + lag_shift(tr, lag_seconds)
    index = np.round(times / _FINE_DT).astype(int)
    out = np.zeros((n_volumes, tr_features.shape[1]))
    valid = index >= 0
    out[valid] = conv[index[valid]]
    return out


def simulate_run(rng: np.random.Generator, signal: np.ndarray, twin: TwinConfig, baseline: np.ndarray,
                 amplitude: np.ndarray) -> np.ndarray:
    """One run's BOLD (n_volumes, V) float32 from the z-scored, gain-weighted driven ``signal``.

    Adds repeat-specific white noise (SD ``noise_sd``), a slow drift (cubic polynomial plus a 120-s cosine,
    SD ``drift_sd``) and a per-run offset (SD ``run_offset_sd``), around each vertex's ``baseline`` and
    scaled by its ``amplitude`` (arbitrary scanner units).
    """
    n, v = signal.shape
    tau = np.linspace(-1, 1, n)[:, None]
    poly = np.stack([tau[:, 0], tau[:, 0] ** 2, tau[:, 0] ** 3], 1) @ rng.normal(0, twin.drift_sd, (3, v))
    wave = np.cos(2 * np.pi * np.arange(n)[:, None] * twin.tr / 120.0 + rng.uniform(0, 2 * np.pi, v))
    drift = poly + 0.5 * twin.drift_sd * wave
    noise = rng.normal(0, twin.noise_sd, (n, v))
    offset = rng.normal(0, twin.run_offset_sd, v)
    return (baseline + offset + amplitude * (signal + noise + drift)).astype(np.float32)
