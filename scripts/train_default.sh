#!/usr/bin/env bash
# The reproducible recipe for the default ImaginTalk model (synth preset, CPU):
#   SynthTalk train / val / test corpora -> prepare -> train stages 1, 2, 3
#   -> speak the first SPEAK_CLIPS test clips -> eval with --system.
# Idempotent: a corpus with a manifest is kept, prepare skips finished clips, a trained stage
# (its weights + val_metrics.json present) is skipped, an interrupted one resumes (--resume),
# a spoken wav is kept. Everything is parameterised by environment variables:
#
#   TRAIN_CLIPS=240 VAL_CLIPS=24 TEST_CLIPS=16 LIP_STEPS=300 DIT_STEPS=400 bash scripts/train_default.sh
#
# Unset step counts keep the synth preset's (imagintalk/train/config.py). EXTRA_SET holds
# further config overrides ("train.lip.batch_size=4 seed=1"), passed as --set to every command.
set -euo pipefail
cd "$(dirname "$0")/.."

IT=${IMAGINTALK:-.venv/bin/imagintalk}
PRESET=${PRESET:-synth}
DATA=${DATA:-data/default}          # corpora: $DATA/{train,val,test}
MODEL=${MODEL:-runs/default/model}  # model dir (bundle)
OUT=${OUT:-runs/default}            # spoken wavs, eval tables, logs
TRAIN_CLIPS=${TRAIN_CLIPS:-2000}
VAL_CLIPS=${VAL_CLIPS:-100}
TEST_CLIPS=${TEST_CLIPS:-40}
SEED=${SEED:-1}                     # corpus seeds: train SEED, val SEED+1, test SEED+2
WORKERS=${WORKERS:-2}
LIP_STEPS=${LIP_STEPS:-}
MLM_STEPS=${MLM_STEPS:-}
STYLE_STEPS=${STYLE_STEPS:-}
DIT_STEPS=${DIT_STEPS:-}
MLM_TEXT=${MLM_TEXT:-}              # extra text-only unit sequences for the MLM
SPEAK_CLIPS=${SPEAK_CLIPS:-8}
SPEAK_STEPS=${SPEAK_STEPS:-64}
EXTRA_SET=${EXTRA_SET:-}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

SETS=()
add_set() { [[ -n "$2" ]] && SETS+=(--set "$1=$2"); return 0; }
add_set train.lip.steps "$LIP_STEPS"
add_set train.mlm.steps "$MLM_STEPS"
add_set train.style.steps "$STYLE_STEPS"
add_set train.dit.steps "$DIT_STEPS"
add_set train.mlm_extra_text_sequences "$MLM_TEXT"
for kv in $EXTRA_SET; do SETS+=(--set "$kv"); done

mkdir -p "$OUT/logs"
log() { echo "[$(date +%H:%M:%S)] $*"; }

# 1. corpora (a manifest means the split is complete)
split_seed=$SEED
for split_clips in "train $TRAIN_CLIPS" "val $VAL_CLIPS" "test $TEST_CLIPS"; do
    read -r split clips <<<"$split_clips"
    if [[ -f "$DATA/$split/manifest.jsonl" ]] && (($(wc -l <"$DATA/$split/manifest.jsonl") == clips)); then
        log "synth $split: $clips clips already there"
    else
        log "synth $split: $clips clips"
        rm -rf "$DATA/$split"
        "$IT" synth --out "$DATA/$split" --clips "$clips" --seed "$split_seed" --split "$split" \
            --workers "$WORKERS" --no-progress --preset "$PRESET"
    fi
    split_seed=$((split_seed + 1))
done

# 2. training features (finished clips are skipped)
for split in train val; do
    log "prepare $split"
    "$IT" prepare "$DATA/$split" --workers "$WORKERS" --no-progress --preset "$PRESET" "${SETS[@]}"
done

# 3. the three stages; a finished stage is skipped, an interrupted one resumes
stage_done() {  # stage number -> 0 when its weights and validation metrics exist
    case $1 in
        1) [[ -f $MODEL/lip.safetensors && -f $MODEL/mlm.safetensors && -f $MODEL/runs/stage1_mlm/val_metrics.json ]] ;;
        2) [[ -f $MODEL/style.safetensors && -f $MODEL/runs/stage2/val_metrics.json ]] ;;
        3) [[ -f $MODEL/dit.safetensors && -f $MODEL/runs/stage3/val_metrics.json ]] ;;
    esac
}
for stage in 1 2 3; do
    if stage_done "$stage"; then
        log "stage $stage already trained"
        continue
    fi
    log "train stage $stage"
    "$IT" train --stage "$stage" --preset "$PRESET" --data "$DATA/train" --val-data "$DATA/val" \
        --out "$MODEL" --resume --no-progress "${SETS[@]}" 2>&1 | tee "$OUT/logs/stage$stage.log"
done

# 4. speak the first SPEAK_CLIPS test clips: $OUT/speak_<steps>/<id>.wav
wav_dir="$OUT/speak_$SPEAK_STEPS"
mkdir -p "$wav_dir"
mapfile -t ids < <(.venv/bin/python -c '
import json, sys
for line in list(open(sys.argv[1]))[: int(sys.argv[2])]:
    print(json.loads(line)["id"])' "$DATA/test/manifest.jsonl" "$SPEAK_CLIPS")
for id in "${ids[@]}"; do
    [[ -f "$wav_dir/$id.wav" ]] && continue
    log "speak $id"
    "$IT" speak "$DATA/test/video/$id.mp4" -o "$wav_dir/$id.wav" --model "$MODEL" \
        --steps "$SPEAK_STEPS" --json "$wav_dir/$id.json"
done

# 5. score them against the ground truth and the codec round trip
log "eval"
"$IT" eval "$DATA/test" --system "imagintalk=$wav_dir" --limit "$SPEAK_CLIPS" \
    --out "$OUT/eval_$SPEAK_STEPS" --preset "$PRESET"
log "done: $MODEL, table in $OUT/eval_$SPEAK_STEPS/results.md"
