"""Nothing is lost and nothing drifts (DESIGN §7): the smoke pipeline survives a kill and is repeatable.

The runs come from the session fixture ``smoke_runs`` (tests/smoke_runs.py): an uninterrupted run, and one
stopped (SIGTERM to its process group) while ``train_sad`` is training and then rerun with
``--rerun-incomplete``. Each run computes every stage itself, so byte-identical tables show both that the
interrupted run lost nothing and that two runs with the same seed agree.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.smoke_runs import Run

pytestmark = pytest.mark.slow

#: Tables that record wall-clock time: they differ between any two runs by design. Whole tables are left out;
#: for the others, the named timing columns are dropped before comparing (the rest must match byte for byte).
TIMING_TABLES = {"cvr_render_time.csv", "cvr_render_time.md"}
TIMING_COLUMNS = {"priors_summary": "train seconds"}


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


def test_kill_during_training_then_rerun_resumes(smoke_runs):
    killed = smoke_runs["killed"]
    assert killed.interrupted_rc != 0 and not killed.had_table1, "the kill must stop the run before its end"
    assert killed.rerun_rc == 0, killed.tail()
    rerun_log = killed.log.read_text().split("===== rerun =====")[1]
    assert "rule train_sad:" in rerun_log, "the interrupted training job is rerun"
    assert "rule generate_twin:" not in rerun_log, "finished jobs are not redone"


def test_killed_and_uninterrupted_runs_write_byte_identical_tables(smoke_runs):
    assert smoke_runs["full"].process.returncode == 0, smoke_runs["full"].tail()
    compare(smoke_runs["killed"], smoke_runs["full"], "between a killed-and-rerun run and an uninterrupted one")
