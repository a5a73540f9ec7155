"""Measure the visual VAD against SynthTalk's word times (the numbers in docs/streaming.md).

    python -m imagintalk.stream.calibrate DATA_DIR [--fps 30 --size 640x480] [--pause 1.0]
        [--set vad.start_motion=0.05 ...] [--costs]

Every clip of DATA_DIR (an ``imagintalk synth`` output) becomes part of ONE continuous stream:
the clip, then its last frame held still for ``--pause`` seconds (a speaker between sentences),
optionally re-timed to another frame rate and letterboxed into a camera-sized frame. Each
sentence should give one utterance whose span covers the manifest's first-word start to
last-word end. Printed: per clip the utterances found, then the totals as JSON. ``--costs``
instead times push() and the building of a 2 s and a 10 s utterance on 12 s of the first clip.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import fields
from pathlib import Path

import cv2
import numpy as np

from ..settings import load_config
from ..video.io import iter_frames
from .lipstream import LipStream
from .vad import VadConfig


def camera_frame(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """``frame`` scaled to fit (width, height) and letterboxed, as a camera would send it."""
    if size is None:
        return frame
    width, height = size
    scale = min(width / frame.shape[1], height / frame.shape[0])
    w, h = int(frame.shape[1] * scale), int(frame.shape[0] * scale)
    canvas = np.full((height, width, 3), 40, np.uint8)
    top, left = (height - h) // 2, (width - w) // 2
    canvas[top : top + h, left : left + w] = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
    return canvas


def clip_stream(frames: list[np.ndarray], start_s: float, fps: float, pause_s: float):
    """(frame, time) of one 25 fps clip re-timed to ``fps``, then its last frame held ``pause_s``."""
    count = int(round((len(frames) / 25.0 + pause_s) * fps))
    for i in range(count):
        t = i / fps
        yield frames[min(int(np.floor(t * 25.0 + 1e-9)), len(frames) - 1)], start_s + t


def overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def measure(data_dir: Path, vad: VadConfig, fps: float, size: tuple[int, int] | None, pause_s: float) -> dict:
    items = [json.loads(line) for line in (data_dir / "manifest.jsonl").read_text().splitlines() if line]
    stream = LipStream(load_config("synth"), vad)
    found: list[tuple[float, float]] = []
    speech: list[tuple[float, float]] = []
    clock = 0.0
    for item in items:
        frames = [f for f, _ in iter_frames(data_dir / item["video"], color="bgr")]
        words = item["words"]
        speech.append((clock + words[0]["start"], clock + words[-1]["end"]))
        for frame, t in clip_stream(frames, clock, fps, pause_s):
            update = stream.push(camera_frame(frame, size), t)
            if update.utterance:
                found.append((update.utterance.start_s, update.utterance.end_s))
        clock += len(frames) / 25.0 + pause_s + 1.0 / fps
    last = stream.flush()
    if last:
        found.append((last.start_s, last.end_s))
    rows = []
    for k, span in enumerate(speech):
        mine = [u for u in found if overlap(u, span) > 0]
        covered = sum(overlap(u, span) for u in mine) / (span[1] - span[0])
        union = (min([span[0]] + [u[0] for u in mine]), max([span[1]] + [u[1] for u in mine]))
        row = {"clip": items[k]["id"], "utterances": len(mine), "covered": round(covered, 3)}
        if mine:
            row["start_err_s"] = round(mine[0][0] - span[0], 3)
            row["end_err_s"] = round(mine[-1][1] - span[1], 3)
            row["iou"] = round(sum(overlap(u, span) for u in mine) / (union[1] - union[0]), 3)
        rows.append(row)
        print(json.dumps(row))
    spoken = [r for r in rows if r["utterances"]]
    spans_hit = [sum(overlap(u, s) > 0 for s in speech) for u in found]
    return {
        "clips": len(rows),
        "one_utterance_pct": round(100.0 * sum(r["utterances"] == 1 for r in rows) / len(rows), 1),
        "fully_covered_pct": round(100.0 * sum(r["covered"] >= 0.999 for r in rows) / len(rows), 1),
        "mean_covered": round(float(np.mean([r["covered"] for r in rows])), 3),
        "mean_iou": round(float(np.mean([r.get("iou", 0.0) for r in rows])), 3),
        "start_err_s_median": round(float(np.median([r["start_err_s"] for r in spoken])), 3)
        if spoken
        else None,
        "end_err_s_median": round(float(np.median([r["end_err_s"] for r in spoken])), 3) if spoken else None,
        "end_err_s_min": round(float(min(r["end_err_s"] for r in spoken)), 3) if spoken else None,
        "utterances": len(found),
        "merged_utterances": sum(n > 1 for n in spans_hit),  # spanning two sentences: a pause was missed
        "stray_utterances": sum(n == 0 for n in spans_hit),  # no speech in it: a false start
        "counters": {k: v for k, v in stream.counters.items() if v},
    }


def measure_costs(data_dir: Path, fps: float, size: tuple[int, int] | None) -> list[dict]:
    """push() time per frame and utterance build time, on the first clip looped for 12 s."""
    item = json.loads((data_dir / "manifest.jsonl").read_text().splitlines()[0])
    frames = [camera_frame(f, size) for f, _ in iter_frames(data_dir / item["video"], color="bgr")]
    stream = LipStream(load_config("synth"))
    pushes = []
    for i in range(int(12 * fps)):
        frame = frames[int(np.floor(i / fps * 25.0 + 1e-9)) % len(frames)]
        started = time.perf_counter()
        stream.push(frame, i / fps)
        pushes.append(time.perf_counter() - started)
    rows = []
    for seconds in (2.0, 10.0):
        started = time.perf_counter()
        utterance = stream.speak_last(seconds)
        rows.append({
            "frame": list(frames[0].shape[1::-1]), "fps": fps,
            "push_ms_median": round(1000 * float(np.median(pushes)), 1),
            "push_ms_p95": round(1000 * float(np.percentile(pushes, 95)), 1),
            "utterance_s": seconds, "build_ms": round(1000 * (time.perf_counter() - started), 1),
            "frames_25fps": utterance.track.num_frames if utterance else 0,
        })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--size", default=None, help="camera frame WIDTHxHEIGHT, e.g. 640x480")
    parser.add_argument("--pause", type=float, default=1.0, help="still seconds after each sentence")
    parser.add_argument("--set", action="append", default=[], help="vad.FIELD=VALUE")
    parser.add_argument("--costs", action="store_true", help="time push() and utterance building instead")
    args = parser.parse_args(argv)
    vad = VadConfig()
    names = {f.name for f in fields(VadConfig)}
    for item in args.set:
        key, _, value = item.partition("=")
        key = key.removeprefix("vad.")
        if key not in names:
            parser.error(f"unknown VAD setting {key!r}; one of {', '.join(sorted(names))}")
        setattr(vad, key, float(value))
    size = tuple(int(v) for v in args.size.lower().split("x")) if args.size else None
    if args.costs:
        for row in measure_costs(args.data_dir, args.fps, size):
            print(json.dumps(row))
        return
    print(json.dumps(measure(args.data_dir, vad, args.fps, size, args.pause)))


if __name__ == "__main__":
    main()
