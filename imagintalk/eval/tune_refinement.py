"""Choose the weight of the lips' vote in MLM refinement on held-out clips (val, never test).

    python -m imagintalk.eval.tune_refinement DATA_DIR [--model DIR] [--weights 1 2 3 5]
        [--hide 0.4] [--limit N] [--write]

The corrector fills each flagged unit with the MLM's log-probs plus ``mlm.visual_prior_weight``
times the aligner's cosine logits (:meth:`UnitMLM.refine_with_visual_prior`). A light vote lets
the MLM overrule a guess that was right (the detector flags many); a heavy one leaves it nothing
to correct. Each weight is scored twice on DATA_DIR's prepared clips
(:func:`imagintalk.eval.semantic.semantic_report`, at the model's tau): as they are, and with
the mouth hidden over one span of ``--hide`` seconds per clip (a face lost for a moment). The
score is the mean of the two per-clip paired gains (refined - raw unit accuracy), so the weight
must earn its keep where the lips are unseen without costing where they are seen. ``--write``
stores the winner as ``mlm.visual_prior_weight`` in the model's config.json.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from ..errors import ImaginTalkError, InputError


def score(clean: dict[str, float], hidden: dict[str, float]) -> float:
    """The mean of the clean and the hidden-span per-clip refinement gains."""
    return (clean["refinement_gain"] + hidden["refinement_gain"]) / 2


def main(argv: Sequence[str] | None = None) -> int:
    from ..builders import DEFAULT_MODELS_DIR

    parser = argparse.ArgumentParser(
        prog="python -m imagintalk.eval.tune_refinement", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("data", type=Path, help="a prepared data directory (val split)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODELS_DIR / "imagintalk")
    parser.add_argument("--weights", type=float, nargs="+", default=[1.0, 2.0, 3.0, 5.0])
    parser.add_argument("--hide", type=float, default=0.4, help="seconds of hidden mouth per clip (0.4)")
    parser.add_argument("--limit", type=int, help="only the first N clips")
    parser.add_argument("--seed", type=int, default=0, help="where the hidden spans fall")
    parser.add_argument("--write", action="store_true", help="store the winner in MODEL/config.json")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ImaginTalkError as exc:
        print(f"error: {exc}")
        return 1


def run(args: argparse.Namespace) -> int:
    from ..data.dataset import FeatureDataset
    from ..models.bundle import load_bundle
    from .semantic import plus_minus, semantic_report
    from .tune_sampling import update_model_config

    if args.hide <= 0:
        raise InputError(f"--hide must be > 0 seconds, got {args.hide}")
    if any(not w > 0 for w in args.weights):
        raise InputError(f"the weights must be > 0 (0 would switch the lips' vote off), got {args.weights}")
    bundle = load_bundle(args.model, torch.device("cpu"), components=("lip", "mlm"))
    dataset = FeatureDataset(args.data, None, None, bundle.cfg.seed)
    print("| weight | gain, clean clips | gain, clips with a hidden span | on the span | score |")
    print("|---|---|---|---|---|")
    scores = {}
    for weight in args.weights:
        bundle.cfg.mlm.visual_prior_weight = bundle.mlm.cfg.visual_prior_weight = weight
        clean = semantic_report(bundle, dataset, args.limit)
        hidden = semantic_report(bundle, dataset, args.limit, hide_s=args.hide, seed=args.seed)
        scores[weight] = score(clean, hidden)
        gains = [plus_minus(clean, "refinement_gain"), plus_minus(hidden, "refinement_gain")]
        gains.append(plus_minus(hidden, "refinement_gain_on_hidden"))
        print(f"| {weight:g} | {' | '.join(gains)} | {scores[weight]:+.4f} |", flush=True)
    best = max(scores, key=lambda w: scores[w])
    clips = len(dataset) if args.limit is None else min(args.limit, len(dataset))
    print(f"best on {clips} clips of {args.data}: weight {best:g}")
    if args.write:
        update_model_config(args.model, "mlm", visual_prior_weight=best)
        print(f"wrote mlm.visual_prior_weight = {best:g} to {args.model / 'config.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
