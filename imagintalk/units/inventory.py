"""The semantic-unit inventory: ARPAbet's 39 phones (stress removed) plus ``sil``.

One inventory serves both unit sources (espeak-ng phoneme events of SynthTalk and
pocketsphinx forced alignments of real speech). Index 0 is ``sil`` (silence / pause),
so an all-zero unit sequence means "nothing said".
"""

from __future__ import annotations

from ..errors import InputError

SILENCE = "sil"
ARPABET = (
    "aa", "ae", "ah", "ao", "aw", "ay", "b", "ch", "d", "dh", "eh", "er", "ey", "f", "g", "hh",
    "ih", "iy", "jh", "k", "l", "m", "n", "ng", "ow", "oy", "p", "r", "s", "sh", "t", "th",
    "uh", "uw", "v", "w", "y", "z", "zh",
)  # fmt: skip
UNITS: tuple[str, ...] = (SILENCE, *ARPABET)
NUM_UNITS = len(UNITS)
_INDEX = {name: i for i, name in enumerate(UNITS)}

# pocketsphinx's acoustic model also has these non-speech "phones"; all are silence to us
SPHINX_FILLERS = frozenset({"sil", "+nsn+", "+spn+", "+breath+", "+cough+", "+noise+", "+um+"})


def normalize_arpabet(phone: str) -> str:
    """``"AH0"`` / ``"ah"`` / ``"SIL"`` -> the unit name (lower case, stress digit removed)."""
    name = phone.strip().lower().rstrip("012")
    if name in SPHINX_FILLERS or name in ("", "pau", "sp", "spn"):
        return SILENCE
    return name


def unit_index(name: str) -> int:
    """Index of a unit name (ARPAbet, any case, stress digits allowed) in :data:`UNITS`."""
    key = normalize_arpabet(name)
    if key not in _INDEX:
        raise InputError(f"unknown unit {name!r}; units are ARPAbet phones plus 'sil'")
    return _INDEX[key]
