"""Checkpoints: safetensors + JSON round trip, rotation, and the refusals (pickles, corruption, shapes)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from torch import nn

from imagintalk.checkpoint import (
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
    save_rotating,
)
from imagintalk.errors import CheckpointError


def _model(seed: int, hidden: int = 6) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, hidden), nn.LayerNorm(hidden), nn.Linear(hidden, 2))


def _trained(seed: int = 0) -> tuple[nn.Module, torch.optim.Optimizer]:
    model = _model(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.randn(8, 4)).pow(2).mean().backward()
        optimizer.step()
    return model, optimizer


def test_round_trip_restores_weights_optimizer_and_metadata(tmp_path) -> None:
    model, optimizer = _trained()
    random.seed(5)
    np.random.seed(5)
    state = {
        "optimizer": optimizer.state_dict(),
        "rng": {"python": random.getstate(), "numpy": np.random.get_state()},
    }
    path = save_checkpoint(
        tmp_path / "ckpt", {"model": model}, {"lr": 0.01}, {"note": "x"}, state, step=3, epoch=1
    )
    assert sorted(p.name for p in path.iterdir()) == ["meta.json", "model.safetensors", "state.safetensors"]
    expected_draws = (random.random(), np.random.rand())

    other = _model(seed=1)
    other_opt = torch.optim.AdamW(other.parameters(), lr=1e-2)
    meta = load_checkpoint(path, {"model": other})
    other_opt.load_state_dict(meta["state"]["optimizer"])
    assert (meta["step"], meta["epoch"], meta["config"], meta["extra"]) == (3, 1, {"lr": 0.01}, {"note": "x"})
    for key, value in model.state_dict().items():
        assert torch.equal(value, other.state_dict()[key])
    saved, restored = optimizer.state_dict(), other_opt.state_dict()
    assert saved["param_groups"] == restored["param_groups"]
    for pid, entry in saved["state"].items():
        for name, value in entry.items():
            assert torch.equal(value, restored["state"][pid][name])
    random.setstate(meta["state"]["rng"]["python"])
    np.random.set_state(meta["state"]["rng"]["numpy"])
    assert (random.random(), np.random.rand()) == expected_draws


def test_no_pickle_is_written_or_loaded(tmp_path) -> None:
    model, _ = _trained()
    path = save_checkpoint(tmp_path / "ckpt", {"model": model})
    for file in path.iterdir():  # JSON, or safetensors (an 8-byte length, then a JSON header)
        data = file.read_bytes()
        assert data[:1] == b"{" if file.suffix == ".json" else data[8:9] == b"{"
    torch.save(model.state_dict(), path / "model.pt")
    with pytest.raises(CheckpointError, match="refusing to load a pickle"):
        load_checkpoint(path, {"model": _model(1)})
    (path / "model.pt").unlink()
    torch.save(model.state_dict(), path / "model.safetensors")  # a pickle under a safe name
    with pytest.raises(CheckpointError, match="refusing to load a pickle"):
        load_checkpoint(path, {"model": _model(1)})


def test_corrupt_missing_and_mismatched_checkpoints_are_refused(tmp_path) -> None:
    model, _ = _trained()
    path = save_checkpoint(tmp_path / "ckpt", {"model": model})
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "nowhere", {"model": model})
    with pytest.raises(CheckpointError, match=r"tensor '0.bias' has shape \(6,\), the model expects \(9,\)"):
        load_checkpoint(path, {"model": _model(0, hidden=9)})
    with pytest.raises(CheckpointError, match="no weights for module"):
        load_checkpoint(path, {"model": model, "head": nn.Linear(2, 2)})
    with pytest.raises(CheckpointError, match="unexpected"):
        load_checkpoint(path, {"model": nn.Sequential(nn.Linear(4, 6))})
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:40])
    with pytest.raises(CheckpointError, match="corrupt safetensors"):
        load_checkpoint(path, {"model": model})
    weights.unlink()
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(path, {"model": model})


def test_save_is_atomic_and_refuses_unstorable_state(tmp_path) -> None:
    model, _ = _trained()
    path = save_checkpoint(tmp_path / "ckpt", {"model": model}, step=1)
    with pytest.raises(CheckpointError, match="without pickling"):
        save_checkpoint(path, {"model": model}, state={"fn": lambda: 0}, step=2)
    assert json.loads((path / "meta.json").read_text())["step"] == 1  # the old one is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no temporary left behind
    save_checkpoint(path, {"model": model}, step=2)
    assert load_checkpoint(path, {"model": model})["step"] == 2


def test_rotation_keeps_the_last_n(tmp_path) -> None:
    model = _model(0)
    for step in (5, 10, 15, 20):
        save_rotating(tmp_path / "run", step, keep_last=2, modules={"model": model})
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == ["step_00000015", "step_00000020"]
    assert latest_checkpoint(tmp_path / "run").name == "step_00000020"
    assert latest_checkpoint(tmp_path / "empty") is None
