"""Face appearance as a smooth function of the speaker's parameter vector.

The same unit-cube coordinates that set the voice set the face, so a face tells its voice:

- vocal-tract length -> face length, jaw width, neck width and nose length
  (a longer tract, lower formants: a longer, broader face);
- gender-like class (stock variant family) -> jaw taper, hair length, brow weight, lip tint;
- stock variant within the class -> hair volume and parting side;
- pitch -> eye size (higher voice, larger eyes); pitch range -> brow arch;
- rate -> brow thickness (faster talkers: thinner brows) and nose width;
- skin tone and hair colour are identity-only dimensions (no voice counterpart).

Coordinates are "face units": origin at the head centre, y down, chin near y = +1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SKIN_LIGHT = np.array([236.0, 204.0, 178.0])  # RGB
SKIN_DARK = np.array([112.0, 74.0, 52.0])
HAIR_STOPS = np.array([[214.0, 178.0, 108.0], [140.0, 86.0, 44.0], [78.0, 48.0, 30.0], [26.0, 22.0, 22.0]])


@dataclass
class FaceStyle:
    head_w: float  # half-width of the skull ellipse
    head_h: float  # half-height (top of skull to chin = 2 * head_h)
    jaw_taper: float  # 0 = square jaw, 1 = pointed chin
    neck_w: float
    eye_size: float
    brow_arch: float
    brow_thick: float
    nose_len: float
    nose_w: float
    lip_full: float
    long_hair: bool
    hair_volume: float
    parting: float  # -1 left, +1 right
    skin: np.ndarray  # RGB float [3]
    hair: np.ndarray
    lips: np.ndarray
    iris: np.ndarray


def _hair_colour(t: float) -> np.ndarray:
    """Piecewise-linear walk blonde -> brown -> dark brown -> black."""
    pos = t * (len(HAIR_STOPS) - 1)
    i = min(int(pos), len(HAIR_STOPS) - 2)
    return HAIR_STOPS[i] + (pos - i) * (HAIR_STOPS[i + 1] - HAIR_STOPS[i])


def face_style(speaker: dict[str, Any]) -> FaceStyle:
    """The speaker's face (deterministic, smooth in the speaker's unit coordinates)."""
    u = speaker["unit"]
    female = speaker["gender"] == "female"
    tract, pitch, prange, rate = u["tract_length"], u["pitch"], u["pitch_range"], u["rate"]
    skin = SKIN_LIGHT + u["skin_tone"] * (SKIN_DARK - SKIN_LIGHT)
    lip_tint = np.array([170.0, 70.0, 80.0]) if female else np.array([150.0, 85.0, 80.0])
    lips = 0.45 * skin + 0.55 * lip_tint
    return FaceStyle(
        head_w=0.70 + 0.10 * tract - 0.04 * female,
        head_h=0.94 + 0.10 * tract,
        jaw_taper=0.30 + 0.15 * female + 0.10 * (1 - tract),
        neck_w=0.30 + 0.10 * tract - 0.05 * female,
        eye_size=0.85 + 0.30 * pitch + 0.05 * female,
        brow_arch=0.02 + 0.06 * prange,
        brow_thick=0.065 - 0.03 * rate + 0.015 * (not female),
        nose_len=0.34 + 0.10 * tract,
        nose_w=0.17 + 0.06 * rate,
        lip_full=0.85 + 0.25 * female + 0.1 * pitch,
        long_hair=female,
        hair_volume=0.04 + 0.03 * speaker["variant_index"],
        parting=1.0 if speaker["variant_index"] % 2 else -1.0,
        skin=skin,
        hair=_hair_colour(u["hair_colour"]),
        lips=lips,
        iris=np.array([70.0, 110.0, 150.0]) * (1 - u["hair_colour"])
        + np.array([90.0, 60.0, 35.0]) * u["hair_colour"],
    )
