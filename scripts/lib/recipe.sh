# shellcheck shell=bash
# What the training recipes (scripts/train_default.sh, scripts/train_expressive.sh) share.

log() { echo "[$(date +%H:%M:%S)] $*"; }

# make_corpus OUT CLIPS SEED SPLIT [imagintalk synth args...]: make one SynthTalk split in OUT unless
# OUT already holds a manifest of CLIPS lines (a complete split); an incomplete one is made again.
# Uses the caller's IT (the imagintalk command) and WORKERS.
make_corpus() {
    local out=$1 clips=$2 seed=$3 split=$4
    shift 4
    if [[ -f "$out/manifest.jsonl" ]] && (($(wc -l <"$out/manifest.jsonl") == clips)); then
        log "synth $(basename "$out"): $clips clips already there"
        return 0
    fi
    log "synth $(basename "$out"): $clips clips"
    rm -rf "${out:?}"
    "$IT" synth --out "$out" --clips "$clips" --seed "$seed" --split "$split" \
        --workers "$WORKERS" --no-progress "$@"
}

# run_pair F G: the functions or commands F and G side by side; fails if either fails
run_pair() {
    "$1" & local a=$!
    "$2" & local b=$!
    local rc=0
    wait "$a" || rc=1
    wait "$b" || rc=1
    return $rc
}

# make_splits [imagintalk synth args...]: DATA/{train,val,test} with TRAIN_CLIPS / VAL_CLIPS /
# TEST_CLIPS clips and the seeds SEED, SEED + 1, SEED + 2
make_splits() {
    make_corpus "$DATA/train" "$TRAIN_CLIPS" "$SEED" train "$@"
    make_corpus "$DATA/val" "$VAL_CLIPS" $((SEED + 1)) val "$@"
    make_corpus "$DATA/test" "$TEST_CLIPS" $((SEED + 2)) test "$@"
}
