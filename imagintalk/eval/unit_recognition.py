"""How far units recognised from the audio alone are from transcript-aligned ones.

    python -m imagintalk.eval.unit_recognition DATA_DIR [--limit N] [--out results.json]

Over the manifest's clips that have a transcript: the units of the pocketsphinx phone recogniser
(``units/recognise.py``, no transcript) against those of the forced alignment of the transcript
(``units/align.py``). Where the manifest also carries espeak-ng phonemes (SynthTalk, whose
phonemes are the truth of its speech), both are also compared with those, so the alignment's own
distance from the truth is the reference point. Per pair, mean ± standard error over clips of

* ``frame_agreement``: share of the clip's token frames with the same unit;
* ``speech_agreement``: the same over the frames where the reference unit is not ``sil``;
* ``unit_error``: edit distance between the collapsed unit sequences (runs merged, ``sil``
  dropped) / the reference's length (a phone error rate; may exceed 1 with insertions).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImaginTalkError, InputError
from ..settings.units import UnitsConfig
from ..units import align_transcript, frame_units, units_from_manifest_entry
from ..units.recognise import PhoneRecognizer
from .asr import edit_distance
from .audio import load_wav
from .manifest import manifest_path, read_manifest

SAMPLE_RATE = 16000
# (hypothesis, reference): the first is the question; the others need espeak-ng phonemes
PAIRS = (("recognised", "aligned"), ("aligned", "espeak"), ("recognised", "espeak"))
MEASURES = ("frame_agreement", "speech_agreement", "unit_error")


def collapse(units: Sequence[int] | np.ndarray) -> list[int]:
    """Units [T] -> the unit sequence said: runs merged, silence (0) dropped."""
    arr = np.asarray(units, dtype=np.int64)
    if arr.size == 0:
        return []
    starts = np.concatenate([[True], arr[1:] != arr[:-1]])
    return [int(u) for u in arr[starts] if u != 0]


def compare(hyp: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Two unit sequences [T] of one clip -> the three measures (NaN where undefined)."""
    if hyp.shape != ref.shape:
        raise ValueError(f"unit sequences differ in length: {hyp.shape} vs {ref.shape}")
    same = hyp == ref
    speech = ref != 0
    ref_seq = collapse(ref)
    return {
        "frame_agreement": float(same.mean()) if same.size else math.nan,
        "speech_agreement": float(same[speech].mean()) if speech.any() else math.nan,
        "unit_error": edit_distance(ref_seq, collapse(hyp)) / len(ref_seq) if ref_seq else math.nan,
    }


def mean_se(values: Sequence[float]) -> dict[str, float | int]:
    """Mean and standard error (sample std / sqrt n) of the defined values."""
    x = np.array([v for v in values if math.isfinite(v)], dtype=np.float64)
    if x.size == 0:
        return {"mean": math.nan, "se": math.nan, "n": 0}
    se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan
    return {"mean": float(x.mean()), "se": se, "n": int(x.size)}


def clip_units(
    entry: dict[str, Any], wav: np.ndarray, rate: float, recogniser: PhoneRecognizer
) -> tuple[dict[str, np.ndarray], str]:
    """One clip -> ({"recognised", "aligned", "espeak"}: units [T] each, where available;
    why the alignment failed, or "")."""
    if entry.get("num_frames") and entry.get("fps"):  # SynthTalk: as many units as its video has
        num = int(round(int(entry["num_frames"]) * rate / float(entry["fps"])))
    else:
        num = int(round(len(wav) / SAMPLE_RATE * rate))
    segments = recogniser.segments(wav, SAMPLE_RATE)
    units = {"recognised": frame_units(segments, num, rate, source="arpabet")}
    if entry.get("phonemes"):
        units["espeak"] = units_from_manifest_entry(entry, rate)
    try:
        segments = align_transcript(wav, SAMPLE_RATE, entry["text"])
    except InputError as exc:  # reported; the pairs without the alignment are still scored
        return units, str(exc)
    units["aligned"] = frame_units(segments, num, rate, source="arpabet")
    return units, ""


def _finite(value: Any) -> Any:
    """NaN -> None, recursively (JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def measure(data: Path, limit: int | None = None, rate: float | None = None) -> dict[str, Any]:
    """Every clip with a transcript (the first ``limit``) -> per-clip and summary measures."""
    rate = float(rate or UnitsConfig().frame_rate)
    entries = [e for e in read_manifest(data) if str(e.get("text", "")).strip()][: limit or None]
    if not entries:
        raise InputError(f"no clip of {manifest_path(data)} has a transcript ('text')")
    data_dir = manifest_path(data).parent
    recogniser = PhoneRecognizer()
    clips: dict[str, dict] = {}
    failed: dict[str, str] = {}
    for entry in entries:
        clip_id = str(entry["id"])
        try:
            wav = load_wav(data_dir / entry["audio"], SAMPLE_RATE)
            units, why = clip_units(entry, wav, rate, recogniser)
        except InputError as exc:  # unreadable or too short: nothing to score
            failed[clip_id] = str(exc)
            continue
        if why:
            failed[clip_id] = why
        clips[clip_id] = {
            f"{hyp}_vs_{ref}": compare(units[hyp], units[ref])
            for hyp, ref in PAIRS
            if hyp in units and ref in units
        }
    pairs = [f"{hyp}_vs_{ref}" for hyp, ref in PAIRS]
    summary = {
        pair: {m: mean_se([c[pair][m] for c in clips.values() if pair in c]) for m in MEASURES}
        for pair in pairs
        if any(pair in c for c in clips.values())
    }
    return {
        "manifest": str(manifest_path(data)),
        "frame_rate": rate,
        "num_clips": len(entries),
        "failed": failed,
        "summary": summary,
        "clips": clips,
    }


def format_summary(results: dict[str, Any]) -> str:
    """The summary as a Markdown table (mean ± standard error, n clips)."""
    lines = [
        f"{len(results['clips'])} of {results['num_clips']} clips with a transcript scored, "
        f"{len(results['failed'])} with a failure (below), units at {results['frame_rate']:g} Hz",
        "",
        "| hypothesis vs reference | frame agreement ↑ | speech-frame agreement ↑ | unit error ↓ |",
        "|---|---|---|---|",
    ]
    for pair, measures in results["summary"].items():
        cells = [f"{m['mean']:.3f} ± {m['se']:.3f} (n={m['n']})" for m in measures.values()]
        lines.append(f"| {pair.replace('_vs_', ' vs ')} | " + " | ".join(cells) + " |")
    lines += [f"{cid}: {why}" for cid, why in results["failed"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m imagintalk.eval.unit_recognition",
        description="Compare units recognised without a transcript with transcript-aligned ones.",
    )
    parser.add_argument("data", metavar="DATA_DIR", type=Path, help="directory with manifest.jsonl")
    parser.add_argument("--limit", type=int, help="only the first N clips with a transcript")
    parser.add_argument("--rate", type=float, help="units per second (default units.frame_rate)")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    try:
        if args.limit is not None and args.limit < 1:
            raise InputError("--limit must be >= 1")
        results = measure(args.data, args.limit, args.rate)
        print(format_summary(results))
        if args.out is not None:
            tmp = args.out.with_name(args.out.name + ".tmp")
            tmp.write_text(json.dumps(_finite(results), indent=1))
            os.replace(tmp, args.out)
    except ImaginTalkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
