# bench.mk — alichain-bench, included by the top Makefile (which defines OUT, BIN, CC,
# CPPFLAGS, CFLAGS, LDFLAGS and $(OUT)/core.a). bench/ links core (the wire codec) and sim/proc, never net/.
#   make bench             the standard matrix into build/bench/ (BENCHMARKS.md, benchmarks.svg,
#                          results.tsv, results.jsonl; compared with the previous run); ~15 min
#   make bench BENCH_QUICK=1   a fast run of the same (small ledgers, short phases)
#   make bench-publish     copies the last run's page and plot to docs/
#   make bench SIM_BASELINE=PATH   also runs that alichain-sim (another commit's) in pairs with ours
#   make bench-sim-baseline [BASE=8c686cf] [SIM_SEEDS=5000] [SIM_PAIRS=3]   the simulator only:
#                          alichain-sim of commit BASE, built from the local history into
#                          build/sim-baseline/, against ours; seeds/s and events/s per core
#                          and their ratios (bench/sim-baseline.sh, docs/SCALING.md)
# Benchmarks are not tests: `make test` runs only tests/bench/test_bench_smoke.py.

BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_OBJ := $(BENCH_SRC:%.c=$(OUT)/%.o)

.PHONY: bench bench-bin

# bench/ runs the real programs through the harness's process toolkit (sim/proc/: spawn, the
# "up" line, stop, the port lease, the clock) and nothing else of sim/ (ci/arrows.sh).
$(OUT)/bench/%.o: CPPFLAGS += -Isim
$(BIN)/alichain-bench: $(BENCH_OBJ) $(OUT)/sim/proc/proc.o $(OUT)/core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) -o $@

bench-bin: $(BIN)/alichain-bench
all: bench-bin

TEST_RUN_EXTRA += $(BIN)/alichain-bench

bench: programs $(BIN)/alichain-sim $(BIN)/alichain-bench
	BIN=$(call shq,$(BIN)) BENCH_QUICK=$(call shq,$(BENCH_QUICK)) SIM_BASELINE=$(call shq,$(SIM_BASELINE)) \
	  bash bench/run.sh

# BASE: main when issue 19 was filed (its item 4: seeds/s per core >= 1.5x that commit's)
BASE ?= 8c686cf
SIM_SEEDS ?= 5000
SIM_PAIRS ?= 3
.PHONY: bench-sim-baseline
bench-sim-baseline: $(BIN)/alichain-sim $(BIN)/alichain-bench
	BIN=$(call shq,$(BIN)) BASE=$(call shq,$(BASE)) SIM_SEEDS=$(call shq,$(SIM_SEEDS)) \
	  SIM_PAIRS=$(call shq,$(SIM_PAIRS)) bash bench/sim-baseline.sh

# The last `make bench`'s page and plot into the tracked docs/ (a deliberate step: a quick or
# noisy run is not published by accident).
.PHONY: bench-publish
bench-publish:
	@test -f build/bench/BENCHMARKS.md && test -f build/bench/benchmarks.svg || \
	  { echo "bench-publish: no results under build/bench: run make bench first" >&2; exit 2; }
	cp -f build/bench/BENCHMARKS.md docs/BENCHMARKS.md
	cp -f build/bench/benchmarks.svg docs/benchmarks.svg
