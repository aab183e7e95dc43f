"""BLIP-2 (``Blip2ForConditionalGeneration``), the single-caption baseline on real data (paper Fig. 7, Table 4):
one short caption of each clip's first frame, as the NeuroClips / Mind-Animator family used.

BLIP-2 is an image captioner, not a chat model: it answers only the ``blip`` level, with the processor's plain
prompt (none by default: BLIP-2's own captioning mode) rather than SemMiner's chain prompts.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from semvideo.semminer.chain import ClipInput

__all__ = ["Blip2Captioner"]


class Blip2Captioner:
    """First-frame captions from BLIP-2; ``generate`` follows the :class:`Captioner` protocol (level ``blip``)."""

    name = "blip2"

    def __init__(self, model_id: str, max_new_tokens: int = 30, device: str = "cpu", dtype: str = "float32",
                 prompt: str | None = None):
        from transformers import Blip2ForConditionalGeneration, Blip2Processor

        self.model_id, self.max_new_tokens, self.prompt = model_id, max_new_tokens, prompt
        self.processor = Blip2Processor.from_pretrained(model_id)
        self.model = Blip2ForConditionalGeneration.from_pretrained(model_id, dtype=getattr(torch, dtype))
        self.model = self.model.to(device).eval()

    def generate(self, level: str, prompts: list[str], clips: list[ClipInput],
                 basics: list[str | None]) -> list[str]:
        if level != "blip":
            raise ValueError(f"BLIP-2 writes only the single-caption baseline (level 'blip'), not '{level}'; use "
                             "a chat model (semminer.backend qwen2.5-vl, llava or hf) for SemMiner's chain")
        missing = [clip.clip_id for clip in clips if clip.frames is None]
        if missing:
            raise ValueError(f"clip {missing[0]} has no frames; the blip2 backend reads data/frames_<split>.npy "
                             "(run `python -m semvideo prepare` first)")
        images = [Image.fromarray(np.asarray(clip.frames[0])) for clip in clips]
        text = None if self.prompt is None else [self.prompt] * len(clips)
        inputs = self.processor(images=images, text=text, return_tensors="pt").to(self.model.device)
        inputs = {k: v.to(self.model.dtype) if v.is_floating_point() else v for k, v in inputs.items()}
        with torch.no_grad():
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        if "input_ids" in inputs:  # decoder-only LMs (OPT) echo the prompt: keep the new tokens
            out = out[:, inputs["input_ids"].shape[1]:]
        return [t.strip() for t in self.processor.batch_decode(out, skip_special_tokens=True)]
