"""The paper's evaluation (§4 "Evaluation Metrics", Appendix B): semantic, pixel and spatiotemporal metrics,
bootstrap significance and the frame-shuffle test.

Frames are uint8 RGB 0–255, ``(T, H, W, 3)`` per clip or ``(N, T, H, W, 3)`` per batch; every metric returns
one float64 score per clip so that the bootstrap can resample clips. Judges (classifiers and embedders used by
the semantic metrics) live in :mod:`semvideo.metrics.judges`, imported on demand because they load torch.
"""

from semvideo.metrics.pixel import hue_pcc, psnr, ssim
from semvideo.metrics.semantic import image_n_way, mean_sem, n_way_chance, n_way_top1, video_n_way, vifi_score
from semvideo.metrics.stats import (
    SIGNIFICANCE_BINS,
    bootstrap_pvalues,
    bootstrap_table,
    paired_ttests,
    shuffle_test,
    significance_bin,
    significance_colours,
)
from semvideo.metrics.temporal import clip_pcc, epe, optical_flow

__all__ = [
    "SIGNIFICANCE_BINS",
    "bootstrap_pvalues",
    "bootstrap_table",
    "clip_pcc",
    "epe",
    "hue_pcc",
    "image_n_way",
    "mean_sem",
    "n_way_chance",
    "n_way_top1",
    "optical_flow",
    "paired_ttests",
    "psnr",
    "shuffle_test",
    "significance_bin",
    "significance_colours",
    "ssim",
    "video_n_way",
    "vifi_score",
]
