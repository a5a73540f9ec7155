"""Data-dir manifests: ``DIR/manifest.jsonl``, one JSON object per clip, sorted by ``id``.

Written by ``imagintalk synth`` (SynthTalk) and by the dataset adapters (``imagintalk
prepare --dataset``); read by ``prepare``, ``preprocess`` and ``eval``. One reader and one
writer for all of them, so the format cannot drift apart.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from .errors import InputError

MANIFEST = "manifest.jsonl"


def manifest_path(data: str | Path) -> Path:
    """``DATA_DIR`` or ``DATA_DIR/manifest.jsonl`` -> the manifest file; InputError when absent."""
    path = Path(data)
    if path.is_dir():
        path = path / MANIFEST
    if not path.is_file():
        raise InputError(f"no manifest found at {path}")
    return path


def read_manifest(path: str | Path, missing_ok: bool = False) -> list[dict[str, Any]]:
    """The entries of a manifest file (``[]`` for a missing file when ``missing_ok``).

    InputError (naming file and line) for a line that is not a JSON object with an ``id``.
    """
    path = Path(path)
    if missing_ok and not path.is_file():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read manifest {path}: {exc.strerror}") from None
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(entry, dict) or "id" not in entry:
            raise InputError(f"{path}:{number}: a manifest entry must be a JSON object with an 'id'")
        entries.append(entry)
    return entries


def check_clip_ids(entries: list[dict[str, Any]], path: str | Path) -> None:
    """InputError unless every entry's ``id`` can name a file (features/<id>.npz, <id>.wav)."""
    for number, entry in enumerate(entries, 1):
        clip_id = str(entry.get("id", ""))
        if not clip_id or "/" in clip_id or clip_id in (".", ".."):
            raise InputError(f"{path}: entry {number}: clip id {clip_id!r} cannot name a file")


def write_manifest(path: str | Path, records: list[dict[str, Any]], merge: bool = True) -> Path:
    """Write ``records`` sorted by id, atomically; ``merge`` keeps the file's other ids
    (a record with an id already there replaces it)."""
    path = Path(path)
    rows = {r["id"]: r for r in read_manifest(path, missing_ok=True)} if merge else {}
    rows.update({r["id"]: r for r in records})
    tmp = path.with_name(f"{path.name}.{socket.gethostname()}.{os.getpid()}.tmp")  # ranks write at once
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text("".join(json.dumps(rows[k], separators=(", ", ": ")) + "\n" for k in sorted(rows)))
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write manifest {path}: {exc.strerror}") from None
    return path
