"""The ``train-sad`` stage: train the Semantic Alignment Decoders of every level, predict Ẑ(C_L) for the test
clips, and the readers of what it wrote (:func:`loss_logs`, :func:`retrieval_table`, for notebook 03).

The models, losses and the train / predict functions are :mod:`semvideo.models.sad`; this module reads the run
folder (``data/``, ``embeddings/``), decides what to (re)train from the fingerprint of config, code and inputs,
and writes ``sad/``.
"""

from __future__ import annotations

import hashlib
import json
import resource
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import binomtest

from semvideo.config import LEVELS, Config
from semvideo.data.prepared import PreparedData
from semvideo.data.synthetic.truth import scene_graphs, scene_labels
from semvideo.device import peak_memory, resolve_device, training_kwargs
from semvideo.distributed import is_main_process, wait_for_everyone
from semvideo.distributed import start as start_processes
from semvideo.io import read_json, save_npy, write_json
from semvideo.models.sad import LOSS_WEIGHTS, SemanticAlignmentDecoder, predict, train_sad
from semvideo.paths import RunPaths
from semvideo.retrieval import centroid_reader, chance_level, topk_accuracy
from semvideo.workers import map_jobs

__all__ = ["LEVEL_ATTRIBUTES", "caption_content_table", "loss_logs", "new_sad", "retrieval_table", "run_sad"]


# ---------------------------------------------------------------------------------------------- stage


def new_sad(cfg: Config, subjects: list[str], n_voxels: list[int], targets: np.ndarray) -> SemanticAlignmentDecoder:
    """An untrained SAD with ``cfg.sad``'s sizes for ``subjects`` (``n_voxels`` each) and targets of the shape and
    scale of ``targets`` (N, 77, D); its weights seeded by ``cfg.seed``."""
    torch.manual_seed(cfg.seed)
    s = cfg.sad
    return SemanticAlignmentDecoder(
        subjects=subjects, n_voxels=n_voxels, hidden_dim=s.hidden_dim, n_tokens=targets.shape[1],
        embed_dim=targets.shape[2], dropout=s.dropout, prior_layers=s.prior_layers, prior_heads=s.prior_heads,
        prior_head_dim=s.prior_head_dim, prior_timesteps=s.prior_timesteps, target_scale=float(targets.std()))


def _trained(folder: Path, make, train, device: torch.device) -> SemanticAlignmentDecoder:
    """Load ``folder`` if this run saved it already; otherwise ``make()`` a model, ``train`` it and save it
    (atomically: a killed run never leaves a half-written folder; only the main process writes, the others
    wait for it). The model comes back on ``device``."""
    if (folder / "config.json").exists():
        return SemanticAlignmentDecoder.from_pretrained(folder).to(device)
    model = make()
    train(model)
    if is_main_process():
        tmp = folder.with_name(f".{folder.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp)
        tmp.replace(folder)
    wait_for_everyone()
    return model.to(device)


def _load_inputs(cfg: Config, level: str):
    paths, data = RunPaths.from_config(cfg), PreparedData.from_config(cfg)
    files = {split: paths.embeddings / f"{level}_{split}.npy" for split in ("train", "test")}
    for f in files.values():
        if not f.exists():
            raise FileNotFoundError(f"{f}: no text targets; run `python -m semvideo embed --config ...` "
                                    "first")
    targets = {split: np.load(f) for split, f in files.items()}
    bold = {s: {split: np.asarray(data.bold(s, split)) for split in ("train", "test")} for s in cfg.subjects}
    for s in cfg.subjects:
        for split in ("train", "test"):
            if len(bold[s][split]) != len(targets[split]):
                raise ValueError(f"{files[split]}: {len(targets[split])} rows but {s}'s bold_{split}.npy has "
                                 f"{len(bold[s][split])}; rerun `embed` after `prepare`")
    return targets, bold


def _train_level(cfg: Config, level: str, variant: str, subjects: list[str], targets: dict, bold: dict) -> dict:
    """Train one level's SADs and predict the test clips; returns their retrieval accuracies.

    ``variant`` = ``pretrain`` (one model on all subjects, then a fine-tune per subject of ``subjects``, saved as
    ``sad/{level}/`` and ``sad/{level}_{subject}/``) or ``single`` (one model per subject of ``subjects`` from
    scratch, for pretrain + finetune epochs, saved as ``sad/{level}_{subject}_single/``).
    """
    root, sad, device = RunPaths.from_config(cfg).sad, cfg.sad, resolve_device(cfg)
    main = is_main_process()

    def train(subjects: list[str], name: str, epochs: int):
        return lambda model: train_sad(model, cfg, [bold[s]["train"] for s in subjects], subjects,
                                       targets["train"], root / "ckpt" / level / name, epochs,
                                       f"SAD {level}/{name}")

    def new(subjects: list[str]):
        n_voxels = [bold[s]["train"].shape[1] for s in subjects]
        return lambda: new_sad(cfg, subjects, n_voxels, targets["train"])

    if variant == "pretrain":
        _trained(root / level, new(cfg.subjects), train(cfg.subjects, "pretrain", sad.pretrain_epochs), device)
    out, suffix = {}, "" if variant == "pretrain" else "_single"
    for s in subjects:
        folder = root / f"{level}_{s}{suffix}"
        if variant == "pretrain":
            model = _trained(folder, lambda: SemanticAlignmentDecoder.from_pretrained(root / level),
                             train([s], folder.name, sad.finetune_epochs), device)
        else:
            epochs = sad.pretrain_epochs + sad.finetune_epochs
            model = _trained(folder, new([s]), train([s], folder.name, epochs), device)
        if not main:  # the main process predicts and writes; the others go on to the next training
            continue
        mlp, refined = predict(model, bold[s]["test"], s, sad.prior_sample_steps, cfg.seed)
        for kind, pred in (("mlp", mlp), ("refined", refined)):
            save_npy(root / "pred" / f"{s}_{level}_{kind}{suffix}.npy", pred.astype(np.float32))
            acc = topk_accuracy(pred, targets["test"], ks=(1, 5))
            out[f"{s}/{level}/{kind}/{variant}"] = {"top1": acc[1], "top5": acc[5]}
        if level == "motion" and variant == "pretrain" and cfg.mad.semantic_source == "predicted":
            # MAD trains on decoded rather than true Z(C_motion): predict the training clips too
            _, refined_train = predict(model, bold[s]["train"], s, sad.prior_sample_steps, cfg.seed)
            save_npy(root / "pred" / f"{s}_{level}_refined_train.npy", refined_train.astype(np.float32))
    if main:  # the saved models supersede their checkpoints (only this job's: others may be training beside it)
        names = [f"{level}_{s}{suffix}" for s in subjects] + (["pretrain"] if variant == "pretrain" else [])
        for f in (f for name in names for f in (root / "ckpt" / level / name).glob("epoch_*.pt")):
            f.unlink()
    wait_for_everyone()
    return out


def _jobs(cfg: Config) -> list[tuple[Config, str, str, list[str]]]:
    """The stage's independent trainings as (config, level, variant, subjects), the longest first: each level's
    pre-training with its fine-tunes, then each single-subject model of ``sad.single_subject_levels``."""
    levels = (*LEVELS, *cfg.sad.baseline_levels)
    return [(cfg, level, "pretrain", list(cfg.subjects)) for level in levels] + [
        (cfg, level, "single", [s]) for level in levels if level in cfg.sad.single_subject_levels for s in cfg.subjects]


def _train_job(_, job: tuple[Config, str, str, list[str]]) -> tuple[dict, int]:
    """One :func:`_jobs` training (a :func:`semvideo.workers.map_jobs` job): its retrieval accuracies and the
    number of test clips."""
    cfg, level, variant, subjects = job
    targets, bold = _load_inputs(cfg, level)
    return _train_level(cfg, level, variant, subjects, targets, bold), len(targets["test"])


def _fingerprint(cfg: Config) -> dict:
    """What the saved models depend on: the SAD config, seed, subjects, the code (the model file
    ``semvideo/models/sad.py``, this stage file ``semvideo/stages/sad.py`` and the training loop
    ``semvideo/train.py``), and the input files."""
    paths, package = RunPaths.from_config(cfg), Path(__file__).resolve().parents[1]
    inputs = [paths.embeddings / f"{level}_{split}.npy" for level in (*LEVELS, *cfg.sad.baseline_levels)
              for split in ("train", "test")]
    inputs += [paths.data / s / f"bold_{split}.npy" for s in cfg.subjects for split in ("train", "test")]
    code = b"".join(f.read_bytes() for f in (package / "models" / "sad.py", package / "stages" / "sad.py",
                                              package / "train.py"))
    return {"sad": cfg.sad.model_dump(), "mad_semantic_source": cfg.mad.semantic_source, "seed": cfg.seed,
            "subjects": cfg.subjects,
            "code_sha256": hashlib.sha256(code).hexdigest(),
            "inputs": {str(f): [f.stat().st_size, f.stat().st_mtime_ns] for f in inputs if f.exists()}}


def _start_or_resume(cfg: Config) -> None:
    """Keep a previous run's models and checkpoints only if they were made from the same config, code and
    inputs (a killed run resumes); otherwise clear ``sad/`` so that nothing stale is reused."""
    root, fingerprint = RunPaths.from_config(cfg).sad, _fingerprint(cfg)
    marker = root / "fingerprint.json"
    if is_main_process() and not (marker.exists() and read_json(marker) == json.loads(json.dumps(fingerprint))):
        shutil.rmtree(root, ignore_errors=True)
        write_json(marker, fingerprint)
    wait_for_everyone()


def run_sad(cfg: Config) -> None:
    """Stage ``train-sad``: train the SADs of every level (and of ``sad.baseline_levels``, e.g. the
    single-caption baseline's ``blip``), predict Ẑ(C_L) for the test clips, summarise.

    Writes ``sad/{level}/`` (pre-trained), ``sad/{level}_{subject}/`` (fine-tuned) and, for
    ``sad.single_subject_levels``, ``sad/{level}_{subject}_single/`` (no pre-training); predictions
    ``sad/pred/{subject}_{level}_{mlp|refined}[_single].npy`` float32 (N_test, 77, D) (with
    ``mad.semantic_source: predicted`` also ``{subject}_motion_refined_train.npy`` for the training clips); loss logs
    ``sad/ckpt/<model>/losses.csv``; and ``sad/pred/done.json`` with top-1/top-5 retrieval, chance levels,
    training time and peak memory. A killed run resumes from its last epoch checkpoint (and reuses finished
    models); a change of the SAD config, seed, subjects, code or inputs starts over.
    """
    device = resolve_device(cfg)  # a config that names a missing GPU stops here, in one line
    start_processes(device)  # under `accelerate launch`: join the other processes on this device's backend
    _start_or_resume(cfg)
    start, summary, usage = time.perf_counter(), {}, {"mixed_precision": training_kwargs(cfg)["mixed_precision"]}
    with peak_memory(device, usage):
        results = map_jobs(cfg, _train_job, _jobs(cfg))
    for accuracies, _ in results:
        summary.update(accuracies)
    n_test = results[0][1]
    if not is_main_process():
        return
    write_json(RunPaths.from_config(cfg).sad / "pred" / "done.json", {
        "retrieval": summary, "n_test": n_test,
        "chance": {"top1": chance_level(n_test, 1), "top5": chance_level(n_test, 5)},
        "seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "device": usage, "loss_weights": cfg.sad.loss_weights,
        "lambda_softclip_refine": LOSS_WEIGHTS[cfg.sad.loss_weights]})


# ---------------------------------------------------------------------------------------------- results


def loss_logs(cfg: Config) -> pd.DataFrame:
    """Every SAD training log of a run, stacked: columns ``model`` (e.g. ``anchor/pretrain``,
    ``anchor/anchor_subject1``), ``epoch, step, lr, loss, mse, softclip, refine``."""
    root = RunPaths.from_config(cfg).sad / "ckpt"
    files = sorted(root.glob("*/*/losses.csv"))
    if not files:
        raise FileNotFoundError(f"{root}: no SAD loss logs; run `python -m semvideo train-sad --config ...` "
                                "first")
    return pd.concat([pd.read_csv(f).assign(model=f"{f.parent.parent.name}/{f.parent.name}") for f in files],
                     ignore_index=True)


def retrieval_table(cfg: Config, ks: tuple[int, ...] = (1, 5)) -> pd.DataFrame:
    """Top-k retrieval of every saved prediction among all test clips' true embeddings.

    Returns
    -------
    pandas.DataFrame
        One row per (subject, level, output ∈ {mlp, refined}, training ∈ {pretrain+finetune, single-subject})
        with ``top1, top5`` (fractions) and ``chance1, chance5``.
    """
    paths = RunPaths.from_config(cfg)
    rows = []
    for level in LEVELS:
        true = np.load(paths.embeddings / f"{level}_test.npy")
        for subject in cfg.subjects:
            for suffix, training in (("", "pretrain+finetune"), ("_single", "single-subject")):
                for kind in ("mlp", "refined"):
                    path = paths.sad / "pred" / f"{subject}_{level}_{kind}{suffix}.npy"
                    if not path.exists():
                        continue
                    acc = topk_accuracy(np.load(path), true, ks)
                    rows.append({"subject": subject, "level": level, "output": kind, "training": training,
                                 **{f"top{k}": acc[k] for k in ks},
                                 **{f"chance{k}": chance_level(len(true), k) for k in ks}})
    return pd.DataFrame(rows)


#: the scene attributes each caption level names (semvideo.semminer's prompts: P_anchor the first frame's object
#: and scene, P_motion its motion and speed, P_holi the whole clip)
LEVEL_ATTRIBUTES = {"anchor": ("category", "colour", "background"), "motion": ("motion", "speed"),
                    "holi": ("category", "colour", "background", "motion")}
ATTRIBUTE_NAMES = sorted({a for attributes in LEVEL_ATTRIBUTES.values() for a in attributes})


def caption_content_table(cfg: Config) -> pd.DataFrame:
    """What the decoded captions carry (twin only): every attribute a caption level names, read from each
    subject's decoded test embeddings Ẑ(C_L) with :func:`~semvideo.retrieval.centroid_readout` (centroids of the
    *true* training embeddings Z(C_L)), beside the same read-out of the true test embeddings (what the caption
    itself carries) and the majority-class chance.

    Returns
    -------
    pandas.DataFrame
        One row per (level, attribute, source) with ``accuracy``, ``chance`` and the one-sided binomial ``p`` of
        the accuracy against it; ``source`` is ``"true captions"`` or ``"{subject} {mlp|refined}"``. Empty outside
        the twin (no scene graphs).
    """
    if cfg.world != "twin":
        return pd.DataFrame(columns=["level", "attribute", "source", "accuracy", "chance", "p"])
    paths, data = RunPaths.from_config(cfg), PreparedData.from_config(cfg)
    graphs = scene_graphs(paths.data_root)
    labels = {split: scene_labels(graphs, data.split_clips(split)["clip_id"], ATTRIBUTE_NAMES)
              for split in ("train", "test")}
    rows = []
    for level, attributes in LEVEL_ATTRIBUTES.items():
        train, test = (np.load(paths.embeddings / f"{level}_{split}.npy") for split in ("train", "test"))
        sources = {"true captions": test} | {
            f"{subject} {kind}": np.load(path) for subject in cfg.subjects for kind in ("mlp", "refined")
            if (path := paths.sad / "pred" / f"{subject}_{level}_{kind}.npy").exists()}
        for attribute in attributes:
            truth = labels["test"][attribute].to_numpy()
            chance = float(pd.Series(truth).value_counts(normalize=True).iloc[0])
            read = centroid_reader(train, labels["train"][attribute].to_numpy())
            for source, embeddings in sources.items():
                hits = int(np.sum(read(embeddings) == truth))
                rows.append({"level": level, "attribute": attribute, "source": source, "accuracy": hits / len(truth),
                             "chance": chance, "p": binomtest(hits, len(truth), chance, "greater").pvalue})
    return pd.DataFrame(rows)
