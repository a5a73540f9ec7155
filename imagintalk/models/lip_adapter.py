"""A user's adapter for the lip aligner: small trainable weights beside the frozen model.

Two kinds, chosen by measurement (docs/enrollment.md):

* ``lora``: a low-rank update B A (rank r, scale alpha / r, B zero-initialised) beside every
  Linear after the front end (input projection, Conformer, upsampler, token projector);
* ``residual``: one bottleneck MLP (LN -> down -> GELU -> up, ``up`` zero-initialised) added to
  the front end's per-frame features, where a new face's look first differs.

Either attaches by forward hooks, so the aligner's own modules and state dict never change: a
profile is attached and detached at run time, and a zero-initialised adapter is exactly the
model it adapts. ``renorm`` also carries the front end's BatchNorm statistics re-estimated on
the user's frames (AdaBN); attaching swaps them in, detaching restores the model's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from ..errors import CheckpointError, InputError
from .lip import LipAligner

KINDS = ("lora", "residual")
BN_PREFIX = "bn."  # state keys of the carried BatchNorm statistics


@dataclass
class AdapterSpec:
    """Defaults chosen on the enrollment's held-back prompts (docs/enrollment.md): LoRA with AdaBN."""

    kind: str = "lora"
    rank: int = 8
    alpha: float = 16.0
    renorm: bool = True

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"unknown adapter kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.rank < 1:
            raise InputError(f"adapter rank must be positive, got {self.rank}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> AdapterSpec:
        spec = cls(**{k: data[k] for k in ("kind", "rank", "alpha", "renorm") if k in data})
        spec.validate()
        return spec


class LowRank(nn.Module):
    """x [..., in] -> scale * B A x [..., out]; B starts at zero (no change until trained)."""

    def __init__(self, in_features: int, out_features: int, rank: int, alpha: float) -> None:
        super().__init__()
        self.down = nn.Parameter(torch.randn(rank, in_features) / in_features**0.5)  # A [r, in]
        self.up = nn.Parameter(torch.zeros(out_features, rank))  # B [out, r]
        self.scale = alpha / rank

    def forward(self, x: Tensor) -> Tensor:
        return self.scale * (x @ self.down.t()) @ self.up.t()  # [..., out]


class Bottleneck(nn.Module):
    """x [B, T, C] -> x + up(GELU(down(LN(x)))), ``up`` zero-initialised."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.down = nn.Linear(channels, hidden)
        self.up = nn.Linear(hidden, channels)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.up(torch.nn.functional.gelu(self.down(self.norm(x))))  # [B, T, C]


def adapted_linears(lip: LipAligner) -> dict[str, nn.Linear]:
    """The Linears after the front end (the codebook is a table, not adapted)."""
    return {
        name: module
        for name, module in lip.named_modules()
        if isinstance(module, nn.Linear) and not name.startswith("frontend")
    }


def frontend_norms(lip: LipAligner) -> dict[str, nn.modules.batchnorm._BatchNorm]:
    return {
        name: module
        for name, module in lip.frontend.named_modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm)
    }


class LipAdapter(nn.Module):
    """The trainable part of a profile for one LipAligner (see the module doc)."""

    def __init__(self, lip: LipAligner, spec: AdapterSpec) -> None:
        super().__init__()
        spec.validate()
        self.spec = spec
        self.low_rank = nn.ModuleDict()
        self.residual: Bottleneck | None = None
        if spec.kind == "lora":
            for name, linear in adapted_linears(lip).items():
                key = name.replace(".", "__")
                self.low_rank[key] = LowRank(linear.in_features, linear.out_features, spec.rank, spec.alpha)
        else:
            self.residual = Bottleneck(lip.input_proj.in_features, 4 * spec.rank)
        # AdaBN statistics: a copy of the model's to start from; empty without renorm
        self.norm_stats: dict[str, Tensor] = {}
        if spec.renorm:
            for name, bn in frontend_norms(lip).items():
                self.norm_stats[f"{name}.running_mean"] = bn.running_mean.detach().clone()
                self.norm_stats[f"{name}.running_var"] = bn.running_var.detach().clone()
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._saved_stats: dict[str, Tensor] = {}
        self._attached_to: list[LipAligner] = []  # a list: a Module attribute would become a submodule

    # ------------------------------------------------------------------ attach / detach

    def attach(self, lip: LipAligner) -> LipAdapter:
        """Hook into ``lip``; its owner detaches any other adapter first (they would add up)."""
        if self._attached_to:
            raise RuntimeError("adapter already attached")
        if self.spec.kind == "lora":
            for name, linear in adapted_linears(lip).items():
                delta = self.low_rank[name.replace(".", "__")]
                self._handles.append(linear.register_forward_hook(_add_delta(delta)))
        else:
            self._handles.append(lip.input_proj.register_forward_pre_hook(_adapt_input(self.residual)))
        if self.norm_stats:
            self.swap_norm_stats(lip)
        self._attached_to = [lip]
        return self

    def detach(self) -> None:
        if not self._attached_to:
            return
        lip = self._attached_to.pop()
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self._saved_stats:
            _set_norm_stats(lip, self._saved_stats)
            self._saved_stats = {}

    def swap_norm_stats(self, lip: LipAligner) -> None:
        self._saved_stats = _norm_stats(lip)
        _set_norm_stats(lip, self.norm_stats)

    # ------------------------------------------------------------------ saving

    def adapter_state(self) -> dict[str, Tensor]:
        """Everything a profile stores: the trainable weights and the carried statistics."""
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        state.update({BN_PREFIX + k: v.detach().cpu().contiguous() for k, v in self.norm_stats.items()})
        return state

    def load_adapter_state(self, state: dict[str, Tensor]) -> None:
        weights = {k: v for k, v in state.items() if not k.startswith(BN_PREFIX)}
        stats = {k[len(BN_PREFIX) :]: v for k, v in state.items() if k.startswith(BN_PREFIX)}
        try:
            self.load_state_dict(weights, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(f"the profile's adapter does not fit this model: {exc}") from None
        if set(stats) != set(self.norm_stats):
            raise CheckpointError("the profile's front-end statistics do not fit this model")
        for key, value in stats.items():
            if value.shape != self.norm_stats[key].shape:
                raise CheckpointError(f"the profile's statistic {key} has shape {tuple(value.shape)}")
            self.norm_stats[key] = value.clone()


def _add_delta(delta: LowRank):
    def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> Tensor:
        return output + delta(inputs[0])

    return hook


def _adapt_input(residual: Bottleneck):
    def hook(module: nn.Module, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        return (residual(inputs[0]), *inputs[1:])

    return hook


def _norm_stats(lip: LipAligner) -> dict[str, Tensor]:
    out = {}
    for name, bn in frontend_norms(lip).items():
        out[f"{name}.running_mean"] = bn.running_mean.detach().clone()
        out[f"{name}.running_var"] = bn.running_var.detach().clone()
    return out


def _set_norm_stats(lip: LipAligner, stats: dict[str, Tensor]) -> None:
    norms = frontend_norms(lip)
    with torch.no_grad():
        for key, value in stats.items():
            name, field = key.rsplit(".", 1)
            getattr(norms[name], field).copy_(value)
