#!/usr/bin/env bash
# The paper preset on this machine's GPUs: a small SynthTalk tree -> prepare (DAC 16 kHz codes)
# -> STEPS steps of each training stage under torchrun (nccl, bf16 autocast) -> one table:
# per network its clips/s (all ranks), peak GPU memory (one rank) and the loss, first vs last.
#
#   bash scripts/gpu_check.sh                        # every GPU, 200 steps per network
#   DAC_DIR=/models/dac_16khz STEPS=300 NPROC=4 bash scripts/gpu_check.sh
#
# Without DAC_DIR the DAC is built with random weights, explicitly allowed here: the figures
# (speed, memory, a falling loss) hold, the codes are a random codec's. DEVICE=cpu runs the same
# plumbing on the CPU (gloo, float32) as a smoke test: its figures are not GPU figures.
# Record the GPU figures in docs/training.md ("GPU check").
set -euo pipefail
cd "$(dirname "$0")/.."

IT=${IMAGINTALK:-.venv/bin/imagintalk}
PY=${PYTHON:-.venv/bin/python}
DEVICE=${DEVICE:-cuda}
if [[ $DEVICE == cuda ]]; then
    NPROC=${NPROC:-$( (nvidia-smi -L 2>/dev/null || true) | wc -l)}
    ((NPROC >= 1)) || { echo "error: no CUDA GPU found (nvidia-smi -L); DEVICE=cpu runs a smoke test" >&2; exit 2; }
    AMP=bf16
else
    NPROC=${NPROC:-2}
    AMP=none
fi
STEPS=${STEPS:-200}
CLIPS=${CLIPS:-$((64 * NPROC))}  # enough for one batch of every network on every rank
VAL_CLIPS=${VAL_CLIPS:-8}
WORKERS=${WORKERS:-$(nproc)}
WORK=${WORK:-$(mktemp -d -t imagintalk-gpu-check.XXXXXX)}
EXTRA_SET=${EXTRA_SET:-}  # e.g. "train.dit.batch_size=16" to fit a smaller GPU
SETS=(--preset paper)
if [[ -n ${DAC_DIR:-} ]]; then
    SETS+=(--codec "$DAC_DIR")
else
    SETS+=(--set codec.allow_random_weights=true)
fi
for kv in $EXTRA_SET; do SETS+=(--set "$kv"); done
LOG_EVERY=$((STEPS >= 40 ? STEPS / 20 : 1))  # about 20 log records per network
for net in lip mlm style dit fine; do SETS+=(--set "train.$net.log_every=$LOG_EVERY"); done
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
mkdir -p "$WORK/logs"
log "work dir $WORK; $NPROC process(es) on $DEVICE, $STEPS steps per network"

# 1. data: SynthTalk train + val, prepared with the paper preset's codec
for split_clips in "train $CLIPS" "val $VAL_CLIPS"; do
    read -r split clips <<<"$split_clips"
    [[ -f "$WORK/$split/manifest.jsonl" ]] ||
        "$IT" synth --out "$WORK/$split" --clips "$clips" --split "$split" --seed 3 --workers "$WORKERS" \
            --no-progress --preset paper >"$WORK/logs/synth_$split.log" 2>&1
    start=$SECONDS
    "$IT" prepare "$WORK/$split" --workers "$WORKERS" --no-progress "${SETS[@]}" >"$WORK/logs/prepare_$split.log" 2>&1 ||
        { log "prepare $split failed: see $WORK/logs/prepare_$split.log"; exit 1; }
    log "prepared $clips $split clips in $((SECONDS - start)) s ($WORKERS workers)"
done

# 2. STEPS steps of each stage under torchrun
for stage in 1 2 3; do
    log "stage $stage"
    "$PY" -m torch.distributed.run --standalone --nproc_per_node "$NPROC" -m imagintalk train \
        --stage "$stage" --data "$WORK/train" --val-data "$WORK/val" --out "$WORK/model" \
        --max-steps "$STEPS" --amp "$AMP" --device "$DEVICE" --no-progress "${SETS[@]}" \
        >"$WORK/logs/stage$stage.log" 2>&1 || { log "stage $stage failed: see $WORK/logs/stage$stage.log"; exit 1; }
done

# 3. the table, from each network's train_log.jsonl
"$PY" - "$WORK/model/runs" "$DEVICE" "$NPROC" <<'EOF'
import json, statistics, sys
from pathlib import Path

runs, device, nproc = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
memory = "peak_gpu_gib" if device == "cuda" else "peak_rss_gib"
print(f"| network | steps | clips/s ({nproc} x {device}) | peak {memory[5:8]} GiB | loss first -> last |")
print("|---|---|---|---|---|")
for log in sorted(runs.glob("*/train_log.jsonl")):
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["split"] == "train"]
    if not rows:
        continue
    speed = [r["clips_per_s"] for r in rows[1:]] or [rows[0]["clips_per_s"]]  # the first includes warm-up
    head = statistics.mean(r["loss"] for r in rows[:3])
    tail = statistics.mean(r["loss"] for r in rows[-3:])
    falls = "falls" if tail < head else "does not fall"
    print(f"| {log.parent.name} | {rows[-1]['step']} | {statistics.median(speed):.1f} | "
          f"{max(r.get(memory, 0) for r in rows):.2f} | {head:.3f} -> {tail:.3f} ({falls}) |")
EOF
