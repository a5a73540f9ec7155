"""Copy clips with the face lost for a stretch: SPAN seconds of black frames inside the speech.

    .venv/bin/python scripts/occlude_videos.py data/default/test OUT_DIR [--span 0.4] [--limit 40]

A diagnostic for the error detector + MLM refinement: where the camera loses the face, the
front door fills the track and the mouth crops go dark, the aligner's vectors fall far from
every codeword, and the MLM fills those unit steps from their context. Speak OUT_DIR/video/ with
and without ``--no-refine`` and score both with ``imagintalk eval DATA --system ...``; the spans
are in OUT_DIR/spans.json (seconds). The span starts at a seeded random point between the first
and the last phoneme that is not silence, so it always hides speech.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SILENCE = {"_", "sil", "sp", ""}


def speech_bounds(phonemes: list[dict]) -> tuple[float, float]:
    """(start of the first spoken phoneme, end of the last) in seconds."""
    spoken = [p for p in phonemes if p["phoneme"] not in SILENCE]
    if not spoken:
        raise ValueError("the clip has no spoken phoneme")
    return float(spoken[0]["start"]), float(spoken[-1]["end"])


def choose_span(row: dict, span_s: float, rng: np.random.Generator) -> tuple[float, float]:
    """A span of span_s seconds inside the clip's speech (the whole speech if it is shorter)."""
    start, end = speech_bounds(row["phonemes"])
    latest = max(start, end - span_s)
    begin = float(rng.uniform(start, latest)) if latest > start else start
    return begin, min(begin + span_s, float(row["duration"]))


def main() -> int:
    from imagintalk.video.io import iter_frames, write_video

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="a SynthTalk split (manifest.jsonl with phonemes, video/)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--span", type=float, default=0.4, help="seconds of lost face per clip (default 0.4)")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.span <= 0:
        parser.error("--span must be > 0")
    lines = (args.data / "manifest.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    rng = np.random.default_rng(args.seed)
    spans = {}
    for row in rows[: args.limit]:
        begin, end = choose_span(row, args.span, rng)
        frames = [
            np.zeros_like(frame) if begin <= t < end else frame
            for frame, t in iter_frames(args.data / row["video"], color="rgb")
        ]
        write_video(args.out / "video" / f"{row['id']}.mp4", frames, fps=float(row["fps"]), color="rgb")
        spans[row["id"]] = [round(begin, 3), round(end, 3)]
        print(f"{row['id']}: black frames {begin:.2f}-{end:.2f} s", flush=True)
    (args.out / "spans.json").write_text(json.dumps(spans, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
