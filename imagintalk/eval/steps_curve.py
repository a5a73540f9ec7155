"""Quality against sampling steps: every sampler x step count on held-out clips, paired to a reference.

    python -m imagintalk.eval.steps_curve DATA_DIR [--model DIR] [--samplers euler analytic confidence]
        [--steps 64 32 16 8] [--reference euler-64] [--limit N] [--seed 0] [--out DIR] [--json OUT]
        [--choose [--margin 0.02]] [--plot PNG]

Each clip's front door (face detection, landmarks, crops) runs once; the track is then spoken
with every setting (``Pipeline.speak_track`` after ``set_options(sampler=..., steps=...)``), all
with the same seed, so the settings differ only in how they sample. The sampler skips the network
while its state is unchanged (``diffusion.sampling.CachedScore``, on in every ``sample()`` the
pipeline makes): ``network calls`` per clip is what a setting really costs, ``sampling s`` its
time on this machine (the pipeline's own stage timing). The wavs (``OUT/<sampler>-<steps>/<id>.wav``)
are scored by the evaluation harness (grammar WER, STOI, speaker similarity), and every setting
is paired clip by clip with the reference (default 64-step Euler, spoken even when it is not in
the grid): mean ± standard error of (setting - reference), the reference's own row 0 ± 0.

``--choose`` (run it on a validation split, never on test): a setting is *acceptable* when,
against the reference,

1. its grammar WER is not worse beyond noise: the paired mean difference is at most 2 standard
   errors (the project's "within noise" / "better" verdict), AND
2. that mean is also at most ``--margin`` (default 0.02 absolute WER): a loss larger than the
   margin is refused even when the clips are too few to call it significant, AND
3. neither STOI nor speaker similarity is worse beyond noise (paired mean below -2 s.e.).

Of the acceptable settings (the reference always is) the one with the fewest mean network calls
per clip wins, ties going to the lower mean sampling seconds, then to the lower grammar WER.
Calls, not seconds, rank first: they are what the setting costs anywhere, while seconds on a
shared machine carry its load.

Prints the table (and the choice), writes ``OUT/steps_curve.json`` (or ``--json``) and, with
``--plot``, a figure of grammar WER and sampling seconds against steps per sampler.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..diffusion.sampling import get_sampler
from ..errors import ImaginTalkError, InputError
from ..pipeline import Pipeline
from ..pipeline.result import replacing
from ..settings import DEFAULT_MODEL_DIR
from .harness import evaluate
from .manifest import read_manifest
from .report import paired_differences, verdict

METRICS = ["wer_grammar", "stoi", "spk_sim"]
HIGHER_IS_BETTER = {"wer_grammar": False, "stoi": True, "spk_sim": True}
REFERENCE = "euler-64"
MARGIN = 0.02  # the largest mean grammar-WER loss --choose accepts


def setting_name(sampler: str, steps: int) -> str:
    return f"{sampler}-{steps}"


def parse_setting(name: str) -> tuple[str, int]:
    """ "euler-64" -> ("euler", 64); InputError for anything else."""
    sampler, _, steps = name.rpartition("-")
    if not sampler or not steps.isdigit() or int(steps) < 1:
        raise InputError(f"a setting is SAMPLER-STEPS (e.g. euler-64), got {name!r}")
    get_sampler(sampler)
    return sampler, int(steps)


def grid(samplers: Sequence[str], steps: Sequence[int], reference: str) -> list[tuple[str, int]]:
    """The settings to speak: the reference first, then sampler by sampler, steps as given."""
    for sampler in samplers:
        get_sampler(sampler)  # unknown name -> InputError naming the registered ones
    for n in steps:
        if n < 1:
            raise InputError(f"steps must be whole numbers >= 1, got {n}")
    settings = [parse_setting(reference)]
    settings += [(s, n) for s in samplers for n in steps if (s, n) not in settings]
    return settings


def speak_grid(
    pipeline: Pipeline,
    entries: list[dict[str, Any]],
    data_dir: Path,
    settings: list[tuple[str, int]],
    out: Path,
) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, str]]:
    """Each clip's front door once, then every setting: wavs under ``out/<setting>/<id>.wav``.

    The first clip is spoken once more before the timed runs (a warm-up, not kept).
    Returns (setting -> clip id -> {"sampling_s", "network_calls", "speak_s"}, clip id -> why it
    was skipped). A clip whose front door fails is skipped for every setting (missing in the eval).
    """
    import soundfile as sf
    from tqdm import tqdm

    runs: dict[str, dict[str, dict[str, float]]] = {setting_name(*s): {} for s in settings}
    skipped: dict[str, str] = {}
    base = pipeline.options
    for name in runs:
        (out / name).mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(entries) * len(settings), desc="speaking", unit="wav")
    warm = False
    for entry in entries:
        clip_id = str(entry["id"])
        try:
            track, identity = pipeline.track_file(data_dir / entry["video"])  # as speak_file takes them
        except ImaginTalkError as exc:
            skipped[clip_id] = str(exc)
            bar.update(len(settings))
            continue
        if not warm:  # the first speak pays one-off costs (lazy loads, allocator); not timed
            pipeline.set_options(base.replace(sampler=settings[0][0], steps=settings[0][1]))
            pipeline.speak_track(track, identity)
            warm = True
        for sampler, steps in settings:
            pipeline.set_options(base.replace(sampler=sampler, steps=steps))
            result = pipeline.speak_track(track, identity)
            sf.write(out / setting_name(sampler, steps) / f"{clip_id}.wav", result.wav, result.sample_rate)
            runs[setting_name(sampler, steps)][clip_id] = {
                "sampling_s": float(result.timings["sampling"]),
                "network_calls": int(result.network_calls),
                "speak_s": float(result.timings["total"]),
            }
            bar.update(1)
    bar.close()
    pipeline.set_options(base)
    return runs, skipped


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else x


def summarize_grid(
    results: dict[str, Any], runs: dict[str, dict[str, dict[str, float]]], reference: str
) -> list[dict[str, Any]]:
    """One row per setting: metric means, paired differences to ``reference``, cost per clip."""
    clips, summary = results["clips"], results["summary"]
    rows = []
    for name, per_clip in runs.items():
        sampler, steps = parse_setting(name)
        row: dict[str, Any] = {"setting": name, "sampler": sampler, "steps": steps}
        row["num_clips"] = len(per_clip)
        for metric in METRICS:
            mean, se, n = paired_differences(clips, reference, [name], metric)[name]
            row[metric] = {
                "mean": summary[name]["metrics"][metric]["mean"],
                "num_valid": summary[name]["metrics"][metric]["num_valid"],
                "paired": {
                    "mean": _none_if_nan(mean),
                    "se": _none_if_nan(se),
                    "num_paired": n,
                    "verdict": verdict(mean, se, HIGHER_IS_BETTER[metric]),
                },
            }
        for key in ("sampling_s", "network_calls", "speak_s"):
            row[key] = _mean([c[key] for c in per_clip.values()])
        rows.append(row)
    return rows


def acceptable(row: dict[str, Any], margin: float = MARGIN) -> bool:
    """Rules 1-3 of the module docstring: not worse than the reference beyond noise or margin."""
    wer = row["wer_grammar"]["paired"]
    if wer["mean"] is None or wer["se"] is None:
        return False
    if wer["mean"] > 2 * wer["se"] or wer["mean"] > margin:
        return False
    for metric in ("stoi", "spk_sim"):
        paired = row[metric]["paired"]
        if paired["mean"] is None or paired["se"] is None or paired["mean"] < -2 * paired["se"]:
            return False
    return True


def choose(rows: list[dict[str, Any]], reference: str = REFERENCE, margin: float = MARGIN) -> dict[str, Any]:
    """The acceptable row with the fewest network calls (then sampling s, then grammar WER).

    The reference is acceptable by definition (its differences to itself are 0 ± 0)."""

    def cost(row: dict[str, Any]) -> tuple[float, float, float]:
        wer = row["wer_grammar"]["mean"]
        return (
            row["network_calls"] if row["network_calls"] is not None else math.inf,
            row["sampling_s"] if row["sampling_s"] is not None else math.inf,
            wer if wer is not None else math.inf,
        )

    candidates = [r for r in rows if r["setting"] == reference or acceptable(r, margin)]
    if not candidates:
        raise InputError(f"the reference {reference} is not among the rows")
    return min(candidates, key=cost)


def _paired_cell(cell: dict[str, Any]) -> str:
    p = cell["paired"]
    if p["mean"] is None or p["se"] is None:
        return "n/a"
    return f"{p['mean']:+.3f} ± {p['se']:.3f}"


def _mean_cell(cell: dict[str, Any]) -> str:
    return "n/a" if cell["mean"] is None else f"{cell['mean']:.3f}"


def markdown(rows: list[dict[str, Any]], reference: str) -> str:
    """The curve as a Markdown table (paired columns: setting - reference, mean ± s.e.)."""
    header = [
        "sampler", "steps", "grammar WER ↓", f"Δ WER vs {reference}", "STOI ↑", "Δ STOI",
        "spk sim ↑", "Δ spk sim", "sampling s", "network calls",
    ]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["sampler"], str(r["steps"])]
        for metric in METRICS:
            cells += [_mean_cell(r[metric]), _paired_cell(r[metric])]
        cells += [
            "n/a" if r["sampling_s"] is None else f"{r['sampling_s']:.2f}",
            "n/a" if r["network_calls"] is None else f"{r['network_calls']:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_curve(rows: list[dict[str, Any]], path: Path, title: str = "") -> None:
    """Grammar WER (left) and sampling seconds (right) against steps, one line per sampler."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_wer, ax_s) = plt.subplots(1, 2, figsize=(8, 3.2), dpi=90)
    styles = [("o", "-"), ("s", "--"), ("^", ":"), ("D", "-.")]  # lines that coincide stay visible
    for number, sampler in enumerate(dict.fromkeys(r["sampler"] for r in rows)):
        marker, line = styles[number % len(styles)]
        mine = sorted((r for r in rows if r["sampler"] == sampler), key=lambda r: r["steps"])
        steps = [r["steps"] for r in mine]
        wer = [r["wer_grammar"]["mean"] for r in mine]
        se = [r["wer_grammar"]["paired"]["se"] or 0.0 for r in mine]
        ax_wer.errorbar(steps, wer, yerr=se, marker=marker, linestyle=line, capsize=3, label=sampler)
        ax_s.plot(steps, [r["sampling_s"] for r in mine], marker=marker, linestyle=line, label=sampler)
    ticks = sorted({r["steps"] for r in rows})
    for ax, label in ((ax_wer, "grammar WER (bars: paired s.e.)"), (ax_s, "sampling s per clip")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [str(s) for s in ticks])
        ax.set_xlabel("steps")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    ax_wer.legend()
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically (a failed write leaves no partial file)."""
    try:
        with replacing(path) as tmp:
            tmp.write_text(json.dumps(data, indent=2))
    except OSError as exc:
        raise ImaginTalkError(f"cannot write {path}: {exc.strerror}") from None


def _value(results: dict[str, Any], system: str, clip: str, metric: str) -> float | None:
    return results["clips"][system].get(clip, {}).get(metric, {}).get("value")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m imagintalk.eval.steps_curve", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("data", type=Path, help="a data directory with manifest.jsonl and videos")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--samplers", nargs="+", default=["euler", "analytic", "confidence"])
    parser.add_argument("--steps", type=int, nargs="+", default=[64, 32, 16, 8])
    parser.add_argument("--reference", default=REFERENCE, help="SAMPLER-STEPS every setting is paired with")
    parser.add_argument("--limit", type=int, help="the first N clips (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed for every setting")
    parser.add_argument("--out", type=Path, help="wavs, eval and JSON (default: MODEL/runs/steps_curve)")
    parser.add_argument("--json", type=Path, help="the curve's JSON (default: OUT/steps_curve.json)")
    parser.add_argument("--choose", action="store_true", help="pick a setting by the rule above (val only)")
    parser.add_argument("--margin", type=float, default=MARGIN, help="--choose's largest WER loss")
    parser.add_argument("--plot", type=Path, help="a PNG of grammar WER and sampling s against steps")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ImaginTalkError as exc:
        print(f"error: {exc}")
        return 1


def run(args: argparse.Namespace) -> int:
    settings = grid(args.samplers, args.steps, args.reference)
    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit must be at least 1, got {args.limit}")
    if not args.data.is_dir():
        raise InputError(f"no data directory at {args.data}")
    entries = read_manifest(args.data)[: args.limit]
    out = args.out or args.model / "runs" / "steps_curve"
    pipeline = Pipeline.from_dir(args.model, seed=args.seed)
    started = time.perf_counter()
    runs, skipped = speak_grid(pipeline, entries, args.data, settings, out)
    speak_s = time.perf_counter() - started
    systems = {name: out / name for name in runs}
    results = evaluate(args.data, systems, None, out / "eval", metrics=METRICS, limit=args.limit)
    rows = summarize_grid(results, runs, args.reference)
    table = markdown(rows, args.reference)
    print(table)
    print(f"{len(entries) - len(skipped)} of {len(entries)} clips of {args.data}, seed {args.seed}, "
          f"temperature {pipeline.temperature:g}, guidance {pipeline.guidance:g}; speaking "
          f"{speak_s:.0f} s, scoring {results['timing']['total_s']:.0f} s")  # fmt: skip
    for clip_id, why in skipped.items():
        print(f"skipped {clip_id}: {why}")
    data: dict[str, Any] = {
        "data": str(args.data),
        "model": str(args.model),
        "num_clips": len(entries),
        "skipped": skipped,
        "seed": args.seed,
        "temperature": pipeline.temperature,
        "guidance": pipeline.guidance,
        "reference": args.reference,
        "rows": rows,
        "per_clip": {
            name: {
                clip: {**cost, **{m: _value(results, name, clip, m) for m in METRICS}}
                for clip, cost in per_clip.items()
            }
            for name, per_clip in runs.items()
        },
        "timing": {"speak_s": speak_s, "score_s": results["timing"]["total_s"]},
        "markdown": table,
        "choice": None,
    }
    if args.choose:
        best = choose(rows, args.reference, args.margin)
        wer = best["wer_grammar"]["paired"]
        data["choice"] = {"setting": best["setting"], "margin": args.margin, "rule": "see steps_curve.py"}
        print(f"chosen: {best['setting']} ({best['network_calls']:.1f} network calls, "
              f"{best['sampling_s']:.2f} s sampling per clip; grammar WER "
              f"{wer['mean']:+.3f} ± {wer['se']:.3f} against {args.reference})")  # fmt: skip
    path = args.json or out / "steps_curve.json"
    write_json(path, data)
    print(f"wrote {path}")
    if args.plot:
        plot_curve(rows, args.plot, f"{len(entries) - len(skipped)} clips of {args.data.name}")
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
