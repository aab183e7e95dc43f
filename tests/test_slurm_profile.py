"""The SLURM profile (workflow/profiles/slurm) gives every rule its resources (partition, GPU, memory,
runtime).

The dry run needs the executor plugin (snakemake-executor-plugin-slurm) but no SLURM: `snakemake -n` plans the
jobs and prints each job's resources without calling sbatch.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "workflow" / "profiles" / "slurm" / "config.yaml"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
REQUIRED = ("slurm_partition", "cpus_per_task", "mem_mb", "runtime")


def rule_names() -> set[str]:
    """Every rule defined in workflow/rules/*.smk (the top-level `all` only collects files)."""
    return {name for path in (ROOT / "workflow" / "rules").glob("*.smk")
            for name in re.findall(r"^\s*rule\s+(\w+)\s*:", path.read_text(), flags=re.MULTILINE)}


def profile() -> dict:
    return yaml.safe_load(PROFILE.read_text())


def test_profile_lists_every_rule_with_partition_gpu_memory_and_runtime():
    settings = profile()
    assert settings["executor"] == "slurm"
    resources = settings["set-resources"]
    rules = rule_names()
    assert len(rules) >= 16
    assert set(resources) == rules, (f"missing: {sorted(rules - set(resources))}, "
                                     f"unknown: {sorted(set(resources) - rules)}")
    for rule, res in resources.items():
        for key in REQUIRED:
            assert key in res, f"{rule} has no {key}"
        assert isinstance(res["mem_mb"], int) and res["mem_mb"] >= 1000
        assert isinstance(res["runtime"], int) and res["runtime"] >= 10  # minutes
        wants_gpu = res["slurm_partition"] == "gpu"
        assert (res.get("gpu", 0) >= 1) == wants_gpu, f"{rule}: a GPU exactly on the gpu partition"
    for rule in ("caption", "embed", "train_sad", "train_mad", "train_priors", "render"):
        assert resources[rule].get("gpu") == 1, f"{rule} runs the paper's models on a GPU"
    for rule in ("generate_twin", "prepare") + tuple(r for r in rules if r.startswith("nb_")):
        assert "gpu" not in resources[rule], f"{rule} is a CPU job"


def test_no_option_the_executor_manages_is_passed_through_slurm_extra():
    validation = pytest.importorskip("snakemake_executor_plugin_slurm.validation")
    forbidden = validation.get_forbidden_slurm_options()
    settings = profile()
    for rule, res in {"default": settings["default-resources"], **settings["set-resources"]}.items():
        extra = str(res.get("slurm_extra", ""))
        for pattern, option in forbidden.items():
            assert not re.search(pattern, extra), f"{rule}: slurm_extra sets the {option}; use a resource"


def _planned_resources(output: str) -> dict[str, dict[str, str]]:
    """rule → {resource: value} from a dry run's job listing."""
    planned = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        head = re.match(r"(?:local)?rule (\w+):", block)
        found = re.search(r"^\s+resources: (.*)$", block, flags=re.MULTILINE)
        if head and found:
            planned[head.group(1)] = dict(item.split("=", 1) for item in found.group(1).split(", "))
    return planned


#: rules that only some configs plan: the twin's generator (twin worlds) and the nested HCP-layout twin run
#: (the default twin only; workflow/rules/10_hcp_twin.smk)
NOT_PLANNED = {"config/smoke.yaml": {"hcp_twin"}, "config/cc2017.yaml": {"generate_twin", "hcp_twin"},
               "config/default.yaml": set()}


@pytest.mark.parametrize("cfg", sorted(NOT_PLANNED))
def test_dry_run_gives_every_rule_its_resources(cfg):
    pytest.importorskip("snakemake_executor_plugin_slurm")
    run = subprocess.run([str(SNAKEMAKE), "all", "-n", "--forceall", "--profile", str(PROFILE.parent),
                          "--config", f"cfg={cfg}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    planned = _planned_resources(run.stdout + run.stderr)
    expected = profile()["set-resources"]
    jobs = set(planned) - {"all"}
    assert jobs == rule_names() - NOT_PLANNED[cfg]
    for rule in jobs:
        want, got = expected[rule], planned[rule]
        for key in ("mem_mb", "runtime", "cpus_per_task", "gpu"):
            if key in want:
                assert got.get(key) == str(want[key]), (rule, key, got)
        assert "slurm_partition" in got  # a string resource: evaluated at submission (shown as <TBD>)
