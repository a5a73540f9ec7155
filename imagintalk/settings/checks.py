"""Checks of single setting values, shared by the settings and the code that takes them as arguments."""

from __future__ import annotations

import math

from ..errors import InputError


def check_temperature(temperature: float) -> float:
    """The sampling temperature, or InputError unless it is a finite number > 0."""
    if not (math.isfinite(temperature) and temperature > 0.0):
        raise InputError(f"the sampling temperature must be a finite number > 0, got {temperature}")
    return float(temperature)


def check_guidance(weight: float) -> float:
    """The classifier-free guidance weight, or InputError unless it is finite and >= 0."""
    if not (math.isfinite(weight) and weight >= 0.0):
        raise InputError(f"the guidance weight must be a finite number >= 0, got {weight}")
    return float(weight)


MAX_EXPRESSIVENESS = 3.0  # beyond ~3x the trained expression changes the prosody leaves speech


def check_expressiveness(value: float) -> float:
    """How much expression shapes the prosody, or InputError unless it lies in [0, 3]."""
    if not (math.isfinite(value) and 0.0 <= value <= MAX_EXPRESSIVENESS):
        raise InputError(f"expressiveness must lie in [0, {MAX_EXPRESSIVENESS:g}], got {value}")
    return float(value)


def check_probability(name: str, value: float) -> float:
    """``value`` as a probability in [0, 1), or InputError naming the setting."""
    if not 0.0 <= value < 1.0:
        raise InputError(f"{name} is a probability in [0, 1), got {value}")
    return float(value)
