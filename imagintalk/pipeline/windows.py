"""Utterance windows: where a long input is cut, and how the windows' speech is put back together.

A long video is spoken window by window (at most ``max_window_s`` each), so memory and the
attention length stay bounded. :class:`WindowCutter` decides online, frame by frame, with no
look-ahead (a camera stream has none): once a window is ``min_window_s`` long it ends at the
first run of ``QUIET_FRAMES`` quiet frames (mouth nearly closed and still: silence-like), and at
``max_window_s`` it ends regardless. Both the in-memory path (a FaceTrackResult at 25 fps) and
the streaming path (source frames) use the same rule.

:func:`assemble` places each window's waveform at the output position of its first frame,
so the speech stays in sync with the video and the total length is exact; a 10 ms cross-fade
at each internal boundary (each piece continued across it by its own samples mirrored) hides the
cut without a gap or a click (``python -m imagintalk.eval.seams`` measures the joins).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..video.mouth import mouth_opening  # noqa: F401  (re-exported: the cutter's measure)

QUIET_LEVEL = 0.15  # quiet: opening within this fraction of the window's range above its minimum
QUIET_MOTION = 0.10  # ... and moving less than this fraction of the range since the last frame
# a run this long (0.2 s at 25 fps) is a pause between phrases; the 2 frames used before were also
# met inside words (a /b p m/ closure, a final nasal), and windows cut there jumped in level and
# spectrum at the join (docs/speaking.md, "Seams between windows")
QUIET_FRAMES = 5
FADE_S = 0.005  # half the cross-fade at each internal window boundary


@dataclass
class WindowCutter:
    """Online window boundaries: feed every frame's (time, opening); True = the window ends here."""

    max_window_s: float = 10.0
    min_window_s: float = 6.0
    frame_step_s: float = 0.04  # expected frame interval, so that a window's length counts its last frame
    _start: float | None = field(default=None, init=False)
    _openings: list[float] = field(default_factory=list, init=False)
    _previous: float | None = field(default=None, init=False)
    quiet_frames: int = QUIET_FRAMES  # quiet frames in a row that end a window past min_window_s
    _quiet_run: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.max_window_s <= 0:
            raise ValueError(f"max_window_s must be positive, got {self.max_window_s}")
        self.min_window_s = min(self.min_window_s, self.max_window_s)

    def reset(self) -> None:
        self._start, self._openings, self._previous, self._quiet_run = None, [], None, 0

    def _quiet(self, opening: float | None) -> bool:
        if opening is None or self._previous is None or len(self._openings) < 2:
            return False
        low, high = min(self._openings), max(self._openings)
        spread = max(high - low, 1e-6)
        still = abs(opening - self._previous) <= QUIET_MOTION * spread
        return opening <= low + QUIET_LEVEL * spread and still

    def update(self, time_s: float, opening: float | None) -> bool:
        """Add one frame; True when the current window should end after this frame."""
        if self._start is None:
            self._start = time_s
        elapsed = time_s - self._start + self.frame_step_s  # length if the window ended after this frame
        quiet = self._quiet(opening)
        if opening is not None:
            self._openings.append(opening)
        self._previous = opening
        self._quiet_run = self._quiet_run + 1 if quiet else 0
        # the next frame would push the window past max_window_s: end it now
        forced = elapsed + self.frame_step_s > self.max_window_s + 1e-9
        if forced or (elapsed >= self.min_window_s and self._quiet_run >= self.quiet_frames):
            self.reset()
            return True
        return False


def split_indices(
    times: np.ndarray, openings: list[float | None], cutter: WindowCutter
) -> list[tuple[int, int]]:
    """[start, end) frame ranges of the windows of a whole clip (times [T] s, one opening per frame)."""
    cutter.reset()
    ranges, start = [], 0
    for i, (t, opening) in enumerate(zip(times, openings)):
        if cutter.update(float(t), opening):
            ranges.append((start, i + 1))
            start = i + 1
    if start < len(times):
        ranges.append((start, len(times)))
    cutter.reset()
    return ranges


def fit_length(wav: np.ndarray, length: int) -> np.ndarray:
    """wav [N] cut or zero-padded to exactly ``length`` samples."""
    out = np.zeros(length, np.float32)
    n = min(length, len(wav))
    out[:n] = wav[:n]
    return out


def assemble(pieces: list[tuple[int, np.ndarray]], total: int, sample_rate: int) -> np.ndarray:
    """Window waveforms placed at their start sample -> one wav [total] float32.

    ``pieces``: (start sample, wav [N]) in order; each piece is fitted to the span up to the next
    start (or ``total``). At each internal boundary the two pieces cross-fade over 2 x FADE_S
    centred on it (raised cosine): the earlier piece is continued past its end by its own next
    samples where it has them, else by its last FADE_S mirrored in time, and the later one is led
    in by its first FADE_S mirrored. The level stays (no fade to silence, no dip) and the waveform
    has no step (no click); every sample outside the 2 x FADE_S is the piece's own. Next to an empty
    piece (a silent window) the other piece fades out / in over FADE_S inside its own span instead.
    """
    out = np.zeros(total, np.float32)
    spans = []  # (start, end, wav) of the pieces that span at least one sample
    for k, (start, wav) in enumerate(pieces):
        end = pieces[k + 1][0] if k + 1 < len(pieces) else total
        if end > start:
            out[start:end] = fit_length(wav, end - start)
            spans.append((start, end, wav))
    fade = max(1, int(round(FADE_S * sample_rate)))
    for (a_start, a_end, a_wav), (b_start, b_end, b_wav) in zip(spans, spans[1:]):
        join = b_start  # == a_end
        h = min(fade, (a_end - a_start) // 2, (b_end - b_start) // 2)
        if h < 1:
            continue
        if len(a_wav) == 0 or len(b_wav) == 0:  # a silent window stays silent: the other fades at its edge
            ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(h) + 0.5) / h)).astype(np.float32)
            out[join - h : join] *= ramp[::-1]
            out[join : join + h] *= ramp
            continue
        a_own, b_own = out[join - h : join].copy(), out[join : join + h].copy()
        a_next = np.asarray(a_wav[a_end - a_start : a_end - a_start + h], np.float32)
        a_after = a_next if len(a_next) == h else a_own[::-1]  # the piece's own samples, else mirrored
        a = np.concatenate([a_own, a_after])  # [2h]
        b = np.concatenate([b_own[::-1], b_own])  # [2h]
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(2 * h) + 0.5) / (2 * h))).astype(np.float32)
        out[join - h : join + h] = a * (1 - ramp) + b * ramp
    return out
