"""Settings of the speech codec (the token space)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CodecConfig:
    name: str = "world_rvq"  # world_rvq | dac | encodec
    path: str = ""  # directory with config.json + weights; "" = the shipped default
    sample_rate: int = 16000
    frame_rate: int = 50  # tokens per second; a whole multiple of 25
    num_codebooks: int = 12  # RVQ levels (K)
    cardinality: int = 1024  # entries per level
