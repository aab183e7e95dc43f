"""semvideo.workers: jobs spread over processes give the results of running them in turn, in the jobs' order."""

import os
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from semvideo.config import load_config
from semvideo.stages.evaluate import run_evaluation
from semvideo.workers import map_jobs, worker_threads


def _offset(base: int) -> dict:
    """A worker's state: an offset and the process that built it."""
    return {"base": base, "pid": os.getpid()}


def _job(state: dict, job: int) -> tuple[int, int, int]:
    if job < 0:
        raise ValueError(f"job {job} refused")
    return state["base"] + job ** 2, state["pid"], torch.get_num_threads()


def _config(workers: int, threads: int = 2):
    return load_config("smoke", workers=workers, torch_threads=threads)


def test_workers_return_what_one_process_returns_in_order():
    jobs = list(range(7))
    serial = map_jobs(_config(1), _job, jobs, setup=_offset, setup_args=(100,))
    parallel = map_jobs(_config(2), _job, jobs, setup=_offset, setup_args=(100,))
    assert [r[0] for r in parallel] == [r[0] for r in serial] == [100 + j * j for j in jobs]
    assert {r[1] for r in serial} == {os.getpid()}  # one process: the caller's
    assert os.getpid() not in {r[1] for r in parallel} and len({r[1] for r in parallel}) <= 2
    assert {r[2] for r in parallel} == {1}  # two threads shared by two workers


def test_worker_threads_divide_the_stage_threads():
    assert worker_threads(_config(2, 2)) == 1
    assert worker_threads(_config(2, 8)) == 4
    assert worker_threads(_config(4, 2)) == 1  # never fewer than one
    assert worker_threads(_config(1, 3)) == 3


def test_an_error_in_a_worker_reaches_the_caller():
    with pytest.raises(ValueError, match="job -1 refused"):
        map_jobs(_config(2), _job, [1, -1, 2], setup=_offset, setup_args=(0,))


def test_the_callers_state_serves_the_jobs_it_runs_itself():
    mine = {"base": 5, "pid": os.getpid()}
    assert [r[0] for r in map_jobs(_config(1), _job, [1, 2], setup=_offset, setup_args=(100,), state=mine)] == [6, 9]
    # the workers build their own from setup, never the caller's
    assert [r[0] for r in map_jobs(_config(2), _job, [1, 2], setup=_offset, setup_args=(100,), state=mine)] == [101, 104]


def test_gpu_configs_run_jobs_in_the_stage_process():
    cfg = _config(2).model_copy(update={"device": "cuda"})  # no GPU is touched: the jobs are plain Python
    assert {r[1] for r in map_jobs(cfg, _job, [1, 2], setup=_offset, setup_args=(0,))} == {os.getpid()}


def test_evaluation_in_two_workers_scores_what_one_process_scored(smoke_runs, tmp_path, one_torch_thread):
    """The smoke run's evaluate stage (one process, one thread), redone over two one-thread workers on a copy."""
    run = smoke_runs["full"]
    copy = tmp_path / "results" / run.name
    shutil.copytree(run.results, copy, ignore=shutil.ignore_patterns("notebooks", "logs", "benchmarks"))
    shutil.rmtree(copy / "metrics")
    cfg = load_config(run.cfg, workers=2, torch_threads=2,
                      paths={"results": str(tmp_path / "results"), "figures": str(tmp_path / "figures")})
    run_evaluation(cfg)
    written = sorted(p.name for p in (run.results / "metrics").glob("subject*_*"))
    assert sorted(p.name for p in (copy / "metrics").iterdir()) == written
    for name in (n for n in written if n.endswith(".csv")):
        pd.testing.assert_frame_equal(pd.read_csv(copy / "metrics" / name), pd.read_csv(run.results / "metrics" / name))
    for name in (n for n in written if n.endswith(".npz")):
        with np.load(copy / "metrics" / name) as again, np.load(run.results / "metrics" / name) as first:
            assert sorted(again) == sorted(first) and all(np.array_equal(again[k], first[k]) for k in first)
