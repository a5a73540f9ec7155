"""Settings of the face-style adapter (global identity + temporal expression), with named presets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InputError


@dataclass
class FaceStyleConfig:
    # inputs: the pretrained extractors, by name (imagintalk.features.extractors), and their widths
    identity_extractor: str = "dlib"  # dlib (shipped) | onnx | torchscript (a user-owned file)
    identity_model: str = ""  # the .onnx / TorchScript file of onnx / torchscript (a local path)
    identity_input_size: int = 112  # S of the aligned RGB crops [N, 3, S, S] fed to that file
    expression_extractor: str = "fer"  # fer (shipped) | onnx | torchscript (a user-owned file)
    expression_model: str = ""
    expression_input_size: int = 64
    descriptor_dim: int = 128  # the clip's identity vector (dlib: 128)
    expression_dim: int = 7  # per-frame expression features: 7 fer probabilities, or 135 with its embedding
    speaker_dim: int = 256  # resemblyzer speaker embedding (the identity target)
    num_emotions: int = 4  # utterance emotion classes (SynthTalk: neutral, happy, sad, angry)
    # outputs (equal to the Style-DiT's id_dim / emo_dim)
    id_dim: int = 64  # D_id of c_id [B, D_id]
    emo_dim: int = 32  # D_emo of c_emo [B, T_tok, D_emo]
    hidden_dim: int = 128  # width of the identity and expression MLPs
    dropout: float = 0.0
    # rates: c_emo is at the token rate = fps * token_rate_factor
    fps: float = 25.0
    token_rate_factor: int = 2
    smooth_window_s: float = 0.5  # centred moving average of the per-frame features
    # optional trainable image encoders beside the pretrained features
    use_face_encoder: bool = False  # CNN over N aligned face crops [B, N, 3, S, S], mean-pooled
    face_encoder_size: int = 64  # S of those crops
    face_encoder_dim: int = 64  # its output, concatenated to the descriptor
    use_expression_encoder: bool = False  # CNN over every frame's crop [B, T, 3, S, S]
    expression_encoder_size: int = 48
    expression_encoder_dim: int = 16  # its output, concatenated to the expression features
    encoder_channels: int = 16  # channels of the first conv of either encoder (doubling per stage)
    # stage-2 loss weights
    speaker_weight: float = 1.0  # 1 - cos(predicted, resemblyzer embedding)
    f0_weight: float = 1.0  # MSE of relative log-F0 (octaves) on voiced frames
    voiced_weight: float = 0.5  # BCE of the voiced flag
    energy_weight: float = 0.5  # MSE of relative energy (units of 20 dB)
    emotion_weight: float = 0.5  # CE of the utterance emotion
    # issue 21: temporal prosody targets the expression path can predict (docs/style_branch.md,
    # "Relative prosody and emphasis targets"). Off by default: the heads do not exist, so older
    # models and their checkpoints load and behave exactly as before.
    relative_prosody: bool = False  # head on c_emo: F0 in semitones from the clip's median, energy in dB
    relative_f0_weight: float = 1.0  # MSE of relative F0 in units of 12 semitones, voiced tokens
    relative_energy_weight: float = 0.5  # MSE of relative energy in units of 20 dB
    relative_smooth_s: float = 0.0  # >0: the relative targets averaged over this window (s) first
    prosody_cues: bool = False  # head on c_emo: per-token emphasis and question-word logits
    emphasis_weight: float = 1.0  # BCE of "this token is in the emphasised word" (labelled clips)
    question_weight: float = 0.5  # BCE of "this token is in a question's last word" (labelled clips)

    @property
    def relative_smooth_tokens(self) -> int:
        """Odd window length in token frames closest to relative_smooth_s (1 = no smoothing)."""
        token_rate = self.fps * self.token_rate_factor
        return 2 * int(round(self.relative_smooth_s * token_rate / 2.0)) + 1

    @property
    def smooth_window_frames(self) -> int:
        """Odd window length in video frames closest to smooth_window_s (13 at 25 fps, 0.5 s)."""
        return 2 * int(round(self.smooth_window_s * self.fps / 2.0)) + 1

    def check_inputs(self, expression_dim: int | None = None, error: type[Exception] = InputError) -> None:
        """Raise ``error`` unless the adapter can be fed: neither prepared data nor speaking hold the
        per-frame face images the expression encoder needs, and the features' expression width
        (``expression_dim``, when known) must be the adapter's."""
        if self.use_expression_encoder:
            raise error(
                "this style adapter uses per-frame face images (style.use_expression_encoder), which "
                "neither prepared data nor speaking provide; set style.use_expression_encoder=false"
            )
        if expression_dim is not None and expression_dim != self.expression_dim:
            raise error(
                f"{expression_dim}-D expression features, but style.expression_dim is {self.expression_dim}"
            )

    def validate(self) -> None:
        """Raise InputError for sizes the adapter cannot be built with."""
        positive = (
            "descriptor_dim", "expression_dim", "speaker_dim", "num_emotions", "id_dim", "emo_dim",
            "hidden_dim", "token_rate_factor", "face_encoder_size", "face_encoder_dim",
            "expression_encoder_size", "expression_encoder_dim", "encoder_channels", "identity_input_size",
            "expression_input_size",
        )  # fmt: skip
        for name in positive:
            if getattr(self, name) < 1:
                raise InputError(f"face_style.{name} must be positive, got {getattr(self, name)}")
        if self.num_emotions < 2:
            raise InputError(f"face_style.num_emotions must be at least 2, got {self.num_emotions}")
        if self.fps <= 0 or self.smooth_window_s < 0:
            raise InputError("face_style.fps must be positive and face_style.smooth_window_s non-negative")
        for name in ("face_encoder_size", "expression_encoder_size"):
            if getattr(self, name) % 16:
                raise InputError(f"face_style.{name} must be a multiple of 16, got {getattr(self, name)}")
        weights = (
            "speaker_weight", "f0_weight", "voiced_weight", "energy_weight", "emotion_weight",
            "relative_f0_weight", "relative_energy_weight", "emphasis_weight", "question_weight",
        )  # fmt: skip
        for name in weights:
            if not getattr(self, name) >= 0.0:  # also refuses NaN
                raise InputError(f"face_style.{name} must be non-negative, got {getattr(self, name)}")
        if not self.relative_smooth_s >= 0.0:
            raise InputError(
                f"face_style.relative_smooth_s must be non-negative, got {self.relative_smooth_s}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"face_style.dropout must lie in [0, 1), got {self.dropout}")


def _debug() -> FaceStyleConfig:
    # tiny, face encoder on so tests cover it. The per-frame expression encoder stays off in
    # every preset: prepared features carry no per-frame crops yet (tests build it directly).
    return FaceStyleConfig(
        id_dim=16, emo_dim=8, hidden_dim=32, use_face_encoder=True, face_encoder_size=32, face_encoder_dim=8,
        use_expression_encoder=False, expression_encoder_size=32, expression_encoder_dim=4,
        encoder_channels=4,
    )  # fmt: skip


def _synth() -> FaceStyleConfig:
    # the shipped default (sizes of the "synth" DiT preset). Expression input = fer probabilities
    # ++ its 128-D embedding (expression_vector): the embedding told SynthTalk emotions apart far
    # better (0.91 vs 0.77, docs/style_branch.md). The dlib descriptor identifies SynthTalk
    # speakers (AUC 0.94) but predicts unseen voices only slightly better than the mean voice:
    # whether use_face_encoder helps is the stage-2 A/B to run.
    return FaceStyleConfig(id_dim=64, emo_dim=32, hidden_dim=128, expression_dim=135)


def _paper() -> FaceStyleConfig:
    # real faces (LRS3 / MEAD / RAVDESS): both trainable encoders beside the pretrained features
    return FaceStyleConfig(
        id_dim=512, emo_dim=256, hidden_dim=512, dropout=0.1, num_emotions=8, expression_dim=135,
        use_face_encoder=True, face_encoder_size=96, face_encoder_dim=128, use_expression_encoder=False,
        expression_encoder_size=64, expression_encoder_dim=64, encoder_channels=32,
    )  # fmt: skip


FACE_STYLE_PRESETS: dict[str, Callable[[], FaceStyleConfig]] = {
    "debug": _debug,
    "synth": _synth,
    "paper": _paper,
}


def face_style_preset(name: str) -> FaceStyleConfig:
    """The FaceStyleConfig preset ``name``: "debug", "synth" or "paper"."""
    if name not in FACE_STYLE_PRESETS:
        raise InputError(f"unknown face-style preset {name!r}; choose one of {', '.join(FACE_STYLE_PRESETS)}")
    return FACE_STYLE_PRESETS[name]()
