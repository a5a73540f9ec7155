"""Settings of the three training stages (``imagintalk train``), with named presets.

One :class:`StageTrainConfig` per trained network (stage 1 trains two: the lip aligner and
the unit MLM), plus the switches that are not per network. ``train_preset(name)`` gives
the values of the presets debug / synth / paper; the config section ``train`` (when
``Config`` has one) overrides them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import InputError
from .checks import check_probability

AMP_CHOICES = ("auto", "none", "bf16", "fp16")  # auto: none on the CPU, bf16 on CUDA
STAGE3_UNITS = ("predicted", "ground_truth")


@dataclass
class StageTrainConfig:
    steps: int = 1000  # optimiser steps
    batch_size: int = 8  # clips (or unit sequences) per micro-batch and rank
    grad_accum: int = 1  # micro-batches per optimiser step (a step sees grad_accum * batch_size per rank)
    lr: float = 1e-3  # peak learning rate (AdamW)
    weight_decay: float = 0.01
    warmup_steps: int = 0  # linear warm-up, then cosine decay to min_lr_ratio * lr
    min_lr_ratio: float = 0.1
    window_frames: int = 0  # training windows in video frames (0 = whole clips)
    ckpt_every: int = 500  # periodic checkpoints (also one at the last step)
    log_every: int = 10
    grad_clip: float = 1.0  # max global gradient norm (0 = none)
    eval_every: int = 0  # validation every N steps when validation data is given (0 = at the end only)

    def validate(self, name: str) -> None:
        for key in ("steps", "batch_size", "grad_accum", "ckpt_every", "log_every"):
            if getattr(self, key) < 1:
                raise InputError(f"train.{name}.{key} must be positive, got {getattr(self, key)}")
        if self.eval_every < 0:
            raise InputError(f"train.{name}.eval_every must be >= 0, got {self.eval_every}")
        if self.lr <= 0 or self.weight_decay < 0 or self.warmup_steps < 0 or self.window_frames < 0:
            raise InputError(f"train.{name}: lr must be positive, weight_decay / warmup / window >= 0")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise InputError(f"train.{name}.min_lr_ratio must lie in [0, 1], got {self.min_lr_ratio}")


@dataclass
class TrainConfig:
    lip: StageTrainConfig = field(default_factory=StageTrainConfig)  # stage 1a: lip aligner
    mlm: StageTrainConfig = field(default_factory=StageTrainConfig)  # stage 1b: unit MLM
    style: StageTrainConfig = field(default_factory=StageTrainConfig)  # stage 2: face-style adapter
    dit: StageTrainConfig = field(default_factory=StageTrainConfig)  # stage 3: Style-DiT
    fine: StageTrainConfig = field(default_factory=StageTrainConfig)  # stage 3: fine-level completer
    amp: str = "auto"  # auto | none | bf16 | fp16
    mlm_extra_text_sequences: int = 0  # text-only GRID unit sequences beside the corpus's own
    mlm_max_units: int = 0  # MLM training windows in units (0 = mlm.max_units)
    stage3_units: str = "predicted"  # c_lip from the frozen aligner + MLM, or "ground_truth" units
    stage3_refine: bool = True  # predicted units go through the error detector + MLM (as at inference)
    # stage-3 condition dropout (train/condition_dropout.py), per clip: all conditions zero (the
    # unconditional score for classifier-free guidance), and c_emo flattened to its clip mean
    dit_drop_conditions: float = 0.0
    dit_flatten_emo: float = 0.0
    # stage 2 with --init-style: the identity path (descriptor -> c_id) keeps the weights it starts
    # from, so c_id, and every network conditioned on it, stays as it was; only the expression path
    # and the heads learn (a new prosody target on a new corpus without moving the voice map)
    style_freeze_identity: bool = False
    val_max_clips: int = 200  # validation clips evaluated at the end of each stage
    num_workers: int = 0  # DataLoader worker processes

    def validate(self) -> TrainConfig:
        for name in ("lip", "mlm", "style", "dit", "fine"):
            getattr(self, name).validate(name)
        if self.amp not in AMP_CHOICES:
            raise InputError(f"train.amp must be one of {', '.join(AMP_CHOICES)}, not {self.amp!r}")
        if self.stage3_units not in STAGE3_UNITS:
            raise InputError(f"train.stage3_units must be one of {', '.join(STAGE3_UNITS)}")
        if min(self.mlm_extra_text_sequences, self.mlm_max_units, self.val_max_clips, self.num_workers) < 0:
            raise InputError("train.mlm_extra_text_sequences, mlm_max_units, val_max_clips, num_workers >= 0")
        check_probability("train.dit_drop_conditions", self.dit_drop_conditions)
        check_probability("train.dit_flatten_emo", self.dit_flatten_emo)
        return self


def _debug() -> TrainConfig:
    # a step or two of each network on 0.64 s windows: the whole recipe runs in a test in seconds
    tiny = dict(steps=2, batch_size=2, lr=1e-3, window_frames=16, ckpt_every=1, log_every=1)
    return TrainConfig(
        lip=StageTrainConfig(**tiny),
        mlm=StageTrainConfig(**tiny),
        style=StageTrainConfig(**tiny),
        dit=StageTrainConfig(**tiny),
        fine=StageTrainConfig(**tiny),
        mlm_extra_text_sequences=2,
        val_max_clips=4,
    )


def _synth() -> TrainConfig:
    # the shipped SynthTalk model on 2 shared CPU cores, one thread per job (scripts/train_default.sh
    # runs stages 1 and 2 side by side, then stage 3 beside its single-adaLN ablation): 3 s
    # windows (75 frames, 150 tokens), ~1000 clips. Sized by the first real run (240 clips): the
    # aligner reached 0.88 val unit accuracy in 160 steps (1.65 s/step), the DiT memorised 240
    # clips by 1200 steps; here ~1.5 h of training, with periodic validation so overfitting shows.
    return TrainConfig(
        lip=StageTrainConfig(
            steps=600, batch_size=8, lr=1e-3, warmup_steps=60, window_frames=75, ckpt_every=200
        ),
        mlm=StageTrainConfig(steps=500, batch_size=32, lr=5e-4, warmup_steps=50, ckpt_every=250),
        style=StageTrainConfig(
            steps=1500, batch_size=16, lr=1e-3, warmup_steps=100, window_frames=75, ckpt_every=500
        ),
        # stage 3's second phase, the coarse-level DiT started from a 2400-step DiT over all levels
        # (scripts/train_default.sh): 7000 steps, ~70 min beside the single-adaLN ablation
        dit=StageTrainConfig(
            steps=7000,
            batch_size=8,
            lr=3e-4,
            warmup_steps=200,
            window_frames=75,
            ckpt_every=500,
            eval_every=1000,
        ),  # fmt: skip
        # the fine-level completer (regression, no diffusion): 1.9 s windows, ~27 min on one thread;
        # its prototype's val residual error still fell at 5000 steps
        fine=StageTrainConfig(
            steps=8000,
            batch_size=16,
            lr=1e-3,
            warmup_steps=100,
            window_frames=48,
            ckpt_every=1000,
            eval_every=1000,
        ),  # fmt: skip
        mlm_extra_text_sequences=2000,
        mlm_max_units=300,
        # no condition dropout: tried on the shipped recipe's phase 2 (0.15 / 0.25, 5000 steps), it
        # lowered the val loss (4.40 -> 4.04) but not the val grammar WER (0.34 -> 0.41), and
        # classifier-free guidance on top of it did not help (docs/training.md)
    )


def _paper() -> TrainConfig:
    # GPU machines, LRS3-scale data: larger batches, longer schedules, bf16 autocast (amp auto)
    return TrainConfig(
        lip=StageTrainConfig(
            steps=100_000,
            batch_size=32,
            lr=5e-4,
            warmup_steps=2000,
            window_frames=125,
            ckpt_every=2000,
            log_every=50,
        ),
        mlm=StageTrainConfig(
            steps=50_000, batch_size=128, lr=3e-4, warmup_steps=2000, ckpt_every=2000, log_every=50
        ),
        style=StageTrainConfig(
            steps=20_000,
            batch_size=64,
            lr=5e-4,
            warmup_steps=1000,
            window_frames=125,
            ckpt_every=2000,
            log_every=50,
        ),
        dit=StageTrainConfig(
            steps=300_000,
            batch_size=32,
            lr=1e-4,
            warmup_steps=5000,
            window_frames=125,
            ckpt_every=5000,
            log_every=50,
        ),
        fine=StageTrainConfig(
            steps=50_000,
            batch_size=64,
            lr=1e-3,
            warmup_steps=1000,
            window_frames=125,
            ckpt_every=5000,
            log_every=50,
        ),  # fmt: skip
        mlm_extra_text_sequences=20_000,
        mlm_max_units=400,
        val_max_clips=500,
        num_workers=4,
    )


TRAIN_PRESETS: dict[str, Callable[[], TrainConfig]] = {"debug": _debug, "synth": _synth, "paper": _paper}


def train_preset(name: str) -> TrainConfig:
    """The TrainConfig preset ``name``: "debug", "synth" or "paper"."""
    if name not in TRAIN_PRESETS:
        raise InputError(f"unknown training preset {name!r}; choose one of {', '.join(TRAIN_PRESETS)}")
    return TRAIN_PRESETS[name]()
