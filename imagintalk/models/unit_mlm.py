"""The unit masked LM: a RoBERTa (the project's own, ``roberta.py``; no hub) over semantic-unit sequences.

Token ids (vocabulary U + 4):

    0 PAD   1 MASK   2 BOS   3 EOS   4 .. 4 + U - 1  unit u = token u + 4

A sequence of T units [B, T] becomes [BOS, u_0 + 4, ..., u_{n-1} + 4, EOS, PAD, ...] [B, T + 2]
(right padding). Position ids follow RoBERTa's convention (real tokens count from PAD + 1,
padding takes the PAD row) but are passed explicitly, computed from the attention mask, so
no token-id heuristic decides them: max_position_embeddings = max_units + 2 (BOS, EOS) + 1.
The logits returned are over the U real units only (special tokens are never predicted).

Training (``mlm_loss``): positions are selected either i.i.d. (BERT) or in contiguous spans
(lip-reading errors come in runs: a unit lasts ~3-6 steps at 50 Hz), then 80 % become MASK,
10 % a random unit, 10 % stay; cross-entropy on the selected positions.
Refinement (``refine``): flagged positions become MASK, one forward pass, argmax over units at
the flagged positions only; with ``refine_passes`` K > 1, K passes each fill the most
confident share of what is still masked. ``refine_with_visual_prior`` adds weight x the
aligner's cosine log-probs to the MLM log-probs before the argmax.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import InputError
from ..settings.semantic import UnitMLMConfig
from .roberta import RobertaMaskedLM, RobertaSpec

PAD_ID, MASK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
UNIT_OFFSET = 4  # token id of unit 0
RANDOM_TOKEN_SHARE, KEEP_SHARE = 0.1, 0.1  # BERT's 80 / 10 / 10 split of the selected positions


def select_positions(
    attention_mask: Tensor,
    mask_prob: float,
    span_fraction: float,
    span_min: int,
    span_max: int,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Positions to corrupt, bool [B, T], among real steps (attention_mask [B, T] bool).

    A share ``span_fraction`` of the sequences get contiguous spans (lengths uniform in
    [span_min, span_max], starts at rate mask_prob / mean length, so ~mask_prob is covered),
    the others i.i.d. positions with probability mask_prob. Every sequence with a real step
    gets at least one position, so the loss is never empty.
    """
    b, t = attention_mask.shape
    device = attention_mask.device
    iid = torch.rand(b, t, generator=generator, device=device) < mask_prob  # [B, T]
    mean_span = 0.5 * (span_min + span_max)
    starts = torch.rand(b, t, generator=generator, device=device) < mask_prob / mean_span  # [B, T]
    lengths = torch.randint(span_min, span_max + 1, (b, t), generator=generator, device=device)  # [B, T]
    # coverage by a difference array: +1 at each span start, -1 just after its end
    diff = torch.zeros(b, t + span_max + 1, device=device)  # [B, T + span_max + 1]
    steps = torch.arange(t, device=device).expand(b, t)  # [B, T]
    diff.scatter_add_(1, steps, starts.float())
    diff.scatter_add_(1, steps + lengths, -starts.float())
    spans = diff.cumsum(dim=1)[:, :t] > 0.5  # [B, T]
    use_spans = torch.rand(b, 1, generator=generator, device=device) < span_fraction  # [B, 1]
    selected = torch.where(use_spans, spans, iid) & attention_mask  # [B, T]
    # a sequence left without a selected step gets one random real step
    empty = attention_mask.any(dim=1) & ~selected.any(dim=1)  # [B]
    scores = torch.rand(b, t, generator=generator, device=device).masked_fill(~attention_mask, -1.0)  # [B, T]
    pick = F.one_hot(scores.argmax(dim=1), t).bool() & empty.unsqueeze(1)  # [B, T]
    return selected | pick


class UnitMLM(nn.Module):
    """RoBERTa masked LM over unit ids (see module doc for the token layout).

    ``roberta``: :class:`RobertaMaskedLM`, named as transformers' RobertaForMaskedLM, so the
    state dict keys (``roberta.roberta.…``, ``roberta.lm_head.…``) are those of every saved model.
    """

    def __init__(self, cfg: UnitMLMConfig, num_units: int, seed: int = 0) -> None:
        super().__init__()
        cfg.validate()
        if num_units < 2:
            raise InputError(f"the unit MLM needs at least 2 units, got {num_units}")
        self.cfg, self.num_units = cfg, num_units
        self.roberta_config = RobertaSpec(
            vocab_size=num_units + UNIT_OFFSET,
            hidden_size=cfg.hidden_size,
            num_layers=cfg.num_layers,
            num_heads=cfg.num_heads,
            intermediate_size=cfg.intermediate_size,
            max_position_embeddings=cfg.max_units + 2 + PAD_ID + 1,
            pad_id=PAD_ID,
            dropout=cfg.dropout,
        )
        with torch.random.fork_rng(devices=[]):  # the init draws from the global RNG
            torch.manual_seed(seed)
            self.roberta = RobertaMaskedLM(self.roberta_config)

    @classmethod
    def from_config(cls, cfg: UnitMLMConfig, num_units: int, seed: int = 0) -> UnitMLM:
        return cls(cfg, num_units, seed)

    # -- inputs -------------------------------------------------------------------------------

    def _real_steps(self, units: Tensor, attention_mask: Tensor | None) -> Tensor:
        """Check units [B, T] and the right-padded mask; -> attention mask [B, T] bool (True = real)."""
        if units.dim() != 2 or units.dtype != torch.long:
            raise InputError(f"units must be long [B, T], got {units.dtype} {tuple(units.shape)}")
        if attention_mask is None:
            return torch.ones_like(units, dtype=torch.bool)
        if attention_mask.shape != units.shape:
            raise InputError(
                f"attention_mask {tuple(attention_mask.shape)} must match units {tuple(units.shape)}"
            )
        real = attention_mask.bool()  # [B, T]
        lengths = real.sum(dim=1, keepdim=True)  # [B, 1]
        if not torch.equal(real, torch.arange(units.shape[1], device=units.device) < lengths):
            raise InputError("attention_mask must be right-padded: real steps first, then padding")
        return real

    def _check_units(self, units: Tensor, real: Tensor) -> None:
        values = units[real]
        if values.numel() and (int(values.min()) < 0 or int(values.max()) >= self.num_units):
            raise InputError(f"units must lie in 0..{self.num_units - 1}")

    def build_tokens(
        self, units: Tensor, real: Tensor, masked: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """units [B, T], real [B, T] bool, masked [B, T] bool -> (token ids, attention mask) [B, T + 2]."""
        b = units.shape[0]
        body = torch.where(real, units + UNIT_OFFSET, torch.full_like(units, PAD_ID))  # [B, T]
        if masked is not None:
            body = torch.where(masked & real, torch.full_like(units, MASK_ID), body)  # [B, T]
        bos = torch.full((b, 1), BOS_ID, dtype=torch.long, device=units.device)  # [B, 1]
        pad = torch.full((b, 1), PAD_ID, dtype=torch.long, device=units.device)  # [B, 1]
        tokens = torch.cat([bos, body, pad], dim=1)  # [B, T + 2]
        eos_at = real.sum(dim=1, keepdim=True) + 1  # [B, 1] just after the last real unit
        tokens = tokens.scatter(1, eos_at, EOS_ID)  # [B, T + 2]
        return tokens, tokens != PAD_ID

    def token_logits(self, tokens: Tensor, token_mask: Tensor) -> Tensor:
        """tokens [B, L], token_mask [B, L] bool -> logits over the U units [B, L, U]."""
        keep = token_mask.long()  # [B, L]
        positions = keep.cumsum(dim=1) * keep + PAD_ID  # [B, L] RoBERTa's numbering, made explicit
        logits = self.roberta(tokens, keep, positions)  # [B, L, U + 4]
        return logits[..., UNIT_OFFSET:]  # [B, L, U] special tokens excluded

    def forward(
        self, unit_ids: Tensor, attention_mask: Tensor | None = None, masked: Tensor | None = None
    ) -> Tensor:
        """unit_ids [B, T] long, attention_mask [B, T] (True/1 = real), masked [B, T] bool -> [B, T, U].

        ``masked`` positions are replaced by the MASK token; T must not exceed cfg.max_units.
        """
        if unit_ids.dim() == 2 and unit_ids.shape[1] > self.cfg.max_units:
            raise InputError(f"{unit_ids.shape[1]} units exceed mlm.max_units = {self.cfg.max_units}")
        real = self._real_steps(unit_ids, attention_mask)  # [B, T]
        self._check_units(unit_ids, real)
        tokens, token_mask = self.build_tokens(unit_ids, real, masked)  # 2 x [B, T + 2]
        return self.token_logits(tokens, token_mask)[:, 1:-1]  # [B, T, U] BOS and the last slot dropped

    # -- training -----------------------------------------------------------------------------

    def mlm_loss(
        self,
        units: Tensor,
        attention_mask: Tensor | None = None,
        mask_prob: float | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Masked-LM loss on units [B, T] (attention_mask True/1 = real) -> (loss, accuracy) scalars.

        Selection: cfg.span_fraction of the sequences in spans, the rest i.i.d. (mask_prob,
        default cfg.mask_prob); then BERT's 80 % MASK / 10 % random unit / 10 % unchanged.
        """
        real = self._real_steps(units, attention_mask)  # [B, T]
        self._check_units(units, real)
        cfg = self.cfg
        prob = cfg.mask_prob if mask_prob is None else mask_prob
        selected = select_positions(real, prob, cfg.span_fraction, cfg.span_min, cfg.span_max, generator)
        action = torch.rand(units.shape, generator=generator, device=units.device)  # [B, T]
        to_mask = selected & (action < 1.0 - RANDOM_TOKEN_SHARE - KEEP_SHARE)  # [B, T]
        to_random = selected & ~to_mask & (action < 1.0 - KEEP_SHARE)  # [B, T]
        random_units = torch.randint(0, self.num_units, units.shape, generator=generator, device=units.device)
        inputs = torch.where(to_random, random_units, units)  # [B, T]
        logits = self(inputs, real, to_mask)  # [B, T, U]
        targets = units[selected]  # [N]
        if targets.numel() == 0:  # only all-padding batches get here
            zero = logits.sum() * 0.0
            return zero, zero.detach()
        picked = logits[selected]  # [N, U]
        loss = F.cross_entropy(picked, targets)
        accuracy = (picked.argmax(dim=-1) == targets).float().mean()
        return loss, accuracy.detach()

    # -- refinement ---------------------------------------------------------------------------

    def refine_with_visual_prior(
        self,
        units: Tensor,
        flagged: Tensor,
        visual_logits: Tensor,
        attention_mask: Tensor | None = None,
        weight: float | Tensor | None = None,
    ) -> Tensor:
        """refine() scoring flagged steps by log p_MLM(u) + weight * log p_lip(u).

        visual_logits [B, T, U]: the aligner's cosine logits (cos / temperature); weight
        defaults to cfg.visual_prior_weight (0 = MLM only, large = the aligner's own argmax),
        or is given per step as [B, T] (e.g. lighter where the front door saw no face).
        """
        w = self.cfg.visual_prior_weight if weight is None else weight
        return self.refine(units, flagged, attention_mask, visual_logits=visual_logits, visual_weight=w)

    @torch.no_grad()
    def refine(
        self,
        units: Tensor,
        flagged: Tensor,
        attention_mask: Tensor | None = None,
        visual_logits: Tensor | None = None,
        visual_weight: float | Tensor = 0.0,
        passes: int | None = None,
    ) -> Tensor:
        """units [B, T] long, flagged [B, T] bool (True = unreliable) -> refined units [B, T].

        Unflagged and padded steps are returned unchanged. Sequences longer than cfg.max_units
        are refined in overlapping windows (each step keeps the result of the window in which
        it has the most context). Runs in eval mode.
        """
        real = self._real_steps(units, attention_mask)  # [B, T]
        self._check_units(units, real)
        if flagged.shape != units.shape or flagged.dtype != torch.bool:
            raise InputError(f"flagged must be bool {tuple(units.shape)}")
        if visual_logits is not None and visual_logits.shape != (*units.shape, self.num_units):
            raise InputError(f"visual_logits must be [B, T, U] = {(*units.shape, self.num_units)}")
        if isinstance(visual_weight, Tensor) and visual_weight.shape != units.shape:
            raise InputError(f"a per-step visual weight must be [B, T] = {tuple(units.shape)}")
        passes = self.cfg.refine_passes if passes is None else passes
        if passes < 1:
            raise InputError(f"refine passes must be >= 1, got {passes}")
        was_training = self.training
        self.eval()
        try:
            return self._refine_windows(units, flagged & real, real, visual_logits, visual_weight, passes)
        finally:
            self.train(was_training)

    def _refine_windows(
        self,
        units: Tensor,
        flagged: Tensor,
        real: Tensor,
        visual: Tensor | None,
        weight: float | Tensor,
        passes: int,
    ) -> Tensor:
        """Windows of cfg.max_units steps overlapping by 2 x context; keep each window's centre."""
        t, window = units.shape[1], self.cfg.max_units
        context = window // 4
        out = units.clone()
        start = 0
        while True:
            end = min(start + window, t)
            part = slice(start, end)
            vis = None if visual is None else visual[:, part]
            w = weight[:, part] if isinstance(weight, Tensor) else weight
            piece = self._refine_window(units[:, part], flagged[:, part], real[:, part], vis, w, passes)
            keep_from = 0 if start == 0 else context
            keep_to = end - start if end == t else window - context
            out[:, start + keep_from : start + keep_to] = piece[:, keep_from:keep_to]
            if end == t:
                return out
            start += window - 2 * context

    def _refine_window(
        self,
        units: Tensor,
        flagged: Tensor,
        real: Tensor,
        visual: Tensor | None,
        weight: float | Tensor,
        passes: int,
    ) -> Tensor:
        """Fill flagged steps of one window [B, T <= max_units] in ``passes`` passes."""
        current, remaining = units.clone(), flagged.clone()  # [B, T] each
        prior = None
        if visual is not None and isinstance(weight, Tensor):
            prior = weight.float().unsqueeze(-1) * visual.float().log_softmax(dim=-1)  # [B, T, U]
        elif visual is not None and weight != 0:
            prior = weight * visual.float().log_softmax(dim=-1)  # [B, T, U]
        for done in range(passes):
            if not bool(remaining.any()):
                break
            scores = self(current, real, remaining).float().log_softmax(dim=-1)  # [B, T, U]
            if prior is not None:
                scores = scores + prior  # [B, T, U] lips and language vote together
            confidence, best = scores.max(dim=-1)  # 2 x [B, T]
            fill = remaining
            if done < passes - 1:  # fill the most confident ceil(n / passes left) of each sequence
                share = torch.ceil(remaining.sum(dim=1, keepdim=True) / (passes - done))  # [B, 1]
                confidence = confidence.masked_fill(~remaining, -math.inf)  # [B, T]
                rank = confidence.argsort(dim=1, descending=True).argsort(dim=1)  # [B, T] 0 = most confident
                fill = remaining & (rank < share)  # [B, T]
            current = torch.where(fill, best, current)  # [B, T]
            remaining = remaining & ~fill  # [B, T]
        return current
