"""The network inputs of one window, computed exactly as training computes them.

Training reads them from feature files written by ``data.extract.ClipExtractor`` and batched
by ``data.collate``; here the same arrays come from a FaceTrackResult in memory through the
same function, ``features.visual.visual_features`` (identity, expression, face crops), plus the
mouth ROIs normalised as ``collate`` does (``normalize_mouth``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..features.visual import visual_features
from ..settings import Config
from ..video.crops import normalize_mouth
from ..video.result import FaceTrackResult


@dataclass
class WindowInputs:
    mouth: Tensor  # [1, T, 88, 88] float32, normalised
    identity: Tensor  # [1, 128] float32, L2-normalised dlib descriptor
    expression: Tensor  # [1, T, E] float32 (E = style.expression_dim)
    face_crops: Tensor  # [1, N, 3, S, S] float32 in [0, 1]
    face_missing: Tensor  # [1, T] bool, frames the detector found no face in (the track filled them)

    def to(self, device: torch.device | str) -> WindowInputs:
        tensors = (self.mouth, self.identity, self.expression, self.face_crops, self.face_missing)
        return WindowInputs(*(t.to(device) for t in tensors))


def window_inputs(
    track: FaceTrackResult,
    cfg: Config,
    identity: np.ndarray | None = None,
    expression: np.ndarray | None = None,
) -> WindowInputs:
    """One window's FaceTrackResult (T frames at 25 fps) -> the networks' inputs (batch of one).

    ``identity`` [D]: the face's identity when already known (the running one); ``expression``
    [T, E]: the expression of ``track.face`` when already computed (the live path's); None: from
    the window.
    """
    visual = visual_features(track, cfg, cfg.data, identity, expression)  # the same arrays training reads
    identity, expression, crops = visual["identity"], visual["expression"], visual["face_crops"]
    mouth = normalize_mouth(track.mouth, cfg.video.mouth_crop)  # [T, 88, 88]
    return WindowInputs(
        mouth=torch.from_numpy(mouth)[None],
        identity=torch.from_numpy(identity).float()[None],
        expression=torch.from_numpy(expression)[None],
        face_crops=torch.from_numpy(crops)[None].permute(0, 1, 4, 2, 3).float() / 255.0,
        face_missing=torch.from_numpy(~np.asarray(track.detected, dtype=bool))[None],
    )
