"""The generic Trainer: learning, logs, checkpoints + exact resume, bf16 autocast, DDP with 2 gloo ranks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from imagintalk.checkpoint import list_checkpoints
from imagintalk.errors import InputError
from imagintalk.train.trainer import Trainer, TrainerOptions


class Regression(torch.utils.data.Dataset):
    """y = x @ w + noise: 48 samples of 8 features."""

    def __init__(self) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(48, 8, generator=g)
        self.y = self.x @ torch.randn(8, generator=g) + 0.01 * torch.randn(48, generator=g)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[index], "y": self.y[index]}


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 1))


def _step(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    error = model(batch["x"]).squeeze(1) - batch["y"]
    return error.pow(2).mean(), {"mae": error.abs().mean()}


def _trainer(out: Path, steps: int, **options) -> Trainer:
    opts = TrainerOptions(out_dir=str(out), max_steps=steps, batch_size=8, log_every=1, ckpt_every=4,
                          progress=False, **options)  # fmt: skip
    return Trainer(
        _model(), lambda m: torch.optim.AdamW(m.parameters(), lr=2e-2), _step, Regression(), None, opts,
        scheduler_factory=lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda s: 1.0 / (1.0 + 0.01 * s)),
        eval_fn=lambda m: {"mse": _step(m, Regression()[:])[0]},
    )  # fmt: skip


def _losses(history: list[dict]) -> dict[int, float]:
    return {h["step"]: h["loss"] for h in history if h["split"] == "train"}


def test_loss_drops_and_everything_is_logged(tmp_path) -> None:
    summary = _trainer(tmp_path, 60).train()
    losses = list(_losses(summary["history"]).values())
    assert summary["step"] == 60 and summary["epoch"] == 9  # 6 batches per epoch, counted from 0
    assert sum(losses[-6:]) < 0.3 * sum(losses[:6])
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert {"loss", "mae", "lr", "grad_norm"} <= set(log[0]) and log[-1]["split"] == "eval"
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")] == [
        "step_00000052", "step_00000056", "step_00000060",
    ]  # fmt: skip


def test_resume_repeats_the_uninterrupted_run(tmp_path) -> None:
    straight = _losses(_trainer(tmp_path / "a", 14).train()["history"])
    first = _trainer(tmp_path / "b", 9).train()  # stops mid-epoch 1 (6 batches per epoch)
    assert first["step"] == 9
    resumed = _trainer(tmp_path / "b", 14)
    assert (resumed.step, resumed.epoch, resumed.batch_in_epoch) == (9, 1, 3)
    second = _losses(resumed.train()["history"])
    assert sorted(second) == list(range(10, 15))
    for step, loss in second.items():
        assert loss == pytest.approx(straight[step], rel=1e-5, abs=1e-7)
    fresh = _trainer(tmp_path / "b", 14, resume=False)
    assert fresh.step == 0


def test_resume_drops_log_records_past_the_checkpoint(tmp_path) -> None:
    _trainer(tmp_path, 9).train()
    log = tmp_path / "train_log.jsonl"
    # a run killed after its last checkpoint had logged steps the resumed run repeats
    log.write_text(log.read_text() + json.dumps({"step": 11, "split": "train", "loss": 9.0}) + "\n")
    _trainer(tmp_path, 14).train()
    records = [json.loads(line) for line in log.read_text().splitlines()]
    train_steps = [r["step"] for r in records if r["split"] == "train" and r["step"] >= 10]
    assert len(train_steps) == len(set(train_steps)) and 11 in train_steps


def test_bf16_autocast_on_cpu_and_bad_options(tmp_path) -> None:
    summary = _trainer(tmp_path, 3, amp="bf16").train()
    losses = torch.tensor(list(_losses(summary["history"]).values()))
    assert summary["step"] == 3 and len(losses) == 3 and torch.isfinite(losses).all()
    with pytest.raises(InputError, match="fp16 needs CUDA"):
        _trainer(tmp_path / "x", 3, amp="fp16", device="cpu")
    with pytest.raises(InputError, match="amp must be"):
        _trainer(tmp_path / "y", 3, amp="fp8")
    with pytest.raises(InputError, match="do not fill one batch"):
        opts = TrainerOptions(out_dir=str(tmp_path / "z"), max_steps=1, batch_size=64, progress=False)
        Trainer(_model(), lambda m: torch.optim.SGD(m.parameters(), lr=0.1), _step, Regression(), None, opts)


DDP_SCRIPT = """
import hashlib, os, sys
import torch
from torch import nn
sys.path.insert(0, {tests!r})
from test_trainer import Regression, _step
from imagintalk.train.distributed import unwrap
from imagintalk.train.trainer import Trainer, TrainerOptions

torch.manual_seed(int(os.environ["RANK"]))  # different initial weights per rank: DDP must sync them
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 1))
opts = TrainerOptions(sys.argv[1], max_steps=6, batch_size=4, log_every=1, ckpt_every=3, progress=False)
optimizer = lambda m: torch.optim.AdamW(m.parameters(), lr=1e-2)
trainer = Trainer(model, optimizer, _step, Regression(), None, opts)
trainer.train()
weights = b"".join(p.detach().numpy().tobytes() for p in unwrap(trainer.model).parameters())
with open(os.path.join(sys.argv[1], f"rank{{trainer.dist.rank}}.sha"), "w") as handle:
    handle.write(hashlib.sha256(weights).hexdigest())
trainer.close()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_gloo_ranks_end_with_identical_weights(tmp_path) -> None:
    script = tmp_path / "ddp_train.py"
    script.write_text(textwrap.dedent(DDP_SCRIPT.format(tests=str(Path(__file__).parent))))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), str(script), str(tmp_path / "run"),
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    hashes = [(tmp_path / "run" / f"rank{r}.sha").read_text() for r in (0, 1)]
    assert hashes[0] == hashes[1]
    log = [json.loads(line) for line in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    assert [h["step"] for h in log] == list(range(1, 7))  # rank 0 alone writes the log
    assert [p.name for p in list_checkpoints(tmp_path / "run" / "checkpoints")] == [
        "step_00000003",
        "step_00000006",
    ]


def _linear_trainer(out: Path, batch_size: int, grad_accum: int, **options) -> Trainer:
    """A dropout-free model and plain SGD: the weights after a step are the start minus lr * gradient."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
    opts = TrainerOptions(out_dir=str(out), max_steps=1, batch_size=batch_size, grad_accum=grad_accum,
                          grad_clip=None, progress=False, resume=False, **options)  # fmt: skip
    return Trainer(model, lambda m: torch.optim.SGD(m.parameters(), lr=0.1), _step, Regression(), None, opts)


def test_two_accumulated_batches_give_the_gradient_of_one_double_batch(tmp_path) -> None:
    whole = _linear_trainer(tmp_path / "whole", 8, 1)
    whole.train()
    accumulated = _linear_trainer(tmp_path / "accum", 4, 2)
    summary = accumulated.train()
    assert summary["step"] == 1 and accumulated.batch_in_epoch == 2  # one optimiser step, two batches
    pairs = list(zip(whole.model.parameters(), accumulated.model.parameters()))
    for big, small in pairs:  # the mean loss over 8 clips = the mean of two 4-clip means
        torch.testing.assert_close(small.grad, big.grad, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(small.detach(), big.detach(), rtol=1e-5, atol=1e-7)
    # unscaled, the accumulated gradient would be twice as large: the comparison can tell
    assert any(not torch.allclose(2 * s.grad, b.grad, atol=1e-6) for b, s in pairs)
    # the logged loss is the mean of the micro-batches' losses, as the double batch's is
    assert _losses(summary["history"])[1] == pytest.approx(_losses(whole.history)[1], rel=1e-5)


def test_resume_with_gradient_accumulation_repeats_the_uninterrupted_run(tmp_path) -> None:
    # 48 samples, batches of 4, 2 per step: 6 steps per epoch
    def run(out: Path, steps: int) -> Trainer:
        opts = TrainerOptions(out_dir=str(out), max_steps=steps, batch_size=4, grad_accum=2, log_every=1,
                              ckpt_every=4, progress=False)  # fmt: skip
        return Trainer(
            _model(), lambda m: torch.optim.AdamW(m.parameters(), lr=2e-2), _step, Regression(), None, opts
        )

    full = _losses(run(tmp_path / "a", 10).train()["history"])
    assert run(tmp_path / "b", 8).train()["step"] == 8  # stops after step 2 of epoch 1
    resumed = run(tmp_path / "b", 10)
    assert (resumed.step, resumed.epoch, resumed.batch_in_epoch) == (8, 1, 4)
    second = _losses(resumed.train()["history"])
    assert sorted(second) == [9, 10]
    for step, loss in second.items():
        assert loss == pytest.approx(full[step], rel=1e-5, abs=1e-7)
    with pytest.raises(InputError, match=r"do not fill 7 batches \(grad_accum\) of 8"):
        opts = TrainerOptions(
            out_dir=str(tmp_path / "c"), max_steps=1, batch_size=8, grad_accum=7, progress=False
        )
        Trainer(_model(), lambda m: torch.optim.SGD(m.parameters(), lr=0.1), _step, Regression(), None, opts)


def test_a_weighted_mix_resumes_mid_epoch_like_the_uninterrupted_run(tmp_path) -> None:
    from imagintalk.train.mixing import MixedDataset

    class Half(torch.utils.data.Dataset):  # the first 16 or the last 32 samples of Regression
        def __init__(self, part: slice) -> None:
            self.items = [Regression()[i] for i in range(48)[part]]

        def __len__(self) -> int:
            return len(self.items)

        def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
            return self.items[index]

    def run(out: Path, steps: int) -> Trainer:
        mixed = MixedDataset([Half(slice(0, 16)), Half(slice(16, 48))], [3.0, 1.0])
        opts = TrainerOptions(out_dir=str(out), max_steps=steps, batch_size=8, log_every=1, ckpt_every=4,
                              progress=False)  # fmt: skip
        optimizer = lambda m: torch.optim.AdamW(m.parameters(), lr=2e-2)  # noqa: E731
        return Trainer(_model(), optimizer, _step, mixed, None, opts, sampler_factory=mixed.sampler)

    straight = _losses(run(tmp_path / "a", 10).train()["history"])
    run(tmp_path / "b", 8).train()  # 6 batches per epoch: stops 2 batches into epoch 1
    resumed = run(tmp_path / "b", 10)
    assert (resumed.epoch, resumed.batch_in_epoch) == (1, 2)
    second = _losses(resumed.train()["history"])
    assert sorted(second) == [9, 10]
    for step, loss in second.items():
        assert loss == pytest.approx(straight[step], rel=1e-5, abs=1e-7)
