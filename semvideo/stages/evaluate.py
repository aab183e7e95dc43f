"""The ``evaluate`` stage (Table 1, paper §4.1): the ten metrics for every test clip, for SemVideo and baselines on
the same split.

``run_evaluation(cfg)`` writes ``results/<name>/metrics/{subject}_scores.csv``: one row per (method, test clip)
with the ten per-clip scores (:func:`semvideo.metrics.evaluate.clip_scores`). Methods measured side by side:

* ``SemVideo`` — the full render (``recon/{subject}.npz`` frames);
* ``MAD blurry video`` — the VAE-decoded motion latents ê alone (MAD's own, eq. 12), before the render;
* ``Flow readout baseline`` (when ``mad.flow_readout``) — ours, not the paper's: MAD's clip-mean latent moved along
  the stimulus flow decoded from the BOLD (:mod:`semvideo.models.flow`);
* ``Ridge latent decoder`` — the Nishimoto / Wen family (:func:`semvideo.models.baselines.ridge_reconstruction`):
  ridge regression (scikit-learn ``RidgeCV``, α chosen by leave-one-out over a log grid) from the subject's voxels
  to the VAE latents of each frame, decoded with the same VAE;
* ``Single caption (BLIP-style)`` — the NeuroClips / Mind-Animator family (see
  :data:`semvideo.plan.RENDER_VARIANTS`);
* for ``eval.ablation_subjects`` also Table 3's ablations (``w/o C_anchor``, ``w/o C_holi``, ``w/o C_motion``)
  and Fig. 5's ``w/o MAD`` (:data:`semvideo.plan.ABLATION_VARIANTS`), and the oracle ladder: the renders
  of :data:`semvideo.plan.ORACLE_VARIANTS` (the truth in place of one decoded input at a time) and its
  ceiling ``Oracle (a): VAE round trip`` (the VAE decoding of the true test clips' latents,
  ``mad/latents_test.npy``), and our sampler row (:data:`semvideo.plan.SAMPLER_VARIANTS`).

For the ablation subjects it also runs Fig. 5's shuffle test (:func:`semvideo.metrics.stats.shuffle_test`) on
SemVideo, w/o C_motion, w/o MAD and our sampler row → ``metrics/{subject}_shuffle.csv`` (method, clip_id, P, EPE). For
``eval.convention_subjects`` (default the first subject) it scores Table 1's methods under every named metric
convention (:mod:`semvideo.metrics.conventions`) → ``metrics/{subject}_conventions.csv``. For every method but the
chance row it stores the expected N-way accuracy of each reconstruction against each truth clip
(:func:`semvideo.metrics.evaluate.pairing_matrices`) → ``metrics/{subject}_pairings.npz``, the re-pairing chance of
the N-way columns (:func:`semvideo.metrics.stats.pairing_null`). The bootstrap
p-values against SemVideo and the coloured tables are computed by notebooks 06 and 07 from these files.

The metrics, the methods' names and the paper's reported values are :mod:`semvideo.metrics.evaluate`; this module
reads the run folder (``recon/``, ``mad/``, ``judges/``, ``data/``) and writes ``metrics/``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from semvideo.config import Config
from semvideo.data.prepared import PreparedData
from semvideo.device import place, resolve_device
from semvideo.io import atomic_path
from semvideo.metrics.conventions import CONVENTIONS, convention_scores
from semvideo.metrics.evaluate import (
    FLOW_READOUT,
    MISMATCHED,
    SHUFFLE_METHODS,
    TABLE1_METHODS,
    clip_scores,
    judge_readout,
    mismatched,
    pairing_matrices,
)
from semvideo.metrics.judges import load_judges
from semvideo.metrics.stats import shuffle_test
from semvideo.models.baselines import ridge_reconstruction
from semvideo.models.priors import decode_latents, load_vae
from semvideo.paths import RunPaths
from semvideo.plan import (
    ABLATION_VARIANTS,
    ORACLE_VARIANTS,
    SAMPLER_VARIANTS,
    VAE_ROUND_TRIP,
    ablation_subjects,
    convention_subjects,
    recon_path,
)
from semvideo.stages.mad import target_latents
from semvideo.workers import map_jobs

__all__ = ["run_evaluation", "write_conventions", "write_pairings"]


def write_conventions(path, truth: np.ndarray, methods: dict, scores: pd.DataFrame, clip_ids, embed,
                      threshold: float, n_clips: int | None = None) -> None:
    """Table 1's methods scored under every convention → ``path`` (``{subject}_conventions.csv``: convention,
    method, clip_id and :data:`~semvideo.metrics.conventions.CONVENTION_METRICS`), atomically. The VIFI gate
    of CLIP-pcc uses each method's VIFI-scores from ``scores``; ``n_clips`` keeps the first n test clips. (The
    stage computes the same table in chunks of clips spread over its workers.)"""
    jobs = _convention_jobs(truth, methods, scores, threshold, n_clips, n_chunks=1)
    _write_convention_table(path, [_convention_chunk(embed, job) for job in jobs], clip_ids)


def _convention_jobs(truth: np.ndarray, methods: dict, scores: pd.DataFrame, threshold: float,
                     n_clips: int | None, n_chunks: int) -> list[tuple]:
    """The first ``n_clips`` test clips in ``n_chunks`` chunks, each a :func:`_convention_chunk` job: (truth,
    Table 1's reconstructions, their VIFI-scores, threshold, clip rows)."""
    vifi = {m: scores.loc[scores["method"] == m, "VIFI"].to_numpy() for m in TABLE1_METHODS}
    chunks = [rows for rows in np.array_split(np.arange(len(truth))[:n_clips], n_chunks) if len(rows)]
    return [(truth[rows], {m: methods[m][rows] for m in TABLE1_METHODS}, {m: vifi[m][rows] for m in TABLE1_METHODS},
             threshold, rows) for rows in chunks]


def _convention_chunk(embed, job: tuple) -> pd.DataFrame:
    """:func:`~semvideo.metrics.conventions.convention_scores` of one chunk of clips, ``clip`` = the clip's row."""
    truth, recons, vifi, threshold, rows = job
    table = convention_scores(truth, recons, embed, vifi, tuple(CONVENTIONS), threshold)
    table["clip"] = rows[table["clip"].to_numpy()]
    return table


def _write_convention_table(path, parts: list[pd.DataFrame], clip_ids) -> None:
    """The chunks' tables in convention, method, clip order, with clip ids → ``path``, atomically."""
    table = pd.concat(parts, ignore_index=True)
    order = np.lexsort((table["clip"], table["method"].map(TABLE1_METHODS.index),
                        table["convention"].map(list(CONVENTIONS).index)))
    table = table.iloc[order].reset_index(drop=True)
    table.insert(2, "clip_id", np.asarray(clip_ids)[table.pop("clip").to_numpy()])
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def run_evaluation(cfg: Config) -> None:
    """Score every method on every subject's test clips → ``metrics/{subject}_scores.csv`` (method, clip_id and
    the ten metrics) and ``{subject}_pairings.npz``; for the ablation subjects also ``{subject}_shuffle.csv``, for
    the convention subjects ``{subject}_conventions.csv``; all written atomically. The subjects are independent
    jobs (:func:`semvideo.workers.map_jobs`, those with ablations first), then the conventions in chunks of clips."""
    resolve_device(cfg)  # a config that names a missing GPU stops here, in one line
    paths, data = RunPaths.from_config(cfg), PreparedData.from_config(cfg)
    truth, clip_ids = data.frames("test"), data.split_clips("test")["clip_id"]
    judges, vae = _instruments(cfg)
    target_latents(vae, data.frames("train"), paths.mad / "latents_train.npy")  # cached here, read by every job
    target_latents(vae, truth, paths.mad / "latents_test.npy")
    truth_read = judge_readout(judges, truth)  # once: every method is scored against it
    jobs = sorted(((cfg, number, subject, truth_read) for number, subject in enumerate(cfg.subjects)),
                  key=lambda job: job[2] not in ablation_subjects(cfg))
    table1 = map_jobs(cfg, _evaluate_subject, jobs, setup=_instruments, setup_args=(cfg,), state=(judges, vae))
    # then the conventions (Mind-Animator's 512-px EPE: ≈ 0.3 s per clip and method), in chunks of clips
    n_chunks = 2 * cfg.workers if cfg.workers > 1 else 1
    for (_, _, subject, _), (methods, scores) in ((job, out) for job, out in zip(jobs, table1) if out is not None):
        chunks = _convention_jobs(truth, methods, scores, cfg.eval.vifi_threshold, cfg.eval.convention_clips,
                                  n_chunks)
        parts = map_jobs(cfg, _convention_chunk, chunks, setup=_clip_embedder, setup_args=(cfg,),
                         state=judges.clip.features)
        _write_convention_table(paths.metrics / f"{subject}_conventions.csv", parts, clip_ids)


def _instruments(cfg: Config) -> tuple:
    """(judges, VAE): the judges on cfg.device in float32 (they are instruments, load_judges); the VAE in
    cfg.dtype."""
    return load_judges(cfg), place(load_vae(cfg), cfg)


def _clip_embedder(cfg: Config):
    """The CLIP-pcc image embedder of the conventions (the judges' ``clip.features``)."""
    return load_judges(cfg).clip.features


def _evaluate_subject(instruments: tuple, job: tuple[Config, int, str, dict]) -> tuple[dict, pd.DataFrame] | None:
    """Every method's scores, pairings and shuffle test of one (config, subject number, subject, truth readout)
    job → ``metrics/{subject}_*``; returns Table 1's reconstructions and the scores for a subject of
    ``eval.convention_subjects`` (scored under the conventions next), else None."""
    (judges, vae), (cfg, number, subject, truth_read) = instruments, job
    paths, data = RunPaths.from_config(cfg), PreparedData.from_config(cfg)
    truth, clip_ids = data.frames("test"), data.split_clips("test")["clip_id"]
    methods = _methods(cfg, paths, data, vae, subject, truth)
    tables, readouts = [], {}
    for offset, (method, frames) in enumerate(tqdm(methods.items(), desc=f"evaluate {subject}", leave=False)):
        rng = np.random.default_rng([cfg.seed, number, offset])
        readouts[method] = judge_readout(judges, frames)
        tables.append(clip_scores(truth, frames, judges, cfg.eval, rng, truth_readout=truth_read,
                                  recon_readout=readouts[method]).assign(method=method, clip_id=clip_ids))
    scores = pd.concat(tables, ignore_index=True)
    with atomic_path(paths.metrics / f"{subject}_scores.csv") as tmp:
        scores.to_csv(tmp, index=False)
    write_pairings(paths.metrics / f"{subject}_pairings.npz", truth_read, readouts, cfg.eval.n_ways)
    if subject in ablation_subjects(cfg):
        shuffle = [pd.DataFrame({"method": m, "clip_id": clip_ids,
                                 "P": shuffle_test(truth, methods[m], cfg.eval.n_permutations,
                                                   np.random.default_rng([cfg.seed, number, 99, k])),
                                 "EPE": scores.loc[scores["method"] == m, "EPE"].to_numpy()})
                   for k, m in enumerate(SHUFFLE_METHODS)]
        with atomic_path(paths.metrics / f"{subject}_shuffle.csv") as tmp:
            pd.concat(shuffle, ignore_index=True).to_csv(tmp, index=False)
    return ({m: methods[m] for m in TABLE1_METHODS}, scores) if subject in convention_subjects(cfg) else None


def _methods(cfg: Config, paths: RunPaths, data: PreparedData, vae, subject: str, truth: np.ndarray) -> dict:
    """{method: uint8 (N, n, H, W, 3) frames} of one subject: Table 1's, and for an ablation subject the ablations,
    the oracle renders and the ladder's ceiling (a)."""
    full = _load_recon(recon_path(cfg, "SemVideo", subject))
    methods = {"SemVideo": full["frames"],
               "Single caption (BLIP-style)": _load_recon(recon_path(cfg, TABLE1_METHODS[1], subject))["frames"],
               "MAD blurry video": full["blurry"],
               **_flow_readout(paths, subject),
               "Ridge latent decoder": ridge_reconstruction(np.asarray(data.bold(subject, "train")),
                                                            np.load(paths.mad / "latents_train.npy"),
                                                            np.asarray(data.bold(subject, "test")), vae),
               MISMATCHED: full["frames"][mismatched(len(truth))]}
    if subject in ablation_subjects(cfg):
        methods |= {m: _load_recon(recon_path(cfg, m, subject))["frames"] for m in (*ABLATION_VARIANTS,
                                                                                   *ORACLE_VARIANTS)}
        # the oracle ladder's ceiling (a): the VAE decoding of the true clip's latents E(V)
        methods[VAE_ROUND_TRIP] = decode_latents(vae, np.load(paths.mad / "latents_test.npy"))
        # after the ladder's ceiling: each method's N-way RNG is seeded by its position, so the others' stay as they were
        methods |= {m: _load_recon(recon_path(cfg, m, subject))["frames"] for m in SAMPLER_VARIANTS}
    return methods


def write_pairings(path, truth_readout: dict, readouts: dict, n_ways: list[int]) -> None:
    """{"<method>|<metric>": (N, N) expected N-way accuracy of every reconstruction against every truth} for
    every method but the chance row (:data:`MISMATCHED`, itself one re-pairing) → ``path`` (npz), atomically.
    ``truth_readout`` and ``readouts`` (method → its reconstructions' readout) are :func:`judge_readout`'s."""
    matrices = {}
    for method, readout in readouts.items():
        if method != MISMATCHED:
            matrices |= {f"{method}|{metric}": m
                         for metric, m in pairing_matrices(truth_readout, readout, n_ways).items()}
    with atomic_path(path) as tmp:
        np.savez(tmp, **matrices)


def _flow_readout(paths, subject: str) -> dict[str, np.ndarray]:
    """{:data:`FLOW_READOUT`: its blurry video} when ``mad.flow_readout`` wrote one for the subject, else {}."""
    path = paths.mad / "pred" / f"{subject}_flow_readout_blurry.npy"
    return {FLOW_READOUT: np.load(path)} if path.exists() else {}


def _load_recon(path) -> np.lib.npyio.NpzFile:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no reconstructions; run `python -m semvideo render --config ...` first")
    return np.load(path)
