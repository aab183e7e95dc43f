"""Caption following read from motion: a moving texture reads back as the direction it moves."""

import numpy as np
import pytest

from semvideo.metrics import following


def _moving_clip(direction: tuple[int, int], rng, frames: int = 4, size: int = 48) -> np.ndarray:
    """A random texture shifted by 2 px per frame along ``direction`` (dx, dy), uint8 (T, H, W, 3)."""
    texture = rng.integers(0, 256, (size // 4, size // 4, 3)).repeat(4, 0).repeat(4, 1).astype(np.uint8)
    return np.stack([np.roll(texture, (2 * k * direction[1], 2 * k * direction[0]), axis=(0, 1))
                     for k in range(frames)])


def test_mean_flow_reads_each_direction_of_a_moving_texture():
    rng = np.random.default_rng(0)
    names = ["left", "right", "up", "down"]
    clips = np.stack([_moving_clip(tuple(int(v) for v in following.DIRECTIONS[n]), rng) for n in names])
    flow = following.mean_flow(clips)
    assert flow.shape == (4, 2)
    assert np.all(np.abs(flow[[0, 1], 0]) > 1.0) and np.all(np.abs(flow[[2, 3], 1]) > 1.0)  # ≈ 2 px per pair
    assert list(following.read_direction(flow)) == names


def test_following_counts_only_translations_and_tests_against_the_majority_rate():
    rng = np.random.default_rng(1)
    motions = ["left"] * 6 + ["up"] * 4 + ["rotate"] * 3
    clips = np.stack([_moving_clip(tuple(int(v) for v in following.DIRECTIONS.get(m, (0, 0))), rng)
                      for m in motions])
    row = following.motion_direction_following(clips, motions, "truth")
    assert row["n"] == 10 and row["chance"] == pytest.approx(0.6)
    assert row["accuracy"] == 1.0 and row["p"] == pytest.approx(0.6 ** 10) and row["follows"]
    still = np.repeat(clips[:, :1], 4, axis=1)  # no motion: every clip reads the same direction
    assert following.motion_direction_following(still, motions, "still")["accuracy"] <= 0.6
    with pytest.raises(ValueError, match="translating"):
        following.motion_direction_following(clips[10:], motions[10:], "none")
