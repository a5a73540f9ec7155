"""Phoneme -> viseme map and coarticulated mouth trajectories.

Many phonemes share one mouth shape (viseme), as in real lip reading: /p b m/ are all
closed lips, /f v/ lower lip to upper teeth, /t d n s z/ nearly closed teeth, ... The
mouth over time follows a dominance-function blend (Cohen & Massaro style): every
phoneme places its viseme's target shape at its centre (diphthongs place two targets),
weighted by a smooth kernel ``alpha * exp(-(|t - c| / tau) ** 1.5)`` whose width grows
with the phoneme's duration; the mouth at time t is the weighted mean of all targets.
Strongly visible gestures (lip closure, lip-teeth contact, rounding) have a larger
``alpha`` so they reach their target even when short, as real lips do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# mouth parameters, all in [0, 1] except spread in [-1, 1]
MOUTH_PARAMS = ("open", "spread", "round", "teeth", "tongue", "tuck")

# viseme -> (target mouth parameters, dominance alpha)
VISEMES: dict[str, tuple[tuple[float, ...], float]] = {
    "sil": ((0.04, 0.0, 0.0, 0.0, 0.0, 0.0), 0.8),
    "PBM": ((0.0, 0.0, 0.05, 0.0, 0.0, 0.0), 4.0),
    "FV": ((0.12, 0.1, 0.0, 1.0, 0.0, 1.0), 3.0),
    "TH": ((0.28, 0.15, 0.0, 0.8, 1.0, 0.0), 1.5),
    "TDNSZ": ((0.22, 0.35, 0.0, 1.0, 0.15, 0.0), 1.0),
    "L": ((0.38, 0.15, 0.0, 0.7, 0.8, 0.0), 0.8),
    "KG": ((0.35, 0.1, 0.0, 0.4, 0.2, 0.0), 0.5),
    "CH": ((0.22, -0.35, 0.65, 1.0, 0.0, 0.0), 2.0),
    "R": ((0.28, -0.35, 0.55, 0.3, 0.1, 0.0), 1.2),
    "W": ((0.18, -0.8, 1.0, 0.0, 0.0, 0.0), 2.5),
    "AA": ((1.0, 0.2, 0.0, 0.45, 0.4, 0.0), 1.0),
    "EH": ((0.62, 0.5, 0.0, 0.6, 0.3, 0.0), 1.0),
    "IY": ((0.3, 1.0, 0.0, 1.0, 0.1, 0.0), 1.2),
    "O": ((0.72, -0.45, 0.7, 0.2, 0.2, 0.0), 1.2),
    "ER": ((0.45, -0.1, 0.35, 0.4, 0.2, 0.0), 1.0),
}

# espeak-ng (en-us) phoneme mnemonics -> viseme; diphthongs map to an onset and an offset
PHONEME_VISEMES: dict[str, tuple[str, ...]] = {
    "_": ("sil",),
    **{p: ("PBM",) for p in ("p", "b", "m")},
    **{p: ("FV",) for p in ("f", "v")},
    **{p: ("TH",) for p in ("T", "D")},
    **{p: ("TDNSZ",) for p in ("t", "d", "n", "s", "z", "t#", "d#", "n-", "t2", "d2")},
    **{p: ("L",) for p in ("l", "l/", "L", "@L")},
    **{p: ("KG",) for p in ("k", "g", "N", "h", "x", "?")},
    **{p: ("CH",) for p in ("S", "Z", "tS", "dZ")},
    **{p: ("R",) for p in ("r", "r-", "A@", "O@", "o@", "e@", "i@", "U@")},
    **{p: ("W",) for p in ("w", "u:", "U", "W")},
    **{p: ("AA",) for p in ("a", "aa", "a#", "A:", "A", "V", "0")},
    **{p: ("EH",) for p in ("E", "@", "@-", "@2", "I#", "I2", "e")},
    **{p: ("IY",) for p in ("i:", "i", "I", "y", "j")},
    **{p: ("O",) for p in ("O:", "O", "o", "oU#")},
    **{p: ("ER",) for p in ("3:", "3", "@r")},
    "aI": ("AA", "IY"),
    "aU": ("AA", "W"),
    "eI": ("EH", "IY"),
    "oU": ("O", "W"),
    "OI": ("O", "IY"),
    "aI@": ("AA", "ER"),
    "aU@": ("AA", "ER"),
}


def phoneme_visemes(phoneme: str) -> tuple[str, ...]:
    """Viseme(s) of an espeak mnemonic; unknown ones fall back on their stripped form."""
    if phoneme in PHONEME_VISEMES:
        return PHONEME_VISEMES[phoneme]
    stripped = phoneme.rstrip(":#-/2;")
    if stripped in PHONEME_VISEMES:
        return PHONEME_VISEMES[stripped]
    if stripped[:1] in "aAV":
        return ("AA",)
    if stripped[:1] in "eE@I":
        return ("EH",)
    if stripped[:1] in "oOuU":
        return ("O",)
    return ("KG",)  # an unknown consonant: a neutral, weakly dominant shape


def viseme_targets(phonemes: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Targets of a phoneme timeline: centres [K] s, widths [K] s, alphas [K], shapes [K, P]."""
    centres, widths, alphas, shapes = [], [], [], []
    for p in phonemes:
        start, end = p["start"], p["end"]
        names = phoneme_visemes(p["phoneme"])
        duration = (end - start) / len(names)
        for i, name in enumerate(names):
            shape, alpha = VISEMES[name]
            centre = start + (i + 0.5) * duration
            if name == "sil" and (end - start) > 0.3:
                centre = (start + end) / 2  # long pauses: the kernel widths below cover them
            centres.append(centre)
            widths.append(0.45 * duration + 0.02)
            alphas.append(alpha)
            shapes.append(shape)
    return np.array(centres), np.array(widths), np.array(alphas), np.array(shapes, dtype=np.float64)


def mouth_trajectory(phonemes: list[dict[str, Any]], times: np.ndarray) -> np.ndarray:
    """Mouth parameters [len(times), len(MOUTH_PARAMS)] at the given times (s)."""
    centres, widths, alphas, shapes = viseme_targets(phonemes)
    distance = np.abs(times[:, None] - centres[None, :]) / widths[None, :]
    dominance = alphas[None, :] * np.exp(-(distance**1.5)) + 1e-9
    return (dominance @ shapes) / dominance.sum(1, keepdims=True)
