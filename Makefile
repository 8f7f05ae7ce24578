# alichain — build, test, lint, demo.
#   make            the six programs (+ alichain-sim) at the repository root
#   make check      the quick tier (well under two minutes): build, lint, unit and lint
#                   tests, every scenario, a short swarm
#   make test       install deps, lint, build, run every test on an instrumented build,
#                   print coverage (fails below COVERAGE_MIN % of core/ lines), make sim,
#                   make sim-mutants, then make asan (ci/test.sh)
#   make asan       make sim and every test under AddressSanitizer + UndefinedBehaviorSanitizer,
#                   assertions and ALWAYS/NEVER live
#   make demo       the worked example of SPEC.md on loopback
#   make bench      the benchmark matrix into build/bench/ (make bench-publish: to docs/; bench/bench.mk)
# Objects live under build/<variant>/; the variant's programs under build/<variant>/bin/.

MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
.SECONDARY:

CC       ?= gcc
PYTHON   ?= /usr/bin/python3
VARIANT  ?= release
OUT      := build/$(VARIANT)
BIN      := $(OUT)/bin
# $(call shq,TEXT): TEXT as one shell word, whatever it holds. Every path a recipe hands the
# shell goes through it (a make target itself cannot hold a space: VARIANT stays a word).
shq = '$(subst ','\'',$(1))'

WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifneq ($(filter true,$(CI))$(WERROR),)
WARN     += -Werror
endif
CPPFLAGS := -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Icore
CFLAGS   := -std=c11 -O2 -g $(WARN) $(EXTRA_CFLAGS)
LDFLAGS  := $(EXTRA_LDFLAGS) -lsodium

CORE_SRC := $(sort $(wildcard core/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(OUT)/%.o)
NET_LIB_SRC := $(filter-out net/main_%.c,$(sort $(wildcard net/*.c)))
NET_LIB_OBJ := $(NET_LIB_SRC:%.c=$(OUT)/%.o)

PROGRAMS := serverM serverA serverB serverC clientA clientB
# Every C test under tests/, by one glob: tests/<dir>/test_<name>.c is built to
# $(OUT)/tests/<dir>/test_<name> by the one rule below, and tests/test_unit.py runs every
# such binary (or checks the pytest test named there runs it): none is built and never run.
C_TEST_SRC := $(sort $(wildcard tests/*/test_*.c))
C_TEST_BIN := $(C_TEST_SRC:%.c=$(OUT)/%)

.PHONY: all programs unit test test-run lint asan demo clean coverage deps sim fuzz check test-build test-run-parallel test-run-serial asan-build asan-parallel asan-serial coverage-build
.DEFAULT_GOAL := all

all: programs
	@for p in $(PROGRAMS); do cp -f $(call shq,$(BIN))/"$$p" ./"$$p"; done

programs: $(PROGRAMS:%=$(BIN)/%)

unit: $(C_TEST_BIN)

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(OUT)/core.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(OUT)/net.a: $(NET_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# serverA/B/C share one main, compiled once per letter; so do clientA/B.
$(OUT)/net/main_backend_%.o: net/main_backend.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -DBACKEND_INDEX=$(BACKEND_INDEX_$*) -c $< -o $@
$(OUT)/net/main_client_%.o: net/main_client.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -DCLIENT_INDEX=$(CLIENT_INDEX_$*) -c $< -o $@
BACKEND_INDEX_A := 0
BACKEND_INDEX_B := 1
BACKEND_INDEX_C := 2
CLIENT_INDEX_A := 0
CLIENT_INDEX_B := 1

$(BIN)/serverM: $(OUT)/net/main_serverM.o $(OUT)/net.a $(OUT)/core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) -pthread -o $@
$(BIN)/server%: $(OUT)/net/main_backend_%.o $(OUT)/net.a $(OUT)/core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) -o $@
$(BIN)/client%: $(OUT)/net/main_client_%.o $(OUT)/net.a $(OUT)/core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) -o $@

# A C test may use core and the simulator library (tests/unit/check.h, sim/'s rooms).
$(OUT)/tests/%: tests/%.c $(OUT)/sim.a $(OUT)/core.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isim -Itests/unit $(CFLAGS) -MMD -MP -MF $@.d $< $(OUT)/sim.a $(OUT)/core.a \
	  $(LDFLAGS) -o $@

# test_key_mac (net/key.c's MAC against libsodium's), test_sock (what an accepted connection
# inherits), test_auth and test_loop (net/loop.c's rules) test the drivers' library, so they
# link it.
NET_UNIT_TESTS := $(OUT)/tests/unit/test_key_mac $(OUT)/tests/unit/test_sock $(OUT)/tests/unit/test_auth \
  $(OUT)/tests/unit/test_loop
$(NET_UNIT_TESTS): $(OUT)/tests/unit/%: tests/unit/%.c $(OUT)/net.a $(OUT)/sim.a $(OUT)/core.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Inet -Isim -Itests/unit $(CFLAGS) -MMD -MP -MF $@.d $< $(OUT)/net.a \
	  $(OUT)/sim.a $(OUT)/core.a $(LDFLAGS) -o $@

# Optional parts, each in its own fragment (sim/, fuzz/).
-include sim/sim.mk
-include fuzz/fuzz.mk
-include bench/bench.mk

# ---- checks ---------------------------------------------------------------------------
# core/ is pure: no sockets, clocks, randomness, printing, exiting, no header from outside
# core/, no libc function outside an allow-list in its objects (ci/lint.sh, build/lint/);
# the harness's rooms include only along their arrows and sim/lib.sources lists the
# simulator library (ci/arrows.sh, sim/README.md).
lint:
	@bash ci/lint.sh
	@bash ci/arrows.sh

deps:
	@bash ci/install-deps.sh

# The whole suite against the variant's programs (used by test, asan and coverage), in two
# runs: first every test outside PYTEST_SERIAL, PYTEST_JOBS at a time (pytest-xdist, a test
# file per worker: the tests lease their own port offsets and temporary directories; one at
# a time where xdist is missing), then PYTEST_SERIAL alone, one test at a time: real mode
# measures when its faults land against the scenario's clock, so it gets the machine to
# itself. An empty PYTEST_SERIAL runs everything in the first run (add --ignore=tests/real
# to PYTEST_SKIP to run none of it, as the coverage pass does). With PYTEST_ARGS given (a
# -k filter, say) a run that selects nothing is not a failure; without, it is. PYTEST_SKIP
# is the pass's own --ignore list (asan, coverage).
PYTEST_JOBS ?= 3
# real mode, and serverM's memory under hostile clients (how far RSS grows depends on how fast
# serverM drains, so other tests beside it move the figure)
PYTEST_ALONE_MEMORY = tests/e2e/test_16_memory.py
PYTEST_SERIAL ?= tests/real $(PYTEST_ALONE_MEMORY)
PYTEST_RUN = ALICHAIN_BIN=$(call shq,$(abspath $(BIN))) ALICHAIN_BUILD=$(call shq,$(abspath $(OUT))) \
  $(call shq,$(PYTHON)) -m pytest -q -p no:cacheprovider
PYTEST_NONE_OK = || { rc=$$?; [ $$rc -eq 5 ] && [ -n $(call shq,$(strip $(PYTEST_ARGS))) ] || exit $$rc; }
# test-run = test-run-parallel, then test-run-serial (ci/test.sh runs the two apart).
test-build: programs unit $(TEST_RUN_EXTRA)
test-run: test-run-parallel test-run-serial
test-run-parallel: test-build
	@if [ $(call shq,$(PYTEST_JOBS)) -gt 1 ] && $(call shq,$(PYTHON)) -c 'import xdist' 2>/dev/null; then \
	  par="-n $(PYTEST_JOBS) --dist loadfile"; \
	else par=""; echo "pytest-xdist missing (make deps) or PYTEST_JOBS <= 1: one test at a time"; fi; \
	echo "pytest $$par: tests$(foreach d,$(PYTEST_SERIAL), --ignore=$(d)) $(PYTEST_SKIP) $(PYTEST_ARGS)"; \
	$(PYTEST_RUN) $$par tests $(foreach d,$(PYTEST_SERIAL),--ignore=$(call shq,$(d))) $(PYTEST_SKIP) $(PYTEST_ARGS) $(PYTEST_NONE_OK)
test-run-serial: test-build
	$(if $(strip $(PYTEST_SERIAL)),@echo "pytest one test at a time: $(PYTEST_SERIAL) $(PYTEST_SKIP) $(PYTEST_ARGS)"; \
	  $(PYTEST_RUN) $(foreach d,$(PYTEST_SERIAL),$(call shq,$(d))) $(PYTEST_SKIP) $(PYTEST_ARGS) $(PYTEST_NONE_OK))

# The quick tier, for every change (well under two minutes): the -Werror build, make lint,
# every C unit test (through tests/test_unit.py, which also checks each was built) and the
# lint tests, then every scenario twice and a short swarm. `make test` is everything.
CHECK_SWARM_SEEDS ?= 1000
check:
	@t0=$$(date +%s); \
	$(MAKE) --no-print-directory WERROR=1 all unit && \
	$(MAKE) --no-print-directory lint && \
	ALICHAIN_BIN=$(call shq,$(abspath $(BIN))) ALICHAIN_BUILD=$(call shq,$(abspath $(OUT))) \
	  $(call shq,$(PYTHON)) -m pytest -q -p no:cacheprovider tests/test_unit.py tests/lint && \
	$(call shq,$(BIN)/alichain-sim) suite sim/scenarios sim/scenarios/regress \
	  --swarm $(call shq,$(CHECK_SWARM_SEEDS)) --out $(call shq,$(OUT)/sim-failures) && \
	echo "make check: passed in $$(( $$(date +%s) - t0 )) s (make test runs everything)"

test: deps
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory WERROR=1 all
	bash ci/test.sh

# The sanitizer build: assertions and ALWAYS/NEVER live (no AC_COVERAGE; core/common.h
# refuses NDEBUG), any ASan or UBSan report fatal. It runs the simulator's scenarios and
# swarm (make sim), then the tests of C code: unit, simulator, fuzz-regression, end to end, real mode.
ASAN_CFLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
#
# make test runs each test where it proves something (each pass takes PYTEST_ARGS too):
# the tests that only read or build sources (tests/lint, the ClusterFuzzLite build, which
# compiles its own sanitizer builds, its workflows' layout, and the engine recipes' shell) run
# once, in the coverage pass; the real-mode tests, which prove the real programs and the
# harness's hosts rather than core's coverage (core/ is reached by the unit, simulator and
# end-to-end tests), run once, here, with every sanitizer live. Empty either list to run
# everything in that pass.
# (PYTEST_ARGS, given on the command line, reaches both passes.)
ASAN_PYTEST_SKIP ?= --ignore=tests/lint --ignore=tests/fuzz/test_cflite_build.py \
  --ignore=tests/fuzz/test_cflite_workflows.py --ignore=tests/engines
COVERAGE_PYTEST_SKIP ?= --ignore=tests/real
# asan-build, asan-parallel (make sim, then the tests outside PYTEST_SERIAL) and asan-serial
# (PYTEST_SERIAL alone) are its parts, for ci/test.sh, which runs the serial part beside the
# coverage pass (at a lower priority).
ASAN_MAKE = $(MAKE) --no-print-directory VARIANT=asan WERROR=1 EXTRA_CFLAGS="$(ASAN_CFLAGS)" \
  EXTRA_LDFLAGS="-fsanitize=address,undefined" PYTEST_SKIP="$(ASAN_PYTEST_SKIP)"
asan:
	$(ASAN_MAKE) sim test-run
asan-build:
	$(ASAN_MAKE) test-build
asan-parallel:
	$(ASAN_MAKE) sim test-run-parallel
asan-serial:
	$(ASAN_MAKE) test-run-serial

COVERAGE_MAKE = $(MAKE) --no-print-directory VARIANT=cov WERROR=1 \
  EXTRA_CFLAGS="-O0 --coverage -DAC_COVERAGE" EXTRA_LDFLAGS="--coverage" \
  PYTEST_SERIAL="$(PYTEST_ALONE_MEMORY)" PYTEST_SKIP="$(COVERAGE_PYTEST_SKIP)"
coverage:
	$(COVERAGE_MAKE) test-run
coverage-build:
	$(COVERAGE_MAKE) test-build

demo: all
	bash ci/demo.sh

# Everything `make` and its fragments copy to the repository root (ROOT_ARTIFACTS) goes too.
ROOT_ARTIFACTS += $(PROGRAMS)
clean:
	rm -rf build $(ROOT_ARTIFACTS)

-include $(shell find build -name '*.d' 2>/dev/null)
