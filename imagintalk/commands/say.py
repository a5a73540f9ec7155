"""``imagintalk say "text" (--face V | --profile DIR | --voice-ref WAV) -o OUT.wav``: typed speech."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from .speak import input_problem, load_pipeline, output_problem, speak_options


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "say",
        help="speak typed text in the voice a face, a profile or a recording gives",
        description="Typed text -> units (espeak-ng phonemes with durations) -> the same Style-DiT and "
        "codec as lip-driven speech, in the voice of --face (a video or still image), --profile "
        "(made by imagintalk enroll) or --voice-ref (a recording).",
    )
    parser.add_argument("text", help="what to say (quote it)")
    parser.add_argument("-o", "--out", required=True, help="output wav")
    voice = parser.add_argument_group("whose voice (at least one)")
    voice.add_argument("--face", metavar="VIDEO_OR_IMAGE", help="a face video or photo: its voice")
    voice.add_argument(
        "--profile", metavar="DIR", help="a profile from imagintalk enroll: its face and voice"
    )
    voice.add_argument("--voice-ref", metavar="WAV", help="a recording: speak in its voice")
    parser.add_argument("--model", help="model directory (default: the shipped models/imagintalk)")
    parser.add_argument("--steps", type=int, default=64, help="sampler steps (default: 64)")
    parser.add_argument("--sampler", metavar="NAME", help="a registered sampler (default: the model's)")
    parser.add_argument("--temperature", type=float, help="sampling temperature (default: the model's)")
    parser.add_argument(
        "--guidance", type=float, help="classifier-free guidance weight (default: the model's)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed: same seed, same speech")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    parser.set_defaults(
        func=run, tau=None, no_refine=False, hide_lips=False, no_fine=False, expressiveness=1.0,
        max_window=10.0, progress=False, backend="torch", dit_weights=None,
    )  # fmt: skip


def check_args(args: argparse.Namespace) -> Path:
    """Every path checked before the model loads -> the output path."""
    if not (args.face or args.profile or args.voice_ref):
        raise InputError("say needs a voice: --face VIDEO_OR_IMAGE, --profile DIR or --voice-ref WAV")
    if not " ".join(args.text.split()):
        raise InputError("there is no text to speak")
    out = Path(args.out)
    if problem := output_problem("-o", out):
        raise InputError(problem)
    if args.face and (problem := input_problem(Path(args.face), "face")):
        raise InputError(problem)
    if args.voice_ref and (problem := input_problem(Path(args.voice_ref), "voice reference")):
        raise InputError(problem)
    if args.profile and not (Path(args.profile) / "profile.json").is_file():
        raise InputError(f"no profile at {args.profile}: make one with imagintalk enroll")
    inputs = [Path(p).resolve() for p in (args.face, args.voice_ref) if p]
    if out.resolve() in inputs:
        raise InputError(f"-o {out} is one of the inputs; it would be overwritten")
    return out


def run(args: argparse.Namespace) -> int:
    out = check_args(args)
    options = speak_options(args)
    pipeline = load_pipeline(args, options)  # with --profile set, and --voice-ref over the profile's
    face = pipeline.describe_face(args.face) if args.face else None
    result = pipeline.say(args.text, face)
    print(f"{result.duration:.2f} s of speech, {len(result.windows)} window(s)")
    print(f"wrote {result.save_wav(out)}")
    return 0
