"""The portrait renderer: a photo-textured, lit, camera-degraded talking face (``synth.renderer``).

A second face for SynthTalk, never used for training: an oval head with a jaw and chin, hair,
neck and clothes over a photograph, the features of :mod:`portrait_features`, the mouth of
:mod:`portrait_mouth`, then light and camera (:mod:`portrait_light`). Mouth, blinks and
expression follow the same per-frame parameters as the cartoon, so both say the same words.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..settings.synth import SynthConfig
from .photos import backdrop_frame
from .portrait import PortraitStyle, portrait_style
from .portrait_canvas import Canvas, Pose, arc, catmull_rom
from .portrait_features import draw_brows, draw_eyes, draw_nose
from .portrait_light import expose, shade
from .portrait_mouth import draw_portrait_mouth, jaw_drop
from .portrait_scene import PortraitScene, sample_portrait_scene

CUE_NOD = 0.08  # radians of head nod (down) at a face cue's nod of 1


def face_outline(s: PortraitStyle, drop: float) -> np.ndarray:
    """Skull, cheeks, jaw corners and chin [N, 2]; the lower face follows the jaw's drop."""
    top = arc(0, 0.05, s.face_w, 1.05, -np.pi / 2, 0, 16)[:-1]
    jaw_y = s.mouth_y + 0.12
    lower = catmull_rom(
        np.array(
            [
                [s.face_w, 0.05],
                [s.face_w * 0.97, 0.35],
                [s.face_w * s.jaw_w, jaw_y + 0.5 * drop],
                [s.face_w * s.chin_w, s.chin - 0.05 + drop],
                [0.0, s.chin + drop],
            ]
        ),
        6,
    )
    right = np.vstack([top, lower])
    return np.vstack([right, (right * [-1, 1])[::-1][1:-1]])


def draw_body(c: Canvas, s: PortraitStyle, clothes: np.ndarray, neck_w: float) -> None:
    c.fill(arc(0, s.chin + 1.0, 1.55, 0.7), clothes, surface=None)  # shoulders
    neck = np.array(
        [[-neck_w, 0.3], [neck_w, 0.3], [neck_w * 1.12, s.chin + 0.55], [-neck_w * 1.12, s.chin + 0.55]]
    )
    c.fill(neck, s.skin * 0.9, lift=-0.6, soft=0.01, surface="neck")
    collar = arc(0, s.chin + 0.5, neck_w * 1.2, 0.12, 0, np.pi)
    c.fill(collar, clothes * 0.6, soft=0.03, surface=None)


def draw_hair_back(c: Canvas, s: PortraitStyle) -> None:
    if s.long_hair:
        top = arc(0, 0.0, s.face_w + 0.2, 1.12, np.pi, 2 * np.pi, 30)
        w, y = s.face_w + 0.28, s.chin + 0.35  # falls to the shoulders
        c.fill(np.vstack([top, [[w, y], [-w, y]]]), s.hair * 0.8, lift=-0.8, soft=0.02)


def draw_head(c: Canvas, s: PortraitStyle, drop: float) -> None:
    for side in (-1, 1):
        c.fill(arc(side * (s.face_w - 0.01), 0.2, 0.09, 0.19), s.skin * 0.88, lift=-0.3, soft=0.01)
    c.fill(face_outline(s, drop), s.skin, soft=0.006)
    for side in (-1, 1):  # cheek warmth
        c.fill(arc(side * s.face_w * 0.55, 0.38, 0.16, 0.1), s.lips, soft=0.08, alpha=0.12)


def draw_hair_front(c: Canvas, s: PortraitStyle) -> None:
    w = s.face_w
    cap = arc(0, 0.05, w + 0.05, 1.12, np.pi * 1.02, np.pi * 1.98, 30)
    xs = np.linspace(w * 1.02, -w * 1.02, 21)
    line = s.hair_line + 0.5 * (np.abs(xs) / w) ** 3  # the hair line drops at the temples
    c.fill(np.vstack([cap, np.column_stack([xs, np.minimum(line, 0.0)])]), s.hair, soft=0.012)
    if s.long_hair:
        for side in (-1, 1):
            lock = np.array([[side * (w - 0.06), -0.3], [side * (w + 0.16), -0.2], [side * (w + 0.18), 0.9],
                             [side * (w + 0.02), 0.55]])  # fmt: skip
            c.fill(lock, s.hair * 0.9, lift=-0.2, soft=0.015)


def render_portrait_frame(
    s: PortraitStyle,
    scene: PortraitScene,
    i: int,
    mouth: np.ndarray,
    expr: dict[str, float],
    rng: np.random.Generator,
) -> np.ndarray:
    """Frame ``i`` [size, size, 3] uint8 RGB."""
    m, size, cam = scene.motion, scene.size, scene.camera
    progress = i / max(len(scene.eyelid) - 1, 1)
    image = backdrop_frame(scene.backdrop, progress, size)
    centre = (size * 0.5 + m["shift_x"][i], size * 0.46 + m["shift_y"][i])
    pose = Pose(float(m["yaw"][i]), float(m["nod"][i]), float(m["roll"][i]), float(m["scale"][i]), centre)
    c = Canvas(image, pose, s.face_w, flat_gain=cam.ambient + 0.7 * (1 - cam.ambient))
    drop, neck_w = jaw_drop(float(mouth[0])), 0.5 * s.face_w + 0.04
    draw_hair_back(c, s)
    draw_body(c, s, cam.clothes, neck_w)
    draw_head(c, s, drop)
    draw_hair_front(c, s)
    draw_brows(c, s, expr["brow_raise"], expr["brow_tilt"])
    draw_eyes(c, s, float(scene.eyelid[i]) * (1 + 0.5 * expr["eye_open"]), (m["gaze_x"][i], m["gaze_y"][i]))
    draw_nose(c, s, float(cam.light[0]))
    draw_portrait_mouth(c, s, mouth, expr["smile"], expr["lip_press"])
    shade(c, s, cam, neck_w)
    return expose(c.image, cam, rng)


def render_portrait(
    speaker: dict[str, Any],
    expression: dict[str, float],
    mouth: np.ndarray,
    intensity: np.ndarray,
    rng: np.random.Generator,
    cfg: SynthConfig,
    cues: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """A clip's frames [T, S, S, 3] uint8 for mouth parameters [T, 6] and expression intensity [T].

    ``cues``: per-frame offsets of an expressive clip (brow_raise, eye_open; nod in units of
    :data:`CUE_NOD` radians), see :func:`expressive.face_cues`.
    """
    num_frames, size = len(mouth), cfg.image_size
    style = portrait_style(speaker)
    scene = sample_portrait_scene(rng, num_frames, cfg.fps, size)
    if cues is not None:
        scene.motion = {**scene.motion, "nod": scene.motion["nod"] + CUE_NOD * cues["nod"]}
    frames = np.empty((num_frames, size, size, 3), np.uint8)
    for i in range(num_frames):
        expr = {k: v * float(intensity[i]) for k, v in expression.items()}
        if cues is not None:
            expr["brow_raise"] += float(cues["brow_raise"][i])
            expr["eye_open"] += float(cues["eye_open"][i])
        frames[i] = render_portrait_frame(style, scene, i, mouth[i], expr, rng)
    return frames
