"""A small RoBERTa masked LM (the unit MLM's network), written for this project.

Architecture (Liu et al. 2019, as BERT with RoBERTa's position numbering):

    embeddings   word + learned position + token type (one type) -> LayerNorm -> dropout
    encoder      N post-LN layers: x = LN(x + drop(W_o MHA(x))); x = LN(x + drop(W_2 gelu(W_1 x)))
    LM head      dense -> gelu (erf) -> LayerNorm -> decoder (weight tied to the word embeddings,
                 bias shared with ``lm_head.bias``)

The submodule and parameter names are those of Hugging Face's ``RobertaForMaskedLM`` (``roberta.
embeddings.word_embeddings.weight``, ``roberta.encoder.layer.0.attention.self.query.weight``,
``lm_head.decoder.bias``, ...), so its state dicts load here unchanged and ours load there: every
``mlm.safetensors`` saved before this module existed fits it without a key mapping. Position ids
are passed by the caller (RoBERTa's numbering: real tokens from ``pad_id + 1``, padding on the
``pad_id`` row); attention sees only the keys where ``attention_mask`` is true.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import InputError


@dataclass(frozen=True)
class RobertaSpec:
    """The sizes of a :class:`RobertaMaskedLM` (names as in transformers' RobertaConfig where shared)."""

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_position_embeddings: int
    pad_id: int = 0
    dropout: float = 0.1  # hidden states and attention probabilities alike
    layer_norm_eps: float = 1e-12
    init_std: float = 0.02


class RobertaEmbeddings(nn.Module):
    """Token ids + position ids -> hidden states (word + position + token type, LayerNorm, dropout)."""

    def __init__(self, spec: RobertaSpec) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(spec.vocab_size, spec.hidden_size, padding_idx=spec.pad_id)
        self.position_embeddings = nn.Embedding(
            spec.max_position_embeddings, spec.hidden_size, padding_idx=spec.pad_id
        )
        self.token_type_embeddings = nn.Embedding(1, spec.hidden_size)  # one segment: a constant row
        self.LayerNorm = nn.LayerNorm(spec.hidden_size, eps=spec.layer_norm_eps)
        self.dropout = nn.Dropout(spec.dropout)

    def forward(self, input_ids: Tensor, position_ids: Tensor) -> Tensor:
        """input_ids [B, L] long, position_ids [B, L] long -> [B, L, H]."""
        x = self.word_embeddings(input_ids)  # [B, L, H]
        x = x + self.position_embeddings(position_ids)  # [B, L, H]
        x = x + self.token_type_embeddings.weight[0]  # [B, L, H] token type 0 everywhere
        return self.dropout(self.LayerNorm(x))  # [B, L, H]


class RobertaSelfAttention(nn.Module):
    """Multi-head scaled dot-product attention over the real keys (names: query / key / value)."""

    def __init__(self, spec: RobertaSpec) -> None:
        super().__init__()
        if spec.hidden_size % spec.num_heads:
            raise InputError(f"hidden size {spec.hidden_size} is not a multiple of {spec.num_heads} heads")
        self.num_heads, self.head_dim = spec.num_heads, spec.hidden_size // spec.num_heads
        self.query = nn.Linear(spec.hidden_size, spec.hidden_size)
        self.key = nn.Linear(spec.hidden_size, spec.hidden_size)
        self.value = nn.Linear(spec.hidden_size, spec.hidden_size)
        self.dropout_p = spec.dropout

    def _heads(self, x: Tensor) -> Tensor:
        """[B, L, H] -> [B, heads, L, H / heads]."""
        b, length, _ = x.shape
        return x.view(b, length, self.num_heads, self.head_dim).transpose(1, 2)  # [B, h, L, d]

    def forward(self, x: Tensor, key_bias: Tensor) -> Tensor:
        """x [B, L, H], key_bias [B, 1, 1, L] (0 real, -inf-like padding) -> context [B, L, H]."""
        q = self._heads(self.query(x))  # [B, h, L, d]
        k = self._heads(self.key(x))  # [B, h, L, d]
        v = self._heads(self.value(x))  # [B, h, L, d]
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)  # [B, h, L, L]
        probs = (scores + key_bias).softmax(dim=-1)  # [B, h, L, L] padded keys get ~0
        probs = F.dropout(probs, self.dropout_p, self.training)  # [B, h, L, L]
        context = probs @ v  # [B, h, L, d]
        return context.transpose(1, 2).flatten(2)  # [B, L, H]


class RobertaSelfOutput(nn.Module):
    """Attention output projection, dropout, residual, LayerNorm (post-LN)."""

    def __init__(self, spec: RobertaSpec) -> None:
        super().__init__()
        self.dense = nn.Linear(spec.hidden_size, spec.hidden_size)
        self.LayerNorm = nn.LayerNorm(spec.hidden_size, eps=spec.layer_norm_eps)
        self.dropout = nn.Dropout(spec.dropout)

    def forward(self, context: Tensor, residual: Tensor) -> Tensor:
        """context [B, L, H], residual [B, L, H] -> [B, L, H]."""
        return self.LayerNorm(residual + self.dropout(self.dense(context)))  # [B, L, H]


class RobertaAttention(nn.Module):
    """Self-attention block: ``self`` (the heads) and ``output`` (projection + add & norm)."""

    def __init__(self, spec: RobertaSpec) -> None:
        super().__init__()
        self.self = RobertaSelfAttention(spec)
        self.output = RobertaSelfOutput(spec)

    def forward(self, x: Tensor, key_bias: Tensor) -> Tensor:
        """x [B, L, H], key_bias [B, 1, 1, L] -> [B, L, H]."""
        return self.output(self.self(x, key_bias), x)  # [B, L, H]


class RobertaIntermediate(nn.Module):
    """Feed-forward expansion with GELU (erf form)."""

    def __init__(self, spec: RobertaSpec) -> None:
        super().__init__()
        self.dense = nn.Linear(spec.hidden_size, spec.intermediate_size)

    def forward(self, x: Tensor) -> Tensor:
        """x [B, L, H] -> [B, L, I]."""
        return F.gelu(self.dense(x))  # [B, L, I]


class RobertaOutput(nn.Module):
    """Feed-forward contraction, dropout, residual, LayerNorm (post-LN)."""

    def __init__(self, spec: RobertaSpec) -> None:
        super().__init__()
        self.dense = nn.Linear(spec.intermediate_size, spec.hidden_size)
        self.LayerNorm = nn.LayerNorm(spec.hidden_size, eps=spec.layer_norm_eps)
        self.dropout = nn.Dropout(spec.dropout)

    def forward(self, hidden: Tensor, residual: Tensor) -> Tensor:
        """hidden [B, L, I], residual [B, L, H] -> [B, L, H]."""
        return self.LayerNorm(residual + self.dropout(self.dense(hidden)))  # [B, L, H]


class RobertaLayer(nn.Module):
    """One encoder layer: attention block, then feed-forward block."""

    def __init__(self, spec: RobertaSpec) -> None:
        super().__init__()
        self.attention = RobertaAttention(spec)
        self.intermediate = RobertaIntermediate(spec)
        self.output = RobertaOutput(spec)

    def forward(self, x: Tensor, key_bias: Tensor) -> Tensor:
        """x [B, L, H], key_bias [B, 1, 1, L] -> [B, L, H]."""
        x = self.attention(x, key_bias)  # [B, L, H]
        return self.output(self.intermediate(x), x)  # [B, L, H]


class RobertaEncoder(nn.Module):
    """The stack of encoder layers (``layer.0`` ... ``layer.{N-1}``)."""

    def __init__(self, spec: RobertaSpec) -> None:
        super().__init__()
        self.layer = nn.ModuleList(RobertaLayer(spec) for _ in range(spec.num_layers))

    def forward(self, x: Tensor, key_bias: Tensor) -> Tensor:
        """x [B, L, H], key_bias [B, 1, 1, L] -> [B, L, H]."""
        for layer in self.layer:
            x = layer(x, key_bias)  # [B, L, H]
        return x


class RobertaBody(nn.Module):
    """Embeddings + encoder (no pooler): token ids -> contextual hidden states."""

    def __init__(self, spec: RobertaSpec) -> None:
        super().__init__()
        self.embeddings = RobertaEmbeddings(spec)
        self.encoder = RobertaEncoder(spec)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, position_ids: Tensor) -> Tensor:
        """input_ids, attention_mask (1 / True = real), position_ids: [B, L] -> [B, L, H]."""
        x = self.embeddings(input_ids, position_ids)  # [B, L, H]
        real = attention_mask.bool()[:, None, None, :]  # [B, 1, 1, L]
        key_bias = torch.zeros(real.shape, dtype=x.dtype, device=x.device)  # [B, 1, 1, L]
        key_bias = key_bias.masked_fill(~real, torch.finfo(x.dtype).min)  # [B, 1, 1, L]
        return self.encoder(x, key_bias)  # [B, L, H]


class RobertaLMHead(nn.Module):
    """Hidden states -> vocabulary logits: dense, GELU, LayerNorm, decoder (+ ``bias``)."""

    def __init__(self, spec: RobertaSpec) -> None:
        super().__init__()
        self.dense = nn.Linear(spec.hidden_size, spec.hidden_size)
        self.layer_norm = nn.LayerNorm(spec.hidden_size, eps=spec.layer_norm_eps)
        self.decoder = nn.Linear(spec.hidden_size, spec.vocab_size)
        self.bias = nn.Parameter(torch.zeros(spec.vocab_size))
        self.decoder.bias = self.bias  # one tensor under both names, as in the saved files

    def forward(self, x: Tensor) -> Tensor:
        """x [B, L, H] -> logits [B, L, V]."""
        x = self.layer_norm(F.gelu(self.dense(x)))  # [B, L, H]
        return self.decoder(x)  # [B, L, V]


class RobertaMaskedLM(nn.Module):
    """RoBERTa for masked language modelling; the decoder's weight is the word embedding table."""

    def __init__(self, spec: RobertaSpec) -> None:
        super().__init__()
        self.spec = spec
        self.roberta = RobertaBody(spec)
        self.lm_head = RobertaLMHead(spec)
        self.lm_head.decoder.weight = self.roberta.embeddings.word_embeddings.weight  # tied
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """BERT's initialisation: N(0, init_std) weights, zero biases, unit LayerNorms, zero padding rows."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)) and module is not self.lm_head.decoder:
                module.weight.normal_(0.0, self.spec.init_std)  # the decoder's is the word table's
            if isinstance(module, nn.Linear) and module.bias is not None:
                module.bias.zero_()
            if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                module.weight[module.padding_idx].zero_()
            if isinstance(module, nn.LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()

    def forward(self, input_ids: Tensor, attention_mask: Tensor, position_ids: Tensor) -> Tensor:
        """input_ids, attention_mask (1 / True = real), position_ids: [B, L] -> logits [B, L, V]."""
        return self.lm_head(self.roberta(input_ids, attention_mask, position_ids))  # [B, L, V]
