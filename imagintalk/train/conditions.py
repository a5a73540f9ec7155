"""The stage-3 condition cache: every clip's codes and frozen conditions, computed once.

The conditions of a clip are deterministic once stages 1-2 are trained, so they are computed
once per clip, on the whole clip by the function the speaking pipeline calls per window
(``clip_conditions``: error detection + MLM refinement with the model's prior weights and the
lost-face rule, ``face_missing`` from the clip's ``detected`` frames, then the style adapter),
with the run's settings (which stage 3 saves into config.json, so speaking uses them too), and
cached under OUT/runs/stage3 in a safetensors file keyed by a hash of the lip / mlm / style
weights, the clips, the whole settings sections that shape the conditions (units, lip, mlm,
style) and the switches (new weights, data or settings -> a new cache). Under torchrun every rank
computes its share of the clips (clip i on rank i % world_size) into a part file and rank 0
merges the parts into the cache file, so N processes take about 1/N of the time. Both stage-3
networks (the Style-DiT and the fine-level completer) train on windows of it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor
from torch.utils.data import Dataset
from tqdm import tqdm

from ..data.collate import collate
from ..data.dataset import FeatureDataset
from ..models.bundle import clip_conditions, load_bundle
from . import distributed as ddp
from .mixing import mix
from .stages import DataSource, StageRun, check_prepared, source_seed

FROZEN = ("lip", "mlm", "style")
# the settings sections that shape c_lip / c_emo / c_id: hashed whole, so no new setting is missed
CONDITION_SECTIONS = ("units", "lip", "mlm", "style")
COND_KEYS = ("codes", "c_lip", "c_emo", "c_id")


def cache_key(run: StageRun, source: DataSource) -> str:
    """sha256 over the frozen networks' files, the clips (names, sizes, times or CRCs), the settings
    sections that shape the conditions (``CONDITION_SECTIONS``, whole) and the switches."""
    digest = hashlib.sha256()
    for name in FROZEN:
        digest.update((run.model_dir / f"{name}.safetensors").read_bytes())
    for ref in check_prepared(source.data_dir):  # loose: size:mtime_ns (as before); packed: size:crc32
        digest.update(f"{ref.name}:{ref.fingerprint}".encode())
    tcfg = run.train_cfg
    settings = {name: asdict(getattr(run.cfg, name)) for name in CONDITION_SECTIONS}
    switches = [source.split, tcfg.stage3_units, tcfg.stage3_refine, tcfg.val_max_clips, settings]
    digest.update(json.dumps(switches, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


@torch.no_grad()
def compute_share(
    run: StageRun, source: DataSource, limit: int | None = None, rank: int = 0, world_size: int = 1
) -> dict[int, dict[str, Tensor]]:
    """The clips i of ``source`` (the first ``limit``) with i % world_size == rank, whole -> {i: dict of
    codes [K, rT] long, c_lip [rT, D_lip], c_emo [rT, D_emo], c_id [D_id]} (on the CPU)."""
    info = ddp.init_distributed(run.device_type)
    device = torch.device(f"cuda:{info.local_rank}" if run.device_type == "cuda" else "cpu")
    # the run's settings (= the model's, check_model_dir): what stage 3 saves and speaking then uses
    bundle = load_bundle(run.model_dir, device, components=FROZEN, cfg=run.cfg)
    dataset = FeatureDataset(source.data_dir, source.split, None, run.cfg.seed)
    count = len(dataset) if limit is None else min(len(dataset), limit)
    out = {}
    show = run.progress and rank == 0
    for index in tqdm(
        range(rank, count, world_size), desc="stage-3 conditions", unit="clip", disable=not show
    ):
        batch = {
            k: (v.to(device) if isinstance(v, Tensor) else v) for k, v in collate([dataset[index]]).items()
        }
        conds = clip_conditions(
            bundle, batch["mouth"], batch["identity"], batch["expression"], ~batch["detected"],
            batch["face_crops"], refine=run.train_cfg.stage3_refine,
        )  # fmt: skip
        c_lip, c_id, c_emo = conds.semantic.c_lip, conds.c_id, conds.c_emo  # [1, rT, D_lip], [1, D_id], ...
        if run.train_cfg.stage3_units == "ground_truth":
            c_lip = bundle.lip.codebook.lookup(batch["units"].clamp(min=0))  # [1, rT, D_lip]
        conditions = {"codes": batch["codes"][0], "c_lip": c_lip[0], "c_emo": c_emo[0], "c_id": c_id[0]}
        out[index] = {k: v.cpu() if k == "codes" else v.float().cpu() for k, v in conditions.items()}
    return out


def compute_conditions(
    run: StageRun, source: DataSource, limit: int | None = None
) -> list[dict[str, Tensor]]:
    """Every clip of ``source`` (the first ``limit``), in one process (see ``compute_share``)."""
    share = compute_share(run, source, limit)
    return [share[i] for i in sorted(share)]


def _flat(items: dict[int, dict[str, Tensor]]) -> dict[str, Tensor]:
    return {f"{i:07d}.{k}": v.contiguous() for i, item in items.items() for k, v in item.items()}


def _save(flat: dict[str, Tensor], path: Path, clips: int) -> None:
    """Write atomically: a crash leaves no half file under the final name."""
    tmp = path.with_name(path.name + ".tmp")
    save_file(flat, str(tmp), metadata={"clips": str(clips)})
    tmp.replace(path)


def _part(path: Path, rank: int, world_size: int) -> Path:
    return path.with_name(f"{path.stem}.part{rank}of{world_size}.safetensors")


def _merge(path: Path, name: str, own: dict[int, dict[str, Tensor]], world_size: int) -> None:
    """Rank 0: its own share + the other ranks' part files -> the one cache file ``path``; the
    parts and any stale cache of ``name`` are removed."""
    flat = _flat(own)
    for rank in range(1, world_size):
        flat.update(load_file(str(_part(path, rank, world_size))))
    for stale in path.parent.glob(f"conditions_{name}_*.safetensors"):  # the parts match too
        stale.unlink()
    _save(flat, path, len({key.split(".", 1)[0] for key in flat}))


def load_conditions(
    run: StageRun, source: DataSource, name: str, limit: int | None = None
) -> CachedConditions:
    """The cached conditions of ``source``; a stale cache is recomputed by every rank, each its share
    (clip i by rank i % world_size) into a part file that rank 0 merges into the one cache file."""
    info = ddp.init_distributed(run.device_type)
    folder = run.runs_dir / "stage3"
    path = folder / f"conditions_{name}_{cache_key(run, source)}.safetensors"
    if ddp.broadcast_object(not path.is_file(), info):  # rank 0 decides: every rank takes one branch
        share = compute_share(run, source, limit, info.rank, info.world_size)
        folder.mkdir(parents=True, exist_ok=True)
        if not info.is_main:  # rank 0 keeps its own share in memory
            _save(_flat(share), _part(path, info.rank, info.world_size), len(share))
        ddp.barrier(info)  # every part is written
        if info.is_main:
            _merge(path, name, share, info.world_size)
    ddp.barrier(info)
    return CachedConditions(path)


class CachedConditions(Sequence):
    """The clips of a condition cache file, each read when asked for (memory-mapped), not held in
    memory: at the paper's sizes the cache takes ~100 kB per second of video, tens of GB per rank
    for a real dataset mix. Item i: codes [K', rT] (the first ``levels`` RVQ levels when set),
    c_lip [rT, D_lip], c_emo [rT, D_emo], c_id [D_id]."""

    def __init__(self, path: Path, levels: int | None = None) -> None:
        self.path, self.levels = Path(path), levels
        with safe_open(str(self.path), "pt") as handle:
            self.prefixes = sorted({key.split(".", 1)[0] for key in handle.keys()})
        self._handle: Any = None
        self._pid = -1

    def keep_levels(self, levels: int) -> CachedConditions:
        """The same clips with codes cut to the codec's first ``levels`` RVQ levels."""
        view = copy.copy(self)
        view.levels, view._handle, view._pid = levels, None, -1
        return view

    def _file(self) -> Any:
        if self._handle is None or self._pid != os.getpid():  # one handle per (DataLoader worker) process
            self._handle, self._pid = safe_open(str(self.path), "pt"), os.getpid()
        return self._handle

    def __getstate__(self) -> dict[str, Any]:  # spawned workers open their own handle
        return {**self.__dict__, "_handle": None, "_pid": -1}

    def __len__(self) -> int:
        return len(self.prefixes)

    def __getitem__(self, index: int) -> dict[str, Tensor]:  # type: ignore[override]
        handle = self._file()
        prefix = self.prefixes[index]
        item = {key: handle.get_tensor(f"{prefix}.{key}") for key in COND_KEYS}
        if self.levels is not None:
            item["codes"] = item["codes"][: self.levels]
        return item


class ConditionDataset(Dataset):
    """Cached clips as windows of ``window_tokens`` (random start from seed, epoch, index)."""

    def __init__(
        self, items: Sequence[dict[str, Tensor]], window_tokens: int | None, factor: int, seed: int
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


def condition_clips(
    run: StageRun, train_sets: list[Sequence[dict[str, Tensor]]], window: int | None, factor: int
) -> Dataset:
    """Windows of each training source's cached clips, mixed by the sources' weights when several."""
    datasets = [
        ConditionDataset(items, window, factor, source_seed(run.cfg.seed, k))
        for k, items in enumerate(train_sets)
    ]
    return mix(datasets, run.train_weights)


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
