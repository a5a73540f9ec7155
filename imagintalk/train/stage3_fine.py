"""Stage 3, second network: the fine-level completer on the cached stage-3 clips.

The DiT generates the codec's first K_c levels; the completer learns the residual the
finer levels add, in the codec's code-vector space: input the summed codewords of the
clip's own first K_c levels [B, L, D] and its speaker style c_id [B, D_id] (from the frozen
stage 2, as at inference), target the summed codewords of levels K_c..K-1 [B, L, D], loss
the mean squared error per real vector element. Trained on the corpus's own codes: the
DiT's samples are not needed, so it trains beside or after the DiT in minutes.
-> OUT/runs/stage3_fine (checkpoints, TensorBoard, val_metrics.json), OUT/fine.safetensors.

Validation (whole clips): the residual's mean squared error, that of predicting no residual
(the coarse decode), and the share of the residual's energy explained.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..builders import load_codec
from ..models.bundle import check_fine_codec
from ..models.fine_levels import FineLevelCompleter
from .conditions import collate_conditions, condition_clips
from .stages import StageRun, fit, record_validation, save_network, seed_models


def coarse_and_residual(codec: Any, codes: Tensor, coarse_levels: int) -> tuple[Tensor, Tensor]:
    """codes [B, K, L] -> the coarse levels' vector and the finer levels' residual, both [B, L, D]."""
    coarse = codec.vectors(codes[:, :coarse_levels])  # [B, L, D]
    return coarse, codec.vectors(codes) - coarse  # [B, L, D] x 2


def fine_step_loss(model: nn.Module, codec: Any, batch: dict[str, Tensor], coarse_levels: int) -> Tensor:
    """Mean squared error per real vector element of a collated batch (codes [B, K, L], c_id)."""
    mask = batch["token_mask"]  # [B, L]
    coarse, target = coarse_and_residual(codec, batch["codes"], coarse_levels)  # [B, L, D] x 2
    predicted = model(coarse, batch["c_id"], ~mask)  # [B, L, D]
    error = ((predicted - target) ** 2).sum(-1) * mask  # [B, L]
    return error.sum() / (mask.sum() * target.shape[-1]).clamp(min=1)


@torch.no_grad()
def evaluate_fine(
    model: nn.Module, codec: Any, items: Sequence[dict[str, Tensor]], coarse_levels: int
) -> dict[str, float]:
    """Whole validation clips: residual MSE, the MSE of no residual, and the share explained."""
    device = next(model.parameters()).device
    total = zero = 0.0
    count = 0
    for item in items:
        batch = {k: v.to(device) for k, v in collate_conditions([item]).items()}
        coarse, target = coarse_and_residual(codec, batch["codes"], coarse_levels)  # [1, L, D] x 2
        predicted = model(coarse, batch["c_id"])  # [1, L, D]
        total += float(((predicted - target) ** 2).sum())
        zero += float((target**2).sum())
        count += target.numel()
    mse, zero_mse = total / max(count, 1), zero / max(count, 1)
    explained = 1.0 - mse / zero_mse if zero_mse > 0 else 0.0
    return {"clips": float(len(items)), "mse": mse, "zero_mse": zero_mse, "explained": explained}


def train_fine(
    run: StageRun,
    train_sets: list[Sequence[dict[str, Tensor]]],
    val_items: Sequence[dict[str, Tensor]] | None,
    factor: int,
) -> dict[str, Any]:
    """Train the fine-level completer on the cached clips of each training source (mixed by weight)
    -> {"files", "val"}; writes OUT/fine.safetensors."""
    cfg, stage = run.cfg, run.train_cfg.fine
    codec = load_codec(cfg, run.model_dir)
    check_fine_codec(cfg, codec)
    levels = cfg.dit.num_codebooks
    window = factor * stage.window_frames if stage.window_frames else None
    dataset = condition_clips(run, train_sets, window, factor)
    seed_models(cfg.seed)
    completer = FineLevelCompleter.from_config(cfg.fine)

    def step(model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        return fine_step_loss(model, codec, batch, levels), {}

    eval_fn = None if val_items is None else (lambda model: evaluate_fine(model, codec, val_items, levels))
    trainer, summary = fit(run, stage, "stage3_fine", completer, step, dataset, collate_conditions, eval_fn)
    save_network(run, "fine", trainer.model)
    result: dict[str, Any] = {"files": [str(run.model_dir / "fine.safetensors")]}
    record_validation(run, "stage3_fine", summary, result)
    return result
