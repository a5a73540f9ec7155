"""Noise schedules sigma(t) for discrete diffusion, t in [0, 1].

A schedule gives the total noise sigma(t) = int_0^t g(s) ds and its rate dsigma/dt = g(t).
For the absorbing graph a token is masked by time t with probability 1 - exp(-sigma(t)).
Only tensor math here: no modules, no devices.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..errors import InputError

NOISES: dict[str, type[Noise]] = {}


def register_noise(name: str) -> Callable[[type[Noise]], type[Noise]]:
    """Class decorator: make a schedule available to :func:`get_noise` under ``name``."""

    def register(cls: type[Noise]) -> type[Noise]:
        if name in NOISES:
            raise ValueError(f"noise schedule {name!r} is registered twice")
        NOISES[name] = cls
        return cls

    return register


def get_noise(name: str, **kwargs: float) -> Noise:
    """The schedule registered as ``name`` (e.g. ``"loglinear"``), built with ``kwargs``."""
    if name not in NOISES:
        raise InputError(f"unknown noise schedule {name!r}; choose one of {', '.join(NOISES)}")
    return NOISES[name](**kwargs)


class Noise:
    """A noise schedule: ``noise(t) -> (sigma(t), dsigma/dt(t))``, all shaped like ``t``."""

    def total_noise(self, t: Tensor) -> Tensor:
        """sigma(t), same shape as t."""
        raise NotImplementedError

    def rate_noise(self, t: Tensor) -> Tensor:
        """dsigma/dt at t, same shape as t."""
        raise NotImplementedError

    def __call__(self, t: Tensor) -> tuple[Tensor, Tensor]:
        return self.total_noise(t), self.rate_noise(t)

    def mask_probability(self, t: Tensor) -> Tensor:
        """Probability that a token is masked at time t: 1 - exp(-sigma(t)), same shape as t."""
        return -torch.expm1(-self.total_noise(t))


@register_noise("loglinear")
class LogLinearNoise(Noise):
    """sigma(t) = -log(1 - (1 - eps) t): the mask probability (1 - eps) t grows linearly in t.

    eps keeps sigma(1) = -log(eps) finite (about 6.9 for eps = 1e-3): at t = 1 a token is
    masked with probability 1 - eps, at t = 0 never.
    """

    def __init__(self, eps: float = 1e-3) -> None:
        if not 0.0 < eps < 1.0:
            raise InputError(f"loglinear noise needs 0 < eps < 1, got {eps}")
        self.eps = float(eps)

    def total_noise(self, t: Tensor) -> Tensor:
        # log1p keeps sigma accurate for small t, where 1 - (1 - eps) t rounds towards 1
        return -torch.log1p(-(1.0 - self.eps) * t)

    def rate_noise(self, t: Tensor) -> Tensor:
        return (1.0 - self.eps) / (1.0 - (1.0 - self.eps) * t)

    def mask_probability(self, t: Tensor) -> Tensor:
        return (1.0 - self.eps) * t  # exactly 1 - exp(-sigma(t)), without the round trip


def sample_times(
    batch_size: int,
    generator: torch.Generator | None = None,
    eps: float = 1e-3,
    antithetic: bool = True,
    device: torch.device | str = "cpu",
) -> Tensor:
    """Training times t [batch_size] in [eps, 1].

    With ``antithetic`` the batch is stratified (t_i = (u + i / B) mod 1): the same marginal
    U(eps, 1) per sample but evenly spread over the batch, which lowers the loss variance.
    """
    gen_device = generator.device if generator is not None else "cpu"
    if antithetic:
        u = torch.rand(1, generator=generator, device=gen_device)
        u = (u + torch.arange(batch_size, device=gen_device) / batch_size) % 1.0
    else:
        u = torch.rand(batch_size, generator=generator, device=gen_device)
    return ((1.0 - eps) * u + eps).to(device)
