#!/usr/bin/env bash
# coverage.sh — `make fuzz-coverage`: replays the seed corpora alone (not the reproducers)
# through the standalone drivers of a gcov build, then prints gcovr's line coverage of
# core/wire.c and core/tx.c and fails when either is under FUZZ_COVERAGE_MIN (95) %.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_COVERAGE_MIN=${FUZZ_COVERAGE_MIN:-95}
VARIANT=${FUZZ_COVERAGE_VARIANT:-fuzzcov}
OUT=build/$VARIANT

make --no-print-directory VARIANT="$VARIANT" WERROR=1 \
  EXTRA_CFLAGS="-O0 --coverage -DAC_COVERAGE" EXTRA_LDFLAGS="--coverage" fuzz-drivers
find "$OUT" -name '*.gcda' -delete
for src in fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    printf '%-14s ' "$t"
    "$OUT/fuzz/$t" "fuzz/corpus/$t" 2>/dev/null
done

echo "== line coverage of core/wire.c and core/tx.c by the corpora (gcovr) =="
/usr/bin/python3 -m gcovr --root . --object-directory "$OUT" \
  --filter 'core/wire\.c' --filter 'core/tx\.c' "$OUT"
bad=0
for f in wire tx; do
    /usr/bin/python3 -m gcovr --root . --object-directory "$OUT" --filter "core/$f\\.c" \
      --fail-under-line "$FUZZ_COVERAGE_MIN" "$OUT" >/dev/null ||
      { echo "fuzz-coverage: core/$f.c is under $FUZZ_COVERAGE_MIN% of lines"; bad=1; }
done
[ $bad -eq 0 ] && echo "fuzz-coverage: core/wire.c and core/tx.c at or above $FUZZ_COVERAGE_MIN%"
exit $bad
