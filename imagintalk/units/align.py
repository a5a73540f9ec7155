"""Forced alignment of a known transcript with pocketsphinx -> phone segments."""

from __future__ import annotations

import functools

import numpy as np

from ..errors import InputError
from .sphinx import ensure_words, make_decoder, normalize_text, to_sphinx_pcm

SPHINX_FRAME_RATE = 100  # pocketsphinx alignment frames per second (10 ms)


# the default beams, then wide ones: fast espeak-ng speech sometimes loses the path
# (6 of 40 SynthTalk clips failed with the default beams, 1 with the wide ones)
BEAMS = ({}, {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80})


@functools.lru_cache(maxsize=len(BEAMS))
def _aligner(attempt: int) -> tuple[object, str]:
    """-> (decoder, its initial cepstral mean). bestpath off: alignment wants the full Viterbi search."""
    decoder = make_decoder(bestpath=False, **BEAMS[attempt])
    return decoder, decoder.get_cmn(False)


def _align_once(aligner: tuple[object, str], pcm: bytes, words: list[str]):
    """Word pass, then the phone / state pass: -> pocketsphinx Alignment (raises RuntimeError).

    The word pass starts from the decoder's initial cepstral mean (pocketsphinx would otherwise
    carry the previous clip's over) and the phone pass from the mean the word pass adapted to
    this clip: a clip's alignment depends on that clip only, not on which clips a prepare
    worker aligned before it.
    """
    decoder, initial_cmn = aligner
    decoder.set_cmn(initial_cmn)
    ensure_words(decoder, words)
    decoder.set_align_text(" ".join(words))
    for second_pass in (False, True):
        if second_pass:
            decoder.set_alignment()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
    return decoder.get_alignment()


def align_transcript(wav: np.ndarray, sr: int, text: str) -> list[dict]:
    """Align ``text`` to ``wav [N]`` (float, any rate) -> phone segments.

    Each segment is ``{"phoneme": ARPAbet (SIL for silence), "start": s, "end": s,
    "word": word}``; they are contiguous and cover the voiced span pocketsphinx found.
    Words missing from CMUdict get an espeak-ng pronunciation.
    """
    words = normalize_text(text)
    if not words:
        raise InputError("the transcript to align has no words")
    wav = np.asarray(wav, dtype=np.float64).reshape(-1)
    if wav.size < sr * 0.1:
        raise InputError("audio is too short to align (< 0.1 s)")
    pcm = to_sphinx_pcm(wav, sr)
    alignment, error = None, ""
    for attempt in range(len(BEAMS)):
        try:
            alignment = _align_once(_aligner(attempt), pcm, words)
            break
        except RuntimeError as exc:
            error = str(exc)
    if alignment is None:
        raise InputError(f"pocketsphinx could not align the transcript: {error}")
    segments = []
    for word in alignment or ():
        name = word.name.split("(")[0]  # "particular(2)" = second pronunciation
        for phone in word:
            start = phone.start / SPHINX_FRAME_RATE
            end = (phone.start + phone.duration) / SPHINX_FRAME_RATE
            segments.append({"phoneme": phone.name, "start": start, "end": end, "word": name})
    if not any(s["phoneme"] != "SIL" for s in segments):
        raise InputError("pocketsphinx found no speech to align the transcript to")
    return segments
