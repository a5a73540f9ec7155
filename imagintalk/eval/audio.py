"""Loading and length-matching audio for scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..codec.audio import read_audio
from ..errors import InputError

SILENCE_RMS = 1e-4  # below this (about -80 dBFS) a signal counts as silent


def resample(wav: np.ndarray, sr: int, target_sr: int) -> np.ndarray:
    """Polyphase resampling: float [N] at ``sr`` -> float32 [N * target_sr / sr]."""
    if sr == target_sr:
        return np.asarray(wav, dtype=np.float32)
    from scipy.signal import resample_poly

    g = np.gcd(int(sr), int(target_sr))
    return resample_poly(np.asarray(wav, dtype=np.float64), target_sr // g, sr // g).astype(np.float32)


SOUNDFILE_SUFFIXES = (".wav", ".flac", ".ogg")


def load_wav(path: Path, sample_rate: int = 16000) -> np.ndarray:
    """An audio file as mono float32 [N] at ``sample_rate`` (channels averaged).

    wav / flac / ogg are read with soundfile; anything else (the audio track of an LRS3 mp4, a
    MEAD m4a) with PyAV, as ``imagintalk prepare`` reads it.
    """
    import soundfile as sf

    if Path(path).suffix.lower() not in SOUNDFILE_SUFFIXES:
        return read_audio(path, sample_rate)
    try:
        wav, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, sf.LibsndfileError) as exc:
        raise InputError(f"cannot read audio {path}: {exc}") from None
    if wav.shape[0] == 0:
        raise InputError(f"audio file {path} is empty")
    return resample(wav.mean(axis=1), sr, sample_rate)


def match_length(wav: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad ``wav [N]`` at its end to ``length`` samples (the reference's)."""
    if wav.shape[0] >= length:
        return wav[:length]
    return np.pad(wav, (0, length - wav.shape[0]))


def is_silent(wav: np.ndarray) -> bool:
    return wav.size == 0 or float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) < SILENCE_RMS
