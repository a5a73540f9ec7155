"""Checking one incoming frame and its timestamp before it reaches the front door.

A live source sends whatever it has: wrong types, empty or giant images, clocks that jump.
Each check returns a rejection kind (counted by LipStream as ``frames_rejected_<kind>``) instead
of raising, so one bad message never ends a long-running stream.
"""

from __future__ import annotations

import math

import numpy as np

MIN_SIDE = 8  # the front door needs at least this many pixels a side
MAX_SIDE = 16384
MAX_PIXELS = 40_000_000  # above 8K (33 MP): a frame this large is a bug or an attack, not a camera


def check_frame(frame: object) -> tuple[np.ndarray | None, str | None]:
    """(frame as uint8 [H, W, 3], None) or (None, rejection kind).

    Accepted besides [H, W, 3]: gray [H, W] (repeated to 3 channels) and [H, W, 4] (alpha dropped).
    """
    if not isinstance(frame, np.ndarray):
        return None, "bad_frame"
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (1, 3, 4)):
        return None, "bad_frame"
    height, width = frame.shape[:2]
    if max(height, width) > MAX_SIDE or height * width > MAX_PIXELS:
        return None, "huge_frame"
    if frame.dtype != np.uint8 or min(height, width) < MIN_SIDE:
        return None, "bad_frame"
    if frame.ndim == 2:
        frame = frame[:, :, None]
    if frame.shape[2] == 1:
        frame = np.repeat(frame, 3, axis=2)
    elif frame.shape[2] == 4:
        frame = frame[:, :, :3]
    return frame, None


def check_stamp(time_s: object, last_s: float | None) -> tuple[float | None, str | None]:
    """(seconds, None) or (None, rejection kind) for a timestamp after the last accepted ``last_s``."""
    if isinstance(time_s, bool):
        return None, "bad_stamp"
    try:
        seconds = float(time_s)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None, "bad_stamp"
    if not math.isfinite(seconds):
        return None, "bad_stamp"
    if last_s is not None and seconds == last_s:
        return None, "repeated_stamp"
    if last_s is not None and seconds < last_s:
        return None, "out_of_order"
    return seconds, None
