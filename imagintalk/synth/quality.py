"""Checks that rendered faces behave like faces for dlib (detector + 68 landmarks).

Used by the tests and by ``imagintalk synth --check N`` to report the detection rate and
how well dlib's inner-lip distance (points 62-66) follows the drawn jaw opening.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DependencyError


@dataclass
class FaceCheck:
    frames: int
    detected: int
    lip_gap: np.ndarray  # [frames] inner-lip distance / face box height (nan where undetected)

    @property
    def detection_rate(self) -> float:
        return self.detected / max(self.frames, 1)


class DlibFaces:
    """dlib's HOG frontal face detector (no upsampling) and 68-point shape predictor."""

    def __init__(self) -> None:
        try:
            import warnings

            import dlib

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # face_recognition_models warns about pkg_resources
                import face_recognition_models
        except ImportError:
            raise DependencyError("dlib and face_recognition_models are needed for face checks") from None
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())

    def check(self, frames: np.ndarray) -> FaceCheck:
        """frames [T, H, W, 3] uint8 RGB -> detection count and per-frame inner-lip gap."""
        gaps = np.full(len(frames), np.nan)
        detected = 0
        for i, frame in enumerate(frames):
            boxes = self._detector(frame, 0)
            if not boxes:
                continue
            box = max(boxes, key=lambda b: b.area())
            shape = self._predictor(frame, box)
            detected += 1
            top, bottom = (
                np.array([shape.part(62).x, shape.part(62).y]),
                np.array([shape.part(66).x, shape.part(66).y]),
            )
            gaps[i] = np.linalg.norm(bottom - top) / max(box.height(), 1)
        return FaceCheck(len(frames), detected, gaps)


def mouth_correlation(opening: np.ndarray, gaps: np.ndarray) -> float:
    """Pearson correlation of the drawn jaw opening [T] and dlib's lip gap [T] (detected frames)."""
    ok = ~np.isnan(gaps)
    if ok.sum() < 3 or np.std(gaps[ok]) == 0 or np.std(opening[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(opening[ok], gaps[ok])[0, 1])
