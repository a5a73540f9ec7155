"""Train a LipAdapter on a user's aligned prompts, stopping on a held-back share of them.

Only the part after the lip front end is adapted (models.lip_adapter), so the front end's
per-frame features are computed once per clip and every epoch runs the Conformer alone: an
epoch over 25 prompts takes well under a second on two CPU cores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import InputError
from ..models.lip import IGNORE_INDEX, LipAligner
from ..models.lip_adapter import AdapterSpec, LipAdapter, frontend_norms

Progress = Callable[[str, float], None]  # (what is happening, fraction done 0..1)


@dataclass
class AdaptSettings:
    spec: AdapterSpec = field(default_factory=AdapterSpec)
    lr: float = 2e-3
    weight_decay: float = 1e-2
    max_epochs: int = 60
    patience: int = 8  # epochs without a better held-out accuracy before stopping
    batch_size: int = 4
    holdout: float = 0.2  # share of the prompts held back to stop early (at least 1 when >= 4 prompts)
    max_seconds: float = 900.0
    seed: int = 0


@dataclass
class AdaptReport:
    train_clips: int
    heldout_clips: int
    epochs: int
    best_epoch: int
    seconds: float
    heldout_accuracy_before: float | None  # unit accuracy on the held-back prompts' aligned targets
    heldout_accuracy_after: float | None
    history: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def split_holdout(count: int, share: float, seed: int) -> tuple[list[int], list[int]]:
    """Clip indices -> (train, held out); nothing held out below 4 clips."""
    order = np.random.default_rng([seed, 7]).permutation(count).tolist()
    held = int(round(share * count)) if count >= 4 else 0
    held = max(1, held) if count >= 4 and share > 0 else held
    return sorted(order[held:]), sorted(order[:held])


@torch.no_grad()
def renormalise(lip: LipAligner, adapter: LipAdapter, mouths: list[torch.Tensor]) -> None:
    """AdaBN: the front end's BatchNorm statistics re-estimated on the user's frames (into ``adapter``)."""
    norms = frontend_norms(lip)
    saved = {n: (bn.momentum, bn.running_mean.clone(), bn.running_var.clone()) for n, bn in norms.items()}
    for bn in norms.values():
        bn.reset_running_stats()
        bn.momentum = None  # a cumulative average over every batch
    lip.frontend.train()
    for mouth in mouths:
        lip.frame_features(mouth[None])
    lip.frontend.eval()
    for name, bn in norms.items():
        adapter.norm_stats[f"{name}.running_mean"] = bn.running_mean.clone()
        adapter.norm_stats[f"{name}.running_var"] = bn.running_var.clone()
        bn.momentum, mean, var = saved[name]
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)


def _batch(features: list[torch.Tensor], targets: list[np.ndarray], idx: list[int], u: int):
    """Padded features [B, T, C], padding mask [B, T] and targets [B, u T] of clips ``idx``."""
    longest = max(features[i].shape[0] for i in idx)
    feats = torch.zeros(len(idx), longest, features[idx[0]].shape[1])
    mask = torch.ones(len(idx), longest, dtype=torch.bool)
    target = torch.full((len(idx), u * longest), IGNORE_INDEX, dtype=torch.long)
    for row, i in enumerate(idx):
        n = features[i].shape[0]
        feats[row, :n], mask[row, :n] = features[i], False
        target[row, : u * n] = torch.from_numpy(targets[i])
    return feats, mask, target


@torch.no_grad()
def unit_accuracy(
    lip: LipAligner, features: list[torch.Tensor], targets: list[np.ndarray], idx: list[int]
) -> float:
    """Share of unit steps whose nearest unit is the target, over clips ``idx``."""
    hits = total = 0
    for i in idx:
        ids, _ = lip.codebook.nearest(lip.from_frame_features(features[i][None]))  # [1, u T]
        hits += int((ids[0].numpy() == targets[i]).sum())
        total += len(targets[i])
    return hits / max(total, 1)


def adapt_lip(
    lip: LipAligner,
    adapter: LipAdapter,
    features: list[torch.Tensor],
    targets: list[np.ndarray],
    settings: AdaptSettings,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> AdaptReport:
    """Train ``adapter`` (attached to ``lip``) on features [T, C] / targets [u T] per clip; on return it
    holds the weights of its best held-out epoch (the last epoch when nothing is held out)."""
    if len(features) != len(targets) or not features:
        raise InputError("adaptation needs at least one aligned clip")
    started = time.perf_counter()
    torch.manual_seed(settings.seed)
    train, held = split_holdout(len(features), settings.holdout, settings.seed)
    u = lip.cfg.upsample
    lip.eval()
    frozen = [(p, p.requires_grad) for p in lip.parameters()]
    for p, _ in frozen:
        p.requires_grad_(False)
    optimiser = torch.optim.AdamW(adapter.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    before = unit_accuracy(lip, features, targets, held) if held else None
    best, best_epoch, best_state = before if before is not None else -1.0, 0, _copy(adapter)
    history: list[dict] = []
    rng = np.random.default_rng([settings.seed, 11])
    epoch = 0
    try:
        for epoch in range(1, settings.max_epochs + 1):
            order = rng.permutation(train).tolist()
            losses = []
            for start in range(0, len(order), settings.batch_size):
                feats, mask, target = _batch(features, targets, order[start : start + settings.batch_size], u)
                vectors = lip.from_frame_features(feats, mask)  # [B, u T, D_unit]
                loss = lip.alignment_loss(vectors, target).loss
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                losses.append(float(loss.detach()))
            score = unit_accuracy(lip, features, targets, held) if held else None
            history.append({"epoch": epoch, "loss": float(np.mean(losses)), "heldout_accuracy": score})
            if score is None or score > best:
                best, best_epoch, best_state = (score if score is not None else best), epoch, _copy(adapter)
            if progress:
                shown = "-" if score is None else f"{score:.3f}"
                progress(f"adapting: epoch {epoch}, held-out accuracy {shown}", epoch / settings.max_epochs)
            if held and epoch - best_epoch >= settings.patience:
                break
            if time.perf_counter() - started > settings.max_seconds or (should_stop and should_stop()):
                break
    finally:
        for p, flag in frozen:
            p.requires_grad_(flag)
    adapter.load_state_dict(best_state)
    return AdaptReport(
        train_clips=len(train), heldout_clips=len(held), epochs=epoch, best_epoch=best_epoch,
        seconds=time.perf_counter() - started, heldout_accuracy_before=before,
        heldout_accuracy_after=best if held else None, history=history,
    )  # fmt: skip


def _copy(adapter: LipAdapter) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in adapter.state_dict().items()}
