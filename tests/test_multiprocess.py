"""Multi-process training under `accelerate launch --multi_gpu --num_processes 2` on the CPU (gloo): train-sad and train-mad on a
tiny twin. Both processes train (one line each from semvideo.train.fit), only the main process writes, the saved
models load, a launch stopped mid-training resumes from its checkpoint, and a second launch resumes finished
training instead of repeating it."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import generated_and_prepared, tiny_config

ROOT = Path(__file__).resolve().parents[1]
ACCELERATE = Path(sys.executable).parent / "accelerate"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
TOKENS, DIM = 8, 16  # tiny text targets: what SAD decodes and MAD attends to


def _launch(cfg_file: Path, command: str) -> list[str]:
    # accelerate's torchrun launcher; on this CPU-only machine the device policy joins the processes with gloo
    return [str(ACCELERATE), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
            "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "semvideo", command,
            "--config", str(cfg_file)]


def _fit_lines(stderr: str, desc: str) -> list[tuple[str, str]]:
    """(process, span) of every ``fit <desc>: process i/n on <device>, <span>`` line (tqdm bars of the main
    process may share a line with them)."""
    return re.findall(rf"fit {re.escape(desc)}: process (\d/\d) on \S+, (resumes at epoch \d+ of \d+|epochs 0–\d+)",
                      stderr)


def _run(cfg_file: Path, command: str) -> subprocess.CompletedProcess:
    run = subprocess.run(_launch(cfg_file, command), check=False, cwd=ROOT, env=ENV, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]
    return run


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny prepared twin, random text targets, a tiny saved VAE and the config file that names them."""
    import torch

    from semvideo.models.priors import build_vae

    tmp = tmp_path_factory.mktemp("mp")
    cfg, paths = generated_and_prepared(tiny_config(tmp))
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        n = len(np.load(paths.data / "subject1" / f"bold_{split}.npy", mmap_mode="r"))
        for level in ("anchor", "motion", "holi"):
            paths.embeddings.mkdir(parents=True, exist_ok=True)
            np.save(paths.embeddings / f"{level}_{split}.npy", rng.standard_normal((n, TOKENS, DIM), np.float32))
    torch.manual_seed(0)
    build_vae(cfg.twin.frame_size, 4, 4, width=8).save_pretrained(tmp / "vae")
    raw = cfg.model_dump(mode="json")
    raw["sad"].update(hidden_dim=16, prior_layers=1, prior_heads=1, prior_head_dim=8, prior_timesteps=10,
                      prior_sample_steps=2, pretrain_epochs=30, finetune_epochs=2, batch_size=8,
                      single_subject_levels=[], baseline_levels=[])
    raw["mad"].update(hidden_dim=16, mlp_dim=16, proj_channels=4, proj_size=2, block_channels=[8, 8, 8],
                      norm_groups=4, epochs=2, batch_size=16, flow_readout=False)
    raw["priors"]["vae"] = str(tmp / "vae")
    cfg_file = tmp / "mp.yaml"
    cfg_file.write_text(yaml.safe_dump(raw))
    return cfg_file, paths


@pytest.mark.slow
def test_two_processes_train_sad_and_mad_write_once_and_resume(world):
    from semvideo.models.mad import MotionAdaptationDecoder
    from semvideo.models.sad import SemanticAlignmentDecoder

    cfg_file, paths = world
    # 1. train-sad, stopped once its first model has a checkpoint past epoch 1, then launched again
    killed = subprocess.Popen(_launch(cfg_file, "train-sad"), cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    ckpt = paths.sad / "ckpt" / "anchor" / "pretrain"
    deadline = time.monotonic() + 240
    while killed.poll() is None and time.monotonic() < deadline:
        if any(int(p.stem.split("_")[1]) >= 1 for p in ckpt.glob("epoch_*.pt")):
            # SIGTERM: torchrun runs its workers in sessions of their own and stops them on SIGTERM (a SIGKILL
            # of the launcher would leave them training), as a scheduler's cancel does
            os.killpg(killed.pid, signal.SIGTERM)
            break
        time.sleep(0.01)
    killed.wait(60)
    assert killed.returncode != 0, "train-sad finished before it could be stopped; raise sad.pretrain_epochs"
    stopped = sorted(ckpt.glob("epoch_*.pt"))
    time.sleep(2)
    assert sorted(ckpt.glob("epoch_*.pt")) == stopped, "a worker outlived its launcher"
    assert not (paths.sad / "anchor" / "config.json").exists(), "stopped too late: raise sad.pretrain_epochs"
    run = _run(cfg_file, "train-sad")
    lines = _fit_lines(run.stderr, "SAD anchor/pretrain")
    assert sorted(process for process, _ in lines) == ["1/2", "2/2"], lines  # both processes train
    assert all(span.startswith("resumes at epoch") for _, span in lines), lines  # both resumed past epoch 0
    assert set(pd.read_csv(ckpt / "losses.csv")["epoch"]) == set(range(30))  # the killed epochs' rows kept
    for level in ("anchor", "motion", "holi"):
        model = SemanticAlignmentDecoder.from_pretrained(paths.sad / f"{level}_subject1")
        assert model.config.n_tokens == TOKENS
        assert np.load(paths.sad / "pred" / f"subject1_{level}_refined.npy").shape[1:] == (TOKENS, DIM)
    assert (paths.sad / "pred" / "done.json").exists()
    assert not list(paths.sad.rglob(".*.tmp*"))  # no leftover temporary files from a second writer

    # 2. train-mad on two processes, then a second launch that resumes the finished checkpoints
    first = _run(cfg_file, "train-mad")
    mad_lines = _fit_lines(first.stderr, "MAD subject1")
    assert sorted(mad_lines) == [
        ("1/2", "epochs 0–1"), ("2/2", "epochs 0–1")], mad_lines
    for suffix in ("", "_wo_motion"):
        model = MotionAdaptationDecoder.from_pretrained(paths.mad / f"subject1{suffix}")
        assert np.load(paths.mad / "pred" / f"subject1{suffix}_latents.npy").shape[2:] == (4, 8, 8)
        assert model.config.n_voxels > 0
    second = _run(cfg_file, "train-mad")
    resumed = sorted(_fit_lines(second.stderr, "MAD subject1"))
    assert resumed == [("1/2", "resumes at epoch 2 of 2"), ("2/2", "resumes at epoch 2 of 2")], resumed
