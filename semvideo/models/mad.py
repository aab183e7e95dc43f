"""The Motion Adaptation Decoder (MAD): fMRI → per-frame VAE latents ê (paper §3.2, eqs. 8–13, appendix C.1).

Data flow for one clip (shapes for the default twin; the paper's in brackets)::

    X (V,)  ──subject projection f_MAD^proj (linear + MLP)──▶  g (n, c·h·w)     n = 6, c×h×w = 32×4×4 [64×7×7]
            ──motion embedder (3×3 conv)──────────────────▶  S (n, C0, h, w)
            ──tripartite attention fusion (eqs. 8–12)─────▶  λ_spat·E_spat + λ_temp·E_temp + E_cross
            ──fusion decoder: UNetMidBlock2D + 3 AttnUpDecoderBlock2D, GroupNorm, SiLU, 3×3 conv──▶
                                                             ê (n, 4, H, W)      H = W = 16 [28]

Eqs. 8–11 act on the embedding sequence S (its reshape is (n·h·w) × c, eq. 8), so the fusion runs on the
embedding grid: ``E_spat`` is self-attention among the h·w positions of each frame (eqs. 8–9), ``E_temp``
self-attention across the n frames at each position of ``E_spat`` (eq. 10, with sinusoidal frame positions
so that frame order matters), ``E_cross`` cross-attention from ``E_spat`` to the motion-caption tokens
Ẑ(C_motion) (eq. 11). λ_spat and λ_temp are learnable scalars (appendix C.1). The lightweight UNet-like
decoder of appendix C.1 then upsamples the fused sequence, frame by frame, to the VAE latent size (its blocks
also attend within each frame). ``use_semantic=False`` drops the cross term: the paper's "w/o C_motion"
ablation.

Training targets are E(V): the VAE encoder's latent *mean* (no sampling, so targets are deterministic) times
the VAE's ``scaling_factor`` (0.18215 for SD 1.5), i.e. the latents a diffusion prior sees. The loss is L1 plus
the bidirectional frame-level contrastive term of eq. 13.

Beside MAD's own ê (what the render and Table 1 use), the stage can write a baseline of ours, the *flow
readout* (``mad.flow_readout``, :mod:`semvideo.models.flow`): MAD's clip-mean latent moved along the stimulus
flow decoded from the BOLD, scored as its own row.

This module holds the model, its loss and the build / train / predict functions on arrays and tensors. The stage
that reads a run folder, caches the targets E(V), trains both variants per subject and writes ``mad/``
(``train-mad``) is :mod:`semvideo.stages.mad`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.attention_processor import Attention
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.unets.unet_2d_blocks import AttnUpDecoderBlock2D, UNetMidBlock2D
from torch import nn

from semvideo.config import Config
from semvideo.device import training_kwargs
from semvideo.train import fit, one_cycle_schedule

__all__ = [
    "MotionAdaptationDecoder",
    "SemanticCrossAttention",
    "SpatialAttention",
    "TemporalAttention",
    "bidirectional_frame_contrastive",
    "build_mad",
    "mad_loss",
    "predict_mad",
    "temporal_basis_projection",
    "train_mad",
]



class SpatialAttention(nn.Module):
    """Self-attention among the h·w positions of each frame, with a residual path (eqs. 8–9).

    Frames never see each other, so permuting the input frames permutes the output frames identically.
    """

    def __init__(self, channels: int, head_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.attn = Attention(channels, heads=max(1, channels // head_dim), dim_head=head_dim, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, n, C, H, W) float32 → e_spat, same shape."""
        b, n, c, h, w = x.shape
        tokens = x.reshape(b * n, c, h * w).transpose(1, 2)  # (B·n, H·W, C)  eq. 8
        tokens = tokens + self.attn(self.norm(tokens))  # eq. 9
        return tokens.transpose(1, 2).reshape(b, n, c, h, w)


class TemporalAttention(nn.Module):
    """Self-attention across the n frames at every spatial position (eq. 10).

    Sinusoidal frame-position embeddings are added to the queries' and keys' input, so the module knows frame
    order: permuting the input frames does *not* simply permute its output. No residual path: the identity
    path of eq. 12 is the λ_spat·e_spat term.
    """

    def __init__(self, channels: int, head_dim: int, max_frames: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.attn = Attention(channels, heads=max(1, channels // head_dim), dim_head=head_dim, bias=True)
        self.register_buffer("positions", _sinusoidal(max_frames, channels), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, n, C, H, W) float32 → e_temp, same shape; each output frame mixes all input frames."""
        b, n, c, h, w = x.shape
        tokens = x.permute(0, 3, 4, 1, 2).reshape(b * h * w, n, c)  # (B·H·W, n, C)  eq. 10
        tokens = self.attn(self.norm(tokens + self.positions[:n]))
        return tokens.reshape(b, h, w, n, c).permute(0, 3, 4, 1, 2)


class SemanticCrossAttention(nn.Module):
    """Cross-attention from every position of every frame to the caption tokens Ẑ(C_motion) (eq. 11)."""

    def __init__(self, channels: int, text_dim: int, head_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.attn = Attention(channels, cross_attention_dim=text_dim, heads=max(1, channels // head_dim),
                              dim_head=head_dim, bias=True)

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """x: (B, n, C, H, W); text: (B, T, D) token embeddings → e_cross (B, n, C, H, W)."""
        b, n, c, h, w = x.shape
        # Queries attend independently, so all n·H·W positions of a clip share one sequence and the caption's
        # keys/values are projected once per clip.
        tokens = x.permute(0, 1, 3, 4, 2).reshape(b, n * h * w, c)  # (B, n·H·W, C)
        tokens = self.attn(self.norm(tokens), encoder_hidden_states=text)
        return tokens.reshape(b, n, h, w, c).permute(0, 1, 4, 2, 3)


class MotionAdaptationDecoder(ModelMixin, ConfigMixin):
    """fMRI responses of one subject → n VAE latents per clip (paper §3.2, appendix C.1).

    Parameters
    ----------
    n_voxels : int
        V, the subject's selected voxels (the projection is subject-specific).
    n_frames : int
        n frames per clip (6).
    proj_hidden, mlp_dim : int
        Width of the linear layer and of the MLP's hidden layer (paper: 256 and 6×4096).
    proj_channels, proj_size : int
        c and h = w of the projected grid (paper: 64 and 7).
    block_channels : tuple of int
        Output channels of the three AttnUpDecoderBlock2D; the fusion and the UNetMidBlock2D run at
        ``block_channels[0]``.
    latent_channels, latent_size : int
        The VAE latent of one frame (paper 4×28×28; twin 4×16×16). ``latent_size / proj_size`` must be 2^k with
        k ≤ the number of blocks; the *last* k blocks upsample ×2 (attention then runs at the coarser grids).
    text_dim : int
        D of Ẑ(C_motion) (768 CLIP, 384 MiniLM).
    head_dim, norm_groups : int
        Attention head width and GroupNorm groups (must divide every channel count).
    dropout : float
        Dropout in the projection MLP.
    use_semantic : bool
        False gives the "w/o C_motion" variant (no cross-attention term).
    temporal_rank : int or None
        Keep ê's frames to a polynomial of degree < rank in time (:func:`temporal_basis_projection`); None = n,
        the paper's unconstrained frames.
    """

    @register_to_config
    def __init__(self, n_voxels: int, n_frames: int = 6, proj_hidden: int = 256, mlp_dim: int = 512,
                 proj_channels: int = 32, proj_size: int = 4, block_channels: tuple[int, ...] = (32, 16, 8),
                 latent_channels: int = 4, latent_size: int = 16, text_dim: int = 384, head_dim: int = 8,
                 norm_groups: int = 8, dropout: float = 0.1, use_semantic: bool = True,
                 temporal_rank: int | None = None):
        super().__init__()
        n_up = _n_upsamples(latent_size, proj_size, len(block_channels))
        width = block_channels[0]
        # f_MAD^proj: a linear layer, then an MLP to n × (c·h·w) (appendix C.1).
        self.projection = nn.Sequential(
            nn.Linear(n_voxels, proj_hidden),
            nn.LayerNorm(proj_hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(proj_hidden, mlp_dim),
            nn.LayerNorm(mlp_dim), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(mlp_dim, n_frames * proj_channels * proj_size * proj_size),
        )
        self.motion_embedder = nn.Conv2d(proj_channels, width, 3, padding=1)
        self.spatial = SpatialAttention(width, head_dim)
        self.temporal = TemporalAttention(width, head_dim, n_frames)
        self.cross = SemanticCrossAttention(width, text_dim, head_dim) if use_semantic else None
        self.lambda_spat = nn.Parameter(torch.tensor(1.0))  # eq. 12: learnable, not hand-set (appendix C.1)
        self.lambda_temp = nn.Parameter(torch.tensor(1.0))
        self.mid_block = UNetMidBlock2D(width, temb_channels=None, resnet_groups=norm_groups,
                                        attention_head_dim=head_dim)
        ins = (width, *block_channels[:-1])
        first_up = len(block_channels) - n_up
        self.up_blocks = nn.ModuleList(
            AttnUpDecoderBlock2D(c_in, c_out, resnet_groups=norm_groups, attention_head_dim=head_dim,
                                 add_upsample=i >= first_up, temb_channels=None)
            for i, (c_in, c_out) in enumerate(zip(ins, block_channels))
        )
        self.norm_out = nn.GroupNorm(norm_groups, block_channels[-1])
        self.conv_out = nn.Conv2d(block_channels[-1], latent_channels, 3, padding=1)
        # the mean training latent (C, H, W), set by `semvideo.stages.mad.run_mad` before training: the decoder
        # predicts each frame's departure from it, so an untrained model starts at the mean frame rather than at
        # an arbitrary image
        self.register_buffer("latent_mean", torch.zeros(latent_channels, latent_size, latent_size))
        rank = temporal_rank or n_frames
        projection = temporal_basis_projection(n_frames, rank)  # validates the rank even when it is n
        self.register_buffer("temporal_projection", projection if rank < n_frames else None, persistent=False)

    def embed(self, bold: torch.Tensor) -> torch.Tensor:
        """bold: (B, V) z-scored responses → motion embeddings S (B, n, C0, h, w)."""
        cfg = self.config
        b = bold.shape[0]
        g = self.projection(bold)  # (B, n·c·h·w)
        s = self.motion_embedder(g.reshape(b * cfg.n_frames, cfg.proj_channels, cfg.proj_size, cfg.proj_size))
        return s.reshape(b, cfg.n_frames, *s.shape[1:])

    def fusion_terms(self, s: torch.Tensor, semantic: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The three attention terms of eq. 12 on the embedding grid.

        s: (B, n, C0, h, w); semantic: (B, T, text_dim) or None. Returns ``{"spat", "temp", "cross"}`` →
        (B, n, C0, h, w); ``"cross"`` is zeros for the "w/o C_motion" variant.
        """
        e_spat = self.spatial(s)  # eqs. 8–9
        e_temp = self.temporal(e_spat)  # eq. 10
        if self.cross is None:
            e_cross = torch.zeros_like(e_spat)
        elif semantic is None:
            raise ValueError("this MAD was built with use_semantic=True: pass Ẑ(C_motion) as `semantic`")
        else:
            e_cross = self.cross(e_spat, semantic)  # eq. 11
        return {"spat": e_spat, "temp": e_temp, "cross": e_cross}

    def decode(self, fused: torch.Tensor) -> torch.Tensor:
        """The fusion decoder, frame by frame: (B, n, C0, h, w) → (B, n, latent_channels, H, W)."""
        b, n = fused.shape[:2]
        x = self.mid_block(fused.flatten(0, 1))  # (B·n, C0, h, w)
        for block in self.up_blocks:
            x = block(x)  # attention within each frame, then ×2 upsampling in the last blocks
        x = self.conv_out(F.silu(self.norm_out(x))) + self.latent_mean  # (B·n, 4, H, W)
        x = x.reshape(b, n, *x.shape[1:])
        if self.temporal_projection is None:  # the paper's unconstrained frames
            return x
        return torch.einsum("ij,bj...->bi...", self.temporal_projection, x)

    def forward(self, bold: torch.Tensor, semantic: torch.Tensor | None = None) -> torch.Tensor:
        """Predict ê (eqs. 8–12).

        Parameters
        ----------
        bold : (B, V) float32, z-scored responses of the subject's selected voxels.
        semantic : (B, T, text_dim) float32, Ẑ(C_motion) token embeddings; ignored without a semantic branch.

        Returns
        -------
        (B, n, latent_channels, latent_size, latent_size) float32, scaled VAE latents.
        """
        terms = self.fusion_terms(self.embed(bold), semantic)
        fused = self.lambda_spat * terms["spat"] + self.lambda_temp * terms["temp"] + terms["cross"]  # eq. 12
        return self.decode(fused)


def bidirectional_frame_contrastive(pred: torch.Tensor, target: torch.Tensor, temperature: float,
                                    centred: bool = False) -> torch.Tensor:
    """Bidirectional frame-level contrastive loss, the second and third terms of eq. 13.

    Within each clip, predicted frame ê_i must be closer (cosine) to its own true frame e_i than to the clip's
    other frames, and vice versa::

        L = −1/(2n) Σ_i log softmax_k(sim(ê_i, e_k)/τ)_i  −  1/(2n) Σ_j log softmax_k(sim(e_j, ê_k)/τ)_j

    averaged over clips. It is minimal when the predicted frames are in the true order.

    Parameters
    ----------
    pred, target : (B, n, ...) float tensors; each frame is flattened to one vector.
    temperature : τ > 0.
    centred : compare frames after removing each clip's mean frame (of pred and of target separately), so that
        sim() sees what tells the frames of a clip apart rather than the scene they share.

    Returns
    -------
    Scalar tensor (nats).
    """
    pred, target = pred.flatten(2), target.flatten(2)  # (B, n, d)
    if centred:
        pred, target = pred - pred.mean(dim=1, keepdim=True), target - target.mean(dim=1, keepdim=True)
    p, t = F.normalize(pred, dim=-1), F.normalize(target, dim=-1)
    logits = p @ t.transpose(1, 2) / temperature  # (B, n, n): [b, i, k] = sim(ê_i, e_k)/τ
    labels = torch.arange(pred.shape[1], device=pred.device).expand(pred.shape[0], -1)
    forward = F.cross_entropy(logits.flatten(0, 1), labels.flatten())  # ê → e
    backward = F.cross_entropy(logits.transpose(1, 2).flatten(0, 1), labels.flatten())  # e → ê
    return 0.5 * (forward + backward)


def mad_loss(pred: torch.Tensor, target: torch.Tensor, contrastive_weight: float, temperature: float,
             centred: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The MAD objective, eq. 13: mean absolute error + weight × bidirectional frame contrastive term.

    pred, target: (B, n, C, H, W) scaled latents. Returns the scalar loss and its (detached) parts for logging.
    """
    l1 = (pred - target).abs().mean()
    contrastive = bidirectional_frame_contrastive(pred, target, temperature, centred)
    total = l1 + contrastive_weight * contrastive
    return total, {"l1": l1.detach(), "contrastive": contrastive.detach()}


def _n_upsamples(latent_size: int, proj_size: int, n_blocks: int) -> int:
    ratio = latent_size / proj_size
    n_up = round(math.log2(ratio)) if ratio >= 1 else -1
    if n_up < 0 or 2**n_up != ratio or n_up > n_blocks:
        raise ValueError(f"mad.proj_size ({proj_size}) must be latent_size ({latent_size}) / 2^k with k ≤ "
                         f"{n_blocks}; set mad.proj_size in the config to e.g. {max(1, latent_size // 4)}")
    return n_up


def temporal_basis_projection(n: int, rank: int) -> torch.Tensor:
    """(n, n) float32 orthogonal projection onto polynomials of degree < ``rank`` in frame time.

    Applied along the frame axis it replaces each latent pixel's trajectory over the clip's n frames by its
    least-squares polynomial fit of degree rank − 1 (rank 1: the clip's mean frame; rank 2: mean + linear
    drift), so frame-to-frame changes are smooth in time. Rank n is the identity (the paper's MAD).
    """
    if not 1 <= rank <= n:
        raise ValueError(f"mad.temporal_rank must be between 1 and frames_per_clip ({n}); got {rank}")
    times = torch.linspace(-1.0, 1.0, n, dtype=torch.float64)
    basis, _ = torch.linalg.qr(torch.vander(times, rank, increasing=True))  # (n, rank) orthonormal columns
    return (basis @ basis.T).float()


def _sinusoidal(n: int, dim: int) -> torch.Tensor:
    """(n, dim) float32 sinusoidal position codes (Vaswani et al.), frame index as position."""
    position = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    codes = torch.zeros(n, dim)
    codes[:, 0::2] = torch.sin(position * freq)
    codes[:, 1::2] = torch.cos(position * freq)[:, : dim // 2]
    return codes


# ------------------------------------------------------------------------------------------- training
def build_mad(cfg: Config, n_voxels: int, latent_shape: tuple[int, int, int], text_dim: int,
              use_semantic: bool = True) -> MotionAdaptationDecoder:
    """A MAD sized by ``cfg.mad`` for one subject; ``latent_shape`` = (C, h, w) of one VAE latent frame.

    The initial weights depend on ``cfg.seed`` only (the global torch RNG is left untouched).
    """
    m = cfg.mad
    channels, size, _ = latent_shape
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        return MotionAdaptationDecoder(
            n_voxels=n_voxels, n_frames=cfg.fmri.frames_per_clip, proj_hidden=m.hidden_dim, mlp_dim=m.mlp_dim,
            proj_channels=m.proj_channels, proj_size=m.proj_size, block_channels=tuple(m.block_channels),
            latent_channels=channels, latent_size=size, text_dim=text_dim, head_dim=m.head_dim,
            norm_groups=m.norm_groups, dropout=m.dropout, use_semantic=use_semantic, temporal_rank=m.temporal_rank)


def train_mad(model: MotionAdaptationDecoder, cfg: Config, bold: np.ndarray, semantic: torch.Tensor,
              latents: torch.Tensor, ckpt_dir: Path, desc: str = "MAD") -> pd.DataFrame:
    """Fit ``model`` on (bold, Z(C_motion), E(V)) with AdamW + OneCycle (appendix C.1) via :func:`semvideo.train.fit`.

    Parameters
    ----------
    bold : (N, V) float32 z-scored training responses.
    semantic : (N, T, D) float32 Z(C_motion) of the same clips (unused by the "w/o C_motion" variant).
    latents : (N, n, C, h, w) float32 scaled VAE latents of the true frames.
    ckpt_dir : per-epoch checkpoints and ``losses.csv``; a killed run resumes there.

    Returns
    -------
    DataFrame, one row per optimiser step: epoch, step, lr, loss, l1, contrastive.
    """
    m = cfg.mad

    def step(model, batch, generator):
        x, z, e = batch
        total, parts = mad_loss(model(x, z), e, m.contrastive_weight, m.temperature, m.contrastive_centred)
        return {"loss": total, **parts}

    return fit(model, step, (np.asarray(bold, dtype=np.float32), semantic, latents), ckpt_dir=ckpt_dir,
               epochs=m.epochs, batch_size=m.batch_size, lr=m.lr, schedule=one_cycle_schedule, seed=cfg.seed,
               desc=desc, **training_kwargs(cfg))


@torch.no_grad()
def predict_mad(model: MotionAdaptationDecoder, bold: np.ndarray, semantic: np.ndarray | None,
                batch_size: int = 64) -> np.ndarray:
    """ê for every clip: bold (N, V), semantic (N, T, D) or None → float32 (N, n, C, h, w) scaled latents,
    computed on the model's device."""
    model.eval()
    out, device = [], model.device
    for first in range(0, len(bold), batch_size):
        x = torch.from_numpy(np.asarray(bold[first:first + batch_size], dtype=np.float32)).to(device)
        z = None if semantic is None else torch.from_numpy(np.asarray(semantic[first:first + batch_size])).to(device)
        out.append(model(x, z).float().cpu().numpy())
    return np.concatenate(out)
