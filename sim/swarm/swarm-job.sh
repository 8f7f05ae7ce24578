#!/usr/bin/env bash
# swarm-job.sh — runs ONE block of the swarm, for any batch engine: the 0-based block index
# comes from the argument (GNU parallel), else SLURM_ARRAY_TASK_ID (Slurm array), else
# JOB_COMPLETION_INDEX (Kubernetes Indexed Job). docs/SCALING.md has the whole story.
#   ALICHAIN_BLOCK_SEEDS  seeds per block (default 10000): block K runs K*N .. K*N+N-1
#   ALICHAIN_RESULTS      directory for the results (default results/): block-K.jsonl,
#                         block-K.log, and shrunk reproducers of failing seeds under failures-K/
#   ALICHAIN_SIM          the alichain-sim to run (default: the repository's, else PATH's)
#   ALICHAIN_SWARM_ARGS   more swarm options, e.g. "--no-shrink" (word-split)
#   ALICHAIN_JOB_MODE     swarm (default) or compare: `alichain-sim compare --generated` on the
#                         block's seeds (real programs on namespace hosts: root, ip, nft), the
#                         failing seeds' scenarios under failures-K/; same JSON lines, same report
#   ALICHAIN_HOST         the run line's "host" (default: this machine's name, uname -n)
#   ALICHAIN_ATTEMPT      the run line's "attempt" (default: the engine's name for this try:
#                         Slurm's job id and restart count, the Kubernetes pod, else the time and
#                         pid), so the report names where and in which try each failure ran
#   ALICHAIN_JOB_STDOUT   1: once the block is whole, its JSON lines are also copied to stdout
#                         (the summary line goes to stderr), for an engine that carries a job's
#                         output back with its exit status (GNU parallel over ssh): a host that
#                         dies before the last byte arrived fails the job, which is retried,
#                         where a file fetched after the job (--return) would just be missing.
#                         0 or unset: the file only
# Exit: 0 every seed passed, 1 a seed failed (the block's file is kept: a result, not to be
# retried), 2 cancelled or the run could not be done (nothing published: retry the block).
# The JSON lines and the log are written under names of this attempt's own,
# block-K.jsonl.partial-ATTEMPT and block-K.log.partial-ATTEMPT (ATTEMPT: ALICHAIN_ATTEMPT
# with every character but [A-Za-z0-9._-] as _), and renamed to block-K.jsonl and block-K.log
# (rename(2): atomic) only when the block is whole, so a retried block never mixes with a dead
# attempt's file, a killed job leaves no complete-looking file (alichain-sim report then names
# the seeds as missing), and two whole attempts leave one file, the last.
# SIGTERM, SIGINT, SIGHUP (an engine cancelling the job; Kubernetes signals only the pod's
# PID 1, which this script is) are forwarded at once to alichain-sim, which runs in the
# background so the trap runs while it does: it stops at a seed boundary (exit 3), the
# attempt's files are removed, exit 2.
set -uo pipefail

BLOCK_SEEDS_DEFAULT=10000
here=$(cd "$(dirname "$0")" && pwd)

INDEX_DIGITS_MAX=19       # an index of 20 digits or more is past 2^64 - 1 seeds anyway
ATTEMPT_TAG_MAX=100       # characters of the attempt in the names of its files
SIM_EXIT_CANCELLED=3      # alichain-sim swarm: stopped by SIGINT/SIGTERM at a seed boundary

fail() { echo "swarm-job: $*" >&2; exit 2; }
# a value as it can be shown in one line: control characters as \xHH (core/text.h's rule)
shown() {
    local LC_ALL=C s=$1 out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        [[ $c == [[:cntrl:]] ]] && printf -v c '\\x%02x' "'$c"
        out+=$c
    done
    printf '%s' "$out"
}

case "${1:-}" in
    -h|--help)
        # the header above, without its '#'
        sed -n '2,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//'
        exit 0 ;;
esac
if [ $# -gt 1 ]; then fail "usage: $0 [INDEX] (--help: what it does)"; fi
if [ $# -eq 1 ]; then index=$1; from=argument
elif [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then index=$SLURM_ARRAY_TASK_ID; from=SLURM_ARRAY_TASK_ID
elif [ -n "${JOB_COMPLETION_INDEX:-}" ]; then index=$JOB_COMPLETION_INDEX; from=JOB_COMPLETION_INDEX
else fail "no block index: give it as the argument, or set SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX"
fi
# digits only (alichain-sim checks the range); a leading zero would read as another number
[[ $index =~ ^(0|[1-9][0-9]*)$ ]] || fail "block index from $from is not a whole number: \"$(shown "$index")\""
[ ${#index} -le $INDEX_DIGITS_MAX ] ||
    fail "block index from $from is out of range: \"$index\" (at most $INDEX_DIGITS_MAX digits; and index times block seeds must stay below 2^64)"

block_seeds=${ALICHAIN_BLOCK_SEEDS:-$BLOCK_SEEDS_DEFAULT}
[[ $block_seeds =~ ^[1-9][0-9]{0,18}$ ]] || fail "ALICHAIN_BLOCK_SEEDS is not a whole number >= 1: \"$(shown "$block_seeds")\""
results=${ALICHAIN_RESULTS:-results}
mode=${ALICHAIN_JOB_MODE:-swarm}
to_stdout=${ALICHAIN_JOB_STDOUT:-0}
[[ $to_stdout == [01] ]] || fail "ALICHAIN_JOB_STDOUT is neither 0 nor 1: \"$(shown "$to_stdout")\""
case $mode in
    swarm) run=(swarm) ;;
    compare) run=(compare --generated) ;;
    *) fail "ALICHAIN_JOB_MODE is neither swarm nor compare: \"$(shown "$mode")\"" ;;
esac

sim=${ALICHAIN_SIM:-}
if [ -z "$sim" ]; then
    if [ -x "$here/../../alichain-sim" ]; then sim=$here/../../alichain-sim
    elif command -v alichain-sim >/dev/null 2>&1; then sim=$(command -v alichain-sim)
    else fail "no alichain-sim: run make, or set ALICHAIN_SIM"
    fi
fi
# a directory passes -x: it has to be a file (else bash's own error, after mkdir below)
[ -f "$sim" ] && [ -x "$sim" ] || fail "ALICHAIN_SIM is not an executable file: \"$(shown "$sim")\""

# which machine, which try: recorded in the run line (alichain-sim reads them) and shown by
# the report beside each failure and each damaged file
if [ -z "${ALICHAIN_HOST:-}" ]; then ALICHAIN_HOST=$(uname -n); fi
if [ -z "${ALICHAIN_ATTEMPT:-}" ]; then
    if [ -n "${SLURM_JOB_ID:-}" ]; then
        ALICHAIN_ATTEMPT="slurm job $SLURM_JOB_ID restart ${SLURM_RESTART_COUNT:-0}"
    elif [ -n "${JOB_COMPLETION_INDEX:-}" ] && [ "$from" = JOB_COMPLETION_INDEX ]; then
        ALICHAIN_ATTEMPT="pod ${HOSTNAME:-$(uname -n)}"
    else
        ALICHAIN_ATTEMPT="$(date -u +%Y-%m-%dT%H:%M:%SZ) pid $$"
    fi
fi
export ALICHAIN_HOST ALICHAIN_ATTEMPT

mkdir -p -- "$results" || fail "cannot create the results directory \"$(shown "$results")\""
# compare writes failing scenarios there as it goes (the swarm creates its own)
if [ "$mode" = compare ]; then mkdir -p "$results/failures-$index" || fail "cannot create $results/failures-$index"; fi
out=$results/block-$index.jsonl
log=$results/block-$index.log
tag=${ALICHAIN_ATTEMPT//[^A-Za-z0-9._-]/_}
tag=${tag:0:$ATTEMPT_TAG_MAX}
partial=$out.partial-$tag
log_partial=$log.partial-$tag
rm -f "$partial" "$log_partial"
child=""
# an engine cancelling the job: the running block is told at once and stops at a seed
# boundary; nothing of this attempt is published or left behind
# shellcheck disable=SC2317  # called by the trap
on_signal() {
    trap '' INT TERM HUP
    local pid=${child:-$!}
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
    rm -f "$partial" "$log_partial"
    echo "swarm-job: block $index: interrupted (attempt $ALICHAIN_ATTEMPT): nothing published" >&2
    exit 2
}
trap on_signal INT TERM HUP

# shellcheck disable=SC2086
"$sim" "${run[@]}" --block "$index" --block-seeds "$block_seeds" --jsonl "$partial" \
    --out "$results/failures-$index" ${ALICHAIN_SWARM_ARGS:-} >"$log_partial" &
child=$!
wait "$child"
rc=$?
trap - INT TERM HUP
if [ $rc -eq 0 ] || [ $rc -eq 1 ]; then
    # the log first: block-K.jsonl, the commit point, is published last
    mv -f "$log_partial" "$log" && mv -f "$partial" "$out" || fail "cannot rename $partial"
else
    rm -f "$partial"
    mv -f "$log_partial" "$log"
    if [ $rc -eq $SIM_EXIT_CANCELLED ]; then why="cancelled (a signal reached it)"; else why="exited $rc"; fi
    echo "swarm-job: block $index: alichain-sim $why; see $log" >&2
    cat "$log" >&2
    exit 2
fi
summary="swarm-job: block $index of $block_seeds seeds (index from $from) on $ALICHAIN_HOST, attempt $ALICHAIN_ATTEMPT: $(grep -E "^$mode: [0-9]+ seeds" "$log" | tail -n 1) -> $out"
if [ "$to_stdout" = 1 ]; then
    # exit 2 when the copy fails (a full pipe's reader gone): the engine tries the block again
    cat -- "$out" || fail "block $index: cannot copy $out to stdout"
    echo "$summary" >&2
else
    echo "$summary"
fi
exit $rc
