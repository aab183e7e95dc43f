"""Does a generator follow its caption? Caption following of the twin's T2V prior, read from the motion.

The attributes a caption names in the image (category, colour, background) are read by the twin's judges (or a
probe) on samples generated from the *true* captions; the motion a holistic caption names is read here from
the samples' own optical flow, with the same Farneback flow as the EPE (:func:`semvideo.metrics.temporal.clip_flows`):
a clip's mean flow vector points the way its object travels, so for the four translating motions the nearest
of the unit directions (left, right, up, down) is the direction a sample shows. Chance is the rate of the most
common direction among the clips tested, and a one-sided binomial test says whether the samples beat it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from semvideo.metrics.temporal import clip_flows

__all__ = ["DIRECTIONS", "mean_flow", "motion_direction_following", "read_direction"]

#: unit image-plane direction (dx, dy) of each translating motion (x right, y down), as the twin renders it
DIRECTIONS = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}


def mean_flow(clips: np.ndarray) -> np.ndarray:
    """uint8 clips (N, T, H, W, 3) → float64 (N, 2): each clip's Farneback flow averaged over pixels and frame
    pairs, in pixels per frame pair (dx right, dy down)."""
    return np.stack([clip_flows(clip).reshape(-1, 2).mean(axis=0) for clip in np.asarray(clips)]).astype(np.float64)


def read_direction(flow: np.ndarray) -> np.ndarray:
    """Mean flows (N, 2) → the nearest of :data:`DIRECTIONS` by cosine (N,) str."""
    names = list(DIRECTIONS)
    units = np.asarray([DIRECTIONS[n] for n in names])  # (4, 2)
    return np.asarray(names)[(np.asarray(flow) @ units.T).argmax(axis=1)]


def motion_direction_following(clips: np.ndarray, motions, source: str) -> dict:
    """How often clips (N, T, H, W, 3) move the way their caption's motion (N,) says.

    Only clips whose motion is one of :data:`DIRECTIONS` count (approach, recede, rotate, bounce and static name
    no single image-plane direction). Returns one table row: source, attribute ``"motion direction"``,
    accuracy, chance (the most common direction's rate among the counted clips), n, one-sided binomial p, and
    ``follows`` (p < 0.01).
    """
    motions = np.asarray(motions, dtype=str)
    keep = np.isin(motions, list(DIRECTIONS))
    n = int(keep.sum())
    if n == 0:
        raise ValueError("no clip has a translating motion (left/right/up/down); cannot read a direction")
    hits = int((read_direction(mean_flow(np.asarray(clips)[keep])) == motions[keep]).sum())
    chance = float(pd.Series(motions[keep]).value_counts(normalize=True).iloc[0])
    p = float(binomtest(hits, n, chance, alternative="greater").pvalue)
    return {"source": source, "attribute": "motion direction", "accuracy": hits / n, "chance": chance, "n": n,
            "p": p, "follows": bool(p < 0.01)}
