"""SSIM, PSNR and Hue-pcc: identical clips, hand-computed values, reference conventions, shapes and bad input."""

import cv2
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from semvideo.metrics.pixel import hue_pcc, mean_frame, psnr, ssim


def _clips(n=2, t=3, size=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, t, size, size, 3), dtype=np.uint8)


def test_identical_clips_score_perfectly():
    clips = _clips()
    np.testing.assert_allclose(ssim(clips, clips), 1.0)
    np.testing.assert_array_equal(psnr(clips, clips), 100.0)
    np.testing.assert_allclose(hue_pcc(clips, clips), 1.0)


def test_psnr_known_value_and_frame_averaging():
    truth = np.zeros((2, 8, 8, 3), np.uint8)
    recon = truth.copy()
    recon[0] += 10  # MSE 100 → 20·log10(255/10) = 28.13 dB; frame 1 identical → 100 dB
    expected = (20 * np.log10(255 / 10) + 100.0) / 2
    assert psnr(truth, recon) == pytest.approx(expected)
    assert psnr(truth, recon).shape == ()  # one clip → a 0-d result


def test_ssim_matches_skimage_per_frame_mean():
    truth, recon = _clips(seed=1), _clips(seed=2)
    frame = [structural_similarity(a, b, data_range=255, channel_axis=-1)
             for a, b in zip(truth[1], recon[1])]
    assert ssim(truth, recon).shape == (2,)
    assert ssim(truth, recon)[1] == pytest.approx(np.mean(frame))
    assert ssim(truth, recon)[1] < 0.2  # unrelated noise


def test_hue_is_a_per_pixel_cosine():
    # Two pure hues: red (OpenCV hue 0) and green (60), blue (120), half/half in each frame.
    truth = np.zeros((1, 4, 4, 3), np.uint8)
    truth[0, :, :2] = (0, 255, 0)   # green, h = 60
    truth[0, :, 2:] = (0, 0, 255)   # blue,  h = 120
    recon = truth.copy()
    recon[0, :, 2:] = (0, 255, 0)   # all green
    h_t = np.array([60, 120] * 8, float)
    h_r = np.full(16, 60.0)
    expected = h_t @ h_r / np.linalg.norm(h_t) / np.linalg.norm(h_r)
    assert hue_pcc(truth, recon) == pytest.approx(expected)
    # invariant to brightness (value) changes that keep the hue
    assert hue_pcc(truth, (truth // 2)) == pytest.approx(1.0)


def test_hue_reference_channel_order_is_reproducible():
    truth, recon = _clips(seed=3), _clips(seed=4)
    # Mind-Animator applies COLOR_BGR2HSV to RGB arrays: the same as our RGB conversion of swapped channels.
    frame_t, frame_r = truth[0, 0], recon[0, 0]
    h_t = cv2.cvtColor(frame_t, cv2.COLOR_BGR2HSV)[..., 0].ravel() / 360.0
    h_r = cv2.cvtColor(frame_r, cv2.COLOR_BGR2HSV)[..., 0].ravel() / 360.0
    reference = h_t @ h_r / np.linalg.norm(h_t) / np.linalg.norm(h_r)
    ours = hue_pcc(truth[0, :1, ..., ::-1], recon[0, :1, ..., ::-1])
    assert ours == pytest.approx(reference)


def test_grey_frames_have_defined_hue_scores():
    grey = np.full((1, 2, 8, 8, 3), 128, np.uint8)
    coloured = np.zeros_like(grey)
    coloured[...] = (0, 0, 255)
    assert hue_pcc(grey, grey)[0] == 1.0
    assert hue_pcc(grey, coloured)[0] == 0.0


def test_bad_input_is_refused():
    clips = _clips()
    with pytest.raises(ValueError, match="same shape"):
        psnr(clips, clips[:1])
    with pytest.raises(ValueError, match="uint8"):
        ssim(clips.astype(np.float32), clips.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(\.\.\., T, H, W, 3\)"):
        hue_pcc(clips[0, 0], clips[0, 0])


def test_mean_frame_is_the_rounded_mean_over_every_clip_and_frame():
    frames = np.zeros((2, 3, 4, 4, 3), np.uint8)
    frames[0, 0] = 255  # one frame of six is white: mean 42.5 rounds to 42 (half to even)
    frames[1, 2, 0, 0] = [6, 12, 18]
    expected = np.full((4, 4, 3), 42, np.uint8)
    expected[0, 0] = np.round((255 + np.array([6, 12, 18])) / 6)
    np.testing.assert_array_equal(mean_frame(frames), expected)
    assert mean_frame(frames).dtype == np.uint8
