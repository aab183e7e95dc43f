"""Conditional Video Render (CVR), paper §3.2 eq. 3 and Fig. 3: V̂ = Φ(Ẑ(C_anchor), Ẑ(C_holi), Ê(X)).

One diffusers ``DiffusionPipeline`` whose ``__call__`` reads like Fig. 3:

1. VAE-decode the motion latents ê (MAD's output) → blurry motion frames I^motion;
2. T2I img2img from the latent of blurry frame 1, conditioned on Ẑ(C_anchor) → the anchor frame v̂_1;
3. T2V (AnimateDiff ``UNetMotionModel``) video-to-video from the blurry sequence, conditioned on Ẑ(C_holi) and
   on the anchor frame → the final clip.

Keyframe conditioning (step 3) — the choice, documented: **first-frame latent injection** by default. At every
denoising step frame 1 of the noisy video latent is replaced by the anchor latent noised to the current
timestep (the same noise throughout), and after the last step by the clean anchor latent, so the output's
frame 1 *is* v̂_1 and the motion modules' temporal attention carries its appearance to the later frames.
It needs no extra trained network, so it works with the twin's priors and with SD 1.5 + AnimateDiff alike.
When a SparseCtrl RGB ``SparseControlNetModel`` is loaded (``priors.sparsectrl``, real configs), its
residuals condition every frame on the anchor as well (AnimateDiff-SparseCtrl's sparse conditioning, the
anchor at frame index 0); injection can be switched off (``cvr.keyframe_injection``) to use SparseCtrl alone.

Both diffusion stages start from MAD's latents ê directly rather than re-encoding the decoded blurry frames
(encode(decode(ê)) ≈ ê), which keeps "img2img strength 0 returns the input" exact. Classifier-free guidance
uses ``negative_prompt_embeds`` (default: zeros, the twin's unconditional embedding; see
:func:`semvideo.models.priors.unconditional_embedding`).

This module holds the pipeline, how to load it (with the priors of :mod:`semvideo.models.priors`) and its keyword
arguments from the config. What feeds each rendered method (the render variants) and which renders a run makes
are :mod:`semvideo.plan`; the stage that reads their inputs from the run folder and writes ``recon/`` (``render``)
is :mod:`semvideo.stages.render`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    DiffusionPipeline,
    DPMSolverMultistepScheduler,
    SparseControlNetModel,
    UNet2DConditionModel,
    UNetMotionModel,
)
from diffusers.utils import BaseOutput

from semvideo.config import Config
from semvideo.device import resolve_device, resolve_dtype
from semvideo.models import priors as priors_lib

__all__ = ["SemVideoPipeline", "SemVideoPipelineOutput", "clip_generators", "load_pipeline", "render_kwargs"]

Generator = torch.Generator | list[torch.Generator] | None


@dataclass
class SemVideoPipelineOutput(BaseOutput):
    """uint8 frames, pixel range 0–255 (``output_type="np"``), or scaled latents (``output_type="latent"``).

    frames : (B, n, H, W, 3) the final clip V̂   [latent: (B, n, C, h, w)]
    blurry : (B, n, H, W, 3) VAE-decoded ê      [latent: ê itself]
    anchor : (B, H, W, 3) the anchor frame v̂_1  [latent: (B, C, h, w)]
    """

    frames: np.ndarray | torch.Tensor
    blurry: np.ndarray | torch.Tensor
    anchor: np.ndarray | torch.Tensor


class SemVideoPipeline(DiffusionPipeline):
    """fMRI-decoded latents and text embeddings → video (paper Fig. 3).

    Components: ``vae`` (AutoencoderKL), ``unet`` (T2I UNet2DConditionModel), ``motion_unet`` (T2V
    UNetMotionModel), ``scheduler`` (DDIM or DPM-Solver++), optional ``controlnet`` (SparseCtrl RGB).
    """

    model_cpu_offload_seq = "unet->motion_unet->vae"
    _optional_components = ["controlnet"]  # noqa: RUF012 (diffusers reads a list)

    def __init__(self, vae: AutoencoderKL, unet: UNet2DConditionModel, motion_unet: UNetMotionModel,
                 scheduler: DDIMScheduler | DPMSolverMultistepScheduler,
                 controlnet: SparseControlNetModel | None = None):
        super().__init__()
        self.register_modules(vae=vae, unet=unet, motion_unet=motion_unet, scheduler=scheduler,
                              controlnet=controlnet)

    @torch.no_grad()
    def __call__(
        self,
        motion_latents: torch.Tensor,
        anchor_prompt_embeds: torch.Tensor,
        holi_prompt_embeds: torch.Tensor,
        negative_prompt_embeds: torch.Tensor | None = None,
        anchor_strength: float = 0.6,
        video_strength: float = 0.7,
        num_inference_steps: int = 20,
        guidance_scale: float = 3.0,
        keyframe_injection: bool = True,
        controlnet_conditioning_scale: float = 1.0,
        noise_correlation: float | None = None,
        generator: Generator = None,
        output_type: str = "np",
    ) -> SemVideoPipelineOutput:
        """Render B clips.

        Parameters
        ----------
        motion_latents
            ê, (B, n, C, h, w) float32 scaled VAE latents (MAD's output).
        anchor_prompt_embeds, holi_prompt_embeds
            Ẑ(C_anchor), Ẑ(C_holi): (B, 77, D) float32 (SAD's outputs).
        negative_prompt_embeds
            (77, D) or (B, 77, D) unconditional embedding for classifier-free guidance; None = zeros.
        anchor_strength, video_strength
            img2img / video-to-video strength in [0, 1]: the share of the denoising schedule run from the noised
            blurry latents (0 returns the input, 1 ignores it).
        num_inference_steps, guidance_scale
            sampler steps of a full schedule; guidance ≤ 1 switches classifier-free guidance off.
        noise_correlation
            Correlation between the frames of the T2V stage's noise (:func:`semvideo.models.priors.frame_noise`);
            None = the correlation the T2V was trained with (0 for AnimateDiff and the shipped twin priors).
        generator
            One ``torch.Generator``, or one per clip (then a clip's result does not depend on its batch).
        output_type
            ``"np"`` (uint8 frames) or ``"latent"``.
        """
        device, dtype = self.device, self.unet.dtype
        motion_latents, anchor_prompt_embeds, holi_prompt_embeds = (
            x.to(device, dtype) for x in (motion_latents, anchor_prompt_embeds, holi_prompt_embeds))
        negative = self._negative(negative_prompt_embeds, anchor_prompt_embeds)
        steps = {"num_inference_steps": num_inference_steps, "guidance_scale": guidance_scale, "generator": generator}
        # 1. VAE decoder: ê → blurry motion frames I^motion_1..n (decoded in step 4 with the other latents)
        # 2. T2I img2img from I^motion_1 (its latent ê_1), conditioned on Ẑ(C_anchor) → anchor frame v̂_1
        anchor_latents = self.img2img(motion_latents[:, 0], anchor_prompt_embeds, negative, anchor_strength, **steps)
        # 3. T2V from the blurry sequence, conditioned on Ẑ(C_holi) and the anchor frame → final clip V̂
        video_latents = self.vid2vid(motion_latents, holi_prompt_embeds, negative, video_strength,
                                     keyframe_latents=anchor_latents, keyframe_injection=keyframe_injection,
                                     controlnet_conditioning_scale=controlnet_conditioning_scale,
                                     noise_correlation=noise_correlation, **steps)
        if output_type == "latent":
            return SemVideoPipelineOutput(frames=video_latents, blurry=motion_latents, anchor=anchor_latents)
        # 4. VAE decoder: every latent → uint8 frames
        decode = lambda z: priors_lib.decode_latents(self.vae, z)
        return SemVideoPipelineOutput(frames=decode(video_latents), blurry=decode(motion_latents),
                                      anchor=decode(anchor_latents))

    # --------------------------------------------------------------------------------------- stage 2: T2I
    @torch.no_grad()
    def img2img(self, latents: torch.Tensor, prompt_embeds: torch.Tensor, negative_prompt_embeds: torch.Tensor,
                strength: float, num_inference_steps: int, guidance_scale: float,
                generator: Generator = None) -> torch.Tensor:
        """SDEdit-style img2img in latent space: (B, C, h, w) scaled latents → (B, C, h, w).

        The latents are noised to the timestep ``strength`` of the way into the schedule and denoised from
        there; strength 0 returns them unchanged, strength 1 (from zeros) is plain text-to-image generation.
        """
        timesteps = self._timesteps(num_inference_steps, strength)
        if len(timesteps) == 0:
            return latents
        noise = priors_lib.frame_noise(latents.shape, generator).to(latents.device, latents.dtype)
        x = self.scheduler.add_noise(latents, noise, timesteps[:1])
        unet = lambda z, t, e: self.unet(z, t, **priors_lib.unet_condition(self.unet, e)).sample
        for t in self.progress_bar(timesteps):
            eps = self._guided(unet, x, t, prompt_embeds, negative_prompt_embeds, guidance_scale)
            x = self.scheduler.step(eps, t, x).prev_sample
        return x

    # --------------------------------------------------------------------------------------- stage 3: T2V
    @torch.no_grad()
    def vid2vid(self, latents: torch.Tensor, prompt_embeds: torch.Tensor, negative_prompt_embeds: torch.Tensor,
                strength: float, num_inference_steps: int, guidance_scale: float, generator: Generator = None,
                keyframe_latents: torch.Tensor | None = None, keyframe_injection: bool = True,
                controlnet_conditioning_scale: float = 1.0, noise_correlation: float | None = None) -> torch.Tensor:
        """Video-to-video with keyframe conditioning: (B, n, C, h, w) → (B, n, C, h, w) scaled latents.

        ``keyframe_latents`` (B, C, h, w) is the anchor frame's latent: injected at frame 1 (see module doc)
        and, when a SparseCtrl controlnet is loaded, its sparse condition at frame index 0. ``noise_correlation``:
        the frames' noise correlation (None = the T2V's own, :func:`semvideo.models.priors.frame_noise_correlation`).
        """
        timesteps = self._timesteps(num_inference_steps, strength)
        x = latents.permute(0, 2, 1, 3, 4).clone()  # (B, C, n, h, w), AnimateDiff's layout; never edit ê
        if noise_correlation is None:
            noise_correlation = priors_lib.frame_noise_correlation(self.motion_unet)
        noise = priors_lib.frame_noise(x.shape, generator, noise_correlation)
        noise = noise.to(x.device, x.dtype)
        inject = keyframe_latents is not None and keyframe_injection
        if len(timesteps):
            x = self.scheduler.add_noise(x, noise, timesteps[:1])
        control = self._sparse_control(keyframe_latents, x.shape, controlnet_conditioning_scale)
        unet = lambda z, t, e: self._motion_unet(z, t, e, control)
        for t in self.progress_bar(timesteps):
            if inject:  # the anchor latent, noised to this step with frame 1's own noise
                x[:, :, 0] = self.scheduler.add_noise(keyframe_latents, noise[:, :, 0], t.reshape(1))
            eps = self._guided(unet, x, t, prompt_embeds, negative_prompt_embeds, guidance_scale)
            x = self.scheduler.step(eps, t, x).prev_sample
        if inject:
            x[:, :, 0] = keyframe_latents
        return x.permute(0, 2, 1, 3, 4)

    def _motion_unet(self, x: torch.Tensor, t: torch.Tensor, embeds: torch.Tensor, control: dict | None):
        """Noise prediction of the T2V UNet for x (B, C, n, h, w); embeds (B, 77, D) repeat per frame."""
        condition = priors_lib.unet_condition(self.motion_unet, embeds, x.shape[2])  # tokens as (B·n, 77, D)
        residuals = {}
        if control is not None:
            cond, mask = (torch.cat([c] * (len(x) // len(c))) for c in (control["cond"], control["mask"]))
            down, mid = self.controlnet(x, t, encoder_hidden_states=condition["encoder_hidden_states"],
                                        controlnet_cond=cond, conditioning_mask=mask,
                                        conditioning_scale=control["scale"], return_dict=False)
            residuals = {"down_block_additional_residuals": down, "mid_block_additional_residual": mid}
        return self.motion_unet(x, t, **condition, **residuals).sample

    def _sparse_control(self, keyframe_latents: torch.Tensor | None, shape: tuple, scale: float) -> dict | None:
        """SparseCtrl's condition: the anchor at frame 0 (latent, or RGB in [0, 1]) and its frame mask."""
        if self.controlnet is None or keyframe_latents is None:
            return None
        batch, _, n, _h, _w = shape
        if self.controlnet.config.use_simplified_condition_embedding:
            anchor = keyframe_latents
        else:
            pixels = self.vae.decode(keyframe_latents / self.vae.config.scaling_factor).sample
            anchor = (pixels.clamp(-1, 1) + 1) / 2
        cond = anchor.new_zeros(batch, anchor.shape[1], n, *anchor.shape[-2:])
        mask = anchor.new_zeros(batch, 1, n, *anchor.shape[-2:])
        cond[:, :, 0], mask[:, :, 0] = anchor, 1.0
        return {"cond": cond, "mask": mask, "scale": scale}

    # ------------------------------------------------------------------------------------------ shared
    def _timesteps(self, num_inference_steps: int, strength: float) -> torch.Tensor:
        """The last ``round(strength · steps)`` timesteps of the sampler (img2img's truncated schedule)."""
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must lie in [0, 1], got {strength}; fix cvr.*_strength in the config")
        self.scheduler.set_timesteps(num_inference_steps, device=self.device)
        n_run = min(round(num_inference_steps * strength), num_inference_steps)
        return self.scheduler.timesteps[num_inference_steps - n_run:]

    @staticmethod
    def _guided(predict, x: torch.Tensor, t: torch.Tensor, embeds: torch.Tensor, negative: torch.Tensor,
                scale: float) -> torch.Tensor:
        """Classifier-free guidance: ε_u + s·(ε_c − ε_u), one doubled batch; plain ε_c when s ≤ 1.

        ``predict(x, t, embeds)`` is a UNet's noise prediction.
        """
        if scale <= 1.0:
            return predict(x, t, embeds)
        eps_u, eps_c = predict(torch.cat([x, x]), t, torch.cat([negative, embeds])).chunk(2)
        return eps_u + scale * (eps_c - eps_u)

    def _negative(self, negative: torch.Tensor | None, embeds: torch.Tensor) -> torch.Tensor:
        """(B, 77, D) unconditional embedding on the pipeline's device."""
        if negative is None:
            negative = torch.zeros_like(embeds)
        negative = negative.to(embeds.device, embeds.dtype)
        return negative.expand_as(embeds) if negative.dim() == 2 else negative


# ------------------------------------------------------------------------------------------- the render
def load_pipeline(cfg: Config) -> SemVideoPipeline:
    """The CVR pipeline with the configured priors (hub ids / paths via ``from_pretrained``, or the twin's), on
    ``cfg.device`` in ``cfg.dtype`` (:mod:`semvideo.device`; a missing GPU stops here in one line)."""

    device, dtype = resolve_device(cfg), resolve_dtype(cfg)
    pipe = SemVideoPipeline(vae=priors_lib.load_vae(cfg), unet=priors_lib.load_t2i(cfg),
                            motion_unet=priors_lib.load_t2v(cfg), scheduler=priors_lib.load_scheduler(cfg),
                            controlnet=priors_lib.load_sparsectrl(cfg))
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device, dtype)


def render_kwargs(cfg: Config) -> dict:
    """The pipeline's keyword arguments from ``cfg.cvr`` (strengths, steps, guidance, keyframe choice)."""
    c = cfg.cvr
    return {"anchor_strength": c.anchor_strength, "video_strength": c.video_strength,
                "num_inference_steps": c.num_inference_steps, "guidance_scale": c.guidance_scale,
                "keyframe_injection": c.keyframe_injection, "controlnet_conditioning_scale": c.controlnet_scale}


def clip_generators(seed: int, rows: range | list[int]) -> list[torch.Generator]:
    """One generator per test clip, seeded by (seed, row): a clip renders the same in any batch."""
    return [torch.Generator().manual_seed(seed * 100_003 + int(r)) for r in rows]
