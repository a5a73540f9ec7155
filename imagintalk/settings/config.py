"""Configuration: one dataclass per part, named presets, YAML and dotted overrides.

    cfg = load_config("synth")                                   # a preset
    cfg = load_config("synth", yaml_path="my.yaml")              # + a YAML file
    cfg = load_config("debug", overrides=["codec.num_codebooks=4"])

Presets:
    debug  tiny sizes so tests run every stage on a CPU in seconds
    synth  the shipped default model, trained on SynthTalk on CPUs
    paper  the paper's scale (DAC 16 kHz, 12 x 1024 tokens at 50 Hz) for GPU machines
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .codec import PRETRAINED_CODECS, CodecConfig
from .data import DataConfig
from .dit import DiTConfig, dit_preset
from .eval import EvalConfig
from .fine import FineConfig, fine_preset
from .sampling import SamplingConfig
from .semantic import LipAlignerConfig, UnitMLMConfig, lip_aligner_preset, unit_mlm_preset
from .style import FaceStyleConfig, face_style_preset
from .synth import SynthConfig
from .train import TrainConfig, train_preset
from .units import UnitsConfig
from .video import VideoConfig


@dataclass
class Config:
    preset: str = "synth"
    seed: int = 0
    synth: SynthConfig = field(default_factory=SynthConfig)
    video: VideoConfig = field(default_factory=VideoConfig)
    codec: CodecConfig = field(default_factory=CodecConfig)
    units: UnitsConfig = field(default_factory=UnitsConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    data: DataConfig = field(default_factory=DataConfig)
    lip: LipAlignerConfig = field(default_factory=lambda: lip_aligner_preset("synth"))
    mlm: UnitMLMConfig = field(default_factory=lambda: unit_mlm_preset("synth"))
    style: FaceStyleConfig = field(default_factory=lambda: face_style_preset("synth"))
    dit: DiTConfig = field(default_factory=lambda: dit_preset("synth"))
    fine: FineConfig = field(default_factory=lambda: fine_preset("synth"))
    train: TrainConfig = field(default_factory=lambda: train_preset("synth"))
    sampling: SamplingConfig = field(default_factory=SamplingConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def completes_fine_levels(self) -> bool:
        """True when the fine-level completer adds the codec levels the DiT does not generate."""
        return self.fine.enabled and self.dit.num_codebooks < self.codec.num_codebooks

    def check(self) -> Config:
        """Raise InputError where two sections disagree on a shared size; CheckpointError where the
        codec is a pretrained one (dac, encodec) without weights (``CodecConfig.check_weights``)."""
        if self.dit.num_codebooks > self.codec.num_codebooks:
            raise InputError(
                f"config mismatch: dit.num_codebooks = {self.dit.num_codebooks} but the codec has only "
                f"codec.num_codebooks = {self.codec.num_codebooks} levels"
            )
        pairs = [
            ("dit.cardinality", self.dit.cardinality, "codec.cardinality", self.codec.cardinality),
            ("lip.unit_dim", self.lip.unit_dim, "units.embedding_dim", self.units.embedding_dim),
            ("dit.lip_dim", self.dit.lip_dim, "units.embedding_dim", self.units.embedding_dim),
            ("dit.id_dim", self.dit.id_dim, "style.id_dim", self.style.id_dim),
            ("dit.emo_dim", self.dit.emo_dim, "style.emo_dim", self.style.emo_dim),
            ("fine.id_dim", self.fine.id_dim, "style.id_dim", self.style.id_dim),
            ("units.frame_rate", self.units.frame_rate, "codec.frame_rate", self.codec.frame_rate),
        ]
        for name_a, a, name_b, b in pairs:
            if a != b:
                raise InputError(f"config mismatch: {name_a} = {a} but {name_b} = {b}")
        self.sampling.validate()
        self.fine.validate()
        if self.completes_fine_levels and self.codec.name in PRETRAINED_CODECS:
            # refused here, not after a long stage 3: the completer works in code vectors, which
            # only the project's own codec exposes (codec.base.Codec.vectors)
            raise InputError(
                f"the fine-level completer needs a codec that exposes its code vectors (world_rvq), not "
                f"{self.codec.name}: let the DiT generate all {self.codec.num_codebooks} levels "
                f"(dit.num_codebooks={self.codec.num_codebooks}) or set fine.enabled=false"
            )
        # a config naming a pretrained codec must say where its weights are: the model dir records
        # the codec its tokens come from, and training or speaking without one would make noise
        self.codec.check_weights()
        if self.codec.frame_rate % 25 != 0:
            raise InputError(
                f"codec.frame_rate must be a whole multiple of 25 Hz, got {self.codec.frame_rate}"
            )
        return self


def _model_presets(cfg: Config, name: str) -> Config:
    """Set the network sections to their ``name`` size presets, sized to the codec."""
    cfg.lip = lip_aligner_preset(name)
    cfg.mlm = unit_mlm_preset(name)
    cfg.style = face_style_preset(name)
    cfg.dit = dit_preset(name)
    cfg.fine = fine_preset(name)
    cfg.train = train_preset(name)
    cfg.data.face_crop_size = cfg.style.face_encoder_size  # prepared crops feed the face encoder
    cfg.dit.num_codebooks = min(cfg.dit.num_codebooks, cfg.codec.num_codebooks)  # a coarse prefix
    cfg.dit.cardinality = cfg.codec.cardinality
    cfg.units.embedding_dim = cfg.lip.unit_dim
    cfg.dit.lip_dim = cfg.lip.unit_dim
    cfg.fine.id_dim = cfg.style.id_dim
    return cfg


def _debug() -> Config:
    cfg = Config(preset="debug")
    cfg.synth.image_size = 192  # dlib HOG (no upsampling) misses the drawn faces below ~170 px
    cfg.synth.num_speakers = 8
    cfg.synth.num_test_speakers = 2
    cfg.codec.num_codebooks = 4
    cfg.codec.cardinality = 64
    cfg.codec.train_minutes = 0.3  # a handful of clips: train-codec finishes in seconds
    cfg.codec.train_augment = 1
    cfg.codec.kmeans_iterations = 8
    return _model_presets(cfg, "debug")


def _synth() -> Config:
    return _model_presets(Config(preset="synth"), "synth")


def _paper() -> Config:
    cfg = Config(preset="paper")
    cfg.codec.name = "dac"
    cfg.codec.num_codebooks = 12
    cfg.codec.cardinality = 1024
    cfg.codec.frame_rate = 50
    cfg.video.upsample = 1
    return _model_presets(cfg, "paper")


PRESETS: dict[str, typing.Callable[[], Config]] = {"debug": _debug, "synth": _synth, "paper": _paper}


def preset(name: str) -> Config:
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]()


def _coerce(value: Any, target_type: Any, where: str) -> Any:
    """Convert a YAML / command-line value to the dataclass field's type."""
    origin = typing.get_origin(target_type)
    if origin is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        (item_type,) = typing.get_args(target_type) or (str,)
        return [_coerce(v, item_type, where) for v in value]
    if target_type is bool:
        if isinstance(value, str):
            low = value.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise InputError(f"{where}: expected a boolean, got {value!r}")
        return bool(value)
    if target_type in (int, float, str):
        try:
            return target_type(value)
        except (TypeError, ValueError):
            raise InputError(f"{where}: expected {target_type.__name__}, got {value!r}") from None
    return value


def _apply(obj: Any, values: dict[str, Any], where: str) -> None:
    hints = typing.get_type_hints(type(obj))
    names = {f.name for f in dataclasses.fields(obj)}
    for key, value in values.items():
        path = f"{where}.{key}" if where else key
        if key not in names:
            raise InputError(f"unknown config key {path!r}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise InputError(f"config key {path!r} is a section; give a mapping")
            _apply(current, value, path)
        else:
            setattr(obj, key, _coerce(value, hints[key], path))


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    """Apply ``section.key=value`` strings (as given with ``--set`` on the CLI)."""
    for item in overrides:
        if "=" not in item:
            raise InputError(f"override {item!r} must look like section.key=value")
        dotted, value = item.split("=", 1)
        nested: dict[str, Any] = {}
        cursor = nested
        parts = dotted.strip().split(".")
        for part in parts[:-1]:
            cursor = cursor.setdefault(part, {})
        cursor[parts[-1]] = value
        _apply(cfg, nested, "")
    return cfg


def load_config(
    preset_name: str = "synth",
    yaml_path: str | Path | None = None,
    overrides: list[str] | None = None,
) -> Config:
    """A preset, then the YAML file's values, then the dotted overrides."""
    cfg = preset(preset_name)
    if yaml_path is not None:
        import yaml

        path = Path(yaml_path)
        if not path.is_file():
            raise InputError(f"config file not found: {path}")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise InputError(f"config file {path} is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise InputError(f"config file {path} must hold a mapping")
        data.pop("preset", None)
        _apply(cfg, data, "")
    if overrides:
        apply_overrides(cfg, overrides)
    return cfg


def config_from_dict(data: dict[str, Any]) -> Config:
    """Rebuild a Config saved with :meth:`Config.to_dict` (e.g. next to a checkpoint)."""
    cfg = preset(data.get("preset", "synth"))
    if "fine" not in data:  # saved before the fine-level completer existed: the model has none
        cfg.fine.enabled = False
    _apply(cfg, {k: v for k, v in data.items() if k != "preset"}, "")
    return cfg
