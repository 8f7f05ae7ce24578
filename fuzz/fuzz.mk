# fuzz.mk — the fuzz targets' two builds (included by the top Makefile):
#  * regression drivers $(OUT)/fuzz/<target>: target + standalone.c + core (gcc, the
#    variant's flags), added to TEST_RUN_EXTRA so `make test`/`asan`/`coverage` replay
#    every corpus file and reproducer (tests/fuzz/test_fuzz_regress.py);
#  * `make fuzz`: clang + libFuzzer + ASan + UBSan under build/fuzz/, each target run for
#    FUZZ_SECONDS by fuzz/run.sh; `make fuzz-merge` adds only coverage-increasing inputs
#    found there to fuzz/corpus/; `make fuzz-coverage` checks the corpora cover core/wire.c
#    and core/tx.c (fuzz/coverage.sh).

FUZZ_ALL := $(patsubst fuzz/%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
# Targets that drive the simulator (and fuzz_auth, for the real MAC: sim/hosts/mac.h) also
# link $(OUT)/sim.a (sim/sim.mk builds it).
FUZZ_SIM_NAMES := fuzz_scenario fuzz_sim fuzz_nodes fuzz_block fuzz_auth
FUZZ_SIM := $(filter $(FUZZ_SIM_NAMES),$(FUZZ_ALL))
FUZZ_CORE := $(filter-out $(FUZZ_SIM_NAMES),$(FUZZ_ALL))

# ---- regression drivers (gcc, this variant) --------------------------------------------
FUZZ_DRIVERS := $(FUZZ_ALL:%=$(OUT)/fuzz/%)
TEST_RUN_EXTRA += $(FUZZ_DRIVERS)

$(OUT)/fuzz/%.o: CPPFLAGS += -Isim

$(FUZZ_CORE:%=$(OUT)/fuzz/%): $(OUT)/fuzz/%: $(OUT)/fuzz/%.o $(OUT)/fuzz/standalone.o \
    $(OUT)/core.a
	$(CC) $(CFLAGS) $^ $(LDFLAGS) -o $@
$(FUZZ_SIM:%=$(OUT)/fuzz/%): $(OUT)/fuzz/%: $(OUT)/fuzz/%.o $(OUT)/fuzz/standalone.o \
    $(OUT)/sim.a $(OUT)/core.a
	$(CC) $(CFLAGS) $^ $(LDFLAGS) -o $@

.PHONY: fuzz-drivers fuzz-build fuzz-merge fuzz-coverage fuzz-seeds
fuzz-drivers: $(FUZZ_DRIVERS)

# The hand-picked seeds (fuzz/seeds.c) are generated with core's own encoders.
$(OUT)/fuzz/seeds: $(OUT)/fuzz/seeds.o $(OUT)/core.a
	$(CC) $(CFLAGS) $^ $(LDFLAGS) -o $@
fuzz-seeds: $(OUT)/fuzz/seeds
	$(call shq,$(OUT)/fuzz/seeds) fuzz/corpus

# ---- libFuzzer build (clang, its own objects under build/fuzz/) -------------------------
FUZZ_DIR      ?= build/fuzz
FUZZ_CLANG    ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_RSS_MB   ?= 1024
FUZZ_TARGETS  ?= $(FUZZ_ALL)
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   := -std=c11 -O1 -g $(WARN) $(FUZZ_SAN)
# The simulator's library: sim/sim.mk's SIM_SRC, read from the one list sim/lib.sources.
FUZZ_SIM_SRC  := $(SIM_SRC)
FUZZ_BINS     := $(FUZZ_ALL:%=$(FUZZ_DIR)/bin/%)

# Library code gets coverage instrumentation but not libFuzzer's main().
$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CLANG) $(CPPFLAGS) -Isim $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
# The node harness (sim/world/nodes.c, fuzz_nodes' only) compares effect kinds, connection
# flags and queue counts, never the input's bytes: tracing those comparisons for libFuzzer
# cost fuzz_nodes 3% and told it nothing (its edges are still counted).
$(FUZZ_DIR)/obj/sim/world/nodes.o: FUZZ_CFLAGS += -fno-sanitize-coverage=trace-cmp
$(FUZZ_DIR)/core.a: $(CORE_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^
$(FUZZ_DIR)/sim.a: $(FUZZ_SIM_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^
$(FUZZ_CORE:%=$(FUZZ_DIR)/bin/%): $(FUZZ_DIR)/bin/%: $(FUZZ_DIR)/obj/fuzz/%.o $(FUZZ_DIR)/core.a
	@mkdir -p $(dir $@)
	$(FUZZ_CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -lsodium -o $@
$(FUZZ_SIM:%=$(FUZZ_DIR)/bin/%): $(FUZZ_DIR)/bin/%: $(FUZZ_DIR)/obj/fuzz/%.o $(FUZZ_DIR)/sim.a \
    $(FUZZ_DIR)/core.a
	@mkdir -p $(dir $@)
	$(FUZZ_CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -lsodium -lm -o $@

fuzz-build: $(FUZZ_BINS)

# make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="fuzz_udp fuzz_tcp"] [FUZZ_FLAGS="-fork=1 ..."]
FUZZ_FLAGS ?=
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/bin/%)
	FUZZ_SECONDS=$(call shq,$(FUZZ_SECONDS)) FUZZ_RSS_MB=$(call shq,$(FUZZ_RSS_MB)) \
	  FUZZ_DIR=$(call shq,$(FUZZ_DIR)) FUZZ_FLAGS=$(call shq,$(FUZZ_FLAGS)) bash fuzz/run.sh $(FUZZ_TARGETS)

fuzz-merge: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/bin/%)
	FUZZ_DIR=$(call shq,$(FUZZ_DIR)) FUZZ_RSS_MB=$(call shq,$(FUZZ_RSS_MB)) bash fuzz/run.sh --merge $(FUZZ_TARGETS)

fuzz-coverage:
	bash fuzz/coverage.sh
