"""The twin's captioner: scene graph → the four SemMiner captions, through the same two-stage chain.

Stage 1 writes C_basic (≤ 20 words). Stage 2 *reads* C_basic — it reuses C_basic's subject phrase as the
subject of every description — and adds the detail a multimodal model would see in the frames: position,
size, colour, background, speed and direction. Phrasing varies with a per-clip seed, so the caption statistics
(length, overlap between levels) behave like real captions rather than one fixed template.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from semvideo.semminer.chain import ClipInput

__all__ = ["MOTION_WORDS", "NOUNS", "SCENES", "OracleCaptioner", "pick", "rng_for", "source_version", "subject_of"]

NOUNS = {"ball": "ball", "box": "square box", "star": "star", "triangle": "triangle", "ring": "ring",
         "cross": "cross", "diamond": "diamond", "heart": "heart", "arrow": "arrow", "moon": "crescent moon",
         "hexagon": "hexagon", "bar": "bar"}
#: background → (short name, detailed description)
SCENES = {"sky": ("the sky", "a clear blue sky that brightens towards the horizon"),
          "grass": ("a grassy field", "a green grassy field with darker vertical blades"),
          "sand": ("sandy ground", "warm, speckled sandy ground in soft beige tones"),
          "night": ("a night sky", "a dark navy night sky scattered with small stars")}
VERBS = {"left": "moves to the left", "right": "moves to the right", "up": "rises upward",
         "down": "sinks downward", "approach": "grows larger as it approaches", "recede": "shrinks as it recedes",
         "rotate": "spins in place", "bounce": "bounces up and down", "static": "stays still"}
#: words that only describe change: the anchor caption (first frame) and static clips never use them.
MOTION_WORDS = ("moves", "rises", "sinks", "grows", "shrinks", "spins", "bounces", "travelling", "approaches",
                "recedes", "turning", "growing", "shrinking", "hopping", "quickly", "slowly", "rapidly", "swiftly",
                "gently", "steadily")
ADVERBS = {"slow": ("slowly", "gently", "steadily"), "fast": ("quickly", "rapidly", "swiftly")}
_SUBJECT = re.compile(r"^(?:an?|the)\s+(.+?)\s+(?:quickly|rapidly|swiftly|slowly|gently|steadily|moves|rises|"
                      r"sinks|grows|shrinks|spins|bounces|stays|rests)\b", re.IGNORECASE)


def rng_for(clip_id: str, level: str) -> np.random.Generator:
    """A generator seeded by (clip id, level): phrasing varies across clips but repeats exactly."""
    return np.random.default_rng(int(hashlib.sha256(f"{clip_id}/{level}".encode()).hexdigest()[:8], 16))


def pick(rng: np.random.Generator, options) -> str:
    return str(options[rng.integers(len(options))])


def _place(xy) -> str:
    """Region of the frame at (x, y) in frame fractions, y down: "upper left", "right side", "centre"."""
    x, y = xy
    row = "upper" if y < 0.4 else "lower" if y > 0.6 else ""
    col = "left" if x < 0.4 else "right" if x > 0.6 else ""
    if row and col:
        return f"{row} {col}"
    return f"{row} part" if row else f"{col} side" if col else "centre"


def _in(xy) -> str:
    """Where an object at (x, y) is, with its preposition: "in the upper left", "on the right side"."""
    place = _place(xy)
    return f"on the {place}" if place.endswith("side") else f"in the {place}"


def _size(size: float) -> str:
    """Size word for an object diameter in frame widths."""
    return "small" if size < 0.35 else "large" if size > 0.5 else "medium-sized"


def subject_of(basic: str) -> str:
    """The subject phrase of C_basic ("A red star quickly …" → "the red star"); "the object" if none."""
    match = _SUBJECT.match(basic.strip())
    return f"the {match.group(1).lower()}" if match else "the object"


def source_version(*paths: str) -> str:
    """``scene-graph-<hash of the captioner's sources>``: editing the templates invalidates cached captions."""
    return "scene-graph-" + hashlib.sha256(b"".join(Path(p).read_bytes() for p in paths)).hexdigest()[:10]


class OracleCaptioner:
    """Deterministic captions from scene graphs; ``generate`` follows the :class:`Captioner` protocol."""

    name = "oracle"
    model_id = source_version(__file__)

    def generate(self, level: str, prompts: list[str], clips: list[ClipInput],
                 basics: list[str | None]) -> list[str]:
        if any(clip.scene_graph is None for clip in clips):
            raise ValueError("the oracle captioner needs each clip's scene graph (raw/truth/scene_graphs.jsonl); "
                             "use semminer.backend 'hf' for real data")
        write = getattr(self, f"_{level}")
        return [write(clip.scene_graph, basic, rng_for(clip.clip_id, level)) for clip, basic in zip(clips, basics)]

    def _basic(self, g: dict, basic: None, rng) -> str:
        noun, adverb, place = NOUNS[g["category"]], pick(rng, ADVERBS[g["speed"]]), SCENES[g["background"]][0]
        if g["motion"] == "static":
            return f"A {g['colour']} {noun} {pick(rng, ['stays still', 'rests'])} against {place}."
        return pick(rng, [f"A {g['colour']} {noun} {adverb} {VERBS[g['motion']]} against {place}.",
                          f"A {g['colour']} {noun} {VERBS[g['motion']]} {adverb} over {place}."])

    def _anchor(self, g: dict, basic: str, rng) -> str:
        subject, noun, colour = subject_of(basic).capitalize(), NOUNS[g["category"]], g["colour"]
        where, bg = _in(g["start"]), SCENES[g["background"]][1]
        size = _size(g["size"])
        opening = pick(rng, [f"{subject}, a {size} solid {colour} {noun}, sits {where} of the frame",
                             f"{subject} appears as a {size} {colour} shape placed {where} of the picture"])
        style = pick(rng, ["flat colours and crisp edges", "a clean and simple composition",
                           "sharp outlines and even lighting"])
        return f"{opening}, in front of {bg}, with {style}."

    def _motion(self, g: dict, basic: str, rng) -> str:
        subject, adverb = subject_of(basic).capitalize(), pick(rng, ADVERBS[g["speed"]])
        if g["motion"] == "static":
            return (f"{subject} stays completely still {_in(g['start'])} of the frame; nothing in the "
                    f"scene changes, its size and orientation stay the same, and the camera is fixed for the "
                    f"whole clip.")
        ending = pick(rng, ["the camera stays fixed and the background does not change",
                            "only the object changes while the camera and the background stay fixed"])
        return (f"{subject} {VERBS[g['motion']]} {adverb}, {_path(g)}. The motion is {g['speed']} and "
                f"continuous, with {pick(rng, ['no pauses', 'a constant pace', 'a smooth, even speed'])}, and "
                f"{ending}.")

    def _holi(self, g: dict, basic: str, rng) -> str:
        subject, noun = subject_of(basic), NOUNS[g["category"]]
        intro = pick(rng, ["In this short clip", "Throughout the video", "Over two seconds"])
        scene = f"{intro}, {subject}, a {_size(g['size'])} {g['colour']} {noun} over {SCENES[g['background']][0]},"
        if g["motion"] == "static":
            return (f"{scene} stays still {_in(g['start'])} of the frame for the whole shot, while the "
                    f"background stays unchanged.")
        return (f"{scene} {VERBS[g['motion']]} {pick(rng, ADVERBS[g['speed']])}, {_path(g)}. It starts "
                f"{_in(g['start'])} of the frame and ends {_in(g['end'])}, while the background stays "
                f"unchanged in one continuous shot.")


def _path(g: dict) -> str:
    """How a moving object's position, size or angle changes over the clip (not for static clips)."""
    ratio = g["scale_end"] / g["scale_start"]
    return {"rotate": f"turning around its centre at a {g['speed']} pace while staying "
                      f"{_in(g['start'])}",
            "approach": f"growing from {_size(g['size'])} to {_size(g['size'] * ratio)} as it comes towards the "
                        f"viewer",
            "recede": f"shrinking from {_size(g['size'])} to {_size(g['size'] * ratio)} as it moves away",
            "bounce": f"hopping repeatedly around the {_place(g['start'])} at a {g['speed']} rhythm"}.get(
        g["motion"], f"travelling from the {_place(g['start'])} towards the {_place(g['end'])} of the frame")
