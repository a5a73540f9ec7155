"""The evaluation's view of a manifest: every entry names its reference ``audio``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import manifest
from ..errors import InputError
from ..manifest import manifest_path


def read_manifest(data: Path) -> list[dict[str, Any]]:
    """All entries of a manifest (each has at least ``id``, ``audio`` and ``text``)."""
    path = manifest_path(data)
    entries = manifest.read_manifest(path)
    for number, entry in enumerate(entries, 1):
        if "audio" not in entry:
            raise InputError(f"{path}: entry {number} ({entry['id']}) needs 'audio'")
    if not entries:
        raise InputError(f"manifest {path} is empty")
    return entries


def find_entry(entries: list[dict[str, Any]], clip_id: str) -> dict[str, Any]:
    for entry in entries:
        if entry["id"] == clip_id:
            return entry
    sample = ", ".join(e["id"] for e in entries[:3])
    raise InputError(f"no clip {clip_id!r} in the manifest ({len(entries)} clips, e.g. {sample})")
