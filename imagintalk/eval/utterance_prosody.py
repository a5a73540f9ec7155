"""Utterance-level prosodic features of one clip, from its audio alone (the emotion judge's input).

Everything is computed within the clip (no speaker statistics, no ground-truth timing), so the
same function describes a ground-truth recording and a generated one: F0 level, spread and
movement (WORLD harvest, semitones re 55 Hz), loudness level and dynamics (10 ms frame RMS,
dBFS), tempo (the active span per word of the transcript, voiced-segment rate) and a coarse
spectral balance. 10 ms frames; "active" = within ``ACTIVE_DB_BELOW_PEAK`` of the loudest frame.
"""

from __future__ import annotations

import numpy as np

from .signal import FRAME_PERIOD_MS, Signal

ACTIVE_DB_BELOW_PEAK = 35.0
FEATURES = (
    "f0_median_st",  # F0 level
    "f0_p10_st",  # F0 floor (10th percentile)
    "f0_p90_st",  # F0 top (90th percentile)
    "f0_range_st",  # p90 - p10
    "f0_std_st",
    "f0_delta_st",  # mean |change| between consecutive voiced frames (movement), st / frame
    "f0_slope_st_s",  # linear trend over voiced frames, st / s
    "level_mean_db",  # mean level of active frames
    "level_p95_db",  # loud peaks
    "level_std_db",  # loudness dynamics
    "voiced_level_db",  # mean level of voiced frames
    "seconds_per_word",  # active span / words of the transcript (tempo)
    "voiced_ratio",  # voiced / active frames
    "onset_rate",  # voiced-segment onsets per second of the active span
    "high_band_db",  # energy above 1 kHz minus below, active frames (spectral balance)
)


def _band_balance(wav: np.ndarray, sample_rate: int, frames: np.ndarray) -> float:
    """dB of the power above 1 kHz minus below, over the 25 ms windows of ``frames`` (indices)."""
    hop, win = int(sample_rate * FRAME_PERIOD_MS / 1000), int(sample_rate * 0.025)
    x = np.pad(wav.astype(np.float64), (win // 2, win // 2))
    frames = frames[(frames * hop + win) <= len(x)]
    if len(frames) == 0:
        return 0.0
    segs = np.stack([x[f * hop : f * hop + win] for f in frames]) * np.hanning(win)
    power = (np.abs(np.fft.rfft(segs, axis=1)) ** 2).sum(axis=0)
    cut = int(1000 * win / sample_rate)
    return float(10 * np.log10((power[cut:].sum() + 1e-12) / (power[:cut].sum() + 1e-12)))


def utterance_features(signal: Signal, num_words: int) -> np.ndarray | None:
    """float64 [len(FEATURES)], or None when the signal is silent or has fewer than 5 voiced frames.

    ``num_words``: words in the transcript (the tempo feature divides the active span by it).
    """
    key = ("utterance_features", num_words)
    if key in signal.cache:
        return signal.cache[key]
    out = None
    f0 = signal.f0
    if not signal.silent and np.count_nonzero(f0) >= 5:
        energy = signal.energy_db
        n = min(len(f0), len(energy))
        f0, energy = f0[:n], energy[:n]
        active = energy > energy.max() - ACTIVE_DB_BELOW_PEAK
        voiced = f0 > 0
        st = 12.0 * np.log2(f0[voiced] / 55.0)
        idx = np.flatnonzero(voiced)
        t = idx * FRAME_PERIOD_MS / 1000
        slope = float(np.polyfit(t, st, 1)[0]) if np.ptp(t) > 0 else 0.0
        steps = np.diff(st)[np.diff(idx) == 1]  # consecutive voiced frames only
        span_frames = np.flatnonzero(active)
        span_s = (span_frames[-1] - span_frames[0] + 1) * FRAME_PERIOD_MS / 1000
        onsets = np.count_nonzero(np.diff(voiced.astype(np.int8)) == 1) + int(voiced[0])
        p10, p90 = np.percentile(st, [10, 90])
        out = np.array(
            [
                np.median(st),
                p10,
                p90,
                p90 - p10,
                np.std(st),
                float(np.mean(np.abs(steps))) if len(steps) else 0.0,
                slope,
                energy[active].mean(),
                np.percentile(energy[active], 95),
                energy[active].std(),
                energy[voiced].mean(),
                span_s / max(num_words, 1),
                np.count_nonzero(voiced & active) / max(np.count_nonzero(active), 1),
                onsets / max(span_s, 0.01),
                _band_balance(signal.wav, signal.sample_rate, np.flatnonzero(active)),
            ]
        )
    signal.cache[key] = out
    return out
