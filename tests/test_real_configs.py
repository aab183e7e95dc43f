"""The real configs (config/cc2017.yaml, config/hcp.yaml) name the paper's models and sizes, and those sizes fit
the code: checked with tiny random stand-ins built in a temp dir where weights would be needed (no downloads)."""

import json

import numpy as np
import pytest
import torch

from semvideo.config import load_config
from tests.conftest import ROOT

REAL = ["cc2017.yaml", "hcp.yaml"]

#: Facts of the hub models the configs name (from their published configs; the code must agree with them).
CLIP_L14_TEXT_HIDDEN = 768  #: openai/clip-vit-large-patch14 text_config.hidden_size = SD 1.5 cross_attention_dim
SD15_VAE_DOWNSAMPLE = 8  #: SD 1.5's AutoencoderKL: 4 blocks, 3 downsamplings
SD15_LATENT_CHANNELS = 4
HUB_IDS = {
    ("priors", "vae"): "stable-diffusion-v1-5/stable-diffusion-v1-5",
    ("priors", "t2i"): "stable-diffusion-v1-5/stable-diffusion-v1-5",
    ("priors", "motion_adapter"): "guoyww/animatediff-motion-adapter-v1-5-2",
    ("priors", "sparsectrl"): "guoyww/animatediff-sparsectrl-rgb",
    ("embed", "model_id"): "openai/clip-vit-large-patch14",
    ("semminer", "model_id"): "Qwen/Qwen2.5-VL-7B-Instruct",
    ("eval", "image_judge"): "google/vit-base-patch16-224",
    ("eval", "video_judge"): "MCG-NJU/videomae-base-finetuned-kinetics",
}


def _load(name):
    return load_config(ROOT / "config" / name)


@pytest.mark.parametrize("name", REAL)
def test_hub_ids_device_and_dtype(name):
    cfg = _load(name)
    for (section, key), hub_id in HUB_IDS.items():
        assert getattr(getattr(cfg, section), key) == hub_id, f"{name}: {section}.{key}"
    assert cfg.embed.backend == "clip" and cfg.semminer.backend == "qwen2.5-vl" and cfg.semminer.dtype == "bfloat16"
    assert cfg.semminer.baseline_model_id == "Salesforce/blip2-opt-2.7b"  # BLIP-2, the single-caption baseline
    assert [c.backend for c in cfg.semminer.captioners] == ["qwen2.5-vl", "llava"]  # Table 6's swap
    assert cfg.device == "cuda" and cfg.dtype in ("float16", "bfloat16")
    assert cfg.world == name.removesuffix(".yaml")


@pytest.mark.parametrize("name", REAL)
def test_paper_sizes_and_hyperparameters(name):
    """Appendix C.1: SAD D_l 4096, Refineformer 4 × 8 heads × 64, AdamW 1e-4 / batch 96 (cosine);
    MAD linear 256, n × 64 × 7 × 7 → 4 × 28 × 28, OneCycle max 3e-4, batch 20; 100 epochs; n = 6 frames."""
    cfg = _load(name)
    sad, mad = cfg.sad, cfg.mad
    assert (sad.hidden_dim, sad.prior_layers, sad.prior_heads, sad.prior_head_dim) == (4096, 4, 8, 64)
    assert (sad.lr, sad.batch_size, sad.pretrain_epochs, sad.finetune_epochs) == (1e-4, 96, 100, 100)
    assert sad.mixco_alpha == 0.15 and sad.loss_weights == "section4"
    assert (mad.hidden_dim, mad.proj_channels, mad.proj_size) == (256, 64, 7)
    assert (mad.lr, mad.batch_size, mad.epochs) == (3e-4, 20, 100)
    assert cfg.fmri.frames_per_clip == 6 and cfg.fmri.lag_seconds == 4.0
    assert cfg.embed.max_tokens == 77
    assert (cfg.priors.vae_downsample, cfg.priors.latent_channels) == (SD15_VAE_DOWNSAMPLE, SD15_LATENT_CHANNELS)
    assert cfg.fmri.frame_size // cfg.priors.vae_downsample == 28  # the paper's 28 × 28 latents at 224 px


def test_world_specific_timing():
    cc, hcp = _load("cc2017.yaml"), _load("hcp.yaml")
    assert (cc.fmri.tr, cc.fmri.clip_seconds) == (2.0, 2.0) and cc.fmri.exclude_runs == ["subject3/test2/9"]
    assert (hcp.fmri.tr, hcp.fmri.clip_seconds, hcp.fmri.test_fraction) == (1.0, 1.0, 0.1)
    assert hcp.subjects == ["100610", "102816", "104416"]
    assert hcp.paths.figures == "figures/hcp"


def test_hcp_vertex_count_matches_the_atlas():
    from semvideo.data.atlas import N_CORTEX
    from semvideo.data.hcp import roi_mask

    cfg = _load("hcp.yaml")
    assert roi_mask(np.arange(N_CORTEX), cfg.fmri.rois).sum() == 5820  # the paper's 5,820 vertices


def _tiny_clip_l14(folder):
    """A 1-layer random CLIP text model with CLIP ViT-L/14's text width (768) and a word-level tokenizer."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for word in ["a", "red", "star", "moves", "left"]:
        vocab[word + "</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt")).save_pretrained(folder)
    config = CLIPTextConfig(vocab_size=len(vocab), hidden_size=CLIP_L14_TEXT_HIDDEN, intermediate_size=32,
                            num_hidden_layers=1, num_attention_heads=12, projection_dim=8,
                            max_position_embeddings=77, bos_token_id=0, eos_token_id=1, pad_token_id=1)
    CLIPTextModelWithProjection(config).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("name", REAL)
def test_clip_targets_sad_output_and_sd_conditioning_agree(name, tmp_path):
    """Z(C) from a CLIP-L/14-shaped text encoder is 77 × 768; SAD built on it outputs 77 × 768; a UNet with SD
    1.5's cross-attention width (768) accepts that output as its conditioning."""
    from diffusers import UNet2DConditionModel

    from semvideo.embed import CLIPTextEmbedder
    from semvideo.models.sad import SemanticAlignmentDecoder

    cfg = _load(name)
    embedder = CLIPTextEmbedder(str(_tiny_clip_l14(tmp_path)), max_tokens=cfg.embed.max_tokens)
    targets = embedder.tokens(["a red star moves left"])
    assert targets.shape == (1, 77, CLIP_L14_TEXT_HIDDEN)
    s = cfg.sad  # paper's prior sizes; a narrow D_l keeps the stand-in small
    sad = SemanticAlignmentDecoder(subjects=cfg.subjects, n_voxels=[11] * len(cfg.subjects), hidden_dim=16,
                                   n_tokens=targets.shape[1], embed_dim=targets.shape[2],
                                   prior_layers=1, prior_heads=s.prior_heads, prior_head_dim=s.prior_head_dim,
                                   prior_timesteps=s.prior_timesteps)
    pred = sad(torch.zeros(2, 11), torch.tensor([0, len(cfg.subjects) - 1]))
    assert pred.shape == (2, 77, CLIP_L14_TEXT_HIDDEN)
    latent = cfg.fmri.frame_size // cfg.priors.vae_downsample
    unet = UNet2DConditionModel(sample_size=8, in_channels=cfg.priors.latent_channels,
                                out_channels=cfg.priors.latent_channels, block_out_channels=(8, 8),
                                down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), layers_per_block=1,
                                cross_attention_dim=CLIP_L14_TEXT_HIDDEN, attention_head_dim=4, norm_num_groups=4)
    with torch.no_grad():
        out = unet(torch.zeros(2, cfg.priors.latent_channels, latent, latent), 10,
                   encoder_hidden_states=pred.detach()).sample
    assert out.shape == (2, SD15_LATENT_CHANNELS, 28, 28)


@pytest.mark.parametrize("name", REAL)
def test_mad_maps_the_paper_grid_to_the_sd_latent(name):
    """MAD with the config's structure (n × 64 × 7 × 7, three up blocks) outputs n × 4 × 28 × 28."""
    from semvideo.models.mad import build_mad

    cfg = _load(name)
    small = cfg.model_copy(update={"mad": cfg.mad.model_copy(update={"mlp_dim": 16})})  # keep the test light
    latent = (cfg.priors.latent_channels, cfg.fmri.frame_size // cfg.priors.vae_downsample,
              cfg.fmri.frame_size // cfg.priors.vae_downsample)
    mad = build_mad(small, n_voxels=13, latent_shape=latent, text_dim=CLIP_L14_TEXT_HIDDEN).eval()
    with torch.no_grad():
        out = mad(torch.zeros(1, 13), torch.zeros(1, 77, CLIP_L14_TEXT_HIDDEN))
    assert out.shape == (1, cfg.fmri.frames_per_clip, SD15_LATENT_CHANNELS, 28, 28)
    assert mad.config.proj_channels * mad.config.proj_size ** 2 == 64 * 7 * 7
