"""Twin priors and their loaders: latent convention, losses (known answers), VAE training, the caption-following
probe, and from_pretrained loading (hub subfolder layout and twin folders)."""

import json
import warnings
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import torch
from diffusers import MotionAdapter, UNet2DConditionModel, UNetMotionModel

from semvideo.config import Config
from semvideo.data.synthetic.truth import scene_graphs, scene_labels
from semvideo.models import priors
from semvideo.stages import priors as priors_stage


def test_vae_shapes_and_latent_convention():
    torch.manual_seed(0)
    vae = priors.build_vae(32, latent_channels=4, downsample=4, width=8).eval()
    vae.register_to_config(scaling_factor=0.5)
    frames = np.random.default_rng(0).integers(0, 256, (2, 3, 32, 32, 3), dtype=np.uint8)
    latents = priors.encode_frames(vae, frames)
    assert latents.shape == (2, 3, 4, 8, 8) and latents.dtype == torch.float32
    x = torch.from_numpy(frames[0, 0]).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():  # posterior mean × scaling factor
        torch.testing.assert_close(latents[0, 0], 0.5 * vae.encode(x).latent_dist.mean[0])
    decoded = priors.decode_latents(vae, latents)
    assert decoded.shape == frames.shape and decoded.dtype == np.uint8


def test_pixel_conversion_round_trips_uint8():
    frames = np.arange(256, dtype=np.uint8).repeat(3).reshape(1, 16, 16, 3)
    np.testing.assert_array_equal(priors._to_uint8(priors._to_pixels(frames)), frames)


def test_vae_downsample_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        priors.build_vae(48, downsample=3)


class Recorder(torch.nn.Module):
    """A stand-in UNet that predicts zero noise and records the text embeddings it was given."""

    config: ClassVar[dict] = {}  # built without time_cond_proj_dim: no pooled caption

    def forward(self, sample, t, encoder_hidden_states):
        self.seen = encoder_hidden_states
        return type("Out", (), {"sample": torch.zeros_like(sample)})()


def test_denoising_loss_known_answer_and_caption_dropout():
    latents, embeds, uncond = torch.randn(3, 4, 8, 8), torch.randn(3, 77, 16), torch.full((77, 16), 7.0)
    unet = Recorder()
    loss = priors.denoising_loss(unet, latents, embeds, uncond, torch.Generator().manual_seed(0), 0.0)
    g = torch.Generator().manual_seed(0)
    torch.rand(3, generator=g)  # the dropout draw comes first
    noise = torch.randn(latents.shape, generator=g)
    torch.testing.assert_close(loss["loss"], (noise ** 2).mean())  # ε_θ = 0 → ‖ε‖²
    assert torch.equal(unet.seen, embeds)
    priors.denoising_loss(unet, latents, embeds, uncond, torch.Generator().manual_seed(0), 1.0)
    assert torch.equal(unet.seen, uncond.expand(3, 77, 16))
    video = torch.randn(3, 4, 5, 8, 8)  # (B, C, n, h, w): a caption per frame, as UNetMotionModel expects
    priors.denoising_loss(unet, video, embeds, uncond, torch.Generator().manual_seed(0), 0.0)
    assert torch.equal(unet.seen, embeds.repeat_interleave(5, dim=0))


def test_temporal_weight_adds_the_frame_varying_error_of_videos_only():
    video, embeds, uncond = torch.randn(2, 4, 5, 8, 8), torch.randn(2, 77, 16), torch.zeros(77, 16)
    out = priors.denoising_loss(Recorder(), video, embeds, uncond, torch.Generator().manual_seed(0), 0.0, 3.0)
    g = torch.Generator().manual_seed(0)
    torch.rand(2, generator=g)
    noise = torch.randn(video.shape, generator=g)  # ε_θ = 0 → the error is −ε
    varying = ((noise - noise.mean(dim=2, keepdim=True)) ** 2).mean()
    torch.testing.assert_close(out["temporal"], varying)
    torch.testing.assert_close(out["loss"], (noise ** 2).mean() + 3.0 * varying)
    assert 0.7 < varying / (noise ** 2).mean() < 0.9  # white noise: (n − 1) / n = 0.8 of it varies between frames
    image = priors.denoising_loss(Recorder(), video[:, :, 0], embeds, uncond, torch.Generator().manual_seed(0), 0.0, 3.0)
    assert set(image) == {"loss"}  # an image has no frames to differ


def test_frame_noise_shares_the_asked_variance_between_frames():
    plain = priors.frame_noise((2, 3, 4, 5), torch.Generator().manual_seed(0))
    torch.testing.assert_close(plain, torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(0)))
    noise = priors.frame_noise((64, 4, 3, 16, 16), torch.Generator().manual_seed(0), 0.8)  # (B, C, n, h, w)
    frames = noise.transpose(0, 2).reshape(3, -1)
    assert np.allclose(frames.var(dim=1), 1.0, atol=0.03)  # each frame is still N(0, I)
    assert np.allclose(torch.corrcoef(frames)[np.triu_indices(3, 1)], 0.8, atol=0.02)
    generators = lambda rows: [torch.Generator().manual_seed(r) for r in rows]
    both = priors.frame_noise((2, 4, 3, 2, 2), generators([5, 6]), 0.5)
    torch.testing.assert_close(both[1:], priors.frame_noise((1, 4, 3, 2, 2), generators([6]), 0.5))
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        priors.frame_noise((1, 4, 3, 2, 2), None, 1.0)


def test_a_t2v_trained_on_correlated_noise_says_so_in_its_saved_config(tmp_path):
    torch.manual_seed(0)
    unet = priors.build_t2v_unet(priors.build_t2i_unet(4, 4, 16, width=8, heads=2))
    assert priors.frame_noise_correlation(unet) == 0.0  # AnimateDiff's independent noise
    latents, embeds = torch.randn(4, 3, 4, 4, 4), np.random.default_rng(0).normal(size=(4, 77, 16)).astype("float32")
    priors.train_t2v(unet, latents, embeds, torch.zeros(77, 16), tmp_path / "ckpt", epochs=1, batch_size=2, lr=1e-3,
                     seed=0, caption_dropout=0.1, noise_correlation=0.6)
    unet.save_pretrained(tmp_path / "t2v")
    assert priors.frame_noise_correlation(UNetMotionModel.from_pretrained(tmp_path / "t2v")) == 0.6


def test_pooled_caption_means_the_caption_tokens_and_keeps_the_empty_caption_zero():
    embeds = torch.zeros(2, 77, 3)
    embeds[0, :2] = torch.tensor([[1.0, 2.0, 3.0], [3.0, 0.0, -1.0]])  # two tokens, then zero padding
    pooled = priors.pooled_caption(embeds)
    torch.testing.assert_close(pooled, torch.tensor([[2.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))


def test_unet_condition_feeds_the_pooled_caption_only_to_unets_built_for_it():
    embeds = torch.randn(2, 77, 16)
    plain = priors.build_t2i_unet(4, 4, 16, width=8, heads=2, pooled_condition=False)
    assert set(priors.unet_condition(plain, embeds)) == {"encoder_hidden_states"}  # SD 1.5's interface
    pooled = priors.build_t2i_unet(4, 4, 16, width=8, heads=2)
    condition = priors.unet_condition(pooled, embeds, frames=3)
    assert condition["encoder_hidden_states"].shape == (6, 77, 16)  # a caption per frame
    torch.testing.assert_close(condition["timestep_cond"], embeds.mean(1))  # no padding rows here
    # the pooled caption changes the prediction: the time-embedding path is live
    z, t = torch.randn(2, 4, 4, 4), torch.tensor([500, 500])
    with torch.no_grad():
        a = pooled(z, t, **priors.unet_condition(pooled, embeds)).sample
        b = pooled(z, t, encoder_hidden_states=embeds, timestep_cond=torch.zeros(2, 16)).sample
    assert not torch.allclose(a, b)
    t2v = priors.build_t2v_unet(pooled, max_frames=4)  # AnimateDiff's recipe keeps the pooled path
    assert t2v.config.time_cond_proj_dim == 16
    video = torch.randn(2, 4, 3, 4, 4)
    with torch.no_grad():
        out = t2v(video, t, **priors.unet_condition(t2v, embeds, frames=3)).sample
    assert out.shape == video.shape


def test_warm_start_reproduces_the_earlier_prior_and_zeroes_the_new_pooled_path(tmp_path):
    torch.manual_seed(0)
    earlier = priors.build_t2i_unet(4, 4, 16, width=8, heads=2, pooled_condition=False)
    earlier.save_pretrained(tmp_path / "t2i")
    torch.manual_seed(1)
    model = priors.build_t2i_unet(4, 4, 16, width=8, heads=2)
    priors.warm_start(model, str(tmp_path), "t2i")
    z, t, embeds = torch.randn(2, 4, 4, 4), torch.tensor([10, 900]), torch.randn(2, 77, 16)
    with torch.no_grad():  # the pooled caption enters through a zeroed projection: same output as before
        torch.testing.assert_close(model(z, t, **priors.unet_condition(model, embeds)).sample,
                                   earlier(z, t, encoder_hidden_states=embeds).sample)
    t2v = priors.build_t2v_unet(model, max_frames=4)
    t2v.save_pretrained(tmp_path / "t2v")
    torch.manual_seed(2)
    fresh = priors.build_t2v_unet(priors.build_t2i_unet(4, 4, 16, width=8, heads=2), max_frames=4)
    priors.warm_start(fresh, str(tmp_path), "t2v", only=priors.T2V_WARM_START["motion_modules"])
    motion = [k for k in t2v.state_dict() if "motion_modules." in k]
    assert motion and all(torch.equal(fresh.state_dict()[k], t2v.state_dict()[k]) for k in motion)
    assert not torch.equal(fresh.conv_in.weight, t2v.conv_in.weight)  # spatial weights are not taken
    priors.warm_start(fresh, str(tmp_path), "t2v", only=priors.T2V_WARM_START["whole"])  # continue it as it was
    video = torch.randn(2, 4, 3, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(fresh(video, t, **priors.unet_condition(fresh, embeds, frames=3)).sample,
                                   t2v(video, t, **priors.unet_condition(t2v, embeds, frames=3)).sample)
    with pytest.raises(FileNotFoundError, match="init_from"):
        priors.warm_start(model, str(tmp_path / "nowhere"), "t2i")


def test_vae_loss_on_a_crop_sees_only_the_crop():
    vae = priors.build_vae(32, 4, 4, width=8)
    pixels = torch.zeros(2, 3, 32, 32)
    seen = {}
    original = vae.encode
    vae.encode = lambda x: seen.setdefault("shape", x.shape) and original(x)
    priors.vae_loss(vae, pixels, torch.Generator().manual_seed(0), crop=16)
    assert seen["shape"] == (2, 3, 16, 16)


def test_vae_loss_decodes_the_posterior_mean_when_not_sampling():
    torch.manual_seed(0)
    vae = priors.build_vae(16, 4, 4, width=8)
    pixels = torch.rand(2, 3, 16, 16) * 2 - 1
    loss = lambda seed, sample: priors.vae_loss(vae, pixels, torch.Generator().manual_seed(seed),
                                                sample_posterior=sample)["l1"].item()
    assert loss(0, False) == loss(1, False)  # no noise: the same loss whatever the generator
    assert loss(0, True) != loss(1, True)  # a posterior sample depends on the generator


def test_train_vae_learns_and_sets_unit_variance_scaling(tmp_path):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    # blocky random textures (GroupNorm erases flat colour frames, so they would not test learning)
    frames = rng.integers(0, 256, (16, 4, 4, 3), dtype=np.uint8).repeat(4, 1).repeat(4, 2)
    vae = priors.build_vae(16, 4, 4, width=8)
    error = lambda: np.abs(priors.decode_latents(vae, priors.encode_frames(vae, frames)) / 1.0 - frames).mean()
    before = error()
    priors.train_vae(vae, frames, tmp_path / "ckpt", epochs=8, batch_size=8, lr=1e-2, seed=0)
    assert error() < 0.9 * before  # 16 steps: a clear drop (~15 %), not convergence
    assert priors.encode_frames(vae, frames).std().item() == pytest.approx(1.0, rel=1e-3)


def test_follows_and_meets_read_the_image_judge_and_the_flow_and_warn_about_an_ignored_caption():
    rows = [(priors_stage.T2I, "image", "colour", True, True), (priors_stage.T2I, "video", "colour", False, False),
            (priors_stage.T2V, "image", "colour", False, False), (priors_stage.T2V, "flow", "motion direction", True, True),
            (priors_stage.VAE, "image", "colour", True, False)]
    table = pd.DataFrame(rows, columns=["source", "judge", "attribute", "follows", "meets"])
    with pytest.warns(UserWarning, match="T2V prior ignores its caption for colour"):
        follows = priors_stage._follows(table)
    assert follows == {"t2i": {"colour": True}, "t2v": {"colour": False, "motion direction": True}}
    assert priors_stage._meets(table) == {"vae": {"colour": False}, "t2i": {"colour": True},
                                    "t2v": {"colour": False, "motion direction": True}}


def test_reconstruction_quality_known_answer():
    truth = np.full((2, 8, 8, 3), 100, np.uint8)
    scores = priors_stage.reconstruction_quality(truth, truth + 10)  # MSE 100 → PSNR 10·log10(255²/100)
    assert scores["psnr"] == pytest.approx(10 * np.log10(255 ** 2 / 100))
    assert priors_stage.reconstruction_quality(truth, truth)["ssim"] == pytest.approx(1.0)


def test_scene_labels_follow_the_clip_order(tmp_path):
    truth = tmp_path / "t" / "raw" / "truth"
    truth.mkdir(parents=True)
    graphs = [{"clip_id": f"seg1_000{i}", "category": c, "colour": "red", "background": "sky"}
              for i, c in enumerate(["ball", "box"])]
    (truth / "scene_graphs.jsonl").write_text("\n".join(json.dumps(g) for g in graphs) + "\n")
    labels = scene_labels(scene_graphs(tmp_path / "t" / "raw"), ["seg1_0001", "seg1_0000"], ["category"])
    assert labels["category"].tolist() == ["box", "ball"] and labels["clip_id"].tolist() == ["seg1_0001", "seg1_0000"]


def test_loaders_read_hub_layout_and_twin_folders(tmp_path):
    torch.manual_seed(0)
    vae = priors.build_vae(16, 4, 4, width=8)
    unet = priors.build_t2i_unet(4, 4, 16, width=8, heads=2)
    vae.save_pretrained(tmp_path / "sd" / "vae")
    unet.save_pretrained(tmp_path / "sd" / "unet")
    adapter = MotionAdapter(block_out_channels=(8, 16), motion_layers_per_block=1, motion_num_attention_heads=2,
                            motion_norm_num_groups=8)
    adapter.save_pretrained(tmp_path / "adapter")
    real = Config(name="r", world="cc2017", priors={"vae": str(tmp_path / "sd"), "t2i": str(tmp_path / "sd"),
                                                         "motion_adapter": str(tmp_path / "adapter")})
    assert torch.equal(priors.load_vae(real).encoder.conv_in.weight, vae.encoder.conv_in.weight)
    t2v = priors.load_t2v(real)
    assert isinstance(t2v, UNetMotionModel) and torch.equal(t2v.conv_in.weight, unet.conv_in.weight)
    assert priors.load_scheduler(real).config.beta_schedule == "scaled_linear"  # no scheduler/ → SD's schedule
    priors.make_scheduler().from_config(priors.make_scheduler().config, beta_end=0.02).save_pretrained(
        tmp_path / "sd" / "scheduler")
    dpm = priors.load_scheduler(Config(name="r", world="cc2017", priors=real.priors, cvr={"scheduler": "dpmsolver++"}))
    assert type(dpm).__name__ == "DPMSolverMultistepScheduler" and dpm.config.algorithm_type == "dpmsolver++"
    assert dpm.config.beta_end == 0.02 and dpm.config.steps_offset == 1  # the T2I repo's schedule, kept
    twin = Config(name="tw", paths={"results": str(tmp_path)})
    with pytest.raises(FileNotFoundError, match="train-priors"):
        priors.load_vae(twin)
    priors.build_t2v_unet(unet).save_pretrained(tmp_path / "tw" / "priors" / "t2v")
    assert isinstance(priors.load_t2v(twin), UNetMotionModel)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert priors.unconditional_embedding(twin, 16).abs().sum() == 0  # the twin's empty caption


def test_export_stores_half_precision_unets_that_load_as_float32(tmp_path):
    torch.manual_seed(0)
    t2i = priors.build_t2i_unet(8, 4, 16, width=8)
    source = tmp_path / "priors"
    priors.build_vae(32, width=8).save_pretrained(source / "vae")
    t2i.save_pretrained(source / "t2i")
    priors.build_t2v_unet(t2i).save_pretrained(source / "t2v")
    (source / "report.json").write_text("{}")
    (source / "following.csv").write_text("source\n")
    np.savez(source / "samples.npz", clip_id=np.arange(20).astype(str), t2i=np.zeros((20, 4, 4, 3), np.uint8))
    priors_stage.export_twin_priors(source, tmp_path / "assets")
    with np.load(tmp_path / "assets" / "samples.npz") as shipped:  # a few samples travel with the priors
        assert shipped["t2i"].shape == (priors_stage.SHIPPED_SAMPLES, 4, 4, 3)
        assert list(shipped["clip_id"]) == [str(i) for i in range(priors_stage.SHIPPED_SAMPLES)]
    size = lambda d, n: (d / n / "diffusion_pytorch_model.safetensors").stat().st_size
    for name in ("t2i", "t2v"):
        assert size(tmp_path / "assets", name) < 0.6 * size(source, name)  # float16 on disk
    loaded = UNet2DConditionModel.from_pretrained(tmp_path / "assets" / "t2i")
    weight, original = loaded.conv_in.weight, t2i.conv_in.weight
    assert weight.dtype == torch.float32
    torch.testing.assert_close(weight, original.half().float(), rtol=0, atol=0)  # only fp16 rounding
    assert (tmp_path / "assets" / "vae" / "config.json").exists() and (tmp_path / "assets" / "report.json").exists()


def test_export_of_one_continued_prior_keeps_the_others_and_the_report_history(tmp_path):
    torch.manual_seed(0)
    dest, source = tmp_path / "assets", tmp_path / "run" / "priors"
    t2i = priors.build_t2i_unet(8, 4, 16, width=8)
    t2i.save_pretrained(dest / "t2i")
    priors.build_t2v_unet(t2i).save_pretrained(dest / "t2v")
    shipped_t2i = (dest / "t2i" / "diffusion_pytorch_model.safetensors").read_bytes()
    (dest / "report.json").write_text(json.dumps({
        "note": "Round 1.", "probe_clips": 96, "follows_caption": {"t2v": {"category": False}},
        "seconds": {"t2i": 100.0, "t2v": 50.0}, "parameters": {"t2i": 1, "t2v": 2}, "pretraining": {"old": 1}}))
    continued = priors.build_t2v_unet(t2i)
    continued.save_pretrained(source / "t2v")  # the run trained the T2V only; it loaded the T2I
    (source / "report.json").write_text(json.dumps({
        "init_from": str(dest), "probe_clips": 96, "follows_caption": {"t2v": {"category": True}},
        "seconds": {"t2v": 20.0}, "parameters": {"t2v": 3}, "sources": {"t2i": "x"}}))
    (source / "following.csv").write_text("source,attribute,accuracy\nT2V,category,0.8\n")
    np.savez(source / "samples.npz", clip_id=np.arange(3).astype(str))
    assert priors_stage.export_twin_priors(source, dest, note="Round 2.") == ["t2v"]
    assert (dest / "t2i" / "diffusion_pytorch_model.safetensors").read_bytes() == shipped_t2i  # untouched
    exported = UNetMotionModel.from_pretrained(dest / "t2v").conv_in.weight
    torch.testing.assert_close(exported, continued.conv_in.weight.half().float(), rtol=0, atol=0)
    report = json.loads((dest / "report.json").read_text())
    assert report["follows_caption"] == {"t2v": {"category": True}}  # the run's measurement
    assert report["seconds"] == {"t2i": 100.0, "t2v": 70.0}  # rounds of a continued prior add up
    assert report["parameters"] == {"t2i": 1, "t2v": 3} and report["pretraining"] == {"old": 1}
    assert report["note"] == "Round 1. Round 2." and "sources" not in report  # the history stays the shipped one
    assert (dest / "following.csv").read_text().endswith("0.8\n")
    with pytest.raises(FileNotFoundError, match="no trained prior"):
        priors_stage.export_twin_priors(tmp_path / "empty", dest)


def test_run_priors_reuses_the_evaluation_shipped_with_pretrained_priors(tmp_path, monkeypatch):
    folder = tmp_path / "assets"
    priors.build_vae(16, 4, 4, width=8).save_pretrained(folder / "vae")
    unet = priors.build_t2i_unet(4, 4, 16, width=8, heads=2)
    unet.save_pretrained(folder / "t2i")
    priors.build_t2v_unet(unet).save_pretrained(folder / "t2v")
    measured = {"vae_test": {"ssim": 0.9, "psnr": 30.0}, "probe_clips": 8,
                "follows_caption": {"t2i": {"colour": True}}, "meets_target": {"t2i": {"colour": True}}}
    (folder / "report.json").write_text(json.dumps(measured | {"seconds": {"t2i": 1.0}}))
    (folder / "following.csv").write_text("source,attribute,accuracy\nT2I,colour,0.9\n")
    np.savez(folder / "samples.npz", clip_id=np.array(["a"]))
    cfg = Config(name="tw", paths={"results": str(tmp_path / "results")},
                 priors={"vae": str(folder / "vae"), "t2i": str(folder / "t2i"), "motion_adapter": str(folder / "t2v")})
    monkeypatch.setattr(priors_stage, "evaluate_priors", lambda *a: pytest.fail("shipped priors must not be re-probed"))
    priors_stage.run_priors(cfg)
    out = tmp_path / "results" / "tw" / "priors"
    report = json.loads((out / "report.json").read_text())
    assert {k: report[k] for k in measured} == measured and report["evaluated_by"] == str(folder / "report.json")
    assert (out / "following.csv").read_text() == (folder / "following.csv").read_text()
    assert (out / "samples.npz").exists()
    assert report["parameters"]["vae"] > 0  # the models were still loaded


def test_run_priors_that_will_measure_asks_for_the_judges_before_it_trains(tmp_path):
    cfg = Config(name="tw", paths={"results": str(tmp_path / "results")})  # nothing shipped: it trains, then measures
    with pytest.raises(FileNotFoundError, match="train-judges"):
        priors_stage.run_priors(cfg)
    assert not (tmp_path / "results" / "tw" / "priors").exists()  # no training began


def test_remeasure_rewrites_the_shipped_measurement_with_the_configs_render_settings(tmp_path, monkeypatch):
    """A change of render settings (here guidance 7.5) re-reads the shipped priors from their own folder; the
    report keeps what pre-training wrote (note, seconds) and takes the new measurement."""
    folder = tmp_path / "assets"
    torch.manual_seed(0)
    priors.build_vae(16, 4, 4, width=8).save_pretrained(folder / "vae")
    unet = priors.build_t2i_unet(4, 4, 16, width=8, heads=2)
    unet.save_pretrained(folder / "t2i")
    priors.build_t2v_unet(unet).save_pretrained(folder / "t2v")
    (folder / "report.json").write_text(json.dumps({"note": "made by hand", "seconds": {"t2i": 1.0},
                                                    "follows_caption": {"t2i": {"colour": False}}}))
    seen = {}

    def evaluate(cfg, vae, t2i, t2v):
        seen.update(guidance=cfg.cvr.guidance_scale, t2i=cfg.priors.t2i, t2v_class=type(t2v).__name__)
        table = pd.DataFrame({"source": ["T2I samples"], "attribute": ["colour"], "accuracy": [0.9]})
        samples = {"clip_id": np.arange(20).astype(str), "t2i": np.zeros((20, 4, 4, 3), np.uint8)}
        return {"follows_caption": {"t2i": {"colour": True}}, "sampling": {"guidance_scale": 7.5}}, table, samples

    monkeypatch.setattr(priors_stage, "evaluate_priors", evaluate)
    cfg = Config(name="tw", paths={"results": str(tmp_path / "results")}, cvr={"guidance_scale": 7.5})
    report = priors_stage.remeasure_shipped_priors(cfg, folder)
    assert seen == {"guidance": 7.5, "t2i": str(folder / "t2i"), "t2v_class": "UNetMotionModel"}
    on_disk = json.loads((folder / "report.json").read_text())
    assert on_disk == report == {"note": "made by hand", "seconds": {"t2i": 1.0}, "sampling": {"guidance_scale": 7.5},
                                 "follows_caption": {"t2i": {"colour": True}}}
    assert pd.read_csv(folder / "following.csv")["accuracy"].tolist() == [0.9]
    with np.load(folder / "samples.npz") as shipped:
        assert shipped["t2i"].shape[0] == priors_stage.SHIPPED_SAMPLES


def test_time_reversal_adds_each_translation_backwards_with_the_caption_of_the_opposite_direction(tmp_path):
    shot = {"category": "star", "colour": "red", "background": "sky", "speed": "slow", "base_size": 0.4,
            "angle0": 0.0, "shot_time": 0.0, "size": 0.4, "scale_start": 1.0, "scale_end": 1.0}
    graphs = [shot | {"clip_id": "a", "motion": "left", "origin": [0.8, 0.5], "start": [0.8, 0.5], "end": [0.2, 0.5]},
              shot | {"clip_id": "b", "motion": "rotate", "origin": [0.5, 0.5], "start": [0.5, 0.5], "end": [0.5, 0.5]}]
    latents, embeds = torch.randn(2, 6, 4, 4, 4), np.random.default_rng(0).normal(size=(2, 77, 8)).astype(np.float32)
    asked = []

    def tokens(reversed_graphs):
        asked.extend(reversed_graphs)
        return np.full((len(reversed_graphs), 77, 8), 7.0, np.float32)

    clips, captions = priors_stage.with_time_reversed_translations(graphs, latents, embeds, tokens, 2.0)
    assert clips.shape == (3, 6, 4, 4, 4) and captions.shape == (3, 77, 8)
    assert torch.equal(clips[:2], latents) and torch.equal(clips[2], latents[0].flip(0))  # frames 5, 4, …, 0
    assert np.array_equal(captions[:2], embeds) and (captions[2] == 7).all()
    assert [(g["clip_id"], g["motion"]) for g in asked] == [("a~reversed", "right")]  # the rotation stays one way
    forward, backward = priors_stage.holistic_captions([graphs[0], asked[0]], tmp_path / "captions.jsonl")
    assert "moves to the left" in forward and "starts on the right side of the frame and ends on the left" in forward
    assert "moves to the right" in backward and "starts on the left side of the frame and ends on the right" in backward
