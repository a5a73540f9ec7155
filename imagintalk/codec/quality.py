"""Codec quality figures: STOI / ESTOI, speaker similarity, open-vocabulary ASR WER.

The held-out reference is real recorded speech shipped inside the pysptk wheel:
``arctic_a0007.wav`` (CMU ARCTIC speaker awb, 16 kHz) - never used in codec training.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import DependencyError

# the brief quoted another ARCTIC prompt; the clip says this (pocketsphinx transcribes it exactly)
ARCTIC_A0007_TEXT = "and you always want to see it in the superlative degree"


def arctic_a0007_path() -> Path:
    """The held-out real speech clip (16 kHz, 4 s)."""
    try:
        import pysptk
    except ImportError:
        raise DependencyError("pysptk is not installed (pip install pysptk)") from None
    path = Path(pysptk.__file__).parent / "example_audio_data" / "arctic_a0007.wav"
    if not path.is_file():
        raise DependencyError(f"the pysptk wheel lacks {path.name}")
    return path


def stoi_scores(ref: np.ndarray, deg: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """(STOI, ESTOI) of deg [N] against ref [N] (trimmed to the shorter)."""
    from pystoi import stoi

    n = min(len(ref), len(deg))
    return (
        float(stoi(ref[:n], deg[:n], sample_rate)),
        float(stoi(ref[:n], deg[:n], sample_rate, extended=True)),
    )


@lru_cache(maxsize=1)
def _voice_encoder():
    from resemblyzer import VoiceEncoder

    return VoiceEncoder(device="cpu", verbose=False)


def speaker_embedding(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """wav [N] -> unit-norm 256-D resemblyzer speaker embedding."""
    from resemblyzer import preprocess_wav

    return _voice_encoder().embed_utterance(preprocess_wav(wav.astype(np.float32), source_sr=sample_rate))


def speaker_similarity(ref: np.ndarray, deg: np.ndarray, sample_rate: int) -> float:
    """Cosine of the resemblyzer embeddings of ref [N] and deg [N]."""
    a, b = speaker_embedding(ref, sample_rate), speaker_embedding(deg, sample_rate)
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def transcribe(wav: np.ndarray, sample_rate: int) -> str:
    """Open-vocabulary pocketsphinx (default en-US model) transcript of wav [N] at 16 kHz."""
    from pocketsphinx import Decoder

    if sample_rate != 16000:
        raise ValueError("pocketsphinx's default model expects 16 kHz")
    pcm = (np.clip(wav, -1, 1) * 32767).astype(np.int16).tobytes()
    decoder = Decoder(loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr if hyp is not None else ""


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over words / reference length."""
    ref, hyp = _words(reference), _words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


def codec_report(codec, wav: np.ndarray, text: str | None = None) -> dict[str, float | str]:
    """Round-trip wav [N] (at codec.sample_rate) and score it against the original."""
    import torch

    sr = codec.sample_rate
    out = codec.round_trip(torch.from_numpy(wav.astype(np.float32))[None, None])[0, 0].numpy()
    stoi_value, estoi_value = stoi_scores(wav, out, sr)
    report: dict[str, float | str] = {
        "stoi": stoi_value,
        "estoi": estoi_value,
        "speaker_similarity": speaker_similarity(wav, out, sr),
    }
    if text is not None and sr == 16000:
        hyp_ref, hyp_out = transcribe(wav, sr), transcribe(out, sr)
        report.update(
            asr_original=hyp_ref,
            asr_round_trip=hyp_out,
            wer_original=word_error_rate(text, hyp_ref),
            wer_round_trip=word_error_rate(text, hyp_out),
        )
    return report
