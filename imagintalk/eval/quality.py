"""Wide-band PESQ (ITU-T P.862.2) of the generated speech against the ground truth."""

from __future__ import annotations

from .judge import ClipPair, Score

PESQ_RATE = 16000


def pesq_score(pair: ClipPair, judges: object = None) -> Score:
    """MOS-LQO, about 1.0 (bad) .. 4.64 (identical); NaN when PESQ finds no utterance."""
    from pesq import PesqError, pesq

    ref, gen = pair.reference, pair.generated
    if ref.sample_rate != PESQ_RATE:
        return Score.undefined(f"PESQ wide-band needs {PESQ_RATE} Hz audio")
    if ref.silent:
        return Score.undefined("silent reference")
    if gen.silent:
        return Score.undefined("silent output (PESQ detects no utterance)")
    try:
        return Score(float(pesq(PESQ_RATE, ref.wav, pair.generated_wav(), "wb")))
    except PesqError as exc:  # no utterance detected, buffer too short
        message = exc.args[0] if exc.args else exc
        if isinstance(message, bytes):  # the C extension raises with a bytes message
            message = message.decode(errors="replace")
        return Score.undefined(f"PESQ: {message}")
