"""Draw one cartoon talking-face frame with OpenCV (anti-aliased, sub-pixel polygons).

Shapes are built in face units (see :mod:`face`) and mapped to pixels by the frame's
pose: in-plane roll, translation, scale, and a small yaw / nod that shifts the facial
features by their depth (nose more than eyes), a cheap 3-D cue.
"""

from __future__ import annotations

import numpy as np

from .face import FaceStyle
from .mouth import draw_mouth
from .painter import FrameState, Painter, Scene, ellipse


def head_outline(style: FaceStyle, jaw_drop: float, n: int = 72) -> np.ndarray:
    """Skull + jaw contour [n, 2]; the lower face narrows to the chin and drops with the jaw."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x, y = style.head_w * np.cos(t), style.head_h * np.sin(t)
    lower = np.clip(np.sin(t), 0, 1)  # 0 above the equator, 1 at the chin
    x = x * (1 - 0.45 * style.jaw_taper * lower**1.6)
    y = y + jaw_drop * lower**2
    return np.stack([x, y], 1)


def _shade(colour: np.ndarray, factor: float) -> np.ndarray:
    return np.clip(colour * factor, 0, 255)


def draw_hair_back(p: Painter, s: FaceStyle) -> None:
    if s.long_hair:
        top = ellipse(0, -0.1, s.head_w + 0.16 + s.hair_volume, s.head_h + 0.05, 40, np.pi, 2 * np.pi)
        sides = np.array(
            [[s.head_w + 0.22 + s.hair_volume, 1.25], [-(s.head_w + 0.22 + s.hair_volume), 1.25]]
        )
        p.fill(np.vstack([top, sides]), s.hair)


def draw_body(p: Painter, s: FaceStyle, clothes) -> None:
    p.fill(ellipse(0, 2.05, 1.45, 0.75), clothes)
    neck = np.array([[-s.neck_w, 0.4], [s.neck_w, 0.4], [s.neck_w * 1.1, 1.5], [-s.neck_w * 1.1, 1.5]])
    p.fill(neck, _shade(s.skin, 0.82))
    p.fill(ellipse(0, 1.05, s.neck_w * 1.05, 0.22, 30, 0, np.pi), _shade(s.skin, 0.7))  # chin shadow


def draw_head(p: Painter, s: FaceStyle, jaw_drop: float) -> None:
    for side in (-1, 1):  # ears
        ear = ellipse(side * (s.head_w - 0.02), 0.12, 0.11, 0.2)
        p.fill(ear, _shade(s.skin, 0.88))
        p.fill(ellipse(side * (s.head_w - 0.01), 0.13, 0.05, 0.11), _shade(s.skin, 0.72))
    outline = head_outline(s, jaw_drop)
    p.fill(outline, _shade(s.skin, 0.86))
    p.fill(outline * np.array([0.86, 0.95]) + np.array([0.02, -0.02]), s.skin)  # lit centre of the face


def draw_hair_front(p: Painter, s: FaceStyle) -> None:
    w, h, v = s.head_w, s.head_h, s.hair_volume
    cap = ellipse(0, 0.0, w + 0.03 + v, h + 0.04 + v, 40, np.pi * 1.04, np.pi * 1.96)
    xs = np.linspace(w * 0.98, -w * 0.98, 25)
    # hairline: low at the temples, high at the parting, a fringe dip on one side
    hairline = -0.45 - 0.12 * (1 - (xs / w) ** 2) + 0.1 * np.exp(-(((xs + 0.25 * s.parting) / 0.25) ** 2))
    hairline = np.minimum(hairline + 0.42 * (np.abs(xs) / w) ** 4, -0.05)
    p.fill(np.vstack([cap, np.stack([xs, hairline], 1)]), s.hair)
    if s.long_hair:
        for side in (-1, 1):  # side locks framing the face
            lock = np.array(
                [
                    [side * (w - 0.02), -0.35],
                    [side * (w + 0.12 + v), -0.3],
                    [side * (w + 0.16 + v), 1.1],
                    [side * (w - 0.04), 0.75],
                    [side * (w - 0.1), 0.1],
                ]
            )
            p.fill(lock, _shade(s.hair, 0.9))


def draw_brows(p: Painter, s: FaceStyle, raise_: float, tilt: float) -> None:
    for side in (-1, 1):
        xs = np.linspace(0.1, 0.47, 12)
        t = (xs - 0.1) / 0.37  # 0 inner end, 1 outer end
        y = -0.24 - 0.06 * raise_ - s.brow_arch * np.sin(np.pi * t) - 0.07 * tilt * (1 - t) + 0.03 * tilt * t
        thick = s.brow_thick * (1.1 - 0.5 * t)
        upper = np.stack([side * xs, y - thick / 2], 1)
        lower = np.stack([side * xs, y + thick / 2], 1)[::-1]
        p.fill(np.vstack([upper, lower]), _shade(s.hair, 0.8), depth=0.3)


def draw_eyes(p: Painter, s: FaceStyle, openness: float, gaze: tuple[float, float]) -> None:
    hw, hh = 0.14 * s.eye_size, 0.075 * s.eye_size * max(openness, 0.0)
    xs = np.linspace(-1, 1, 21)
    for side in (-1, 1):
        cx, cy = side * 0.3, 0.02
        p.fill(ellipse(cx, cy + 0.01, hw * 1.25, 0.11 * s.eye_size), _shade(s.skin, 0.9), depth=0.2)  # socket
        bulge = np.sqrt(np.clip(1 - xs**2, 0, 1))
        upper_y = cy - hh * bulge**0.8 - 0.01 * side * xs  # slightly almond
        lower_y = cy + 0.75 * hh * bulge
        upper = np.stack([cx + hw * xs, upper_y], 1)
        lower = np.stack([cx + hw * xs, lower_y], 1)[::-1]
        if hh > 0.006:
            p.fill(np.vstack([upper, lower]), (245, 243, 238), depth=0.2)
            r = 0.062 * s.eye_size
            iris = ellipse(cx + gaze[0] * 0.04, cy + gaze[1] * 0.02, r, r, 28)
            rel = np.clip((iris[:, 0] - cx) / hw, -1, 1)
            b = np.sqrt(np.clip(1 - rel**2, 0, 1))
            iris[:, 1] = np.clip(iris[:, 1], cy - hh * b**0.8, cy + 0.75 * hh * b)  # lids clip the iris
            p.fill(iris, s.iris, depth=0.2)
            pupil = iris.copy()
            pupil = (pupil - pupil.mean(0)) * 0.45 + pupil.mean(0)
            p.fill(pupil, (15, 12, 12), depth=0.2)
        p.line(upper, (40, 30, 30), 0.022 + 0.012 * s.long_hair, depth=0.2)  # upper lid / lashes
        p.line(lower, _shade(s.skin, 0.6), 0.01, depth=0.2)


def draw_nose(p: Painter, s: FaceStyle) -> None:
    tip_y = 0.06 + s.nose_len
    bridge = np.array([[0.04, 0.05], [0.06, tip_y - 0.08], [s.nose_w * 0.55, tip_y], [0.0, tip_y + 0.03]])
    p.fill(np.vstack([bridge, bridge[::-1] * [-1, 1]]), _shade(s.skin, 0.93), depth=1.0)
    p.line(
        np.array([[0.05, 0.08], [0.07, tip_y - 0.06], [s.nose_w * 0.6, tip_y - 0.01]]),
        _shade(s.skin, 0.7),
        0.02,
        depth=1.0,
    )
    for side in (-1, 1):
        p.fill(ellipse(side * s.nose_w * 0.35, tip_y + 0.005, 0.045, 0.022), (60, 35, 35), depth=0.9)


def render_frame(style: FaceStyle, scene: Scene, state: FrameState, rng: np.random.Generator) -> np.ndarray:
    """One frame [size, size, 3] uint8 RGB."""
    image = scene.background.copy()
    p = Painter(image, scene, state)
    expr = state.expression
    jaw_drop = 0.14 * float(state.mouth[0])
    draw_hair_back(p, style)
    draw_body(p, style, scene.clothes)
    draw_head(p, style, jaw_drop)
    draw_hair_front(p, style)
    draw_brows(p, style, expr["brow_raise"], expr["brow_tilt"])
    draw_eyes(p, style, state.eyelid * (1 + 0.5 * expr["eye_open"]), state.gaze)
    draw_nose(p, style)
    draw_mouth(p, style, state.mouth, expr["smile"], expr["lip_press"])
    return _light_and_noise(image, scene, rng)


def _light_and_noise(image: np.ndarray, scene: Scene, rng: np.random.Generator) -> np.ndarray:
    size = scene.size
    ramp = (np.arange(size) / size - 0.5).astype(np.float32)
    gain = 1 + scene.gradient[0] * ramp[None, :] + scene.gradient[1] * ramp[:, None]
    out = (image.astype(np.float32) - 128) * scene.contrast + 128
    out = out * (scene.brightness * gain)[:, :, None]
    if scene.noise_std > 0:
        out += rng.normal(0, scene.noise_std, out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)
