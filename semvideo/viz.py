"""Saving figures and tables of the paper (one helper for all notebooks), and small plotting helpers.

Figures are saved as PNG and PDF; tables as CSV and Markdown; all atomically under the config's figures dir.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from semvideo.io import atomic_path, write_text

__all__ = ["save_figure", "save_table"]


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
    """Save a table as ``<figures_dir>/<name>.csv`` and ``.md`` (GitHub Markdown); returns both paths."""
    csv = Path(figures_dir) / f"{name}.csv"
    with atomic_path(csv) as tmp:
        table.to_csv(tmp, float_format=float_format)
    md = write_text(Path(figures_dir) / f"{name}.md",
                    table.to_markdown(floatfmt=float_format.lstrip("%")) + "\n")
    return [csv, md]
