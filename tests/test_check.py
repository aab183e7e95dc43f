"""`check-data` lists every missing or malformed file of a download and passes a complete one."""

import shutil

from semvideo.data.cc2017 import layout_for, run_path, stimulus_path
from semvideo.data.check import check_cc2017
from semvideo.data.cifti import read_dtseries, write_dtseries
from semvideo.paths import RunPaths
from tests.conftest import tiny_config


def test_complete_download_has_no_problems(tiny_twin):
    cfg, paths = tiny_twin
    assert check_cc2017(paths.raw, layout_for(cfg), cfg.subjects) == []


def test_each_problem_is_listed_with_its_file(tiny_twin, tmp_path):
    cfg, paths = tiny_twin
    copy = tiny_config(tmp_path)
    raw = RunPaths.from_config(copy).raw
    shutil.copytree(paths.raw, raw)
    layout = layout_for(copy)
    missing = run_path(raw, "subject1", "seg2", 2)
    missing.unlink()
    short = run_path(raw, "subject1", "test1", 1)
    data, grayordinates, tr = read_dtseries(short)
    write_dtseries(short, data[:-2], grayordinates, tr)
    video = stimulus_path(raw, "seg1")
    video.write_bytes(b"junk")
    problems = dict(check_cc2017(raw, layout, copy.subjects))
    assert problems == {video: problems[video], missing: "missing", short: problems[short]}
    assert "unreadable video" in problems[video] and "volumes, expected" in problems[short]
    assert check_cc2017(raw, layout, copy.subjects, exclude=["subject1/seg2/2"]).__len__() == 2
