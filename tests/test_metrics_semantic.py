"""N-way top-1 (reference protocol, perfect → 1, noise → analytic chance), image/video wrappers and VIFI."""

import numpy as np
import pytest

from semvideo.metrics.semantic import image_n_way, mean_sem, n_way_chance, n_way_top1, video_n_way, vifi_score


def _probs(n, k, seed):
    p = np.random.default_rng(seed).random((n, k))
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("n_way", [2, 50])
def test_perfect_reconstruction_scores_one(n_way):
    truth = _probs(20, 100, 0)
    acc = n_way_top1(truth, truth, n_way, 100, np.random.default_rng(0))
    np.testing.assert_array_equal(acc, 1.0)


@pytest.mark.parametrize("n_way", [2, 50])
def test_noise_scores_the_analytic_chance(n_way):
    truth, noise = _probs(400, 108, 1), _probs(400, 108, 2)
    acc = n_way_top1(truth, noise, n_way, 100, np.random.default_rng(0))
    chance = n_way_chance(n_way)  # 3/(n+2): 0.75 for 2-way, 3/52 for 50-way
    assert acc.mean() == pytest.approx(chance, abs=0.03)
    one_truth = n_way_top1(truth, noise, n_way, 100, np.random.default_rng(0), n_truth=1)
    assert one_truth.mean() == pytest.approx(1 / n_way, abs=0.03)


def test_protocol_hand_case_and_ties_fail():
    # Truth top-3 = classes {0, 1, 2}; the reconstruction ranks class 2 first except for class 3.
    truth = np.array([[0.5, 0.3, 0.2, 0.0, 0.0]])
    recon = np.array([[0.0, 0.1, 0.3, 0.4, 0.2]])
    # 2-way: distractor 3 (beats every truth class) or 4 (loses to class 2), each half of the time.
    acc = n_way_top1(truth, recon, 2, 4000, np.random.default_rng(0))
    assert acc[0] == pytest.approx(0.5, abs=0.03)
    # 3-way draws both distractors: class 3 always present → never a success
    assert n_way_top1(truth, recon, 3, 50, np.random.default_rng(0))[0] == 0.0
    flat = np.full((1, 5), 0.2)
    assert n_way_top1(truth, flat, 2, 50, np.random.default_rng(0))[0] == 0.0  # ties count as failures


def test_seeded_and_refuses_too_few_classes():
    truth, recon = _probs(5, 60, 3), _probs(5, 60, 4)
    a = n_way_top1(truth, recon, 50, 100, np.random.default_rng(7))
    b = n_way_top1(truth, recon, 50, 100, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="only 20 classes.*≥ 52"):
        n_way_top1(_probs(2, 20, 0), _probs(2, 20, 1), 50, 10, np.random.default_rng(0))


class _ColourJudge:
    """A toy judge: class = which channel dominates (3 colours × 12 brightness bins = 36 classes)."""

    def __call__(self, frames):
        mean = frames.reshape(len(frames), -1, 3).mean(axis=1)  # images or whole clips alike
        logits = np.concatenate([np.outer(mean[:, c], np.linspace(-1, 1, 12)) for c in range(3)], axis=1)
        e = np.exp(logits / 20)
        return e / e.sum(axis=1, keepdims=True)

    def features(self, frames):
        return frames.reshape(len(frames), -1, 3).mean(axis=1).astype(float)


def test_image_and_video_wrappers_shape_and_perfect_score():
    clips = np.random.default_rng(0).integers(0, 256, (4, 3, 8, 8, 3), dtype=np.uint8)
    judge = _ColourJudge()
    image = image_n_way(judge, clips, clips, 2, 20, np.random.default_rng(0))
    video = video_n_way(judge, clips, clips, 2, 20, np.random.default_rng(0))
    assert image.shape == video.shape == (4,)
    np.testing.assert_array_equal(image, 1.0)
    np.testing.assert_array_equal(video, 1.0)


def test_vifi_is_the_feature_cosine():
    clips = np.random.default_rng(0).integers(0, 256, (3, 2, 4, 4, 3), dtype=np.uint8)
    judge = _ColourJudge()
    np.testing.assert_allclose(vifi_score(judge.features, clips, clips), 1.0)
    swapped = clips[..., ::-1]
    a, b = judge.features(clips), judge.features(swapped)
    expected = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(vifi_score(judge.features, clips, swapped), expected)


def test_mean_sem():
    assert mean_sem(np.array([1.0, 2.0, 3.0])) == pytest.approx((2.0, 1 / np.sqrt(3)))


def test_expected_n_way_is_the_limit_of_the_trials():
    from semvideo.metrics.semantic import n_way_expected

    rng = np.random.default_rng(0)
    truth, recon = rng.random((5, 20)), rng.random((5, 20))
    recon[0, :6] = 0.5  # ties with the best truth class fail, in both
    for n_way in (2, 5):
        expected = n_way_expected(truth, recon, n_way)
        assert expected.shape == (5, 5)
        np.testing.assert_allclose(np.diag(expected), n_way_top1(truth, recon, n_way, 100_000, rng), atol=0.006)
        # column j against row i is reconstruction j scored as if it were clip i's
        np.testing.assert_allclose(expected[1, 3], n_way_top1(truth[[1]], recon[[3]], n_way, 100_000, rng)[0],
                                   atol=0.006)


def test_expected_n_way_hand_case():
    from semvideo.metrics.semantic import n_way_expected

    truth = np.array([[6, 5, 4, 3, 2, 1.0]])  # truth classes 0, 1, 2; three others
    recon = np.array([[0.5, 0.1, 0.2, 0.6, 0.0, 0.05],  # one other beats the best truth class (0.5): a = 1
                      [0.9, 0.1, 0.2, 0.6, 0.3, 0.05]])  # none does
    np.testing.assert_allclose(n_way_expected(truth, recon, 2), [[2 / 3, 1.0]])  # 2 of 3 single distractors miss it
    np.testing.assert_allclose(n_way_expected(truth, recon, 3), [[(2 / 3) * (1 / 2), 1.0]])  # both draws must miss
    np.testing.assert_allclose(n_way_expected(truth, recon, 4), [[0.0, 1.0]])  # three draws take every other class
    with pytest.raises(ValueError, match="distractors"):
        n_way_expected(truth, recon, 5)
