"""Can the twin video judge read the object's category? (issue 18: "judges that can judge", ≥ 0.9 per attribute)

    OMP_NUM_THREADS=1 python benchmarks/video_judge.py results/twin --appearance-frames 0 3

For each ``--appearance-frames`` value (0: early fusion alone, as before), trains the video judge exactly as
``train-judges`` does with ``--config``'s settings (seed, epochs, batch, LR, augmentation, colour swap) on the
training clips of a prepared twin run (``RUN/data``, ``RUN/raw/truth``) and scores it on the true test clips:
accuracy per attribute, the category accuracy per motion type (early fusion loses objects whose outline changes
over the clip: rotating, receding), and the training wall and CPU seconds. Rows go to
``benchmarks/out/video_judge.csv``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from semvideo.config import load_config
from semvideo.data.synthetic.truth import scene_graphs
from semvideo.metrics.judges import (
    TwinJudge,
    TwinJudgeRunner,
    attribute_accuracy,
    attribute_marginals,
    attribute_values,
    judge_labels,
    train_twin_judge,
)

OUT = Path(__file__).resolve().parent / "out"


def split_inputs(run: Path, split: str, attributes: list[str], values: list[list[str]]):
    """uint8 frames (N, T, H, W, 3) and int labels (N, n_attributes) of one split of a prepared twin run."""
    clips = pd.read_csv(run / "data" / "clips.csv")
    ids = clips.loc[clips["split"] == split, "clip_id"].to_numpy()
    return np.load(run / "data" / f"frames_{split}.npy"), judge_labels(scene_graphs(run / "raw"), ids, attributes,
                                                                        values)


def measure(run: Path, config: Path, appearance_frames: int) -> pd.DataFrame:
    """Train one video judge and return its test accuracy rows (overall per attribute, category per motion)."""
    cfg = load_config(config)
    attributes = list(cfg.eval.video_judge_attributes)
    values = [attribute_values(cfg, a) for a in attributes]
    train, train_labels = split_inputs(run, "train", attributes, values)
    test, test_labels = split_inputs(run, "test", attributes, values)
    torch.manual_seed(cfg.seed)
    model = TwinJudge(head_names=attributes, class_names=values, n_frames=train.shape[1],
                      image_size=cfg.eval.judge_size, channels=tuple(cfg.eval.judge_channels),
                      appearance_frames=appearance_frames)
    epochs = cfg.eval.video_judge_epochs or cfg.eval.judge_epochs
    wall, cpu = time.perf_counter(), time.process_time()
    train_twin_judge(model, train, train_labels, epochs, cfg.eval.judge_batch_size, cfg.eval.judge_lr, cfg.seed,
                     cfg.eval.judge_augmentation, cfg.eval.judge_colour_swap)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    probs = TwinJudgeRunner(model)(test)
    rows = [{"attribute": a, "motion": "all", "accuracy": acc, "n": len(test_labels)}
            for a, acc in zip(attributes, attribute_accuracy(probs, test_labels, model.head_sizes))]
    c, m = attributes.index("category"), attributes.index("motion")
    category = attribute_marginals(probs, model.head_sizes)[c]
    right = category.argmax(1) == test_labels[:, c]
    motion = np.array(values[m])[test_labels[:, m]]
    rows += [{"attribute": "category", "motion": kind, "accuracy": right[motion == kind].mean(),
              "n": int((motion == kind).sum())} for kind in sorted(set(motion))]
    return pd.DataFrame(rows).assign(appearance_frames=appearance_frames, epochs=epochs,
                                     parameters=sum(p.numel() for p in model.parameters()),
                                     wall_seconds=round(wall, 1), cpu_seconds=round(cpu, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a prepared twin run folder, e.g. results/twin")
    parser.add_argument("--config", type=Path, default=Path("config/default.yaml"))
    parser.add_argument("--appearance-frames", type=int, nargs="+", default=[0, 3])
    args = parser.parse_args()
    table = pd.concat([measure(args.run, args.config, k) for k in args.appearance_frames], ignore_index=True)
    OUT.mkdir(exist_ok=True)
    table.to_csv(OUT / "video_judge.csv", index=False)
    print(table.pivot_table(index=["attribute", "motion"], columns="appearance_frames", values="accuracy").round(3))
    print(table.groupby("appearance_frames")[["parameters", "wall_seconds", "cpu_seconds"]].first())


if __name__ == "__main__":
    main()
