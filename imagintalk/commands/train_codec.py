"""``imagintalk train-codec``: train the project's ``world_rvq`` codec from generated speech."""

from __future__ import annotations

import argparse

from ..errors import InputError
from .common import add_config_args, config_from_args


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train-codec",
        help="train the world_rvq codec on generated espeak-ng / flite speech",
        description="Generate training speech, fit the RVQ codebooks, save config.json + safetensors, "
        "and print the quality on the held-out real clip arctic_a0007.",
    )
    parser.add_argument("--out", default="models/codec", help="output directory (default: models/codec)")
    parser.add_argument("--minutes", type=float, help="minutes of training speech (default: config)")
    parser.add_argument("--seed", type=int, help="random seed (default: config seed)")
    parser.add_argument("--no-eval", action="store_true", help="skip the held-out quality figures")
    add_config_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..codec.train import train_world_rvq

    cfg = config_from_args(args)
    if args.minutes is not None:
        if args.minutes <= 0:
            raise InputError("--minutes must be positive")
        cfg.codec.train_minutes = args.minutes
    seed = cfg.seed if args.seed is None else args.seed
    torch.manual_seed(seed)
    codec = train_world_rvq(cfg.codec, seed=seed)
    out = codec.save(args.out)
    info = codec.meta["training"]
    print(
        f"saved {out}: K={codec.num_codebooks} x {codec.cardinality} at {codec.frame_rate} Hz, "
        f"{info['speech_seconds']} s of speech, {info['vectors']} vectors, {info['train_seconds']} s"
    )
    if not args.no_eval:
        from ..codec.audio import read_audio
        from ..eval.codec_quality import ARCTIC_A0007_TEXT, arctic_a0007_path, codec_report

        report = codec_report(codec, read_audio(arctic_a0007_path(), codec.sample_rate), ARCTIC_A0007_TEXT)
        print("held-out real speech (arctic_a0007, CMU ARCTIC awb):")
        for key, value in report.items():
            print(f"  {key}: {value:.3f}" if isinstance(value, float) else f"  {key}: {value}")
    return 0
