"""Facts for a model card: network sizes, files, validation metrics, spoken durations.

    .venv/bin/python scripts/model_facts.py MODEL_DIR [--spoken WAV_DIR --data TEST_DIR]

Prints Markdown. With ``--spoken``, every WAV_DIR/<id>.wav is checked against the duration of
its video (manifest num_frames / fps): the generated speech must be exactly as long.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import soundfile as sf
from safetensors import safe_open


def parameter_count(path: Path) -> int:
    """Number of values stored in a safetensors file."""
    total = 0
    with safe_open(str(path), "np") as handle:
        for key in handle.keys():
            shape = handle.get_slice(key).get_shape()
            count = 1
            for dim in shape:
                count *= dim
            total += count
    return total


def networks_table(model_dir: Path) -> str:
    lines = ["| network | parameters | file size |", "|---|---|---|"]
    total_bytes = 0
    for path in sorted(model_dir.glob("*.safetensors")):
        size = path.stat().st_size
        total_bytes += size
        lines.append(f"| {path.stem} | {parameter_count(path) / 1e6:.2f} M | {size / 1e6:.1f} MB |")
    lines.append(f"| all | | {total_bytes / 1e6:.1f} MB |")
    return "\n".join(lines)


def validation_metrics(model_dir: Path) -> str:
    lines = []
    for path in sorted((model_dir / "runs").glob("*/val_metrics.json")):
        values = json.loads(path.read_text())
        shown = ", ".join(f"{k} {v:.4g}" for k, v in values.items() if isinstance(v, (int, float)))
        lines.append(f"- {path.parent.name}: {shown}")
    return "\n".join(lines)


def durations(spoken: Path, data: Path) -> str:
    """How many spoken wavs are exactly as long as their video."""
    exact, checked, worst = 0, 0, 0.0
    for line in (data / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        wav = spoken / f"{entry['id']}.wav"
        if not wav.is_file():
            continue
        info = sf.info(str(wav))
        video_s = entry["num_frames"] / entry["fps"]
        error = abs(info.frames / info.samplerate - video_s)
        checked += 1
        exact += error < 0.5 / info.samplerate
        worst = max(worst, error)
    return f"{exact} of {checked} spoken clips exactly as long as their video (largest gap {worst:.4f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--spoken", type=Path, help="a folder of <id>.wav spoken from DATA's videos")
    parser.add_argument("--data", type=Path, help="the data directory the wavs were spoken from")
    args = parser.parse_args()
    print(networks_table(args.model))
    print()
    print(validation_metrics(args.model))
    if args.spoken and args.data:
        print()
        print(durations(args.spoken, args.data))


if __name__ == "__main__":
    main()
