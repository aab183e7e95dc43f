"""environment.yml (conda/Binder) must list exactly the dependencies of pyproject.toml."""

import os
import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return {_norm(r.name): r for r in map(Requirement, reqs)}


def _environment_requirements() -> dict[str, Requirement]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict)]
    assert len(pip_lists) == 1, "environment.yml must have exactly one pip: section"
    reqs = [line for line in pip_lists[0] if not line.startswith("-")]
    return {_norm(r.name): r for r in map(Requirement, reqs)}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_environment_lists_the_same_packages_as_pyproject():
    assert set(_environment_requirements()) == set(_pyproject_requirements())


def test_environment_versions_agree_with_pyproject():
    py, env = _pyproject_requirements(), _environment_requirements()
    for name, req in env.items():
        if name == "torch":  # pinned to the CPU build in the environment; pyproject states the range
            assert all(py["torch"].specifier.contains(v.version) for v in req.specifier)
            continue
        assert req.specifier == py[name].specifier, f"{name}: environment.yml {req} vs pyproject {py[name]}"


def test_binder_installs_the_package_after_the_environment():
    """repo2docker builds environment.yml before the repository is copied in, so a `-e .` there breaks Binder;
    the executable postBuild installs the package instead."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict))
    assert not any(line.strip().startswith("-e") for line in pip), "install the package in postBuild, not here"
    assert not any("torchvision" in line for line in pip), "torchvision breaks beside the CPU torch build"
    post_build = ROOT / "postBuild"
    assert os.access(post_build, os.X_OK), "postBuild must be executable for repo2docker to run it"
    assert "pip install --no-deps -e ." in post_build.read_text()
