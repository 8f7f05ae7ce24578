#!/usr/bin/env bash
# test.sh — the body of `make test` after lint and the release build: every test on a
# coverage-instrumented build, then gcovr's summary, an HTML report under
# build/coverage/, and a failure when core/'s line coverage is under COVERAGE_MIN; then
# `make sim` (every scenario + a swarm, with its table and speed figures) and
# `make sim-mutants` (every planted bug must be caught: the checkers are shown to fire).
set -euo pipefail
cd "$(dirname "$0")/.."
COVERAGE_MIN=${COVERAGE_MIN:-90}

find build/cov -name '*.gcda' -delete 2>/dev/null || true
make --no-print-directory coverage

mkdir -p build/coverage
echo "== coverage of core/ (gcovr) =="
/usr/bin/python3 -m gcovr --root . --object-directory build/cov --filter 'core/' \
  --html-details build/coverage/index.html --print-summary \
  --fail-under-line "$COVERAGE_MIN" build/cov
echo "coverage report: build/coverage/index.html"

echo "== simulator: make sim =="
make --no-print-directory sim

echo "== simulator: make sim-mutants =="
make --no-print-directory sim-mutants
