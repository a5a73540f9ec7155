"""Frames lost before the node saw them, estimated from the camera's header stamps.

DDS drops frames silently before the subscription callback (best-effort transport, a full
keep-last history while the executor is busy), so the node cannot count them directly. Every
camera driver stamps its frames, though: a gap between consecutive stamps much longer than the
camera's frame interval means frames in between were sent and never arrived.

The frame interval is estimated from the stamps themselves: the median of the recent intervals
that are single frame steps (within 1.5x their 10th percentile). A lost frame makes an interval
longer, never shorter, so the estimate stays right when most frames are lost, as long as some
arrive back to back; the median keeps stamp jitter from biasing it low. Intervals under
``min_interval_s`` (1/120 s: faster than the cameras this node is for) are bursts of a driver
that stamps on delivery rather than on capture, and are left out of the estimate. The estimate
needs capture stamps: a driver that stamps late and then catches up looks like lost frames.
"""

from __future__ import annotations

from collections import deque

import numpy as np


class UpstreamLossEstimator:
    """Feed every received frame's stamp in arrival order; ``lost`` counts frames that never came.

    A gap ``dt`` counts ``round(dt / interval) - 1`` lost frames when ``dt > gap_factor * interval``
    and ``dt <= max_gap_s`` (a longer silence is a camera that stopped, not lost frames).
    Repeated or backward stamps are ignored here (the node rejects and counts them).
    """

    def __init__(
        self,
        gap_factor: float = 1.5,
        max_gap_s: float = 1.0,
        window: int = 64,
        min_intervals: int = 8,
        min_interval_s: float = 1 / 120,
    ) -> None:
        self.gap_factor, self.max_gap_s, self.min_interval_s = gap_factor, max_gap_s, min_interval_s
        self.min_intervals = min_intervals
        self._intervals: deque[float] = deque(maxlen=window)
        self._last: float | None = None
        self.lost = 0

    @property
    def interval_s(self) -> float | None:
        """The camera's frame interval as seen so far (None until ``min_intervals`` were seen)."""
        if len(self._intervals) < self.min_intervals:
            return None
        intervals = np.asarray(self._intervals)
        single_steps = intervals[intervals <= 1.5 * np.percentile(intervals, 10)]
        return float(np.median(single_steps))

    def observe(self, stamp_s: float) -> int:
        """One received frame's stamp (seconds); the frames newly estimated lost before it."""
        last = self._last
        if last is not None and stamp_s <= last:
            return 0
        self._last = stamp_s
        if last is None:
            return 0
        gap = stamp_s - last
        interval = self.interval_s
        if gap >= self.min_interval_s:
            self._intervals.append(gap)
        if interval is None or gap <= self.gap_factor * interval or gap > self.max_gap_s:
            return 0
        missing = max(int(round(gap / interval)) - 1, 0)
        self.lost += missing
        return missing

    def restart(self) -> None:
        """A new stream (the camera came back, maybe at another rate): the silence before it is no loss."""
        self._last = None
        self._intervals.clear()
