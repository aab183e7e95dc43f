"""Reading the twin's ground truth (``raw/truth/``): scene graphs, encoding maps, driving features."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from semvideo.data.synthetic.brain import FAMILIES
from semvideo.io import InputError

__all__ = ["driving_signal", "scene_graphs", "scene_labels", "selection_scores", "truth_vertices"]


def scene_graphs(raw: Path) -> dict[str, dict]:
    """clip_id → scene graph, for every clip of the twin."""
    path = Path(raw) / "truth" / "scene_graphs.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no scene graphs; generate the twin first (`python -m semvideo generate-twin`)")
    return {g["clip_id"]: g for g in map(json.loads, path.read_text().splitlines())}


def scene_labels(graphs: dict[str, dict], clip_ids: Sequence[str], attributes: Sequence[str]) -> pd.DataFrame:
    """Ground-truth ``attributes`` of ``clip_ids`` from their scene graphs (clip_id → graph, :func:`scene_graphs`):
    one row per clip in the given order, columns ``clip_id`` and the attributes."""
    clip_ids = [str(c) for c in clip_ids]
    missing = [c for c in clip_ids if c not in graphs]
    if missing:
        raise InputError(f"no scene graph for {len(missing)} clips (e.g. {missing[0]}): the prepared data and "
                         "raw/truth/scene_graphs.jsonl come from different twins; rerun generate-twin and prepare")
    return pd.DataFrame([{"clip_id": c, **{a: graphs[c][a] for a in attributes}} for c in clip_ids])


def truth_vertices(raw: Path, subject: str) -> pd.DataFrame:
    """The simulator's vertex table: grayordinate, label, family, responsive, gain and tuning parameters."""
    return pd.read_csv(Path(raw) / "truth" / f"{subject}_vertices.csv")


def driving_signal(raw: Path, subject: str, segment: str) -> pd.DataFrame:
    """Per-TR stimulus drive (before the HRF) of every visual vertex: (n_TR, V_visual), columns = grayordinates."""
    vertices = truth_vertices(raw, subject)
    weights = np.load(Path(raw) / "truth" / f"{subject}_weights.npz")
    features = np.load(Path(raw) / "truth" / f"features_{segment}.npz")
    parts = []
    for family in FAMILIES:
        columns = vertices.loc[vertices["family"] == family, "grayordinate"]
        parts.append(pd.DataFrame(features[family] @ weights[family], columns=columns.to_numpy()))
    return pd.concat(parts, axis=1)


def selection_scores(selected: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Precision and recall of a voxel selection (``grayordinate``, ``selected``) against the truth."""
    merged = selected.merge(truth[["grayordinate", "responsive"]], on="grayordinate")
    hits = (merged["selected"] & merged["responsive"]).sum()
    return {"precision": hits / max(merged["selected"].sum(), 1), "recall": hits / max(merged["responsive"].sum(), 1)}
