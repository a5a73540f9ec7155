"""Style-DiT: the score network of the discrete diffusion over RVQ tokens.

DiT blocks (Peebles & Xie 2023) with adaLN-Zero modulation, extended by Dual-adaLN:

* global path  c = W_id c_id + emb(sigma)  [B, D] -> SiLU -> Linear -> 6 D
  (shift / scale / gate for attention and MLP, per channel, the same for every frame);
* temporal path e = MLP(c_emo) [B, T, D] -> SiLU -> Linear -> 2 per frame
  (a scale for the attention input and one for the MLP input, the same for every channel).

Inside a block, for the attention (and likewise the MLP) branch:

    h = LN(x) * (1 + scale_g) * (1 + scale_t[t]) + shift_g        [B, T, D]
    x = x + gate_g * Attention(h)

so the global path scales channels (timbre) and the temporal path scales whole frames
(prosody): with scale_t = 0 (single adaLN, or at initialisation) it is plain adaLN.
The forward pass has no data-dependent Python, so it exports to ONNX with a dynamic T.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..diffusion.graph import AbsorbingGraph
from ..diffusion.guidance import check_guidance, guide
from ..errors import CheckpointError, InputError
from ..settings.dit import DiTConfig

# DiT embeds timesteps 0..1000; the masking probability in [0, 1) is mapped to that range
_NOISE_LEVEL_SCALE = 1000.0


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def sinusoidal_features(values: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """values [...] (float) -> [..., dim] features cat(cos(v w_k), sin(v w_k)), geometric w_k."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=values.device) / half)  # [dim/2]
    angles = values.float().unsqueeze(-1) * freqs  # [..., dim/2]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)  # [..., dim]


def modulate(x: Tensor, shift: Tensor, scale: Tensor, frame_scale: Tensor | None) -> Tensor:
    """Dual-adaLN: x [B,T,D] * (1 + scale [B,D]) * (1 + frame_scale [B,T,1]) + shift [B,D]."""
    out = x * (1.0 + scale.unsqueeze(1))  # [B, T, D]
    if frame_scale is not None:
        out = out * (1.0 + frame_scale)  # [B, T, D]
    return out + shift.unsqueeze(1)  # [B, T, D]


class NoiseLevelEmbedder(nn.Module):
    """sigma [B] -> [B, D]: sinusoidal features of 1000 * (1 - e^-sigma), then an MLP.

    The masking probability 1 - e^-sigma is the noise level that matters to an absorbing
    process; it is bounded in [0, 1) whatever the schedule (for log-linear it equals (1-eps) t).
    """

    def __init__(self, hidden_dim: int, frequency_dim: int) -> None:
        super().__init__()
        self.frequency_dim = frequency_dim
        self.mlp = nn.Sequential(
            nn.Linear(frequency_dim, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, hidden_dim)
        )

    def forward(self, sigma: Tensor) -> Tensor:
        level = _NOISE_LEVEL_SCALE * (1.0 - torch.exp(-sigma))  # [B] (exp, not expm1: ONNX has no expm1)
        return self.mlp(sinusoidal_features(level, self.frequency_dim))  # [B, D]


class SelfAttention(nn.Module):
    """Multi-head self-attention over time with an optional key padding mask."""

    def __init__(self, hidden_dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.num_heads, self.dropout = num_heads, dropout
        self.qkv = nn.Linear(hidden_dim, 3 * hidden_dim)
        self.proj = nn.Linear(hidden_dim, hidden_dim)

    def forward(self, x: Tensor, attn_mask: Tensor | None) -> Tensor:
        """x [B, T, D], attn_mask [B, 1, 1, T] bool (True = may be attended) -> [B, T, D]."""
        b, t, d = x.shape  # B, T, D
        qkv = self.qkv(x).reshape(b, t, 3, self.num_heads, d // self.num_heads)  # [B, T, 3, H, D/H]
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # 3 x [B, H, T, D/H]
        drop = self.dropout if self.training else 0.0  # dropout on the attention weights
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=drop)  # [B, H, T, D/H]
        return self.proj(out.transpose(1, 2).reshape(b, t, d))  # [B, T, D]


class Mlp(nn.Module):
    """Two-layer GELU MLP."""

    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        h = self.drop(F.gelu(self.fc1(x), approximate="tanh"))  # [B, T, hidden]
        return self.fc2(h)  # [B, T, D]


class StyleDiTBlock(nn.Module):
    """One DiT block with adaLN-Zero (global) and, if ``dual_adaln``, the per-frame scale."""

    def __init__(self, hidden_dim: int, num_heads: int, mlp_ratio: float, dual_adaln: bool, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_dim, elementwise_affine=False, eps=1e-6)
        self.attn = SelfAttention(hidden_dim, num_heads, dropout)
        self.norm2 = nn.LayerNorm(hidden_dim, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden_dim, int(hidden_dim * mlp_ratio), dropout)
        self.drop = nn.Dropout(dropout)
        # global path: shift, scale, gate for attention and MLP, per channel
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_dim, 6 * hidden_dim))
        # temporal path: one scale per frame for attention and one for the MLP
        self.temporal_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_dim, 2)) if dual_adaln else None

    def forward(self, x: Tensor, c: Tensor, e: Tensor | None, attn_mask: Tensor | None) -> Tensor:
        """x [B, T, D], c [B, D] global, e [B, T, D] temporal (ignored if single adaLN) -> [B, T, D]."""
        modulation = self.adaLN_modulation(c).chunk(6, dim=-1)  # 6 x [B, D]
        shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = modulation  # [B, D] each
        frame_a = frame_m = None  # single adaLN: no per-frame scale
        if self.temporal_modulation is not None and e is not None:
            frame_a, frame_m = self.temporal_modulation(e).chunk(2, dim=-1)  # 2 x [B, T, 1]
        h = modulate(self.norm1(x), shift_a, scale_a, frame_a)  # [B, T, D]
        x = x + gate_a.unsqueeze(1) * self.drop(self.attn(h, attn_mask))  # [B, T, D]
        h = modulate(self.norm2(x), shift_m, scale_m, frame_m)  # [B, T, D]
        return x + gate_m.unsqueeze(1) * self.drop(self.mlp(h))  # [B, T, D]


class FinalLayer(nn.Module):
    """adaLN-modulated LayerNorm + K linear heads (stacked into one Linear), one per RVQ level."""

    def __init__(self, hidden_dim: int, num_codebooks: int, cardinality: int) -> None:
        super().__init__()
        self.num_codebooks, self.cardinality = num_codebooks, cardinality
        self.norm = nn.LayerNorm(hidden_dim, elementwise_affine=False, eps=1e-6)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_dim, 2 * hidden_dim))
        self.heads = nn.Linear(hidden_dim, num_codebooks * cardinality)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        """x [B, T, D], c [B, D] -> logits [B, K, T, N]."""
        b, t, _ = x.shape  # B, T
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)  # 2 x [B, D]
        logits = self.heads(modulate(self.norm(x), shift, scale, None))  # [B, T, K * N]
        return logits.reshape(b, t, self.num_codebooks, self.cardinality).transpose(1, 2)  # [B, K, T, N]


class StyleDiT(nn.Module):
    """Masked RVQ tokens + conditions + noise level -> log-scores [B, K, T, N] (see module doc)."""

    def __init__(self, cfg: DiTConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        d, k, n = cfg.hidden_dim, cfg.num_codebooks, cfg.cardinality
        self.graph = AbsorbingGraph(n)
        # K tables of N + 1 rows (codes + mask) stored as one table: level k uses rows k(N+1)..
        self.token_embedding = nn.Embedding(k * (n + 1), d)
        self.register_buffer("level_offsets", (torch.arange(k) * (n + 1)).view(1, k, 1), persistent=False)
        self.lip_proj = nn.Linear(cfg.lip_dim, d)
        self.id_proj = nn.Linear(cfg.id_dim, d)
        self.noise_embedder = NoiseLevelEmbedder(d, cfg.frequency_dim)
        # the temporal MLP of Dual-adaLN; absent for single adaLN
        emo_mlp = nn.Sequential(nn.Linear(cfg.emo_dim, d), nn.SiLU(), nn.Linear(d, d))
        self.emo_embedder = emo_mlp if cfg.dual_adaln else None
        self.blocks = nn.ModuleList(
            StyleDiTBlock(d, cfg.num_heads, cfg.mlp_ratio, cfg.dual_adaln, cfg.dropout)
            for _ in range(cfg.depth)
        )
        self.final_layer = FinalLayer(d, k, n)
        self.initialize_weights()

    @classmethod
    def from_config(cls, cfg: DiTConfig) -> StyleDiT:
        return cls(cfg)

    @property
    def mask_id(self) -> int:
        return self.cfg.cardinality

    def initialize_weights(self) -> None:
        """All initialisation in one place (as DiT): zero modulation and heads = identity blocks.

        Every adaLN modulation Linear, every temporal scale Linear and the output heads start at
        zero, so each block starts as the identity (gates 0), the temporal scales at 0 and the
        logits at 0 (uniform conditional). Gradients still reach everything after one step.
        """
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        for layer in (self.noise_embedder.mlp[0], self.noise_embedder.mlp[2]):
            nn.init.normal_(layer.weight, std=0.02)
        zero_init = [block.adaLN_modulation[-1] for block in self.blocks]
        zero_init += [block.temporal_modulation[-1] for block in self.blocks if block.temporal_modulation]
        zero_init += [self.final_layer.adaLN_modulation[-1], self.final_layer.heads]
        for layer in zero_init:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def load_level_prefix(self, state: dict[str, Tensor]) -> list[str]:
        """Warm start from another DiT's state dict that generates K_src >= K levels.

        Every tensor must match in shape except the per-level ones (token embedding table and
        output heads), of which this model keeps the first K levels' rows. -> the sliced names.
        """
        k, n = self.cfg.num_codebooks, self.cfg.cardinality
        heads = "final_layer.heads"
        per_level = {"token_embedding.weight": n + 1, f"{heads}.weight": n, f"{heads}.bias": n}  # rows/level
        own = self.state_dict()
        missing = sorted(set(own) - set(state))
        if missing:
            raise CheckpointError(f"the DiT to start from lacks {', '.join(missing[:3])}")
        sliced, out = [], {}
        for name, tensor in own.items():
            src = state[name]
            if name in per_level and src.shape[0] > tensor.shape[0] and src.shape[0] % per_level[name] == 0:
                src = src[: k * per_level[name]]  # level j's rows are j * rows .. (j + 1) * rows
                sliced.append(name)
            if src.shape != tensor.shape:
                raise CheckpointError(
                    f"cannot start from that DiT: its {name} is {tuple(src.shape)}, "
                    f"this one's {tuple(tensor.shape)}"
                )
            out[name] = src
        self.load_state_dict(out)
        return sliced

    def check_inputs(
        self, x: Tensor, sigma: Tensor, c_lip: Tensor, c_id: Tensor, c_emo: Tensor | None = None
    ) -> None:
        """Raise InputError (one line) for inputs of the wrong shape or token range."""
        cfg = self.cfg
        if x.dim() != 3 or x.shape[1] != cfg.num_codebooks:
            raise InputError(f"tokens must be [B, {cfg.num_codebooks}, T], got {tuple(x.shape)}")
        b, _, t = x.shape
        if x.numel() and (int(x.min()) < 0 or int(x.max()) > self.mask_id):
            raise InputError(f"tokens must lie in 0..{self.mask_id} (mask id {self.mask_id})")
        expected = {
            "sigma": (sigma, (b,)),
            "c_lip": (c_lip, (b, t, cfg.lip_dim)),
            "c_id": (c_id, (b, cfg.id_dim)),
        }
        if cfg.dual_adaln:
            if c_emo is None:
                raise InputError("c_emo [B, T, D_emo] is required with dual_adaln")
            expected["c_emo"] = (c_emo, (b, t, cfg.emo_dim))
        for name, (tensor, shape) in expected.items():
            if tuple(tensor.shape) != shape:
                raise InputError(f"{name} must have shape {shape}, got {tuple(tensor.shape)}")

    def forward(
        self,
        x: Tensor,
        sigma: Tensor,
        c_lip: Tensor,
        c_id: Tensor,
        c_emo: Tensor | None = None,
        key_padding_mask: Tensor | None = None,
    ) -> Tensor:
        """Log-scores [B, K, T, N] for tokens x [B, K, T] (long, mask id N) at noise sigma [B].

        c_lip [B, T, D_lip], c_id [B, D_id], c_emo [B, T, D_emo] (unused with single adaLN; None
        means no temporal modulation, use check_inputs to require it),
        key_padding_mask [B, T] bool, True = padding (not attended; its outputs are meaningless).
        """
        t = x.shape[-1]  # T (symbolic under ONNX export)
        h = self.token_embedding(x + self.level_offsets).sum(dim=1)  # [B, T, D] sum of K level embeddings
        h = h + self.lip_proj(c_lip)  # [B, T, D] c_lip enters with the token embeddings
        positions = torch.arange(t, device=x.device)  # [T]
        h = h + sinusoidal_features(positions, self.cfg.hidden_dim).unsqueeze(0)  # [B, T, D]
        c = self.id_proj(c_id)  # [B, D] global identity
        if self.cfg.noise_conditioning:
            c = c + self.noise_embedder(sigma)  # [B, D] + noise level
        e = None  # single adaLN (or no c_emo): no per-frame scale
        if self.emo_embedder is not None and c_emo is not None:
            e = self.emo_embedder(c_emo)  # [B, T, D] temporal expression
        attn_mask = None if key_padding_mask is None else ~key_padding_mask[:, None, None, :]  # [B, 1, 1, T]
        for block in self.blocks:
            h = block(h, c, e, attn_mask)  # [B, T, D]
        logits = self.final_layer(h, c)  # [B, K, T, N]
        return self.graph.log_score_from_logits(logits, sigma)  # [B, K, T, N]

    def score_fn(
        self,
        c_lip: Tensor,
        c_id: Tensor,
        c_emo: Tensor | None = None,
        key_padding_mask: Tensor | None = None,
        guidance: float = 0.0,
    ) -> Callable[[Tensor, Tensor], Tensor]:
        """The sampler's ``score_fn(x [B, K, T], sigma [B]) -> [B, K, T, N]`` with conditions bound.

        ``guidance`` w > 0: classifier-free guidance (``diffusion.guidance.guide``) against the
        null condition (all conditions zero, as in stage-3 condition dropout); the conditional
        and unconditional passes run as one batch of 2B.
        """
        if check_guidance(guidance) == 0.0:

            def score(x: Tensor, sigma: Tensor) -> Tensor:
                return self(x, sigma, c_lip, c_id, c_emo, key_padding_mask)  # [B, K, T, N]

            return score

        def both(t: Tensor | None) -> Tensor | None:
            return None if t is None else torch.cat([t, torch.zeros_like(t)])  # [2B, ...] cond, null

        padding = None if key_padding_mask is None else key_padding_mask.repeat(2, 1)  # [2B, T]
        lip2, id2, emo2 = both(c_lip), both(c_id), both(c_emo)

        def guided(x: Tensor, sigma: Tensor) -> Tensor:
            out = self(x.repeat(2, 1, 1), sigma.repeat(2), lip2, id2, emo2, padding)  # [2B, K, T, N]
            cond, uncond = out.chunk(2)  # 2 x [B, K, T, N]
            return guide(cond, uncond, guidance)  # [B, K, T, N]

        return guided
