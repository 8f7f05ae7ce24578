#!/usr/bin/env bash
# mutants.sh — the body of `make sim-mutants`: a swarm against each planted bug of
# core/mutant.h in the alichain-sim-mutants build, stopping at the first seed that fails.
# Prints which seed (and which checker) caught which bug, with a shrunk reproducer; exits
# 0 only if every bug is caught within SEEDS seeds (and the unmutated run passes them).
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
        printf '%-24s %-8s %-20s not caught in %s seeds\n' "$m" "NO" "-" "$seeds"
        missed=$((missed + 1))
    fi
done
if [ "$missed" -ne 0 ]; then
    echo "sim-mutants: $missed planted bug(s) escaped the checkers"
    exit 1
fi
echo "sim-mutants: every planted bug was caught"
