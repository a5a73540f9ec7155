"""The video front door: one code path for camera frames and video files.

    track = FaceTrack(cfg, detector)            # detector None: built from cfg.detector
    obs = track.push(frame, timestamp_s)        # per frame: box, landmarks, crops (or None)
    result = track.finish()                     # the clip at cfg.fps: FaceTrackResult

    result = process_video("clip.mp4", cfg)     # = read frames + push each + finish

Frames are uint8 [H, W, 3] in the colour order given as ``color`` ("bgr", OpenCV's order
and the default, or "rgb"); outputs are gray mouth ROIs and RGB face crops either way.
Only two small canvases per frame are kept, never the full frame (~115 KB per frame with
the default sizes), so memory grows with the clip length at the rate of the outputs.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, NoFaceError
from ..settings.video import VideoConfig
from .canonical import align_matrix, apply_affine
from .crops import Canvas, face_matrix, make_canvases, mouth_matrix, to_gray_rgb
from .detectors import DETECTORS, FaceDetector, build_detector, detect_faces
from .io import check_color, iter_frames
from .landmarks import box_from_landmarks, predict_landmarks
from .result import FaceTrackResult, FrameObservation
from .temporal import fill_gaps, interpolate_track, nearest_frames, output_times, smooth_track
from .tracking import FaceSelector

# face crop side / the detector's (dlib-convention) box side: 1.28 on the example clip's face
# (box 87 px, crop 111.7 px); the mouth ROI spans mouth_scale of the face crop
CROP_PER_BOX = 1.28


def working_max_side(cfg: VideoConfig) -> int:
    """Long side (px) frames can be read at without enlarging the crops of any face the detector finds.

    The detector looks at a copy ``detect_size`` px long (``2**upsample`` times enlarged) and finds
    boxes of at least ``min_face_px`` there, so the smallest face it finds in a frame ``side`` px long
    has a box of ``min_face_px * side / (detect_size * 2**upsample)`` px; the crops need a box of
    ``max(face_size, mouth_size / mouth_scale) / CROP_PER_BOX`` px (150 by default) to be taken at
    their own resolution or finer. Rounded up to a multiple of 128: 640 for the defaults (dlib HOG,
    detect_size 320, upsample 0), 1280 with upsample 1.
    """
    min_face = getattr(DETECTORS.get(cfg.detector), "min_face_px", 22)
    box = max(cfg.face_size, cfg.mouth_size / cfg.mouth_scale) / CROP_PER_BOX
    side = box * cfg.detect_size * 2**cfg.upsample / min_face
    return int(-(-side // 128) * 128)


@dataclass
class _Record:
    """What is kept of one pushed frame."""

    time_s: float
    num_faces: int
    box: np.ndarray | None
    landmarks: np.ndarray | None
    mouth_canvas: Canvas
    face_canvas: Canvas


class FaceTrack:
    """Streaming face tracker: push frames one by one, then ``result()`` / ``finish()``."""

    def __init__(
        self, cfg: VideoConfig | None = None, detector: FaceDetector | None = None, color: str = "bgr"
    ) -> None:
        self.cfg = cfg or VideoConfig()
        if detector is None:
            detector = build_detector(self.cfg.detector, upsample=self.cfg.upsample)
        self.detector = detector
        self.color = check_color(color)
        self.source = "the stream"  # named in error messages; process_video sets the file name
        self.reset()

    def reset(self) -> None:
        """Forget every pushed frame (start a new clip)."""
        self._records: list[_Record] = []
        self._pushed = 0  # frames pushed since reset (records may have been dropped: see drop_before)
        self._last_time: float | None = None
        self._selector = FaceSelector(self.cfg.min_iou, reacquire_after_s=self.cfg.max_gap_s)
        self._reference: tuple[np.ndarray, np.ndarray] | None = None  # (box, landmarks) at the last detection
        self._last_landmarks: np.ndarray | None = None
        self._last_align: np.ndarray | None = None
        self._source_size: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self._records)

    def push(self, frame: np.ndarray, timestamp_s: float, color: str | None = None) -> FrameObservation:
        """Add one frame [H, W, 3] uint8 taken at ``timestamp_s`` seconds (strictly increasing)."""
        color = check_color(color or self.color)
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3 or min(frame.shape[:2]) < 8:
            raise InputError(f"frames must be uint8 [H, W, 3] images, got {frame.dtype} {frame.shape}")
        timestamp_s = float(timestamp_s)
        if not np.isfinite(timestamp_s):
            raise InputError(f"frame timestamp must be a finite number of seconds, not {timestamp_s}")
        if self._last_time is not None and timestamp_s <= self._last_time:
            last = self._last_time
            raise InputError(f"frame timestamps must increase: {timestamp_s:.4f} s after {last:.4f} s")
        if self._source_size is None:
            self._source_size = (int(frame.shape[0]), int(frame.shape[1]))
        cfg = self.cfg
        gray, to_rgb = to_gray_rgb(frame, color)
        box, num_faces = self._locate(gray, timestamp_s)
        landmarks = predict_landmarks(gray, box) if box is not None else None
        if landmarks is not None:
            if num_faces > 0:
                self._reference = (box, landmarks)
            self._last_landmarks = landmarks
            self._last_align = align_matrix(landmarks)
        # face-less frames are kept where the face was last seen (or whole, before any face)
        mouth_canvas, face_canvas = make_canvases(
            frame,
            gray,
            to_rgb,
            self._last_align,
            self._last_landmarks,
            cfg.face_size,
            cfg.mouth_size,
            cfg.mouth_scale,
        )
        self._records.append(_Record(timestamp_s, num_faces, box, landmarks, mouth_canvas, face_canvas))
        self._pushed += 1
        self._last_time = timestamp_s
        obs = FrameObservation(self._pushed - 1, timestamp_s, num_faces, box, landmarks)
        if landmarks is not None:
            align = self._last_align
            obs.mouth = mouth_canvas.crop(
                mouth_matrix(align, landmarks, cfg.mouth_size, cfg.mouth_scale), cfg.mouth_size
            )
            obs.face = face_canvas.crop(face_matrix(align, cfg.face_size), cfg.face_size)
        return obs

    def _locate(self, gray: np.ndarray, time_s: float) -> tuple[np.ndarray | None, int]:
        """(box of the tracked face or None, number of faces the detector saw)."""
        every = max(1, self.cfg.detect_every)
        previous = self._records[-1] if self._records else None
        tracking = previous is not None and previous.landmarks is not None
        if every > 1 and self._pushed % every and tracking:
            # between detector runs, move the last detected box along with the landmarks
            ref_box, ref_landmarks = self._reference
            box = box_from_landmarks(previous.landmarks, ref_box, ref_landmarks)
            self._selector.update(box, time_s)
            return box, 0
        boxes, _ = detect_faces(self.detector, gray, self.cfg.detect_size)
        index = self._selector.select(boxes, time_s, gray.shape[:2])
        return (boxes[index] if index is not None else None), len(boxes)

    def finish(self) -> FaceTrackResult:
        """The result for every frame pushed so far; the tracker then starts a new clip."""
        try:
            return self.result()
        finally:
            self.reset()

    @property
    def times(self) -> list[float]:
        """Timestamps (s) of the frames held, oldest first."""
        return [r.time_s for r in self._records]

    def drop_before(self, time_s: float) -> int:
        """Forget the frames taken before ``time_s`` (bounds memory on a live stream); returns how many.

        Tracking state (the followed face, the last landmarks) is kept, so pushing goes on as before.
        """
        times = [r.time_s for r in self._records]
        count = bisect.bisect_left(times, time_s)
        del self._records[:count]
        return count

    def result(self, start_s: float | None = None, end_s: float | None = None) -> FaceTrackResult:
        """Fill, resample to cfg.fps, smooth, align and crop the frames held (those taken in
        [start_s, end_s] when given; times in the result count from the first of them)."""
        cfg, records = self.cfg, self._records
        if start_s is not None or end_s is not None:
            low = -np.inf if start_s is None else start_s
            high = np.inf if end_s is None else end_s
            records = [r for r in records if low <= r.time_s <= high]
        if not records:
            raise InputError(f"no frames in {self.source}")
        times = np.array([r.time_s for r in records], np.float64)
        out_t = output_times(times, cfg.fps)
        duration = len(out_t) / cfg.fps
        if duration < cfg.min_duration_s:
            raise InputError(
                f"{self.source} is too short to speak: {duration:.2f} s (at least {cfg.min_duration_s} s)"
            )
        found = np.array([r.landmarks is not None for r in records])
        if not found.any():
            raise NoFaceError(f"no face found in {self.source} (0 of {len(records)} frames)")
        none = np.zeros((68, 2), np.float32)
        raw = np.stack([r.landmarks if r.landmarks is not None else none for r in records])
        raw_boxes = np.stack([r.box if r.box is not None else np.zeros(4, np.float32) for r in records])
        filled, long_gap = fill_gaps(raw, found, times, cfg.max_gap_s)
        filled_boxes, _ = fill_gaps(raw_boxes.reshape(-1, 2, 2), found, times, cfg.max_gap_s)
        nearest = nearest_frames(times, out_t)
        landmarks = smooth_track(interpolate_track(times, filled, out_t), cfg.smooth_window)
        boxes = interpolate_track(times, filled_boxes, out_t).reshape(-1, 4)
        mouths, faces, aligned = [], [], []
        for t, src in enumerate(nearest):
            align = align_matrix(landmarks[t])
            aligned.append(apply_affine(align, landmarks[t]))
            record = records[src]
            to_mouth = mouth_matrix(align, landmarks[t], cfg.mouth_size, cfg.mouth_scale)
            mouths.append(record.mouth_canvas.crop(to_mouth, cfg.mouth_size))
            faces.append(record.face_canvas.crop(face_matrix(align, cfg.face_size), cfg.face_size))
        detected = found[nearest]
        step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0 / cfg.fps
        return FaceTrackResult(
            mouth=np.stack(mouths),
            face=np.stack(faces),
            landmarks=landmarks,
            aligned_landmarks=np.stack(aligned).astype(np.float32),
            boxes=boxes,
            detected=detected,
            times=out_t,
            fps=float(cfg.fps),
            num_source_frames=len(records),
            source_fps=1.0 / step,
            source_size=self._source_size,
            source_detected=int(found.sum()),
            multiple_faces=int(sum(r.num_faces > 1 for r in records)),
            long_gap_frames=int(long_gap.sum()),
            filled_frames=np.flatnonzero(~detected),
        )


def process_video(
    path: str | Path, cfg: VideoConfig | None = None, detector: FaceDetector | None = None
) -> FaceTrackResult:
    """The whole front door on one video file (frames read as BGR at most ``working_max_side(cfg)``
    px long, pushed one by one)."""
    track = FaceTrack(cfg, detector, color="bgr")
    track.source = str(path)
    for frame, time_s in iter_frames(path, color="bgr", max_side=working_max_side(track.cfg)):
        track.push(frame, time_s)
    return track.finish()


__all__ = ["FaceTrack", "FaceTrackResult", "FrameObservation", "process_video", "working_max_side"]
