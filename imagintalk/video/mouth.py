"""Mouth geometry from 68 landmarks (torch-free: the streaming VAD and the window cutter use it)."""

from __future__ import annotations

import numpy as np

# 68-point landmark indices: inner lip centre top / bottom, outer eye corners (scale reference)
INNER_LIP_TOP, INNER_LIP_BOTTOM = 62, 66
LEFT_EYE_OUTER, RIGHT_EYE_OUTER = 36, 45


def mouth_opening(landmarks: np.ndarray | None) -> float | None:
    """Inner-lip gap over the outer eye-corner distance of landmarks [68, 2] (None if no face)."""
    if landmarks is None:
        return None
    points = np.asarray(landmarks, np.float64)
    eyes = float(np.linalg.norm(points[RIGHT_EYE_OUTER] - points[LEFT_EYE_OUTER]))
    if eyes <= 1e-6:
        return None
    return float(np.linalg.norm(points[INNER_LIP_BOTTOM] - points[INNER_LIP_TOP])) / eyes
