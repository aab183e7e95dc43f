"""Named metric conventions: each paper's evaluation code, reproduced by name (issue 22).

The fMRI-to-video papers compute "the same" metrics differently, so their published numbers are not on one
scale. A *convention* is the set of functions that compute Table 1's metrics the way one paper's code does,
quirks included. ``semvideo.metrics.evaluate`` uses the convention named by ``eval.convention`` (default
``semvideo``, today's behaviour); :func:`convention_scores` scores the same frames under several conventions
and :func:`comparability_table` turns those per-clip scores into the table of notebook 06.

Conventions (reference code read at the commits in :data:`REFERENCES`; ``tests/test_conventions.py`` checks
every function against outputs of the reference functions themselves, stored in ``tests/data/conventions``
by ``scripts/reference_conventions.py``):

* ``semvideo`` — ours (:mod:`semvideo.metrics.pixel`, :mod:`~semvideo.metrics.temporal`,
  :mod:`~semvideo.metrics.semantic`): Mind-Animator's formulas with the colour channels read as RGB.
* ``mindanimator`` — Mind-Animator (Lu et al.) as its scripts compute.
* ``mindvideo`` — MinD-Video (Chen et al.) ``eval_metrics.py`` / ``run_metrics.py``.
* ``neurons`` — NEURONS (Wang et al.) ``eval_metrics.py`` / ``run_metrics.py``.

Every metric function keeps the shapes of :mod:`semvideo.metrics`: uint8 RGB frames ``(N, T, H, W, 3)`` in,
one float64 score per clip ``(N,)`` out. A convention whose paper's code does not compute a metric has
``None`` there (MinD-Video's code has no PSNR, Hue, CLIP-pcc or EPE; NEURONS' none of Hue or EPE): the
comparability table shows it as missing, and an evaluation run under that convention computes it as
``semvideo`` does (said in the convention's text).

What is the same everywhere: the N-way protocol (all three references share MinD-Video's
``n_way_top_k_acc``: the judge's top-3 classes on the truth, ``n − 1`` distractors drawn without replacement,
ties lost) and the test-set mean of per-clip (or, equivalently for a fixed T, per-frame-position) means. The
references draw distractors from NumPy's global, unseeded RNG; ours take a seeded generator
(:func:`n_way_reference` with a ``RandomState`` reproduces the reference's draws exactly; with a ``Generator``
the draws differ but have the same distribution, tested over many seeds).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import cv2
import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter1d

from semvideo.metrics import pixel, semantic, temporal

__all__ = [
    "CONVENTIONS",
    "CONVENTION_METRICS",
    "MINDANIMATOR_SIZE",
    "REFERENCES",
    "Convention",
    "FlowEPE",
    "clip_pcc_adjacent",
    "clip_pcc_all_pairs",
    "comparability_table",
    "convention_scores",
    "convention_shifts",
    "get_convention",
    "hue_cosine_bgr",
    "luminance",
    "n_way_reference",
    "psnr_unbounded",
    "ssim_grey_columns",
]

#: The reference repositories and the commits whose code the conventions reproduce.
REFERENCES = {
    "mindanimator": ("Mind-Animator/Mind-Animator@a5b8187f317c4272f904dfd847b6e3c7cd091ab8 "
                     "(Evaluation Metrics/Pixel_level_metrics.py, ST_level_metric.py, 2-way-I.py); "
                     "ReedOnePeck/Mind-Animator@a5adbf3b50cc34d7b65822238119e31dc9f84209 "
                     "(Evaluation_Metrics/EPE.py, Explainable_analysis/shuffle_test/shuffle_for_EPE.py)"),
    "mindvideo": "jqin4749/MindVideo@5097206d93209e7b32d24169a0b81e0d1104e6d1 "
                 "(src/MindVideo/utils/eval_metrics.py, scripts/run_metrics.py)",
    "neurons": "xmed-lab/NEURONS@4e4fd545d982747cc9e2a4af2eb0186a22eb5c84 (eval_metrics.py, run_metrics.py)",
}
#: The metrics a convention can change (the N-way columns and VIFI are computed alike by every convention).
CONVENTION_METRICS = ("SSIM", "PSNR", "Hue-pcc", "CLIP-pcc", "EPE")
#: Mind-Animator's evaluation side: its EPE and CLIP-pcc scripts resize frames to 512 × 512 first.
MINDANIMATOR_SIZE = 512
#: skimage ``rgb2gray`` luminance weights (ITU-R BT.709), used by NEURONS' SSIM.
_LUMINANCE = np.array([0.2125, 0.7154, 0.0721])


# ---------------------------------------------------------------------------------------------- pixel level


def luminance(frames: np.ndarray) -> np.ndarray:
    """skimage's ``rgb2gray`` of uint8 RGB frames (..., H, W, 3): ``(x / 255) · (0.2125, 0.7154, 0.0721)``,
    float64 (..., H, W) in [0, 1]."""
    return (np.asarray(frames, dtype=np.float64) / 255.0) @ _LUMINANCE


def ssim_grey_columns(truth: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """NEURONS' SSIM per clip, as its ``ssim_metric`` computes it.

    NEURONS converts each frame to grey (skimage ``rgb2gray``, values 0–1) and then calls
    ``structural_similarity(grey1, grey2, channel_axis=-1, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1.0)`` (plus a ``multichannel=True`` that current skimage
    ignores). On a 2-D grey image ``channel_axis=-1`` makes skimage treat the W image *columns* as channels:
    the SSIM is a 1-D SSIM down each column (Gaussian weights σ = 1.5 truncated at 3.5 σ = 11 taps, reflect
    padding, population covariance, C1 = (0.01·1)², C2 = (0.03·1)², 5 rows cropped at the top and bottom),
    averaged over the columns — not a 2-D SSIM. Frames need H ≥ 11. Frame scores are averaged per clip.
    """
    t, r = pixel._check_pair(truth, recon)
    if t.shape[-3] < 11:
        raise ValueError(f"NEURONS' SSIM needs frames at least 11 pixels high, got {t.shape}")
    x, y = luminance(t.reshape(-1, *t.shape[-3:])), luminance(r.reshape(-1, *r.shape[-3:]))  # (F, H, W)

    def blur(a: np.ndarray) -> np.ndarray:
        return gaussian_filter1d(a, sigma=1.5, axis=1, mode="reflect", truncate=3.5)

    ux, uy = blur(x), blur(y)
    vx, vy, vxy = blur(x * x) - ux * ux, blur(y * y) - uy * uy, blur(x * y) - ux * uy
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    frame_scores = s[:, 5:-5, :].mean(axis=1).mean(axis=1)  # crop, mean down each column, mean of columns
    return pixel._clip_mean(frame_scores, t.shape)


def psnr_unbounded(truth: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """NEURONS' PSNR per clip (skimage ``peak_signal_noise_ratio(pred, gt, data_range=255)`` per frame).

    ``10·log10(255² / MSE)`` with the MSE over all pixels and channels in float64 — the same value as
    Mind-Animator's ``20·log10(255 / √MSE)`` — but an identical frame gives +inf (skimage divides by zero)
    instead of Mind-Animator's 100, and the inf propagates into the clip and test-set means.
    """
    t, r = pixel._check_pair(truth, recon)
    mse = ((t.astype(np.float64) - r.astype(np.float64)) ** 2).mean(axis=(-3, -2, -1))
    with np.errstate(divide="ignore"):
        return (10 * np.log10(255.0 ** 2 / mse)).mean(axis=-1)


def hue_cosine_bgr(truth: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """Mind-Animator's Hue-pcc per clip, as ``calculate_hue_similarity`` and ``caculation`` compute it.

    Differences from ``semvideo`` (:func:`semvideo.metrics.pixel.hue_pcc`): the RGB frames are passed to
    ``cv2.COLOR_BGR2HSV``, so the hue is that of the image with red and blue swapped (a red pixel gets
    OpenCV hue 120, a blue one 0); the hue is divided by 360 (cancels in the cosine); and a frame whose
    truth or reconstruction has zero hue everywhere (grey, or pure blue) gives 0/0 = NaN, which makes the
    clip mean and the test-set mean NaN (``semvideo`` scores it 1 or 0). Cosine, uncentred, per frame;
    mean over the clip's frames.
    """
    t, r = pixel._check_pair(truth, recon)
    h_t, h_r = (pixel._hue(x[..., ::-1]) / 360.0 for x in (t, r))  # BGR2HSV of an RGB array = RGB2HSV of the swap
    with np.errstate(invalid="ignore", divide="ignore"):
        frame_scores = (h_t * h_r).sum(axis=1) / (np.sqrt((h_t ** 2).sum(axis=1)) * np.sqrt((h_r ** 2).sum(axis=1)))
    return pixel._clip_mean(frame_scores, t.shape)


# --------------------------------------------------------------------------------------------- CLIP-pcc


def clip_pcc_adjacent(embeddings: np.ndarray, vifi: np.ndarray | None, threshold: float = 0.6,
                      inclusive: bool = False) -> np.ndarray:
    """CLIP-pcc from frame embeddings (N, T, D): mean cosine of the T − 1 adjacent pairs, gated by VIFI.

    ``inclusive=False`` zeroes clips with ``vifi < threshold`` (the paper's words, ``semvideo``);
    ``inclusive=True`` zeroes ``vifi <= threshold`` (Mind-Animator's ``cal_CLIP_pcc``: ``<= bar``).
    ``vifi=None`` skips the gate.
    """
    scores = temporal.adjacent_cosine(embeddings)
    if vifi is None:
        return scores
    vifi = np.asarray(vifi, dtype=np.float64)
    return np.where(vifi <= threshold if inclusive else vifi < threshold, 0.0, scores)


def clip_pcc_all_pairs(embeddings: np.ndarray, vifi: np.ndarray | None = None, threshold: float = 0.6) -> np.ndarray:
    """NEURONS' CLIP-pcc (``clip_score_frame``): mean cosine over *all* T(T − 1) ordered pairs of different
    frames (the off-diagonal of the frames' cosine matrix), not only adjacent ones, and no VIFI gate
    (``vifi`` and ``threshold`` are ignored). Zero-norm embeddings count as cosine 0 (sklearn)."""
    e = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(e, axis=-1, keepdims=True)
    e = e / np.where(norms == 0, 1.0, norms)
    t = e.shape[-2]
    sim = np.einsum("...id,...jd->...ij", e, e)
    off = sim.sum(axis=(-2, -1)) - np.trace(sim, axis1=-2, axis2=-1)
    return off / (t * (t - 1))


# -------------------------------------------------------------------------------------------------- EPE


@dataclass(frozen=True)
class FlowEPE:
    """End-point error with a given grey conversion, evaluation size and precision.

    ``grey`` is the OpenCV conversion code applied to the RGB frames (``cv2.COLOR_RGB2GRAY`` for
    ``semvideo``; Mind-Animator's ``COLOR_BGR2GRAY`` weighs red with 0.114 and blue with 0.299), ``size``
    the side every frame is resized to first (``cv2.resize``, bilinear; None keeps the frames), and
    ``float32`` whether the end-point norms and their mean stay in float32 as NumPy leaves them for
    OpenCV's float32 flows (Mind-Animator) or are taken in float64 (``semvideo``). The Farneback setting is
    :data:`semvideo.metrics.temporal.FARNEBACK` in every convention.
    """

    grey: int = cv2.COLOR_RGB2GRAY
    size: int | None = None
    float32: bool = False

    def flows(self, clip: np.ndarray) -> np.ndarray:
        """One clip uint8 (T, H, W, 3) → float32 flows (T − 1, h, w, 2) between consecutive frames."""
        frames = [np.ascontiguousarray(f) for f in clip]
        if self.size is not None:
            frames = [cv2.resize(f, (self.size, self.size)) for f in frames]
        grey = [cv2.cvtColor(f, self.grey) for f in frames]
        return np.stack([cv2.calcOpticalFlowFarneback(a, b, None, *temporal.FARNEBACK) for a, b in pairwise(grey)])

    def error(self, flows_truth: np.ndarray, flows_recon: np.ndarray) -> float:
        """Mean end-point error of two clips' flows."""
        if self.float32:
            return float(np.mean(np.linalg.norm(flows_truth - flows_recon, axis=-1)))
        return temporal.flow_error(flows_truth, flows_recon)

    def many(self, truth: np.ndarray, recons: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """EPE per clip of several reconstructions of the same truth (N, T, H, W, 3), computing each truth
        clip's flows once: name → float64 (N,)."""
        truth = np.asarray(truth)
        for name, recon in recons.items():
            if np.shape(recon) != truth.shape or truth.ndim != 5 or truth.shape[1] < 2:
                raise ValueError(f"EPE needs clips of equal shape (N, T≥2, H, W, 3): truth {truth.shape}, "
                                 f"'{name}' {np.shape(recon)}")
        out = {name: np.empty(len(truth)) for name in recons}
        for i, clip in enumerate(truth):
            flows_truth = self.flows(clip)
            for name, recon in recons.items():
                out[name][i] = self.error(flows_truth, self.flows(np.asarray(recon[i])))
        return out

    def __call__(self, truth: np.ndarray, recon: np.ndarray) -> np.ndarray:
        """EPE per clip: truth, recon uint8 (N, T, H, W, 3) → float64 (N,)."""
        return self.many(truth, {"recon": recon})["recon"]


# ----------------------------------------------------------------------------------------------- N-way


def n_way_reference(truth_probs: np.ndarray, recon_probs: np.ndarray, n_way: int, n_trials: int,
                    rng: np.random.Generator | np.random.RandomState, n_truth: int = 3) -> np.ndarray:
    """N-way top-1 as the references' ``n_way_top_k_acc`` draws it, one accuracy per sample (N,).

    Same protocol as :func:`semvideo.metrics.semantic.n_way_top1` (top-``n_truth`` truth classes; a trial
    succeeds when some truth class strictly beats all ``n_way − 1`` distractors), with the reference's draw:
    per trial ``rng.choice(other classes in increasing order, n_way − 1, replace=False)``. Given a
    ``np.random.RandomState`` seeded like the reference's ``np.random.seed(s)``, the draws — and so the
    accuracies — are the reference's exactly; given a ``Generator`` they are another sample of the same
    uniform distribution of distractor sets. The references use the global RNG without a seed, so their
    published N-way numbers carry a trial-to-trial sampling error that cannot be replayed.
    """
    truth_probs, recon_probs = np.asarray(truth_probs), np.asarray(recon_probs)
    n, k = truth_probs.shape
    if recon_probs.shape != (n, k) or not 2 <= n_way <= k - n_truth + 1:
        raise ValueError(f"need (N, K) probabilities of equal shape with K ≥ n_way − 1 + {n_truth}, got "
                         f"{truth_probs.shape}, {recon_probs.shape} for {n_way}-way")
    truth_classes = np.argsort(truth_probs, axis=1, kind="stable")[:, -n_truth:]
    acc = np.empty(n)
    for i in range(n):
        pick_range = np.setdiff1d(np.arange(k), truth_classes[i])  # increasing, like the reference's list
        best = recon_probs[i, truth_classes[i]].max()
        wins = sum(best > recon_probs[i, rng.choice(pick_range, n_way - 1, replace=False)].max()
                   for _ in range(n_trials))
        acc[i] = wins / n_trials
    return acc


# ------------------------------------------------------------------------------------------ conventions


@dataclass(frozen=True)
class Convention:
    """One paper's way of computing Table 1's metrics; ``text`` says in plain words what differs from ours.

    ``ssim``, ``psnr``, ``hue_pcc`` and ``epe`` map truth, recon uint8 (N, T, H, W, 3) to float64 (N,);
    ``clip_pcc`` maps the reconstruction's frame embeddings (N, T, D), the VIFI-scores (N,) and the
    threshold to (N,), its frames first resized to ``clip_size`` when set; ``n_way`` has the signature of
    :func:`semvideo.metrics.semantic.n_way_top1`. ``None``: the paper's code does not compute that metric.
    """

    name: str
    text: str
    source: str
    ssim: Callable | None
    psnr: Callable | None
    hue_pcc: Callable | None
    clip_pcc: Callable | None
    epe: FlowEPE | Callable | None
    n_way: Callable = semantic.n_way_top1
    clip_size: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def metric(self, name: str) -> Callable | None:
        """The function of one of :data:`CONVENTION_METRICS` (None when the paper's code lacks it)."""
        return {"SSIM": self.ssim, "PSNR": self.psnr, "Hue-pcc": self.hue_pcc, "CLIP-pcc": self.clip_pcc,
                "EPE": self.epe}[name]


SEMVIDEO = Convention(
    name="semvideo", source="this package (semvideo.metrics.pixel / temporal / semantic)",
    text="Ours. SSIM: skimage structural_similarity on the RGB frame (7×7 uniform window, sample covariance, "
         "data range 255, mean of the three channels). PSNR: 20·log10(255/√MSE) per frame, 100 for identical "
         "frames. Hue-pcc: cosine of OpenCV hue vectors of the RGB frames (COLOR_RGB2HSV); an all-grey pair "
         "scores 1, a one-sided grey frame 0. CLIP-pcc: mean cosine of adjacent frames' embeddings, 0 when "
         "VIFI < 0.6. EPE: Farneback (0.5, 3, 15, 3, 5, 1.2, 0) on COLOR_RGB2GRAY frames at the evaluated "
         "size, float64 norms. N-way: seeded distractor draws. Per clip: mean over frames; test set: mean "
         "over clips (Table 1 adds its standard error).",
    ssim=pixel.ssim, psnr=pixel.psnr, hue_pcc=pixel.hue_pcc,
    clip_pcc=lambda emb, vifi, threshold: clip_pcc_adjacent(emb, vifi, threshold, inclusive=False),
    epe=FlowEPE(cv2.COLOR_RGB2GRAY, None, float32=False),
)

MINDANIMATOR = Convention(
    name="mindanimator", source=REFERENCES["mindanimator"],
    text="Mind-Animator's scripts. SSIM and PSNR as ours (PSNR's 100 for identical frames is theirs). "
         "Hue-pcc: the RGB frames go through cv2.COLOR_BGR2HSV, i.e. the hue of the red/blue-swapped image; "
         "hue/360 (cancels); a frame with all-zero hue (grey or, swapped, pure blue) gives NaN, which "
         "propagates to the clip and test-set means. CLIP-pcc: frames resized to 512×512 (cv2.resize, "
         "bilinear) before CLIP; adjacent-pair mean as ours, but zeroed when VIFI <= 0.6 (ours: < 0.6). "
         "EPE: every frame resized to 512×512 (cv2.resize, bilinear: EPE.py resizes the truth, its "
         "reconstructions are 512 px already), cv2.COLOR_BGR2GRAY on the RGB frames (blue weighted 0.299, red "
         "0.114), Farneback as ours, norms and mean in float32; EPE is in pixels of the 512 grid, so on "
         "smaller frames it is about 512/H times ours. N-way: distractors from the global unseeded NumPy RNG "
         "(reproduced with a RandomState; a Generator draws the same distribution). Per clip: mean over "
         "frames; test set: mean (± np.std of clip scores). Its 2-way-I script (ReedOnePeck repository) "
         "uses 20 trials instead of 100.",
    ssim=pixel.ssim, psnr=pixel.psnr, hue_pcc=hue_cosine_bgr,
    clip_pcc=lambda emb, vifi, threshold: clip_pcc_adjacent(emb, vifi, threshold, inclusive=True),
    epe=FlowEPE(cv2.COLOR_BGR2GRAY, MINDANIMATOR_SIZE, float32=True), n_way=n_way_reference,
    clip_size=MINDANIMATOR_SIZE,
)

MINDVIDEO = Convention(
    name="mindvideo", source=REFERENCES["mindvideo"],
    text="MinD-Video's eval_metrics.py / run_metrics.py. SSIM: skimage on the RGB frame, data range 255, "
         "channel axis last — the same as ours. Per frame position: mean (and std) over clips, printed per "
         "position; for a fixed number of frames the mean of those equals our mean of clip means. N-way: "
         "the references' draw (global unseeded RNG). Its code computes no PSNR, Hue-pcc, CLIP-pcc (its "
         "clip_score_only is a truth-vs-reconstruction CLIP similarity, not Table 1's) or EPE: those are "
         "missing in the comparability table, and an evaluation under this convention computes them as "
         "'semvideo' does.",
    ssim=pixel.ssim, psnr=None, hue_pcc=None, clip_pcc=None, epe=None, n_way=n_way_reference,
)

NEURONS = Convention(
    name="neurons", source=REFERENCES["neurons"],
    text="NEURONS' eval_metrics.py / run_metrics.py. SSIM: each frame converted to grey (skimage rgb2gray, "
         "0–1), then structural_similarity with channel_axis=-1 on the 2-D grey image, which makes the image "
         "columns the 'channels': a 1-D Gaussian-window SSIM (σ 1.5, 11 taps, population covariance, data "
         "range 1) down each column, averaged over columns. PSNR: skimage peak_signal_noise_ratio, data "
         "range 255 (our formula) but +inf for identical frames, which propagates into the means. "
         "CLIP-pcc: mean cosine of all T(T−1) ordered pairs of different frames (not only adjacent ones), "
         "no VIFI gate (its embedder is CLIP ViT-L/14). N-way: the references' draw. Per frame position: "
         "mean over clips, then mean over positions (equal to our mean of clip means); its ± is the mean "
         "over positions of the std over clips. Its code computes no Hue-pcc or EPE (missing in the "
         "comparability table; computed as 'semvideo' in an evaluation under this convention).",
    ssim=ssim_grey_columns, psnr=psnr_unbounded, hue_pcc=None,
    clip_pcc=lambda emb, vifi, threshold: clip_pcc_all_pairs(emb), epe=None, n_way=n_way_reference,
)

#: Every named convention, by name.
CONVENTIONS = {c.name: c for c in (SEMVIDEO, MINDANIMATOR, MINDVIDEO, NEURONS)}


def get_convention(name: str | Convention) -> Convention:
    """The convention of that name (a :class:`Convention` passes through)."""
    if isinstance(name, Convention):
        return name
    if name not in CONVENTIONS:
        raise ValueError(f"unknown metric convention {name!r}; set eval.convention to one of {sorted(CONVENTIONS)}")
    return CONVENTIONS[name]


def resize_frames(frames: np.ndarray, size: int | None) -> np.ndarray:
    """uint8 (..., H, W, 3) → (..., size, size, 3) with cv2.resize (bilinear); None returns the frames."""
    frames = np.asarray(frames)
    if size is None:
        return frames
    flat = frames.reshape(-1, *frames.shape[-3:])
    return np.stack([cv2.resize(np.ascontiguousarray(f), (size, size)) for f in flat]).reshape(
        *frames.shape[:-3], size, size, 3)


def clip_embeddings(recon: np.ndarray, embed: Callable[[np.ndarray], np.ndarray], size: int | None = None,
                    clips_per_batch: int = 16) -> np.ndarray:
    """Frame embeddings (N, T, D) of reconstructions (N, T, H, W, 3), frames resized to ``size`` first."""
    recon = np.asarray(recon)
    n, t = recon.shape[:2]
    out = [np.asarray(embed(resize_frames(recon[i:i + clips_per_batch], size).reshape(-1, *(
        recon.shape[2:] if size is None else (size, size, 3))))) for i in range(0, n, clips_per_batch)]
    return np.concatenate(out).reshape(n, t, -1)


def convention_scores(truth: np.ndarray, recons: Mapping[str, np.ndarray], embed: Callable[[np.ndarray], np.ndarray],
                      vifi: Mapping[str, np.ndarray], conventions: Sequence[str] = tuple(CONVENTIONS),
                      threshold: float = 0.6) -> pd.DataFrame:
    """Pixel and ST metrics of several methods under several conventions, one row per (convention, method, clip).

    Parameters
    ----------
    truth : uint8 (N, T, H, W, 3)
    recons : method name → uint8 (N, T, H, W, 3)
    embed : the CLIP-pcc image embedder, uint8 (B, H, W, 3) → (B, D)
    vifi : method name → VIFI-scores (N,) (the gate of CLIP-pcc)
    conventions : names from :data:`CONVENTIONS`

    Returns
    -------
    DataFrame with columns convention, method, clip (0…N−1) and :data:`CONVENTION_METRICS`; NaN where the
    convention's paper does not compute the metric.
    """
    tables = []
    for name in conventions:
        conv = get_convention(name)
        scores = {m: {} for m in recons}
        if conv.epe is not None:
            epe = conv.epe.many(truth, recons) if isinstance(conv.epe, FlowEPE) else \
                {m: conv.epe(truth, r) for m, r in recons.items()}
            for m in recons:
                scores[m]["EPE"] = epe[m]
        for method, recon in recons.items():
            for metric in ("SSIM", "PSNR", "Hue-pcc"):
                fn = conv.metric(metric)
                scores[method][metric] = fn(truth, recon) if fn is not None else np.full(len(truth), np.nan)
            scores[method]["CLIP-pcc"] = (conv.clip_pcc(clip_embeddings(recon, embed, conv.clip_size),
                                                        np.asarray(vifi[method]), threshold)
                                          if conv.clip_pcc is not None else np.full(len(truth), np.nan))
            scores[method].setdefault("EPE", np.full(len(truth), np.nan))
            tables.append(pd.DataFrame({"convention": name, "method": method, "clip": np.arange(len(truth)),
                                        **{k: scores[method][k] for k in CONVENTION_METRICS}}))
    return pd.concat(tables, ignore_index=True)


def comparability_table(conventions: pd.DataFrame, scores: pd.DataFrame | None = None,
                        methods: Sequence[str] | None = None) -> pd.DataFrame:
    """Table 1 under every convention: rows (method, convention), columns the metrics, test-set means.

    ``conventions`` is the long table of :func:`convention_scores` (or the ``*_conventions.csv`` files,
    concatenated over subjects); ``scores`` the per-clip Table 1 scores (``*_scores.csv``), whose N-way and
    VIFI columns — computed alike by every convention — are averaged over the same clips (matched on
    ``subject`` and ``clip_id`` where both tables have them) and copied into every convention's row. Means
    are plain ``mean`` (NaN and inf propagate, as in the references).
    """
    table = conventions.groupby(["method", "convention"], sort=False)[list(CONVENTION_METRICS)].mean()
    if scores is not None:
        keys = [k for k in ("subject", "clip_id") if k in scores.columns and k in conventions.columns]
        if keys:  # the clips scored under the conventions only
            scored = pd.MultiIndex.from_frame(conventions[keys].drop_duplicates())
            scores = scores[pd.MultiIndex.from_frame(scores[keys]).isin(scored)]
        shared = [c for c in scores.columns if c not in CONVENTION_METRICS and c not in
                  ("method", "clip_id", "subject", "clip", "convention")]
        table = table.join(scores.groupby("method", sort=False)[shared].mean(), on="method")
        table = table[shared + list(CONVENTION_METRICS)]
    order = list(dict.fromkeys(conventions["convention"]))
    found = list(dict.fromkeys(table.index.get_level_values("method")))
    rows = [(m, c) for m in (found if methods is None else [m for m in methods if m in found]) for c in order
            if (m, c) in table.index]
    return table.loc[rows]


def convention_shifts(table: pd.DataFrame, reference: str = "semvideo") -> pd.DataFrame:
    """How much the convention alone moves each number: :func:`comparability_table` minus the same method's
    ``reference`` row (rows (method, convention), the reference rows 0; NaN where a convention lacks the metric)."""
    base = table.xs(reference, level="convention")
    methods = table.index.get_level_values("method")
    return pd.DataFrame(table.to_numpy() - base.loc[methods].to_numpy(), index=table.index, columns=table.columns)
