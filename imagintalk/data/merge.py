"""``imagintalk prepare --merge SRC_DIR ... DATA_DIR``: shards prepared in separate dirs -> one dir.

Machines without a shared file system each prepare their ``--shard`` into their own dir; this
puts the clips (packs and loose files) of every source into DATA_DIR, hard-linked when on the
same file system, else copied. Everything is checked before anything is written: each dir's
codec (``features/codec.json``) must be the same, no clip id may be stored twice, and manifest
entries with one id must agree. Files are copied into a staging dir inside ``DATA_DIR/features``
and renamed into place; the manifest and one combined ``prepare_report.json`` are written last.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..manifest import MANIFEST, read_manifest, write_manifest
from .codec_identity import check_same_codec, read_pinned
from .feature_file import CODEC_FILE, FEATURES_DIR
from .feature_store import PACK_GLOB, PACK_NAME, FeatureRef, list_clips, pack_name
from .prepare import PrepareReport, own_tmp, write_report

REPORT_GLOB = "prepare_report*.json"
SUMMED = ("clips", "prepared", "skipped_existing", "failed", "frames", "detected_frames", "seconds")


def _codec(data_dir: Path) -> dict[str, Any]:
    pinned = read_pinned(data_dir / FEATURES_DIR / CODEC_FILE)
    if pinned is None:
        raise InputError(f"{data_dir} is not prepared (no {FEATURES_DIR}/{CODEC_FILE})")
    return pinned


def _manifest(dirs: list[Path]) -> list[dict[str, Any]]:
    """The union of the dirs' manifest entries; InputError when one id has two different entries."""
    rows: dict[str, tuple[dict[str, Any], Path]] = {}
    for data_dir in dirs:
        for entry in read_manifest(data_dir / MANIFEST, missing_ok=True):
            key = str(entry["id"])
            if key in rows and rows[key][0] != entry:
                where = f"{rows[key][1]} and {data_dir}"
                raise InputError(f"clip {key} has different manifest entries in {where}")
            rows.setdefault(key, (entry, data_dir))
    return [entry for entry, _ in rows.values()]


def _combined_report(dirs: list[Path], dest: Path, codec: dict[str, Any]) -> PrepareReport:
    """One report over every shard report of ``dirs`` (sums, failures, skip kinds)."""
    report = PrepareReport(str(dest), f"merged from {len(dirs)} dirs", codec)
    known = {f.name for f in fields(PrepareReport)}
    for data_dir in dirs:
        for path in sorted((data_dir / FEATURES_DIR).glob(REPORT_GLOB)):
            try:
                part = PrepareReport(**{k: v for k, v in json.loads(path.read_text()).items() if k in known})
            except (OSError, ValueError, TypeError) as exc:
                raise InputError(f"cannot read prepare report {path}: {exc}") from None
            for key in SUMMED:
                setattr(report, key, getattr(report, key) + getattr(part, key))
            report.failures.update(part.failures)
    report.seconds = round(report.seconds, 2)
    report.detection_rate = round(report.detected_frames / max(report.frames, 1), 4)
    report.skipped_by_reason = {kind: len(ids) for kind, ids in report.ids_by_reason().items()}
    return report


def _target_names(refs: list[FeatureRef], taken: set[str]) -> dict[Path, str]:
    """Source file -> its name in the merged dir (a pack whose name is taken gets the next number)."""
    names: dict[Path, str] = {}
    for path in sorted({ref.path for ref in refs}):
        name = path.name
        match = PACK_NAME.match(name)
        while name in taken and match:
            shard, seq = (int(match[1]), int(match[2])), int(match[3])
            name = pack_name(shard, seq + 1)
            match = PACK_NAME.match(name)
        taken.add(name)
        names[path] = name
    return names


def _place(src: Path, dst: Path) -> None:
    """Hard link (same file system) or copy ``src`` to ``dst``."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def merge_prepared(sources: list[str | Path], data_dir: str | Path) -> PrepareReport:
    """Merge the prepared ``sources`` into ``data_dir`` (which may hold prepared clips already)."""
    dest, srcs = Path(data_dir), [Path(s) for s in sources]
    for src in srcs:
        if not src.is_dir():
            raise InputError(f"data dir not found: {src}")
        if dest.exists() and src.resolve() == dest.resolve():
            raise InputError(f"{src} is the merge target itself")
    if len({s.resolve() for s in srcs}) != len(srcs):
        raise InputError("a source dir is named twice")
    dest_codec = read_pinned(dest / FEATURES_DIR / CODEC_FILE)
    dirs = ([dest] if dest_codec is not None else []) + srcs
    codec = dest_codec or _codec(srcs[0])
    for src in srcs:
        check_same_codec(codec, _codec(src), f"{src}")
    owner: dict[str, FeatureRef] = {}
    new_refs: list[FeatureRef] = []
    for where in dirs:
        for ref in list_clips(where):  # a clip stored twice inside one dir is refused there
            if ref.name in owner:
                raise InputError(
                    f"clip {ref.clip_id} is in both {owner[ref.name].where()} and {ref.where()}; "
                    "each clip must come from one shard"
                )
            owner[ref.name] = ref
            if where != dest:
                new_refs.append(ref)
    entries = _manifest(dirs)
    features = dest / FEATURES_DIR
    taken = {p.name for p in features.iterdir()} if features.is_dir() else set()
    names = _target_names(new_refs, taken)
    report = _combined_report(dirs, dest, codec)
    staging = features / f".merge-{os.getpid()}"
    try:
        staging.mkdir(parents=True)
        for src, name in names.items():
            _place(src, staging / name)
        for name in names.values():
            os.replace(staging / name, features / name)
        staging.rmdir()
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(f"cannot merge into {features}: {exc}") from None
    if dest_codec is None:
        tmp = own_tmp(features / CODEC_FILE)
        tmp.write_text(json.dumps(codec, indent=2) + "\n")
        tmp.replace(features / CODEC_FILE)
    for old in features.glob(REPORT_GLOB):  # folded into the combined report
        old.unlink()
    report.packs = sorted(p.name for p in features.glob(PACK_GLOB))
    write_report(features / "prepare_report.json", report)
    if entries:
        write_manifest(dest / MANIFEST, entries, merge=False)
    return report
