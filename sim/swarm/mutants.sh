#!/usr/bin/env bash
# mutants.sh — the body of `make sim-mutants`: a swarm against each planted bug of
# core/mutant.h in the alichain-sim-mutants build, stopping at the first seed that fails.
# Prints which seed (and which checker) caught which bug, with a shrunk reproducer; a bug
# the swarm misses within SEEDS seeds may be caught by one of sim/scenarios or of its
# regress/ (each written to pass unmutated). Exits 0 only if every bug is caught.
# usage: mutants.sh ./alichain-sim-mutants [SEEDS] [OUT_DIR]
set -uo pipefail
bin=${1:?usage: mutants.sh BINARY [SEEDS] [OUT_DIR]}
seeds=${2:-2000}
out=${3:-build/mutants/sim-failures}
missed=0
printf '%-24s %-8s %-20s %s\n' "mutant" "caught" "checker" "seed / reproduce"
names=$("$bin" run --mutant list) || { echo "sim-mutants: $bin run --mutant list failed"; exit 1; }
if [ -z "$names" ]; then
    echo "sim-mutants: $bin lists no planted bugs"
    exit 1
fi
for m in $names; do
    log=$("$bin" swarm --seeds "$seeds" --first 1 --stop-on-fail --mutant "$m" --out "$out" 2>/dev/null)
    line=$(printf '%s\n' "$log" | grep -E "^mutant $m:" | head -1)
    if printf '%s' "$line" | grep -q "caught by seed"; then
        seed=$(printf '%s' "$line" | sed -E 's/.*caught by seed ([0-9]+) \((.*)\)/\1/')
        checker=$(printf '%s' "$line" | sed -E 's/.*caught by seed ([0-9]+) \((.*)\)/\2/')
        repro=$(printf '%s\n' "$log" | grep -E "reproduce: .* run " | head -1 | sed -E 's/^ *reproduce: //')
        printf '%-24s %-8s %-20s seed %s: %s\n' "$m" "yes" "$checker" "$seed" "$repro"
    else
        # not within the swarm's seeds: a scenario written for it may still catch it
        # (each scenario passes unmutated: make sim runs them all)
        hit=""
        for scn in sim/scenarios/*.scn sim/scenarios/regress/*.scn; do
            out_run=$("$bin" run "$scn" --mutant "$m" 2>/dev/null)
            if printf '%s\n' "$out_run" | grep -q "^verdict: fail"; then
                hit=$scn
                checker=$(printf '%s\n' "$out_run" | grep -E "^violation: " | head -1 | sed -E 's/^violation: ([a-z-]+).*/\1/')
                break
            fi
        done
        if [ -n "$hit" ]; then
            printf '%-24s %-8s %-20s scenario: %s run %s --mutant %s\n' "$m" "yes" "${checker:-expect}" \
                "$(basename "$bin")" "$hit" "$m"
        else
            printf '%-24s %-8s %-20s not caught in %s seeds nor by a scenario\n' "$m" "NO" "-" "$seeds"
            missed=$((missed + 1))
        fi
    fi
done
if [ "$missed" -ne 0 ]; then
    echo "sim-mutants: $missed planted bug(s) escaped the checkers"
    exit 1
fi
echo "sim-mutants: every planted bug was caught"
