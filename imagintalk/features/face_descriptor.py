"""dlib's 128-D face descriptor (ResNet metric embedding; weights ship in face_recognition_models).

The descriptor network needs a ``full_object_detection`` to cut its 150 x 150 aligned chip.
We build it from the 68 landmarks the video front door already tracked (filled and
smoothed) instead of re-running dlib's shape predictor on the crop: same iBUG 68-point
layout the predictor produces, steadier over time, and no second landmark pass per frame.
Landmarks must be in the pixel coordinates of the frames given: full frames with
``FaceTrackResult.landmarks``, or aligned crops with ``aligned_landmarks * face_size``.
The aligned crop (170 mm wide) is tighter than the chip dlib cuts (padding 0.25), so
frames are edge-replicated by ``border`` of their side first: dlib fills out-of-image
chip pixels with black, which would change the descriptor with the crop framing.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import numpy as np
from tqdm import tqdm

from ..errors import CheckpointError, DependencyError, InputError

DESCRIPTOR_DIM = 128
DEFAULT_BORDER = 0.25  # edge-replicated margin, as a fraction of the frame side
_BATCH = 32  # frames per call into dlib (its batch overload runs them in one go)


@lru_cache(maxsize=1)
def _model() -> Any:
    """dlib.face_recognition_model_v1, loaded once per process."""
    try:
        import dlib

        with warnings.catch_warnings():  # face_recognition_models imports the deprecated pkg_resources
            warnings.simplefilter("ignore")
            import face_recognition_models
    except ImportError as exc:
        raise DependencyError(
            f"the face descriptor needs dlib and face_recognition_models ({exc.name or exc}); "
            "install them with: pip install dlib-bin face_recognition_models 'setuptools<81'"
        ) from None
    path = face_recognition_models.face_recognition_model_location()
    try:
        return dlib.face_recognition_model_v1(path)
    except RuntimeError as exc:
        raise CheckpointError(f"cannot load dlib's face descriptor model {path}: {exc}") from None


def _check(frames: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    frames, landmarks = np.asarray(frames), np.asarray(landmarks, np.float64)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise InputError(f"frames must be uint8 RGB [T, H, W, 3], got {frames.dtype} {frames.shape}")
    if landmarks.shape != (len(frames), 68, 2):
        raise InputError(
            f"landmarks must be [{len(frames)}, 68, 2] (one set per frame), got {landmarks.shape}"
        )
    if len(frames) == 0:
        raise InputError("no frames to describe")
    if not np.isfinite(landmarks).all():
        raise InputError("landmarks contain NaN or inf (fill missing frames first)")
    return frames, landmarks


def _shape(landmarks: np.ndarray) -> Any:
    """[68, 2] pixel coordinates -> dlib.full_object_detection (rect = the landmarks' bounding box)."""
    import dlib

    x0, y0 = np.floor(landmarks.min(0)).astype(int)
    x1, y1 = np.ceil(landmarks.max(0)).astype(int)
    points = [dlib.point(int(round(x)), int(round(y))) for x, y in landmarks]
    return dlib.full_object_detection(dlib.rectangle(int(x0), int(y0), int(x1), int(y1)), points)


def face_descriptors(
    frames_rgb: np.ndarray, landmarks: np.ndarray, border: float = DEFAULT_BORDER, progress: bool = False
) -> np.ndarray:
    """frames_rgb uint8 [T, H, W, 3], landmarks [T, 68, 2] (x, y pixels) -> float32 [T, 128].

    Descriptors are dlib's raw outputs (norm ~0.4-0.6); distances below ~0.6 mean "same person"
    on real faces. ``border``: edge-replicated margin added around each frame (fraction of its side).
    """
    frames, landmarks = _check(frames_rgb, landmarks)
    import cv2
    import dlib

    model = _model()
    pad_y, pad_x = int(round(border * frames.shape[1])), int(round(border * frames.shape[2]))
    out = np.empty((len(frames), DESCRIPTOR_DIM), np.float32)
    starts = range(0, len(frames), _BATCH)
    for start in tqdm(starts, desc="face descriptors", unit="batch", disable=not progress):
        images, shapes = [], []
        for frame, points in zip(frames[start : start + _BATCH], landmarks[start : start + _BATCH]):
            if pad_x or pad_y:
                frame = cv2.copyMakeBorder(frame, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_REPLICATE)
            images.append(np.ascontiguousarray(frame))
            detections = dlib.full_object_detections()  # dlib's batch call wants its own container
            detections.append(_shape(points + (pad_x, pad_y)))
            shapes.append(detections)
        vectors = model.compute_face_descriptor(images, shapes, num_jitters=0, padding=0.25)  # T x 1 x [128]
        out[start : start + len(images)] = np.array([np.asarray(v[0]) for v in vectors], np.float32)
    return out


def sample_indices(num_frames: int, num_samples: int) -> np.ndarray:
    """Evenly spaced frame indices [min(num_frames, num_samples)] from first to last frame."""
    if num_frames < 1 or num_samples < 1:
        raise InputError(f"need at least one frame and one sample, got {num_frames} and {num_samples}")
    return np.unique(np.linspace(0, num_frames - 1, min(num_frames, num_samples)).round().astype(np.int64))


def clip_identity(
    frames_rgb: np.ndarray, landmarks: np.ndarray, num_samples: int = 8, border: float = DEFAULT_BORDER
) -> np.ndarray:
    """The clip's identity: mean descriptor of ``num_samples`` evenly spaced frames, L2-normalised [128]."""
    frames, landmarks = _check(frames_rgb, landmarks)
    index = sample_indices(len(frames), num_samples)
    mean = face_descriptors(frames[index], landmarks[index], border).mean(0)  # [128]
    return (mean / max(float(np.linalg.norm(mean)), 1e-8)).astype(np.float32)
