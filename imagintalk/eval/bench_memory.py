"""Memory probe for ``imagintalk bench``: a fresh process loads the model, speaks one video and
prints its peak resident memory as JSON, so that the peaks of different runs never mix.

    python -m imagintalk.eval.bench_memory MODEL_DIR VIDEO BACKEND STEPS ONNX_DIR  (ONNX_DIR may be '')
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

from .bench import load_pipeline


def main(argv: list[str]) -> int:
    model, video, backend, steps, onnx_dir = argv
    pipeline = load_pipeline(Path(model), backend, int(steps), Path(onnx_dir) if onnx_dir else None)
    loaded_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: kilobytes
    pipeline.speak_file(video)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # the peak while loading tells whether speaking, or loading, sets the process's peak
    print(json.dumps({"peak_rss_mb": peak_kb / 1024, "load_peak_rss_mb": loaded_kb / 1024}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
