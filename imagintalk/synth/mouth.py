"""The drawn mouth: lips, and an inner mouth showing cavity, teeth and tongue as it opens.

Mouth parameters (see :data:`visemes.MOUTH_PARAMS`): ``open`` drops the jaw and parts
the lips (the lower lip travels more than the upper), ``spread`` widens, ``round``
narrows and thickens (protrusion), ``teeth`` / ``tongue`` set how much of them shows,
``tuck`` pulls the lower lip under the upper teeth (/f v/). The expression adds
``smile`` (corners up or down) and ``lip_press`` (thinner lips).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .face import FaceStyle

if TYPE_CHECKING:
    from .painter import Painter

MOUTH_Y = 0.62  # mouth centre, face units
HALF_WIDTH = 0.25
MAX_OPENING = 0.30  # inner lip distance at open = 1
CAVITY = (45, 14, 20)
TEETH = (238, 236, 226)
TONGUE = (196, 88, 98)
_N = 25


def draw_mouth(p: Painter, s: FaceStyle, mouth: np.ndarray, smile: float, press: float) -> None:
    opening, spread, rounding, teeth, tongue, tuck = (float(v) for v in mouth)
    jaw = 0.14 * opening
    width = HALF_WIDTH * (1 + 0.16 * spread - 0.32 * rounding)
    gap = MAX_OPENING * opening
    xs = np.linspace(-1, 1, _N)
    # opening profile: round mouths are elliptic, spread ones flatter (a wide slot)
    exponent = 2.0 + 2.5 * max(spread, 0) - 0.5 * rounding
    profile = np.clip(1 - np.abs(xs) ** exponent, 0, 1) ** 0.5
    corner_lift = -0.06 * smile * xs**2  # y up is negative: smiles lift the corners
    centre = MOUTH_Y + 0.55 * jaw
    inner_up = centre - 0.3 * gap * profile + corner_lift
    inner_low = centre + 0.7 * gap * profile + corner_lift - tuck * 0.35 * gap * profile
    thick = s.lip_full * (1 + 0.6 * rounding) * (1 - 0.45 * press)
    bow = 0.012 * np.exp(-((xs / 0.18) ** 2))  # cupid's bow dip at the centre
    outer_up = inner_up - 0.065 * thick * np.clip(1 - xs**2, 0, 1) ** 0.6 + bow
    outer_low = inner_low + (0.085 - 0.04 * tuck) * thick * np.clip(1 - xs**2, 0, 1) ** 0.6
    x = width * xs
    lip = np.vstack([np.stack([x, outer_up], 1), np.stack([x, outer_low], 1)[::-1]])
    p.fill(lip, s.lips, depth=0.6)
    # the lower lip catches more light than the upper one
    lower = np.vstack([np.stack([x, inner_low], 1), np.stack([x, outer_low], 1)[::-1]])
    p.fill(lower, np.clip(s.lips * 1.12, 0, 255), depth=0.6)
    inner_x = x * 0.92
    if gap * profile.max() > 0.004:
        inner = np.vstack([np.stack([inner_x, inner_up], 1), np.stack([inner_x, inner_low], 1)[::-1]])
        p.fill(inner, CAVITY, depth=0.55)
        if tongue > 0.05:
            top = np.maximum(inner_low - tongue * 0.55 * gap * profile, inner_up)
            p.fill(
                np.vstack([np.stack([inner_x * 0.8, top], 1), np.stack([inner_x * 0.8, inner_low], 1)[::-1]]),
                TONGUE,
                depth=0.55,
            )
        if teeth > 0.05:
            bottom = np.minimum(inner_up + teeth * 0.05 * profile, inner_low)
            p.fill(
                np.vstack(
                    [np.stack([inner_x * 0.85, inner_up], 1), np.stack([inner_x * 0.85, bottom], 1)[::-1]]
                ),
                TEETH,
                depth=0.55,
            )
    if tuck > 0.3:  # upper teeth resting on the tucked lower lip
        bottom = inner_up + 0.035 * tuck * profile
        p.fill(
            np.vstack([np.stack([inner_x * 0.6, inner_up], 1), np.stack([inner_x * 0.6, bottom], 1)[::-1]]),
            TEETH,
            depth=0.55,
        )
    p.line(
        np.stack([inner_x, (inner_up + inner_low) / 2 if gap < 0.004 else inner_up], 1),
        (70, 25, 30),
        0.012,
        depth=0.6,
    )
