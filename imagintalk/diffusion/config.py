"""Sampling settings stored with a model (its config.json ``sampling`` section)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError


def check_temperature(temperature: float) -> float:
    """The sampling temperature, or InputError unless it is positive."""
    if not temperature > 0.0:
        raise InputError(f"the sampling temperature must be positive, got {temperature}")
    return float(temperature)


@dataclass
class SamplingConfig:
    # the sampler's default temperature for this model (see sampling.temper); chosen on the
    # validation split after training, so a model directory carries the value it was tuned with
    temperature: float = 1.0
    # classifier-free guidance weight (diffusion.guidance; 0 = off); > 0 needs a DiT trained
    # with condition dropout (train.dit_drop_conditions), chosen on validation clips like T
    guidance: float = 0.0
    # the reverse sampler (diffusion.sampling.SAMPLERS): "euler" is the method's; "confidence"
    # keeps the same schedule but unmasks the surest draws first
    sampler: str = "euler"
    tuned_on: str = ""  # the clips the temperature was chosen on ("" = not tuned, the default)

    def validate(self) -> None:
        from .guidance import check_guidance
        from .sampling import get_sampler

        check_temperature(self.temperature)
        check_guidance(self.guidance)
        get_sampler(self.sampler)
