"""Settings of the fine-level completer (the codec levels the Style-DiT does not generate)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InputError


@dataclass
class FineConfig:
    # on when the DiT generates fewer levels than the codec has (dit.num_codebooks < codec levels);
    # model dirs saved before the completer existed load with it off (config_from_dict)
    enabled: bool = True
    vector_dim: int = 55  # D of the codec's code vectors (world_rvq: its WORLD feature layout)
    id_dim: int = 64  # D_id of c_id [B, D_id] (equal to style.id_dim)
    hidden_dim: int = 256  # width of the residual conv stack
    depth: int = 5  # residual conv blocks
    kernel_size: int = 5  # taps per conv (odd): 5 tokens = 100 ms of context per block at 50 Hz

    def validate(self) -> None:
        for name in ("vector_dim", "id_dim", "hidden_dim", "depth", "kernel_size"):
            if getattr(self, name) < 1:
                raise InputError(f"fine.{name} must be positive, got {getattr(self, name)}")
        if self.kernel_size % 2 == 0:
            raise InputError(f"fine.kernel_size must be odd (centred context), got {self.kernel_size}")


def _debug() -> FineConfig:
    return FineConfig(id_dim=16, hidden_dim=32, depth=2, kernel_size=3)


def _synth() -> FineConfig:
    # 1.7 M parameters (6.7 MB): trained on the 4000-clip corpus in 26 min on one CPU thread
    return FineConfig()


def _paper() -> FineConfig:
    # the paper preset's DiT generates all 12 DAC levels, so the completer stays off there
    return FineConfig(enabled=False, id_dim=512)


FINE_PRESETS: dict[str, Callable[[], FineConfig]] = {"debug": _debug, "synth": _synth, "paper": _paper}


def fine_preset(name: str) -> FineConfig:
    """The FineConfig preset ``name``: "debug", "synth" or "paper"."""
    if name not in FINE_PRESETS:
        raise InputError(f"unknown fine-level preset {name!r}; choose one of {', '.join(FINE_PRESETS)}")
    return FINE_PRESETS[name]()
