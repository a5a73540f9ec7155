#!/usr/bin/env bash
# From downloaded datasets to a trained paper-preset model and its LRS3 test table:
#   prepare each dataset (adapter + front door + DAC codes, packed shards)
#   -> train stages 1, 2, 3 under torchrun on every GPU of this machine (weighted dataset mix)
#   -> speak the LRS3 test clips -> eval (WER with your Whisper checkpoint, else pocketsphinx).
# Idempotent: prepared clips are skipped, a trained stage (weights + val metrics) is skipped, an
# interrupted one resumes, a spoken wav is kept. docs/training.md ("From datasets to a model")
# explains each step and what it costs.
#
#   DAC_DIR=/models/dac_16khz LRS3_ROOT=/data/LRS3 MEAD_ROOT=/data/MEAD RAVDESS_ROOT=/data/RAVDESS \
#       bash scripts/train_paper.sh
#
# A dataset whose root is unset is left out (at least one is needed; the test table needs LRS3).
# WEIGHTS sets the mix (default lrs3:3 mead:1 ravdess:1). Several machines: run the prepare step
# as a Slurm array or under torchrun (docs/training_data.md), and the training commands with
# torchrun --nnodes (docs/training.md, "Several GPUs and nodes").
set -euo pipefail
cd "$(dirname "$0")/.."

IT=${IMAGINTALK:-.venv/bin/imagintalk}
PY=${PYTHON:-.venv/bin/python}
DAC_DIR=${DAC_DIR:?set DAC_DIR to a DAC 16 kHz checkpoint dir (transformers save_pretrained layout)}
LRS3_ROOT=${LRS3_ROOT:-}
MEAD_ROOT=${MEAD_ROOT:-}
RAVDESS_ROOT=${RAVDESS_ROOT:-}
WHISPER_DIR=${WHISPER_DIR:-}        # optional: a Whisper checkpoint you own, for the WER column
WORK=${WORK:-runs/paper}            # prepared data, model, spoken wavs, tables, logs
MODEL=${MODEL:-$WORK/model}
WEIGHTS=${WEIGHTS:-lrs3:3 mead:1 ravdess:1}
WORKERS=${WORKERS:-$(nproc)}        # prepare processes
VAL_SHARE=${VAL_SHARE:-0.05}        # share of each dataset's speakers held out for validation
NPROC=${NPROC:-$( (nvidia-smi -L 2>/dev/null || true) | wc -l)}  # training processes (one per GPU)
GRAD_ACCUM=${GRAD_ACCUM:-1}
SPEAK_STEPS=${SPEAK_STEPS:-64}
EXTRA_SET=${EXTRA_SET:-}            # further --set overrides, e.g. "train.dit.steps=100000"
((NPROC >= 1)) || NPROC=1

SETS=()
for kv in $EXTRA_SET; do SETS+=(--set "$kv"); done
COMMON=(--preset paper --codec "$DAC_DIR" "${SETS[@]}")
mkdir -p "$WORK/logs"
log() { echo "[$(date +%H:%M:%S)] $*"; }

# 1. prepare every dataset that has a root (finished clips are skipped on a rerun)
declare -A ROOTS=([lrs3]=$LRS3_ROOT [mead]=$MEAD_ROOT [ravdess]=$RAVDESS_ROOT)
DATA_ARGS=()
for pair in $WEIGHTS; do
    name=${pair%%:*}
    weight=${pair#*:}
    [[ -n "${ROOTS[$name]:-}" ]] || continue
    log "prepare $name (${ROOTS[$name]})"
    "$IT" prepare --dataset "$name" --root "${ROOTS[$name]}" --workers "$WORKERS" --val-share "$VAL_SHARE" --no-progress \
        "${COMMON[@]}" "$WORK/data/$name" 2>&1 | tee "$WORK/logs/prepare_$name.log"
    DATA_ARGS+=(--data "$WORK/data/$name:$weight")
done
((${#DATA_ARGS[@]})) || { log "set at least one of LRS3_ROOT, MEAD_ROOT, RAVDESS_ROOT"; exit 2; }

# 2. the three stages on all GPUs of this machine (validation: the first dataset's val split,
#    speaker-disjoint from its train split); a finished stage is skipped
stage_done() {
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
    log "train stage $stage on $NPROC process(es)"
    "$PY" -m torch.distributed.run --standalone --nproc_per_node "$NPROC" -m imagintalk train \
        --stage "$stage" "${DATA_ARGS[@]}" --out "$MODEL" --resume --no-progress \
        --grad-accum "$GRAD_ACCUM" "${COMMON[@]}" >"$WORK/logs/stage$stage.log" 2>&1 ||
        { log "stage $stage failed: see $WORK/logs/stage$stage.log"; exit 1; }
done

# 3. speak LRS3's test clips, named by their clip ids (links <id>.mp4 -> the dataset's files)
[[ -n "$LRS3_ROOT" ]] || { log "no LRS3_ROOT: no test table"; exit 0; }
mkdir -p "$WORK/test_videos" "$WORK/speak/imagintalk"
"$PY" - "$WORK/data/lrs3/manifest.jsonl" "$WORK/test_videos" <<'EOF'
import json, os, sys
for line in open(sys.argv[1]):
    entry = json.loads(line)
    link = os.path.join(sys.argv[2], entry["id"] + ".mp4")
    if entry.get("split") == "test" and not os.path.lexists(link):
        os.symlink(entry["video"], link)
EOF
log "speak $(find "$WORK/test_videos" -name '*.mp4' | wc -l) LRS3 test clips"
find "$WORK/test_videos" -name '*.mp4' -print0 | xargs -0 -n 200 "$IT" speak --model "$MODEL" \
    --steps "$SPEAK_STEPS" --skip-existing -o "$WORK/speak/imagintalk" >"$WORK/logs/speak.log" 2>&1

# 4. the table: ground truth, the codec round trip and the model on LRS3 test
ASR=()
[[ -n "$WHISPER_DIR" ]] && ASR=(--asr-model "$WHISPER_DIR")
"$IT" eval --dataset lrs3 --root "$LRS3_ROOT" --split test --out "$WORK/eval/lrs3" \
    --system "imagintalk=$WORK/speak/imagintalk" --codec "$DAC_DIR" --paired-to "codec round trip" \
    "${ASR[@]}" "${COMMON[@]:0:2}" | tee "$WORK/logs/eval.log"
