"""What the front door hands on: per-frame observations (streaming) and the clip result."""

from __future__ import annotations

import dataclasses
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ImaginTalkError, InputError


@dataclass
class FrameObservation:
    """What one pushed frame showed (crops from this frame's own, unsmoothed landmarks)."""

    index: int  # source frame number within the stream
    time_s: float  # the timestamp given to push()
    num_faces: int  # faces the detector saw (0 on frames where the detector was skipped and tracking held)
    box: np.ndarray | None = None  # [4] x0, y0, x1, y1 frame pixels of the tracked face
    landmarks: np.ndarray | None = None  # [68, 2] frame pixels
    mouth: np.ndarray | None = None  # [mouth_size, mouth_size] uint8 gray
    face: np.ndarray | None = None  # [face_size, face_size, 3] uint8 RGB

    @property
    def found(self) -> bool:
        return self.landmarks is not None


@dataclass
class FaceTrackResult:
    """One clip at the output frame rate (T frames at ``fps``).

    mouth [T, S, S] uint8 gray ROI; face [T, F, F, 3] uint8 RGB aligned crop; landmarks
    [T, 68, 2] float32 in source-frame pixels (filled, smoothed); aligned_landmarks
    [T, 68, 2] float32 in unit face-crop coordinates (multiply by F for crop pixels);
    boxes [T, 4] float32 source pixels; detected [T] bool (the source frame used for output
    frame t had a detected face); times [T] float64 seconds from the first source frame.
    """

    mouth: np.ndarray
    face: np.ndarray
    landmarks: np.ndarray
    aligned_landmarks: np.ndarray
    boxes: np.ndarray
    detected: np.ndarray
    times: np.ndarray
    fps: float
    num_source_frames: int
    source_fps: float  # median source frame rate
    source_size: tuple[int, int]  # (height, width) of the first source frame
    source_detected: int  # source frames with the tracked face found
    multiple_faces: int  # source frames in which the detector saw more than one face
    long_gap_frames: int  # source frames in gaps longer than max_gap_s (held, not interpolated)
    filled_frames: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # output indices

    @property
    def num_frames(self) -> int:
        return len(self.times)

    @property
    def detection_rate(self) -> float:
        return self.source_detected / max(self.num_source_frames, 1)

    def summary(self) -> dict:
        """Plain numbers for printing and reports."""
        return {
            "frames": self.num_frames,
            "fps": self.fps,
            "duration_s": round(self.num_frames / self.fps, 3),
            "source_frames": self.num_source_frames,
            "source_fps": round(self.source_fps, 3),
            "source_size": list(self.source_size),
            "detected_pct": round(100.0 * self.detection_rate, 1),
            "filled_frames": int(len(self.filled_frames)),
            "long_gap_frames": self.long_gap_frames,
            "multiple_faces": self.multiple_faces,
        }

    def save(self, path: str | Path) -> Path:
        """Write every field to one compressed .npz (atomically: a crash leaves no half file)."""
        path = Path(path)
        arrays = {f.name: np.asarray(getattr(self, f.name)) for f in dataclasses.fields(self)}
        partial = path.with_name(path.name + ".partial")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as handle:
                np.savez_compressed(handle, **arrays)
            os.replace(partial, path)
        except OSError as exc:
            raise ImaginTalkError(f"cannot write face track {path}: {exc}") from None
        return path

    @classmethod
    def load(cls, path: str | Path) -> FaceTrackResult:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                values = {f.name: data[f.name] for f in dataclasses.fields(cls)}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(f"cannot load face track {path}: {exc}") from None
        for name in ("fps", "source_fps"):
            values[name] = float(values[name])
        for name in ("num_source_frames", "source_detected", "multiple_faces", "long_gap_frames"):
            values[name] = int(values[name])
        values["source_size"] = tuple(int(v) for v in values["source_size"])
        return cls(**values)
