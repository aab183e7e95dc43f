"""One small training loop shared by SAD, MAD and the priors: AdamW, an LR schedule, seeded shuffling,
atomic per-epoch checkpoints, bit-identical resume on CPU, a tqdm bar and a loss CSV.

Usage::

    from semvideo.train import fit, cosine_schedule

    def step(model, batch, generator):          # batch: the tuple of tensors, sliced to one mini-batch
        x, y = batch
        loss = ((model(x) - y) ** 2).mean()
        return {"loss": loss}                    # "loss" is back-propagated; other keys are only logged

    log = fit(model, step, (x_train, y_train), ckpt_dir=run / "ckpt", epochs=20, batch_size=64, lr=1e-4,
              schedule=cosine_schedule, seed=0)  # → DataFrame, one row per optimiser step

A killed run restarts from the newest checkpoint in ``ckpt_dir`` and ends with the same weights, bit for bit,
as an uninterrupted one (CPU): each epoch's shuffle and its random generator are derived from
``(seed, epoch)`` alone, and the checkpoint holds model, optimiser, scheduler and the global torch RNG
state. Calling ``fit`` again after the last epoch only reloads the final weights. The loss log is written
to ``ckpt_dir/losses.csv`` after every epoch.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from semvideo.distributed import is_main_process, prepare
from semvideo.io import atomic_path

__all__ = [
    "Schedule",
    "StepFn",
    "constant_schedule",
    "cosine_schedule",
    "file_stats",
    "fit",
    "keyed_checkpoint_dir",
    "latest_checkpoint",
    "one_cycle_schedule",
]

#: ``step(model, batch, generator) -> {"loss": scalar tensor, other named scalars...}``
StepFn = Callable[[torch.nn.Module, tuple, torch.Generator], Mapping[str, torch.Tensor]]
#: ``schedule(optimizer, total_steps) -> torch LR scheduler``, stepped once per optimiser step
Schedule = Callable[[torch.optim.Optimizer, int], torch.optim.lr_scheduler.LRScheduler]


def cosine_schedule(optimizer: torch.optim.Optimizer, total: int) -> torch.optim.lr_scheduler.LRScheduler:
    """Cosine annealing from the optimiser's LR to 0 over ``total`` steps (SAD, appendix C.1): torch's
    ``CosineAnnealingLR``."""
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total, 1))


def one_cycle_schedule(optimizer: torch.optim.Optimizer, total: int,
                       cycle_momentum: bool = False) -> torch.optim.lr_scheduler.LRScheduler:
    """OneCycle (Smith & Topin; MAD, appendix C.1): torch's ``OneCycleLR`` with its defaults (cosine warm-up from
    LR/25 for 30 % of the steps, cosine decay to LR/25e4), peaking at the optimiser's LR; ``cycle_momentum``
    also cycles AdamW's β₁ between 0.85 and 0.95 (torch's default; off unless asked)."""
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[g["lr"] for g in optimizer.param_groups],
                                               total_steps=max(total, 1), cycle_momentum=cycle_momentum)


def constant_schedule(optimizer: torch.optim.Optimizer, total: int) -> torch.optim.lr_scheduler.LRScheduler:
    """A constant learning rate (torch's ``ConstantLR`` with factor 1)."""
    return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)


def keyed_checkpoint_dir(root: str | Path, name: str, *parts) -> Path:
    """``root/{name}-{key}``, the key a hash of ``parts`` (JSON-able settings, fingerprints, file stats): a killed
    run resumes only from checkpoints of the same inputs. Folders of other keys for ``name`` are stale and are
    removed (by the main process)."""
    key = hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:10]
    if is_main_process():
        for old in Path(root).glob(f"{name}-*"):
            if old.name != f"{name}-{key}":
                shutil.rmtree(old)
    return Path(root) / f"{name}-{key}"


def file_stats(*files: Path) -> list[tuple[str, int, int]]:
    """(path, size, mtime ns) of each file: a cheap fingerprint of inputs for :func:`keyed_checkpoint_dir`."""
    return [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files]


def latest_checkpoint(ckpt_dir: str | Path) -> Path | None:
    """The newest ``epoch_NNNN.pt`` in ``ckpt_dir``, or None."""
    found = sorted(Path(ckpt_dir).glob("epoch_*.pt"))
    return found[-1] if found else None


def fit(
    model: torch.nn.Module,
    step: StepFn,
    data: Sequence[torch.Tensor | np.ndarray],
    *,
    ckpt_dir: str | Path,
    epochs: int,
    batch_size: int,
    lr: float,
    schedule: Schedule = cosine_schedule,
    seed: int = 0,
    weight_decay: float = 0.01,
    grad_clip: float | None = 1.0,
    desc: str = "train",
    device: torch.device | str | None = None,
    mixed_precision: str = "no",
) -> pd.DataFrame:
    """Train ``model`` in place with AdamW; checkpoint after every epoch; resume from ``ckpt_dir``. Returns one
    row per optimiser step: ``epoch, step, lr`` and every scalar ``step`` returned.

    * ``step(model, batch, generator)`` returns a mapping with a scalar ``"loss"`` and any other scalars to log;
      ``batch`` is one mini-batch slice of each array of ``data`` (arrays or tensors sharing their first
      dimension N); ``generator`` (CPU) is for the step's own randomness, so that resuming reproduces the run.
    * ``ckpt_dir`` keeps the newest ``epoch_NNNN.pt`` and ``losses.csv``; a checkpoint of another run (other N,
      epochs, batch size, LR or seed) raises ValueError: delete the folder to start over.
    * ``batch_size``: the last, smaller batch of an epoch is kept; ``schedule(optimizer, total)``: a torch LR scheduler
      (:func:`cosine_schedule`, :func:`one_cycle_schedule`, :func:`constant_schedule`); ``seed``: the shuffle,
      the step generators and, at the first epoch, the global torch RNG; ``grad_clip``: max gradient norm.
    * ``device`` (None keeps the model where it is; under ``accelerate launch`` the process's GPU wins) and
      ``mixed_precision`` ("no", "fp16", "bf16", through ``accelerate``; weights and optimiser stay float32), as
      :func:`semvideo.device.training_kwargs` gives them. Several processes wrap the model in DDP; ``step``
      still receives the bare model.
    """
    tensors = _as_tensors(data)
    if device is not None:
        model.to(device)  # before the optimiser is built, so that its state lives beside the weights
    n = len(tensors[0])
    total = epochs * (steps_per_epoch := math.ceil(n / batch_size))
    signature = {"n": n, "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed}
    optimizer = _adamw(model, lr, weight_decay)
    scheduler = schedule(optimizer, total)
    start, rows = _resume(Path(ckpt_dir), signature, model, optimizer, scheduler)  # or seeds a fresh run
    dist = _distributed(model, step, optimizer, mixed_precision)
    _announce(dist, desc, start, epochs)
    model.train()
    with tqdm(total=total, initial=start * steps_per_epoch, desc=desc, leave=False,
              disable=not dist.is_main_process) as bar:
        for epoch in range(start, epochs):
            generator = torch.Generator().manual_seed(_epoch_seed(seed, epoch))
            for batch in torch.randperm(n, generator=generator).split(batch_size):
                rows.append({"epoch": epoch, "step": len(rows)} | _train_step(dist, tensors, batch, generator,
                                                                              grad_clip, scheduler))
                bar.set_postfix(epoch=epoch, loss=f"{rows[-1]['loss']:.4f}", refresh=False)
                bar.update()
            dist.wait_for_everyone()
            if dist.is_main_process:
                _checkpoint(Path(ckpt_dir), epoch, signature, model, optimizer, scheduler, rows)
    dist.wait_for_everyone()  # no process reads the checkpoint or the saved model before the main one wrote it
    model.eval()
    return pd.DataFrame(rows)


def _adamw(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW, fused (one kernel over all parameters) where torch has one for the parameters' device: on 2 CPU
    cores the per-parameter update costs a SAD step 10–25 ms of its ≈ 95 ms, the fused one 3 ms."""
    devices = {p.device.type for p in model.parameters()}
    fused = devices <= {"cpu", "cuda"} and all(p.is_floating_point() for p in model.parameters())
    return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, fused=fused or None)


def _distributed(model: torch.nn.Module, step: StepFn, optimizer, mixed_precision: str):
    """The training step wrapped for this process: under ``accelerate launch`` (or with mixed precision) inside
    an Accelerator — the wrapper (:class:`_Stepper`, then DDP for several processes) calls ``step`` on the bare
    model and each process takes its share of every batch; otherwise the plain single-process path."""
    use_accelerate = True if mixed_precision != "no" else None
    return prepare(_Stepper(model, step), optimizer, use_accelerate=use_accelerate,
                   mixed_precision=None if mixed_precision == "no" else mixed_precision)


def _announce(dist, desc: str, start: int, epochs: int) -> None:
    """One line per process when several train or a run resumes: who trains what, where, from which epoch."""
    if dist.num_processes > 1 or start > 0:
        span = f"resumes at epoch {start} of {epochs}" if start else f"epochs 0–{epochs - 1}"
        print(f"fit {desc}: process {dist.process_index + 1}/{dist.num_processes} on {dist.device}, {span}",
              file=sys.stderr, flush=True)


def _train_step(dist, tensors: tuple[torch.Tensor, ...], rows: torch.Tensor, generator: torch.Generator,
                grad_clip: float | None, scheduler) -> dict[str, float]:
    """One optimiser step on the data ``rows`` (this process's shard of them); returns its log row (lr and
    every scalar of the step, before the LR moves on)."""
    index = dist.shard(rows)
    batch = tuple(t[index].to(dist.device) for t in tensors)
    losses = dist.model(batch, generator)
    dist.optimizer.zero_grad(set_to_none=True)
    dist.backward(losses["loss"])
    if grad_clip is not None:
        dist.clip_grad_norm_(grad_clip)
    row = {"lr": scheduler.get_last_lr()[0], **{k: float(v.detach()) for k, v in losses.items()}}
    dist.optimizer.step()
    scheduler.step()
    return row


class _Stepper(torch.nn.Module):
    """The training step as a module's forward, so that DDP / autocast wrappers see the whole step while
    ``step`` itself gets the bare model (with its own methods such as SAD's ``project`` or ``refiner``)."""

    def __init__(self, model: torch.nn.Module, step: StepFn):
        super().__init__()
        self.model, self.step = model, step

    def forward(self, batch: tuple, generator: torch.Generator) -> Mapping[str, torch.Tensor]:
        return self.step(self.model, batch, generator)


def _as_tensors(data: Sequence[torch.Tensor | np.ndarray]) -> tuple[torch.Tensor, ...]:
    tensors = tuple(d if isinstance(d, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(d))
                    for d in data)
    lengths = {len(t) for t in tensors}
    if len(lengths) != 1:
        raise ValueError(f"fit: data arrays have different lengths {sorted(lengths)}; "
                         "pass arrays aligned by row")
    return tensors


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) % (2**63)


def _checkpoint(ckpt_dir: Path, epoch: int, signature: dict, model, optimizer, scheduler, rows: list) -> None:
    """Write ``epoch_NNNN.pt`` atomically, then ``losses.csv``; remove older checkpoints."""
    state = {"epoch": epoch, "signature": signature, "model": model.state_dict(),
             "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "torch_rng": torch.get_rng_state(), "rows": rows}
    path = ckpt_dir / f"epoch_{epoch:04d}.pt"
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    with atomic_path(ckpt_dir / "losses.csv") as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    for old in ckpt_dir.glob("epoch_*.pt"):
        if old != path:
            old.unlink(missing_ok=True)


def _resume(ckpt_dir: Path, signature: dict, model, optimizer, scheduler) -> tuple[int, list]:
    """Load the newest checkpoint; returns (first epoch to run, loss rows so far). Without one, seed the global
    torch RNG with the run's seed (dropout, initialisation in ``step``) and start at epoch 0."""
    path = latest_checkpoint(ckpt_dir)
    if path is None:
        torch.manual_seed(signature["seed"])
        return 0, []
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state["signature"] != signature:
        raise ValueError(f"{path}: checkpoint of a different run ({state['signature']} vs {signature}); "
                         f"delete {ckpt_dir} to train from scratch")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    return state["epoch"] + 1, list(state["rows"])
