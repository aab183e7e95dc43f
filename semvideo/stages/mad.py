"""The ``train-mad`` stage: per subject, train the Motion Adaptation Decoder and its "w/o C_motion" variant,
predict ê for the test clips and decode the blurry video (and, with ``mad.flow_readout``, the flow readout
baseline of :mod:`semvideo.models.flow`).

The model, its loss and the build / train / predict functions are :mod:`semvideo.models.mad`; this module reads the
run folder (``data/``, ``embeddings/``, ``sad/pred/``, the VAE), caches the targets E(V) (:func:`target_latents`),
keys the checkpoints on config, VAE and inputs, and writes ``mad/``.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from semvideo.config import Config
from semvideo.data.prepared import PreparedData
from semvideo.device import device_record, place, resolve_device, training_kwargs
from semvideo.distributed import is_main_process, wait_for_everyone
from semvideo.distributed import start as start_processes
from semvideo.io import atomic_dir, atomic_path, save_npy, write_json
from semvideo.models.flow import fit_flow_readout, move_latents, stimulus_flows
from semvideo.models.mad import MotionAdaptationDecoder, build_mad, predict_mad, train_mad
from semvideo.models.priors import decode_latents, encode_frames, load_vae
from semvideo.paths import RunPaths
from semvideo.plan import MAD_VARIANTS
from semvideo.train import file_stats, keyed_checkpoint_dir
from semvideo.workers import map_jobs

__all__ = ["run_mad", "target_latents"]


def target_latents(vae, frames: np.ndarray, cache: Path, batch_size: int = 64) -> np.ndarray:
    """E(V): scaled VAE latents of the true frames, cached as ``.npy``.

    frames: uint8 (N, n, H, W, 3) → float32 (N, n, C, h, w), the encoder's posterior mean × ``scaling_factor``
    (no sampling). The cache (with a ``.json`` fingerprint of the VAE's weights and the frames' shape) is
    reused only for the same VAE and frames, so a retrained VAE never meets stale targets.
    """
    key = {"vae": _vae_fingerprint(vae), "frames": list(frames.shape)}
    stamp = cache.with_suffix(".json")
    if cache.exists() and stamp.exists() and json.loads(stamp.read_text()) == key:
        return np.load(cache)
    chunks = [encode_frames(vae, frames[i:i + batch_size]).numpy()
              for i in tqdm(range(0, len(frames), batch_size), desc=f"E(V) {cache.stem}", leave=False)]
    latents = np.concatenate(chunks).astype(np.float32)
    save_npy(cache, latents)
    write_json(stamp, key)
    return latents


def run_mad(cfg: Config) -> None:
    """Stage ``train-mad``: per subject, train MAD and its "w/o C_motion" variant, predict ê, decode blurry video.

    Reads ``data/`` (BOLD, frames), ``embeddings/motion_train.npy`` (or SAD's training predictions, see
    ``mad.semantic_source``), ``sad/pred/{subject}_motion_refined.npy`` (Ẑ(C_motion) of the test set) and the
    VAE (``priors.vae`` or ``priors/vae``). Writes under ``mad/``::

        latents_{train,test}.npy           E(V) of the true frames (cache)
        {subject}{suffix}/                 save_pretrained folder (suffix "" full, "_wo_motion" w/o C_motion)
        ckpt/{subject}{suffix}-{key}/      per-epoch checkpoints (resume; key = fingerprint of the inputs)
        pred/{subject}{suffix}_losses.csv  one row per optimiser step: epoch, step, lr, loss, l1, contrastive
        pred/{subject}{suffix}_latents.npy float32 (N_test, n, C, h, w): ê (what the render starts from)
        pred/{subject}{suffix}_blurry.npy  uint8 (N_test, n, H, W, 3): VAE-decoded ê
        pred/done.json                     λ values, final losses, sizes, timings per subject and variant
                                           (and the flow readout's α and threshold per subject)

    ê is always MAD's own prediction (eq. 12), the paper's blurry video. With ``mad.flow_readout``
    (:mod:`semvideo.models.flow`) the stage also writes the *flow readout baseline*, an addition of ours that
    Table 1 shows as its own row: the full MAD's clip-mean latent moved along the flow decoded from the
    subject's BOLD::

        pred/{subject}_flow_readout_latents.npy  float32 (N_test, n, C, h, w): the moved clip-mean latents
        pred/{subject}_flow_readout_blurry.npy   uint8 (N_test, n, H, W, 3): their VAE decoding
        pred/{subject}_flow_readout.csv          held-out EPE of every (alpha, threshold) tried
    """
    start_processes(resolve_device(cfg))  # a missing GPU stops here in one line; join launched processes
    paths, data = RunPaths.from_config(cfg), PreparedData.from_config(cfg)
    for subject in cfg.subjects:  # fail before any training when an upstream stage has not run
        for path in (_train_semantic_path(cfg, paths, subject), _test_semantic_path(paths, subject)):
            _require(path)
    vae, main = _placed_vae(cfg), is_main_process()
    if main:  # one process encodes and caches E(V); under `accelerate launch` the others read the cache
        for split in ("train", "test"):
            target_latents(vae, data.frames(split), paths.mad / f"latents_{split}.npy")
    wait_for_everyone()
    latents = {split: target_latents(vae, data.frames(split), paths.mad / f"latents_{split}.npy")
               for split in ("train", "test")}
    flows_train = stimulus_flows(data.frames("train")) if cfg.mad.flow_readout and main else None
    summary, jobs = {"latent_shape": list(latents["train"].shape[2:]), "subjects": {}}, []
    for subject in cfg.subjects:
        bold, semantic = _subject_inputs(cfg, paths, data, subject)
        _check_rows(subject, bold, semantic["train"], semantic["test"], latents)
        flows = _fit_flow_readout(cfg, paths, subject, bold, flows_train, summary) if flows_train is not None else None
        summary["subjects"][subject] = {}
        jobs += [(cfg, subject, variant, flows if variant == "full" else None) for variant in MAD_VARIANTS]
    # the trainings are independent: spread over cfg.workers processes, each with its own VAE and E(V)
    done_jobs = map_jobs(cfg, _variant_job, jobs, setup=_variant_state, setup_args=(cfg,), state=(vae, latents))
    for (_, subject, variant, _), done in zip(jobs, done_jobs):
        if done is not None:
            summary["subjects"][subject][variant] = done
    wait_for_everyone()
    if main:
        summary["device"] = {**device_record(resolve_device(cfg)),
                             "mixed_precision": training_kwargs(cfg)["mixed_precision"]}
        write_json(paths.mad / "pred" / "done.json", summary)


def _fit_flow_readout(cfg: Config, paths: RunPaths, subject: str, bold: dict, flows_train: np.ndarray,
                      summary: dict) -> np.ndarray:
    """The flow readout baseline's ridge from BOLD to stimulus flow (:mod:`semvideo.models.flow`): writes its
    held-out scores, records its α and threshold in ``summary``; returns the test clips' predicted flows."""
    readout = fit_flow_readout(bold["train"], flows_train, cfg.mad.flow_block, seed=cfg.seed)
    with atomic_path(paths.mad / "pred" / f"{subject}_flow_readout.csv") as tmp:
        readout.scores.to_csv(tmp, index=False)
    summary.setdefault("flow_readout", {})[subject] = {"alpha": readout.alpha, "threshold": readout.threshold}
    return readout.predict(bold["test"])


def _subject_inputs(cfg: Config, paths: RunPaths, data: PreparedData, subject: str) -> tuple[dict, dict]:
    """A subject's BOLD {split: float32 (N, V)} and Z(C_motion) {"train": tensor, "test": array}."""
    bold = {split: np.array(data.bold(subject, split), dtype=np.float32) for split in ("train", "test")}
    semantic = {"train": torch.from_numpy(_load_embedding(_train_semantic_path(cfg, paths, subject))),
                "test": _load_embedding(_test_semantic_path(paths, subject))}
    return bold, semantic


def _placed_vae(cfg: Config):
    return place(load_vae(cfg), cfg)


def _variant_state(cfg: Config) -> tuple:
    """A worker's (VAE, E(V) {split: latents}), the latents from the cache the stage wrote before the jobs."""
    paths = RunPaths.from_config(cfg)
    return _placed_vae(cfg), {split: np.load(paths.mad / f"latents_{split}.npy") for split in ("train", "test")}


def _variant_job(state: tuple, job: tuple[Config, str, str, np.ndarray | None]) -> dict | None:
    """:func:`_train_variant` of one (config, subject, variant, test flows) job (a
    :func:`semvideo.workers.map_jobs` job) with the process's (VAE, E(V)); BOLD and captions read from the run."""
    (vae, latents), (cfg, subject, variant, test_flows) = state, job
    paths, data = RunPaths.from_config(cfg), PreparedData.from_config(cfg)
    bold, semantic = _subject_inputs(cfg, paths, data, subject)
    return _train_variant(cfg, paths, data, vae, subject, variant, bold, semantic, latents, test_flows)


def _train_variant(cfg: Config, paths: RunPaths, data: PreparedData, vae, subject: str, variant: str, bold: dict,
                   semantic: dict, latents: dict, test_flows: np.ndarray | None) -> dict | None:
    """Train one MAD variant of a subject, save it, predict ê and decode the blurry video (and, given
    ``test_flows``, the flow readout baseline); returns its summary (None on processes other than the main)."""
    start, name = time.perf_counter(), f"{subject}{MAD_VARIANTS[variant]}"
    train_latents = torch.from_numpy(latents["train"])
    model = build_mad(cfg, bold["train"].shape[1], latents["train"].shape[2:], semantic["train"].shape[-1],
                      use_semantic=variant == "full")
    model.latent_mean.copy_(train_latents.mean(dim=(0, 1)))
    ckpt = _checkpoint_dir(paths.mad / "ckpt", name, cfg, vae, _train_semantic_path(cfg, paths, subject),
                           data.root / subject / "bold_train.npy")
    log = train_mad(model, cfg, bold["train"], semantic["train"], train_latents, ckpt, desc=f"MAD {name}")
    if not is_main_process():  # the main process saves, predicts and writes; the others go on to the next training
        return None
    with atomic_dir(paths.mad / name) as tmp:
        model.save_pretrained(tmp)
    with atomic_path(paths.mad / "pred" / f"{name}_losses.csv") as tmp:
        log.to_csv(tmp, index=False)
    e_hat = predict_mad(model, bold["test"], semantic["test"] if variant == "full" else None)
    save_npy(paths.mad / "pred" / f"{name}_latents.npy", e_hat)
    save_npy(paths.mad / "pred" / f"{name}_blurry.npy", decode_latents(vae, torch.from_numpy(e_hat)))
    if test_flows is not None:  # the flow readout baseline: a row of its own
        moved = move_latents(e_hat.mean(axis=1), test_flows)
        save_npy(paths.mad / "pred" / f"{subject}_flow_readout_latents.npy", moved)
        save_npy(paths.mad / "pred" / f"{subject}_flow_readout_blurry.npy", decode_latents(vae, torch.from_numpy(moved)))
    return _summary(model, log, time.perf_counter() - start)


def _checkpoint_dir(root: Path, name: str, cfg: Config, vae, *inputs: Path) -> Path:
    """``root/{name}-{key}`` (:func:`keyed_checkpoint_dir`): a killed run resumes only with the same ``cfg.mad``
    (except the flow readout's keys, which do not touch training), seed, VAE weights and input files."""
    training = cfg.mad.model_dump(exclude={"flow_readout", "flow_block"})  # the readout never touches training
    return keyed_checkpoint_dir(root, name, training, cfg.seed, _vae_fingerprint(vae), file_stats(*inputs))


def _vae_fingerprint(vae) -> str:
    """SHA-1 of the VAE's architecture config (without bookkeeping keys such as ``_name_or_path``) and weights."""
    config = {k: v for k, v in dict(vae.config).items() if not k.startswith("_")}
    digest = hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode())
    for tensor in vae.state_dict().values():
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())  # float: bf16 has no numpy type
    return digest.hexdigest()


def _train_semantic_path(cfg: Config, paths: RunPaths, subject: str) -> Path:
    """Z(C_motion) for training: the true caption embedding, or SAD's prediction for the training clips."""
    if cfg.mad.semantic_source == "true":
        return paths.embeddings / "motion_train.npy"
    return paths.sad / "pred" / f"{subject}_motion_refined_train.npy"


def _test_semantic_path(paths: RunPaths, subject: str) -> Path:
    """Ẑ(C_motion) of the test clips: always the SAD's prediction from the subject's fMRI."""
    return paths.sad / "pred" / f"{subject}_motion_refined.npy"


def _require(path: Path) -> None:
    """One-line error naming the missing file and the stage that writes it."""
    if path.exists():
        return
    if path.parent.name == "embeddings":
        raise FileNotFoundError(f"{path}: missing; run `python -m semvideo embed --config ...` first")
    hint = " (or set mad.semantic_source: true to train on the true captions)" if "_train" in path.name else ""
    raise FileNotFoundError(f"{path}: missing; run `python -m semvideo train-sad --config ...` first{hint}")


def _load_embedding(path: Path) -> np.ndarray:
    """(N, T, D) float32 token embeddings."""
    _require(path)
    array = np.load(path)
    if array.ndim != 3:
        raise ValueError(f"{path}: expected (N, tokens, D) embeddings, got shape {array.shape}; rerun its stage")
    return array.astype(np.float32, copy=False)


def _check_rows(subject: str, bold: dict, semantic_train, semantic_test, latents: dict) -> None:
    """Every input of a split must list the same clips (rows of clips.csv)."""
    for split, semantic in (("train", semantic_train), ("test", semantic_test)):
        counts = {"bold": len(bold[split]), "Z(C_motion)": len(semantic), "frames": len(latents[split])}
        if len(set(counts.values())) != 1:
            raise ValueError(f"{subject} {split}: row counts differ {counts}; rerun prepare, embed and train-sad "
                             "on the same config")


def _summary(model: MotionAdaptationDecoder, log: pd.DataFrame, seconds: float) -> dict:
    last = log[log["epoch"] == log["epoch"].max()] if len(log) else log
    return {"lambda_spat": model.lambda_spat.item(), "lambda_temp": model.lambda_temp.item(),
            "n_parameters": sum(p.numel() for p in model.parameters()), "seconds": round(seconds, 1),
            **{f"final_{k}": float(last[k].mean()) for k in ("loss", "l1", "contrastive") if k in last}}
