"""Is the twin SAD trained long enough? What its decoded captions name, against how long it trains (issue 18).

    OMP_NUM_THREADS=1 python benchmarks/sad_training.py --config default 3:128 15:128 45:128 15:32

For each EPOCHS:BATCH, trains a single-subject anchor SAD (``--subject``, from scratch, the config's other SAD
settings) on a finished run's training clips and reads its test predictions with notebook 03's measure
(:func:`semvideo.stages.sad.caption_content_table`'s centroid read-out of the true training embeddings):
category, colour and background for the MLP and the refined output, top-1 retrieval among the test clips, and
the training seconds. Beside them, the linear ceiling: ridge regressions from the same BOLD to the same flattened
embeddings, read the same way. Rows go to ``benchmarks/out/sad_training.csv``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

from semvideo.config import load_config
from semvideo.data.prepared import PreparedData
from semvideo.data.synthetic.truth import scene_graphs, scene_labels
from semvideo.models.sad import predict, train_sad
from semvideo.paths import RunPaths
from semvideo.retrieval import centroid_readout, topk_accuracy
from semvideo.stages.sad import LEVEL_ATTRIBUTES, new_sad

OUT = Path(__file__).resolve().parent / "out"


def readout_row(pred: np.ndarray, train: np.ndarray, test: np.ndarray, labels: dict, **row) -> dict:
    """The anchor attributes read from ``pred`` (centroids of ``train``) and its top-1 retrieval among ``test``."""
    for attribute in LEVEL_ATTRIBUTES["anchor"]:
        read = centroid_readout(pred, train, labels["train"][attribute].to_numpy())
        row[attribute] = float(np.mean(read == labels["test"][attribute].to_numpy()))
    return row | {"top1": topk_accuracy(pred, test, (1,))[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="EPOCHS:BATCH pairs, e.g. 15:32")
    parser.add_argument("--config", default="default")
    parser.add_argument("--subject", default="subject1")
    args = parser.parse_args()
    cfg = load_config(args.config)
    paths, data = RunPaths.from_config(cfg), PreparedData.from_config(cfg)
    graphs = scene_graphs(paths.data_root)
    labels = {s: scene_labels(graphs, data.split_clips(s)["clip_id"], LEVEL_ATTRIBUTES["anchor"])
              for s in ("train", "test")}
    train, test = (np.load(paths.embeddings / f"anchor_{s}.npy") for s in ("train", "test"))
    bold = {s: np.asarray(data.bold(args.subject, s), dtype=np.float32) for s in ("train", "test")}
    rows = []
    mean, sd = bold["train"].mean(0), bold["train"].std(0) + 1e-6
    for alpha in (1e2, 1e3, 1e4):
        ridge = Ridge(alpha=alpha).fit((bold["train"] - mean) / sd, train.reshape(len(train), -1))
        pred = ridge.predict((bold["test"] - mean) / sd).reshape(test.shape)
        rows.append(readout_row(pred, train, test, labels, model=f"ridge alpha {alpha:g}"))
    for run in args.runs:
        epochs, batch = map(int, run.split(":"))
        run_cfg = cfg.model_copy(update={"sad": cfg.sad.model_copy(update={"batch_size": batch})})
        model = new_sad(run_cfg, [args.subject], [bold["train"].shape[1]], train)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as ckpt:
            train_sad(model, run_cfg, [bold["train"]], [args.subject], train, Path(ckpt), epochs,
                      f"SAD {epochs} epochs, batch {batch}")
        seconds = round(time.perf_counter() - start, 1)
        outputs = predict(model, bold["test"], args.subject, cfg.sad.prior_sample_steps, cfg.seed)
        for kind, pred in zip(("mlp", "refined"), outputs):
            rows.append(readout_row(pred, train, test, labels, model=f"SAD {kind}", epochs=epochs, batch=batch,
                                    seconds=seconds))
    table = pd.DataFrame(rows)
    OUT.mkdir(exist_ok=True)
    table.to_csv(OUT / "sad_training.csv", index=False)
    print(table.round(3).to_markdown(index=False))


if __name__ == "__main__":
    main()
