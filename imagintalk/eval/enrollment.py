"""Enrollment measured: a face the model never saw, before and after 10 / 25 / 50 prompts.

    .venv/bin/python -m imagintalk.eval.enrollment OUT_DIR [--identities 5] [--counts 10 25 50]

For each of ``--identities`` test-split speakers (voices and faces the model never trained on),
SynthTalk renders prompt clips and evaluation clips of that one speaker with the second renderer
("portrait", never used for training) and with the trained one ("cartoon"). The evaluation
clips' sentences are never among the prompts. Each evaluation clip goes through the front door
once; every condition then speaks its track (same identity, expression, seed):

* portrait: the shipped model with and without the unit MLM (its refinement gain on a new face),
  then with profiles enrolled on the first 10 / 25 / 50 portrait prompts, per adapter kind;
* cartoon: the shipped model, and with a profile enrolled on 25 cartoon prompts (does enrollment
  hurt the renderer the model knows?), plus typed speech of the same sentences in the face's voice
  (grammar WER, and speaker similarity between typed and lip-driven speech).

Scores per clip: grammar WER (pocketsphinx with the GRID grammar) and unit accuracy (refined
and raw units against the corpus's own phoneme timing). The adapter kind is chosen on the
enrollment's held-back prompts (validation), never on these clips. Writes OUT_DIR/clips.jsonl,
OUT_DIR/enrollments.jsonl and OUT_DIR/summary.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..enroll import clip_from_video, enroll
from ..enroll.adapt import AdaptSettings
from ..features.speaker_embedding import speaker_embedding
from ..models.lip_adapter import AdapterSpec
from ..pipeline import Pipeline
from ..pipeline.features import window_inputs
from ..settings import DEFAULT_MODEL_DIR
from ..synth.corpus import generate_corpus
from ..synth.speakers import speaker_ids
from ..units.frames import units_from_manifest_entry
from .asr import Recognizer, word_error_rate
from .unit_recognition import mean_se


@dataclass
class Prepared:
    row: dict[str, Any]
    track: Any
    identity: np.ndarray | None
    expression: np.ndarray  # [T, E]
    truth: np.ndarray  # [T_tok] units from the corpus's phoneme timing
    root: Path  # the corpus folder the clip is in


def make_clips(root: Path, pipe: Pipeline, speaker: int, renderer: str, count: int, seed: int) -> list[dict]:
    """``count`` test-split clips of one speaker by ``renderer`` under ``root`` (kept when there)."""
    manifest = root / "manifest.jsonl"
    if not manifest.is_file():
        cfg = replace(pipe.cfg.synth, renderer=renderer, only_speaker=speaker)
        generate_corpus(root, count, seed=seed, split="test", cfg=cfg, workers=2, progress=False)
    return [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]


def prepare(pipe: Pipeline, root: Path, row: dict) -> Prepared:
    track, identity = pipe.track_file(root / row["video"])
    expression = window_inputs(track, pipe.cfg, identity).expression[0].numpy()
    return Prepared(row, track, identity, expression, units_from_manifest_entry(row), root)


def unit_accuracy(units: np.ndarray, truth: np.ndarray) -> float:
    n = min(len(units), len(truth))
    return float((units[:n] == truth[:n]).mean()) if n else math.nan


def score(pipe: Pipeline, clip: Prepared, recognizer: Recognizer) -> tuple[dict[str, float], np.ndarray]:
    """Speak the clip's track as ``pipe`` is set up -> (scores, wav)."""
    result = pipe.speak_track(clip.track, clip.identity, clip.expression)
    words = recognizer.transcribe(result.wav, result.sample_rate)
    return {
        "wer": word_error_rate(clip.row["text"], words),
        "unit_accuracy": unit_accuracy(result.units, clip.truth),
        "raw_unit_accuracy": unit_accuracy(result.raw_units, clip.truth),
    }, result.wav


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-9))


def measure_identity(
    pipe: Pipeline, out: Path, speaker: int, args: argparse.Namespace, recognizer: Recognizer
) -> tuple[list[dict], list[dict]]:
    """Every condition for one speaker -> (per-clip score rows, per-enrollment rows)."""
    rows, enrollments = [], []
    for renderer, counts in (("portrait", args.counts), ("cartoon", [args.cartoon_count])):
        base = out / "corpus" / f"spk{speaker}_{renderer}"
        evals = make_clips(base / "eval", pipe, speaker, renderer, args.eval_clips, seed=2000 + speaker)
        prompts = make_clips(base / "prompts", pipe, speaker, renderer, max(counts) + 10, seed=1000 + speaker)
        said = {row["text"] for row in evals}
        prompts = [row for row in prompts if row["text"] not in said][: max(counts)]
        prepared = [prepare(pipe, base / "eval", row) for row in evals]
        conditions: list[tuple[str, Any]] = [("shipped", None)]
        if renderer == "portrait":
            conditions.append(("shipped_no_mlm", None))
        clips = []
        for row in tqdm(prompts, desc=f"spk{speaker} {renderer} prompts", file=sys.stderr, leave=False):
            clips.append(clip_from_video(pipe, base / "prompts" / row["video"], row["text"]))
        for count in counts:
            for kind in args.kinds:
                spec = AdapterSpec(kind=kind.split("+")[0], rank=args.rank, renorm=kind.endswith("+renorm"))
                settings = AdaptSettings(spec=spec, seed=speaker)
                profile = enroll(pipe, clips[:count], name=f"spk{speaker}", settings=settings)
                report = profile.report
                enrollments.append({
                    "speaker": speaker, "renderer": renderer, "prompts": count, "kind": kind,
                    **{k: report[k] for k in ("heldout_accuracy_before", "heldout_accuracy_after",
                                              "epochs", "best_epoch", "seconds", "total_seconds")},
                })  # fmt: skip
                conditions.append((f"enrolled_{kind}_{count}", profile))
        for name, profile in conditions:
            pipe.set_profile(profile)
            pipe.set_options(pipe.options.replace(refine=name != "shipped_no_mlm"))
            for clip in prepared:
                scores, wav = score(pipe, clip, recognizer)
                row = {"speaker": speaker, "renderer": renderer, "condition": name, "clip": clip.row["id"]}
                rows.append({**row, **scores})
                if renderer == "cartoon" and name == "shipped":
                    rows.append({**row, "condition": "typed", **typed_scores(pipe, clip, wav, recognizer)})
            pipe.set_profile(None)
            pipe.set_options(pipe.options.replace(refine=True))
    return rows, enrollments


def typed_scores(pipe: Pipeline, clip: Prepared, lip_wav: np.ndarray, recognizer: Recognizer) -> dict:
    """Typed speech of the clip's sentence in its face's voice: WER, and its speaker similarity to
    the lip-driven speech of the same clip (and to the clip's true voice)."""
    result = pipe.say(clip.row["text"], pipe.describe_track(clip.track, clip.identity))
    rate = result.sample_rate
    typed = speaker_embedding(result.wav, rate)
    truth_wav = _read_wav(clip)
    return {
        "wer": word_error_rate(clip.row["text"], recognizer.transcribe(result.wav, rate)),
        "typed_vs_lips_similarity": cosine(typed, speaker_embedding(lip_wav, rate)),
        "typed_vs_true_similarity": cosine(typed, speaker_embedding(truth_wav, rate)),
    }


def _read_wav(clip: Prepared) -> np.ndarray:
    import soundfile as sf

    wav, _ = sf.read(str(clip.root / clip.row["audio"]), dtype="float32")
    return wav


def summarise(rows: list[dict], enrollments: list[dict]) -> str:
    """Markdown: means +- s.e. per renderer and condition, paired differences against the shipped model."""
    lines = [
        "| renderer | condition | clips | grammar WER | unit acc. | raw unit acc. |",
        "|---|---|---|---|---|---|",
    ]
    keys = sorted({(r["renderer"], r["condition"]) for r in rows})
    fmt = lambda s: f"{s['mean']:.3f} ± {s['se']:.3f}" if s["n"] else "-"  # noqa: E731
    for renderer, condition in keys:
        sel = [r for r in rows if r["renderer"] == renderer and r["condition"] == condition]
        cells = [
            fmt(mean_se([r.get(m, math.nan) for r in sel]))
            for m in ("wer", "unit_accuracy", "raw_unit_accuracy")
        ]
        lines.append(f"| {renderer} | {condition} | {len(sel)} | " + " | ".join(cells) + " |")
    lines += ["", "Paired differences (condition - shipped, same clips):", ""]
    lines += ["| renderer | condition | grammar WER | unit acc. |", "|---|---|---|---|"]
    for renderer, condition in keys:
        if condition in ("shipped", "typed"):
            continue
        base = {
            (r["speaker"], r["clip"]): r
            for r in rows
            if r["renderer"] == renderer and r["condition"] == "shipped"
        }
        sel = [r for r in rows if r["renderer"] == renderer and r["condition"] == condition]
        diffs = {
            m: [r[m] - base[(r["speaker"], r["clip"])][m] for r in sel] for m in ("wer", "unit_accuracy")
        }
        wer, acc = fmt(mean_se(diffs["wer"])), fmt(mean_se(diffs["unit_accuracy"]))
        lines.append(f"| {renderer} | {condition} | {wer} | {acc} |")
    typed = [r for r in rows if r["condition"] == "typed"]
    if typed:
        lines += ["", "Typed speech (cartoon faces, same sentences):", ""]
        for m in ("wer", "typed_vs_lips_similarity", "typed_vs_true_similarity"):
            lines.append(f"- {m}: {fmt(mean_se([r[m] for r in typed]))}")
    lines += ["", "Enrollment (validation = the held-back prompts' aligned units):", ""]
    lines += ["| renderer | prompts | kind | held-out acc. before | after | epochs | adapt s | total s |",
              "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    groups = sorted({(e["renderer"], e["prompts"], e["kind"]) for e in enrollments})
    for renderer, count, kind in groups:
        sel = [e for e in enrollments if (e["renderer"], e["prompts"], e["kind"]) == (renderer, count, kind)]
        cells = [
            fmt(mean_se([e[k] for e in sel])) for k in ("heldout_accuracy_before", "heldout_accuracy_after")
        ]
        cells += [f"{np.mean([e[k] for e in sel]):.1f}" for k in ("epochs", "seconds", "total_seconds")]
        lines.append(f"| {renderer} | {count} | {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--identities", type=int, default=5, help="test speakers, spread over the pool")
    parser.add_argument("--speakers", type=int, nargs="+", help="these test speakers instead (pool indices)")
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--cartoon-count", type=int, default=25)
    parser.add_argument("--eval-clips", type=int, default=8)
    parser.add_argument(
        "--kinds",
        nargs="+",
        default=["lora", "residual", "lora+renorm"],
        help="adapter kinds (+renorm: AdaBN)",
    )
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--sampler", default="confidence")
    args = parser.parse_args(argv)
    pipe = Pipeline.from_dir(args.model, steps=args.steps, sampler=args.sampler)
    recognizer = Recognizer("grammar")
    pool = speaker_ids("test", pipe.cfg.synth)
    chosen = [pool[i] for i in np.linspace(0, len(pool) - 1, args.identities).round().astype(int)]
    if args.speakers:
        unknown = sorted(set(args.speakers) - set(pool))
        if unknown:
            parser.error(f"speakers {unknown} are not test speakers ({pool[0]}-{pool[-1]})")
        chosen = list(args.speakers)
    args.out.mkdir(parents=True, exist_ok=True)
    all_rows, all_enrollments = [], []
    for speaker in tqdm(chosen, desc="identities", file=sys.stderr):
        rows, enrollments = measure_identity(pipe, args.out, speaker, args, recognizer)
        all_rows += rows
        all_enrollments += enrollments
        (args.out / "clips.jsonl").write_text("".join(json.dumps(r) + "\n" for r in all_rows))
        (args.out / "enrollments.jsonl").write_text("".join(json.dumps(e) + "\n" for e in all_enrollments))
        (args.out / "summary.md").write_text(summarise(all_rows, all_enrollments))
    print((args.out / "summary.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
