#!/usr/bin/env bash
# The reproducible recipe for the default ImaginTalk model (synth preset, CPU):
#   SynthTalk train / val / test corpora (+ larger train_N corpora for stage 3's last phases)
#   -> prepare -> train stages 1, 2, 3 (the Style-DiT, then the fine-level completer)
#   -> speak the first SPEAK_CLIPS test clips -> eval.
# Idempotent: a corpus with a manifest is kept, prepare skips finished clips, a trained stage
# (its weights + val_metrics.json present) is skipped, an interrupted one resumes (--resume),
# a spoken wav is kept. Everything is parameterised by environment variables:
#
#   TRAIN_CLIPS=240 MORE_CLIPS="480 960" VAL_CLIPS=24 TEST_CLIPS=16 LIP_STEPS=300 DIT_STEPS=400 \
#       bash scripts/train_default.sh
#
# On 2 cores the independent jobs run side by side, one thread each: stages 1 and 2, then
# stage 3 and its single-adaLN ablation (the same stage-3 runs with dit.dual_adaln=false in
# $OUT/single_adaln). The sampling temperature and guidance weight are chosen on val clips. The test clips are then
# spoken by the full model and the ablations (no MLM refinement, single adaLN, lips hidden) and
# scored with the ground truth and the codec round trip in one table: $OUT/eval/results.md, with
# every row's clip-by-clip difference to the full model (does each ablation measurably lose?).
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
TRAIN_CLIPS=${TRAIN_CLIPS:-1000}
MORE_CLIPS=${MORE_CLIPS:-2000 4000}  # stage 3's last phases, one per corpus size, growing (0: none)
VAL_CLIPS=${VAL_CLIPS:-60}
TEST_CLIPS=${TEST_CLIPS:-40}
SEED=${SEED:-1}                     # corpus seeds: train SEED, val SEED+1, test SEED+2
WORKERS=${WORKERS:-2}
LIP_STEPS=${LIP_STEPS:-}
MLM_STEPS=${MLM_STEPS:-}
STYLE_STEPS=${STYLE_STEPS:-}
DIT_STEPS=${DIT_STEPS:-}
DIT_ALL_STEPS=${DIT_ALL_STEPS:-2400}  # stage 3's first phase, over all 12 codec levels
DIT_MORE_STEPS=${DIT_MORE_STEPS:-4000}  # each of stage 3's last phases, on MORE_CLIPS clips
DIT_MORE_LR=${DIT_MORE_LR:-1e-4}
TUNE_CLIPS=${TUNE_CLIPS:-30}        # val clips that choose the sampling temperature and guidance
TUNE_TEMPERATURES=${TUNE_TEMPERATURES:-1 0.7 0.5 0.3 0.2}
TUNE_GUIDANCE=${TUNE_GUIDANCE:-0}   # guidance weights tried (0 = off; > 0 needs train.dit_drop_conditions)
MLM_TEXT=${MLM_TEXT:-}              # extra text-only unit sequences for the MLM
SPEAKERS=${SPEAKERS:-120}           # SynthTalk speaker pool (more voices: a better face -> voice map)
TEST_SPEAKERS=${TEST_SPEAKERS:-16}  # ... of which the test split owns the last ones
SPEAK_CLIPS=${SPEAK_CLIPS:-$TEST_CLIPS}
SPEAK_STEPS=${SPEAK_STEPS:-64}
DIT_AMP=${DIT_AMP:-bf16}            # stage-3 autocast (bf16: ~25% faster on these CPUs)
ABLATIONS=${ABLATIONS:-1}           # 0: only the full model (no single-adaLN training, no ablation wavs)
EXTRA_SET=${EXTRA_SET:-}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # per job; two jobs share the 2 cores

SETS=(--set "synth.num_speakers=$SPEAKERS" --set "synth.num_test_speakers=$TEST_SPEAKERS")
add_set() { [[ -n "$2" ]] && SETS+=(--set "$1=$2"); return 0; }
add_set train.lip.steps "$LIP_STEPS"
add_set train.mlm.steps "$MLM_STEPS"
add_set train.style.steps "$STYLE_STEPS"
add_set train.dit.steps "$DIT_STEPS"
add_set train.mlm_extra_text_sequences "$MLM_TEXT"
for kv in $EXTRA_SET; do SETS+=(--set "$kv"); done

mkdir -p "$OUT/logs"
# shellcheck source=lib/recipe.sh
source scripts/lib/recipe.sh

# 1. corpora (a manifest means the split is complete)
make_splits --preset "$PRESET" "${SETS[@]}"

# the larger training corpora of stage 3's last phases ($DATA/train_N for each N in MORE_CLIPS):
# the same seed, so each one's first clips are the previous one's (their features are linked in,
# not computed twice)
read -ra MORE_SIZES <<<"$MORE_CLIPS"
[[ "${MORE_SIZES[*]}" == "0" ]] && MORE_SIZES=()
previous=$TRAIN_CLIPS
for clips in "${MORE_SIZES[@]}"; do
    if ((clips <= previous)); then
        log "MORE_CLIPS must grow past TRAIN_CLIPS ($TRAIN_CLIPS), one size after another: got $MORE_CLIPS"
        exit 2
    fi
    previous=$clips
    make_corpus "$DATA/train_$clips" "$clips" "$SEED" train --preset "$PRESET" "${SETS[@]}"
done

# 2. training features (finished clips are skipped)
for split in train val; do
    log "prepare $split"
    "$IT" prepare "$DATA/$split" --workers "$WORKERS" --no-progress --preset "$PRESET" "${SETS[@]}"
done
smaller=$DATA/train
for clips in "${MORE_SIZES[@]}"; do
    more="$DATA/train_$clips"
    mkdir -p "$more/features"
    # the smaller corpus's features serve this one only when its clips are the same (manifest lines)
    if cmp -s <(head -n "$(wc -l <"$smaller/manifest.jsonl")" "$more/manifest.jsonl") "$smaller/manifest.jsonl"; then
        for feature in "$smaller/features"/*; do
            shared="$more/features/$(basename "$feature")"
            [[ -e "$shared" ]] || ln "$feature" "$shared" 2>/dev/null || cp "$feature" "$shared"
        done
        rm -f "$more/features/prepare_report.json"
    fi
    log "prepare train_$clips"
    "$IT" prepare "$more" --workers "$WORKERS" --no-progress --preset "$PRESET" "${SETS[@]}"
    smaller=$more
done

# 3. the three stages; a finished stage is skipped, an interrupted one resumes
stage_done() {  # model dir, stage number -> 0 when its weights and validation metrics exist
    case $2 in
        1) [[ -f $1/lip.safetensors && -f $1/mlm.safetensors && -f $1/runs/stage1_mlm/val_metrics.json ]] ;;
        2) [[ -f $1/style.safetensors && -f $1/runs/stage2/val_metrics.json ]] ;;
        3) if [[ ${ONLY:-dit} == fine ]]; then
            [[ -f $1/fine.safetensors && -f $1/runs/stage3_fine/val_metrics.json ]]
        else
            [[ -f $1/dit.safetensors && -f $1/runs/stage3/val_metrics.json ]]
        fi ;;
    esac
}
train_stage() {  # model dir, stage, log name, extra args... (skipped when done)
    local dir=$1 stage=$2 name=$3
    shift 3
    if stage_done "$dir" "$stage"; then
        log "$name already trained"
        return 0
    fi
    log "train $name"
    local only=()  # stage 3: the DiT phases (ONLY unset), or the fine-level completer (ONLY=fine)
    ((stage == 3)) && only=(--only "${ONLY:-dit}")
    "$IT" train --stage "$stage" --preset "$PRESET" --data "${STAGE_DATA:-$DATA/train}" --val-data "$DATA/val" \
        --out "$dir" --resume --no-progress "${only[@]}" "${SETS[@]}" "$@" >"$OUT/logs/$name.log" 2>&1 ||
        { log "$name failed: see $OUT/logs/$name.log"; return 1; }
    log "$name done"
}
stage1() { OMP_NUM_THREADS=2 train_stage "$MODEL" 1 stage1; }  # the longer one: 2 threads
stage2() { train_stage "$MODEL" 2 stage2; }
run_pair stage1 stage2

# Stage 3 runs in phases: a DiT over all the codec's levels (DIT_ALL_STEPS), then a DiT over
# the coarse levels only (the preset's dit.num_codebooks, 4 of 12), started from it
# (--init-dit), then one phase per MORE_CLIPS size: the previous phase's DiT trained on at a
# lower rate on the larger corpus (on 1000 clips alone the coarse DiT overfits: its val loss
# rises from step 2000 on). The last phase is the shipped DiT. The single-adaLN ablation
# (dit.dual_adaln=false) gets the same phases.
derived_dir() {  # source model dir, new model dir, JSON of dit settings to change
    mkdir -p "$2"
    cp -u "$1"/{lip,mlm,style}.safetensors "$2"/
    # the same model config but for those settings (stage 3 refuses a model dir of other settings)
    .venv/bin/python -c 'import json, sys
config = json.load(open(sys.argv[1]))
config["dit"].update(json.loads(sys.argv[3]))
json.dump(config, open(sys.argv[2], "w"), indent=2)' "$1/config.json" "$2/config.json" "$3"
}
LEVELS=$(.venv/bin/python -c 'import json, sys
print(json.load(open(sys.argv[1]))["codec"]["num_codebooks"])' "$MODEL/config.json")  # 12 for synth
ALL_LEVELS=(--set "dit.num_codebooks=$LEVELS" --set "train.dit.steps=$DIT_ALL_STEPS"
    --set train.dit.eval_every=400 --set train.dit.ckpt_every=400)
MORE_PHASE=(--set "train.dit.steps=$DIT_MORE_STEPS" --set "train.dit.lr=$DIT_MORE_LR"
    --set train.dit.warmup_steps=100 --set train.dit.ckpt_every=1000 --set train.dit.eval_every=1000)
ABLATION=$OUT/single_adaln  # global style only (frozen stages 1-2 copied)
coarse_then_more() {  # final dir, log name, coarse-phase start, dit settings JSON, extra args...
    local final=$1 name=$2 start=$3 settings=$4
    shift 4
    if ((${#MORE_SIZES[@]} == 0)); then
        train_stage "$final" 3 "$name" --amp "$DIT_AMP" --init-dit "$start" "$@"
        return
    fi
    derived_dir "$MODEL" "$final.coarse" "$settings"
    train_stage "$final.coarse" 3 "${name}_coarse" --amp "$DIT_AMP" --init-dit "$start" "$@" || return 1
    local previous=$final.coarse dir last=${MORE_SIZES[-1]} clips
    for clips in "${MORE_SIZES[@]}"; do
        dir=$final
        if ((clips != last)); then
            dir=$final.more$clips
            derived_dir "$MODEL" "$dir" "$settings"
        fi
        STAGE_DATA=$DATA/train_$clips train_stage "$dir" 3 "${name}_more$clips" --amp "$DIT_AMP" \
            --init-dit "$previous" "${MORE_PHASE[@]}" "$@" || return 1
        previous=$dir
    done
}
stage3() {
    derived_dir "$MODEL" "$OUT/all_levels" "{\"num_codebooks\": $LEVELS}"
    train_stage "$OUT/all_levels" 3 stage3_all_levels --amp "$DIT_AMP" "${ALL_LEVELS[@]}" &&
        coarse_then_more "$MODEL" stage3 "$OUT/all_levels" '{}'
}
stage3_single() {
    derived_dir "$MODEL" "$OUT/single_adaln_all_levels" "{\"num_codebooks\": $LEVELS, \"dual_adaln\": false}"
    derived_dir "$MODEL" "$ABLATION" '{"dual_adaln": false}'
    train_stage "$OUT/single_adaln_all_levels" 3 stage3_single_adaln_all_levels --amp "$DIT_AMP" \
        "${ALL_LEVELS[@]}" --set dit.dual_adaln=false &&
        coarse_then_more "$ABLATION" stage3_single_adaln "$OUT/single_adaln_all_levels" \
            '{"dual_adaln": false}' --set dit.dual_adaln=false
}
if ((ABLATIONS)); then run_pair stage3 stage3_single; else stage3; fi

# stage 3's second network, the fine-level completer: the codec levels the coarse DiT leaves out
# (8 of 12), regressed from the coarse ones and c_id on the largest corpus's own codes. It does
# not depend on the DiT, so the single-adaLN ablation (spoken with --dit-weights) shares it.
completes=$(.venv/bin/python -c 'import json, sys
from imagintalk.settings import config_from_dict
print(int(config_from_dict(json.load(open(sys.argv[1]))).completes_fine_levels))' "$MODEL/config.json")
if ((completes)); then
    fine_data=$DATA/train
    ((${#MORE_SIZES[@]})) && fine_data=$DATA/train_${MORE_SIZES[-1]}
    ONLY=fine STAGE_DATA=$fine_data train_stage "$MODEL" 3 stage3_fine
fi

# the weight of the lips' vote in MLM refinement, chosen on the validation split (clean and with
# 0.4 s of hidden mouth per clip) and stored in $MODEL/config.json: the ablations share it
log "choose the MLM refinement's visual prior weight on val"
.venv/bin/python -m imagintalk.eval.tune_refinement "$DATA/val" --model "$MODEL" --write |
    tee "$OUT/refinement_val.md"

# the sampling temperature and guidance weight, chosen on the validation split and stored in
# $MODEL/config.json (the ablations, spoken with --model $MODEL, sample with the same settings)
tuned=$(.venv/bin/python -c 'import json, sys
print(json.load(open(sys.argv[1])).get("sampling", {}).get("tuned_on", ""))' "$MODEL/config.json")
if [[ -z "$tuned" ]]; then
    log "choose the sampling temperature and guidance on val"
    # shellcheck disable=SC2086  # the lists split into words on purpose
    .venv/bin/python -m imagintalk.eval.tune_sampling "$DATA/val" --model "$MODEL" --limit "$TUNE_CLIPS" \
        --temperatures $TUNE_TEMPERATURES --guidance $TUNE_GUIDANCE --steps "$SPEAK_STEPS" --write |
        tee "$OUT/sampling_val.md"
fi

# 4. the semantic branch on the test split: raw vs MLM-refined unit accuracy over tau
log "prepare test + semantic report"
"$IT" prepare "$DATA/test" --workers "$WORKERS" --no-progress --preset "$PRESET" "${SETS[@]}"
.venv/bin/python -m imagintalk.eval.semantic "$DATA/test" --model "$MODEL" --tau 0.9 0.8 0.7 0.6 \
    --json "$OUT/semantic_test.json" | tee "$OUT/semantic_test.md"
.venv/bin/python -m imagintalk.eval.semantic "$DATA/test" --model "$MODEL" --tau 0.9 0.8 0.7 --hide 0.4 \
    --json "$OUT/semantic_test_hidden.json" | tee "$OUT/semantic_test_hidden.md"

# 5. speak the first SPEAK_CLIPS test clips: $OUT/speak/<system>/<id>.wav (one process per system)
mapfile -t videos < <(.venv/bin/python -c '
import json, sys
for line in list(open(sys.argv[1]))[: int(sys.argv[2])]:
    print(sys.argv[3] + "/video/" + json.loads(line)["id"] + ".mp4")' \
    "$DATA/test/manifest.jsonl" "$SPEAK_CLIPS" "$DATA/test")
speak() {  # system name, extra speak args...
    local name=$1
    shift
    log "speak: $name"
    "$IT" speak "${videos[@]}" -o "$OUT/speak/$name" --model "$MODEL" --steps "$SPEAK_STEPS" \
        --skip-existing "$@" >"$OUT/logs/speak_$name.log" 2>&1
}
speak_full() { speak imagintalk; }
speak_no_mlm() { speak no_mlm --no-refine; }
speak_single() { speak single_adaln --dit-weights "$ABLATION"; }
speak_no_lips() { speak lips_hidden --hide-lips; }
speak_no_fine() { speak no_fine --no-fine; }
systems=(--system "imagintalk=$OUT/speak/imagintalk")
if ((ABLATIONS)); then
    run_pair speak_full speak_no_mlm
    run_pair speak_single speak_no_lips
    systems+=(--system "no_mlm=$OUT/speak/no_mlm" --system "single_adaln=$OUT/speak/single_adaln")
    systems+=(--system "lips_hidden=$OUT/speak/lips_hidden")
    if ((completes)); then
        speak_no_fine
        systems+=(--system "no_fine=$OUT/speak/no_fine")
    fi
else
    speak_full
fi

# 6. score them against the ground truth and the codec round trip
log "eval"
"$IT" eval "$DATA/test" "${systems[@]}" --paired-to imagintalk --limit "$SPEAK_CLIPS" --out "$OUT/eval" \
    --preset "$PRESET" "${SETS[@]}"
log "done: $MODEL, table in $OUT/eval/results.md"
