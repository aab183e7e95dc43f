"""SemMiner (paper §3.1, Appendix A): multi-level captions of every clip through a two-stage prompt chain.

``run_semminer(cfg)`` captions every clip of the prepared dataset with the configured backend (the twin's
``oracle`` by default) and the single-caption ``blip`` baseline, into ``results/<name>/captions/``.
"""

from __future__ import annotations

import pandas as pd

from semvideo.config import Config
from semvideo.semminer.cache import CaptionCache
from semvideo.semminer.chain import ClipInput, run_chain, run_single

__all__ = ["run_semminer", "load_captions", "CAPTION_LEVELS", "make_captioner"]

#: Every caption level written per clip: the chain's four and the single-caption baseline.
CAPTION_LEVELS = ("basic", "anchor", "motion", "holi", "blip")


def make_captioner(cfg: Config, backend: str | None = None):
    """The configured captioner (``oracle`` / ``blip`` need the twin's scene graphs; ``hf`` loads a model)."""
    from semvideo.semminer.backends import BlipStyleCaptioner, OracleCaptioner

    backend = backend or cfg.semminer.backend
    if backend == "oracle":
        return OracleCaptioner()
    if backend == "blip":
        return BlipStyleCaptioner()
    from semvideo.semminer.backends.hf import HFCaptioner

    return HFCaptioner.from_config(cfg)


def _clip_inputs(cfg: Config) -> list[ClipInput]:
    from semvideo.data.prepared import PreparedData
    from semvideo.paths import RunPaths

    clips = PreparedData.from_config(cfg).clips
    if cfg.world == "twin":
        from semvideo.data.synthetic.truth import scene_graphs

        graphs = scene_graphs(RunPaths.from_config(cfg).raw)
        return [ClipInput(clip_id, graphs[clip_id]) for clip_id in clips["clip_id"]]
    return [ClipInput(clip_id) for clip_id in clips["clip_id"]]  # frames are read lazily by the hf backend


def run_semminer(cfg: Config) -> None:
    """Caption every clip (both stages + the baseline), resuming from the cache; write captions.csv."""
    from semvideo.io import atomic_path
    from semvideo.paths import RunPaths

    folder = RunPaths.from_config(cfg).captions
    cache = CaptionCache(folder / "captions.jsonl")
    clips = _clip_inputs(cfg)
    chain = run_chain(make_captioner(cfg), clips, cache, cfg.semminer.max_basic_words, cfg.semminer.batch_size)
    blip_backend = "blip" if cfg.world == "twin" else cfg.semminer.backend
    baseline = run_single(make_captioner(cfg, blip_backend), clips, cache, "blip", cfg.semminer.batch_size)
    table = pd.DataFrame([{"clip_id": c.clip_id, **chain[c.clip_id], "blip": baseline[c.clip_id]} for c in clips])
    with atomic_path(folder / "captions.csv") as tmp:
        table.to_csv(tmp, index=False)


def load_captions(cfg: Config) -> pd.DataFrame:
    """clip_id + one column per caption level, in clips.csv order."""
    from semvideo.paths import RunPaths

    path = RunPaths.from_config(cfg).captions / "captions.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no captions yet; run `python -m semvideo caption --config ...` first")
    return pd.read_csv(path, keep_default_na=False)
