"""semvideo.distributed: accelerate under `accelerate launch`, a no-op single-process path otherwise."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from semvideo.distributed import launched_with_accelerate, prepare

ROOT = Path(__file__).resolve().parents[1]


def _setup(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.GELU(), torch.nn.Linear(16, 3))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 / (1 + s))
    data = torch.utils.data.TensorDataset(torch.randn(40, 6, generator=torch.Generator().manual_seed(1)),
                                          torch.randn(40, 3, generator=torch.Generator().manual_seed(2)))
    loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=False)
    return model, optimizer, loader, scheduler


def _train(dist, epochs=3):
    losses = []
    for _ in range(epochs):
        for x, y in dist.dataloader:
            loss = ((dist.model(x.to(dist.device)) - y.to(dist.device)) ** 2).mean()
            dist.optimizer.zero_grad()
            dist.backward(loss)
            dist.clip_grad_norm_(0.5)
            dist.optimizer.step()
            dist.scheduler.step()
            losses.append(loss.item())
    return losses, {k: v.detach().cpu() for k, v in dist.unwrap_model().state_dict().items()}


def test_plain_path_returns_the_same_objects(monkeypatch):
    monkeypatch.delenv("ACCELERATE_MIXED_PRECISION", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert not launched_with_accelerate()
    model, optimizer, loader, scheduler = _setup()
    dist = prepare(model, optimizer, loader, scheduler=scheduler)
    assert dist.accelerator is None and dist.model is model and dist.optimizer is optimizer
    assert dist.dataloader is loader and dist.scheduler is scheduler
    assert dist.num_processes == 1 and dist.is_main_process and dist.unwrap_model() is model
    index = torch.arange(10)
    assert torch.equal(dist.shard(index), index)


def test_launch_is_detected_from_the_environment(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "no")
    assert launched_with_accelerate()
    monkeypatch.delenv("ACCELERATE_MIXED_PRECISION")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert launched_with_accelerate()


def test_single_process_accelerator_on_cpu_equals_the_plain_path():
    model, optimizer, loader, scheduler = _setup()
    plain_losses, plain_weights = _train(prepare(model, optimizer, loader, scheduler=scheduler,
                                                 use_accelerate=False))
    model, optimizer, loader, scheduler = _setup()
    dist = prepare(model, optimizer, loader, scheduler=scheduler, use_accelerate=True, cpu=True)
    assert dist.accelerator is not None and dist.num_processes == 1 and dist.device.type == "cpu"
    acc_losses, acc_weights = _train(dist)
    assert acc_losses == plain_losses
    for name, value in plain_weights.items():
        assert torch.equal(acc_weights[name], value), name


@pytest.mark.slow
def test_accelerate_launch_uses_the_accelerator(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(textwrap.dedent("""
        import torch
        from semvideo.distributed import launched_with_accelerate, prepare
        model = torch.nn.Linear(2, 1)
        dist = prepare(model, torch.optim.SGD(model.parameters(), lr=0.1))
        print("launched", launched_with_accelerate(), "accelerator", dist.accelerator is not None,
              "processes", dist.num_processes)
    """))
    accelerate = Path(sys.executable).parent / "accelerate"
    run = subprocess.run([str(accelerate), "launch", "--cpu", "--num_processes", "1", "--num_machines", "1",
                          "--mixed_precision", "no", "--dynamo_backend", "no", str(script)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "launched True accelerator True processes 1" in run.stdout
