"""Caption following read from motion: a moving texture reads back as the direction it moves."""

import numpy as np
import pandas as pd
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


class _PixelJudge:
    """A stand-in twin judge with heads (colour: 2, shape: 3): a frame's red value r in 0..5 is its joint class
    (one-hot), so the test can write what the judge sees."""

    kind = "image"

    class model:  # mimics TwinJudgeRunner.model
        head_sizes = (2, 3)

        class config:
            head_names = ("colour", "shape")

    def __call__(self, frames):
        return np.eye(6)[np.asarray(frames)[:, 0, 0, 0]]


def _clips(classes):
    """uint8 clips (N, T, 2, 2, 3) whose frames carry the joint classes ``classes`` (N, T) in their red value."""
    clips = np.zeros((*np.shape(classes), 2, 2, 3), np.uint8)
    clips[..., 0] = np.asarray(classes)[..., None, None]
    return clips


def test_judge_following_averages_frames_per_clip_and_tests_against_the_majority():
    # joint class = 3 * colour + shape; 20 clips of colour 0 / shape 1 (class 1), the judge sees class 1 then 4
    labels = np.tile([[0, 1]], (20, 1))
    table = following.judge_following(_PixelJudge(), _clips([[1, 4]] * 20), labels, "samples").set_index("attribute")
    # frame mean: 0.5 on classes 1 and 4 → argmax class 1 → colour 0, shape 1: every clip right on both heads
    assert table.loc["colour", "accuracy"] == 1.0 and table.loc["shape", "accuracy"] == 1.0
    # every label is the same, so chance is 1.0 and nothing can beat it
    assert table.loc["colour", "chance"] == 1.0 and not table["follows"].any()
    labels = np.array([[c, s] for c in (0, 1) for s in (0, 1, 2)] * 4)  # 24 clips, balanced
    seen = [[3 * c + s, 3 * c + s] for c, s in labels[:12]] + [[3 * (1 - c) + s] * 2 for c, s in labels[12:]]
    table = following.judge_following(_PixelJudge(), _clips(seen), labels, "samples").set_index("attribute")
    assert table.loc["shape", "accuracy"] == 1.0 and table.loc["shape", "chance"] == pytest.approx(1 / 3)
    assert table.loc["colour", "accuracy"] == 0.5 and table.loc["colour", "chance"] == 0.5
    assert table.loc["shape", "follows"] and not table.loc["colour", "follows"]
    assert table.loc["shape", "p"] == pytest.approx((1 / 3) ** 24)  # binomial: all 24 right at p0 = 1/3


def test_share_of_reference_divides_by_the_real_frames_accuracy():
    table = following.share_of_reference(pd.DataFrame({
        "source": ["real", "real", "t2i", "t2i", "t2v"], "attribute": ["colour", "shape", "colour", "shape", "motion"],
        "accuracy": [0.8, 1.0, 0.72, 0.5, 0.9]}), "real")
    assert table["share_of_real"].iloc[:4].tolist() == pytest.approx([1.0, 1.0, 0.9, 0.5])
    assert np.isnan(table["share_of_real"].iloc[4])


def test_following_table_scores_every_source_against_the_real_clips():
    labels = np.array([[c, s] for c in (0, 1) for s in (0, 1, 2)] * 4)  # 24 clips, balanced
    right = [[3 * c + s] * 2 for c, s in labels]
    wrong_colour = [[3 * (1 - c) + s] * 2 for c, s in labels]
    sources = {"real": _clips(right), "vae": _clips(right[:12] + wrong_colour[12:]),
               "t2i": _clips(right)[:, 0]}  # T2I: one frame per clip
    table = following.following_table(sources, {"image": _PixelJudge()}, {"image": labels}, ["rotate"] * 24,
                                      {"vae": 0.9, "t2i": 0.8}).set_index(["source", "attribute"])
    assert set(table["judge"]) == {"image"}  # no translating motion: no flow rows
    assert table.loc[("vae", "colour"), "share_of_real"] == 0.5 and not table.loc[("vae", "colour"), "meets"]
    assert table.loc[("vae", "shape"), "meets"] and table.loc[("t2i", "colour"), "meets"]
    assert table["meets"].isna().loc["real"].all()  # the reference has no target
    rng = np.random.default_rng(2)
    motions = ["left", "right"] * 6
    moving = np.stack([_moving_clip(tuple(int(v) for v in following.DIRECTIONS[m]), rng) for m in motions])
    flows = following.following_table({"real": moving, "still": np.repeat(moving[:, :1], 4, axis=1)}, {}, {},
                                      motions, {"still": 0.8}).set_index("source")
    assert (flows["judge"] == "flow").all() and flows.loc["real", "accuracy"] == 1.0
    assert flows.loc["real", "meets"] and not flows.loc["still", "meets"]  # motion direction: meets = follows
