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
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
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
from tqdm.auto import tqdm

from semvideo.config import Config
from semvideo.data.prepared import PreparedData
from semvideo.device import device_record, place, resolve_device, training_kwargs
from semvideo.distributed import is_main_process, wait_for_everyone
from semvideo.distributed import start as start_processes
from semvideo.io import atomic_dir, atomic_path, save_npy, write_json
from semvideo.paths import RunPaths
from semvideo.train import fit, one_cycle_schedule

__all__ = [
    "VARIANTS",
    "MotionAdaptationDecoder",
    "SemanticCrossAttention",
    "SpatialAttention",
    "TemporalAttention",
    "bidirectional_frame_contrastive",
    "build_mad",
    "mad_loss",
    "predict_mad",
    "run_mad",
    "target_latents",
    "temporal_basis_projection",
    "train_mad",
]

#: The trained variants: the full MAD and the "w/o C_motion" ablation (no semantic cross-attention); the
#: value is the file-name suffix of its artefacts under ``mad/``.
VARIANTS = {"full": "", "nosem": "_nosem"}


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
        # the mean training latent (C, H, W), set by `run_mad` before training: the decoder predicts each frame's
        # departure from it, so an untrained model starts at the mean frame rather than at an arbitrary image
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


# ------------------------------------------------------------------------------------------ the stage
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


def target_latents(vae, frames: np.ndarray, cache: Path, batch_size: int = 64) -> np.ndarray:
    """E(V): scaled VAE latents of the true frames, cached as ``.npy``.

    frames: uint8 (N, n, H, W, 3) → float32 (N, n, C, h, w), the encoder's posterior mean × ``scaling_factor``
    (no sampling). The cache (with a ``.json`` fingerprint of the VAE's weights and the frames' shape) is
    reused only for the same VAE and frames, so a retrained VAE never meets stale targets.
    """
    from semvideo.models.priors import encode_frames

    key = {"vae": _vae_fingerprint(vae), "frames": list(frames.shape)}
    stamp = cache.with_suffix(".json")
    if cache.exists() and stamp.exists() and json.loads(stamp.read_text()) == key:
        return np.load(cache)
    chunks = [encode_frames(vae, frames[i:i + batch_size]).numpy()
              for i in tqdm(range(0, len(frames), batch_size), desc=f"E(V) {cache.stem}", leave=False)]
    latents = np.concatenate(chunks).astype(np.float32)
    save_npy(cache, latents)
    write_json(stamp, key)
    return latents


def run_mad(cfg: Config) -> None:
    """Stage ``train-mad``: per subject, train MAD and its "w/o C_motion" variant, predict ê, decode blurry video.

    Reads ``data/`` (BOLD, frames), ``embeddings/motion_train.npy`` (or SAD's training predictions, see
    ``mad.semantic_source``), ``sad/pred/{subject}_motion_refined.npy`` (Ẑ(C_motion) of the test set) and the
    VAE (``priors.vae`` or ``priors/vae``). Writes under ``mad/``::

        latents_{train,test}.npy           E(V) of the true frames (cache)
        {subject}{suffix}/                 save_pretrained folder (suffix "" full, "_nosem" w/o C_motion)
        ckpt/{subject}{suffix}-{key}/      per-epoch checkpoints (resume; key = fingerprint of the inputs)
        pred/{subject}{suffix}_losses.csv  one row per optimiser step: epoch, step, lr, loss, l1, contrastive
        pred/{subject}{suffix}_latents.npy float32 (N_test, n, C, h, w): ê (what the render starts from)
        pred/{subject}{suffix}_blurry.npy  uint8 (N_test, n, H, W, 3): VAE-decoded ê
        pred/done.json                     λ values, final losses, sizes, timings per subject and variant
                                           (and the flow readout's α and threshold per subject)

    ê is always MAD's own prediction (eq. 12), the paper's blurry video. With ``mad.flow_readout``
    (:mod:`semvideo.models.flow`) the stage also writes the *flow readout baseline*, an addition of ours that
    Table 1 shows as its own row: the full MAD's clip-mean latent moved along the flow decoded from the
    subject's BOLD::

        pred/{subject}_flow_readout_latents.npy  float32 (N_test, n, C, h, w): the moved clip-mean latents
        pred/{subject}_flow_readout_blurry.npy   uint8 (N_test, n, H, W, 3): their VAE decoding
        pred/{subject}_flow_readout.csv          held-out EPE of every (alpha, threshold) tried
    """
    from semvideo.models.flow import stimulus_flows
    from semvideo.models.priors import load_vae

    start_processes(resolve_device(cfg))  # a missing GPU stops here in one line; join launched processes
    paths, data = RunPaths.from_config(cfg), PreparedData.from_config(cfg)
    for subject in cfg.subjects:  # fail before any training when an upstream stage has not run
        for path in (_train_semantic_path(cfg, paths, subject), _test_semantic_path(paths, subject)):
            _require(path)
    vae, main = place(load_vae(cfg), cfg), is_main_process()
    if main:  # one process encodes and caches E(V); under `accelerate launch` the others read the cache
        for split in ("train", "test"):
            target_latents(vae, data.frames(split), paths.mad / f"latents_{split}.npy")
    wait_for_everyone()
    latents = {split: target_latents(vae, data.frames(split), paths.mad / f"latents_{split}.npy")
               for split in ("train", "test")}
    flows_train = stimulus_flows(data.frames("train")) if cfg.mad.flow_readout and main else None
    summary = {"latent_shape": list(latents["train"].shape[2:]), "subjects": {}}
    for subject in cfg.subjects:
        bold = {split: np.array(data.bold(subject, split), dtype=np.float32) for split in ("train", "test")}
        semantic = {"train": torch.from_numpy(_load_embedding(_train_semantic_path(cfg, paths, subject))),
                    "test": _load_embedding(_test_semantic_path(paths, subject))}
        _check_rows(subject, bold, semantic["train"], semantic["test"], latents)
        flows = _fit_flow_readout(cfg, paths, subject, bold, flows_train, summary) if flows_train is not None else None
        summary["subjects"][subject] = {}
        for variant in VARIANTS:
            done = _train_variant(cfg, paths, data, vae, subject, variant, bold, semantic, latents,
                                  flows if variant == "full" else None)
            if done is not None:
                summary["subjects"][subject][variant] = done
    wait_for_everyone()
    if main:
        summary["device"] = {**device_record(resolve_device(cfg)),
                             "mixed_precision": training_kwargs(cfg)["mixed_precision"]}
        write_json(paths.mad / "pred" / "done.json", summary)


def _fit_flow_readout(cfg: Config, paths: RunPaths, subject: str, bold: dict, flows_train: np.ndarray,
                      summary: dict) -> np.ndarray:
    """The flow readout baseline's ridge from BOLD to stimulus flow (:mod:`semvideo.models.flow`): writes its
    held-out scores, records its α and threshold in ``summary``; returns the test clips' predicted flows."""
    from semvideo.models.flow import fit_flow_readout

    readout = fit_flow_readout(bold["train"], flows_train, cfg.mad.flow_block, seed=cfg.seed)
    with atomic_path(paths.mad / "pred" / f"{subject}_flow_readout.csv") as tmp:
        readout.scores.to_csv(tmp, index=False)
    summary.setdefault("flow_readout", {})[subject] = {"alpha": readout.alpha, "threshold": readout.threshold}
    return readout.predict(bold["test"])


def _train_variant(cfg: Config, paths: RunPaths, data: PreparedData, vae, subject: str, variant: str, bold: dict,
                   semantic: dict, latents: dict, test_flows: np.ndarray | None) -> dict | None:
    """Train one MAD variant of a subject, save it, predict ê and decode the blurry video (and, given
    ``test_flows``, the flow readout baseline); returns its summary (None on processes other than the main)."""
    from semvideo.models.flow import move_latents
    from semvideo.models.priors import decode_latents

    start, name = time.perf_counter(), f"{subject}{VARIANTS[variant]}"
    train_latents = torch.from_numpy(latents["train"])
    model = build_mad(cfg, bold["train"].shape[1], latents["train"].shape[2:], semantic["train"].shape[-1],
                      use_semantic=variant == "full")
    model.latent_mean.copy_(train_latents.mean(dim=(0, 1)))
    ckpt = _checkpoint_dir(paths.mad / "ckpt", name, cfg, vae, _train_semantic_path(cfg, paths, subject),
                           data.root / subject / "bold_train.npy")
    log = train_mad(model, cfg, bold["train"], semantic["train"], train_latents, ckpt, desc=f"MAD {name}")
    if not is_main_process():  # the main process saves, predicts and writes; the others go on to the next training
        return None
    with atomic_dir(paths.mad / name) as tmp:
        model.save_pretrained(tmp)
    with atomic_path(paths.mad / "pred" / f"{name}_losses.csv") as tmp:
        log.to_csv(tmp, index=False)
    e_hat = predict_mad(model, bold["test"], semantic["test"] if variant == "full" else None)
    save_npy(paths.mad / "pred" / f"{name}_latents.npy", e_hat)
    save_npy(paths.mad / "pred" / f"{name}_blurry.npy", decode_latents(vae, torch.from_numpy(e_hat)))
    if test_flows is not None:  # the flow readout baseline: a row of its own
        moved = move_latents(e_hat.mean(axis=1), test_flows)
        save_npy(paths.mad / "pred" / f"{subject}_flow_readout_latents.npy", moved)
        save_npy(paths.mad / "pred" / f"{subject}_flow_readout_blurry.npy", decode_latents(vae, torch.from_numpy(moved)))
    return _summary(model, log, time.perf_counter() - start)


def _checkpoint_dir(root: Path, name: str, cfg: Config, vae, *inputs: Path) -> Path:
    """``root/{name}-{key}``: a killed run resumes only with the same config, VAE and input files.

    The key hashes ``cfg.mad`` (except the flow readout's keys, which do not touch training), the seed, the VAE's
    weights and each input file's size and modification time; checkpoints of other keys for ``name`` are stale
    and are removed.
    """
    stats = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in inputs]
    training = cfg.mad.model_dump(exclude={"flow_readout", "flow_block"})  # the readout never touches training
    key = _sha1(json.dumps([training, cfg.seed, _vae_fingerprint(vae), stats]).encode())[:10]
    for old in root.glob(f"{name}-*"):
        if old.name != f"{name}-{key}" and is_main_process():
            shutil.rmtree(old)
    return root / f"{name}-{key}"


def _vae_fingerprint(vae) -> str:
    """SHA-1 of the VAE's architecture config (without bookkeeping keys such as ``_name_or_path``) and weights."""
    config = {k: v for k, v in dict(vae.config).items() if not k.startswith("_")}
    digest = hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode())
    for tensor in vae.state_dict().values():
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())  # float: bf16 has no numpy type
    return digest.hexdigest()


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _train_semantic_path(cfg: Config, paths: RunPaths, subject: str) -> Path:
    """Z(C_motion) for training: the true caption embedding, or SAD's prediction for the training clips."""
    if cfg.mad.semantic_source == "true":
        return paths.embeddings / "motion_train.npy"
    return paths.sad / "pred" / f"{subject}_motion_refined_train.npy"


def _test_semantic_path(paths: RunPaths, subject: str) -> Path:
    """Ẑ(C_motion) of the test clips: always the SAD's prediction from the subject's fMRI."""
    return paths.sad / "pred" / f"{subject}_motion_refined.npy"


def _require(path: Path) -> None:
    """One-line error naming the missing file and the stage that writes it."""
    if path.exists():
        return
    if path.parent.name == "embeddings":
        raise FileNotFoundError(f"{path}: missing; run `python -m semvideo embed --config ...` first")
    hint = " (or set mad.semantic_source: true to train on the true captions)" if "_train" in path.name else ""
    raise FileNotFoundError(f"{path}: missing; run `python -m semvideo train-sad --config ...` first{hint}")


def _load_embedding(path: Path) -> np.ndarray:
    """(N, T, D) float32 token embeddings."""
    _require(path)
    array = np.load(path)
    if array.ndim != 3:
        raise ValueError(f"{path}: expected (N, tokens, D) embeddings, got shape {array.shape}; rerun its stage")
    return array.astype(np.float32, copy=False)


def _check_rows(subject: str, bold: dict, semantic_train, semantic_test, latents: dict) -> None:
    """Every input of a split must list the same clips (rows of clips.csv)."""
    for split, semantic in (("train", semantic_train), ("test", semantic_test)):
        counts = {"bold": len(bold[split]), "Z(C_motion)": len(semantic), "frames": len(latents[split])}
        if len(set(counts.values())) != 1:
            raise ValueError(f"{subject} {split}: row counts differ {counts}; rerun prepare, embed and train-sad "
                             "on the same config")


def _summary(model: MotionAdaptationDecoder, log: pd.DataFrame, seconds: float) -> dict:
    last = log[log["epoch"] == log["epoch"].max()] if len(log) else log
    return {"lambda_spat": model.lambda_spat.item(), "lambda_temp": model.lambda_temp.item(),
            "n_parameters": sum(p.numel() for p in model.parameters()), "seconds": round(seconds, 1),
            **{f"final_{k}": float(last[k].mean()) for k in ("loss", "l1", "contrastive") if k in last}}
