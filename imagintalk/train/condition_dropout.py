"""Condition dropout for stage 3: what the Style-DiT sees of its conditions while it learns.

Two per-clip augmentations of a collated stage-3 batch, drawn independently for each clip:

* ``drop_all`` (probability): c_lip, c_id and c_emo all set to zero. The network then also
  learns the unconditional score, which classifier-free guidance at sampling time contrasts
  with the conditional one (``diffusion.guidance``); it also keeps the network from leaning on
  any one condition. Zero is the null condition: no extra embedding, the ONNX graph unchanged.
* ``flatten_emo`` (probability): c_emo replaced by its mean over the clip's real frames, i.e.
  the temporal path carries no change over time for that clip. The expression features come from
  faces whose mouths move, so their frame-to-frame detail is clip specific; without this the
  temporal path memorised training clips (val loss 4.40 dual vs 4.32 single adaLN).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..settings.checks import check_probability


def drop_conditions(
    batch: dict[str, Tensor], drop_all: float, flatten_emo: float, generator: torch.Generator | None = None
) -> dict[str, Tensor]:
    """A collated batch (c_lip [B, L, D_lip], c_id [B, D_id], c_emo [B, L, D_emo], token_mask [B, L])
    -> a new dict with the dropped conditions (the input is not changed)."""
    check_probability("drop_all", drop_all)
    check_probability("flatten_emo", flatten_emo)
    if drop_all == 0.0 and flatten_emo == 0.0:
        return batch
    c_lip, c_id, c_emo = batch["c_lip"], batch["c_id"], batch["c_emo"]
    b = c_id.shape[0]
    draws = torch.rand((2, b), generator=generator, device=generator.device if generator else "cpu")
    draws = draws.to(c_id.device)  # [2, B]
    flat = (draws[1] < flatten_emo).view(b, 1, 1)  # [B, 1, 1]
    real = batch["token_mask"].unsqueeze(-1).to(c_emo.dtype)  # [B, L, 1]
    mean = (c_emo * real).sum(1, keepdim=True) / real.sum(1, keepdim=True).clamp(min=1)  # [B, 1, D_emo]
    c_emo = torch.where(flat, mean * real, c_emo)  # [B, L, D_emo] (padding stays 0)
    keep = (draws[0] >= drop_all).to(c_id.dtype)  # [B]
    return {
        **batch,
        "c_lip": c_lip * keep.view(b, 1, 1),  # [B, L, D_lip]
        "c_id": c_id * keep.view(b, 1),  # [B, D_id]
        "c_emo": c_emo * keep.view(b, 1, 1),  # [B, L, D_emo]
    }
