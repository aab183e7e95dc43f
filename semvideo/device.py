"""One device and precision policy for every stage (DESIGN §7, "One device policy").

Every compute stage asks this module where to run and in which precision, from two config keys:

* ``device`` — ``cpu``, ``cuda``, ``cuda:<index>`` or ``mps``. A config that names an accelerator torch cannot
  see stops the stage with one line (:class:`DeviceError`); nothing silently computes on the CPU instead.
  Under ``accelerate launch`` with several processes, ``cuda`` means this process's GPU (``LOCAL_RANK``).
* ``dtype`` — ``float32``, ``float16`` or ``bfloat16``: the precision of *inference* with pretrained weights
  (VAE, T2I/T2V UNets, SparseCtrl, the captioner; ``semminer.dtype`` overrides it for the captioner, whose
  Qwen2.5-VL weights are bfloat16 and overflow in float16), and the *mixed precision* of training through
  ``accelerate`` (float16 → ``fp16``, bfloat16 → ``bf16``; the weights and the optimiser stay float32).

SAD and MAD, trained here, predict in float32 on the device (their outputs are regression targets that feed
retrieval and the render). Random generators stay on the CPU and the drawn noise is moved to the device: a
seed then gives the same noise on any device (the diffusers convention), and CPU runs stay bit-for-bit
repeatable.

Usage::

    from semvideo.device import resolve_device, resolve_dtype, place

    device = resolve_device(cfg)                  # torch.device, or DeviceError in one line
    vae = place(load_vae(cfg), cfg)               # on the device, in cfg.dtype
    fit(model, step, data, **training_kwargs(cfg), ...)   # device + mixed precision for semvideo.train.fit
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from semvideo.io import InputError

__all__ = [
    "DTYPES",
    "MIXED_PRECISION",
    "DeviceError",
    "device_record",
    "mixed_precision",
    "peak_memory",
    "place",
    "resolve_device",
    "resolve_dtype",
    "training_kwargs",
]

#: config ``dtype`` → torch dtype
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
#: config ``dtype`` → ``accelerate`` mixed-precision mode for training
MIXED_PRECISION = {"float32": "no", "float16": "fp16", "bfloat16": "bf16"}

_DEVICE = re.compile(r"^(cpu|cuda|mps)(?::(\d+))?$")


class DeviceError(InputError):
    """The config asks for a device or precision this machine cannot give (one line: what and the fix)."""


def _name(cfg_or_device) -> str:
    return str(getattr(cfg_or_device, "device", cfg_or_device))


def resolve_device(cfg_or_device) -> torch.device:
    """``cfg.device`` (or a device string) as a ``torch.device`` this machine has.

    Raises
    ------
    DeviceError
        When the name is not a device, or names CUDA / MPS (or a GPU index) that torch does not see.
    """
    name = _name(cfg_or_device).strip()
    match = _DEVICE.match(name)
    if match is None:
        raise DeviceError(f"device '{name}' is not a device; set device to cpu, cuda, cuda:<index> or mps in "
                          "the config")
    kind, index = match.group(1), match.group(2)
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"the config says device: {name} but torch {torch.__version__} sees no CUDA device "
                              "(CPU-only build or no GPU); run on a GPU machine with a CUDA build of torch, or "
                              "set device: cpu")
        if index is None:
            index = os.environ.get("LOCAL_RANK") if _launched_multi() else None
        if index is not None and int(index) >= torch.cuda.device_count():
            raise DeviceError(f"the config says device: {name} but only {torch.cuda.device_count()} CUDA "
                              f"device(s) are visible; use an index below {torch.cuda.device_count()}")
        return torch.device("cuda", int(index)) if index is not None else torch.device("cuda")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"the config says device: {name} but torch sees no MPS device; set device: cpu")
    return torch.device(name)


def resolve_dtype(cfg, override: str | None = None) -> torch.dtype:
    """Inference precision: ``override`` (a section's own ``dtype``, e.g. ``semminer.dtype``) or ``cfg.dtype``."""
    name = override or cfg.dtype
    if name not in DTYPES:
        raise DeviceError(f"dtype '{name}' is not one of {sorted(DTYPES)}; fix dtype in the config")
    return DTYPES[name]


def mixed_precision(cfg) -> str:
    """``accelerate``'s mixed-precision mode for training: "no", "fp16" or "bf16" from ``cfg.dtype``.

    float16 autocast needs a GPU; on the CPU it stops with one line (bfloat16 works there).
    """
    resolve_dtype(cfg)  # validates the name
    mode = MIXED_PRECISION[cfg.dtype]
    if mode == "fp16" and resolve_device(cfg).type == "cpu":
        raise DeviceError("dtype: float16 trains with fp16 mixed precision, which needs a CUDA device; on the CPU "
                          "set dtype: bfloat16 or float32")
    return mode


def training_kwargs(cfg) -> dict:
    """``device`` and ``mixed_precision`` keyword arguments of :func:`semvideo.train.fit` from the config."""
    return {"device": resolve_device(cfg), "mixed_precision": mixed_precision(cfg)}


def place(module: torch.nn.Module, cfg, dtype: torch.dtype | None = None) -> torch.nn.Module:
    """``module`` moved to the config's device and cast to ``dtype`` (default: the config's inference dtype).

    Works for ``torch.nn.Module`` and diffusers / transformers models and pipelines (anything with ``.to``).
    """
    return module.to(resolve_device(cfg), dtype or resolve_dtype(cfg))


@contextmanager
def peak_memory(device: torch.device, record: dict) -> Iterator[dict]:
    """Measure a block: ``record`` gets ``device``, ``seconds`` and, on CUDA, ``peak_cuda_mb`` (peak memory
    allocated by torch during the block, ``torch.cuda.max_memory_allocated``)."""
    device = torch.device(device)
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    try:
        yield record
    finally:
        if cuda:
            torch.cuda.synchronize(device)
            record["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        record["device"] = str(device)
        record["seconds"] = round(time.perf_counter() - start, 2)


def device_record(device: torch.device) -> dict:
    """``{"device", "peak_cuda_mb"}``: the device and, on CUDA, the peak memory torch allocated in this process
    so far (a stage is one process, so at its end this is the stage's peak)."""
    device = torch.device(device)
    record = {"device": str(device)}
    if device.type == "cuda":
        record["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return record


def _launched_multi() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1
