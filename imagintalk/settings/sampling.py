"""Sampling settings stored with a model (its config.json ``sampling`` section)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from .checks import check_guidance, check_temperature


@dataclass
class SamplingConfig:
    # the sampler's default temperature for this model (see sampling.temper); chosen on the
    # validation split after training, so a model directory carries the value it was tuned with
    temperature: float = 1.0
    # classifier-free guidance weight (diffusion.guidance; 0 = off); > 0 needs a DiT trained
    # with condition dropout (train.dit_drop_conditions), chosen on validation clips like T
    guidance: float = 0.0
    # the reverse sampler (registered by name in diffusion.sampling): "euler" is the method's; "confidence"
    # keeps the same schedule but unmasks the surest draws first
    sampler: str = "euler"
    tuned_on: str = ""  # the clips the temperature was chosen on ("" = not tuned, the default)

    def validate(self) -> None:
        """InputError unless every value is usable; the sampler's name is checked against the
        registry (diffusion.sampling) where a sampler is chosen, since that needs torch."""
        check_temperature(self.temperature)
        check_guidance(self.guidance)
        if not (isinstance(self.sampler, str) and self.sampler.isidentifier()):
            raise InputError(f"sampling.sampler must name a registered sampler, got {self.sampler!r}")
