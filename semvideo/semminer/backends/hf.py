"""SemMiner with real multimodal LLMs through transformers (paper: Qwen2.5-VL; Table 6 swaps the model).

Three captioners share one loop (prompt in the model's chat template → greedy ``generate`` → new tokens):

* ``hf`` (:class:`HFCaptioner`): any instruction-tuned image-text model that ``AutoProcessor`` +
  ``AutoModelForImageTextToText`` load; each clip is shown as ``n_frames`` evenly spaced frames (first and
  last included), as images;
* ``llava`` (:class:`LlavaCaptioner`): a LLaVA model (``LlavaForConditionalGeneration``), frames as images;
* ``qwen2.5-vl`` (:class:`semvideo.semminer.backends.qwen.QwenVideoCaptioner`): the clip *as a video*
  through Qwen2.5-VL's own video processor (needs torchvision: ``pip install -e ".[gpu]"``).

The single-caption ``blip`` level sees the first frame only, as prior work's image captioners did; with
``semminer.baseline_model_id`` it goes to BLIP-2 instead (:mod:`semvideo.semminer.backends.blip2`).
Decoding is greedy, so captions are repeatable. Every model loads on ``cfg.device`` in ``semminer.dtype``
(else the top-level ``dtype``), see :mod:`semvideo.device`.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from semvideo.config import Config
from semvideo.semminer.chain import ClipInput

__all__ = ["DEFAULT_MODEL", "HFCaptioner", "LlavaCaptioner", "sample_frames"]

#: The paper's MLLM (Appendix A.1).
DEFAULT_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"


def sample_frames(frames: np.ndarray, n: int) -> np.ndarray:
    """``n`` evenly spaced frames of a clip, first and last included.

    Parameters
    ----------
    frames : uint8 (T, H, W, 3)
    n : frames to keep; ``n >= T`` keeps all, ``n == 1`` keeps the first.

    Returns
    -------
    uint8 (min(n, T), H, W, 3)
    """
    if n == 1:
        return frames[:1]
    return frames[np.unique(np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int))]


class HFCaptioner:
    """Captions from a transformers image-text model; ``generate`` follows the :class:`Captioner` protocol."""

    name = "hf"

    def __init__(self, model_id: str = DEFAULT_MODEL, n_frames: int = 4, max_new_tokens: int = 96,
                 device: str = "cpu", dtype: str = "float32"):
        self.model_id, self.n_frames, self.max_new_tokens, self.device = model_id, n_frames, max_new_tokens, device
        self.processor = self._load_processor(model_id)
        if getattr(self.processor, "chat_template", None) is None:
            raise ValueError(f"{model_id}: its processor has no chat template; set semminer.model_id to an "
                             f"instruction-tuned image-text model such as {DEFAULT_MODEL}")
        self.processor.tokenizer.padding_side = "left"  # decoder-only generation continues from the right
        self.model = self._model_class().from_pretrained(model_id, dtype=getattr(torch, dtype))
        self.model = self.model.to(device).eval()

    # --- what the subclasses change -------------------------------------------------------------------------
    def _load_processor(self, model_id: str):
        from transformers import AutoProcessor

        return AutoProcessor.from_pretrained(model_id)

    def _model_class(self):
        from transformers import AutoModelForImageTextToText

        return AutoModelForImageTextToText

    def _inputs(self, level: str, prompts: list[str], clips: list[ClipInput]) -> dict:
        """The processor's tensors for one batch: frames as images."""
        n = 1 if level == "blip" else self.n_frames
        images = [[Image.fromarray(np.asarray(f)) for f in sample_frames(clip.frames, n)] for clip in clips]
        texts = [self._conversation(prompt, "image", len(imgs)) for prompt, imgs in zip(prompts, images)]
        return self.processor(text=texts, images=images, return_tensors="pt", padding=True)

    # --- shared ----------------------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: Config) -> HFCaptioner:
        """The captioner of ``semminer.backend`` (hf, llava or qwen2.5-vl) on the configured device and dtype;
        with ``semminer.baseline_model_id`` the ``blip`` level goes to BLIP-2."""
        from semvideo.semminer.backends import model_captioner  # deferred: that package imports this module

        return model_captioner(cfg)

    def _conversation(self, prompt: str, kind: str, n_items: int) -> str:
        content = [{"type": kind}] * n_items + [{"type": "text", "text": prompt}]
        return self.processor.apply_chat_template([{"role": "user", "content": content}],
                                                  add_generation_prompt=True, tokenize=False)

    def generate(self, level: str, prompts: list[str], clips: list[ClipInput],
                 basics: list[str | None]) -> list[str]:
        missing = [clip.clip_id for clip in clips if clip.frames is None]
        if missing:
            raise ValueError(f"clip {missing[0]} has no frames; the {self.name} backend reads data/frames_<split>.npy "
                             "(run `python -m semvideo prepare` first)")
        inputs = self._inputs(level, prompts, clips).to(self.model.device)
        inputs = {k: v.to(self.model.dtype) if v.is_floating_point() else v for k, v in inputs.items()}
        with torch.no_grad():
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        new_tokens = out[:, inputs["input_ids"].shape[1]:]
        return [text.strip() for text in self.processor.batch_decode(new_tokens, skip_special_tokens=True)]


class LlavaCaptioner(HFCaptioner):
    """A LLaVA model (``LlavaForConditionalGeneration``: CLIP vision tower + projector + LLM), each clip shown as
    ``n_frames`` images (LLaVA-style multi-image prompting); Table 6's LLaVA row."""

    name = "llava"

    def _model_class(self):
        from transformers import LlavaForConditionalGeneration

        return LlavaForConditionalGeneration
