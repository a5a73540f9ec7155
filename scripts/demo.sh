#!/usr/bin/env bash
# The main job: make a small SynthTalk test split and score its ground truth and the
# codec round trip with the evaluation harness. Output under ${1:-out/demo}.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/demo}
.venv/bin/imagintalk synth --out "$OUT/synthtalk" --clips 4 --seed 7 --split test
.venv/bin/imagintalk preprocess "$OUT/synthtalk"
.venv/bin/imagintalk eval "$OUT/synthtalk" --out "$OUT/eval"
echo
echo "demo: clips in $OUT/synthtalk, metric table in $OUT/eval/results.md"
