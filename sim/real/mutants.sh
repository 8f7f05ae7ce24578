#!/bin/bash
# real-mutants.sh — `make real-mutants`: each planted bug against the real programs built
# with it (ALICHAIN_MUTANT selects it), on a scenario of sim/real/mutants/ (or sim/scenarios/)
# that the same build passes with ALICHAIN_MUTANT=none. Usage: SIM PROGRAMS_DIR MIN_CAUGHT
set -u
sim=$1 programs=$2 min=$3
# mutant  scenario
cases=(
  "same-balance sim/real/mutants/same_balance_burst.scn"
  "partial-balance sim/scenarios/14_pause_backend.scn"
  "no-retransmit sim/real/mutants/retransmit_after_restart.scn"
  "backend-double-store sim/real/mutants/write_during_pause.scn"
  "retx-other-backend sim/real/mutants/write_during_pause.scn"
)
caught=0 total=0 bad=0
for c in "${cases[@]}"; do
  set -- $c
  m=$1 scn=$2
  total=$((total + 1))
  ALICHAIN_MUTANT=none "$sim" real "$scn" --programs "$programs" >/dev/null 2>&1
  base=$?
  out=$(ALICHAIN_MUTANT=$m "$sim" real "$scn" --programs "$programs" 2>&1)
  rc=$?
  first=$(printf '%s\n' "$out" | grep -m1 -E '^(violation|expect failed):' || true)
  if [ "$base" -ne 0 ]; then
    echo "mutant $m: scenario $scn FAILS without the bug (exit $base): not counted"
    bad=$((bad + 1))
  elif [ "$rc" -eq 1 ]; then
    echo "mutant $m: caught on real processes by $scn ($first)"
    caught=$((caught + 1))
  else
    echo "mutant $m: NOT caught by $scn (exit $rc)"
  fi
done
echo "real mutants: $caught of $total caught (at least $min needed)"
[ "$caught" -ge "$min" ] && [ "$bad" -eq 0 ]
