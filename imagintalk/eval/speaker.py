"""Speaker similarity: cosine of resemblyzer utterance embeddings (256-D, L2-normalised)."""

from __future__ import annotations

import numpy as np

from .judge import ClipPair, Score
from .judges import Judges
from .signal import Signal

MIN_VOICED_SECONDS = 0.3  # resemblyzer's VAD-trimmed audio shorter than this is unreliable


def speaker_embedding(signal: Signal, judges: Judges) -> np.ndarray | None:
    """The utterance embedding float32 [256], or None for silence / too little speech."""
    if "speaker" not in signal.cache:
        emb = None
        if not signal.silent:
            from resemblyzer import preprocess_wav

            wav = preprocess_wav(signal.wav.astype(np.float64), source_sr=signal.sample_rate)
            if len(wav) >= MIN_VOICED_SECONDS * 16000:  # preprocess_wav returns 16 kHz
                emb = judges.voice_encoder.embed_utterance(wav)
        signal.cache["speaker"] = emb
    return signal.cache["speaker"]


def speaker_similarity(pair: ClipPair, judges: Judges) -> Score:
    ref = speaker_embedding(pair.reference, judges)
    if ref is None:
        return Score.undefined("no speech in the reference")
    gen = speaker_embedding(pair.generated, judges)
    if gen is None:
        return Score.undefined("no speech in the output")
    return Score(float(np.dot(ref, gen) / (np.linalg.norm(ref) * np.linalg.norm(gen))))
