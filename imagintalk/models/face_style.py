"""Face-style adapter: face -> voice identity (c_id) and expression -> prosody (c_emo), with stage-2 heads.

* global identity path: the clip's pretrained dlib descriptor [B, 128] (optionally beside a
  small trainable CNN over N aligned face crops, mean-pooled) -> MLP -> c_id [B, D_id];
  head: c_id -> predicted speaker embedding [B, 256] (L2-normalised), trained against the
  resemblyzer embedding of the target voice (1 - cosine).
* temporal expression path: per-frame expression features [B, T, 7] (optionally beside a
  trainable per-frame CNN) -> centred 0.5 s moving average -> repeat to the token rate
  -> MLP -> c_emo [B, T_tok, D_emo]; heads: relative log-F0, voiced logit and relative
  energy per token frame, and the utterance emotion from the masked mean of c_emo.
  Optional (issue 21, off by default): ``relative_prosody`` adds a head for speaker-free
  F0 (semitones from the clip's median) and energy (dB from its mean) per token,
  ``prosody_cues`` one for per-token emphasis and question-word logits (extra outputs
  RELATIVE_OUTPUTS / CUE_OUTPUTS, not part of OUTPUT_NAMES, so exports are unchanged).

The smoothing is done in the graph (a fixed average pool over the masked features divided
by the pooled mask), not precomputed: it then honours the key padding mask and edges
exactly as ``features.smooth_over_window`` does, and exports to ONNX as AveragePool.
The forward pass has no data-dependent Python, so it exports with a dynamic T.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import CheckpointError, InputError
from ..features.prosody import ENERGY_UNIT_DB, SEMITONES_PER_OCTAVE
from ..settings.style import FaceStyleConfig

OUTPUT_NAMES = (
    "c_id",
    "c_emo",
    "speaker",
    "log_f0",
    "voiced_logit",
    "energy",
    "emotion_logits",
    "token_valid",
)
RELATIVE_OUTPUTS = ("rel_f0", "rel_energy")  # semitones, dB: only with cfg.relative_prosody
CUE_OUTPUTS = ("emphasis_logit", "question_logit")  # only with cfg.prosody_cues


def masked_mean(values: Tensor, weights: Tensor) -> Tensor:
    """Weighted mean of values [...] over everything, weights [...] in {0, 1} (0 if all zero)."""
    return (values * weights).sum() / weights.sum().clamp(min=1.0)


class ConvEncoder(nn.Module):
    """Images [N, 3, S, S] float in [0, 1] -> [N, out_dim]: four stride-2 conv stages, mean-pooled."""

    def __init__(self, channels: int, out_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for stage in range(4):  # S -> S / 16; channels double per stage
            c_out = channels * 2**stage
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.GroupNorm(1, c_out), nn.SiLU()]
            c_in = c_out
        self.stages = nn.Sequential(*layers)
        self.proj = nn.Linear(c_in, out_dim)

    def forward(self, images: Tensor) -> Tensor:
        h = self.stages((images - 0.5) * 2.0)  # [N, C, S/16, S/16]
        return self.proj(h.mean(dim=(2, 3)))  # [N, out_dim]


class MaskedMovingAverage(nn.Module):
    """Centred moving average over ``window`` (odd) valid frames: [B, T, F] -> [B, T, F]."""

    def __init__(self, window: int) -> None:
        super().__init__()
        self.window = window

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        """x [B, T, F], valid [B, T, 1] float (1 = real frame) -> [B, T, F]."""
        if self.window <= 1:
            return x * valid  # [B, T, F]
        pool = dict(kernel_size=self.window, stride=1, padding=self.window // 2, count_include_pad=True)
        summed = F.avg_pool1d((x * valid).transpose(1, 2), **pool)  # [B, F, T] window sum / window
        count = F.avg_pool1d(valid.transpose(1, 2), **pool)  # [B, 1, T] valid count / window
        return (summed / count.clamp(min=1e-6)).transpose(1, 2) * valid  # [B, T, F]


def mlp(in_dim: int, hidden_dim: int, out_dim: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_dim, hidden_dim), nn.SiLU(), nn.Dropout(dropout), nn.Linear(hidden_dim, out_dim)
    )


class FaceStyleAdapter(nn.Module):
    """Descriptor + expression features (+ optional crops) -> c_id, c_emo and stage-2 predictions."""

    def __init__(self, cfg: FaceStyleConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        id_in, emo_in = cfg.descriptor_dim, cfg.expression_dim
        self.face_encoder = None
        if cfg.use_face_encoder:
            self.face_encoder = ConvEncoder(cfg.encoder_channels, cfg.face_encoder_dim)
            id_in += cfg.face_encoder_dim
        self.expression_encoder = None
        if cfg.use_expression_encoder:
            self.expression_encoder = ConvEncoder(cfg.encoder_channels, cfg.expression_encoder_dim)
            emo_in += cfg.expression_encoder_dim
        # the dlib descriptor is unit-norm (components ~0.09): normalise it before the MLP
        self.descriptor_norm = nn.LayerNorm(cfg.descriptor_dim)
        self.identity_mlp = mlp(id_in, cfg.hidden_dim, cfg.id_dim, cfg.dropout)
        self.smoother = MaskedMovingAverage(cfg.smooth_window_frames)
        self.expression_mlp = mlp(emo_in, cfg.hidden_dim, cfg.emo_dim, cfg.dropout)
        self.speaker_head = nn.Sequential(nn.SiLU(), nn.Linear(cfg.id_dim, cfg.speaker_dim))
        self.prosody_head = nn.Sequential(nn.SiLU(), nn.Linear(cfg.emo_dim, 3))  # log-F0, voiced, energy
        self.emotion_head = nn.Sequential(nn.SiLU(), nn.Linear(cfg.emo_dim, cfg.num_emotions))
        # issue 21 heads: absent unless asked for, so older checkpoints load strictly
        self.relative_head = None
        if cfg.relative_prosody:  # relative F0 (units of 12 st), relative energy (units of 20 dB)
            self.relative_head = nn.Sequential(nn.SiLU(), nn.Linear(cfg.emo_dim, 2))
        self.cue_head = None
        if cfg.prosody_cues:  # emphasis logit, question-word logit
            self.cue_head = nn.Sequential(nn.SiLU(), nn.Linear(cfg.emo_dim, 2))
        self.initialize_weights()

    @classmethod
    def from_config(cls, cfg: FaceStyleConfig) -> FaceStyleAdapter:
        return cls(cfg)

    def initialize_weights(self) -> None:
        """All initialisation in one place: Xavier linears, He convs, zero biases, small heads.

        The heads start small (std 0.02), not zero, so every parameter gets a gradient from
        the first step; c_id / c_emo feed the Style-DiT, whose own modulation starts at zero.
        """
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
        heads = [self.speaker_head, self.prosody_head, self.emotion_head, self.relative_head, self.cue_head]
        for head in (h[-1] for h in heads if h is not None):
            nn.init.normal_(head.weight, std=0.02)
            nn.init.zeros_(head.bias)

    def identity_modules(self) -> list[nn.Module]:
        """The global identity path (descriptor -> c_id, and its speaker head)."""
        modules = [self.descriptor_norm, self.identity_mlp, self.speaker_head]
        return modules + ([self.face_encoder] if self.face_encoder is not None else [])

    def load_warm_start(self, state: dict[str, Tensor]) -> list[str]:
        """Start from another adapter's weights -> the names left as initialised (heads it lacks).

        Every tensor both adapters have must match in shape (the same preset); this adapter's
        optional heads (``relative_head``, ``cue_head``) may be missing from ``state``.
        """
        own = self.state_dict()
        optional = ("relative_head.", "cue_head.")
        missing = sorted(n for n in own if n not in state and not n.startswith(optional))
        if missing:
            raise CheckpointError(f"the style adapter to start from lacks {', '.join(missing[:3])}")
        for name, tensor in own.items():
            if name in state and state[name].shape != tensor.shape:
                raise CheckpointError(
                    f"cannot start from that style adapter: its {name} is {tuple(state[name].shape)}, "
                    f"this one's {tuple(tensor.shape)}"
                )
        self.load_state_dict({n: state.get(n, t) for n, t in own.items()})
        return sorted(n for n in own if n not in state)

    def check_inputs(
        self,
        descriptor: Tensor,
        expression: Tensor,
        key_padding_mask: Tensor | None = None,
        face_images: Tensor | None = None,
        expression_images: Tensor | None = None,
    ) -> None:
        """Raise InputError (one line) for inputs of the wrong shape or type."""
        cfg = self.cfg
        if descriptor.dim() != 2 or descriptor.shape[1] != cfg.descriptor_dim:
            raise InputError(f"descriptor must be [B, {cfg.descriptor_dim}], got {tuple(descriptor.shape)}")
        b = descriptor.shape[0]
        if expression.dim() != 3 or expression.shape[0] != b or expression.shape[2] != cfg.expression_dim:
            raise InputError(
                f"expression must be [{b}, T, {cfg.expression_dim}], got {tuple(expression.shape)}"
            )
        t = expression.shape[1]
        if t < 1:
            raise InputError("expression features need at least one frame")
        if key_padding_mask is not None and (
            key_padding_mask.dtype != torch.bool or key_padding_mask.shape != (b, t)
        ):
            raise InputError(f"key_padding_mask must be bool [{b}, {t}], got {key_padding_mask.dtype} "
                             f"{tuple(key_padding_mask.shape)}")  # fmt: skip
        images = {"face_images": (face_images, cfg.use_face_encoder, None),
                  "expression_images": (expression_images, cfg.use_expression_encoder, t)}  # fmt: skip
        for name, (tensor, used, frames) in images.items():
            if used and tensor is None:
                raise InputError(f"{name} [B, N, 3, S, S] are required by this configuration")
            if tensor is not None and (tensor.dim() != 5 or tensor.shape[0] != b or tensor.shape[2] != 3
                                       or (frames is not None and tensor.shape[1] != frames)):  # fmt: skip
                raise InputError(f"{name} must be [{b}, {frames or 'N'}, 3, S, S], got {tuple(tensor.shape)}")

    def encode_identity(self, descriptor: Tensor, face_images: Tensor | None = None) -> Tensor:
        """descriptor [B, 128], face_images [B, N, 3, S, S] in [0, 1] (if used) -> c_id [B, D_id]."""
        h = self.descriptor_norm(descriptor)  # [B, 128]
        if self.face_encoder is not None and face_images is not None:
            b, n = face_images.shape[:2]  # B, N
            faces = self.face_encoder(face_images.flatten(0, 1))  # [B*N, F_face]
            h = torch.cat([h, faces.reshape(b, n, -1).mean(dim=1)], dim=-1)  # [B, 128 + F_face]
        return self.identity_mlp(h)  # [B, D_id]

    def encode_expression(
        self, expression: Tensor, valid: Tensor, expression_images: Tensor | None = None
    ) -> Tensor:
        """expression [B, T, 7], valid [B, T, 1], images [B, T, 3, S, S] -> c_emo [B, T_tok, D_emo]."""
        h = expression  # [B, T, 7]
        if self.expression_encoder is not None and expression_images is not None:
            b, t = expression_images.shape[:2]  # B, T
            frames = self.expression_encoder(expression_images.flatten(0, 1))  # [B*T, F_expr]
            h = torch.cat([h, frames.reshape(b, t, -1)], dim=-1)  # [B, T, 7 + F_expr]
        h = self.smoother(h, valid)  # [B, T, F] centred 0.5 s average of the valid frames
        factor = self.cfg.token_rate_factor
        h = h.unsqueeze(2).expand(-1, -1, factor, -1).flatten(1, 2)  # [B, T_tok, F] each frame repeated
        token_valid = valid.unsqueeze(2).expand(-1, -1, factor, -1).flatten(1, 2)  # [B, T_tok, 1]
        return self.expression_mlp(h) * token_valid  # [B, T_tok, D_emo], zero at padding

    def forward(
        self,
        descriptor: Tensor,
        expression: Tensor,
        key_padding_mask: Tensor | None = None,
        face_images: Tensor | None = None,
        expression_images: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """Conditions and stage-2 predictions (keys OUTPUT_NAMES), T_tok = token_rate_factor * T.

        descriptor [B, 128] (clip_identity), expression [B, T, 7] per video frame,
        key_padding_mask [B, T] bool (True = padding), face_images [B, N, 3, S, S] and
        expression_images [B, T, 3, S, S] float in [0, 1] when the config uses the encoders.
        """
        if key_padding_mask is None:
            valid = torch.ones_like(expression[..., :1])  # [B, T, 1]
        else:
            valid = (~key_padding_mask).unsqueeze(-1).to(expression.dtype)  # [B, T, 1]
        c_id = self.encode_identity(descriptor, face_images)  # [B, D_id]
        c_emo = self.encode_expression(expression, valid, expression_images)  # [B, T_tok, D_emo]
        factor = self.cfg.token_rate_factor
        token_valid = valid.expand(-1, -1, factor).flatten(1, 2)  # [B, T_tok]
        speaker = F.normalize(self.speaker_head(c_id), dim=-1)  # [B, 256] unit-norm speaker embedding
        log_f0, voiced_logit, energy = self.prosody_head(c_emo).unbind(-1)  # 3 x [B, T_tok]
        pooled = (c_emo * token_valid.unsqueeze(-1)).sum(1) / token_valid.sum(1, keepdim=True).clamp(min=1.0)
        emotion_logits = self.emotion_head(pooled)  # [B, num_emotions] from the utterance mean [B, D_emo]
        out = {
            "c_id": c_id,
            "c_emo": c_emo,
            "speaker": speaker,
            "log_f0": log_f0,
            "voiced_logit": voiced_logit,
            "energy": energy,
            "emotion_logits": emotion_logits,
            "token_valid": token_valid,
        }
        if self.relative_head is not None:
            rel_f0, rel_energy = self.relative_head(c_emo).unbind(-1)  # 2 x [B, T_tok]
            out["rel_f0"] = SEMITONES_PER_OCTAVE * rel_f0  # semitones from the clip's median F0
            out["rel_energy"] = ENERGY_UNIT_DB * rel_energy  # dB from the clip's mean speech energy
        if self.cue_head is not None:
            out["emphasis_logit"], out["question_logit"] = self.cue_head(c_emo).unbind(-1)  # [B, T_tok]
        return out

    def losses(self, outputs: dict[str, Tensor], targets: dict[str, Tensor]) -> dict[str, Tensor]:
        """Stage-2 losses of the targets present, and their weighted "total".

        targets: "speaker_embedding" [B, 256] (resemblyzer), "log_f0" / "voiced" / "energy"
        [B, T_tok] float (features.prosody_targets), "emotion" [B] long. Padding frames
        (outputs["token_valid"] == 0) are left out; log-F0 counts only on voiced frames.
        With the issue-21 heads: "rel_f0" (semitones; voiced tokens, by "voiced" or rel_f0 != 0)
        and "rel_energy" (dB) [B, T_tok], scored in units of 12 st / 20 dB after the optional
        ``relative_smooth_s`` average; "emphasis" / "question" [B, T_tok] in {0, 1}, -1 = no
        label (binary cross-entropy on labelled tokens). Targets of absent heads are ignored.
        """
        cfg, valid = self.cfg, outputs["token_valid"]  # [B, T_tok]
        for name in ("log_f0", "voiced", "energy", "rel_f0", "rel_energy", "emphasis", "question"):
            if name in targets and targets[name].shape != valid.shape:
                raise InputError(f"target {name} must be {tuple(valid.shape)} (token frames), "
                                 f"got {tuple(targets[name].shape)}")  # fmt: skip
        out: dict[str, Tensor] = {}
        if "speaker_embedding" in targets:
            target = F.normalize(targets["speaker_embedding"], dim=-1)  # [B, 256]
            out["speaker"] = (1.0 - (outputs["speaker"] * target).sum(-1)).mean()
        if "log_f0" in targets:
            voiced = targets["voiced"] if "voiced" in targets else (targets["log_f0"] != 0).float()
            out["log_f0"] = masked_mean((outputs["log_f0"] - targets["log_f0"]) ** 2, valid * voiced)
        if "voiced" in targets:
            bce = F.binary_cross_entropy_with_logits(
                outputs["voiced_logit"], targets["voiced"], reduction="none"
            )
            out["voiced"] = masked_mean(bce, valid)  # [B, T_tok] -> scalar
        if "energy" in targets:
            out["energy"] = masked_mean((outputs["energy"] - targets["energy"]) ** 2, valid)
        if "emotion" in targets:
            out["emotion"] = F.cross_entropy(outputs["emotion_logits"], targets["emotion"])
        out.update(self.temporal_losses(outputs, targets))
        weights = {"speaker": cfg.speaker_weight, "log_f0": cfg.f0_weight, "voiced": cfg.voiced_weight,
                   "energy": cfg.energy_weight, "emotion": cfg.emotion_weight,
                   "rel_f0": cfg.relative_f0_weight, "rel_energy": cfg.relative_energy_weight,
                   "emphasis": cfg.emphasis_weight, "question": cfg.question_weight}  # fmt: skip
        out["total"] = sum((weights[name] * loss for name, loss in out.items()), valid.new_zeros(()))
        return out

    def temporal_losses(self, outputs: dict[str, Tensor], targets: dict[str, Tensor]) -> dict[str, Tensor]:
        """The issue-21 heads' losses (unweighted): rel_f0, rel_energy, emphasis, question."""
        valid, out = outputs["token_valid"], {}  # [B, T_tok]
        if "rel_f0" in outputs and "rel_f0" in targets:
            voiced = targets["voiced"] if "voiced" in targets else (targets["rel_f0"] != 0).to(valid.dtype)
            weights = valid * voiced  # [B, T_tok]
            target = smooth_tokens(targets["rel_f0"], weights, self.cfg.relative_smooth_tokens)
            error = (outputs["rel_f0"] - target) / SEMITONES_PER_OCTAVE
            out["rel_f0"] = masked_mean(error**2, weights)
        if "rel_energy" in outputs and "rel_energy" in targets:
            target = smooth_tokens(targets["rel_energy"], valid, self.cfg.relative_smooth_tokens)
            out["rel_energy"] = masked_mean(((outputs["rel_energy"] - target) / ENERGY_UNIT_DB) ** 2, valid)
        for name in ("emphasis", "question"):
            if f"{name}_logit" in outputs and name in targets:
                label = targets[name]  # [B, T_tok], -1 = unlabelled
                bce = F.binary_cross_entropy_with_logits(
                    outputs[f"{name}_logit"], label.clamp(min=0.0), reduction="none"
                )
                out[name] = masked_mean(bce, valid * (label >= 0).to(valid.dtype))
        return out


def smooth_tokens(values: Tensor, weights: Tensor, window: int) -> Tensor:
    """Centred weighted moving average over ``window`` (odd) tokens: values, weights [B, T] -> [B, T].

    Tokens with weight 0 (unvoiced, padding) neither count nor change; window 1 returns ``values``."""
    if window <= 1:
        return values
    pool = dict(kernel_size=window, stride=1, padding=window // 2, count_include_pad=True)
    summed = F.avg_pool1d((values * weights).unsqueeze(1), **pool).squeeze(1)  # [B, T]
    count = F.avg_pool1d(weights.unsqueeze(1), **pool).squeeze(1)  # [B, T]
    return torch.where(count > 0, summed / count.clamp(min=1e-6), values)
