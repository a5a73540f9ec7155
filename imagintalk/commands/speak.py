"""``imagintalk speak VIDEO -o OUT.wav``: speech for a silent talking-face video."""

from __future__ import annotations

import argparse
from pathlib import Path

# diffusion.sampling.SAMPLERS, named here so that --help need not import torch (a test checks)
SAMPLER_NAMES = ("euler", "analytic", "confidence")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "speak",
        help="generate speech for a silent talking-face video",
        description="Turn a silent talking-face video into speech of the same duration (16 kHz wav); "
        "--mux also writes the video with that speech as its sound track.",
    )
    parser.add_argument("video", nargs="+", help="input video(s) (any size, frame rate and length)")
    parser.add_argument(
        "-o",
        "--out",
        required=True,
        help="output wav, or a folder for <name>.wav (a folder with several videos)",
    )
    parser.add_argument("--model", help="model directory (default: the shipped models/imagintalk)")
    parser.add_argument("--steps", type=int, default=64, help="sampler steps (default: 64)")
    parser.add_argument(
        "--sampler", choices=SAMPLER_NAMES,
        help="reverse sampler: euler (the method's), analytic (Tweedie) or confidence (surest first); "
        "default: the model's",
    )  # fmt: skip
    parser.add_argument(
        "--temperature", type=float, help="sampling temperature, < 1 = surer draws (default: the model's)"
    )
    parser.add_argument(
        "--guidance", type=float, help="classifier-free guidance weight, 0 = off (default: the model's)"
    )
    parser.add_argument("--tau", type=float, help="error-detector threshold (default: the model's, 0.9)")
    parser.add_argument("--seed", type=int, default=0, help="random seed: same seed, same speech")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    parser.add_argument("--mux", metavar="OUT.mp4", help="also write the video with the speech (H.264 + AAC)")
    parser.add_argument("--no-refine", action="store_true", help="ablation: no MLM refinement of the units")
    parser.add_argument(
        "--no-fine", action="store_true",
        help="ablation: decode only the codec levels the DiT generates (no fine-level completer)",
    )  # fmt: skip
    parser.add_argument("--hide-lips", action="store_true", help="ablation: the model sees no mouth")
    parser.add_argument("--dit-weights", metavar="PATH", help="another dit.safetensors (e.g. single adaLN)")
    parser.add_argument(
        "--voice-ref", metavar="WAV", help="speak in this recording's voice instead of the face's"
    )
    parser.add_argument(
        "--expressiveness",
        type=float,
        default=1.0,
        help="how much expression shapes prosody (0-3)",
    )
    parser.add_argument("--max-window", type=float, default=10.0, help="longest utterance window, s")
    parser.add_argument(
        "--json",
        metavar="OUT.json",
        help="write the run's summary as JSON (several videos: always, <name>.json beside each wav)",
    )
    parser.add_argument("--skip-existing", action="store_true", help="several videos: keep wavs already made")
    parser.add_argument("--progress", action="store_true", help="show the sampler's progress bar")
    parser.set_defaults(func=run)


def format_summary(summary: dict) -> str:
    """A few lines for the terminal: duration, windows, flagged units, timings."""
    spoken = sum(w["status"] == "spoken" for w in summary["windows"])
    timings = ", ".join(f"{k} {v:.2f}" for k, v in summary["timings_s"].items())
    lines = [
        f"{summary['duration_s']:.2f} s of speech ({summary['frames']} frames at 25 fps), "
        f"{spoken}/{len(summary['windows'])} windows spoken, {summary['flagged_pct']:.1f}% units flagged, "
        f"{summary['network_calls']} network calls",
        f"timings (s): {timings}",
    ]
    lines += [f"warning: {w}" for w in summary["warnings"]]
    return "\n".join(lines)


def _write_json(path: Path, summary: dict) -> None:
    import json

    from ..errors import ImaginTalkError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=2))
    except OSError as exc:
        raise ImaginTalkError(f"cannot write {path}: {exc}") from None
    print(f"wrote {path}")


def run(args: argparse.Namespace) -> int:
    from ..errors import ImaginTalkError, InputError
    from ..pipeline import Pipeline

    several = len(args.video) > 1
    if several and args.mux:
        raise InputError("--mux takes one video")
    out = Path(args.out)
    if several and out.suffix.lower() == ".wav":
        raise InputError(f"with {len(args.video)} videos, -o names a folder, not {out}")
    if not several and out.is_dir():
        out = out / f"{Path(args.video[0]).stem}.wav"  # an existing folder takes <name>.wav
    elif not several and out.suffix.lower() != ".wav":
        # checked before the model loads: soundfile would only fail after the speech is made
        raise InputError(f"-o names a .wav file or an existing folder, not {out}")
    # the model loads once for every video
    pipeline = Pipeline.from_dir(
        args.model, device=args.device, steps=args.steps, sampler=args.sampler, tau=args.tau, seed=args.seed,
        dit_weights=args.dit_weights, refine=not args.no_refine, hide_lips=args.hide_lips,
        fine_levels=not args.no_fine,
        max_window_s=args.max_window, progress=args.progress, voice_reference=args.voice_ref,
        expressiveness=args.expressiveness, temperature=args.temperature, guidance=args.guidance,
    )  # fmt: skip
    if pipeline.reference_voice is not None:
        reached = pipeline.reference_voice.cosine
        print(f"voice: {args.voice_ref} (speaker-embedding cosine reached {reached:.3f})")
    failures = 0
    for video in args.video:
        wav_out = out / f"{Path(video).stem}.wav" if several else out
        if several and args.skip_existing and wav_out.is_file():
            continue
        if several:
            print(f"{video}:")
        try:
            result = pipeline.speak_file(video)
        except ImaginTalkError as exc:
            if not several:
                raise
            failures += 1  # one bad video must not lose the others
            print(f"error: {video}: {exc}")
            continue
        wav_path = result.save_wav(wav_out)
        print(format_summary(result.summary()))
        print(f"wrote {wav_path}")
        if args.mux:
            from ..pipeline.mux import mux_speech

            print(f"wrote {mux_speech(video, result.wav, result.sample_rate, args.mux)}")
        if several or args.json:
            _write_json(wav_out.with_suffix(".json") if several else Path(args.json), result.summary())
    if failures:
        print(f"error: {failures} of {len(args.video)} videos failed")
        return 1
    return 0
