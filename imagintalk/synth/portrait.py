"""The portrait renderer's face: geometry and colours from the speaker's parameter vector.

A second mapping from the same unit-cube coordinates as :func:`face.face_style`, so a face
still tells its voice, but with other proportions and other pairings than the cartoon's:

- vocal-tract length -> face length and jaw width (an oval, longer than the cartoon's);
- pitch -> eye spacing and nose width (higher voice: closer-set eyes, narrower nose);
- pitch range -> mouth width and lip fullness; rate -> mouth height on the face, brow weight;
- gender-like class -> jaw and chin shape, hair length and lip tint; variant -> hair line;
- skin tone, hair colour: the cartoon's palette walks, shifted (other skins, other hair).

Coordinates are face units, as for the cartoon: origin between the eyes' height and the
ears, y down, chin at y = ``chin``, skull top near -1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .photos import SKIN_DETAIL

SKIN_STOPS = np.array(
    [[241.0, 214.0, 196.0], [214.0, 164.0, 128.0], [168.0, 112.0, 78.0], [96.0, 62.0, 44.0]]
)
HAIR_STOPS = np.array([[60.0, 42.0, 30.0], [22.0, 18.0, 18.0], [110.0, 70.0, 40.0], [150.0, 140.0, 130.0]])


@dataclass
class PortraitStyle:
    face_w: float  # half-width at the cheekbones
    chin: float  # chin y (skull top near -1)
    jaw_w: float  # half-width at the jaw corners, fraction of face_w
    chin_w: float  # half-width of the chin, fraction of face_w
    eye_x: float  # eye centres at +-eye_x
    eye_y: float
    eye_w: float  # eye half-width
    nose_y: float  # nose tip
    nose_w: float
    mouth_y: float
    mouth_w: float  # mouth half-width at rest
    lip_full: float
    brow_weight: float
    hair_line: float  # forehead hair line y
    long_hair: bool
    skin: np.ndarray  # RGB [3]
    hair: np.ndarray
    lips: np.ndarray
    iris: np.ndarray
    skin_detail: str  # photo whose high-pass detail textures the skin
    detail_gain: float  # skin detail strength (0..255 levels per unit of detail)


def _walk(stops: np.ndarray, t: float) -> np.ndarray:
    pos = float(np.clip(t, 0, 1)) * (len(stops) - 1)
    i = min(int(pos), len(stops) - 2)
    return stops[i] + (pos - i) * (stops[i + 1] - stops[i])


def portrait_style(speaker: dict[str, Any]) -> PortraitStyle:
    """The speaker's portrait face (deterministic, smooth in the unit coordinates)."""
    u = speaker["unit"]
    female = speaker["gender"] == "female"
    variant = int(speaker["variant_index"])
    tract, pitch, prange, rate = u["tract_length"], u["pitch"], u["pitch_range"], u["rate"]
    skin = _walk(SKIN_STOPS, 1 - u["skin_tone"] * 0.9)  # reversed walk: not the cartoon's pairing
    tint = np.array([180.0, 70.0, 80.0]) if female else np.array([160.0, 95.0, 90.0])
    return PortraitStyle(
        face_w=0.70 + 0.06 * tract - 0.03 * female,
        chin=1.02 + 0.10 * tract,
        jaw_w=0.80 - 0.10 * female + 0.06 * tract,
        chin_w=0.30 - 0.06 * female + 0.08 * (1 - pitch),
        eye_x=0.33 - 0.05 * pitch,
        eye_y=0.02 + 0.03 * tract,
        eye_w=0.135 + 0.015 * female,
        nose_y=0.42 + 0.06 * tract,
        nose_w=0.16 - 0.04 * pitch,
        mouth_y=0.64 + 0.05 * tract - 0.04 * rate,
        mouth_w=0.21 + 0.06 * prange,
        lip_full=0.8 + 0.3 * female + 0.25 * prange,
        brow_weight=0.6 + 0.5 * (1 - female) + 0.3 * rate,
        hair_line=-0.55 - 0.08 * (variant % 3),
        long_hair=female,
        skin=skin,
        hair=np.minimum(_walk(HAIR_STOPS, u["hair_colour"]), skin * 0.7),  # hair never blends into skin
        lips=0.5 * skin + 0.5 * tint,
        iris=_walk(
            np.array([[60.0, 40.0, 25.0], [90.0, 110.0, 70.0], [70.0, 100.0, 140.0]]), u["hair_colour"]
        ),
        skin_detail=SKIN_DETAIL[variant % len(SKIN_DETAIL)],
        detail_gain=3.5 + 3.0 * (1 - female),
    )
