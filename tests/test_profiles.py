"""The SLURM profile parses and plans the whole workflow (dry run; no cluster needed)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_slurm_profile_dry_run_plans_every_rule():
    pytest.importorskip("snakemake_executor_plugin_slurm")
    snakemake = Path(sys.executable).parent / "snakemake"
    run = subprocess.run([str(snakemake), "all", "-n", "--profile", "workflow/profiles/slurm", "--config",
                          "cfg=config/smoke.yaml", "--forceall"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    for rule in ("generate_twin", "prepare", "caption", "embed", "nb_01_preprocessing"):
        assert rule in run.stdout
