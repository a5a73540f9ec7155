"""Drawing in face units: the clip's scene, a frame's state and the painter that maps both to pixels."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

_SHIFT = 4  # fixed-point bits for sub-pixel drawing
_AA = cv2.LINE_AA


@dataclass
class Scene:
    """Per-clip nuisance: placement, background, lighting, clothes."""

    size: int
    centre: tuple[float, float]  # head centre in pixels
    scale: float  # pixels per face unit
    background: np.ndarray  # [size, size, 3] uint8 RGB
    clothes: tuple[float, float, float]
    brightness: float
    contrast: float
    gradient: tuple[float, float]  # lighting slope along x and y (fraction per frame width)
    noise_std: float


@dataclass
class FrameState:
    """Per-frame pose, mouth, expression and eye state."""

    mouth: np.ndarray  # [6] open, spread, round, teeth, tongue, tuck (see visemes.MOUTH_PARAMS)
    expression: dict[str, float]  # brow_raise, brow_tilt, eye_open, smile, lip_press (x intensity)
    eyelid: float = 1.0  # 1 open, 0 closed (blinks)
    roll: float = 0.0  # degrees
    yaw: float = 0.0  # -1..1 (small)
    nod: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)  # pixels
    gaze: tuple[float, float] = field(default=(0.0, 0.0))


class Painter:
    """Maps face units to pixels for one frame and fills shapes."""

    def __init__(self, image: np.ndarray, scene: Scene, state: FrameState) -> None:
        self.image = image
        angle = np.deg2rad(state.roll)
        self.rot = scene.scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        self.offset = np.array(scene.centre) + np.array(state.shift)
        self.yaw, self.nod = state.yaw, state.nod

    def px(self, pts: np.ndarray, depth: float = 0.0) -> np.ndarray:
        """[N, 2] face units -> [N, 2] pixels; ``depth`` scales the yaw/nod parallax."""
        pts = np.asarray(pts, dtype=np.float64) + depth * np.array([self.yaw, self.nod]) * 0.12
        return pts @ self.rot.T + self.offset

    def fill(self, pts: np.ndarray, colour, depth: float = 0.0) -> None:
        poly = np.round(self.px(pts, depth) * (1 << _SHIFT)).astype(np.int32)
        cv2.fillPoly(self.image, [poly], _colour(colour), _AA, _SHIFT)

    def line(self, pts: np.ndarray, colour, width_units: float, depth: float = 0.0) -> None:
        poly = np.round(self.px(pts, depth) * (1 << _SHIFT)).astype(np.int32)
        thickness = max(1, int(round(width_units * np.linalg.norm(self.rot[0]))))
        cv2.polylines(self.image, [poly], False, _colour(colour), thickness, _AA, _SHIFT)


def _colour(c) -> tuple[int, int, int]:
    return tuple(int(np.clip(v, 0, 255)) for v in c)


def ellipse(
    cx: float, cy: float, rx: float, ry: float, n: int = 40, start: float = 0.0, end: float = 2 * np.pi
):
    """[n, 2] points of an ellipse arc (radians, y down)."""
    t = np.linspace(start, end, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)
