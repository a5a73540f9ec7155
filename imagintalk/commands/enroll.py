"""``imagintalk enroll --out PROFILE_DIR (--videos DIR | --camera N)``: teach the lip reader a face."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import ImaginTalkError, InputError
from .speak import input_problem

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm")
CAMERA_SECONDS = 3.5  # how long each prompt is recorded from a camera


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "enroll",
        help="adapt the lip reader to one person's face from a few mouthed prompts",
        description="Record (--camera) or read (--videos) the user mouthing short prompts, align each "
        "prompt's units to the lips, adapt the lip aligner on the CPU and write a profile that "
        "speak/say --profile, the ROS node and the app load.",
    )
    parser.add_argument(
        "--out", required=True, metavar="PROFILE_DIR", help="the profile to write (or replace)"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--videos", metavar="DIR",
        help="recorded prompts: DIR/manifest.jsonl (id, video, text), or videos with a same-named .txt "
        "each, or videos in name order paired with the lines of --prompts / DIR/prompts.txt",
    )  # fmt: skip
    source.add_argument("--camera", type=int, metavar="N", help="record from camera N, prompt by prompt")
    parser.add_argument("--prompts", metavar="FILE", help="one prompt per line (default: the model's own)")
    parser.add_argument("--count", type=int, default=25, help="prompts to record with --camera (default 25)")
    parser.add_argument("--limit", type=int, help="use at most this many videos of --videos")
    parser.add_argument("--name", help="the profile's name (default: the folder's)")
    parser.add_argument("--voice", metavar="WAV", help="a recording of the user's own voice to speak with")
    parser.add_argument("--adapter", choices=("lora", "residual"), default="lora", help="adapter kind")
    parser.add_argument("--rank", type=int, default=8, help="adapter rank (default 8)")
    parser.add_argument("--no-renorm", action="store_true", help="keep the front end's BatchNorm statistics")
    parser.add_argument("--max-minutes", type=float, default=15.0, help="adaptation time limit")
    parser.add_argument("--model", help="model directory (default: the shipped models/imagintalk)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    parser.set_defaults(func=run)


def check_out(path: Path) -> None:
    """The profile folder may be new, empty or an old profile (replaced); nothing else is overwritten."""
    if path.exists() and not path.is_dir():
        raise InputError(f"--out {path} exists and is not a folder")
    if path.is_dir() and any(path.iterdir()) and not (path / "profile.json").is_file():
        raise InputError(f"--out {path} is a folder with other files in it, not a profile")


def video_pairs(folder: Path, prompts_file: str | None, limit: int | None) -> list[tuple[Path, str]]:
    """(video, prompt text) of a recordings folder (see --videos)."""
    if not folder.is_dir():
        raise InputError(f"--videos {folder} is not a folder")
    manifest = folder / "manifest.jsonl"
    if manifest.is_file() and not prompts_file:
        try:
            rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
            pairs = [(folder / row["video"], str(row["text"])) for row in rows]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{manifest} is unusable: {exc}") from None
    else:
        from ..enroll.prompts import read_prompts

        videos = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
        if not videos:
            raise InputError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) in {folder}")
        sidecars = [v.with_suffix(".txt") for v in videos]
        if prompts_file or not all(s.is_file() for s in sidecars):
            listed = Path(prompts_file) if prompts_file else folder / "prompts.txt"
            if not listed.is_file():
                raise InputError(f"no prompt texts for the videos in {folder}: give --prompts or .txt files")
            texts = read_prompts(listed)
            if len(texts) < len(videos):
                raise InputError(f"{listed} has {len(texts)} prompts for {len(videos)} videos")
        else:
            texts = [" ".join(s.read_text().split()) for s in sidecars]
        pairs = list(zip(videos, texts))
    return pairs[:limit] if limit else pairs


def camera_clips(pipe, camera: int, prompts: list[str]) -> list:
    """Record each prompt from the camera after the user presses Enter (interactive)."""
    import time

    import cv2

    from ..enroll import clip_from_frames

    capture = cv2.VideoCapture(camera)
    if not capture.isOpened():
        raise InputError(f"cannot open camera {camera}")
    clips = []
    try:
        for number, text in enumerate(prompts, 1):
            print(f"[{number}/{len(prompts)}] mouth silently: {text!r}; press Enter to start", flush=True)
            if not sys.stdin.readline():
                raise InputError("enrollment from a camera needs a terminal (stdin closed)")
            frames, start = [], time.monotonic()
            while time.monotonic() - start < CAMERA_SECONDS:
                ok, frame = capture.read()
                if not ok:
                    raise InputError(f"camera {camera} stopped delivering frames")
                frames.append((frame, time.monotonic() - start))
            try:
                clips.append(clip_from_frames(pipe, frames, text))
            except ImaginTalkError as exc:
                print(f"error: prompt {number}: {exc} (skipped)", file=sys.stderr)
    finally:
        capture.release()
    return clips


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    check_out(out)
    if args.rank < 1 or args.count < 1 or (args.limit is not None and args.limit < 1):
        raise InputError("--rank, --count and --limit must be positive")
    if args.voice and (problem := input_problem(Path(args.voice), "voice recording")):
        raise InputError(problem)
    pairs = video_pairs(Path(args.videos), args.prompts, args.limit) if args.videos else None
    from ..enroll import clip_from_video, default_prompts, enroll, read_prompts
    from ..enroll.adapt import AdaptSettings
    from ..models.lip_adapter import AdapterSpec
    from ..pipeline import Pipeline

    pipe = Pipeline.from_dir(args.model, device=args.device)
    failures, clips = 0, []
    if pairs is not None:
        from tqdm import tqdm

        for video, text in tqdm(pairs, desc="reading the prompts", unit="video", file=sys.stderr):
            try:
                if problem := input_problem(video):
                    raise InputError(problem)
                clips.append(clip_from_video(pipe, video, text))
            except ImaginTalkError as exc:
                failures += 1  # one bad recording must not lose the others
                print(f"error: {video}: {exc}", file=sys.stderr)
    else:
        prompts = read_prompts(args.prompts) if args.prompts else default_prompts(pipe.cfg, args.count)
        clips = camera_clips(pipe, args.camera, prompts[: args.count])
    if not clips:
        raise InputError("no usable recordings: nothing to enroll")
    spec = AdapterSpec(kind=args.adapter, rank=args.rank, renorm=not args.no_renorm)
    settings = AdaptSettings(spec=spec, max_seconds=60.0 * args.max_minutes)
    from tqdm import tqdm

    with tqdm(total=settings.max_epochs, desc="adapting", unit="epoch", file=sys.stderr) as bar:

        def progress(text: str, fraction: float) -> None:
            bar.set_postfix_str(text.split(", ", 1)[-1] if "epoch" in text else text)
            bar.update(round(fraction * settings.max_epochs) - bar.n)

        profile = enroll(pipe, clips, args.name or out.name, settings, args.voice, progress)
    profile.save(out)
    report = profile.report
    before, after = report["heldout_accuracy_before"], report["heldout_accuracy_after"]
    held = f", held-out unit accuracy {before:.3f} -> {after:.3f}" if before is not None else ""
    print(
        f"enrolled {report['aligned']} of {len(clips)} prompts in {report['total_seconds']:.1f} s "
        f"({report['epochs']} epochs{held})"
    )
    print(f"wrote {out}")
    if failures:
        print(f"error: {failures} of {len(pairs)} recordings failed", file=sys.stderr)
        return 1
    return 0
