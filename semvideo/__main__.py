"""Command line: ``python -m semvideo <command> --config config/default.yaml``.

Each command runs one compute stage of the pipeline (the Snakemake rules call these); every stage is a
function ``stage(cfg: Config) -> None`` that writes its artefacts under ``results/<name>/`` atomically. The
command also records the stage's device, seconds and, on CUDA, peak GPU memory in
``results/<name>/benchmarks/<command>_device.json`` (beside Snakemake's per-rule benchmark files), so every run of
the workflow on a GPU measures what each stage needs.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

from semvideo.config import Config, ConfigError, check_model_sources, load_config
from semvideo.device import peak_memory, resolve_device
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
    parser.add_argument("--config", default="config/default.yaml", help="YAML config (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config)
        check_model_sources(cfg, MODEL_SECTIONS.get(args.command, ()), args.config)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    apply_torch_threads(cfg)
    exit_on_sigterm()
    module_name, function_name = COMMANDS[args.command].split(":")
    stage = getattr(importlib.import_module(module_name), function_name)
    record = {"command": args.command}
    try:
        with peak_memory(resolve_device(cfg), record):
            stage(cfg)
    except InputError as err:  # bad or missing input (or device): one line naming the file and the fix
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_json(cfg.results_dir / "benchmarks" / f"{args.command}_device.json", record)
    return 0


def exit_on_sigterm() -> None:
    """Turn SIGTERM (a scheduler's cancel, torchrun stopping its workers, Snakemake on Ctrl-C) into ``SystemExit``,
    so the stage unwinds like on an error: atomic writes in progress remove their temporary files and nothing
    half-written is left beside the checkpoints a rerun resumes from."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def apply_torch_threads(cfg: Config) -> None:
    """Give torch ``cfg.torch_threads`` intra-op threads (a sequential run on a small machine can use all its
    cores inside each stage); leave torch alone when it is None."""
    if cfg.torch_threads is not None:
        import torch

        torch.set_num_threads(cfg.torch_threads)


if __name__ == "__main__":
    sys.exit(main())
