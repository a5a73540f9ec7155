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
        description="Score each system's WAV_DIR/<id>.wav against DATA_DIR's manifest, or against "
        "one split of a dataset as it ships (--dataset lrs3 --root DIR: LRS3's test/ folder; the "
        "manifest is written to --out, ids as 'imagintalk prepare --dataset' names the clips). The "
        "'ground truth' and 'codec round trip' references are always reported too. Writes "
        "results.json and results.md under --out and prints the Markdown table.",
    )
    parser.add_argument(
        "data", metavar="DATA_DIR", type=Path, nargs="?", help="directory with manifest.jsonl"
    )
    parser.add_argument(
        "--system",
        metavar="NAME=WAV_DIR",
        action="append",
        default=[],
        help="a system's generated wavs (repeatable)",
    )
    real = parser.add_argument_group("real data (instead of DATA_DIR)")
    real.add_argument("--dataset", metavar="NAME", help="a dataset adapter: lrs3, lrs2, mead, ravdess")
    real.add_argument("--root", type=Path, help="the dataset's folder as it ships")
    real.add_argument("--split", default="test", help="the split to score (default test)")
    asr = parser.add_argument_group("speech recognition")
    asr.add_argument(
        "--asr-model",
        metavar="DIR",
        help="a Whisper checkpoint you own (Hugging Face save_pretrained folder) for WER "
        "(metric wer_whisper); without it WER is pocketsphinx's",
    )
    asr.add_argument("--asr-device", choices=("auto", "cpu", "cuda"), help="where Whisper runs")
    codec = parser.add_mutually_exclusive_group()
    codec.add_argument("--codec", metavar="NAME_OR_DIR", help="codec for the round-trip reference")
    codec.add_argument("--no-codec", action="store_true", help="skip the codec round-trip reference")
    parser.add_argument(
        "--out", type=Path, help="output directory (default DATA_DIR/eval; required with --dataset)"
    )
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


def check_source(args: argparse.Namespace) -> None:
    """Exactly one of DATA_DIR and --dataset/--root, and --out with --dataset."""
    if args.dataset is None:
        if args.root is not None:
            raise InputError("--root needs --dataset NAME")
        if args.data is None:
            raise InputError("give DATA_DIR, or --dataset NAME --root DIR")
        return
    if args.data is not None:
        raise InputError("give DATA_DIR or --dataset, not both")
    if args.root is None:
        raise InputError(f"--dataset {args.dataset} needs --root DIR (the dataset's folder)")
    if args.out is None:
        raise InputError("--dataset needs --out DIR (where the manifest and the results go)")


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be >= 1")
    check_source(args)
    systems = parse_systems(args.system)
    for name, folder in systems.items():  # before anything is written or loaded
        if not folder.is_dir():
            raise InputError(f"system {name!r}: {folder} is not a directory")
    asr_model = args.asr_model if args.asr_model is not None else cfg.eval.asr_model
    asr_device = args.asr_device or cfg.eval.asr_device
    if asr_model and not Path(asr_model).expanduser().is_dir():
        raise InputError(f"--asr-model {asr_model}: not a directory (a Whisper checkpoint's folder)")

    from ..eval import evaluate
    from ..eval.judges import Judges
    from ..eval.metrics import default_metrics

    judges = Judges(asr_model or None, asr_device)
    if asr_model:
        judges.whisper  # noqa: B018 - load (or refuse) the checkpoint before anything is written

    if args.metrics:
        metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    else:
        metrics = default_metrics(cfg.eval.metrics, args.dataset is not None, bool(asr_model))
    out_dir = args.out or Path(args.data) / "eval"
    data = args.data
    if args.dataset is not None:
        from ..eval.real_data import dataset_manifest

        data = dataset_manifest(args.dataset, args.root, out_dir, args.split)
        print(f"{args.dataset} {args.split}: manifest {data}")
    codec = None
    if not args.no_codec:
        from ..builders import build_codec

        if args.codec:
            cfg.codec.path, cfg.codec.name = "", args.codec
            if Path(args.codec).exists():
                cfg.codec.path = args.codec
        codec = build_codec(cfg.codec)
    results = evaluate(
        data,
        systems,
        codec,
        out_dir,
        metrics,
        args.spectrograms,
        args.limit,
        args.paired_to,
        judges=judges,
    )
    print(results["markdown"])
    print(f"wrote {out_dir / 'results.json'} and {out_dir / 'results.md'}")
    return 0
