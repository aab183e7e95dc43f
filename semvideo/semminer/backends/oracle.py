"""The twin's captioner: scene graph → the four SemMiner captions, through the same two-stage chain.

Stage 1 writes C_basic (≤ 20 words). Stage 2 *reads* C_basic — it reuses C_basic's subject phrase as the
subject of every description — and adds the detail a multimodal model would see in the frames: position,
size, colour, background, speed and direction. Phrasing varies with a per-clip seed, so the caption statistics
(length, overlap between levels) behave like real captions rather than one fixed template.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from semvideo.semminer.chain import ClipInput

__all__ = ["OracleCaptioner", "MOTION_VERBS", "NOUNS", "SCENES", "rng_for", "pick"]

NOUNS = {"ball": "ball", "box": "square box", "star": "star", "triangle": "triangle", "ring": "ring",
         "cross": "cross", "diamond": "diamond", "heart": "heart", "arrow": "arrow", "moon": "crescent moon",
         "hexagon": "hexagon", "bar": "bar"}
SCENES = {"sky": ("the sky", "a clear blue sky that brightens towards the horizon"),
          "grass": ("a grassy field", "a green grassy field with darker vertical blades"),
          "sand": ("sandy ground", "warm, speckled sandy ground in soft beige tones"),
          "night": ("a night sky", "a dark navy night sky scattered with small stars")}
VERBS = {"left": "moves to the left", "right": "moves to the right", "up": "rises upward",
         "down": "sinks downward", "approach": "grows larger as it approaches", "recede": "shrinks as it recedes",
         "rotate": "spins in place", "bounce": "bounces up and down", "static": "stays still"}
#: words that only describe change; the anchor caption (first frame) and static clips never use them.
MOTION_VERBS = ("moves", "rises", "sinks", "grows", "shrinks", "spins", "bounces", "travels", "drifts",
                "approaches", "recedes", "turning", "moving")
ADVERBS = {"slow": ("slowly", "gently", "steadily"), "fast": ("quickly", "rapidly", "swiftly")}


def _rng(clip_id: str, level: str) -> np.random.Generator:
    return np.random.default_rng(int(hashlib.sha256(f"{clip_id}/{level}".encode()).hexdigest()[:8], 16))


def _pick(rng: np.random.Generator, options) -> str:
    return str(options[rng.integers(len(options))])


def _position(xy) -> str:
    x, y = xy
    row = "upper" if y < 0.4 else "lower" if y > 0.6 else "middle"
    col = "left" if x < 0.4 else "right" if x > 0.6 else "centre"
    return "centre" if (row, col) == ("middle", "centre") else f"{row} {col}" if row != "middle" else f"{col} side"


def _size(size: float) -> str:
    return "small" if size < 0.35 else "large" if size > 0.5 else "medium-sized"


def subject_of(basic: str) -> str:
    """The subject phrase of C_basic ("A red star quickly …" → "the red star")."""
    match = re.match(r"^(?:an?|the)\s+((?:\w+\s+){0,2}?\w+?)\s+(?:quickly|rapidly|swiftly|slowly|gently|steadily|"
                     r"moves|rises|sinks|grows|shrinks|spins|bounces|stays|is|sits|rests|floats)\b", basic, re.I)
    return f"the {match.group(1).lower()}" if match else "the object"


class OracleCaptioner:
    """Deterministic captions from scene graphs; ``generate`` follows the :class:`Captioner` protocol."""

    name = "oracle"
    model_id = "scene-graph-v1"

    def generate(self, level: str, prompts: list[str], clips: list[ClipInput],
                 basics: list[str | None]) -> list[str]:
        write = getattr(self, f"_{level}")
        return [write(clip.scene_graph, basic, _rng(clip.clip_id, level)) for clip, basic in zip(clips, basics)]

    def _basic(self, g: dict, basic: None, rng) -> str:
        noun, adverb = NOUNS[g["category"]], _pick(rng, ADVERBS[g["speed"]])
        place = SCENES[g["background"]][0]
        if g["motion"] == "static":
            return f"A {g['colour']} {noun} {_pick(rng, ['stays still', 'rests'])} against {place}."
        return _pick(rng, [f"A {g['colour']} {noun} {adverb} {VERBS[g['motion']]} against {place}.",
                           f"A {g['colour']} {noun} {VERBS[g['motion']]} {adverb} over {place}."])

    def _anchor(self, g: dict, basic: str, rng) -> str:
        subject, noun = subject_of(basic), NOUNS[g["category"]]
        where, bg = _position(g["start"]), SCENES[g["background"]][1]
        opening = _pick(rng, [f"{subject.capitalize()}, a {_size(g['size'])} solid {g['colour']} {noun}, sits in "
                              f"the {where} of the frame",
                              f"{subject.capitalize()} is a {_size(g['size'])} {g['colour']} {noun} placed in the "
                              f"{where} of the picture"])
        style = _pick(rng, ["flat colours and crisp edges", "a clean, simple, centred composition",
                            "sharp outlines and even lighting"])
        return f"{opening}, in front of {bg}. The {noun} is fully {g['colour']}, drawn with {style}."

    def _motion(self, g: dict, basic: str, rng) -> str:
        subject = subject_of(basic).capitalize()
        adverb = _pick(rng, ADVERBS[g["speed"]])
        if g["motion"] == "static":
            return (f"{subject} stays completely still in the {_position(g['start'])} of the frame; nothing in the "
                    f"scene changes, and the camera is fixed for the whole clip.")
        path = {"rotate": f"turning around its centre at a {g['speed']} pace while staying in the "
                          f"{_position(g['start'])}",
                "approach": f"growing from {_size(g['size'])} to {_size(g['size'] * g['scale_end'] / g['scale_start'])}"
                            f" as it comes towards the viewer",
                "recede": f"shrinking from {_size(g['size'])} to "
                          f"{_size(g['size'] * g['scale_end'] / g['scale_start'])} as it moves away",
                "bounce": f"hopping repeatedly around the {_position(g['start'])} at a {g['speed']} rhythm"}.get(
            g["motion"], f"travelling from the {_position(g['start'])} towards the {_position(g['end'])} of the frame")
        return (f"{subject} {VERBS[g['motion']]} {adverb}, {path}. The motion is {g['speed']} and continuous, "
                f"with {_pick(rng, ['no pauses', 'a constant pace', 'a smooth, even speed'])}.")

    def _holi(self, g: dict, basic: str, rng) -> str:
        subject, noun = subject_of(basic), NOUNS[g["category"]]
        intro = _pick(rng, ["In this short clip", "Throughout the video", "Over two seconds"])
        action = ("stays still" if g["motion"] == "static"
                  else f"{VERBS[g['motion']]} {_pick(rng, ADVERBS[g['speed']])}")
        return (f"{intro}, {subject}, a {_size(g['size'])} {g['colour']} {noun} set against "
                f"{SCENES[g['background']][1]}, {action}. It starts in the {_position(g['start'])} of the frame "
                f"and ends in the {_position(g['end'])}, while the background stays unchanged in one continuous "
                f"shot.")
