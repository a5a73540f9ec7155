"""Stage 1, semantic-lip alignment: the lip aligner (+ projector) and the unit MLM.

Two Trainer runs one after the other (they share no parameters and want different batches):

  (a) LipAligner on FeatureDataset windows: mouth ROIs [B, T, 88, 88] -> vectors
      [B, uT, D_unit]; loss = cosine-logit CE + cosine pull towards the target unit's
      codeword (``LipAligner.alignment_loss``), padding from the frame mask.
      -> OUT/runs/stage1_lip, OUT/lip.safetensors
  (b) UnitMLM on unit sequences of the training clips plus text-only GRID sentences
      spoken by espeak-ng (``UnitSequenceDataset``; cheap: no video) -> OUT/runs/stage1_mlm,
      OUT/mlm.safetensors

With several ``--data`` dirs each network draws from them by weight (``train.mixing``); the
MLM's text-only extras join the first dir's sequences.

Then, on the validation clips: raw unit accuracy of the aligner, accuracy after error
detection + MLM refinement (exactly ``semantic_condition``, as at inference) and how often
the detector fires -> OUT/runs/stage1_mlm/val_metrics.json.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..data.collate import collate
from ..data.dataset import FeatureDataset
from ..data.unit_sequences import UnitSequenceDataset, collate_units, units_from_text
from ..errors import InputError
from ..eval.semantic import semantic_report
from ..models.bundle import ModelBundle
from ..models.lip import LipAligner
from ..models.unit_mlm import UnitMLM
from ..units import NUM_UNITS
from . import distributed as ddp
from .mixing import mix
from .stages import (
    StageRun,
    feature_info,
    fit,
    save_network,
    seed_models,
    source_seed,
    training_clips,
    write_metrics,
)


class LipObjective(nn.Module):
    """The aligner and its stage-1 loss in one forward, so DDP sees the whole loss graph."""

    def __init__(self, lip: nn.Module, tau: float) -> None:
        super().__init__()
        self.lip, self.tau = lip, tau

    def forward(self, mouth: Tensor, frame_mask: Tensor, units: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """mouth [B, T, H, W], frame_mask [B, T] bool (True = real), units [B, uT] (-100 = pad)."""
        vectors = self.lip(mouth, ~frame_mask)  # [B, uT, D_unit]
        if vectors.shape[:2] != units.shape:
            raise InputError(
                f"aligner gives {vectors.shape[1]} unit steps for {units.shape[1]} target units; "
                "lip.upsample must equal the data's token_rate_factor"
            )
        out = self.lip.alignment_loss(vectors, units)
        with torch.no_grad():
            valid = units != -100  # [B, uT]
            _, similarity = self.lip.codebook.nearest(vectors.float())  # [B, uT]
            count = valid.sum().clamp(min=1)
            mean_sim = (similarity * valid).sum() / count
            below = ((similarity < self.tau) & valid).sum() / count
        metrics = {
            "ce": out.ce.detach(),
            "cosine": out.cosine.detach(),
            "unit_accuracy": out.accuracy,
            "mean_similarity": mean_sim,
            "below_tau": below,
        }
        return out.loss, metrics


class MLMObjective(nn.Module):
    """The unit MLM and its masked-LM loss in one forward (DDP needs the loss from a forward call)."""

    def __init__(self, mlm: nn.Module) -> None:
        super().__init__()
        self.mlm = mlm

    def forward(self, units: Tensor, attention_mask: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """units [B, L] (-100 = pad), attention_mask [B, L] bool (True = real)."""
        loss, accuracy = self.mlm.mlm_loss(units.clamp(min=0), attention_mask)
        return loss, {"mlm_accuracy": accuracy}


def _lip_step(model: nn.Module, batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
    return model(batch["mouth"], batch["frame_mask"], batch["units"])


def _mlm_step(model: nn.Module, batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
    return model(batch["units"], batch["attention_mask"])


def train_lip(run: StageRun) -> nn.Module:
    """Stage 1a -> the trained LipAligner (also written to OUT/lip.safetensors)."""
    cfg, stage = run.cfg, run.train_cfg.lip
    info = feature_info(run.train)
    if info["token_rate_factor"] != cfg.lip.upsample:
        raise InputError(
            f"lip.upsample is {cfg.lip.upsample} but the data has {info['token_rate_factor']} "
            "tokens per video frame"
        )
    dataset = training_clips(run, stage.window_frames or None)
    seed_models(cfg.seed)
    model = LipObjective(LipAligner.from_config(cfg.lip), cfg.mlm.tau)
    trainer, _ = fit(run, stage, "stage1_lip", model, _lip_step, dataset, collate)
    save_network(run, "lip", trainer.model.lip)
    return trainer.model.lip


def text_unit_sequences(run: StageRun) -> list[np.ndarray]:
    """The extra text-only unit sequences, computed once (rank 0) and cached under OUT/runs/stage1_mlm."""
    from safetensors.numpy import load_file, save_file

    count = run.train_cfg.mlm_extra_text_sequences
    if count == 0:
        return []
    cfg = run.cfg
    recipe = json.dumps(
        [count, cfg.seed, cfg.units.frame_rate, cfg.synth.__dict__], sort_keys=True, default=str
    )
    key = hashlib.sha256(recipe.encode()).hexdigest()[:16]
    path = run.runs_dir / "stage1_mlm" / f"text_units_{key}.safetensors"
    info = ddp.init_distributed(run.device_type)
    if info.is_main and not path.is_file():
        sequences = units_from_text(count, cfg.seed, cfg.synth, cfg.units.frame_rate, run.progress)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        save_file({f"{i:07d}": s.astype(np.int64) for i, s in enumerate(sequences)}, str(tmp))
        tmp.replace(path)
    ddp.barrier(info)
    stored = load_file(str(path))
    return [stored[k] for k in sorted(stored)]


def train_mlm(run: StageRun) -> nn.Module:
    """Stage 1b -> the trained UnitMLM (also written to OUT/mlm.safetensors)."""
    cfg, stage, tcfg = run.cfg, run.train_cfg.mlm, run.train_cfg
    max_units = min(tcfg.mlm_max_units or cfg.mlm.max_units, cfg.mlm.max_units)
    datasets = [
        UnitSequenceDataset(source.data_dir, source.split, 0, max_units, source_seed(cfg.seed, k))
        for k, source in enumerate(run.train_sources)
    ]
    # windows are cut in __getitem__, extras included; with several --data dirs they ride with the first
    datasets[0].sequences += text_unit_sequences(run)
    dataset = mix(datasets, run.train_weights)
    seed_models(cfg.seed)
    model = MLMObjective(UnitMLM.from_config(cfg.mlm, NUM_UNITS, seed=cfg.seed))
    trainer, _ = fit(run, stage, "stage1_mlm", model, _mlm_step, dataset, collate_units)
    save_network(run, "mlm", trainer.model.mlm)
    return trainer.model.mlm


def evaluate_semantic(run: StageRun, lip: nn.Module, mlm: nn.Module) -> dict[str, float]:
    """Validation clips, whole: raw / refined unit accuracy, detector firing rate, similarity."""
    assert run.val is not None
    dataset = FeatureDataset(run.val.data_dir, run.val.split, None, run.cfg.seed)
    bundle = ModelBundle(run.cfg, lip.eval(), mlm.eval(), None, None, None)  # type: ignore[arg-type]
    return semantic_report(bundle, dataset, run.train_cfg.val_max_clips)


def train_stage1(run: StageRun) -> dict[str, Any]:
    """Both stage-1 networks, then their validation metrics (rank 0) -> {"files", "val"}."""
    lip = train_lip(run)
    mlm = train_mlm(run)
    result: dict[str, Any] = {
        "files": [str(run.model_dir / "lip.safetensors"), str(run.model_dir / "mlm.safetensors")]
    }
    info = ddp.init_distributed(run.device_type)
    if run.val is not None and info.is_main:
        result["val"] = evaluate_semantic(run, lip, mlm)
        write_metrics(run, "stage1_mlm", result["val"])
    ddp.barrier(info)
    return result
