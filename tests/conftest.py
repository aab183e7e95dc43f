"""Shared fixtures: a tiny twin world generated once per test session in a temp folder, and the smoke-config
runs of the whole Snakefile (tests/smoke_runs.py)."""

from pathlib import Path

import pytest

from semvideo.config import load_config

ROOT = Path(__file__).resolve().parents[1]


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


@pytest.fixture(scope="session")
def smoke_runs(tmp_path_factory):
    """{"full": an uninterrupted smoke run, "killed": one killed during train_sad and rerun} (both finished)."""
    from tests.smoke_runs import full_and_killed_runs

    return full_and_killed_runs(tmp_path_factory)


@pytest.fixture
def one_torch_thread():
    """Torch on one thread for the test (as in each worker of ``workers: 2, torch_threads: 2``), restored after."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
