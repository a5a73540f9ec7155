"""What every metric function receives, and what it returns."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .audio import match_length
from .signal import Signal


@dataclass(frozen=True)
class Score:
    """A metric value, or NaN with the reason it is undefined."""

    value: float
    reason: str = ""

    @classmethod
    def undefined(cls, reason: str) -> Score:
        return cls(float("nan"), reason)

    @property
    def valid(self) -> bool:
        return math.isfinite(self.value)


@dataclass
class ClipPair:
    """One clip to score: the ground truth, a system's output (same length) and the transcript."""

    clip_id: str
    reference: Signal
    generated: Signal
    text: str
    entry: dict[str, Any] = field(default_factory=dict)

    def generated_wav(self) -> np.ndarray:
        """The output trimmed / zero-padded to the reference's length: float32 [N_ref]."""
        return match_length(self.generated.wav, len(self.reference.wav))


@dataclass(frozen=True)
class Metric:
    """A metric: its function, direction, unit and one-line definition (for the report)."""

    name: str
    fn: Callable[[ClipPair, Any], Score] | None  # None: a corpus-level metric of the harness
    higher_is_better: bool
    unit: str
    definition: str
