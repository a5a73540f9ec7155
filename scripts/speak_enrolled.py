"""Speak each test clip in the voice of another clip by the same speaker (voice enrollment).

    .venv/bin/python scripts/speak_enrolled.py data/default/test OUT_DIR [--model DIR] [--limit 40]

A diagnostic for speaker similarity: the face -> voice map is replaced by c_id fitted to a real
recording of the same voice (``Pipeline.set_voice_reference``, the ``--voice-ref`` path). Clips
whose speaker has no other clip among the first LIMIT are skipped. Score the result with
``imagintalk eval DATA --system enrolled=OUT_DIR --system ...``.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def enrollment_pairs(manifest: Path, limit: int) -> list[tuple[str, str]]:
    """(clip id, reference clip id): the first other clip of the same speaker, within the first LIMIT."""
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()][:limit]
    by_speaker: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_speaker[row["speaker"]].append(row["id"])
    pairs = []
    for row in rows:
        others = [clip for clip in by_speaker[row["speaker"]] if clip != row["id"]]
        if others:
            pairs.append((row["id"], others[0]))
    return pairs


def main() -> int:
    from imagintalk.pipeline import Pipeline

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="a SynthTalk split (manifest.jsonl, video/, audio/)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", type=Path, help="default: the shipped model")
    parser.add_argument("--limit", type=int, default=40)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline.from_dir(args.model)
    for clip, reference in enrollment_pairs(args.data / "manifest.jsonl", args.limit):
        if (args.out / f"{clip}.wav").exists():
            continue
        voice = pipeline.set_voice_reference(args.data / "audio" / f"{reference}.wav")
        pipeline.speak_file(args.data / "video" / f"{clip}.mp4").save_wav(args.out / f"{clip}.wav")
        print(f"{clip} in the voice of {reference} (fitted cosine {voice.cosine:.3f})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
