"""Loading what the pipeline needs besides the bundle: device, codec, an alternative DiT."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import load_module_weights
from ..errors import CheckpointError, InputError
from ..models.bundle import load_config_of, weights_file
from ..models.style_dit import StyleDiT
from ..settings import Config

DEVICES = ("cpu", "cuda", "auto")
NEUTRAL_FILE = "neutral_expression.json"  # a model's steady expression for typed speech


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


def load_dit_override(path: str | Path, cfg: Config) -> StyleDiT:
    """Another trained Style-DiT: a dit.safetensors file or a model directory holding one.

    Its architecture comes from the config.json beside it (the single-adaLN ablation differs in
    ``dit.dual_adaln``), else from ``cfg``.
    """
    weights = weights_file(path, "dit")
    if not weights.is_file():
        raise CheckpointError(f"no DiT weights at {weights}")
    dit_cfg = load_config_of(weights.parent).dit if (weights.parent / "config.json").is_file() else cfg.dit
    if (dit_cfg.num_codebooks, dit_cfg.cardinality) != (cfg.dit.num_codebooks, cfg.dit.cardinality):
        raise CheckpointError(f"the DiT at {weights} predicts another token space than the model's codec")
    dit = StyleDiT.from_config(dit_cfg)
    load_module_weights(weights, dit)
    return dit.eval()


def read_neutral_expression(model_dir: str | Path, width: int) -> np.ndarray | None:
    """MODEL_DIR/NEUTRAL_FILE's ``expression`` [width] (the mean expression features of its training
    corpus's neutral faces), or None when the model has none; CheckpointError when it is unusable."""
    path = Path(model_dir) / NEUTRAL_FILE
    if not path.is_file():
        return None
    try:
        vector = np.asarray(json.loads(path.read_text())["expression"], dtype=np.float32)
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path} is unusable: {exc}") from None
    if vector.shape != (width,) or not np.isfinite(vector).all():
        raise CheckpointError(f"{path} holds {vector.shape} values, the model's expressions have {width}")
    return vector
