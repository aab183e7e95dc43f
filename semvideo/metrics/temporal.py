"""Spatiotemporal (ST-level) metrics (paper §4 "Evaluation Metrics", Appendix B): CLIP-pcc and EPE.

Frames are ``uint8`` RGB, pixel range 0–255, shaped ``(T, H, W, 3)`` for one clip or ``(N, T, H, W, 3)`` for a
batch of clips; per-clip scores come back as float64 ``(N,)`` (a 0-d array for one clip).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import cv2
import numpy as np

__all__ = ["FARNEBACK", "adjacent_cosine", "clip_flows", "clip_pcc", "epe", "flow_error", "frame_change",
           "optical_flow"]

#: ``cv2.calcOpticalFlowFarneback`` arguments after ``flow=None``: pyr_scale, levels, winsize, iterations,
#: poly_n, poly_sigma, flags — the setting of the reference EPE code.
FARNEBACK = (0.5, 3, 15, 3, 5, 1.2, 0)


def optical_flow(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """Dense Farneback flow from one RGB frame to the next, on grey frames.

    Parameters
    ----------
    prev, nxt : uint8 (H, W, 3), RGB 0–255

    Returns
    -------
    float32 (H, W, 2): per-pixel displacement (dx, dy) in pixels, x to the right, y down.
    """
    grey = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in (prev, nxt)]
    return cv2.calcOpticalFlowFarneback(grey[0], grey[1], None, *FARNEBACK)


def clip_flows(frames: np.ndarray) -> np.ndarray:
    """Flows between consecutive frames of one clip: uint8 (T, H, W, 3) → float32 (T-1, H, W, 2), pixels."""
    return np.stack([optical_flow(a, b) for a, b in pairwise(frames)])


def flow_error(flow_truth: np.ndarray, flow_recon: np.ndarray) -> float:
    """Mean end-point error between two flow fields (..., H, W, 2): mean over pixels of ‖u_t − u_r‖₂, pixels."""
    return float(np.linalg.norm(flow_truth.astype(np.float64) - flow_recon, axis=-1).mean())


def frame_change(clips: np.ndarray) -> np.ndarray:
    """How much each clip changes from frame to frame: uint8 (N, T, H, W, 3) → float64 (N,), the mean absolute
    difference of consecutive frames in uint8 levels (0 for a still clip). A generated clip that changes far more
    than real clips flickers: its frames are drawn apart rather than moved (notebook 05, benchmarks/t2v_coherence.py)."""
    clips = np.asarray(clips)
    if clips.ndim != 5 or clips.shape[1] < 2:
        raise ValueError(f"frame_change needs clips (N, T >= 2, H, W, 3), got shape {clips.shape}")
    return np.abs(np.diff(clips.astype(np.float64), axis=1)).mean(axis=(1, 2, 3, 4))


def epe(truth: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """End-point error of the reconstruction's motion (Appendix B "Endpoint Error", ref. [3] Baker et al.).

    Convention: for each pair of consecutive frames (k, k+1), Farneback flow with OpenCV
    ``calcOpticalFlowFarneback(prev_grey, next_grey, None, 0.5, 3, 15, 3, 5, 1.2, 0)`` (:data:`FARNEBACK`)
    on ``COLOR_RGB2GRAY`` frames is computed for the truth and for the reconstruction; the EPE of the pair is
    the mean over pixels of the Euclidean distance between the two flow vectors, and the clip's EPE is the
    mean over its T−1 pairs. Lower is better; identical clips give 0; units are pixels at the evaluated
    resolution (so EPE is comparable only between methods evaluated at the same frame size: Mind-Animator
    resizes every frame to 512 × 512 and converts with ``COLOR_BGR2GRAY``, the ``mindanimator`` convention's
    :class:`semvideo.metrics.conventions.FlowEPE`).

    Parameters
    ----------
    truth, recon : uint8 (..., T, H, W, 3), RGB 0–255, T ≥ 2

    Returns
    -------
    float64 (...,): EPE per clip, pixels.
    """
    truth, recon = np.asarray(truth), np.asarray(recon)
    if truth.shape != recon.shape or truth.ndim < 4 or truth.shape[-4] < 2:
        raise ValueError(f"EPE needs truth and reconstruction of equal shape (..., T≥2, H, W, 3), "
                         f"got {truth.shape} and {recon.shape}")
    lead = truth.shape[:-4]
    t, r = truth.reshape(-1, *truth.shape[-4:]), recon.reshape(-1, *recon.shape[-4:])
    scores = [flow_error(clip_flows(a), clip_flows(b)) for a, b in zip(t, r)]
    return np.asarray(scores, dtype=np.float64).reshape(lead)


def adjacent_cosine(embeddings: np.ndarray) -> np.ndarray:
    """Mean cosine similarity of consecutive frame embeddings: (..., T, D) → (...,) float64."""
    e = np.asarray(embeddings, dtype=np.float64)
    e = e / np.maximum(np.linalg.norm(e, axis=-1, keepdims=True), 1e-12)
    return (e[..., :-1, :] * e[..., 1:, :]).sum(axis=-1).mean(axis=-1)


def clip_pcc(recon: np.ndarray, embed: Callable[[np.ndarray], np.ndarray], vifi: np.ndarray | None = None,
             threshold: float = 0.6) -> np.ndarray:
    """CLIP-pcc: temporal consistency of a reconstruction (Appendix B "CLIP-pcc", paper §4).

    Convention (Mind-Animator ``cal_CLIP_pcc``): every reconstructed frame is embedded with an image model
    (real: CLIP ViT-B/32 image embeddings; twin: the image judge's features), and the score of a clip is
    the mean cosine similarity of the T−1 adjacent frame pairs. To stop a static or unrelated video from
    scoring high ("spurious inflation", paper §4), the score is set to 0 for every clip whose VIFI-score
    is below ``threshold`` (0.6). The paper says "< 0.6"; Mind-Animator zeroes at "≤ 0.6" — the two differ
    only for a VIFI of exactly 0.6 (the ``mindanimator`` convention; NEURONS averages all frame pairs and has
    no gate: :mod:`semvideo.metrics.conventions`). The truth frames are not used.

    Parameters
    ----------
    recon : uint8 (N, T, H, W, 3), RGB 0–255
    embed : callable mapping uint8 frames (B, H, W, 3) to embeddings (B, D)
    vifi : float (N,) VIFI-scores of the same clips, or None to skip the zeroing
    threshold : clips with ``vifi < threshold`` score 0

    Returns
    -------
    float64 (N,): CLIP-pcc per clip, in [-1, 1] (0 for the zeroed clips).
    """
    recon = np.asarray(recon)
    if recon.ndim != 5:
        raise ValueError(f"clip_pcc expects a batch of clips (N, T, H, W, 3), got {recon.shape}")
    n, t = recon.shape[:2]
    embeddings = np.asarray(embed(recon.reshape(n * t, *recon.shape[2:]))).reshape(n, t, -1)
    scores = adjacent_cosine(embeddings)
    if vifi is not None:
        scores = np.where(np.asarray(vifi) < threshold, 0.0, scores)
    return scores
