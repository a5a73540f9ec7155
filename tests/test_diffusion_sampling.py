"""The Euler, analytic and confidence samplers: unmasking, determinism, step counts, network-call saving."""

import math

import pytest
import torch

from imagintalk.diffusion import SAMPLERS, AbsorbingGraph, sample
from imagintalk.errors import InputError

N = 4
P0 = torch.tensor([0.1, 0.2, 0.3, 0.4])  # the clean conditional of every position


class TableScore:
    """An exact, sigma-free score: positions independent with p_0 = P0 (counts its calls)."""

    def __init__(self):
        self.calls = 0
        self.graph = AbsorbingGraph(N)

    def __call__(self, x, sigma):
        self.calls += 1
        logits = torch.log(P0).expand(*x.shape, N)  # [B, K, T, N]
        return self.graph.log_score_from_logits(logits, sigma)


@pytest.mark.parametrize("name", ["euler", "analytic", "confidence"])
def test_sampler_unmasks_everything_and_is_deterministic(name):
    shape = (3, 2, 40)
    runs = [
        sample(name, TableScore(), shape, N, steps=16, generator=torch.Generator().manual_seed(s))
        for s in (7, 7, 8)
    ]
    for run in runs:
        assert run.tokens.shape == shape and run.tokens.dtype == torch.long
        assert run.tokens.min() >= 0 and run.tokens.max() < N  # no mask id (= N) left
    assert torch.equal(runs[0].tokens, runs[1].tokens)
    assert not torch.equal(runs[0].tokens, runs[2].tokens)


@pytest.mark.parametrize("name", ["euler", "analytic"])
def test_sampler_draws_from_the_score_conditional(name):
    # independent positions with an exact score: every unmasking order gives x ~ P0
    result = sample(name, TableScore(), (1, 1, 20000), N, steps=8, generator=torch.Generator().manual_seed(0))
    freq = torch.bincount(result.tokens.flatten(), minlength=N).float() / 20000
    assert (freq - P0).abs().max() < 0.015


@pytest.mark.parametrize("name", ["euler", "analytic"])
def test_steps_and_network_calls_are_reported(name):
    score = TableScore()
    shape = (2, 4, 2500)  # a token is still masked at t = eps w.p. ~eps: ~20 of 20000 reach the denoiser
    result = sample(
        name, score, shape, N, steps=10, reuse_scores=False, generator=torch.Generator().manual_seed(0)
    )
    assert result.steps == 10
    assert result.network_calls == score.calls == 11  # 10 steps + the final denoising call
    # few positions, many steps: most steps unmask nothing, and those calls are skipped
    score = TableScore()
    result = sample(name, score, (1, 1, 3), N, steps=64, generator=torch.Generator().manual_seed(0))
    assert result.network_calls == score.calls <= 4 < result.steps + 1


@pytest.mark.parametrize("name", ["euler", "analytic"])
def test_reusing_scores_is_exact_for_a_sigma_free_score(name):
    shape = (2, 3, 6)
    kwargs = {"steps": 32, "denoise": "sample"}
    reused = sample(
        name, TableScore(), shape, N, reuse_scores=True, generator=torch.Generator().manual_seed(5), **kwargs
    )
    fresh = sample(
        name, TableScore(), shape, N, reuse_scores=False, generator=torch.Generator().manual_seed(5), **kwargs
    )
    assert torch.equal(reused.tokens, fresh.tokens)
    assert reused.network_calls < fresh.network_calls


@pytest.mark.parametrize("name", ["euler", "confidence"])
def test_known_tokens_in_x_init_are_kept(name):
    x_init = torch.full((1, 2, 8), N)
    x_init[0, 0, :4] = torch.tensor([3, 3, 0, 0])  # P0 would rarely give this
    result = sample(
        name, TableScore(), (1, 2, 8), N, x_init=x_init, generator=torch.Generator().manual_seed(0)
    )
    assert torch.equal(result.tokens[0, 0, :4], torch.tensor([3, 3, 0, 0]))
    assert (result.tokens != N).all()


def test_euler_stay_probability_stays_valid_on_the_loglinear_grid():
    # with normalised scores, P(stay) = 1 - dt / t on the log-linear schedule: never negative
    from imagintalk.diffusion import LogLinearNoise

    noise, graph, steps, eps = LogLinearNoise(), AbsorbingGraph(N), 64, 1e-3
    for t in torch.linspace(1.0, eps, steps + 1)[:-1]:
        sigma, rate = noise(t.view(1))
        log_score = graph.log_score_from_logits(torch.zeros(1, 1, N), sigma)
        probs = graph.euler_probs(log_score, rate, (1 - eps) / steps)
        assert probs[0, 0, -1] >= 0 and math.isclose(probs.sum().item(), 1.0, rel_tol=1e-4)


def test_bad_sampler_arguments_are_input_errors():
    assert set(SAMPLERS) >= {"euler", "analytic"}
    with pytest.raises(InputError, match="unknown sampler"):
        sample("ddim", TableScore(), (1, 1, 2), N)
    with pytest.raises(InputError, match="at least one step"):
        sample("euler", TableScore(), (1, 1, 2), N, steps=0)
    with pytest.raises(InputError, match="x_init has shape"):
        sample("euler", TableScore(), (1, 1, 2), N, x_init=torch.zeros(1, 1, 3, dtype=torch.long))


def test_temper_sharpens_and_keeps_the_total_score():
    from imagintalk.diffusion.sampling import temper

    logits = torch.log(P0).expand(2, 1, 3, N)  # [B, K, T, N]
    log_score = AbsorbingGraph(N).log_score_from_logits(logits, torch.tensor([0.5, 2.0]))
    assert torch.equal(temper(log_score, 1.0), log_score)
    for temperature in (0.5, 2.0):
        tempered = temper(log_score, temperature)
        # same total rate out of the mask state, reshaped: p ∝ P0 ** (1 / temperature)
        assert torch.allclose(tempered.logsumexp(-1), log_score.logsumexp(-1), atol=1e-5)
        expected = torch.softmax(torch.log(P0) / temperature, -1)
        assert torch.allclose(torch.softmax(tempered, -1), expected.expand_as(tempered), atol=1e-5)


@pytest.mark.parametrize("name", ["euler", "analytic"])  # confidence: favours it at any temperature
def test_a_low_temperature_draws_the_likeliest_entry(name):
    def draw(temperature):
        gen = torch.Generator().manual_seed(0)
        return sample(name, TableScore(), (1, 1, 4000), N, steps=8, generator=gen, temperature=temperature)

    cold, warm = draw(0.05).tokens, draw(1.0).tokens
    assert (cold == N - 1).float().mean() > 0.99  # P0's largest entry
    assert (warm == N - 1).float().mean() < 0.5
    assert torch.equal(draw(0.5).tokens, draw(0.5).tokens)  # deterministic for a seed
    with pytest.raises(InputError, match="temperature"):
        draw(0.0)


class PeakedScore:
    """Position p prefers entry p % N, more surely the larger p is; records the states it sees."""

    def __init__(self, length: int):
        self.graph, self.seen = AbsorbingGraph(N), []
        peak = torch.linspace(0.5, 4.0, length)[:, None]  # p(preferred) from 0.35 to 0.95
        self.logits = torch.nn.functional.one_hot(torch.arange(length) % N, N) * peak  # [L, N]

    def __call__(self, x, sigma):
        self.seen.append(x.clone())
        return self.graph.log_score_from_logits(self.logits.expand(*x.shape, N), sigma)


def test_confidence_unmasks_as_many_as_the_schedule_and_the_surest_first():
    from imagintalk.diffusion import LogLinearNoise

    length, steps = 1000, 10
    score = PeakedScore(length)
    gen = torch.Generator().manual_seed(0)
    result = sample("confidence", score, (1, 1, length), N, steps=steps, reuse_scores=False, generator=gen)
    assert result.network_calls == result.steps == steps and (result.tokens != N).all()
    times = torch.linspace(1.0, 1e-3, steps + 1)
    noise = LogLinearNoise()
    expected = length * noise.mask_probability(times[:steps]) / noise.mask_probability(times[:1])
    masked = torch.tensor([float((x == N).sum()) for x in score.seen])  # before each step
    assert (masked - expected).abs().max() <= steps  # one floor per step at most
    # the first step kept the surest draws: the preferred entries of the most peaked positions
    first = (score.seen[1][0, 0] != N).nonzero().flatten()
    assert len(first) == length - int(masked[1]) == 100
    assert first.min() > 700 and (score.seen[1][0, 0, first] == first % N).all()
    # and it favours likely draws over the model's own distribution (unlike euler)
    chose = (result.tokens[0, 0] == torch.arange(length) % N).float().mean()
    p_preferred = (
        torch.softmax(score.logits.float(), -1).gather(1, (torch.arange(length) % N)[:, None]).mean()
    )
    assert chose > p_preferred + 0.05
