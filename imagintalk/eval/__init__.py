"""The evaluation harness: outside judges score generated speech against ground truth.

``evaluate(manifest, systems, codec, out_dir)`` -> results (also results.json / .md).
Metrics live one per module (wer, intelligibility, quality, speaker, pitch, prosody);
the registry is :data:`imagintalk.eval.metrics.METRICS`.
"""

from __future__ import annotations

from .harness import CODEC_ROUND_TRIP, GROUND_TRUTH, evaluate
from .metrics import METRICS

__all__ = ["CODEC_ROUND_TRIP", "GROUND_TRUTH", "METRICS", "evaluate"]
