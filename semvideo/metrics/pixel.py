"""Pixel-level metrics (paper §4 "Evaluation Metrics", Appendix B): SSIM, PSNR and Hue-pcc.

Every function compares ground-truth frames with reconstructed frames of the same shape:

* ``(T, H, W, 3)`` — one clip of ``T`` frames, or
* ``(..., T, H, W, 3)`` — any batch of clips, e.g. ``(N, T, H, W, 3)`` for a test set,

``uint8`` RGB, pixel range 0–255, channel axis last. Each metric is computed per frame, averaged over the
``T`` frames of a clip, and returned with the leading (batch) shape, float64: ``(N,)`` for a batch, a 0-d array
for one clip. Averaging per clip first matches the reference code (Mind-Animator ``caculation``: frame scores
→ clip mean → mean/std over clips) and gives the per-clip scores that the bootstrap resamples.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.metrics import structural_similarity

__all__ = ["PSNR_IDENTICAL", "hue_pcc", "mean_frame", "psnr", "ssim"]

#: PSNR assigned when two frames are (numerically) identical, as in the reference code.
PSNR_IDENTICAL = 100.0


def ssim(truth: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """Structural similarity per clip (Appendix B "SSIM").

    Convention: ``skimage.metrics.structural_similarity(truth, recon, data_range=255, channel_axis=-1)`` on
    each RGB frame — skimage's defaults (7×7 uniform window, sample covariance, K1 = 0.01, K2 = 0.03), SSIM
    averaged over the three channels — exactly Mind-Animator's and MinD-Video's ``ssim_metric`` and the "SSIM
    (RGB, data range 255, channel last)" that SemVideo's Table 1 inherits. (NEURONS' ``ssim_metric`` converts
    to grey with a Gaussian window and, through ``channel_axis=-1`` on the grey image, computes a 1-D SSIM
    down each column: :func:`semvideo.metrics.conventions.ssim_grey_columns`.) Frames must be at least 7×7.
    Other papers' conventions: :mod:`semvideo.metrics.conventions` (config ``eval.convention``).

    Parameters
    ----------
    truth, recon : uint8 (..., T, H, W, 3), pixel range 0–255

    Returns
    -------
    float64 (...,): mean SSIM over the T frames of each clip, in [-1, 1]; 1 for identical clips.
    """
    t, r = _check_pair(truth, recon)
    scores = [structural_similarity(a, b, data_range=255, channel_axis=-1)
              for a, b in zip(t.reshape(-1, *t.shape[-3:]), r.reshape(-1, *r.shape[-3:]))]
    return _clip_mean(np.asarray(scores, dtype=np.float64), t.shape)


def psnr(truth: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """Peak signal-to-noise ratio per clip, in dB (Appendix B "PSNR").

    Convention (Mind-Animator ``psnr``): per frame, MSE over all pixels and the three channels in float64,
    ``PSNR = 20·log10(255 / sqrt(MSE))``, and ``PSNR = 100`` when ``MSE < 1e-10`` (identical frames) instead of
    infinity, so that clip and test-set means stay finite. Frame PSNRs are averaged over the clip (mean of
    dB values, not the dB of the mean MSE).

    Parameters
    ----------
    truth, recon : uint8 (..., T, H, W, 3), pixel range 0–255

    Returns
    -------
    float64 (...,): mean PSNR over the T frames of each clip, dB; 100 for identical clips.
    """
    t, r = _check_pair(truth, recon)
    mse = ((t.astype(np.float64) - r.astype(np.float64)) ** 2).mean(axis=(-3, -2, -1))  # (..., T)
    identical = mse < 1e-10
    frame_psnr = np.where(identical, PSNR_IDENTICAL, 20 * np.log10(255.0 / np.sqrt(np.where(identical, 1.0, mse))))
    return frame_psnr.mean(axis=-1)


def hue_pcc(truth: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """Hue similarity ("Hue-pcc") per clip (Appendix B "Hue Similarity").

    Convention: each frame is converted to HSV with OpenCV (``cv2.COLOR_RGB2HSV`` on uint8: hue in
    0–179, i.e. degrees / 2); the hue channel of every pixel forms a vector of H·W values, and the score is
    the *cosine similarity* (uncentred, despite the name "pcc") of the truth and reconstruction hue
    vectors: ``Σ h_t h_r / (‖h_t‖ ‖h_r‖)``. This is the per-pixel formula of Mind-Animator's
    ``calculate_hue_similarity`` (not a histogram comparison), which SemVideo's Appendix B describes as
    "the cosine similarity between the hue channel vectors". Mind-Animator divides hue by 360 first (the
    scale cancels in a cosine) and passes RGB arrays to ``cv2.COLOR_BGR2HSV``, i.e. it computes the hue of the
    channel-swapped image; we convert RGB correctly. The ``mindanimator`` convention
    (:func:`semvideo.metrics.conventions.hue_cosine_bgr`) reproduces the reference numbers exactly, its NaN
    for all-zero hue included.

    Hue is 0 for grey pixels (and for pure red), so a frame can have an all-zero hue vector; the cosine is
    then undefined and we set it to 1 when both frames have zero hue everywhere (their hue vectors are
    equal) and 0 when only one does (the reference returns NaN there).

    Parameters
    ----------
    truth, recon : uint8 (..., T, H, W, 3), RGB, pixel range 0–255

    Returns
    -------
    float64 (...,): mean hue cosine over the T frames of each clip, in [0, 1] (hues are non-negative);
    1 for identical clips.
    """
    t, r = _check_pair(truth, recon)
    h_t, h_r = _hue(t), _hue(r)  # (F, H·W) float64, F = all frames
    dot = (h_t * h_r).sum(axis=1)
    norms = np.linalg.norm(h_t, axis=1) * np.linalg.norm(h_r, axis=1)
    both_grey = (h_t == 0).all(axis=1) & (h_r == 0).all(axis=1)
    frame_scores = np.where(norms > 0, dot / np.where(norms > 0, norms, 1.0), np.where(both_grey, 1.0, 0.0))
    return _clip_mean(frame_scores, t.shape)


def mean_frame(frames: np.ndarray) -> np.ndarray:
    """The mean-frame baseline: uint8 (..., H, W, 3) frames (e.g. every training frame) → their rounded mean frame.

    Shown for every frame of every clip it is a video with no content and no motion (notebook 04, benchmarks).
    """
    return np.asarray(frames).reshape(-1, *np.shape(frames)[-3:]).mean(axis=0).round().astype(np.uint8)


def _hue(frames: np.ndarray) -> np.ndarray:
    """OpenCV hue (0–179) of every pixel: (..., H, W, 3) uint8 → (F, H·W) float64, F = number of frames."""
    h, w = frames.shape[-3:-1]
    # cvtColor converts any 2-D image, so all frames go through in one call as one tall image.
    hsv = cv2.cvtColor(np.ascontiguousarray(frames.reshape(-1, w, 3)), cv2.COLOR_RGB2HSV)
    return hsv[..., 0].reshape(-1, h * w).astype(np.float64)


def _clip_mean(frame_scores: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Frame scores (F,) → mean over each clip's T frames, shaped like the batch dims of ``shape``."""
    return frame_scores.reshape(shape[:-3]).mean(axis=-1)


def _check_pair(truth: np.ndarray, recon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth, recon = np.asarray(truth), np.asarray(recon)
    if truth.shape != recon.shape:
        raise ValueError(f"truth {truth.shape} and reconstruction {recon.shape} must have the same shape")
    if truth.ndim < 4 or truth.shape[-1] != 3:
        raise ValueError(f"expected frames shaped (..., T, H, W, 3), got {truth.shape}")
    for name, array in (("truth", truth), ("reconstruction", recon)):
        if array.dtype != np.uint8:
            raise ValueError(f"{name} frames must be uint8 RGB 0–255, got {array.dtype}; "
                             "convert with np.clip(x, 0, 255).astype(np.uint8)")
    return truth, recon
