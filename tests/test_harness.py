"""The Snakemake + papermill harness, run end to end on a tiny notebook kept under tests/harness/."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_harness_executes_a_notebook_with_its_parameters(tmp_path):
    cfg = tmp_path / "harness.yaml"
    cfg.write_text(f"name: harness\npaths:\n  results: {tmp_path}/results\n  figures: {tmp_path}/figures\n")
    snakemake = Path(sys.executable).parent / "snakemake"
    run = subprocess.run(
        [str(snakemake), "-s", "tests/harness/Snakefile", "all", "--cores", "1", "--config", f"cfg={cfg}"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr

    executed = tmp_path / "results" / "harness" / "notebooks" / "00_harness_check.ipynb"
    table = tmp_path / "figures" / "harness_check.csv"
    assert executed.exists() and table.exists()
    assert "harness,twin," in table.read_text()
    assert table.read_text().strip().endswith(",False"), "batch runs must tell notebooks no front end is attached"

    notebook = json.loads(executed.read_text())
    injected = [c for c in notebook["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and str(cfg) in "".join(injected[0]["source"])


def test_main_snakefile_dry_run_lists_the_rule_graph():
    snakemake = Path(sys.executable).parent / "snakemake"
    run = subprocess.run([str(snakemake), "-n", "all", "--config", "cfg=config/smoke.yaml"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "all" in run.stdout
