"""Dataset adapters: a dataset as it ships on disk -> manifest entries for ``imagintalk prepare``.

``get_adapter(name)(root, val_share=..., **options) -> Scan`` (entries + skipped files with
their reasons); ``write_manifest(scan.entries, DIR / "manifest.jsonl")``. See
docs/training_data.md ("Real datasets").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import InputError
from ..manifest import MANIFEST
from .base import DEFAULT_VAL_SHARE, ClipEntry, Scan, assign_splits, write_manifest
from .lrs3 import scan_lrs2, scan_lrs3
from .mead import scan_mead
from .ravdess import scan_ravdess

Adapter = Callable[..., Scan]
ADAPTERS: dict[str, Adapter] = {
    "lrs3": scan_lrs3,
    "lrs2": scan_lrs2,
    "mead": scan_mead,
    "ravdess": scan_ravdess,
}


def get_adapter(name: str) -> Adapter:
    """The adapter registered as ``name``; InputError naming the registered ones otherwise."""
    if name not in ADAPTERS:
        raise InputError(f"unknown dataset {name!r}; choose one of {', '.join(sorted(ADAPTERS))}")
    return ADAPTERS[name]


def build_manifest(
    name: str, root: str | Path, out_dir: str | Path, val_share: float = DEFAULT_VAL_SHARE, **options: object
) -> Scan:
    """Scan dataset ``name`` under ``root`` and (re)write ``out_dir/manifest.jsonl`` from its entries.

    The manifest's paths are absolute (into ``root``); InputError when no clip is usable.
    """
    scan = get_adapter(name)(root, val_share=val_share, **options)
    if not scan.entries:
        reasons = "; ".join(scan.skip_report(examples=1)) or "no clip files found"
        raise InputError(f"no usable {name} clip under {root} ({reasons})")
    write_manifest(scan.entries, Path(out_dir) / MANIFEST)
    return scan


__all__ = [
    "ADAPTERS",
    "DEFAULT_VAL_SHARE",
    "Adapter",
    "ClipEntry",
    "Scan",
    "assign_splits",
    "build_manifest",
    "get_adapter",
    "write_manifest",
]
