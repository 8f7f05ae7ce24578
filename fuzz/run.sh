#!/usr/bin/env bash
# run.sh — runs libFuzzer targets one after another (`make fuzz`), each for FUZZ_SECONDS
# on its committed corpus plus a scratch corpus under build/fuzz/ (new inputs go there,
# never into fuzz/corpus/), and prints per target: executions, exec/s, coverage, corpus
# growth. Exits 1 if any target crashed, naming the reproducer. With --merge instead adds
# to fuzz/corpus/<target>/ only the scratch inputs that increase coverage (`make fuzz-merge`).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

FUZZ_DIR=${FUZZ_DIR:-build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-1024}
FUZZ_TIMEOUT_S=${FUZZ_TIMEOUT_S:-10}   # one input running longer than this is a finding
FUZZ_MAX_LEN=${FUZZ_MAX_LEN:-4096}

merge=0
if [ "${1:-}" = "--merge" ]; then merge=1; shift; fi
[ $# -gt 0 ] || { echo "usage: $0 [--merge] TARGET..." >&2; exit 2; }

# value of "key: N" in the last line of $2 that matches $3
stat_of() { grep -E "$3" "$2" | tail -1 | sed -nE "s/.*$1: ([0-9]+).*/\1/p"; }
count_files() { find "$1" -maxdepth 1 -type f ! -name '.*' 2>/dev/null | wc -l; }

failed=()
printf '%-14s %10s %8s %6s %7s %-22s %s\n' target runs exec/s cov ft corpus result
for t in "$@"; do
    bin=$FUZZ_DIR/bin/$t
    scratch=$FUZZ_DIR/corpus/$t
    artifacts=$FUZZ_DIR/artifacts/$t/
    log=$FUZZ_DIR/logs/$t.log
    mkdir -p "$scratch" "$artifacts" "$(dirname "$log")" "fuzz/corpus/$t"
    dict=()
    [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
    if [ $merge -eq 1 ]; then
        before=$(count_files "fuzz/corpus/$t")
        "$bin" -merge=1 -rss_limit_mb="$FUZZ_RSS_MB" -max_len="$FUZZ_MAX_LEN" \
            -artifact_prefix="$artifacts" "fuzz/corpus/$t" "$scratch" >"$log" 2>&1 ||
            { echo "$t: merge failed, see $log"; failed+=("$t"); continue; }
        echo "$t: fuzz/corpus/$t $before -> $(count_files "fuzz/corpus/$t") files"
        continue
    fi
    stamp=$FUZZ_DIR/logs/$t.stamp
    touch "$stamp"
    # FUZZ_FLAGS adds libFuzzer flags, e.g. "-fork=1 -ignore_crashes=1" to go on past a
    # known bug and collect every distinct crash in one run.
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb="$FUZZ_RSS_MB" \
        -timeout="$FUZZ_TIMEOUT_S" -max_len="$FUZZ_MAX_LEN" -print_final_stats=1 \
        -artifact_prefix="$artifacts" "${dict[@]}" ${FUZZ_FLAGS:-} "$scratch" "fuzz/corpus/$t" \
        >"$log" 2>&1
    rc=$?
    corp0=
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
    eps=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log" | tail -1)
    if [ -z "$runs" ]; then # fork mode: "#N: cov: ... exec/s: E ..."
        runs=$(grep -E '^#[0-9]+:' "$log" | tail -1 | sed -nE 's/^#([0-9]+):.*/\1/p')
        eps=$(grep -E '^#[0-9]+:' "$log" | tail -1 | sed -nE 's/.*exec\/s:? ([0-9]+).*/\1/p')
        corp0=$(sed -nE 's/.*-fork=1: ([0-9]+) seed inputs.*/\1/p' "$log" | tail -1)
    fi
    new_artifacts=$(find "$artifacts" -maxdepth 1 -type f -newer "$stamp" | sort)
    [ $rc -eq 0 ] && [ -n "$new_artifacts" ] && rc=1
    cov=$(stat_of cov "$log" '^#[0-9]+')
    ft=$(stat_of ft "$log" '^#[0-9]+')
    [ -n "${corp0:-}" ] || corp0=$(grep -E 'INITED' "$log" | sed -nE 's/.*corp: ([0-9]+).*/\1/p' | tail -1)
    corp1=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -nE 's/.*corp: ([0-9]+).*/\1/p')
    if [ $rc -eq 0 ]; then
        result=ok
    else
        repro=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | sort -u | tr '\n' ' ')
        [ -z "$repro" ] && repro=$(echo "$new_artifacts" | tr '\n' ' ')
        result="CRASH (exit $rc): reproducer(s) ${repro:-none written}; log $log"
        failed+=("$t")
    fi
    printf '%-14s %10s %8s %6s %7s %-22s %s\n' "$t" "${runs:-?}" "${eps:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp0:-?} -> ${corp1:-?}" "$result"
    if [ $rc -ne 0 ]; then
        grep -E 'ERROR: |FUZZ_CHECK failed|Assertion|SUMMARY' "$log" | head -5 | sed 's/^/    /'
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}"
    exit 1
fi
if [ $merge -eq 1 ]; then echo "fuzz-merge: done"; exit 0; fi
echo "fuzz: all targets ran without a finding (new inputs kept in $FUZZ_DIR/corpus/)"
