#!/usr/bin/env bash
# Issue 21's recipe: the shipped model retrained for prosody that follows the face, on expressive
# SynthTalk, with its single-adaLN twin, then both spoken and judged on the test split (CPU).
#
#   expressive corpora: train (training voices), val (num_val_speakers held-out voices: choices
#     are made on voices no stage saw in this recipe), test (the held-out test voices)
#   -> prepare -> stage 2 from the shipped adapter with its identity path frozen (c_id, and so the
#     DiT's voice conditioning and the fine-level completer, stay as shipped) and the relative
#     prosody + emphasis / question heads on c_emo, one run per expression smoothing window in
#     SMOOTH_WINDOWS; the one with the best val relative-F0 correlation is kept
#   -> stage 3: the shipped Style-DiT trained on at a low rate with the new c_emo (dual adaLN),
#     and its twin with the temporal path removed (single adaLN, the same start, data and steps)
#   -> speak TEST_CLIPS test clips with each (and the model shipped before) -> eval, paired.
#
# Idempotent like scripts/train_default.sh: a corpus with its manifest, a prepared clip, a trained
# stage (weights + val_metrics.json) and a spoken wav are kept; an interrupted stage resumes.
#
#   TRAIN_CLIPS=1200 VAL_CLIPS=60 TEST_CLIPS=40 DIT_STEPS=3000 bash scripts/train_expressive.sh
set -euo pipefail
cd "$(dirname "$0")/.."

IT=${IMAGINTALK:-.venv/bin/imagintalk}
PY=.venv/bin/python
BASE=${BASE:-models/imagintalk}     # the model to start from
DATA=${DATA:-data/expr}
OUT=${OUT:-runs/expr}
TRAIN_CLIPS=${TRAIN_CLIPS:-1200}
VAL_CLIPS=${VAL_CLIPS:-60}
TEST_CLIPS=${TEST_CLIPS:-40}
SEED=${SEED:-1}                     # corpus seeds: train SEED, val SEED+1, test SEED+2
WORKERS=${WORKERS:-2}
VAL_SPEAKERS=${VAL_SPEAKERS:-8}     # held-out voices of the val split
SMOOTH_WINDOWS=${SMOOTH_WINDOWS:-0.5 0.2}  # style.smooth_window_s tried in stage 2 (seconds)
STYLE_STEPS=${STYLE_STEPS:-1500}
DIT_STEPS=${DIT_STEPS:-3000}
DIT_LR=${DIT_LR:-1e-4}
SPEAK_STEPS=${SPEAK_STEPS:-64}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # per job; two jobs share the 2 cores

SYNTH=(--set synth.num_speakers=120 --set synth.num_test_speakers=16
    --set "synth.num_val_speakers=$VAL_SPEAKERS" --set synth.expressive=true)
HEADS=(--set style.relative_prosody=true --set style.prosody_cues=true)
mkdir -p "$OUT/logs"
# shellcheck source=lib/recipe.sh
source scripts/lib/recipe.sh

# 1. corpora + features
make_splits --preset synth "${SYNTH[@]}"
for split in val test train; do
    log "prepare $split"
    "$IT" prepare "$DATA/$split" --workers "$WORKERS" --no-progress --preset synth "${SYNTH[@]}"
done

derived_dir() {  # new model dir, JSON of {section: {key: value}} to change in BASE's config
    mkdir -p "$1"
    cp -u "$BASE"/{lip,mlm,style,fine}.safetensors "$BASE"/neutral_expression.json "$1"/
    $PY -c 'import json, sys
config = json.load(open(sys.argv[1]))
for section, changes in json.loads(sys.argv[3]).items():
    config[section].update(changes)
json.dump(config, open(sys.argv[2], "w"), indent=2)' "$BASE/config.json" "$1/config.json" "$2"
}
trained() { [[ -f $1/$2.safetensors && -f $1/runs/$3/val_metrics.json ]]; }

# 2. stage 2, one run per smoothing window (side by side), from the shipped adapter
style_run() {  # smoothing window (s)
    local dir=$OUT/style_$1
    if trained "$dir" style stage2; then log "stage 2 (window $1 s) already trained"; return 0; fi
    derived_dir "$dir" "{\"style\": {\"smooth_window_s\": $1}}"
    rm -f "$dir/style.safetensors"
    log "stage 2, expression window $1 s"
    "$IT" train --stage 2 --config "$BASE/config.json" --data "$DATA/train" --val-data "$DATA/val" --out "$dir" \
        --init-style "$BASE" --resume --no-progress "${SYNTH[@]}" "${HEADS[@]}" \
        --set "style.smooth_window_s=$1" --set train.style_freeze_identity=true \
        --set "train.style.steps=$STYLE_STEPS" >"$OUT/logs/stage2_$1.log" 2>&1
}
read -ra WINDOWS <<<"$SMOOTH_WINDOWS"
style_first() { style_run "${WINDOWS[0]}"; }
style_second() { style_run "${WINDOWS[1]}"; }
if ((${#WINDOWS[@]} == 2)); then
    run_pair style_first style_second
else
    for window in "${WINDOWS[@]}"; do style_run "$window"; done
fi
# the window with the best validation relative-F0 correlation (per clip: the contour, not the level)
BEST=$($PY -c 'import json, sys
scores = {w: json.load(open(f"{sys.argv[1]}/style_{w}/runs/stage2/val_metrics.json")) for w in sys.argv[2:]}
for w, m in scores.items():
    print(f"window {w} s: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(m.items())), file=sys.stderr)
print(max(scores, key=lambda w: scores[w]["rel_f0_correlation_clip"]))' "$OUT" "${WINDOWS[@]}" 2>"$OUT/stage2_val.txt")
cat "$OUT/stage2_val.txt"
log "stage 2: the $BEST s window is kept"

# 3. stage 3: dual (the shipped DiT, new c_emo) and single adaLN (its twin), side by side
MODEL=$OUT/model
SINGLE=$OUT/single_adaln
STYLE_SETS=(--set "style.smooth_window_s=$BEST")
DIT_SETS=(--set "train.dit.steps=$DIT_STEPS" --set "train.dit.lr=$DIT_LR" --set train.dit.warmup_steps=100
    --set train.dit.eval_every=1000 --set train.dit.ckpt_every=500)
stage3_run() {  # model dir, name, extra args...
    local dir=$1 name=$2
    shift 2
    if trained "$dir" dit stage3; then log "$name already trained"; return 0; fi
    log "stage 3: $name"
    "$IT" train --stage 3 --only dit --config "$BASE/config.json" --data "$DATA/train" --val-data "$DATA/val" --out "$dir" \
        --init-dit "$BASE" --amp bf16 --resume --no-progress "${SYNTH[@]}" "${HEADS[@]}" "${STYLE_SETS[@]}" \
        "${DIT_SETS[@]}" "$@" >"$OUT/logs/$name.log" 2>&1
}
STYLE_JSON="\"style\": {\"smooth_window_s\": $BEST, \"relative_prosody\": true, \"prosody_cues\": true}"
for dual in true false; do
    dir=$MODEL
    [[ $dual == false ]] && dir=$SINGLE
    [[ -f $dir/config.json ]] && continue
    derived_dir "$dir" "{$STYLE_JSON, \"dit\": {\"dual_adaln\": $dual}}"
    cp "$OUT/style_$BEST/style.safetensors" "$dir/"
done
stage3_dual() { stage3_run "$MODEL" stage3_dual; }
stage3_single() { stage3_run "$SINGLE" stage3_single --set dit.dual_adaln=false; }
run_pair stage3_dual stage3_single

# 4. speak the test clips: the new model, its single-adaLN twin, the model shipped before
mapfile -t videos < <($PY -c '
import json, sys
for line in list(open(sys.argv[1]))[: int(sys.argv[2])]:
    print(sys.argv[3] + "/video/" + json.loads(line)["id"] + ".mp4")' \
    "$DATA/test/manifest.jsonl" "$TEST_CLIPS" "$DATA/test")
speak() {  # system name, model dir, extra args...
    local name=$1 model=$2
    shift 2
    log "speak: $name"
    "$IT" speak "${videos[@]}" -o "$OUT/speak/$name" --model "$model" --steps "$SPEAK_STEPS" \
        --skip-existing "$@" >"$OUT/logs/speak_$name.log" 2>&1
}
speak_dual() { speak dual_adaln "$MODEL"; }
speak_single() { speak single_adaln "$MODEL" --dit-weights "$SINGLE"; }
run_pair speak_dual speak_single
speak shipped_before "$BASE"

# 5. judge them, paired to the single-adaLN twin (the ablation's question: does dual earn its place?)
log "eval"
"$IT" eval "$DATA/test" --system "dual_adaln=$OUT/speak/dual_adaln" --system "single_adaln=$OUT/speak/single_adaln" \
    --system "shipped_before=$OUT/speak/shipped_before" --paired-to single_adaln --limit "$TEST_CLIPS" \
    --metrics "${METRICS:-wer_grammar,spk_sim,f0_rmse,f0_corr,emph_acc,q_rise,emo_judge,stoi}" \
    --out "$OUT/eval" --preset synth "${SYNTH[@]}"
log "done: $MODEL, table in $OUT/eval/results.md"
