"""Independent jobs of a stage spread over CPU processes (``cfg.workers``), each with its share of the threads.

On two cores, two one-thread processes do more than one two-thread process: a render batch takes 0.44 s per clip on
two threads and 0.71 s per clip on one thread beside a second such process (0.36 s per clip for the pair); a SAD
training step 49 ms on two threads, 82 ms on one beside another (benchmarks/README.md). So stages whose work is a
list of independent jobs (renders, SAD and MAD trainings, subjects' evaluations, the twin's segments) hand it to
:func:`map_jobs`.

Each worker process builds its state once (``setup``, e.g. loading the pipeline) and then runs jobs as they come,
longest first if the caller orders them so. A job's result must not depend on which process ran it: jobs seed
their own randomness (e.g. one generator per clip). On a GPU, or with ``workers: 1``, the jobs run one after
another in the stage's own process.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

from semvideo.config import Config

__all__ = ["map_jobs", "worker_threads"]

#: The state ``setup`` built in this worker process (set by :func:`_start_worker`).
_STATE: dict[str, Any] = {}


def worker_threads(cfg: Config) -> int:
    """Torch threads of each worker process: the stage's threads (``torch_threads``, else torch's current
    count) divided among ``cfg.workers``, at least one."""
    import torch  # here, not at the top: the data stages use this module without torch

    total = cfg.torch_threads or torch.get_num_threads()
    return max(1, total // cfg.workers)


def map_jobs(cfg: Config, work: Callable[[Any, Any], Any], jobs: Sequence, setup: Callable[..., Any] | None = None,
             setup_args: tuple = (), state: Any = None) -> list:
    """``[work(state, job) for job in jobs]`` with ``state = setup(*setup_args)`` built once per process.

    With ``cfg.workers`` > 1 on the CPU the jobs go to that many spawned processes (:func:`worker_threads` torch
    threads each; never more processes than jobs), handed out in ``jobs``' order as processes free up; results
    come back in ``jobs``' order. ``work``, ``setup`` and their arguments must be picklable (module-level
    functions). An error in a job stops the others and is raised here. ``state``, when the caller already holds
    what ``setup`` would build (e.g. the judges it loaded), serves the jobs run in the caller's process instead of
    a second copy.
    """
    workers = min(cfg.workers, len(jobs))
    if workers <= 1 or not cfg.device.strip().startswith("cpu"):
        if state is None and setup is not None:
            state = setup(*setup_args)
        return [work(state, job) for job in jobs]
    context = multiprocessing.get_context("spawn")  # fork would copy torch's thread pool state
    with context.Pool(workers, initializer=_start_worker, initargs=(worker_threads(cfg), setup, setup_args)) as pool:
        results = list(pool.imap(_run_job, [(work, job) for job in jobs], chunksize=1))
        pool.close()  # the workers exit on their own (terminating them leaks their libraries' semaphores)
        pool.join()
    return results


def _start_worker(threads: int, setup: Callable[..., Any] | None, setup_args: tuple) -> None:
    """Torch and the BLAS behind NumPy / scikit-learn (e.g. the ridge baseline) on the worker's share of threads, so
    that the workers neither oversubscribe the cores nor compute with another thread count than one process would
    under Snakemake (which limits a job's BLAS to its threads), then the worker's state."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(threads)
    _STATE["state"] = setup(*setup_args) if setup is not None else None


def _run_job(task: tuple[Callable[[Any, Any], Any], Any]) -> Any:
    work, job = task
    return work(_STATE["state"], job)
