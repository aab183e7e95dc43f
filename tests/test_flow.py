"""The flow readout: block means, moving a latent along a flow, and fitting the BOLD → flow ridge."""

from __future__ import annotations

import numpy as np
import pytest

from semvideo.metrics.temporal import clip_flows
from semvideo.models.flow import (
    ALPHAS,
    THRESHOLDS,
    block_means,
    fit_flow_readout,
    move_latents,
    stimulus_flows,
)


def texture(size=32, seed=0):
    """uint8 (size, size, 3): smooth random texture that Farneback can track."""
    import cv2

    noise = np.random.default_rng(seed).uniform(0, 255, (size, size, 3)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 1.5) * 3 - 255, 0, 255).astype(np.uint8)


def test_block_means_average_each_block_and_reject_a_bad_block():
    flows = np.arange(2 * 4 * 4 * 2, dtype=np.float32).reshape(1, 2, 4, 4, 2)
    means = block_means(flows, 2)
    assert means.shape == (1, 2, 2, 2, 2)
    np.testing.assert_allclose(means[0, 1, 1, 0], flows[0, 1, 2:, :2].mean(axis=(0, 1)))
    with pytest.raises(ValueError, match="flow_block"):
        block_means(flows, 3)


def test_zero_flow_keeps_the_still_in_every_frame():
    still = np.random.default_rng(0).standard_normal((2, 4, 8, 8)).astype(np.float32)
    moved = move_latents(still, np.zeros((2, 5, 32, 32, 2), np.float32))
    assert moved.shape == (2, 6, 4, 8, 8)
    np.testing.assert_array_equal(moved, np.repeat(still[:, None], 6, axis=1))


def test_a_uniform_flow_shifts_the_latent_by_its_length_over_the_scale():
    still = np.random.default_rng(0).standard_normal((1, 4, 8, 8)).astype(np.float32)
    flows = np.zeros((1, 2, 32, 32, 2), np.float32)
    flows[..., 0] = 4.0  # 4 pixels right per pair = 1 latent cell at 32 → 8
    moved = move_latents(still, flows)
    np.testing.assert_allclose(moved[0, 1, :, :, 1:], still[0, :, :, :-1], atol=1e-5)
    np.testing.assert_allclose(moved[0, 2, :, :, 2:], still[0, :, :, :-2], atol=1e-5)


def test_moved_frames_carry_the_flow_farneback_measures():
    """Same sign convention both ways: a texture moved along +2 px in x reads back as +2 px in x."""
    still = texture()[None].transpose(0, 3, 1, 2).astype(np.float32)  # an RGB "latent" at frame size
    flows = np.zeros((1, 3, 32, 32, 2), np.float32)
    flows[..., 0] = 2.0
    frames = np.clip(move_latents(still, flows)[0].transpose(0, 2, 3, 1), 0, 255).round().astype(np.uint8)
    measured = stimulus_flows(frames[None])[0][:, 8:-8, 8:-8]  # away from the reflected border
    np.testing.assert_allclose(measured.mean(axis=(0, 1, 2)), [2.0, 0.0], atol=0.2)
    np.testing.assert_allclose(stimulus_flows(frames[None])[0], clip_flows(frames))


def test_the_readout_recovers_a_planted_linear_flow_map():
    rng = np.random.default_rng(0)
    bold = rng.standard_normal((300, 20))
    weights = rng.standard_normal((20, 2 * 2 * 2 * 2)) * 0.5
    blocks = (bold @ weights).reshape(300, 2, 2, 2, 2)
    flows = blocks.repeat(4, axis=2).repeat(4, axis=3).astype(np.float32)  # (N, 2 pairs, 8, 8, 2)
    readout = fit_flow_readout(bold[:250], flows[:250], block=4)
    guess = readout.predict(bold[250:])
    assert guess.shape == (50, 2, 8, 8, 2)
    error = np.linalg.norm(guess - flows[250:], axis=-1).mean() / np.linalg.norm(flows[250:], axis=-1).mean()
    assert error < 0.1
    assert readout.alpha == readout.scores["alpha"].min()  # the least penalty fits a noiseless map best
    assert len(readout.scores) == len(ALPHAS) * len(THRESHOLDS)


def test_the_readout_predicts_no_motion_where_the_bold_says_nothing():
    """Flows unrelated to the BOLD: the held-out tenth picks a threshold that zeroes almost every vector."""
    rng = np.random.default_rng(1)
    bold = rng.standard_normal((400, 30))
    flows = np.zeros((400, 1, 8, 8, 2), np.float32)
    moving = rng.random(400) < 0.3
    flows[moving, :, :4] = rng.choice([-1.5, 1.5], size=(moving.sum(), 1, 1, 1, 2))  # a random half moves
    readout = fit_flow_readout(bold, flows, block=4)
    best = readout.scores["held_out_epe"].min()
    assert best <= readout.scores["zero_flow_epe"].iloc[0] + 1e-9
    assert (np.linalg.norm(readout.predict(rng.standard_normal((100, 30))), axis=-1) > 0).mean() < 0.1


def test_the_readout_rejects_bold_and_flow_of_different_clips():
    with pytest.raises(ValueError, match="same"):
        fit_flow_readout(np.zeros((5, 3)), np.zeros((4, 1, 8, 8, 2), np.float32))
