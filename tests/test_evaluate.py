"""Table 1's per-clip scores: known answers for a perfect reconstruction, and the ridge baseline."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from semvideo.config import EvalConfig
from semvideo.metrics.evaluate import METRICS, clip_scores
from semvideo.models.baselines import ridge_reconstruction
from semvideo.models.priors import build_vae, decode_latents


class ColourJudge:
    """A deterministic stand-in judge: 60 classes from coarse colour statistics of frames or clips."""

    def _stats(self, frames):
        frames = np.asarray(frames, np.float64)
        return frames.reshape(len(frames), -1, 3).mean(1) / 255.0  # frames (B, H, W, 3) or clips (B, T, H, W, 3)

    def __call__(self, frames):
        logits = np.sin(self._stats(frames) @ np.arange(1, 181).reshape(3, 60))  # (B, 60)
        e = np.exp(5 * logits)
        return e / e.sum(1, keepdims=True)

    def features(self, frames):
        return np.concatenate([self._stats(frames), np.cos(self._stats(frames))], 1)


def _clips(n=6, t=4, size=24, seed=0):
    rng = np.random.default_rng(seed)
    clips = np.zeros((n, t, size, size, 3), np.uint8)
    for i in range(n):
        clips[i] = rng.integers(0, 256, 3)  # a flat colour per clip …
        for f in range(t):
            clips[i, f, 6:14, 2 + 2 * f: 10 + 2 * f] = 255  # … with a square moving right
    return clips


def test_a_perfect_reconstruction_gets_the_best_scores():
    truth = _clips()
    judge = ColourJudge()
    judges = SimpleNamespace(image=judge, video=judge, vifi=judge, clip=judge)
    scores = clip_scores(truth, truth.copy(), judges, EvalConfig(n_trials=20), np.random.default_rng(0))
    assert list(scores.columns) == list(METRICS) and len(scores) == len(truth)
    assert (scores[["2-way-I", "50-way-I", "2-way-V", "50-way-V"]] == 1).all().all()
    np.testing.assert_allclose(scores[["VIFI", "SSIM", "Hue-pcc"]], 1, atol=1e-9)
    assert (scores["PSNR"] == 100).all() and (scores["EPE"] == 0).all()
    noise = np.random.default_rng(1).integers(0, 256, truth.shape, dtype=np.uint8)
    worse = clip_scores(truth, noise, judges, EvalConfig(n_trials=20), np.random.default_rng(0))
    assert (worse["SSIM"] < 0.2).all() and (worse["EPE"] > 0).all() and (worse["PSNR"] < 20).all()


def test_ridge_baseline_recovers_a_linear_code():
    torch.manual_seed(0)
    vae = build_vae(frame_size=16, latent_channels=4, downsample=4, width=8).eval()
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(40, 2 * 4 * 4 * 4))
    bold = rng.normal(size=(300, 40))
    latents = (bold @ mixing).reshape(300, 2, 4, 4, 4).astype(np.float32)
    recon = ridge_reconstruction(bold[:250], latents[:250], bold[250:], vae)
    assert recon.shape == (50, 2, 16, 16, 3) and recon.dtype == np.uint8
    expected = decode_latents(vae, latents[250:])
    assert np.abs(recon.astype(int) - expected).mean() < 3  # the linear code is recovered, up to ridge shrinkage


def test_mismatched_pairs_every_clip_with_another_half_the_test_set_away():
    from semvideo.metrics.evaluate import mismatched

    order = mismatched(7)
    assert sorted(order) == list(range(7)) and (order != np.arange(7)).all()  # a permutation without fixed points
    assert order.tolist() == [4, 5, 6, 0, 1, 2, 3]
    truth = _clips()
    judge = ColourJudge()
    judges = SimpleNamespace(image=judge, video=judge, vifi=judge, clip=judge)
    chance = clip_scores(truth, truth[mismatched(len(truth))], judges, EvalConfig(n_trials=20),
                         np.random.default_rng(0))
    assert chance["SSIM"].mean() < 0.99 and (chance["PSNR"] < 100).all()  # the truth of another clip is not this one
    with pytest.raises(ValueError, match="at least 2"):
        mismatched(1)


def test_pairing_matrices_diagonal_is_the_n_way_score_and_the_null_table_pools_subjects():
    from semvideo.metrics.evaluate import judge_readout, pairing_matrices, pairing_null_table

    truth = _clips()
    judge = ColourJudge()
    judges = SimpleNamespace(image=judge, video=judge, vifi=judge, clip=judge)
    truth_read = judge_readout(judges, truth)
    assert truth_read["I"].shape == (6, 4, 60) and truth_read["V"].shape == (6, 60)
    own = pairing_matrices(truth_read, judge_readout(judges, truth.copy()), [2, 50])
    assert sorted(own) == ["2-way-I", "2-way-V", "50-way-I", "50-way-V"]
    assert all(np.allclose(np.diag(m), 1) for m in own.values())  # a perfect reconstruction wins every trial
    scores = clip_scores(truth, truth[::-1].copy(), judges, EvalConfig(n_trials=2000), np.random.default_rng(0))
    reversed_ = pairing_matrices(truth_read, judge_readout(judges, truth[::-1].copy()), [2])
    np.testing.assert_allclose(np.diag(reversed_["2-way-V"]), scores["2-way-V"], atol=0.04)
    table = pairing_null_table({"s1": {f"Perfect|{k}": v for k, v in own.items()},
                                "s2": {"Perfect|2-way-I": own["2-way-I"]}}, 200, np.random.default_rng(0))
    assert table[["method", "metric"]].values.tolist()[:2] == [["Perfect", "2-way-I"], ["Perfect", "2-way-V"]]
    assert table.set_index("metric").loc["2-way-I", "subjects"] == 2 and (table["matched"] == 1).all()
    assert (table["p_above"] < 0.05).all()


def test_clip_scores_from_readouts_judged_once_equal_the_scores_judged_inside():
    from semvideo.metrics.evaluate import judge_readout

    truth, recon = _clips(), _clips(seed=1)
    judge = ColourJudge()
    judges = SimpleNamespace(image=judge, video=judge, vifi=judge, clip=judge)
    inside = clip_scores(truth, recon, judges, EvalConfig(n_trials=20), np.random.default_rng(0))
    reused = clip_scores(truth, recon, judges, EvalConfig(n_trials=20), np.random.default_rng(0),
                         truth_readout=judge_readout(judges, truth), recon_readout=judge_readout(judges, recon))
    assert 0 < inside["2-way-V"].mean() < 1  # the recon is neither the truth nor nothing
    np.testing.assert_array_equal(inside.to_numpy(), reused.to_numpy())
    with pytest.raises(ValueError, match=r"\(N, T, H, W, 3\)"):
        judge_readout(judges, truth[0])
