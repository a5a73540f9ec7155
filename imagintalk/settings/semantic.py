"""Settings of the semantic branch (lip aligner + unit masked LM), with named presets.

Presets: "debug" (tiny, a training step well under a second on a CPU), "synth" (the shipped
SynthTalk model, trainable on 2 CPU cores), "paper" (ResNet-18 + 12-layer Conformer for GPUs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import InputError

NUM_UNITS_DEFAULT = 40  # ARPAbet 39 + "sil" (imagintalk.units.NUM_UNITS)


@dataclass
class LipAlignerConfig:
    # front end: Conv3d stem + per-frame ResNet-18 trunk
    stem_channels: int = 16  # C0, output channels of the Conv3d stem
    # lists (not tuples) so that YAML / --set overrides coerce them like every other config list
    resnet_widths: list[int] = field(default_factory=lambda: [16, 32, 64, 96])  # ResNet stage channels
    resnet_blocks: list[int] = field(default_factory=lambda: [2, 2, 2, 2])  # BasicBlocks per stage
    # Conformer encoder at the video frame rate
    d_model: int = 144
    num_layers: int = 3
    num_heads: int = 4  # d_model must divide by it, per-head size even (rotary positions)
    ff_mult: int = 4  # feed-forward hidden width = ff_mult * d_model
    conv_kernel: int = 15  # depthwise conv kernel (odd), in video frames
    conv_norm: str = "batch"  # "batch" or "layer" after the depthwise conv
    dropout: float = 0.1
    # unit rate and token projector
    upsample: int = 2  # unit steps per video frame: 2 for 50 Hz units at 25 fps, 1 for 25 Hz
    projector_hidden: int = 256  # hidden width of the TokenProjector MLP
    unit_dim: int = 32  # D_unit, the semantic-unit codebook space (= units.embedding_dim)
    num_units: int = NUM_UNITS_DEFAULT  # U, codewords
    codebook_seed: int = 0  # seed of imagintalk.units.unit_embeddings
    train_codebook: bool = False  # False keeps the phonological-feature codebook fixed
    # stage-1 loss: CE over cos(v, e_u) / temperature + cosine_weight * (1 - cos(v, e_target))
    temperature: float = 0.1
    cosine_weight: float = 0.5

    def validate(self) -> None:
        """Raise InputError for sizes the network cannot be built with."""
        positive = ("stem_channels", "d_model", "num_layers", "num_heads", "ff_mult", "conv_kernel")
        positive += ("projector_hidden", "unit_dim", "num_units")
        for name in positive:
            if getattr(self, name) < 1:
                raise InputError(f"lip.{name} must be positive, got {getattr(self, name)}")
        if len(self.resnet_widths) != len(self.resnet_blocks) or not self.resnet_widths:
            raise InputError("lip.resnet_widths and lip.resnet_blocks must be non-empty and equally long")
        if min(self.resnet_widths) < 1 or min(self.resnet_blocks) < 1:
            raise InputError("lip.resnet_widths and lip.resnet_blocks must be positive")
        if self.d_model % self.num_heads or (self.d_model // self.num_heads) % 2:
            raise InputError(
                f"lip.d_model ({self.d_model}) must divide by lip.num_heads ({self.num_heads}) "
                "into an even per-head size"
            )
        if self.conv_kernel % 2 == 0:
            raise InputError(f"lip.conv_kernel must be odd, got {self.conv_kernel}")
        if self.conv_norm not in ("batch", "layer"):
            raise InputError(f"lip.conv_norm must be 'batch' or 'layer', got {self.conv_norm!r}")
        if self.upsample not in (1, 2):
            raise InputError(f"lip.upsample must be 1 or 2, got {self.upsample}")
        if self.temperature <= 0:
            raise InputError(f"lip.temperature must be positive, got {self.temperature}")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"lip.dropout must lie in [0, 1), got {self.dropout}")


@dataclass
class UnitMLMConfig:
    # RoBERTa sizes
    hidden_size: int = 192
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 768
    dropout: float = 0.1
    max_units: int = 512  # longest window in units (10.24 s at 50 Hz); longer input is windowed
    # masking for training: BERT 80/10/10 on i.i.d. or span-selected positions
    mask_prob: float = 0.15
    span_fraction: float = 0.5  # share of sequences masked in contiguous spans (lip errors come in runs)
    span_min: int = 2  # span lengths, in units (a phone lasts ~3-6 units at 50 Hz)
    span_max: int = 10
    # refinement (inference)
    tau: float = 0.9  # error detector: cosine similarity to the nearest codeword below tau = flagged
    refine_passes: int = 1  # 1 = fill every flagged unit in one pass; K = most confident first
    visual_prior_weight: float = 1.0  # weight of the aligner's log-probs in refine_with_visual_prior
    # steps whose frames had no detected face (the front door filled them): always flagged, and
    # the lips' vote there weighs lost_face_prior_weight instead (their crop shows no mouth)
    refine_lost_face: bool = False
    lost_face_prior_weight: float = 1.0

    def validate(self) -> None:
        """Raise InputError for sizes or probabilities the model cannot use."""
        for name in ("hidden_size", "num_layers", "num_heads", "intermediate_size", "max_units"):
            if getattr(self, name) < 1:
                raise InputError(f"mlm.{name} must be positive, got {getattr(self, name)}")
        if self.hidden_size % self.num_heads:
            raise InputError(
                f"mlm.hidden_size ({self.hidden_size}) must divide by mlm.num_heads ({self.num_heads})"
            )
        for name in ("mask_prob", "span_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InputError(f"mlm.{name} must lie in [0, 1], got {getattr(self, name)}")
        if not 1 <= self.span_min <= self.span_max:
            raise InputError(f"need 1 <= mlm.span_min <= mlm.span_max, got {self.span_min}, {self.span_max}")
        if not -1.0 <= self.tau <= 1.0:
            raise InputError(f"mlm.tau is a cosine similarity in [-1, 1], got {self.tau}")
        if self.refine_passes < 1:
            raise InputError(f"mlm.refine_passes must be >= 1, got {self.refine_passes}")
        for name in ("visual_prior_weight", "lost_face_prior_weight"):
            if not getattr(self, name) >= 0.0:
                raise InputError(f"mlm.{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"mlm.dropout must lie in [0, 1), got {self.dropout}")


def _lip_debug() -> LipAlignerConfig:
    # tiny: a training step on B=2, T=16 takes a fraction of a second on one CPU thread
    return LipAlignerConfig(
        stem_channels=8, resnet_widths=[8, 16, 16, 24], resnet_blocks=[1, 1, 1, 1], d_model=32, num_layers=1,
        num_heads=2, conv_kernel=5, dropout=0.0, projector_hidden=32, unit_dim=16,
    )  # fmt: skip


def _lip_synth() -> LipAlignerConfig:
    # ResNet-18 depth (2-2-2-2 blocks) at 1/4-1/5 width + a 3-layer Conformer (d 144): ~0.25 s per
    # 3 s clip and training step on one CPU thread, so a few epochs over a few thousand clips fit in ~1 h
    return LipAlignerConfig()


def _lip_paper() -> LipAlignerConfig:
    # ResNet-18 widths + 12-layer Conformer (d 256, kernel 31), as in VSR front ends (GPU training)
    return LipAlignerConfig(
        stem_channels=64, resnet_widths=[64, 128, 256, 512], resnet_blocks=[2, 2, 2, 2], d_model=256,
        num_layers=12, num_heads=4, conv_kernel=31, projector_hidden=512, unit_dim=256,
    )  # fmt: skip


def _mlm_debug() -> UnitMLMConfig:
    return UnitMLMConfig(hidden_size=64, num_layers=2, num_heads=2, intermediate_size=128, dropout=0.0,
                         max_units=128)  # fmt: skip


def _mlm_synth() -> UnitMLMConfig:
    return UnitMLMConfig()


def _mlm_paper() -> UnitMLMConfig:
    # RoBERTa-base-like depth at half width: unit sequences have a 40-symbol vocabulary
    return UnitMLMConfig(hidden_size=384, num_layers=8, num_heads=6, intermediate_size=1536)


LIP_PRESETS: dict[str, Callable[[], LipAlignerConfig]] = {
    "debug": _lip_debug,
    "synth": _lip_synth,
    "paper": _lip_paper,
}
MLM_PRESETS: dict[str, Callable[[], UnitMLMConfig]] = {
    "debug": _mlm_debug,
    "synth": _mlm_synth,
    "paper": _mlm_paper,
}


def lip_aligner_preset(name: str) -> LipAlignerConfig:
    """The LipAlignerConfig preset ``name``: "debug", "synth" or "paper"."""
    if name not in LIP_PRESETS:
        raise InputError(f"unknown lip aligner preset {name!r}; choose one of {', '.join(LIP_PRESETS)}")
    return LIP_PRESETS[name]()


def unit_mlm_preset(name: str) -> UnitMLMConfig:
    """The UnitMLMConfig preset ``name``: "debug", "synth" or "paper"."""
    if name not in MLM_PRESETS:
        raise InputError(f"unknown unit MLM preset {name!r}; choose one of {', '.join(MLM_PRESETS)}")
    return MLM_PRESETS[name]()
