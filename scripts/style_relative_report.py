"""Stage 2's temporal prosody figures on a prepared data dir (issue 21; docs/style_branch.md).

    python scripts/style_relative_report.py MODEL_DIR DATA_DIR

Prints ``train.stage2.relative_report`` over every clip of DATA_DIR (JSON): relative F0 and
energy correlations, emphasised-word and question accuracy of the adapter's heads.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from imagintalk.data.dataset import FeatureDataset
from imagintalk.models.bundle import load_bundle
from imagintalk.train.stage2 import relative_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("data_dir", type=Path)
    args = parser.parse_args()
    style = load_bundle(args.model_dir, components=("style",)).style.eval()
    report = relative_report(style, FeatureDataset(args.data_dir, None, None, 0), style.cfg.use_face_encoder)
    print(json.dumps({k: round(v, 4) for k, v in report.items()}))


if __name__ == "__main__":
    main()
