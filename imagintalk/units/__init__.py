"""Semantic units: frame-level, speaker-invariant phone labels at the token rate.

Inventory: ARPAbet's 39 phones + ``sil`` (index 0). Sources: espeak-ng phoneme events
(SynthTalk manifests) and pocketsphinx forced alignment (real speech).
"""

from __future__ import annotations

from .align import align_transcript
from .espeak_map import UNKNOWN_MNEMONICS, espeak_to_unit
from .features import unit_embeddings, unit_features
from .frames import frame_units, run_length, units_from_manifest_entry
from .inventory import NUM_UNITS, SILENCE, UNITS, unit_index

__all__ = [
    "NUM_UNITS",
    "SILENCE",
    "UNITS",
    "UNKNOWN_MNEMONICS",
    "align_transcript",
    "espeak_to_unit",
    "frame_units",
    "run_length",
    "unit_embeddings",
    "unit_features",
    "unit_index",
    "units_from_manifest_entry",
]
