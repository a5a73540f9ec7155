"""What the stage-3 condition fix changes for a model: each prepared clip's conditions the old way
(MLM prior weight 1, no ``face_missing``: how the shipped DiT's training conditions were made)
vs the way speaking makes them (the model's prior weight and lost-face rule).

    .venv/bin/python scripts/condition_fix_effect.py DATA_DIR [--model MODEL_DIR]

Prints the share of tokens whose refined unit (so c_lip row) differs, and the refined units'
agreement with the clips' own units both ways (mean, paired difference ± standard error).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch

from imagintalk.data.collate import collate
from imagintalk.data.dataset import FeatureDataset
from imagintalk.models.bundle import clip_conditions, load_bundle
from imagintalk.settings.paths import DEFAULT_MODEL_DIR


def mean_se(values: np.ndarray) -> str:
    return f"{values.mean():+.3f} ± {values.std(ddof=1) / math.sqrt(len(values)):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a prepared data dir")
    parser.add_argument(
        "--model", default=str(DEFAULT_MODEL_DIR), help="model dir (default: the shipped one)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    bundle = load_bundle(args.model, torch.device("cpu"), components=("lip", "mlm", "style"))
    mlm = bundle.cfg.mlm
    print(f"prior weight {mlm.visual_prior_weight}, lost-face rule {mlm.refine_lost_face}, tau {mlm.tau}")
    dataset = FeatureDataset(args.data, None)
    differ, old_acc, new_acc, flagged = [], [], [], []
    for index in range(len(dataset)):
        batch = collate([dataset[index]])
        inputs = (bundle, batch["mouth"], batch["identity"], batch["expression"])
        new = clip_conditions(*inputs, ~batch["detected"], batch["face_crops"]).semantic
        weight, mlm.visual_prior_weight = mlm.visual_prior_weight, 1.0
        old = clip_conditions(*inputs, None, batch["face_crops"]).semantic
        mlm.visual_prior_weight = weight
        truth = batch["units"][0]
        keep = truth >= 0
        differ.append(float((new.units[0] != old.units[0])[keep].float().mean()))
        old_acc.append(float((old.units[0] == truth)[keep].float().mean()))
        new_acc.append(float((new.units[0] == truth)[keep].float().mean()))
        flagged.append(float(new.flagged[0][keep].float().mean()))
    differ_a, old_a, new_a = np.array(differ), np.array(old_acc), np.array(new_acc)
    print(f"clips {len(differ_a)}; tokens flagged by the detector {np.mean(flagged):.3f}")
    print(f"tokens whose refined unit (c_lip row) differs old vs new: {mean_se(differ_a)}")
    print(f"unit accuracy vs the clips' units: old {old_a.mean():.3f}, new {new_a.mean():.3f}")
    print(f"paired new - old: {mean_se(new_a - old_a)}")


if __name__ == "__main__":
    main()
