"""The portrait renderer's per-clip nuisance: head motion, light, camera and compression.

Wider than the cartoon's (:mod:`scene`): larger roll, a real yaw / nod rotation, translation
and a slow zoom; a directional key light whose direction and colour temperature vary per
clip; sensor noise, defocus and JPEG re-encoding of every frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .photos import Backdrop, sample_backdrop
from .scene import blink_curve


@dataclass
class Camera:
    """Per-clip light and camera settings."""

    light: np.ndarray  # unit vector towards the key light (x right, y down, z to the camera)
    ambient: float
    temperature: np.ndarray  # RGB gain [3]: warm (tungsten) .. cool (daylight)
    noise: float  # sensor noise std at mid grey (0..255)
    defocus: float  # Gaussian blur sigma, pixels
    jpeg: tuple[int, int]  # per-frame JPEG quality range
    clothes: np.ndarray  # RGB [3]


@dataclass
class PortraitScene:
    size: int
    backdrop: Backdrop
    camera: Camera
    motion: dict[str, np.ndarray]  # per-frame pose (see portrait_motion)
    eyelid: np.ndarray  # [T] 1 open .. 0 closed


def _wander(rng: np.random.Generator, t: np.ndarray, amplitude: float) -> np.ndarray:
    """Smooth random motion: a slow and a faster sinusoid, random periods and phases."""
    slow, fast = rng.uniform(2.5, 6.0), rng.uniform(0.7, 2.0)
    out = np.sin(2 * np.pi * t / slow + rng.uniform(0, 2 * np.pi))
    out += rng.uniform(0.2, 0.6) * np.sin(2 * np.pi * t / fast + rng.uniform(0, 2 * np.pi))
    return amplitude * out / 1.4


def portrait_motion(rng: np.random.Generator, num_frames: int, fps: int, size: int) -> dict[str, np.ndarray]:
    """Per-frame roll (deg), yaw / nod (radians), shift x / y (pixels), scale (pixels per unit), gaze."""
    t = np.arange(num_frames) / fps
    progress = t / max(t[-1], 1e-6) if num_frames > 1 else np.zeros(num_frames)
    base = size * rng.uniform(0.29, 0.34)
    zoom = rng.uniform(-0.1, 0.1)  # the camera slowly dollies in or out over the clip
    return {
        "roll": _wander(rng, t, rng.uniform(3.0, 8.0)) + rng.uniform(-3, 3),
        "yaw": _wander(rng, t, rng.uniform(0.08, 0.22)) + rng.uniform(-0.12, 0.12),
        "nod": _wander(rng, t, rng.uniform(0.05, 0.15)) + rng.uniform(-0.06, 0.06),
        "shift_x": _wander(rng, t, size * 0.03) + size * rng.uniform(-0.04, 0.04),
        "shift_y": _wander(rng, t, size * 0.02) + size * rng.uniform(-0.02, 0.03),
        "scale": base * (1 + zoom * progress),
        "gaze_x": _wander(rng, t, 0.35),
        "gaze_y": _wander(rng, t, 0.25),
    }


def sample_camera(rng: np.random.Generator) -> Camera:
    azimuth = rng.uniform(-1.0, 1.0)  # radians: light from the left .. right
    elevation = rng.uniform(-0.2, 0.7)  # mostly from above, as rooms are lit
    light = np.array([np.sin(azimuth), -np.sin(elevation), np.cos(azimuth) * np.cos(elevation)])
    warmth = rng.uniform(-1, 1)  # +1 tungsten (warm), -1 overcast daylight (cool)
    temperature = np.array([1 + 0.12 * warmth, 1.0, 1 - 0.15 * warmth])
    low = int(rng.integers(35, 66))
    return Camera(
        light=light / np.linalg.norm(light),
        ambient=float(rng.uniform(0.4, 0.6)),
        temperature=temperature * rng.uniform(0.85, 1.1),
        noise=float(rng.uniform(2.0, 7.0)),
        defocus=float(rng.uniform(0.3, 1.1)),
        jpeg=(low, min(low + 10, 75)),
        clothes=rng.uniform(20, 200, 3),
    )


def sample_portrait_scene(rng: np.random.Generator, num_frames: int, fps: int, size: int) -> PortraitScene:
    return PortraitScene(
        size=size,
        backdrop=sample_backdrop(rng),
        camera=sample_camera(rng),
        motion=portrait_motion(rng, num_frames, fps, size),
        eyelid=blink_curve(rng, num_frames, fps),
    )
