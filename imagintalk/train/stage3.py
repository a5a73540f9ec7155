"""Stage 3, concrete score: the Style-DiT under conditions from the frozen stages 1-2.

The conditions of a clip are deterministic once stages 1-2 are trained, so they are
computed once per clip, on the whole clip by the function the speaking pipeline calls
(``models.bundle.clip_conditions``: error detection + MLM refinement with the model's prior
weights and lost-face rule, then the style adapter), and cached under OUT/runs/stage3
(``train.conditions``). Training then
cuts windows of codes [K, rW] and conditions [rW, D] at the same random start and
minimises the score-entropy loss (``diffusion_loss``, per real token) over the padded batch.
When the DiT generates only the codec's first levels, the fine-level completer trains next
on the same cached clips (``stage3_fine``).

``train.stage3_units = "ground_truth"`` replaces the predicted units by the clip's own
(teacher forcing); the default "predicted" is what the model will see when it speaks.
-> OUT/runs/stage3, OUT/dit.safetensors (+ OUT/runs/stage3_fine, OUT/fine.safetensors).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from ..checkpoint import read_weights
from ..diffusion.loss import diffusion_loss
from ..diffusion.noise import get_noise
from ..errors import CheckpointError, InputError
from ..models.bundle import STAGE_OF, weights_file
from ..models.style_dit import StyleDiT
from .condition_dropout import drop_conditions
from .conditions import FROZEN, CachedConditions, collate_conditions, condition_clips, load_conditions
from .stage2 import check_style_inputs
from .stage3_fine import train_fine
from .stages import (
    DataSource,
    StageRun,
    feature_info,
    fit,
    record_validation,
    save_network,
    seed_models,
)

if TYPE_CHECKING:
    from ..models.style_dit import StyleDiT

log = logging.getLogger(__name__)


def diffusion_step_loss(
    model: nn.Module, batch: dict[str, Tensor], cardinality: int, generator: torch.Generator | None = None
) -> Tensor:
    """Score-entropy loss per real token of a collated batch (one draw of t per clip)."""
    mask = batch["token_mask"]  # [B, L]
    codes = batch["codes"]  # [B, K, L]

    def score(x: Tensor, sigma: Tensor) -> Tensor:
        return model(x, sigma, batch["c_lip"], batch["c_id"], batch["c_emo"], ~mask)  # [B, K, L, N]

    per_clip, _ = diffusion_loss(
        score, codes, cardinality, get_noise("loglinear"), generator, mask[:, None, :]
    )
    return per_clip.sum() / (mask.sum() * codes.shape[1]).clamp(min=1)


@torch.no_grad()
def evaluate_dit(
    model: nn.Module, items: Sequence[dict[str, Tensor]], cardinality: int, seed: int
) -> dict[str, float]:
    """Mean loss per token over whole validation clips, with a fixed generator (comparable across runs)."""
    device = next(model.parameters()).device
    generator = torch.Generator(device).manual_seed(seed)
    total, tokens = 0.0, 0
    for item in items:
        batch = {k: v.to(device) for k, v in collate_conditions([item]).items()}
        n = int(batch["token_mask"].sum()) * batch["codes"].shape[1]
        total += float(diffusion_step_loss(model, batch, cardinality, generator)) * n
        tokens += n
    return {"clips": float(len(items)), "loss_per_token": total / max(tokens, 1)}


def check_codes(run: StageRun, source: DataSource) -> None:
    info = feature_info(source)
    dit = run.cfg.dit
    if info["cardinality"] != dit.cardinality or info["num_codebooks"] < dit.num_codebooks:
        raise InputError(
            f"{source.data_dir} holds codes of {info['num_codebooks']} x {info['cardinality']} but the DiT "
            f"generates {dit.num_codebooks} x {dit.cardinality}; prepare with the codec of this preset"
        )


def init_from(dit: StyleDiT, path: Path) -> None:
    """Warm start: the weights of another trained DiT (a file or a model dir holding dit.safetensors)."""
    weights = weights_file(path, "dit")
    sliced = dit.load_level_prefix(read_weights(weights))
    note = f" (its first {dit.cfg.num_codebooks} levels of {', '.join(sliced)})" if sliced else ""
    log.info("stage 3 starts from %s%s", weights, note)


def keep_levels(items: CachedConditions, levels: int) -> CachedConditions:
    """The DiT learns the codec's first ``levels`` RVQ levels: codes [K, rT] -> [levels, rT]."""
    return items.keep_levels(levels)


def check_frozen(model_dir: Path) -> None:
    for name in FROZEN:
        if not (model_dir / f"{name}.safetensors").is_file():
            raise CheckpointError(
                f"stage 3 needs {model_dir}/{name}.safetensors: train stage {STAGE_OF[name]} first "
                f"(imagintalk train --stage {STAGE_OF[name]} --out {model_dir})"
            )


def train_stage3(run: StageRun) -> dict[str, Any]:
    """Train the Style-DiT, then (when the DiT generates a coarse prefix of the codec's levels) the
    fine-level completer -> {"files", "val", ...}; ``run.only`` picks one of them."""
    cfg = run.cfg
    check_frozen(run.model_dir)

    for source in run.train_sources:
        check_style_inputs(run, source)
        check_codes(run, source)
    factor = feature_info(run.train)["token_rate_factor"]
    # one cache per source: "train" for the first (as with a single --data), then "train1", ...
    train_sets = [
        load_conditions(run, source, "train" if k == 0 else f"train{k}")
        for k, source in enumerate(run.train_sources)
    ]
    val_items = None
    if run.val is not None:
        check_codes(run, run.val)
        val_items = load_conditions(run, run.val, "val", run.train_cfg.val_max_clips)
    result: dict[str, Any] = {"files": [], "units": run.train_cfg.stage3_units}
    if run.only in (None, "dit"):
        result.update(train_dit(run, train_sets, val_items, factor))
    if run.only in (None, "fine") and cfg.completes_fine_levels:
        fine = train_fine(run, train_sets, val_items, factor)
        result["files"] += fine["files"]
        if "val" in fine:
            result["val_fine"] = fine["val"]
    return result


def train_dit(
    run: StageRun,
    train_sets: list[Sequence[dict[str, Tensor]]],
    val_items: Sequence[dict[str, Tensor]] | None,
    factor: int,
) -> dict[str, Any]:
    """The Style-DiT on the cached conditions of each training source (mixed by weight) ->
    {"files", "val"}; writes OUT/dit.safetensors."""
    cfg, stage = run.cfg, run.train_cfg.dit
    levels = cfg.dit.num_codebooks
    val_items = None if val_items is None else keep_levels(val_items, levels)
    window = factor * stage.window_frames if stage.window_frames else None
    dataset = condition_clips(run, [keep_levels(items, levels) for items in train_sets], window, factor)
    cardinality = cfg.dit.cardinality
    seed_models(cfg.seed)
    dit = StyleDiT.from_config(cfg.dit)
    if run.init_dit is not None:
        init_from(dit, run.init_dit)

    drop_all, flatten_emo = run.train_cfg.dit_drop_conditions, run.train_cfg.dit_flatten_emo

    def step(model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        batch = drop_conditions(batch, drop_all, flatten_emo)  # validation sees every condition
        return diffusion_step_loss(model, batch, cardinality), {}

    eval_fn = (
        None if val_items is None else (lambda model: evaluate_dit(model, val_items, cardinality, cfg.seed))
    )
    trainer, summary = fit(run, stage, "stage3", dit, step, dataset, collate_conditions, eval_fn)
    save_network(run, "dit", trainer.model)
    result: dict[str, Any] = {"files": [str(run.model_dir / "dit.safetensors")]}
    record_validation(run, "stage3", summary, result)
    return result
