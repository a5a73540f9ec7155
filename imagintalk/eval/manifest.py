"""Reading SynthTalk-style manifests (one JSON object per line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InputError

MANIFEST_NAME = "manifest.jsonl"


def manifest_path(data: Path) -> Path:
    """``DATA_DIR`` or ``DATA_DIR/manifest.jsonl`` -> the manifest file."""
    path = Path(data)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise InputError(f"no manifest found at {path}")
    return path


def read_manifest(data: Path) -> list[dict[str, Any]]:
    """All entries of a manifest (each has at least ``id``, ``audio`` and ``text``)."""
    path = manifest_path(data)
    entries = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(entry, dict) or not {"id", "audio"} <= entry.keys():
            raise InputError(f"{path}:{lineno}: a manifest entry needs 'id' and 'audio'")
        entries.append(entry)
    if not entries:
        raise InputError(f"manifest {path} is empty")
    return entries


def find_entry(entries: list[dict[str, Any]], clip_id: str) -> dict[str, Any]:
    for entry in entries:
        if entry["id"] == clip_id:
            return entry
    sample = ", ".join(e["id"] for e in entries[:3])
    raise InputError(f"no clip {clip_id!r} in the manifest ({len(entries)} clips, e.g. {sample})")
