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

from semvideo.metrics.judges import attribute_accuracy
from semvideo.metrics.temporal import clip_flows

__all__ = ["DIRECTIONS", "following_table", "judge_following", "mean_flow", "motion_direction_following",
           "read_direction", "share_of_reference"]

#: a generator follows its caption on an attribute when a judge reads the caption's value on its samples
#: above chance at one-sided binomial p below this
FOLLOW_ALPHA = 0.01

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
            "p": p, "follows": bool(p < FOLLOW_ALPHA)}


def judge_following(judge, clips: np.ndarray, labels: np.ndarray, source: str) -> pd.DataFrame:
    """Per-attribute caption following of samples, read by a twin judge (:class:`~semvideo.metrics.judges.TwinJudgeRunner`).

    ``clips`` uint8 (N, T, H, W, 3) (or frames (N, H, W, 3)) generated from the true captions of clips whose
    scene-graph labels are ``labels`` int64 (N, n_heads), in the judge's head order. An image judge reads every
    frame and a clip's class probabilities are its frames' mean, so each clip counts once. Returns one row per
    judge head: source, attribute, accuracy, chance (the most common label's rate among the N clips), n, one-sided
    binomial p against chance, ``follows`` (p < :data:`FOLLOW_ALPHA`).
    """
    clips, labels = np.asarray(clips), np.asarray(labels)
    clips = clips[:, None] if clips.ndim == 4 else clips
    if judge.kind == "image":
        probs = judge(clips.reshape(-1, *clips.shape[2:])).reshape(len(clips), clips.shape[1], -1).mean(axis=1)
    else:
        probs = judge(clips)
    sizes, names = judge.model.head_sizes, judge.model.config.head_names
    accuracy = attribute_accuracy(probs, labels, sizes)
    rows = []
    for j, (name, acc) in enumerate(zip(names, accuracy)):
        chance = float(np.bincount(labels[:, j]).max() / len(labels))
        p = float(binomtest(round(acc * len(labels)), len(labels), chance, alternative="greater").pvalue)
        rows.append({"source": source, "attribute": name, "accuracy": float(acc), "chance": chance,
                     "n": len(labels), "p": p, "follows": bool(p < FOLLOW_ALPHA)})
    return pd.DataFrame(rows)


def share_of_reference(table: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Each row's accuracy as a share (``share_of_real``) of the ``reference`` source's accuracy on the same
    judge and attribute (e.g. the judge on the real clips: the most a sample can score).

    ``table`` has source, attribute and accuracy columns (and optionally judge: rows of :func:`judge_following`);
    rows without a reference row get NaN.
    """
    keys = [c for c in ("judge", "attribute") if c in table.columns]
    real = table[table["source"] == reference].set_index(keys)["accuracy"]
    return table.assign(share_of_real=table["accuracy"].to_numpy() / real.reindex(
        pd.MultiIndex.from_frame(table[keys]) if len(keys) > 1 else table[keys[0]]).to_numpy())


def following_table(sources: dict[str, np.ndarray], judges: dict[str, object], labels: dict[str, np.ndarray],
                    motions, targets: dict[str, float]) -> pd.DataFrame:
    """Caption following of every source of frames or clips made for the same K test clips, in one tidy table.

    ``sources``: name → uint8 clips (K, T, H, W, 3) or frames (K, H, W, 3); the first is the real clips, the
    reference of ``share_of_real``. ``judges``: "image" / "video" → a twin judge, with ``labels`` the same keys →
    int64 (K, n_heads) in that judge's head order; the video judge reads only clip sources. ``motions`` (K,) the
    caption's motion, read on clip sources as the direction of their mean flow (judge "flow").
    ``targets``: source → the share of the real accuracy it must keep (e.g. 0.9 for VAE reconstructions).

    Columns: source, judge, attribute, accuracy, chance, n, p, follows (p < :data:`FOLLOW_ALPHA`), share_of_real,
    target, meets (share_of_real ≥ target; NA without a target; for motion direction, which a flow reads against
    chance rather than against a reference judge: follows).
    """
    rows = []
    for source, clips in sources.items():
        clips = np.asarray(clips)
        for kind, judge in judges.items():
            if kind == "image" or clips.ndim == 5:
                rows.append(judge_following(judge, clips, labels[kind], source).assign(judge=kind))
        if clips.ndim == 5 and np.isin(np.asarray(motions, dtype=str), list(DIRECTIONS)).any():
            rows.append(pd.DataFrame([motion_direction_following(clips, motions, source)]).assign(judge="flow"))
    table = share_of_reference(pd.concat(rows, ignore_index=True), next(iter(sources)))
    table["target"] = table["source"].map(targets)
    meets = pd.Series(pd.NA, index=table.index, dtype="boolean")  # NA: a row without a target (the reference)
    judged = table["target"].notna()
    meets[judged] = table["share_of_real"][judged] >= table["target"][judged]
    flow = table["judge"] == "flow"
    meets[flow] = table["follows"][flow]
    table["meets"] = meets
    order = ["source", "judge", "attribute", "accuracy", "chance", "n", "p", "follows", "share_of_real", "target",
             "meets"]
    return table[order]