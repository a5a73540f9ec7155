"""``imagintalk bench``: speed and memory of the speech pipeline on the machine it runs on.

For each (backend, steps): the real-time factor of an offline speak of a 3 s utterance and its time
per stage, the end-of-utterance latency of the live path (LipStream + SpeechWorker, as the ROS
node and the app use it), the peak resident memory of a fresh process speaking it, and the DiT's
achieved GFLOP/s against the machine's measured matrix-multiply peak.

Latency uses a simulated clock: the frames are pushed as fast as the front door takes them, with
the timestamps of a 25 fps camera, and the latency runs from the push of the last frame to the
speech being ready (the last frame's front door, closing the utterance, the queue, the model and
the codec: all the work the live path does after the cut). The visual VAD's hangover (how long a
closed mouth waits before the utterance ends) is a setting, not work, and is not included.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..errors import ImaginTalkError
from ..export import onnx_bundle
from ..pipeline import Pipeline
from ..pipeline.result import STAGES
from ..settings.speak import SpeakOptions, check_backend
from ..stream import LipStream, SpeechJob, SpeechWorker, VadConfig
from ..synth.media import read_video

ONE_UTTERANCE = VadConfig(hangover_s=1.0)  # the benchmark clip's sentence pauses stay inside one utterance


@dataclass
class BenchPlan:
    """What to measure. ``memory_s``: utterance lengths whose peak memory is measured per backend."""

    model: Path
    backends: list[str]
    steps: list[int]
    repeats: int = 3
    memory_s: list[float] = field(default_factory=lambda: [3.0, 10.0, 30.0])
    matmul_size: int = 2048
    onnx_dir: Path | None = None  # the onnx backend's export; None: MODEL/onnx
    sampler: str | None = None  # a registered sampler; None: the model's own


def load_pipeline(
    model: Path, backend: str, steps: int, onnx_dir: Path | None = None, sampler: str | None = None
) -> Pipeline:
    """The model under ``backend`` (settings.speak.BACKENDS; onnx: the export in ``onnx_dir``,
    default MODEL/onnx), sampling ``steps`` with ``sampler`` (None: the model's)."""
    options = SpeakOptions(steps=steps, sampler=sampler).validate()
    bundle = None
    if check_backend(backend) == "onnx":
        bundle, _ = onnx_bundle(model, onnx_dir or model / "onnx")  # the networks' graphs under onnxruntime
    return Pipeline.from_dir(model, options, bundle=bundle)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def matmul_gflops(dtype: torch.dtype, n: int, runs: int = 5) -> float:
    """GFLOP/s of an n x n matmul (2 n^3 FLOPs), median of ``runs`` after one warm-up."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        torch.mm(a, b)
        seconds.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(seconds) / 1e9


def machine_info(matmul_size: int) -> dict:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_avg_1min": round(os.getloadavg()[0], 2),  # other work on the machine skews every figure
        "matmul_size": matmul_size,
        "peak_gflops_fp32": round(matmul_gflops(torch.float32, matmul_size), 1),
        "peak_gflops_bf16": round(matmul_gflops(torch.bfloat16, matmul_size), 1),
    }


class DitCounter:
    """Counts the DiT's forward calls and keeps the last call's inputs to count its FLOPs later."""

    def __init__(self, dit: torch.nn.Module) -> None:
        self.dit, self.calls, self.last = dit, 0, None
        self._handle = dit.register_forward_pre_hook(self._seen, with_kwargs=True)

    def close(self) -> None:
        self._handle.remove()

    def _seen(self, module, args, kwargs) -> None:
        self.calls += 1
        self.last = (args, kwargs)

    def flops_per_call(self) -> int:
        """FLOPs of one forward at the last call's shape (torch's FlopCounterMode)."""
        self.close()
        args, kwargs = self.last
        # the class's own forward: the torch graph of the same math, also when the instance runs
        # an ONNX export (whose work torch cannot see)
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            type(self.dit).forward(self.dit, *args, **kwargs)
        return counter.get_total_flops()


def speak_offline(pipeline: Pipeline, video: Path) -> tuple[dict[str, float], int]:
    """One offline speak: its timings (s per stage, total) and the DiT's forward calls."""
    counter = DitCounter(pipeline.bundle.dit)
    try:
        result = pipeline.speak_file(video)
    finally:
        counter.close()
    return result.timings, counter.calls


def dit_flops(pipeline: Pipeline, video: Path) -> tuple[int, int]:
    """(FLOPs of one DiT forward at this utterance's token length, forward calls per speak)."""
    counter = DitCounter(pipeline.bundle.dit)
    pipeline.speak_file(video)
    return counter.flops_per_call(), counter.calls


def live_latency(
    pipeline: Pipeline, frames, fps: float, repeats: int
) -> tuple[list[float], list[dict], float]:
    """Seconds from the last frame's push to the speech of the utterance it ends, and that
    utterance's pipeline timings, per repeat; the utterance's length (s).

    Frames go through LipStream at 25 fps timestamps: the front door, the VAD, the running identity
    and, while the utterance is open, the crops and expression of its settled frames, all on this
    thread, as in the node and the app. The benchmark clip joins sentences; the VAD's hangover is
    raised to 1 s so that it stays one utterance (as a person speaking on would), which the last
    frame ends (``flush``: the work an utterance the VAD closes does after its hangover). One worker
    thread serves every pass, its first pass a warm-up: torch's first calls on a new thread are
    slower (~0.4 s here), which a long-lived worker pays once.
    """
    done = threading.Event()
    jobs: list[SpeechJob] = []

    def finished(job: SpeechJob) -> None:
        jobs.append(job)
        done.set()

    worker = SpeechWorker(lambda: pipeline, finished)
    worker.start()
    latencies, timings, duration = [], [], 0.0
    try:
        for _ in range(repeats + 1):
            jobs.clear()
            stream = LipStream(pipeline.cfg, ONE_UTTERANCE, detector=pipeline.detector, color="rgb")
            for i, frame in enumerate(frames[:-1]):
                if stream.push(frame, i / fps).utterance:
                    raise ImaginTalkError("the VAD split the benchmark clip into several utterances")
            done.clear()
            t0 = time.perf_counter()
            whole = stream.push(frames[-1], (len(frames) - 1) / fps).utterance or stream.flush()
            if whole is None:
                raise ImaginTalkError("the live path found no utterance to speak in the benchmark clip")
            worker.submit(whole)
            done.wait()
            latencies.append(time.perf_counter() - t0)
            if jobs[-1].error is not None:
                raise jobs[-1].error
            timings.append(jobs[-1].result.timings)
            duration = whole.duration_s
    finally:
        worker.stop()
    return latencies[1:], timings[1:], duration


def peak_rss_mb(plan: BenchPlan, video: Path, backend: str, steps: int, threads: int) -> dict[str, float]:
    """Peak resident memory (ru_maxrss, MB) of a fresh process that loads the model and speaks ``video``:
    {"peak_rss_mb": overall, "load_peak_rss_mb": before speaking}."""
    command = [
        sys.executable,
        "-m",
        "imagintalk.eval.bench_memory",
        str(plan.model),
        str(video),
        backend,
        str(steps),
        str(plan.onnx_dir or ""),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ImaginTalkError(f"the memory probe failed on {video.name}: {tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_one(plan: BenchPlan, backend: str, steps: int, videos: dict[float, Path], peak: float) -> dict:
    """All figures for one (backend, steps) on the 3 s utterance."""
    pipeline = load_pipeline(plan.model, backend, steps, plan.onnx_dir, plan.sampler)
    video = videos[3.0]
    frames = read_video(video)  # [T, H, W, 3] RGB, decoded once: the live path gets frames, not a file
    fps = float(pipeline.cfg.video.fps)
    flops, calls = dit_flops(pipeline, video)  # also the warm-up run
    runs = [speak_offline(pipeline, video) for _ in range(plan.repeats)]
    latencies, live_timings, live_utterance_s = live_latency(pipeline, frames, fps, plan.repeats)
    duration = len(frames) / fps
    stage_s = {s: statistics.median(t[s] for t, _ in runs) for s in (*STAGES, "total")}
    dit_gflops = flops * calls / stage_s["sampling"] / 1e9
    return {
        "backend": backend,
        "sampler": pipeline.sampler,
        "steps": steps,
        "utterance_s": duration,
        "rtf": stage_s["total"] / duration,
        # best-of figures beside the medians: on a shared machine the minimum is what the code can do
        "rtf_best": min(t["total"] for t, _ in runs) / duration,
        "stage_s": stage_s,
        "latency_s": statistics.median(latencies),
        "latency_s_best": min(latencies),
        # the live utterance's own stages, spoken on the worker thread
        "live_stage_s": {s: statistics.median(t[s] for t in live_timings) for s in (*STAGES, "total")},
        "live_utterance_s": live_utterance_s,
        "dit_forward_calls": calls,
        "dit_gflop_per_call": flops / 1e9,
        "dit_gflops": dit_gflops,
        "dit_gflops_best": flops * calls / min(t["sampling"] for t, _ in runs) / 1e9,
        "peak_gflops": peak,
        "dit_share_of_peak": dit_gflops / peak,
        "repeats": plan.repeats,
    }


def run_bench(plan: BenchPlan, videos: dict[float, Path], log=print) -> dict:
    """The whole benchmark: {"machine": {...}, "results": [...]} (see the module's docstring)."""
    machine = machine_info(plan.matmul_size)
    log(f"machine: {machine['cpu']}, {machine['threads']} threads, matmul peak "
        f"{machine['peak_gflops_fp32']} GFLOP/s fp32, {machine['peak_gflops_bf16']} bf16")  # fmt: skip
    results = []
    for backend in plan.backends:
        rows = []
        for steps in plan.steps:
            log(f"{backend}, {steps} steps ...")
            rows.append(bench_one(plan, backend, steps, videos, machine["peak_gflops_fp32"]))
        # a fresh process per utterance length, at the first step count only: the sampler holds one
        # state whatever the step count, so memory does not depend on it, and each probe costs a
        # torch import and a model load
        first, threads = plan.steps[0], machine["threads"]
        probes = {f"{s:g}": peak_rss_mb(plan, videos[s], backend, first, threads) for s in plan.memory_s}
        memory = {length: probe["peak_rss_mb"] for length, probe in probes.items()}
        for row in rows:
            row.update(peak_rss_mb=memory["3"], peak_rss_mb_by_utterance_s=memory, memory_steps=first)
            row["load_peak_rss_mb"] = probes["3"]["load_peak_rss_mb"]
        results += rows
    return {"machine": machine, "results": results}


def format_table(report: dict) -> str:
    """The report as a Markdown table (medians of the warm runs, seconds, MB, GFLOP/s)."""
    head = ["backend", "sampler", "steps", "RTF (best)", "latency s (best)", *(f"{s} s" for s in STAGES),
            "peak RSS MB", "DiT GFLOP/s", "of peak"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in report["results"]:
        cells = [r["backend"], r["sampler"], str(r["steps"]), f"{r['rtf']:.2f} ({r['rtf_best']:.2f})",
                 f"{r['latency_s']:.2f} ({r['latency_s_best']:.2f})",
                 *(f"{r['stage_s'][s]:.2f}" for s in STAGES), f"{r['peak_rss_mb']:.0f}",
                 f"{r['dit_gflops']:.1f}", f"{100 * r['dit_share_of_peak']:.0f}%"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    firsts: dict[str, dict] = {}
    for r in report["results"]:
        firsts.setdefault(r["backend"], r)  # each backend's first row, in the order measured
    for backend, r in firsts.items():
        figures = ", ".join(f"{s} s: {mb:.0f} MB" for s, mb in r["peak_rss_mb_by_utterance_s"].items())
        lines.append(
            f"\npeak RSS ({backend}, {r['memory_steps']} steps, a fresh process per utterance): {figures}; "
            f"{r['load_peak_rss_mb']:.0f} MB of it reached while loading the model"
        )
    return "\n".join(lines)
