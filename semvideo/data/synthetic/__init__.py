"""The synthetic CC2017 twin: a procedural video world and a brain simulator, written in the CC2017 layout.

``generate_twin(cfg)`` writes ``results/<name>/raw/``::

    stimuli/seg{k}.mp4, test{k}.mp4                      30 fps videos, one per segment
    subject{s}/fmri/{seg|test}{k}/cifti/{seg|test}{k}_{rep}_Atlas.dtseries.nii
    truth/scene_graphs.jsonl                              one scene graph per 2-s clip
    truth/features_{segment}.npz                          per-TR stimulus features of each family
    truth/{subject}_vertices.csv, {subject}_weights.npz   ground-truth encoding maps
    truth/runs.csv                                        volumes and stimulus onset volume of every run
"""

from semvideo.data.synthetic.writer import generate_twin

__all__ = ["generate_twin"]
