"""Absorbing-state discrete diffusion (score entropy): schedule, graph, loss, samplers.

Tensor math only (no nn.Module, no devices chosen here); the network enters as a callable
``score_fn(x [B, K, T] long, sigma [B]) -> log-scores [B, K, T, N]`` with mask id N.
"""

from .graph import AbsorbingGraph, log_expm1, sample_categorical
from .guidance import check_guidance, guide
from .loss import diffusion_loss, score_entropy_loss
from .noise import NOISES, LogLinearNoise, Noise, get_noise, register_noise, sample_times
from .sampling import SAMPLERS, CachedScore, SamplingResult, get_sampler, register_sampler, sample

__all__ = [
    "NOISES",
    "SAMPLERS",
    "AbsorbingGraph",
    "CachedScore",
    "LogLinearNoise",
    "Noise",
    "SamplingResult",
    "check_guidance",
    "diffusion_loss",
    "get_noise",
    "get_sampler",
    "guide",
    "log_expm1",
    "register_noise",
    "register_sampler",
    "sample",
    "sample_categorical",
    "sample_times",
    "score_entropy_loss",
]
