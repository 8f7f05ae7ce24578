#!/usr/bin/env bash
# test.sh — the body of `make test` after lint and the release build. Every stage:
#   coverage         the tests on a coverage-instrumented build (all but real mode: Makefile
#                    COVERAGE_PYTEST_SKIP), gcovr's summary, an HTML report under
#                    build/coverage/, a failure when core/'s line coverage is under COVERAGE_MIN;
#   sim              every scenario + a swarm, with its table and speed figures;
#   sim-mutants      every planted bug must be caught: the checkers are shown to fire;
#   real-mutants     planted bugs in the real programs, caught by alichain-sim real;
#   compare-mutants  planted bugs, some in the real programs only, each caught by a
#                    DIFFERENT line of alichain-sim compare;
#   asan-parallel, asan-serial   make asan in two parts: the coverage build makes
#                    ALWAYS/NEVER constant (AC_COVERAGE), so the simulator and the tests of
#                    C code (real mode included; Makefile ASAN_PYTEST_SKIP) run where
#                    assertions and ALWAYS/NEVER are live, under ASan+UBSan.
# On two cores they run in two lanes at once, after the builds they need (both cores):
#   lane 1, at normal priority, the stages that measure when faults land on real processes
#     and so want the machine when they need it: asan-serial (real mode, one test at a
#     time), real-mutants, compare-mutants — little CPU, much waiting;
#   lane 2, at the lowest priority (nice 19, idle I/O class), the stages that only need CPU:
#     coverage, sim, sim-mutants, asan-parallel. The kernel gives lane 1 the CPU whenever it
#     is runnable, so lane 2 fills the gaps instead of adding its time to the total.
# Lane 1 prints as it goes; lane 2 into build/test-lane2.log, printed when both are done.
# TEST_LANES=1 runs every stage one after the other, at normal priority (the old way).
# The output ends with a line of each stage's wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
# core/ reached 97.6 % of its lines when this gate was set; the gate sits a small margin
# below, so a change that leaves new core code (core/blockfile.c included) untested fails.
COVERAGE_MIN=${COVERAGE_MIN:-95}

# Each stage's wall time, printed in one line at the end (and when a stage fails).
STAGES=()
T_START=$(date +%s)
stage() { # stage NAME COMMAND...: runs the command, records its seconds under NAME
  local name=$1 t0=$SECONDS rc=0
  shift
  "$@" || rc=$?
  STAGES+=("$name $((SECONDS - t0))s")
  [ "$rc" -eq 0 ] || { echo "make test: stage $name failed (exit $rc)"; times_line; exit "$rc"; }
}
times_line() { echo "make test stages${LANE:+ (lane $LANE)}: ${STAGES[*]}; in all $(( $(date +%s) - T_START ))s (after lint and the release build)"; }
lane_done() { times_line; }

# (set -e does not reach into a function run under ||: each command returns its own failure)
coverage_stage() {
  find build/cov -name '*.gcda' -delete 2>/dev/null || true
  make --no-print-directory coverage || return
  mkdir -p build/coverage || return
  echo "== coverage of core/ (gcovr) =="
  /usr/bin/python3 -m gcovr --root . --object-directory build/cov --filter 'core/' \
    --html-details build/coverage/index.html --print-summary \
    --fail-under-line "$COVERAGE_MIN" build/cov || return
  echo "coverage report: build/coverage/index.html"
}
lane1() {
  echo "== ASan+UBSan, real mode and the memory test alone: make asan-serial =="
  stage asan-serial make --no-print-directory asan-serial
  echo "== real programs with planted bugs: make real-mutants (docs/REAL.md) =="
  stage real-mutants make --no-print-directory real-mutants
  echo "== the same, each caught by compare's DIFFERENT: make compare-mutants (docs/REAL.md) =="
  stage compare-mutants make --no-print-directory compare-mutants
  lane_done
}
lane2() {
  echo "== coverage: make coverage, gcovr =="
  stage coverage coverage_stage
  echo "== simulator: make sim =="
  stage sim make --no-print-directory sim
  echo "== simulator: make sim-mutants =="
  stage sim-mutants make --no-print-directory sim-mutants
  echo "== ASan+UBSan, assertions live: make asan-parallel (make sim, then every test but real mode) =="
  stage asan-parallel make --no-print-directory asan-parallel
  lane_done
}

echo "== builds: the ASan, coverage and planted-bug variants (make -j2) =="
stage builds make -j2 --no-print-directory asan-build coverage-build real-mutants-programs
if [ "${TEST_LANES:-2}" = 1 ]; then
  lane2
  lane1
  times_line
  exit 0
fi
LANE2_LOG=build/test-lane2.log
LANE_RC=0
( renice -n 19 -p "$BASHPID" >/dev/null && ionice -c 3 -p "$BASHPID" && STAGES=() && LANE=2 &&
  lane2 ) > "$LANE2_LOG" 2>&1 &
LANE2_PID=$!
( LANE=1; lane1 ) || LANE_RC=$?
LANE2_RC=0
wait "$LANE2_PID" || LANE2_RC=$?
echo "== lane 2 (at nice 19, beside lane 1): its output =="
cat "$LANE2_LOG"
[ "$LANE_RC" -eq 0 ] && [ "$LANE2_RC" -eq 0 ] || { echo "make test: lane 1 exit $LANE_RC, lane 2 exit $LANE2_RC"; exit 1; }
echo "make test: in all $(( $(date +%s) - T_START ))s (after lint and the release build)"
