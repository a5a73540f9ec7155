"""Drawing for the portrait renderer: a 3-D head pose, soft-edged fills and surface masks.

Points are face units with a depth ``z`` (towards the camera); the pose rotates them by nod
and yaw (orthographic), then rolls, scales and moves them to pixels, so a turned head shows
its nose off-centre and one cheek narrower. Fills are anti-aliased masks, optionally
blurred (soft shadows, skin folds), composited in float; each fill can mark the pixels it
covers as head or neck surface, which :mod:`portrait_light` later shades and textures.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_SHIFT = 4  # fixed-point bits for sub-pixel polygons
FACE_DEPTH = 0.75  # ellipsoid depth of the face surface, face units


@dataclass
class Pose:
    """One frame's head pose: rotation (radians / degrees), pixels per unit, centre in pixels."""

    yaw: float
    nod: float
    roll_deg: float
    scale: float
    centre: tuple[float, float]

    def rotation(self) -> np.ndarray:
        """3x3 rotation of face-unit vectors (nod about x, then yaw about y)."""
        cy, sy, cn, sn = np.cos(self.yaw), np.sin(self.yaw), np.cos(self.nod), np.sin(self.nod)
        nod = np.array([[1, 0, 0], [0, cn, sn], [0, -sn, cn]])
        yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        return yaw @ nod

    def affine(self) -> np.ndarray:
        """2x3 map of rotated (x, y) to pixels: roll, scale, translation."""
        r = np.deg2rad(self.roll_deg)
        rot = self.scale * np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])
        return np.hstack([rot, np.array(self.centre)[:, None]])


def surface_depth(pts: np.ndarray, half_w: float) -> np.ndarray:
    """Depth of the face surface (an ellipsoid) under face-unit points [N, 2]."""
    r2 = (pts[:, 0] / half_w) ** 2 + ((pts[:, 1] - 0.05) / 1.1) ** 2
    return FACE_DEPTH * np.sqrt(np.clip(1 - r2, 0, 1))


class Canvas:
    """A float32 RGB frame being drawn, its pose, and the head / neck surface masks."""

    def __init__(self, image: np.ndarray, pose: Pose, half_w: float, flat_gain: float = 1.0) -> None:
        self.image = image
        self.flat_gain = flat_gain  # light on unshaded parts (surface None), e.g. teeth facing the camera
        self.size = image.shape[0]
        self.pose, self.half_w = pose, half_w
        self._rot, self._aff = pose.rotation(), pose.affine()
        self.head = np.zeros(image.shape[:2], np.float32)
        self.neck = np.zeros(image.shape[:2], np.float32)
        self._mask = np.zeros(image.shape[:2], np.uint8)

    def px(self, pts: np.ndarray, lift: float = 0.0) -> np.ndarray:
        """Face units [N, 2] on the face surface (raised by ``lift``) -> pixels [N, 2]."""
        pts = np.asarray(pts, np.float64)
        z = surface_depth(pts, self.half_w) + lift
        xyz = np.column_stack([pts, z]) @ self._rot.T
        return xyz[:, :2] @ self._aff[:, :2].T + self._aff[:, 2]

    def fill(
        self,
        pts: np.ndarray,
        colour,
        lift: float = 0.0,
        soft: float = 0.0,
        alpha: float = 1.0,
        surface: str | None = "head",
    ) -> None:
        """Fill a polygon; ``soft`` blurs its edge (face units), ``surface`` marks it for shading."""
        poly = self.px(pts, lift)
        blur = soft * self.pose.scale
        pad = int(3 * blur) + 2
        x0, y0 = np.maximum(np.floor(poly.min(0)).astype(int) - pad, 0)
        x1, y1 = np.minimum(np.ceil(poly.max(0)).astype(int) + pad, self.size)
        if x1 <= x0 or y1 <= y0:
            return
        roi = self._mask[y0:y1, x0:x1]
        roi[:] = 0
        fixed = np.round((poly - [x0, y0]) * (1 << _SHIFT)).astype(np.int32)
        cv2.fillPoly(roi, [fixed], 255, cv2.LINE_AA, _SHIFT)
        a = roi.astype(np.float32) * (alpha / 255)
        if blur > 0.3:
            a = cv2.GaussianBlur(a, (0, 0), blur)
        view = self.image[y0:y1, x0:x1]
        view += a[:, :, None] * (np.asarray(colour, np.float32) - view)
        if surface == "head":
            np.maximum(self.head[y0:y1, x0:x1], a, out=self.head[y0:y1, x0:x1])
            self.neck[y0:y1, x0:x1] *= 1 - a
        elif surface == "neck":
            np.maximum(self.neck[y0:y1, x0:x1], a, out=self.neck[y0:y1, x0:x1])
            self.head[y0:y1, x0:x1] *= 1 - a
        elif surface is None:  # e.g. clothes: neither skin shading nor skin texture
            self.head[y0:y1, x0:x1] *= 1 - a
            self.neck[y0:y1, x0:x1] *= 1 - a

    def line(
        self,
        pts: np.ndarray,
        colour,
        width: float,
        lift: float = 0.0,
        soft: float = 0.0,
        alpha: float = 1.0,
        surface: str | None = "head",
    ) -> None:
        """A stroke of ``width`` face units, drawn as a filled band (so it can be soft)."""
        pts = np.asarray(pts, np.float64)
        d = np.gradient(pts, axis=0)
        normal = np.column_stack([-d[:, 1], d[:, 0]]) / (np.linalg.norm(d, axis=1, keepdims=True) + 1e-9)
        band = np.vstack([pts + normal * width / 2, (pts - normal * width / 2)[::-1]])
        self.fill(band, colour, lift, soft, alpha, surface)


def catmull_rom(points: np.ndarray, per_segment: int = 8) -> np.ndarray:
    """A smooth curve [M, 2] through control points [K, 2] (ends repeated)."""
    p = np.vstack([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):
        a, b, c, d = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(
            0.5 * (2 * b + (c - a) * t + (2 * a - 5 * b + 4 * c - d) * t**2 + (3 * b - a - 3 * c + d) * t**3)
        )
    out.append(points[-1:])
    return np.vstack(out)


def arc(cx: float, cy: float, rx: float, ry: float, start: float = 0.0, end: float = 2 * np.pi, n: int = 32):
    """[n, 2] points of an ellipse arc (radians, y down)."""
    t = np.linspace(start, end, n)
    return np.column_stack([cx + rx * np.cos(t), cy + ry * np.sin(t)])
