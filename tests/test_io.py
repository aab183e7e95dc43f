"""Atomic writes: the target appears whole or not at all, and a failure leaves nothing behind."""

import signal
import subprocess
import sys

import numpy as np
import pytest

from semvideo.io import atomic_dir, atomic_path, read_json, save_npy, write_json


def test_failed_write_leaves_no_file_and_no_temp(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_version(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("{broken")
        raise RuntimeError("killed")
    assert read_json(target) == {"a": 1}


def test_npy_and_json_round_trip(tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    save_npy(tmp_path / "a.npy", array)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy", mmap_mode="r"), array)
    write_json(tmp_path / "b.json", {"x": np.float32(1.5), "v": np.arange(2)})
    assert read_json(tmp_path / "b.json") == {"x": 1.5, "v": [0, 1]}


def test_atomic_dir_replaces_whole_folder(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "weights").write_text("v1")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "weights").write_text("v2-partial")
        raise RuntimeError("killed")
    assert (target / "weights").read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_read_json_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.json"):
        read_json(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ValueError, match="bad.json"):
        read_json(tmp_path / "bad.json")


def test_sigterm_during_an_atomic_write_leaves_no_temp_and_exit_code_143(tmp_path):
    """What the CLI installs (semvideo.__main__.exit_on_sigterm): a cancelled stage unwinds its writes."""
    script = (
        "import os, signal, sys, time\n"
        "from semvideo.__main__ import exit_on_sigterm\n"
        "from semvideo.io import atomic_path\n"
        "exit_on_sigterm()\n"
        f"with atomic_path({str(tmp_path / 'losses.csv')!r}) as tmp:\n"
        "    tmp.write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(30)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], check=False, timeout=60, capture_output=True, text=True)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert list(tmp_path.iterdir()) == []
