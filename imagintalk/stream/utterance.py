"""What the stream hands on: per-frame updates and finished utterances."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..video.result import FaceTrackResult, FrameObservation

REASONS = ("vad", "max_length", "push_to_talk", "end_of_stream")


@dataclass
class Utterance:
    """One stretch of speech to speak: its frames through the front door, at 25 fps."""

    track: FaceTrackResult  # T frames at track.fps (25): mouth [T, 96, 96], face [T, 128, 128, 3], ...
    start_s: float  # source timestamp of the first frame
    end_s: float  # source timestamp of the last frame
    reason: str  # one of REASONS: why it ended
    identity: np.ndarray | None = None  # [D] the face's identity, taken while the frames streamed in
    expression: np.ndarray | None = None  # [T, E] expression of track.face, mostly taken while streaming

    @property
    def duration_s(self) -> float:
        """Length at the output frame rate (what speech of it lasts): T / fps."""
        return self.track.num_frames / self.track.fps


@dataclass
class StreamUpdate:
    """What one LipStream.push() did."""

    observation: FrameObservation | None  # None if the frame was rejected
    state: str  # "no_face" | "ready" | "listening"
    utterance: Utterance | None = None  # an utterance that ended with this frame
    rejected: str | None = None  # why the frame was dropped (a key of frames_rejected_<kind>)
