"""The absorbing-state ("mask") graph over a codebook of ``cardinality`` entries.

States 0..N-1 are codebook entries, state N (= ``mask_id``) is the absorbing mask. The
forward process jumps every token to the mask at rate dsigma/dt, independently, so at noise
level sigma a token is masked with probability 1 - exp(-sigma) and otherwise unchanged.

The concrete score of a masked position i in x_t (with the unmasked tokens as context) is,
for every y < N (Lou, Meng, Ermon 2024, eq. for absorbing graphs; Ou et al. 2024):

    s_y(x_t, sigma) = p_t(x_t with x^i = y) / p_t(x_t) = p_0(x^i = y | unmasked x_t) / (e^sigma - 1)

so the scores of one masked position sum to 1 / (e^sigma - 1), and their dependence on sigma
is the factor 1 / (e^sigma - 1) alone. Unmasked positions never change in the reverse
process (their reverse rates are zero), so their scores are never used.

Tensor layout: tokens x [B, *P] (any position dims, e.g. [B, K, T]); log-scores
[B, *P, N] over the N codebook entries (the mask itself carries no score); sigma [B].
Only tensor math here: no modules, no devices.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import InputError

# below this sigma, log(e^sigma - 1) uses its series; above it the direct form is exact in fp32
_SERIES_BELOW = 1e-2


def log_expm1(sigma: Tensor) -> Tensor:
    """log(e^sigma - 1), elementwise, sigma > 0; written with exp/log only so it exports to ONNX.

    For sigma >= 0.01: sigma + log(1 - e^-sigma) (relative fp32 error < 1e-5). Below: the
    series log(sigma) + sigma / 2 + sigma^2 / 24, whose next term (-sigma^4 / 2880) is < 4e-12.
    """
    direct = sigma + torch.log(1.0 - torch.exp(-sigma))
    series = torch.log(sigma) + sigma / 2.0 + sigma * sigma / 24.0
    return torch.where(sigma < _SERIES_BELOW, series, direct)


def per_sample(value: Tensor, like: Tensor) -> Tensor:
    """value [B] -> [B, 1, ..., 1] broadcastable against ``like`` [B, *P]."""
    return value.reshape(value.shape[0], *([1] * (like.dim() - 1)))


def uniform(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device | str) -> Tensor:
    """U(0, 1) of ``shape`` drawn on the generator's device (same numbers on any target device)."""
    gen_device = generator.device if generator is not None else "cpu"
    return torch.rand(shape, generator=generator, device=gen_device).to(device)


def sample_categorical(probs: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One draw per row of unnormalised non-negative ``probs`` [..., M] -> indices [...] (long).

    Gumbel-max: argmax(log p + G) with G = -log(-log U); a zero probability is never drawn.
    """
    u = uniform(tuple(probs.shape), generator, probs.device).clamp_(min=1e-20, max=1.0 - 1e-7)
    gumbel = -torch.log(-torch.log(u))
    return (torch.log(probs.float()) + gumbel).argmax(dim=-1)


class AbsorbingGraph:
    """Forward corruption, score entropy and reverse steps for absorbing discrete diffusion."""

    def __init__(self, cardinality: int) -> None:
        if cardinality < 1:
            raise InputError(f"the codebook cardinality must be positive, got {cardinality}")
        self.cardinality = int(cardinality)

    @property
    def mask_id(self) -> int:
        """Index of the absorbing mask token: one past the last codebook entry."""
        return self.cardinality

    @property
    def num_states(self) -> int:
        """Codebook entries plus the mask: the size of an input embedding table."""
        return self.cardinality + 1

    # ----------------------------------------------------------------- forward process
    def sample_transition(
        self, x0: Tensor, sigma: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        """x0 [B, *P] clean tokens, sigma [B] -> x_t [B, *P], each token masked w.p. 1 - e^-sigma."""
        move_chance = -torch.expm1(-per_sample(sigma, x0))  # [B, 1, ..]
        masked = uniform(tuple(x0.shape), generator, x0.device) < move_chance  # [B, *P]
        return torch.where(masked, torch.full_like(x0, self.mask_id), x0)

    def sample_limit(self, shape: tuple[int, ...], device: torch.device | str = "cpu") -> Tensor:
        """The t = 1 state: every position masked, [*shape] long."""
        return torch.full(shape, self.mask_id, dtype=torch.long, device=device)

    # ------------------------------------------------------------------- parameterisation
    def log_score_from_logits(self, logits: Tensor, sigma: Tensor) -> Tensor:
        """Network logits [B, *P, N] -> log-scores [B, *P, N] (normalised parameterisation).

        log s_y = log_softmax(logits)_y - log(e^sigma - 1): the network predicts the clean
        conditional p_0(y | unmasked x_t) and the exact sigma factor is applied analytically,
        so the scores of a masked position always sum to 1 / (e^sigma - 1), as the true ones do.
        """
        sig = sigma.reshape(sigma.shape[0], *([1] * (logits.dim() - 1)))  # [B, 1, .., 1]
        return torch.log_softmax(logits, dim=-1) - log_expm1(sig)

    def rescale_log_score(self, log_score: Tensor, sigma_old: Tensor, sigma_new: Tensor) -> Tensor:
        """Move log-scores [B, *P, N] of an UNCHANGED x_t from sigma_old [B] to sigma_new [B].

        Exact for the true score (only the factor 1 / (e^sigma - 1) depends on sigma) and for
        any network whose output conditional does not depend on sigma.
        """
        shift = log_expm1(sigma_old) - log_expm1(sigma_new)  # [B]
        return log_score + shift.reshape(shift.shape[0], *([1] * (log_score.dim() - 1)))

    # -------------------------------------------------------------------- score entropy
    def score_entropy(self, log_score: Tensor, sigma: Tensor, xt: Tensor, x0: Tensor) -> Tensor:
        """Denoising score entropy per position [B, *P] (zero where x_t is not masked).

        At a masked position with clean token x0, the target ratios are r_y = r [y = x0],
        r = p_t(x0 | x0) / p_t(mask | x0) = e^-sigma / (1 - e^-sigma) = 1 / (e^sigma - 1), and

            sum_y [ s_y - r_y log s_y + K(r_y) ],   K(a) = a (log a - 1), K(0) = 0
          = sum_y s_y - r log s_x0 + r (log r - 1)
          = r [ sum_y e^{a_y} - a_x0 - 1 ]          with a_y = log s_y - log r,

        the last form being the one computed: it is >= 0 term by term and has no large
        cancelling terms when r is large (small sigma). It is 0 iff s = r one-hot(x0).
        """
        log_r = -log_expm1(sigma)  # [B]
        a = log_score.float() - per_sample(log_r, log_score)  # [B, *P, N]
        a_x0 = torch.gather(a, -1, x0.clamp(max=self.cardinality - 1).unsqueeze(-1)).squeeze(-1)
        # sum_y e^a - 1 - a_x0, with expm1 so that a near-perfect score gives an accurate ~0
        entropy = torch.expm1(torch.logsumexp(a, dim=-1)) - a_x0  # [B, *P]
        entropy = per_sample(torch.exp(log_r), xt) * entropy
        return torch.where(xt == self.mask_id, entropy, torch.zeros_like(entropy))

    # ------------------------------------------------------------------ reverse process
    def euler_probs(self, log_score: Tensor, rate: Tensor, dt: float) -> Tensor:
        """First-order (Euler) reverse step over dt for masked positions -> probs [B, *P, N + 1].

        The reverse rate from the mask to y is (dsigma/dt) s_y, so over dt:
            P(mask -> y) = dt * dsigma/dt * s_y,   P(stay masked) = 1 - sum_y P(mask -> y),
        the stay probability clamped at 0. Entry N (the mask id) holds the stay probability.
        """
        move = per_sample(rate * dt, log_score[..., 0]).unsqueeze(-1) * log_score.float().exp()
        return self._with_stay(move)

    def analytic_probs(self, log_score: Tensor, sigma_t: Tensor, sigma_s: Tensor) -> Tensor:
        """Exact (Tweedie) reverse step from sigma_t to sigma_s < sigma_t -> probs [B, *P, N + 1].

        With p_0(y | x_t) = s_y (e^sigma_t - 1) and the forward marginals,
            P(mask -> y)   = p_0(y) e^-sigma_s (1 - e^-(sigma_t - sigma_s)) / (1 - e^-sigma_t)
                           = s_y (e^(sigma_t - sigma_s) - 1),
            P(stay masked) = (1 - e^-sigma_s) / (1 - e^-sigma_t) = 1 - sum_y P(mask -> y)
        (exact when the scores sum to 1 / (e^sigma_t - 1), as they do in the normalised
        parameterisation). sigma_s = 0 gives the final denoising step: stay probability 0.
        """
        factor = torch.expm1(sigma_t - sigma_s)  # [B]
        move = per_sample(factor, log_score[..., 0]).unsqueeze(-1) * log_score.float().exp()
        return self._with_stay(move)

    @staticmethod
    def _with_stay(move: Tensor) -> Tensor:
        stay = (1.0 - move.sum(dim=-1, keepdim=True)).clamp(min=0.0)  # [B, *P, 1]
        return torch.cat([move, stay], dim=-1)  # [B, *P, N + 1]

    def step(self, xt: Tensor, probs: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Draw the next state [B, *P]: masked positions move by ``probs``, the others stay."""
        proposal = sample_categorical(probs, generator)  # [B, *P], N means "stay masked"
        return torch.where(xt == self.mask_id, proposal, xt)

    def denoise(
        self, log_score: Tensor, xt: Tensor, mode: str = "sample", generator: torch.Generator | None = None
    ) -> Tensor:
        """Unmask every remaining mask [B, *P] from the clean conditional p_0(y | x_t) ∝ s_y.

        This is the analytic step to sigma = 0 (its stay probability is 0); ``mode`` is
        "sample" (a draw) or "argmax" (the most likely entry).
        """
        if mode == "argmax":
            proposal = log_score.argmax(dim=-1)  # [B, *P]
        elif mode == "sample":
            proposal = sample_categorical(torch.softmax(log_score.float(), dim=-1), generator)
        else:
            raise InputError(f"unknown denoise mode {mode!r}; choose 'sample' or 'argmax'")
        return torch.where(xt == self.mask_id, proposal, xt)
