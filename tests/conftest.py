"""Shared fixtures: a tiny twin world generated once per test session in a temp folder, and the smoke-config
runs of the whole Snakefile (tests/smoke_runs.py), which run in the background beside the rest of the suite."""

import os
from pathlib import Path

import pytest

from semvideo.config import load_config

ROOT = Path(__file__).resolve().parents[1]

# The suite's torch threads sleep when idle instead of spinning (as the stages' own entry point sets it): the smoke
# runs share the cores with the rest of the suite. Read when torch loads, which no conftest import does.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def tiny_config(tmp: Path, **twin_overrides):
    """A seconds-fast twin: 4 train + 1 test segments of 48 s, one subject, a few hundred vertices."""
    twin = {"frame_size": 32, "segment_seconds": 48, "n_train_segments": 4, "n_test_segments": 1,
            "n_subjects": 1, "train_repeats": 2, "test_repeats": 3, "visual_fraction": 0.06,
            "vertex_fraction": 0.004, "noise_sd": 0.3, **twin_overrides}
    return load_config(ROOT / "config" / "smoke.yaml", name="tiny", subjects=["subject1"], twin=twin,
                       paths={"results": str(tmp / "results"), "figures": str(tmp / "figures")})


def generated_and_prepared(cfg):
    """Generate the twin of ``cfg`` and preprocess it; returns (config, RunPaths)."""
    from semvideo.data.prepare import prepare_dataset
    from semvideo.data.synthetic import generate_twin
    from semvideo.paths import RunPaths

    generate_twin(cfg)
    prepare_dataset(cfg)
    return cfg, RunPaths.from_config(cfg)


@pytest.fixture(scope="session")
def tiny_twin(tmp_path_factory):
    """(config, RunPaths) of a generated and preprocessed tiny twin."""
    return generated_and_prepared(tiny_config(tmp_path_factory.mktemp("twin")))


def _reads_smoke_runs(item) -> bool:
    return "smoke_runs" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items):
    """The tests that read the smoke runs go last (in their order), so that the runs, started with the session's
    first test (``background_smoke_runs``), have the rest of the suite's time to finish."""
    items.sort(key=_reads_smoke_runs)


@pytest.fixture(scope="session", autouse=True)
def background_smoke_runs(request, tmp_path_factory):
    """The two smoke runs (tests/smoke_runs.py), started in the background before the first test when any selected
    test reads them; None otherwise. Whatever still runs at the session's end is killed."""
    if not any(_reads_smoke_runs(item) for item in request.session.items):
        yield None
        return
    import torch

    from tests.smoke_runs import BackgroundRuns

    runs = BackgroundRuns(tmp_path_factory)
    # The runs keep both cores busy, so the rest of the suite (and the processes it starts) computes on one thread:
    # two threads beside them spent more CPU waiting for each other (the suite 9 min 20 s → 8 min 38 s, 1,050 →
    # 991 CPU-s, benchmarks/README.md). Results do not depend on it: the tests that compare runs fix their threads.
    threads, environment = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    yield runs
    runs.stop()
    torch.set_num_threads(threads)
    if environment is None:
        del os.environ["OMP_NUM_THREADS"]
    else:
        os.environ["OMP_NUM_THREADS"] = environment


@pytest.fixture(scope="session")
def smoke_runs(background_smoke_runs):
    """{"full": an uninterrupted smoke run, "killed": one killed during train_sad and rerun} (both finished)."""
    return background_smoke_runs.result()


@pytest.fixture
def one_torch_thread():
    """Torch on one thread for the test (as in each worker of ``workers: 2, torch_threads: 2``), restored after."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
