"""Figures of notebook 02: Fig. 7-style caption examples and caption-length histograms."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from semvideo.viz import frame_strip

__all__ = ["CAPTION_NAMES", "caption_examples_figure", "caption_length_figure"]

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
