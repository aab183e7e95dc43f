"""The render's pretrained components: a VAE, a text-to-image UNet (T2I) and a text-to-video UNet (T2V).

Two worlds, one set of classes (DESIGN §4):

* **real** (``config/cc2017.yaml``): SD 1.5's ``AutoencoderKL`` and ``UNet2DConditionModel``, an AnimateDiff
  ``MotionAdapter`` (turned into a ``UNetMotionModel`` with ``UNetMotionModel.from_unet2d``) and optionally a
  SparseCtrl RGB ``SparseControlNetModel``, all loaded with ``from_pretrained`` from ``cfg.priors``;
* **twin** (the default): the same classes at a tiny size, trained here on the twin's *training* clips only —
  the VAE on training frames, the T2I UNet on first frames conditioned on Z(C_anchor), the T2V UNetMotionModel
  (initialised from the T2I UNet plus a fresh motion adapter, all weights trained) on whole clips conditioned on
  Z(C_holi) — and saved with ``save_pretrained`` under ``priors/{vae,t2i,t2v}``.

Latent convention (shared with MAD): a frame's latent is the VAE encoder's posterior *mean* times
``vae.config.scaling_factor`` — the latents a diffusion UNet sees. The twin VAE's scaling factor is set after
training to 1 / std of its training latents, as SD did for its own VAE.

Unconditional embedding (classifier-free guidance): the twin uses the all-zero sequence (77, D) — MiniLM token
rows after a caption are zeros, so zeros are "a caption with no tokens"; its UNets are trained with 10 % of the
captions dropped to it. SD 1.5 uses CLIP's embedding of the empty caption (:func:`unconditional_embedding`).

The stage that trains, loads and measures them (``train-priors``) is :mod:`semvideo.stages.priors`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    MotionAdapter,
    SparseControlNetModel,
    UNet2DConditionModel,
    UNetMotionModel,
)

from semvideo.config import Config
from semvideo.embed import make_embedder
from semvideo.paths import RunPaths
from semvideo.train import fit

__all__ = [
    "T2V_WARM_START",
    "build_t2i_unet",
    "build_t2v_unet",
    "build_vae",
    "decode_latents",
    "encode_frames",
    "frame_noise",
    "frame_noise_correlation",
    "load_scheduler",
    "load_sparsectrl",
    "load_t2i",
    "load_t2v",
    "load_vae",
    "make_scheduler",
    "pooled_caption",
    "train_t2i",
    "train_t2v",
    "train_vae",
    "unconditional_embedding",
    "unet_condition",
    "warm_start",
]


class _ReadConfigKeys(logging.Filter):
    """diffusers calls every config key its class does not take "ignored" when loading; a twin T2V's
    ``frame_noise_correlation`` is read by the samplers (:func:`frame_noise_correlation`), so that one message goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "frame_noise_correlation" not in record.getMessage()


logging.getLogger("diffusers.configuration_utils").addFilter(_ReadConfigKeys())

# SD 1.5's noise schedule, so twin and real UNets share one sampler configuration.
_SD_SCHEDULE = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear"}


# ----------------------------------------------------------------------------------------------- builders
def build_vae(frame_size: int, latent_channels: int = 4, downsample: int = 4, width: int = 16) -> AutoencoderKL:
    """A tiny ``AutoencoderKL``: (3, S, S) frames in [-1, 1] → (latent_channels, S/downsample, S/downsample).

    ``downsample`` must be a power of two; the encoder has log2(downsample) + 1 blocks of widths
    (width, 2·width, 2·width, …). Width 16 at 64×64 → 4×16×16 is the 0.24 M-parameter VAE of DESIGN §4.
    """
    n_blocks = int(np.log2(downsample)) + 1
    if 2 ** (n_blocks - 1) != downsample:
        raise ValueError(f"priors.vae_downsample must be a power of two, got {downsample}")
    channels = tuple(width * min(2 ** i, 2) for i in range(n_blocks))
    return AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * n_blocks,
                         up_block_types=("UpDecoderBlock2D",) * n_blocks, block_out_channels=channels,
                         layers_per_block=1, latent_channels=latent_channels, norm_num_groups=8,
                         sample_size=frame_size)


def build_t2i_unet(latent_size: int, latent_channels: int, text_dim: int, width: int = 32,
                   heads: int = 8, pooled_condition: bool = True) -> UNet2DConditionModel:
    """A tiny text-conditioned ``UNet2DConditionModel`` with cross-attention at both of its two resolutions.

    ``text_dim`` is D of the prompt embeddings (77, D) it attends to (384 MiniLM, 768 CLIP). With
    ``pooled_condition`` the pooled caption (:func:`pooled_caption`, (D,)) is also projected into the time
    embedding (``time_cond_proj_dim``), so every ResNet block sees what the caption names — a path that a
    tiny UNet learns in far fewer steps than cross-attention alone (SD's own UNet has no such input; the
    pipeline passes it only to UNets built with it, see :func:`unet_condition`).
    """
    return UNet2DConditionModel(
        sample_size=latent_size, in_channels=latent_channels, out_channels=latent_channels,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"), block_out_channels=(width, 2 * width),
        layers_per_block=1, cross_attention_dim=text_dim, attention_head_dim=heads, norm_num_groups=8,
        time_cond_proj_dim=text_dim if pooled_condition else None)


def pooled_caption(embeds: torch.Tensor) -> torch.Tensor:
    """Token embeddings (B, 77, D) → (B, D): the mean of the caption's non-padding rows.

    Padding rows are all-zero (MiniLM targets are zero-padded to 77), so the unconditional embedding (all
    zeros) pools to zeros: caption dropout and classifier-free guidance keep their meaning.
    """
    tokens = (embeds.abs().sum(-1, keepdim=True) > 0).to(embeds.dtype)  # (B, 77, 1)
    return (embeds * tokens).sum(1) / tokens.sum(1).clamp(min=1)


def unet_condition(unet, embeds: torch.Tensor, frames: int = 1) -> dict[str, torch.Tensor]:
    """The UNet keyword arguments that condition it on caption embeddings (B, 77, D).

    Cross-attention to the tokens always (``encoder_hidden_states``, repeated ``frames`` times per caption
    for a ``UNetMotionModel``, which flattens (B, n) frames); the pooled caption (B, D) as ``timestep_cond``
    when the UNet was built with ``time_cond_proj_dim`` (the twin priors; a motion UNet repeats its time
    embedding per frame itself).
    """
    kwargs = {"encoder_hidden_states": embeds.repeat_interleave(frames, dim=0) if frames > 1 else embeds}
    if unet.config.get("time_cond_proj_dim"):
        kwargs["timestep_cond"] = pooled_caption(embeds)
    return kwargs


def build_t2v_unet(t2i: UNet2DConditionModel, motion_heads: int = 2, max_frames: int = 16) -> UNetMotionModel:
    """AnimateDiff's recipe: the T2I UNet's spatial weights plus a fresh ``MotionAdapter`` (temporal attention)."""
    adapter = MotionAdapter(block_out_channels=tuple(t2i.config.block_out_channels),
                            motion_layers_per_block=t2i.config.layers_per_block,
                            motion_num_attention_heads=motion_heads,
                            motion_norm_num_groups=t2i.config.norm_num_groups, motion_max_seq_length=max_frames)
    return UNetMotionModel.from_unet2d(t2i, adapter)


def frame_noise(shape: tuple, generator, correlation: float = 0.0) -> torch.Tensor:
    """Standard normal noise for a video latent (B, C, n, h, w) whose frames share ``correlation`` of their variance.

    ε_i = √ρ·s + √(1 − ρ)·u_i with s and u_i independent standard normals: every frame's noise stays N(0, I) and
    the noise of two frames has correlation ρ (PYoCo's mixed noise, Ge et al. 2023). ρ = 0 is the independent
    noise of AnimateDiff and SD, drawn exactly as ``torch.randn`` draws it. ``generator``: one
    ``torch.Generator``, or a list of one per clip (clip b drawn from generator b alone, u before s).
    """
    if not 0.0 <= correlation < 1.0:
        raise ValueError(f"frame noise correlation must lie in [0, 1), got {correlation}")
    noise = _randn(shape, generator)
    if correlation == 0.0:
        return noise
    shared = _randn((shape[0], shape[1], 1, *shape[3:]), generator)
    return correlation ** 0.5 * shared + (1.0 - correlation) ** 0.5 * noise


def frame_noise_correlation(unet) -> float:
    """The frame noise correlation a T2V UNet was trained with (its config's ``frame_noise_correlation``; 0 for
    AnimateDiff and every UNet that does not name one): its samplers must draw their noise the same way."""
    return float(unet.config.get("frame_noise_correlation", 0.0))


def _randn(shape: tuple, generator) -> torch.Tensor:
    """Standard normal noise; with a list of generators, sample b is drawn from generator b alone."""
    if isinstance(generator, list):
        if len(generator) != shape[0]:
            raise ValueError(f"got {len(generator)} generators for a batch of {shape[0]}; pass one per clip")
        return torch.stack([torch.randn(shape[1:], generator=g) for g in generator])
    return torch.randn(shape, generator=generator)


def make_scheduler() -> DDIMScheduler:
    """DDIM with SD 1.5's schedule (scaled-linear betas 0.00085–0.012, 1000 steps, epsilon prediction)."""
    return DDIMScheduler(**_SD_SCHEDULE, clip_sample=False, set_alpha_to_one=False, steps_offset=1)


# ------------------------------------------------------------------------------------- latents ↔ frames
@torch.no_grad()
def encode_frames(vae: AutoencoderKL, frames: np.ndarray, batch_size: int = 64) -> torch.Tensor:
    """uint8 frames (..., H, W, 3), 0–255 → float32 scaled latents (..., C, h, w) (posterior mean × scaling)."""
    frames = np.asarray(frames)
    lead = frames.shape[:-3]
    flat = frames.reshape(-1, *frames.shape[-3:])
    out = []
    for first in range(0, len(flat), batch_size):
        x = _to_pixels(flat[first:first + batch_size]).to(vae.device, vae.dtype)
        out.append(vae.encode(x).latent_dist.mean.float().cpu() * vae.config.scaling_factor)
    latents = torch.cat(out)
    return latents.reshape(*lead, *latents.shape[1:])


@torch.no_grad()
def decode_latents(vae: AutoencoderKL, latents: torch.Tensor | np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Scaled latents (..., C, h, w) → uint8 frames (..., H, W, 3), 0–255."""
    latents = torch.as_tensor(np.asarray(latents) if not isinstance(latents, torch.Tensor) else latents)
    lead = latents.shape[:-3]
    flat = latents.reshape(-1, *latents.shape[-3:])
    out = []
    for first in range(0, len(flat), batch_size):
        z = flat[first:first + batch_size].to(vae.device, vae.dtype) / vae.config.scaling_factor
        out.append(_to_uint8(vae.decode(z).sample.float().cpu()))
    frames = np.concatenate(out)
    return frames.reshape(*lead, *frames.shape[1:])


def _to_pixels(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (B, H, W, 3) → float32 (B, 3, H, W) in [-1, 1]."""
    # a tensor is used as it is (float() copies it); an array is copied first: mmaps are read-only
    frames = frames if isinstance(frames, torch.Tensor) else torch.from_numpy(np.array(frames))
    return frames.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def _to_uint8(pixels: torch.Tensor) -> np.ndarray:
    """float (B, 3, H, W) in [-1, 1] → uint8 (B, H, W, 3)."""
    return ((pixels.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


# ---------------------------------------------------------------------------------------------- loaders
def _pretrained(cls, source: str, subfolder: str | None = None):
    """``cls.from_pretrained(source, subfolder=...)``, falling back to the repo/folder root.

    A diffusers pipeline repo (SD 1.5) keeps each component in a subfolder (``vae``, ``unet``, ``scheduler``);
    a single-model repo (AnimateDiff adapter, SparseCtrl) or a twin ``priors/<name>`` folder has it at the root.
    """
    if subfolder is not None and Path(source).is_dir() and not (Path(source) / subfolder).is_dir():
        subfolder = None
    try:
        return cls.from_pretrained(source, subfolder=subfolder) if subfolder else cls.from_pretrained(source)
    except OSError:
        if subfolder is None:
            raise
        return cls.from_pretrained(source)


def _twin_folder(cfg: Config, name: str) -> Path:
    folder = RunPaths.from_config(cfg).priors / name
    if not (folder / "config.json").exists():
        raise FileNotFoundError(f"{folder}: no trained twin prior '{name}'; run `python -m semvideo train-priors "
                                f"--config ...` (Snakemake rule train_priors) first, or set priors.{name}")
    return folder


def load_vae(cfg: Config) -> AutoencoderKL:
    """``cfg.priors.vae`` (e.g. SD 1.5, subfolder ``vae``) or the twin's ``priors/vae``; eval mode, CPU."""
    return _pretrained(AutoencoderKL, cfg.priors.vae or str(_twin_folder(cfg, "vae")), "vae").eval()


def load_t2i(cfg: Config) -> UNet2DConditionModel:
    """``cfg.priors.t2i`` (SD 1.5, subfolder ``unet``) or the twin's ``priors/t2i``."""
    return _pretrained(UNet2DConditionModel, cfg.priors.t2i or str(_twin_folder(cfg, "t2i")), "unet").eval()


def load_t2v(cfg: Config) -> UNetMotionModel:
    """The T2V UNet: SD 1.5's UNet + ``cfg.priors.motion_adapter`` (AnimateDiff), or the twin's ``priors/t2v``.

    ``priors.motion_adapter`` may also name a saved ``UNetMotionModel`` folder, which is loaded whole.
    """
    source = cfg.priors.motion_adapter
    if source is None:
        return UNetMotionModel.from_pretrained(_twin_folder(cfg, "t2v")).eval()
    config_file = Path(source) / "config.json"
    if config_file.exists() and json.loads(config_file.read_text()).get("_class_name") == "UNetMotionModel":
        return UNetMotionModel.from_pretrained(source).eval()
    return UNetMotionModel.from_unet2d(load_t2i(cfg), MotionAdapter.from_pretrained(source)).eval()


def load_sparsectrl(cfg: Config) -> SparseControlNetModel | None:
    """SparseCtrl RGB (``cfg.priors.sparsectrl``) or None, in which case the keyframe is injected (see cvr)."""
    return SparseControlNetModel.from_pretrained(cfg.priors.sparsectrl).eval() if cfg.priors.sparsectrl else None


def load_scheduler(cfg: Config) -> DDIMScheduler | DPMSolverMultistepScheduler:
    """The render's sampler (``cvr.scheduler``) on the T2I repo's noise schedule: DDIM from its ``scheduler``
    subfolder when there is one, else SD 1.5's schedule; DPM-Solver++ on the same betas and timestep spacing."""
    ddim = make_scheduler()
    if cfg.priors.t2i:
        try:
            ddim = DDIMScheduler.from_pretrained(cfg.priors.t2i, subfolder="scheduler")
        except OSError:
            pass
    if cfg.cvr.scheduler == "dpmsolver++":
        return DPMSolverMultistepScheduler.from_config(ddim.config, algorithm_type="dpmsolver++")
    return ddim


def unconditional_embedding(cfg: Config, text_dim: int) -> torch.Tensor:
    """(77, D) embedding for classifier-free guidance: zeros (twin, MiniLM) or Z("") of the CLIP embedder."""
    if cfg.embed.backend == "minilm":
        return torch.zeros(cfg.embed.max_tokens, text_dim)

    return torch.from_numpy(make_embedder(cfg).tokens([""])[0])


# --------------------------------------------------------------------------------------------- training
def vae_loss(vae: AutoencoderKL, pixels: torch.Tensor, generator: torch.Generator,
             kl_weight: float = 1e-6, crop: int | None = None, sample_posterior: bool = True) -> dict[str, torch.Tensor]:
    """L1 reconstruction + kl_weight · KL(q(z|x) ‖ N(0, I)) (summed over latent elements, batch mean).

    pixels: (B, 3, H, W) in [-1, 1]. A small KL weight, as SD's VAE: the latent stays close to a Gaussian
    scale without blurring the frames. ``crop``: train on one random crop × crop window of the batch
    (position drawn from ``generator``, aligned to the VAE's downsampling grid of 8 px at most).
    ``sample_posterior``: decode z ~ q(z|x) (a VAE); False decodes the posterior mean (the latent every later
    stage uses, :func:`encode_frames`), so the decoder is not trained on posterior noise that a short training
    has not yet shrunk.
    """
    if crop is not None and crop < pixels.shape[-1]:
        top, left = (int(v) * 8 for v in torch.randint(0, (pixels.shape[-1] - crop) // 8 + 1, (2,),
                                                         generator=generator))
        pixels = pixels[..., top:top + crop, left:left + crop]
    posterior = vae.encode(pixels).latent_dist
    z = posterior.mean
    if sample_posterior:
        z = z + posterior.std * torch.randn(posterior.mean.shape, generator=generator).to(pixels)
    recon = vae.decode(z).sample
    l1 = (recon - pixels).abs().mean()
    kl = posterior.kl().mean()
    return {"loss": l1 + kl_weight * kl, "l1": l1, "kl": kl}


def denoising_loss(unet, latents: torch.Tensor, embeds: torch.Tensor, uncond: torch.Tensor,
                   generator: torch.Generator, caption_dropout: float = 0.1,
                   temporal_weight: float = 0.0, noise_correlation: float = 0.0) -> dict[str, torch.Tensor]:
    """The DDPM ε-prediction loss ‖ε − ε_θ(√ᾱ_t z + √(1−ᾱ_t) ε, t, c)‖² with caption dropout (Ho et al. eq. 14).

    latents: (B, C, h, w) for a UNet2DConditionModel or (B, C, n, h, w) for a UNetMotionModel (its embeds are
    repeated per frame); embeds (B, 77, D); uncond (77, D) replaces a caption with probability caption_dropout.

    ``temporal_weight`` w (videos only) adds w · ‖e − ē‖², where e = ε − ε_θ and ē its mean over the n frames:
    the part of the error that differs between frames — where a wrong motion lies — counts 1 + w times, the part
    shared by all frames (appearance) once. The weighting is positive definite, so the loss keeps its minimiser
    E[ε | z_t, c] and the sampler its meaning; only the gradient's emphasis moves (on the twin, temporal change
    is ~4 % of the clips' latent variance, benchmarks/t2v_caption_use.py). Returned as ``temporal`` too.
    ``noise_correlation`` (videos only): the noise's frames share that much variance (:func:`frame_noise`).
    """
    batch = latents.shape[0]
    drop = torch.rand(batch, generator=generator) < caption_dropout
    embeds = torch.where(drop[:, None, None].to(embeds.device), uncond.to(embeds), embeds)
    noise = frame_noise(latents.shape, generator, noise_correlation if latents.dim() == 5 else 0.0).to(latents)
    t = torch.randint(0, _SD_SCHEDULE["num_train_timesteps"], (batch,), generator=generator).to(latents.device)
    noisy = _TRAIN_SCHEDULER.add_noise(latents, noise, t)
    frames = latents.shape[2] if latents.dim() == 5 else 1
    error = unet(noisy, t, **unet_condition(unet, embeds, frames)).sample - noise
    loss = (error ** 2).mean()
    if temporal_weight == 0 or latents.dim() != 5:
        return {"loss": loss}
    temporal = ((error - error.mean(dim=2, keepdim=True)) ** 2).mean()
    return {"loss": loss + temporal_weight * temporal, "temporal": temporal}


_TRAIN_SCHEDULER = DDPMScheduler(**_SD_SCHEDULE)


def train_vae(vae: AutoencoderKL, frames: np.ndarray, ckpt_dir: Path, epochs: int, batch_size: int, lr: float,
              seed: int, crop: int | None = None, sample_posterior: bool = True, **fit_kwargs) -> pd.DataFrame:
    """Train the twin VAE on uint8 frames (N, H, W, 3) (training clips only), then set its scaling factor.
    ``fit_kwargs`` (device, mixed precision: :func:`semvideo.device.training_kwargs`) go to ``fit``.

    The scaling factor becomes 1 / std of the training latents' posterior means (SD's recipe), so the
    diffusion priors see unit-variance latents. ``crop``, ``sample_posterior``: see :func:`vae_loss`.
    """

    step = lambda model, batch, g: vae_loss(model, _to_pixels(batch[0]), g, crop=crop,
                                            sample_posterior=sample_posterior)
    log = fit(vae, step, (frames,), ckpt_dir=ckpt_dir, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
              desc="VAE", **fit_kwargs)
    vae.register_to_config(scaling_factor=1.0)
    sample = frames[np.linspace(0, len(frames) - 1, min(len(frames), 2048)).astype(int)]
    vae.register_to_config(scaling_factor=float(1.0 / encode_frames(vae, sample).std()))
    return log


def train_t2i(unet: UNet2DConditionModel, latents: torch.Tensor, embeds: np.ndarray, uncond: torch.Tensor,
              ckpt_dir: Path, epochs: int, batch_size: int, lr: float, seed: int,
              caption_dropout: float, **fit_kwargs) -> pd.DataFrame:
    """Train the T2I UNet on first-frame latents (N, C, h, w) with their anchor-caption embeddings (N, 77, D)."""

    step = lambda model, batch, g: denoising_loss(model, *batch, uncond, g, caption_dropout)
    return fit(unet, step, (latents, embeds), ckpt_dir=ckpt_dir, epochs=epochs, batch_size=batch_size, lr=lr,
               seed=seed, desc="T2I", **fit_kwargs)


def train_t2v(unet: UNetMotionModel, latents: torch.Tensor, embeds: np.ndarray, uncond: torch.Tensor,
              ckpt_dir: Path, epochs: int, batch_size: int, lr: float, seed: int,
              caption_dropout: float, temporal_weight: float = 0.0, noise_correlation: float = 0.0,
              **fit_kwargs) -> pd.DataFrame:
    """Train the T2V UNet on clip latents (N, n, C, h, w) with their holistic-caption embeddings (N, 77, D);
    ``temporal_weight``, ``noise_correlation``: see :func:`denoising_loss`. A correlation other than 0 is written
    into the UNet's config (``frame_noise_correlation``), so that it travels with the weights to every sampler."""

    video = latents.permute(0, 2, 1, 3, 4).contiguous()  # (N, C, n, h, w)
    if noise_correlation:
        unet.register_to_config(frame_noise_correlation=noise_correlation)
    step = lambda model, batch, g: denoising_loss(model, *batch, uncond, g, caption_dropout, temporal_weight,
                                                  noise_correlation)
    return fit(unet, step, (video, embeds), ckpt_dir=ckpt_dir, epochs=epochs, batch_size=batch_size, lr=lr,
               seed=seed, desc="T2V", **fit_kwargs)


#: ``priors.t2v_warm_start`` → the ``only`` of :func:`warm_start` for a T2V: its motion modules, or every weight
T2V_WARM_START = {"motion_modules": "motion_modules.", "whole": None}


def warm_start(model: torch.nn.Module, init_from: str | None, name: str, only: str | None = None) -> None:
    """Copy the weights of an earlier prior ``init_from/name`` (safetensors) into ``model``, in place.

    Tensors whose name and shape match are copied (with ``only``, just those whose name contains it, e.g. the
    motion modules of a T2V UNet); layers the earlier prior lacks keep their initialisation, except the
    pooled-caption projection (``time_embedding.cond_proj``), which starts at zero so that the warm-started
    model computes exactly what the earlier prior did until training moves it. No-op when ``init_from`` is None.
    """
    if init_from is None:
        return
    from safetensors.torch import load_file

    files = sorted((Path(init_from) / name).glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"{Path(init_from) / name}: no safetensors weights to start from; fix "
                                "priors.init_from or set it to null")
    earlier = load_file(files[0])
    own = model.state_dict()
    copied = {k: v.to(own[k].dtype) for k, v in earlier.items()
              if k in own and own[k].shape == v.shape and (only is None or only in k)}
    model.load_state_dict(copied, strict=False)
    cond_proj = getattr(getattr(model, "time_embedding", None), "cond_proj", None)
    if cond_proj is not None and "time_embedding.cond_proj.weight" not in copied:
        torch.nn.init.zeros_(cond_proj.weight)
