"""Typed text -> semantic units with timing: the c_lip typed speech gives the Style-DiT.

The lips' path reads units off the mouth; here espeak-ng says the text in its plain en-us voice
at a SynthTalk-like pace, and its phoneme events, mapped to units exactly as the training
targets were (``units.frame_units``), give units at the token rate. The audio espeak makes is
thrown away: the voice is the user's, from the same Style-DiT and codec as lip-driven speech.

Long text is cut into windows no longer than the pipeline's ``max_window_s``: at sentence ends
first, then between words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..synth.speech import typed_speech
from ..units.frames import frame_units

MAX_TEXT_CHARS = 2000
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
TYPED_SAMPLE_RATE = 16000  # espeak's audio is resampled to this and discarded


@dataclass
class TypedWindow:
    text: str
    units: np.ndarray  # [num_frames * factor] int64 unit ids at the token rate
    num_frames: int  # video-rate frames (25 fps) the window lasts


def _window(text: str, fps: int, factor: int, lead_s: float) -> TypedWindow:
    speech = typed_speech(text, TYPED_SAMPLE_RATE, fps, lead_s)
    units = frame_units(speech.phonemes, speech.num_frames * factor, fps * factor, source="espeak")
    return TypedWindow(text, units, speech.num_frames)


def _fit(text: str, fps: int, factor: int, lead_s: float, max_frames: int) -> list[TypedWindow]:
    window = _window(text, fps, factor, lead_s)
    words = text.split()
    if window.num_frames <= max_frames or len(words) == 1:
        return [window]  # a single word longer than a window is spoken as one (rare)
    half = len(words) // 2
    return [
        *_fit(" ".join(words[:half]), fps, factor, lead_s, max_frames),
        *_fit(" ".join(words[half:]), fps, factor, lead_s, max_frames),
    ]


def typed_windows(text: str, fps: int, factor: int, lead_s: float, max_window_s: float) -> list[TypedWindow]:
    """``text`` -> its windows in order; InputError for empty or overly long text."""
    text = " ".join(str(text).split())
    if not text or not re.search(r"[A-Za-z0-9]", text):
        raise InputError("there is no text to speak")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"the text has {len(text)} characters; at most {MAX_TEXT_CHARS} are spoken at once")
    max_frames = max(1, int(max_window_s * fps))
    windows: list[TypedWindow] = []
    for sentence in _SENTENCE_END.split(text):
        if re.search(r"[A-Za-z0-9]", sentence):
            windows.extend(_fit(sentence, fps, factor, lead_s, max_frames))
    return windows
