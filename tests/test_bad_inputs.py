"""The bad-input matrix (DESIGN §7): every damaged input stops its stage with ONE line that names the
offending file and says what to do, and leaves no partial output behind (the output folder is absent or
unchanged).

Each case damages a private copy of the tiny twin and runs the stage through the command line entry point
(``python -m semvideo <stage> --config ...``, called in-process), so the test sees exactly what a user or a
Snakemake log sees.
"""

import hashlib
import shutil
import struct
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import yaml

from semvideo.__main__ import main
from semvideo.data.cc2017 import run_path, stimulus_path
from semvideo.data.cifti import N_MESH_VERTICES, read_dtseries, write_dtseries
from semvideo.paths import RunPaths
from tests.conftest import tiny_config


@pytest.fixture
def damaged(tiny_twin, tmp_path):
    """(config, raw folder, config file) of a private copy of the tiny twin's raw data, free to damage."""
    _, paths = tiny_twin
    cfg = tiny_config(tmp_path)
    raw = RunPaths.from_config(cfg).raw
    shutil.copytree(paths.raw, raw)
    cfg_file = tmp_path / "tiny.yaml"
    cfg_file.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    return cfg, raw, cfg_file


def cli(capsys, command: str, cfg_file: Path) -> tuple[int, str]:
    """Run one stage as the command line does; (exit code, stderr)."""
    capsys.readouterr()
    code = main([command, "--config", str(cfg_file)])
    return code, capsys.readouterr().err


def one_line_error(code: int, stderr: str, *names: str) -> str:
    """The stage failed with exactly one ``error:`` line (no traceback) that contains all of ``names``."""
    assert code != 0
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, stderr[-2000:]
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


def run_folder_holds_only_raw(cfg) -> None:
    """No stage output (not even a hidden temp folder) beside the raw data."""
    root = RunPaths.from_config(cfg).root
    assert sorted(p.name for p in root.iterdir()) == ["raw"]


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------------ stimuli
def test_missing_stimulus_mp4(damaged, capsys):
    cfg, raw, cfg_file = damaged
    path = stimulus_path(raw, "seg3")
    path.unlink()
    one_line_error(*cli(capsys, "prepare", cfg_file), str(path), "not found", "dataset layout")
    run_folder_holds_only_raw(cfg)
    # check-data lists the same file before any long run
    with pytest.raises(SystemExit):
        main(["check-data", "--config", str(cfg_file)])
    assert f"{path}: missing" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["garbage", "cut"])
def test_undecodable_mp4(damaged, capsys, damage):
    cfg, raw, cfg_file = damaged
    path = stimulus_path(raw, "seg2")
    good = path.read_bytes()
    path.write_bytes(np.random.default_rng(0).bytes(4096) if damage == "garbage" else good[:len(good) // 3])
    one_line_error(*cli(capsys, "prepare", cfg_file), str(path), "cannot decode", "re-download or regenerate")
    run_folder_holds_only_raw(cfg)


# ------------------------------------------------------------------------------------------------- CIFTI
def test_truncated_cifti_leaves_earlier_output_unchanged(damaged, capsys):
    cfg, raw, cfg_file = damaged
    assert cli(capsys, "prepare", cfg_file)[0] == 0
    data_dir = RunPaths.from_config(cfg).data
    before = digest(data_dir)
    path = run_path(raw, "subject1", "seg2", 1)
    path.write_bytes(path.read_bytes()[:-700])
    one_line_error(*cli(capsys, "prepare", cfg_file), str(path), "truncated", "re-download or regenerate")
    assert digest(data_dir) == before, "a failed rerun must leave the previous output as it was"
    # no temp folder left; benchmarks/ holds the successful stage's device record
    assert sorted(p.name for p in data_dir.parent.iterdir()) == ["benchmarks", "data", "raw"]
    assert [p.name for p in (data_dir.parent / "benchmarks").iterdir()] == ["prepare_device.json"]


def _header_claims_other_vertex_count(path: Path) -> None:
    """Rewrite the NIfTI-2 dim[6] (grayordinates) so the data block disagrees with the CIFTI brain axis."""
    blob = bytearray(path.read_bytes())
    dims = struct.unpack_from("<8q", blob, 16)
    struct.pack_into("<q", blob, 16 + 6 * 8, dims[6] - 1)
    path.write_bytes(bytes(blob))


def _other_vertex_set(path: Path) -> None:
    data, grayordinates, tr = read_dtseries(path)
    write_dtseries(path, data[:, :-5], grayordinates[:-5], tr)


def _wrong_mesh(path: Path) -> None:
    """A valid dtseries, but on a 40,962-vertex (fsaverage6-like) mesh instead of fs_LR 32k."""
    data, _, tr = read_dtseries(path)
    series = nib.cifti2.SeriesAxis(start=0.0, step=tr, size=len(data), unit="SECOND")
    brain = nib.cifti2.BrainModelAxis.from_surface(np.arange(data.shape[1]) * 7, 40962, "CortexLeft")
    nib.save(nib.Cifti2Image(data, header=(series, brain)), path)


@pytest.mark.parametrize("damage, says", [
    (_header_claims_other_vertex_count, "wrong number of vertices"),
    (_other_vertex_set, "vertices differ"),
    (_wrong_mesh, f"expected fs_LR 32k ({N_MESH_VERTICES:,}"),
], ids=["data-vs-header", "differs-from-other-runs", "wrong-mesh"])
def test_wrong_number_of_vertices(damaged, capsys, damage, says):
    cfg, raw, cfg_file = damaged
    path = run_path(raw, "subject1", "seg2", 2)
    damage(path)
    one_line_error(*cli(capsys, "prepare", cfg_file), str(path), says)
    run_folder_holds_only_raw(cfg)


def test_wrong_number_of_volumes(damaged, capsys):
    cfg, raw, cfg_file = damaged
    path = run_path(raw, "subject1", "test1", 2)
    data, grayordinates, tr = read_dtseries(path)
    write_dtseries(path, data[:-3], grayordinates, tr)
    line = one_line_error(*cli(capsys, "prepare", cfg_file), str(path), f"{len(data) - 3} volumes",
                          "fmri.exclude_runs")
    assert "re-download" in line
    run_folder_holds_only_raw(cfg)
    check = run_path(raw, "subject1", "test1", 2)
    with pytest.raises(SystemExit):
        main(["check-data", "--config", str(cfg_file)])
    assert f"{check}: {len(data) - 3} volumes" in capsys.readouterr().out


def test_nan_vertices_are_excluded_with_a_warning_naming_the_file(damaged, capsys):
    """NaN vertices are not fatal (real files have a few): they are reported and left out of the selection."""
    cfg, raw, cfg_file = damaged
    path = run_path(raw, "subject1", "seg1", 1)
    data, grayordinates, tr = read_dtseries(path)
    data[:, :4] = np.nan  # whole vertices
    data[10:20, 6] = np.nan  # a vertex with a few NaN volumes
    write_dtseries(path, data, grayordinates, tr)
    with pytest.warns(UserWarning) as caught:
        assert cli(capsys, "prepare", cfg_file)[0] == 0
    messages = [str(w.message) for w in caught if str(path) in str(w.message)]
    assert messages == [f"{path}: 5 vertices are NaN or constant and are left out"]
    prepared = RunPaths.from_config(cfg).data / "subject1"
    voxels = pd.read_csv(prepared / "voxels.csv")
    bad = voxels["grayordinate"].isin(grayordinates[[0, 1, 2, 3, 6]])
    assert bad.sum() == 5 and not voxels.loc[bad, "usable"].any() and not voxels.loc[bad, "selected"].any()
    assert voxels.loc[~bad, "usable"].all()
    for split in ("train", "test"):
        bold = np.load(prepared / f"bold_{split}.npy")
        assert bold.shape[1] == voxels["selected"].sum() and np.isfinite(bold).all()


def test_all_nan_subject_is_reported_with_its_folder(damaged, capsys):
    cfg, raw, cfg_file = damaged
    for path in sorted((raw / "subject1").rglob("*.dtseries.nii")):
        data, grayordinates, tr = read_dtseries(path)
        write_dtseries(path, np.full_like(data, np.nan), grayordinates, tr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = cli(capsys, "prepare", cfg_file)
    one_line_error(*result, str(raw / "subject1"), "NaN or constant", "fmri.voxel_alpha")
    run_folder_holds_only_raw(cfg)


# ------------------------------------------------------------------------------------------------ config
def test_unknown_config_key(damaged, capsys):
    cfg, _, cfg_file = damaged
    raw = yaml.safe_load(cfg_file.read_text())
    raw["sad"]["hiden_dim"] = 64
    cfg_file.write_text(yaml.safe_dump(raw))
    one_line_error(*cli(capsys, "prepare", cfg_file), str(cfg_file), "unknown key 'sad.hiden_dim'",
                   "hidden_dim")
    run_folder_holds_only_raw(cfg)


@pytest.mark.parametrize("key", ["vae", "t2i", "motion_adapter"])
def test_config_pointing_at_a_missing_model_folder(damaged, capsys, key):
    cfg, _, cfg_file = damaged
    raw = yaml.safe_load(cfg_file.read_text())
    raw["priors"][key] = "/nonexistent/priors"
    cfg_file.write_text(yaml.safe_dump(raw))
    one_line_error(*cli(capsys, "train-mad", cfg_file), str(cfg_file), f"priors.{key}", "/nonexistent/priors",
                   "no such file or folder")
    run_folder_holds_only_raw(cfg)


# ------------------------------------------------------------------------------------------- caption cache
def test_corrupt_caption_cache_line(damaged, capsys):
    cfg, _, cfg_file = damaged
    assert cli(capsys, "prepare", cfg_file)[0] == 0
    assert cli(capsys, "caption", cfg_file)[0] == 0
    folder = RunPaths.from_config(cfg).captions
    cache, table = folder / "captions.jsonl", folder / "captions.csv"
    lines = cache.read_text().splitlines()
    lines[2] = lines[2][: len(lines[2]) // 2]  # a damaged line in the middle (not an interrupted last write)
    cache.write_text("\n".join(lines) + "\n")
    before = table.read_bytes(), table.stat().st_mtime_ns
    one_line_error(*cli(capsys, "caption", cfg_file), f"{cache}:3", "corrupt", "delete that line")
    assert (table.read_bytes(), table.stat().st_mtime_ns) == before
    assert sorted(p.name for p in folder.iterdir()) == ["captions.csv", "captions.jsonl"]
