"""Stage 2, acoustic-face alignment: the face-style adapter against targets of the target speech.

Inputs per clip window: the dlib descriptor [B, 128], per-frame expression features
[B, T, E] (E = style.expression_dim: 7 fer probabilities, or 135 with the fer embedding),
the frame padding mask and, with ``style.use_face_encoder``, the aligned face crops
[B, N, 3, S, S]. Targets: the resemblyzer speaker embedding [B, 256], relative log-F0 /
voiced / energy [B, 2T] and the utterance emotion [B]; losses ``FaceStyleAdapter.losses``.
-> OUT/runs/stage2 (checkpoints, TensorBoard, val_metrics.json), OUT/style.safetensors.

Validation (whole clips): cosine of the predicted to the true speaker embedding, emotion
accuracy, F0 correlation on voiced tokens (Pearson, pooled over the clips).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..data.collate import collate, style_inputs
from ..data.dataset import FeatureDataset
from ..errors import InputError
from ..eval.style import style_report
from ..models.face_style import FaceStyleAdapter
from . import distributed as ddp
from .stages import (
    DataSource,
    StageRun,
    feature_info,
    fit,
    record_validation,
    save_network,
    seed_models,
    training_clips,
)


def check_style_inputs(run: StageRun, source: DataSource) -> None:
    """The prepared features must be what the adapter's config asks for."""
    try:
        run.cfg.style.check_inputs(feature_info(source)["expression_dim"])
    except InputError as exc:
        raise InputError(
            f"{source.data_dir}: {exc} "
            f"(re-run imagintalk prepare {source.data_dir} --overwrite with this preset)"
        ) from None


def style_targets(batch: dict[str, Any]) -> dict[str, Tensor]:
    targets = {"speaker_embedding": batch["speaker_embedding"], **batch["prosody"]}  # [B, 256], 3 x [B, 2T]
    if bool((batch["emotion"] >= 0).any()):  # cross-entropy skips unknown labels (-100)
        targets["emotion"] = batch["emotion"]
    return targets


def make_step(use_face_encoder: bool):
    def step(model: nn.Module, batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        outputs = model(**style_inputs(batch, use_face_encoder))
        losses = ddp.unwrap(model).losses(outputs, style_targets(batch))
        # a batch without emotion labels still touches the emotion head: DDP wants every gradient
        total = losses.pop("total") + 0.0 * outputs["emotion_logits"].sum()
        return total, {k: v.detach() for k, v in losses.items()}

    return step


@torch.no_grad()
def evaluate_style(run: StageRun, adapter: nn.Module) -> dict[str, float]:
    """Validation clips, whole: speaker cosine, emotion accuracy, voiced-token F0 correlation."""
    assert run.val is not None
    dataset = FeatureDataset(run.val.data_dir, run.val.split, None, run.cfg.seed)
    return style_report(adapter, dataset, run.cfg.style.use_face_encoder, run.train_cfg.val_max_clips)


def train_stage2(run: StageRun) -> dict[str, Any]:
    """Train the face-style adapter -> {"files", "val"}; writes OUT/style.safetensors."""
    cfg, stage = run.cfg, run.train_cfg.style
    for source in run.train_sources:
        check_style_inputs(run, source)
    if run.val is not None:
        check_style_inputs(run, run.val)
    dataset = training_clips(run, stage.window_frames or None)
    seed_models(cfg.seed)
    adapter = FaceStyleAdapter.from_config(cfg.style)
    eval_fn = (lambda model: evaluate_style(run, model)) if run.val is not None else None
    trainer, summary = fit(
        run, stage, "stage2", adapter, make_step(cfg.style.use_face_encoder), dataset, collate, eval_fn
    )
    save_network(run, "style", trainer.model)
    result: dict[str, Any] = {"files": [str(run.model_dir / "style.safetensors")]}
    record_validation(run, "stage2", summary, result)
    return result
