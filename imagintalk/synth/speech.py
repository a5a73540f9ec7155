"""Ground-truth speech of a clip: espeak-ng audio at 16 kHz with phoneme and word timing.

The waveform is ``lead`` silence + the espeak utterance (22050 Hz resampled to the
corpus rate) + trailing silence, padded so that its length is exactly
``num_frames * sample_rate / fps`` samples: audio and video last equally long.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from typing import Any

import numpy as np
from scipy.signal import resample_poly

from ..errors import InputError
from .espeak import SpeechEvent, Utterance, speak_isolated
from .expressive import SIMPLER, ExpressiveCues, ssml_text
from .grid import is_grid_sentence
from .voices import private_data_dir, speaker_voice

SILENCE = "_"
# espeak says a lone "a" as the article (schwa); "eh" gives the letter name /eI/
SPOKEN_FORM = {"a": "eh"}
TYPED_RATE = 155  # words per minute: the middle of the SynthTalk speakers' 140-170


@dataclass
class Speech:
    audio: np.ndarray  # [num_frames * samples_per_frame] int16 at sample_rate
    num_frames: int
    phonemes: list[dict[str, Any]]  # contiguous {"phoneme", "start", "end"} covering the clip
    words: list[dict[str, Any]]  # {"word", "start", "end"} (GRID spelling)


def spoken_text(text: str) -> str:
    return " ".join(SPOKEN_FORM.get(w, w) for w in text.split())


def _segments(events: list[SpeechEvent], total: int) -> list[tuple[str, int, int]]:
    """Phoneme events -> (mnemonic, start, end) in espeak samples; pauses become "_"."""
    return [(name, start, end) for name, start, end, _ in _positioned_segments(events, total)]


def _positioned_segments(events: list[SpeechEvent], total: int) -> list[tuple[str, int, int, int]]:
    """:func:`_segments` with each phoneme's text position."""
    marks = [e for e in events if e.kind == "phoneme"]
    out: list[tuple[str, int, int, int]] = []
    for i, event in enumerate(marks):
        end = marks[i + 1].sample if i + 1 < len(marks) else total
        name = SILENCE if event.name.startswith("_") else event.name
        if end > event.sample:
            out.append((name, event.sample, end, event.text_position))
    return out


def _word_spans(
    events: list[SpeechEvent], words: list[str], total: int, starts: list[int] | None = None
) -> list[tuple[str, int, int]]:
    """Word events -> (word, first phoneme start, last phoneme end) in espeak samples.

    Each spoken phoneme belongs to the latest word event at or before its start; with ``starts``
    (each word's 1-based character position in the text), to the word its text position is in
    (SSML: espeak-ng's word events may repeat or skip a number there, the positions stay right).
    """
    word_marks = [(e.sample, int(e.name)) for e in events if e.kind == "word"]
    spans: dict[int, list[int]] = {}
    for name, start, end, position in _positioned_segments(events, total):
        if starts is not None:
            owners = [n + 1 for n, first in enumerate(starts) if first <= position]
        else:
            owners = [number for sample, number in word_marks if sample <= start]
        if name == SILENCE or not owners:
            continue
        span = spans.setdefault(owners[-1], [start, end])
        span[0], span[1] = min(span[0], start), max(span[1], end)
    return [(words[n - 1], s, e) for n, (s, e) in sorted(spans.items()) if 1 <= n <= len(words)]


def synthesize(
    text: str, speaker: dict[str, Any], prosody: dict[str, int], sample_rate: int, fps: int, lead_s: float
) -> Speech:
    """Speak GRID ``text`` with the speaker's voice and the emotion's prosody settings."""
    voice = speaker_voice(speaker["variant"], speaker["tract_length"])
    utt = speak_isolated(private_data_dir().parent, spoken_text(text), voice, **prosody)
    return _timed_speech(utt, text, sample_rate, fps, lead_s)


def synthesize_expressive(
    text: str,
    speaker: dict[str, Any],
    emotion: str,
    intensity: float,
    prosody: dict[str, int],
    cues: ExpressiveCues,
    sample_rate: int,
    fps: int,
    lead_s: float,
) -> Speech:
    """:func:`synthesize` with the clip's expressive cues as SSML (``prosody`` are the base settings)."""
    voice = speaker_voice(speaker["variant"], speaker["tract_length"])
    words = spoken_text(text).split()
    # espeak-ng sometimes loses a word's event and first phoneme event after a prosody change: the
    # markup must give every word and the same phonemes as the plain text, else a simpler one is tried
    plain = _phoneme_names(speak_isolated(private_data_dir().parent, " ".join(words), voice, **prosody))
    fallback = None
    for simpler in range(len(SIMPLER)):
        markup, starts = ssml_text(words, cues, speaker, emotion, intensity, prosody, simpler)
        utt = speak_isolated(private_data_dir().parent, markup, voice, **prosody, ssml=True)
        numbers = {int(e.name) for e in utt.events if e.kind == "word"}
        spans = _word_spans(utt.events, words, len(utt.samples), starts)
        if numbers >= set(range(1, len(words) + 1)) and len(spans) == len(words):
            if _phoneme_names(utt) == plain:
                break
            fallback = fallback or (utt, starts)
    else:
        utt, starts = fallback or (utt, starts)
    return _timed_speech(utt, text, sample_rate, fps, lead_s, starts)


def typed_speech(text: str, sample_rate: int, fps: int, lead_s: float, rate: int = TYPED_RATE) -> Speech:
    """Any English ``text`` in espeak-ng's plain en-us voice at a SynthTalk-like pace: the phoneme
    timing typed speech follows (its audio is only a by-product)."""
    words = text.split()
    if not words:
        raise InputError("there is no text to speak")
    said = spoken_text(text) if is_grid_sentence(text) else text
    utt = speak_isolated(None, said, "en-us", rate=rate, pitch=50, pitch_range=55, volume=100)
    return _timed_speech(utt, text, sample_rate, fps, lead_s)


def _phoneme_names(utt: Utterance) -> list[str]:
    """The spoken phonemes, without pauses and the marks that prosody may move (t# -> t, ";")."""
    names = [e.name.rstrip("#") for e in utt.events if e.kind == "phoneme"]
    return [n for n in names if n and not n.startswith("_") and n != ";"]


def _timed_speech(
    utt: Utterance, text: str, sample_rate: int, fps: int, lead_s: float, starts: list[int] | None = None
) -> Speech:
    """An espeak utterance -> the clip's audio (lead silence, padded to whole frames) and timing.

    ``starts``: the words' character positions in an SSML text (see :func:`_word_spans`)."""
    src_rate = utt.sample_rate
    g = gcd(sample_rate, src_rate)
    speech = resample_poly(utt.samples.astype(np.float64), sample_rate // g, src_rate // g)
    lead = int(round(lead_s * sample_rate))
    per_frame = sample_rate // fps
    num_frames = int(np.ceil((lead + len(speech) + lead) / per_frame))
    audio = np.zeros(num_frames * per_frame)
    audio[lead : lead + len(speech)] = speech
    peak = np.abs(audio).max(initial=0.0)
    if peak > 32000:  # loud (angry) voices: scale down rather than clip, keeps the speech clean
        audio *= 32000 / peak
    audio = np.clip(np.round(audio), -32768, 32767).astype(np.int16)
    duration = num_frames * per_frame / sample_rate

    def to_seconds(src_sample: int) -> float:
        return round(lead_s + src_sample / src_rate, 4)

    segments = _segments(utt.events, len(utt.samples))
    # the lead silence runs up to the first phoneme (espeak starts with a few ms of silence)
    phonemes = [{"phoneme": SILENCE, "start": 0.0, "end": to_seconds(segments[0][1] if segments else 0)}]
    for name, start, end in segments:
        phonemes.append({"phoneme": name, "start": to_seconds(start), "end": to_seconds(end)})
    phonemes.append({"phoneme": SILENCE, "start": phonemes[-1]["end"], "end": round(duration, 4)})
    phonemes = _merge_silences(phonemes)
    words = [
        {"word": w, "start": to_seconds(s), "end": to_seconds(e)}
        for w, s, e in _word_spans(utt.events, text.split(), len(utt.samples), starts)
    ]
    return Speech(audio, num_frames, phonemes, words)


def _merge_silences(phonemes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fuse neighbouring "_" segments and drop empty ones; keep the timeline contiguous."""
    out: list[dict[str, Any]] = []
    for p in phonemes:
        if p["end"] <= p["start"]:
            continue
        if out and p["phoneme"] == SILENCE and out[-1]["phoneme"] == SILENCE:
            out[-1]["end"] = p["end"]
        else:
            if out:
                p["start"] = out[-1]["end"]
            out.append(p)
    return out
