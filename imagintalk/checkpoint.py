"""Training checkpoints as safetensors + JSON, never pickles.

A checkpoint is a directory:

    <module>.safetensors   one per module: its state_dict
    state.safetensors      every tensor of the training state (optimiser moments, RNG states, ...)
    meta.json              format version, step, epoch, config, extra, module names and the
                           training state's tree with tensors replaced by references

``save_checkpoint`` writes a sibling temporary directory and renames it into place, so a
crash never leaves half a checkpoint; ``save_rotating`` keeps the last N ``step_XXXXXXXX``
directories of a run. ``load_checkpoint`` refuses anything but .safetensors and .json
files (pickled .pt/.bin/... files, or pickle bytes under any name): CheckpointError.
Network weights holding NaN or infinite values are refused too (a diverged or damaged model
would otherwise speak noise), and :func:`read_config_file` turns a model's unusable
``config.json`` into a CheckpointError.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from .errors import CheckpointError, ImaginTalkError

T = TypeVar("T")

FORMAT_VERSION = 1
META_FILE = "meta.json"
STATE_FILE = "state.safetensors"
STEP_DIR = re.compile(r"^step_(\d{8,})$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


# --- a JSON tree with tensors split out (lossless for state_dicts) --------------------------
def split_tensors(obj: Any, tensors: dict[str, torch.Tensor], path: str = "s") -> Any:
    """Replace tensors in ``obj`` by {"__tensor__": key} (collected in ``tensors``); keep tuples,
    non-string dict keys and numpy arrays representable in JSON."""
    if isinstance(obj, torch.Tensor):
        tensors[path] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": path}
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: split_tensors(v, tensors, f"{path}.{k}") for k, v in obj.items()}
        return {"__items__": [[k, split_tensors(v, tensors, f"{path}.{k}")] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [split_tensors(v, tensors, f"{path}.{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [split_tensors(v, tensors, f"{path}.{i}") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise CheckpointError(f"cannot store a {type(obj).__name__} at {path} without pickling it")


def join_tensors(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`split_tensors`."""
    if isinstance(obj, list):
        return [join_tensors(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        if obj["__tensor__"] not in tensors:
            raise CheckpointError(f"{STATE_FILE} lacks tensor {obj['__tensor__']!r}")
        return tensors[obj["__tensor__"]]
    if "__ndarray__" in obj:
        return np.asarray(obj["__ndarray__"], dtype=obj["dtype"])
    if "__tuple__" in obj:
        return tuple(join_tensors(v, tensors) for v in obj["__tuple__"])
    if "__items__" in obj:
        return {k: join_tensors(v, tensors) for k, v in obj["__items__"]}
    return {k: join_tensors(v, tensors) for k, v in obj.items()}


# --- safety checks ---------------------------------------------------------------------------
def _looks_like_safetensors(head: bytes, size: int) -> bool:
    """safetensors: an 8-byte little-endian header length, then a JSON header starting with '{'."""
    return len(head) >= 9 and int.from_bytes(head[:8], "little") <= size - 8 and head[8:9] == b"{"


def _is_pickle(path: Path) -> bool:
    """Pickle bytes (protocol 2+: 0x80 then the protocol number) or a torch.save zip (holds data.pkl)."""
    with open(path, "rb") as handle:
        head = handle.read(9)
    if _looks_like_safetensors(head, path.stat().st_size):
        return False
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return True
    if head[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as archive:
                return any(name.endswith(".pkl") for name in archive.namelist())
        except zipfile.BadZipFile:
            return False
    return False


def _check_directory(directory: Path) -> None:
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint not found: {directory}")
    for path in sorted(directory.iterdir()):
        if path.is_file() and _is_pickle(path):
            raise CheckpointError(
                f"refusing to load a pickle: {path} (checkpoints are safetensors + JSON only)"
            )
        if path.suffix not in (".safetensors", ".json"):
            raise CheckpointError(f"unexpected file {path} in a checkpoint (only .safetensors and .json)")
    if not (directory / META_FILE).is_file():
        raise CheckpointError(f"{directory} is not a checkpoint (no {META_FILE})")


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise CheckpointError(f"checkpoint file missing: {path}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"corrupt safetensors file {path}: {str(exc).splitlines()[0]}") from None


def _check_finite(path: Path, weights: dict[str, torch.Tensor]) -> None:
    """CheckpointError naming ``path`` and the tensor when a floating tensor holds NaN or inf."""
    for key, tensor in weights.items():
        if (tensor.is_floating_point() or tensor.is_complex()) and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(
                f"{path}: tensor {key!r} holds NaN or infinite values (a diverged or damaged model)"
            )


def read_config_file(path: str | Path, parse: Callable[[dict[str, Any]], T]) -> T:
    """A model's JSON config -> ``parse(the object)``; every way it can be unusable -> CheckpointError.

    ``parse`` is e.g. ``config_from_dict``. A file that is not JSON, JSON that is not an object
    (``[]``, ``null``, ``42``), or an object ``parse`` rejects (a value of the wrong type, an
    unknown key: InputError there) all mean a broken model directory, not bad user input.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"model config {path} is unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"model config {path} must hold a JSON object, not {type(data).__name__}")
    try:
        return parse(data)
    except CheckpointError:
        raise
    except (ImaginTalkError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise CheckpointError(f"model config {path} is invalid: {exc}") from None


# --- save / load -----------------------------------------------------------------------------
def save_checkpoint(
    directory: str | Path,
    modules: dict[str, nn.Module],
    config: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    step: int = 0,
    epoch: int = 0,
) -> Path:
    """Write a checkpoint directory atomically (replacing one already there).

    ``modules``: name -> module (weights); ``state``: any tree of dicts / lists / tuples /
    numbers / strings / tensors / numpy arrays (optimiser, scheduler, scaler state_dicts,
    RNG states); ``config`` and ``extra``: JSON-serialisable.
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    for name in modules:
        if not _NAME.match(name) or name == Path(STATE_FILE).stem:
            raise CheckpointError(f"module name {name!r} cannot name a checkpoint file")
    tmp = directory.with_name(f".{directory.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for name, module in modules.items():
            weights = {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}
            save_file(weights, str(tmp / f"{name}.safetensors"))
        tensors: dict[str, torch.Tensor] = {}
        tree = split_tensors(state or {}, tensors)
        save_file(tensors, str(tmp / STATE_FILE))
        meta = {
            "format_version": FORMAT_VERSION,
            "step": int(step),
            "epoch": int(epoch),
            "modules": sorted(modules),
            "config": config or {},
            "extra": extra or {},
            "state": tree,
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1) + "\n")
        if directory.exists():  # swap: the old one goes only once the new one is complete
            old = directory.with_name(f".{directory.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            directory.rename(old)
            tmp.rename(directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(directory)
    except (OSError, TypeError, ValueError) as exc:
        raise CheckpointError(f"cannot write checkpoint {directory}: {exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already after a successful rename
    return directory


def _load_module(path: Path, module: nn.Module, strict: bool) -> None:
    weights = _read_safetensors(path)
    _check_finite(path, weights)
    expected = module.state_dict()
    for key, tensor in weights.items():
        if key in expected and tuple(expected[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{path}: tensor {key!r} has shape {tuple(tensor.shape)}, "
                f"the model expects {tuple(expected[key].shape)}"
            )
    missing = [k for k in expected if k not in weights]
    unexpected = [k for k in weights if k not in expected]
    if strict and (missing or unexpected):
        raise CheckpointError(
            f"{path} does not fit the model: missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}"
        )
    module.load_state_dict(weights, strict=strict)


def _check_weights_file(path: Path) -> None:
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path}")
    if path.suffix != ".safetensors" or _is_pickle(path):
        raise CheckpointError(f"refusing to load {path}: only .safetensors weights are loaded, never pickles")


def load_module_weights(path: str | Path, module: nn.Module, strict: bool = True) -> nn.Module:
    """Load one ``.safetensors`` file into ``module``; pickles, corrupt files, misfits -> CheckpointError."""
    path = Path(path)
    _check_weights_file(path)
    _load_module(path, module, strict)
    return module


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of one ``.safetensors`` file; pickles, corrupt files, NaN / inf -> CheckpointError."""
    path = Path(path)
    _check_weights_file(path)
    weights = _read_safetensors(path)
    _check_finite(path, weights)
    return weights


def load_checkpoint(
    directory: str | Path, modules: dict[str, nn.Module], strict: bool = True
) -> dict[str, Any]:
    """Load weights into ``modules`` -> metadata {"step", "epoch", "config", "extra", "state", ...}.

    ``state`` holds the training-state tree as saved (tensors restored). Missing dir or
    file, corrupt safetensors, pickles, shape mismatches (and, with ``strict``, missing or
    unexpected keys or modules) raise CheckpointError.
    """
    directory = Path(directory)
    _check_directory(directory)
    try:
        meta = json.loads((directory / META_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"corrupt {directory / META_FILE}: {exc}") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{directory}: checkpoint format {meta.get('format_version')} is not {FORMAT_VERSION}"
        )
    absent = [name for name in modules if name not in meta.get("modules", [])]
    if absent and strict:
        raise CheckpointError(f"{directory} has no weights for module(s) {', '.join(absent)}")
    for name, module in modules.items():
        if name not in absent:
            _load_module(directory / f"{name}.safetensors", module, strict)
    meta["state"] = join_tensors(meta.get("state", {}), _read_safetensors(directory / STATE_FILE))
    return meta


# --- rotation within a run directory ---------------------------------------------------------
def list_checkpoints(root: str | Path) -> list[Path]:
    """``root/step_XXXXXXXX`` checkpoint directories, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and STEP_DIR.match(p.name) and (p / META_FILE).is_file()]
    return sorted(found, key=lambda p: int(STEP_DIR.match(p.name).group(1)))


def latest_checkpoint(root: str | Path) -> Path | None:
    found = list_checkpoints(root)
    return found[-1] if found else None


def save_rotating(root: str | Path, step: int, keep_last: int | None = 3, **kwargs: Any) -> Path:
    """:func:`save_checkpoint` into ``root/step_{step:08d}``, then delete all but the last ``keep_last``."""
    path = save_checkpoint(Path(root) / f"step_{int(step):08d}", step=step, **kwargs)
    if keep_last is not None and keep_last > 0:
        for old in list_checkpoints(root)[:-keep_last]:
            shutil.rmtree(old, ignore_errors=True)
    return path
