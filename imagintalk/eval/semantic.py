"""What the semantic branch gets right: raw vs refined unit accuracy and the error detector's rate.

    python -m imagintalk.eval.semantic DATA_DIR [--model DIR] [--tau 0.9 0.8 ...] [--limit N]

DATA_DIR must be prepared (``imagintalk prepare DATA_DIR``: features/<id>.npz hold the
mouth ROIs and the reference units). Each clip is taken whole, through exactly the
inference path (:func:`imagintalk.models.bundle.semantic_condition`); the training of stage 1
reports the same numbers on its validation split.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import torch

from ..errors import InputError

KEYS = ("raw", "refined", "flagged", "similarity", "raw_flagged", "refined_flagged")


@torch.no_grad()
def semantic_report(
    bundle, dataset, max_clips: int | None = None, tau: float | None = None
) -> dict[str, float]:
    """Unit accuracy before / after MLM refinement over ``dataset`` (a FeatureDataset of whole clips).

    ``bundle``: a ModelBundle with ``lip`` and ``mlm``; ``tau``: the detector threshold (None: the
    model's). Accuracies are per unit step (50 Hz); "on_flagged" only over the flagged steps.
    """
    from ..data.collate import collate
    from ..models.bundle import semantic_condition

    device = next(bundle.lip.parameters()).device
    count = len(dataset) if max_clips is None else min(len(dataset), max_clips)
    if count == 0:
        raise InputError("no clips to score: is the data directory prepared?")
    sums, steps = dict.fromkeys(KEYS, 0.0), 0
    for index in range(count):
        batch = collate([dataset[index]])
        units = batch["units"].to(device)[0]  # [uT]
        sem = semantic_condition(bundle, batch["mouth"].to(device), tau=tau)  # one whole clip, no padding
        raw, refined, flagged = sem.raw_units[0], sem.units[0], sem.flagged[0]  # [uT] each
        sums["raw"] += float((raw == units).sum())
        sums["refined"] += float((refined == units).sum())
        sums["flagged"] += float(flagged.sum())
        sums["similarity"] += float(sem.similarity[0].sum())
        sums["raw_flagged"] += float(((raw == units) & flagged).sum())
        sums["refined_flagged"] += float(((refined == units) & flagged).sum())
        steps += len(units)
    steps, flagged = max(steps, 1), max(sums["flagged"], 1.0)
    return {
        "clips": float(count),
        "unit_steps": float(steps),
        "raw_unit_accuracy": sums["raw"] / steps,
        "refined_unit_accuracy": sums["refined"] / steps,
        "detector_fire_rate": sums["flagged"] / steps,
        "mean_similarity": sums["similarity"] / steps,
        "raw_accuracy_on_flagged": sums["raw_flagged"] / flagged,
        "refined_accuracy_on_flagged": sums["refined_flagged"] / flagged,
        "tau": float(bundle.cfg.mlm.tau if tau is None else tau),
    }


def format_table(rows: list[dict[str, float]]) -> str:
    """Markdown: one row per tau."""
    lines = [
        "| tau | fires | raw unit acc | refined unit acc | raw acc on flagged | refined acc on flagged |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['tau']:.2f} | {r['detector_fire_rate']:.1%} | {r['raw_unit_accuracy']:.3f} | "
            f"{r['refined_unit_accuracy']:.3f} | {r['raw_accuracy_on_flagged']:.3f} | "
            f"{r['refined_accuracy_on_flagged']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from ..builders import DEFAULT_MODELS_DIR
    from ..data.dataset import FeatureDataset
    from ..models.bundle import load_bundle

    parser = argparse.ArgumentParser(
        prog="python -m imagintalk.eval.semantic", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("data", type=Path, help="a prepared data directory (features/*.npz)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODELS_DIR / "imagintalk")
    parser.add_argument("--tau", type=float, nargs="+", help="detector thresholds (default: the model's)")
    parser.add_argument("--limit", type=int, help="only the first N clips")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    bundle = load_bundle(args.model, torch.device("cpu"), components=("lip", "mlm"))
    dataset = FeatureDataset(args.data, None, None, bundle.cfg.seed)
    rows = [semantic_report(bundle, dataset, args.limit, tau) for tau in (args.tau or [None])]
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
