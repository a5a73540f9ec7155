"""How one utterance is spoken: the validated options the CLI, the ROS node and the app all build.

    options = SpeakOptions(steps=16, seed=3).validate()
    pipeline = Pipeline.from_dir(model_dir, options=options)
    pipeline.set_options(options.replace(steps=32))      # checked again; no reload

``None`` means "the model's own value" (its config.json ``sampling`` / ``mlm`` sections). The
sampler's name is checked against the registry (``diffusion.sampling``) when a pipeline takes
the options, since the registry needs torch.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ..errors import InputError
from .checks import check_expressiveness, check_guidance, check_temperature

# how the networks run: torch eager, or their ONNX export (``imagintalk export``) under onnxruntime.
# A load-time choice (a pipeline is built for one), so it is not one of the SpeakOptions below.
BACKENDS = ("torch", "onnx")

# The live default (the ROS node, the desktop app): the sampler and step count whose speech was
# within noise of 64-step Euler on the validation split, the fastest such (``python -m
# imagintalk.eval.steps_curve``; docs/benchmarks.md, "Quality against sampling steps"). Files
# (``imagintalk speak``) keep SpeakOptions' 64 steps and the model's sampler.
LIVE_SAMPLER = "confidence"
LIVE_STEPS = 4


def check_backend(name: str) -> str:
    """``name`` if it is one of BACKENDS, else InputError listing them."""
    if name not in BACKENDS:
        raise InputError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return name


@dataclass(frozen=True)
class SpeakOptions:
    steps: int = 64  # reverse-diffusion steps: fewer = faster, rougher speech
    sampler: str | None = None  # a registered sampler (euler, analytic, confidence); None: the model's
    temperature: float | None = None  # < 1 = surer draws; None: the model's (tuned on validation clips)
    guidance: float | None = None  # classifier-free guidance weight, 0 = off; None: the model's
    tau: float | None = None  # error-detector threshold in (0, 1]; None: the model's (0.9)
    seed: int = 0  # same seed, same speech
    refine: bool = True  # MLM refinement of the flagged units (off: the ablation)
    hide_lips: bool = False  # ablation: the model sees no mouth
    fine_levels: bool = True  # complete the codec levels the DiT does not generate (off: the ablation)
    expressiveness: float = 1.0  # how much the face's expression shapes the prosody: 0 steady .. 3
    max_window_s: float = 10.0  # longest utterance window
    min_window_s: float | None = None  # shortest window a long input is cut into; None: 0.6 x max
    progress: bool = False  # the sampler's progress bar

    def validate(self) -> SpeakOptions:
        """``self``, or InputError naming the first unusable value."""
        if not isinstance(self.steps, int) or self.steps < 1:
            raise InputError(f"steps must be a whole number >= 1, got {self.steps}")
        if self.sampler is not None and not (isinstance(self.sampler, str) and self.sampler.isidentifier()):
            raise InputError(f"sampler must name a registered sampler, got {self.sampler!r}")
        if self.temperature is not None:
            check_temperature(self.temperature)
        if self.guidance is not None:
            check_guidance(self.guidance)
        if self.tau is not None and not (math.isfinite(self.tau) and 0.0 < self.tau <= 1.0):
            raise InputError(f"tau must lie in (0, 1], got {self.tau}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"the seed must be a whole number >= 0, got {self.seed}")
        check_expressiveness(self.expressiveness)
        if not (math.isfinite(self.max_window_s) and self.max_window_s >= 1.0):
            raise InputError(f"max_window_s must be at least 1 s, got {self.max_window_s}")
        if self.min_window_s is not None and not (0.0 < self.min_window_s <= self.max_window_s):
            raise InputError(f"min_window_s must lie in (0, max_window_s], got {self.min_window_s}")
        return self

    def replace(self, **changes: object) -> SpeakOptions:
        """A validated copy with ``changes``; an unknown name is an InputError."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise InputError(f"unknown speak option(s): {', '.join(unknown)}")
        return dataclasses.replace(self, **changes).validate()
