"""One mouthed prompt: its text and the front door's track of the user's face saying it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, NoFaceError
from ..pipeline import Pipeline
from ..video.crops import normalize_mouth
from ..video.frontdoor import FaceTrack
from ..video.result import FaceTrackResult

MIN_DETECTED = 0.5  # a clip whose face was found in fewer of its frames teaches nothing reliable


@dataclass
class EnrollmentClip:
    text: str
    track: FaceTrackResult
    identity: np.ndarray | None  # [D] the face's running identity in this clip
    source: str = ""

    @property
    def mouth(self) -> np.ndarray:
        """Normalised mouth ROIs [T, 88, 88] float32, as the lip aligner reads them."""
        return normalize_mouth(self.track.mouth)


def _checked(clip: EnrollmentClip) -> EnrollmentClip:
    detected = float(np.mean(clip.track.detected)) if clip.track.num_frames else 0.0
    if detected < MIN_DETECTED:
        raise NoFaceError(
            f"{clip.source}: the face was found in {detected:.0%} of the frames (need {MIN_DETECTED:.0%})"
        )
    if not clip.text.strip():
        raise InputError(f"{clip.source}: the prompt text is empty")
    return clip


def clip_from_video(pipe: Pipeline, path: str | Path, text: str) -> EnrollmentClip:
    """A recorded video of the user mouthing ``text`` -> an EnrollmentClip (NoFaceError, InputError)."""
    track, identity = pipe.track_file(path)
    return _checked(EnrollmentClip(" ".join(text.split()), track, identity, str(path)))


def clip_from_frames(
    pipe: Pipeline, frames: Iterable[tuple[np.ndarray, float]], text: str, color: str = "bgr"
) -> EnrollmentClip:
    """(frame uint8 [H, W, 3], seconds) pairs from a camera -> an EnrollmentClip."""
    face_track = FaceTrack(pipe.cfg.video, pipe.detector, color=color)
    identity = pipe.running_identity()
    count = 0
    for frame, time_s in frames:
        identity.update(face_track.push(frame, float(time_s)))
        count += 1
    if count == 0:
        raise InputError("no frames were recorded")
    return _checked(EnrollmentClip(" ".join(text.split()), face_track.finish(), identity.vector, "recording"))
