"""Nuisance variation of a clip: placement, background, lighting, head motion, blinks."""

from __future__ import annotations

import cv2
import numpy as np

from .painter import Scene


def sample_scene(rng: np.random.Generator, size: int, noise_std: float) -> Scene:
    """Face scale and position, a soft random background, lighting and clothes."""
    base = rng.uniform(60, 200, 3)
    coarse = np.empty((8, 8, 3))
    coarse[:] = base
    coarse += np.linspace(-25, 25, 8)[:, None, None] * rng.uniform(-1, 1)
    for _ in range(rng.integers(2, 5)):  # a few blurry "room" patches
        y0, x0 = rng.integers(0, 7, 2)
        h, w = rng.integers(1, 4, 2)
        coarse[y0 : y0 + h, x0 : x0 + w] += rng.uniform(-50, 50, 3)
    background = cv2.resize(
        np.clip(coarse, 0, 255).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC
    )
    return Scene(
        size=size,
        centre=(size * (0.5 + rng.uniform(-0.04, 0.04)), size * (0.47 + rng.uniform(-0.03, 0.03))),
        scale=size * rng.uniform(0.30, 0.34),  # head (skull top to chin ~2 units) ~60-68 % of the height
        background=np.clip(background, 0, 255).astype(np.uint8),
        clothes=tuple(rng.uniform(30, 220, 3)),
        brightness=rng.uniform(0.88, 1.1),
        contrast=rng.uniform(0.85, 1.1),
        gradient=(rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2)),
        noise_std=noise_std,
    )


def _wander(rng: np.random.Generator, t: np.ndarray, amplitude: float) -> np.ndarray:
    """A smooth random motion [len(t)]: two sinusoids with random periods and phases."""
    out = np.zeros_like(t)
    for period in rng.uniform(0.8, 4.0, 2):
        out += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    return amplitude * out / 2


def head_motion(rng: np.random.Generator, num_frames: int, fps: int, size: int) -> dict[str, np.ndarray]:
    """Per-frame roll (deg), yaw, nod, shift x / y (pixels) and gaze x / y."""
    t = np.arange(num_frames) / fps
    return {
        "roll": _wander(rng, t, rng.uniform(1.0, 4.0)),
        "yaw": _wander(rng, t, rng.uniform(0.1, 0.35)),
        "nod": _wander(rng, t, rng.uniform(0.1, 0.3)),
        "shift_x": _wander(rng, t, size * 0.015),
        "shift_y": _wander(rng, t, size * 0.01),
        "gaze_x": _wander(rng, t, 0.4),
        "gaze_y": _wander(rng, t, 0.3),
    }


def blink_curve(rng: np.random.Generator, num_frames: int, fps: int) -> np.ndarray:
    """[num_frames] eyelid openness: 1 open, dips to ~0 during blinks every 2-5 s."""
    t = np.arange(num_frames) / fps
    lid = np.ones(num_frames)
    at = rng.uniform(0.2, 2.0)
    end = t[-1] + 0.2 if num_frames else 0.0
    while at < end:
        closing = np.clip(np.abs(t - at) / 0.09, 0, 1)  # ~0.18 s blink, closed at its centre
        lid = np.minimum(lid, closing**1.5)
        at += rng.uniform(2.0, 5.0)
    return lid
