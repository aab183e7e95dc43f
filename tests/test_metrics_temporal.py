"""EPE and CLIP-pcc: the analytic flow of a 1-pixel shift, EPE 0 for identical clips, VIFI zeroing."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from semvideo.metrics.temporal import adjacent_cosine, clip_pcc, epe, frame_change, optical_flow


def _texture(size=40, seed=0):
    """A smooth random RGB texture (Farneback needs gradients), uint8 (size, size, 3)."""
    noise = np.random.default_rng(seed).random((size, size, 3))
    smooth = gaussian_filter(noise, sigma=(2, 2, 0))
    return ((smooth - smooth.min()) / np.ptp(smooth) * 255).astype(np.uint8)


def _shifting(t=4, dx=1):
    base = _texture()
    return np.stack([np.roll(base, k * dx, axis=1) for k in range(t)])


def test_one_pixel_shift_gives_the_analytic_flow():
    frames = _shifting()
    flow = optical_flow(frames[0], frames[1])
    assert flow.shape == (40, 40, 2)
    inner = flow[8:-8, 8:-8].reshape(-1, 2)  # away from the wrapped border
    np.testing.assert_allclose(np.median(inner, axis=0), [1.0, 0.0], atol=0.05)


def test_epe_zero_for_identical_and_one_pixel_for_a_frozen_shift():
    moving = _shifting()
    frozen = np.repeat(moving[:1], len(moving), axis=0)
    assert epe(moving, moving) == 0.0
    assert epe(moving, frozen) == pytest.approx(1.0, abs=0.1)  # the missed motion: ‖(1, 0) − (0, 0)‖
    batch = epe(np.stack([moving, moving]), np.stack([moving, frozen]))
    assert batch.shape == (2,) and batch[0] == 0.0


def test_frame_change_is_zero_for_a_still_clip_and_the_mean_step_otherwise():
    still = np.repeat(_texture()[None, None], 4, axis=1)  # (1, 4, 40, 40, 3)
    ramp = np.stack([np.full((40, 40, 3), 10 * k, np.uint8) for k in range(4)])[None]  # +10 levels per frame
    np.testing.assert_allclose(frame_change(np.concatenate([still, ramp])), [0.0, 10.0])
    with pytest.raises(ValueError, match="T >= 2"):
        frame_change(still[:, :1])


def test_epe_refuses_single_frames():
    with pytest.raises(ValueError, match="T≥2"):
        epe(_shifting(t=1), _shifting(t=1))


def test_adjacent_cosine_hand_computed():
    e = np.array([[[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]]])  # cosines 0 and 1/√2
    assert adjacent_cosine(e)[0] == pytest.approx((0 + 2 ** -0.5) / 2)


def test_clip_pcc_zeroes_clips_below_the_vifi_threshold():
    recon = np.random.default_rng(0).integers(0, 256, (3, 4, 8, 8, 3), dtype=np.uint8)
    embed = lambda frames: frames.reshape(len(frames), -1).astype(float)
    raw = clip_pcc(recon, embed)
    expected = adjacent_cosine(recon.reshape(3, 4, -1).astype(float))
    np.testing.assert_allclose(raw, expected)
    zeroed = clip_pcc(recon, embed, vifi=np.array([0.59, 0.6, 0.9]), threshold=0.6)
    assert zeroed[0] == 0.0 and zeroed[1] == raw[1] and zeroed[2] == raw[2]
