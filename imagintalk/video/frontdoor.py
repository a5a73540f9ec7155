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
from .selection import FaceChoice
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
    serial: int = 0  # push number since reset: names the record in the crop cache


@dataclass
class _Geometry:
    """The output frames of a span of records: where each is taken from and how it is aligned."""

    times: np.ndarray  # [N] source times of the records
    out_t: np.ndarray  # [T] output times from the first record
    found: np.ndarray  # [N] bool, records with the face detected
    long_gap: np.ndarray  # [N] bool
    nearest: np.ndarray  # [T] record index of each output frame
    landmarks: np.ndarray  # [T, 68, 2] filled, resampled, smoothed
    boxes: np.ndarray  # [T, 4]
    settled_until: float  # output frames at or before this time (from the first record) are final


class FaceTrack:
    """Streaming face tracker: push frames one by one, then ``result()`` / ``finish()``."""

    def __init__(
        self,
        cfg: VideoConfig | None = None,
        detector: FaceDetector | None = None,
        color: str = "bgr",
        choice: FaceChoice | None = None,
    ) -> None:
        self.cfg = cfg or VideoConfig()
        self.choice = choice  # whose face to follow when several are in view; None: the largest
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
        self._selector = FaceSelector(
            self.cfg.min_iou, reacquire_after_s=self.cfg.max_gap_s, choice=self.choice
        )
        self._reference: tuple[np.ndarray, np.ndarray] | None = None  # (box, landmarks) at the last detection
        self._last_landmarks: np.ndarray | None = None
        self._last_align: np.ndarray | None = None
        self._source_size: tuple[int, int] | None = None
        self.cache_crops_from(None)

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
        record = _Record(timestamp_s, num_faces, box, landmarks, mouth_canvas, face_canvas, self._pushed)
        self._records.append(record)
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
        if count and self._crops:
            first = self._records[0].serial if self._records else self._pushed
            self._crops = {key: value for key, value in self._crops.items() if key[0] >= first}
        return count

    def cache_crops_from(self, time_s: float | None) -> None:
        """Keep the crops built for frames taken at or after ``time_s`` (None: keep none, forget all).

        A crop is reused only for the same frame and the same alignment matrix, so a result is the
        same with or without the cache; the live path sets it at an utterance's start and builds the
        settled frames' crops while the face still speaks (``warm``), leaving few for the end.
        """
        self._cache_from = time_s
        if time_s is None:
            self._crops: dict[tuple[int, str], tuple[bytes, np.ndarray]] = {}

    def warm(self, start_s: float, from_frame: int = 0) -> tuple[np.ndarray, int]:
        """Build (and cache) the crops of the output frames ``from_frame``.. of the span that starts at
        ``start_s`` which no later frame can change; returns (their face crops [n, F, F, 3], the index
        after the last of them). Nothing is returned until a face was seen in the span."""
        cfg = self.cfg
        records = [r for r in self._records if r.time_s >= start_s]
        empty = np.zeros((0, cfg.face_size, cfg.face_size, 3), np.uint8)
        if not records or not any(r.landmarks is not None for r in records):
            return empty, from_frame
        geometry = _geometry_of(records, cfg)
        end = int(np.searchsorted(geometry.out_t, geometry.settled_until, side="right"))
        if end <= from_frame:
            return empty, from_frame
        faces = [self._crops_of(records, geometry, t)[1] for t in range(from_frame, end)]
        return np.stack(faces), end

    def _crops_of(
        self, records: list[_Record], geometry: _Geometry, t: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Output frame t: (mouth ROI [S, S], face crop [F, F, 3], aligned landmarks [68, 2])."""
        cfg = self.cfg
        landmarks = geometry.landmarks[t]
        align = align_matrix(landmarks)
        record = records[geometry.nearest[t]]
        to_mouth = mouth_matrix(align, landmarks, cfg.mouth_size, cfg.mouth_scale)
        to_face = face_matrix(align, cfg.face_size)
        mouth = self._cached(record, "mouth", record.mouth_canvas, to_mouth, cfg.mouth_size)
        face = self._cached(record, "face", record.face_canvas, to_face, cfg.face_size)
        return mouth, face, apply_affine(align, landmarks)

    def _cached(
        self, record: _Record, kind: str, canvas: Canvas, matrix: np.ndarray, size: int
    ) -> np.ndarray:
        """canvas.crop(matrix, size), reused when this record was cropped with the same matrix before."""
        caching = self._cache_from is not None and record.time_s >= self._cache_from
        key, exact = (record.serial, kind), matrix.tobytes()
        if caching:
            hit = self._crops.get(key)
            if hit is not None and hit[0] == exact:
                return hit[1]
        crop = canvas.crop(matrix, size)
        if caching:
            self._crops[key] = (exact, crop)
        return crop

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
        geometry = _geometry_of(records, cfg)
        times, out_t, found, nearest = geometry.times, geometry.out_t, geometry.found, geometry.nearest
        duration = len(out_t) / cfg.fps
        if duration < cfg.min_duration_s:
            raise InputError(
                f"{self.source} is too short to speak: {duration:.2f} s (at least {cfg.min_duration_s} s)"
            )
        if not found.any():
            raise NoFaceError(f"no face found in {self.source} (0 of {len(records)} frames)")
        mouths, faces, aligned = zip(*(self._crops_of(records, geometry, t) for t in range(len(out_t))))
        landmarks, boxes, long_gap = geometry.landmarks, geometry.boxes, geometry.long_gap
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


def _geometry_of(records: list[_Record], cfg: VideoConfig) -> _Geometry:
    """Fill, resample to cfg.fps and smooth the landmarks of ``records`` (at least one found)."""
    times = np.array([r.time_s for r in records], np.float64)
    out_t = output_times(times, cfg.fps)
    found = np.array([r.landmarks is not None for r in records])
    none = np.zeros((68, 2), np.float32)
    raw = np.stack([r.landmarks if r.landmarks is not None else none for r in records])
    raw_boxes = np.stack([r.box if r.box is not None else np.zeros(4, np.float32) for r in records])
    if found.any():
        filled, long_gap = fill_gaps(raw, found, times, cfg.max_gap_s)
        filled_boxes, _ = fill_gaps(raw_boxes.reshape(-1, 2, 2), found, times, cfg.max_gap_s)
    else:  # no face: nothing to fill from (the caller refuses such a span)
        filled, long_gap, filled_boxes = raw, np.zeros(len(times), bool), raw_boxes.reshape(-1, 2, 2)
    landmarks = smooth_track(interpolate_track(times, filled, out_t), cfg.smooth_window)
    boxes = interpolate_track(times, filled_boxes, out_t).reshape(-1, 4)
    # an output frame is final once the frames its smoothing window reads are interpolated between
    # records up to the last detection: later frames change only what lies after that detection
    last_found = times[np.flatnonzero(found)[-1]] - times[0] if found.any() else -np.inf
    settled = last_found - (cfg.smooth_window // 2 + 1) / cfg.fps
    return _Geometry(times, out_t, found, long_gap, nearest_frames(times, out_t), landmarks, boxes, settled)


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
