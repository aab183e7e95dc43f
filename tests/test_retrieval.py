"""Top-k retrieval: hand-checked ranks, perfect and reversed predictions, chance level."""

import numpy as np
import pytest

from semvideo.retrieval import (
    centroid_readout,
    chance_level,
    retrieval_ranks,
    similarity_matrix,
    topk_accuracy,
)


def test_similarity_is_cosine_of_flattened_rows():
    pred = np.array([[[3.0, 4.0]], [[1.0, 0.0]]])  # (2, 1, 2)
    true = np.array([[[6.0, 8.0]], [[0.0, 2.0]]])
    np.testing.assert_allclose(similarity_matrix(pred, true), [[1.0, 0.8], [0.6, 0.0]])


def test_ranks_by_hand():
    sim = np.array([[0.9, 0.1, 0.5],
                    [0.7, 0.2, 0.8],   # two candidates beat the right one
                    [0.3, 0.3, 0.3]])  # a tie goes to the right clip
    np.testing.assert_array_equal(retrieval_ranks(sim), [0, 2, 0])


def test_topk_perfect_shuffled_and_chance():
    rng = np.random.default_rng(0)
    true = rng.normal(size=(50, 7, 4))
    assert topk_accuracy(true + 0.01 * rng.normal(size=true.shape), true) == {1: 1.0, 5: 1.0}
    shifted = np.roll(true, 1, axis=0)  # every prediction belongs to another clip
    assert topk_accuracy(shifted, true, ks=(1,))[1] == 0.0
    random = np.mean([topk_accuracy(rng.normal(size=true.shape), true, ks=(5,))[5] for _ in range(40)])
    assert random == pytest.approx(chance_level(50, 5), abs=0.03)
    assert chance_level(50, 1) == 0.02 and chance_level(3, 5) == 1.0


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="same level"):
        similarity_matrix(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="align both"):
        topk_accuracy(np.zeros((2, 3)), np.zeros((3, 3)))


def test_centroid_readout_reads_the_direction_not_the_scale():
    """Labels live on orthogonal directions around an offset: a prediction shrunk 10× towards the training mean
    (as an MSE-trained decoder's are) reads the same label; one pointing elsewhere reads another; noise alone
    reads about chance."""
    rng = np.random.default_rng(0)
    directions = np.eye(3, 12) * 5.0
    labels = np.array(["star", "heart", "moon"] * 20)
    train = 2.0 + directions[np.arange(60) % 3] + 0.3 * rng.standard_normal((60, 12))
    train = train.reshape(60, 3, 4)  # any trailing shape (tokens × dimensions) is flattened
    mean = train.reshape(60, -1).mean(axis=0)
    shrunk = mean + 0.1 * (directions[[2, 0, 1]] + 0.3 * rng.standard_normal((3, 12)))
    assert list(centroid_readout(shrunk.reshape(3, 3, 4), train, labels)) == ["moon", "star", "heart"]
    noise = mean + rng.standard_normal((300, 12))
    assert abs(np.mean(centroid_readout(noise, train, labels) == "star") - 1 / 3) < 0.1
