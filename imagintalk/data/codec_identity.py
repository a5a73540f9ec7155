"""Which codec made a dataset's tokens: name, sizes and a fingerprint of its weights.

Codes from two different codecs (or two trainings of one) are different languages: a
dataset must never mix them. Every feature file records the codec identity, and
``DIR/features/codec.json`` pins the one codec of the whole dataset.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from ..codec.base import Codec
from ..errors import InputError


def _codec_tensors(codec: Codec) -> dict[str, torch.Tensor]:
    """The tensors that define a codec's token space (its weights or codebooks)."""
    model = getattr(codec, "model", None)
    if isinstance(model, torch.nn.Module):  # transformers DAC / EnCodec
        return dict(model.state_dict())
    rvq = getattr(codec, "rvq", None)
    if rvq is not None:  # world_rvq
        return {"codebooks": rvq.codebooks, "mean": codec.mean, "weights": codec.weights}
    return {}


def codec_fingerprint(codec: Codec) -> str:
    """16 hex digits of a SHA-256 over the codec's name, sizes and weight bytes (sorted by name)."""
    digest = hashlib.sha256()
    header = [codec.name, codec.sample_rate, codec.frame_rate, codec.num_codebooks, codec.cardinality]
    digest.update(json.dumps(header).encode())
    for name, tensor in sorted(_codec_tensors(codec).items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def codec_identity(codec: Codec) -> dict[str, Any]:
    """{"name", "fingerprint", "num_codebooks", "cardinality", "frame_rate", "sample_rate"}."""
    return {
        "name": codec.name,
        "fingerprint": codec_fingerprint(codec),
        "num_codebooks": codec.num_codebooks,
        "cardinality": codec.cardinality,
        "frame_rate": codec.frame_rate,
        "sample_rate": codec.sample_rate,
    }


def token_rate_factor(codec_frame_rate: float, fps: float, unit_rate: float) -> int:
    """Tokens per video frame; the codec and the units must both run at a whole multiple of fps."""
    factor = codec_frame_rate / fps
    if factor < 1 or abs(factor - round(factor)) > 1e-9:
        raise InputError(
            f"codec frame rate {codec_frame_rate:g} Hz is not a whole multiple of the video rate {fps:g} fps "
            f"(the model needs exactly 2 tokens per frame at 25 fps: a 50 Hz codec)"
        )
    if abs(unit_rate - codec_frame_rate) > 1e-9:
        raise InputError(
            f"semantic units run at {unit_rate:g} Hz but the codec at {codec_frame_rate:g} Hz; "
            f"set units.frame_rate={codec_frame_rate:g}"
        )
    return int(round(factor))


def check_same_codec(pinned: dict[str, Any], found: dict[str, Any], where: str) -> None:
    """Raise InputError when ``found`` is another codec than the dataset's ``pinned`` one."""
    if pinned.get("fingerprint") != found.get("fingerprint"):
        raise InputError(
            f"{where} was made with codec {found.get('name')} ({found.get('fingerprint')}) but the dataset "
            f"uses {pinned.get('name')} ({pinned.get('fingerprint')}): codecs cannot be mixed; "
            "prepare again with the same codec, or with --overwrite to redo every clip"
        )


def read_pinned(path: Path) -> dict[str, Any] | None:
    """The codec identity pinned in ``features/codec.json`` (None when absent)."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
