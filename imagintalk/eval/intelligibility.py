"""STOI and extended STOI (pystoi) of the generated speech against the ground truth."""

from __future__ import annotations

import warnings

import numpy as np

from .judge import ClipPair, Score

MIN_SECONDS = 0.4  # STOI needs 30 frames of 384 ms after its silent-frame removal


def _stoi(pair: ClipPair, extended: bool) -> Score:
    from pystoi import stoi

    ref = pair.reference
    if ref.silent:
        return Score.undefined("silent reference")
    if ref.duration < MIN_SECONDS:
        return Score.undefined("reference shorter than 0.4 s")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(stoi(ref.wav, pair.generated_wav(), ref.sample_rate, extended=extended))
    if any("Not enough STFT frames" in str(w.message) for w in caught) or not np.isfinite(value):
        return Score.undefined("too little speech in the reference")
    return Score(value)


def stoi_score(pair: ClipPair, judges: object = None) -> Score:
    return _stoi(pair, extended=False)


def estoi_score(pair: ClipPair, judges: object = None) -> Score:
    return _stoi(pair, extended=True)
