"""End to end: `snakemake all` on the tiny twin (config/smoke.yaml) regenerates every declared artefact."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def smoke_config(tmp_path: Path) -> tuple[Path, dict]:
    """config/smoke.yaml with its results and figures redirected under ``tmp_path``: (file, its content)."""
    smoke = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    smoke["paths"] = {"results": str(tmp_path / "results"), "figures": str(tmp_path / "figures")}
    cfg = tmp_path / "smoke.yaml"
    cfg.write_text(yaml.safe_dump(smoke))
    return cfg, smoke


def snakemake_command(cfg: Path, *args: str) -> list[str]:
    """``snakemake all --cores 1 --config cfg=<cfg> *args``, run from the repository root."""
    return [str(SNAKEMAKE), "all", "--cores", "1", "--config", f"cfg={cfg}", *args]


@pytest.mark.slow
def test_smoke_pipeline_builds_every_artefact(tmp_path):
    cfg, smoke = smoke_config(tmp_path)
    snakemake = SNAKEMAKE
    run = subprocess.run(snakemake_command(cfg), cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]

    # Nothing left to do after a complete run: every output of every rule exists and is up to date.
    dry = subprocess.run([str(snakemake), "all", "-n", "--config", f"cfg={cfg}"],
                         cwd=ROOT, capture_output=True, text=True)
    assert "Nothing to be done" in dry.stdout + dry.stderr
    notebooks = sorted(p.stem for p in (tmp_path / "results" / smoke["name"] / "notebooks").glob("*.ipynb"))
    sources = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    assert notebooks == sources, "every numbered notebook must be executed by `all`"
