"""Settings of the Style-DiT (the score network of the discrete diffusion), with named presets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InputError


@dataclass
class DiTConfig:
    hidden_dim: int = 256  # D, the width of every block
    depth: int = 6  # number of StyleDiT blocks
    num_heads: int = 4  # attention heads; hidden_dim must divide by it
    mlp_ratio: float = 4.0  # MLP hidden width = mlp_ratio * hidden_dim
    dropout: float = 0.0  # after attention and inside the MLP, training only
    dual_adaln: bool = True  # False = single adaLN (global style only), the paper's ablation
    noise_conditioning: bool = True  # add the noise-level embedding to the global condition
    num_codebooks: int = 12  # K, the codec's first K RVQ levels = output heads (finer ones left out)
    cardinality: int = 1024  # N, entries per level (equal to the codec's); mask id = N
    lip_dim: int = 32  # D_lip of c_lip [B, T, D_lip] (the semantic-unit embedding size)
    id_dim: int = 64  # D_id of c_id [B, D_id] (global identity style)
    emo_dim: int = 32  # D_emo of c_emo [B, T, D_emo] (temporal expression style)
    frequency_dim: int = 256  # sinusoidal features of the noise level before its MLP

    def validate(self) -> None:
        """Raise InputError for sizes the network cannot be built with."""
        positive = ("hidden_dim", "depth", "num_heads", "num_codebooks", "cardinality", "lip_dim", "id_dim")
        for name in positive:
            if getattr(self, name) < 1:
                raise InputError(f"dit.{name} must be positive, got {getattr(self, name)}")
        if self.hidden_dim % self.num_heads:
            raise InputError(
                f"dit.hidden_dim ({self.hidden_dim}) must divide by dit.num_heads ({self.num_heads})"
            )
        if (self.hidden_dim // self.num_heads) % 2 or self.hidden_dim % 2 or self.frequency_dim % 2:
            raise InputError("dit.hidden_dim, its per-head size and dit.frequency_dim must be even")
        if self.dual_adaln and self.emo_dim < 1:
            raise InputError(f"dit.emo_dim must be positive with dual_adaln, got {self.emo_dim}")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"dit.dropout must lie in [0, 1), got {self.dropout}")


def _debug() -> DiTConfig:
    # tiny: unit tests build, train and export it in seconds (codec sizes of the debug preset)
    return DiTConfig(
        hidden_dim=64, depth=2, num_heads=2, num_codebooks=4, cardinality=64, lip_dim=16, id_dim=16, emo_dim=8
    )


def _synth() -> DiTConfig:
    # the shipped default: trainable on CPUs within hours on SynthTalk; dropout because the
    # first 240-clip run memorised its data (train loss 2.7/token, val 7.7). It generates the
    # codec's 4 coarse levels of 12: a 12-level model trained on CPU spent itself on the fine
    # levels, whose draws only added noise (its samples cut to 4 levels: grammar WER 0.74 vs 0.81
    # on 20 test clips), while the codec loses little there (WER 0.16 vs 0.12, speaker 0.89 vs 0.93)
    return DiTConfig(hidden_dim=256, depth=6, num_heads=4, dropout=0.1, num_codebooks=4)


def _paper() -> DiTConfig:
    # DiT-B-like width and depth for GPU training on LRS3 / MEAD / RAVDESS (DAC 12 x 1024)
    return DiTConfig(
        hidden_dim=768, depth=12, num_heads=12, num_codebooks=12, cardinality=1024, lip_dim=256, id_dim=512,
        emo_dim=256, dropout=0.1,
    )  # fmt: skip


DIT_PRESETS: dict[str, Callable[[], DiTConfig]] = {
    "debug": _debug,
    "small": _synth,
    "synth": _synth,
    "paper": _paper,
}


def dit_preset(name: str) -> DiTConfig:
    """The DiTConfig preset ``name``: "debug", "small" (= "synth") or "paper"."""
    if name not in DIT_PRESETS:
        raise InputError(f"unknown DiT preset {name!r}; choose one of {', '.join(DIT_PRESETS)}")
    return DIT_PRESETS[name]()
