#!/usr/bin/env bash
# A screenshot of the desktop app in use, taken under Xvfb: a SynthTalk clip is played as the
# camera, the app speaks it (unattended mode) and saves its window once the first utterance is in
# the history. Output: docs/img/app.png (or $1). Uses the shipped model when it exists, else a
# debug model (untrained: the speech is noise, the window is the real one).
#
#   bash scripts/setup.sh && bash scripts/app_screenshot.sh [OUT.png]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/img/app.png}
WORK=out/app_screenshot
export OMP_NUM_THREADS=1
mkdir -p "$WORK" "$(dirname "$OUT")"

clip=$(ls "$WORK"/synth/video/*.mp4 2>/dev/null | head -n 1 || true)
if [ -z "$clip" ]; then
  .venv/bin/imagintalk synth --out "$WORK/synth" --clips 1 --seed 3 --split test --preset synth --workers 1 --no-progress
  clip=$(ls "$WORK"/synth/video/*.mp4 | head -n 1)
fi

MODEL=models/imagintalk
if [ ! -d "$MODEL" ]; then
  MODEL="$WORK/model"
  if [ ! -d "$MODEL" ]; then
    .venv/bin/python - "$WORK" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "tests")
from test_pipeline import make_debug_model
make_debug_model(Path(sys.argv[1]))
PY
  fi
fi

# A real output device for the app even on a machine without a sound card: an ALSA file sink
# (what is played lands in $WORK/played.wav), so that the window shows normal use.
cat > "$WORK/asound.conf" <<EOF
pcm.!default {
  type file
  slave.pcm { type null }
  file "$PWD/$WORK/played.wav"
  format "wav"
  hint { show on description "ImaginTalk screenshot sink" }
}
EOF
export ALSA_CONFIG_PATH="$PWD/$WORK/asound.conf"

rm -rf "$WORK/record" "$WORK/settings.ini" "$WORK/played.wav"
xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" .venv/bin/imagintalk-app \
  --source "$clip" --record-dir "$WORK/record" --exit-at-end --model "$MODEL" --steps 8 \
  --settings "$WORK/settings.ini" --screenshot "$OUT"
echo "screenshot: $OUT"
