"""``imagintalk synth``: generate SynthTalk clips (talking-face video, speech, manifest)."""

from __future__ import annotations

import argparse
import time

from ..errors import InputError
from .common import add_config_args, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="generate the SynthTalk corpus (GRID sentences, espeak-ng voices, drawn faces)",
        description="Write DIR/video/<id>.mp4, DIR/audio/<id>.wav and DIR/manifest.jsonl for one split.",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--clips", type=int, required=True, metavar="N", help="number of clips")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--split", default="train", help="train, val or test (default train)")
    parser.add_argument("--workers", type=int, default=None, metavar="W", help="processes (0: one per core)")
    parser.add_argument(
        "--speaker",
        type=int,
        default=None,
        metavar="INDEX",
        help="every clip spoken by this speaker of the split's pool (e.g. 32-39 for test); "
        "same as --set synth.only_speaker=INDEX",
    )
    parser.add_argument(
        "--renderer", default=None, help="cartoon (default) or portrait; same as --set synth.renderer=NAME"
    )
    style = parser.add_mutually_exclusive_group()
    style.add_argument(
        "--expressive",
        dest="expressive",
        action="store_const",
        const=True,
        help="expressive prosody (the default): emphasis, questions, pauses, intensity across the "
        "sentence, in voice and face; same as --set synth.expressive=true",
    )
    style.add_argument(
        "--plain",
        dest="expressive",
        action="store_const",
        const=False,
        help="one emotion label per clip and espeak-ng's own tune (the corpus of models trained before "
        "expressive SynthTalk); same as --set synth.expressive=false",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_config_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..synth.corpus import generate_corpus_summary

    cfg = config_from_args(args)
    if args.speaker is not None:
        cfg.synth.only_speaker = args.speaker
    if args.renderer is not None:
        cfg.synth.renderer = args.renderer
    if args.expressive is not None:
        cfg.synth.expressive = args.expressive
    if args.workers is not None and args.workers < 0:
        raise InputError(f"--workers must be >= 0, got {args.workers}")
    start = time.perf_counter()
    summary = generate_corpus_summary(
        args.out, args.clips, args.seed, args.split, cfg.synth, args.workers, not args.no_progress
    )
    took = time.perf_counter() - start
    emotions = ", ".join(f"{k} {v}" for k, v in sorted(summary.emotions.items()))
    print(
        f"synth {args.split}: {summary.clips} clips, {summary.total_seconds / 60:.1f} min of speech, "
        f"{summary.speakers} speakers, emotions: {emotions}; {took:.1f} s "
        f"({summary.clips / took:.2f} clips/s) -> {summary.manifest}"
    )
    return 0
