# Shared by every notebook rule: which config runs, where its artefacts go, and how a notebook executes.
import os
import sys
from pathlib import Path

from semvideo.config import load_config

REPO = Path(workflow.current_basedir).parents[1]  # this file is workflow/rules/common.smk
CONFIG_PATH = config.get("cfg", "config/default.yaml")
CFG = load_config(CONFIG_PATH)
RESULTS = str(CFG.results_dir)  # results/<name>: artefacts, executed notebooks, logs
FIGURES = str(CFG.figures_dir)  # tables and figures of the paper

# Shell commands (jupytext, papermill, python -m semvideo) run from this interpreter's environment, so
# `.venv/bin/snakemake` works without activating the venv.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

#: The compute stages' Snakemake priority (notebooks keep 0): under `--cores 2` the chain of stages that the tables
#: wait for goes first and the notebooks, which nothing else waits for but notebook 09, fill the other core.
STAGE_PRIORITY = 1

#: Every rules file appends the figures and tables it produces; `rule all` collects them.
ALL_OUTPUTS = []


def library(*parts):
    """The semvideo sources a notebook depends on, so that editing the library reruns the notebook."""
    files = []
    for part in ("config.py", "io.py", "paths.py", *parts):
        path = REPO / "semvideo" / part
        files += sorted(str(p) for p in path.rglob("*.py")) if path.is_dir() else [str(path)]
    return files


# Convert the jupytext source to ipynb (kernel = this interpreter) and execute it with papermill, passing
# the config and output folder as parameters (SEMVIDEO_HEADLESS=1: no front end, so widgets are skipped).
# The executed notebook is kept under results/<name>/notebooks/.
PAPERMILL = (
    "jupytext --to ipynb --output - {input.nb} 2> {log} "
    "| SEMVIDEO_HEADLESS=1 papermill - {output.nb} --kernel python3 --cwd . --log-output "
    "-p config_path {CONFIG_PATH} -p out_dir {RESULTS} >> {log} 2>&1"
)
