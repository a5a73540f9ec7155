"""``imagintalk preprocess``: the video front door on one video or a SynthTalk data dir.

    imagintalk preprocess clip.mp4 [--out clip.npz]
    imagintalk preprocess data/synth/test [--out DIR] [--shard 0/4] [--detector opencv_haar]

A data dir holds ``manifest.jsonl`` (one JSON object per clip with at least ``id`` and
``video``, a path relative to the dir); each clip becomes ``<out>/<id>.npz`` (default
out: ``DIR/crops``). Clips already done are skipped; a clip that fails is reported and
counted, not fatal. A JSON report of the run (detection rate over all frames, failures)
is written next to the crops.
"""

from __future__ import annotations

import argparse
import json
import logging
import zipfile
from pathlib import Path

import numpy as np

from ..errors import ImaginTalkError, InputError
from ..manifest import check_clip_ids, manifest_path, read_manifest
from .common import add_config_args, config_from_args

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "preprocess",
        help="face track, aligned mouth ROIs and face crops from videos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", metavar="VIDEO_OR_DATA_DIR", help="a video file or dir with manifest.jsonl")
    parser.add_argument("--out", help="output .npz (one video) or output dir (data dir; default DIR/crops)")
    parser.add_argument("--shard", default="0/1", metavar="I/N", help="process clips I, I+N, ... (0-based)")
    parser.add_argument("--detector", help="face detector: dlib_hog or opencv_haar (default from config)")
    add_config_args(parser)
    parser.set_defaults(func=run)


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' -> (I, N) with 0 <= I < N."""
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise InputError(f"--shard must look like I/N (e.g. 0/4), not {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise InputError(f"--shard {text}: need 0 <= I < N")
    return index, count


def read_entries(data_dir: Path) -> list[dict]:
    """Entries of DIR/manifest.jsonl, each with 'id' and 'video' (resolved against DIR)."""
    path = manifest_path(data_dir)
    entries = read_manifest(path)
    check_clip_ids(entries, path)
    for number, entry in enumerate(entries, 1):
        if not entry.get("video"):
            raise InputError(f"{path}: entry {number} ({entry['id']}) has no 'video'")
        entry["video"] = str(data_dir / entry["video"])
    return entries


def _print_summary(name: str, summary: dict) -> None:
    print(
        f"{name}: {summary['frames']} frames at {summary['fps']:g} fps ({summary['duration_s']} s) "
        f"from {summary['source_frames']} source frames at {summary['source_fps']:g} fps "
        f"{summary['source_size'][1]}x{summary['source_size'][0]}; face detected in "
        f"{summary['detected_pct']}% of source frames, {summary['filled_frames']} output frames filled, "
        f"{summary['multiple_faces']} frames with several faces"
    )


def _stored_counts(path: Path) -> tuple[int, int] | None:
    """(source frames, source frames with a face) of a saved result without reading the crops;
    None when the file is unreadable (an interrupted write), so the clip is done again."""
    try:
        with np.load(path) as data:
            return int(data["num_source_frames"]), int(data["source_detected"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if args.detector:
        cfg.video.detector = args.detector
    target = Path(args.input)
    if target.is_dir():
        return run_dataset(target, cfg, args.out, parse_shard(args.shard))
    from ..video.frontdoor import process_video

    result = process_video(target, cfg.video)
    out = Path(args.out) if args.out else target.with_suffix(".npz")
    if out.suffix != ".npz":
        out = out / f"{target.stem}.npz"
    result.save(out)
    _print_summary(target.name, result.summary())
    print(f"wrote {out}")
    return 0


def run_dataset(data_dir: Path, cfg, out: str | None, shard: tuple[int, int]) -> int:
    """Every clip of the shard into OUT/<id>.npz; returns 0 unless every attempted clip failed."""
    from tqdm import tqdm

    from ..video.detectors import build_detector
    from ..video.frontdoor import process_video

    if not (data_dir / "manifest.jsonl").is_file():
        raise InputError(f"{data_dir} is a directory without manifest.jsonl (expected a SynthTalk data dir)")
    entries = read_entries(data_dir)[shard[0] :: shard[1]]
    out_dir = Path(out) if out else data_dir / "crops"
    out_dir.mkdir(parents=True, exist_ok=True)
    detector = build_detector(cfg.video.detector, upsample=cfg.video.upsample)
    frames = detected = done = skipped = 0
    failures: dict[str, str] = {}
    for entry in tqdm(entries, desc=f"preprocess {shard[0]}/{shard[1]}", unit="clip"):
        path = out_dir / f"{entry['id']}.npz"
        counts = _stored_counts(path) if path.is_file() else None
        if counts is not None:
            skipped += 1
        else:
            try:
                result = process_video(entry["video"], cfg.video, detector=detector)
                result.save(path)
            except Exception as exc:  # one bad clip must not end a long dataset run
                message = str(exc) if isinstance(exc, ImaginTalkError) else f"{type(exc).__name__}: {exc}"
                failures[entry["id"]] = message
                log.warning("%s: %s", entry["id"], message)
                continue
            counts = (result.num_source_frames, result.source_detected)
            done += 1
        frames += counts[0]
        detected += counts[1]
    report = {
        "data_dir": str(data_dir),
        "shard": f"{shard[0]}/{shard[1]}",
        "clips": len(entries),
        "processed": done,
        "skipped_existing": skipped,
        "failed": len(failures),
        "source_frames": frames,
        "detected_frames": detected,
        "detection_rate": round(detected / frames, 4) if frames else 0.0,
        "failures": failures,
        "config": vars(cfg.video),
    }
    name = "report.json" if shard[1] == 1 else f"report_{shard[0]}of{shard[1]}.json"
    (out_dir / name).write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"{len(entries)} clips: {done} processed, {skipped} already done, {len(failures)} failed; "
        f"face detected in {100 * report['detection_rate']:.1f}% of {frames} frames; report {out_dir / name}"
    )
    if entries and len(failures) == len(entries):
        raise InputError(f"every clip failed, e.g. {next(iter(failures.values()))}")
    return 0
