"""``imagintalk prepare``: one training feature file per clip of a data dir.

    imagintalk prepare data/synth/train [--codec models/codec] [--shard 0/4] [--workers 2] [--overwrite]

Reads DIR/manifest.jsonl and writes DIR/features/<id>.npz (mouth ROIs, face crops, face
descriptor, expression, units, codec codes, speaker embedding, prosody) plus
DIR/features/prepare_report.json. Training then never decodes video or runs the outside
models again. See docs/training_data.md.
"""

from __future__ import annotations

import argparse

from ..errors import InputError
from ..settings.data import DataConfig
from .common import add_config_args, config_from_args
from .preprocess import parse_shard


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="precompute the training features of every clip of a data dir",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "data_dir", metavar="DATA_DIR", help="a dir with manifest.jsonl (e.g. a SynthTalk split)"
    )
    parser.add_argument(
        "--codec", metavar="NAME_OR_DIR", help="codec name (world_rvq, dac, encodec) or directory"
    )
    parser.add_argument("--shard", default="0/1", metavar="I/N", help="prepare clips I, I+N, ... (0-based)")
    parser.add_argument("--workers", type=int, help="processes (0 = one per CPU core; default 1)")
    parser.add_argument("--overwrite", action="store_true", help="redo clips that are already prepared")
    parser.add_argument("--face-crops", type=int, help="aligned face crops kept per clip (default 4)")
    parser.add_argument("--face-crop-size", type=int, help="side of those crops in pixels (default 64)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_config_args(parser)
    parser.set_defaults(func=run)


def apply_codec_arg(cfg, codec: str | None) -> None:
    """--codec: a known backend name sets codec.name, anything else is a codec directory."""
    from ..builders import CODECS, resolve_codec_name

    if not codec:
        return
    if codec in CODECS:
        cfg.codec.name, cfg.codec.path = codec, ""
    else:
        cfg.codec.name, cfg.codec.path = resolve_codec_name(codec)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..data.prepare import prepare_dataset

    cfg = config_from_args(args)
    apply_codec_arg(cfg, args.codec)
    data_cfg = getattr(cfg, "data", None) or DataConfig()
    if args.face_crops is not None:
        data_cfg.face_crops = args.face_crops
    if args.face_crop_size is not None:
        data_cfg.face_crop_size = args.face_crop_size
    if data_cfg.face_crops < 1 or data_cfg.face_crop_size < 8:
        raise InputError("--face-crops must be >= 1 and --face-crop-size >= 8")
    if args.workers is not None and args.workers < 0:
        raise InputError("--workers must be >= 0")
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        raise InputError(f"data dir not found: {data_dir}")
    report = prepare_dataset(
        data_dir, cfg, data_cfg, parse_shard(args.shard), args.workers, args.overwrite, not args.no_progress
    )
    print(
        f"{report.clips} clips: {report.prepared} prepared, {report.skipped_existing} already done, "
        f"{report.failed} failed; face detected in {100 * report.detection_rate:.1f}% "
        f"of {report.frames} frames; "
        f"{report.seconds_per_clip} s/clip, {report.bytes_per_clip / 1e3:.0f} kB/clip; "
        f"codec {report.codec['name']} {report.codec['fingerprint']}"
    )
    for clip_id, error in list(report.failures.items())[:5]:
        print(f"  failed {clip_id}: {error}")
    if report.failed and report.prepared + report.skipped_existing == 0:  # nothing usable at all
        raise InputError(f"every clip failed, e.g. {next(iter(report.failures.values()))}")
    return 0
