#!/usr/bin/env bash
# swarm-parallel.sh — the body of `make swarm-parallel` (sim/sim.mk, docs/SCALING.md):
# ceil(SEEDS / BLOCK_SEEDS) blocks of the swarm, JOBS at a time through GNU parallel, each by
# sim/swarm/swarm-job.sh into RESULTS, then `alichain-sim report` over every block.
# Every path is quoted, and RESULTS is emptied of the blocks of an earlier run only when it
# holds nothing else: a directory with other files is refused, never cleaned.
# usage: swarm-parallel.sh SIM SEEDS JOBS BLOCK_SEEDS RESULTS [PARALLEL_ARGS]
#   (PARALLEL_ARGS: GNU parallel options, word-split, e.g. "--sshlogin 2/host1,2/host2")
# Exit: the report's (0 every seed passed, 1 a seed failed, 2 missing or damaged blocks);
# 2 for usage, a refused results directory or a missing GNU parallel.
set -uo pipefail

JOBS_MAX=4096
COUNT_RE='^[1-9][0-9]{0,11}$'   # at most 10^12: blocks * block seeds fits shell arithmetic
here=$(cd "$(dirname "$0")" && pwd)

fail() { echo "swarm-parallel: $*" >&2; exit 2; }

[ $# -eq 5 ] || [ $# -eq 6 ] || fail "usage: $0 SIM SEEDS JOBS BLOCK_SEEDS RESULTS [PARALLEL_ARGS]"
sim=$1 seeds=$2 jobs=$3 block_seeds=$4 results=$5 parallel_args=${6:-}

[[ $seeds =~ $COUNT_RE ]] || fail "SEEDS is not a whole number >= 1: \"$seeds\""
[[ $jobs =~ $COUNT_RE ]] && [ "$jobs" -le "$JOBS_MAX" ] ||
    fail "JOBS is not a whole number in 1..$JOBS_MAX: \"$jobs\" (GNU parallel reads 0 as unlimited)"
[[ $block_seeds =~ $COUNT_RE ]] || fail "SWARM_BLOCK_SEEDS is not a whole number >= 1: \"$block_seeds\""
[ -n "$results" ] || fail "SWARM_RESULTS is empty"
[ -f "$sim" ] && [ -x "$sim" ] || fail "SWARM_SIM is not an executable file: \"$sim\""
command -v parallel >/dev/null && parallel --version 2>/dev/null | grep -q 'GNU parallel' ||
    fail "GNU parallel is missing (make deps installs Debian's parallel)"

# What swarm-job.sh writes: block-K.jsonl, block-K.log, while running their .partial-ATTEMPT (files) and
# failures-K (directories). Anything else means the directory is not (only) swarm results.
if [ -e "$results" ] || [ -L "$results" ]; then
    [ -d "$results" ] || fail "SWARM_RESULTS exists and is not a directory: \"$results\""
    shopt -s nullglob dotglob
    for entry in "$results"/*; do
        name=${entry##*/}
        if [[ $name =~ ^block-(0|[1-9][0-9]*)\.(jsonl|log)(\.partial-[A-Za-z0-9._-]+)?$ ]] && [ -f "$entry" ] && [ ! -L "$entry" ]; then
            continue
        fi
        if [[ $name =~ ^failures-(0|[1-9][0-9]*)$ ]] && [ -d "$entry" ] && [ ! -L "$entry" ]; then
            continue
        fi
        fail "SWARM_RESULTS \"$results\" holds \"$name\", which is no block result: refusing to empty it (choose an empty or new directory)"
    done
    shopt -u nullglob dotglob
fi
mkdir -p -- "$results" || fail "cannot create the results directory \"$results\""
results=$(cd -- "$results" && pwd) || fail "cannot enter \"$results\""
sim=$(cd -- "$(dirname -- "$sim")" && pwd)/$(basename -- "$sim")
rm -rf -- "$results"/block-* "$results"/failures-*

blocks=$(( (seeds + block_seeds - 1) / block_seeds ))
echo "swarm-parallel: $blocks blocks of $block_seeds seeds, $jobs at a time -> $results"
# shellcheck disable=SC2086  # PARALLEL_ARGS are options: word-split on purpose
seq 0 $((blocks - 1)) | ALICHAIN_SIM=$sim ALICHAIN_BLOCK_SEEDS=$block_seeds ALICHAIN_RESULTS=$results \
    parallel --will-cite --halt never -j "$jobs" $parallel_args "$here/swarm-job.sh" '{}'
shopt -s nullglob
files=("$results"/block-*.jsonl)
shopt -u nullglob
"$sim" report --first 0 --seeds $((blocks * block_seeds)) "${files[@]}"
