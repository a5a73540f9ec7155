"""Shared pocketsphinx plumbing: audio conversion, decoders, out-of-vocabulary words.

pocketsphinx 5 ships its en-US acoustic model, language model and CMUdict; nothing is
downloaded. Decoders take ~0.3 s to build, so callers keep one and reuse it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np

from ..errors import DependencyError, InputError
from .espeak_map import espeak_to_unit

SPHINX_RATE = 16000
_WORD_RE = re.compile(r"[a-z']+")
_NUMBER_RE = re.compile(r"\d+")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}\b)")  # "1,000" -> "1000"
_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))


def spell_number(n: int) -> str:
    """A cardinal in words, without "and": 2008 -> "two thousand eight" (digit by digit >= 10**12)."""
    if n >= 10**12:
        return " ".join(_ONES[int(d)] for d in str(n))
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for scale, name in _SCALES:
        if n >= scale:
            rest = n % scale
            return f"{spell_number(n // scale)} {name}" + (f" {spell_number(rest)}" if rest else "")
    raise AssertionError(n)  # unreachable: every n >= 100 has a scale


def normalize_text(text: str) -> list[str]:
    """Lower-case words for the recogniser: numbers spelled out (a recogniser such as Whisper writes
    "2008" where a transcript says the words), letters and apostrophes kept, the rest is a space."""
    text = _THOUSANDS_RE.sub("", text.lower())
    text = _NUMBER_RE.sub(lambda m: f" {spell_number(int(m.group()))} ", text)
    return [w.strip("'") for w in _WORD_RE.findall(text) if w.strip("'")]


def to_sphinx_pcm(wav: np.ndarray, sr: int) -> bytes:
    """float wav [N] at ``sr`` -> 16 kHz 16-bit little-endian PCM bytes."""
    from scipy.signal import resample_poly

    x = np.asarray(wav, dtype=np.float64).reshape(-1)
    if sr != SPHINX_RATE:
        g = np.gcd(int(sr), SPHINX_RATE)
        x = resample_poly(x, SPHINX_RATE // g, int(sr) // g)
    return (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def make_decoder(**kwargs):
    """A pocketsphinx Decoder at 16 kHz with its logging silenced (``kwargs`` = its config)."""
    try:
        from pocketsphinx import Decoder
    except ImportError:
        raise DependencyError("pocketsphinx is not installed; pip install -e '.[eval]'") from None
    return Decoder(samprate=SPHINX_RATE, loglevel="FATAL", **kwargs)


def model_file(name: str) -> str:
    """Path of a file pocketsphinx ships in its model folder, e.g. ``en-us/en-us-phone.lm.bin``."""
    try:
        from pocketsphinx import get_model_path
    except ImportError:
        raise DependencyError("pocketsphinx is not installed; pip install -e '.[eval]'") from None
    return os.path.join(get_model_path(), name)


def espeak_arpabet(word: str) -> str:
    """A pronunciation for a word CMUdict lacks, from espeak-ng mapped to ARPAbet units."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise InputError(f"word {word!r} is not in the dictionary and espeak-ng is not installed")
    out = subprocess.run(
        [exe, "-q", "-v", "en-us", "-x", "--sep= ", word], capture_output=True, text=True, check=False
    ).stdout
    units = [espeak_to_unit(tok) for tok in out.split()]
    phones = [u.upper() for u in units if u and u != "sil"]
    if not phones:
        raise InputError(f"cannot pronounce word {word!r}")
    return " ".join(phones)


def ensure_words(decoder, words: list[str]) -> None:
    """Add every word the decoder's dictionary lacks (pronounced by espeak-ng)."""
    for word in dict.fromkeys(words):
        if decoder.lookup_word(word) is None:
            decoder.add_word(word, espeak_arpabet(word), True)
