"""GPU smoke check: the real configs' code paths on tiny random-config models of the real architectures.

``python -m semvideo.gpu_smoke --device cuda --out /tmp/smoke`` (what ``scripts/gpu_smoke.sh`` runs):

1. builds and saves tiny random-config models of the real architectures (:func:`build_models`): an SD-style
   pipeline folder (``AutoencoderKL`` with SD's ÷8, ``UNet2DConditionModel`` with 768-d cross-attention, DDIM
   scheduler), an AnimateDiff ``MotionAdapter``, a SparseCtrl ``SparseControlNetModel``, a CLIP text encoder
   (768-d) + tokenizer, a tiny Qwen2.5-VL captioner given clips as video (a tiny LLaVA where torchvision, the
   ``[gpu]`` extra, is missing), and ViT / VideoMAE / CLIP judges;
2. writes a copy of ``config/cc2017.yaml`` (:func:`smoke_config`) with every model source pointed at them, the
   real configs' device and precision (``dtype`` float16 on CUDA; bfloat16 on the CPU, where float16 training is
   refused) and the paper's stage settings, on a tiny twin written in the CC2017 layout (``world: twin``: the
   twin's raw files go through the same CC2017 readers, but at twin sizes, since the real layout's 23 eight-minute
   segments are not tiny);
3. runs every stage in order, in this process, as ``python -m semvideo <stage>`` would (:func:`run_stages`),
   and records per stage the device, the seconds and (CUDA) the peak memory torch allocated, in
   ``<out>/results/gpu_smoke/gpu_smoke.json`` and a printed table;
4. checks (:func:`check`) that every compute stage ran on the requested device: on CUDA, a stage whose peak
   CUDA memory is zero computed on the CPU, and the check fails naming it.

The test suite runs the same function on the CPU (tests/test_gpu_smoke.py), so the check cannot rot.
It does not run Snakemake: the stages are the rules' commands, called directly so that each one's peak CUDA
memory can be measured around it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
import yaml

from semvideo.__main__ import COMMANDS, apply_torch_threads
from semvideo.config import load_config
from semvideo.device import DeviceError, peak_memory, resolve_device
from semvideo.models.priors import make_scheduler
from semvideo.semminer.backends.qwen import video_support

__all__ = ["COMPUTE_STAGES", "STAGES", "build_models", "check", "main", "run_stages", "save_tiny_judges", "save_tiny_llava",
           "save_tiny_qwen", "smoke_config"]

ROOT = Path(__file__).resolve().parents[1]
#: the pipeline's stages in order (``python -m semvideo`` commands)
STAGES = ("generate-twin", "prepare", "caption", "embed", "train-sad", "train-mad", "render", "train-judges",
          "evaluate")
#: the stages that compute with models and so must use the configured device
COMPUTE_STAGES = ("caption", "embed", "train-sad", "train-mad", "render", "evaluate")
TEXT_DIM = 768  #: CLIP ViT-L/14's width, SD 1.5's cross-attention dimension
FRAME = 32  #: frame side of the tiny twin; SD's VAE ÷8 gives 4 × 4 latents
WORDS = ("a", "the", "red", "green", "blue", "yellow", "white", "purple", "orange", "cyan", "star", "ball",
         "box", "ring", "cross", "heart", "moon", "arrow", "bar", "sky", "grass", "sand", "night", "moves",
         "left", "right", "up", "down", "rises", "sinks", "spins", "bounces", "stays", "still", "slowly",
         "quickly", "over", "against", "in", "front", "of", "frame", "clip", "video", "object", "shape")


def build_models(folder: Path) -> dict[str, str]:
    """Save tiny random-config models of the real architectures under ``folder``; returns their paths."""
    torch.manual_seed(0)
    folder = Path(folder)
    paths = {"sd": folder / "sd", "adapter": folder / "adapter", "sparsectrl": folder / "sparsectrl",
             "clip_text": folder / "clip_text", "vlm": folder / "vlm", "vit": folder / "vit",
             "videomae": folder / "videomae", "clip": folder / "clip"}
    _save_sd(paths["sd"], paths["adapter"], paths["sparsectrl"])
    _save_clip_text(paths["clip_text"])

    if video_support() is None:  # the real configs' captioner: Qwen2.5-VL, the clip as a video
        save_tiny_qwen(paths["vlm"])
    else:  # no torchvision (the CPU set-up): a LLaVA captioner, frames as images
        save_tiny_llava(paths["vlm"])
    save_tiny_judges(paths["vit"], paths["videomae"], paths["clip"])
    return {k: str(v) for k, v in paths.items()}


def _save_sd(sd: Path, adapter: Path, sparsectrl: Path) -> None:
    from diffusers import AutoencoderKL, MotionAdapter, SparseControlNetModel, UNet2DConditionModel


    blocks = (16, 32)
    AutoencoderKL(down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                  block_out_channels=(8, 8, 16, 16), layers_per_block=1, latent_channels=4, norm_num_groups=8,
                  sample_size=FRAME).save_pretrained(sd / "vae")
    UNet2DConditionModel(sample_size=FRAME // 8, block_out_channels=blocks, layers_per_block=1,
                         down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                         up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=TEXT_DIM,
                         attention_head_dim=4, norm_num_groups=8).save_pretrained(sd / "unet")
    make_scheduler().save_pretrained(sd / "scheduler")
    MotionAdapter(block_out_channels=blocks, motion_layers_per_block=1, motion_num_attention_heads=2,
                  motion_norm_num_groups=8, motion_max_seq_length=16).save_pretrained(adapter)
    SparseControlNetModel(block_out_channels=blocks, down_block_types=("CrossAttnDownBlockMotion", "DownBlockMotion"),
                          layers_per_block=1, norm_num_groups=8, cross_attention_dim=TEXT_DIM, attention_head_dim=4,
                          conditioning_embedding_out_channels=(8, 16), motion_num_attention_heads=2,
                          motion_max_seq_length=16).save_pretrained(sparsectrl)


def _save_clip_text(folder: Path) -> None:
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, **{f"{w}</w>": i + 2 for i, w in enumerate(WORDS)}}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt")).save_pretrained(folder)
    CLIPTextModelWithProjection(CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=TEXT_DIM, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
        projection_dim=16, max_position_embeddings=77, bos_token_id=0, eos_token_id=1, pad_token_id=1,
    )).save_pretrained(folder)


def _byte_bpe(special: list[str]):
    """A byte-level BPE tokenizer trained here on :data:`WORDS`; ``special[3:]`` become additional special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer, bpe.decoder = pre_tokenizers.ByteLevel(add_prefix_space=False), decoders.ByteLevel()
    bpe.train_from_iterator([" ".join(WORDS)], trainers.BpeTrainer(
        vocab_size=300, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   additional_special_tokens=special[3:])


def save_tiny_qwen(folder: Path) -> str:
    """A tiny random Qwen2.5-VL (1-layer ViT with 2-frame temporal patches, 1-layer M-RoPE LM) with its own
    processor (image, video and a chat template writing Qwen's vision tokens); needs torchvision."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    tokenizer = _byte_bpe(["<pad>", "<s>", "</s>", "<|image_pad|>", "<|video_pad|>", "<|vision_start|>",
                           "<|vision_end|>"])
    pixels = {"min_pixels": 28 * 28, "max_pixels": 56 * 56}
    template = ("{% for m in messages %}<|{{ m['role'] }}|>{% for c in m['content'] %}{% if c['type'] == 'image' %}"
                "<|vision_start|><|image_pad|><|vision_end|>{% elif c['type'] == 'video' %}<|vision_start|>"
                "<|video_pad|><|vision_end|>{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endfor %}"
                "{% if add_generation_prompt %}<|assistant|>{% endif %}")
    Qwen2_5_VLProcessor(image_processor=Qwen2VLImageProcessorPil(**pixels), tokenizer=tokenizer,
                        video_processor=Qwen2VLVideoProcessor(**pixels), chat_template=template).save_pretrained(folder)
    ids = {name: tokenizer.convert_tokens_to_ids(token) for name, token in (
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>"))}
    Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                     "num_attention_heads": 2, "num_key_value_heads": 1,
                     "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
                     "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0},
        vision_config={"depth": 1, "hidden_size": 16, "intermediate_size": 32, "num_heads": 2, "out_hidden_size": 32,
                       "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 56,
                       "fullatt_block_indexes": [0]},
        **ids)).save_pretrained(folder)
    return str(folder)


def save_tiny_llava(folder: Path) -> str:
    """A tiny LLaVA (CLIP vision tower + Llama) with a chat template: the ``llava`` captioner's architecture.

    Qwen2-VL's video processor needs torchvision, which the CPU environment does not install; the ``hf`` backend
    runs the same code for both (AutoProcessor + AutoModelForImageTextToText). Returns the folder as a string."""
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    tokenizer = _byte_bpe(["<pad>", "<s>", "</s>", "<image>"])
    template = ("{% for m in messages %}{{ m['role'] }}: {% for c in m['content'] %}{% if c['type'] == 'image' %}"
                "<image>{% else %}{{ c['text'] }}{% endif %}{% endfor %} {% endfor %}"
                "{% if add_generation_prompt %}assistant: {% endif %}")
    images = CLIPImageProcessorPil(size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28})
    LlavaProcessor(image_processor=images, tokenizer=tokenizer, chat_template=template, patch_size=14,
                   vision_feature_select_strategy="default", num_additional_image_tokens=1).save_pretrained(folder)
    LlavaForConditionalGeneration(LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                       num_attention_heads=2, image_size=28, patch_size=14),
        text_config=LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                num_attention_heads=2, num_key_value_heads=1, bos_token_id=1, eos_token_id=2,
                                pad_token_id=0),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"), vision_feature_select_strategy="default",
    )).save_pretrained(folder)
    return str(folder)


def save_tiny_judges(vit: Path, videomae: Path, clip: Path) -> None:
    """Tiny random ViT (60 labels), VideoMAE (16 frames, 60 labels) and CLIP: the real judges' architectures."""
    from transformers import (
        CLIPConfig,
        CLIPModel,
        VideoMAEConfig,
        VideoMAEForVideoClassification,
        ViTConfig,
        ViTForImageClassification,
    )

    small = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32}
    ViTForImageClassification(ViTConfig(image_size=16, patch_size=8, num_labels=60, **small)).save_pretrained(vit)
    VideoMAEForVideoClassification(VideoMAEConfig(image_size=16, patch_size=8, num_frames=16, tubelet_size=2,
                                                  num_labels=60, **small)).save_pretrained(videomae)
    CLIPModel(CLIPConfig(text_config=dict(vocab_size=99, max_position_embeddings=16, **small),
                         vision_config=dict(image_size=16, patch_size=8, **small), projection_dim=8)
              ).save_pretrained(clip)


def smoke_config(out: Path, models: dict[str, str], device: str) -> Path:
    """A copy of ``config/cc2017.yaml`` pointed at ``models`` and a tiny CC2017-layout twin; returns its path."""
    raw = yaml.safe_load((ROOT / "config" / "cc2017.yaml").read_text())
    dtype = raw["dtype"] if torch.device(device).type == "cuda" else "bfloat16"
    raw.update(name="gpu_smoke", world="twin", device=device, dtype=dtype, subjects=["subject1"],
               paths={"results": str(Path(out) / "results"), "figures": str(Path(out) / "figures")},
               twin={"frame_size": FRAME, "segment_seconds": 32, "n_train_segments": 4, "n_test_segments": 1,
                     "n_subjects": 1, "train_repeats": 2, "test_repeats": 3, "visual_fraction": 0.06,
                     "vertex_fraction": 0.004, "noise_sd": 0.3})
    raw["fmri"].update(frame_size=FRAME, exclude_runs=[])
    vlm = json.loads((Path(models["vlm"]) / "config.json").read_text())["model_type"]
    raw["semminer"].update(backend="qwen2.5-vl" if vlm == "qwen2_5_vl" else "llava", model_id=models["vlm"], baseline_model_id=None, captioners=[],
                           max_new_tokens=4, batch_size=16, n_frames=2)
    raw["embed"]["model_id"] = models["clip_text"]
    raw["sad"].update(hidden_dim=16, prior_layers=1, prior_heads=1, prior_head_dim=8, prior_timesteps=10,
                      prior_sample_steps=2, pretrain_epochs=1, finetune_epochs=1, batch_size=64)
    raw["mad"].update(hidden_dim=16, mlp_dim=16, proj_channels=4, proj_size=2, block_channels=[8, 8, 8],
                      head_dim=8, norm_groups=4, epochs=1, batch_size=32)
    raw["priors"].update(vae=models["sd"], t2i=models["sd"], motion_adapter=models["adapter"],
                         sparsectrl=models["sparsectrl"])
    raw["cvr"].update(num_inference_steps=2, batch_size=8)
    raw["eval"] = {**raw["eval"], "image_judge": models["vit"], "video_judge": models["videomae"],
                   "clip_model": models["clip"], "n_trials": 5, "n_bootstrap": 5, "n_permutations": 5,
                   "convention_clips": 1}
    path = Path(out) / "gpu_smoke.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def run_stages(config_file: Path, stages: tuple[str, ...] = STAGES) -> dict[str, dict]:
    """Run ``stages`` in order, each as ``python -m semvideo <stage>`` does; per stage: device, seconds and
    (CUDA) peak memory. Writes ``<results>/gpu_smoke.json``."""

    cfg = load_config(config_file)
    apply_torch_threads(cfg)
    device = resolve_device(cfg)
    report = {}
    for stage in stages:
        module, function = COMMANDS[stage].split(":")
        record = {"stage": stage}
        with peak_memory(device, record):
            getattr(importlib.import_module(module), function)(cfg)
        report[stage] = record
        print(f"{stage:<13} {record['device']:<8} {record['seconds']:>7.1f} s  "
              f"peak CUDA {record.get('peak_cuda_mb', 0):>8.1f} MB", file=sys.stderr, flush=True)
    out = cfg.results_dir / "gpu_smoke.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return report


def check(report: dict[str, dict], device: str) -> None:
    """Every compute stage ran on ``device``: on CUDA each allocated CUDA memory (else it computed on the CPU)."""
    wanted = torch.device(device).type
    for stage in COMPUTE_STAGES:
        record = report[stage]
        if torch.device(record["device"]).type != wanted:
            raise AssertionError(f"{stage} ran on {record['device']}, not {device}")
        if wanted == "cuda" and not record.get("peak_cuda_mb", 0) > 0:
            raise AssertionError(f"{stage} allocated no CUDA memory: it computed on the CPU")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m semvideo.gpu_smoke", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", required=True, help="working folder (models, config, results)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    try:
        resolve_device(args.device)  # no GPU: one line, before any work
    except DeviceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    config_file = smoke_config(out, build_models(out / "models"), args.device)
    report = run_stages(config_file)
    check(report, args.device)
    total = sum(r["seconds"] for r in report.values())
    print(f"gpu smoke: every compute stage ran on {args.device}; {total:.0f} s in all; "
          f"{np.max([r.get('peak_cuda_mb', 0) for r in report.values()]):.1f} MB peak CUDA memory", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
