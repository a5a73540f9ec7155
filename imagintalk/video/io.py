"""Stage 1: read frames and their timestamps from a video file (and write test videos).

Frames come one by one from a generator, so a long video is never held in memory at full
resolution. PyAV is tried first because it gives each frame's presentation time (pts),
which is right for variable frame rate files; OpenCV is the fallback (its timestamps come
from CAP_PROP_POS_MSEC, or index / fps). Frames are uint8 [H, W, 3] in the colour order
asked for: "bgr" (OpenCV's order, the default) or "rgb".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import InputError

log = logging.getLogger(__name__)
COLORS = ("bgr", "rgb")


def check_color(color: str) -> str:
    if color not in COLORS:
        raise InputError(f"colour order must be 'bgr' or 'rgb', not {color!r}")
    return color


def _iter_pyav(path: Path, color: str) -> Iterator[tuple[np.ndarray, float]]:
    import av

    fmt = "bgr24" if color == "bgr" else "rgb24"
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise InputError(f"{path} has no video stream")
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or 25.0)
        last_t = None
        for index, frame in enumerate(container.decode(stream)):
            t = float(frame.pts * stream.time_base) if frame.pts is not None else index / rate
            # keep time strictly increasing even for odd files (missing or repeated pts)
            if last_t is not None and t <= last_t:
                t = last_t + 1.0 / rate
            last_t = t
            yield frame.to_ndarray(format=fmt), t


def _iter_opencv(path: Path, color: str) -> Iterator[tuple[np.ndarray, float]]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError(f"cannot read video {path}: neither PyAV nor OpenCV can open it")
        rate = cap.get(cv2.CAP_PROP_FPS) or 25.0
        index, last_t = 0, None
        while True:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if last_t is not None and t <= last_t:
                t = index / rate if index / rate > last_t else last_t + 1.0 / rate
            last_t = t
            index += 1
            if frame.ndim == 2:
                frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
            yield (frame if color == "bgr" else frame[:, :, ::-1].copy()), t
    finally:
        cap.release()


def iter_frames(path: str | Path, color: str = "bgr") -> Iterator[tuple[np.ndarray, float]]:
    """Yield (frame [H, W, 3] uint8, time in seconds from the file's start) for every frame.

    Raises InputError when the file is missing, unreadable or holds no frames.
    """
    check_color(color)
    path = Path(path)
    if not path.is_file():
        raise InputError(f"video not found: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"video file is empty: {path}")
    count = 0
    try:
        for item in _iter_pyav(path, color):
            count += 1
            yield item
    except InputError:
        raise
    except Exception as exc:  # PyAV raises many error types (av.error.*) for damaged input
        if count:
            log.warning("%s: decoding stopped after %d frames (%s)", path, count, exc)
        else:
            log.debug("PyAV cannot read %s (%s); trying OpenCV", path, exc)
    if count == 0:
        for item in _iter_opencv(path, color):
            count += 1
            yield item
    if count == 0:
        raise InputError(f"video {path} is unreadable or has no frames")


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float = 25.0,
    color: str = "rgb",
    times: Iterable[float] | None = None,
) -> Path:
    """Write frames [H, W, 3] uint8 to an mp4 (H.264 via PyAV); returns the path.

    ``times`` (seconds) gives each frame's own timestamp, for variable frame rate files.
    Width and height must be even (H.264 with yuv420p).
    """
    import av

    check_color(color)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001)
    time_iter = iter(times) if times is not None else None
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000) if time_iter else 1 / rate
        stream.options = {"crf": "18", "preset": "ultrafast"}
        started = False
        for index, image in enumerate(frames):
            if not started:
                stream.height, stream.width = image.shape[:2]
                started = True
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(image), format="rgb24" if color == "rgb" else "bgr24"
            )
            frame.pts = round(next(time_iter) * 1000) if time_iter else index
            frame.time_base = stream.codec_context.time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
