"""Judge classifiers for the semantic metrics: the twin's own image/video judges and the real pretrained ones.

One interface for every judge (see :mod:`semvideo.metrics.semantic`)::

    judge(frames)           -> float32 (B, K) class probabilities
    judge.features(frames)  -> float32 (B, D) embeddings

with ``frames`` uint8 RGB 0–255, ``(B, H, W, 3)`` for an image judge and ``(B, T, H, W, 3)`` for a video judge.

* **Twin** (``eval.image_judge`` unset): :class:`TwinJudge` CNNs trained by the ``train-judges`` stage on the
  twin's *training* clips, labelled from the scene graphs with ≥ 100 fine-grained classes so that 50-way is
  meaningful — image judge: category × colour × background (12 × 8 × 4 = 384 classes, one frame), video
  judge: category × motion (12 × 9 = 108 classes, the clip's frames). Each attribute has its own softmax
  head and the joint class probability is their product, so 384 joint classes are learnt from a few
  thousand clips. Their features serve VIFI (video judge) and CLIP-pcc (image judge).
* **Real**: ImageNet ``ViTForImageClassification`` (image), Kinetics-400 ``VideoMAEForVideoClassification``
  (video) and a ``CLIPModel`` image tower (:class:`ClipEmbedder`: CLIP-pcc, and the VIFI substitute), all
  loaded with ``from_pretrained``.

This module holds the judges, their training and accuracy functions and their loaders (:func:`load_judges`); the
``train-judges`` stage that trains the twin's judges on a run and writes ``judges/`` is
:mod:`semvideo.stages.judges`.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from semvideo.config import Config
from semvideo.data.video import resize_frames
from semvideo.paths import RunPaths
from semvideo.train import fit, one_cycle_schedule

__all__ = [
    "ClipEmbedder",
    "HFClassifierJudge",
    "Judge",
    "Judges",
    "TwinJudge",
    "TwinJudgeRunner",
    "appearance_frame_indices",
    "attribute_accuracy",
    "attribute_marginals",
    "attribute_values",
    "augment",
    "evaluate_judge",
    "judge_attribute_accuracy",
    "judge_labels",
    "load_judges",
    "swap_colours",
    "train_twin_judge",
]

#: ImageNet statistics (VideoMAE's processor) and CLIP's; ViT-ImageNet processors use 0.5 / 0.5.
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)


class TwinJudge(ModelMixin, ConfigMixin):
    """A small CNN classifying T frames (T = 1: image judge) into joint attribute classes.

    The T frames are stacked on the channel axis (early fusion), so motion is visible to the first
    convolution; three stages (a stride-2 then a stride-1 3×3 convolution each, batch norm, ReLU) bring
    ``image_size`` down by 8; a global max over the map (where the object is does not matter, what it is does:
    the earlier flattened map let the judge memorise the training shots instead of learning shapes) feeds
    ``feature_dim`` features, and one linear head per attribute gives its logits. The joint class
    ``(a_1, …, a_m)`` has log-probability ``Σ_j log softmax_j(a_j)``, with classes ordered like
    ``np.ravel_multi_index`` over ``head_sizes``.

    A video judge may add an appearance stream (``appearance_frames`` > 0): a second CNN of the same shape sees
    that many evenly spaced frames one at a time, and its features, averaged over those frames, join the
    early-fusion features before the heads. Early fusion reads motion well but loses an object whose outline
    changes over the clip (rotating, receding); the per-frame stream reads it as the image judge does.

    Parameters
    ----------
    head_names : attribute of each head, e.g. ["category", "colour", "background"]
    class_names : the values of each attribute, in label order
    n_frames : frames per input (1 for an image judge)
    image_size : input side, pixels
    channels : widths of the three conv stages
    feature_dim : features of each stream; :meth:`encode` returns ``feature_dim`` (early fusion alone) or
        ``2 * feature_dim`` (with the appearance stream)
    appearance_frames : frames the per-frame appearance stream sees (0: no such stream; at most n_frames)
    """

    @register_to_config
    def __init__(self, head_names: list[str], class_names: list[list[str]], n_frames: int = 1,
                 image_size: int = 64, channels: tuple[int, int, int] = (16, 32, 64), feature_dim: int = 128,
                 appearance_frames: int = 0):
        super().__init__()
        if len(head_names) != len(class_names):
            raise ValueError(f"{len(head_names)} head names but {len(class_names)} class-name lists")
        if image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8, got {image_size}")
        if not 0 <= appearance_frames <= n_frames:
            raise ValueError(f"appearance_frames must be between 0 and n_frames = {n_frames}, got {appearance_frames}")
        self.backbone, self.project = _conv_stages(3 * n_frames, channels), _max_pooled(channels[-1], feature_dim)
        if appearance_frames:
            self.appearance, self.appearance_project = _conv_stages(3, channels), _max_pooled(channels[-1],
                                                                                              feature_dim)
        width = feature_dim * (2 if appearance_frames else 1)
        self.heads = nn.ModuleList(nn.Linear(width, len(names)) for names in class_names)

    @property
    def kind(self) -> str:
        """``"image"`` for a one-frame judge, ``"video"`` otherwise."""
        return "image" if self.config.n_frames == 1 else "video"

    @property
    def head_sizes(self) -> tuple[int, ...]:
        return tuple(len(names) for names in self.config.class_names)

    @property
    def n_classes(self) -> int:
        return int(np.prod(self.head_sizes))

    def class_labels(self) -> list[str]:
        """Names of the joint classes in output order, e.g. "ball/red/sky"."""
        grids = np.meshgrid(*self.config.class_names, indexing="ij")
        return ["/".join(parts) for parts in zip(*(g.ravel() for g in grids))]

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """pixels float (B, T, 3, S, S) in [-1, 1] → features (B, feature_dim), or (B, 2 · feature_dim) with the
        appearance stream: early-fusion features, then the appearance features averaged over the picked frames."""
        b, t = pixels.shape[:2]
        fused = self.project(self.backbone(pixels.reshape(b, t * 3, *pixels.shape[-2:])))
        k = self.config.appearance_frames
        if not k:
            return fused
        frames = pixels[:, appearance_frame_indices(t, k)].reshape(b * k, *pixels.shape[2:])
        look = self.appearance_project(self.appearance(frames)).reshape(b, k, -1).mean(1)
        return torch.cat([fused, look], dim=1)

    def forward(self, pixels: torch.Tensor) -> list[torch.Tensor]:
        """pixels float (B, T, 3, S, S) in [-1, 1] → per-head logits [(B, n_j)]."""
        features = self.encode(pixels)
        return [head(features) for head in self.heads]

    def joint_log_probs(self, head_logits: list[torch.Tensor]) -> torch.Tensor:
        """Per-head logits → log-probabilities of the joint classes (B, Π n_j), summing to 1 in probability."""
        joint = torch.zeros(head_logits[0].shape[0], *([1] * len(head_logits)), device=head_logits[0].device)
        for j, logits in enumerate(head_logits):
            shape = [logits.shape[0]] + [1] * len(head_logits)
            shape[j + 1] = logits.shape[1]
            joint = joint + F.log_softmax(logits, dim=1).reshape(shape)
        return joint.reshape(joint.shape[0], -1)


def appearance_frame_indices(n_frames: int, k: int) -> list[int]:
    """The k evenly spaced frames of T that a judge's appearance stream sees: first and last included (k ≥ 2)."""
    return np.linspace(0, n_frames - 1, k).round().astype(int).tolist()


def _conv_stages(in_channels: int, channels) -> nn.Sequential:
    """Three stages, each a stride-2 then a stride-1 3×3 convolution with batch norm and ReLU (side / 8)."""
    layers, width = [], in_channels
    for out in channels:
        layers += [nn.Conv2d(width, out, 3, stride=2, padding=1), nn.BatchNorm2d(out), nn.ReLU(),
                   nn.Conv2d(out, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
        width = out
    return nn.Sequential(*layers)


def _max_pooled(width: int, feature_dim: int) -> nn.Sequential:
    """Global max over the map, then a linear layer and ReLU: (B, width, h, w) → (B, feature_dim)."""
    return nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(width, feature_dim), nn.ReLU())


class Judge:
    """uint8 frames → probabilities / features, in batches, without gradients (the common judge interface).

    Subclasses set ``kind`` ("image" or "video") and implement :meth:`_forward`. Frames are resized to
    ``image_size`` × ``image_size`` with OpenCV area interpolation (:func:`semvideo.data.video.resize_frames`, the
    same resize the twin judges are trained with; on square frames the reference processors' resize + centre
    crop is the same geometry) and normalised with ``(x / 255 − mean) / std``.
    """

    kind = "image"

    def __init__(self, image_size: int, mean, std, batch_size: int = 64, device: str = "cpu"):
        self.image_size, self.batch_size, self.device = image_size, batch_size, device
        self.mean = torch.tensor(mean, dtype=torch.float32).reshape(3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).reshape(3, 1, 1)

    def pixel_values(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 (B, [T,] H, W, 3) → float32 (B, [T,] 3, S, S), normalised."""
        frames = np.asarray(frames)
        expected = {"image": (4,), "video": (5,), "any": (4, 5)}[self.kind]
        if frames.ndim not in expected or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            shape = {"image": "(B, H, W, 3)", "video": "(B, T, H, W, 3)", "any": "(B, [T,] H, W, 3)"}[self.kind]
            raise ValueError(f"{type(self).__name__} ({self.kind} judge) expects uint8 frames {shape}, "
                             f"got {frames.dtype} {frames.shape}")
        resized = np.array(resize_frames(frames, self.image_size))  # a copy: memory-mapped input is read-only
        x = torch.from_numpy(resized).float().div(255.0).movedim(-1, -3)  # (B, [T,] 3, S, S)
        return (x - self.mean) / self.std

    @torch.no_grad()
    def _run(self, frames: np.ndarray, want: tuple[int, ...]) -> tuple[np.ndarray, ...]:
        """The outputs ``want`` of :meth:`_forward` (0: probabilities, 1: features), each concatenated over batches."""
        outputs = [[] for _ in want]
        for start in range(0, len(frames), self.batch_size):
            pixels = self.pixel_values(frames[start:start + self.batch_size]).to(self.device)
            result = self._forward(pixels)
            for out, index in zip(outputs, want):
                out.append(result[index].float().cpu())
        return tuple(torch.cat(out).numpy() for out in outputs)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Class probabilities float32 (B, K)."""
        return self._run(frames, (0,))[0]

    def features(self, frames: np.ndarray) -> np.ndarray:
        """Embeddings float32 (B, D)."""
        return self._run(frames, (1,))[0]

    def probabilities_and_features(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both, from one pass over the frames: probabilities float32 (B, K), embeddings float32 (B, D)."""
        return self._run(frames, (0, 1))

    def _forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """pixels → (probabilities (B, K), features (B, D))."""
        raise NotImplementedError


class TwinJudgeRunner(Judge):
    """The judge interface around a trained :class:`TwinJudge` (pixels scaled to [-1, 1])."""

    def __init__(self, model: TwinJudge, batch_size: int = 256, device: str = "cpu"):
        super().__init__(model.config.image_size, (0.5,) * 3, (0.5,) * 3, batch_size, device)
        self.model = model.eval().to(device)
        self.kind = model.kind

    @property
    def class_labels(self) -> list[str]:
        return self.model.class_labels()

    def _forward(self, pixels):
        if self.kind == "image":
            pixels = pixels.unsqueeze(1)  # (B, 1, 3, S, S)
        elif pixels.shape[1] != self.model.config.n_frames:
            raise ValueError(f"the video judge was trained on {self.model.config.n_frames} frames per clip, "
                             f"got {pixels.shape[1]}; evaluate at fmri.frames_per_clip")
        features = self.model.encode(pixels)
        probs = self.model.joint_log_probs([head(features) for head in self.model.heads]).exp()
        return probs, features


class HFClassifierJudge(Judge):
    """A transformers classifier (ViTForImageClassification or VideoMAEForVideoClassification) as a judge.

    Probabilities are the softmax of its logits; features are the input of its ``classifier`` layer (ViT's
    CLS token, VideoMAE's mean-pooled tokens), captured with a forward pre-hook so the model's own forward
    runs unchanged.
    """

    def __init__(self, model, kind: str, mean, std, batch_size: int = 16, device: str = "cpu"):
        super().__init__(model.config.image_size, mean, std, batch_size, device)
        self.model, self.kind = model.eval().to(device), kind
        self._captured: list[torch.Tensor] = []
        model.classifier.register_forward_pre_hook(lambda _module, args: self._captured.append(args[0]))

    @property
    def class_labels(self) -> list[str]:
        return [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]

    def _forward(self, pixels):
        self._captured.clear()
        logits = self.model(pixel_values=pixels).logits
        return logits.softmax(-1), self._captured[-1]


class ClipEmbedder(Judge):
    """CLIP image embeddings (``CLIPModel.get_image_features``): frames (B, H, W, 3) → (B, D); clips
    (B, T, H, W, 3) → the mean of their frame embeddings (B, D), ViFi-CLIP's temporal pooling. Features only."""

    kind = "any"

    def __init__(self, model, mean=CLIP_MEAN, std=CLIP_STD, batch_size: int = 32, device: str = "cpu"):
        super().__init__(model.config.vision_config.image_size, mean, std, batch_size, device)
        self.model = model.eval().to(device)

    def __call__(self, frames):
        raise TypeError("ClipEmbedder gives features only; use .features(frames)")

    def _forward(self, pixels):
        lead = pixels.shape[:-3]
        out = self.model.get_image_features(pixel_values=pixels.reshape(-1, *pixels.shape[-3:]))
        embeds = out if isinstance(out, torch.Tensor) else out.pooler_output
        embeds = embeds.reshape(*lead, -1)
        return None, embeds.mean(dim=1) if embeds.ndim == 3 else embeds


@dataclass
class Judges:
    """The four evaluators of Table 1: N-way-I, N-way-V, VIFI (video features) and CLIP-pcc (image features)."""

    image: Judge
    video: Judge
    vifi: Judge  #: its ``features`` embed clips (B, T, H, W, 3)
    clip: Judge  #: its ``features`` embed frames (B, H, W, 3)


# --------------------------------------------------------------------------------------------- twin training

def attribute_values(cfg: Config, attribute: str) -> list[str]:
    """The twin's values of a scene-graph attribute, in label order (from the ``twin`` config section)."""
    lists = {"category": cfg.twin.categories, "colour": cfg.twin.colours, "background": cfg.twin.backgrounds,
             "motion": cfg.twin.motions, "speed": cfg.twin.speeds}
    if attribute not in lists:
        raise ValueError(f"judge attribute '{attribute}' is not a categorical scene-graph field; use {sorted(lists)}")
    return list(lists[attribute])


def judge_labels(graphs: dict[str, dict], clip_ids, attributes: list[str], values: list[list[str]]) -> np.ndarray:
    """Integer labels int64 (N, n_attributes) of clips from their scene graphs (clip_id → graph)."""
    lookup = [{v: i for i, v in enumerate(vals)} for vals in values]
    labels = np.empty((len(clip_ids), len(attributes)), dtype=np.int64)
    for row, clip_id in enumerate(clip_ids):
        if clip_id not in graphs:
            raise KeyError(f"clip {clip_id} has no scene graph in raw/truth/scene_graphs.jsonl; regenerate the twin")
        for j, attribute in enumerate(attributes):
            labels[row, j] = lookup[j][graphs[clip_id][attribute]]
    return labels


#: attributes whose value does not depend on the colours of the frame: their heads also learn from
#: colour-swapped frames (:func:`swap_colours`), so the shared features cannot read the category off the
#: colour and background a training shot happens to have.
COLOUR_FREE = frozenset({"category", "motion", "speed"})
#: attribute-preserving geometry (:func:`augment`): an image judge may mirror and turn a frame; a video
#: judge may not (a mirror turns "left" into "right", a turn changes every direction).
AUGMENT = {"image": {"shift": 0.1, "zoom": 0.1, "rotate": 30.0, "flip": True},
           "video": {"shift": 0.1, "zoom": 0.1, "rotate": 0.0, "flip": False}}


def train_twin_judge(model: TwinJudge, frames: np.ndarray, labels: np.ndarray, epochs: int, batch_size: int,
                     lr: float, seed: int, augmentation: bool = True, colour_swap: float = 0.5,
                     ckpt_dir: str | Path | None = None) -> list[float]:
    """Train a twin judge with the summed cross-entropy of its heads (:func:`semvideo.train.fit`: AdamW, torch's
    OneCycleLR with its momentum cycle), in place.

    Parameters
    ----------
    frames : uint8 (N, T, H, W, 3) training clips; an image judge (n_frames = 1) learns from one random
        frame of every clip in each batch, a video judge from all T frames
    labels : int64 (N, n_heads) attribute labels
    epochs, batch_size, lr : optimisation settings
    seed : seeds the batch order, the frame picks and the augmentation (seed torch before building the model
        for its weights)
    augmentation : random :data:`AUGMENT` geometry of the judge's kind on every batch
    colour_swap : share of each batch whose colours are swapped (:func:`swap_colours`); on those, only the
        :data:`COLOUR_FREE` heads are trained
    ckpt_dir : per-epoch checkpoints and ``losses.csv`` (a killed run resumes there); None trains in a
        temporary folder

    Returns
    -------
    Mean training loss of each epoch.
    """
    pixels = _pixels_uint8(frames, model.config.image_size)  # (N, T, 3, S, S) uint8, resized once
    step = partial(_judge_step, augmentation=augmentation, colour_swap=colour_swap,
                   free=torch.tensor([name in COLOUR_FREE for name in model.config.head_names]))
    with ExitStack() as stack:
        folder = ckpt_dir if ckpt_dir is not None else stack.enter_context(tempfile.TemporaryDirectory())
        log = fit(model, step, (pixels, torch.from_numpy(labels)), ckpt_dir=folder, epochs=epochs,
                  batch_size=batch_size, lr=lr, schedule=partial(one_cycle_schedule, cycle_momentum=True),
                  seed=seed, weight_decay=1e-4, grad_clip=None, desc=f"{model.kind} judge")
    return log.groupby("epoch")["loss"].mean().round(6).tolist()


def _judge_step(model: TwinJudge, batch: tuple[torch.Tensor, torch.Tensor], generator: torch.Generator,
                augmentation: bool, colour_swap: float, free: torch.Tensor) -> dict[str, torch.Tensor]:
    """One batch of :func:`train_twin_judge`: uint8 clips (B, T, 3, S, S) and labels (B, n_heads) → summed
    cross-entropy of the heads, each averaged over the clips whose labels it may learn from."""
    pixels, targets = batch
    if model.kind == "image":  # one random frame of each clip
        pick = torch.randint(0, pixels.shape[1], (len(pixels),), generator=generator)
        pixels = pixels[torch.arange(len(pixels)), pick].unsqueeze(1)
    x = pixels.float().div(127.5).sub(1.0)
    if augmentation:
        x = augment(x, generator, **AUGMENT[model.kind])
    x, swapped = swap_colours(x, generator, colour_swap)
    weight = (free[None, :] | ~swapped[:, None]).float()  # (B, n_heads): which losses count
    loss = sum((F.cross_entropy(logits, targets[:, j], reduction="none") * weight[:, j]).sum()
               / weight[:, j].sum().clamp(min=1.0) for j, logits in enumerate(model(x)))
    return {"loss": loss}


def swap_colours(x: torch.Tensor, generator: torch.Generator, fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Permute the RGB channels of a random ``fraction`` of clips (and negate half of those), whole clips at once.

    x float (B, T, 3, S, S) in [-1, 1]. Returns the new x and the bool (B,) mask of swapped clips. The
    identity permutation without negation leaves a clip as it was but still counts as swapped.
    """
    b = x.shape[0]
    swapped = torch.rand(b, generator=generator) < fraction
    if not swapped.any():
        return x, swapped
    perm = torch.argsort(torch.rand(b, 3, generator=generator), dim=1)
    sign = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
    index = perm[:, None, :, None, None].expand(-1, x.shape[1], -1, *x.shape[-2:])
    changed = torch.gather(x, 2, index) * sign[:, None, None, None, None]
    return torch.where(swapped[:, None, None, None, None], changed, x), swapped


def augment(x: torch.Tensor, generator: torch.Generator, shift: float, zoom: float, rotate: float,
            flip: bool) -> torch.Tensor:
    """Random similarity transform of each clip (the same for all its frames), border pixels repeated.

    x float (B, T, 3, S, S); shift: largest translation, fraction of the side; zoom: largest relative scale
    change; rotate: largest rotation, degrees; flip: mirror left-right half of the clips.
    """
    b = x.shape[0]
    u = torch.rand(b, 4, generator=generator) * 2 - 1
    scale, angle = 1 + zoom * u[:, 0], torch.deg2rad(rotate * u[:, 1])
    mirror = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0) if flip else torch.ones(b)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = mirror * torch.cos(angle) / scale, -torch.sin(angle) / scale
    theta[:, 1, 0], theta[:, 1, 1] = mirror * torch.sin(angle) / scale, torch.cos(angle) / scale
    theta[:, :, 2] = 2 * shift * u[:, 2:]
    flat = x.reshape(b, -1, *x.shape[-2:])
    grid = F.affine_grid(theta, list(flat.shape), align_corners=False)
    return F.grid_sample(flat, grid, padding_mode="border", align_corners=False).reshape(x.shape)


def _pixels_uint8(frames: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (N, T, H, W, 3) → uint8 tensor (N, T, 3, size, size), area-resized with OpenCV."""
    return torch.from_numpy(np.array(resize_frames(np.asarray(frames), size))).permute(0, 1, 4, 2, 3)


def attribute_marginals(probs: np.ndarray, head_sizes: tuple[int, ...]) -> list[np.ndarray]:
    """Joint-class probabilities (B, Π n_j) → each attribute's marginal (B, n_j): the joint summed over the other
    attributes (for a :class:`TwinJudge`, its own head's probabilities)."""
    probs = np.asarray(probs)
    joint = probs.reshape(len(probs), *head_sizes)
    heads = range(len(head_sizes))
    return [joint.sum(axis=tuple(k + 1 for k in heads if k != j)) for j in heads]


def attribute_accuracy(probs: np.ndarray, labels: np.ndarray, head_sizes: tuple[int, ...]) -> np.ndarray:
    """Accuracy of each attribute from joint-class probabilities (B, Π n_j) and labels int (B, n_heads).

    Each attribute's prediction is the argmax of its marginal (:func:`attribute_marginals`). Returns float (n_heads,).
    """
    probs, labels = np.asarray(probs), np.asarray(labels)
    if probs.shape[1] != int(np.prod(head_sizes)) or labels.shape != (len(probs), len(head_sizes)):
        raise ValueError(f"probabilities {probs.shape} and labels {labels.shape} do not match heads {head_sizes}")
    marginals = attribute_marginals(probs, head_sizes)
    return np.array([(m.argmax(1) == labels[:, j]).mean() for j, m in enumerate(marginals)])


def _judge_inputs(runner: TwinJudgeRunner, frames: np.ndarray, labels: np.ndarray):
    """An image judge sees every frame alone (labelled with its clip's labels); a video judge whole clips."""
    if runner.kind == "image":
        return frames.reshape(-1, *frames.shape[2:]), np.repeat(labels, frames.shape[1], axis=0)
    return frames, labels


def judge_attribute_accuracy(runner: TwinJudgeRunner, frames: np.ndarray, labels: np.ndarray,
                             split: str) -> pd.DataFrame:
    """Per-attribute accuracy of a twin judge on true clips, one tidy row per attribute.

    frames uint8 (N, T, H, W, 3); labels int64 (N, n_heads); an image judge is scored on every frame.
    Columns: judge ("image"/"video"), attribute, split, accuracy, chance (1 / number of values), majority
    (the share of the split's most common value: what always guessing it would score), n (frames or clips).
    """
    frames, labels = _judge_inputs(runner, np.asarray(frames), np.asarray(labels))
    sizes, names = runner.model.head_sizes, runner.model.config.head_names
    accuracy = attribute_accuracy(runner(frames), labels, sizes)
    return pd.DataFrame({"judge": runner.kind, "attribute": list(names), "split": split, "accuracy": accuracy,
                         "chance": [1.0 / k for k in sizes],
                         "majority": [np.bincount(labels[:, j]).max() / len(labels) for j in range(len(sizes))],
                         "n": len(labels)})


def evaluate_judge(runner: TwinJudgeRunner, frames: np.ndarray, labels: np.ndarray) -> dict:
    """Held-out accuracy of a twin judge on true clips.

    frames uint8 (N, T, H, W, 3); labels int64 (N, n_heads). An image judge is scored on every frame.
    Returns joint top-1 and top-3 accuracy, per-attribute accuracy and the joint chance level 1/K.
    """
    model = runner.model
    frames, labels = _judge_inputs(runner, np.asarray(frames), np.asarray(labels))
    probs = runner(frames)
    joint = np.ravel_multi_index(tuple(labels.T), model.head_sizes)
    top3 = np.argsort(-probs, axis=1)[:, :3]
    return {
        "n_classes": model.n_classes,
        "n_samples": len(probs),
        "top1": float((top3[:, 0] == joint).mean()),
        "top3": float((top3 == joint[:, None]).any(axis=1).mean()),
        "chance": 1.0 / model.n_classes,
        "per_attribute": dict(zip(model.config.head_names,
                                  attribute_accuracy(probs, labels, model.head_sizes).tolist())),
    }


def load_judges(cfg: Config) -> Judges:
    """The judges of a run: the twin's trained ones (``judges/``) or the real pretrained ones (hub ids)."""
    if cfg.world == "twin" and not cfg.eval.image_judge:
        root = RunPaths.from_config(cfg).judges
        runners = {}
        for kind in ("image", "video"):
            if not (root / kind / "config.json").exists():
                raise FileNotFoundError(f"{root / kind}: no trained judge; run `python -m semvideo train-judges "
                                        "--config ...` first")
            runners[kind] = TwinJudgeRunner(TwinJudge.from_pretrained(root / kind), device=cfg.device)
        return Judges(image=runners["image"], video=runners["video"], vifi=runners["video"], clip=runners["image"])
    missing = [k for k in ("image_judge", "video_judge", "clip_model") if not getattr(cfg.eval, k)]
    if missing:
        raise ValueError(f"world '{cfg.world}' needs pretrained judges: set eval.{', eval.'.join(missing)} "
                         "(hub ids or local folders) in the config")
    clip = load_clip_embedder(cfg.eval.clip_model, cfg.device)
    return Judges(image=load_vit_judge(cfg.eval.image_judge, cfg.device),
                  video=load_videomae_judge(cfg.eval.video_judge, cfg.fmri.frames_per_clip, cfg.device),
                  vifi=clip, clip=clip)


def load_vit_judge(model_id: str, device: str = "cpu") -> HFClassifierJudge:
    """ImageNet ViT image judge (e.g. ``google/vit-base-patch16-224``, MinD-Video's choice)."""
    from transformers import ViTForImageClassification

    mean, std = _normalisation(model_id, (0.5,) * 3, (0.5,) * 3)
    return HFClassifierJudge(ViTForImageClassification.from_pretrained(model_id), "image", mean, std, device=device)


def load_videomae_judge(model_id: str, n_frames: int, device: str = "cpu") -> HFClassifierJudge:
    """Kinetics-400 VideoMAE video judge (e.g. ``MCG-NJU/videomae-base-finetuned-kinetics``).

    As in MinD-Video's ``video_classify_metric``, the model is loaded with ``num_frames`` set to the clip's
    frame count (6) instead of its 16: VideoMAE's position embeddings are fixed sinusoids, so the pretrained
    weights apply to any even frame count.
    """
    from transformers import VideoMAEForVideoClassification

    mean, std = _normalisation(model_id, IMAGENET_MEAN, IMAGENET_STD)
    model = VideoMAEForVideoClassification.from_pretrained(model_id, num_frames=n_frames)
    return HFClassifierJudge(model, "video", mean, std, device=device)


def load_clip_embedder(model_id: str, device: str = "cpu") -> ClipEmbedder:
    """CLIP image tower (e.g. ``openai/clip-vit-base-patch32`` for CLIP-pcc, as Mind-Animator uses)."""
    from transformers import CLIPModel

    mean, std = _normalisation(model_id, CLIP_MEAN, CLIP_STD)
    return ClipEmbedder(CLIPModel.from_pretrained(model_id), mean, std, device=device)


def _normalisation(model_id: str, mean, std) -> tuple[tuple, tuple]:
    """image_mean / image_std from the model's ``preprocessor_config.json`` when it has one, else the defaults."""
    from transformers.utils import cached_file

    path = cached_file(model_id, "preprocessor_config.json", _raise_exceptions_for_missing_entries=False)
    if path is None:
        return mean, std
    config = json.loads(Path(path).read_text())
    return tuple(config.get("image_mean", mean)), tuple(config.get("image_std", std))
