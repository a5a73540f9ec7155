"""Stage 4: follow one face when several are visible.

At the start (and after the face has been lost for a long while, or when the selection policy
changed) a face is chosen by the policy (selection.FaceChoice: by default the largest face, the
most central one breaking near-ties); afterwards, the box that overlaps the previous one best
(IoU), so the choice stays with the same person while they move.
"""

from __future__ import annotations

import numpy as np

from .selection import FaceChoice, choose, largest


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one box [4] with boxes [N, 4] (x0, y0, x1, y1) -> [N]."""
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def pick_initial(boxes: np.ndarray, frame_size: tuple[int, int]) -> int:
    """Index of the largest box; among boxes within 10 % of the largest area, the most central.

    frame_size: (height, width).
    """
    return largest(boxes, frame_size)


class FaceSelector:
    """Chooses the tracked face among each frame's detections (stateful, one per video)."""

    def __init__(
        self, min_iou: float = 0.2, reacquire_after_s: float = 1.0, choice: FaceChoice | None = None
    ) -> None:
        self.min_iou = min_iou
        self.reacquire_after_s = reacquire_after_s
        self.choice = choice  # None: the largest face
        self._version = choice.state.version if choice is not None else 0
        self.last_box: np.ndarray | None = None
        self.last_time: float | None = None

    def select(self, boxes: np.ndarray, time_s: float, frame_size: tuple[int, int]) -> int | None:
        """Index into boxes [N, 4] of the tracked face, or None when it is not among them."""
        if len(boxes) == 0:
            return None
        state = self.choice.state if self.choice is not None else None
        lost = self.last_box is None or (time_s - (self.last_time or 0.0)) > self.reacquire_after_s
        if state is not None and state.version != self._version:  # policy or region changed: choose again
            self._version, lost = state.version, True
        if lost:
            index = choose(boxes, frame_size, state) if state is not None else pick_initial(boxes, frame_size)
        else:
            overlap = box_iou(self.last_box, boxes)
            index = int(np.argmax(overlap))
            if overlap[index] < self.min_iou:
                return None  # only other people are visible: do not jump to them
        self.update(boxes[index], time_s)
        return index

    def update(self, box: np.ndarray, time_s: float) -> None:
        self.last_box, self.last_time = np.asarray(box, np.float32), time_s
