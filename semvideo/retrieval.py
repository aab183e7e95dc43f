"""Top-k retrieval of predicted embeddings among the true embeddings of all test clips (SAD, notebook 03).

For clip i, the prediction Ẑ_i is compared (cosine similarity of the flattened 77×D embedding) with the true
embedding Z_j of every test clip j; the retrieval succeeds at k when fewer than k other clips score strictly
higher than the right one (ties go to the right clip, e.g. two clips with identical captions). Chance level
for N candidates is k / N.
"""

from __future__ import annotations

import numpy as np

__all__ = ["centroid_reader", "centroid_readout", "chance_level", "retrieval_ranks", "similarity_matrix", "topk_accuracy"]


def similarity_matrix(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Cosine similarity of every prediction with every true embedding.

    Parameters
    ----------
    pred, true
        float arrays (N, ...) and (M, ...) with the same trailing shape (e.g. (N, 77, D)); flattened per row.

    Returns
    -------
    numpy.ndarray
        float64 (N, M); entry (i, j) = cos(pred_i, true_j).
    """
    pred = np.asarray(pred, dtype=np.float64).reshape(len(pred), -1)
    true = np.asarray(true, dtype=np.float64).reshape(len(true), -1)
    if pred.shape[1] != true.shape[1]:
        raise ValueError(f"predictions have {pred.shape[1]} values per row but targets {true.shape[1]}; "
                         "compare embeddings of the same level and model")
    pred = pred / np.maximum(np.linalg.norm(pred, axis=1, keepdims=True), 1e-12)
    true = true / np.maximum(np.linalg.norm(true, axis=1, keepdims=True), 1e-12)
    return pred @ true.T


def retrieval_ranks(similarity: np.ndarray) -> np.ndarray:
    """0-based rank of the right candidate in each row of a square similarity matrix.

    Parameters
    ----------
    similarity
        (N, N); row i = one prediction, column i = its right candidate.

    Returns
    -------
    numpy.ndarray
        int (N,): how many candidates score strictly higher than the right one (0 = retrieved first).
    """
    similarity = np.asarray(similarity)
    if similarity.ndim != 2 or similarity.shape[0] != similarity.shape[1]:
        raise ValueError(f"retrieval needs a square similarity matrix, got shape {similarity.shape}")
    right = np.diag(similarity)[:, None]
    return (similarity > right).sum(axis=1)


def topk_accuracy(pred: np.ndarray, true: np.ndarray, ks: tuple[int, ...] = (1, 5)) -> dict[int, float]:
    """Fraction of clips whose right true embedding is among the top k of all N test clips.

    Parameters
    ----------
    pred, true
        (N, ...) predicted and true embeddings, row i of each belonging to clip i.
    ks
        The k values.

    Returns
    -------
    dict
        ``{k: accuracy in [0, 1]}``.
    """
    if len(pred) != len(true):
        raise ValueError(f"{len(pred)} predictions but {len(true)} true embeddings; "
                         "align both with clips.csv")
    ranks = retrieval_ranks(similarity_matrix(pred, true))
    return {k: float(np.mean(ranks < k)) for k in ks}


def chance_level(n: int, k: int) -> float:
    """Expected top-k accuracy of a random ranking among ``n`` candidates: k / n."""
    return min(k, n) / n


def centroid_readout(pred: np.ndarray, true_train: np.ndarray, labels_train: np.ndarray) -> np.ndarray:
    """Read a scene attribute from predicted embeddings: the label whose centroid of true training embeddings is
    most similar (cosine, after removing the mean training embedding) to each prediction.

    Cosine makes the read-out blind to scale, so a decoder trained with MSE, whose predictions shrink towards the
    mean embedding, is read on the direction it points in: does Ẑ(C) name the right category / colour / motion?

    Parameters
    ----------
    pred
        (N, ...) predicted embeddings.
    true_train, labels_train
        (M, ...) true training embeddings (same trailing shape) and their M labels.

    Returns
    -------
    numpy.ndarray
        (N,) the label read from each prediction.
    """
    return centroid_reader(true_train, labels_train)(pred)


def centroid_reader(true_train: np.ndarray, labels_train: np.ndarray):
    """:func:`centroid_readout` with its centroids computed once: a function ``pred (N, ...) -> labels (N,)`` for
    reading many sets of predictions against the same training embeddings."""
    train = np.asarray(true_train, dtype=np.float64).reshape(len(true_train), -1)
    mean, classes = train.mean(axis=0), np.unique(labels_train)
    centroids = np.stack([train[labels_train == c].mean(axis=0) - mean for c in classes])

    def read(pred: np.ndarray) -> np.ndarray:
        pred = np.asarray(pred, dtype=np.float64).reshape(len(pred), -1) - mean
        return classes[np.argmax(similarity_matrix(pred, centroids), axis=1)]

    return read
