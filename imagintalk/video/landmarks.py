"""Stage 3: 68 facial landmarks with dlib's shape predictor (face_recognition_models' file)."""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np

from ..errors import DependencyError


@lru_cache(maxsize=1)
def _predictor():
    try:
        import dlib

        with warnings.catch_warnings():  # face_recognition_models imports the deprecated pkg_resources
            warnings.simplefilter("ignore")
            import face_recognition_models
        path = face_recognition_models.pose_predictor_model_location()
    except ImportError as exc:
        raise DependencyError(
            f"landmarks need dlib-bin and face_recognition_models: pip install -e '.[core]' ({exc})"
        ) from None
    return dlib, dlib.shape_predictor(path)


def predict_landmarks(gray: np.ndarray, box: np.ndarray) -> np.ndarray:
    """68 points [68, 2] float32 (x, y pixels) of the face in ``box`` (x0, y0, x1, y1) of gray [H, W]."""
    dlib, predictor = _predictor()
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    shape = predictor(gray, dlib.rectangle(x0, y0, x1, y1))
    return np.array([(p.x, p.y) for p in shape.parts()], np.float32)


def box_from_landmarks(landmarks: np.ndarray, reference_box: np.ndarray, reference_landmarks: np.ndarray):
    """Move a detector box along with the landmarks (for frames where the detector is skipped).

    The box keeps its offset and size relative to the landmarks' centre and spread as they
    were when ``reference_box`` was detected together with ``reference_landmarks``.
    """
    centre, ref_centre = landmarks.mean(0), reference_landmarks.mean(0)
    spread = float(np.linalg.norm(landmarks - centre, axis=1).mean())
    ref_spread = float(np.linalg.norm(reference_landmarks - ref_centre, axis=1).mean())
    scale = spread / max(ref_spread, 1e-6)
    box_centre = (reference_box[:2] + reference_box[2:]) / 2
    half = (reference_box[2:] - reference_box[:2]) / 2 * scale
    new_centre = centre + (box_centre - ref_centre) * scale
    return np.concatenate([new_centre - half, new_centre + half]).astype(np.float32)
