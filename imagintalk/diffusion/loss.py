"""The score-entropy training loss for absorbing discrete diffusion over RVQ tokens.

Token layout: clean tokens x0 [B, K, T] (K RVQ levels, T frames) and the network's log-scores
[B, K, T, N] (one head per level, N = codebook cardinality). The loss treats every
(level, frame) pair as one position: any position dims [B, *P] work, e.g. [B, L] with
L = K * T flattened. Only tensor math here: the network enters as a callable.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..errors import InputError
from .graph import AbsorbingGraph
from .noise import Noise, sample_times

# score_fn(x_t [B, *P] long, sigma [B]) -> log-scores [B, *P, N]
ScoreFn = Callable[[Tensor, Tensor], Tensor]


def score_entropy_loss(
    log_score: Tensor,
    x0: Tensor,
    xt: Tensor,
    sigma: Tensor,
    dsigma: Tensor,
    valid: Tensor | None = None,
) -> Tensor:
    """Per-sample diffusion loss [B]: sum over masked positions of dsigma/dt * score entropy.

    log_score [B, *P, N] log-scores for the N codebook entries; x0 [B, *P] clean tokens
    (0..N-1); xt [B, *P] corrupted tokens (mask id = N); sigma [B], dsigma [B] the noise level
    and its rate at the sampled t; valid [B, *P] bool (or broadcastable, e.g. [B, 1, T]) marks
    real tokens, False for padding. Weighting by dsigma/dt makes E_t[loss] the
    denoising-score-entropy bound on -log p(x0) (Lou et al. 2024). Divide by the number of
    valid tokens for a per-token value.
    """
    num_codes = log_score.shape[-1]
    if log_score.shape[:-1] != x0.shape or xt.shape != x0.shape:
        raise InputError(
            f"score-entropy loss: log_score {tuple(log_score.shape)}, x0 {tuple(x0.shape)} and "
            f"xt {tuple(xt.shape)} must agree on [B, *positions]"
        )
    if x0.numel() and (int(x0.min()) < 0 or int(x0.max()) >= num_codes):
        raise InputError(f"clean tokens must lie in 0..{num_codes - 1} (the mask id {num_codes} is not data)")
    graph = AbsorbingGraph(num_codes)
    entropy = graph.score_entropy(log_score, sigma, xt, x0)  # [B, *P]
    if valid is not None:
        entropy = entropy * valid.to(entropy.dtype)
    weighted = dsigma.reshape(-1, *([1] * (entropy.dim() - 1))) * entropy  # [B, *P]
    return weighted.reshape(weighted.shape[0], -1).sum(dim=-1)  # [B]


def diffusion_loss(
    score_fn: ScoreFn,
    x0: Tensor,
    cardinality: int,
    noise: Noise,
    generator: torch.Generator | None = None,
    valid: Tensor | None = None,
    t_eps: float = 1e-3,
) -> tuple[Tensor, Tensor]:
    """One Monte-Carlo draw of the training loss for clean tokens x0 [B, *P] in 0..cardinality-1.

    Samples t [B] in [t_eps, 1] (stratified over the batch), corrupts x0 with the absorbing
    graph (mask id = cardinality) and evaluates ``score_fn`` (the network with its conditions
    bound) on the corrupted tokens. Returns (per-sample loss [B], t [B]).
    """
    graph = AbsorbingGraph(cardinality)
    t = sample_times(x0.shape[0], generator, eps=t_eps, device=x0.device)  # [B]
    sigma, dsigma = noise(t)  # [B], [B]
    xt = graph.sample_transition(x0, sigma, generator)  # [B, *P]
    log_score = score_fn(xt, sigma)  # [B, *P, N]
    return score_entropy_loss(log_score, x0, xt, sigma, dsigma, valid), t
