"""Absorbing graph: corruption, score entropy, reverse-step probabilities, denoising."""

import math

import pytest
import torch

from imagintalk.diffusion import AbsorbingGraph, log_expm1, score_entropy_loss
from imagintalk.errors import InputError


def test_log_expm1_matches_float64_reference():
    sigma64 = torch.logspace(-6, math.log10(20.0), 400, dtype=torch.float64)
    reference = torch.log(torch.expm1(sigma64))
    got = log_expm1(sigma64.float()).double()
    assert ((got - reference).abs() / reference.abs().clamp(min=1.0)).max() < 2e-6


def test_forward_corruption_masks_with_the_schedule_probability():
    graph = AbsorbingGraph(cardinality=16)
    x0 = torch.randint(0, 16, (4, 20000), generator=torch.Generator().manual_seed(0))
    sigma = torch.tensor([0.05, 0.5, 1.0, 3.0])
    xt = graph.sample_transition(x0, sigma, torch.Generator().manual_seed(1))
    masked = xt == graph.mask_id
    expected = 1 - torch.exp(-sigma)
    # binomial standard error <= sqrt(0.25 / 20000) = 0.0035; allow 4 of them
    assert (masked.float().mean(dim=1) - expected).abs().max() < 0.014
    assert torch.equal(xt[~masked], x0[~masked])  # unmasked tokens are untouched
    again = graph.sample_transition(x0, sigma, torch.Generator().manual_seed(1))
    assert torch.equal(xt, again)


def _direct_score_entropy(log_score, sigma, xt, x0, mask_id):
    """sum_y [s_y - r_y log s_y + r_y (log r_y - 1)], element by element, plain floats."""
    out = []
    for b in range(len(xt)):
        row = []
        for i in range(len(xt[b])):
            if xt[b][i] != mask_id:
                row.append(0.0)
                continue
            total = 0.0
            for y in range(mask_id):
                s = math.exp(log_score[b][i][y])
                r = math.exp(-sigma[b]) / (1 - math.exp(-sigma[b])) if y == x0[b][i] else 0.0
                k = r * (math.log(r) - 1) if r > 0 else 0.0
                total += s - r * math.log(s) + k
            row.append(total)
        out.append(row)
    return out


def test_score_entropy_against_a_direct_computation():
    mask = 3
    log_score = [
        [[0.1, -0.4, 0.7], [0.0, 0.0, 0.0], [-1.2, 2.0, 0.3], [0.5, 0.5, -3.0]],
        [[1.5, -0.2, -0.9], [-2.0, 0.4, 1.1], [0.2, 0.2, 0.2], [-0.3, 0.8, 0.1]],
    ]
    x0 = [[2, 0, 1, 0], [0, 2, 1, 1]]
    xt = [[mask, 0, mask, mask], [mask, mask, 1, mask]]
    sigma = [0.3, 2.2]
    dsigma = [1.7, 0.4]
    direct = _direct_score_entropy(log_score, sigma, xt, x0, mask)
    graph = AbsorbingGraph(3)
    got = graph.score_entropy(
        torch.tensor(log_score), torch.tensor(sigma), torch.tensor(xt), torch.tensor(x0)
    )
    torch.testing.assert_close(got, torch.tensor(direct), rtol=1e-5, atol=1e-5)
    loss = score_entropy_loss(
        torch.tensor(log_score), torch.tensor(x0), torch.tensor(xt), torch.tensor(sigma), torch.tensor(dsigma)
    )
    expected = [dsigma[b] * sum(direct[b]) for b in range(2)]
    torch.testing.assert_close(loss, torch.tensor(expected), rtol=1e-5, atol=1e-5)
    # padding: a position marked invalid does not count
    valid = torch.ones(2, 4, dtype=torch.bool)
    valid[0, 2] = False
    padded = score_entropy_loss(
        torch.tensor(log_score),
        torch.tensor(x0),
        torch.tensor(xt),
        torch.tensor(sigma),
        torch.tensor(dsigma),
        valid,
    )
    assert padded[0] == pytest.approx(dsigma[0] * (direct[0][0] + direct[0][3]), rel=1e-5)


def test_loss_is_zero_at_the_true_ratios_and_positive_otherwise():
    n, sigma = 5, torch.tensor([0.7])
    x0 = torch.tensor([[3, 1]])
    xt = torch.tensor([[n, n]])
    r = 1 / math.expm1(0.7)
    true_log = torch.full((1, 2, n), -60.0)  # e^-60 ~ 0: the ratio of every other token
    true_log[0, 0, 3] = true_log[0, 1, 1] = math.log(r)
    at_truth = score_entropy_loss(true_log, x0, xt, sigma, torch.ones(1))
    assert at_truth.item() == pytest.approx(0.0, abs=1e-6)
    for perturbation in (0.3, -0.3):
        off = true_log.clone()
        off[0, 0, 3] += perturbation
        assert score_entropy_loss(off, x0, xt, sigma, torch.ones(1)).item() > 1e-3


def test_expected_loss_is_minimal_at_the_true_conditional_ratios():
    # x0 ~ p at one masked position: E_x0[loss] is minimised by s = p / (e^sigma - 1)
    p = torch.tensor([0.1, 0.6, 0.3])
    sigma = torch.tensor([1.3])

    def expected_loss(log_score):
        xt = torch.tensor([[3]])
        return sum(
            p[y] * score_entropy_loss(log_score.view(1, 1, 3), torch.tensor([[y]]), xt, sigma, torch.ones(1))
            for y in range(3)
        ).item()

    truth = torch.log(p) - math.log(math.expm1(1.3))
    best = expected_loss(truth)
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        assert expected_loss(truth + 0.2 * torch.randn(3, generator=gen)) > best


def test_normalised_parameterisation_turns_the_loss_into_weighted_cross_entropy():
    graph = AbsorbingGraph(6)
    logits = torch.randn(2, 3, 6, generator=torch.Generator().manual_seed(0))
    sigma = torch.tensor([0.01, 4.0])
    log_score = graph.log_score_from_logits(logits, sigma)
    torch.testing.assert_close(log_score.logsumexp(-1), -log_expm1(sigma)[:, None].expand(2, 3))
    x0 = torch.tensor([[0, 5, 2], [1, 1, 4]])
    xt = torch.full_like(x0, 6)
    loss = score_entropy_loss(log_score, x0, xt, sigma, torch.ones(2))
    cross_entropy = -torch.log_softmax(logits, -1).gather(-1, x0[..., None]).squeeze(-1).sum(-1)
    torch.testing.assert_close(loss, cross_entropy / torch.expm1(sigma), rtol=1e-4, atol=1e-4)


def test_analytic_step_matches_bayes_on_the_forward_marginals():
    p0 = torch.tensor([0.2, 0.5, 0.3])  # clean conditional at one masked position
    sigma_t, sigma_s = torch.tensor([1.5]), torch.tensor([0.6])
    graph = AbsorbingGraph(3)
    log_score = (torch.log(p0) - math.log(math.expm1(1.5))).view(1, 1, 3)
    probs = graph.analytic_probs(log_score, sigma_t, sigma_s)[0, 0]
    # Bayes: P(x_s = y | x_t = mask) = p0(y) e^-s (1 - e^-(t-s)) / (1 - e^-t); P(stay) = (1-e^-s)/(1-e^-t)
    a, b = 1.5, 0.6
    expected = [p * math.exp(-b) * (1 - math.exp(-(a - b))) / (1 - math.exp(-a)) for p in p0.tolist()]
    expected.append((1 - math.exp(-b)) / (1 - math.exp(-a)))
    torch.testing.assert_close(probs, torch.tensor(expected), rtol=1e-5, atol=1e-6)
    # Euler is its first-order version: close for a small step
    dt = 1e-3
    euler = graph.euler_probs(log_score, torch.tensor([2.0]), dt)[0, 0]
    exact = graph.analytic_probs(log_score, sigma_t, sigma_t - 2.0 * dt)[0, 0]
    torch.testing.assert_close(euler, exact, rtol=5e-3, atol=1e-6)


def test_step_and_denoise_only_touch_masked_positions():
    graph = AbsorbingGraph(4)
    xt = torch.tensor([[4, 1, 4, 3, 4]])
    log_score = torch.log(torch.tensor([0.1, 0.2, 0.3, 0.4])).expand(1, 5, 4)
    gen = torch.Generator().manual_seed(0)
    stepped = graph.step(xt, graph.analytic_probs(log_score, torch.tensor([1.0]), torch.tensor([0.5])), gen)
    assert stepped[0, 1] == 1 and stepped[0, 3] == 3
    for mode in ("sample", "argmax"):
        clean = graph.denoise(log_score, xt, mode, gen)
        assert (clean != 4).all() and clean[0, 1] == 1 and clean[0, 3] == 3
    assert (graph.denoise(log_score, xt, "argmax")[0, [0, 2, 4]] == 3).all()
    with pytest.raises(InputError, match="denoise mode"):
        graph.denoise(log_score, xt, "mean")


def test_loss_rejects_mask_ids_in_clean_tokens_and_shape_mismatch():
    log_score = torch.zeros(1, 2, 3)
    with pytest.raises(InputError, match="clean tokens"):
        score_entropy_loss(
            log_score, torch.tensor([[0, 3]]), torch.tensor([[3, 3]]), torch.ones(1), torch.ones(1)
        )
    with pytest.raises(InputError, match="must agree"):
        score_entropy_loss(log_score, torch.tensor([[0]]), torch.tensor([[3]]), torch.ones(1), torch.ones(1))
