"""Flow readout: the stimulus' optical flow decoded from fMRI, to move MAD's clip frame (an option of the MAD stage).

Why: trained with L1 (+ eq. 13) on the twin, MAD's frame-to-frame changes carry no flow that agrees with the
truth, so its blurry video moves *wrongly* and loses on EPE to a still (issue 7 notes; on a still EPE equals the
truth's mean flow magnitude). The readout takes the motion from where the BOLD demonstrably holds it:

1. the training videos' own Farneback flow (:func:`semvideo.metrics.temporal.clip_flows`, one field per pair of
   consecutive clip frames) is averaged over ``block`` × ``block`` pixel blocks;
2. a ridge regression (no intercept: z-scored BOLD, and the mean flow field is not a good guess) maps a clip's
   BOLD to those block flows; vectors shorter than a threshold are set to zero, because EPE is a norm and a
   norm rewards predicting *no* motion wherever the decoder is unsure;
3. the ridge α and the threshold are chosen on a held-out tenth of the *training* clips (never the test set);
4. MAD's clip-mean latent is moved along the decoded flow, pair after pair (:func:`move_latents`), so ê, its
   VAE decoding and the render all carry the same motion.

The flow needs nothing but the stimulus video, so the same readout runs on CC2017 and HCP.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from tqdm.auto import tqdm

from semvideo.metrics.temporal import clip_flows, flow_error

__all__ = ["ALPHAS", "THRESHOLDS", "FlowReadout", "block_means", "fit_flow_readout", "move_latents",
           "stimulus_flows"]

#: ridge penalties per fitted clip (z-scored BOLD: X'X has ≈ that many per voxel on its diagonal) and shrinkage
#: thresholds (pixels per frame pair) tried on the held-out training clips
ALPHAS = (0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0)
THRESHOLDS = (0.0, 0.25, 0.5, 1.0, 2.0)


def stimulus_flows(frames: np.ndarray) -> np.ndarray:
    """Farneback flow of every clip: uint8 (N, n, S, S, 3) → float32 (N, n−1, S, S, 2), pixels per frame pair."""
    return np.stack([clip_flows(clip) for clip in tqdm(frames, desc="stimulus flow", leave=False)])


def block_means(flows: np.ndarray, block: int) -> np.ndarray:
    """(N, P, S, S, 2) flows → (N, P, S/block, S/block, 2) means over block × block pixels."""
    n, p, size, width, c = flows.shape
    if size % block or width % block:
        raise ValueError(f"mad.flow_block ({block}) must divide the frame size ({size}×{width})")
    return flows.reshape(n, p, size // block, block, width // block, block, c).mean(axis=(3, 5))


@dataclass
class FlowReadout:
    """A fitted readout: BOLD (N, V) → thresholded block flows, upsampled to pixels.

    ``coef`` is (F, V) with F = P·(S/block)²·2 (scikit-learn's ``Ridge.coef_``); ``grid`` is (P, S/block,
    S/block, 2); ``alpha`` is per clip; ``scores`` lists every (alpha, threshold) with its held-out EPE and the
    zero flow's.
    """

    coef: np.ndarray
    grid: tuple[int, int, int, int]
    block: int
    alpha: float
    threshold: float
    scores: pd.DataFrame

    def predict(self, bold: np.ndarray) -> np.ndarray:
        """float32 (N, P, S, S, 2) pixel flows; vectors shorter than ``threshold`` are zero."""
        blocks = (np.asarray(bold, dtype=np.float64) @ self.coef.T).reshape(len(bold), *self.grid)
        return _shrink(_upsample(blocks, self.block), self.threshold)


def fit_flow_readout(bold: np.ndarray, flows: np.ndarray, block: int = 4, held_out: float = 0.1,
                     seed: int = 0) -> FlowReadout:
    """Fit the readout on training clips: bold (N, V) z-scored, flows (N, P, S, S, 2) of the same clips.

    α (:data:`ALPHAS` × the number of clips fitted) and the threshold minimise the mean flow end-point error on a
    random ``held_out`` share of these clips (the rest fits the ridge); the returned readout is then refitted on
    every clip with that α per clip.
    """
    bold = np.asarray(bold, dtype=np.float64)
    if len(bold) != len(flows) or len(bold) < 2:
        raise ValueError(f"the flow readout needs the same ≥ 2 training clips in BOLD ({len(bold)}) and flow "
                         f"({len(flows)}); rerun prepare on one config")
    targets = block_means(flows, block)
    order = np.random.default_rng(seed).permutation(len(bold))
    n_held = max(1, int(len(order) * held_out))
    held, fit = order[:n_held], order[n_held:]
    rows = []
    for alpha in ALPHAS:
        ridge = Ridge(alpha=alpha * len(fit), fit_intercept=False).fit(bold[fit], targets[fit].reshape(len(fit), -1))
        guess = _upsample(ridge.predict(bold[held]).reshape(len(held), *targets.shape[1:]), block)
        rows += [{"alpha": alpha, "threshold": t, "held_out_epe": flow_error(flows[held], _shrink(guess, t))}
                 for t in THRESHOLDS]
    scores = pd.DataFrame(rows).assign(zero_flow_epe=flow_error(flows[held], 0.0))
    best = scores.loc[scores["held_out_epe"].idxmin()]
    ridge = Ridge(alpha=best["alpha"] * len(bold), fit_intercept=False).fit(bold, targets.reshape(len(bold), -1))
    return FlowReadout(coef=ridge.coef_.astype(np.float32), grid=targets.shape[1:], block=block,
                       alpha=float(best["alpha"]), threshold=float(best["threshold"]), scores=scores)


def move_latents(still: np.ndarray, flows: np.ndarray) -> np.ndarray:
    """Carry a latent frame along pixel flows: still (N, C, h, w), flows (N, P, S, S, 2) → (N, P+1, C, h, w).

    Frame 0 is ``still``; frame k+1 is frame k resampled (bilinear, reflected borders) along pair k's flow,
    which is brought to the latent grid by averaging S/h × S/h pixel blocks and dividing by S/h.
    """
    n, c, h, w = still.shape
    factor = flows.shape[2] // h
    if flows.shape[2] != factor * h or flows.shape[3] != factor * w:
        raise ValueError(f"flow size {flows.shape[2:4]} is not a multiple of the latent size {(h, w)}")
    latent_flows = block_means(flows, factor) / factor
    grid = np.stack(np.meshgrid(np.arange(w), np.arange(h)), axis=-1).astype(np.float32)
    out = np.empty((n, flows.shape[1] + 1, c, h, w), dtype=np.float32)
    for i in range(n):
        frame = np.ascontiguousarray(still[i].transpose(1, 2, 0), dtype=np.float32)  # (h, w, C)
        out[i, 0] = frame.transpose(2, 0, 1)
        for k, flow in enumerate(latent_flows[i]):
            source = (grid - flow).astype(np.float32)  # backward map: where each pixel of frame k+1 came from
            frame = cv2.remap(frame, source[..., 0], source[..., 1], cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT).reshape(h, w, c)
            out[i, k + 1] = frame.transpose(2, 0, 1)
    return out


def _upsample(blocks: np.ndarray, block: int) -> np.ndarray:
    return blocks.repeat(block, axis=-3).repeat(block, axis=-2).astype(np.float32)


def _shrink(flows: np.ndarray, threshold: float) -> np.ndarray:
    return flows * (np.linalg.norm(flows, axis=-1, keepdims=True) > threshold)
