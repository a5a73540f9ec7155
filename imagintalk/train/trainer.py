"""A generic, stage-agnostic training loop: optimiser steps, logs, checkpoints, resume, DDP.

    trainer = Trainer(model, lambda m: torch.optim.AdamW(m.parameters(), 1e-3), step_fn,
                      dataset, collate, TrainerOptions(out_dir="runs/x", max_steps=1000))
    summary = trainer.train()

``step_fn(model, batch) -> (loss, metrics)`` gets the (possibly DDP-wrapped) model and a
batch already on the device; the loss must come from a ``model(...)`` call so DDP can
synchronise gradients (use ``distributed.unwrap(model)`` for other methods). With
``grad_accum`` N, one optimiser step sums the gradients of N micro-batches of ``batch_size``
(loss scaled by 1/N; DDP synchronises only on the last), so a step sees N * batch_size clips
per rank; a step always counts optimiser steps. Checkpoints
(``out_dir/checkpoints/step_XXXXXXXX``) hold the weights, optimiser, scheduler, grad
scaler, every rank's RNG states and the data position, so a resumed run repeats the
uninterrupted one. Under ``torchrun`` only rank 0 logs and saves.
"""

from __future__ import annotations

import contextlib
import json
import math
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..checkpoint import latest_checkpoint, load_checkpoint, save_rotating
from ..errors import ImaginTalkError, InputError
from . import distributed as ddp
from .rng import capture_rng, restore_rng, seed_everything
from .sampler import ResumableSampler

StepFn = Callable[[nn.Module, Any], tuple[torch.Tensor, dict[str, Any]]]
# (num_replicas, rank, shuffle, seed) -> a sampler with set_epoch(), a settable ``skip`` and __len__
SamplerFactory = Callable[[int, int, bool, int], Any]
AMP_MODES = ("none", "bf16", "fp16")


@dataclass
class TrainerOptions:
    out_dir: str
    max_steps: int
    batch_size: int = 8  # per micro-batch and rank
    grad_accum: int = 1  # micro-batches per optimiser step
    grad_clip: float | None = 1.0  # max global gradient norm (None / 0: no clipping)
    log_every: int = 10
    ckpt_every: int = 500
    eval_every: int = 0  # 0: never (eval_fn is also run at the end when given)
    keep_last: int = 3  # checkpoints kept in out_dir/checkpoints
    seed: int = 0
    amp: str = "none"  # none | bf16 (CPU or CUDA autocast) | fp16 (CUDA, with GradScaler)
    resume: bool = True  # continue from the latest checkpoint in out_dir when there is one
    shuffle: bool = True
    drop_last: bool = True
    num_workers: int = 0  # DataLoader worker processes
    device: str = "auto"  # auto | cpu | cuda
    find_unused_parameters: bool = False  # DDP: modules that skip some parameters on some steps
    progress: bool = True
    config: dict[str, Any] = field(default_factory=dict)  # saved into every checkpoint

    def validate(self) -> None:
        if self.max_steps < 1 or self.batch_size < 1 or self.grad_accum < 1:
            raise InputError("max_steps, batch_size and grad_accum must be positive")
        if self.amp not in AMP_MODES:
            raise InputError(f"amp must be one of {', '.join(AMP_MODES)}, not {self.amp!r}")
        if min(self.log_every, self.ckpt_every) < 1 or self.eval_every < 0:
            raise InputError("log_every and ckpt_every must be positive, eval_every non-negative")


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor of a (nested dict / list / tuple) batch to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def _scalar(value: Any) -> float:
    return float(value.detach().float().mean()) if isinstance(value, torch.Tensor) else float(value)


class _Throughput:
    """Clips per second (all ranks) since the last log, and this process's peak memory."""

    def __init__(self, step: int, clips_per_step: int) -> None:
        self.step, self.time, self.clips_per_step = step, time.perf_counter(), clips_per_step

    def read(self, step: int, device: torch.device) -> dict[str, float]:
        now = time.perf_counter()
        out = {"clips_per_s": (step - self.step) * self.clips_per_step / max(now - self.time, 1e-9)}
        self.step, self.time = step, now
        # ru_maxrss is in KiB on Linux
        out["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        if device.type == "cuda":
            out["peak_gpu_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        return out


class Trainer:
    """Runs ``step_fn`` on batches of ``dataset`` for ``options.max_steps`` optimiser steps."""

    def __init__(
        self,
        model: nn.Module,
        optimizer_factory: Callable[[nn.Module], torch.optim.Optimizer],
        step_fn: StepFn,
        dataset: Dataset,
        collate_fn: Callable | None,
        options: TrainerOptions,
        scheduler_factory: Callable[[torch.optim.Optimizer], Any] | None = None,
        eval_fn: Callable[[nn.Module], dict[str, float]] | None = None,
        sampler_factory: SamplerFactory | None = None,
    ) -> None:
        options.validate()
        self.options, self.step_fn, self.eval_fn = options, step_fn, eval_fn
        self.dataset, self.collate_fn = dataset, collate_fn
        want = options.device
        cuda = torch.cuda.is_available() and want in ("auto", "cuda")
        if want == "cuda" and not cuda:
            raise InputError("device cuda requested but no CUDA device is available")
        if options.amp == "fp16" and not cuda:
            raise InputError("amp fp16 needs CUDA; use amp bf16 on the CPU")
        self.dist = ddp.init_distributed("cuda" if cuda else "cpu")
        self.device = torch.device(f"cuda:{self.dist.local_rank}" if cuda else "cpu")
        seed_everything(options.seed + self.dist.rank)  # ranks draw different dropout / masks
        self.out_dir = Path(options.out_dir)
        self.ckpt_dir = self.out_dir / "checkpoints"
        self.model = model.to(self.device)
        self.optimizer = optimizer_factory(self.model)
        self.scheduler = scheduler_factory(self.optimizer) if scheduler_factory else None
        self.scaler = torch.amp.GradScaler("cuda") if options.amp == "fp16" else None
        # batch_in_epoch counts micro-batches (the data position); step counts optimiser steps
        self.step, self.epoch, self.batch_in_epoch = 0, 0, 0
        if options.resume:
            self._resume()
        self.wrapped = ddp.wrap_model(self.model, self.dist, self.device, options.find_unused_parameters)
        make_sampler = sampler_factory or (
            lambda n, r, shuffle, seed: ResumableSampler(dataset, n, r, shuffle, seed)
        )
        self.sampler = make_sampler(self.dist.world_size, self.dist.rank, options.shuffle, options.seed)
        if len(self.sampler) // options.batch_size < options.grad_accum and options.drop_last:
            need = "one batch" if options.grad_accum == 1 else f"{options.grad_accum} batches (grad_accum)"
            raise InputError(
                f"{len(self.sampler) * self.dist.world_size} samples per epoch over {self.dist.world_size} "
                f"rank(s) do not fill {need} of {options.batch_size}"
            )
        self.writer = None
        self.history: list[dict[str, float]] = []

    # --- checkpoints ------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        rng = capture_rng()
        if self.dist.enabled:  # every rank's generators: a resumed run must draw what it would have
            gathered: list[Any] = [None] * self.dist.world_size
            torch.distributed.all_gather_object(gathered, rng)
            rng_states = gathered
        else:
            rng_states = [rng]
        state: dict[str, Any] = {
            "optimizer": self.optimizer.state_dict(),
            "rng": rng_states,
            "data": {
                "epoch": self.epoch,
                "batch_in_epoch": self.batch_in_epoch,
                "world_size": self.dist.world_size,
            },
        }
        if self.scheduler is not None:
            state["scheduler"] = self.scheduler.state_dict()
        if self.scaler is not None:
            state["scaler"] = self.scaler.state_dict()
        return state

    def save(self) -> Path | None:
        """Checkpoint the current step (all ranks must call it; rank 0 writes)."""
        state = self._state()
        path = None
        if self.dist.is_main:
            options = {k: v for k, v in asdict(self.options).items() if k != "config"}
            path = save_rotating(
                self.ckpt_dir, self.step, self.options.keep_last, modules={"model": ddp.unwrap(self.model)},
                config=self.options.config, extra={"trainer": options}, state=state, epoch=self.epoch,
            )  # fmt: skip
        ddp.barrier(self.dist)
        return path

    def _resume(self) -> None:
        path = latest_checkpoint(self.ckpt_dir)
        if path is None:
            return
        meta = load_checkpoint(path, {"model": self.model})
        state = meta["state"]
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        rng = state["rng"]
        same_world = state["data"]["world_size"] == self.dist.world_size and len(rng) == self.dist.world_size
        if same_world:
            restore_rng(rng[self.dist.rank])
        else:  # another number of ranks: the data order changes anyway; reseed per rank
            seed_everything(self.options.seed + 1000 * int(meta["step"]) + self.dist.rank)
        self.step, self.epoch = int(meta["step"]), int(state["data"]["epoch"])
        self.batch_in_epoch = int(state["data"]["batch_in_epoch"]) if same_world else 0
        self._truncate_log()

    def _truncate_log(self) -> None:
        """Drop log records an interrupted run wrote after the checkpoint it resumes from."""
        log = self.out_dir / "train_log.jsonl"
        if not self.dist.is_main or not log.is_file():
            return
        kept = [
            line for line in log.read_text().splitlines() if line and json.loads(line)["step"] <= self.step
        ]
        log.write_text("".join(line + "\n" for line in kept))

    # --- logging ----------------------------------------------------------------------------
    def _log(self, values: dict[str, float], prefix: str) -> None:
        if not self.dist.is_main:
            return
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.out_dir / "tensorboard"))
        for key, value in values.items():
            self.writer.add_scalar(f"{prefix}/{key}", value, self.step)
        record = {"step": self.step, "split": prefix, **values}
        self.history.append(record)
        with open(self.out_dir / "train_log.jsonl", "a") as handle:
            handle.write(json.dumps(record) + "\n")

    def _evaluate(self) -> None:
        if self.eval_fn is None:
            return
        if self.dist.is_main:
            model = ddp.unwrap(self.model)
            model.eval()
            with torch.no_grad():
                metrics = {k: _scalar(v) for k, v in self.eval_fn(model).items()}
            model.train()
            self._log(metrics, "eval")
        ddp.barrier(self.dist)

    # --- the loop ---------------------------------------------------------------------------
    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.options.amp == "none":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.options.amp == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _train_step(self, batches: Iterator[Any]) -> dict[str, float]:
        """One optimiser step over ``grad_accum`` micro-batches drawn from ``batches``."""
        accum = self.options.grad_accum
        self.optimizer.zero_grad(set_to_none=True)
        losses: list[float] = []
        sums: dict[str, float] = {}
        for index in range(accum):
            batch = next(batches)
            # DDP all-reduces gradients in backward: only once, on the last micro-batch
            last = index == accum - 1
            sync = contextlib.nullcontext() if last or not self.dist.enabled else self.wrapped.no_sync()
            with sync:
                with self._autocast():
                    loss, metrics = self.step_fn(self.wrapped, to_device(batch, self.device))
                if not torch.isfinite(loss.detach()).all():
                    raise ImaginTalkError(
                        f"training diverged: loss {float(loss):.4g} at step {self.step + 1}"
                    )
                losses.append(float(loss.detach()))
                # the step's loss is the mean over its micro-batches: each contributes 1/N of the gradient
                scaled = loss / accum
                if self.scaler is not None:
                    self.scaler.scale(scaled).backward()
                else:
                    scaled.backward()
            for key, value in metrics.items():
                sums[key] = sums.get(key, 0.0) + _scalar(value)
        values = {"loss": sum(losses) / accum}
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if self.options.grad_clip:
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.options.grad_clip)
            values["grad_norm"] = float(norm)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        values.update({k: v / accum for k, v in sums.items()})
        return values

    def _loader(self) -> DataLoader:
        # its own generator: creating the iterator must not draw from the global torch RNG
        generator = torch.Generator().manual_seed(self.options.seed * 100_003 + self.epoch)
        return DataLoader(
            self.dataset, batch_size=self.options.batch_size, sampler=self.sampler,
            collate_fn=self.collate_fn, num_workers=self.options.num_workers,
            drop_last=self.options.drop_last, generator=generator,
            pin_memory=self.device.type == "cuda",
        )  # fmt: skip

    def train(self) -> dict[str, Any]:
        """Train up to ``max_steps``; -> {"step", "epoch", "loss" (last logged), "history"}."""
        from tqdm import tqdm

        opts = self.options
        if self.dist.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.model.train()
        bar = tqdm(total=opts.max_steps, initial=self.step, desc="train", unit="step",
                   disable=not (opts.progress and self.dist.is_main))  # fmt: skip
        last_loss = math.nan
        meter = _Throughput(self.step, opts.batch_size * opts.grad_accum * self.dist.world_size)
        try:
            while self.step < opts.max_steps:
                self.sampler.set_epoch(self.epoch)
                if hasattr(self.dataset, "set_epoch"):
                    self.dataset.set_epoch(self.epoch)
                self.sampler.skip = self.batch_in_epoch * opts.batch_size
                loader = self._loader()
                # whole steps left in this epoch; a tail of fewer than grad_accum micro-batches is dropped
                steps_left = len(loader) // opts.grad_accum
                batches = iter(loader)
                for _ in range(steps_left):
                    values = self._train_step(batches)
                    self.step += 1
                    self.batch_in_epoch += opts.grad_accum
                    bar.update(1)
                    if self.step % opts.log_every == 0 or self.step == opts.max_steps:
                        values["loss"] = ddp.mean_over_ranks(values["loss"], self.dist, self.device)
                        values["lr"] = float(self.optimizer.param_groups[0]["lr"])
                        values.update(meter.read(self.step, self.device))
                        last_loss = values["loss"]
                        self._log(values, "train")
                        bar.set_postfix(loss=f"{last_loss:.4f}")
                    if self.step % opts.ckpt_every == 0 or self.step == opts.max_steps:
                        self.save()
                    if opts.eval_every and self.step % opts.eval_every == 0:
                        self._evaluate()
                    if self.step >= opts.max_steps:
                        break
                else:  # the epoch ran out
                    self.epoch += 1
                    self.batch_in_epoch = 0
            if self.eval_fn is not None and not (opts.eval_every and self.step % opts.eval_every == 0):
                self._evaluate()
        finally:
            bar.close()
            if self.writer is not None:
                self.writer.close()
        return {"step": self.step, "epoch": self.epoch, "loss": last_loss, "history": self.history}

    def close(self) -> None:
        """Leave the process group (call once at the end of a torchrun script)."""
        ddp.cleanup_distributed()
