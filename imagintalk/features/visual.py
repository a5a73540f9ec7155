"""What the networks see of a clip, from its front-door result: the ONE definition shared by
training data (``data.extract.ClipExtractor``) and speaking (``pipeline.features``).

identity and per-frame expression (by the extractors the style section names: dlib and fer by
default, see ``features.extractors``), and a few face crops downscaled for the face encoder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..settings import Config
from ..settings.data import DataConfig
from .extractors import FerExpression, expression_extractor, identity_extractor
from .face_descriptor import sample_indices

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
    """Aligned face crops [T, H, W, 3] -> float32 [T, dim] from fer: 7 probabilities, or 135 = those
    ++ fer's 128-D embedding (told SynthTalk emotions apart far better, docs/style_branch.md)."""
    return FerExpression(dim)(faces)


def visual_features(
    track: FaceTrackResult,
    cfg: Config,
    data_cfg: DataConfig,
    identity: np.ndarray | None = None,
    expression: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """What the networks see of a clip, from its FaceTrackResult.

    ``identity``: the face's identity [D] already known (``features.running_identity``, computed
    while the frames streamed in); None: described here from ``data_cfg.identity_samples`` frames.
    ``expression`` [T, E]: the expression of ``track.face`` already computed (the live path computes
    it while the face speaks); None: computed here.

    identity [D] (style.descriptor_dim; dlib: its descriptor of the aligned crops), expression
    [T, E] (E = style.expression_dim; fer: 7 probabilities, or 135 with its 128-D embedding),
    face_crops [N, S, S, 3] uint8 and face_crop_frames [N] (their frame indices).
    """
    if expression is None:
        expression = expression_extractor(cfg.style)(track.face)
    elif len(expression) != track.num_frames:
        raise ValueError(f"expression has {len(expression)} frames, the track {track.num_frames}")
    crops, crop_frames = downscale_crops(
        track.face, track.detected, data_cfg.face_crops, data_cfg.face_crop_size
    )
    if identity is None:
        landmarks_px = track.aligned_landmarks * cfg.video.face_size  # crop pixels, as the descriptor wants
        identity = identity_extractor(cfg.style)(track.face, landmarks_px, data_cfg.identity_samples)
    return {
        "identity": identity.astype(np.float32),
        "expression": expression,
        "face_crops": crops,
        "face_crop_frames": crop_frames,
    }
