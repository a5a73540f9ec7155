"""Networks: the Style-DiT score network (more models join here)."""

from .config import DIT_PRESETS, DiTConfig, dit_preset
from .style_dit import StyleDiT, StyleDiTBlock, count_parameters

__all__ = ["DIT_PRESETS", "DiTConfig", "StyleDiT", "StyleDiTBlock", "count_parameters", "dit_preset"]
