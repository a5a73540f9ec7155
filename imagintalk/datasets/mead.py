"""MEAD: ``ROOT/<speaker>/video/<angle>/<emotion>/level_<n>/NNN.mp4`` + the take's audio.

The audio is ``ROOT/<speaker>/audio/<emotion>/level_<n>/NNN.m4a`` (each speaker's ``video.tar``
and ``audio.tar`` extracted in place). Only the ``front`` camera is used unless ``angles``
names others (down, left_30, left_60, right_30, right_60, top). Emotion and intensity (the
level) are kept; MEAD ships no transcript, so ``text`` is "".
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError
from .base import DEFAULT_VAL_SHARE, ClipEntry, Scan, assign_splits, check_root, drop_duplicate_ids, safe_id

DEFAULT_ANGLES = ("front",)


def _angles(angles: str | Iterable[str] | None) -> tuple[str, ...]:
    if angles is None:
        return DEFAULT_ANGLES
    if isinstance(angles, str):
        angles = angles.split(",")
    chosen = tuple(a.strip() for a in angles if a.strip())
    if not chosen:
        raise InputError("MEAD: --angles names no camera angle")
    return chosen


def _level(name: str) -> int | None:
    prefix, _, number = name.partition("_")
    return int(number) if prefix == "level" and number.isdigit() else None


def scan_mead(
    root: str | Path,
    val_share: float = DEFAULT_VAL_SHARE,
    angles: str | Iterable[str] | None = None,
    **_: object,
) -> Scan:
    """MEAD under ``root`` -> entries (``mead-<speaker>-<angle>-<emotion>-<level>-<NNN>``), skips."""
    root, scan = check_root(root), Scan()
    for speaker_dir in sorted(p for p in root.iterdir() if (p / "video").is_dir()):
        speaker = speaker_dir.name
        for angle in _angles(angles):
            angle_dir = speaker_dir / "video" / angle
            if not angle_dir.is_dir():
                scan.skip(angle_dir, "camera angle folder missing")
                continue
            for video in sorted(angle_dir.glob("*/*/*.mp4")):
                emotion, level_dir = video.parent.parent.name, video.parent.name
                level = _level(level_dir)
                if level is None:
                    scan.skip(video, "intensity folder not named level_<n>")
                    continue
                audio = speaker_dir / "audio" / emotion / level_dir / f"{video.stem}.m4a"
                if not audio.is_file():
                    scan.skip(video, "no audio (.m4a) of the take")
                    continue
                scan.entries.append(
                    ClipEntry(
                        id=safe_id("mead", speaker, angle, emotion, str(level), video.stem),
                        video=str(video),
                        audio=str(audio),
                        speaker=speaker,
                        dataset="mead",
                        emotion=emotion,
                        intensity=level,
                    )
                )
    drop_duplicate_ids(scan)
    assign_splits(scan.entries, val_share)
    return scan
