"""The CC2017 reader on bad input: every failure is one line naming the file and what to do."""

import shutil
import warnings

import numpy as np
import pytest

from semvideo.data.cc2017 import layout_for, load_run, run_path, stimulus_path
from semvideo.data.cifti import read_dtseries, write_dtseries
from semvideo.data.prepare import prepare_dataset
from semvideo.paths import RunPaths
from tests.conftest import tiny_config


@pytest.fixture
def broken_copy(tiny_twin, tmp_path):
    """A private copy of the tiny twin's raw data that a test may damage."""
    cfg, paths = tiny_twin
    copy_cfg = tiny_config(tmp_path)
    shutil.copytree(paths.raw, RunPaths.from_config(copy_cfg).raw)
    return copy_cfg, RunPaths.from_config(copy_cfg).raw


def _one_line_error(exc_type, call, *names):
    with pytest.raises(exc_type) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for name in names:
        assert name in message
    return message


def test_missing_run_names_the_file(broken_copy):
    cfg, raw = broken_copy
    path = run_path(raw, "subject1", "seg2", 1)
    path.unlink()
    _one_line_error(FileNotFoundError, lambda: prepare_dataset(cfg), str(path), "dataset layout")
    assert not RunPaths.from_config(cfg).data.exists(), "a failed preparation leaves no partial output"


def test_truncated_cifti(broken_copy):
    cfg, raw = broken_copy
    path = run_path(raw, "subject1", "seg1", 2)
    path.write_bytes(path.read_bytes()[:-500])
    _one_line_error(ValueError, lambda: read_dtseries(path), str(path), "truncated")


def test_wrong_number_of_volumes(broken_copy):
    cfg, raw = broken_copy
    path = run_path(raw, "subject1", "seg3", 1)
    data, grayordinates, tr = read_dtseries(path)
    write_dtseries(path, data[:-3], grayordinates, tr)
    message = _one_line_error(ValueError, lambda: load_run(path, layout_for(cfg)), str(path), "exclude")
    assert f"{len(data) - 3} volumes" in message


def test_wrong_tr(broken_copy):
    cfg, raw = broken_copy
    path = run_path(raw, "subject1", "seg1", 1)
    data, grayordinates, _ = read_dtseries(path)
    write_dtseries(path, data, grayordinates, 1.0)
    _one_line_error(ValueError, lambda: load_run(path, layout_for(cfg)), str(path), "TR is 1.0 s")


def test_vertex_set_differing_between_runs(broken_copy):
    cfg, raw = broken_copy
    path = run_path(raw, "subject1", "seg2", 2)
    data, grayordinates, tr = read_dtseries(path)
    write_dtseries(path, data[:, 1:], grayordinates[1:], tr)
    _one_line_error(ValueError, lambda: prepare_dataset(cfg), str(path), "differ")


def test_nan_vertices_are_masked_with_a_warning(broken_copy):
    cfg, raw = broken_copy
    path = run_path(raw, "subject1", "seg1", 1)
    data, grayordinates, tr = read_dtseries(path)
    data[:, :3] = np.nan
    write_dtseries(path, data, grayordinates, tr)
    with pytest.warns(UserWarning, match="3 vertices are NaN or constant"):
        _, _, usable = load_run(path, layout_for(cfg))
    assert usable.sum() == len(usable) - 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepare_dataset(cfg)
    voxels = __import__("pandas").read_csv(RunPaths.from_config(cfg).data / "subject1" / "voxels.csv")
    assert not voxels.loc[:2, "selected"].any() and not voxels.loc[:2, "usable"].any()


def test_undecodable_stimulus(broken_copy):
    cfg, raw = broken_copy
    path = stimulus_path(raw, "test1")
    path.write_bytes(b"\x00" * 64)
    _one_line_error(ValueError, lambda: prepare_dataset(cfg), str(path), "cannot decode")


def test_excluded_run_is_left_out(broken_copy):
    cfg, raw = broken_copy
    path = run_path(raw, "subject1", "test1", 2)
    path.unlink()  # the run is gone, but the config excludes it: preparation succeeds
    cfg = cfg.model_copy(update={"fmri": cfg.fmri.model_copy(update={"exclude_runs": ["subject1/test1/2"]})})
    prepare_dataset(cfg)
    assert (RunPaths.from_config(cfg).data / "subject1" / "bold_test.npy").exists()
