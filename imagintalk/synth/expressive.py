"""Expressive prosody (``synth.expressive``): cues that vary inside an utterance, in voice and face.

A clip may carry

- **emphasis** on one word: the word is spoken higher, with a wider pitch range, louder and
  slower (an SSML ``<prosody>`` around it), and the face raises the brows, widens the eyes and
  nods a little over the same span;
- a **contour**: ``"question"`` ends the spoken text with "?" (espeak-ng's question intonation:
  a final rise), and the brows rise over the last word; ``"statement"`` keeps the fall;
- an emotion **intensity** that changes across the sentence (onset, peak, fade): one smooth
  shape over the sentence's word positions, evaluated at each word for the voice (the emotion's
  prosody offsets at that intensity, as SSML percentages of the clip's base settings) and at each
  frame for the face (mapped to word positions through the spoken word timings, so both peak
  together);
- **pauses**: an SSML ``<break>`` after some words (the mouth rests: espeak reports them as
  pause phonemes).

Everything is drawn from the clip's generator (:func:`clip.clip_rng`) and recorded in the
manifest (``emphasis``, ``contour``, ``pauses``, ``prosody_cues``, ``face_cues`` and, as before,
``emotion_params.intensity_curve``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .emotions import voice_settings

QUESTION_P = 0.3  # share of questions
EMPHASIS_P = 0.75  # share of clips with one emphasised word
PAUSE_P = 0.12  # per word boundary
PAUSE_MS = (120, 320)
# emphasis at strength 1: SSML prosody factors on the word (pitch and range up, louder, slower)
EMPHASIS_PITCH, EMPHASIS_RANGE, EMPHASIS_VOLUME, EMPHASIS_RATE = 0.45, 0.6, 0.6, -0.25
QUESTION_PITCH, QUESTION_RANGE = 0.15, 0.4  # a question's last word: higher, wider range (a larger rise)
# face cues at strength 1 (units of the renderer's expression dict; nod: the pose's nod)
EMPHASIS_BROW, EMPHASIS_EYES, EMPHASIS_NOD = 0.7, 0.4, 1.0
QUESTION_BROW = 0.5
INTENSITY_GAIN = 1.5  # the voice's word-to-word intensity swing, relative to the face's
CUE_LEAD_S = 0.06  # the face starts a cue this much before the word (anticipation)


@dataclass
class ExpressiveCues:
    """A clip's expressive prosody (word indices are 0-based into the GRID text)."""

    emphasis: int | None
    emphasis_strength: float
    contour: str  # "statement" or "question"
    pauses: list[int]  # words followed by a pause
    pause_ms: list[int]  # one per pause
    # intensity shape over word position x in [0, 1]: floor + (1 - floor) * bump around peak
    peak: float
    rise: float
    fall: float
    floor: float
    word_intensity: list[float] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {
            "emphasis_strength": round(self.emphasis_strength, 4),
            "pause_ms": self.pause_ms,
            "intensity_shape": {
                "peak": round(self.peak, 4),
                "rise": round(self.rise, 4),
                "fall": round(self.fall, 4),
                "floor": round(self.floor, 4),
            },
            "word_intensity": [round(v, 4) for v in self.word_intensity],
        }


def sample_cues(rng: np.random.Generator, num_words: int, intensity: float) -> ExpressiveCues:
    """Draw a clip's cues (a fixed number of draws whatever the outcome)."""
    question = bool(rng.random() < QUESTION_P)
    emphasised = bool(rng.random() < EMPHASIS_P)
    word = int(rng.integers(num_words))
    strength = float(rng.uniform(0.75, 1.0))
    breaks = rng.random(num_words - 1) < PAUSE_P
    lengths = rng.integers(PAUSE_MS[0], PAUSE_MS[1] + 1, num_words - 1)
    peak, rise, fall, floor = (
        rng.uniform(0.2, 0.8),
        rng.uniform(0.15, 0.35),
        rng.uniform(0.2, 0.5),
        rng.uniform(0.3, 0.6),
    )
    cues = ExpressiveCues(
        emphasis=word if emphasised else None,
        emphasis_strength=strength if emphasised else 0.0,
        contour="question" if question else "statement",
        pauses=[int(i) for i in np.flatnonzero(breaks)],
        pause_ms=[int(lengths[i]) for i in np.flatnonzero(breaks)],
        peak=float(peak),
        rise=float(rise),
        fall=float(fall),
        floor=float(floor),
    )
    cues.word_intensity = [
        float(v) for v in intensity * shape(cues, (np.arange(num_words) + 0.5) / num_words)
    ]
    return cues


def shape(cues: ExpressiveCues, x: np.ndarray) -> np.ndarray:
    """The intensity shape (0..1) at word positions ``x`` in [0, 1]: onset, peak, fade."""
    x = np.asarray(x, dtype=np.float64)
    width = np.where(x < cues.peak, cues.rise, cues.fall)
    return cues.floor + (1 - cues.floor) * np.exp(-0.5 * ((x - cues.peak) / width) ** 2)


def _percent(new: float, base: float) -> str:
    value = 0.0 if base <= 0 else 100 * (new / base - 1)
    return f"{value:+.0f}%"


# simpler markups, tried in turn when espeak-ng loses a word's events (it sometimes drops the word
# event and the first phoneme event of a word after a prosody change): the attributes that words
# without a cue of their own (emphasis, the question's last word) leave out
SIMPLER = ((), ("range",), ("range", "rate"), ("pitch", "range", "volume", "rate"))


def ssml_text(
    spoken_words: list[str],
    cues: ExpressiveCues,
    speaker: dict[str, Any],
    emotion: str,
    intensity: float,
    base: dict[str, int],
    simpler: int = 0,
) -> tuple[str, list[int]]:
    """The utterance as espeak-ng SSML: per-word ``<prosody>`` (intensity, emphasis), breaks, "?".

    ``base``: the espeak settings the engine is set to (the emotion at the clip's ``intensity``);
    the per-word attributes are percentages of them. ``simpler``: an index into :data:`SIMPLER`.
    Returns the markup and each word's 1-based character position in it (espeak's
    ``text_position`` of the word's phonemes).
    """
    markup, starts = "", []
    for k, word in enumerate(spoken_words):
        # the voice exaggerates the word's departure from the clip's level (espeak's emotion
        # offsets are small): the sentence's onset and fade are audible, not only its peak
        level = max(0.0, intensity + INTENSITY_GAIN * (cues.word_intensity[k] - intensity))
        target = voice_settings(speaker, emotion, level)
        pitch, prange = float(target["pitch"]), float(target["pitch_range"])
        volume, rate = float(target["volume"]), float(target["rate"])
        if k == cues.emphasis:
            s = cues.emphasis_strength
            pitch *= 1 + EMPHASIS_PITCH * s
            prange *= 1 + EMPHASIS_RANGE * s
            volume *= 1 + EMPHASIS_VOLUME * s
            rate *= 1 + EMPHASIS_RATE * s
        asked = k == len(spoken_words) - 1 and cues.contour == "question"
        if asked:
            pitch *= 1 + QUESTION_PITCH
            prange *= 1 + QUESTION_RANGE
        attrs = {
            "pitch": _percent(pitch, base["pitch"]),
            "range": _percent(prange, base["pitch_range"]),
            "volume": _percent(volume, base["volume"]),
            "rate": _percent(rate, base["rate"]),
        }
        if k != cues.emphasis and not asked:
            attrs = {a: v for a, v in attrs.items() if a not in SIMPLER[simpler]}
        if k:
            markup += " "
        opening = "<prosody " + " ".join(f'{a}="{v}"' for a, v in attrs.items()) + ">" if attrs else ""
        markup += opening
        starts.append(len(markup) + 1)
        markup += word + ("?" if asked else "") + ("</prosody>" if attrs else "")
        if k in cues.pauses:
            markup += f' <break time="{cues.pause_ms[cues.pauses.index(k)]}ms"/>'
    return markup, starts


def word_position(words: list[dict[str, Any]], num_words: int, t: np.ndarray) -> np.ndarray:
    """Times ``t`` (s) -> word position x in [0, 1]: word k's span maps onto [k / n, (k + 1) / n]."""
    if len(words) != num_words or not words:  # no reliable word timing: spread over the speech
        start = words[0]["start"] if words else 0.0
        end = words[-1]["end"] if words else 1.0
        return np.clip((t - start) / max(end - start, 1e-3), 0, 1)
    knots_t, knots_x = [], []
    for k, w in enumerate(words):
        knots_t += [w["start"], max(w["end"], w["start"] + 1e-4)]
        knots_x += [k / num_words, (k + 1) / num_words]
    knots_t = np.maximum.accumulate(np.asarray(knots_t)) + np.arange(len(knots_t)) * 1e-7
    return np.interp(t, knots_t, knots_x)


def frame_intensity(
    cues: ExpressiveCues, intensity: float, words: list[dict[str, Any]], num_words: int, t: np.ndarray
) -> np.ndarray:
    """[T] the face's emotion intensity: the same shape as the voice's, along the spoken words."""
    return np.clip(intensity * shape(cues, word_position(words, num_words, t)), 0, 1)


def _bump(t: np.ndarray, start: float, end: float) -> np.ndarray:
    """A raised-cosine bump over [start - lead, end + lead / 2], 1 at the span's centre."""
    a, b = start - CUE_LEAD_S, end + CUE_LEAD_S / 2
    phase = np.clip((t - a) / max(b - a, 1e-3), 0, 1)
    return 0.5 - 0.5 * np.cos(2 * np.pi * phase)


def face_cues(
    cues: ExpressiveCues, words: list[dict[str, Any]], num_words: int, t: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-frame offsets [T] added to the expression (brow_raise, eye_open) and the pose (nod)."""
    brow, eyes, nod = np.zeros_like(t), np.zeros_like(t), np.zeros_like(t)
    if cues.emphasis is not None and len(words) == num_words:
        w = words[cues.emphasis]
        bump = cues.emphasis_strength * _bump(t, w["start"], w["end"])
        brow += EMPHASIS_BROW * bump
        eyes += EMPHASIS_EYES * bump
        nod += EMPHASIS_NOD * bump
    if cues.contour == "question" and words:
        last = words[-1]
        ramp = np.clip((t - last["start"] + CUE_LEAD_S) / max(last["end"] - last["start"], 1e-3), 0, 1)
        after = np.clip((t - last["end"]) / 0.4, 0, 1)  # hold, then relax in the trailing silence
        brow += QUESTION_BROW * np.sin(np.pi / 2 * ramp) * (1 - 0.5 * after)
    return {"brow_raise": brow, "eye_open": eyes, "nod": nod}
