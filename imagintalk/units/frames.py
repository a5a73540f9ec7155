"""Phone segments -> frame-level unit sequences at the token rate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InputError
from .espeak_map import espeak_to_unit
from .inventory import SILENCE, UNITS, normalize_arpabet, unit_index

SOURCES = ("espeak", "arpabet")


def _segment_units(segments: Sequence[Mapping[str, Any]], source: str) -> list[str]:
    """Unit name per segment; modifiers (``None``) take the previous segment's unit."""
    if source not in SOURCES:
        raise InputError(f"unknown phoneme source {source!r}; choose one of {', '.join(SOURCES)}")
    names: list[str] = []
    for seg in segments:
        phone = str(seg["phoneme"])
        unit = espeak_to_unit(phone) if source == "espeak" else normalize_arpabet(phone)
        if unit is None:  # a sound-less modifier such as ";": extend the previous unit
            unit = names[-1] if names else SILENCE
        names.append(unit)
    return names


def frame_units(
    segments: Sequence[Mapping[str, Any]],
    num_frames: int,
    frame_rate: float = 50,
    source: str = "espeak",
) -> np.ndarray:
    """Label each frame by the segment under its centre: -> int64 [num_frames].

    ``segments`` are dicts with ``phoneme``, ``start``, ``end`` (seconds). Frame ``f``
    covers ``[f, f+1) / frame_rate``; frames outside every segment (gaps, past the end)
    are ``sil`` (index 0).
    """
    if num_frames < 0:
        raise InputError(f"num_frames must be >= 0, got {num_frames}")
    try:
        names = _segment_units(segments, source)
        starts = np.array([float(s["start"]) for s in segments], dtype=np.float64)
        ends = np.array([float(s["end"]) for s in segments], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"phone segments need 'phoneme', 'start' and 'end' fields ({exc})") from None
    labels = np.zeros(num_frames, dtype=np.int64)
    if not segments:
        return labels
    ids = np.array([unit_index(n) for n in names], dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    starts, ends, ids = starts[order], ends[order], ids[order]
    centres = (np.arange(num_frames, dtype=np.float64) + 0.5) / frame_rate
    seg = np.searchsorted(starts, centres, side="right") - 1
    inside = (seg >= 0) & (centres < ends[np.clip(seg, 0, None)])
    labels[inside] = ids[seg[inside]]
    return labels


def units_from_manifest_entry(entry: Mapping[str, Any], frame_rate: float = 50) -> np.ndarray:
    """A SynthTalk manifest line -> its units, int64 [num_frames * frame_rate / fps]."""
    missing = [k for k in ("phonemes", "num_frames", "fps") if k not in entry]
    if missing:
        raise InputError(f"manifest entry {entry.get('id', '?')!r} lacks {', '.join(missing)}")
    num = int(round(int(entry["num_frames"]) * frame_rate / float(entry["fps"])))
    return frame_units(entry["phonemes"], num, frame_rate, source="espeak")


def run_length(units: Sequence[int] | np.ndarray) -> list[tuple[str, int, int]]:
    """Run-length encode a unit sequence: -> [(unit name, start frame, number of frames)]."""
    runs: list[tuple[str, int, int]] = []
    arr = np.asarray(units, dtype=np.int64)
    if arr.size == 0:
        return runs
    change = np.flatnonzero(np.diff(arr)) + 1
    bounds = np.concatenate([[0], change, [arr.size]])
    for a, b in zip(bounds[:-1], bounds[1:]):
        runs.append((UNITS[int(arr[a])], int(a), int(b - a)))
    return runs
