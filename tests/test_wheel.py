"""The walkthrough outside a clone (Colab, a pip install): the wheel carries the shipped configs and twin priors,
and notebook 01 runs on the smoke config from a temporary folder with nothing of the repository beside it."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list, cwd: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False,
                          timeout=timeout)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict]:
    """A fresh venv holding the built wheel; the test environment's other packages (torch, diffusers, …) are
    reached through a .pth file, so nothing is downloaded and the clone's editable install is not on the path."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"  # a copy, so that the build leaves nothing in the clone
    for name in ("semvideo", "config"):
        shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", tmp / "dist", source],
         cwd=tmp)
    wheel = next((tmp / "dist").glob("semvideo-*.whl"))
    _run([sys.executable, "-m", "venv", "--without-pip", tmp / "venv"], cwd=tmp)
    python = tmp / "venv" / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=tmp).stdout.strip())
    (site / "test_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", site, wheel], cwd=tmp)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "SEMVIDEO_HEADLESS")}
    env.update(PATH=f"{python.parent}{os.pathsep}{env['PATH']}", OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    return python, env


@pytest.mark.slow
def test_the_wheel_carries_configs_priors_and_judges(installed, tmp_path):
    python, env = installed
    probe = ("import json, semvideo; from semvideo.config import load_config, shipped_configs; "
             "cfg = load_config('default'); print(json.dumps([semvideo.__file__, shipped_configs(), cfg.priors.vae, "
             "cfg.priors.t2i, cfg.eval.twin_judges + '/image', cfg.eval.twin_judges + '/video']))")
    module, names, *folders = json.loads(_run([python, "-c", probe], cwd=tmp_path, env=env).stdout)
    assert str(python.parents[1]) in module  # the installed copy, not the clone
    assert {"default", "smoke", "cc2017", "hcp"} <= set(names)
    for folder in folders:
        assert Path(folder).is_absolute() and (Path(folder) / "diffusion_pytorch_model.safetensors").exists()


@pytest.mark.slow
def test_notebook_01_runs_outside_a_clone(installed, tmp_path):
    """As on Colab or Binder: nothing is built beforehand; the notebook's `open_run` builds what it reads."""
    python, env = installed
    notebook = tmp_path / "01_preprocessing.ipynb"
    _run([python, "-m", "jupytext", "--to", "ipynb", "--output", notebook, ROOT / "notebooks" / "01_preprocessing.py"],
         cwd=tmp_path, env=env)
    _run([python, "-m", "papermill", notebook, tmp_path / "executed.ipynb", "--kernel", "python3", "--cwd", tmp_path,
          "-p", "config_path", "smoke", "-p", "out_dir", "results/smoke"], cwd=tmp_path, env=env)
    assert (tmp_path / "results" / "smoke" / "benchmarks" / "prepare_device.json").exists()
    figures = tmp_path / "results" / "smoke" / "figures"  # config/smoke.yaml's paths.figures
    assert list(figures.glob("*.png")), "notebook 01 saved no figure"
