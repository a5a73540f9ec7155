"""Every component made from config, in one place.

Names map to classes here and nowhere else; the heavy modules behind each name are
imported only when that name is asked for, so ``import imagintalk`` stays light and
works without dlib, transformers or pocketsphinx installed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CheckpointError, DependencyError, InputError

if TYPE_CHECKING:
    from .codec.base import Codec
    from .codec.config import CodecConfig
    from .video.config import VideoConfig

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent
DEFAULT_MODELS_DIR = REPO_ROOT / "models"
DEFAULT_CODEC_DIR = DEFAULT_MODELS_DIR / "codec"

CODECS = ("world_rvq", "dac", "encodec")
DETECTORS = ("dlib_hog", "opencv_haar")


def _lazy(module: str, attr: str, extra: str):
    import importlib

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
    # our own codec writes "codec": "world_rvq"; transformers checkpoints have "model_type"
    name = data.get("codec") or {"dac": "dac", "encodec": "encodec"}.get(data.get("model_type", ""))
    if name not in CODECS:
        raise CheckpointError(f"codec directory {path}: cannot tell which codec it holds")
    return name, str(path)


def build_codec(cfg: CodecConfig) -> Codec:
    """The codec named by ``cfg.name`` (loaded from ``cfg.path`` when given)."""
    name, path = cfg.name, cfg.path
    if path:
        name, path = resolve_codec_name(path)
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


def build_detector(name: str, **kwargs):
    """A face detector by name: ``dlib_hog`` (default) or ``opencv_haar``."""
    if name == "dlib_hog":
        return _lazy(".video.detectors", "DlibHogDetector", "core")(**kwargs)
    if name == "opencv_haar":
        return _lazy(".video.detectors", "OpenCVHaarDetector", "core")(**kwargs)
    raise InputError(f"unknown face detector {name!r}; choose one of {', '.join(DETECTORS)}")


def build_face_track(cfg: VideoConfig):
    """The streaming front door (detect -> landmarks -> smooth -> align -> crop)."""
    face_track_cls = _lazy(".video.frontdoor", "FaceTrack", "core")
    return face_track_cls(cfg, detector=build_detector(cfg.detector, upsample=cfg.upsample))
