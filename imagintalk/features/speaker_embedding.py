"""Speaker embedding of the target voice (the stage-2 identity target): resemblyzer's VoiceEncoder, 256-D.

The weights (``resemblyzer/pretrained.pt``, 17 MB) ship inside the resemblyzer wheel; the
encoder is loaded once per process on the CPU. Audio is volume-normalised and
silence-trimmed by resemblyzer's own ``preprocess_wav`` (webrtcvad) before embedding;
when the trimmed speech is shorter than MIN_SPEECH_S the untrimmed audio is embedded instead.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import CheckpointError, DependencyError, InputError

SPEAKER_DIM = 256
SAMPLE_RATE = 16000  # resemblyzer's rate
MIN_SPEECH_S = 0.3


@lru_cache(maxsize=1)
def _encoder() -> Any:
    """resemblyzer.VoiceEncoder on the CPU, loaded once."""
    try:
        with warnings.catch_warnings():  # webrtcvad imports the deprecated pkg_resources
            warnings.simplefilter("ignore")
            from resemblyzer import VoiceEncoder
    except ImportError as exc:
        raise DependencyError(
            f"speaker embeddings need resemblyzer ({exc.name or exc}): pip install resemblyzer"
        ) from None
    try:
        return VoiceEncoder("cpu", verbose=False)
    except Exception as exc:  # resemblyzer raises a bare Exception for a missing weights file
        raise CheckpointError(f"cannot load resemblyzer's voice encoder: {exc}") from None


def _prepare(wav: np.ndarray, sr: int) -> np.ndarray:
    """float waveform [N] at ``sr`` -> 16 kHz, volume-normalised, silence-trimmed float32 [M]."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from resemblyzer import preprocess_wav
        from resemblyzer.audio import normalize_volume

    audio = np.asarray(wav, np.float64)
    if audio.ndim != 1 or len(audio) == 0 or not np.isfinite(audio).all():
        raise InputError(f"speech must be a finite mono waveform [N] with N >= 1, got shape {audio.shape}")
    if sr <= 0:
        raise InputError(f"sample rate must be positive, got {sr}")
    trimmed = preprocess_wav(audio, source_sr=sr)  # resampled to 16 kHz, normalised, VAD-trimmed
    if len(trimmed) >= MIN_SPEECH_S * SAMPLE_RATE:
        return trimmed.astype(np.float32)
    if sr != SAMPLE_RATE:  # too little detected speech: embed everything (resampled, normalised)
        import librosa

        audio = librosa.resample(audio, orig_sr=sr, target_sr=SAMPLE_RATE)
    return normalize_volume(audio, -30, increase_only=True).astype(np.float32)


def speaker_embedding(wav: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Mono speech float [N] at ``sr`` Hz -> L2-normalised speaker embedding float32 [256]."""
    audio = _prepare(wav, sr)
    if len(audio) < SAMPLE_RATE // 10:
        raise InputError(f"speech too short for a speaker embedding ({len(audio) / SAMPLE_RATE:.2f} s)")
    embedding = np.asarray(_encoder().embed_utterance(audio), np.float32)  # [256]
    return embedding / max(float(np.linalg.norm(embedding)), 1e-8)
