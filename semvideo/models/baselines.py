"""Baseline decoders that are not SemVideo's models, scored beside it in Table 1 (by the ``evaluate`` stage,
:mod:`semvideo.stages.evaluate`): the ridge latent decoder of the Nishimoto / Wen family. The flow readout baseline
of ours is :mod:`semvideo.models.flow`.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import RidgeCV

from semvideo.models.priors import decode_latents

__all__ = ["ridge_reconstruction"]


def ridge_reconstruction(bold_train: np.ndarray, latents_train: np.ndarray, bold_test: np.ndarray, vae) -> np.ndarray:
    """Linear baseline: voxels (N, V) → every frame's VAE latents (N, T, C, h, w), decoded to uint8 frames."""
    model = RidgeCV(alphas=np.logspace(0, 5, 11)).fit(bold_train, latents_train.reshape(len(latents_train), -1))
    predicted = model.predict(bold_test).astype(np.float32).reshape(len(bold_test), *latents_train.shape[1:])
    return decode_latents(vae, predicted)
