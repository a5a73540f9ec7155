"""The codec, built from config in one place.

Codec names map to classes here and nowhere else; the heavy module behind each name is
imported only when that name is asked for, so ``import imagintalk`` stays light and works
without transformers installed. The other components are built from config where they live:
face detectors by name in ``video.detectors``, the networks in ``models.bundle``.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CheckpointError, DependencyError, InputError
from .settings import Config
from .settings.codec import PRETRAINED_CODECS, CodecConfig
from .settings.paths import DEFAULT_CODEC_DIR, REPO_ROOT

if TYPE_CHECKING:
    from .codec.base import Codec

CODECS = ("world_rvq", "dac", "encodec")


def _lazy(module: str, attr: str, extra: str):
    try:
        return getattr(importlib.import_module(module, __package__), attr)
    except ImportError as exc:  # a missing optional dependency, not a bug
        raise DependencyError(
            f"{attr} needs an optional dependency that is not installed ({exc.name or exc}); "
            f"install it with: pip install -e '.[{extra}]'"
        ) from None


def resolve_codec_name(name_or_dir: str) -> tuple[str, str]:
    """``"world_rvq"`` / ``"dac"`` / a directory -> (backend name, directory or "")."""
    if name_or_dir in CODECS:
        return name_or_dir, ""
    path = Path(name_or_dir)
    if not path.exists():
        raise CheckpointError(
            f"codec {name_or_dir!r} is neither a known codec ({', '.join(CODECS)}) nor a directory"
        )
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise CheckpointError(f"codec directory {path} has no config.json")
    try:
        data = json.loads(cfg_file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"codec config {cfg_file} is unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"codec config {cfg_file} must hold a JSON object")
    # our own codec writes "codec": "world_rvq"; transformers checkpoints have "model_type"
    name = data.get("codec") or {"dac": "dac", "encodec": "encodec"}.get(data.get("model_type", ""))
    if name not in CODECS:
        raise CheckpointError(f"codec directory {path}: cannot tell which codec it holds")
    return name, str(path)


def build_codec(cfg: CodecConfig) -> Codec:
    """The codec named by ``cfg.name`` (loaded from ``cfg.path`` when given).

    ``dac`` / ``encodec`` without a path have no weights to load: CheckpointError, unless
    ``cfg.allow_random_weights`` (tests only) builds them with random weights.
    """
    name, path = cfg.name, cfg.path
    if path:
        name, path = resolve_codec_name(path)
    replace(cfg, name=name, path=path).check_weights()
    if name == "world_rvq":
        codec_cls = _lazy(".codec.world_rvq", "WorldRVQCodec", "core")
        return codec_cls.load(path or DEFAULT_CODEC_DIR)
    if name == "dac":
        codec_cls = _lazy(".codec.hf", "DacCodec", "core")
        return codec_cls(path or None)
    if name == "encodec":
        codec_cls = _lazy(".codec.hf", "EncodecCodec", "core")
        return codec_cls(path or None)
    raise InputError(f"unknown codec {name!r}; choose one of {', '.join(CODECS)} or a directory")


def resolve_codec_path(path: str, model_dir: Path | None) -> str:
    """A relative codec path is tried as given, then next to the model, then under the repository."""
    if not path or Path(path).is_absolute() or Path(path).exists():
        return path
    for base in (model_dir, REPO_ROOT):
        if base is not None and (base / path).exists():
            return str(base / path)
    return path


def load_codec(cfg: Config, model_dir: Path | None = None, override: str | None = None) -> Codec:
    """The configured codec (``override``: another codec dir or name), its relative path resolved
    against ``model_dir``; torch is seeded with ``cfg.seed`` first so that a backend built with
    random weights (``codec.allow_random_weights``, tests only) agrees across processes."""
    import torch  # lazy: heavy, and only needed once a codec is built

    torch.manual_seed(cfg.seed)
    path = resolve_codec_path(override or cfg.codec.path, model_dir)
    codec = build_codec(replace(cfg.codec, path=path))
    check_pretrained_layout(codec, cfg.codec, path)
    return codec


def check_pretrained_layout(codec: Codec, cfg: CodecConfig, path: str) -> None:
    """A pretrained codec's directory must hold the token layout the config was sized for (e.g. the
    paper preset's DAC 16 kHz, 12 x 1024 at 50 Hz, not DAC 44 kHz): CheckpointError otherwise."""
    if codec.name not in PRETRAINED_CODECS:  # world_rvq: the project's own, sized where trained
        return
    got = (codec.sample_rate, codec.num_codebooks, codec.cardinality, codec.frame_rate)
    want = (cfg.sample_rate, cfg.num_codebooks, cfg.cardinality, cfg.frame_rate)
    if got != want:
        raise CheckpointError(
            f"codec {path or codec.name} is {got[0]} Hz, {got[1]} x {got[2]} tokens at {got[3]} Hz, but "
            f"the config asks for {want[0]} Hz, {want[1]} x {want[2]} at {want[3]} Hz: give "
            f"a {PRETRAINED_CODECS.get(cfg.name, 'matching')} checkpoint, or size codec.* to this one"
        )
