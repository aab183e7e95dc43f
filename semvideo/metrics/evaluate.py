"""Table 1 (paper §4.1): the ten metrics for every test clip, for SemVideo and baselines on the same split.

``run_evaluation(cfg)`` writes ``results/<name>/metrics/{subject}_scores.csv``: one row per (method, test clip)
with the ten per-clip scores. Methods measured side by side:

* ``SemVideo`` — the full render (``recon/{subject}.npz`` frames);
* ``MAD blurry video`` — the VAE-decoded motion latents ê alone (MAD's own, eq. 12), before the render;
* ``Flow readout baseline`` (when ``mad.flow_readout``) — ours, not the paper's: MAD's clip-mean latent moved along
  the stimulus flow decoded from the BOLD (:mod:`semvideo.models.flow`);
* ``Ridge latent decoder`` — the Nishimoto / Wen family: ridge regression (scikit-learn ``RidgeCV``, α chosen by
  leave-one-out over a log grid) from the subject's voxels to the VAE latents of each frame, decoded with the
  same VAE;
* ``Single caption (BLIP-style)`` — the NeuroClips / Mind-Animator family (see
  :data:`semvideo.models.cvr.RENDER_VARIANTS`);
* for ``eval.ablation_subjects`` also Table 3's ablations (``w/o C_anchor``, ``w/o C_holi``, ``w/o C_motion``)
  and Fig. 5's ``w/o MAD`` (:data:`semvideo.models.cvr.ABLATION_VARIANTS`), and the oracle ladder: the renders
  of :data:`semvideo.models.cvr.ORACLE_VARIANTS` (the truth in place of one decoded input at a time) and its
  ceiling ``Oracle (a): VAE round trip`` (the VAE decoding of the true test clips' latents,
  ``mad/latents_test.npy``).

For the ablation subjects it also runs Fig. 5's shuffle test (:func:`semvideo.metrics.stats.shuffle_test`) on
SemVideo, w/o C_motion and w/o MAD → ``metrics/{subject}_shuffle.csv`` (method, clip_id, P, EPE). For
``eval.convention_subjects`` (default the first subject) it scores Table 1's methods under every named metric
convention (:mod:`semvideo.metrics.conventions`) → ``metrics/{subject}_conventions.csv``. The bootstrap
p-values against SemVideo and the coloured tables are computed by notebooks 06 and 07 from these files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from semvideo.config import Config, EvalConfig
from semvideo.metrics.conventions import CONVENTIONS, clip_embeddings, convention_scores, get_convention
from semvideo.metrics.pixel import hue_pcc, psnr, ssim
from semvideo.metrics.semantic import image_n_way, video_n_way, vifi_score
from semvideo.metrics.temporal import clip_pcc, epe

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
    "convention_subjects",
    "mismatched",
    "ridge_reconstruction",
    "run_evaluation",
    "write_conventions",
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
#: Fig. 5's shuffle-test variants (ablation subjects).
SHUFFLE_METHODS = ("SemVideo", "w/o C_motion", "w/o MAD")


def clip_scores(truth: np.ndarray, recon: np.ndarray, judges, settings: EvalConfig,
                rng: np.random.Generator) -> pd.DataFrame:
    """The ten metrics per clip: truth, recon uint8 (N, T, H, W, 3) → DataFrame (N rows, METRICS columns).

    Computed under ``settings.convention`` (:mod:`semvideo.metrics.conventions`); a metric that the
    convention's paper does not compute is computed as ``semvideo`` does.
    """
    conv = get_convention(settings.convention)
    scores = {}
    for n_way in settings.n_ways:
        scores[f"{n_way}-way-I"] = image_n_way(judges.image, truth, recon, n_way, settings.n_trials, rng,
                                               n_way_fn=conv.n_way)
        scores[f"{n_way}-way-V"] = video_n_way(judges.video, truth, recon, n_way, settings.n_trials, rng,
                                               n_way_fn=conv.n_way)
    scores["VIFI"] = vifi_score(judges.vifi.features, truth, recon)
    scores["SSIM"], scores["PSNR"], scores["Hue-pcc"] = ((conv.metric(m) or ours)(truth, recon) for m, ours in
                                                         (("SSIM", ssim), ("PSNR", psnr), ("Hue-pcc", hue_pcc)))
    if conv.clip_pcc is None or conv.name == "semvideo":
        scores["CLIP-pcc"] = clip_pcc(recon, judges.clip.features, scores["VIFI"], settings.vifi_threshold)
    else:
        scores["CLIP-pcc"] = conv.clip_pcc(clip_embeddings(recon, judges.clip.features, conv.clip_size),
                                           scores["VIFI"], settings.vifi_threshold)
    scores["EPE"] = epe(truth, recon) if conv.epe is None or conv.name == "semvideo" else conv.epe(truth, recon)
    return pd.DataFrame({m: scores[m] for m in METRICS if m in scores})


def convention_subjects(cfg: Config) -> list[str]:
    """Subjects scored under every convention (``eval.convention_subjects``, else the first subject; an empty
    list scores none)."""
    subjects = cfg.subjects[:1] if cfg.eval.convention_subjects is None else list(cfg.eval.convention_subjects)
    unknown = sorted(set(subjects) - set(cfg.subjects))
    if unknown:
        raise ValueError(f"eval.convention_subjects names {unknown}, which are not in subjects {cfg.subjects}")
    return subjects


def write_conventions(path, truth: np.ndarray, methods: dict, scores: pd.DataFrame, clip_ids, embed,
                      threshold: float, n_clips: int | None = None) -> None:
    """Table 1's methods scored under every convention → ``path`` (``{subject}_conventions.csv``: convention,
    method, clip_id and :data:`~semvideo.metrics.conventions.CONVENTION_METRICS`), atomically. The VIFI gate
    of CLIP-pcc uses each method's VIFI-scores from ``scores``; ``n_clips`` keeps the first n test clips."""
    from semvideo.io import atomic_path

    keep = slice(None, n_clips)
    recons = {m: methods[m][keep] for m in TABLE1_METHODS}
    vifi = {m: scores.loc[scores["method"] == m, "VIFI"].to_numpy()[keep] for m in recons}
    table = convention_scores(truth[keep], recons, embed, vifi, tuple(CONVENTIONS), threshold)
    table.insert(2, "clip_id", np.asarray(clip_ids)[table.pop("clip").to_numpy()])
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def mismatched(n_clips: int) -> np.ndarray:
    """Test-clip order (n,) that pairs every clip with the one half the test set away: for the twin's and CC2017's
    contiguous test movies, 40+ s apart, so another shot; no clip is paired with itself (n ≥ 2)."""
    if n_clips < 2:
        raise ValueError(f"a mismatched pairing needs at least 2 test clips, got {n_clips}")
    return np.roll(np.arange(n_clips), n_clips // 2)


def ridge_reconstruction(bold_train: np.ndarray, latents_train: np.ndarray, bold_test: np.ndarray, vae) -> np.ndarray:
    """Linear baseline: voxels (N, V) → every frame's VAE latents (N, T, C, h, w), decoded to uint8 frames."""
    from sklearn.linear_model import RidgeCV

    from semvideo.models.priors import decode_latents

    model = RidgeCV(alphas=np.logspace(0, 5, 11)).fit(bold_train, latents_train.reshape(len(latents_train), -1))
    predicted = model.predict(bold_test).astype(np.float32).reshape(len(bold_test), *latents_train.shape[1:])
    return decode_latents(vae, predicted)


def run_evaluation(cfg: Config) -> None:
    """Score every method on every subject's test clips → ``metrics/{subject}_scores.csv`` (method, clip_id and
    the ten metrics) and, for the ablation subjects, ``metrics/{subject}_shuffle.csv``; all written atomically."""
    from semvideo.data.prepared import PreparedData
    from semvideo.device import place, resolve_device
    from semvideo.io import atomic_path
    from semvideo.metrics.judges import load_judges
    from semvideo.metrics.stats import shuffle_test
    from semvideo.models.cvr import (
        ABLATION_VARIANTS,
        ORACLE_VARIANTS,
        VAE_ROUND_TRIP,
        ablation_subjects,
        recon_path,
    )
    from semvideo.models.mad import target_latents
    from semvideo.models.priors import decode_latents, load_vae
    from semvideo.paths import RunPaths

    resolve_device(cfg)  # a config that names a missing GPU stops here, in one line
    paths, data = RunPaths.from_config(cfg), PreparedData.from_config(cfg)
    truth, clip_ids = data.frames("test"), data.split_clips("test")["clip_id"]
    # the judges go to cfg.device in load_judges (float32: they are instruments); the VAE in cfg.dtype
    judges, vae = load_judges(cfg), place(load_vae(cfg), cfg)
    latents_train = target_latents(vae, data.frames("train"), paths.mad / "latents_train.npy")
    for number, subject in enumerate(tqdm(cfg.subjects, desc="evaluate")):
        full = _load_recon(recon_path(cfg, "SemVideo", subject))
        methods = {"SemVideo": full["frames"],
                   "Single caption (BLIP-style)": _load_recon(recon_path(cfg, TABLE1_METHODS[1], subject))["frames"],
                   "MAD blurry video": full["blurry"],
                   **_flow_readout(paths, subject),
                   "Ridge latent decoder": ridge_reconstruction(np.asarray(data.bold(subject, "train")),
                                                                latents_train, np.asarray(data.bold(subject, "test")),
                                                                vae),
                   MISMATCHED: full["frames"][mismatched(len(clip_ids))]}
        if subject in ablation_subjects(cfg):
            methods |= {m: _load_recon(recon_path(cfg, m, subject))["frames"] for m in (*ABLATION_VARIANTS,
                                                                                       *ORACLE_VARIANTS)}
            # the oracle ladder's ceiling (a): the VAE decoding of the true clip's latents E(V)
            methods[VAE_ROUND_TRIP] = decode_latents(vae, target_latents(vae, truth, paths.mad / "latents_test.npy"))
        tables = []
        for offset, (method, frames) in enumerate(methods.items()):
            rng = np.random.default_rng([cfg.seed, number, offset])
            tables.append(clip_scores(truth, frames, judges, cfg.eval, rng).assign(method=method, clip_id=clip_ids))
        scores = pd.concat(tables, ignore_index=True)
        with atomic_path(paths.metrics / f"{subject}_scores.csv") as tmp:
            scores.to_csv(tmp, index=False)
        if subject in convention_subjects(cfg):
            write_conventions(paths.metrics / f"{subject}_conventions.csv", truth, methods, scores, clip_ids,
                              judges.clip.features, cfg.eval.vifi_threshold, cfg.eval.convention_clips)
        if subject in ablation_subjects(cfg):
            shuffle = [pd.DataFrame({"method": m, "clip_id": clip_ids,
                                     "P": shuffle_test(truth, methods[m], cfg.eval.n_permutations,
                                                       np.random.default_rng([cfg.seed, number, 99, k])),
                                     "EPE": scores.loc[scores["method"] == m, "EPE"].to_numpy()})
                       for k, m in enumerate(SHUFFLE_METHODS)]
            with atomic_path(paths.metrics / f"{subject}_shuffle.csv") as tmp:
                pd.concat(shuffle, ignore_index=True).to_csv(tmp, index=False)


def _flow_readout(paths, subject: str) -> dict[str, np.ndarray]:
    """{:data:`FLOW_READOUT`: its blurry video} when ``mad.flow_readout`` wrote one for the subject, else {}."""
    path = paths.mad / "pred" / f"{subject}_flow_readout_blurry.npy"
    return {FLOW_READOUT: np.load(path)} if path.exists() else {}


def _load_recon(path) -> np.lib.npyio.NpzFile:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no reconstructions; run `python -m semvideo render --config ...` first")
    return np.load(path)
