"""Stage 2: face detectors, registered by name (:data:`DETECTORS`, :func:`build_detector`).

Each detector is called on a gray image [H, W] uint8 and returns
(boxes [N, 4] float32 as x0, y0, x1, y1 in that image's pixels, scores [N] float32).
Boxes follow dlib's HOG box convention (a square from the brows to the chin), which the
68-point shape predictor expects. :func:`detect_faces` runs a detector on a resized copy
(long side at most ``detect_size``) and maps the boxes back to the frame.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..errors import DependencyError, InputError


class FaceDetector(Protocol):
    def __call__(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


def _import(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise DependencyError(
            f"the face detector needs {module!r}: pip install -e '.[core]' ({exc})"
        ) from None


class DlibHogDetector:
    """dlib's HOG + linear SVM frontal face detector (finds faces of ~80 px and larger)."""

    min_face_px = 80  # the smallest box it finds (its 80x80 window), in the pixels it looks at

    def __init__(self, upsample: int = 0) -> None:
        self.upsample = int(upsample)
        self._detector = _import("dlib").get_frontal_face_detector()

    def __call__(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rects, scores, _ = self._detector.run(gray, self.upsample, 0.0)
        boxes = np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects], np.float32)
        return boxes.reshape(-1, 4), np.asarray(scores, np.float32)


class OpenCVHaarDetector:
    """OpenCV's Viola-Jones frontal face cascade (ships with opencv-python-headless<5).

    Haar boxes are larger and sit higher than dlib's; they are mapped to dlib's convention
    with a fixed shift and scale measured on scikit-image's astronaut photo, where both
    detectors find the face (Haar 95 px box at (177, 66); dlib 87 px box at (179, 83)).
    """

    # dlib box = (x + 0.02 w, y + 0.18 w, side 0.92 w) for a Haar box (x, y, w, w)
    _SHIFT = (0.02, 0.18)
    _SCALE = 0.92
    min_face_px = 22  # the smallest box it finds: its 24x24 window, mapped to dlib's convention

    def __init__(self, upsample: int = 0, min_neighbors: int = 5, scale_factor: float = 1.1) -> None:
        cv2 = _import("cv2")
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise DependencyError(f"OpenCV Haar cascade missing at {path}: install opencv-python-headless<5")
        self.upsample = int(upsample)
        self.min_neighbors = min_neighbors
        self.scale_factor = scale_factor

    def __call__(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        factor = 2**self.upsample
        if factor > 1:
            gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
        rects, _, weights = self._cascade.detectMultiScale3(
            gray, self.scale_factor, self.min_neighbors, outputRejectLevels=True
        )
        if len(rects) == 0:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        rects = np.asarray(rects, np.float32) / factor
        x, y, w = rects[:, 0], rects[:, 1], rects[:, 2]
        x0, y0 = x + self._SHIFT[0] * w, y + self._SHIFT[1] * w
        side = self._SCALE * w
        boxes = np.stack([x0, y0, x0 + side, y0 + side], 1)
        return boxes, np.asarray(weights, np.float32).reshape(-1)


DETECTORS: dict[str, type] = {"dlib_hog": DlibHogDetector, "opencv_haar": OpenCVHaarDetector}


def build_detector(name: str, **kwargs) -> FaceDetector:
    """A face detector by name: ``dlib_hog`` (the default) or ``opencv_haar``."""
    if name not in DETECTORS:
        raise InputError(f"unknown face detector {name!r}; choose one of {', '.join(DETECTORS)}")
    return DETECTORS[name](**kwargs)


def detect_faces(detector: FaceDetector, gray: np.ndarray, detect_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Detect on a copy no larger than ``detect_size`` on the long side; boxes in ``gray``'s pixels.

    Frames smaller than that are searched at their own size first and, only when that finds
    nothing, again enlarged to ``detect_size`` (at most 2x), because dlib's HOG misses faces
    under ~80 px; enlarging every frame would double the cost where faces are big.
    gray: [H, W] uint8. Returns boxes [N, 4] float32 (x0, y0, x1, y1) and scores [N].
    """
    long_side = max(gray.shape[:2])
    boxes, scores = _detect_scaled(detector, gray, min(detect_size / long_side, 1.0))
    if len(boxes) == 0 and long_side < detect_size:
        boxes, scores = _detect_scaled(detector, gray, min(detect_size / long_side, 2.0))
    return boxes, scores


def _detect_scaled(detector: FaceDetector, gray: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    if abs(scale - 1.0) < 1e-3:
        boxes, scores = detector(gray)
        return boxes, scores
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    boxes, scores = detector(cv2.resize(gray, None, fx=scale, fy=scale, interpolation=interpolation))
    return boxes / scale, scores
