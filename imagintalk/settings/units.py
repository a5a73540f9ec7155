"""Settings of the semantic units."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class UnitsConfig:
    frame_rate: int = 50  # units per second; equal to the codec's token rate
    embedding_dim: int = 32
