"""Reading and writing stimulus videos (mp4 through PyAV and imageio's PyAV plugin) and sampling clip frames.

Frames are ``uint8`` arrays of shape ``(T, H, W, 3)``, RGB, pixel range 0–255.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from semvideo.io import InputError, MissingInputError, atomic_path

__all__ = ["clip_frame_indices", "read_frames", "read_video", "resize_frames", "video_meta", "write_video"]


def write_video(path: str | Path, frames: np.ndarray, fps: float) -> Path:
    """Write ``frames`` (T, H, W, 3) uint8 as a lossless H.264 mp4 (libx264rgb, qp 0), atomically.

    Lossless RGB coding makes ``read_video(write_video(p, f))`` return ``f`` exactly, so the frames a model
    sees do not depend on the encoder's rate-control decisions (lossy x264 gave runs with the same frames
    different decoded pixels), and colours are exact for the judges. The twin's 64×64 segments take about
    10 kB per second of video (31 MB for the default twin's 19 segments).
    """
    import av

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"{path}: frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    with atomic_path(path, suffix=".mp4") as tmp, av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream("libx264rgb", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "rgb24"
        stream.options = {"qp": "0"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())  # flush the encoder
    return Path(path)


def read_video(path: str | Path) -> np.ndarray:
    """Read every frame of a video as (T, H, W, 3) uint8; a clear error if it is missing or undecodable."""
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path}: stimulus video not found; check the dataset layout (see README)")
    try:
        frames = iio.imread(path, plugin="pyav")
    except Exception as err:  # PyAV raises several types for corrupt containers
        raise InputError(f"{path}: cannot decode video ({_one_line(err)}); "
                         "re-download or regenerate this file") from None
    if frames.ndim != 4 or frames.shape[0] == 0:
        raise InputError(f"{path}: decoded {frames.shape}, expected (T, H, W, 3) frames; re-download it")
    return frames


def read_frames(path: str | Path, indices: np.ndarray) -> np.ndarray:
    """Only the frames at ``indices`` (any shape of non-negative ints) → (*indices.shape, H, W, 3) uint8.

    Decodes the stream once with PyAV and converts only the wanted frames to RGB: ~6× faster than reading
    every frame when a clip keeps 6 of its 60 frames.
    """
    import av

    path, indices = Path(path), np.asarray(indices)
    if not path.exists():
        raise MissingInputError(f"{path}: stimulus video not found; check the dataset layout (see README)")
    wanted = set(indices.ravel().tolist())
    frames: dict[int, np.ndarray] = {}
    number = -1
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for number, frame in enumerate(container.decode(stream)):
                if number in wanted:
                    frames[number] = frame.to_ndarray(format="rgb24")
                if len(frames) == len(wanted):
                    break
    except Exception as err:  # PyAV raises several types for corrupt containers
        raise InputError(f"{path}: cannot decode video ({_one_line(err)}); "
                         "re-download or regenerate this file") from None
    if len(frames) < len(wanted):
        raise InputError(f"{path}: has {number + 1} frames, but frame {max(wanted)} is needed; "
                         "the video is truncated — re-download or regenerate it")
    return np.stack([frames[i] for i in indices.ravel()]).reshape(*indices.shape, *frames[indices.flat[0]].shape)


def video_meta(path: str | Path) -> dict:
    """Frame rate and frame count of a video without decoding it."""
    meta = iio.immeta(path, plugin="pyav")
    return {"fps": float(meta["fps"]), "duration": float(meta.get("duration", 0.0))}


def clip_frame_indices(clip_index: int, clip_seconds: float, fps: float, n_frames: int) -> np.ndarray:
    """Indices of ``n_frames`` evenly spaced frames inside clip ``clip_index`` of a video.

    Frames are taken at the centre of ``n_frames`` equal bins of the clip (6 frames of a 2-second clip at
    30 fps → frames 5, 15, 25, 35, 45, 55 of the clip: 3 fps, as the paper's decoders see).
    """
    per_clip = clip_seconds * fps
    start = clip_index * per_clip
    centres = start + (np.arange(n_frames) + 0.5) * per_clip / n_frames
    return np.floor(centres).astype(int)


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """Resize (..., H, W, 3) uint8 frames to (..., size, size, 3) with area interpolation (OpenCV)."""
    import cv2

    frames = np.asarray(frames)
    if frames.shape[-3:-1] == (size, size):
        return frames
    flat = frames.reshape(-1, *frames.shape[-3:])
    out = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in flat])
    return out.reshape(*frames.shape[:-3], size, size, 3)


def _one_line(err: Exception) -> str:
    return f"{type(err).__name__}: " + " ".join(str(err).split())
