"""The one device and precision policy (semvideo.device): a config naming a missing GPU stops every compute
stage in one line; models, batches and outputs land on the resolved device; the config's dtype reaches the
models (inference) and accelerate (mixed-precision training)."""

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from semvideo.config import Config
from semvideo.device import (
    DeviceError,
    mixed_precision,
    peak_memory,
    place,
    resolve_device,
    resolve_dtype,
    training_kwargs,
)
from semvideo.train import constant_schedule, fit

NO_CUDA = not torch.cuda.is_available()


def _cfg(**kw) -> Config:
    return Config(name="dev", subjects=["subject1"], twin={"n_subjects": 1}, **kw)


@pytest.mark.skipif(not NO_CUDA, reason="checks the CPU-only machine's error")
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_cuda_is_one_line(name):
    with pytest.raises(DeviceError) as err:
        resolve_device(_cfg(device=name))
    message = str(err.value)
    assert "\n" not in message and f"device: {name}" in message and "device: cpu" in message


def test_bad_device_name_is_one_line():
    with pytest.raises(DeviceError, match="not a device"):
        resolve_device("gpu")


def test_cpu_and_dtypes_resolve():
    assert resolve_device(_cfg()) == torch.device("cpu")
    assert resolve_dtype(_cfg(dtype="bfloat16")) is torch.bfloat16
    assert resolve_dtype(_cfg(dtype="float16")) is torch.float16
    assert resolve_dtype(_cfg(dtype="float16"), override="bfloat16") is torch.bfloat16  # semminer.dtype wins
    assert mixed_precision(_cfg()) == "no" and mixed_precision(_cfg(dtype="bfloat16")) == "bf16"
    assert training_kwargs(_cfg()) == {"device": torch.device("cpu"), "mixed_precision": "no"}


def test_fp16_training_on_the_cpu_is_refused_in_one_line():
    with pytest.raises(DeviceError, match="needs a CUDA device"):
        mixed_precision(_cfg(dtype="float16"))


def test_place_moves_and_casts():
    model = place(torch.nn.Linear(3, 2), _cfg(dtype="bfloat16"))
    assert model.weight.dtype is torch.bfloat16 and model.weight.device.type == "cpu"


def test_peak_memory_records_the_device():
    record = {}
    with peak_memory(torch.device("cpu"), record):
        torch.ones(3).sum()
    assert record["device"] == "cpu" and record["seconds"] >= 0 and "peak_cuda_mb" not in record


@pytest.mark.skipif(not NO_CUDA, reason="checks the CPU-only machine's error")
@pytest.mark.parametrize("command", ["train-sad", "train-mad", "render", "evaluate"])
def test_every_compute_stage_stops_before_work(tmp_path, capsys, command):
    """`python -m semvideo <stage>` with device: cuda on this CPU machine: exit 2, one line, nothing written."""
    from semvideo.__main__ import main

    path = tmp_path / "cuda.yaml"
    path.write_text(yaml.safe_dump({"name": "cuda", "device": "cuda", "subjects": ["subject1"],
                                    "twin": {"n_subjects": 1}, "paths": {"results": str(tmp_path / "r")}}))
    assert main([command, "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the config says device: cuda") and "\n" not in err
    assert not (tmp_path / "r").exists()


def _problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 4, generator=g)
    return x, x @ torch.arange(1.0, 5.0)[:, None]


def test_fit_moves_the_model_and_batches_to_the_device(tmp_path):
    seen = []

    def step(model, batch, generator):
        x, y = batch
        seen.append((x.device, next(model.parameters()).device))
        return {"loss": ((model(x) - y) ** 2).mean()}

    model = torch.nn.Linear(4, 1)
    fit(model, step, _problem(), ckpt_dir=tmp_path / "c", epochs=1, batch_size=16, lr=0.1,
        schedule=constant_schedule, device=torch.device("cpu"))
    assert seen and all(d == (torch.device("cpu"),) * 2 for d in seen)


def test_bf16_mixed_precision_reaches_the_step_and_keeps_float32_weights(tmp_path):
    """dtype bfloat16 → accelerate bf16: activations inside the step are bf16, weights and grads float32."""
    dtypes = []

    def step(model, batch, generator):
        x, y = batch
        out = model(x)
        dtypes.append(out.dtype)
        return {"loss": ((out.float() - y) ** 2).mean()}

    model = torch.nn.Linear(4, 1)
    log = fit(model, step, _problem(), ckpt_dir=tmp_path / "c", epochs=30, batch_size=16, lr=0.1,
              schedule=constant_schedule, **training_kwargs(_cfg(dtype="bfloat16")))
    assert set(dtypes) == {torch.bfloat16}
    assert model.weight.dtype is torch.float32 and np.isfinite(log["loss"]).all()
    assert log["loss"].iloc[-2:].mean() < 0.1 * log["loss"].iloc[:2].mean()


def test_sad_and_mad_predict_on_the_model_device():
    from semvideo.models.mad import MotionAdaptationDecoder, predict_mad
    from semvideo.models.sad import SemanticAlignmentDecoder, predict

    sad = SemanticAlignmentDecoder(["s"], [10], hidden_dim=16, n_tokens=4, embed_dim=8, prior_layers=1,
                                   prior_heads=1, prior_head_dim=8, prior_timesteps=5).to("cpu")
    mlp, refined = predict(sad, np.ones((3, 10), np.float32), "s", steps=2, seed=0)
    assert mlp.shape == refined.shape == (3, 4, 8) and mlp.dtype == np.float32
    mad = MotionAdaptationDecoder(10, n_frames=2, proj_hidden=8, mlp_dim=8, proj_channels=4, proj_size=2,
                                  block_channels=(8, 8, 8), latent_size=4, text_dim=8, norm_groups=4).to("cpu")
    e_hat = predict_mad(mad, np.ones((3, 10), np.float32), np.ones((3, 4, 8), np.float32))
    assert e_hat.shape == (3, 2, 4, 4, 4) and e_hat.dtype == np.float32


def test_render_pipeline_takes_device_and_dtype_from_config(tmp_path):
    from semvideo.models.cvr import load_pipeline
    from tests.test_cvr import save_sd_layout

    save_sd_layout(tmp_path)
    cfg = Config(name="real", world="cc2017", dtype="bfloat16", priors={
        "vae": str(tmp_path / "sd"), "t2i": str(tmp_path / "sd"), "motion_adapter": str(tmp_path / "adapter"),
        "sparsectrl": str(tmp_path / "sparsectrl")})
    pipe = load_pipeline(cfg)
    for part in (pipe.vae, pipe.unet, pipe.motion_unet, pipe.controlnet):
        assert part.dtype is torch.bfloat16 and part.device.type == "cpu"


def _sleeping_stage(cfg):
    time.sleep(0.05)


def _bad_input_stage(cfg):
    from semvideo.io import InputError

    raise InputError("x.npy: missing; run prepare")


def test_every_command_records_its_device_and_seconds(tmp_path, monkeypatch):
    """`python -m semvideo <command>` writes results/<name>/benchmarks/<command>_device.json after the stage."""
    from semvideo.__main__ import COMMANDS, main

    path = tmp_path / "twin.yaml"
    path.write_text(yaml.safe_dump({"name": "tiny", "subjects": ["subject1"], "twin": {"n_subjects": 1},
                                    "paths": {"results": str(tmp_path / "r")}}))
    record = tmp_path / "r" / "tiny" / "benchmarks" / "check-data_device.json"
    monkeypatch.setitem(COMMANDS, "check-data", "tests.test_device:_bad_input_stage")
    assert main(["check-data", "--config", str(path)]) == 2 and not record.exists()  # a failed stage: no record
    monkeypatch.setitem(COMMANDS, "check-data", "tests.test_device:_sleeping_stage")
    assert main(["check-data", "--config", str(path)]) == 0
    written = json.loads(record.read_text())
    assert written["command"] == "check-data" and written["device"] == "cpu" and written["seconds"] >= 0.05


STARTED: list[str] = []


def _noting_stage(cfg):
    STARTED.append(cfg.name)


def test_upstream_runs_the_unfinished_stages_before_a_command_in_order(tmp_path, monkeypatch):
    """`--upstream`: the stages before the command that have no record made with this config run in workflow
    order, then the command; the twin's generator is skipped outside the twin world."""
    from semvideo.__main__ import COMMANDS, PIPELINE, config_digest, main, stages_to_run
    from semvideo.config import load_config

    path = tmp_path / "twin.yaml"
    path.write_text(yaml.safe_dump({"name": "tiny", "subjects": ["subject1"], "twin": {"n_subjects": 1},
                                    "paths": {"results": str(tmp_path / "r")}}))
    cfg = load_config(path)
    assert stages_to_run(cfg, "embed") == ["generate-twin", "prepare", "caption", "embed"]
    assert stages_to_run(cfg, "check-data") == ["check-data"]
    real = cfg.model_copy(update={"world": "cc2017"})
    assert stages_to_run(real, "prepare") == ["prepare"]
    for command in PIPELINE:
        monkeypatch.setitem(COMMANDS, command, "tests.test_device:_noting_stage")
    records = tmp_path / "r" / "tiny" / "benchmarks"
    records.mkdir(parents=True)
    (records / "prepare_device.json").write_text(json.dumps({"config": config_digest(cfg)}))  # prepare has finished
    (records / "caption_device.json").write_text(json.dumps({"config": "other settings"}))  # caption must run again
    STARTED.clear()
    assert main(["caption", "--upstream", "--config", str(path)]) == 0
    assert len(STARTED) == 2 and stages_to_run(cfg, "caption") == []  # generate-twin and caption ran and recorded
    assert main(["caption", "--upstream", "--config", str(path)]) == 0 and len(STARTED) == 2  # nothing left to do


def test_a_notebook_opened_interactively_builds_what_it_reads_and_under_snakemake_builds_nothing(tmp_path,
                                                                                               monkeypatch):
    """`semvideo.notebook.open_run`: interactively, from a clone's notebooks/, it moves to the project root and
    starts `python -m semvideo <stage> --upstream` for the unfinished stages; headless (papermill under
    Snakemake) it only loads the config; with nothing left to build it starts nothing."""
    from semvideo import notebook
    from semvideo.__main__ import config_digest

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "Snakefile").write_text("")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "tiny.yaml").write_text(yaml.safe_dump(
        {"name": "tiny", "subjects": ["subject1"], "twin": {"n_subjects": 1}}))
    started = []
    monkeypatch.setattr(notebook.subprocess, "run", lambda args, check: started.append(args[2:]))
    monkeypatch.setenv("SEMVIDEO_HEADLESS", "1")
    monkeypatch.chdir(tmp_path)
    assert notebook.open_run("tiny", "caption").name == "tiny" and started == []
    monkeypatch.delenv("SEMVIDEO_HEADLESS")
    monkeypatch.chdir(tmp_path / "notebooks")
    cfg = notebook.open_run("tiny", "caption")
    assert Path.cwd() == tmp_path and cfg.name == "tiny"  # `results/` now means the project's
    assert started == [["semvideo", "caption", "--upstream", "--config", "tiny"]]
    records = tmp_path / "results" / "tiny" / "benchmarks"
    records.mkdir(parents=True)
    for stage in ("generate-twin", "prepare", "caption"):
        (records / f"{stage}_device.json").write_text(json.dumps({"config": config_digest(cfg)}))
    notebook.open_run("tiny", "caption")
    assert len(started) == 1  # everything it reads has finished
    monkeypatch.chdir(tmp_path / "config")
    assert notebook.use_project_root() == tmp_path / "config"  # only a clone's notebooks/ moves
