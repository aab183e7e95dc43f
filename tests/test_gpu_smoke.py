"""The GPU smoke check (semvideo.gpu_smoke, scripts/gpu_smoke.sh) on the CPU: every stage of the real configs'
code paths runs on tiny random-config models of the real architectures, so the GPU check cannot rot."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from semvideo.gpu_smoke import COMPUTE_STAGES, STAGES, check

ROOT = Path(__file__).resolve().parents[1]


def test_check_names_a_stage_that_stayed_off_the_gpu():
    report = {s: {"device": "cuda:0", "peak_cuda_mb": 12.5} for s in STAGES}
    check(report, "cuda")
    report["render"]["peak_cuda_mb"] = 0.0
    with pytest.raises(AssertionError, match="render allocated no CUDA memory"):
        check(report, "cuda")
    report["render"] = {"device": "cpu"}
    with pytest.raises(AssertionError, match="render ran on cpu, not cuda"):
        check(report, "cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only machine's error")
def test_the_script_refuses_cuda_without_a_gpu_in_one_line(tmp_path):
    run = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_smoke.sh"), "cuda", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1].startswith("error: the config says device: cuda")
    assert not (tmp_path / "models").exists()


@pytest.mark.slow
def test_every_stage_runs_the_real_architectures_on_the_cpu(tmp_path):
    run = subprocess.run([sys.executable, "-m", "semvideo.gpu_smoke", "--device", "cpu", "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr[-4000:]
    assert "gpu smoke: every compute stage ran on cpu" in run.stdout
    report = json.loads((tmp_path / "results" / "gpu_smoke" / "gpu_smoke.json").read_text())
    assert list(report) == list(STAGES)
    assert all(report[s]["device"] == "cpu" for s in COMPUTE_STAGES)
    results = tmp_path / "results" / "gpu_smoke"
    # the real configs' settings reached the stages: bf16 training and inference, the real architectures
    assert json.loads((results / "sad" / "pred" / "done.json").read_text())["device"]["mixed_precision"] == "bf16"
    assert json.loads((results / "recon" / "timing.json").read_text())["device"]["dtype"] == "torch.bfloat16"
    unet = json.loads((tmp_path / "models" / "sd" / "unet" / "config.json").read_text())
    assert unet["_class_name"] == "UNet2DConditionModel" and unet["cross_attention_dim"] == 768
    assert (results / "metrics" / "subject1_scores.csv").exists()
