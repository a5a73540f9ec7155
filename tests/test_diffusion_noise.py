"""The log-linear noise schedule and the training-time sampler."""

import math

import pytest
import torch

from imagintalk.diffusion import LogLinearNoise, get_noise, sample_times
from imagintalk.errors import InputError


def test_loglinear_values_at_known_times():
    noise = LogLinearNoise(eps=1e-3)
    t = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    sigma, rate = noise(t)
    assert sigma.tolist() == pytest.approx([0.0, -math.log(1 - 0.999 * 0.5), -math.log(1e-3)], rel=1e-12)
    assert rate.tolist() == pytest.approx([0.999, 0.999 / (1 - 0.4995), 0.999 / 1e-3], rel=1e-12)
    # masking probability (1 - eps) t is exactly 1 - exp(-sigma(t))
    assert noise.mask_probability(t).tolist() == pytest.approx((1 - torch.exp(-sigma)).tolist(), abs=1e-12)


def test_rate_is_the_derivative_of_total_noise():
    noise = LogLinearNoise(eps=1e-3)
    t = torch.linspace(0.01, 0.99, 50, dtype=torch.float64)
    h = 1e-6
    finite_difference = (noise.total_noise(t + h) - noise.total_noise(t - h)) / (2 * h)
    torch.testing.assert_close(finite_difference, noise.rate_noise(t), rtol=1e-6, atol=0)


def test_noise_registry_and_bad_arguments():
    assert isinstance(get_noise("loglinear", eps=1e-2), LogLinearNoise)
    with pytest.raises(InputError, match="unknown noise schedule"):
        get_noise("cosine-ish")
    with pytest.raises(InputError, match="0 < eps < 1"):
        LogLinearNoise(eps=0.0)


def test_sample_times_range_determinism_and_stratification():
    t1 = sample_times(64, torch.Generator().manual_seed(3), eps=1e-3)
    t2 = sample_times(64, torch.Generator().manual_seed(3), eps=1e-3)
    assert torch.equal(t1, t2)
    assert t1.min() >= 1e-3 and t1.max() <= 1.0
    # stratified: exactly one sample in each of the 64 equal bins of [eps, 1]
    bins = ((t1 - 1e-3) / (1 - 1e-3) * 64).floor().long().clamp(max=63)
    assert sorted(bins.tolist()) == list(range(64))
    plain = sample_times(64, torch.Generator().manual_seed(3), antithetic=False)
    assert not torch.equal(plain, t1)
