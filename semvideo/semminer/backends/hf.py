"""SemMiner with a real multimodal LLM through transformers (paper: Qwen2.5-VL; Table 6 swaps the model).

Any instruction-tuned image-text model that ``AutoProcessor`` + ``AutoModelForImageTextToText`` can load
works: each clip is shown as ``n_frames`` evenly spaced frames (first and last included) followed by the
prompt, in the model's own chat template; decoding is greedy, so captions are repeatable. Frames are given
as images rather than as a video so that no video decoder (torchvision) is needed; the single-caption
``blip`` level sees the first frame only, as prior work's image captioners did.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from semvideo.config import Config
from semvideo.semminer.chain import ClipInput

__all__ = ["DEFAULT_MODEL", "HFCaptioner", "sample_frames"]

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
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.model_id, self.n_frames, self.max_new_tokens, self.device = model_id, n_frames, max_new_tokens, device
        self.processor = AutoProcessor.from_pretrained(model_id)
        if getattr(self.processor, "chat_template", None) is None:
            raise ValueError(f"{model_id}: its processor has no chat template; set semminer.model_id to an "
                             f"instruction-tuned image-text model such as {DEFAULT_MODEL}")
        self.processor.tokenizer.padding_side = "left"  # decoder-only generation continues from the right
        self.model = AutoModelForImageTextToText.from_pretrained(model_id, dtype=getattr(torch, dtype))
        self.model = self.model.to(device).eval()

    @classmethod
    def from_config(cls, cfg: Config) -> HFCaptioner:
        from semvideo.device import resolve_device

        sm = cfg.semminer
        # semminer.dtype (bfloat16 for Qwen2.5-VL in the real configs) overrides the top-level inference dtype
        return cls(sm.model_id or DEFAULT_MODEL, sm.n_frames, sm.max_new_tokens, str(resolve_device(cfg)),
                   sm.dtype or cfg.dtype)

    def _conversation(self, prompt: str, n_images: int) -> str:
        content = [{"type": "image"}] * n_images + [{"type": "text", "text": prompt}]
        return self.processor.apply_chat_template([{"role": "user", "content": content}],
                                                  add_generation_prompt=True, tokenize=False)

    def generate(self, level: str, prompts: list[str], clips: list[ClipInput],
                 basics: list[str | None]) -> list[str]:
        missing = [clip.clip_id for clip in clips if clip.frames is None]
        if missing:
            raise ValueError(f"clip {missing[0]} has no frames; the hf backend reads data/frames_<split>.npy "
                             "(run `python -m semvideo prepare` first)")
        n = 1 if level == "blip" else self.n_frames
        images = [[Image.fromarray(np.asarray(f)) for f in sample_frames(clip.frames, n)] for clip in clips]
        texts = [self._conversation(prompt, len(imgs)) for prompt, imgs in zip(prompts, images)]
        inputs = self.processor(text=texts, images=images, return_tensors="pt", padding=True).to(self.device)
        with torch.no_grad():
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        new_tokens = out[:, inputs["input_ids"].shape[1]:]
        return [text.strip() for text in self.processor.batch_decode(new_tokens, skip_special_tokens=True)]
