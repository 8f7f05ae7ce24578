#!/usr/bin/env bash
# sim-baseline.sh — the body of `make bench-sim-baseline`: builds alichain-sim of commit BASE
# from this clone's own history (git archive: no network, no worktree left registered) into
# build/sim-baseline/<commit>/, then runs alichain-bench's simulator part only (--txs 0) with
# that binary as --sim-baseline: the same seeds, K pairs, each binary's seeds/s and events/s
# per core and their ratios (docs/SCALING.md "Measured here"). The machine is shared: only the
# ratios of one run mean anything, never a figure against another day's.
# Environment: BASE (a commit, default 8c686cf: main when issue 19 was filed), SIM_SEEDS
# (default 5000), SIM_PAIRS (default 3), BIN (default build/release/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${BASE:-8c686cf}
SIM_SEEDS=${SIM_SEEDS:-5000}
SIM_PAIRS=${SIM_PAIRS:-3}
BIN=${BIN:-build/release/bin}
ROOT=build/sim-baseline

sha=$(git rev-parse --verify --quiet "${BASE}^{commit}") || {
  echo "bench-sim-baseline: BASE=$BASE is not a commit of this clone's history (a shallow clone?)" >&2
  exit 2
}
short=${sha:0:12}
dir=$ROOT/$short
exe=$dir/src/build/release/bin/alichain-sim
if [ ! -x "$exe" ]; then
  echo "bench-sim-baseline: building alichain-sim of $short into $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  git archive --format=tar "$sha" | tar -x -C "$dir" --one-top-level=src
  # a make of its own, not a part of ours (our command line's variables stay out); git is
  # kept from finding this clone above src, so the binary says commit "unknown", not ours
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL GIT_CEILING_DIRECTORIES="$(cd "$dir" && pwd)" \
    make -C "$dir/src" -j2 build/release/bin/alichain-sim >"$dir/build.log" 2>&1 || {
    echo "bench-sim-baseline: building alichain-sim of $short failed; see $dir/build.log" >&2
    tail -n 5 "$dir/build.log" >&2
    exit 2
  }
fi
cmd=("$BIN/alichain-bench" --txs 0 --no-floors --sim-seeds "$SIM_SEEDS" --sim-pairs "$SIM_PAIRS"
     --sim-baseline "$exe" --tsv "$ROOT/results.tsv" --json "$ROOT/results.jsonl")
echo "bench-sim-baseline: baseline $short ($BASE), current $(git rev-parse --short=12 HEAD)"
echo "bench-sim-baseline: ${cmd[*]}"
"${cmd[@]}"
