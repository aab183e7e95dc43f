"""The ``train-judges`` stage: train the twin's image and video judges on the training clips and report their
accuracy (real worlds use pretrained judges: only their ids are recorded).

The judges themselves (:class:`~semvideo.metrics.judges.TwinJudge`, its training and accuracy functions, the
loaders of trained and pretrained judges) are :mod:`semvideo.metrics.judges`; this module reads the run folder
(``data/``, the scene graphs under ``raw/truth/``) and writes ``judges/``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from semvideo.config import Config
from semvideo.data.prepared import PreparedData
from semvideo.data.synthetic.truth import scene_graphs
from semvideo.io import InputError, atomic_dir, write_json, write_text
from semvideo.metrics.judges import (
    TwinJudge,
    TwinJudgeRunner,
    attribute_values,
    evaluate_judge,
    judge_attribute_accuracy,
    judge_labels,
    train_twin_judge,
)
from semvideo.paths import RunPaths
from semvideo.train import file_stats, keyed_checkpoint_dir

__all__ = ["export_twin_judges", "run_judges"]


def run_judges(cfg: Config) -> None:
    """Stage ``train-judges``: train the twin's image and video judges (or load the pre-trained ones that
    ``eval.twin_judges`` names) and report their accuracy on this run's clips.

    Reads ``data/frames_{train,test}.npy`` and ``data/clips.csv`` (from ``prepare``) and the labels in
    ``raw/truth/scene_graphs.jsonl``; writes ``judges/image/`` and ``judges/video/`` (``save_pretrained``),
    ``judges/summary.json`` (classes, training seconds (wall and CPU) and loss curve, or the pre-trained judges'
    folder; held-out accuracy on the *true* test clips) and ``judges/accuracy.csv`` (:func:`judge_attribute_accuracy`
    on the training and test clips). Real worlds use pretrained judges: only the summary (their ids) is written.
    """
    paths = RunPaths.from_config(cfg)
    if cfg.world != "twin" or cfg.eval.image_judge:
        write_json(paths.judges / "summary.json", {"pretrained": {"image": cfg.eval.image_judge,
                   "video": cfg.eval.video_judge, "clip": cfg.eval.clip_model}})
        return
    data, graphs = PreparedData.from_config(cfg), scene_graphs(paths.data_root)
    summary, tables = {}, []
    for kind, attributes, n_frames in (("image", cfg.eval.image_judge_attributes, 1),
                                       ("video", cfg.eval.video_judge_attributes, cfg.fmri.frames_per_clip)):
        values = [attribute_values(cfg, a) for a in attributes]
        labels = {s: judge_labels(graphs, data.split_clips(s)["clip_id"], attributes, values)
                  for s in ("train", "test")}
        if cfg.eval.twin_judges:
            model = _pretrained_judge(cfg, kind, attributes, values, n_frames)
            record = {"pretrained": cfg.eval.twin_judges}
        else:
            model, record = _train_judge(cfg, paths, kind, attributes, values, n_frames, data, labels["train"])
        _check_enough_classes(model, cfg)
        with atomic_dir(paths.judges / kind) as tmp:
            model.save_pretrained(tmp)
        runner = TwinJudgeRunner(model)
        tables += [judge_attribute_accuracy(runner, np.asarray(data.frames(s)), labels[s], s) for s in labels]
        summary[kind] = {"attributes": list(attributes), **record,
                         "test": evaluate_judge(runner, np.asarray(data.frames("test")), labels["test"])}
    write_json(paths.judges / "summary.json", summary)
    write_text(paths.judges / "accuracy.csv", pd.concat(tables, ignore_index=True).to_csv(index=False))


def export_twin_judges(source: str | Path, dest: str | Path) -> None:
    """Copy a run's trained twin judges (``judges/`` of ``train-judges``: ``image/``, ``video/``, ``summary.json``,
    ``accuracy.csv``) to a folder that ``eval.twin_judges`` can name (semvideo/assets/twin_judges), each part
    written atomically."""
    source, dest = Path(source), Path(dest)
    for kind in ("image", "video"):
        with atomic_dir(dest / kind) as tmp:
            shutil.copytree(source / kind, tmp, dirs_exist_ok=True)
    for report in ("summary.json", "accuracy.csv"):
        write_text(dest / report, (source / report).read_text())


def _train_judge(cfg: Config, paths: RunPaths, kind: str, attributes: list[str], values: list[list[str]],
                 n_frames: int, data: PreparedData, labels: np.ndarray) -> tuple[TwinJudge, dict]:
    """A judge trained on this run's training clips, and its training record (seconds, epochs, loss curve)."""
    torch.manual_seed(cfg.seed)  # the weights' initialisation
    model = TwinJudge(head_names=list(attributes), class_names=values, n_frames=n_frames,
                      image_size=cfg.eval.judge_size, channels=tuple(cfg.eval.judge_channels),
                      appearance_frames=cfg.eval.video_judge_appearance_frames if kind == "video" else 0)
    epochs = cfg.eval.judge_epochs if kind == "image" or cfg.eval.video_judge_epochs is None \
        else cfg.eval.video_judge_epochs
    wall, cpu = time.perf_counter(), time.process_time()
    losses = train_twin_judge(model, data.frames("train"), labels, epochs, cfg.eval.judge_batch_size,
                              cfg.eval.judge_lr, cfg.seed, cfg.eval.judge_augmentation, cfg.eval.judge_colour_swap,
                              ckpt_dir=_checkpoint_dir(paths, kind, model, cfg))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return model, {"train_seconds": round(wall, 1), "train_cpu_seconds": round(cpu, 1),
                   "torch_threads": torch.get_num_threads(), "epochs": epochs, "loss": losses}


def _pretrained_judge(cfg: Config, kind: str, attributes: list[str], values: list[list[str]],
                      n_frames: int) -> TwinJudge:
    """The ``eval.twin_judges`` judge of ``kind``, checked against what this run's labels and clips need."""
    folder = Path(cfg.eval.twin_judges) / kind
    if not (folder / "config.json").exists():
        raise InputError(f"{folder}: no twin judge here; point eval.twin_judges at a folder with image/ and video/ "
                         "judges (`python -m semvideo train-judges` writes them to judges/), or set it to null to "
                         "train this run's own")
    model = TwinJudge.from_pretrained(folder)
    found = (list(model.config.head_names), [list(v) for v in model.config.class_names], model.config.n_frames,
             model.config.image_size)
    if found != (list(attributes), values, n_frames, cfg.eval.judge_size):
        raise InputError(f"{folder}: judges {found[0]} with {found[2]} frames of {found[3]} px and classes "
                         f"{found[1]}, but this run needs {list(attributes)}, {n_frames} frames of "
                         f"{cfg.eval.judge_size} px and classes {values}; set eval.twin_judges to null to train "
                         "judges for this world")
    return model


def _checkpoint_dir(paths: RunPaths, kind: str, model: TwinJudge, cfg: Config) -> Path:
    """``judges/ckpt/{kind}-{key}``: a killed ``train-judges`` resumes only with the same judge, settings and
    prepared clips."""
    settings = {k: v for k, v in cfg.eval.model_dump().items() if "judge" in k}
    return keyed_checkpoint_dir(paths.judges / "ckpt", kind, dict(model.config), settings, cfg.seed,
                                file_stats(*sorted(paths.data.glob("frames_*.npy")), paths.data / "clips.csv"))


def _check_enough_classes(model: TwinJudge, cfg: Config) -> None:
    needed = max(cfg.eval.n_ways) + 2  # n−1 distractors besides the 3 truth classes
    if model.n_classes < needed:
        raise ValueError(f"a judge on {model.config.head_names} has {model.n_classes} classes, too few for "
                         f"{max(cfg.eval.n_ways)}-way (needs ≥ {needed}); add an attribute in "
                         "eval.image_judge_attributes / eval.video_judge_attributes")
