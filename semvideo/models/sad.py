"""Semantic Alignment Decoder (SAD, paper §3.2 and appendix C.1): fMRI → per-token caption embeddings Ẑ(C_L).

One SAD per semantic level L ∈ {anchor, motion, holi}::

    X  (B, V_s)  ──subject-specific Linear + LayerNorm──▶  X' (B, D_l)            f_SAD^θm
       ──MixCo (training only, eq. 14)──▶  4-layer GELU MLP {D_l, D_l, D_l, 77·D}  f_SAD^MLP  → (B, 77, D)
       ──Refineformer: causal transformer diffusion prior, DDIM-sampled──▶ Ẑ(C_L) (B, 77, D)  f_SAD^Refine

Training minimises eq. 7, L = L_MSE + λ_SoftCLIP·L_SoftCLIP + λ_refine·L_refine, first over all subjects
together (one input layer per subject, shared MLP and Refineformer), then per subject from those weights.
Eq. 4 writes Ẑ(C_L) where the target Z(C_L) is meant; the losses here compare with the true target.

Two weightings are in the paper: §4 (λ_SoftCLIP = 0.1, λ_refine = 0.5) and appendix C.1 (λ_prior = 0.1,
λ_SoftCLIP = 0.5). ``section4`` is the default: it is the main text's implementation paragraph, the one that
the reported results cite; ``appendix_c`` is selectable in the config.
"""

from __future__ import annotations

import hashlib
import json
import resource
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, DDIMScheduler, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from semvideo.config import LEVELS, Config
from semvideo.data.prepared import PreparedData
from semvideo.device import peak_memory, resolve_device, training_kwargs
from semvideo.distributed import is_main_process, wait_for_everyone
from semvideo.distributed import start as start_processes
from semvideo.io import read_json, save_npy, write_json
from semvideo.paths import RunPaths
from semvideo.retrieval import chance_level, topk_accuracy
from semvideo.train import cosine_schedule, fit

__all__ = [
    "LOSS_WEIGHTS",
    "Refineformer",
    "SemanticAlignmentDecoder",
    "loss_logs",
    "mixco",
    "mse_loss",
    "predict",
    "refine_loss",
    "retrieval_table",
    "run_sad",
    "sad_step",
    "soft_clip_loss",
    "train_sad",
]

#: (λ_SoftCLIP, λ_refine) of eq. 7 as given in paper §4 and in appendix C.1.
LOSS_WEIGHTS = {"section4": (0.1, 0.5), "appendix_c": (0.5, 0.1)}


# ---------------------------------------------------------------------------------------------- losses


def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 4: mean squared error between the MLP output f_SAD^MLP(X') and the target Z(C_L).

    Parameters
    ----------
    pred, target
        float (B, 77, D) embeddings.

    Returns
    -------
    torch.Tensor
        Scalar, mean over all B·77·D entries.
    """
    return F.mse_loss(pred, target)


def soft_clip_loss(pred: torch.Tensor, target: torch.Tensor, tau: float,
                   candidates: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. 5, SoftCLIP: cross-entropy of prediction–candidate similarities against soft labels.

    The soft label of sample i over the batch's candidates j is softmax_j(Z_i·Z_j / τ) (target–target
    similarity) and the prediction's distribution is softmax_j(Ẑ_i·Z_j / τ); the loss is their cross-entropy,
    averaged over i. Embeddings are flattened and L2-normalised, so the dot products are cosines. With
    orthogonal targets and a small τ the labels are one-hot and this is the CLIP (InfoNCE) loss.

    Parameters
    ----------
    pred
        float (B, ...) predictions f_SAD^MLP(X').
    target
        float (B, ...) each sample's target Z(C_L^i) (under MixCo: its mixed target).
    tau
        Temperature τ > 0.
    candidates
        float (B, ...) the batch's targets Z(C_L^j); defaults to ``target``.

    Returns
    -------
    torch.Tensor
        Scalar loss (nats).
    """
    candidates = target if candidates is None else candidates
    pred, target, candidates = (F.normalize(t.flatten(1), dim=1) for t in (pred, target, candidates))
    labels = torch.softmax(target @ candidates.T / tau, dim=1)
    return -(labels * torch.log_softmax(pred @ candidates.T / tau, dim=1)).sum(dim=1).mean()


def refine_loss(model: SemanticAlignmentDecoder, cond: torch.Tensor, target: torch.Tensor,
                generator: torch.Generator) -> torch.Tensor:
    """Eq. 6: the Refineformer, given the target noised to a random timestep t ~ U[0, T) and the MLP output,
    predicts the clean target; mean squared error of that prediction.

    Parameters
    ----------
    model
        The SAD (its Refineformer and noise schedule are used).
    cond
        float (B, 77, D) MLP output f_SAD^MLP(X') (gradients flow into the MLP, as in eq. 7).
    target
        float (B, 77, D) clean target Z(C_L).
    generator
        CPU generator for t and the noise.

    Returns
    -------
    torch.Tensor
        Scalar, mean over B·77·D entries, in the target's units.
    """
    scale = model.config.target_scale
    t = torch.randint(0, model.scheduler.config.num_train_timesteps, (len(target),), generator=generator)
    noise = torch.randn(target.shape, generator=generator).to(target.device)
    noised = model.scheduler.add_noise(target / scale, noise, t)
    return F.mse_loss(model.refiner(noised, t.to(target.device), cond / scale) * scale, target)


def mixco(x: torch.Tensor, generator: torch.Generator, alpha: float = 0.15
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 14, MixCo: x_mix_i = λ_i·x'_i + (1 − λ_i)·x'_perm(i), λ_i ~ Beta(α, α), perm a random permutation.

    Parameters
    ----------
    x
        float (B, D_l) subject-projected latents X'.
    generator
        CPU generator for the permutation and the mixing weights.
    alpha
        Beta concentration (the paper's 0.15: most λ near 0 or 1).

    Returns
    -------
    mixed : (B, D_l)
    perm : int64 (B,) partner of each sample
    lam : float (B, 1) mixing weight of each sample's own latent; mix targets the same way.
    """
    perm = torch.randperm(len(x), generator=generator)
    # Beta(α, α) from two Gammas, so that the draw goes through ``generator``
    g1 = torch._standard_gamma(torch.full((len(x),), alpha), generator=generator)
    g2 = torch._standard_gamma(torch.full((len(x),), alpha), generator=generator)
    lam = (g1 / (g1 + g2).clamp_min(1e-12)).unsqueeze(1).to(x)
    return lam * x + (1 - lam) * x[perm.to(x.device)], perm, lam


# ---------------------------------------------------------------------------------------------- model


class Refineformer(nn.Module):
    """f_SAD^Refine: a causal transformer that denoises a noised target given the MLP output.

    The sequence is [77 condition tokens (MLP output), 1 timestep token, 77 noised-target tokens] with learned
    positions and a causal mask (DALL·E-2-style prior); the last 77 outputs are a correction added to the
    condition, which gives the predicted clean target. The correction's output layer starts at zero, so an
    untrained Refineformer returns the MLP output and training only has to learn what to refine.
    """

    def __init__(self, n_tokens: int, embed_dim: int, layers: int, heads: int, head_dim: int, timesteps: int):
        super().__init__()
        width = heads * head_dim
        self.n_tokens = n_tokens
        self.cond_in = nn.Linear(embed_dim, width)
        self.noised_in = nn.Linear(embed_dim, width)
        self.time_embed = nn.Embedding(timesteps, width)
        self.positions = nn.Parameter(torch.zeros(1, 2 * n_tokens + 1, width))
        layer = nn.TransformerEncoderLayer(width, heads, dim_feedforward=4 * width, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, embed_dim))
        nn.init.zeros_(self.out[1].weight)
        nn.init.zeros_(self.out[1].bias)
        mask = torch.triu(torch.full((2 * n_tokens + 1,) * 2, float("-inf")), diagonal=1)
        self.register_buffer("causal_mask", mask, persistent=False)

    def forward(self, noised: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """noised, cond: (B, 77, D) in units of the target scale; t: int (B,) → predicted clean (B, 77, D)."""
        tokens = torch.cat([self.cond_in(cond), self.time_embed(t)[:, None], self.noised_in(noised)], dim=1)
        # (B, 2·77 + 1, W)
        hidden = self.transformer(tokens + self.positions, mask=self.causal_mask, is_causal=True)
        return cond + self.out(hidden[:, -self.n_tokens:])  # (B, 77, D)


class SemanticAlignmentDecoder(ModelMixin, ConfigMixin):
    """SAD for one semantic level (paper §3.2, appendix C.1.1).

    Parameters
    ----------
    subjects, n_voxels
        Subject names and their voxel counts V_s (one input layer f_SAD^θm each).
    hidden_dim
        D_l (4096 in the paper).
    n_tokens, embed_dim
        Target shape 77 × D (D = 768 for CLIP ViT-L/14, 384 for the twin's MiniLM).
    dropout
        After each hidden MLP layer.
    prior_layers, prior_heads, prior_head_dim, prior_timesteps
        Refineformer size (paper: 4 layers, 8 heads × 64) and its diffusion steps T.
    target_scale
        Standard deviation of the training targets; the diffusion prior works on targets divided by it.
    """

    @register_to_config
    def __init__(self, subjects: list[str], n_voxels: list[int], hidden_dim: int = 256, n_tokens: int = 77,
                 embed_dim: int = 384, dropout: float = 0.15, prior_layers: int = 2, prior_heads: int = 4,
                 prior_head_dim: int = 32, prior_timesteps: int = 100, target_scale: float = 1.0):
        super().__init__()
        if len(subjects) != len(n_voxels):
            raise ValueError(f"SAD: {len(subjects)} subjects but {len(n_voxels)} voxel counts")
        self.projector = nn.ModuleDict({s: nn.Linear(v, hidden_dim) for s, v in zip(subjects, n_voxels)})
        self.norm = nn.LayerNorm(hidden_dim)
        blocks = [nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.LayerNorm(hidden_dim), nn.GELU(),
                                nn.Dropout(dropout)) for _ in range(3)]
        self.mlp = nn.Sequential(*blocks, nn.Linear(hidden_dim, n_tokens * embed_dim))
        self.refiner = Refineformer(n_tokens, embed_dim, prior_layers, prior_heads, prior_head_dim,
                                    prior_timesteps)
        self.scheduler = DDIMScheduler(num_train_timesteps=prior_timesteps, beta_schedule="squaredcos_cap_v2",
                                       prediction_type="sample", clip_sample=False)

    def project(self, bold: torch.Tensor, subject: torch.Tensor) -> torch.Tensor:
        """X' = LayerNorm(f_SAD^θm(X)) for a batch that may mix subjects.

        Parameters
        ----------
        bold
            float (B, V_max) z-scored BOLD, each row zero-padded beyond its subject's V_s.
        subject
            int (B,) index into ``config.subjects``.

        Returns
        -------
        torch.Tensor
            float (B, D_l).
        """
        out = bold.new_zeros(len(bold), self.config.hidden_dim)
        for index, (name, n_vox) in enumerate(zip(self.config.subjects, self.config.n_voxels)):
            rows = subject == index
            if rows.any():
                out[rows] = self.projector[name](bold[rows, :n_vox]).to(out.dtype)  # bf16/fp16 under autocast
        return self.norm(out)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """f_SAD^MLP: (B, D_l) → (B, 77, D)."""
        return self.mlp(latent).view(len(latent), self.config.n_tokens, self.config.embed_dim)

    def forward(self, bold: torch.Tensor, subject: torch.Tensor) -> torch.Tensor:
        """MLP prediction f_SAD^MLP(f_SAD^θm(X)): (B, V_max), int (B,) → (B, 77, D)."""
        return self.decode(self.project(bold, subject))

    @torch.no_grad()
    def refine(self, cond: torch.Tensor, num_inference_steps: int,
               generator: torch.Generator) -> torch.Tensor:
        """Ẑ(C_L): run the Refineformer's DDIM sampler (η = 0) from noise, conditioned on the MLP output.

        Parameters
        ----------
        cond
            float (B, 77, D) MLP output.
        num_inference_steps
            DDIM steps (≤ T).
        generator
            CPU generator for the starting noise.

        Returns
        -------
        torch.Tensor
            float (B, 77, D), in the target's units.
        """
        scale = self.config.target_scale
        scheduler = DDIMScheduler.from_config(self.scheduler.config)
        scheduler.set_timesteps(num_inference_steps)
        # 1. start from pure noise in the prior's (scaled) space
        sample = torch.randn(cond.shape, generator=generator).to(cond)
        for t in scheduler.timesteps:
            # 2. predict the clean target at this noise level
            clean = self.refiner(sample, t.expand(len(cond)).to(cond.device), cond / scale)
            # 3. DDIM step towards the next, less noisy timestep
            sample = scheduler.step(clean, t, sample, eta=0.0).prev_sample
        return sample * scale


# ---------------------------------------------------------------------------------------------- training


def sad_step(model: SemanticAlignmentDecoder, batch: tuple, generator: torch.Generator, *,
             targets: torch.Tensor, weights: tuple[float, float], tau: float, alpha: float) -> dict:
    """One SAD training step (eq. 7) for :func:`semvideo.train.fit`.

    ``batch`` = (bold (B, V_max) float, subject (B,) int, clip (B,) int row into ``targets`` (N, 77, D)), on
    the training device; ``targets`` may stay on the CPU (the batch's rows are moved to the device).
    MixCo mixes the projected latents X'; MSE, SoftCLIP and refine see the same convex mix of the targets.
    """
    bold, subject, clip = batch
    latent, perm, lam = mixco(model.project(bold, subject), generator, alpha)
    target = targets[clip.to(targets.device)].to(latent.device)
    perm = perm.to(latent.device)
    mixed = lam[:, :, None] * target + (1 - lam[:, :, None]) * target[perm]
    pred = model.decode(latent)
    losses = {"mse": mse_loss(pred, mixed), "softclip": soft_clip_loss(pred, mixed, tau, candidates=target),
              "refine": refine_loss(model, pred, mixed, generator)}
    losses["loss"] = losses["mse"] + weights[0] * losses["softclip"] + weights[1] * losses["refine"]
    return losses


def train_sad(model: SemanticAlignmentDecoder, cfg: Config, bold: list[np.ndarray], subjects: list[str],
              targets: np.ndarray, ckpt_dir: Path, epochs: int, desc: str) -> pd.DataFrame:
    """Train ``model`` on the listed subjects' clips together (eq. 7, AdamW, cosine LR).

    Parameters
    ----------
    bold
        One float32 (N, V_s) array per subject in ``subjects``; rows aligned with ``targets``.
    targets
        float32 (N, 77, D) true embeddings Z(C_L) of the training clips.

    Returns
    -------
    pandas.DataFrame
        The loss log of :func:`semvideo.train.fit`.
    """
    v_max = max(model.config.n_voxels)
    padded = np.concatenate([np.pad(b, ((0, 0), (0, v_max - b.shape[1]))) for b in bold]).astype(np.float32)
    subject = np.concatenate([np.full(len(b), model.config.subjects.index(s))
                              for b, s in zip(bold, subjects)])
    clip = np.concatenate([np.arange(len(b)) for b in bold])
    sad = cfg.sad

    def step(m, batch, generator):
        return sad_step(m, batch, generator, targets=torch.from_numpy(targets), tau=sad.temperature,
                        weights=LOSS_WEIGHTS[sad.loss_weights], alpha=sad.mixco_alpha)

    return fit(model, step, (padded, subject, clip), ckpt_dir=ckpt_dir, epochs=epochs,
               batch_size=sad.batch_size, lr=sad.lr, schedule=cosine_schedule, seed=cfg.seed, desc=desc,
               **training_kwargs(cfg))


def predict(model: SemanticAlignmentDecoder, bold: np.ndarray, subject: str, steps: int, seed: int,
            batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """MLP-only and refined predictions for one subject's clips, computed in float32 on the model's device.

    Parameters
    ----------
    bold
        float32 (N, V_s).

    Returns
    -------
    mlp, refined
        float32 (N, 77, D) each.
    """
    model.eval()
    device = model.device
    v_max = max(model.config.n_voxels)
    x = torch.from_numpy(np.pad(np.asarray(bold, np.float32), ((0, 0), (0, v_max - bold.shape[1]))))
    index = torch.full((len(x),), model.config.subjects.index(subject))
    generator = torch.Generator().manual_seed(seed)  # CPU: the same starting noise on any device
    mlp, refined = [], []
    with torch.no_grad():
        for first in range(0, len(x), batch_size):
            cond = model(x[first:first + batch_size].to(device), index[first:first + batch_size].to(device))
            mlp.append(cond.float().cpu().numpy())
            refined.append(model.refine(cond, steps, generator).float().cpu().numpy())
    return np.concatenate(mlp), np.concatenate(refined)


# ---------------------------------------------------------------------------------------------- stage


def _new_model(cfg: Config, subjects: list[str], n_voxels: list[int],
               targets: np.ndarray) -> SemanticAlignmentDecoder:
    torch.manual_seed(cfg.seed)
    s = cfg.sad
    return SemanticAlignmentDecoder(
        subjects=subjects, n_voxels=n_voxels, hidden_dim=s.hidden_dim, n_tokens=targets.shape[1],
        embed_dim=targets.shape[2], dropout=s.dropout, prior_layers=s.prior_layers, prior_heads=s.prior_heads,
        prior_head_dim=s.prior_head_dim, prior_timesteps=s.prior_timesteps, target_scale=float(targets.std()))


def _trained(folder: Path, make, train, device: torch.device) -> SemanticAlignmentDecoder:
    """Load ``folder`` if this run saved it already; otherwise ``make()`` a model, ``train`` it and save it
    (atomically: a killed run never leaves a half-written folder; only the main process writes, the others
    wait for it). The model comes back on ``device``."""
    if (folder / "config.json").exists():
        return SemanticAlignmentDecoder.from_pretrained(folder).to(device)
    model = make()
    train(model)
    if is_main_process():
        tmp = folder.with_name(f".{folder.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp)
        tmp.replace(folder)
    wait_for_everyone()
    return model.to(device)


def _load_inputs(cfg: Config, level: str):
    paths, data = RunPaths.from_config(cfg), PreparedData.from_config(cfg)
    files = {split: paths.embeddings / f"{level}_{split}.npy" for split in ("train", "test")}
    for f in files.values():
        if not f.exists():
            raise FileNotFoundError(f"{f}: no text targets; run `python -m semvideo embed --config ...` "
                                    "first")
    targets = {split: np.load(f) for split, f in files.items()}
    bold = {s: {split: np.asarray(data.bold(s, split)) for split in ("train", "test")} for s in cfg.subjects}
    for s in cfg.subjects:
        for split in ("train", "test"):
            if len(bold[s][split]) != len(targets[split]):
                raise ValueError(f"{files[split]}: {len(targets[split])} rows but {s}'s bold_{split}.npy has "
                                 f"{len(bold[s][split])}; rerun `embed` after `prepare`")
    return targets, bold


def _train_level(cfg: Config, level: str, variant: str, targets: dict, bold: dict) -> dict:
    """Train one level's SADs and predict the test clips; returns their retrieval accuracies.

    ``variant`` = ``pretrain`` (one model on all subjects, then a fine-tune per subject, saved as
    ``sad/{level}/`` and ``sad/{level}_{subject}/``) or ``single`` (one model per subject from scratch, for
    pretrain + finetune epochs, saved as ``sad/{level}_{subject}_single/``).
    """
    root, sad, device = RunPaths.from_config(cfg).sad, cfg.sad, resolve_device(cfg)
    main = is_main_process()

    def train(subjects: list[str], name: str, epochs: int):
        return lambda model: train_sad(model, cfg, [bold[s]["train"] for s in subjects], subjects,
                                       targets["train"], root / "ckpt" / level / name, epochs,
                                       f"SAD {level}/{name}")

    def new(subjects: list[str]):
        n_voxels = [bold[s]["train"].shape[1] for s in subjects]
        return lambda: _new_model(cfg, subjects, n_voxels, targets["train"])

    if variant == "pretrain":
        _trained(root / level, new(cfg.subjects), train(cfg.subjects, "pretrain", sad.pretrain_epochs), device)
    out, suffix = {}, "" if variant == "pretrain" else "_single"
    for s in cfg.subjects:
        folder = root / f"{level}_{s}{suffix}"
        if variant == "pretrain":
            model = _trained(folder, lambda: SemanticAlignmentDecoder.from_pretrained(root / level),
                             train([s], folder.name, sad.finetune_epochs), device)
        else:
            epochs = sad.pretrain_epochs + sad.finetune_epochs
            model = _trained(folder, new([s]), train([s], folder.name, epochs), device)
        if not main:  # the main process predicts and writes; the others go on to the next training
            continue
        mlp, refined = predict(model, bold[s]["test"], s, sad.prior_sample_steps, cfg.seed)
        for kind, pred in (("mlp", mlp), ("refined", refined)):
            save_npy(root / "pred" / f"{s}_{level}_{kind}{suffix}.npy", pred.astype(np.float32))
            acc = topk_accuracy(pred, targets["test"], ks=(1, 5))
            out[f"{s}/{level}/{kind}/{variant}"] = {"top1": acc[1], "top5": acc[5]}
        if level == "motion" and variant == "pretrain" and cfg.mad.semantic_source == "predicted":
            # MAD trains on decoded rather than true Z(C_motion): predict the training clips too
            _, refined_train = predict(model, bold[s]["train"], s, sad.prior_sample_steps, cfg.seed)
            save_npy(root / "pred" / f"{s}_{level}_refined_train.npy", refined_train.astype(np.float32))
    if main:
        for f in (root / "ckpt" / level).rglob("epoch_*.pt"):  # the saved models supersede the checkpoints
            f.unlink()
    wait_for_everyone()
    return out


def _fingerprint(cfg: Config) -> dict:
    """What the saved models depend on: the SAD config, seed, subjects, this code, and the input files."""
    paths, here = RunPaths.from_config(cfg), Path(__file__).resolve()
    inputs = [paths.embeddings / f"{level}_{split}.npy" for level in (*LEVELS, *cfg.sad.baseline_levels)
              for split in ("train", "test")]
    inputs += [paths.data / s / f"bold_{split}.npy" for s in cfg.subjects for split in ("train", "test")]
    code = b"".join(f.read_bytes() for f in (here, here.parents[1] / "train.py"))
    return {"sad": cfg.sad.model_dump(), "mad_semantic_source": cfg.mad.semantic_source, "seed": cfg.seed,
            "subjects": cfg.subjects,
            "code_sha256": hashlib.sha256(code).hexdigest(),
            "inputs": {str(f): [f.stat().st_size, f.stat().st_mtime_ns] for f in inputs if f.exists()}}


def _start_or_resume(cfg: Config) -> None:
    """Keep a previous run's models and checkpoints only if they were made from the same config, code and
    inputs (a killed run resumes); otherwise clear ``sad/`` so that nothing stale is reused."""
    root, fingerprint = RunPaths.from_config(cfg).sad, _fingerprint(cfg)
    marker = root / "fingerprint.json"
    if is_main_process() and not (marker.exists() and read_json(marker) == json.loads(json.dumps(fingerprint))):
        shutil.rmtree(root, ignore_errors=True)
        write_json(marker, fingerprint)
    wait_for_everyone()


def run_sad(cfg: Config) -> None:
    """Stage ``train-sad``: train the SADs of every level (and of ``sad.baseline_levels``, e.g. the
    single-caption baseline's ``blip``), predict Ẑ(C_L) for the test clips, summarise.

    Writes ``sad/{level}/`` (pre-trained), ``sad/{level}_{subject}/`` (fine-tuned) and, for
    ``sad.single_subject_levels``, ``sad/{level}_{subject}_single/`` (no pre-training); predictions
    ``sad/pred/{subject}_{level}_{mlp|refined}[_single].npy`` float32 (N_test, 77, D) (with
    ``mad.semantic_source: predicted`` also ``{subject}_motion_refined_train.npy`` for the training clips); loss logs
    ``sad/ckpt/<model>/losses.csv``; and ``sad/pred/done.json`` with top-1/top-5 retrieval, chance levels,
    training time and peak memory. A killed run resumes from its last epoch checkpoint (and reuses finished
    models); a change of the SAD config, seed, subjects, code or inputs starts over.
    """
    device = resolve_device(cfg)  # a config that names a missing GPU stops here, in one line
    start_processes(device)  # under `accelerate launch`: join the other processes on this device's backend
    _start_or_resume(cfg)
    start, summary, usage = time.perf_counter(), {}, {"mixed_precision": training_kwargs(cfg)["mixed_precision"]}
    n_test = None
    with peak_memory(device, usage):
        for level in (*LEVELS, *cfg.sad.baseline_levels):
            targets, bold = _load_inputs(cfg, level)
            n_test = len(targets["test"])
            summary.update(_train_level(cfg, level, "pretrain", targets, bold))
            if level in cfg.sad.single_subject_levels:
                summary.update(_train_level(cfg, level, "single", targets, bold))
    if not is_main_process():
        return
    write_json(RunPaths.from_config(cfg).sad / "pred" / "done.json", {
        "retrieval": summary, "n_test": n_test,
        "chance": {"top1": chance_level(n_test, 1), "top5": chance_level(n_test, 5)},
        "seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "device": usage, "loss_weights": cfg.sad.loss_weights,
        "lambda_softclip_refine": LOSS_WEIGHTS[cfg.sad.loss_weights]})


# ---------------------------------------------------------------------------------------------- results


def loss_logs(cfg: Config) -> pd.DataFrame:
    """Every SAD training log of a run, stacked: columns ``model`` (e.g. ``anchor/pretrain``,
    ``anchor/anchor_subject1``), ``epoch, step, lr, loss, mse, softclip, refine``."""
    root = RunPaths.from_config(cfg).sad / "ckpt"
    files = sorted(root.glob("*/*/losses.csv"))
    if not files:
        raise FileNotFoundError(f"{root}: no SAD loss logs; run `python -m semvideo train-sad --config ...` "
                                "first")
    return pd.concat([pd.read_csv(f).assign(model=f"{f.parent.parent.name}/{f.parent.name}") for f in files],
                     ignore_index=True)


def retrieval_table(cfg: Config, ks: tuple[int, ...] = (1, 5)) -> pd.DataFrame:
    """Top-k retrieval of every saved prediction among all test clips' true embeddings.

    Returns
    -------
    pandas.DataFrame
        One row per (subject, level, output ∈ {mlp, refined}, training ∈ {pretrain+finetune, single-subject})
        with ``top1, top5`` (fractions) and ``chance1, chance5``.
    """
    paths = RunPaths.from_config(cfg)
    rows = []
    for level in LEVELS:
        true = np.load(paths.embeddings / f"{level}_test.npy")
        for subject in cfg.subjects:
            for suffix, training in (("", "pretrain+finetune"), ("_single", "single-subject")):
                for kind in ("mlp", "refined"):
                    path = paths.sad / "pred" / f"{subject}_{level}_{kind}{suffix}.npy"
                    if not path.exists():
                        continue
                    acc = topk_accuracy(np.load(path), true, ks)
                    rows.append({"subject": subject, "level": level, "output": kind, "training": training,
                                 **{f"top{k}": acc[k] for k in ks},
                                 **{f"chance{k}": chance_level(len(true), k) for k in ks}})
    return pd.DataFrame(rows)
