"""End to end: `snakemake all` on the tiny twin (config/smoke.yaml) regenerates every declared artefact."""

import subprocess

import pytest

from tests.smoke_runs import ROOT, snakemake_command


@pytest.mark.slow
def test_smoke_pipeline_builds_every_artefact(smoke_runs):
    run = smoke_runs["full"]
    assert run.process.returncode == 0, run.tail()

    # Nothing left to do after a complete run: every output of every rule exists and is up to date.
    dry = subprocess.run(snakemake_command(run.cfg, "-n"), cwd=ROOT, capture_output=True, text=True, check=False)
    assert "Nothing to be done" in dry.stdout + dry.stderr
    notebooks = sorted(p.stem for p in (run.results / "notebooks").glob("*.ipynb"))
    sources = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    assert notebooks == sources, "every numbered notebook must be executed by `all`"
