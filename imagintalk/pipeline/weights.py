"""Loading what the pipeline needs besides the bundle: device, codec, an alternative DiT."""

from __future__ import annotations

from pathlib import Path

import torch

from ..codec.base import Codec
from ..config import Config
from ..errors import CheckpointError, InputError
from ..models.style_dit import StyleDiT

DEVICES = ("cpu", "cuda", "auto")


def resolve_device(device: str | torch.device) -> torch.device:
    """Device name cpu, cuda (or cuda:N) or auto (cuda when available) -> torch.device."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu" or device.startswith("cuda"):
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise InputError("--device cuda: no CUDA device is available here (use cpu or auto)")
        return torch.device(device)
    raise InputError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")


def _resolve_codec_path(path: str, model_dir: Path) -> str:
    """A relative codec path is tried as given, then next to the model, then under the repository."""
    from ..builders import REPO_ROOT

    if not path or Path(path).is_absolute() or Path(path).exists():
        return path
    for base in (model_dir, REPO_ROOT):
        if (base / path).exists():
            return str(base / path)
    return path


def load_codec(cfg: Config, model_dir: Path, override: str | None = None) -> Codec:
    """The model's codec (cfg.codec, its path resolved), or ``override`` (a codec dir or name)."""
    from dataclasses import replace

    from ..builders import build_codec

    codec_cfg = replace(cfg.codec, path=_resolve_codec_path(override or cfg.codec.path, model_dir))
    return build_codec(codec_cfg)


def load_dit_override(path: str | Path, cfg: Config) -> StyleDiT:
    """Another trained Style-DiT: a dit.safetensors file or a model directory holding one.

    Its architecture comes from the config.json beside it (the single-adaLN ablation differs in
    ``dit.dual_adaln``), else from ``cfg``.
    """
    from ..checkpoint import load_module_weights
    from ..models.bundle import load_config_of, weights_file

    weights = weights_file(path, "dit")
    if not weights.is_file():
        raise CheckpointError(f"no DiT weights at {weights}")
    dit_cfg = load_config_of(weights.parent).dit if (weights.parent / "config.json").is_file() else cfg.dit
    if (dit_cfg.num_codebooks, dit_cfg.cardinality) != (cfg.dit.num_codebooks, cfg.dit.cardinality):
        raise CheckpointError(f"the DiT at {weights} predicts another token space than the model's codec")
    dit = StyleDiT.from_config(dit_cfg)
    load_module_weights(weights, dit)
    return dit.eval()
