"""Rendering scene graphs to frames: ≥ 12 distinguishable shapes on textured backgrounds (OpenCV, RGB uint8)."""

from __future__ import annotations

import cv2
import numpy as np

from semvideo.data.synthetic.world import object_state

__all__ = ["COLOURS", "SHAPES", "background", "render_clip"]

COLOURS = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (40, 80, 230), "yellow": (240, 220, 40),
           "white": (245, 245, 245), "purple": (150, 60, 200), "orange": (250, 140, 30),
           "cyan": (40, 220, 230)}
_BACKGROUNDS = {"sky": ((90, 150, 230), (190, 220, 250)), "grass": ((50, 120, 40), (90, 170, 70)),
                "sand": ((200, 170, 110), (235, 210, 160)), "night": ((10, 10, 40), (30, 30, 80))}


def _polygon(points: list[tuple[float, float]]) -> list[np.ndarray]:
    return [np.asarray(points, dtype=float)]


def _regular(n: int, phase: float = 0.0, radius: float = 1.0) -> np.ndarray:
    a = phase + 2 * np.pi * np.arange(n) / n
    return radius * np.stack([np.cos(a), np.sin(a)], axis=1)


def _star() -> np.ndarray:
    outer, inner = _regular(5, -np.pi / 2), _regular(5, -np.pi / 2 + np.pi / 5, 0.45)
    return np.stack([outer, inner], axis=1).reshape(-1, 2)


def _heart() -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    x, y = 16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return np.stack([x, y], axis=1) / 17.0


#: Unit-radius outlines (filled polygons); "ring" and "moon" are differences of two discs.
SHAPES = {
    "ball": _regular(40), "box": _regular(4, np.pi / 4) * 1.0, "star": _star(), "triangle": _regular(3, -np.pi / 2),
    "cross": np.array([(-0.3, -1), (0.3, -1), (0.3, -0.3), (1, -0.3), (1, 0.3), (0.3, 0.3), (0.3, 1),
                       (-0.3, 1), (-0.3, 0.3), (-1, 0.3), (-1, -0.3), (-0.3, -0.3)], float),
    "diamond": np.array([(0, -1), (0.6, 0), (0, 1), (-0.6, 0)], float), "heart": _heart(),
    "arrow": np.array([(-1, -0.25), (0.2, -0.25), (0.2, -0.65), (1, 0), (0.2, 0.65), (0.2, 0.25),
                       (-1, 0.25)], float),
    "hexagon": _regular(6), "bar": np.array([(-1, -0.28), (1, -0.28), (1, 0.28), (-1, 0.28)], float),
    "ring": _regular(40), "moon": _regular(40),
}
_HOLES = {"ring": (0.0, 0.0, 0.55), "moon": (0.45, -0.15, 0.85)}  # (dx, dy, radius) cut out of the disc


def background(name: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A (size, size, 3) uint8 background: a vertical gradient plus a texture per kind."""
    top, bottom = (np.asarray(c, float) for c in _BACKGROUNDS[name])
    ramp = np.linspace(0, 1, size)[:, None, None]
    image = np.broadcast_to(top + (bottom - top) * ramp, (size, size, 3)).copy()
    if name == "grass":  # vertical blades
        image[:, ::max(size // 16, 2)] *= 0.8
    elif name == "sand":  # speckles
        image *= rng.uniform(0.9, 1.05, size=(size, size, 1))
    elif name == "night":  # stars
        ys, xs = rng.integers(0, size, (2, max(size // 4, 4)))
        image[ys, xs] = 230
    return np.clip(image, 0, 255).astype(np.uint8)


def _object_mask(category: str, centre_px: np.ndarray, radius_px: float, angle: float, size: int) -> np.ndarray:
    rot = np.deg2rad(angle)
    rotation = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]])
    shift = 4  # OpenCV sub-pixel bits: smooth edges at 32–64 px
    mask = np.zeros((size, size), np.uint8)

    def fill(outline: np.ndarray, value: int) -> None:
        points = (outline @ rotation.T) * radius_px + centre_px
        cv2.fillPoly(mask, [np.round(points * (1 << shift)).astype(np.int32)], value, cv2.LINE_AA, shift)

    fill(SHAPES[category], 255)
    if category in _HOLES:
        dx, dy, r = _HOLES[category]
        fill(_regular(40, radius=r) + (dx, dy), 0)
    return mask


def render_clip(graph: dict, n_frames: int, fps: float, size: int, bg: np.ndarray) -> np.ndarray:
    """Frames (n_frames, size, size, 3) uint8 of one clip, starting ``graph['shot_time']`` s into its shot."""
    colour = np.asarray(COLOURS[graph["colour"]], np.float32)
    frames = np.empty((n_frames, size, size, 3), np.uint8)
    for i in range(n_frames):
        state = object_state(graph, graph["shot_time"] + i / fps)
        radius = 0.5 * graph["base_size"] * state["scale"] * size
        alpha = _object_mask(graph["category"], state["xy"] * size, radius, state["angle"], size)
        alpha = (alpha.astype(np.float32) / 255.0)[..., None]
        frames[i] = (bg * (1 - alpha) + colour * alpha).astype(np.uint8)
    return frames
