"""The fine-level completer: the codec levels past the Style-DiT's, predicted from its coarse ones.

The DiT of the shipped model generates the codec's first K_c of K RVQ levels; the rest were
left at zero, which costs intelligibility and voice (the codec itself: 12 levels STOI 0.92,
speaker similarity 0.94; 4 levels 0.83 / 0.89). This network regresses, in the codec's code
vector space, the residual the finer levels would add, from the coarse levels' summed
codewords and the speaker style c_id:

    coarse [B, T, D] ++ c_id [B, D_id] -> 1x1 conv -> depth x (GELU, conv k) residual -> 1x1 conv
    -> residual [B, T, D]

The codec then quantises that residual with its levels K_c..K-1 (``Codec.residual_codes``),
so the model's output stays codes [B, K, T]. Deterministic, one pass; no data-dependent
control flow (ONNX-exportable). Trained in stage 3 on the corpus's own codes (MSE to the
finer levels' summed codewords).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..settings.fine import FineConfig


class FineBlock(nn.Module):
    """GELU -> conv over time, added to its input: h [B, H, T] -> [B, H, T]."""

    def __init__(self, channels: int, kernel_size: int) -> None:
        super().__init__()
        self.act = nn.GELU()
        self.conv = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2)

    def forward(self, h: Tensor) -> Tensor:
        return h + self.conv(self.act(h))  # [B, H, T]


class FineLevelCompleter(nn.Module):
    """coarse code vectors [B, T, D] + c_id [B, D_id] -> the finer levels' residual [B, T, D]."""

    def __init__(self, cfg: FineConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.input = nn.Conv1d(cfg.vector_dim + cfg.id_dim, cfg.hidden_dim, 1)
        self.blocks = nn.ModuleList(FineBlock(cfg.hidden_dim, cfg.kernel_size) for _ in range(cfg.depth))
        self.output = nn.Conv1d(cfg.hidden_dim, cfg.vector_dim, 1)
        self.initialize_weights()

    @classmethod
    def from_config(cls, cfg: FineConfig) -> FineLevelCompleter:
        return cls(cfg)

    def initialize_weights(self) -> None:
        """Zero output layer: an untrained completer predicts no residual (= the coarse decode)."""
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def forward(self, coarse: Tensor, c_id: Tensor, padding: Tensor | None = None) -> Tensor:
        """coarse [B, T, D], c_id [B, D_id], padding [B, T] bool (True = pad) -> residual [B, T, D]."""
        steps = coarse.shape[1]
        x = torch.cat([coarse, c_id[:, None, :].expand(-1, steps, -1)], dim=-1)  # [B, T, D + D_id]
        keep = None if padding is None else (~padding)[:, None, :].to(x.dtype)  # [B, 1, T]
        h = self.input(x.transpose(1, 2))  # [B, H, T]
        for block in self.blocks:
            h = block(h if keep is None else h * keep)  # [B, H, T], padding never leaks into context
        out = self.output(h).transpose(1, 2)  # [B, T, D]
        return out if keep is None else out * keep.transpose(1, 2)  # [B, T, D]
