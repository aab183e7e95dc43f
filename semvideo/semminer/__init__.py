"""SemMiner (paper §3.1, Appendix A): multi-level captions of every clip through a two-stage prompt chain.

``run_semminer(cfg)`` captions every clip of the prepared dataset with the configured backend (the twin's
``oracle`` by default) and the single-caption ``blip`` baseline, into ``results/<name>/captions/``.
"""

from __future__ import annotations

import pandas as pd

from semvideo.config import Config
from semvideo.data.prepared import PreparedData
from semvideo.data.synthetic.truth import scene_graphs
from semvideo.io import atomic_path
from semvideo.paths import RunPaths
from semvideo.semminer.backends import BlipStyleCaptioner, OracleCaptioner
from semvideo.semminer.cache import CaptionCache
from semvideo.semminer.chain import ClipInput, run_chain, run_single

__all__ = ["CAPTION_LEVELS", "clip_inputs", "load_captions", "make_captioner", "run_semminer"]

#: Every caption level written per clip: the chain's four and the single-caption baseline.
CAPTION_LEVELS = ("basic", "anchor", "motion", "holi", "blip")


def make_captioner(cfg: Config, backend: str | None = None):
    """The captioner of ``backend`` (default: ``cfg.semminer.backend``); ``hf`` loads its model here."""

    backend = backend or cfg.semminer.backend
    if backend == "oracle":
        return OracleCaptioner()
    if backend == "blip":
        return BlipStyleCaptioner()
    from semvideo.semminer.backends.hf import HFCaptioner  # torch + transformers: only for a real captioner

    return HFCaptioner.from_config(cfg)


def clip_inputs(cfg: Config) -> list[ClipInput]:
    """Every clip in clips.csv order, with its frames (memory-mapped) and, on the twin, its scene graph."""

    data = PreparedData.from_config(cfg)
    graphs = {}
    if cfg.world == "twin":

        graphs = scene_graphs(RunPaths.from_config(cfg).raw)
    inputs = []
    for split in ("train", "test"):
        clips, frames = data.split_clips(split), data.frames(split)
        if len(clips) != len(frames):
            raise ValueError(f"{data.root}: clips.csv lists {len(clips)} {split} clips but frames_{split}.npy "
                             f"holds {len(frames)}; rerun `python -m semvideo prepare`")
        for row, clip_id in enumerate(clips["clip_id"]):
            if graphs and clip_id not in graphs:
                raise ValueError(f"{RunPaths.from_config(cfg).raw}/truth/scene_graphs.jsonl has no clip {clip_id}; "
                                 "regenerate the twin and rerun `prepare`")
            inputs.append(ClipInput(clip_id, graphs.get(clip_id), frames[row]))
    order = {clip_id: i for i, clip_id in enumerate(data.clips["clip_id"])}
    return sorted(inputs, key=lambda clip: order[clip.clip_id])


def run_semminer(cfg: Config) -> None:
    """Caption every clip (both stages + the single-caption baseline), resuming from the cache.

    Writes ``captions/captions.jsonl`` (the cache) and ``captions/captions.csv`` (clip_id + one column per
    level of :data:`CAPTION_LEVELS`, in clips.csv order). The twin's baseline comes from the blip-style
    captioner; real worlds ask the configured model the short ``blip`` prompt about the first frame.
    """

    folder = RunPaths.from_config(cfg).captions
    cache = CaptionCache(folder / "captions.jsonl")
    clips = clip_inputs(cfg)
    captioner = make_captioner(cfg)
    chain = run_chain(captioner, clips, cache, cfg.semminer.max_basic_words, cfg.semminer.batch_size)
    baseline_captioner = make_captioner(cfg, "blip") if cfg.world == "twin" else captioner
    baseline = run_single(baseline_captioner, clips, cache, "blip", cfg.semminer.batch_size)
    table = pd.DataFrame([{"clip_id": c.clip_id, **chain[c.clip_id], "blip": baseline[c.clip_id]} for c in clips])
    with atomic_path(folder / "captions.csv") as tmp:
        table.to_csv(tmp, index=False)


def load_captions(cfg: Config) -> pd.DataFrame:
    """clip_id + one column per caption level, in clips.csv order."""

    path = RunPaths.from_config(cfg).captions / "captions.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no captions yet; run `python -m semvideo caption --config ...` first")
    return pd.read_csv(path, keep_default_na=False)
