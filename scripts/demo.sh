#!/usr/bin/env bash
# The main job: the shipped default model (models/imagintalk) gives a voice to the two silent
# sample clips in examples/. Output under ${1:-out/demo}: <clip>.wav (16 kHz speech) and
# <clip>.mp4 (the video with that speech as its sound track), plus <clip>.json (timings).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/demo}
mkdir -p "$OUT"
for clip in synthtalk_test photo_mouthing; do
    echo "== examples/$clip.mp4"
    .venv/bin/imagintalk speak "examples/$clip.mp4" -o "$OUT/$clip.wav" --mux "$OUT/$clip.mp4" \
        --json "$OUT/$clip.json"
done
echo
echo "demo: speech in $OUT/synthtalk_test.wav and $OUT/photo_mouthing.wav (videos with it: $OUT/*.mp4)"
