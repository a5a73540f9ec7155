"""What every dataset adapter shares: the entry, the skip list, the speaker-disjoint split, the manifest.

An adapter is one function ``scan(root, **options) -> Scan``: it walks a dataset as it ships
on disk and returns the manifest entries (absolute paths into ``root``) plus the files it
could not use, each with its reason. Nothing is decoded: the scan only reads names and the
small transcript files.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import manifest
from ..errors import InputError

DEFAULT_VAL_SHARE = 0.05
SAFE_ID = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class ClipEntry:
    """One usable clip, in the manifest's shape (``to_manifest``)."""

    id: str
    video: str  # absolute path
    audio: str  # absolute path; the video itself when the mp4 carries its audio
    speaker: str
    dataset: str
    text: str = ""
    emotion: str = ""
    intensity: int | None = None
    split: str = ""  # "" until assign_splits; "test" when the dataset fixes it

    def to_manifest(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Scan:
    """An adapter's answer: the entries and the skipped files as (path, reason)."""

    entries: list[ClipEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, path: Path | str, reason: str) -> None:
        self.skipped.append((str(path), reason))

    def skip_counts(self) -> dict[str, int]:
        return dict(Counter(reason for _, reason in self.skipped).most_common())

    def skip_report(self, examples: int = 3) -> list[str]:
        """One line per reason: count, then the first ``examples`` paths."""
        lines = []
        for reason, count in self.skip_counts().items():
            paths = [p for p, r in self.skipped if r == reason][:examples]
            more = ", ..." if count > len(paths) else ""
            lines.append(f"skipped {count}: {reason} ({', '.join(paths)}{more})")
        return lines


def safe_id(*parts: str) -> str:
    """Parts joined with '-', anything but letters, digits, '_', '.', '-' replaced by '_'."""
    return "-".join(SAFE_ID.sub("_", str(p)) for p in parts)


def check_root(root: str | Path) -> Path:
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise InputError(f"dataset root not found: {root}")
    return root


def check_val_share(val_share: float) -> float:
    if not 0.0 <= float(val_share) <= 1.0:
        raise InputError(f"the validation share must lie in [0, 1], got {val_share}")
    return float(val_share)


def _speaker_key(dataset: str, speaker: str) -> str:
    return hashlib.sha256(f"{dataset}/{speaker}".encode()).hexdigest()


def assign_splits(entries: list[ClipEntry], val_share: float = DEFAULT_VAL_SHARE) -> None:
    """Give every entry without a split "train" or "val", speaker-disjointly and deterministically.

    The speakers (of the entries still without a split) are ordered by a SHA-256 of
    ``dataset/speaker``; the first ``round(val_share * n)`` of them are validation speakers
    (at least one when ``val_share > 0`` and there are two or more speakers), the rest train.
    The choice depends on the names only: the same files give the same split on any machine.
    """
    val_share = check_val_share(val_share)
    speakers = sorted({(e.dataset, e.speaker) for e in entries if not e.split})
    count = round(val_share * len(speakers))
    if val_share > 0 and len(speakers) >= 2:
        count = max(count, 1)
    ordered = sorted(speakers, key=lambda s: _speaker_key(*s))
    val = set(ordered[:count])
    for entry in entries:
        if not entry.split:
            entry.split = "val" if (entry.dataset, entry.speaker) in val else "train"


def drop_duplicate_ids(scan: Scan) -> None:
    """Keep the first entry of each id; report the others."""
    seen: set[str] = set()
    kept = []
    for entry in scan.entries:
        if entry.id in seen:
            scan.skip(entry.video, f"duplicate clip id {entry.id}")
        else:
            seen.add(entry.id)
            kept.append(entry)
    scan.entries = kept


def write_manifest(entries: list[ClipEntry], path: str | Path) -> Path:
    """Entries -> ``path`` (replacing what was there: the dataset is scanned whole), atomically."""
    return manifest.write_manifest(path, [e.to_manifest() for e in entries], merge=False)
