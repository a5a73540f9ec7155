"""F0 contour judges: correlation with the ground truth's contour, and the question's final rise.

Both read WORLD harvest F0 at 10 ms (``Signal.f0``) in semitones. Generated speech has the video's
duration (the harness trims / pads it to the reference), so its frames line up with the ground
truth's and the manifest's word timings hold for it too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .judge import ClipPair, Score
from .signal import FRAME_PERIOD_MS, Signal

MIN_FRAMES = 5  # voiced frames needed for a correlation or a slope
RISE_SEMITONES = 1.0  # a final rise: the fitted F0 change over the last word's voiced part, semitones


def _semitones(f0: np.ndarray) -> np.ndarray:
    out = np.full(len(f0), np.nan)
    voiced = f0 > 0
    out[voiced] = 12.0 * np.log2(f0[voiced] / 55.0)
    return out


def contour_correlation(generated: Signal, reference: Signal) -> Score:
    """Pearson correlation of log-F0 (semitones) over the 10 ms frames voiced in both."""
    ref, gen = reference.f0, generated.f0
    n = min(len(ref), len(gen))
    ref, gen = ref[:n], gen[:n]
    both = (ref > 0) & (gen > 0)
    if np.count_nonzero(both) < MIN_FRAMES:
        return Score.undefined(f"fewer than {MIN_FRAMES} frames voiced in both")
    a, b = np.log2(ref[both]), np.log2(gen[both])
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt(np.sum(a**2) * np.sum(b**2))
    if denominator < 1e-12:
        return Score.undefined("a flat F0 contour")
    return Score(float(np.sum(a * b) / denominator))


def f0_contour_correlation(
    wav: np.ndarray, sample_rate: int, row: dict[str, Any], reference_wav: np.ndarray
) -> Score:
    """``contour_correlation`` on raw audio (``row`` unused: the frames align by time)."""
    return contour_correlation(Signal(wav, sample_rate), Signal(reference_wav, sample_rate))


def final_rise_semitones(signal: Signal, row: dict[str, Any]) -> float | None:
    """The fitted F0 change, in semitones, over the voiced frames of the last word (manifest
    ``words`` timing; without timing: the last 400 ms of voiced speech). None: too few voiced frames."""
    st = _semitones(signal.f0)
    hop = FRAME_PERIOD_MS / 1000
    words = row.get("words") or []
    if words:
        start, end = float(words[-1]["start"]), float(words[-1]["end"])
        frames = np.arange(int(start / hop), min(int(np.ceil(end / hop)) + 1, len(st)))
    else:
        voiced = np.flatnonzero(~np.isnan(st))
        if len(voiced) == 0:
            return None
        frames = np.arange(max(voiced[-1] - int(0.4 / hop), 0), voiced[-1] + 1)
    frames = frames[~np.isnan(st[frames])] if len(frames) else frames
    if len(frames) < MIN_FRAMES:
        return None
    t = frames * hop
    slope = np.polyfit(t, st[frames], 1)[0]
    return float(slope * (t[-1] - t[0]))


def question_rise(wav: np.ndarray, sample_rate: int, row: dict[str, Any]) -> Score:
    """1 when a ``contour == "question"`` clip ends on an F0 rise of at least ``RISE_SEMITONES``, else
    0; undefined for other clips."""
    return question_rise_signal(Signal(wav, sample_rate), row)


def question_rise_signal(signal: Signal, row: dict[str, Any]) -> Score:
    if row.get("contour") != "question":
        return Score.undefined("not a question (manifest contour)")
    rise = final_rise_semitones(signal, row)
    if rise is None:
        return Score.undefined(f"fewer than {MIN_FRAMES} voiced frames in the last word")
    return Score(float(rise >= RISE_SEMITONES))


def f0_correlation_metric(pair: ClipPair, judges: object = None) -> Score:
    return contour_correlation(pair.generated, pair.reference)


def question_rise_metric(pair: ClipPair, judges: object = None) -> Score:
    return question_rise_signal(pair.generated, pair.entry)
