"""Reading the twin's ground truth (``raw/truth/``): scene graphs, encoding maps, driving features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from semvideo.data.synthetic.brain import FAMILIES

__all__ = ["driving_signal", "scene_graphs", "selection_scores", "truth_vertices"]


def scene_graphs(raw: Path) -> dict[str, dict]:
    """clip_id → scene graph, for every clip of the twin."""
    path = Path(raw) / "truth" / "scene_graphs.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no scene graphs; generate the twin first (`python -m semvideo generate-twin`)")
    return {g["clip_id"]: g for g in map(json.loads, path.read_text().splitlines())}


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
