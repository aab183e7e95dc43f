"""mp4 round trip, clear errors for bad videos, and the clip → frame sampling rule."""

import numpy as np
import pytest

from semvideo.data.video import (
    clip_frame_indices,
    read_frames,
    read_video,
    resize_frames,
    video_meta,
    write_video,
)


def _moving_square(n=30, size=32):
    frames = np.zeros((n, size, size, 3), np.uint8)
    for t in range(n):
        frames[t, 8:16, t % (size - 8):(t % (size - 8)) + 8] = (255, 40, 40)
    return frames


def test_mp4_round_trip_is_exact_and_repeatable(tmp_path):
    rng = np.random.default_rng(0)
    frames = np.clip(_moving_square() + rng.integers(0, 40, (30, 32, 32, 3)), 0, 255).astype(np.uint8)
    for name in ("a.mp4", "b.mp4"):  # writes interleaved with reads, as generate-twin and prepare do
        write_video(tmp_path / name, frames, fps=30)
        np.testing.assert_array_equal(read_video(tmp_path / name), frames)  # lossless, textured frames too
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    assert video_meta(tmp_path / "a.mp4")["fps"] == 30


def test_bad_videos_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        read_video(tmp_path / "missing.mp4")
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00 ftypisom not really a video")
    with pytest.raises(ValueError, match="broken.mp4.*cannot decode"):
        read_video(tmp_path / "broken.mp4")
    with pytest.raises(ValueError, match="uint8"):
        write_video(tmp_path / "x.mp4", np.zeros((2, 8, 8, 3), np.float32), fps=30)
    assert not (tmp_path / "x.mp4").exists()


def test_clip_frame_indices_are_3fps_bin_centres():
    np.testing.assert_array_equal(clip_frame_indices(0, 2.0, 30, 6), [5, 15, 25, 35, 45, 55])
    np.testing.assert_array_equal(clip_frame_indices(2, 2.0, 30, 6), np.array([5, 15, 25, 35, 45, 55]) + 120)
    # HCP: 1-second clips
    assert clip_frame_indices(1, 1.0, 30, 3).tolist() == [35, 45, 55]


def test_resize_keeps_batch_shape_and_mean_colour():
    frames = np.full((2, 3, 64, 64, 3), 100, np.uint8)
    small = resize_frames(frames, 16)
    assert small.shape == (2, 3, 16, 16, 3) and (small == 100).all()


def test_read_frames_matches_read_video_and_reports_truncation(tmp_path):
    frames = _moving_square(n=40)
    write_video(tmp_path / "v.mp4", frames, fps=30)
    every = read_video(tmp_path / "v.mp4")
    index = np.array([[1, 5], [30, 39]])
    np.testing.assert_array_equal(read_frames(tmp_path / "v.mp4", index), every[index])
    with pytest.raises(ValueError, match="has 40 frames, but frame 45 is needed"):
        read_frames(tmp_path / "v.mp4", np.array([3, 45]))
    (tmp_path / "broken.mp4").write_bytes(b"junk")
    with pytest.raises(ValueError, match="broken.mp4.*cannot decode"):
        read_frames(tmp_path / "broken.mp4", np.array([0]))
