"""Semantic Alignment Decoder (SAD, paper §3.2 and appendix C.1): fMRI → per-token caption embeddings Ẑ(C_L).

One SAD per semantic level L ∈ {anchor, motion, holi}::

    X  (B, V_s)  ──subject-specific Linear + LayerNorm──▶  X' (B, D_l)            f_SAD^θm
       ──MixCo (training only, eq. 14)──▶  4-layer GELU MLP {D_l, D_l, D_l, 77·D}  f_SAD^MLP  → (B, 77, D)
       ──Refineformer: causal transformer diffusion prior, DDIM-sampled──▶ Ẑ(C_L) (B, 77, D)  f_SAD^Refine

Training minimises eq. 7, L = L_MSE + λ_SoftCLIP·L_SoftCLIP + λ_refine·L_refine, first over all subjects
together (one input layer per subject, shared MLP and Refineformer), then per subject from those weights.
Eq. 4 writes Ẑ(C_L) where the target Z(C_L) is meant; the losses here compare with the true target.

Two weightings are in the paper: §4 (λ_SoftCLIP = 0.1, λ_refine = 0.5) and appendix C.1 (λ_prior = 0.1,
λ_SoftCLIP = 0.5). ``section4`` is the default: it is the main text's implementation paragraph, the one that
the reported results cite; ``appendix_c`` is selectable in the config.

This module holds the model, its losses and the train / predict functions on arrays and tensors. The stage that
reads a run folder, trains every level's SADs and writes ``sad/`` (``train-sad``), and the readers of its results,
are :mod:`semvideo.stages.sad`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, DDIMScheduler, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from semvideo.config import Config
from semvideo.device import training_kwargs
from semvideo.train import cosine_schedule, fit

__all__ = [
    "LOSS_WEIGHTS",
    "Refineformer",
    "SemanticAlignmentDecoder",
    "mixco",
    "mse_loss",
    "predict",
    "refine_loss",
    "sad_step",
    "soft_clip_loss",
    "train_sad",
]

#: (λ_SoftCLIP, λ_refine) of eq. 7 as given in paper §4 and in appendix C.1.
LOSS_WEIGHTS = {"section4": (0.1, 0.5), "appendix_c": (0.5, 0.1)}


# ---------------------------------------------------------------------------------------------- losses


def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 4: mean squared error between the MLP output f_SAD^MLP(X') and the target Z(C_L).

    Parameters
    ----------
    pred, target
        float (B, 77, D) embeddings.

    Returns
    -------
    torch.Tensor
        Scalar, mean over all B·77·D entries.
    """
    return F.mse_loss(pred, target)


def soft_clip_loss(pred: torch.Tensor, target: torch.Tensor, tau: float,
                   candidates: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. 5, SoftCLIP: cross-entropy of prediction–candidate similarities against soft labels.

    The soft label of sample i over the batch's candidates j is softmax_j(Z_i·Z_j / τ) (target–target
    similarity) and the prediction's distribution is softmax_j(Ẑ_i·Z_j / τ); the loss is their cross-entropy,
    averaged over i. Embeddings are flattened and L2-normalised, so the dot products are cosines. With
    orthogonal targets and a small τ the labels are one-hot and this is the CLIP (InfoNCE) loss.

    Parameters
    ----------
    pred
        float (B, ...) predictions f_SAD^MLP(X').
    target
        float (B, ...) each sample's target Z(C_L^i) (under MixCo: its mixed target).
    tau
        Temperature τ > 0.
    candidates
        float (B, ...) the batch's targets Z(C_L^j); defaults to ``target``.

    Returns
    -------
    torch.Tensor
        Scalar loss (nats).
    """
    candidates = target if candidates is None else candidates
    pred, target, candidates = (F.normalize(t.flatten(1), dim=1) for t in (pred, target, candidates))
    labels = torch.softmax(target @ candidates.T / tau, dim=1)
    return -(labels * torch.log_softmax(pred @ candidates.T / tau, dim=1)).sum(dim=1).mean()


def refine_loss(model: SemanticAlignmentDecoder, cond: torch.Tensor, target: torch.Tensor,
                generator: torch.Generator) -> torch.Tensor:
    """Eq. 6: the Refineformer, given the target noised to a random timestep t ~ U[0, T) and the MLP output,
    predicts the clean target; mean squared error of that prediction.

    Parameters
    ----------
    model
        The SAD (its Refineformer and noise schedule are used).
    cond
        float (B, 77, D) MLP output f_SAD^MLP(X') (gradients flow into the MLP, as in eq. 7).
    target
        float (B, 77, D) clean target Z(C_L).
    generator
        CPU generator for t and the noise.

    Returns
    -------
    torch.Tensor
        Scalar, mean over B·77·D entries, in the target's units.
    """
    scale = model.config.target_scale
    t = torch.randint(0, model.scheduler.config.num_train_timesteps, (len(target),), generator=generator)
    noise = torch.randn(target.shape, generator=generator).to(target.device)
    noised = model.scheduler.add_noise(target / scale, noise, t)
    return F.mse_loss(model.refiner(noised, t.to(target.device), cond / scale) * scale, target)


def mixco(x: torch.Tensor, generator: torch.Generator, alpha: float = 0.15
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 14, MixCo: x_mix_i = λ_i·x'_i + (1 − λ_i)·x'_perm(i), λ_i ~ Beta(α, α), perm a random permutation.

    Parameters
    ----------
    x
        float (B, D_l) subject-projected latents X'.
    generator
        CPU generator for the permutation and the mixing weights.
    alpha
        Beta concentration (the paper's 0.15: most λ near 0 or 1).

    Returns
    -------
    mixed : (B, D_l)
    perm : int64 (B,) partner of each sample
    lam : float (B, 1) mixing weight of each sample's own latent; mix targets the same way.
    """
    perm = torch.randperm(len(x), generator=generator)
    # Beta(α, α) from two Gammas, so that the draw goes through ``generator``
    g1 = torch._standard_gamma(torch.full((len(x),), alpha), generator=generator)
    g2 = torch._standard_gamma(torch.full((len(x),), alpha), generator=generator)
    lam = (g1 / (g1 + g2).clamp_min(1e-12)).unsqueeze(1).to(x)
    return lam * x + (1 - lam) * x[perm.to(x.device)], perm, lam


# ---------------------------------------------------------------------------------------------- model


class Refineformer(nn.Module):
    """f_SAD^Refine: a causal transformer that denoises a noised target given the MLP output.

    The sequence is [77 condition tokens (MLP output), 1 timestep token, 77 noised-target tokens] with learned
    positions and a causal mask (DALL·E-2-style prior); the last 77 outputs are a correction added to the
    condition, which gives the predicted clean target. The correction's output layer starts at zero, so an
    untrained Refineformer returns the MLP output and training only has to learn what to refine.
    """

    def __init__(self, n_tokens: int, embed_dim: int, layers: int, heads: int, head_dim: int, timesteps: int):
        super().__init__()
        width = heads * head_dim
        self.n_tokens = n_tokens
        self.cond_in = nn.Linear(embed_dim, width)
        self.noised_in = nn.Linear(embed_dim, width)
        self.time_embed = nn.Embedding(timesteps, width)
        self.positions = nn.Parameter(torch.zeros(1, 2 * n_tokens + 1, width))
        layer = nn.TransformerEncoderLayer(width, heads, dim_feedforward=4 * width, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, embed_dim))
        nn.init.zeros_(self.out[1].weight)
        nn.init.zeros_(self.out[1].bias)
        mask = torch.triu(torch.full((2 * n_tokens + 1,) * 2, float("-inf")), diagonal=1)
        self.register_buffer("causal_mask", mask, persistent=False)

    def forward(self, noised: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """noised, cond: (B, 77, D) in units of the target scale; t: int (B,) → predicted clean (B, 77, D)."""
        tokens = torch.cat([self.cond_in(cond), self.time_embed(t)[:, None], self.noised_in(noised)], dim=1)
        # (B, 2·77 + 1, W)
        hidden = self.transformer(tokens + self.positions, mask=self.causal_mask, is_causal=True)
        return cond + self.out(hidden[:, -self.n_tokens:])  # (B, 77, D)


class SemanticAlignmentDecoder(ModelMixin, ConfigMixin):
    """SAD for one semantic level (paper §3.2, appendix C.1.1).

    Parameters
    ----------
    subjects, n_voxels
        Subject names and their voxel counts V_s (one input layer f_SAD^θm each).
    hidden_dim
        D_l (4096 in the paper).
    n_tokens, embed_dim
        Target shape 77 × D (D = 768 for CLIP ViT-L/14, 384 for the twin's MiniLM).
    dropout
        After each hidden MLP layer.
    prior_layers, prior_heads, prior_head_dim, prior_timesteps
        Refineformer size (paper: 4 layers, 8 heads × 64) and its diffusion steps T.
    target_scale
        Standard deviation of the training targets; the diffusion prior works on targets divided by it.
    """

    @register_to_config
    def __init__(self, subjects: list[str], n_voxels: list[int], hidden_dim: int = 256, n_tokens: int = 77,
                 embed_dim: int = 384, dropout: float = 0.15, prior_layers: int = 2, prior_heads: int = 4,
                 prior_head_dim: int = 32, prior_timesteps: int = 100, target_scale: float = 1.0):
        super().__init__()
        if len(subjects) != len(n_voxels):
            raise ValueError(f"SAD: {len(subjects)} subjects but {len(n_voxels)} voxel counts")
        self.projector = nn.ModuleDict({s: nn.Linear(v, hidden_dim) for s, v in zip(subjects, n_voxels)})
        self.norm = nn.LayerNorm(hidden_dim)
        blocks = [nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.LayerNorm(hidden_dim), nn.GELU(),
                                nn.Dropout(dropout)) for _ in range(3)]
        self.mlp = nn.Sequential(*blocks, nn.Linear(hidden_dim, n_tokens * embed_dim))
        self.refiner = Refineformer(n_tokens, embed_dim, prior_layers, prior_heads, prior_head_dim,
                                    prior_timesteps)
        self.scheduler = DDIMScheduler(num_train_timesteps=prior_timesteps, beta_schedule="squaredcos_cap_v2",
                                       prediction_type="sample", clip_sample=False)

    def project(self, bold: torch.Tensor, subject: torch.Tensor) -> torch.Tensor:
        """X' = LayerNorm(f_SAD^θm(X)) for a batch that may mix subjects.

        Parameters
        ----------
        bold
            float (B, V_max) z-scored BOLD, each row zero-padded beyond its subject's V_s.
        subject
            int (B,) index into ``config.subjects``.

        Returns
        -------
        torch.Tensor
            float (B, D_l).
        """
        out = bold.new_zeros(len(bold), self.config.hidden_dim)
        for index, (name, n_vox) in enumerate(zip(self.config.subjects, self.config.n_voxels)):
            rows = subject == index
            if rows.any():
                out[rows] = self.projector[name](bold[rows, :n_vox]).to(out.dtype)  # bf16/fp16 under autocast
        return self.norm(out)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """f_SAD^MLP: (B, D_l) → (B, 77, D)."""
        return self.mlp(latent).view(len(latent), self.config.n_tokens, self.config.embed_dim)

    def forward(self, bold: torch.Tensor, subject: torch.Tensor) -> torch.Tensor:
        """MLP prediction f_SAD^MLP(f_SAD^θm(X)): (B, V_max), int (B,) → (B, 77, D)."""
        return self.decode(self.project(bold, subject))

    @torch.no_grad()
    def refine(self, cond: torch.Tensor, num_inference_steps: int,
               generator: torch.Generator) -> torch.Tensor:
        """Ẑ(C_L): run the Refineformer's DDIM sampler (η = 0) from noise, conditioned on the MLP output.

        Parameters
        ----------
        cond
            float (B, 77, D) MLP output.
        num_inference_steps
            DDIM steps (≤ T).
        generator
            CPU generator for the starting noise.

        Returns
        -------
        torch.Tensor
            float (B, 77, D), in the target's units.
        """
        scale = self.config.target_scale
        scheduler = DDIMScheduler.from_config(self.scheduler.config)
        scheduler.set_timesteps(num_inference_steps)
        # 1. start from pure noise in the prior's (scaled) space
        sample = torch.randn(cond.shape, generator=generator).to(cond)
        for t in scheduler.timesteps:
            # 2. predict the clean target at this noise level
            clean = self.refiner(sample, t.expand(len(cond)).to(cond.device), cond / scale)
            # 3. DDIM step towards the next, less noisy timestep
            sample = scheduler.step(clean, t, sample, eta=0.0).prev_sample
        return sample * scale


# ---------------------------------------------------------------------------------------------- training


def sad_step(model: SemanticAlignmentDecoder, batch: tuple, generator: torch.Generator, *,
             targets: torch.Tensor, weights: tuple[float, float], tau: float, alpha: float) -> dict:
    """One SAD training step (eq. 7) for :func:`semvideo.train.fit`.

    ``batch`` = (bold (B, V_max) float, subject (B,) int, clip (B,) int row into ``targets`` (N, 77, D)), on
    the training device; ``targets`` may stay on the CPU (the batch's rows are moved to the device).
    MixCo mixes the projected latents X'; MSE, SoftCLIP and refine see the same convex mix of the targets.
    """
    bold, subject, clip = batch
    latent, perm, lam = mixco(model.project(bold, subject), generator, alpha)
    target = targets[clip.to(targets.device)].to(latent.device)
    perm = perm.to(latent.device)
    mixed = lam[:, :, None] * target + (1 - lam[:, :, None]) * target[perm]
    pred = model.decode(latent)
    losses = {"mse": mse_loss(pred, mixed), "softclip": soft_clip_loss(pred, mixed, tau, candidates=target),
              "refine": refine_loss(model, pred, mixed, generator)}
    losses["loss"] = losses["mse"] + weights[0] * losses["softclip"] + weights[1] * losses["refine"]
    return losses


def train_sad(model: SemanticAlignmentDecoder, cfg: Config, bold: list[np.ndarray], subjects: list[str],
              targets: np.ndarray, ckpt_dir: Path, epochs: int, desc: str) -> pd.DataFrame:
    """Train ``model`` on the listed subjects' clips together (eq. 7, AdamW, cosine LR).

    Parameters
    ----------
    bold
        One float32 (N, V_s) array per subject in ``subjects``; rows aligned with ``targets``.
    targets
        float32 (N, 77, D) true embeddings Z(C_L) of the training clips.

    Returns
    -------
    pandas.DataFrame
        The loss log of :func:`semvideo.train.fit`.
    """
    v_max = max(model.config.n_voxels)
    padded = np.concatenate([np.pad(b, ((0, 0), (0, v_max - b.shape[1]))) for b in bold]).astype(np.float32)
    subject = np.concatenate([np.full(len(b), model.config.subjects.index(s))
                              for b, s in zip(bold, subjects)])
    clip = np.concatenate([np.arange(len(b)) for b in bold])
    sad = cfg.sad

    def step(m, batch, generator):
        return sad_step(m, batch, generator, targets=torch.from_numpy(targets), tau=sad.temperature,
                        weights=LOSS_WEIGHTS[sad.loss_weights], alpha=sad.mixco_alpha)

    return fit(model, step, (padded, subject, clip), ckpt_dir=ckpt_dir, epochs=epochs,
               batch_size=sad.batch_size, lr=sad.lr, schedule=cosine_schedule, seed=cfg.seed, desc=desc,
               **training_kwargs(cfg))


def predict(model: SemanticAlignmentDecoder, bold: np.ndarray, subject: str, steps: int, seed: int,
            batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """MLP-only and refined predictions for one subject's clips, computed in float32 on the model's device.

    Parameters
    ----------
    bold
        float32 (N, V_s).

    Returns
    -------
    mlp, refined
        float32 (N, 77, D) each.
    """
    model.eval()
    device = model.device
    v_max = max(model.config.n_voxels)
    x = torch.from_numpy(np.pad(np.asarray(bold, np.float32), ((0, 0), (0, v_max - bold.shape[1]))))
    index = torch.full((len(x),), model.config.subjects.index(subject))
    generator = torch.Generator().manual_seed(seed)  # CPU: the same starting noise on any device
    mlp, refined = [], []
    with torch.no_grad():
        for first in range(0, len(x), batch_size):
            cond = model(x[first:first + batch_size].to(device), index[first:first + batch_size].to(device))
            mlp.append(cond.float().cpu().numpy())
            refined.append(model.refine(cond, steps, generator).float().cpu().numpy())
    return np.concatenate(mlp), np.concatenate(refined)
