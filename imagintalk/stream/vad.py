"""Visual voice-activity detection: when is the face in front of the camera speaking?

The measure is the *mouth activity*: the mouth opening (video.mouth.mouth_opening: inner-lip
gap over the eye-corner distance, so independent of face size) above its closed-mouth baseline
(the lowest opening of the last ``baseline_s`` seconds), averaged over the last ``smooth_s``
seconds; and 0 while the mouth holds still (its opening varied less than ``min_motion`` over the
last ``motion_s``), so a face at rest gives 0 whether its lips are closed or parted, and speech,
which opens and closes the mouth several times a second, gives a clear level.
All windows are in seconds, so the detector behaves the same at any frame rate.

States: "no_face" (no landmarks on this frame and no utterance open), "ready" (a face, not
speaking), "listening" (an utterance is open). An utterance starts when the activity reaches
``start_motion``, stays open while it is at least ``stop_motion`` (hysteresis) and ends
``hangover_s`` after it last was; a frame without a face counts as quiet.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ..errors import InputError

STATES = ("no_face", "ready", "listening")


@dataclass
class VadConfig:
    """Thresholds of the visual VAD (calibrated on SynthTalk: docs/streaming.md)."""

    start_motion: float = 0.05  # mouth activity (opening above baseline, eye-distance units) that starts
    stop_motion: float = 0.03  # activity below which the utterance may end (hysteresis)
    hangover_s: float = 0.5  # quiet this long ends the utterance
    min_utterance_s: float = 0.5  # shorter bursts (detected part, without pre-roll) are discarded
    max_utterance_s: float = 10.0  # longer ones are cut here (and continue as a new utterance)
    pre_roll_s: float = 0.2  # frames kept before the detected start
    post_roll_s: float = 0.1  # ... and after the detected end (at most hangover_s)
    smooth_s: float = 0.2  # activity = mean over this trailing window
    baseline_s: float = 3.0  # closed-mouth baseline = lowest opening over this trailing window
    motion_s: float = 0.4  # a mouth whose opening varied less than min_motion over this window ...
    min_motion: float = 0.02  # ... holds still: activity 0, however open (a resting, parted mouth)

    def check(self) -> None:
        """Raise InputError on values that cannot work."""
        if not 0.0 < self.stop_motion <= self.start_motion:
            raise InputError(
                f"need 0 < stop_motion <= start_motion, got {self.stop_motion} and {self.start_motion}"
            )
        for name in ("hangover_s", "min_utterance_s", "pre_roll_s", "post_roll_s"):
            if not getattr(self, name) >= 0.0:  # also rejects NaN
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not self.max_utterance_s >= max(1.0, self.min_utterance_s):
            raise InputError(
                f"max_utterance_s must be >= 1 s and >= min_utterance_s, got {self.max_utterance_s}"
            )
        if not 0.0 < self.smooth_s <= self.baseline_s or not 0.0 < self.motion_s <= self.baseline_s:
            raise InputError(
                f"need 0 < smooth_s, motion_s <= baseline_s, got {self.smooth_s}, {self.motion_s}, "
                f"{self.baseline_s}"
            )
        if not self.min_motion >= 0.0:
            raise InputError(f"min_motion must be >= 0, got {self.min_motion}")


class VisualVAD:
    """Online utterance detector: feed every frame's (time, mouth opening or None)."""

    def __init__(self, cfg: VadConfig | None = None) -> None:
        self.cfg = cfg or VadConfig()
        self.cfg.check()
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new stream)."""
        self._history: deque[tuple[float, float]] = deque()  # (time, opening) over baseline_s
        self._first_time: float | None = None  # first frame since reset: pre-roll cannot reach before it
        self._previous_time: float | None = None
        self._rise: float | None = None  # when the activity last rose to stop_motion (onset estimate)
        self._onset: float | None = None  # detected start of the open utterance (None: not listening)
        self._span_start = 0.0  # reported start (onset minus pre-roll, or the cut time)
        self._last_active = 0.0
        self.activity: float | None = None  # of the last frame (None without a face)
        self.last_reason = ""  # why the last finished utterance ended: "vad" | "max_length" | "end_of_stream"
        self.discarded_short = 0
        self.utterances = 0

    @property
    def listening(self) -> bool:
        return self._onset is not None

    @property
    def open_start(self) -> float | None:
        """Where the open utterance will be reported from (fixed while it is open); None if none is."""
        return self._span_start if self.listening else None

    def _activity(self, time_s: float, opening: float | None) -> float | None:
        cfg, history = self.cfg, self._history
        while history and history[0][0] <= time_s - cfg.baseline_s:
            history.popleft()
        if opening is None:
            return None
        history.append((time_s, opening))
        baseline = min(value for _, value in history)
        moving = [value for t, value in history if t > time_s - cfg.motion_s]
        if max(moving) - min(moving) < cfg.min_motion:
            return 0.0
        recent = [value for t, value in history if t > time_s - cfg.smooth_s]
        return sum(recent) / len(recent) - baseline

    def update(self, time_s: float, opening: float | None) -> tuple[str, tuple[float, float] | None]:
        """One frame -> (state, finished): finished = (start_s, end_s) of an utterance that just ended."""
        cfg = self.cfg
        if self._first_time is None:
            self._first_time = time_s
        step = 0.0 if self._previous_time is None else time_s - self._previous_time
        self._previous_time = time_s
        activity = self.activity = self._activity(time_s, opening)
        active = activity is not None and activity >= cfg.stop_motion
        finished = None
        if not self.listening:
            self._rise = (self._rise if self._rise is not None else time_s) if active else None
            if activity is not None and activity >= cfg.start_motion:
                self._onset, self._last_active = self._rise, time_s
                self._span_start = max(self._first_time, self._rise - cfg.pre_roll_s)
        else:
            if active:
                self._last_active = time_s
            if time_s - self._last_active > cfg.hangover_s:
                finished = self._close(
                    self._last_active, "vad", min(time_s, self._last_active + cfg.post_roll_s)
                )
            elif time_s - self._span_start + step >= cfg.max_utterance_s - 1e-9:
                # the next frame would make the clip longer than max_utterance_s: cut here, go on
                finished = self._close(time_s, "max_length")
                self._onset = self._span_start = self._last_active = time_s + 1e-6
        return self.state(opening is not None), finished

    def state(self, face: bool = True) -> str:
        if self.listening:
            return "listening"
        return "ready" if face else "no_face"

    def close(self, end_s: float, reason: str = "end_of_stream") -> tuple[float, float] | None:
        """End an open utterance at ``end_s`` (end of stream); None if none is open or it is too short."""
        if not self.listening:
            return None
        return self._close(end_s, reason)

    def _close(self, end_s: float, reason: str, span_end: float | None = None) -> tuple[float, float] | None:
        """Close the open utterance detected until ``end_s``; report it until ``span_end`` (post-roll)."""
        onset, self._onset, self._rise = self._onset, None, None
        if end_s - onset < self.cfg.min_utterance_s:
            self.discarded_short += 1
            return None
        self.utterances += 1
        self.last_reason = reason
        return (self._span_start, end_s if span_end is None else span_end)
