"""The discrete lip aligner: mouth ROIs at 25 fps -> vectors in the semantic-unit codebook space.

    rois [B, T, 88, 88] -> LipFrontend (Conv3d stem + per-frame ResNet-18)    [B, T, C]
      -> Linear -> Conformer                                                  [B, T, d]
      -> TemporalUpsampler (Linear d -> u d, split into u steps)              [B, u T, d]
      -> TokenProjector (MLP)                                                 [B, u T, D_unit]
    UnitCodebook: nearest codeword by cosine -> unit ids [B, u T] + similarity [B, u T]

u = cfg.upsample (2 for 50 Hz units at 25 fps). Stage-1 loss: cross-entropy over the cosine
logits cos(v, e_u) / temperature plus cosine_weight * (1 - cos(v, e_target)); the direct
cosine term pulls vectors onto their codeword, which is what the error detector's tau
(similarity >= 0.9 = trusted) measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import InputError
from ..settings.semantic import LipAlignerConfig
from ..units.features import unit_embeddings
from ..units.inventory import NUM_UNITS
from .conformer import ConformerEncoder
from .lip_frontend import LipFrontend

IGNORE_INDEX = -100  # target value of padded unit steps (PyTorch's cross-entropy default)


def initial_unit_table(num_units: int, dim: int, seed: int) -> Tensor:
    """The phonological-feature unit embeddings of imagintalk.units, float32 [U, dim]."""
    if num_units != NUM_UNITS:
        raise InputError(f"lip.num_units is {num_units} but the unit inventory has {NUM_UNITS} units")
    return torch.from_numpy(unit_embeddings(dim, seed)).float()  # [U, dim]


class UnitCodebook(nn.Module):
    """The unit codewords [U, D]; decoding = nearest codeword by cosine similarity."""

    def __init__(self, num_units: int, dim: int, seed: int = 0, trainable: bool = False) -> None:
        super().__init__()
        self.seed = seed
        self.embeddings = nn.Parameter(torch.empty(num_units, dim), requires_grad=trainable)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            table = initial_unit_table(self.embeddings.shape[0], self.embeddings.shape[1], self.seed)
            self.embeddings.copy_(table)  # [U, D]

    def cosine(self, vectors: Tensor) -> Tensor:
        """vectors [B, T, D] -> cosine similarity to every codeword [B, T, U]."""
        unit = F.normalize(vectors, dim=-1)  # [B, T, D]
        codewords = F.normalize(self.embeddings, dim=-1)  # [U, D]
        return unit @ codewords.t()  # [B, T, U]

    def logits(self, vectors: Tensor, temperature: float) -> Tensor:
        """Cosine logits cos(v, e_u) / temperature [B, T, U]."""
        return self.cosine(vectors) / temperature  # [B, T, U]

    def nearest(self, vectors: Tensor) -> tuple[Tensor, Tensor]:
        """vectors [B, T, D] -> (unit ids [B, T] long, cosine similarity to that codeword [B, T])."""
        similarity, ids = self.cosine(vectors).max(dim=-1)  # 2 x [B, T]
        return ids, similarity

    def lookup(self, ids: Tensor) -> Tensor:
        """unit ids [B, T] -> codewords [B, T, D] (c_lip for the Style-DiT)."""
        return F.embedding(ids, self.embeddings)  # [B, T, D]


class TemporalUpsampler(nn.Module):
    """[B, T, d] -> [B, u T, d]: one Linear predicts u sub-steps per frame (u = 1 is the identity map)."""

    def __init__(self, d_model: int, factor: int) -> None:
        super().__init__()
        self.factor = factor
        self.proj = nn.Linear(d_model, factor * d_model) if factor > 1 else None

    def forward(self, x: Tensor) -> Tensor:
        if self.proj is None:
            return x  # [B, T, d]
        h = self.proj(x)  # [B, T, u d]
        return h.unflatten(-1, (self.factor, -1)).flatten(1, 2)  # [B, u T, d] steps of a frame adjacent


class TokenProjector(nn.Module):
    """LN -> Linear -> GELU -> Linear: encoder states [B, T, d] -> codebook space [B, T, D_unit]."""

    def __init__(self, d_model: int, hidden: int, unit_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(d_model), nn.Linear(d_model, hidden), nn.GELU(), nn.Linear(hidden, unit_dim)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # [B, T, D_unit]


@dataclass
class AlignmentLoss:
    """Stage-1 loss terms (scalars): loss = ce + cosine_weight * cosine; accuracy of the nearest unit."""

    loss: Tensor
    ce: Tensor
    cosine: Tensor
    accuracy: Tensor
    count: int  # number of non-padded unit steps


def alignment_loss(
    codebook: UnitCodebook,
    vectors: Tensor,
    targets: Tensor,
    temperature: float,
    cosine_weight: float,
    ignore_index: int = IGNORE_INDEX,
) -> AlignmentLoss:
    """Loss of vectors [B, T, D] against target units [B, T] (long, ``ignore_index`` = padding)."""
    if vectors.shape[:2] != targets.shape:
        raise InputError(
            f"targets {tuple(targets.shape)} must match the unit steps {tuple(vectors.shape[:2])}"
        )
    cosine = codebook.cosine(vectors)  # [B, T, U]
    logits = cosine / temperature  # [B, T, U]
    valid = targets != ignore_index  # [B, T]
    count = int(valid.sum())
    denominator = max(count, 1)
    ce = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=ignore_index, reduction="sum")
    ce = ce / denominator  # mean over real steps (0 when every step is padding)
    target_cos = cosine.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # [B, T]
    cos_term = ((1.0 - target_cos) * valid).sum() / denominator
    accuracy = ((logits.argmax(dim=-1) == targets) & valid).sum().float() / denominator
    return AlignmentLoss(ce + cosine_weight * cos_term, ce, cos_term, accuracy.detach(), count)


class LipAligner(nn.Module):
    """Mouth ROIs [B, T, H, W] -> unit-space vectors [B, u T, D_unit] (see module doc)."""

    def __init__(self, cfg: LipAlignerConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.frontend = LipFrontend(cfg.stem_channels, cfg.resnet_widths, cfg.resnet_blocks)
        self.input_proj = nn.Linear(self.frontend.out_channels, cfg.d_model)
        self.encoder = ConformerEncoder(
            cfg.d_model,
            cfg.num_layers,
            cfg.num_heads,
            cfg.ff_mult,
            cfg.conv_kernel,
            cfg.conv_norm,
            cfg.dropout,
        )
        self.upsampler = TemporalUpsampler(cfg.d_model, cfg.upsample)
        self.projector = TokenProjector(cfg.d_model, cfg.projector_hidden, cfg.unit_dim)
        self.codebook = UnitCodebook(cfg.num_units, cfg.unit_dim, cfg.codebook_seed, cfg.train_codebook)
        self.initialize_weights()

    @classmethod
    def from_config(cls, cfg: LipAlignerConfig) -> LipAligner:
        return cls(cfg)

    def initialize_weights(self) -> None:
        """All initialisation in one place.

        Convolutions: Kaiming (fan-out, ReLU) as ResNet; BatchNorm: weight 1, bias 0; Linear:
        truncated normal (std 0.02), zero bias, as transformer encoders; the codebook: the
        phonological-feature table of imagintalk.units (so similar phones start close).
        """
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Conv3d)):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
        self.codebook.reset_parameters()

    def check_inputs(self, rois: Tensor, key_padding_mask: Tensor | None = None) -> None:
        """Raise InputError (one line) for ROIs or masks of the wrong shape or type."""
        if rois.dim() != 4 or rois.shape[1] < 1 or not rois.is_floating_point():
            raise InputError(f"mouth ROIs must be float [B, T, H, W] with T >= 1, got {tuple(rois.shape)}")
        if min(rois.shape[2:]) < 16:
            raise InputError(f"mouth ROIs of {tuple(rois.shape[2:])} pixels are too small (88 x 88 expected)")
        if key_padding_mask is not None:
            if key_padding_mask.shape != rois.shape[:2] or key_padding_mask.dtype != torch.bool:
                raise InputError(f"key_padding_mask must be bool {tuple(rois.shape[:2])}")
            if bool(key_padding_mask.all(dim=1).any()):
                raise InputError("every sequence needs at least one unpadded frame")

    def frame_features(self, rois: Tensor) -> Tensor:
        """The pre-Conformer per-frame features: rois [B, T, H, W] -> [B, T, C]."""
        return self.frontend(rois)  # [B, T, C]

    def unit_padding_mask(self, key_padding_mask: Tensor) -> Tensor:
        """Frame padding mask [B, T] -> unit-step padding mask [B, u T] (True = padding)."""
        u = self.cfg.upsample
        return key_padding_mask.unsqueeze(-1).expand(-1, -1, u).flatten(1, 2)  # [B, u T]

    def forward(self, rois: Tensor, key_padding_mask: Tensor | None = None) -> Tensor:
        """rois [B, T, H, W] float, key_padding_mask [B, T] bool (True = padding) -> [B, u T, D_unit]."""
        if key_padding_mask is not None:
            # zero padded frames: the stem's temporal kernel then sees them like its own zero padding
            rois = rois * (~key_padding_mask)[:, :, None, None].to(rois.dtype)  # [B, T, H, W]
        return self.from_frame_features(self.frontend(rois), key_padding_mask)  # [B, u T, D_unit]

    def from_frame_features(self, features: Tensor, key_padding_mask: Tensor | None = None) -> Tensor:
        """The part after the front end: frame features [B, T, C] -> [B, u T, D_unit] (enrollment
        adapts only this part, so it computes the front end's features once per clip)."""
        h = self.input_proj(features)  # [B, T, d]
        h = self.encoder(h, key_padding_mask)  # [B, T, d]
        h = self.upsampler(h)  # [B, u T, d]
        return self.projector(h)  # [B, u T, D_unit]

    def predict(self, rois: Tensor, key_padding_mask: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """-> (vectors [B, u T, D_unit], nearest unit ids [B, u T], cosine similarity [B, u T])."""
        vectors = self(rois, key_padding_mask)  # [B, u T, D_unit]
        ids, similarity = self.codebook.nearest(vectors)  # 2 x [B, u T]
        return vectors, ids, similarity

    def visual_logits(self, vectors: Tensor) -> Tensor:
        """Cosine logits [B, T, U] at the training temperature (the visual prior for refinement)."""
        return self.codebook.logits(vectors, self.cfg.temperature)  # [B, T, U]

    def alignment_loss(
        self, vectors: Tensor, targets: Tensor, ignore_index: int = IGNORE_INDEX
    ) -> AlignmentLoss:
        """Stage-1 loss of vectors [B, u T, D] against target units [B, u T] (``ignore_index`` = padding)."""
        return alignment_loss(
            self.codebook, vectors, targets, self.cfg.temperature, self.cfg.cosine_weight, ignore_index
        )
