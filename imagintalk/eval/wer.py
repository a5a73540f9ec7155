"""Word error rate of transcripts of the generated speech (pocketsphinx, or the user's Whisper)."""

from __future__ import annotations

from collections.abc import Callable

from .asr import word_error_rate
from .judge import ClipPair, Score
from .judges import Judges


def _wer(pair: ClipPair, key: str, transcribe: Callable[[ClipPair], list[str]]) -> Score:
    if not pair.text.strip():
        return Score.undefined("no reference transcript")
    if key not in pair.generated.cache:
        pair.generated.cache[key] = [] if pair.generated.silent else transcribe(pair)
    return Score(word_error_rate(pair.text, pair.generated.cache[key]))


def wer_grammar(pair: ClipPair, judges: Judges) -> Score:
    """WER with the GRID JSGF grammar (only GRID sentences can be recognised)."""
    return _wer(pair, "asr_grammar", lambda p: judges.recognizer("grammar").transcribe(p.generated.wav))


def wer_open(pair: ClipPair, judges: Judges) -> Score:
    """WER with the open en-US language model and CMUdict."""
    return _wer(pair, "asr_open", lambda p: judges.recognizer("open").transcribe(p.generated.wav))


def wer_whisper(pair: ClipPair, judges: Judges) -> Score:
    """WER with the user's Whisper checkpoint (``--asr-model DIR``); undefined without one
    (``evaluate`` refuses the metric without one before scoring)."""
    if judges.asr_model is None:
        return Score.undefined("no Whisper checkpoint given (--asr-model DIR)")
    return _wer(
        pair, "asr_whisper", lambda p: judges.whisper.transcribe(p.generated.wav, p.generated.sample_rate)
    )
