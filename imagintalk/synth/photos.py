"""Real photographs as textures: the photos scikit-image ships offline (``skimage.data``).

Backgrounds are slowly drifting crops of scenes; skin and hair get the high-pass detail of
texture photos (gravel, moon, grass), so the portrait face is not a flat-shaded drawing.
The astronaut and camera photos are left out of the backgrounds: they hold human faces,
which the face detector would find next to the rendered one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

BACKGROUNDS = ("coffee", "chelsea", "rocket", "brick", "grass", "gravel", "hubble_deep_field")
SKIN_DETAIL = ("gravel", "moon")
HAIR_DETAIL = "grass"


@lru_cache(maxsize=16)
def photo(name: str) -> np.ndarray:
    """``skimage.data.<name>()`` as float32 RGB [H, W, 3] in 0..255 (read once per process)."""
    import skimage.data

    image = np.asarray(getattr(skimage.data, name)(), dtype=np.float32)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = image[:, :, :3]
    image.flags.writeable = False  # shared by every clip of the process
    return image


@lru_cache(maxsize=16)
def detail(name: str, size: int, sigma: float) -> np.ndarray:
    """High-pass detail [size, size] of a photo's luminance, unit standard deviation."""
    grey = cv2.resize(photo(name).mean(axis=2), (size, size), interpolation=cv2.INTER_AREA)
    high = grey - cv2.GaussianBlur(grey, (0, 0), sigma)
    high = high / (high.std() + 1e-6)
    high.flags.writeable = False
    return high


@dataclass
class Backdrop:
    """A clip's background: a photo crop that drifts and zooms a little over the clip."""

    name: str
    centre: tuple[float, float]  # crop centre in the photo, pixels
    side: float  # crop side in the photo, pixels
    drift: tuple[float, float]  # crop centre motion over the clip, pixels
    zoom: float  # crop side factor at the clip's end
    blur: float  # depth of field: background blur sigma, output pixels
    tint: np.ndarray  # RGB gain [3]


def sample_backdrop(rng: np.random.Generator) -> Backdrop:
    name = str(BACKGROUNDS[rng.integers(len(BACKGROUNDS))])
    h, w = photo(name).shape[:2]
    side = min(h, w) * rng.uniform(0.45, 0.9)
    # the crop centre anywhere the crop stays inside the photo (drift is clipped the same way)
    cx, cy = rng.uniform(0, 1, 2)
    return Backdrop(
        name=name,
        centre=(side / 2 + cx * (w - side), side / 2 + cy * (h - side)),
        side=float(side),
        drift=(float(rng.uniform(-0.08, 0.08) * side), float(rng.uniform(-0.05, 0.05) * side)),
        zoom=float(rng.uniform(0.9, 1.0)),
        blur=float(rng.uniform(0.8, 2.5)),
        tint=rng.uniform(0.75, 1.1, 3),
    )


def backdrop_frame(b: Backdrop, progress: float, size: int) -> np.ndarray:
    """The background [size, size, 3] float32 at ``progress`` (0 start .. 1 end of the clip)."""
    image = photo(b.name)
    h, w = image.shape[:2]
    side = b.side * (1 + (b.zoom - 1) * progress)
    cx = float(np.clip(b.centre[0] + b.drift[0] * progress, side / 2, w - side / 2))
    cy = float(np.clip(b.centre[1] + b.drift[1] * progress, side / 2, h - side / 2))
    scale = size / side
    warp = np.array([[scale, 0, size / 2 - cx * scale], [0, scale, size / 2 - cy * scale]], np.float64)
    out = cv2.warpAffine(image, warp, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    out = cv2.GaussianBlur(out, (0, 0), b.blur)
    return out * b.tint.astype(np.float32)
