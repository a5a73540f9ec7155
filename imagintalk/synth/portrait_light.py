"""Light, skin texture and camera for the portrait renderer.

Shading: the head is an ellipsoid and the neck a cylinder in screen space (a sphere's
screen-space normals do not change as it turns, and the light is fixed to the camera), lit
by the clip's directional key light plus ambient, with a soft sheen; the neck sits in the
chin's shadow. The skin is modulated by the high-pass detail of a photograph, warped with the
head so pores move with the face. The camera then applies colour temperature, defocus,
signal-dependent sensor noise and a JPEG round trip at a low, per-frame quality.
"""

from __future__ import annotations

import cv2
import numpy as np

from .photos import detail
from .portrait import PortraitStyle
from .portrait_canvas import Canvas
from .portrait_scene import Camera

TEXTURE = 256  # skin detail map resolution over the face box below
_BOX = (-1.6, 1.6)  # face units covered by the detail map, x and y


def _screen_units(canvas: Canvas) -> tuple[np.ndarray, np.ndarray]:
    """Rotated face-unit coordinates (x, y) of every pixel: the pose's affine inverted."""
    aff = canvas.pose.affine()
    inv = cv2.invertAffineTransform(aff)
    ys, xs = np.mgrid[0 : canvas.size, 0 : canvas.size].astype(np.float32)
    u = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    v = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    return u.astype(np.float32), v.astype(np.float32)


def _lambert(nx: np.ndarray, ny: np.ndarray, nz: np.ndarray, cam: Camera, sheen: float) -> np.ndarray:
    norm = np.sqrt(nx**2 + ny**2 + nz**2) + 1e-6
    lx, ly, lz = cam.light
    diffuse = np.clip((nx * lx + ny * ly + nz * lz) / norm, 0, 1)
    half = cam.light + np.array([0.0, 0.0, 1.0])
    half /= np.linalg.norm(half)
    spec = np.clip((nx * half[0] + ny * half[1] + nz * half[2]) / norm, 0, 1) ** 24
    return cam.ambient + (1 - cam.ambient) * 1.2 * diffuse + sheen * spec


def shade(canvas: Canvas, style: PortraitStyle, cam: Camera, neck_w: float) -> None:
    """Light the head and neck pixels of ``canvas`` and texture the skin, in place."""
    u, v = _screen_units(canvas)
    head, neck = canvas.head, canvas.neck
    nx, ny = u / style.face_w, (v - 0.05) / 1.15
    nz = np.sqrt(np.clip(1 - nx**2 - ny**2, 0.02, 1))
    head_light = _lambert(nx, ny, nz, cam, sheen=0.18)
    cx = np.clip(u / neck_w, -0.98, 0.98)
    neck_light = _lambert(cx, np.full_like(cx, 0.25), np.sqrt(1 - cx**2), cam, sheen=0.0)
    # the chin shadows the top of the neck
    neck_light *= 1 - 0.6 * np.exp(-np.clip(v - style.chin, 0, None) / 0.2)
    span = _BOX[1] - _BOX[0]
    map_x = (u - _BOX[0]) / span * TEXTURE
    map_y = (v - _BOX[0]) / span * TEXTURE
    texture = detail(style.skin_detail, TEXTURE, 1.5)
    grain = cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    skin = 1 + grain * (style.detail_gain / 128)
    gain = 1 + head * (head_light * skin - 1) + neck * (neck_light * skin - 1)
    canvas.image *= gain[:, :, None]


def expose(image: np.ndarray, cam: Camera, rng: np.random.Generator) -> np.ndarray:
    """Camera: colour temperature, defocus, sensor noise, JPEG round trip -> uint8 RGB."""
    out = image * cam.temperature.astype(np.float32)
    out = cv2.GaussianBlur(out, (0, 0), cam.defocus)
    # shot noise grows with the signal, read noise does not
    sigma = cam.noise * np.sqrt(np.clip(out, 0, 255) / 128 + 0.15)
    out += rng.standard_normal(out.shape, dtype=np.float32) * sigma
    frame = np.clip(out, 0, 255).astype(np.uint8)
    quality = int(rng.integers(cam.jpeg[0], cam.jpeg[1] + 1))
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:  # cannot happen for a valid uint8 image; keep the uncompressed frame if it does
        return frame
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
