"""Whose face to voice when several are in view: a small policy shared by the tracker and its owner.

    choice = FaceChoice("roi")             # largest | centre | roi
    choice.set_roi((x0, y0, x1, y1))       # any thread (e.g. a ROS callback); the tracker reads it
    track = FaceTrack(cfg, choice=choice)  # FaceSelector chooses by it, then follows that person

The policy picks a face only when the tracker has none (at the start, after the face was lost, or
after the policy or its region changed); between those moments the tracker keeps the same person by
box overlap (tracking.FaceSelector), so a second face walking into view never steals the voice.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

SELECTIONS = ("largest", "centre", "roi")


@dataclass(frozen=True)
class ChoiceState:
    """One consistent reading of a FaceChoice."""

    mode: str
    roi: tuple[float, float, float, float] | None  # x0, y0, x1, y1 in frame pixels
    version: int  # bumps on every change: the tracker chooses again when it sees a new one


def check_selection(mode: str) -> str:
    """``mode`` if it is one of SELECTIONS, else InputError listing them."""
    if mode not in SELECTIONS:
        raise InputError(f"face_selection {mode!r}: choose one of {', '.join(SELECTIONS)}")
    return mode


class FaceChoice:
    """The face-selection policy and, for "roi", the region of interest; thread-safe."""

    def __init__(self, mode: str = "largest", roi: tuple[float, float, float, float] | None = None) -> None:
        self._lock = threading.Lock()
        self._state = ChoiceState(check_selection(mode), None, 0)
        if roi is not None:
            self.set_roi(roi)

    @property
    def state(self) -> ChoiceState:
        with self._lock:
            return self._state

    @property
    def mode(self) -> str:
        return self.state.mode

    def set_mode(self, mode: str) -> None:
        """Choose by ``mode`` from the next detection on (the current person is chosen again)."""
        check_selection(mode)
        with self._lock:
            self._state = ChoiceState(mode, self._state.roi, self._state.version + 1)

    def set_roi(self, roi: tuple[float, float, float, float] | None) -> None:
        """The region whose face to voice (x0, y0, x1, y1 px; None: none); InputError if empty."""
        if roi is not None:
            x0, y0, x1, y1 = (float(v) for v in roi)
            if not (np.isfinite([x0, y0, x1, y1]).all() and x1 > x0 and y1 > y0):
                raise InputError(f"a region of interest needs x1 > x0 and y1 > y0, got {roi}")
            roi = (x0, y0, x1, y1)
        with self._lock:
            self._state = ChoiceState(self._state.mode, roi, self._state.version + 1)


def largest(boxes: np.ndarray, frame_size: tuple[int, int]) -> int:
    """Index of the largest box; among boxes within 10 % of the largest area, the most central.

    frame_size: (height, width). The tracker's behaviour before policies existed, kept as the default.
    """
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    near_largest = np.flatnonzero(areas >= 0.9 * areas.max())
    return int(near_largest[_nearest_centre(boxes[near_largest], frame_size)])


def centre(boxes: np.ndarray, frame_size: tuple[int, int]) -> int:
    """Index of the box whose centre is nearest the frame's centre."""
    return _nearest_centre(boxes, frame_size)


def in_region(boxes: np.ndarray, roi: tuple[float, float, float, float]) -> np.ndarray:
    """[N] share of each box's area inside ``roi``."""
    x0 = np.maximum(roi[0], boxes[:, 0])
    y0 = np.maximum(roi[1], boxes[:, 1])
    x1 = np.minimum(roi[2], boxes[:, 2])
    y1 = np.minimum(roi[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(areas, 1e-9)


def choose(boxes: np.ndarray, frame_size: tuple[int, int], state: ChoiceState) -> int:
    """Index into boxes [N >= 1, 4] of the face ``state`` asks for.

    "roi": the face with the largest share of its box inside the region (the largest overlap
    breaking ties); without a region, or when no face touches it, the largest face.
    """
    if state.mode == "centre":
        return centre(boxes, frame_size)
    if state.mode == "roi" and state.roi is not None:
        share = in_region(boxes, state.roi)
        if share.max() > 0:
            best = np.flatnonzero(share >= share.max() - 1e-6)
            areas = (boxes[best, 2] - boxes[best, 0]) * (boxes[best, 3] - boxes[best, 1])
            return int(best[np.argmax(share[best] * areas)])
    return largest(boxes, frame_size)


def _nearest_centre(boxes: np.ndarray, frame_size: tuple[int, int]) -> int:
    middle = np.array([frame_size[1] / 2, frame_size[0] / 2])
    distance = np.linalg.norm((boxes[:, :2] + boxes[:, 2:]) / 2 - middle, axis=1)
    return int(np.argmin(distance))
