"""Reverse-diffusion samplers for absorbing discrete diffusion: step rules registered by name.

One walk (:func:`sample`) takes t from 1 to eps in equal steps and denoises at eps; a sampler is
the rule that moves the tokens in one step, registered with :func:`register_sampler`. The network
enters only through ``score_fn(x [B, *P] long, sigma [B]) -> log-scores [B, *P, N]`` (mask id =
N = cardinality): all control flow lives here, outside the network, which keeps the network
exportable (ONNX) and lets the caller bind its conditions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from tqdm import tqdm

from ..errors import InputError
from ..settings.checks import check_temperature
from .graph import AbsorbingGraph, sample_categorical
from .noise import LogLinearNoise, Noise

ScoreFn = Callable[[Tensor, Tensor], Tensor]


@dataclass
class SamplingResult:
    tokens: Tensor  # [B, *P] long, no mask id left
    network_calls: int  # how often score_fn actually ran (steps + 1 at most)
    steps: int  # reverse steps taken (fewer than asked once nothing is masked), without the denoise


@dataclass
class Step:
    """What a step rule sees of one reverse step from t to s < t."""

    graph: AbsorbingGraph
    x: Tensor  # [B, *P] long, the current tokens (mask id where masked)
    log_score: Tensor  # [B, *P, N] tempered log-scores at (x, sigma_t)
    sigma_t: Tensor  # [B] total noise at t
    sigma_s: Tensor  # [B] total noise at s
    rate_t: Tensor  # [B] d sigma / dt at t
    dt: float  # t - s
    keep: Tensor  # [B] share of the current masks that stays masked at s (0 on the last step)
    generator: torch.Generator | None


StepRule = Callable[[Step], Tensor]  # Step -> the tokens at s [B, *P]
SAMPLERS: dict[str, StepRule] = {}


def register_sampler(name: str) -> Callable[[StepRule], StepRule]:
    """Function decorator: make a step rule available to :func:`sample` under ``name``."""

    def register(rule: StepRule) -> StepRule:
        if name in SAMPLERS:
            raise ValueError(f"sampler {name!r} is registered twice")
        SAMPLERS[name] = rule
        return rule

    return register


def get_sampler(name: str) -> StepRule:
    """The step rule registered as ``name``, or InputError naming the registered ones."""
    if name not in SAMPLERS:
        raise InputError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")
    return SAMPLERS[name]


class CachedScore:
    """score_fn with a one-entry cache: no network call while x_t has not changed.

    Reused: the last log-scores, shifted by log(e^sigma_old - 1) - log(e^sigma_new - 1). For the
    absorbing graph the true score is p_0(y | unmasked x_t) / (e^sigma - 1): for a fixed x_t the
    only sigma dependence is that factor, so the shift is exact for the true score and for any
    score_fn whose clean conditional ignores sigma (e.g. a network built without noise
    conditioning). For a sigma-conditioned network it assumes the network's conditional does not
    vary with sigma, which is what its training target says, but a network only approximates it.
    With ``reuse=False`` every call runs the network.
    """

    def __init__(self, score_fn: ScoreFn, graph: AbsorbingGraph, reuse: bool) -> None:
        self.score_fn, self.graph, self.reuse = score_fn, graph, reuse
        self.calls = 0
        self._x: Tensor | None = None
        self._sigma: Tensor | None = None
        self._log_score: Tensor | None = None

    def __call__(self, x: Tensor, sigma: Tensor) -> Tensor:
        if self.reuse and self._x is not None and torch.equal(x, self._x):
            return self.graph.rescale_log_score(self._log_score, self._sigma, sigma)  # [B, *P, N]
        log_score = self.score_fn(x, sigma)  # [B, *P, N]
        self.calls += 1
        self._x, self._sigma, self._log_score = x.clone(), sigma.clone(), log_score
        return log_score


def temper(log_score: Tensor, temperature: float) -> Tensor:
    """log-scores [..., N] with the clean conditional p_0(y | x_t) ∝ s_y raised to 1 / temperature.

    The total sum_y s_y is kept: it sets how fast masks leave (the schedule), while the
    temperature only reshapes which entry they become. temperature 1 = the model's own
    distribution; below 1 draws favour its likelier entries (less noise from an undertrained
    network, less diversity); towards 0 the argmax.
    """
    if temperature == 1.0:
        return log_score
    sharp = log_score / temperature  # [..., N]
    return sharp + (torch.logsumexp(log_score, -1, keepdim=True) - torch.logsumexp(sharp, -1, keepdim=True))


@register_sampler("euler")
def euler_step(step: Step) -> Tensor:
    """Euler (first-order): each mask becomes y with probability dt * dsigma * s_y (the method's)."""
    return step.graph.step(
        step.x, step.graph.euler_probs(step.log_score, step.rate_t, step.dt), step.generator
    )


@register_sampler("analytic")
def analytic_step(step: Step) -> Tensor:
    """Analytic (Tweedie): the exact P(mask -> y) = s_y (e^(sigma_t - sigma_s) - 1) instead of Euler's
    first-order approximation."""
    probs = step.graph.analytic_probs(step.log_score, step.sigma_t, step.sigma_s)  # [B, *P, N + 1]
    return step.graph.step(step.x, probs, step.generator)


def unmask_counts(masked: Tensor, keep_fraction: Tensor) -> Tensor:
    """How many masks each sample gives up this step: masked [B, *P] bool, keep_fraction [B] -> [B] long.

    ``keep_fraction`` is the share of the current masks that stays masked (0 on the last step).
    """
    n_masked = masked.reshape(masked.shape[0], -1).sum(dim=1)  # [B]
    return n_masked - torch.floor(n_masked * keep_fraction.to(n_masked.device).double()).long()  # [B]


def most_confident(confidence: Tensor, masked: Tensor, counts: Tensor) -> Tensor:
    """The ``counts`` [B] most confident masked positions of each sample -> [B, *P] bool.

    confidence [B, *P] float (higher = surer); unmasked positions are never chosen. Ties break by
    position (a stable sort), so the choice is deterministic.
    """
    batch = confidence.shape[0]
    score = confidence.float().masked_fill(~masked, -math.inf).reshape(batch, -1)  # [B, M]
    order = score.argsort(dim=1, descending=True, stable=True)  # [B, M]
    positions = torch.arange(order.shape[1], device=order.device).expand_as(order)  # [B, M]
    rank = torch.empty_like(order).scatter_(1, order, positions)  # [B, M] 0 = the surest
    return (rank < counts.unsqueeze(1)).reshape(masked.shape) & masked  # [B, *P]


@register_sampler("confidence")
def confidence_step(step: Step) -> Tensor:
    """Confidence-ordered unmasking (MaskGIT, Chang et al. 2022) over the same network and schedule.

    How many masks leave follows the noise schedule, as in expectation for Euler: of the masks at
    t, the share ``keep`` = (1 - e^-sigma(s)) / (1 - e^-sigma(t)) stays at s, and none after the
    last step. Which ones leave is not random: every mask draws a candidate from the (tempered)
    clean conditional p_0(y | x_t), and the candidates the network is surest of are kept.
    """
    masked = step.x == step.graph.mask_id  # [B, *P]
    log_p = torch.log_softmax(step.log_score.float(), dim=-1)  # [B, *P, N]
    candidate = sample_categorical(log_p.exp(), step.generator)  # [B, *P]
    confidence = log_p.gather(-1, candidate.unsqueeze(-1)).squeeze(-1)  # [B, *P]
    chosen = most_confident(confidence, masked, unmask_counts(masked, step.keep))  # [B, *P]
    return torch.where(chosen, candidate, step.x)  # [B, *P]


def _check_run(steps: int, eps: float, temperature: float, denoise: str) -> None:
    """InputError unless a walk can run with these settings."""
    if steps < 1:
        raise InputError(f"a sampler needs at least one step, got {steps}")
    check_temperature(temperature)
    if not 0.0 < eps < 1.0:
        raise InputError(f"the final time eps must lie in (0, 1), got {eps}")
    if denoise not in ("sample", "argmax"):
        raise InputError(f"unknown denoise mode {denoise!r}; choose 'sample' or 'argmax'")


def _start(
    graph: AbsorbingGraph, shape: tuple[int, ...], x_init: Tensor | None, device: torch.device | str
) -> Tensor:
    """The sampler's first state [*shape]: all masks, or ``x_init`` (checked) with its known tokens."""
    if x_init is None:
        return graph.sample_limit(tuple(shape), device)  # [B, *P] all masked
    if tuple(x_init.shape) != tuple(shape):
        raise InputError(f"x_init has shape {tuple(x_init.shape)}, expected {tuple(shape)}")
    if x_init.numel() and (int(x_init.min()) < 0 or int(x_init.max()) > graph.mask_id):
        raise InputError(f"x_init tokens must lie in 0..{graph.mask_id} (mask id {graph.mask_id})")
    return x_init.to(device=device, dtype=torch.long).clone()


def sample(
    name: str,
    score_fn: ScoreFn,
    shape: tuple[int, ...],
    cardinality: int,
    *,
    steps: int = 64,
    noise: Noise | None = None,
    eps: float = 1e-3,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    denoise: str = "sample",
    reuse_scores: bool = True,
    x_init: Tensor | None = None,
    progress: bool = False,
    temperature: float = 1.0,
) -> SamplingResult:
    """Tokens [*shape] (e.g. shape = (B, K, T)) by the step rule registered as ``name``.

    Starts from all masks (or ``x_init`` [*shape], mask id = cardinality where unknown; known
    tokens are kept), takes ``steps`` steps t: 1 -> eps (default the log-linear schedule with eps
    1e-3), then, if any mask is left, one denoising step (``denoise``: "sample" or "argmax").
    Deterministic for a ``generator`` seed. ``reuse_scores``: see :class:`CachedScore`;
    ``temperature``: see :func:`temper`.
    """
    rule = get_sampler(name)
    _check_run(steps, eps, temperature, denoise)
    graph = AbsorbingGraph(cardinality)
    noise = noise if noise is not None else LogLinearNoise()
    x = _start(graph, shape, x_init, device)
    batch = shape[0]
    scores = CachedScore(score_fn, graph, reuse_scores)
    times = torch.linspace(1.0, eps, steps + 1, dtype=torch.float64)  # [steps + 1]
    dt = (1.0 - eps) / steps

    def at(t: float) -> Tensor:
        return torch.full((batch,), t, dtype=torch.float32, device=device)  # [B]

    taken = 0
    with torch.no_grad():
        for i in tqdm(range(steps), desc="sampling", disable=not progress, leave=False):
            if not (x == graph.mask_id).any():
                break  # nothing left to unmask: the remaining steps cannot change x
            t, s = at(float(times[i])), at(float(times[i + 1]))
            sigma_t, rate_t = noise(t)  # [B], [B]
            last = i == steps - 1
            keep = (
                torch.zeros_like(sigma_t) if last else noise.mask_probability(s) / noise.mask_probability(t)
            )
            taken += 1
            log_score = temper(scores(x, sigma_t), temperature)  # [B, *P, N]
            x = rule(Step(graph, x, log_score, sigma_t, noise.total_noise(s), rate_t, dt, keep, generator))
        if (x == graph.mask_id).any():
            sigma_end = noise.total_noise(at(eps))  # [B]
            x = graph.denoise(temper(scores(x, sigma_end), temperature), x, denoise, generator)  # [B, *P]
    if (x == graph.mask_id).any():
        raise RuntimeError("sampler bug: a mask token survived the final denoising step")
    return SamplingResult(tokens=x, network_calls=scores.calls, steps=taken)
