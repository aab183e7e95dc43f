"""The real captioners as configurable backends, each on a tiny random-config model the test builds and saves:
Qwen2.5-VL given the clip as a video (its own processor; needs the [gpu] extra's torchvision), LLaVA (frames as
images), BLIP-2 for the single-caption baseline, the config's dtype reaching the model, and Table 6's runs."""

import numpy as np
import pytest
import torch

from semvideo.config import Config
from semvideo.semminer.backends import BaselineRouter, model_captioner, table6_runs
from semvideo.semminer.backends.qwen import video_support
from semvideo.semminer.cache import CaptionCache
from semvideo.semminer.chain import ClipInput, run_chain, run_single
from tests.test_semminer import _tiny_llava

SPECIAL = ["<pad>", "<s>", "</s>", "<image>", "<|image_pad|>", "<|video_pad|>", "<|vision_start|>",
           "<|vision_end|>"]


def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer, bpe.decoder = pre_tokenizers.ByteLevel(add_prefix_space=False), decoders.ByteLevel()
    bpe.train_from_iterator(["a red star moves to the left over grass", "describe the motion in the video"],
                            trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIAL,
                                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   additional_special_tokens=SPECIAL[3:])


def _clips(n=3, frames=6, size=32):
    rng = np.random.default_rng(0)
    return [ClipInput(f"test1_{i:04d}", None, rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8))
            for i in range(n)]


def _cfg(**semminer) -> Config:
    return Config(name="cap", world="cc2017", subjects=["subject1"],
                  semminer={"n_frames": 4, "max_new_tokens": 4, "batch_size": 2, **semminer})


def _tiny_qwen(folder):
    from semvideo.gpu_smoke import save_tiny_qwen

    return save_tiny_qwen(folder)


def _tiny_blip2(folder):
    """A tiny random BLIP-2 (1-layer ViT, 1-layer Q-Former with 4 queries, 1-layer OPT) and its processor."""
    from transformers import (
        Blip2Config,
        Blip2ForConditionalGeneration,
        Blip2Processor,
        Blip2QFormerConfig,
        Blip2VisionConfig,
        OPTConfig,
    )
    from transformers.models.blip.image_processing_pil_blip import BlipImageProcessorPil

    tokenizer = _tokenizer()
    Blip2Processor(BlipImageProcessorPil(size={"height": 28, "width": 28}), tokenizer,
                   num_query_tokens=4).save_pretrained(folder)
    config = Blip2Config(
        vision_config=Blip2VisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                        num_attention_heads=2, image_size=28, patch_size=14).to_dict(),
        qformer_config=Blip2QFormerConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                          intermediate_size=32, encoder_hidden_size=16).to_dict(),
        text_config=OPTConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, ffn_dim=32,
                              num_attention_heads=2, word_embed_proj_dim=16, bos_token_id=1, eos_token_id=2,
                              pad_token_id=0).to_dict(),
        num_query_tokens=4, image_token_index=tokenizer.convert_tokens_to_ids("<image>"))
    torch.manual_seed(0)
    Blip2ForConditionalGeneration(config).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def llava(tmp_path_factory):
    return _tiny_llava(tmp_path_factory.mktemp("llava"))


@pytest.fixture(scope="module")
def blip2(tmp_path_factory):
    return _tiny_blip2(tmp_path_factory.mktemp("blip2"))


def test_llava_backend_captions_the_chain_in_the_configured_dtype(llava, tmp_path):
    captioner = model_captioner(_cfg(backend="llava", model_id=llava, dtype="bfloat16"))
    assert captioner.name == "llava" and type(captioner.model).__name__ == "LlavaForConditionalGeneration"
    assert captioner.model.dtype is torch.bfloat16 and captioner.model.device.type == "cpu"
    captions = run_chain(captioner, _clips(), CaptionCache(tmp_path / "c.jsonl"), batch_size=2)
    assert all(isinstance(t, str) for c in captions.values() for t in c.values())
    assert set(next(iter(captions.values()))) == {"basic", "anchor", "motion", "holi"}


def test_blip2_baseline_captions_the_first_frame(blip2, tmp_path):
    from semvideo.semminer.backends.blip2 import Blip2Captioner

    captioner = Blip2Captioner(blip2, max_new_tokens=4)
    clips = _clips()
    first = captioner.generate("blip", ["p"] * 3, clips, [None] * 3)
    assert len(first) == 3 and all(isinstance(t, str) for t in first)
    # only the first frame is read: changing the others changes nothing
    later = [ClipInput(c.clip_id, None, np.concatenate([c.frames[:1], 255 - c.frames[1:]])) for c in clips]
    assert captioner.generate("blip", ["p"] * 3, later, [None] * 3) == first
    with pytest.raises(ValueError, match="only the single-caption baseline"):
        captioner.generate("motion", ["p"], clips[:1], [None])


def test_baseline_model_routes_the_blip_level_to_blip2(llava, blip2, tmp_path):
    captioner = model_captioner(_cfg(backend="llava", model_id=llava, baseline_model_id=blip2))
    assert isinstance(captioner, BaselineRouter) and captioner.name == "llava+blip2"
    assert llava in captioner.model_id and blip2 in captioner.model_id  # cache keys name both models
    clips = _clips()
    baseline = run_single(captioner, clips, CaptionCache(tmp_path / "c.jsonl"), "blip", batch_size=2)
    assert list(baseline.values()) == captioner.baseline.generate("blip", [""] * 3, clips, [None] * 3)


def test_qwen_without_torchvision_says_how_to_install_it(monkeypatch, llava):
    from semvideo.semminer.backends import qwen

    monkeypatch.setattr(qwen, "video_support", lambda: "needs torchvision; run `pip install -e \".[gpu]\"`")
    with pytest.raises(ImportError, match=r"\[gpu\]"):
        model_captioner(_cfg(backend="qwen2.5-vl", model_id=llava))


def test_qwen_hands_the_clip_to_its_processor_as_a_video():
    """Without torchvision: what the captioner gives Qwen's processor (a recording stand-in for it)."""
    from semvideo.semminer.backends.qwen import QwenVideoCaptioner

    class Recorder:
        def __init__(self):
            self.calls = []

        def apply_chat_template(self, messages, **kwargs):
            return "|".join(c["type"] for c in messages[0]["content"])

        def __call__(self, **kwargs):
            self.calls.append(kwargs)
            return kwargs

    captioner = object.__new__(QwenVideoCaptioner)  # no model: only the input path is checked here
    captioner.processor, captioner.n_frames, captioner.fps = Recorder(), 4, 3.0
    clips = _clips(n=2)
    sent = captioner._inputs("motion", ["describe the motion"] * 2, clips)
    assert sent["text"] == ["video|text"] * 2 and "images" not in sent and sent["do_sample_frames"] is False
    for video, clip in zip(sent["videos"], clips):
        np.testing.assert_array_equal(video, clip.frames[[0, 2, 3, 5]])  # first and last, in order
    assert sent["fps"] == 2.0  # 4 of 6 frames spread over the 2-s clip
    still = captioner._inputs("blip", ["p"] * 2, clips)
    assert still["text"] == ["image|text"] * 2 and len(still["images"][0]) == 1  # the baseline: one still


@pytest.mark.skipif(video_support() is not None, reason=str(video_support()))
def test_qwen_sees_the_clip_as_a_video(tmp_path):
    from semvideo.semminer.backends.qwen import QwenVideoCaptioner

    captioner = model_captioner(_cfg(backend="qwen2.5-vl", model_id=_tiny_qwen(tmp_path / "qwen")))
    assert isinstance(captioner, QwenVideoCaptioner) and captioner.fps == 3.0  # 6 frames over 2 s
    clips = _clips()
    inputs = captioner._inputs("motion", ["describe the motion"] * 3, clips)
    assert "pixel_values_videos" in inputs and "pixel_values" not in inputs
    assert inputs["video_grid_thw"][:, 0].tolist() == [2, 2, 2]  # 4 frames → 2 temporal patches of 2
    captions = run_chain(captioner, clips, CaptionCache(tmp_path / "c.jsonl"), batch_size=2)
    assert all(isinstance(t, str) for c in captions.values() for t in c.values())
    # the frames' order reaches the model: reversed clips are a different video
    reversed_clips = [ClipInput(c.clip_id, None, c.frames[::-1].copy()) for c in clips]
    again = captioner._inputs("motion", ["describe the motion"] * 3, reversed_clips)
    assert not torch.equal(again["pixel_values_videos"], inputs["pixel_values_videos"])
    assert "pixel_values" in captioner._inputs("blip", ["p"] * 3, clips)  # the baseline level: one still image


def test_table6_runs_swap_only_the_captioner():
    cfg = _cfg(backend="qwen2.5-vl", model_id="Qwen/Qwen2.5-VL-7B-Instruct", captioners=[
        {"label": "qwen2.5-vl", "backend": "qwen2.5-vl", "model_id": "Qwen/Qwen2.5-VL-7B-Instruct"},
        {"label": "llava", "backend": "llava", "model_id": "llava-hf/llava-1.5-7b-hf"}])
    runs = table6_runs(cfg)
    assert list(runs) == ["qwen2.5-vl", "llava"]
    assert runs["llava"].name == "cap-llava" and runs["llava"].semminer.backend == "llava"
    assert runs["llava"].semminer.model_id == "llava-hf/llava-1.5-7b-hf" and runs["llava"].semminer.captioners == []
    assert runs["llava"].sad == cfg.sad and runs["llava"].semminer.n_frames == cfg.semminer.n_frames
    assert table6_runs(_cfg()) == {}
