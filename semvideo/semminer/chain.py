"""The two-stage SemMiner chain (paper eqs. 1–2): C_basic = Ψ(P_basic, V); C_L = Ψ(P_L, C_basic, V).

Backends implement :class:`Captioner`; the chain batches clips, enforces the 20-word limit on C_basic, and
reads/writes the caption cache so that an interrupted run resumes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from tqdm.auto import tqdm

from semvideo.semminer.cache import CaptionCache
from semvideo.semminer.prompts import STAGE2_LEVELS, prompt_hash, render_prompt

__all__ = ["Captioner", "ClipInput", "limit_words", "run_chain", "run_single"]


@dataclass(frozen=True)
class ClipInput:
    """What a captioner may look at: the twin's scene graph and/or frames (n, H, W, 3) uint8."""

    clip_id: str
    scene_graph: dict | None = None
    frames: np.ndarray | None = field(default=None, repr=False)


class Captioner(Protocol):
    name: str
    model_id: str

    def generate(self, level: str, prompts: list[str], clips: list[ClipInput],
                 basics: list[str | None]) -> list[str]:
        """One caption per clip for ``level`` (``basics`` holds C_basic in stage 2, None in stage 1)."""


def limit_words(text: str, max_words: int) -> str:
    """Truncate to ``max_words`` words (keeping a final full stop).

    We truncate rather than re-ask: re-asking a model is not guaranteed to terminate, and the first 20 words of
    a summary carry its subject and verb, which is what stage 2 needs from the "rein".
    """
    words = text.split()
    if len(words) <= max_words:
        return text.strip()
    return " ".join(words[:max_words]).rstrip(",;:.") + "."


def run_chain(captioner: Captioner, clips: list[ClipInput], cache: CaptionCache, max_basic_words: int = 20,
              batch_size: int = 8) -> dict[str, dict[str, str]]:
    """Captions {clip_id: {"basic", "anchor", "motion", "holi"}} through both stages, cached."""
    basics = _level(captioner, "basic", clips, [None] * len(clips), cache, batch_size, max_basic_words)
    captions = {c.clip_id: {"basic": b} for c, b in zip(clips, basics)}
    for level in STAGE2_LEVELS:
        for clip, caption in zip(clips, _level(captioner, level, clips, basics, cache, batch_size)):
            captions[clip.clip_id][level] = caption
    return captions


def run_single(captioner: Captioner, clips: list[ClipInput], cache: CaptionCache, level: str = "blip",
               batch_size: int = 8) -> dict[str, str]:
    """One-stage captions (the single-caption baseline), cached."""
    return dict(zip([c.clip_id for c in clips],
                    _level(captioner, level, clips, [None] * len(clips), cache, batch_size)))


def _level(captioner: Captioner, level: str, clips: list[ClipInput], basics: list[str | None],
           cache: CaptionCache, batch_size: int, max_words: int | None = None) -> list[str]:
    keys = [cache.key(c.clip_id, level, captioner.name, captioner.model_id, prompt_hash(level)) for c in clips]
    todo = [i for i, key in enumerate(keys) if cache.get(key) is None]
    for start in tqdm(range(0, len(todo), batch_size), desc=f"SemMiner {level}", disable=not todo):
        batch = todo[start: start + batch_size]
        prompts = [render_prompt(level, basics[i]) for i in batch]
        texts = captioner.generate(level, prompts, [clips[i] for i in batch], [basics[i] for i in batch])
        if max_words is not None:
            texts = [limit_words(t, max_words) for t in texts]
        cache.add([(keys[i], t) for i, t in zip(batch, texts)])
    return [cache.get(key) for key in keys]
