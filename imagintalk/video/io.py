"""Stage 1: read frames and their timestamps from a video file (and write test videos).

Frames come one by one from a generator, so a long video is never held in memory. PyAV is
tried first because it gives each frame's presentation time (pts), which is right for
variable frame rate files; OpenCV is the fallback (its timestamps come from
CAP_PROP_POS_MSEC, or index / fps). Frames are uint8 [H, W, 3] in the colour order asked
for: "bgr" (OpenCV's order, the default) or "rgb".

Frames larger than ``max_side`` on their long side (default: none, frames as stored) are
scaled down as they are decoded (PyAV: one swscale pass together with the colour
conversion), so a full-size 4K or 1080p frame never becomes a numpy array. That is all the
front door can use: its detector looks at a copy 320 px long (``detect_size``) and finds
faces of >= 80 px there, so any face it finds is >= 160 px in a 640 px frame, which leaves
>= 100 px across the mouth ROI (96 px) and >= 200 px across the face crop (128 px): no crop
is enlarged. Every front-door reader (``process_video``, ``Pipeline.speak_file``, the app's file
source) passes ``frontdoor.working_max_side(cfg)``: 640 px with the default detector settings.
Full-size frames made the process follow glibc's heap fragmentation instead of the frames:
``imagintalk speak`` on a 10 s 4K clip peaked at 4.7 GB resident (docs/frontdoor.md, "Memory").
Files at most that long on their long side (640x480 and smaller) are read exactly as before.
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


def working_size(width: int, height: int, max_side: int | None) -> tuple[int, int] | None:
    """(width, height) to scale a frame to so that its long side is at most ``max_side`` (both
    even, as H.264 wants them), or None when it is small enough already (or max_side is None)."""
    if max_side is None or max(width, height) <= max_side:
        return None
    scale = max_side / max(width, height)
    return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def is_image(path: str | Path) -> bool:
    """A still image by its file name (the front door otherwise reads it as a video)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: str | Path, max_side: int | None = None) -> np.ndarray:
    """A still image -> uint8 [H, W, 3] BGR, scaled down to ``max_side``; InputError if unreadable."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"cannot read the image {path}")
    size = working_size(image.shape[1], image.shape[0], max_side)
    return image if size is None else cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _iter_pyav(path: Path, color: str, max_side: int | None) -> Iterator[tuple[np.ndarray, float]]:
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
            size = working_size(frame.width, frame.height, max_side)
            if size is None:
                yield frame.to_ndarray(format=fmt), t
            else:  # scaled and converted in one pass: the full-size frame stays in the decoder's buffers
                yield frame.to_ndarray(width=size[0], height=size[1], format=fmt, interpolation="AREA"), t


def _iter_opencv(path: Path, color: str, max_side: int | None) -> Iterator[tuple[np.ndarray, float]]:
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
            size = working_size(frame.shape[1], frame.shape[0], max_side)
            if size is not None:
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            yield (frame if color == "bgr" else frame[:, :, ::-1].copy()), t
    finally:
        cap.release()


def iter_frames(
    path: str | Path, color: str = "bgr", max_side: int | None = None
) -> Iterator[tuple[np.ndarray, float]]:
    """Yield (frame [H, W, 3] uint8, time in seconds from the file's start) for every frame.

    Frames whose long side exceeds ``max_side`` are scaled down to it (area averaging, both sides
    even); ``max_side=None`` gives them at the size stored in the file.
    Raises InputError when the file is missing, unreadable or holds no frames.
    """
    check_color(color)
    if max_side is not None and max_side < 8:
        raise InputError(f"max_side must be at least 8 pixels (or None), not {max_side}")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"video not found: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"video file is empty: {path}")
    count = 0
    try:
        for item in _iter_pyav(path, color, max_side):
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
        for item in _iter_opencv(path, color, max_side):
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
