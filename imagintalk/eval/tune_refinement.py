"""Choose the weights of the lips' vote in MLM refinement on held-out clips (val, never test).

    python -m imagintalk.eval.tune_refinement DATA_DIR [--model DIR] [--weights 1 2 3 5 8]
        [--lost-face-weights 0.5 1 2] [--hide 0.4] [--limit N] [--write]

The corrector fills each flagged unit with the MLM's log-probs plus ``mlm.visual_prior_weight``
times the aligner's cosine logits (:meth:`UnitMLM.refine_with_visual_prior`). A light vote lets
the MLM overrule a guess that was right (the detector flags many); a heavy one leaves it nothing
to correct. Each weight is scored twice on DATA_DIR's prepared clips
(:func:`imagintalk.eval.semantic.semantic_report`, at the model's tau): as they are, and with
the mouth hidden over one span of ``--hide`` seconds per clip (a face lost for a moment). The
score is the mean of the two per-clip paired gains (refined - raw unit accuracy), so the weight
must earn its keep where the lips are unseen without costing where they are seen.

The hidden frames are reported to the refinement as frames without a detected face, as the
front door reports a lost face. Each weight is tried with lost-face steps treated like the
others (``mlm.refine_lost_face`` off) and with each of ``--lost-face-weights`` (on: those steps
are always refined, the lips' vote there weighing that much). ``--write`` stores the winner as
``mlm.visual_prior_weight``, ``mlm.refine_lost_face`` and ``mlm.lost_face_prior_weight`` in the
model's config.json.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from ..data.dataset import FeatureDataset
from ..errors import ImaginTalkError, InputError
from ..models.bundle import load_bundle
from ..settings import DEFAULT_MODEL_DIR
from .semantic import plus_minus, semantic_report
from .tune_sampling import update_model_config

Setting = tuple[float, "float | None"]  # (visual_prior_weight, lost_face_prior_weight; None = off)


def set_weights(bundle, setting: Setting) -> None:
    """Refine with ``setting`` from now on (the bundle's config and its MLM's, in memory)."""
    weight, lost = setting
    for cfg in (bundle.cfg.mlm, bundle.mlm.cfg):
        cfg.visual_prior_weight = weight
        cfg.refine_lost_face = lost is not None
        cfg.lost_face_prior_weight = 1.0 if lost is None else lost


def score(clean: dict[str, float], hidden: dict[str, float]) -> float:
    """The mean of the clean and the hidden-span per-clip refinement gains."""
    return (clean["refinement_gain"] + hidden["refinement_gain"]) / 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m imagintalk.eval.tune_refinement", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("data", type=Path, help="a prepared data directory (val split)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--weights", type=float, nargs="+", default=[1.0, 2.0, 3.0, 5.0, 8.0])
    parser.add_argument(
        "--lost-face-weights", type=float, nargs="*", default=[0.5, 1.0, 2.0],
        help="the lips' vote on steps without a detected face (none given: only the off setting)",
    )  # fmt: skip
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
    if args.hide <= 0:
        raise InputError(f"--hide must be > 0 seconds, got {args.hide}")
    if any(not w > 0 for w in args.weights):
        raise InputError(f"the weights must be > 0 (0 would switch the lips' vote off), got {args.weights}")
    if any(not w >= 0 for w in args.lost_face_weights):
        raise InputError(f"the lost-face weights must be >= 0, got {args.lost_face_weights}")
    bundle = load_bundle(args.model, torch.device("cpu"), components=("lip", "mlm"))
    dataset = FeatureDataset(args.data, None, None, bundle.cfg.seed)
    print("| weight | lost-face weight | gain, clean clips | gain, hidden-span clips | on the span | score |")
    print("|---|---|---|---|---|---|")
    scores: dict[Setting, float] = {}
    for weight in args.weights:
        set_weights(bundle, (weight, None))
        clean = semantic_report(bundle, dataset, args.limit)  # no lost face: the same for every lost weight
        for lost in [None, *args.lost_face_weights]:
            set_weights(bundle, (weight, lost))
            hidden = semantic_report(bundle, dataset, args.limit, hide_s=args.hide, seed=args.seed)
            scores[(weight, lost)] = score(clean, hidden)
            gains = [plus_minus(clean, "refinement_gain"), plus_minus(hidden, "refinement_gain")]
            gains.append(plus_minus(hidden, "refinement_gain_on_hidden"))
            lost_name = "off" if lost is None else f"{lost:g}"
            row = f"| {weight:g} | {lost_name} | {' | '.join(gains)} | {scores[(weight, lost)]:+.4f} |"
            print(row, flush=True)
    best_weight, best_lost = max(scores, key=lambda k: scores[k])
    clips = len(dataset) if args.limit is None else min(args.limit, len(dataset))
    lost_name = "off" if best_lost is None else f"{best_lost:g}"
    print(f"best on {clips} clips of {args.data}: weight {best_weight:g}, lost-face weight {lost_name}")
    if args.write:
        values = {"visual_prior_weight": best_weight, "refine_lost_face": best_lost is not None}
        if best_lost is not None:
            values["lost_face_prior_weight"] = best_lost
        update_model_config(args.model, "mlm", **values)
        written = ", ".join(f"mlm.{k} = {v}" for k, v in values.items())
        print(f"wrote {written} to {args.model / 'config.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
