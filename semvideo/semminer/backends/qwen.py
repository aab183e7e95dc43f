"""Qwen2.5-VL, the paper's captioner (Appendix A.1), given each clip *as a video* through its own processor.

The clip's frames go to ``Qwen2_5_VLProcessor(videos=...)`` with their frame rate, so the model sees them as one
video (temporal patches of two frames, M-RoPE time positions from the frame rate) rather than as still images.
Qwen2.5-VL's video processor is built on torchvision, which the CPU set-up does not install: install the
``[gpu]`` extra (``pip install -e ".[gpu]"``, torchvision pinned to the build that matches torch). Without it
the captioner stops in one line naming that fix.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from semvideo.semminer.backends.hf import HFCaptioner, sample_frames
from semvideo.semminer.chain import ClipInput

__all__ = ["QwenVideoCaptioner", "video_support"]


def video_support() -> str | None:
    """None when transformers' video processors can run here, else the one-line reason (and fix)."""
    if importlib.util.find_spec("torchvision") is None:
        return ("Qwen2.5-VL's video processor needs torchvision, which the CPU set-up does not install; "
                "run `pip install -e \".[gpu]\"` (torchvision matched to torch)")
    return None


class QwenVideoCaptioner(HFCaptioner):
    """Qwen2.5-VL (``Qwen2_5_VLForConditionalGeneration``) captioning whole clips as video.

    ``fps`` is the frame rate of the frames it is given (the prepared clips: ``frames_per_clip`` frames over
    ``clip_seconds``); ``n_frames`` evenly spaced frames are sent (first and last included; Qwen groups them
    in pairs, so an odd count is padded by the processor). The ``blip`` level sees the first frame as an image.
    """

    name = "qwen2.5-vl"

    def __init__(self, *args, fps: float = 3.0, **kwargs):
        reason = video_support()
        if reason is not None:
            raise ImportError(reason)
        self.fps = fps
        super().__init__(*args, **kwargs)

    def _model_class(self):
        from transformers import Qwen2_5_VLForConditionalGeneration

        return Qwen2_5_VLForConditionalGeneration

    def _inputs(self, level: str, prompts: list[str], clips: list[ClipInput]) -> dict:
        if level == "blip":  # the single-caption baseline: one still image, as prior work's captioners saw
            return super()._inputs(level, prompts, clips)
        videos = [np.ascontiguousarray(sample_frames(clip.frames, self.n_frames)) for clip in clips]
        # the frames kept are spread over the whole clip: their rate is the clip's rate × kept / total (every clip
        # of a run has frames_per_clip frames; the processor takes one rate per call)
        rates = {self.fps * len(v) / len(clip.frames) for v, clip in zip(videos, clips)}
        if len(rates) != 1:
            raise ValueError(f"clips {[c.clip_id for c in clips]} have different frame counts; caption them apart")
        fps = rates.pop()
        texts = [self._conversation(prompt, "video", 1) for prompt in prompts]
        return self.processor(text=texts, videos=videos, fps=fps, return_tensors="pt", padding=True,
                              do_sample_frames=False)
