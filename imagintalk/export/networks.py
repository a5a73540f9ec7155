"""The exported networks: each a small ``nn.Module`` whose forward is the exact call the pipeline makes.

One :class:`NetworkSpec` per exported graph names its inputs and outputs, which of their axes are
dynamic (batch, time), and how to build example inputs of any (B, T) for tracing and parity checks.
The pipeline's control flow (error detection, the MLM's refinement passes, the sampler, the codec)
stays in torch / Python around these graphs, exactly as with the torch backend.

    graph   wraps                                  call in the pipeline
    lip     LipAligner (Conv3d+ResNet+Conformer    lip(mouth, None)                 models/bundle.py
            + upsampler + projector)
    mlm     UnitMLM.token_logits (RoBERTa)         mlm.token_logits(tokens, mask)   models/unit_mlm.py
    style   FaceStyleAdapter (every head)          style(identity, expression[, faces]) models/bundle.py
    dit     StyleDiT -> log-scores                 dit(x, sigma, c_lip, c_id, c_emo) diffusion sampler
    fine    FineLevelCompleter                     fine(vectors, c_id)              models/bundle.py
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..errors import CheckpointError
from ..models.bundle import ModelBundle
from ..models.face_style import OUTPUT_NAMES

EXPORTED = ("lip", "mlm", "style", "dit", "fine")


class LipGraph(nn.Module):
    def __init__(self, lip: nn.Module) -> None:
        super().__init__()
        self.lip = lip

    def forward(self, mouth: Tensor) -> Tensor:
        """mouth [B, T, 88, 88] normalised -> aligner vectors [B, u T, D_unit] (whole clips, no padding)."""
        return self.lip(mouth, None)


class MlmGraph(nn.Module):
    def __init__(self, mlm: nn.Module) -> None:
        super().__init__()
        self.mlm = mlm

    def forward(self, tokens: Tensor, token_mask: Tensor) -> Tensor:
        """tokens [B, L] long, token_mask [B, L] bool -> unit logits [B, L, U]."""
        return self.mlm.token_logits(tokens, token_mask)


class StyleGraph(nn.Module):
    def __init__(self, style: nn.Module) -> None:
        super().__init__()
        self.style = style

    def forward(
        self, identity: Tensor, expression: Tensor, face_images: Tensor | None = None
    ) -> tuple[Tensor, ...]:
        """identity [B, 128], expression [B, T, E], face_images [B, N, 3, S, S] in [0, 1] (a model with a
        face encoder) -> the adapter's outputs in OUTPUT_NAMES order."""
        out = self.style(identity, expression, face_images=face_images)
        return tuple(out[name] for name in OUTPUT_NAMES)


class DitGraph(nn.Module):
    def __init__(self, dit: nn.Module) -> None:
        super().__init__()
        self.dit = dit

    def forward(self, x: Tensor, sigma: Tensor, c_lip: Tensor, c_id: Tensor, c_emo: Tensor) -> Tensor:
        """x [B, K, T] long, sigma [B], c_lip [B, T, D_lip], c_id [B, D_id], c_emo [B, T, D_emo]
        -> log-scores [B, K, T, N] (c_emo is dropped from the graph by a single-adaLN DiT)."""
        return self.dit(x, sigma, c_lip, c_id, c_emo)


class FineGraph(nn.Module):
    def __init__(self, fine: nn.Module) -> None:
        super().__init__()
        self.fine = fine

    def forward(self, vectors: Tensor, c_id: Tensor) -> Tensor:
        """coarse code vectors [B, T, D] + c_id [B, D_id] -> residual [B, T, D]."""
        return self.fine(vectors, c_id)


@dataclass(frozen=True)
class NetworkSpec:
    """One exported graph: its wrapper, names, dynamic axes and example inputs for (B, T video frames)."""

    name: str
    wrap: Callable[[ModelBundle], nn.Module]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    dynamic_axes: dict[str, dict[int, str]]
    example: Callable[[ModelBundle, int, int, torch.Generator], tuple[Tensor, ...]]


def _lip_example(b: ModelBundle, batch: int, frames: int, g: torch.Generator) -> tuple[Tensor, ...]:
    return (torch.randn(batch, frames, 88, 88, generator=g),)  # [B, T, 88, 88]


def _mlm_example(b: ModelBundle, batch: int, frames: int, g: torch.Generator) -> tuple[Tensor, ...]:
    steps = frames * b.cfg.lip.upsample  # T_tok
    units = torch.randint(0, b.mlm.num_units, (batch, steps), generator=g)  # [B, T_tok]
    real = torch.ones(batch, steps, dtype=torch.bool)  # [B, T_tok]
    real[0, steps - max(1, steps // 4) :] = False  # padding in the first sequence: the mask input matters
    masked = torch.rand(batch, steps, generator=g) < 0.3  # [B, T_tok]
    return b.mlm.build_tokens(units, real, masked)  # 2 x [B, T_tok + 2]


def _style_example(b: ModelBundle, batch: int, frames: int, g: torch.Generator) -> tuple[Tensor, ...]:
    cfg = b.cfg.style
    identity = torch.randn(batch, cfg.descriptor_dim, generator=g)  # [B, 128]
    return identity, torch.randn(batch, frames, cfg.expression_dim, generator=g)  # [B, T, E]


def _faces_example(b: ModelBundle, batch: int, frames: int, g: torch.Generator) -> tuple[Tensor, ...]:
    size = b.cfg.style.face_encoder_size
    crops = torch.rand(batch, 1 + frames // 2, 3, size, size, generator=g)  # [B, N, 3, S, S]: N varies too
    return (*_style_example(b, batch, frames, g), crops)


def _dit_example(b: ModelBundle, batch: int, frames: int, g: torch.Generator) -> tuple[Tensor, ...]:
    cfg, steps = b.cfg.dit, frames * b.cfg.lip.upsample
    x = torch.randint(0, cfg.cardinality + 1, (batch, cfg.num_codebooks, steps), generator=g)  # mask id = N
    sigma = torch.rand(batch, generator=g) * 5 + 0.01  # [B]
    c_lip = torch.randn(batch, steps, cfg.lip_dim, generator=g)  # [B, T_tok, D_lip]
    c_id = torch.randn(batch, cfg.id_dim, generator=g)  # [B, D_id]
    return x, sigma, c_lip, c_id, torch.randn(batch, steps, cfg.emo_dim, generator=g)  # c_emo [B, T_tok, D]


def _fine_example(b: ModelBundle, batch: int, frames: int, g: torch.Generator) -> tuple[Tensor, ...]:
    cfg, steps = b.cfg.fine, frames * b.cfg.lip.upsample
    return torch.randn(batch, steps, cfg.vector_dim, generator=g), torch.randn(batch, cfg.id_dim, generator=g)


BT = {0: "batch", 1: "time"}  # time: unit / token steps (u per video frame)
BF = {0: "batch", 1: "frames"}  # frames: video frames at 25 fps
STYLE_AXES = {
    "identity": {0: "batch"}, "expression": BF, "c_id": {0: "batch"}, "c_emo": BT, "speaker": {0: "batch"},
    "log_f0": BT, "voiced_logit": BT, "energy": BT, "emotion_logits": {0: "batch"}, "token_valid": BT,
}  # fmt: skip
SPECS: dict[str, NetworkSpec] = {
    "lip": NetworkSpec("lip", lambda b: LipGraph(b.lip), ("mouth",), ("vectors",),
                       {"mouth": BF, "vectors": BT}, _lip_example),
    "mlm": NetworkSpec("mlm", lambda b: MlmGraph(b.mlm), ("tokens", "token_mask"), ("logits",),
                       {"tokens": BT, "token_mask": BT, "logits": BT}, _mlm_example),
    "style": NetworkSpec("style", lambda b: StyleGraph(b.style), ("identity", "expression"), OUTPUT_NAMES,
                         STYLE_AXES, _style_example),
    "dit": NetworkSpec("dit", lambda b: DitGraph(b.dit), ("x", "sigma", "c_lip", "c_id", "c_emo"),
                       ("log_score",), {"x": {0: "batch", 2: "time"}, "sigma": {0: "batch"}, "c_lip": BT,
                                        "c_id": {0: "batch"}, "c_emo": BT,
                                        "log_score": {0: "batch", 2: "time"}}, _dit_example),
    "fine": NetworkSpec("fine", lambda b: FineGraph(b.fine), ("vectors", "c_id"), ("residual",),
                        {"vectors": BT, "c_id": {0: "batch"}, "residual": BT}, _fine_example),
}  # fmt: skip
# a style adapter with a face encoder reads the window's aligned face crops too (N crops: dynamic)
STYLE_WITH_FACES = NetworkSpec(
    "style", lambda b: StyleGraph(b.style), ("identity", "expression", "face_images"), OUTPUT_NAMES,
    {**STYLE_AXES, "face_images": {0: "batch", 1: "crops"}}, _faces_example,
)  # fmt: skip


def specs_for(bundle: ModelBundle) -> dict[str, NetworkSpec]:
    """The graphs this model exports (``fine`` only when it completes fine levels); CheckpointError for
    a configuration the export does not cover (the expression-image encoder, which speaking does not feed)."""
    style = bundle.cfg.style
    if style.use_expression_encoder:
        raise CheckpointError(
            "ONNX export does not cover the expression-image encoder (style.use_expression_encoder), "
            "which speaking does not feed either; speak with --backend torch"
        )
    specs = {n: SPECS[n] for n in EXPORTED if n != "fine" or bundle.cfg.completes_fine_levels}
    if style.use_face_encoder:
        specs["style"] = STYLE_WITH_FACES
    return specs
