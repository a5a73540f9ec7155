"""Classifier-free guidance for the absorbing diffusion (Ho & Salimans 2022, on log-scores).

For a masked position the log-score is log p_0(y | x_t, c) plus a term that depends on sigma
only. Guidance with weight w draws from

    p_w(y) ∝ p_0(y | x_t, c)^(1 + w) / p_0(y | x_t)^w

where the unconditional p_0(y | x_t) comes from the same network with its conditions set to
the null (zero) condition, which it learned under condition dropout. As in ``temper``, the
total sum_y s_y of the conditional is kept: it sets how fast masks leave (the schedule), and
guidance only changes which entry they become. w = 0 is the conditional model itself.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import InputError
from ..settings.checks import check_guidance


def guide(cond: Tensor, uncond: Tensor, weight: float) -> Tensor:
    """Conditional and unconditional log-scores [..., N] -> guided log-scores [..., N]."""
    check_guidance(weight)
    if weight == 0.0:
        return cond
    if cond.shape != uncond.shape:
        raise InputError(f"conditional {tuple(cond.shape)} and unconditional {tuple(uncond.shape)} differ")
    mixed = cond + weight * (cond - uncond)  # [..., N]
    total = torch.logsumexp(cond, -1, keepdim=True) - torch.logsumexp(mixed, -1, keepdim=True)  # [..., 1]
    return mixed + total  # [..., N]
