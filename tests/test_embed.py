"""Text targets: shapes, padding and determinism of the MiniLM embedder; the CLIP path on a tiny model."""

import json

import numpy as np
import pytest
import torch

from semvideo.embed import CLIPTextEmbedder, MiniLMEmbedder


@pytest.fixture(scope="module")
def minilm():
    return MiniLMEmbedder(max_tokens=77)


def test_minilm_tokens_are_padded_to_77_and_deterministic(minilm):
    texts = ["A red star moves to the left.", "word " * 120]
    out = minilm.tokens(texts)
    assert out.shape == (2, 77, 384) and out.dtype == np.float32
    n = minilm.count_tokens(texts[:1])[0] + 2  # [CLS] + pieces + [SEP]
    assert np.abs(out[0, :n]).sum(1).min() > 0 and (out[0, n:] == 0).all()  # zero padding after the caption
    assert np.abs(out[1]).sum(1).min() > 0  # a long caption is truncated, not padded
    np.testing.assert_array_equal(out, minilm.tokens(texts))


def test_minilm_pooled_embeddings_rank_paraphrases_first(minilm):
    pooled = minilm.pooled(["a red star moves left", "a red star travels to the left", "a blue box on sand"])
    np.testing.assert_allclose(np.linalg.norm(pooled, axis=1), 1, atol=1e-5)
    assert pooled[0] @ pooled[1] > pooled[0] @ pooled[2]


def _tiny_clip(tmp_path):
    """A tiny random CLIP text model and a word-level BPE tokenizer, saved like a hub folder."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer

    words = ["a", "red", "star", "moves", "left", "blue", "box"]
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for w in words:
        vocab[w + "</w>"] = len(vocab)
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    (tmp_path / "merges.txt").write_text("#version: 0.2\n")
    CLIPTokenizer(str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt")).save_pretrained(tmp_path)
    config = CLIPTextConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                            num_attention_heads=2, projection_dim=8, max_position_embeddings=77,
                            bos_token_id=0, eos_token_id=1, pad_token_id=1)
    CLIPTextModelWithProjection(config).save_pretrained(tmp_path)
    return tmp_path


def test_clip_text_path_loads_saved_weights_and_pads_to_77(tmp_path):
    embedder = CLIPTextEmbedder(str(_tiny_clip(tmp_path)), batch_size=2)
    out = embedder.tokens(["a red star moves left", "a blue box", "red"])
    assert out.shape == (3, 77, 16)
    np.testing.assert_allclose(out, embedder.tokens(["a red star moves left", "a blue box", "red"]), atol=1e-6)
    pooled = embedder.pooled(["a red star", "a blue box"])
    assert pooled.shape == (2, 8) and np.allclose(np.linalg.norm(pooled, axis=1), 1)
    short, longer = embedder.count_tokens(["a red", "a red star moves left"])
    assert 0 < short < longer  # special tokens are not counted, words are


def test_embed_captions_writes_float32_targets_aligned_with_clips_csv(tiny_twin, minilm):
    import pandas as pd

    from semvideo.embed import embed_captions, load_embeddings
    from semvideo.semminer import CAPTION_LEVELS, load_captions, run_semminer

    cfg, paths = tiny_twin
    run_semminer(cfg)
    embed_captions(cfg)
    clips, captions = pd.read_csv(paths.data / "clips.csv"), load_captions(cfg)
    for split in ("train", "test"):
        rows = captions[(clips["split"] == split).to_numpy()]
        for level in CAPTION_LEVELS:
            targets = load_embeddings(cfg, level, split)
            assert targets.shape == (len(rows), 77, 384) and targets.dtype == np.float32
        check = [0, len(rows) - 1]  # first and last row: the embedding of that clip's own caption
        np.testing.assert_allclose(load_embeddings(cfg, "holi", split)[check],
                                   minilm.tokens(rows["holi"].iloc[check].tolist()), atol=1e-5)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_clip_embedder_on_a_missing_gpu_fails_in_one_line_before_loading(tmp_path):
    from semvideo.config import Config
    from semvideo.device import DeviceError
    from semvideo.embed import make_embedder

    cfg = Config(name="e", device="cuda", embed={"backend": "clip", "model_id": str(tmp_path / "absent")})
    with pytest.raises(DeviceError, match="sees no CUDA device"):
        make_embedder(cfg)  # the model folder does not exist either: the device is checked first
