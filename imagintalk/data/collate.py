"""Batching ``FeatureDataset`` items: right-padded tensors with padding masks.

Masks are True on real frames / tokens. Padding values: ``units`` IGNORE_INDEX (-100,
what ``F.cross_entropy`` skips; ``emotion`` also gets it for labels outside the list),
``codes`` 0 (a valid code, so embeddings never index out of range: mask with
``token_mask``), every float array 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..video.crops import normalize_mouth

IGNORE_INDEX = -100


def _pad(arrays: list[np.ndarray], length: int, axis: int, fill: float, dtype: torch.dtype) -> torch.Tensor:
    """Stack arrays padded with ``fill`` along ``axis`` to ``length``: -> [B, ...]."""
    out = []
    for a in arrays:
        widths = [(0, 0)] * a.ndim
        widths[axis] = (0, length - a.shape[axis])
        out.append(np.pad(a, widths, constant_values=fill))
    return torch.as_tensor(np.stack(out)).to(dtype)


def collate(batch: list[dict[str, Any]], mouth_crop: int = 88) -> dict[str, Any]:
    """Items -> batch (B clips, T = longest window, r tokens per frame):

    mouth [B, T, 88, 88] f32 normalised; frame_mask [B, T] bool; detected [B, T] bool;
    expression [B, T, 7]; units [B, rT] long (pad -100); codes [B, K, rT] long (pad 0);
    token_mask [B, rT] bool; prosody {"log_f0", "voiced", "energy"} [B, rT] f32;
    face_crops [B, N, 3, S, S] f32 in 0..1; identity [B, 128]; speaker_embedding [B, 256];
    emotion [B] long (-100 unknown); lengths [B] frames; ids, speakers: lists of str.
    When every item has them (``FeatureDataset`` items do): relative {"rel_f0", "rel_energy"}
    [B, rT] f32 (pad 0), cues {"emphasis", "question"} [B, rT] f32 (pad -1 = no label) and
    word_index [B, rT] long (pad -1).
    """
    if not batch:
        raise ValueError("cannot collate an empty batch")
    lengths = [len(item["mouth"]) for item in batch]
    t = max(lengths)
    r = int(batch[0]["token_rate_factor"])
    frame_mask = torch.arange(t)[None] < torch.tensor(lengths)[:, None]  # [B, T]
    mouths = [normalize_mouth(item["mouth"], mouth_crop) for item in batch]
    crops = np.stack([item["face_crops"] for item in batch])  # [B, N, S, S, 3] uint8
    out = {
        "mouth": _pad(mouths, t, 0, 0.0, torch.float32),
        "frame_mask": frame_mask,
        "detected": _pad([item["detected"] for item in batch], t, 0, False, torch.bool),
        "expression": _pad([item["expression"] for item in batch], t, 0, 0.0, torch.float32),
        "units": _pad([item["units"] for item in batch], r * t, 0, IGNORE_INDEX, torch.long),
        "codes": _pad([item["codes"] for item in batch], r * t, 1, 0, torch.long),
        "token_mask": frame_mask.repeat_interleave(r, dim=1),  # [B, rT]
        "prosody": {
            key: _pad([item[key] for item in batch], r * t, 0, 0.0, torch.float32)
            for key in ("log_f0", "voiced", "energy")
        },
        "face_crops": torch.from_numpy(crops).permute(0, 1, 4, 2, 3).float() / 255.0,
        "identity": torch.as_tensor(np.stack([item["identity"] for item in batch])).float(),
        "speaker_embedding": torch.as_tensor(np.stack([item["speaker_embedding"] for item in batch])).float(),
        "emotion": torch.tensor([int(item["emotion_index"]) for item in batch], dtype=torch.long),
        "lengths": torch.tensor(lengths, dtype=torch.long),
        "ids": [str(item["id"]) for item in batch],
        "speakers": [str(item["speaker"]) for item in batch],
    }
    if all("rel_f0" in item and "rel_energy" in item for item in batch):
        out["relative"] = {
            key: _pad([item[key] for item in batch], r * t, 0, 0.0, torch.float32)
            for key in ("rel_f0", "rel_energy")
        }
    if all("emphasis" in item and "question" in item and "word_index" in item for item in batch):
        out["cues"] = {
            key: _pad([item[key] for item in batch], r * t, 0, -1.0, torch.float32)
            for key in ("emphasis", "question")
        }
        out["word_index"] = _pad([item["word_index"] for item in batch], r * t, 0, -1, torch.long)
    return out


def style_inputs(batch: dict[str, Any], use_face_encoder: bool) -> dict[str, Tensor | None]:
    """The adapter's keyword inputs from a collated batch (key_padding_mask True = padding)."""
    return {
        "descriptor": batch["identity"],  # [B, 128]
        "expression": batch["expression"],  # [B, T, E]
        "key_padding_mask": ~batch["frame_mask"],  # [B, T]
        "face_images": batch["face_crops"] if use_face_encoder else None,  # [B, N, 3, S, S]
    }
