#!/usr/bin/env bash
# run.sh — the body of `make bench`: the standard matrix of alichain-bench (every answer
# verified, one-shot and persistent phases), then bench/report.py writes build/bench/
# BENCHMARKS.md (docs/BENCHMARKS.md's hand-written part, then the results) and the data of
# bench/plot.gp, which gnuplot draws into build/bench/benchmarks.svg; the rows also as TSV
# and JSON lines, compared with the previous run's (`alichain-bench compare`). Nothing
# tracked changes: `make bench-publish` copies the page and the plot to docs/.
# BENCH_QUICK=1: small ledgers and short phases (a minute or so), same report.
# SIM_BASELINE=PATH: another commit's alichain-sim, run in pairs with ours (--sim-baseline;
# `make bench-sim-baseline` builds one and runs the simulator part alone).
# Installs Debian's gnuplot (gnuplot-nox) when it is missing; `make test` never needs it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/release/bin}
OUT=build/bench
SIZE_BIG=10000000
DISK_KB_BIG=4000000        # 10^7: three block files, the one-file copy, alichain.txt, logs
DEPTH=16                   # persistent phases: requests in flight per connection
mkdir -p "$OUT"

if ! command -v gnuplot >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench: gnuplot is missing; install Debian's gnuplot-nox (needs root)" >&2; exit 1
  fi
  echo "bench: installing gnuplot-nox"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null
fi

if [ -n "${BENCH_QUICK:-}" ] && [ "${BENCH_QUICK}" != 0 ]; then
  sizes=1000,100000; secs=0.7; sim_seeds=200
else
  sizes=1000,100000,1000000; secs=5; sim_seeds=2000
  avail=$(df -Pk "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $4 }')
  if [ "$avail" -ge "$DISK_KB_BIG" ]; then
    sizes=$sizes,$SIZE_BIG
  else
    echo "bench: only ${avail} kB free in ${TMPDIR:-/tmp}: no 10^7 ledger this time" >&2
  fi
fi

# one-shot: every mode (balance, transfer, mix at 1/8/64 connections); persistent (p-):
# balance at 1/8/64, transfer, mix and hot at 64, hol; 16 requests in flight a connection
modes=balance,transfer,mix,hot,stats,txlist,hol,p-balance,p-transfer,p-mix,p-hot,p-hol
cmd=("$BIN/alichain-bench" --txs "$sizes" --conns 1,8,64 --modes "$modes" --depth "$DEPTH"
     --seconds "$secs" --sim-seeds "$sim_seeds" --tsv "$OUT/results.tsv" --json "$OUT/results.jsonl")
[ -n "${SIM_BASELINE:-}" ] && cmd+=(--sim-baseline "$SIM_BASELINE")
# the previous run's rows, for `alichain-bench compare` below; one older than this many hours
# is said to be another day's (its flags are leads, not verdicts)
COMPARE_SAME_DAY_H=12
[ -f "$OUT/results.tsv" ] && cp -pf "$OUT/results.tsv" "$OUT/previous.tsv"   # -p: its time, for its age below
echo "bench: ${cmd[*]}"
set +e
"${cmd[@]}" | tee "$OUT/output.txt"
rc=${PIPESTATUS[0]}
set -e
/usr/bin/python3 bench/report.py --tsv "$OUT/results.tsv" --out "$OUT/BENCHMARKS.md" \
  --template docs/BENCHMARKS.md --data "$OUT" \
  --command "make bench${BENCH_QUICK:+ BENCH_QUICK=$BENCH_QUICK}${SIM_BASELINE:+ SIM_BASELINE=$SIM_BASELINE}" \
  --command "${cmd[*]}" --status "$rc"
gnuplot -e "data='$OUT'" bench/plot.gp > "$OUT/benchmarks.svg"
echo "bench: wrote $OUT/BENCHMARKS.md, $OUT/benchmarks.svg, $OUT/results.tsv and $OUT/results.jsonl" \
     "(alichain-bench exit $rc); \`make bench-publish\` copies the page and the plot to docs/"
if [ -f "$OUT/previous.tsv" ]; then
  age_h=$(( ($(date +%s) - $(date -r "$OUT/previous.tsv" +%s)) / 3600 ))
  echo "bench: against the previous run, of $(date -u -r "$OUT/previous.tsv" '+%Y-%m-%d %H:%M UTC') ($age_h h ago)" \
       "(ratios to floors; a regression past the noise band is flagged):"
  if [ "$age_h" -ge "$COMPARE_SAME_DAY_H" ]; then
    echo "bench: that run is $age_h h old: the machine and its neighbours' load may have changed since," \
         "and floors do not cancel all of that; read its REGRESSION flags as leads, and run make bench twice to judge"
  fi
  "$BIN/alichain-bench" compare "$OUT/previous.tsv" "$OUT/results.tsv" || true
fi
exit "$rc"
