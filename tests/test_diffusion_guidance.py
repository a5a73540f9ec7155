"""Classifier-free guidance on log-scores, and the Style-DiT's guided score function."""

import pytest
import torch

from imagintalk.diffusion.guidance import guide
from imagintalk.errors import InputError
from imagintalk.models.style_dit import StyleDiT
from imagintalk.settings.dit import dit_preset


def log_scores(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * 2 + 3  # [..., N]


def test_guidance_draws_from_the_ratio_and_keeps_the_total_score():
    cond, uncond = log_scores((2, 3, 7), 0), log_scores((2, 3, 7), 1)
    for w in (0.5, 2.0):
        guided = guide(cond, uncond, w)
        torch.testing.assert_close(torch.logsumexp(guided, -1), torch.logsumexp(cond, -1))
        # p_w ∝ p_c^(1 + w) / p_u^w, with p_c, p_u the normalised conditionals
        p_c, p_u = torch.softmax(cond, -1), torch.softmax(uncond, -1)
        expected = p_c ** (1 + w) / p_u**w
        torch.testing.assert_close(torch.softmax(guided, -1), expected / expected.sum(-1, keepdim=True))


def test_no_weight_or_no_difference_changes_nothing():
    cond, uncond = log_scores((4, 9), 2), log_scores((4, 9), 3)
    assert guide(cond, uncond, 0.0) is cond
    torch.testing.assert_close(guide(cond, cond + 5.0, 3.0), cond)  # same conditional, other rate


def test_bad_weights_and_shapes_are_refused():
    cond = log_scores((2, 5), 4)
    for w in (-0.1, float("nan"), float("inf")):
        with pytest.raises(InputError, match="guidance"):
            guide(cond, cond, w)
    with pytest.raises(InputError):
        guide(cond, cond[:1], 1.0)


def test_the_dit_guided_score_is_one_batch_of_conditional_and_null_passes():
    cfg = dit_preset("debug")
    dit = StyleDiT(cfg).eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # a network whose output depends on its conditions
        for p in dit.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.05)
    b, t = 2, 6
    x = torch.randint(0, cfg.cardinality + 1, (b, cfg.num_codebooks, t), generator=gen)
    sigma = torch.tensor([0.5, 2.0])
    c_lip, c_id = torch.randn(b, t, cfg.lip_dim, generator=gen), torch.randn(b, cfg.id_dim, generator=gen)
    c_emo = torch.randn(b, t, cfg.emo_dim, generator=gen)
    with torch.no_grad():
        cond = dit(x, sigma, c_lip, c_id, c_emo)
        null = dit(x, sigma, torch.zeros_like(c_lip), torch.zeros_like(c_id), torch.zeros_like(c_emo))
        guided = dit.score_fn(c_lip, c_id, c_emo, guidance=1.5)(x, sigma)
        plain = dit.score_fn(c_lip, c_id, c_emo)(x, sigma)
    torch.testing.assert_close(plain, cond)
    torch.testing.assert_close(guided, guide(cond, null, 1.5), rtol=1e-4, atol=1e-4)
    assert not torch.allclose(guided, cond)
    with pytest.raises(InputError, match="guidance"):
        dit.score_fn(c_lip, c_id, c_emo, guidance=-1.0)
