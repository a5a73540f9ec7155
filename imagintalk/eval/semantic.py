"""What the semantic branch gets right: raw vs refined unit accuracy and the error detector's rate.

    python -m imagintalk.eval.semantic DATA_DIR [--model DIR] [--tau 0.9 0.8 ...] [--limit N]
        [--hide SECONDS]

DATA_DIR must be prepared (``imagintalk prepare DATA_DIR``: its features/ hold the
mouth ROIs and the reference units). Each clip is taken whole, through exactly the
inference path (:func:`imagintalk.models.bundle.semantic_condition`); the training of stage 1
reports the same numbers on its validation split.

``--hide S`` blanks the mouth (as the lips-hidden ablation does) over one span of S seconds per
clip, at a seeded random place away from the clip's edges, and reports the accuracy on the units
of that span too: how much the MLM recovers where the lips could not be read. Every row also
gives the per-clip paired gain of refinement (refined - raw accuracy, mean ± standard error).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..data.collate import collate
from ..data.dataset import FeatureDataset
from ..errors import InputError
from ..models.bundle import load_bundle, semantic_condition
from ..settings import DEFAULT_MODEL_DIR

KEYS = ("raw", "refined", "flagged", "similarity", "raw_flagged", "refined_flagged")
EDGE_FRAMES = 5  # a hidden span starts no nearer than this to either end of the clip


def hidden_span(num_frames: int, span_frames: int, rng: np.random.Generator) -> tuple[int, int]:
    """[start, end) frames of a span of span_frames, away from the edges where the clip allows."""
    span_frames = min(span_frames, num_frames)
    low, high = EDGE_FRAMES, num_frames - span_frames - EDGE_FRAMES
    start = int(rng.integers(low, high + 1)) if high >= low else (num_frames - span_frames) // 2
    return start, start + span_frames


@torch.no_grad()
def semantic_report(
    bundle,
    dataset,
    max_clips: int | None = None,
    tau: float | None = None,
    hide_s: float = 0.0,
    seed: int = 0,
) -> dict[str, float]:
    """Unit accuracy before / after MLM refinement over ``dataset`` (a FeatureDataset of whole clips).

    ``bundle``: a ModelBundle with ``lip`` and ``mlm``; ``tau``: the detector threshold (None: the
    model's). Accuracies are per unit step (50 Hz); "on_flagged" only over the flagged steps.
    ``hide_s`` > 0: the mouth is blank over one span of that many seconds per clip (seeded), and
    "on_hidden" is the accuracy over that span's unit steps.
    """
    if hide_s < 0:
        raise InputError(f"the hidden span must be >= 0 seconds, got {hide_s}")

    device = next(bundle.lip.parameters()).device
    count = len(dataset) if max_clips is None else min(len(dataset), max_clips)
    if count == 0:
        raise InputError("no clips to score: is the data directory prepared?")
    sums, steps, hidden_steps = dict.fromkeys(KEYS + ("raw_hidden", "refined_hidden"), 0.0), 0, 0
    gains: dict[str, list[float]] = {"all": [], "hidden": []}  # per clip: refined - raw accuracy
    rng = np.random.default_rng(seed)
    units_per_frame = bundle.cfg.units.frame_rate / bundle.cfg.video.fps
    for index in range(count):
        batch = collate([dataset[index]])
        units = batch["units"].to(device)[0]  # [uT]
        mouth = batch["mouth"].to(device)  # [1, T, 88, 88]
        hidden = torch.zeros_like(units, dtype=torch.bool)  # [uT]
        no_face = torch.zeros(mouth.shape[:2], dtype=torch.bool, device=device)  # [1, T]
        if hide_s > 0:
            start, end = hidden_span(mouth.shape[1], max(1, round(hide_s * bundle.cfg.video.fps)), rng)
            mouth = mouth.clone()
            mouth[:, start:end] = 0.0  # blank, as hide_lips does for the whole clip
            no_face[:, start:end] = True  # what the front door reports for frames it found no face in
            hidden[round(start * units_per_frame) : round(end * units_per_frame)] = True
        sem = semantic_condition(bundle, mouth, tau=tau, face_missing=no_face)  # one whole clip, no padding
        raw, refined, flagged = sem.raw_units[0], sem.units[0], sem.flagged[0]  # [uT] each
        gain = (refined == units).float() - (raw == units).float()  # [uT] in {-1, 0, 1}
        gains["all"].append(float(gain.mean()))
        if hidden.any():
            gains["hidden"].append(float(gain[hidden].mean()))
        sums["raw_hidden"] += float(((raw == units) & hidden).sum())
        sums["refined_hidden"] += float(((refined == units) & hidden).sum())
        hidden_steps += int(hidden.sum())
        sums["raw"] += float((raw == units).sum())
        sums["refined"] += float((refined == units).sum())
        sums["flagged"] += float(flagged.sum())
        sums["similarity"] += float(sem.similarity[0].sum())
        sums["raw_flagged"] += float(((raw == units) & flagged).sum())
        sums["refined_flagged"] += float(((refined == units) & flagged).sum())
        steps += len(units)
    steps, flagged = max(steps, 1), max(sums["flagged"], 1.0)
    hidden_report = {}
    if hide_s > 0:
        hidden_report = {
            "hide_s": float(hide_s),
            "raw_accuracy_on_hidden": sums["raw_hidden"] / max(hidden_steps, 1),
            "refined_accuracy_on_hidden": sums["refined_hidden"] / max(hidden_steps, 1),
            "refinement_gain_on_hidden": _mean(gains["hidden"]),
            "refinement_gain_on_hidden_se": _standard_error(gains["hidden"]),
        }
    return {
        "clips": float(count),
        "unit_steps": float(steps),
        "raw_unit_accuracy": sums["raw"] / steps,
        "refined_unit_accuracy": sums["refined"] / steps,
        "detector_fire_rate": sums["flagged"] / steps,
        "mean_similarity": sums["similarity"] / steps,
        "raw_accuracy_on_flagged": sums["raw_flagged"] / flagged,
        "refined_accuracy_on_flagged": sums["refined_flagged"] / flagged,
        "refinement_gain": _mean(gains["all"]),  # per-clip refined - raw accuracy, averaged
        "refinement_gain_se": _standard_error(gains["all"]),
        **hidden_report,
        "tau": float(bundle.cfg.mlm.tau if tau is None else tau),
    }


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def _standard_error(values: list[float]) -> float:
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def plus_minus(row: dict[str, float], key: str) -> str:
    """``row[key]`` ± ``row[key + "_se"]``, signed."""
    return f"{row[key]:+.4f} ± {row[key + '_se']:.4f}"


def format_table(rows: list[dict[str, float]]) -> str:
    """Markdown: one row per tau (with the hidden span's columns when rows have them)."""
    hidden = any("hide_s" in r for r in rows)
    head = "| tau | fires | raw unit acc | refined unit acc | gain per clip | raw acc on flagged | "
    head += "refined acc on flagged |"
    rule = "|---|---|---|---|---|---|---|"
    if hidden:
        head += " raw acc on hidden | refined acc on hidden | gain on hidden per clip |"
        rule += "---|---|---|"
    lines = [head, rule]
    for r in rows:
        line = (
            f"| {r['tau']:.2f} | {r['detector_fire_rate']:.1%} | {r['raw_unit_accuracy']:.3f} | "
            f"{r['refined_unit_accuracy']:.3f} | {plus_minus(r, 'refinement_gain')} | "
            f"{r['raw_accuracy_on_flagged']:.3f} | {r['refined_accuracy_on_flagged']:.3f} |"
        )
        if hidden:
            line += f" {r['raw_accuracy_on_hidden']:.3f} | {r['refined_accuracy_on_hidden']:.3f} |"
            line += f" {plus_minus(r, 'refinement_gain_on_hidden')} |"
        lines.append(line)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m imagintalk.eval.semantic", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("data", type=Path, help="a prepared data directory (imagintalk prepare)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--tau", type=float, nargs="+", help="detector thresholds (default: the model's)")
    parser.add_argument("--limit", type=int, help="only the first N clips")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    parser.add_argument(
        "--hide", type=float, default=0.0, metavar="SECONDS",
        help="blank the mouth over one span of this many seconds per clip (seeded; default 0: none)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="where the hidden spans fall")
    args = parser.parse_args(argv)
    bundle = load_bundle(args.model, torch.device("cpu"), components=("lip", "mlm"))
    dataset = FeatureDataset(args.data, None, None, bundle.cfg.seed)
    taus = args.tau or [None]
    rows = [semantic_report(bundle, dataset, args.limit, tau, args.hide, args.seed) for tau in taus]
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
