"""Config loading: the shipped configs validate, and every kind of bad file fails with one clear line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semvideo.config import PACKAGE_CONFIGS, Config, ConfigError, load_config, resolve_config_path
from semvideo.paths import DATA_ENV, RunPaths

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "config").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_configs_load(path):
    cfg = load_config(path)
    assert isinstance(cfg, Config)
    assert cfg.name and cfg.subjects


def test_default_is_the_cpu_twin():
    cfg = load_config(ROOT / "config" / "default.yaml")
    assert (cfg.world, cfg.device) == ("twin", "cpu")
    assert cfg.results_dir == Path("results") / cfg.name


def _write(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


def _error(path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message, "errors must be one line"
    assert str(path) in message, "errors must name the file"
    return message


def test_unknown_nested_key_names_key_file_and_allowed(tmp_path):
    message = _error(_write(tmp_path, "name: x\nsad:\n  hiden_dim: 3\n"))
    assert "sad.hiden_dim" in message and "hidden_dim" in message


def test_unknown_top_level_key(tmp_path):
    message = _error(_write(tmp_path, "name: x\nepochs: 3\n"))
    assert "'epochs'" in message and "world" in message


def test_mistyped_value_names_the_key(tmp_path):
    message = _error(_write(tmp_path, "name: x\nsad:\n  hidden_dim: ten\n"))
    assert "sad.hidden_dim" in message and "integer" in message


def test_bad_choice_lists_allowed_values(tmp_path):
    message = _error(_write(tmp_path, "name: x\nworld: mars\n"))
    assert "'twin'" in message and "'cc2017'" in message and "'hcp'" in message


def test_missing_name_and_missing_file(tmp_path):
    assert "name" in _error(_write(tmp_path, "world: twin\n"))
    assert "not found" in _error(tmp_path / "nope.yaml")


def test_not_yaml_and_not_a_mapping(tmp_path):
    assert "YAML" in _error(_write(tmp_path, "name: [unclosed\n"))
    assert "mapping" in _error(_write(tmp_path, "- a\n- b\n"))


def test_twin_subject_count_must_match(tmp_path):
    message = _error(_write(tmp_path, "name: x\nsubjects: [subject1]\n"))
    assert "n_subjects" in message


def test_video_judge_cannot_look_at_more_frames_than_a_clip_has(tmp_path):
    message = _error(_write(tmp_path, "name: x\nfmri:\n  frames_per_clip: 4\neval:\n"
                                      "  video_judge_appearance_frames: 5\n"))
    assert "video_judge_appearance_frames (5)" in message and "frames_per_clip (4)" in message


@settings(max_examples=25, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=12))
def test_any_unknown_sad_key_is_rejected(tmp_path_factory, key):
    if key in Config.model_fields["sad"].annotation.model_fields:
        return
    path = _write(tmp_path_factory.mktemp("cfg"), f"name: x\nsad:\n  {key}: 1\n")
    message = _error(path)
    # YAML turns words such as `yes` or `off` into booleans: those are reported as non-text keys.
    assert f"sad.{key}" in message or "under 'sad' is not text" in message


def test_real_worlds_need_a_data_root(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_ENV, raising=False)
    cfg = load_config(_write(tmp_path, "name: x\nworld: cc2017\n"))
    with pytest.raises(ValueError, match=DATA_ENV):
        RunPaths.from_config(cfg)
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert RunPaths.from_config(cfg).data_root == tmp_path


def test_torch_threads_is_applied_only_when_set():
    import torch

    from semvideo.__main__ import apply_torch_threads

    before = torch.get_num_threads()
    try:
        apply_torch_threads(Config(name="t", torch_threads=None))
        assert torch.get_num_threads() == before
        other = 1 if before != 1 else 2
        apply_torch_threads(Config(name="t", torch_threads=other))
        assert torch.get_num_threads() == other
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError):
        Config(name="t", torch_threads=0)


def test_ablation_and_convention_subjects_default_to_the_first_and_an_empty_list_means_none():
    from semvideo.plan import ablation_subjects, convention_subjects, render_jobs

    cfg = Config(name="t", subjects=["subject1", "subject2"], twin={"n_subjects": 2})
    assert ablation_subjects(cfg) == ["subject1"] and convention_subjects(cfg) == ["subject1"]
    none = cfg.model_copy(update={"eval": cfg.eval.model_copy(update={"ablation_subjects": [],
                                                                      "convention_subjects": []})})
    assert ablation_subjects(none) == [] and convention_subjects(none) == []
    assert {m for m, _ in render_jobs(none)} < {m for m, _ in render_jobs(cfg)}  # Table 1's renders only
    assert {s for _, s in render_jobs(none)} == {"subject1", "subject2"}


def test_a_shipped_config_loads_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no config/ here: the package's copy answers
    cfg = load_config("smoke")
    assert cfg.name == "smoke" and resolve_config_path("smoke") == PACKAGE_CONFIGS / "smoke.yaml"
    shipped = load_config("default").priors.vae  # semvideo/assets/… is not here either: the package's folder
    assert Path(shipped).is_absolute() and (Path(shipped) / "config.json").exists()
    with pytest.raises(ConfigError, match=r"nosuch: config file not found; .*'default', 'hcp'"):
        load_config("nosuch")


def test_a_local_config_and_local_assets_come_first(tmp_path, monkeypatch):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "smoke.yaml").write_text("name: mine\n")
    monkeypatch.chdir(tmp_path)
    assert load_config("smoke").name == "mine"
    monkeypatch.chdir(ROOT)  # in the clone the shipped paths stay as written (fingerprints do not move)
    assert load_config("default").priors.vae == "semvideo/assets/twin_priors/vae"


def test_a_stage_sets_a_passive_openmp_wait_policy_before_torch_loads():
    """libgomp reads OMP_WAIT_POLICY once, when torch loads: the stage entry point must set it first, and leave a
    policy the environment chose alone."""
    code = ("import os, sys; from semvideo.__main__ import apply_torch_threads; from semvideo.config import Config; "
            "loaded = 'torch' in sys.modules; apply_torch_threads(Config(name='t', torch_threads=1)); "
            "import torch; print(loaded, os.environ['OMP_WAIT_POLICY'], torch.get_num_threads())")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    for policy, expected in ((None, "False PASSIVE 1"), ("ACTIVE", "False ACTIVE 1")):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env if policy is None else {**env, "OMP_WAIT_POLICY": policy})
        assert done.stdout.strip() == expected, done.stderr[-500:]
