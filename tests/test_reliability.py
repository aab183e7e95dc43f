"""Nothing is lost and nothing drifts (DESIGN §7): the smoke pipeline survives a kill and is repeatable.

(a) kill-and-rerun: snakemake is stopped (SIGTERM to its process group) while ``train_sad`` is training, then
    rerun with ``--rerun-incomplete``; the tables it ends with equal those of an uninterrupted run.
(b) repeatability: two uninterrupted runs with the same seed write byte-identical tables.

Three smoke runs in all, started together to use both cores: two uninterrupted runs (shared by (a) and (b)
through a module-scoped fixture) and the one that is killed and rerun.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.test_pipeline_smoke import ROOT, smoke_config, snakemake_command

pytestmark = pytest.mark.slow

#: Tables that record wall-clock time: they differ between any two runs by design. Whole tables are left out;
#: for the others, the named timing columns are dropped before comparing (the rest must match byte for byte).
TIMING_TABLES = {"cvr_render_time.csv", "cvr_render_time.md"}
TIMING_COLUMNS = {"priors_summary": "train seconds"}
#: Single-threaded BLAS / torch so runs sharing the two cores neither fight nor change reduction order.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
TIMEOUT = 900


@dataclass
class Run:
    folder: Path
    cfg: Path
    name: str
    process: subprocess.Popen | None = None

    @property
    def results(self) -> Path:
        return self.folder / "results" / self.name

    @property
    def figures(self) -> Path:
        return self.folder / "figures"

    @property
    def log(self) -> Path:
        return self.folder / "snakemake.log"

    def start(self, *args: str) -> Run:
        with open(self.log, "a") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(snakemake_command(self.cfg, *args), cwd=ROOT, env=ENV, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait(self, timeout: float = TIMEOUT) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise

    def tail(self) -> str:
        return self.log.read_text()[-4000:]


def new_run(tmp_path_factory, label: str) -> Run:
    folder = tmp_path_factory.mktemp(label)
    cfg, smoke = smoke_config(folder)
    return Run(folder, cfg, smoke["name"])


def tables(figures: Path) -> dict[str, bytes]:
    """Every CSV and Markdown table of a run, by file name: bytes, or for tables with a timing column, that
    table without it (timing tables left out)."""
    out = {}
    for path in sorted(figures.glob("*")):
        if path.suffix not in (".csv", ".md") or path.name in TIMING_TABLES:
            continue
        if path.stem in TIMING_COLUMNS:
            if path.suffix == ".md":
                continue  # the Markdown twin of the CSV below, with the same timing column
            table = pd.read_csv(path, index_col=0).drop(columns=TIMING_COLUMNS[path.stem])
            out[path.name] = table.to_csv().encode()
        else:
            out[path.name] = path.read_bytes()
    return out


def compare(got: Run, want: Run, what: str) -> None:
    """Assert that two runs' tables are byte-identical (timing tables and columns left out)."""
    mine, theirs = tables(got.figures), tables(want.figures)
    assert sorted(mine) == sorted(theirs) and len(mine) >= 20
    differ = sorted(name for name in theirs if mine[name] != theirs[name])
    assert not differ, f"tables differ {what}: {differ}"


def kill_while_training(run: Run, watch: str = "sad/ckpt", timeout: float = TIMEOUT) -> float:
    """Wait until a training checkpoint appears under ``results/<name>/<watch>``, then SIGTERM the whole
    process group (snakemake and the training job); returns the seconds waited."""
    start = time.monotonic()
    while not any((run.results / watch).rglob("epoch_*.pt")):
        if run.process.poll() is not None:
            raise AssertionError(f"the run ended before {watch} had a checkpoint:\n{run.tail()}")
        if time.monotonic() - start > timeout:
            raise AssertionError(f"no checkpoint under {watch} after {timeout} s:\n{run.tail()}")
        time.sleep(0.1)
    os.killpg(run.process.pid, signal.SIGTERM)
    try:
        run.process.wait(120)
    except subprocess.TimeoutExpired:  # snakemake did not shut down: make sure nothing keeps running
        os.killpg(run.process.pid, signal.SIGKILL)
        run.process.wait(30)
    return time.monotonic() - start


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{"a", "b"}: two uninterrupted smoke runs; "killed": a run killed during train_sad and then rerun."""
    first, second = new_run(tmp_path_factory, "run_a"), new_run(tmp_path_factory, "run_b")
    killed = new_run(tmp_path_factory, "run_killed")
    first.start(), second.start(), killed.start()
    try:
        kill_while_training(killed)
        killed.interrupted_rc = killed.process.returncode
        killed.had_table1 = (killed.figures / "table1.csv").exists()
        for run in (first, second):
            assert run.wait() == 0, run.tail()
        killed.log.write_text(killed.log.read_text() + "\n===== rerun =====\n")
        if killed.start("--rerun-incomplete").wait() != 0 and "LockException" in killed.tail():
            subprocess.run(snakemake_command(killed.cfg, "--unlock"), cwd=ROOT, env=ENV, check=True,
                           capture_output=True)
            killed.start("--rerun-incomplete").wait()
        killed.rerun_rc = killed.process.returncode
    finally:
        for run in (first, second, killed):
            if run.process is not None and run.process.poll() is None:
                os.killpg(run.process.pid, signal.SIGKILL)
    return {"a": first, "b": second, "killed": killed}


def test_kill_during_training_then_rerun_gives_the_same_tables(runs):
    killed, reference = runs["killed"], runs["a"]
    assert killed.interrupted_rc != 0 and not killed.had_table1, "the kill must stop the run before its end"
    assert killed.rerun_rc == 0, killed.tail()
    rerun_log = killed.log.read_text().split("===== rerun =====")[1]
    assert "rule train_sad:" in rerun_log, "the interrupted training job is rerun"
    assert "rule generate_twin:" not in rerun_log, "finished jobs are not redone"
    compare(killed, reference, "after kill + rerun")


def test_same_seed_gives_byte_identical_tables(runs):
    compare(runs["b"], runs["a"], "between two runs with the same seed")
