"""Emotions: prosody offsets on top of the speaker's voice, and the matching facial expression.

A clip has one emotion and an intensity ``I`` in [0.6, 1]. The voice applies the
emotion's prosody offsets scaled by ``I`` for the whole utterance (espeak parameters are
per call). The face shows the expression scaled by a per-frame intensity curve that
wanders smoothly around ``I`` (onset ramp plus a slow wave), stored in the manifest.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError

# per emotion: pitch / range offsets (espeak 0-100 scale), rate and volume factors
PROSODY: dict[str, dict[str, float]] = {
    "neutral": {"pitch": 0.0, "pitch_range": 0.0, "rate": 1.00, "volume": 1.00},
    "happy": {"pitch": 14.0, "pitch_range": 22.0, "rate": 1.05, "volume": 1.10},
    "sad": {"pitch": -12.0, "pitch_range": -25.0, "rate": 0.88, "volume": 0.70},
    "angry": {"pitch": 4.0, "pitch_range": 12.0, "rate": 1.08, "volume": 1.30},
}
# per emotion: full-intensity expression (units of the face renderer, 0 = neutral face)
# brow_raise: + up; brow_tilt: + inner ends up (sad), - inner ends down (angry);
# eye_open: + wider; smile: + corners up, - corners down; lip_press: thinner lips
EXPRESSION: dict[str, dict[str, float]] = {
    "neutral": {"brow_raise": 0.0, "brow_tilt": 0.0, "eye_open": 0.0, "smile": 0.0, "lip_press": 0.0},
    "happy": {"brow_raise": 0.35, "brow_tilt": 0.0, "eye_open": -0.25, "smile": 1.0, "lip_press": 0.0},
    "sad": {"brow_raise": 0.15, "brow_tilt": 1.0, "eye_open": -0.35, "smile": -0.8, "lip_press": 0.2},
    "angry": {"brow_raise": -0.8, "brow_tilt": -1.0, "eye_open": 0.25, "smile": -0.35, "lip_press": 0.8},
}
BASE_VOLUME = 100


def check_emotions(emotions: list[str]) -> None:
    unknown = [e for e in emotions if e not in PROSODY]
    if unknown or not emotions:
        raise InputError(f"unknown emotion(s) {unknown or emotions}; known: {', '.join(PROSODY)}")


def voice_settings(speaker: dict[str, Any], emotion: str, intensity: float) -> dict[str, int]:
    """espeak rate / pitch / range / volume for a speaker speaking with an emotion."""
    p = PROSODY[emotion]
    return {
        "rate": int(round(np.clip(speaker["rate"] * (1 + (p["rate"] - 1) * intensity), 80, 450))),
        "pitch": int(round(np.clip(speaker["pitch"] + p["pitch"] * intensity, 0, 100))),
        "pitch_range": int(round(np.clip(speaker["pitch_range"] + p["pitch_range"] * intensity, 0, 100))),
        "volume": int(round(BASE_VOLUME * (1 + (p["volume"] - 1) * intensity))),
    }


def intensity_curve(rng: np.random.Generator, intensity: float, num_frames: int, fps: int) -> np.ndarray:
    """[num_frames] facial expression intensity: an onset ramp, then a slow wave around ``intensity``."""
    t = np.arange(num_frames) / fps
    onset = 1 - np.exp(-(t + 0.05) / rng.uniform(0.15, 0.4))
    period, phase = rng.uniform(1.5, 3.5), rng.uniform(0, 2 * np.pi)
    wave = 1 + rng.uniform(0.05, 0.15) * np.sin(2 * np.pi * t / period + phase)
    return np.clip(intensity * (0.3 + 0.7 * onset) * wave, 0, 1)


def emotion_params(rng: np.random.Generator, emotion: str, speaker: dict[str, Any]) -> dict[str, Any]:
    """The clip's emotion record (without the per-frame curve, added once the length is known)."""
    intensity = float(rng.uniform(0.6, 1.0))
    return {
        "emotion": emotion,
        "intensity": round(intensity, 4),
        "prosody": voice_settings(speaker, emotion, intensity),
        "expression": EXPRESSION[emotion],
    }
