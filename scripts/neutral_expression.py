"""Write MODEL_DIR/neutral_expression.json: the steady expression typed speech takes without a face.

    .venv/bin/python scripts/neutral_expression.py [--model models/imagintalk] [--clips 24]

The model's own training corpus made afresh: ``--clips`` SynthTalk train-split clips, every one
neutral, with the model's own synth settings (speaker pool, renderer), each through the front
door and the expression extractor exactly as speaking does (``Pipeline.describe_track``); the
file holds the mean of their per-frame expression features and how it was made.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from imagintalk.pipeline import Pipeline
from imagintalk.pipeline.weights import NEUTRAL_FILE
from imagintalk.settings import DEFAULT_MODEL_DIR
from imagintalk.synth.corpus import generate_corpus


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    pipe = Pipeline.from_dir(args.model)
    synth = pipe.cfg.synth
    synth.emotions = ["neutral"]
    with tempfile.TemporaryDirectory() as tmp:
        generate_corpus(tmp, args.clips, seed=args.seed, split="train", cfg=synth, workers=2)
        rows = [json.loads(line) for line in (Path(tmp) / "manifest.jsonl").read_text().splitlines()]
        sums, frames = 0.0, 0
        for row in rows:
            track, identity = pipe.track_file(Path(tmp) / row["video"])
            face = pipe.describe_track(track, identity)
            sums = sums + face.expression * track.num_frames
            frames += track.num_frames
    vector = (sums / frames).astype(np.float32)
    out = args.model / NEUTRAL_FILE
    record = {
        "expression": [round(float(v), 6) for v in vector],
        "made_by": "scripts/neutral_expression.py",
        "clips": len(rows),
        "frames": frames,
        "split": "train",
        "seed": args.seed,
        "emotion": "neutral",
    }
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {out}: mean expression of {frames} frames of {len(rows)} neutral train clips")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
