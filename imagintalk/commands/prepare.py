"""``imagintalk prepare``: the training features of every clip of a data dir.

    imagintalk prepare data/synth/train [--codec models/codec] [--shard 0/4] [--workers 2] [--overwrite]
    imagintalk prepare --dataset lrs3 --root /data/LRS3 --out data/lrs3 [--val-share 0.05] ...
    torchrun --nnodes M --nproc_per_node P -m imagintalk prepare ...   (shard RANK/WORLD_SIZE)
    imagintalk prepare --merge SRC_DIR [SRC_DIR ...] DATA_DIR

Reads DIR/manifest.jsonl and writes one DIR/features/<id>.npz per clip (mouth ROIs, face crops,
face descriptor, expression, units, codec codes, speaker embedding, prosody); once the shard is
done they are packed into DIR/features/pack-<I>of<N>-<seq>.zip (--no-pack: kept loose), and
DIR/features/prepare_report[_IofN].json is written. A killed run resumes where it stopped.
--merge puts shards prepared into separate dirs into DATA_DIR. Training then never decodes
video or runs the outside models again. With --dataset (lrs3, lrs2, mead, ravdess) the
manifest is first (re)written from the dataset as it ships under --root (absolute paths into
it; speaker-disjoint train / val splits), and the files it cannot use are reported with their reasons.
See docs/training_data.md.
"""

from __future__ import annotations

import argparse
import os

from ..datasets import ADAPTERS, DEFAULT_VAL_SHARE
from ..errors import InputError
from ..settings.data import DataConfig
from .common import add_config_args, config_from_args
from .preprocess import parse_shard

SHOWN_IDS = 5  # clip ids printed per kind of skipped clip


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="precompute the training features of every clip of a data dir",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "data_dir",
        nargs="*",
        metavar="DATA_DIR",
        help="a dir with manifest.jsonl (e.g. a SynthTalk split); with --dataset, where it is written; "
        "with --merge: the prepared source dirs, then the target dir",
    )
    parser.add_argument("--out", metavar="DIR", help="the DATA_DIR to write (instead of the last DATA_DIR)")
    parser.add_argument(
        "--dataset",
        default="synth",
        choices=["synth", *ADAPTERS],
        help="synth (default): DATA_DIR has its manifest; else the dataset under --root",
    )
    parser.add_argument("--root", metavar="DIR", help="the dataset as it ships (with --dataset)")
    parser.add_argument(
        "--val-share",
        type=float,
        default=DEFAULT_VAL_SHARE,
        metavar="F",
        help=f"share of the speakers held out for val (with --dataset; default {DEFAULT_VAL_SHARE})",
    )
    parser.add_argument(
        "--angles", metavar="A,B", help="MEAD camera angles (default front; e.g. front,left_30)"
    )
    parser.add_argument(
        "--codec", metavar="NAME_OR_DIR", help="codec name (world_rvq, dac, encodec) or directory"
    )
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="prepare clips I, I+N, ... (0-based; default RANK/WORLD_SIZE under torchrun, else 0/1)",
    )
    parser.add_argument("--no-pack", action="store_true", help="keep one file per clip (no packs)")
    parser.add_argument(
        "--merge", action="store_true", help="merge prepared dirs: DATA_DIR is SRC_DIR [SRC_DIR ...] TARGET"
    )
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


def manifest_from_dataset(args: argparse.Namespace, data_dir) -> None:
    """--dataset NAME --root DIR: write DATA_DIR/manifest.jsonl from the dataset; print what was skipped."""
    from ..datasets import build_manifest

    if not args.root:
        raise InputError(f"--dataset {args.dataset} needs --root DIR (the dataset as it ships)")
    if args.angles and args.dataset != "mead":
        raise InputError("--angles is for --dataset mead")
    options = {"angles": args.angles} if args.angles else {}
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {data_dir}: {exc.strerror}") from None
    scan = build_manifest(args.dataset, args.root, data_dir, args.val_share, **options)
    splits: dict[str, int] = {}
    for entry in scan.entries:
        splits[entry.split] = splits.get(entry.split, 0) + 1
    counts = ", ".join(f"{n} {split}" for split, n in sorted(splits.items()))
    speakers = len({e.speaker for e in scan.entries})
    clips, skipped = len(scan.entries), len(scan.skipped)
    print(f"{args.dataset}: {clips} clips ({counts}) of {speakers} speakers, {skipped} skipped")
    for line in scan.skip_report():
        print(f"  {line}")


def shard_of(text: str | None, environ) -> tuple[int, int]:
    """--shard I/N, else RANK/WORLD_SIZE when torchrun set them, else 0/1."""
    if text:
        return parse_shard(text)
    rank, world = environ.get("RANK"), environ.get("WORLD_SIZE")
    if rank is None or world is None:
        return 0, 1
    try:
        shard = parse_shard(f"{rank}/{world}")
    except InputError:
        need = "need whole numbers, 0 <= RANK < WORLD_SIZE"
        raise InputError(f"RANK={rank} WORLD_SIZE={world}: {need}") from None
    print(f"shard {shard[0]}/{shard[1]} (from RANK / WORLD_SIZE)")
    return shard


def run_merge(args: argparse.Namespace) -> int:
    """--merge SRC_DIR ... DATA_DIR."""
    from ..data.merge import merge_prepared

    if len(args.data_dir) < 2:
        raise InputError("--merge needs SRC_DIR [SRC_DIR ...] DATA_DIR")
    if args.dataset != "synth" or args.shard or args.overwrite:
        raise InputError("--merge takes only dirs (no --dataset, --shard or --overwrite)")
    report = merge_prepared(args.data_dir[:-1], args.data_dir[-1])
    print(
        f"merged {len(args.data_dir) - 1} dirs into {args.data_dir[-1]}: {report.prepared} clips prepared, "
        f"{report.failed} failed, {len(report.packs)} packs"
    )
    return 0


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..data.prepare import prepare_dataset

    if args.out:  # --out DIR: the written dir, as the last positional would be
        args.data_dir = [*args.data_dir, args.out]
    if not args.data_dir:
        raise InputError("prepare needs a DATA_DIR (or --out DIR)")
    if args.merge:
        return run_merge(args)
    if len(args.data_dir) != 1:
        raise InputError("prepare takes one DATA_DIR (several only with --merge SRC_DIR ... DATA_DIR)")
    shard = shard_of(args.shard, os.environ)
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
    data_dir = Path(args.data_dir[0])
    if args.dataset != "synth":
        manifest_from_dataset(args, data_dir)
    elif args.root or args.angles:
        raise InputError("--root and --angles go with --dataset (lrs3, lrs2, mead, ravdess)")
    if not data_dir.is_dir():
        raise InputError(f"data dir not found: {data_dir}")
    report = prepare_dataset(
        data_dir, cfg, data_cfg, shard, args.workers, args.overwrite, not args.no_progress, not args.no_pack
    )
    done = (
        f"; face detected in {100 * report.detection_rate:.1f}% of {report.frames} frames; "
        f"{report.seconds_per_clip} s/clip, {report.bytes_per_clip / 1e3:.0f} kB/clip"
        if report.prepared
        else ""  # nothing was prepared in this run: no rate to give
    )
    print(
        f"{report.clips} clips: {report.prepared} prepared, {report.skipped_existing} already done, "
        f"{report.failed} failed{done}; codec {report.codec['name']} {report.codec['fingerprint']}"
    )
    if report.packs:
        print(f"  packed into {', '.join(report.packs)}")
    for kind, ids in report.ids_by_reason().items():
        more = f", ... ({len(ids) - SHOWN_IDS} more)" if len(ids) > SHOWN_IDS else ""
        print(f"  skipped {len(ids)} ({kind}): {', '.join(ids[:SHOWN_IDS])}{more}")
    for clip_id, error in list(report.failures.items())[:5]:
        print(f"  failed {clip_id}: {error}")
    if report.failed and report.prepared + report.skipped_existing == 0:  # nothing usable at all
        raise InputError(f"every clip failed, e.g. {next(iter(report.failures.values()))}")
    return 0
