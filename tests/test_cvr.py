"""The CVR pipeline (paper §3.2, Fig. 3) on tiny random-config components: shapes, seeds, the anchor's effect,
strength 0, the from_pretrained (real-weights) loading path, and the render stage's files."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from diffusers import (
    AutoencoderKL,
    DPMSolverMultistepScheduler,
    MotionAdapter,
    SparseControlNetModel,
    UNet2DConditionModel,
)

from semvideo.config import Config
from semvideo.models import priors
from semvideo.models.cvr import SemVideoPipeline, clip_generators, load_pipeline
from semvideo.plan import (
    ABLATION_VARIANTS,
    ORACLE_VARIANTS,
    RENDER_VARIANTS,
    SAMPLER_VARIANTS,
    TRUTH,
    RenderVariant,
    recon_path,
    render_jobs,
    render_variant,
    true_level,
)
from semvideo.stages.render import render_method, run_render

B, N_FRAMES, SIZE, D = 2, 4, 32, 16  # clips, frames per clip, frame pixels, text dim; latents 4×8×8


def tiny_components(seed: int = 0) -> dict:
    torch.manual_seed(seed)
    vae = priors.build_vae(SIZE, 4, 4, width=8).eval()
    unet = priors.build_t2i_unet(SIZE // 4, 4, D, width=8, heads=2).eval()
    motion = priors.build_t2v_unet(unet, motion_heads=2).eval()
    # AnimateDiff zero-initialises the motion modules' output; random ones make frames interact as a trained one
    for name, param in motion.named_parameters():
        if "motion_modules" in name and "proj_out" in name:
            torch.nn.init.normal_(param, std=0.2)
    return {"vae": vae, "unet": unet, "motion_unet": motion, "scheduler": priors.make_scheduler()}


@pytest.fixture(scope="module")
def pipe():
    pipe = SemVideoPipeline(**tiny_components())
    pipe.set_progress_bar_config(disable=True)
    return pipe


def inputs(seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(B, N_FRAMES, 4, SIZE // 4, SIZE // 4, generator=g), torch.randn(B, 77, D, generator=g),
            torch.randn(B, 77, D, generator=g))


STEPS = {"num_inference_steps": 3, "guidance_scale": 2.0}


def test_shapes_and_dtypes(pipe):
    out = pipe(*inputs(), generator=torch.Generator().manual_seed(0), **STEPS)
    assert out.frames.shape == (B, N_FRAMES, SIZE, SIZE, 3) and out.frames.dtype == np.uint8
    assert out.blurry.shape == (B, N_FRAMES, SIZE, SIZE, 3) and out.anchor.shape == (B, SIZE, SIZE, 3)
    latent = pipe(*inputs(), generator=torch.Generator().manual_seed(0), output_type="latent", **STEPS)
    assert latent.frames.shape == (B, N_FRAMES, 4, SIZE // 4, SIZE // 4)


def test_seed_makes_it_repeatable(pipe):
    run = lambda seed: pipe(*inputs(), generator=torch.Generator().manual_seed(seed), **STEPS).frames
    np.testing.assert_array_equal(run(0), run(0))
    assert not np.array_equal(run(0), run(1))


def test_a_clip_renders_the_same_alone_or_in_a_batch(pipe):
    latents, anchor, holi = inputs()
    both = pipe(latents, anchor, holi, generator=clip_generators(0, [0, 1]), output_type="latent", **STEPS)
    second = pipe(latents[1:], anchor[1:], holi[1:], generator=clip_generators(0, [1]), output_type="latent",
                  **STEPS)
    torch.testing.assert_close(both.frames[1:], second.frames, rtol=1e-4, atol=1e-5)


def test_blurry_frames_are_the_vae_decoded_latents(pipe):
    latents = inputs()[0]
    out = pipe(*inputs(), generator=torch.Generator().manual_seed(0), **STEPS)
    np.testing.assert_array_equal(out.blurry, priors.decode_latents(pipe.vae, latents))


def test_img2img_strength_zero_returns_the_input(pipe):
    latents, anchor, _ = inputs()
    first = latents[:, 0]
    assert torch.equal(pipe.img2img(first, anchor, torch.zeros_like(anchor), 0.0, generator=None, **STEPS), first)
    out = pipe(*inputs(), anchor_strength=0.0, generator=torch.Generator().manual_seed(0), **STEPS)
    np.testing.assert_array_equal(out.anchor, out.blurry[:, 0])  # v̂_1 = I^motion_1


def test_video_strength_zero_keeps_the_blurry_frames_after_the_anchor(pipe):
    out = pipe(*inputs(), video_strength=0.0, generator=torch.Generator().manual_seed(0), **STEPS)
    np.testing.assert_array_equal(out.frames[:, 1:], out.blurry[:, 1:])
    np.testing.assert_array_equal(out.frames[:, 0], out.anchor)


def test_the_anchor_frame_conditions_the_video(pipe):
    """Changing Ẑ(C_anchor) (hence v̂_1) changes frame 1 of the output more than its last frame."""
    latents, anchor, holi = inputs()
    kwargs = dict(anchor_strength=1.0, output_type="latent", **STEPS)
    a = pipe(latents, anchor, holi, generator=torch.Generator().manual_seed(0), **kwargs)
    b = pipe(latents, anchor + 3.0, holi, generator=torch.Generator().manual_seed(0), **kwargs)
    change = (a.frames - b.frames).abs().mean(dim=(0, 2, 3, 4))  # per frame
    assert change[0] > 0 and change[0] > 2 * change[-1]
    torch.testing.assert_close(a.frames[:, 0], a.anchor)  # with injection, frame 1 is the anchor frame


def test_the_video_noise_is_drawn_as_the_t2v_was_trained():
    """A T2V trained on frame-correlated noise (its config's frame_noise_correlation) is sampled with it: from
    noise, its frames start alike; a clip still renders the same alone or in a batch."""
    latents, anchor, holi = inputs()
    kwargs = dict(video_strength=1.0, keyframe_injection=False, output_type="latent", **STEPS)
    change = {}
    for correlation in (0.0, 0.9):
        pipe = SemVideoPipeline(**tiny_components())
        pipe.set_progress_bar_config(disable=True)
        pipe.motion_unet.register_to_config(frame_noise_correlation=correlation)
        video = pipe(latents, anchor, holi, generator=clip_generators(0, [0, 1]), **kwargs).frames
        change[correlation] = (video[:, 1:] - video[:, :-1]).abs().mean()
    second = pipe(latents[1:], anchor[1:], holi[1:], generator=clip_generators(0, [1]), **kwargs).frames
    torch.testing.assert_close(video[1:], second, rtol=1e-4, atol=1e-5)
    assert change[0.9] < 0.5 * change[0.0]
    # a render may set the correlation itself (our sampler row): 0 on this T2V trained with 0.9 draws independent
    # noise, the same clip as a T2V trained with 0 gives
    pipe.motion_unet.register_to_config(frame_noise_correlation=0.0)
    independent = pipe(latents, anchor, holi, generator=clip_generators(0, [0, 1]), **kwargs).frames
    pipe.motion_unet.register_to_config(frame_noise_correlation=0.9)
    overridden = pipe(latents, anchor, holi, generator=clip_generators(0, [0, 1]), noise_correlation=0.0,
                      **kwargs).frames
    torch.testing.assert_close(overridden, independent)
    assert not torch.allclose(overridden, video)


def test_dpm_solver_reaches_the_many_step_solution_in_fewer_steps():
    """DPM-Solver++ (second order) at 20 steps lands closer to DDIM's 200-step render than DDIM at 20 does: the
    multistep solver integrates the same probability-flow ODE with less error (measured: 0.04 vs 0.45)."""
    components = tiny_components()
    ddim = SemVideoPipeline(**components)
    dpm = SemVideoPipeline(**{**components, "scheduler": DPMSolverMultistepScheduler.from_config(
        components["scheduler"].config, algorithm_type="dpmsolver++")})
    render = lambda p, steps: p(*inputs(), num_inference_steps=steps, guidance_scale=2.0, output_type="latent",
                                generator=torch.Generator().manual_seed(0)).frames
    reference = render(ddim, 200)
    error = {name: (render(p, 20) - reference).abs().mean() for name, p in (("ddim", ddim), ("dpm", dpm))}
    assert error["dpm"] < 0.3 * error["ddim"]


def test_strength_outside_unit_interval_is_a_clear_error(pipe):
    with pytest.raises(ValueError, match="strength must lie in"):
        pipe(*inputs(), anchor_strength=1.5, **STEPS)


def save_sd_layout(root):
    """Tiny components saved as the hub lays them out: SD repo (vae/, unet/, scheduler/), adapter, SparseCtrl."""
    parts = tiny_components()
    parts["vae"].save_pretrained(root / "sd" / "vae")
    parts["unet"].save_pretrained(root / "sd" / "unet")
    parts["scheduler"].save_pretrained(root / "sd" / "scheduler")
    MotionAdapter(block_out_channels=(8, 16), motion_layers_per_block=1, motion_num_attention_heads=2,
                  motion_norm_num_groups=8, motion_max_seq_length=16).save_pretrained(root / "adapter")
    ctrl = SparseControlNetModel(block_out_channels=(8, 16), down_block_types=("CrossAttnDownBlockMotion",) * 2,
                                 layers_per_block=1, norm_num_groups=8, cross_attention_dim=D, attention_head_dim=2,
                                 conditioning_embedding_out_channels=(8, 16), motion_num_attention_heads=2,
                                 motion_max_seq_length=16)
    for name, param in ctrl.named_parameters():  # ControlNet's zero convolutions, made non-zero as if trained
        if name.startswith(("controlnet_down_blocks", "controlnet_mid_block")):
            torch.nn.init.normal_(param, std=0.2)
    ctrl.save_pretrained(root / "sparsectrl")
    return parts


def test_real_weights_path_loads_with_from_pretrained(tmp_path):
    parts = save_sd_layout(tmp_path)
    cfg = Config(name="real", world="cc2017", priors={
        "vae": str(tmp_path / "sd"), "t2i": str(tmp_path / "sd"), "motion_adapter": str(tmp_path / "adapter"),
        "sparsectrl": str(tmp_path / "sparsectrl")})
    pipe = load_pipeline(cfg)
    assert isinstance(pipe.vae, AutoencoderKL) and isinstance(pipe.unet, UNet2DConditionModel)
    assert isinstance(pipe.controlnet, SparseControlNetModel)
    for name, param in parts["unet"].state_dict().items():  # spatial weights of the T2V come from SD's UNet
        torch.testing.assert_close(pipe.unet.state_dict()[name], param)
    assert torch.equal(pipe.motion_unet.conv_in.weight, parts["unet"].conv_in.weight)
    out = pipe(*inputs(), generator=torch.Generator().manual_seed(0), **STEPS)
    assert out.frames.shape == (B, N_FRAMES, SIZE, SIZE, 3)
    no_ctrl = pipe(*inputs(), generator=torch.Generator().manual_seed(0), controlnet_conditioning_scale=0.0,
                   **STEPS)
    assert not np.array_equal(out.frames[:, 1:], no_ctrl.frames[:, 1:])  # SparseCtrl's residuals act


def test_run_render_writes_the_whole_test_set(tmp_path, one_torch_thread):
    cfg = Config(name="tiny", subjects=["subject1"], twin={"n_subjects": 1}, paths={"results": str(tmp_path)},
                 cvr={"num_inference_steps": 2, "batch_size": 2})
    root = tmp_path / "tiny"
    n_test = 3
    clips = pd.DataFrame({"clip_id": [f"test1_{i:04d}" for i in range(n_test)], "split": "test", "segment": "test1",
                          "clip_index": range(n_test), "onset_s": 0.0, "shot_id": "s"})
    (root / "data").mkdir(parents=True)
    clips.to_csv(root / "data" / "clips.csv", index=False)
    for name, model in tiny_components().items():
        if name != "scheduler":
            model.save_pretrained(root / "priors" / {"unet": "t2i", "motion_unet": "t2v"}.get(name, name))
    with pytest.raises(FileNotFoundError, match="subject1_latents.npy.*train-mad"):
        run_render(cfg)
    g = torch.Generator().manual_seed(0)
    (root / "mad" / "pred").mkdir(parents=True)
    (root / "sad" / "pred").mkdir(parents=True)
    for suffix in ("", "_wo_motion"):
        np.save(root / "mad" / "pred" / f"subject1{suffix}_latents.npy",
                torch.randn(n_test, N_FRAMES, 4, 8, 8, generator=g).numpy())
    for level in ("anchor", "holi", "blip"):
        np.save(root / "sad" / "pred" / f"subject1_{level}_refined.npy", torch.randn(n_test, 77, D, generator=g).numpy())
    with pytest.raises(FileNotFoundError, match="anchor_test.npy.*embed"):  # the oracle ladder's truth
        run_render(cfg)
    assert not (root / "recon" / "subject1.npz").exists()  # inputs are checked before anything renders
    (root / "embeddings").mkdir()
    for level in ("anchor", "holi"):
        np.save(root / "embeddings" / f"{level}_test.npy", torch.randn(n_test, 77, D, generator=g).numpy())
    with pytest.raises(FileNotFoundError, match="latents_test.npy.*train-mad"):
        run_render(cfg)
    true_latents = torch.randn(n_test, N_FRAMES, 4, 8, 8, generator=g).numpy()
    np.save(root / "mad" / "latents_test.npy", true_latents)
    run_render(cfg)
    recon = np.load(root / "recon" / "subject1.npz")
    assert recon["frames"].shape == (n_test, N_FRAMES, SIZE, SIZE, 3) and recon["anchor"].shape == (n_test, SIZE, SIZE, 3)
    assert list(recon["clip_id"]) == list(clips["clip_id"])
    assert (root / "recon" / "timing.json").exists()
    variants = {method: np.load(recon_path(cfg, method, subject)) for method, subject in render_jobs(cfg)}
    assert set(variants) == {"SemVideo", "Single caption (BLIP-style)", "w/o C_anchor", "w/o C_holi", "w/o C_motion",
                             "w/o MAD", *ORACLE_VARIANTS, *SAMPLER_VARIANTS}
    # a variant changes only the stage it ablates: w/o C_holi keeps the anchor frame, w/o C_anchor does not
    np.testing.assert_array_equal(variants["w/o C_holi"]["anchor"], recon["anchor"])
    assert not np.array_equal(variants["w/o C_anchor"]["anchor"], recon["anchor"])
    np.testing.assert_array_equal(variants["w/o C_anchor"]["blurry"], recon["blurry"])  # same MAD output
    assert not np.array_equal(variants["w/o C_motion"]["blurry"], recon["blurry"])  # the other MAD
    # the oracle ladder: each variant takes the truth where it says so, and nothing else changes
    vae = AutoencoderKL.from_pretrained(root / "priors" / "vae")
    true_blurry = priors.decode_latents(vae, torch.from_numpy(true_latents))
    for method in ("Oracle (c): true captions + true latents", "Oracle (e): decoded captions + true latents"):
        np.testing.assert_array_equal(variants[method]["blurry"], true_blurry)
    np.testing.assert_array_equal(variants["Oracle (d): true captions + MAD's ê"]["blurry"], recon["blurry"])
    # our sampler row: SemVideo's inputs and anchor frame, its own video noise
    ours = variants["SemVideo, frame-correlated noise (ours)"]
    for key in ("blurry", "anchor"):
        np.testing.assert_array_equal(ours[key], recon[key])
    assert not np.array_equal(ours["frames"], recon["frames"])
    assert not np.array_equal(variants["Oracle (d): true captions + MAD's ê"]["anchor"], recon["anchor"])
    # (c) and (e) share the blurry input and differ only in their captions
    assert not np.array_equal(variants["Oracle (c): true captions + true latents"]["anchor"],
                              variants["Oracle (e): decoded captions + true latents"]["anchor"])
    # one method alone, elsewhere: the same clips as the stage's own render (one generator per clip)
    again = render_method(cfg, load_pipeline(cfg), "w/o C_holi", "subject1", tmp_path / "again.npz")
    with np.load(again) as one:
        for key in ("frames", "blurry", "anchor", "clip_id"):
            np.testing.assert_array_equal(one[key], variants["w/o C_holi"][key])
    # the renders spread over two one-thread worker processes: the same files
    serial = {path: dict(np.load(path)) for path in (root / "recon").rglob("*.npz")}
    run_render(cfg.model_copy(update={"workers": 2, "torch_threads": 2}))
    assert len(serial) == len(variants)
    for path, arrays in serial.items():
        with np.load(path) as again:
            assert all(np.array_equal(again[key], value) for key, value in arrays.items()), path
    assert json.loads((root / "recon" / "timing.json").read_text())["device"]["workers"] == 2


def test_oracle_variants_name_their_truth():
    assert all(v.uses_truth for v in ORACLE_VARIANTS.values())
    assert not any(v.uses_truth for v in (*RENDER_VARIANTS.values(), *ABLATION_VARIANTS.values(),
                                          *SAMPLER_VARIANTS.values()))
    assert ORACLE_VARIANTS["Oracle (b): true captions alone"].mad is None
    assert ORACLE_VARIANTS["Oracle (e): decoded captions + true latents"] == RenderVariant("oracle_latents", mad=TRUTH)
    assert true_level("holi") == "true:holi"
    assert render_variant("w/o MAD") is ABLATION_VARIANTS["w/o MAD"]
    with pytest.raises(KeyError, match="not a rendered method"):
        render_variant("Ridge latent decoder")
