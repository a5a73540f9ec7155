"""Reading audio files into mono float arrays at a requested sample rate."""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

from ..errors import InputError


def resample(wav: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """wav [..., N] at src_rate -> [..., N * dst / src] at dst_rate (polyphase, anti-aliased)."""
    if src_rate == dst_rate:
        return wav
    from scipy.signal import resample_poly

    g = gcd(int(src_rate), int(dst_rate))
    return resample_poly(wav, dst_rate // g, src_rate // g, axis=-1).astype(np.float32)


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Any soundfile-readable file -> wav [N] float32 mono (channels averaged) at ``sample_rate``."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise InputError(f"audio file not found: {path}")
    try:
        wav, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise InputError(f"cannot read audio file {path}: {exc}") from None
    if wav.size == 0:
        raise InputError(f"audio file {path} is empty")
    return resample(wav.mean(1), rate, sample_rate).astype(np.float32)
