"""What the running identity changes: each clip spoken with the identity taken while its frames
arrive (``RunningIdentity``: the face's first frames, as ``speak_file`` and the live path take it)
against the identity described from frames spread over the clip (how training describes it).

    .venv/bin/python scripts/identity_effect.py DATA_DIR [--model DIR] [--limit 40] [--steps 16]
        [--out DIR]

Both arms speak the same front-door result with the same seed; only the identity differs. Scores
both with the evaluation harness and prints, per metric, running - spread paired over the clips
(mean ± standard error). Run it on a validation split.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from imagintalk.eval.harness import evaluate
from imagintalk.eval.manifest import read_manifest
from imagintalk.eval.report import paired_differences
from imagintalk.pipeline import Pipeline
from imagintalk.settings import DEFAULT_MODEL_DIR

METRICS = ["wer_grammar", "stoi", "spk_sim"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a SynthTalk split (manifest.jsonl, video/, audio/)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path("/tmp/identity_effect"))
    args = parser.parse_args()
    manifest = args.data / "manifest.jsonl"
    if not manifest.is_file():
        print(f"error: no manifest.jsonl in {args.data}", file=sys.stderr)
        return 2
    pipeline = Pipeline.from_dir(args.model, steps=args.steps)
    arms = {"running": args.out / "running", "spread": args.out / "spread"}
    for folder in arms.values():
        folder.mkdir(parents=True, exist_ok=True)
    for entry in tqdm(read_manifest(manifest)[: args.limit], desc="clips", unit="clip"):
        result, identity = pipeline.track_file(args.data / entry["video"])  # as speak_file takes them
        for name, given in (("running", identity), ("spread", None)):
            spoken = pipeline.speak_track(result, given)
            sf.write(arms[name] / f"{entry['id']}.wav", spoken.wav, spoken.sample_rate)
    results = evaluate(manifest, arms, pipeline.codec, args.out / "eval", METRICS, limit=args.limit)
    report = {}
    for metric in METRICS:
        mean, se, count = paired_differences(results["clips"], "spread", ["running"], metric)["running"]
        report[metric] = {"running_minus_spread": mean, "se": se, "clips": count}
        means = {name: results["summary"][name]["metrics"][metric]["mean"] for name in arms}
        print(f"{metric}: spread {means['spread']:.3f}, running {means['running']:.3f}, "
              f"paired running - spread {mean:+.4f} ± {se:.4f} ({count} clips)")  # fmt: skip
    (args.out / "identity_effect.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
