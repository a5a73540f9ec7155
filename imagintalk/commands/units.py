"""``imagintalk units``: show the semantic-unit sequence of a clip or an aligned wav."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from .common import add_config_args, config_from_args


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "units",
        help="show a clip's semantic units (SynthTalk id, or a wav + transcript via pocketsphinx)",
        description="Show frame-level semantic units, run-length encoded with times. "
        "DATA_DIR --id ID reads a SynthTalk manifest; WAV --text '...' force-aligns the "
        "transcript with pocketsphinx; WAV alone recognises the phones (pocketsphinx allphone, "
        "as prepare does for clips without a transcript).",
    )
    parser.add_argument("target", metavar="DATA_DIR|WAV", help="a SynthTalk directory or a wav file")
    parser.add_argument("--id", dest="clip_id", help="clip id in DATA_DIR's manifest")
    parser.add_argument("--text", help="transcript of WAV (forced alignment; without: recognised phones)")
    add_config_args(parser)
    parser.set_defaults(func=run)


def _format_runs(units, frame_rate: float) -> str:
    from ..units import run_length

    lines = []
    for name, start, n in run_length(units):
        lines.append(f"  {start / frame_rate:6.2f}-{(start + n) / frame_rate:6.2f} s  {name:<4} ({n} frames)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..units import align_transcript, frame_units, units_from_manifest_entry

    cfg = config_from_args(args)
    rate = cfg.units.frame_rate
    target = Path(args.target)
    if target.is_dir():
        from ..eval.manifest import find_entry, read_manifest

        if not args.clip_id:
            raise InputError("give --id ID to pick a clip of the data directory")
        entry = find_entry(read_manifest(target), args.clip_id)
        units = units_from_manifest_entry(entry, rate)
        print(f"{entry['id']}: {entry.get('text', '')!r} ({len(units)} units at {rate} Hz, espeak-ng)")
    elif target.is_file():
        from ..eval.audio import load_wav
        from ..units.recognise import PhoneRecognizer

        wav = load_wav(target, 16000)
        if args.text:
            segments, how = align_transcript(wav, 16000, args.text), f"{args.text!r}, pocketsphinx alignment"
        else:
            segments, how = PhoneRecognizer().segments(wav, 16000), "no transcript, recognised phones"
        units = frame_units(segments, int(round(len(wav) / 16000 * rate)), rate, source="arpabet")
        print(f"{target.name}: {len(units)} units at {rate} Hz ({how})")
    else:
        raise InputError(f"{target} is neither a directory nor a file")
    print(_format_runs(units, rate))
    return 0
