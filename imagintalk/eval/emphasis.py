"""Emphasis judge: is the manifest's emphasised word the most prominent one of the speech?

A word's prominence is the sum of three cues, each z-scored over the utterance's words:

* F0 peak: the highest voiced F0 inside the word (semitones, after removing the utterance's
  linear F0 trend, so declination does not favour the first words);
* energy peak: the loudest 10 ms frame inside the word (dBFS);
* duration: the word's active frames (within ``ACTIVE_DB_BELOW_PEAK`` of the clip's loudest) per
  phoneme of the word, read from the audio (the manifest's timing only says where a word is, and
  how many phonemes it has, the same for every system).

Word spans come from the manifest (``words``: ``{word, start, end}``); generated speech has the
video's duration, so the ground truth's spans hold for it. ``emphasis``: the 0-based index of the
emphasised word, or null.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .judge import ClipPair, Score
from .signal import FRAME_PERIOD_MS, Signal

ACTIVE_DB_BELOW_PEAK = 30.0


def _zscore(values: np.ndarray) -> np.ndarray:
    """z-scores over the finite values; a word without the cue gets the lowest z of the others."""
    finite = np.isfinite(values)
    out = np.zeros(len(values))
    if finite.sum() >= 2 and np.std(values[finite]) > 1e-9:
        out[finite] = (values[finite] - values[finite].mean()) / values[finite].std()
    if (~finite).any():
        out[~finite] = out[finite].min() if finite.any() else 0.0
    return out


def _phoneme_counts(row: dict[str, Any], spans: list[tuple[float, float]]) -> np.ndarray:
    """Phonemes whose centre lies in each word span (1 when the manifest has no phonemes)."""
    centres = [(p["start"] + p["end"]) / 2 for p in row.get("phonemes") or [] if p.get("phoneme") != "_"]
    counts = [sum(1 for c in centres if s <= c < e) for s, e in spans]
    return np.maximum(np.array(counts, dtype=np.float64), 1.0)


def word_prominence(signal: Signal, row: dict[str, Any]) -> np.ndarray | None:
    """float [W]: each manifest word's prominence (sum of three z-scores), None without word timing."""
    words = row.get("words") or []
    if len(words) < 2:
        return None
    hop = FRAME_PERIOD_MS / 1000
    f0, energy = signal.f0, signal.energy_db
    n = min(len(f0), len(energy))
    f0, energy = f0[:n], energy[:n]
    voiced = np.flatnonzero(f0 > 0)
    st = np.full(n, np.nan)
    if len(voiced):
        st[voiced] = 12.0 * np.log2(f0[voiced] / 55.0)
        if len(voiced) >= 3 and np.ptp(voiced) > 0:
            st[voiced] -= np.polyval(np.polyfit(voiced * hop, st[voiced], 1), voiced * hop)
    active = energy > energy.max() - ACTIVE_DB_BELOW_PEAK
    spans = [(float(w["start"]), float(w["end"])) for w in words]
    pitch, loud, length = (np.full(len(spans), np.nan) for _ in range(3))
    for k, (start, end) in enumerate(spans):
        frames = np.arange(int(round(start / hop)), min(int(round(end / hop)), n))
        if len(frames) == 0:
            continue
        if np.isfinite(st[frames]).any():
            pitch[k] = np.nanmax(st[frames])
        loud[k] = energy[frames].max()
        length[k] = np.count_nonzero(active[frames])
    length = length / _phoneme_counts(row, spans)
    return _zscore(pitch) + _zscore(loud) + _zscore(length)


def most_prominent_word(signal: Signal, row: dict[str, Any]) -> int | None:
    prominence = word_prominence(signal, row)
    return None if prominence is None else int(np.argmax(prominence))


def emphasis_signal(signal: Signal, row: dict[str, Any]) -> Score:
    target = row.get("emphasis")
    if target is None:
        return Score.undefined("no emphasised word (manifest emphasis)")
    if signal.silent:
        return Score.undefined("silent audio")
    found = most_prominent_word(signal, row)
    if found is None:
        return Score.undefined("no word timing in the manifest")
    return Score(float(found == int(target)))


def emphasis_accuracy(wav: np.ndarray, sample_rate: int, row: dict[str, Any]) -> Score:
    """1 when the most prominent word is the manifest's ``emphasis`` (0-based), 0 when another
    word is; undefined when the clip has no emphasised word or no word timing."""
    return emphasis_signal(Signal(wav, sample_rate), row)


def emphasis_metric(pair: ClipPair, judges: object = None) -> Score:
    return emphasis_signal(pair.generated, pair.entry)
