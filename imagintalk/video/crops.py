"""Stages 6 and 8: aligned crops (mouth ROI, face) and the lip network's input normalisation.

Every crop is one affine warp. An alignment matrix M maps frame pixels to unit crop
coordinates of the canonical face (see canonical.py); the output matrices below map them
on to crop pixels. Because the final landmarks (filled, smoothed) are only known when the
clip ends, each pushed frame keeps two small *canvases* instead of the full frame: a gray
patch around the mouth and an RGB patch around the face, each with the matrix A that took
frame pixels to canvas pixels, so the final crop is warp(canvas, crop_matrix o A^-1).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .canonical import MOUTH_POINTS, apply_affine, compose, invert

# gray mean / std of mouth crops used across lip-reading work (LRW statistics), on x / 255
MOUTH_MEAN = 0.421
MOUTH_STD = 0.165
CANVAS_MARGIN = 0.2  # canvases reach this fraction of the crop side beyond each edge
FALLBACK_LONG_SIDE = 256  # frames with no face known yet are kept at most this large


def _scale_shift(scale: float, shift_x: float, shift_y: float) -> np.ndarray:
    return np.array([[scale, 0.0, shift_x], [0.0, scale, shift_y]])


def face_matrix(align: np.ndarray, face_size: int, margin: float = 0.0) -> np.ndarray:
    """Frame pixels -> face crop pixels (the crop spans unit coordinates -margin .. 1 + margin)."""
    return compose(_scale_shift(face_size, face_size * margin, face_size * margin), align)


def mouth_matrix(
    align: np.ndarray, landmarks: np.ndarray, mouth_size: int, mouth_scale: float, margin: float = 0.0
) -> np.ndarray:
    """Frame pixels -> mouth ROI pixels: a square of side ``mouth_scale`` (unit crop coordinates)
    centred on the aligned mouth landmarks (48-67), widened by ``margin`` sides on each edge."""
    centre = apply_affine(align, landmarks[MOUTH_POINTS]).mean(0)
    k = mouth_size / mouth_scale
    origin = centre - mouth_scale / 2 - margin * mouth_scale
    return compose(_scale_shift(k, -k * origin[0], -k * origin[1]), align)


def warp(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Square crop [size, size(, C)] of image through the 2x3 matrix (image -> crop pixels)."""
    return cv2.warpAffine(
        image, matrix.astype(np.float64), (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )


@dataclass
class Canvas:
    """A patch of one frame plus the matrix that took frame pixels to patch pixels."""

    image: np.ndarray  # [h, w] gray or [h, w, 3] RGB uint8
    to_canvas: np.ndarray  # 2x3

    def crop(self, frame_to_crop: np.ndarray, size: int) -> np.ndarray:
        return warp(self.image, compose(frame_to_crop, invert(self.to_canvas)), size)


def to_gray_rgb(frame: np.ndarray, color: str) -> tuple[np.ndarray, int]:
    """(gray [H, W], the cv2 code converting this colour order to RGB)."""
    if color == "bgr":
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_BGR2RGB
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), -1


def make_canvases(
    frame: np.ndarray,
    gray: np.ndarray,
    to_rgb: int,
    align: np.ndarray | None,
    landmarks: np.ndarray | None,
    face_size: int,
    mouth_size: int,
    mouth_scale: float,
) -> tuple[Canvas, Canvas]:
    """(mouth canvas, face canvas) of one frame; a downscaled whole frame when no face is known."""
    if align is None or landmarks is None:
        scale = min(1.0, FALLBACK_LONG_SIDE / max(frame.shape[:2]))
        small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        small_gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(small, to_rgb) if to_rgb >= 0 else small
        matrix = _scale_shift(scale, 0.0, 0.0)
        return Canvas(small_gray, matrix), Canvas(rgb, matrix)
    m = CANVAS_MARGIN
    to_mouth = mouth_matrix(align, landmarks, mouth_size, mouth_scale, margin=m)
    mouth = warp(gray, to_mouth, round(mouth_size * (1 + 2 * m)))
    to_face = face_matrix(align, face_size, margin=m)
    face = warp(frame, to_face, round(face_size * (1 + 2 * m)))
    if to_rgb >= 0:
        face = cv2.cvtColor(face, to_rgb)
    return Canvas(mouth, to_mouth), Canvas(face, to_face)


def normalize_mouth(roi: np.ndarray, crop: int = 88) -> np.ndarray:
    """Lip network input: centre ``crop`` x ``crop`` of roi [T, S, S] uint8 -> float32 [T, crop, crop],
    (x / 255 - MOUTH_MEAN) / MOUTH_STD."""
    roi = np.asarray(roi)
    if roi.ndim != 3 or roi.shape[1] < crop or roi.shape[2] < crop:
        raise ValueError(f"normalize_mouth expects [T, S, S] with S >= {crop}, got {roi.shape}")
    top = (roi.shape[1] - crop) // 2
    left = (roi.shape[2] - crop) // 2
    patch = roi[:, top : top + crop, left : left + crop].astype(np.float32) / 255.0
    return (patch - MOUTH_MEAN) / MOUTH_STD
