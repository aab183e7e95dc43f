"""Multi-GPU training through Hugging Face ``accelerate``, and a plain single-process path otherwise.

Run any training stage under ``accelerate launch`` to spread it over the GPUs of a node (or several nodes)::

    accelerate launch --multi_gpu --num_processes 4 -m semvideo train-sad --config config/cc2017.yaml

Without ``accelerate launch`` (the twin, the tests, plain ``python -m semvideo``) :func:`prepare` is a no-op:
the same model, optimizer and batches come back, ``backward`` is ``loss.backward()``, and results are bit for
bit those of code that never heard of this module.

Usage::

    from semvideo.distributed import prepare

    dist = prepare(model, optimizer, loader, scheduler=scheduler)     # → Distributed
    for batch in dist.dataloader:                                     # sharded over processes when launched
        loss = step(dist.model, batch)
        dist.backward(loss)
        dist.clip_grad_norm_(max_norm=1.0)
        dist.optimizer.step(); dist.scheduler.step(); dist.optimizer.zero_grad()
    if dist.is_main_process:
        save(dist.unwrap_model().state_dict())                        # the bare module, without DDP

Stages that train several models and write files between them guard the writes with :func:`is_main_process`
and let the other processes wait with :func:`wait_for_everyone`.

Training loops that slice tensors themselves (as :func:`semvideo.train.fit` does) pass ``dataloader=None`` and
keep their share of each mini-batch with :meth:`Distributed.shard`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["Distributed", "is_main_process", "launched_with_accelerate", "prepare", "start", "wait_for_everyone"]


def launched_with_accelerate() -> bool:
    """True under ``accelerate launch`` (which exports ``ACCELERATE_MIXED_PRECISION``) or a multi-process
    torchrun (``WORLD_SIZE`` > 1)."""
    return "ACCELERATE_MIXED_PRECISION" in os.environ or int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(device: torch.device | str) -> None:
    """Join the launched processes (nothing when single-process) on ``device``'s backend: gloo for the CPU,
    NCCL for CUDA. A stage calls this first, with its resolved device, so that a CPU config trains on the CPU
    even on a GPU machine. On a CPU-only machine, launch several CPU processes with
    ``accelerate launch --multi_gpu --num_processes N`` (accelerate's ``--cpu`` flag alone starts one process
    unless MPI is installed) or with ``torchrun --nproc_per_node N``."""
    _state(cpu=torch.device(device).type == "cpu")


def _state(cpu: bool | None = None):
    """accelerate's process state (initialises the process group once), or None when not launched."""
    if not launched_with_accelerate():
        return None
    from accelerate import PartialState

    if cpu is None:  # not started by a stage: the CPU unless the launch or the machine says otherwise
        cpu = os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true") or not torch.cuda.is_available()
    return PartialState(cpu=cpu)


def is_main_process() -> bool:
    """True in the single process, and in process 0 under ``accelerate launch``: the one that writes files."""
    state = _state()
    return state.is_main_process if state is not None else True


def wait_for_everyone() -> None:
    """A barrier across the launched processes (nothing when single-process): after the main process wrote a
    file that the others read next."""
    state = _state()
    if state is not None:
        state.wait_for_everyone()


@dataclass
class Distributed:
    """What :func:`prepare` returns: the (possibly wrapped) training objects and a few collective helpers."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    dataloader: Any = None
    scheduler: Any = None
    #: ``accelerate.Accelerator``, or None (single process)
    accelerator: Any = field(default=None, repr=False)

    @property
    def num_processes(self) -> int:
        return self.accelerator.num_processes if self.accelerator else 1

    @property
    def process_index(self) -> int:
        return self.accelerator.process_index if self.accelerator else 0

    @property
    def is_main_process(self) -> bool:
        """Only the main process writes checkpoints, predictions and logs."""
        return self.accelerator.is_main_process if self.accelerator else True

    @property
    def device(self) -> torch.device:
        if self.accelerator:
            return self.accelerator.device
        return next(self.model.parameters()).device

    def backward(self, loss: torch.Tensor) -> None:
        """``loss.backward()``, through the accelerator (gradient sync, mixed-precision scaling) if any."""
        if self.accelerator:
            self.accelerator.backward(loss)
        else:
            loss.backward()

    def clip_grad_norm_(self, max_norm: float) -> torch.Tensor:
        if self.accelerator:
            return self.accelerator.clip_grad_norm_(self.model.parameters(), max_norm)
        return torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)

    def shard(self, index: torch.Tensor) -> torch.Tensor:
        """This process's share of a mini-batch's row indices (every ``num_processes``-th row); all rows when
        single-process, so the plain path sees the whole batch."""
        return index[self.process_index::self.num_processes] if self.num_processes > 1 else index

    def unwrap_model(self) -> torch.nn.Module:
        """The bare model (no DDP / compile wrapper), e.g. for ``state_dict`` or ``save_pretrained``."""
        return self.accelerator.unwrap_model(self.model) if self.accelerator else self.model

    def wait_for_everyone(self) -> None:
        if self.accelerator:
            self.accelerator.wait_for_everyone()

    def gather(self, tensor: torch.Tensor) -> torch.Tensor:
        """Concatenate a per-process tensor over processes (identity when single-process)."""
        return self.accelerator.gather(tensor) if self.accelerator else tensor


def prepare(model: torch.nn.Module, optimizer: torch.optim.Optimizer, dataloader: Any = None, *,
            scheduler: Any = None, use_accelerate: bool | None = None, cpu: bool | None = None,
            mixed_precision: str | None = None) -> Distributed:
    """Wrap the training objects with ``accelerate.Accelerator`` when launched with ``accelerate launch``.

    Parameters
    ----------
    model, optimizer, dataloader, scheduler
        The training objects; ``dataloader`` and ``scheduler`` may be None.
    use_accelerate
        None (default) decides from the environment (:func:`launched_with_accelerate`); True forces the
        accelerator even in a single process (used by the tests); False forces the plain path.
    cpu
        Passed to ``Accelerator(cpu=...)``; default: True when the model's parameters are on the CPU (the
        device policy puts them on the configured device first).
    mixed_precision
        "no", "fp16" or "bf16"; default: what ``accelerate launch`` was given (or "no").
    """
    if use_accelerate is None:
        use_accelerate = launched_with_accelerate()
    if not use_accelerate:
        return Distributed(model, optimizer, dataloader, scheduler)
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from accelerate.state import AcceleratorState

    if cpu is None:
        cpu = next(model.parameters()).device.type == "cpu"
    # a batch shard may hold no row of some subject, leaving that subject's input layer without a gradient
    kwargs = {"kwargs_handlers": [DistributedDataParallelKwargs(find_unused_parameters=True)]}
    if cpu:
        kwargs["cpu"] = True
    if mixed_precision is not None:
        kwargs["mixed_precision"] = mixed_precision
    # one Accelerator per call: forget the previous call's settings (mixed precision), keep the process group
    AcceleratorState._reset_state()
    accelerator = Accelerator(**kwargs)
    objects = [model, optimizer] + [obj for obj in (dataloader, scheduler) if obj is not None]
    prepared = list(accelerator.prepare(*objects))
    model, optimizer = prepared[0], prepared[1]
    rest = iter(prepared[2:])
    dataloader = next(rest) if dataloader is not None else None
    scheduler = next(rest) if scheduler is not None else None
    return Distributed(model, optimizer, dataloader, scheduler, accelerator)
