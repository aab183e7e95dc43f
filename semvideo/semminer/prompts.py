"""SemMiner's prompt templates (paper §3.1, Appendix A.1, Fig. 7), versioned by hash.

Stage 1 asks for a short core event summary C_basic (the "rein"); stage 2 asks, given C_basic and the video,
for three decoupled descriptions. Any edit to a template changes its hash, and the hash is part of every
caption-cache key, so stale captions are never reused.
"""

from __future__ import annotations

import hashlib

__all__ = ["PROMPTS", "STAGE2_LEVELS", "prompt_hash", "render_prompt"]

STAGE2_LEVELS = ("anchor", "motion", "holi")

PROMPTS = {
    "basic": (
        "Watch the video and summarise its core event in one sentence of at most 20 words: who or what is "
        "the main subject, what it does, and where. Do not add details that are not clearly visible."
    ),
    "anchor": (
        "Core event of the video: \"{basic}\"\n"
        "Describe ONLY the first frame of the video as a detailed static scene, written as a prompt for a "
        "text-to-image model: the main subject's category, colour, size and position in the frame, its "
        "appearance, the background and the overall composition. Do not describe any motion or change."
    ),
    "motion": (
        "Core event of the video: \"{basic}\"\n"
        "Describe the motion in the video: how the main subject moves, its direction, its speed, and any "
        "change of size, orientation or posture over time. Mention where the motion starts and ends."
    ),
    "holi": (
        "Core event of the video: \"{basic}\"\n"
        "Write one coherent narrative of the whole video that integrates the static scene (subject, colours, "
        "background, layout) with its dynamics (motion, direction, speed, changes) from start to end."
    ),
    "blip": "A short caption of the image:",  # the single-caption baseline of prior work (BLIP-2 style)
}


def prompt_hash(level: str) -> str:
    """First 12 hex digits of the SHA-256 of a level's template."""
    return hashlib.sha256(PROMPTS[level].encode()).hexdigest()[:12]


def render_prompt(level: str, basic: str | None = None) -> str:
    """The prompt sent for ``level``; stage-2 prompts embed the clip's C_basic."""
    template = PROMPTS[level]
    if "{basic}" in template:
        if basic is None:
            raise ValueError(f"the {level} prompt needs the clip's C_basic from stage 1")
        return template.format(basic=basic)
    return template
