"""``imagintalk codec IN.wav -o OUT.wav``: encode + decode (the codec upper bound)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_config_args, config_from_args


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "codec",
        help="encode and decode a speech file with a codec (the codec upper bound)",
        description="Round-trip IN through the codec's tokens and write OUT; prints K, T and bitrate.",
    )
    parser.add_argument("input", metavar="IN", help="audio file (any rate / channels; mixed to mono)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output .wav")
    parser.add_argument(
        "--codec",
        metavar="NAME_OR_DIR",
        help="world_rvq | dac | encodec | a codec directory (default: config)",
    )
    parser.add_argument("--score", action="store_true", help="print STOI / ESTOI / speaker similarity vs IN")
    add_config_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import math

    import numpy as np
    import soundfile as sf
    import torch

    from ..builders import build_codec
    from ..codec.audio import read_audio

    cfg = config_from_args(args)
    if args.codec:
        cfg.codec.path, cfg.codec.name = (
            ("", args.codec) if not Path(args.codec).exists() else (args.codec, "")
        )
    codec = build_codec(cfg.codec)
    wav = read_audio(args.input, codec.sample_rate)
    codes = codec.encode(torch.from_numpy(wav)[None, None])
    out = codec.decode(codes)[0, 0, : len(wav)].numpy()
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    sf.write(args.output, np.clip(out, -1, 1), codec.sample_rate)
    k, t = codes.shape[1], codes.shape[2]
    bitrate = codec.frame_rate * k * math.log2(codec.cardinality)
    print(
        f"codec={codec.name} K={k} T={t} cardinality={codec.cardinality} frame_rate={codec.frame_rate} Hz "
        f"bitrate={bitrate / 1000:.2f} kbps sample_rate={codec.sample_rate} -> {args.output}"
    )
    if args.score:
        from ..eval.codec_quality import speaker_similarity, stoi_scores

        stoi_value, estoi_value = stoi_scores(wav, out, codec.sample_rate)
        sim = speaker_similarity(wav, out, codec.sample_rate)
        print(f"stoi={stoi_value:.3f} estoi={estoi_value:.3f} speaker_similarity={sim:.3f}")
    return 0
