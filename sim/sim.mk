# sim.mk — the simulator, included by the top Makefile (which defines OUT, BIN, CC,
# CPPFLAGS, CFLAGS, LDFLAGS and $(OUT)/core.a). sim/ links core only, never net/.
#   make                 also copies alichain-sim to the repository root
#   make sim             every sim/scenarios/*.scn twice + a short swarm + speed figures
#   make sim-mutants     a swarm against each planted bug (alichain-sim-mutants); exits 0
#                        only if every one is caught within MUTANT_SEEDS seeds
# The sim objects other than main go into $(OUT)/sim.a for the fuzz targets.

SIM_SRC := $(filter-out sim/main.c sim/hosts_main.c,$(sort $(wildcard sim/*.c)))
SIM_OBJ := $(SIM_SRC:%.c=$(OUT)/%.o)
SIM_TEST_SRC := $(sort $(wildcard tests/sim/test_*.c))
SIM_TEST_BIN := $(SIM_TEST_SRC:tests/sim/%.c=$(OUT)/tests/sim/%)
SIM_SWARM_SEEDS ?= 2000
MUTANT_SEEDS ?= 2000

.PHONY: sim sim-root sim-mutants sim-tests

$(OUT)/sim.a: $(SIM_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/alichain-sim: $(OUT)/sim/main.o $(OUT)/sim.a $(OUT)/core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) -o $@

# C unit tests of the simulator's own parts (pytest runs them: tests/sim/test_units.py)
$(OUT)/tests/sim/test_%: tests/sim/test_%.c $(OUT)/sim.a $(OUT)/core.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isim -Itests/unit $(CFLAGS) $< $(OUT)/sim.a $(OUT)/core.a $(LDFLAGS) -o $@

sim-tests: $(SIM_TEST_BIN)

# The node unit tests drive core through the shared in-process harness (sim/nodes.h).
$(OUT)/tests/test_nodes: tests/unit/test_nodes.c tests/unit/check.h $(OUT)/sim.a $(OUT)/core.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isim -Itests/unit $(CFLAGS) $< $(OUT)/sim.a $(OUT)/core.a $(LDFLAGS) -o $@

# alichain-hosts: namespace hosts, kernel faults and the UDP fault relay (docs/REAL-HOSTS.md)
$(BIN)/alichain-hosts: $(OUT)/sim/hosts_main.o $(OUT)/sim.a $(OUT)/core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) -o $@

all: sim-root
sim-root: $(BIN)/alichain-sim $(BIN)/alichain-hosts
	cp -f $(BIN)/alichain-sim ./alichain-sim
	cp -f $(BIN)/alichain-hosts ./alichain-hosts

TEST_RUN_EXTRA += $(BIN)/alichain-sim $(BIN)/alichain-hosts $(SIM_TEST_BIN)

sim: $(BIN)/alichain-sim
	$(BIN)/alichain-sim suite sim/scenarios sim/scenarios/regress --swarm $(SIM_SWARM_SEEDS) \
	  --out $(OUT)/sim-failures

sim-mutants:
	$(MAKE) --no-print-directory VARIANT=mutants EXTRA_CFLAGS="$(EXTRA_CFLAGS) -DALICHAIN_MUTANTS" \
	  build/mutants/bin/alichain-sim
	cp -f build/mutants/bin/alichain-sim ./alichain-sim-mutants
	bash sim/mutants.sh ./alichain-sim-mutants $(MUTANT_SEEDS) build/mutants/sim-failures
