"""The evaluation harness: outside judges score generated speech against ground truth.

``evaluate(manifest, systems, codec, out_dir)`` -> results (also results.json / .md).
Metrics live one per module (wer, intelligibility, quality, speaker, pitch, prosody);
the registry is :data:`imagintalk.eval.metrics.METRICS`. Imported lazily so that one judge
(e.g. ``imagintalk.eval.asr``) imports without the whole harness.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "CODEC_ROUND_TRIP": ".harness",
    "GROUND_TRUTH": ".harness",
    "evaluate": ".harness",
    "METRICS": ".metrics",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
