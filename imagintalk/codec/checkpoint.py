"""Safe tensor storage: safetensors only; pickles (.pt / .bin / .pth / .ckpt) are refused."""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import CheckpointError

PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle")


def save_tensors(tensors: dict[str, torch.Tensor], path: str | Path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(path))


def load_tensors(path: str | Path, required: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """Read a .safetensors file; missing, corrupt, pickled or incomplete -> CheckpointError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(
            f"refusing to load pickle checkpoint {path}: only .safetensors files are loaded"
        )
    if not path.is_file():
        siblings = [p.name for p in path.parent.glob("*") if p.suffix.lower() in PICKLE_SUFFIXES]
        hint = f" (found {', '.join(siblings)}: pickles are never loaded)" if siblings else ""
        raise CheckpointError(f"checkpoint file not found: {path}{hint}")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint {path} is corrupt or not a safetensors file: {exc}") from None
    missing = [k for k in required if k not in tensors]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks tensors: {', '.join(missing)}")
    return tensors
