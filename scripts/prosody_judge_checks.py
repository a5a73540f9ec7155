"""Ground-truth checks of the emphasis and question-rise judges on clips where the answer is known.

    .venv/bin/python scripts/prosody_judge_checks.py DATA_DIR [--limit N] [--seed S] [--codec DIR]

Until the expressive corpus lands (issue 21), no manifest has ``emphasis`` or ``contour``. So this
makes them: for each clip, WORLD re-synthesis of its ground truth with one seeded word made
prominent (F0 +3 semitones and +6 dB inside the word's span), and separately with the last word
made a question (its voiced F0 replaced by a rise from its first value, 0 -> +4 semitones over the
word's span). Reported, on the modified
ground truth and on its codec round trip (the shipped codec): emphasis accuracy (chance: 1 / words)
and the rise detection rate; on the unmodified ground truth: the emphasis "accuracy" for the same
seeded word (should be near chance) and the false-rise rate (GRID statements fall at the end).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from imagintalk.builders import build_codec
from imagintalk.eval.audio import load_wav
from imagintalk.eval.contour import final_rise_semitones, question_rise
from imagintalk.eval.emphasis import emphasis_accuracy
from imagintalk.eval.harness import codec_round_trip
from imagintalk.eval.manifest import manifest_path, read_manifest
from imagintalk.eval.signal import Signal
from imagintalk.settings import DEFAULT_CODEC_DIR
from imagintalk.settings.codec import CodecConfig

SR = 16000
PERIOD_MS = 5.0


def world_edit(wav: np.ndarray, span: tuple[float, float], semitones, gain_db: float) -> np.ndarray:
    """Re-synthesise ``wav`` with F0 raised by ``semitones`` (a number; or 'ramp:X': the voiced F0
    replaced by a rise from its first value by 0 -> X semitones) and the level raised by ``gain_db``
    inside ``span`` (seconds); float32, same length."""
    import pyworld

    x = wav.astype(np.float64)
    f0, t = pyworld.harvest(x, SR, f0_floor=60.0, f0_ceil=600.0, frame_period=PERIOD_MS)
    sp, ap = pyworld.cheaptrick(x, f0, t, SR), pyworld.d4c(x, f0, t, SR)
    inside = (t >= span[0]) & (t < span[1])
    f0 = f0.copy()
    if isinstance(semitones, str):  # a question: the word's voiced F0 becomes a rise from its first value
        top = float(semitones.split(":")[1])
        voiced = inside & (f0 > 0)
        if voiced.any():
            start = f0[np.flatnonzero(voiced)[0]]
            f0[voiced] = start * 2 ** (top * (t[voiced] - span[0]) / max(span[1] - span[0], 1e-3) / 12)
    else:
        f0[inside] *= 2 ** (semitones / 12)
    sp = sp * (10 ** (gain_db * inside / 10))[:, None]
    y = pyworld.synthesize(f0, sp, ap, SR, PERIOD_MS)
    return np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)].astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--codec", default=str(DEFAULT_CODEC_DIR))
    args = parser.parse_args()
    codec = build_codec(CodecConfig(name="world_rvq", path=args.codec))
    rng = np.random.default_rng(args.seed)
    root = manifest_path(args.data).parent
    tally: dict[str, list[float]] = {}

    def add(name: str, score) -> None:
        if score.valid:
            tally.setdefault(name, []).append(score.value)

    for entry in read_manifest(args.data)[: args.limit]:
        wav = load_wav(root / entry["audio"], SR)
        words = entry["words"]
        k = int(rng.integers(len(words)))
        row = {**entry, "emphasis": k, "contour": "question"}
        span = (words[k]["start"], words[k]["end"])
        emphasised = world_edit(wav, span, 3.0, 6.0)
        last = (words[-1]["start"], words[-1]["end"])
        question = world_edit(wav, last, "ramp:4", 0.0)
        add("emphasis, unmodified ground truth (seeded word)", emphasis_accuracy(wav, SR, row))
        add("emphasis, word boosted", emphasis_accuracy(emphasised, SR, row))
        add(
            "emphasis, word boosted, codec",
            emphasis_accuracy(codec_round_trip(codec, emphasised, SR), SR, row),
        )
        add("rise, unmodified statement (false rise)", question_rise(wav, SR, row))
        add("rise, last word ramped", question_rise(question, SR, row))
        add("rise, last word ramped, codec", question_rise(codec_round_trip(codec, question, SR), SR, row))
        for name, audio in (("statement", wav), ("question", question)):
            rise = final_rise_semitones(Signal(audio, SR), row)
            if rise is not None:
                tally.setdefault(f"fitted final F0 change, {name} (semitones)", []).append(rise)
        add("chance (1 / words)", type("S", (), {"valid": True, "value": 1 / len(words)})())
    summary = {name: {"mean": round(float(np.mean(v)), 3), "clips": len(v)} for name, v in tally.items()}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
