# shellcheck shell=bash
# make_corpus OUT CLIPS SEED SPLIT [imagintalk synth args...]: make one SynthTalk split in OUT unless
# OUT already holds a manifest of CLIPS lines (a complete split); an incomplete one is made again.
# Uses the caller's IT (the imagintalk command), WORKERS and log().
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
