"""Networks: lip aligner, unit MLM, face-style adapter and the Style-DiT score network.

Their settings live in ``imagintalk.settings`` (torch-free); the networks are reached through
their modules or lazily from here.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "StyleDiT": ".style_dit",
    "StyleDiTBlock": ".style_dit",
    "count_parameters": ".style_dit",
    "LipAligner": ".lip",
    "UnitCodebook": ".lip",
    "UnitMLM": ".unit_mlm",
    "FaceStyleAdapter": ".face_style",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
