"""Stage 3, concrete score: the Style-DiT under conditions from the frozen stages 1-2.

The conditions of a clip are deterministic once stages 1-2 are trained, so they are
computed once per clip, on the whole clip as the speaking pipeline does
(``semantic_condition`` with error detection + MLM refinement, ``style_condition``), and
cached under OUT/runs/stage3 in a safetensors file keyed by a hash of lip / mlm / style
weights, the clips and the switches (new weights or data -> a new cache). Training then
cuts windows of codes [K, rW] and conditions [rW, D] at the same random start and
minimises the score-entropy loss (``diffusion_loss``, per real token) over the padded batch.
When the DiT generates only the codec's first levels, the fine-level completer trains next
on the same cached clips (``stage3_fine``).

``train.stage3_units = "ground_truth"`` replaces the predicted units by the clip's own
(teacher forcing); the default "predicted" is what the model will see when it speaks.
-> OUT/runs/stage3, OUT/dit.safetensors (+ OUT/runs/stage3_fine, OUT/fine.safetensors).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from ..errors import InputError
from . import distributed as ddp
from .stages import (
    DataSource,
    StageRun,
    check_prepared,
    feature_info,
    fit,
    record_validation,
    save_network,
    seed_models,
)

if TYPE_CHECKING:
    from ..models.style_dit import StyleDiT

log = logging.getLogger(__name__)

FROZEN = ("lip", "mlm", "style")
COND_KEYS = ("codes", "c_lip", "c_emo", "c_id")


def cache_key(run: StageRun, source: DataSource) -> str:
    """sha256 over the frozen networks' files, the clips (names, sizes, times) and the switches."""
    digest = hashlib.sha256()
    for name in FROZEN:
        digest.update((run.model_dir / f"{name}.safetensors").read_bytes())
    for path in check_prepared(source.data_dir):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    tcfg = run.train_cfg
    switches = [source.split, tcfg.stage3_units, tcfg.stage3_refine, run.cfg.mlm.tau, tcfg.val_max_clips]
    digest.update(json.dumps(switches).encode())
    return digest.hexdigest()[:16]


@torch.no_grad()
def compute_conditions(
    run: StageRun, source: DataSource, limit: int | None = None
) -> list[dict[str, Tensor]]:
    """Every clip of ``source`` (whole) -> dicts of codes [K, rT] long, c_lip [rT, D_lip],
    c_emo [rT, D_emo], c_id [D_id] (on the CPU)."""
    from tqdm import tqdm

    from ..data.collate import collate
    from ..data.dataset import FeatureDataset
    from ..models.bundle import load_bundle, semantic_condition, style_condition

    info = ddp.init_distributed(run.device_type)
    device = torch.device(f"cuda:{info.local_rank}" if run.device_type == "cuda" else "cpu")
    bundle = load_bundle(run.model_dir, device, components=FROZEN)
    dataset = FeatureDataset(source.data_dir, source.split, None, run.cfg.seed)
    count = len(dataset) if limit is None else min(len(dataset), limit)
    use_face = run.cfg.style.use_face_encoder
    out = []
    for index in tqdm(range(count), desc="stage-3 conditions", unit="clip", disable=not run.progress):
        batch = {
            k: (v.to(device) if isinstance(v, Tensor) else v) for k, v in collate([dataset[index]]).items()
        }
        if run.train_cfg.stage3_units == "ground_truth":
            c_lip = bundle.lip.codebook.lookup(batch["units"].clamp(min=0))  # [1, rT, D_lip]
        else:
            c_lip = semantic_condition(bundle, batch["mouth"], refine=run.train_cfg.stage3_refine).c_lip
        c_id, c_emo = style_condition(
            bundle,
            batch["identity"],
            batch["expression"],
            face_crops=batch["face_crops"] if use_face else None,
        )  # [1, D_id], [1, rT, D_emo]
        conditions = {"codes": batch["codes"][0], "c_lip": c_lip[0], "c_emo": c_emo[0], "c_id": c_id[0]}
        out.append({k: v.cpu() if k == "codes" else v.float().cpu() for k, v in conditions.items()})
    return out


def load_conditions(
    run: StageRun, source: DataSource, name: str, limit: int | None = None
) -> list[dict[str, Tensor]]:
    """The cached conditions of ``source`` (rank 0 computes them when the cache is stale)."""
    from safetensors.torch import load_file, save_file

    info = ddp.init_distributed(run.device_type)
    folder = run.runs_dir / "stage3"
    path = folder / f"conditions_{name}_{cache_key(run, source)}.safetensors"
    if info.is_main and not path.is_file():
        items = compute_conditions(run, source, limit)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(f"conditions_{name}_*.safetensors"):
            stale.unlink()
        flat = {f"{i:07d}.{k}": v.contiguous() for i, item in enumerate(items) for k, v in item.items()}
        tmp = path.with_suffix(".tmp")
        save_file(flat, str(tmp), metadata={"clips": str(len(items))})
        tmp.replace(path)
    ddp.barrier(info)
    flat = load_file(str(path))
    items: dict[str, dict[str, Tensor]] = {}
    for key, value in flat.items():
        index, field = key.split(".", 1)
        items.setdefault(index, {})[field] = value
    return [items[k] for k in sorted(items)]


class ConditionDataset(Dataset):
    """Cached clips as windows of ``window_tokens`` (random start from seed, epoch, index)."""

    def __init__(
        self, items: list[dict[str, Tensor]], window_tokens: int | None, factor: int, seed: int
    ) -> None:
        self.items, self.window, self.factor, self.seed, self.epoch = items, window_tokens, factor, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        item = self.items[index]
        length = item["codes"].shape[-1]
        if self.window is None or length <= self.window:
            return item
        frames = (length - self.window) // self.factor  # starts on video-frame boundaries
        start = self.factor * int(
            np.random.default_rng([self.seed, self.epoch, index]).integers(0, frames + 1)
        )
        part = slice(start, start + self.window)
        return {
            "codes": item["codes"][:, part],
            "c_lip": item["c_lip"][part],
            "c_emo": item["c_emo"][part],
            "c_id": item["c_id"],
        }


def collate_conditions(batch: list[dict[str, Tensor]]) -> dict[str, Tensor]:
    """-> codes [B, K, L] (pad 0), c_lip [B, L, D_lip], c_emo [B, L, D_emo] (pad 0), c_id [B, D_id],
    token_mask [B, L] bool (True = real)."""
    lengths = torch.tensor([item["codes"].shape[-1] for item in batch])
    length = int(lengths.max())

    def pad(t: Tensor, axis: int) -> Tensor:
        widths = [0, 0] * (t.dim() - 1 - axis) + [0, length - t.shape[axis]]
        return torch.nn.functional.pad(t, widths)

    return {
        "codes": torch.stack([pad(item["codes"].long(), 1) for item in batch]),
        "c_lip": torch.stack([pad(item["c_lip"], 0) for item in batch]),
        "c_emo": torch.stack([pad(item["c_emo"], 0) for item in batch]),
        "c_id": torch.stack([item["c_id"] for item in batch]),
        "token_mask": torch.arange(length)[None] < lengths[:, None],
    }


def diffusion_step_loss(
    model: nn.Module, batch: dict[str, Tensor], cardinality: int, generator: torch.Generator | None = None
) -> Tensor:
    """Score-entropy loss per real token of a collated batch (one draw of t per clip)."""
    from ..diffusion.loss import diffusion_loss
    from ..diffusion.noise import get_noise

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
    model: nn.Module, items: list[dict[str, Tensor]], cardinality: int, seed: int
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
    from ..checkpoint import read_weights
    from ..models.bundle import weights_file

    weights = weights_file(path, "dit")
    sliced = dit.load_level_prefix(read_weights(weights))
    note = f" (its first {dit.cfg.num_codebooks} levels of {', '.join(sliced)})" if sliced else ""
    log.info("stage 3 starts from %s%s", weights, note)


def keep_levels(items: list[dict[str, Tensor]], levels: int) -> list[dict[str, Tensor]]:
    """The DiT learns the codec's first ``levels`` RVQ levels: codes [K, rT] -> [levels, rT]."""
    return [{**item, "codes": item["codes"][:levels]} for item in items]


def check_frozen(model_dir: Path) -> None:
    from ..errors import CheckpointError
    from ..models.bundle import STAGE_OF

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
    from .stage2 import check_style_inputs

    check_style_inputs(run, run.train)
    check_codes(run, run.train)
    factor = feature_info(run.train)["token_rate_factor"]
    train_items = load_conditions(run, run.train, "train")
    val_items = None
    if run.val is not None:
        check_codes(run, run.val)
        val_items = load_conditions(run, run.val, "val", run.train_cfg.val_max_clips)
    result: dict[str, Any] = {"files": [], "units": run.train_cfg.stage3_units}
    if run.only in (None, "dit"):
        result.update(train_dit(run, train_items, val_items, factor))
    if run.only in (None, "fine") and cfg.completes_fine_levels:
        from .stage3_fine import train_fine

        fine = train_fine(run, train_items, val_items, factor)
        result["files"] += fine["files"]
        if "val" in fine:
            result["val_fine"] = fine["val"]
    return result


def train_dit(
    run: StageRun,
    train_items: list[dict[str, Tensor]],
    val_items: list[dict[str, Tensor]] | None,
    factor: int,
) -> dict[str, Any]:
    """The Style-DiT on the cached conditions -> {"files", "val"}; writes OUT/dit.safetensors."""
    from ..models.style_dit import StyleDiT

    cfg, stage = run.cfg, run.train_cfg.dit
    levels = cfg.dit.num_codebooks
    train_items = keep_levels(train_items, levels)
    val_items = None if val_items is None else keep_levels(val_items, levels)
    window = factor * stage.window_frames if stage.window_frames else None
    dataset = ConditionDataset(train_items, window, factor, cfg.seed)
    cardinality = cfg.dit.cardinality
    seed_models(cfg.seed)
    dit = StyleDiT.from_config(cfg.dit)
    if run.init_dit is not None:
        init_from(dit, run.init_dit)

    from .condition_dropout import drop_conditions

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
