"""The twin's video world: shots of 1–3 two-second clips, each described by a scene graph (ground truth).

A shot keeps one object (category, colour, size), one background and one motion; an abrupt cut separates
shots, as in CC2017's movie segments. Positions are fractions of the frame (x right, y down); speeds are in
frame widths per second, rotation in degrees per second.
"""

from __future__ import annotations

import numpy as np

from semvideo.config import TwinConfig

__all__ = ["SPEEDS", "TRANSLATIONS", "object_state", "sample_segment", "time_reversed"]

#: unit direction (dx, dy) of the translating motions (y grows downwards).
TRANSLATIONS = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}
#: the translation a clip shows when it is played backwards
OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up"}
#: per speed: translation (frame widths / s), scale change (/ s), rotation (deg / s), bounce (Hz)
SPEEDS = {"slow": dict(shift=0.06, grow=0.12, spin=60.0, hop=0.5),
          "fast": dict(shift=0.14, grow=0.28, spin=150.0, hop=1.25)}
BOUNCE_HEIGHT = 0.15  # frame heights


def sample_segment(rng: np.random.Generator, twin: TwinConfig, segment: str, split: str,
                   n_clips: int, clip_seconds: float) -> list[dict]:
    """Scene graphs of the ``n_clips`` consecutive clips of one segment (e.g. ``"seg1"``)."""
    graphs: list[dict] = []
    shot = 0
    while len(graphs) < n_clips:
        length = int(rng.integers(twin.shot_clips[0], twin.shot_clips[1] + 1))
        length = min(length, n_clips - len(graphs))
        graphs += _sample_shot(rng, twin, segment, split, f"{segment}_s{shot:03d}", len(graphs), length,
                               clip_seconds)
        shot += 1
    return graphs


def _sample_shot(rng, twin, segment, split, shot_id, first_clip, length, clip_seconds) -> list[dict]:
    motion = str(rng.choice(twin.motions))
    speed = str(rng.choice(twin.speeds))
    shot = dict(category=str(rng.choice(twin.categories)), colour=str(rng.choice(twin.colours)),
                background=str(rng.choice(twin.backgrounds)), motion=motion, speed=speed,
                base_size=float(rng.uniform(0.35, 0.55)))
    duration = length * clip_seconds
    start = _shot_start(rng, motion, SPEEDS[speed]["shift"] * duration)
    angle0 = float(rng.uniform(-20, 20))  # near-canonical pose; "rotate" spins from here
    clips = []
    for k in range(length):
        t0, t1 = k * clip_seconds, (k + 1) * clip_seconds
        begin, end = object_state(shot | {"origin": start, "angle0": angle0}, t0), \
            object_state(shot | {"origin": start, "angle0": angle0}, t1 - 1e-6)
        clips.append(shot | {
            "clip_id": f"{segment}_{first_clip + k:04d}", "split": split, "segment": segment,
            "clip_index": first_clip + k, "shot_id": shot_id, "clip_in_shot": k,
            "origin": [float(v) for v in start], "angle0": angle0, "shot_time": t0,
            "size": round(shot["base_size"] * begin["scale"], 4),
            "start": [round(float(v), 4) for v in begin["xy"]], "end": [round(float(v), 4) for v in end["xy"]],
            "scale_start": round(begin["scale"], 4), "scale_end": round(end["scale"], 4),
            "angle_start": round(begin["angle"] % 360, 2), "angle_end": round(end["angle"] % 360, 2),
        })
    return clips


def _shot_start(rng, motion: str, travel: float) -> np.ndarray:
    """Start position so that the shot's path is centred in the frame (objects may touch the edges)."""
    centre = rng.uniform(0.38, 0.62, size=2)
    if motion in TRANSLATIONS:
        centre = centre - 0.5 * travel * np.asarray(TRANSLATIONS[motion])
    if motion == "bounce":
        centre[1] = rng.uniform(0.55, 0.65)
    return centre


def object_state(graph: dict, t: float) -> dict:
    """Position (x, y), scale and angle of the object ``t`` seconds into its shot.

    ``graph`` needs the shot fields (motion, speed, origin, angle0); returns ``{"xy", "scale", "angle"}``.
    """
    motion, rates = graph["motion"], SPEEDS[graph["speed"]]
    xy = np.asarray(graph["origin"], dtype=float).copy()
    scale, angle = 1.0, float(graph["angle0"])
    if motion in TRANSLATIONS:
        xy += rates["shift"] * t * np.asarray(TRANSLATIONS[motion])
    elif motion == "approach":
        scale = 1.0 + rates["grow"] * t
    elif motion == "recede":
        scale = 1.0 / (1.0 + rates["grow"] * t)
    elif motion == "rotate":
        angle += rates["spin"] * t
    elif motion == "bounce":
        xy[1] -= BOUNCE_HEIGHT * abs(np.sin(np.pi * rates["hop"] * t))
    return {"xy": xy, "scale": float(scale), "angle": angle}


def time_reversed(graph: dict, clip_seconds: float) -> dict | None:
    """Scene graph of a translating clip played backwards: the world's clip of the opposite direction whose
    path is the same line walked from ``end`` to ``start``; None for every other motion.

    Exact because the world moves at constant speed and a clip's frames are sampled at bin centres, symmetric in
    time (``semvideo.data.video.clip_frame_indices``): frame i of the reversed clip is frame n − 1 − i of the
    original. Rotations (the world spins one way only), bounces, size changes (``approach`` reversed is not the
    world's ``recede``) and still clips return None. The ``clip_id`` gains ``~reversed``.
    """
    if graph["motion"] not in OPPOSITE:
        return None
    velocity = SPEEDS[graph["speed"]]["shift"] * np.asarray(TRANSLATIONS[graph["motion"]])
    # origin' + v' (s + τ) = origin + v (s + T − τ) with v' = −v, the same shot time s
    origin = np.asarray(graph["origin"]) + velocity * (2 * graph["shot_time"] + clip_seconds)
    return graph | {"clip_id": f"{graph['clip_id']}~reversed", "motion": OPPOSITE[graph["motion"]],
                    "origin": [float(v) for v in origin], "start": graph["end"], "end": graph["start"]}
