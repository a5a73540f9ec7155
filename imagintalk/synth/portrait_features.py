"""Portrait eyes, brows and nose: soft-edged, shaded shapes rather than the cartoon's flat ones.

Eyes sit in shadowed sockets under a lid crease, with an almond opening, an iris with a
dark limbal ring, pupil and catch light, and a lash line; brows are tapered soft strokes;
the nose is a lit bridge with a shadowed side (away from the key light), a tip, alae and
nostrils. The expression moves brows (raise, inner-end tilt) and lids (eye_open).
"""

from __future__ import annotations

import numpy as np

from .portrait import PortraitStyle
from .portrait_canvas import Canvas, arc, catmull_rom


def brow_colour(s: PortraitStyle) -> np.ndarray:
    """Brows darker than the hair and always well darker than the skin (fair hair, dark skin)."""
    return np.minimum(s.hair * 0.75, s.skin * 0.45)


def draw_brows(c: Canvas, s: PortraitStyle, raise_: float, tilt: float) -> None:
    for side in (-1, 1):
        t = np.linspace(0, 1, 14)  # 0 inner end .. 1 outer end
        xs = side * (s.eye_x - 0.13 + 0.30 * t)
        y = s.eye_y - 0.19 - 0.05 * raise_ - 0.05 * np.sin(np.pi * (0.2 + 0.7 * t)) - 0.06 * tilt * (1 - t)
        thick = (0.045 * (1 - 0.55 * t) + 0.012) * s.brow_weight
        band = np.vstack([np.column_stack([xs, y - thick / 2]), np.column_stack([xs, y + thick / 2])[::-1]])
        c.fill(band, brow_colour(s), lift=0.02, soft=0.008, alpha=0.9)


def draw_eyes(c: Canvas, s: PortraitStyle, openness: float, gaze: tuple[float, float]) -> None:
    hw = s.eye_w
    hh = 0.05 * max(openness, 0.0)
    t = np.linspace(-1, 1, 25)
    bulge = np.sqrt(np.clip(1 - t**2, 0, 1))
    for side in (-1, 1):
        cx, cy = side * s.eye_x, s.eye_y
        c.fill(arc(cx, cy - 0.02, hw * 1.5, 0.1), s.skin * 0.6, soft=0.05, alpha=0.45)  # socket shadow
        crease = np.column_stack([cx + hw * 1.05 * t, cy - 0.055 - 0.035 * bulge])
        c.line(crease, s.skin * 0.55, 0.012, soft=0.008, alpha=0.5)
        skew = 0.012 * side * t  # outer corners a little higher: an almond, not an ellipse
        upper = np.column_stack([cx + hw * t, cy - hh * bulge**0.7 - skew])
        lower = np.column_stack([cx + hw * t, cy + 0.6 * hh * bulge - skew])
        if hh > 0.004:
            c.fill(np.vstack([upper, lower[::-1]]), (222, 214, 204), lift=0.01, soft=0.002)
            r = 0.045
            ix, iy = cx + 0.03 * gaze[0], cy + 0.012 * gaze[1]
            iris = arc(ix, iy, r, r, n=28)
            rel = np.clip((iris[:, 0] - cx) / hw, -1, 1)
            b = np.sqrt(np.clip(1 - rel**2, 0, 1))
            lim_up = cy - hh * b**0.7 - 0.012 * side * rel
            iris[:, 1] = np.clip(iris[:, 1], lim_up, cy + 0.6 * hh * b)  # the lids cover the iris
            c.fill(iris, s.iris * 0.55, lift=0.01, soft=0.002)  # limbal ring
            inner = (iris - iris.mean(0)) * 0.8 + iris.mean(0)
            c.fill(inner, s.iris, lift=0.01, soft=0.003)
            c.fill((iris - iris.mean(0)) * 0.4 + iris.mean(0), (12, 10, 10), lift=0.01, soft=0.002)
            c.fill(arc(ix + 0.012, iy - 0.015, 0.008, 0.008, n=10), (250, 250, 250), lift=0.01, alpha=0.8)
            # the upper lid casts a shadow on the eyeball
            shadow = np.vstack([upper, (upper + [0, 0.018])[::-1]])
            c.fill(shadow, (60, 45, 45), lift=0.01, soft=0.006, alpha=0.35)
        c.line(upper, (28, 20, 20), 0.016 + 0.006 * s.long_hair, lift=0.012, soft=0.003)  # lashes
        c.line(lower, s.skin * 0.55, 0.008, lift=0.01, soft=0.004, alpha=0.7)


def draw_nose(c: Canvas, s: PortraitStyle, light_x: float) -> None:
    tip, w = s.nose_y, s.nose_w
    dark = 1 if light_x < 0 else -1  # the side facing away from the key light
    side_shadow = catmull_rom(
        np.array(
            [[dark * 0.06, s.eye_y], [dark * 0.07, tip - 0.15], [dark * w * 0.9, tip - 0.02], [dark * w, tip]]
        )
    )
    band = np.vstack([side_shadow, (side_shadow + [dark * 0.05, 0])[::-1]])
    c.fill(band, s.skin * 0.6, lift=0.1, soft=0.03, alpha=0.45)
    bridge = np.array([[0.0, s.eye_y + 0.04], [0.0, tip - 0.06]])
    c.line(bridge, np.minimum(s.skin * 1.15, 255), 0.035, lift=0.2, soft=0.02, alpha=0.35)
    c.fill(arc(0, tip - 0.01, w * 0.45, 0.05), np.minimum(s.skin * 1.08, 255), lift=0.3, soft=0.02, alpha=0.5)
    for side in (-1, 1):
        c.fill(
            arc(side * w * 0.72, tip + 0.005, w * 0.32, 0.045), s.skin * 0.78, lift=0.2, soft=0.015, alpha=0.6
        )
        c.fill(
            arc(side * w * 0.42, tip + 0.035, 0.035, 0.016), (55, 30, 30), lift=0.22, soft=0.006, alpha=0.9
        )
    c.fill(arc(0, tip + 0.075, w * 0.8, 0.03), s.skin * 0.6, lift=0.1, soft=0.025, alpha=0.4)  # under the tip
