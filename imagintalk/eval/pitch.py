"""F0 RMSE (cents) and voicing error, from WORLD harvest F0 at 10 ms on both signals.

Both signals have the reference's length (the harness trims / pads the output), so
their F0 frames line up one to one.
"""

from __future__ import annotations

import numpy as np

from .judge import ClipPair, Score


def _aligned_f0(pair: ClipPair) -> tuple[np.ndarray, np.ndarray]:
    ref, gen = pair.reference.f0, pair.generated.f0
    n = min(len(ref), len(gen))  # equal-length audio gives equal frame counts; guard anyway
    return ref[:n], gen[:n]


def f0_rmse_cents(pair: ClipPair, judges: object = None) -> Score:
    """RMS of 1200 * log2(F0_gen / F0_ref) over frames voiced in both (cents; 100 = a semitone)."""
    ref, gen = _aligned_f0(pair)
    both = (ref > 0) & (gen > 0)
    if not both.any():
        return Score.undefined("no frame voiced in both")
    cents = 1200.0 * np.log2(gen[both] / ref[both])
    return Score(float(np.sqrt(np.mean(cents**2))))


def vuv_error(pair: ClipPair, judges: object = None) -> Score:
    """Fraction of frames whose voiced / unvoiced decision differs (0 = identical)."""
    ref, gen = _aligned_f0(pair)
    if len(ref) == 0:
        return Score.undefined("empty audio")
    return Score(float(np.mean((ref > 0) != (gen > 0))))
