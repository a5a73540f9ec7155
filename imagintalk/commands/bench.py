"""``imagintalk bench``: speed and memory of speaking on this machine (see imagintalk/eval/bench.py)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ..errors import InputError
from ..settings import DEFAULT_MODEL_DIR
from ..settings.speak import check_backend
from .speak import output_problem, write_json


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure speed, latency and memory of speaking on this machine",
        description="Per backend and step count: real-time factor and time per stage of a 3 s utterance, "
        "end-of-utterance latency of the live path, peak memory (3, 10, 30 s utterances) and the DiT's "
        "GFLOP/s against the measured matmul peak. Prints a Markdown table; --json writes all figures.",
    )
    parser.add_argument("--model", help="model directory (default: the shipped models/imagintalk)")
    parser.add_argument(
        "--steps", default="16,64", help="sampler step counts, comma-separated (default: 16,64)"
    )
    parser.add_argument("--backend", default="torch", help="backends, comma-separated (default: torch)")
    parser.add_argument(
        "--sampler", help="euler, analytic or confidence (default: the model's own; the node's: confidence)"
    )
    parser.add_argument(
        "--onnx-dir", metavar="DIR", help="the export the onnx backend runs (default: MODEL_DIR/onnx)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="warm runs per figure; the median is kept")
    parser.add_argument("--quick", action="store_true", help="the 3 s utterance only, one repeat (for tests)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's, one per core)")
    parser.add_argument("--json", metavar="OUT.json", help="write the machine and every figure as JSON")
    parser.set_defaults(func=run)


def parse_list(text: str, what: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise InputError(f"--{what} takes a comma-separated list, got {text!r}")
    return list(dict.fromkeys(items))  # in order, each once


def parse_steps(text: str) -> list[int]:
    items = parse_list(text, "steps")
    if not all(item.isdigit() and int(item) >= 1 for item in items):
        raise InputError(f"--steps takes whole numbers >= 1, comma-separated, got {text!r}")
    return [int(item) for item in items]


def run(args: argparse.Namespace) -> int:
    steps = parse_steps(args.steps)
    backends = parse_list(args.backend, "backend")
    if args.repeats < 1:
        raise InputError(f"--repeats must be at least 1, got {args.repeats}")
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads must be at least 1, got {args.threads}")
    out = Path(args.json) if args.json else None
    if out is not None and (problem := output_problem("--json", out)):
        raise InputError(problem)

    import torch  # heavy: only once the arguments passed their checks

    from ..diffusion.sampling import get_sampler

    if args.sampler is not None:
        get_sampler(args.sampler)  # an unknown name: InputError naming the registered ones

    from ..eval.bench import BenchPlan, format_table, run_bench
    from ..eval.bench_inputs import render_utterances
    from ..models.bundle import load_config_of

    model = Path(args.model) if args.model else DEFAULT_MODEL_DIR
    onnx_dir = Path(args.onnx_dir) if args.onnx_dir else model / "onnx"
    for backend in backends:  # refused before any clip is rendered or model loaded
        if check_backend(backend) == "onnx" and not (onnx_dir / "manifest.json").is_file():
            raise InputError(
                f"no ONNX export at {onnx_dir}: "
                f"run imagintalk export --format onnx --model {model} --out {onnx_dir}"
            )
    if not (model / "config.json").is_file():
        raise InputError(f"no model at {model} (config.json missing)")
    if args.threads:
        torch.set_num_threads(args.threads)
    plan = BenchPlan(
        model, backends, steps, 1 if args.quick else args.repeats, onnx_dir=onnx_dir, sampler=args.sampler
    )
    if args.quick:
        plan.memory_s, plan.matmul_size = [3.0], 1024
    with tempfile.TemporaryDirectory(prefix="imagintalk-bench-") as work:
        print("rendering the benchmark utterances ...")
        videos = render_utterances(Path(work), sorted({3.0, *plan.memory_s}), load_config_of(model).synth)
        report = run_bench(plan, videos)
    print(format_table(report))
    if out is not None:
        write_json(out, report)
    return 0
