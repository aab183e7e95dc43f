"""What every walkthrough notebook does first: find the run, and build what it reads when nothing else has.

A notebook runs in three places. Under Snakemake (papermill, ``SEMVIDEO_HEADLESS=1``, working directory = the
project root) the workflow has built every input, and a missing one must fail, not start a build inside a rule.
Opened interactively in a clone (JupyterLab, Binder), the kernel starts in ``notebooks/``: the notebook moves to
the project root so that it reads the same ``results/`` as ``snakemake --cores 2 all``. Opened anywhere without
a finished run (Binder, Colab, a fresh clone), it runs the stages it reads that have not finished, the same way
``python -m semvideo <stage> --upstream`` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from semvideo.__main__ import stages_to_run
from semvideo.config import Config, load_config
from semvideo.viz import interactive_session

__all__ = ["open_run", "use_project_root"]


def open_run(config_path: str | Path, stage: str) -> Config:
    """The config of ``config_path`` (a file or a shipped name), with ``stage`` and the stages before it built.

    Interactively, the working directory first moves to the project root (see :func:`use_project_root`), then
    every unfinished stage up to ``stage`` runs in a child process (``python -m semvideo <stage> --upstream``; a
    full default run takes most of an hour on 2 cores). Under Snakemake nothing is built.
    """
    if not interactive_session():
        return load_config(config_path)
    use_project_root()
    cfg = load_config(config_path)
    if missing := stages_to_run(cfg, stage):
        print(f"building what this notebook reads: {', '.join(missing)} (results in {cfg.results_dir})")
        subprocess.run([sys.executable, "-m", "semvideo", stage, "--upstream", "--config", str(config_path)],
                       check=True)
    return cfg


def use_project_root() -> Path:
    """Move to the project root when the working directory is a clone's ``notebooks/`` (where JupyterLab and
    Binder start a notebook's kernel), so relative paths (``config/``, ``results/``) mean what they mean for
    Snakemake. Elsewhere (the root itself, Colab's ``/content``) nothing changes. Returns the working directory."""
    cwd = Path.cwd()
    if cwd.name == "notebooks" and (cwd.parent / "Snakefile").exists():
        os.chdir(cwd.parent)
        return cwd.parent
    return cwd
