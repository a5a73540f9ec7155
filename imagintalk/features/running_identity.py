"""The identity of the tracked face, computed while its frames stream in: once per face, then cached.

    identity = RunningIdentity(cfg)
    for frame, stamp in camera:
        observation = face_track.push(frame, stamp)
        identity.update(observation)             # a descriptor on a few frames, then nothing
    vector = identity.vector                     # [D] float32, L2-normalised (None before any face)

The face descriptor is the costliest visual feature (dlib's ResNet: ~0.1 s a frame on one core);
computed per utterance at its end, its eight frames alone took longer than the whole latency
budget. A face's identity does not change while it speaks, so it is taken from the face's first
``num_samples`` detected frames, ``stride_s`` apart (8 frames over 1.4 s by default), each
described as it arrives, and kept for every later utterance of that face: the same voice in
every utterance, and nothing left to do at the end. The face is taken as a new one (the samples
start again) when it was not seen for longer than ``max_gap_s``, exactly when the front door's
face selector picks a face afresh.

The frames are the observations' crops (``FrameObservation.face``, aligned by that frame's own
landmarks), so the file path (``Pipeline.speak_file``) and the live path (``LipStream``) see the
same frames and give the same vector. Training's clip identity (``visual_features``) averages
frames spread over the clip instead; the difference on the shipped model is measured in
docs/streaming.md.
"""

from __future__ import annotations

import numpy as np

from ..settings import Config
from ..video.canonical import align_matrix, apply_affine
from ..video.result import FrameObservation
from .extractors import identity_extractor

STRIDE_S = 0.2  # seconds between the described frames of one face


class RunningIdentity:
    """Per-face identity from the first ``num_samples`` detected frames ``stride_s`` apart."""

    def __init__(self, cfg: Config, stride_s: float = STRIDE_S, num_samples: int | None = None) -> None:
        self.extractor = identity_extractor(cfg.style)
        self.face_size = cfg.video.face_size
        self.max_gap_s = cfg.video.max_gap_s
        self.stride_s = float(stride_s)
        self.num_samples = int(num_samples or cfg.data.identity_samples)
        self.faces = 0  # faces seen since construction (a new one after each gap over max_gap_s)
        self.reset()

    def reset(self) -> None:
        """Forget the face (a new stream)."""
        self._samples: list[np.ndarray] = []  # [D] each
        self._last_sample_s: float | None = None
        self._last_seen_s: float | None = None

    @property
    def complete(self) -> bool:
        """All samples taken: update() costs nothing until the face changes."""
        return len(self._samples) >= self.num_samples

    @property
    def samples(self) -> int:
        return len(self._samples)

    @property
    def vector(self) -> np.ndarray | None:
        """float32 [D], the L2-normalised mean of the samples so far; None before any face."""
        if not self._samples:
            return None
        mean = np.mean(self._samples, axis=0)
        return (mean / max(float(np.linalg.norm(mean)), 1e-8)).astype(np.float32)

    def update(self, observation: FrameObservation | None) -> bool:
        """Take one pushed frame's observation; True if it was described (a sample taken)."""
        if observation is None or not observation.found or observation.face is None:
            return False
        now = float(observation.time_s)
        if self._last_seen_s is not None and now - self._last_seen_s > self.max_gap_s:
            self.reset()  # the selector takes a face afresh after such a gap: maybe another person
        if self._last_seen_s is None:
            self.faces += 1
        self._last_seen_s = now
        due = self._last_sample_s is None or now - self._last_sample_s >= self.stride_s - 1e-6
        if self.complete or not due:
            return False
        points = apply_affine(align_matrix(observation.landmarks), observation.landmarks)  # unit crop
        vector = self.extractor(observation.face[None], (points * self.face_size)[None], 1)  # [D]
        self._samples.append(np.asarray(vector, np.float32))
        self._last_sample_s = now
        return True
