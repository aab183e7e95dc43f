"""Semantic-level metrics (paper §4 "Evaluation Metrics", Appendix B): N-way top-1 accuracy and VIFI-score.

Both use *judges*: pretrained (real) or twin-trained classifiers wrapped by :mod:`semvideo.metrics.judges`
behind one interface —

* ``judge(frames) -> probabilities``: image judge ``(B, H, W, 3) uint8 → (B, K)``, video judge
  ``(B, T, H, W, 3) uint8 → (B, K)``, rows summing to 1;
* ``judge.features(frames) -> (B, D)`` float embeddings (VIFI uses the video features).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["frames_n_way", "image_n_way", "mean_sem", "n_way_chance", "n_way_expected", "n_way_top1", "row_cosine",
           "video_n_way", "vifi_score"]


def n_way_top1(truth_probs: np.ndarray, recon_probs: np.ndarray, n_way: int, n_trials: int,
               rng: np.random.Generator, n_truth: int = 3) -> np.ndarray:
    """N-way top-1 classification accuracy of reconstructions, one value per sample (Appendix B).

    Reference protocol (MinD-Video ``n_way_top_k_acc`` with ``img/video_classify_metric``, reused by
    NeuroClips, NEURONS, Mind-Animator and SemVideo; the references draw each trial's distractors with the
    unseeded global ``np.random.choice``, here they come from ``rng`` in one vectorised draw — the same
    distribution, tested against the reference's draw in ``tests/test_conventions.py``;
    :func:`semvideo.metrics.conventions.n_way_reference` replays the reference's draw itself):

    1. the *truth classes* are the judge's ``n_truth`` = 3 most probable classes on the ground-truth frame or
       clip (not a dataset label: the judge defines the classes);
    2. each of ``n_trials`` = 100 trials draws ``n_way − 1`` distractor classes uniformly *without
       replacement* from the other K − 3 classes;
    3. a trial succeeds when, in the reconstruction's probabilities, some truth class scores strictly higher
       than every distractor (the reference ranks ``[p_truth, p_distractors]`` with argsort and asks for index
       0 on top, so ties count as failures).

    The per-sample accuracy is the fraction of successful trials. Chance level is therefore
    ``n_truth / (n_way − 1 + n_truth)`` (3/4 for 2-way, 3/52 ≈ 0.058 for 50-way; see :func:`n_way_chance`),
    not 1/n: with three truth classes, a random reconstruction wins whenever the best of four (2-way)
    random scores is a truth class.

    Parameters
    ----------
    truth_probs : float (N, K) judge probabilities (or logits: only their order is used) on the truth
    recon_probs : float (N, K) judge probabilities on the reconstructions
    n_way : 2 ≤ n_way ≤ K − n_truth + 1
    n_trials : trials per sample (100 in the reference)
    rng : numpy Generator; the draws are repeatable given its state
    n_truth : number of truth classes (3 in the reference)

    Returns
    -------
    float64 (N,): per-sample accuracy in [0, 1], a multiple of 1 / n_trials.
    """
    truth_probs, recon_probs = np.asarray(truth_probs), np.asarray(recon_probs)
    if truth_probs.shape != recon_probs.shape or truth_probs.ndim != 2:
        raise ValueError(f"truth and reconstruction probabilities must both be (N, K), got "
                         f"{truth_probs.shape} and {recon_probs.shape}")
    n, k = truth_probs.shape
    _check_n_way(n_way, n_truth, k)
    truth_classes = np.argsort(-truth_probs, axis=1, kind="stable")[:, :n_truth]  # (N, n_truth)
    acc = np.empty(n)
    for i in range(n):
        best_truth = recon_probs[i, truth_classes[i]].max()
        others = np.delete(recon_probs[i], truth_classes[i])  # (K − n_truth,)
        # n_trials draws without replacement at once: the first n−1 of a random ordering of the others.
        picks = np.argsort(rng.random((n_trials, others.size)), axis=1)[:, : n_way - 1]
        acc[i] = (best_truth > others[picks].max(axis=1)).mean()
    return acc


def n_way_expected(truth_probs: np.ndarray, recon_probs: np.ndarray, n_way: int, n_truth: int = 3) -> np.ndarray:
    """Expected N-way top-1 accuracy of every reconstruction against every truth: the limit of
    :func:`n_way_top1` as ``n_trials`` → ∞, for all pairings at once.

    A trial fails when a drawn distractor scores at least the best truth class; with ``a`` such classes among the
    ``M = K − n_truth`` others, ``n_way − 1`` draws without replacement all miss them with probability
    ``C(M − a, n_way − 1) / C(M, n_way − 1)``. The diagonal is each reconstruction's own score; the rest is what it
    would score paired with another clip, the distribution a score must beat to carry anything of its clip.

    Parameters
    ----------
    truth_probs : float (N_truth, K) judge probabilities on the truth (only their order is used)
    recon_probs : float (N_recon, K) judge probabilities on the reconstructions
    n_way, n_truth : as :func:`n_way_top1`

    Returns
    -------
    float64 (N_truth, N_recon): entry (i, j) is reconstruction j's expected accuracy against truth i.
    """
    truth_probs, recon_probs = np.asarray(truth_probs), np.asarray(recon_probs)
    k = truth_probs.shape[1]
    if truth_probs.ndim != 2 or recon_probs.ndim != 2 or recon_probs.shape[1] != k:
        raise ValueError(f"truth and reconstruction probabilities must be (N, K) with the same K, got "
                         f"{truth_probs.shape} and {recon_probs.shape}")
    _check_n_way(n_way, n_truth, k)
    others = k - n_truth
    truth_classes = np.argsort(-truth_probs, axis=1, kind="stable")[:, :n_truth]  # (N_truth, n_truth)
    beaten_by = np.empty((len(truth_probs), len(recon_probs)), np.int64)  # others scoring ≥ the best truth class
    for i, classes in enumerate(truth_classes):  # one truth at a time: (N_recon, K) in memory, not (N, N, K)
        best = recon_probs[:, classes].max(axis=1, keepdims=True)
        beaten_by[i] = (recon_probs >= best).sum(axis=1) - (recon_probs[:, classes] >= best).sum(axis=1)
    draws = np.arange(n_way - 1)
    return np.prod(np.clip(others - beaten_by[..., None] - draws, 0, None) / (others - draws), axis=-1)


def _check_n_way(n_way: int, n_truth: int, k: int) -> None:
    """An N-way trial needs n_way − 1 distractors among the judge's K − n_truth other classes."""
    if not 2 <= n_way <= k - n_truth + 1:
        raise ValueError(f"{n_way}-way needs {n_way - 1} distractors besides {n_truth} truth classes, but the "
                         f"judge has only {k} classes; use a judge with ≥ {n_way - 1 + n_truth} classes")


def n_way_chance(n_way: int, n_truth: int = 3) -> float:
    """Accuracy of :func:`n_way_top1` for a reconstruction whose class scores are random (no ties)."""
    return n_truth / (n_way - 1 + n_truth)


def image_n_way(judge: Callable[[np.ndarray], np.ndarray], truth: np.ndarray, recon: np.ndarray, n_way: int,
                n_trials: int, rng: np.random.Generator, n_truth: int = 3,
                n_way_fn: Callable[..., np.ndarray] | None = None) -> np.ndarray:
    """Image-level N-way top-1 ("N-way-I"): every frame is judged alone; per clip, the mean over its frames.

    Parameters
    ----------
    judge : image judge, uint8 (B, H, W, 3) → probabilities (B, K)
    truth, recon : uint8 (N, T, H, W, 3), RGB 0–255
    n_way_fn : the trial procedure, :func:`n_way_top1` by default (a metric convention's ``n_way``)

    Returns
    -------
    float64 (N,): per-clip mean of the frames' N-way accuracies.
    """
    truth, recon = _check_clips(truth, recon)
    n, t = truth.shape[:2]
    judged = (np.asarray(judge(x.reshape(n * t, *x.shape[2:]))).reshape(n, t, -1) for x in (truth, recon))
    return frames_n_way(*judged, n_way, n_trials, rng, n_truth, n_way_fn)


def frames_n_way(truth_probs: np.ndarray, recon_probs: np.ndarray, n_way: int, n_trials: int,
                 rng: np.random.Generator, n_truth: int = 3,
                 n_way_fn: Callable[..., np.ndarray] | None = None) -> np.ndarray:
    """:func:`image_n_way` from the image judge's probabilities, float (N, T, K) each → float64 (N,), so that a
    clip set judged once can be scored at several N."""
    n, t = truth_probs.shape[:2]
    acc = (n_way_fn or n_way_top1)(truth_probs.reshape(n * t, -1), recon_probs.reshape(n * t, -1), n_way, n_trials,
                                   rng, n_truth)
    return acc.reshape(n, t).mean(axis=1)


def video_n_way(judge: Callable[[np.ndarray], np.ndarray], truth: np.ndarray, recon: np.ndarray, n_way: int,
                n_trials: int, rng: np.random.Generator, n_truth: int = 3,
                n_way_fn: Callable[..., np.ndarray] | None = None) -> np.ndarray:
    """Video-level N-way top-1 ("N-way-V"): the video judge classifies whole clips.

    Parameters
    ----------
    judge : video judge, uint8 (B, T, H, W, 3) → probabilities (B, K)
    truth, recon : uint8 (N, T, H, W, 3), RGB 0–255
    n_way_fn : the trial procedure, :func:`n_way_top1` by default (a metric convention's ``n_way``)

    Returns
    -------
    float64 (N,): per-clip N-way accuracy.
    """
    truth, recon = _check_clips(truth, recon)
    return (n_way_fn or n_way_top1)(judge(truth), judge(recon), n_way, n_trials, rng, n_truth)


def vifi_score(features: Callable[[np.ndarray], np.ndarray], truth: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """VIFI-score: cosine similarity of the video features of truth and reconstruction (Appendix B).

    The paper uses ViFi-CLIP (CLIP ViT-B/16 fine-tuned on Kinetics-400), whose video embedding is the
    temporal mean of its frame embeddings. ``features`` is any video embedder with that contract: the twin
    uses its video judge's penultimate features; the real configs use CLIP frame embeddings averaged over
    time (:class:`semvideo.metrics.judges.ClipEmbedder`), i.e. ViFi-CLIP's architecture without its video
    fine-tuning — a documented substitute, since ViFi-CLIP weights are not on the hub.

    Parameters
    ----------
    features : uint8 (B, T, H, W, 3) → float (B, D)
    truth, recon : uint8 (N, T, H, W, 3), RGB 0–255

    Returns
    -------
    float64 (N,): cosine similarity per clip, in [-1, 1]; 1 for identical clips.
    """
    truth, recon = _check_clips(truth, recon)
    return row_cosine(features(truth), features(recon))


def row_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of matching rows, float (N, D) each → float64 (N,) (the VIFI-score of features)."""
    a, b = (np.asarray(x, dtype=np.float64) for x in (a, b))
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return (a * b).sum(axis=1)


def mean_sem(scores: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the mean (ddof = 1) of per-sample scores (N,), as Table 1 reports them."""
    scores = np.asarray(scores, dtype=np.float64)
    sem = scores.std(ddof=1) / np.sqrt(scores.size) if scores.size > 1 else 0.0
    return float(scores.mean()), float(sem)


def _check_clips(truth: np.ndarray, recon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth, recon = np.asarray(truth), np.asarray(recon)
    if truth.shape != recon.shape or truth.ndim != 5 or truth.shape[-1] != 3:
        raise ValueError(f"expected truth and reconstruction clips of equal shape (N, T, H, W, 3), got "
                         f"{truth.shape} and {recon.shape}")
    return truth, recon
