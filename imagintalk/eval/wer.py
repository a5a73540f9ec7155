"""Word error rate of pocketsphinx transcripts of the generated speech."""

from __future__ import annotations

from .asr import word_error_rate
from .judge import ClipPair, Score
from .judges import Judges


def _wer(pair: ClipPair, judges: Judges, mode: str) -> Score:
    if not pair.text.strip():
        return Score.undefined("no reference transcript")
    key = f"asr_{mode}"
    if key not in pair.generated.cache:
        words = [] if pair.generated.silent else judges.recognizer(mode).transcribe(pair.generated.wav)
        pair.generated.cache[key] = words
    return Score(word_error_rate(pair.text, pair.generated.cache[key]))


def wer_grammar(pair: ClipPair, judges: Judges) -> Score:
    """WER with the GRID JSGF grammar (only GRID sentences can be recognised)."""
    return _wer(pair, judges, "grammar")


def wer_open(pair: ClipPair, judges: Judges) -> Score:
    """WER with the open en-US language model and CMUdict."""
    return _wer(pair, judges, "open")
