"""Table 1 (paper §4.1): the ten metrics for every test clip (:func:`clip_scores`), the methods measured side by
side (SemVideo, its ablations, the oracle ladder and the baselines, by name), the empirical chance pairing
(:func:`mismatched`), every pairing of reconstructions with truths (:func:`pairing_matrices`) and the paper's reported values that the notebooks compare with.

The ``evaluate`` stage that scores every method of a run and writes ``metrics/{subject}_scores.csv`` (and the
shuffle-test and convention tables) is :mod:`semvideo.stages.evaluate`; the ridge baseline it scores is
:func:`semvideo.models.baselines.ridge_reconstruction`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from semvideo.config import EvalConfig
from semvideo.metrics.conventions import clip_embeddings, get_convention
from semvideo.metrics.pixel import hue_pcc, psnr, ssim
from semvideo.metrics.semantic import frames_n_way, n_way_expected, n_way_top1, row_cosine
from semvideo.metrics.stats import pairing_null
from semvideo.metrics.temporal import clip_pcc, epe
from semvideo.plan import SAMPLER_VARIANTS

__all__ = [
    "FLOW_READOUT",
    "HIGHER_IS_BETTER",
    "METRICS",
    "MISMATCHED",
    "PAPER_SEMVIDEO",
    "PAPER_TABLE2",
    "PAPER_TABLE3",
    "PAPER_TABLE6",
    "SHUFFLE_METHODS",
    "TABLE1_METHODS",
    "TABLE2_METRICS",
    "TABLE3_METHODS",
    "TABLE6_METHODS",
    "clip_scores",
    "judge_readout",
    "mismatched",
    "pairing_matrices",
    "pairing_null_table",
]

#: Table 1's columns, in the paper's order.
METRICS = ("2-way-I", "2-way-V", "50-way-I", "50-way-V", "VIFI", "SSIM", "PSNR", "Hue-pcc", "CLIP-pcc", "EPE")
HIGHER_IS_BETTER = {m: m != "EPE" for m in METRICS}
#: The paper's SemVideo row of Table 1 (CC2017, mean over all test clips and three subjects).
PAPER_SEMVIDEO = dict(zip(METRICS, (0.838, 0.865, 0.225, 0.264, 0.608, 0.321, 9.448, 0.849, 0.526, 4.788)))
#: Table 2's columns (HCP 7T): the paper reports six of Table 1's ten metrics there.
TABLE2_METRICS = ("2-way-I", "2-way-V", "PSNR", "Hue-pcc", "CLIP-pcc", "EPE")
#: The paper's Table 2 (HCP 7T, three subjects), reported values in TABLE2_METRICS order; NaN = "–" (not reported).
PAPER_TABLE2 = {
    "Nishimoto": (0.658, np.nan, 11.316, 0.645, np.nan, np.nan),
    "Wen": (0.702, np.nan, 10.197, 0.727, np.nan, np.nan),
    "Mind-video": (0.779, 0.769, 9.275, 0.793, 0.499, 9.29),
    "Mind-Animator": (0.786, 0.778, 11.233, 0.829, 0.511, 7.08),
    "SemVideo": (0.815, 0.796, 9.336, 0.858, 0.523, 4.05),
}
#: The paper's Table 3 (CC2017 ablations) and Table 6 (SemMiner's captioner), reported values.
PAPER_TABLE3 = {
    "SemVideo": (0.826, 0.860, 0.211, 0.239, 0.590, 0.330, 9.626, 0.841, 0.502, 4.768),
    "w/o C_anchor": (0.786, 0.808, 0.158, 0.147, 0.534, 0.361, 9.454, 0.835, 0.488, 4.796),
    "w/o C_holi": (0.819, 0.849, 0.205, 0.221, 0.584, 0.299, 9.492, 0.834, 0.490, 4.859),
    "w/o C_motion": (0.818, 0.846, 0.207, 0.216, 0.583, 0.285, 9.353, 0.741, 0.481, 4.930),
}
PAPER_TABLE6 = {
    "VideoLlama": (0.826, 0.860, 0.211, 0.239, 0.590, 0.330, 9.626, 0.841, 0.502, 4.768),
    "Qwen2.5-vl": (0.821, 0.863, 0.203, 0.242, 0.589, 0.299, 9.03, 0.858, 0.496, 4.40),
    "Llava-Video": (0.815, 0.855, 0.207, 0.228, 0.591, 0.309, 8.96, 0.861, 0.493, 4.65),
}
#: Table 1's measured rows (every subject), SemVideo first.
TABLE1_METHODS = ("SemVideo", "Single caption (BLIP-style)", "MAD blurry video", "Ridge latent decoder")
#: A baseline of ours shown beside Table 1 when ``mad.flow_readout`` is on: MAD's clip-mean latent moved along the
#: stimulus flow decoded from the BOLD (semvideo.models.flow), decoded by the VAE; never rendered
FLOW_READOUT = "Flow readout baseline"
#: The empirical chance row of Tables 1/2: SemVideo's reconstruction of another test clip (:func:`mismatched`),
#: scored against this clip's truth. Its N-way scores are what the judges give a reconstruction that carries
#: nothing of its clip, whatever their bias (a constant video scores 2-way-V ≈ 0.9 with an untrained judge, not 0.75)
MISMATCHED = "SemVideo of another clip (chance)"
#: Table 3's rows (ablation subjects), the full model first.
TABLE3_METHODS = ("SemVideo", "w/o C_anchor", "w/o C_holi", "w/o C_motion")
#: Table 6's twin rows: SemMiner's oracle captions (= SemVideo) against one BLIP-style caption for every level.
TABLE6_METHODS = {"SemVideo": "SemMiner, oracle captioner (SemVideo)",
                  "Single caption (BLIP-style)": "BLIP-style single caption"}
#: Fig. 5's shuffle-test variants (ablation subjects), and our sampler row (:data:`semvideo.plan.SAMPLER_VARIANTS`).
SHUFFLE_METHODS = ("SemVideo", "w/o C_motion", "w/o MAD", *SAMPLER_VARIANTS)


def clip_scores(truth: np.ndarray, recon: np.ndarray, judges, settings: EvalConfig, rng: np.random.Generator, *,
                truth_readout: dict | None = None, recon_readout: dict | None = None) -> pd.DataFrame:
    """The ten metrics per clip: truth, recon uint8 (N, T, H, W, 3) → DataFrame (N rows, METRICS columns).

    Computed under ``settings.convention`` (:mod:`semvideo.metrics.conventions`); a metric that the
    convention's paper does not compute is computed as ``semvideo`` does. ``truth_readout`` / ``recon_readout``
    are the clips' :func:`judge_readout`, passed when already computed (the evaluate stage reads the truth once
    for every method); the scores are the same either way.
    """
    conv = get_convention(settings.convention)
    truth_read = judge_readout(judges, truth) if truth_readout is None else truth_readout
    recon_read = judge_readout(judges, recon) if recon_readout is None else recon_readout
    scores = {}
    for n_way in settings.n_ways:
        scores[f"{n_way}-way-I"] = frames_n_way(truth_read["I"], recon_read["I"], n_way, settings.n_trials, rng,
                                                n_way_fn=conv.n_way)
        scores[f"{n_way}-way-V"] = (conv.n_way or n_way_top1)(truth_read["V"], recon_read["V"], n_way,
                                                              settings.n_trials, rng)
    scores["VIFI"] = row_cosine(truth_read["VIFI"], recon_read["VIFI"])
    scores["SSIM"], scores["PSNR"], scores["Hue-pcc"] = ((conv.metric(m) or ours)(truth, recon) for m, ours in
                                                         (("SSIM", ssim), ("PSNR", psnr), ("Hue-pcc", hue_pcc)))
    if conv.clip_pcc is None or conv.name == "semvideo":
        scores["CLIP-pcc"] = clip_pcc(recon, judges.clip.features, scores["VIFI"], settings.vifi_threshold)
    else:
        scores["CLIP-pcc"] = conv.clip_pcc(clip_embeddings(recon, judges.clip.features, conv.clip_size),
                                           scores["VIFI"], settings.vifi_threshold)
    scores["EPE"] = epe(truth, recon) if conv.epe is None or conv.name == "semvideo" else conv.epe(truth, recon)
    return pd.DataFrame({m: scores[m] for m in METRICS if m in scores})


def judge_readout(judges, clips: np.ndarray) -> dict[str, np.ndarray]:
    """What the judges read off uint8 clips (N, T, H, W, 3), computed once per clip set: {"I": image judge per frame
    (N, T, K_image), "V": video judge (N, K_video), "VIFI": the VIFI features (N, D)}. The N-way columns and
    :func:`pairing_matrices` use "I" and "V", the VIFI-score "VIFI"."""
    clips = np.asarray(clips)
    if clips.ndim != 5 or clips.shape[-1] != 3:
        raise ValueError(f"expected uint8 clips (N, T, H, W, 3), got shape {clips.shape}")
    n, t = clips.shape[:2]
    image = np.asarray(judges.image(clips.reshape(n * t, *clips.shape[2:]))).reshape(n, t, -1)
    if judges.vifi is judges.video and hasattr(judges.video, "probabilities_and_features"):  # the twin: one pass
        video, features = judges.video.probabilities_and_features(clips)
    else:
        video, features = judges.video(clips), judges.vifi.features(clips)
    return {"I": image, "V": np.asarray(video), "VIFI": np.asarray(features)}


def pairing_matrices(truth: dict[str, np.ndarray], recon: dict[str, np.ndarray],
                     n_ways: list[int]) -> dict[str, np.ndarray]:
    """Expected N-way accuracy of every reconstruction against every truth clip, from :func:`judge_readout`
    of both: {"2-way-I": (N, N), "2-way-V": …}, entry (i, j) = reconstruction j against truth i (the image columns
    pair frame k with frame k, as :func:`semvideo.metrics.semantic.image_n_way` does, and average over frames).
    The diagonal is the N-way column of :func:`clip_scores` without its trial noise; the rest is the chance of
    these same reconstructions (:func:`semvideo.metrics.stats.pairing_null`)."""
    out, frames = {}, truth["I"].shape[1]
    for n_way in n_ways:
        out[f"{n_way}-way-I"] = np.mean([n_way_expected(truth["I"][:, k], recon["I"][:, k], n_way)
                                         for k in range(frames)], axis=0)
        out[f"{n_way}-way-V"] = n_way_expected(truth["V"], recon["V"], n_way)
    return out


def pairing_null_table(pairings: dict[str, dict[str, np.ndarray]], n_permutations: int,
                       rng: np.random.Generator) -> pd.DataFrame:
    """Each method's N-way scores against the re-pairing chance of its own reconstructions, pooled over subjects.

    ``pairings`` maps subject → {"<method>|<metric>": (N, N) matrix} (``metrics/{subject}_pairings.npz``); a
    method is tested on the subjects that have it. Returns one row per (method, metric) in the files' order:
    subjects, matched, null_mean, null_sd, p_above, p_below (:func:`semvideo.metrics.stats.pairing_null`).
    """
    keys = list(dict.fromkeys(key for matrices in pairings.values() for key in matrices))
    rows = []
    for key in keys:
        method, metric = key.split("|")
        have = [subject for subject, matrices in pairings.items() if key in matrices]
        rows.append({"method": method, "metric": metric, "subjects": len(have),
                     **pairing_null([pairings[s][key] for s in have], n_permutations, rng)})
    return pd.DataFrame(rows)


def mismatched(n_clips: int) -> np.ndarray:
    """Test-clip order (n,) that pairs every clip with the one half the test set away: for the twin's and CC2017's
    contiguous test movies, 40+ s apart, so another shot; no clip is paired with itself (n ≥ 2)."""
    if n_clips < 2:
        raise ValueError(f"a mismatched pairing needs at least 2 test clips, got {n_clips}")
    return np.roll(np.arange(n_clips), n_clips // 2)
