"""Choose a model's sampling temperature and guidance weight on held-out clips (val, never test).

    python -m imagintalk.eval.tune_sampling DATA_DIR [--model DIR] [--temperatures 1 0.7 0.5 0.3]
        [--guidance 0 1 2] [--limit N] [--steps 64] [--out DIR] [--write]

Each (temperature, guidance) pair speaks the first N clips of DATA_DIR (their videos, through
the whole Pipeline) and is scored with the evaluation harness (grammar WER, STOI, speaker
similarity). The lowest grammar WER wins, ties going to the higher speaker similarity; each
other setting's paired WER difference to the winner (mean ± standard error) says whether the
choice is more than noise.
``--write`` stores the winner as ``sampling.temperature`` and ``sampling.guidance`` in the
model's config.json: ``imagintalk speak``, the ROS node and the app then sample with them unless
told otherwise (``--temperature``, ``--guidance``). Guidance needs a DiT trained with condition
dropout; the default grid tries none (0).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..diffusion.guidance import check_guidance
from ..errors import ImaginTalkError, InputError
from ..pipeline import Pipeline
from ..settings import DEFAULT_MODEL_DIR
from ..settings.sampling import check_temperature
from .harness import evaluate
from .manifest import read_manifest
from .report import paired_differences, verdict

METRICS = ["wer_grammar", "stoi", "spk_sim"]
Setting = tuple[float, float]  # (temperature, guidance)


def speak_clips(pipeline, entries: list[dict[str, Any]], data_dir: Path, out_dir: Path) -> None:
    """Speak each entry's video into ``out_dir/<id>.wav`` with ``pipeline`` as it is set."""
    import soundfile as sf
    from tqdm import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    for entry in tqdm(entries, desc=out_dir.name, unit="clip"):
        result = pipeline.speak_file(data_dir / entry["video"])
        sf.write(out_dir / f"{entry['id']}.wav", result.wav, result.sample_rate)


def setting_name(temperature: float, guidance: float) -> str:
    return f"T={temperature:g}" if guidance == 0 else f"T={temperature:g} w={guidance:g}"


def pick(summary: dict[str, dict[str, Any]], names: dict[str, Setting]) -> Setting:
    """The setting with the lowest mean grammar WER (ties: higher speaker similarity)."""

    def mean(name: str, metric: str, undefined: float) -> float:
        value = summary[name]["metrics"][metric]["mean"]  # None: no clip could be scored
        return undefined if value is None else value

    def key(name: str) -> tuple[float, float]:
        return (mean(name, "wer_grammar", float("inf")), -mean(name, "spk_sim", float("-inf")))

    return names[min(names, key=key)]


def update_model_config(model_dir: Path, section: str, **values: Any) -> None:
    """Set ``values`` in one section of MODEL_DIR/config.json, atomically (the tuners' --write)."""
    path = model_dir / "config.json"
    config = json.loads(path.read_text())
    config.setdefault(section, {}).update(values)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(config, indent=2) + "\n")
    tmp.replace(path)


def write_sampling(model_dir: Path, setting: Setting, tuned_on: str) -> None:
    """Store ``sampling.temperature`` / ``guidance`` (and what they were chosen on) in
    MODEL_DIR/config.json."""
    temperature, guidance = setting
    update_model_config(model_dir, "sampling", temperature=temperature, guidance=guidance, tuned_on=tuned_on)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m imagintalk.eval.tune_sampling", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("data", type=Path, help="a data directory with manifest.jsonl and videos (val split)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.7, 0.5, 0.3])
    parser.add_argument("--guidance", type=float, nargs="+", default=[0.0], help="guidance weights (0 = off)")
    parser.add_argument("--limit", type=int, default=30, help="the first N clips (default 30)")
    parser.add_argument("--steps", type=int, default=64, help="sampler steps (default 64)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="wavs and tables (default: MODEL/runs/tune_sampling)")
    parser.add_argument("--write", action="store_true", help="store the winner in MODEL/config.json")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ImaginTalkError as exc:
        print(f"error: {exc}")
        return 1


def run(args: argparse.Namespace) -> int:
    for t in args.temperatures:
        check_temperature(t)
    for w in args.guidance:
        check_guidance(w)
    entries = read_manifest(args.data)[: args.limit]
    if not entries:
        raise InputError(f"no clips in {args.data}")
    out = args.out or args.model / "runs" / "tune_sampling"
    pipeline = Pipeline.from_dir(args.model, steps=args.steps, seed=args.seed)
    names = {setting_name(t, w): (t, w) for w in args.guidance for t in args.temperatures}
    for name, (temperature, guidance) in names.items():
        pipeline.set_options(pipeline.options.replace(temperature=temperature, guidance=guidance))
        speak_clips(pipeline, entries, args.data, out / name.replace(" ", "_"))
    systems = {n: out / n.replace(" ", "_") for n in names}
    results = evaluate(args.data, systems, None, out / "eval", metrics=METRICS, limit=args.limit)
    print(results["markdown"])
    best = pick(results["summary"], names)
    best_name = setting_name(*best)
    print(f"best on {len(entries)} clips of {args.data}: {best_name} (guidance {best[1]:g})")
    others = [n for n in names if n != best_name]
    for name, (mean, se, n) in paired_differences(results["clips"], best_name, others).items():
        word = verdict(mean, se, higher_is_better=False)
        print(f"  {name}: grammar WER {mean:+.3f} ± {se:.3f} (paired s.e., {n} clips): {word}")
    if args.write:
        write_sampling(args.model, best, f"{args.data} ({len(entries)} clips, {args.steps} steps)")
        print(f"wrote sampling.temperature = {best[0]:g}, sampling.guidance = {best[1]:g} to "
              f"{args.model / 'config.json'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
