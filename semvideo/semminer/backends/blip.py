"""The single-caption baseline of prior work (BLIP-2 style, paper Fig. 7 and Table 4): one short, static
caption per clip, standing in for C_basic alone.

On the twin it is written from the scene graph — object and background only, no motion and no detail, as
BLIP-2 captions of CC2017 frames read ("a red star on a grass background"). On real data the same role is
played by the ``hf`` backend asked the short ``blip`` prompt about the clip's first frame.
"""

from __future__ import annotations

from semvideo.semminer.backends import oracle
from semvideo.semminer.backends.oracle import NOUNS, SCENES, pick, rng_for, source_version
from semvideo.semminer.chain import ClipInput

__all__ = ["BlipStyleCaptioner"]


class BlipStyleCaptioner:
    """Short static captions from scene graphs; ``generate`` follows the :class:`Captioner` protocol."""

    name = "blip"
    model_id = source_version(__file__, oracle.__file__)  # the vocabulary lives in oracle.py

    def generate(self, level: str, prompts: list[str], clips: list[ClipInput],
                 basics: list[str | None]) -> list[str]:
        if any(clip.scene_graph is None for clip in clips):
            raise ValueError("the blip-style captioner needs each clip's scene graph (raw/truth/scene_graphs.jsonl)")
        return [self._caption(clip.scene_graph, rng_for(clip.clip_id, "blip")) for clip in clips]

    @staticmethod
    def _caption(g: dict, rng) -> str:
        noun, place = NOUNS[g["category"]], SCENES[g["background"]][0]
        return pick(rng, [f"a {g['colour']} {noun} against {place}", f"a {g['colour']} {noun} in front of {place}",
                          f"an image of a {g['colour']} {noun} and {place}"])
