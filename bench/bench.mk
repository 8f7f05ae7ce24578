# bench.mk — alichain-bench, included by the top Makefile (which defines OUT, BIN, CC,
# CPPFLAGS, CFLAGS, LDFLAGS and $(OUT)/core.a). bench/ links core (the wire codec) and sim/proc, never net/.
#   make bench             the standard matrix (docs/BENCHMARKS.md, docs/benchmarks.svg); ~15 min
#   make bench BENCH_QUICK=1   a fast run of the same (small ledgers, short phases)
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
	BIN=$(BIN) BENCH_QUICK=$(BENCH_QUICK) bash bench/run.sh
