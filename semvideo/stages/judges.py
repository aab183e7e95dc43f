"""The ``train-judges`` stage: train the twin's image and video judges on the training clips and report their
accuracy (real worlds use pretrained judges: only their ids are recorded).

The judges themselves (:class:`~semvideo.metrics.judges.TwinJudge`, its training and accuracy functions, the
loaders of trained and pretrained judges) are :mod:`semvideo.metrics.judges`; this module reads the run folder
(``data/``, the scene graphs under ``raw/truth/``) and writes ``judges/``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from semvideo.config import Config
from semvideo.data.prepared import PreparedData
from semvideo.data.synthetic.truth import scene_graphs
from semvideo.io import atomic_dir, write_json, write_text
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

__all__ = ["run_judges"]


def run_judges(cfg: Config) -> None:
    """Stage ``train-judges``: train the twin's image and video judges and report their accuracy.

    Reads ``data/frames_{train,test}.npy`` and ``data/clips.csv`` (from ``prepare``) and the labels in
    ``raw/truth/scene_graphs.jsonl``; writes ``judges/image/`` and ``judges/video/`` (``save_pretrained``),
    ``judges/summary.json`` (classes, training seconds (wall and CPU), loss curve, held-out accuracy on the
    *true* test clips) and ``judges/accuracy.csv`` (:func:`judge_attribute_accuracy` on the training and test
    clips). Real worlds use pretrained judges: only the summary (their ids) is written.
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
        torch.manual_seed(cfg.seed)  # the weights' initialisation
        model = TwinJudge(head_names=list(attributes), class_names=values, n_frames=n_frames,
                          image_size=cfg.eval.judge_size, channels=tuple(cfg.eval.judge_channels),
                          appearance_frames=cfg.eval.video_judge_appearance_frames if kind == "video" else 0)
        _check_enough_classes(model, cfg)
        labels = {s: judge_labels(graphs, data.split_clips(s)["clip_id"], attributes, values)
                  for s in ("train", "test")}
        epochs = cfg.eval.judge_epochs if kind == "image" or cfg.eval.video_judge_epochs is None \
            else cfg.eval.video_judge_epochs
        wall, cpu = time.perf_counter(), time.process_time()
        losses = train_twin_judge(model, data.frames("train"), labels["train"], epochs,
                                  cfg.eval.judge_batch_size, cfg.eval.judge_lr, cfg.seed,
                                  cfg.eval.judge_augmentation, cfg.eval.judge_colour_swap,
                                  ckpt_dir=_checkpoint_dir(paths, kind, model, cfg))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        with atomic_dir(paths.judges / kind) as tmp:
            model.save_pretrained(tmp)
        runner = TwinJudgeRunner(model)
        tables += [judge_attribute_accuracy(runner, np.asarray(data.frames(s)), labels[s], s) for s in labels]
        summary[kind] = {"attributes": list(attributes), "train_seconds": round(wall, 1),
                         "train_cpu_seconds": round(cpu, 1), "torch_threads": torch.get_num_threads(),
                         "epochs": epochs, "loss": losses,
                         "test": evaluate_judge(runner, np.asarray(data.frames("test")), labels["test"])}
    write_json(paths.judges / "summary.json", summary)
    write_text(paths.judges / "accuracy.csv", pd.concat(tables, ignore_index=True).to_csv(index=False))


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
