"""The error detector and the corrective loop of the discrete lip aligner.

A unit step whose aligner vector lies far from its nearest codeword (cosine similarity below
tau, 0.9 by default) is unreliable: it is flagged, masked, and the unit MLM fills it from the
context (optionally weighted with the aligner's own cosine logits). This is control flow on
the network outputs, outside every forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ..errors import InputError

if TYPE_CHECKING:  # only for type hints: no import cycle, no transformers import at module load
    from .lip import UnitCodebook
    from .unit_mlm import UnitMLM

DEFAULT_TAU = 0.9  # the paper's similarity threshold


def detect_errors(similarity: Tensor, tau: float = DEFAULT_TAU, padding_mask: Tensor | None = None) -> Tensor:
    """similarity [B, T] (cosine to the nearest codeword) -> flagged [B, T] bool.

    True = unreliable (similarity < tau, strictly), to be refined; padded steps
    (``padding_mask`` True) are never flagged.
    """
    if not -1.0 <= tau <= 1.0:
        raise InputError(f"tau is a cosine similarity threshold in [-1, 1], got {tau}")
    flagged = similarity < tau  # [B, T]
    if padding_mask is not None:
        if padding_mask.shape != similarity.shape:
            raise InputError(f"padding_mask {tuple(padding_mask.shape)} must match {tuple(similarity.shape)}")
        flagged = flagged & ~padding_mask  # [B, T]
    return flagged


@dataclass
class ErrorStats:
    """How many real unit steps the detector flagged."""

    flagged: int
    total: int
    per_sequence: list[float]  # fraction flagged in each sequence

    @property
    def fraction(self) -> float:
        return self.flagged / self.total if self.total else 0.0


def error_stats(flagged: Tensor, padding_mask: Tensor | None = None) -> ErrorStats:
    """Counts of flagged [B, T] bool among the real (non-padded) steps."""
    valid = torch.ones_like(flagged) if padding_mask is None else ~padding_mask  # [B, T]
    hits = (flagged & valid).sum(dim=1)  # [B]
    totals = valid.sum(dim=1)  # [B]
    per_sequence = (hits.float() / totals.clamp(min=1).float()).tolist()
    return ErrorStats(int(hits.sum()), int(totals.sum()), per_sequence)


@dataclass
class Correction:
    """The corrective loop's result; all [B, T] at the unit rate."""

    raw: Tensor  # long: nearest-codeword units of the aligner
    similarity: Tensor  # float: their cosine similarity
    flagged: Tensor  # bool: similarity < tau
    refined: Tensor  # long: flagged steps filled by the unit MLM
    stats: ErrorStats


@torch.no_grad()
def correct_units(
    vectors: Tensor,
    codebook: UnitCodebook,
    mlm: UnitMLM,
    tau: float = DEFAULT_TAU,
    padding_mask: Tensor | None = None,
    visual_temperature: float | None = None,
    face_missing: Tensor | None = None,
    lost_face_weight: float | None = None,
) -> Correction:
    """Aligner vectors [B, T, D] -> nearest units, flags, MLM-refined units (see module doc).

    ``visual_temperature`` None: the MLM alone fills flagged steps; a value (the aligner's
    training temperature): the MLM log-probs are combined with the cosine logits / temperature
    (refine_with_visual_prior), so the lips still vote where they were unsure.
    ``face_missing`` [B, T] bool (steps whose frames had no detected face): flagged whatever
    their similarity, and there the lips' vote weighs ``lost_face_weight`` (None: the usual
    weight) instead of the MLM's visual_prior_weight.
    """
    raw, similarity = codebook.nearest(vectors)  # 2 x [B, T]
    flagged = detect_errors(similarity, tau, padding_mask)  # [B, T]
    weight: float | Tensor | None = None
    if face_missing is not None:
        if face_missing.shape != raw.shape:
            shapes = f"{tuple(face_missing.shape)} vs {tuple(raw.shape)}"
            raise InputError(f"face_missing must match the units: {shapes}")
        real = torch.ones_like(flagged) if padding_mask is None else ~padding_mask  # [B, T]
        flagged = flagged | (face_missing & real)  # [B, T]
        if lost_face_weight is not None:
            usual = torch.full(raw.shape, mlm.cfg.visual_prior_weight, device=raw.device)  # [B, T]
            weight = torch.where(face_missing, torch.full_like(usual, lost_face_weight), usual)  # [B, T]
    attention_mask = None if padding_mask is None else ~padding_mask  # [B, T] True = real
    if visual_temperature is None:
        refined = mlm.refine(raw, flagged, attention_mask)  # [B, T]
    else:
        visual = codebook.logits(vectors, visual_temperature)  # [B, T, U]
        refined = mlm.refine_with_visual_prior(raw, flagged, visual, attention_mask, weight)  # [B, T]
    return Correction(raw, similarity, flagged, refined, error_stats(flagged, padding_mask))
