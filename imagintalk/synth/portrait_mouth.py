"""The portrait mouth: shaded lips, a dark oral cavity, upper and lower teeth rows and a tongue.

Driven by the same per-frame mouth parameters as the cartoon (:data:`visemes.MOUTH_PARAMS`):
``open`` parts the lips (the lower lip and jaw travel most), ``spread`` widens, ``round``
narrows and protrudes, ``teeth`` shows the upper row (and the lower row once the jaw has
dropped), ``tongue`` raises the tongue, ``tuck`` rolls the lower lip under the upper teeth.
Expression: ``smile`` lifts the corners and deepens the cheek folds, ``lip_press`` thins.
"""

from __future__ import annotations

import numpy as np

from .portrait import PortraitStyle
from .portrait_canvas import Canvas

CAVITY = (40, 12, 16)
TEETH = (232, 226, 208)
TONGUE = (178, 74, 84)
MAX_GAP = 0.30  # inner lip distance at open = 1, face units
_N = 31


def jaw_drop(opening: float) -> float:
    """How far the chin drops for a mouth opening (face units)."""
    return 0.12 * opening


def _band(xs: np.ndarray, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    return np.vstack([np.column_stack([xs, top]), np.column_stack([xs, bottom])[::-1]])


def draw_portrait_mouth(c: Canvas, s: PortraitStyle, mouth: np.ndarray, smile: float, press: float) -> None:
    opening, spread, rounding, teeth, tongue, tuck = (float(v) for v in mouth)
    width = s.mouth_w * (1 + 0.18 * spread - 0.3 * rounding + 0.06 * smile)
    gap = MAX_GAP * opening
    t = np.linspace(-1, 1, _N)
    exponent = 2.2 + 2.0 * max(spread, 0) - 0.6 * rounding
    profile = np.clip(1 - np.abs(t) ** exponent, 0, 1) ** 0.6
    corners = -0.05 * smile * t**2 + 0.015 * t**2  # resting corners sit a little low
    centre = s.mouth_y + 0.5 * jaw_drop(opening)
    inner_up = centre - 0.28 * gap * profile + corners
    inner_low = centre + 0.72 * gap * profile + corners - 0.3 * tuck * gap * profile
    thick = s.lip_full * (1 + 0.5 * rounding) * (1 - 0.5 * press)
    body = np.clip(1 - t**2, 0, 1) ** 0.5
    bow = 0.014 * np.exp(-((t / 0.2) ** 2))  # cupid's bow
    outer_up = inner_up - 0.055 * thick * body + bow
    outer_low = inner_low + (0.075 - 0.035 * tuck) * thick * body
    x = width * t
    lift = 0.08 + 0.08 * rounding  # lips stand off the face; rounding protrudes them
    # philtrum and the shadow under the lower lip: soft, they give the lips volume
    c.fill(_band(x * 0.25, outer_up - 0.11, outer_up + 0.005), s.skin * 0.8, lift, soft=0.02, alpha=0.35)
    c.fill(_band(x * 0.7, outer_low, outer_low + 0.06), s.skin * 0.55, lift, soft=0.03, alpha=0.5)
    c.fill(_band(x, outer_up, outer_low), s.lips, lift, soft=0.006)
    c.fill(_band(x, outer_up, inner_up), s.lips * 0.78, lift, soft=0.004)  # upper lip faces down: darker
    shine = _band(
        x * 0.5, inner_low + 0.3 * (outer_low - inner_low), inner_low + 0.6 * (outer_low - inner_low)
    )
    c.fill(shine, np.minimum(s.lips * 1.3 + 25, 255), lift, soft=0.015, alpha=0.55)
    xi = x * 0.9
    if gap * profile.max() > 0.006:
        c.fill(_band(xi, inner_up, inner_low), CAVITY, lift - 0.02, soft=0.003)
        mid = (inner_up + inner_low) / 2
        if tongue > 0.05:  # the tongue rises from the floor of the mouth
            top = np.maximum(inner_low - (0.25 + 0.5 * tongue) * (inner_low - inner_up), mid - 0.02)
            c.fill(_band(xi * 0.75, top, inner_low), TONGUE, lift - 0.02, soft=0.01, alpha=0.95)
        if teeth > 0.05:
            _teeth_row(
                c, xi * 0.86, inner_up, np.minimum(inner_up + (0.02 + 0.04 * teeth) * profile, mid), lift
            )
            if opening > 0.15:  # the lower row shows once the jaw has dropped
                low_top = np.maximum(inner_low - (0.01 + 0.03 * teeth) * profile * min(opening * 2, 1), mid)
                _teeth_row(c, xi * 0.8, low_top, inner_low, lift)
    if tuck > 0.3:  # upper teeth resting on the tucked lower lip
        _teeth_row(c, xi * 0.6, inner_up, inner_up + 0.035 * tuck * profile, lift)
    seam = (inner_up + inner_low) / 2 if gap < 0.006 else inner_up
    c.line(np.column_stack([x * 0.97, seam]), (60, 22, 26), 0.014, lift, soft=0.004, alpha=0.9)
    for side in (-1, 1):  # corners of the mouth, and the cheek folds a smile deepens
        c.fill(_dot(side * width, centre + corners[0], 0.018), s.skin * 0.45, lift, soft=0.01, alpha=0.6)
        fold = np.array([[side * (width + 0.05), centre - 0.2], [side * (width + 0.1), centre - 0.02]])
        c.line(fold, s.skin * 0.7, 0.02, soft=0.02, alpha=0.25 + 0.35 * max(smile, 0))


def _teeth_row(c: Canvas, xs: np.ndarray, top: np.ndarray, bottom: np.ndarray, lift: float) -> None:
    """A row of teeth (``xs`` ascending): enamel, darker towards the corners, gaps between teeth.

    Teeth face the camera from inside the mouth: lit evenly (the canvas's flat gain), not
    shaded as the curved skin around them, and not skin-textured."""
    c.fill(_band(xs, top, bottom), np.array(TEETH) * c.flat_gain, lift - 0.01, soft=0.003, surface=None)
    for end in (xs[0], xs[-1]):  # the back teeth are in the shadow of the cheeks
        sx = np.linspace(end * 0.6, end, 6)
        c.fill(_band(sx, np.interp(sx, xs, top), np.interp(sx, xs, bottom)), (90, 70, 66), lift - 0.01,
               soft=0.01, alpha=0.55, surface=None)  # fmt: skip
    for gx in np.array([-0.62, -0.34, 0.0, 0.34, 0.62]) * xs[-1]:  # incisor and canine gaps
        gap = np.array([[gx, np.interp(gx, xs, top)], [gx, np.interp(gx, xs, bottom)]])
        c.line(gap, np.array([150, 140, 128]) * c.flat_gain, 0.006, lift - 0.01, alpha=0.45, surface=None)


def _dot(x: float, y: float, r: float) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    return np.column_stack([x + r * np.cos(a), y + r * np.sin(a)])
