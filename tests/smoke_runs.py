"""Whole smoke-config runs of the Snakefile (config/smoke.yaml, results under a temp folder), shared by the
end-to-end test and the reliability tests through the session fixture ``smoke_runs`` in conftest.py.

Two runs, started together so they use both cores: ``full`` runs uninterrupted; ``killed`` is stopped
(SIGTERM to its process group) while ``train_sad`` is training and then rerun with ``--rerun-incomplete``.
Every stage is computed independently in each run (the stages before the kill in the killed run's first
attempt, the rest in its rerun), so equal tables show both that nothing is lost and that a seed repeats.

The runs are subprocesses, so :class:`BackgroundRuns` starts them when the session's first test starts and the
rest of the suite runs beside them; the tests that read them run last and wait for them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
#: Single-threaded BLAS / torch so runs sharing the two cores neither fight nor change reduction order.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
TIMEOUT = 900


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


@dataclass
class Run:
    folder: Path
    cfg: Path
    name: str
    process: subprocess.Popen | None = None
    interrupted_rc: int | None = None  #: exit code of the killed attempt
    had_table1: bool = False  #: whether Table 1 existed when the run was killed
    rerun_rc: int | None = None  #: exit code of the rerun after the kill
    stopped: bool = False  #: set by :meth:`stop`: no attempt starts after it (the runs' thread may be between two)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

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
        with self._lock, open(self.log, "a") as log:  # the child keeps its own copy of the descriptor
            if self.stopped:
                raise RuntimeError(f"{self.folder}: the smoke run was stopped")
            self.process = subprocess.Popen(snakemake_command(self.cfg, *args), cwd=ROOT, env=ENV, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait(self, timeout: float = TIMEOUT) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise

    def stop(self) -> None:
        """SIGKILL whatever is left of this run, and start nothing more (the fixture's clean-up)."""
        with self._lock:
            self.stopped = True
            if self.process is not None and self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)

    def tail(self) -> str:
        return self.log.read_text()[-4000:]


def new_run(folder: Path) -> Run:
    cfg, smoke = smoke_config(folder)
    return Run(folder, cfg, smoke["name"])


def kill_while_training(run: Run, watch: str = "sad/ckpt", timeout: float = TIMEOUT) -> None:
    """Wait until a training checkpoint appears under ``results/<name>/<watch>``, then SIGTERM the whole
    process group (snakemake and the training job)."""
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
    run.interrupted_rc = run.process.returncode
    run.had_table1 = (run.figures / "table1.csv").exists()


def rerun(run: Run) -> int:
    """Rerun a killed run with ``--rerun-incomplete`` (unlocking first if the kill left a lock)."""
    run.log.write_text(run.log.read_text() + "\n===== rerun =====\n")
    if run.start("--rerun-incomplete").wait() != 0 and "LockException" in run.tail():
        subprocess.run(snakemake_command(run.cfg, "--unlock"), cwd=ROOT, env=ENV, check=True, capture_output=True)
        run.start("--rerun-incomplete").wait()
    return run.process.returncode


def full_and_killed_runs(full: Run, killed: Run) -> None:
    """Start both runs, kill one during ``train_sad``, rerun it beside the other, and wait for both."""
    full.start(), killed.start()
    try:
        kill_while_training(killed)
        killed.rerun_rc = rerun(killed)
        full.wait()
    finally:
        full.stop(), killed.stop()


class BackgroundRuns:
    """:func:`full_and_killed_runs` in a thread: :meth:`result` waits for it and returns {"full", "killed"}."""

    def __init__(self, tmp_path_factory):
        self.runs = {"full": new_run(tmp_path_factory.mktemp("run_full")),
                     "killed": new_run(tmp_path_factory.mktemp("run_killed"))}
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="smoke runs", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            full_and_killed_runs(self.runs["full"], self.runs["killed"])
        except BaseException as err:  # handed to the tests that read the runs
            self.error = err

    def result(self) -> dict[str, Run]:
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.runs

    def stop(self) -> None:
        """SIGKILL whatever still runs (the session's end, e.g. after Ctrl-C or a failure elsewhere)."""
        for run in self.runs.values():
            run.stop()
        self.thread.join(timeout=60)
