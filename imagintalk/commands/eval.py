"""``imagintalk eval``: score generated speech against a manifest's ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from .common import add_config_args, config_from_args


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="score generated speech (WER, STOI, PESQ, speaker / emotion similarity, F0)",
        description="Score each system's WAV_DIR/<id>.wav against DATA_DIR's manifest. The "
        "'ground truth' and 'codec round trip' references are always reported too. Writes "
        "results.json and results.md under --out and prints the Markdown table.",
    )
    parser.add_argument("data", metavar="DATA_DIR", type=Path, help="directory with manifest.jsonl")
    parser.add_argument(
        "--system",
        metavar="NAME=WAV_DIR",
        action="append",
        default=[],
        help="a system's generated wavs (repeatable)",
    )
    codec = parser.add_mutually_exclusive_group()
    codec.add_argument("--codec", metavar="NAME_OR_DIR", help="codec for the round-trip reference")
    codec.add_argument("--no-codec", action="store_true", help="skip the codec round-trip reference")
    parser.add_argument("--out", type=Path, help="output directory (default DATA_DIR/eval)")
    parser.add_argument("--spectrograms", action="store_true", help="write a spectrogram PNG per clip")
    parser.add_argument("--limit", type=int, help="evaluate only the first N clips")
    parser.add_argument("--metrics", help="comma-separated subset of metrics (default: all)")
    parser.add_argument(
        "--paired-to",
        metavar="NAME",
        help="compare every other system with NAME clip by clip (mean ± standard error of the "
        "difference, and whether it is beyond noise); NAME may be 'ground truth'",
    )
    add_config_args(parser)
    parser.set_defaults(func=run)


def parse_systems(items: list[str]) -> dict[str, Path]:
    systems: dict[str, Path] = {}
    for item in items:
        name, sep, folder = item.partition("=")
        if not sep or not name.strip() or not folder.strip():
            raise InputError(f"--system {item!r} must look like NAME=WAV_DIR")
        if name.strip() in systems:
            raise InputError(f"system {name.strip()!r} given twice")
        systems[name.strip()] = Path(folder.strip())
    return systems


def run(args: argparse.Namespace) -> int:
    from ..eval import evaluate

    cfg = config_from_args(args)
    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be >= 1")
    systems = parse_systems(args.system)
    codec = None
    if not args.no_codec:
        from ..builders import build_codec

        if args.codec:
            cfg.codec.path, cfg.codec.name = "", args.codec
            if Path(args.codec).exists():
                cfg.codec.path = args.codec
        codec = build_codec(cfg.codec)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else cfg.eval.metrics
    out_dir = args.out or Path(args.data) / "eval"
    results = evaluate(
        args.data, systems, codec, out_dir, metrics, args.spectrograms, args.limit, args.paired_to
    )
    print(results["markdown"])
    print(f"wrote {out_dir / 'results.json'} and {out_dir / 'results.md'}")
    return 0
