"""``imagintalk speak VIDEO -o OUT.wav``: speech for a silent talking-face video."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ImaginTalkError, InputError, os_error_text
from ..settings import DEFAULT_MODEL_DIR
from ..settings.speak import BACKENDS, SpeakOptions

# imagintalk.pipeline imports torch: its modules are imported inside the functions that use them, so
# that --help and the path checks (before any model loads) stay fast
if TYPE_CHECKING:
    from ..pipeline import Pipeline


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
        "--sampler", metavar="NAME",
        help="a reverse sampler registered in imagintalk.diffusion.sampling: euler (the method's), analytic "
        "(Tweedie), confidence (surest first), ...; an unknown name lists them; default: the model's",
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
    parser.add_argument(
        "--backend", choices=BACKENDS, default="torch",
        help="torch (eager) or onnx: the graphs of `imagintalk export` under onnxruntime, providers "
        "TensorRT > CUDA > CPU as installed (default: torch)",
    )  # fmt: skip
    parser.add_argument(
        "--onnx-dir",
        metavar="DIR",
        help="the ONNX export to run with --backend onnx (default: MODEL_DIR/onnx)",
    )
    parser.add_argument(
        "--mux", metavar="OUT.mp4", help="also write the video with the speech (H.264 + AAC; .mp4/.mov/.mkv)"
    )
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
        "--profile", metavar="DIR", help="a user's profile from imagintalk enroll (their adapted lip reader)"
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


def write_json(path: Path, summary: dict) -> None:
    """Write the summary atomically: a failed or interrupted write leaves no partial file."""
    from ..pipeline.result import replacing

    try:
        with replacing(path) as tmp:
            tmp.write_text(json.dumps(summary, indent=2))
    except OSError as exc:
        raise ImaginTalkError(os_error_text(exc, path)) from None
    print(f"wrote {path}")


@dataclass
class Job:
    """One video to speak and where its outputs go (json / mux: None when not asked for)."""

    video: Path
    wav: Path
    json: Path | None = None
    mux: Path | None = None

    def outputs(self) -> list[tuple[str, Path]]:
        """(what, path) of every file this job writes."""
        named = [("-o", self.wav), ("--json", self.json), ("--mux", self.mux)]
        return [(what, path) for what, path in named if path is not None]


def plan_jobs(args: argparse.Namespace) -> list[Job]:
    """The videos and their output paths; InputError for options that do not fit together."""
    videos = [Path(v) for v in args.video]
    out = Path(args.out)
    if len(videos) == 1:
        wav = out / f"{videos[0].stem}.wav" if out.is_dir() else out  # an existing folder takes <name>.wav
        if wav.suffix.lower() != ".wav":
            # checked before the model loads: soundfile would only fail after the speech is made
            raise InputError(f"-o names a .wav file or an existing folder, not {out}")
        json_out, mux_out = (Path(p) if p else None for p in (args.json, args.mux))
        return [Job(videos[0], wav, json_out, mux_out)]
    if args.mux:
        raise InputError("--mux takes one video")
    if out.suffix.lower() == ".wav" or (out.exists() and not out.is_dir()):
        raise InputError(f"with {len(videos)} videos, -o names a folder, not {out}")
    # several videos: <name>.wav and <name>.json in the folder (--json is ignored, as documented)
    return [Job(v, out / f"{v.stem}.wav", out / f"{v.stem}.json") for v in videos]


def _identity(path: Path) -> tuple:
    """What tells two paths apart: the file itself when it exists (symlinks, hard links), else the
    absolute path with symlinks of its folders resolved."""
    try:
        st = path.stat()
        return ("file", st.st_dev, st.st_ino)
    except OSError:
        return ("path", os.path.realpath(path))


def check_distinct(jobs: list[Job], other_inputs: list[Path]) -> None:
    """InputError when two outputs are one file (``x/a.mp4 y/a.mp4`` -> a.wav twice, --json = -o)
    or an output is one of the inputs (--mux = the video): one would overwrite the other."""
    inputs = {_identity(job.video): str(job.video) for job in jobs}
    inputs.update({_identity(path): str(path) for path in other_inputs})
    written: dict[tuple, str] = {}
    for job in jobs:
        for what, path in job.outputs():
            key = _identity(path)
            if key in inputs:
                raise InputError(f"{what} {path} is the input {inputs[key]}; it would be overwritten")
            if key in written:
                raise InputError(
                    f"{written[key]} and {job.video} would both write {path}: "
                    "speak videos with the same name in separate calls or into separate folders"
                    if what == "-o" and len(jobs) > 1
                    else f"{what} {path} is also the target of {written[key]}; give each output its own name"
                )
            written[key] = str(job.video) if len(jobs) > 1 else f"{what} {path}"


def input_problem(path: Path, what: str = "video") -> str | None:
    """Why ``path`` cannot be read (not found, a directory, permission denied, empty), or None."""
    if not path.exists():
        return f"{what} not found: {path}"
    if path.is_dir():
        return f"{what} {path} is a directory, not a file"
    try:
        with open(path, "rb") as handle:
            if not handle.read(1):
                return f"{what} file is empty: {path}"
    except PermissionError:
        return f"permission denied: {path}"
    except OSError as exc:
        return f"cannot read {what} {path}: {os_error_text(exc)}"
    return video_problem(path) if what == "video" else None


def video_problem(path: Path) -> str | None:
    """Why neither PyAV nor OpenCV (video.io's two readers) can open ``path`` as a video, or None.

    Opening costs milliseconds, so a file that is no video is found before the model loads.
    """
    import av

    try:
        with av.open(str(path)) as container:
            return None if container.streams.video else f"{path} has no video stream"
    except Exception:  # PyAV raises many error types (av.error.*) for damaged input
        pass
    import cv2

    capture = cv2.VideoCapture(str(path))  # the fallback reader (cli.main keeps its ffmpeg quiet)
    try:
        opened = capture.isOpened()
    finally:
        capture.release()
    return None if opened else f"cannot read video {path}: neither PyAV nor OpenCV can open it"


def output_problem(what: str, path: Path) -> str | None:
    """Why ``path`` cannot be written (wrong suffix, a directory, a parent that is a file, a folder
    that refuses files), or None; looks only, creates nothing."""
    suffixes = {"-o": (".wav",), "--json": (".json",)}
    if what == "--mux":
        from ..pipeline.mux import MUX_FORMATS

        suffixes["--mux"] = tuple(MUX_FORMATS)
    if path.suffix.lower() not in suffixes[what]:
        *most, last = suffixes[what]
        names = f"{', '.join(most)} or {last}" if most else last
        return f"{what} names a {names} file, not {path}"
    if path.is_dir():
        return f"{what} {path} is a directory, not a file"
    if path.exists() and not path.is_file():
        return f"{what} {path} is not a regular file"
    if path.exists() and not os.access(path, os.W_OK):
        return f"permission denied: {path}"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:  # the nearest folder that exists
        folder = folder.parent
    if not folder.is_dir():
        return f"cannot write {path}: {folder} is a file, not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"permission denied: {path} (cannot create files in {folder})"
    return None


def job_problem(job: Job) -> str | None:
    """The first reason this job cannot run (its video unreadable, an output unwritable), or None."""
    problem = input_problem(job.video)
    for what, path in job.outputs():
        problem = problem or output_problem(what, path)
    return problem


def already_spoken(wav: Path) -> bool:
    """--skip-existing: a wav counts as done only when soundfile reads it and it has frames
    (an empty or truncated file from a crash is spoken again)."""
    import soundfile as sf

    try:
        return wav.is_file() and sf.info(str(wav)).frames > 0
    except (RuntimeError, OSError):
        return False


def speak_job(pipeline: Pipeline, job: Job) -> None:
    """Speak one video and write its wav, then its mux and JSON (each file atomically)."""
    result = pipeline.speak_file(job.video)
    wav_path = result.save_wav(job.wav)
    print(format_summary(result.summary()))
    print(f"wrote {wav_path}")
    if job.mux is not None:
        from ..pipeline.mux import mux_speech

        print(f"wrote {mux_speech(job.video, result.wav, result.sample_rate, job.mux)}")
    if job.json is not None:
        write_json(job.json, result.summary())


def select_jobs(jobs: list[Job], skip_existing: bool) -> tuple[list[Job], int]:
    """The jobs to run and how many failed their checks (one video: InputError at once instead).

    Runs before the model loads, so a bad path costs no model load; with several videos each
    bad one is reported on stderr and the others still run.
    """
    several = len(jobs) > 1
    todo, failures = [], 0
    for job in jobs:
        problem = job_problem(job)
        if problem is not None and not several:
            raise InputError(problem)
        if problem is not None:
            failures += 1
            print(f"error: {job.video}: {problem}", file=sys.stderr)
        elif several and skip_existing and already_spoken(job.wav):
            print(f"{job.video}: kept {job.wav} (--skip-existing)")
        else:
            todo.append(job)
    return todo, failures


def speak_options(args: argparse.Namespace) -> SpeakOptions:
    """The command line's sampling options, validated before anything loads."""
    if args.sampler is not None:
        # the registry's own names: it imports torch, so only when a sampler is asked for by name
        from ..diffusion.sampling import get_sampler

        get_sampler(args.sampler)
    return SpeakOptions(
        steps=args.steps, sampler=args.sampler, temperature=args.temperature, guidance=args.guidance,
        tau=args.tau, seed=args.seed, refine=not args.no_refine, hide_lips=args.hide_lips,
        fine_levels=not args.no_fine, expressiveness=args.expressiveness, max_window_s=args.max_window,
        progress=args.progress,
    ).validate()  # fmt: skip


def onnx_dir_of(args: argparse.Namespace) -> Path | None:
    """--backend onnx: the export to run (checked before any model loads); torch: None."""
    if args.backend != "onnx":
        if args.onnx_dir:
            raise InputError("--onnx-dir is read only with --backend onnx")
        return None
    if args.dit_weights:
        raise InputError("--dit-weights swaps a torch DiT; with --backend onnx export that model instead")
    model = Path(args.model) if args.model else DEFAULT_MODEL_DIR
    onnx_dir = Path(args.onnx_dir) if args.onnx_dir else model / "onnx"
    if not (onnx_dir / "manifest.json").is_file():
        raise InputError(
            f"no ONNX export at {onnx_dir}: "
            f"run imagintalk export --format onnx --model {model} --out {onnx_dir}"
        )
    return onnx_dir


def load_pipeline(args: argparse.Namespace, options: SpeakOptions, onnx_dir: Path | None = None) -> Pipeline:
    """The model, loaded once for every video (its networks under onnxruntime with ``onnx_dir``)."""
    from ..pipeline import Pipeline  # torch: imported only once the paths passed their checks

    bundle = None
    if onnx_dir is not None:
        from ..export import onnx_bundle

        bundle, provider = onnx_bundle(args.model or DEFAULT_MODEL_DIR, onnx_dir)
        print(f"backend: onnxruntime, {provider} ({onnx_dir})")
    pipeline = Pipeline.from_dir(
        args.model, options, device=args.device, dit_weights=args.dit_weights, voice_reference=args.voice_ref,
        bundle=bundle,
    )  # fmt: skip
    if getattr(args, "profile", None):
        profile = pipeline.set_profile(args.profile)
        print(f"profile: {profile.name} ({args.profile})")
        if args.voice_ref:  # the recording asked for wins over the profile's
            pipeline.set_voice_reference(args.voice_ref)
    if pipeline.reference_voice is not None:
        reached = pipeline.reference_voice.cosine
        print(f"voice: {args.voice_ref} (speaker-embedding cosine reached {reached:.3f})")
    return pipeline


def run(args: argparse.Namespace) -> int:
    options = speak_options(args)
    jobs = plan_jobs(args)
    several = len(jobs) > 1
    # an output that would overwrite an input or another output: refused before any work
    check_distinct(jobs, [Path(p) for p in (args.voice_ref, args.dit_weights) if p])
    if args.voice_ref and (problem := input_problem(Path(args.voice_ref), "voice reference")):
        raise InputError(problem)
    if args.profile and not (Path(args.profile) / "profile.json").is_file():
        raise InputError(f"no profile at {args.profile}: make one with imagintalk enroll")
    if args.profile and args.backend == "onnx":
        raise InputError("--profile adapts the torch lip aligner: use --backend torch")
    onnx_dir = onnx_dir_of(args)
    todo, failures = select_jobs(jobs, args.skip_existing)
    pipeline = load_pipeline(args, options, onnx_dir) if todo else None
    for job in todo:
        if several:
            print(f"{job.video}:")
        try:
            speak_job(pipeline, job)
        except ImaginTalkError as exc:
            if not several:
                raise
            failures += 1  # one bad video or one failed write must not lose the others
            print(f"error: {job.video}: {exc}", file=sys.stderr)
    if failures:
        print(f"error: {failures} of {len(jobs)} videos failed", file=sys.stderr)
        return 1
    return 0
