"""Command line: ``python -m semvideo <command> --config default`` (a config file, or a shipped config's name).

Each command runs one compute stage of the pipeline (the Snakemake rules call these); every stage is a
function ``stage(cfg: Config) -> None`` that writes its artefacts under ``results/<name>/`` atomically. The
command also records the stage's device, seconds and, on CUDA, peak GPU memory in
``results/<name>/benchmarks/<command>_device.json`` (beside Snakemake's per-rule benchmark files), so every run of
the workflow on a GPU measures what each stage needs. That record, with the digest of the config it ran with, also
marks the stage finished: with ``--upstream`` a command first runs the stages before it that have no record for
the same config (how a notebook opened outside Snakemake, e.g. on Colab, builds what it reads:
``python -m semvideo render --upstream``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import signal
import sys
from pathlib import Path

from semvideo.config import Config, ConfigError, check_model_sources, load_config
from semvideo.io import InputError, write_json

#: command → "module:function"; modules are imported only when their command runs.
COMMANDS = {
    "generate-twin": "semvideo.data.synthetic:generate_twin",
    "check-data": "semvideo.data.check:check_data",
    "prepare": "semvideo.data.prepare:prepare_dataset",
    "caption": "semvideo.semminer:run_semminer",
    "embed": "semvideo.embed:embed_captions",
    "train-sad": "semvideo.stages.sad:run_sad",
    "train-priors": "semvideo.stages.priors:run_priors",
    "train-mad": "semvideo.stages.mad:run_mad",
    "render": "semvideo.stages.render:run_render",
    "train-judges": "semvideo.stages.judges:run_judges",
    "evaluate": "semvideo.stages.evaluate:run_evaluation",
}

#: The workflow's stages in the order its rules run them (``check-data`` is a standalone check).
PIPELINE = ("generate-twin", "prepare", "caption", "embed", "train-sad", "train-priors", "train-mad", "render",
            "train-judges", "evaluate")

#: command → the config sections whose model sources (hub ids / local folders) it loads
MODEL_SECTIONS = {
    "caption": ("semminer",),
    "embed": ("embed",),
    "train-priors": ("priors", "embed"),
    "train-mad": ("priors",),
    "render": ("priors", "embed"),
    "train-judges": ("eval",),
    "evaluate": ("eval",),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m semvideo", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--config", default="default",
                        help="YAML config file, or the name of a shipped one (default: %(default)s)")
    parser.add_argument("--upstream", action="store_true",
                        help="also run the stages before this one, in workflow order, skipping every stage that "
                             "has already finished for this config (a notebook's set-up outside Snakemake)")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    apply_torch_threads(cfg)
    exit_on_sigterm()
    for command in stages_to_run(cfg, args.command) if args.upstream else [args.command]:
        if code := run_stage(cfg, command, args.config):
            return code
    return 0


def stages_to_run(cfg: Config, command: str) -> list[str]:
    """``command`` and the workflow stages before it that have not finished with this config (no
    ``benchmarks/<stage>_device.json`` record under the run folder, or one made with other settings: like
    Snakemake, which reruns every rule when the config file changes); the twin's generator only in the twin
    world."""
    if command not in PIPELINE:
        return [command]
    chain = PIPELINE[:PIPELINE.index(command) + 1]
    return [c for c in chain if not (c == "generate-twin" and cfg.world != "twin") and not _finished(cfg, c)]


def config_digest(cfg: Config) -> str:
    """A short digest of every setting of ``cfg`` (written into each stage's record)."""
    return hashlib.sha1(cfg.model_dump_json().encode()).hexdigest()[:12]


def _finished(cfg: Config, command: str) -> bool:
    record = _record(cfg, command)
    return record.exists() and json.loads(record.read_text()).get("config") == config_digest(cfg)


def run_stage(cfg: Config, command: str, config_path: str) -> int:
    """Run one stage and write its record (device, seconds, peak GPU memory); 2 on a bad input or config."""
    try:
        check_model_sources(cfg, MODEL_SECTIONS.get(command, ()), config_path)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from semvideo.device import (  # torch, loaded when a stage runs (not by notebooks)
        peak_memory,
        resolve_device,
    )

    module_name, function_name = COMMANDS[command].split(":")
    stage = getattr(importlib.import_module(module_name), function_name)
    record = {"command": command, "config": config_digest(cfg)}
    try:
        with peak_memory(resolve_device(cfg), record):
            stage(cfg)
    except InputError as err:  # bad or missing input (or device): one line naming the file and the fix
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_json(_record(cfg, command), record)
    return 0


def _record(cfg: Config, command: str) -> Path:
    return cfg.results_dir / "benchmarks" / f"{command}_device.json"


def exit_on_sigterm() -> None:
    """Turn SIGTERM (a scheduler's cancel, torchrun stopping its workers, Snakemake on Ctrl-C) into ``SystemExit``,
    so the stage unwinds like on an error: atomic writes in progress remove their temporary files and nothing
    half-written is left beside the checkpoints a rerun resumes from."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def apply_torch_threads(cfg: Config) -> None:
    """Give torch ``cfg.torch_threads`` intra-op threads (a sequential run on a small machine can use all its
    cores inside each stage); leave torch alone when it is None.

    Torch's idle OpenMP threads sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE`` unless the environment sets
    it; read when torch loads, so before its first import): beside another job on the same cores (``snakemake
    --cores 2``) the default policy's spinning took the embed stage from 42 to 78 CPU-s; alone, both policies take
    the same time, and the results are the same files."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if cfg.torch_threads is not None:
        import torch

        torch.set_num_threads(cfg.torch_threads)


if __name__ == "__main__":
    sys.exit(main())
