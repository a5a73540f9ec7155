"""Conformer encoder (Gulati et al. 2020): macaron feed-forward halves around self-attention
and a depthwise-convolution module, each block ending in a LayerNorm.

    x = x + 1/2 FF(x)
    x = x + MHSA(x)        rotary positions (relative: any length, no learned table)
    x = x + Conv(x)        LN -> pointwise x2 -> GLU -> depthwise conv -> BN|LN -> SiLU -> pointwise
    x = x + 1/2 FF(x)
    x = LN(x)

A key padding mask [B, T] (True = padding) keeps padded steps out of the attention and is
zero-filled before the depthwise convolution, so padded steps never change real outputs
(in eval mode; BatchNorm in training mode still counts them in its batch statistics).
No data-dependent Python in forward: it exports to ONNX with a dynamic T.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def rotary_tables(length: Tensor | int, head_dim: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """cos, sin [T, head_dim / 2] of the rotary position encoding (base 10000)."""
    half = head_dim // 2
    inv_freq = 10000.0 ** (-torch.arange(half, device=device, dtype=torch.float32) / half)  # [hd/2]
    positions = torch.arange(length, device=device, dtype=torch.float32)  # [T]
    angles = positions.unsqueeze(1) * inv_freq.unsqueeze(0)  # [T, hd/2]
    return torch.cos(angles), torch.sin(angles)


def apply_rotary(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate channel pairs (i, i + hd/2) of x [B, H, T, hd] by the position angles [T, hd/2]."""
    x1, x2 = x.chunk(2, dim=-1)  # 2 x [B, H, T, hd/2]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)  # [B, H, T, hd]


class FeedForward(nn.Module):
    """LN -> Linear(d, m d) -> SiLU -> Dropout -> Linear(m d, d) -> Dropout."""

    def __init__(self, d_model: int, mult: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(d_model),
            nn.Linear(d_model, mult * d_model),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(mult * d_model, d_model),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # [B, T, d]


class RotarySelfAttention(nn.Module):
    """LN -> multi-head self-attention with rotary positions on q, k -> Dropout."""

    def __init__(self, d_model: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.num_heads, self.dropout = num_heads, dropout
        self.norm = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, attn_mask: Tensor | None) -> Tensor:
        """x [B, T, d], attn_mask [B, 1, 1, T] bool (True = may be attended) -> [B, T, d]."""
        b, t, d = x.shape  # B, T, d
        qkv = self.qkv(self.norm(x)).reshape(b, t, 3, self.num_heads, d // self.num_heads)  # [B, T, 3, H, hd]
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # 3 x [B, H, T, hd]
        cos, sin = rotary_tables(t, d // self.num_heads, x.device)  # 2 x [T, hd/2]
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)  # 2 x [B, H, T, hd]
        drop = self.dropout if self.training else 0.0  # dropout on the attention weights
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=drop)  # [B, H, T, hd]
        return self.drop(self.proj(out.transpose(1, 2).reshape(b, t, d)))  # [B, T, d]


class ConvModule(nn.Module):
    """LN -> pointwise (d -> 2d) -> GLU -> depthwise conv -> BatchNorm|LayerNorm -> SiLU -> pointwise."""

    def __init__(self, d_model: int, kernel: int, norm: str, dropout: float) -> None:
        super().__init__()
        self.norm_in = nn.LayerNorm(d_model)
        self.pointwise_in = nn.Linear(d_model, 2 * d_model)  # a 1x1 conv over [B, T, d]
        self.depthwise = nn.Conv1d(d_model, d_model, kernel, padding=kernel // 2, groups=d_model)
        self.batch_norm = norm == "batch"
        self.norm_mid: nn.Module = nn.BatchNorm1d(d_model) if self.batch_norm else nn.LayerNorm(d_model)
        self.pointwise_out = nn.Linear(d_model, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, keep: Tensor | None) -> Tensor:
        """x [B, T, d], keep [B, T, 1] float (1 = real step, 0 = padding) or None -> [B, T, d]."""
        h = F.glu(self.pointwise_in(self.norm_in(x)), dim=-1)  # [B, T, d]
        if keep is not None:
            h = h * keep  # [B, T, d] padded steps enter the conv as zeros, like its own padding
        h = self.depthwise(h.transpose(1, 2))  # [B, d, T]
        if self.batch_norm:
            h = self.norm_mid(h).transpose(1, 2)  # [B, T, d]
        else:
            h = self.norm_mid(h.transpose(1, 2))  # [B, T, d]
        return self.drop(self.pointwise_out(F.silu(h)))  # [B, T, d]


class ConformerBlock(nn.Module):
    """One macaron Conformer block (see module doc)."""

    def __init__(self, d_model: int, num_heads: int, ff_mult: int, kernel: int, norm: str, dropout: float):
        super().__init__()
        self.ff1 = FeedForward(d_model, ff_mult, dropout)
        self.attn = RotarySelfAttention(d_model, num_heads, dropout)
        self.conv = ConvModule(d_model, kernel, norm, dropout)
        self.ff2 = FeedForward(d_model, ff_mult, dropout)
        self.norm_out = nn.LayerNorm(d_model)

    def forward(self, x: Tensor, attn_mask: Tensor | None, keep: Tensor | None) -> Tensor:
        """x [B, T, d] -> [B, T, d]; attn_mask [B, 1, 1, T] bool, keep [B, T, 1] float (or None)."""
        x = x + 0.5 * self.ff1(x)  # [B, T, d]
        x = x + self.attn(x, attn_mask)  # [B, T, d]
        x = x + self.conv(x, keep)  # [B, T, d]
        x = x + 0.5 * self.ff2(x)  # [B, T, d]
        return self.norm_out(x)  # [B, T, d]


class ConformerEncoder(nn.Module):
    """A stack of Conformer blocks: [B, T, d] -> [B, T, d], optional key padding mask [B, T]."""

    def __init__(
        self,
        d_model: int,
        num_layers: int,
        num_heads: int,
        ff_mult: int,
        kernel: int,
        norm: str,
        dropout: float,
    ) -> None:
        super().__init__()
        self.input_drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            ConformerBlock(d_model, num_heads, ff_mult, kernel, norm, dropout) for _ in range(num_layers)
        )

    def forward(self, x: Tensor, key_padding_mask: Tensor | None = None) -> Tensor:
        """x [B, T, d], key_padding_mask [B, T] bool (True = padding) -> [B, T, d]."""
        attn_mask = keep = None
        if key_padding_mask is not None:
            attn_mask = ~key_padding_mask[:, None, None, :]  # [B, 1, 1, T] True = may be attended
            keep = (~key_padding_mask).unsqueeze(-1).to(x.dtype)  # [B, T, 1]
        h = self.input_drop(x)  # [B, T, d]
        for block in self.blocks:
            h = block(h, attn_mask, keep)  # [B, T, d]
        return h  # [B, T, d]
