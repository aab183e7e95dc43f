"""Table 1 (paper §4.1): the ten metrics for every test clip, for SemVideo and baselines on the same split.

``run_evaluation(cfg)`` writes ``results/<name>/metrics/{subject}_scores.csv``: one row per (method, test clip)
with the ten per-clip scores. Methods measured side by side:

* ``SemVideo`` — the full render (``recon/{subject}.npz`` frames);
* ``MAD blurry video`` — the VAE-decoded motion latents ê alone, before the render;
* ``Ridge latent decoder`` — the Nishimoto / Wen family: ridge regression (scikit-learn ``RidgeCV``, α chosen by
  leave-one-out over a log grid) from the subject's voxels to the VAE latents of each frame, decoded with the
  same VAE.

The bootstrap p-values against SemVideo and the coloured Table 1 are computed by notebook 06 from these files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from semvideo.config import Config, EvalConfig
from semvideo.metrics.pixel import hue_pcc, psnr, ssim
from semvideo.metrics.semantic import image_n_way, video_n_way, vifi_score
from semvideo.metrics.temporal import clip_pcc, epe

__all__ = ["METRICS", "HIGHER_IS_BETTER", "PAPER_SEMVIDEO", "clip_scores", "ridge_reconstruction", "run_evaluation"]

#: Table 1's columns, in the paper's order.
METRICS = ("2-way-I", "2-way-V", "50-way-I", "50-way-V", "VIFI", "SSIM", "PSNR", "Hue-pcc", "CLIP-pcc", "EPE")
HIGHER_IS_BETTER = {m: m != "EPE" for m in METRICS}
#: The paper's SemVideo row of Table 1 (CC2017, mean over all test clips and three subjects).
PAPER_SEMVIDEO = dict(zip(METRICS, (0.838, 0.865, 0.225, 0.264, 0.608, 0.321, 9.448, 0.849, 0.526, 4.788)))


def clip_scores(truth: np.ndarray, recon: np.ndarray, judges, settings: EvalConfig,
                rng: np.random.Generator) -> pd.DataFrame:
    """The ten metrics per clip: truth, recon uint8 (N, T, H, W, 3) → DataFrame (N rows, METRICS columns)."""
    scores = {}
    for n_way in settings.n_ways:
        scores[f"{n_way}-way-I"] = image_n_way(judges.image, truth, recon, n_way, settings.n_trials, rng)
        scores[f"{n_way}-way-V"] = video_n_way(judges.video, truth, recon, n_way, settings.n_trials, rng)
    scores["VIFI"] = vifi_score(judges.vifi.features, truth, recon)
    scores["SSIM"], scores["PSNR"], scores["Hue-pcc"] = ssim(truth, recon), psnr(truth, recon), hue_pcc(truth, recon)
    scores["CLIP-pcc"] = clip_pcc(recon, judges.clip.features, scores["VIFI"], settings.vifi_threshold)
    scores["EPE"] = epe(truth, recon)
    return pd.DataFrame({m: scores[m] for m in METRICS if m in scores})


def ridge_reconstruction(bold_train: np.ndarray, latents_train: np.ndarray, bold_test: np.ndarray, vae) -> np.ndarray:
    """Linear baseline: voxels (N, V) → every frame's VAE latents (N, T, C, h, w), decoded to uint8 frames."""
    from sklearn.linear_model import RidgeCV

    from semvideo.models.priors import decode_latents

    model = RidgeCV(alphas=np.logspace(0, 5, 11)).fit(bold_train, latents_train.reshape(len(latents_train), -1))
    predicted = model.predict(bold_test).astype(np.float32).reshape(len(bold_test), *latents_train.shape[1:])
    return decode_latents(vae, predicted)


def run_evaluation(cfg: Config) -> None:
    """Score every method on every subject's test clips; write ``metrics/{subject}_scores.csv`` atomically."""
    from semvideo.data.prepared import PreparedData
    from semvideo.io import atomic_path
    from semvideo.metrics.judges import load_judges
    from semvideo.models.mad import target_latents
    from semvideo.models.priors import load_vae
    from semvideo.paths import RunPaths

    paths, data = RunPaths.from_config(cfg), PreparedData.from_config(cfg)
    truth, clip_ids = data.frames("test"), data.split_clips("test")["clip_id"]
    judges, vae = load_judges(cfg), load_vae(cfg)
    latents_train = target_latents(vae, data.frames("train"), paths.mad / "latents_train.npy")
    for number, subject in enumerate(tqdm(cfg.subjects, desc="evaluate")):
        recon_file = paths.recon / f"{subject}.npz"
        if not recon_file.exists():
            raise FileNotFoundError(f"{recon_file}: no reconstructions; run `python -m semvideo render` first")
        recon = np.load(recon_file)
        methods = {"SemVideo": recon["frames"], "MAD blurry video": recon["blurry"],
                   "Ridge latent decoder": ridge_reconstruction(np.asarray(data.bold(subject, "train")),
                                                                latents_train, np.asarray(data.bold(subject, "test")),
                                                                vae)}
        tables = []
        for offset, (method, frames) in enumerate(methods.items()):
            rng = np.random.default_rng([cfg.seed, number, offset])
            tables.append(clip_scores(truth, frames, judges, cfg.eval, rng).assign(method=method, clip_id=clip_ids))
        with atomic_path(paths.metrics / f"{subject}_scores.csv") as tmp:
            pd.concat(tables, ignore_index=True).to_csv(tmp, index=False)
