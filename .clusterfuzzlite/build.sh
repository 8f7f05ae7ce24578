#!/bin/bash -eu
# build.sh — builds every fuzz target (fuzz/fuzz_*.c) the way OSS-Fuzz and ClusterFuzzLite
# expect: compiled with $CC $CFLAGS, linked with $LIB_FUZZING_ENGINE, into $OUT with its
# seed corpus (<target>_seed_corpus.zip), dictionary (<target>.dict) and options file.
# Run from the source tree ($SRC/alichain in the Dockerfile), or anywhere with ALICHAIN_SRC.
# Needs: a C compiler with libFuzzer (clang), ar, zip, libsodium-dev (linked statically: the
# runner image has no libsodium). Intermediate objects go to $WORK.

set -euo pipefail   # also when run as `bash build.sh` (OSS-Fuzz's compile does that)

# the limits fuzz/run.sh uses (`make fuzz`), so both fuzz the same input sizes
FUZZ_MAX_LEN=4096
FUZZ_TIMEOUT_S=10
FUZZ_RSS_MB=1024

: "${CC:?CC is not set (OSS-Fuzz sets it: clang)}"
: "${OUT:?OUT is not set}"
: "${WORK:?WORK is not set}"
: "${LIB_FUZZING_ENGINE:?LIB_FUZZING_ENGINE is not set (libFuzzer: -fsanitize=fuzzer)}"
CFLAGS=${CFLAGS:-}

src=${ALICHAIN_SRC:-$PWD}
if [ ! -f "$src/core/common.h" ]; then
    src=$(cd "$(dirname "$0")/.." && pwd)
fi
[ -f "$src/core/common.h" ] || { echo "build.sh: no alichain source tree (set ALICHAIN_SRC)" >&2; exit 1; }
command -v zip >/dev/null || { echo "build.sh: zip is missing (apt-get install zip)" >&2; exit 1; }
cd "$src"

# Linking: C++ when the engine is a C++ library (AFL's, Honggfuzz's), else the C compiler.
if [ -n "${CXX:-}" ]; then link=("$CXX" ${CXXFLAGS:-}); else link=("$CC" $CFLAGS); fi

obj=$WORK/alichain-obj
rm -rf "$obj"
mkdir -p "$obj" "$OUT"
# shellcheck disable=SC2086
compile() {   # compile SOURCE: one object under $obj, named after its path
    local o=$obj/${1//\//_}
    $CC $CFLAGS -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Icore -Isim \
        -c "$1" -o "${o%.c}.o"
}

core=()
for f in core/*.c; do compile "$f"; core+=("$obj/$(echo "${f%.c}" | tr / _).o"); done
ar rcs "$obj/core.a" "${core[@]}"
sim=()
# the simulator library: the one list sim/lib.sources (no main() in it; the mains are sim/cmd/)
for f in $(sed -e 's/#.*//' sim/lib.sources); do
    compile "$f"
    sim+=("$obj/$(echo "${f%.c}" | tr / _).o")
done
ar rcs "$obj/sim.a" "${sim[@]}"

built=()
for f in fuzz/fuzz_*.c; do
    t=$(basename "$f" .c)
    compile "$f"
    # every target links sim.a too: unused archive members cost nothing
    # shellcheck disable=SC2086
    "${link[@]}" "$obj/fuzz_$t.o" "$obj/sim.a" "$obj/core.a" $LIB_FUZZING_ENGINE -l:libsodium.a -lm -o "$OUT/$t"
    rm -f "$OUT/${t}_seed_corpus.zip"
    if [ -d "fuzz/corpus/$t" ] && [ -n "$(ls -A "fuzz/corpus/$t")" ]; then
        (cd "fuzz/corpus/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
    fi
    [ -f "fuzz/$t.dict" ] && cp -f "fuzz/$t.dict" "$OUT/$t.dict"
    printf '[libfuzzer]\nmax_len = %d\ntimeout = %d\nrss_limit_mb = %d\n' \
        "$FUZZ_MAX_LEN" "$FUZZ_TIMEOUT_S" "$FUZZ_RSS_MB" >"$OUT/$t.options"
    built+=("$t")
done
echo "build.sh: built ${built[*]} into $OUT"
