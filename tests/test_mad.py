"""Tests for the Motion Adaptation Decoder (semvideo/models/mad.py): eq. 13, the attention parts of eqs. 8–12,
save/load/resume, the VAE latent round trip and the ``train-mad`` stage (semvideo/stages/mad.py) on a tiny fake
run."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from diffusers import AutoencoderKL

from semvideo.config import Config, load_config
from semvideo.models import mad as mad_module
from semvideo.models.mad import (
    MotionAdaptationDecoder,
    SemanticCrossAttention,
    SpatialAttention,
    TemporalAttention,
    bidirectional_frame_contrastive,
    build_mad,
    mad_loss,
    predict_mad,
    temporal_basis_projection,
    train_mad,
)
from semvideo.models.priors import decode_latents
from semvideo.stages import mad as mad_stage
from semvideo.stages.mad import run_mad, target_latents

TINY = {"n_voxels": 10, "n_frames": 3, "proj_hidden": 16, "mlp_dim": 16, "proj_channels": 4, "proj_size": 2,
        "block_channels": (8, 8, 8), "latent_channels": 4, "latent_size": 4, "text_dim": 6, "head_dim": 4,
        "norm_groups": 4, "dropout": 0.0}


def tiny_model(**overrides) -> MotionAdaptationDecoder:
    torch.manual_seed(0)
    return MotionAdaptationDecoder(**{**TINY, **overrides})


# ------------------------------------------------------------------------------------------ eq. 13
def test_contrastive_matches_hand_computed_value():
    pred = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])  # (B=1, n=2, d=2)
    target = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    tau, r = 0.5, 1 / math.sqrt(2)
    # ê → e rows: logits [1, 0]/τ (label 0), [r, r]/τ (label 1)
    forward = [math.log(1 + math.exp(-2.0)), math.log(2.0)]
    # e → ê rows: e_1 · (ê_1, ê_2) = [1, r]/τ (label 0); e_2 · (ê_1, ê_2) = [0, r]/τ (label 1)
    backward = [math.log(1 + math.exp(2 * r - 2)), math.log(1 + math.exp(-2 * r))]
    expected = 0.5 * (sum(forward) / 2 + sum(backward) / 2)
    got = bidirectional_frame_contrastive(pred, target, tau)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_contrastive_is_minimised_by_the_identity_pairing():
    target = torch.randn(1, 4, 3, 2, 2, generator=torch.Generator().manual_seed(1))
    losses = {perm: bidirectional_frame_contrastive(target[:, list(perm)], target, 0.1).item()
              for perm in itertools.permutations(range(4))}
    identity = losses.pop((0, 1, 2, 3))
    assert identity < min(losses.values())


def test_centred_contrastive_ignores_what_a_clip_shares():
    g = torch.Generator().manual_seed(2)
    target, pred = torch.randn(2, 4, 3, 2, 2, generator=g), torch.randn(2, 4, 3, 2, 2, generator=g)
    scene = 50 * torch.randn(2, 1, 3, 2, 2, generator=g)  # one large frame shared by every frame of a clip
    centred = bidirectional_frame_contrastive(pred, target, 0.1, centred=True)
    assert bidirectional_frame_contrastive(pred + scene, target - scene, 0.1, centred=True).item() == \
        pytest.approx(centred.item(), rel=1e-5)
    # uncentred, the shared scene makes every frame look alike: the loss goes to chance, log n
    assert bidirectional_frame_contrastive(pred + scene, target + scene, 0.1).item() == \
        pytest.approx(math.log(4), abs=0.05)
    losses = [bidirectional_frame_contrastive(target[:, list(p)] + scene, target, 0.1, centred=True).item()
              for p in itertools.permutations(range(4))]
    assert losses[0] < min(losses[1:]), "the true order is still the unique minimum"


def test_mad_loss_adds_l1_and_weighted_contrastive():
    pred, target = torch.zeros(2, 3, 1, 2, 2), torch.ones(2, 3, 1, 2, 2)
    pred[:, :, 0, 0, 0] = torch.arange(3.0) + 1  # distinct non-zero frames so cosine is defined
    total, parts = mad_loss(pred, target, contrastive_weight=0.5, temperature=0.2)
    l1 = (pred - target).abs().mean().item()
    assert float(parts["l1"]) == pytest.approx(l1)
    assert total.item() == pytest.approx(l1 + 0.5 * float(parts["contrastive"]), rel=1e-6)


# ------------------------------------------------------------------------------------ eqs. 8–12
def test_spatial_attention_is_frame_equivariant_and_temporal_is_not():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 8, 3, 3)
    perm = [2, 0, 3, 1]
    spatial, temporal = SpatialAttention(8, 4), TemporalAttention(8, 4, max_frames=4)
    torch.testing.assert_close(spatial(x[:, perm]), spatial(x)[:, perm])
    assert not torch.allclose(temporal(x[:, perm]), temporal(x)[:, perm], atol=1e-4)


def test_temporal_attention_mixes_frames_and_spatial_does_not():
    torch.manual_seed(0)
    x = torch.randn(1, 4, 8, 3, 3)
    y = x.clone()
    y[:, 0] = torch.randn(8, 3, 3)  # change only frame 0
    spatial, temporal = SpatialAttention(8, 4), TemporalAttention(8, 4, max_frames=4)
    torch.testing.assert_close(spatial(y)[:, 1:], spatial(x)[:, 1:])
    assert (temporal(y)[:, 3] - temporal(x)[:, 3]).abs().max() > 1e-3


def test_cross_attention_reads_the_caption():
    torch.manual_seed(0)
    cross = SemanticCrossAttention(8, text_dim=6, head_dim=4)
    x, text = torch.randn(2, 3, 8, 2, 2), torch.randn(2, 5, 6)
    out = cross(x, text)
    assert out.shape == x.shape
    assert not torch.allclose(out, cross(x, text.flip(0)))
    # each clip reads only its own caption
    torch.testing.assert_close(cross(x[:1], text[:1]), out[:1])


def test_output_shape_and_lambdas_receive_gradients():
    model = tiny_model()
    e_hat = model(torch.randn(5, 10), torch.randn(5, 7, 6))
    assert e_hat.shape == (5, 3, 4, 4, 4) and e_hat.dtype == torch.float32
    names = {name for name, _ in model.named_parameters()}
    assert {"lambda_spat", "lambda_temp"} <= names
    e_hat.square().mean().backward()
    assert model.lambda_spat.grad.abs() > 0 and model.lambda_temp.grad.abs() > 0


def test_without_semantics_the_caption_is_ignored():
    full, wo_motion = tiny_model(), tiny_model(use_semantic=False)
    assert wo_motion.cross is None and not any("cross" in name for name, _ in wo_motion.named_parameters())
    x = torch.randn(3, 10)
    torch.testing.assert_close(wo_motion(x, torch.randn(3, 7, 6)), wo_motion(x, None))
    assert not torch.allclose(full(x, torch.randn(3, 7, 6)), full(x, torch.randn(3, 7, 6)))
    with pytest.raises(ValueError, match="use_semantic=True"):
        full(x, None)


def test_bad_projection_size_names_the_key():
    with pytest.raises(ValueError, match="mad.proj_size"):
        tiny_model(proj_size=3)


def test_temporal_basis_projection_keeps_low_order_trajectories_only():
    n = 6
    times = torch.linspace(-1, 1, n)
    for rank in range(1, n + 1):
        p = temporal_basis_projection(n, rank)
        torch.testing.assert_close(p @ p, p, atol=1e-6, rtol=0)  # a projection …
        torch.testing.assert_close(p, p.T, atol=1e-6, rtol=0)  # … orthogonal
        assert torch.linalg.matrix_rank(p).item() == rank
    torch.testing.assert_close(temporal_basis_projection(n, n), torch.eye(n), atol=1e-6, rtol=0)
    torch.testing.assert_close(temporal_basis_projection(n, 1), torch.full((n, n), 1 / n), atol=1e-6, rtol=0)
    line = 2.0 + 0.5 * times
    wobble = torch.tensor([1.0, -1, 1, -1, 1, -1])
    p2 = temporal_basis_projection(n, 2)
    torch.testing.assert_close(p2 @ line, line, atol=1e-6, rtol=0)  # a linear drift passes unchanged
    # the least-squares line through line + wobble: the wobble's own best line (slope −6/17.5 ≈ −0.343) remains
    fit = torch.linalg.lstsq(torch.stack([torch.ones(n), times], 1), (line + wobble)[:, None]).solution
    torch.testing.assert_close(p2 @ (line + wobble), fit[0] + fit[1] * times, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="mad.temporal_rank"):
        temporal_basis_projection(n, 0)


def test_temporal_rank_two_gives_frames_linear_in_time():
    model = tiny_model(n_frames=4, temporal_rank=2).eval()
    out = model(torch.randn(3, 10), torch.randn(3, 7, 6))  # (3, 4, 4, 4, 4)
    second_difference = out[:, 2:] - 2 * out[:, 1:-1] + out[:, :-2]
    assert second_difference.abs().max() < 1e-5
    assert (out[:, -1] - out[:, 0]).abs().max() > 1e-3  # frames still differ: a drift, not a still
    unconstrained = tiny_model(n_frames=4).eval()(torch.randn(3, 10), torch.randn(3, 7, 6))
    assert (unconstrained[:, 2:] - 2 * unconstrained[:, 1:-1] + unconstrained[:, :-2]).abs().max() > 1e-3


def test_save_pretrained_round_trip(tmp_path):
    model = tiny_model().eval()
    model.save_pretrained(tmp_path / "mad")
    assert (tmp_path / "mad" / "diffusion_pytorch_model.safetensors").exists()
    loaded = MotionAdaptationDecoder.from_pretrained(tmp_path / "mad").eval()
    x, z = torch.randn(2, 10), torch.randn(2, 7, 6)
    torch.testing.assert_close(loaded(x, z), model(x, z), rtol=0, atol=0)
    assert tuple(loaded.config.block_channels) == (8, 8, 8)


def test_predictions_are_offsets_from_the_saved_mean_latent(tmp_path):
    model = tiny_model().eval()
    torch.nn.init.zeros_(model.conv_out.weight)
    torch.nn.init.zeros_(model.conv_out.bias)  # the decoder adds nothing: ê is the mean latent itself
    mean = torch.randn(model.latent_mean.shape)
    model.latent_mean.copy_(mean)
    model.save_pretrained(tmp_path / "mad")
    loaded = MotionAdaptationDecoder.from_pretrained(tmp_path / "mad").eval()
    out = loaded(torch.randn(3, 10), torch.randn(3, 7, 6))
    torch.testing.assert_close(out, mean.expand_as(out), rtol=0, atol=0)


# -------------------------------------------------------------------------- training and resume
def write_config(tmp_path, **mad) -> Config:
    raw = {"name": "tiny", "world": "twin", "seed": 0, "subjects": ["subject1"],
           "paths": {"results": str(tmp_path / "results"), "figures": str(tmp_path / "figures")},
           "twin": {"n_subjects": 1, "frame_size": 16},
           "fmri": {"frame_size": 16, "frames_per_clip": 3},
           "priors": {"vae_downsample": 4},
           "mad": {"hidden_dim": 16, "mlp_dim": 16, "proj_channels": 4, "proj_size": 2, "block_channels": [8, 8, 8],
                   "head_dim": 4, "norm_groups": 4, "dropout": 0.0, "epochs": 2, "batch_size": 4, "lr": 1e-3,
                   **mad}}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_config(path)


def training_data(n=10):
    g = torch.Generator().manual_seed(3)
    return (torch.randn(n, 10, generator=g).numpy(), torch.randn(n, 7, 6, generator=g),
            torch.randn(n, 3, 4, 4, 4, generator=g))


def test_training_lowers_the_loss_and_resume_is_bit_identical(tmp_path, monkeypatch):
    cfg = write_config(tmp_path)
    bold, z, e = training_data()
    whole = build_mad(cfg, 10, (4, 4, 4), 6)
    log = train_mad(whole, cfg, bold, z, e, tmp_path / "whole")
    assert set(log.columns) >= {"epoch", "loss", "l1", "contrastive", "lr"} and len(log) == 6
    assert pd.read_csv(tmp_path / "whole" / "losses.csv")["loss"].tolist() == pytest.approx(log["loss"].tolist())

    calls = {"n": 0}
    real_loss = mad_module.mad_loss

    def killed_in_second_epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 4:  # 3 steps per epoch: the kill lands in epoch 2
            raise KeyboardInterrupt
        return real_loss(*args, **kwargs)

    monkeypatch.setattr(mad_module, "mad_loss", killed_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train_mad(build_mad(cfg, 10, (4, 4, 4), 6), cfg, bold, z, e, tmp_path / "killed")
    monkeypatch.setattr(mad_module, "mad_loss", real_loss)
    resumed = build_mad(cfg, 10, (4, 4, 4), 6)
    train_mad(resumed, cfg, bold, z, e, tmp_path / "killed")
    for (name, a), (_, b) in zip(whole.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name


def test_training_fits_a_learnable_target(tmp_path):
    """Latents that are a fixed function of the BOLD: L1 must fall well below its starting value."""
    cfg = write_config(tmp_path, epochs=40, lr=1e-2, batch_size=16)
    g = torch.Generator().manual_seed(0)
    bold = torch.randn(16, 10, generator=g)
    e = torch.tanh(bold @ torch.randn(10, 3 * 4 * 4 * 4, generator=g)).reshape(16, 3, 4, 4, 4)
    model = build_mad(cfg, 10, (4, 4, 4), 6, use_semantic=False)
    log = train_mad(model, cfg, bold.numpy(), torch.zeros(16, 7, 6), e, tmp_path / "fit")
    assert log["l1"].tail(4).mean() < 0.75 * log["l1"].head(4).mean()


# ------------------------------------------------------------------------------ VAE and the stage
def tiny_vae() -> AutoencoderKL:
    torch.manual_seed(0)
    return AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3,
                         up_block_types=("UpDecoderBlock2D",) * 3, block_out_channels=(8, 8, 8),
                         layers_per_block=1, latent_channels=4, norm_num_groups=4, sample_size=16).eval()


def test_vae_latent_round_trip_and_cache(tmp_path):
    vae = tiny_vae()
    frames = np.random.default_rng(0).integers(0, 256, (3, 2, 16, 16, 3), dtype=np.uint8)
    latents = target_latents(vae, frames, tmp_path / "latents_train.npy")
    assert latents.shape == (3, 2, 4, 4, 4) and latents.dtype == np.float32
    vae.save_pretrained(tmp_path / "vae")
    reloaded = AutoencoderKL.from_pretrained(tmp_path / "vae").eval()
    np.testing.assert_array_equal(target_latents(reloaded, frames, tmp_path / "other.npy"), latents)
    decoded = decode_latents(reloaded, torch.from_numpy(latents))
    assert decoded.shape == frames.shape and decoded.dtype == np.uint8
    # the cache is reused for the same VAE, and never for another one
    cache = tmp_path / "latents_train.npy"
    written = cache.stat().st_mtime_ns
    np.testing.assert_array_equal(target_latents(reloaded, frames, cache), latents)
    assert cache.stat().st_mtime_ns == written
    with torch.no_grad():
        reloaded.encoder.conv_in.weight.mul_(2.0)
    assert not np.allclose(target_latents(reloaded, frames, cache), latents)


def fake_run(cfg, n_train=8, n_test=4, n_voxels=10):
    """A prepared dataset, caption embeddings, SAD predictions and a VAE, as the upstream stages write them."""
    root = cfg.results_dir
    rng = np.random.default_rng(0)
    rows = [("train", i) for i in range(n_train)] + [("test", i) for i in range(n_test)]
    clips = pd.DataFrame({"clip_id": [f"{'seg1' if s == 'train' else 'test1'}_{i:04d}" for s, i in rows],
                          "split": [s for s, _ in rows], "segment": ["seg1" if s == "train" else "test1"
                                                                     for s, _ in rows],
                          "clip_index": [i for _, i in rows], "onset_s": [2.0 * i for _, i in rows],
                          "shot_id": [i for _, i in rows]})
    (root / "data" / "subject1").mkdir(parents=True)
    clips.to_csv(root / "data" / "clips.csv", index=False)
    for split, n in (("train", n_train), ("test", n_test)):
        np.save(root / "data" / f"frames_{split}.npy", rng.integers(0, 256, (n, 3, 16, 16, 3), dtype=np.uint8))
        np.save(root / "data" / "subject1" / f"bold_{split}.npy", rng.standard_normal((n, n_voxels), np.float32))
    (root / "embeddings").mkdir()
    np.save(root / "embeddings" / "motion_train.npy", rng.standard_normal((n_train, 7, 6), np.float32))
    (root / "sad" / "pred").mkdir(parents=True)
    np.save(root / "sad" / "pred" / "subject1_motion_refined.npy", rng.standard_normal((n_test, 7, 6), np.float32))
    tiny_vae().save_pretrained(root / "priors" / "vae")


@pytest.mark.parametrize("flow_readout", [False, True])
def test_run_mad_writes_the_contract(tmp_path, flow_readout):
    cfg = write_config(tmp_path, epochs=1, flow_readout=flow_readout)
    fake_run(cfg)
    run_mad(cfg)
    mad = cfg.results_dir / "mad"
    for suffix in ("", "_wo_motion"):
        latents = np.load(mad / "pred" / f"subject1{suffix}_latents.npy")
        blurry = np.load(mad / "pred" / f"subject1{suffix}_blurry.npy")
        assert latents.shape == (4, 3, 4, 4, 4) and latents.dtype == np.float32
        assert blurry.shape == (4, 3, 16, 16, 3) and blurry.dtype == np.uint8
        assert len(pd.read_csv(mad / "pred" / f"subject1{suffix}_losses.csv")) == 2  # 1 epoch of 8 clips / 4
        loaded = MotionAdaptationDecoder.from_pretrained(mad / f"subject1{suffix}")
        assert loaded.config.use_semantic == (suffix == "")
        semantic = None if suffix else np.load(cfg.results_dir / "sad/pred/subject1_motion_refined.npy")
        bold = np.load(cfg.results_dir / "data/subject1/bold_test.npy")
        e_hat = predict_mad(loaded, bold, semantic)
        np.testing.assert_allclose(e_hat, latents, rtol=1e-5, atol=1e-6)  # ê is MAD's own, readout or not
        if suffix == "" and flow_readout:  # the readout baseline starts from the full MAD's clip-mean latent
            moved = np.load(mad / "pred" / "subject1_flow_readout_latents.npy")
            np.testing.assert_allclose(moved[:, 0], e_hat.mean(axis=1), rtol=1e-5, atol=1e-6)
            assert np.load(mad / "pred" / "subject1_flow_readout_blurry.npy").shape == blurry.shape
    for kind in ("latents", "blurry"):  # one readout per subject (from the full MAD), only when asked for
        assert (mad / "pred" / f"subject1_flow_readout_{kind}.npy").exists() == flow_readout
        assert not (mad / "pred" / f"subject1_wo_motion_flow_readout_{kind}.npy").exists()
    assert np.load(mad / "latents_train.npy").shape == (8, 3, 4, 4, 4)
    summary = json.loads((mad / "pred" / "done.json").read_text())
    assert set(summary["subjects"]["subject1"]) == {"full", "wo_motion"}
    assert ("subject1" in summary.get("flow_readout", {})) == flow_readout
    assert summary["subjects"]["subject1"]["full"]["lambda_spat"] != 1.0  # λ were trained
    assert (mad / "pred" / "subject1_flow_readout.csv").exists() == flow_readout


def test_trainings_in_two_workers_give_the_models_of_one_process(tmp_path, one_torch_thread):
    runs = {}
    for name, workers in (("serial", 1), ("parallel", 2)):
        (tmp_path / name).mkdir()
        cfg = write_config(tmp_path / name, epochs=1, flow_readout=True)
        runs[name] = cfg.model_copy(update={"workers": workers, "torch_threads": workers})
        fake_run(runs[name])
        run_mad(runs[name])
    written = sorted((runs["serial"].results_dir / "mad" / "pred").glob("*.npy"))
    assert {p.name for p in written} >= {"subject1_latents.npy", "subject1_wo_motion_blurry.npy",
                                         "subject1_flow_readout_latents.npy"}
    for path in written:
        np.testing.assert_array_equal(np.load(runs["parallel"].results_dir / "mad" / "pred" / path.name), np.load(path))


def test_run_mad_missing_sad_prediction_names_the_file(tmp_path):
    cfg = write_config(tmp_path, epochs=1)
    fake_run(cfg)
    (cfg.results_dir / "sad" / "pred" / "subject1_motion_refined.npy").unlink()
    with pytest.raises(FileNotFoundError, match="subject1_motion_refined.npy.*train-sad"):
        run_mad(cfg)


def test_checkpoints_are_keyed_on_training_settings_not_on_the_flow_readout(tmp_path):
    vae, source = tiny_vae(), tmp_path / "bold_train.npy"
    np.save(source, np.zeros((2, 3), np.float32))
    key = lambda **mad: mad_stage._checkpoint_dir(tmp_path / "ckpt", "subject1", write_config(tmp_path, **mad),
                                                   vae, source)
    assert key(flow_readout=True) == key(flow_readout=False, flow_block=2)
    assert key(epochs=3) != key(epochs=2)
