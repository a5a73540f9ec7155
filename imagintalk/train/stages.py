"""What the three training stages share: the run settings, data checks, optimiser, schedule, options.

A :class:`StageRun` is built once by ``imagintalk train`` and handed to the stage functions
(``stage1.train_stage1``, ``stage2.train_stage2``, ``stage3.train_stage3``). Each trained
network gets its own Trainer run directory under ``OUT/runs`` (checkpoints, TensorBoard,
train_log.jsonl) and, once trained, its file in the model directory ``OUT``
(``models.bundle.save_component``), written by rank 0 only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from ..checkpoint import latest_checkpoint
from ..data.dataset import FeatureDataset
from ..data.feature_file import read_features
from ..data.feature_store import FeatureRef, list_clips
from ..errors import InputError
from ..features.extractors import extractor_signature
from ..models.bundle import save_component
from ..settings import Config
from ..settings.train import StageTrainConfig, TrainConfig
from . import distributed as ddp
from .mixing import mix, sampler_factory
from .rng import seed_everything
from .trainer import Trainer, TrainerOptions

# sections that fix the networks' shapes: every stage of one model directory must agree on them
MODEL_SECTIONS = ("codec", "units", "lip", "mlm", "style", "dit", "fine")
VAL_SPLITS = ("val", "valid", "dev")


@dataclass
class DataSource:
    """A prepared data dir, the split of its clips to use (None = every clip) and, when several
    dirs train together, its weight (its share of each epoch's draws: weight / sum of weights)."""

    data_dir: Path
    split: str | None
    weight: float = 1.0

    def describe(self) -> str:
        return f"{self.data_dir}" + (f" (split {self.split})" if self.split else "")


@dataclass
class StageRun:
    cfg: Config
    train_cfg: TrainConfig
    train: DataSource
    val: DataSource | None
    model_dir: Path  # OUT: config.json + one safetensors file per network
    resume: bool = False
    max_steps: int | None = None  # overrides every network's train_cfg steps
    amp: str = "none"  # resolved: none | bf16 | fp16
    device: str = "auto"
    progress: bool = True
    init_dit: Path | None = None  # stage 3 starts from these DiT weights (a file or model dir)
    only: str | None = None  # stage 3: "dit" or "fine" trains just that network
    more_train: tuple[DataSource, ...] = ()  # further --data dirs mixed with ``train`` by weight
    init_style: Path | None = None  # stage 2 starts from these adapter weights (file or model dir)

    @property
    def train_sources(self) -> list[DataSource]:
        """Every training source: ``train`` (which also fixes the feature shapes) first."""
        return [self.train, *self.more_train]

    @property
    def train_weights(self) -> list[float]:
        return [source.weight for source in self.train_sources]

    @property
    def runs_dir(self) -> Path:
        return self.model_dir / "runs"

    @property
    def is_main(self) -> bool:
        return ddp.init_distributed(self.device_type).is_main

    @property
    def device_type(self) -> str:
        return "cuda" if torch.cuda.is_available() and self.device in ("auto", "cuda") else "cpu"


# --- data ---------------------------------------------------------------------------------------
def check_prepared(data_dir: Path) -> list[FeatureRef]:
    """The prepared clips of a data dir (loose or packed); InputError (one line) when there are none."""
    if not data_dir.is_dir():
        raise InputError(f"data dir not found: {data_dir}")
    missing = f"{data_dir} is not prepared (no clips in features/); run: imagintalk prepare {data_dir}"
    return list_clips(data_dir, missing)


def splits_of(data_dir: Path) -> dict[str, int]:
    """Clip counts per split of a prepared data dir ("" for clips without one)."""
    counts: dict[str, int] = {}
    for path in check_prepared(data_dir):
        split = str(read_features(path, ("split",))["split"])
        counts[split] = counts.get(split, 0) + 1
    return counts


def data_sources(data_dir: Path, val_dir: Path | None) -> tuple[DataSource, DataSource | None]:
    """Training clips: split "train" when the dir has one (else every clip); validation clips:
    ``val_dir`` when given (every clip), else a val/valid/dev split of ``data_dir`` when present."""
    counts = splits_of(data_dir)
    if "train" in counts:
        train = DataSource(data_dir, "train")
        own_val = next((s for s in VAL_SPLITS if s in counts), None)
    else:  # no split names: every clip trains (validation then needs --val-data)
        train, own_val = DataSource(data_dir, None), None
    if val_dir is not None:
        splits_of(val_dir)  # a clear error when it is not prepared
        return train, DataSource(val_dir, None)
    return train, (DataSource(data_dir, own_val) if own_val else None)


def source_seed(seed: int, index: int) -> int:
    """The window seed of the ``index``-th training source (the first keeps the run's own seed)."""
    return seed + 7919 * index


def training_clips(run: StageRun, window_frames: int | None) -> Dataset:
    """The training clips of every source as FeatureDatasets, mixed by weight when there are several."""
    datasets = [
        FeatureDataset(source.data_dir, source.split, window_frames, source_seed(run.cfg.seed, k))
        for k, source in enumerate(run.train_sources)
    ]
    return mix(datasets, run.train_weights)


def feature_info(source: DataSource) -> dict[str, Any]:
    """Shapes of the first clip of ``source``: expression dim, codebooks, cardinality, token rate."""
    for path in check_prepared(source.data_dir):
        info = read_features(path, ("split", "expression", "codes", "codec_cardinality", "token_rate_factor"))
        if source.split is None or info["split"] == source.split:
            return {
                "expression_dim": int(info["expression"].shape[-1]),
                "num_codebooks": int(info["codes"].shape[0]),
                "cardinality": int(info["codec_cardinality"]),
                "token_rate_factor": int(info["token_rate_factor"]),
            }
    raise InputError(f"no clips of split {source.split!r} in {source.data_dir}")


def check_face_extractors(sources: list[DataSource], cfg: Config) -> None:
    """Refuse (one line) data whose identity / expression features other extractors made than
    ``cfg.style`` names: the style adapter would learn from one and speak from the other. The
    first clip of each dir is checked (files prepared before the record existed pass)."""
    want = extractor_signature(cfg.style)
    for source in sources:
        try:
            made = read_features(check_prepared(source.data_dir)[0], ("face_extractors",))["face_extractors"]
        except InputError:  # an older feature file: no record of its extractors
            continue
        if made != want:
            raise InputError(
                f"{source.data_dir} was prepared with face-feature extractors {made}, but the config "
                f"names {want}: set style.identity_extractor / expression_extractor (and *_model) to "
                f"match, or re-run imagintalk prepare --overwrite with these"
            )


def mixed_sources(
    dirs: list[tuple[Path, float]], val_dir: Path | None
) -> tuple[list[DataSource], DataSource | None]:
    """Several weighted data dirs -> their training sources (each as ``data_sources`` picks it) and
    one validation source (``val_dir``, else the first dir's own val split); mixed dirs must share
    the codec and the feature settings (``check_mixable``)."""
    sources = []
    val = None
    for k, (data_dir, weight) in enumerate(dirs):
        train, own_val = data_sources(data_dir, val_dir if k == 0 else None)
        sources.append(DataSource(train.data_dir, train.split, weight))
        val = own_val if k == 0 else val
    check_mixable(sources)
    return sources, val


def check_mixable(sources: list[DataSource]) -> None:
    """Refuse (one line) to mix dirs prepared with another codec or other feature settings."""
    if len(sources) < 2:
        return
    first = _signature(sources[0])
    for source in sources[1:]:
        other = _signature(source)
        keys = [k for k in first if first[k] != other[k]]
        if keys:
            diff = ", ".join(f"{k} {first[k]} vs {other[k]}" for k in keys)
            raise InputError(
                f"--data {sources[0].data_dir} and {source.data_dir} cannot train together: they were "
                f"prepared with another codec or other settings ({diff}); prepare both with the same "
                "--codec and --preset"
            )


def _signature(source: DataSource) -> dict[str, Any]:
    """What must agree between mixed dirs: the codec (FeatureDataset pins one per dir) and shapes."""
    dataset = FeatureDataset(source.data_dir, source.split)  # its own codec checks, per file
    return {
        "codec": f"{dataset.codec.get('name')}:{dataset.codec.get('fingerprint')}",
        **feature_info(source),
    }


# --- the model directory ------------------------------------------------------------------------
def check_model_dir(model_dir: Path, cfg: Config) -> None:
    """Refuse to add a network to a model dir whose other networks were built with other sizes."""
    path = model_dir / "config.json"
    if not path.is_file():
        return
    try:
        saved = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"model config {path} is unreadable: {exc}") from None
    current = cfg.to_dict()
    for section in MODEL_SECTIONS:
        # sections and keys absent from the saved file were added to the config after it was written
        mine, theirs = current[section], saved.get(section, {})
        keys = sorted(k for k in mine if k in theirs and theirs[k] != mine[k])
        if keys:
            raise InputError(
                f"the model at {model_dir} was trained with other {section} settings ({', '.join(keys)}); "
                f"use the same --preset / --config / --set as its earlier stages, or another --out"
            )


# --- optimiser, schedule, trainer options -------------------------------------------------------
def make_optimizer(stage: StageTrainConfig):
    """AdamW over the trainable parameters; no weight decay on biases and norm weights (1-D)."""

    def factory(model: nn.Module) -> torch.optim.Optimizer:
        params = [p for p in model.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() > 1]
        no_decay = [p for p in params if p.dim() <= 1]
        groups = [
            {"params": decay, "weight_decay": stage.weight_decay},
            {"params": no_decay, "weight_decay": 0},
        ]
        return torch.optim.AdamW(groups, lr=stage.lr)

    return factory


def warmup_cosine(stage: StageTrainConfig, total_steps: int):
    """LambdaLR factory: linear warm-up over warmup_steps, then cosine to min_lr_ratio at total_steps."""
    # a short run (--max-steps below the preset's warm-up) must still leave its warm-up
    warmup = min(stage.warmup_steps, total_steps // 10)

    def factor(done: int) -> float:
        if done < warmup:
            return (done + 1) / warmup
        span = max(total_steps - warmup, 1)
        progress = min((done - warmup) / span, 1.0)
        return stage.min_lr_ratio + (1 - stage.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return lambda optimizer: torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def run_dir(run: StageRun, name: str) -> Path:
    """OUT/runs/<name>; without --resume, a dir that already holds checkpoints is refused."""
    path = run.runs_dir / name
    if not run.resume and latest_checkpoint(path / "checkpoints") is not None:
        raise InputError(f"{path} already holds checkpoints: pass --resume to continue, or delete it")
    return path


def trainer_options(run: StageRun, stage: StageTrainConfig, name: str) -> TrainerOptions:
    """TrainerOptions of one network's run (out_dir OUT/runs/<name>)."""
    return TrainerOptions(
        out_dir=str(run_dir(run, name)),
        max_steps=run.max_steps or stage.steps,
        batch_size=stage.batch_size,
        grad_accum=stage.grad_accum,
        grad_clip=stage.grad_clip or None,
        log_every=stage.log_every,
        ckpt_every=stage.ckpt_every,
        eval_every=stage.eval_every,
        seed=run.cfg.seed,
        amp=run.amp,
        resume=run.resume,
        num_workers=run.train_cfg.num_workers,
        device=run.device,
        progress=run.progress,
        config=run.cfg.to_dict(),
    )


def total_steps(run: StageRun, stage: StageTrainConfig) -> int:
    return run.max_steps or stage.steps


def write_metrics(run: StageRun, name: str, metrics: dict[str, Any]) -> Path | None:
    """OUT/runs/<name>/val_metrics.json (rank 0)."""
    if not run.is_main:
        return None
    path = run.runs_dir / name / "val_metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, indent=2) + "\n")
    return path


def record_validation(run: StageRun, name: str, summary: dict[str, Any], result: dict[str, Any]) -> None:
    """A run's last validation (if any) -> result["val"] and OUT/runs/<name>/val_metrics.json."""
    evals = [h for h in summary["history"] if h["split"] == "eval"]
    if evals:
        result["val"] = {k: v for k, v in evals[-1].items() if k not in ("step", "split")}
        write_metrics(run, name, result["val"])


def save_network(run: StageRun, name: str, module: nn.Module) -> None:
    """MODEL_DIR/<name>.safetensors (+ config.json) from rank 0; every rank waits for it."""
    info = ddp.init_distributed(run.device_type)
    if info.is_main:
        save_component(run.model_dir, name, ddp.unwrap(module), run.cfg)
    ddp.barrier(info)


def seed_models(seed: int) -> None:
    """Seed before building networks: every rank (and every rerun) starts from the same weights."""
    seed_everything(seed)


def fit(
    run: StageRun,
    stage: StageTrainConfig,
    name: str,
    model: torch.nn.Module,
    step_fn: Any,
    dataset: Any,
    collate_fn: Any,
    eval_fn: Any = None,
) -> tuple[Any, dict[str, Any]]:
    """Train one network with its stage's optimiser, schedule and options -> (trainer, summary);
    a ``mixing.MixedDataset`` brings its weighted sampler."""
    trainer = Trainer(
        model,
        make_optimizer(stage),
        step_fn,
        dataset,
        collate_fn,
        trainer_options(run, stage, name),
        warmup_cosine(stage, run.max_steps or stage.steps),
        eval_fn,
        sampler_factory(dataset),
    )
    return trainer, trainer.train()
