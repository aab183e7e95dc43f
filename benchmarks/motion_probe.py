"""Where the twin's motion information goes between the stimulus and the BOLD (issue 18, part 1).

Decodes the scene graph's motion type and speed (ridge classifier of semvideo.metrics.ceiling: fitted on the
training segments, scored on the test segment) from three noiseless representations of a generated twin, to set
beside the prepared BOLD's decodability in notebook 01's information ceiling:

1. the simulator's per-TR motion features (before the HRF);
2. the same features convolved with the HRF and lag-aligned as the preprocessing pairs volumes with clips;
3. the noiseless responses of one subject's responsive motion-complex vertices (features @ weights, HRF).

Each on all test clips and on the moving ones (a static object's speed label names nothing visible).

    OMP_NUM_THREADS=1 python benchmarks/motion_probe.py [config/default.yaml] [subject1]

Needs only ``results/<name>/raw`` (generate-twin). Prints one line per representation.
"""

import sys

import numpy as np
import pandas as pd

from semvideo.config import load_config
from semvideo.data.cc2017 import layout_for
from semvideo.data.synthetic.brain import bold_signal
from semvideo.data.synthetic.truth import scene_graphs, scene_labels, truth_vertices
from semvideo.metrics.ceiling import decode_attributes
from semvideo.paths import RunPaths


def representations(cfg, subject: str) -> tuple[dict[str, np.ndarray], list[str], np.ndarray, np.ndarray]:
    raw, twin = RunPaths.from_config(cfg).raw, cfg.twin
    n_trs = round(twin.segment_seconds / twin.tr)
    lag = round(cfg.fmri.lag_seconds / twin.tr)
    features, convolved, ids, groups, split = [], [], [], [], []
    for segment, part in layout_for(cfg).segments:
        f = np.load(raw / "truth" / f"features_{segment}.npz")["motion"]
        features.append(f)
        convolved.append(bold_signal(f, twin.tr, 1, 1 + n_trs + 10, twin.lag_seconds)[1 + lag: 1 + lag + n_trs])
        ids += [f"{segment}_{i:04d}" for i in range(n_trs)]
        groups += [segment] * n_trs
        split += [part] * n_trs
    vertices = truth_vertices(raw, subject)
    motion = (vertices["family"] == "motion").to_numpy()
    weights = np.load(raw / "truth" / f"{subject}_weights.npz")["motion"]
    responsive = vertices.loc[motion, "responsive"].to_numpy()
    convolved = np.concatenate(convolved)
    reps = {"features, no HRF": np.concatenate(features), "features, HRF + lag": convolved,
            f"noiseless motion vertices ({subject})": (convolved @ weights)[:, responsive]}
    return reps, ids, np.array(groups), np.array(split)


def main(config: str = "config/default.yaml", subject: str = "subject1") -> None:
    cfg = load_config(config)
    reps, ids, groups, split = representations(cfg, subject)
    truth = scene_labels(scene_graphs(RunPaths.from_config(cfg).raw), ids, ("motion", "speed"))
    labels = {a: truth[a].to_numpy() for a in ("motion", "speed")}
    train, test = split == "train", split == "test"
    for name, x in reps.items():
        for subset, keep in (("all clips", np.ones(len(x), bool)), ("moving clips", labels["motion"] != "static")):
            tr, te = train & keep, test & keep
            table = decode_attributes(x[tr], {k: v[tr] for k, v in labels.items()}, groups[tr], x[te],
                                      {k: v[te] for k, v in labels.items()})
            cells = "; ".join(f"{r.attribute} {r.accuracy:.3f} (chance {r.chance:.3f}, p {r.p:.2g})"
                              for r in table.itertuples())
            print(f"{name} | {subset} (n_test {int(te.sum())}) | {cells}")
    speed = pd.Series(labels["speed"])
    print("speed labels: train", speed[train].value_counts().to_dict(), "test", speed[test].value_counts().to_dict())


if __name__ == "__main__":
    main(*sys.argv[1:])
