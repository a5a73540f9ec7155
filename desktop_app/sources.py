"""Frame sources for the capture job: an OpenCV camera, or a video file played as a camera."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from imagintalk.errors import InputError
from imagintalk.video.io import iter_frames


class SourceError(Exception):
    """The source cannot give frames (no camera, unplugged, unreadable file): plain words."""


class SourceGone(SourceError):
    """The source is not there now but may come back (a camera unplugged, a video on a drive that was
    removed): the capture job tries it again every few seconds."""


class CameraSource:
    """OpenCV camera ``index``; ``read()`` blocks until the next frame (the camera paces)."""

    def __init__(self, index: int) -> None:
        import cv2

        self.name = f"camera {index}"
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceGone(
                f"No camera was found at index {index}. Connect a camera or choose another one in Settings."
            )
        self._t0 = time.monotonic()
        self._last = -1.0

    def read(self) -> tuple[np.ndarray, float] | None:
        """(frame BGR uint8 [H, W, 3], seconds since opening); raises SourceError when it stops."""
        ok, frame = self._cap.read()
        if not ok or frame is None:
            raise SourceGone(f"The {self.name} stopped sending pictures (unplugged?). Trying again...")
        now = max(time.monotonic() - self._t0, self._last + 1e-3)  # strictly increasing for the tracker
        self._last = now
        return frame, now

    def delay_s(self) -> float:
        return 0.0

    def close(self) -> None:
        self._cap.release()


class FileSource:
    """A video file played as a camera at its own frame rate; ``read()`` -> None at the end.

    A file that is missing, or goes away while it plays (a removed drive), is treated like an
    unplugged camera (SourceGone); an unreadable file is a plain SourceError.
    """

    def __init__(self, path: str | Path, max_side: int | None = None) -> None:
        self.path, self.name = Path(path), Path(path).name
        if not self.path.is_file():
            raise SourceGone(f"The video {self.name} is not there (a removed drive?). Trying again...")
        # frames larger than the front door uses are scaled down as they are decoded (imagintalk.video.io)
        self._frames: Iterator[tuple[np.ndarray, float]] = iter_frames(path, color="bgr", max_side=max_side)
        try:
            self._next = next(self._frames)
        except (InputError, StopIteration) as exc:
            raise SourceError(f"Cannot play the video {path}: {exc}") from None
        self._t0 = time.monotonic() - self._next[1]

    def delay_s(self) -> float:
        """Seconds until the next frame is due (played at the file's own timestamps)."""
        if self._next is None:
            return 0.0
        return max(0.0, self._t0 + self._next[1] - time.monotonic())

    def read(self) -> tuple[np.ndarray, float] | None:
        """(frame BGR uint8 [H, W, 3], file time in s), None at the end; SourceGone when it went away."""
        item = self._next
        if item is None:
            return None
        if not self.path.exists():  # one stat per frame: the open decoder would read on from the cache
            raise SourceGone(f"The video {self.name} went away (a removed drive?). Trying again...")
        try:
            self._next = next(self._frames, None)
        except InputError:  # damaged tail: end the file here
            self._next = None
        return item

    def close(self) -> None:
        self._next = None
        self._frames.close()  # closes the decoder and the file now, not whenever it is collected


def open_source(source: str | int, max_side: int | None = None) -> CameraSource | FileSource:
    """An int or digit string is a camera index; anything else a video file (its frames read at most
    ``max_side`` px long; None: as stored)."""
    if isinstance(source, int) or str(source).isdigit():
        return CameraSource(int(source))
    return FileSource(source, max_side)
