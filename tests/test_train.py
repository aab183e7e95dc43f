"""The shared training loop: it learns, its schedules match torch's, and a killed run resumes bit for bit."""

import numpy as np
import pandas as pd
import pytest
import torch

from semvideo.train import (
    constant_schedule,
    cosine_schedule,
    file_stats,
    fit,
    keyed_checkpoint_dir,
    latest_checkpoint,
    one_cycle_schedule,
)


def _problem(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    w = torch.arange(1.0, 6.0).unsqueeze(1)
    return x, x @ w


def _model():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Dropout(0.1), torch.nn.Linear(8, 1))


def _step(model, batch, generator):
    x, y = batch
    noise = 0.01 * torch.randn(x.shape, generator=generator)  # step-level randomness goes through `generator`
    mse = ((model(x + noise) - y) ** 2).mean()
    return {"loss": mse, "mse": mse}


def _kwargs(tmp_path, name, **extra):
    return dict(ckpt_dir=tmp_path / name, epochs=4, batch_size=16, lr=0.05, seed=3, **extra)


def test_fit_learns_a_linear_map(tmp_path):
    x, y = _problem()
    model = torch.nn.Linear(5, 1)
    log = fit(model, _step, (x, y), ckpt_dir=tmp_path / "c", epochs=30, batch_size=8, lr=0.1,
              schedule=constant_schedule, weight_decay=0.0)
    np.testing.assert_allclose(model.weight.detach().numpy().ravel(), [1, 2, 3, 4, 5], atol=0.05)
    assert len(log) == 30 * 5 and list(log.columns[:3]) == ["epoch", "step", "lr"]
    assert log["loss"].iloc[-1] < 1e-2 * log["loss"].iloc[0]


def test_log_and_checkpoint_files(tmp_path):
    x, y = _problem()
    log = fit(_model(), _step, (x.numpy(), y.numpy()), **_kwargs(tmp_path, "c"))
    assert len(log) == 4 * 3  # 40 samples, batch 16 → 3 steps (the last holds 8)
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["epoch_0003.pt", "losses.csv"]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "c" / "losses.csv"), log, check_dtype=False)
    assert log["lr"].iloc[0] == pytest.approx(0.05) and log["lr"].is_monotonic_decreasing


def test_resume_after_a_kill_is_bit_identical(tmp_path):
    x, y = _problem()
    full = _model()
    full_log = fit(full, _step, (x, y), **_kwargs(tmp_path, "full"))

    calls = {"n": 0}

    def dies_in_epoch_three(model, batch, generator):
        calls["n"] += 1
        if calls["n"] == 8:  # the second step of epoch 2 (0-based): epochs 0 and 1 are checkpointed
            raise KeyboardInterrupt
        return _step(model, batch, generator)

    killed = _model()
    with pytest.raises(KeyboardInterrupt):
        fit(killed, dies_in_epoch_three, (x, y), **_kwargs(tmp_path, "killed"))
    assert latest_checkpoint(tmp_path / "killed").name == "epoch_0001.pt"
    torch.manual_seed(12345)  # a new process would start with another global RNG state
    resumed = _model()
    resumed_log = fit(resumed, _step, (x, y), **_kwargs(tmp_path, "killed"))
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    pd.testing.assert_frame_equal(full_log, resumed_log)

    again = _model()
    fit(again, _step, (x, y), **_kwargs(tmp_path, "killed"))  # finished: only reloads the final weights
    assert all(torch.equal(a, b) for a, b in zip(full.state_dict().values(), again.state_dict().values()))


def test_a_different_run_in_the_same_folder_is_refused(tmp_path):
    x, y = _problem()
    fit(_model(), _step, (x, y), **_kwargs(tmp_path, "c"))
    with pytest.raises(ValueError, match="delete .* to train from scratch"):
        fit(_model(), _step, (x, y), ckpt_dir=tmp_path / "c", epochs=4, batch_size=8, lr=0.05, seed=3)
    with pytest.raises(ValueError, match="different lengths"):
        fit(_model(), _step, (x, y[:-1]), **_kwargs(tmp_path, "d"))


def _lrs(schedule, total: int, lr: float = 1.0) -> list[float]:
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler, lrs = schedule(opt, total), []
    for _ in range(total):
        lrs.append(scheduler.get_last_lr()[0])
        opt.step()
        scheduler.step()
    return lrs


def test_schedules_have_the_papers_shapes():
    cosine = _lrs(cosine_schedule, 10)
    assert cosine[0] == 1.0 and cosine[5] == pytest.approx(0.5) and cosine[9] == pytest.approx(0.0245, abs=1e-4)
    one_cycle = _lrs(one_cycle_schedule, 50)
    assert one_cycle[0] == pytest.approx(1 / 25) and max(one_cycle) == one_cycle[14] == pytest.approx(1.0)
    assert one_cycle[-1] == pytest.approx(1 / 25e4) and _lrs(constant_schedule, 5, lr=0.3) == [0.3] * 5
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    one_cycle_schedule(opt, 50, cycle_momentum=True)
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.95)  # β₁ starts high while the LR is low


def test_keyed_checkpoint_dir_keeps_one_key_per_name(tmp_path):
    inputs = tmp_path / "x.npy"
    inputs.write_bytes(b"1")
    first = keyed_checkpoint_dir(tmp_path / "ckpt", "judge", {"lr": 1e-3}, file_stats(inputs))
    first.mkdir(parents=True)
    assert keyed_checkpoint_dir(tmp_path / "ckpt", "judge", {"lr": 1e-3}, file_stats(inputs)) == first
    (tmp_path / "ckpt" / "other-0123456789").mkdir()
    inputs.write_bytes(b"22")  # the input changed: a new key, and the old checkpoints of "judge" are gone
    second = keyed_checkpoint_dir(tmp_path / "ckpt", "judge", {"lr": 1e-3}, file_stats(inputs))
    assert second != first and not first.exists() and (tmp_path / "ckpt" / "other-0123456789").exists()
    assert keyed_checkpoint_dir(tmp_path / "ckpt", "judge", {"lr": 1e-2}, file_stats(inputs)) != second
