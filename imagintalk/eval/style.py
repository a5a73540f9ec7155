"""What the face-style adapter gets right: the face -> voice map and the emotion / F0 heads.

    python -m imagintalk.eval.style DATA_DIR [--model DIR] [--limit N] [--json OUT]

DATA_DIR must be prepared (``imagintalk prepare DATA_DIR``: its features/ hold the face
descriptors, expression features and the target speech's speaker embedding and prosody). Run it
on the test split to see how well the map reaches voices it never trained on; stage 2 reports
the same numbers on its validation split.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from ..data.collate import collate, style_inputs
from ..data.dataset import FeatureDataset
from ..errors import InputError
from ..models.bundle import load_bundle
from ..settings import DEFAULT_MODEL_DIR


def _pearson(a: Tensor, b: Tensor) -> float:
    if a.numel() < 2:
        return float("nan")
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()).clamp(min=1e-12))


@torch.no_grad()
def style_report(
    adapter: nn.Module, dataset, use_face_encoder: bool, max_clips: int | None = None
) -> dict[str, float]:
    """Whole clips of ``dataset`` (a FeatureDataset): speaker cosine, emotion accuracy, F0 correlation.

    speaker cosine: the adapter's speaker head [256] against the target speech's embedding, mean
    over clips; emotion accuracy over the clips with a label; F0: Pearson over voiced tokens.
    """
    device = next(adapter.parameters()).device
    count = len(dataset) if max_clips is None else min(len(dataset), max_clips)
    if count == 0:
        raise InputError("no clips to score: is the data directory prepared?")
    cosines, hits, labelled, f0_pred, f0_true = [], 0, 0, [], []
    for index in range(count):
        batch = collate([dataset[index]])
        inputs = {
            k: (None if v is None else v.to(device)) for k, v in style_inputs(batch, use_face_encoder).items()
        }
        out = adapter(**inputs)
        target = torch.nn.functional.normalize(batch["speaker_embedding"].to(device), dim=-1)  # [1, 256]
        cosines.append(float((out["speaker"] * target).sum()))
        if int(batch["emotion"][0]) >= 0:
            labelled += 1
            hits += int(out["emotion_logits"].argmax(-1)[0] == batch["emotion"][0].to(device))
        voiced = batch["prosody"]["voiced"][0].to(device) > 0.5  # [2T]
        f0_pred.append(out["log_f0"][0][voiced].float())
        f0_true.append(batch["prosody"]["log_f0"][0].to(device)[voiced])
    return {
        "clips": float(count),
        "speaker_cosine": sum(cosines) / len(cosines),
        "speaker_cosine_min": min(cosines),
        "emotion_accuracy": hits / labelled if labelled else float("nan"),
        "f0_correlation": _pearson(torch.cat(f0_pred), torch.cat(f0_true)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m imagintalk.eval.style", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("data", type=Path, help="a prepared data directory (imagintalk prepare)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--limit", type=int, help="only the first N clips")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    bundle = load_bundle(args.model, torch.device("cpu"), components=("style",))
    dataset = FeatureDataset(args.data, None, None, bundle.cfg.seed)
    report = style_report(bundle.style.eval(), dataset, bundle.cfg.style.use_face_encoder, args.limit)
    print("| clips | speaker cosine (mean / min) | emotion accuracy | F0 correlation |")
    print("|---|---|---|---|")
    print(
        f"| {report['clips']:.0f} | {report['speaker_cosine']:.3f} / {report['speaker_cosine_min']:.3f} | "
        f"{report['emotion_accuracy']:.3f} | {report['f0_correlation']:.3f} |"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
