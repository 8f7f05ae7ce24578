# sim.mk — the simulator, included by the top Makefile (which defines OUT, BIN, CC,
# CPPFLAGS, CFLAGS, LDFLAGS and $(OUT)/core.a). sim/ links core only, never net/.
#   make                 also copies alichain-sim to the repository root
#   make sim             every sim/scenarios/*.scn twice + a short swarm + speed figures
#   make sim-mutants     a swarm against each planted bug (alichain-sim-mutants); exits 0
#                        only if every one is caught within MUTANT_SEEDS seeds
#   make swarm-parallel SEEDS=N JOBS=J   the swarm in blocks through GNU parallel
#                        (sim/swarm/swarm-job.sh), then the merged report (docs/SCALING.md)
# sim/ is in rooms (sim/README.md); the library's sources are the one list sim/lib.sources
# (also read by fuzz/fuzz.mk and .clusterfuzzlite/build.sh); the mains are sim/cmd/.
# Simulator code includes another room's header as "room/file.h" (-Isim).

SIM_SRC := $(shell sed -e 's/\#.*//' sim/lib.sources)
SIM_OBJ := $(SIM_SRC:%.c=$(OUT)/%.o)
SIM_CPPFLAGS := -Isim
$(OUT)/sim/%.o: CPPFLAGS += $(SIM_CPPFLAGS)
SIM_SWARM_SEEDS ?= 2000
MUTANT_SEEDS ?= 2000

.PHONY: sim sim-root sim-mutants

# lib.sources is a prerequisite too: under .SECONDARY a new file's missing object alone does
# not make an archive newer than every source out of date
$(OUT)/sim.a: $(SIM_OBJ) sim/lib.sources
	@rm -f $@
	ar rcs $@ $(filter %.o,$^)

# The git commit goes into alichain-sim (the "commit" of its JSON lines). commit.h is
# rewritten only when the commit changes, so main.o is recompiled only then.
.PHONY: FORCE
$(OUT)/sim/commit.h: FORCE
	@mkdir -p $(dir $@)
	@c=$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown); \
	  if [ "$$c" != unknown ] && [ -n "$$(git status --porcelain -uno 2>/dev/null)" ]; then \
	    c=$$c-dirty; fi; \
	  printf '#define ALICHAIN_COMMIT "%s"\n' "$$c" >$@.tmp; \
	  if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
$(OUT)/sim/cmd/alichain-sim.o: $(OUT)/sim/commit.h
$(OUT)/sim/cmd/alichain-sim.o: CPPFLAGS += -include $(OUT)/sim/commit.h

# The disk fault file system (sim/hosts/faultfs.h) needs libfuse3 (Debian libfuse3-dev,
# ci/install-deps.sh); built without it, faultfs says so at run time and real mode refuses
# disk faults as before.
FUSE_LIBS := $(shell pkg-config --libs fuse3 2>/dev/null)
ifneq ($(FUSE_LIBS),)
$(OUT)/sim/hosts/faultfs.o: CPPFLAGS += $(shell pkg-config --cflags fuse3) -DALICHAIN_FUSE
endif

$(BIN)/alichain-sim: $(OUT)/sim/cmd/alichain-sim.o $(OUT)/sim.a $(OUT)/core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(FUSE_LIBS) -o $@

# alichain-hosts: namespace hosts, kernel faults and the UDP fault relay (docs/REAL-HOSTS.md)
$(BIN)/alichain-hosts: $(OUT)/sim/cmd/alichain-hosts.o $(OUT)/sim.a $(OUT)/core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(FUSE_LIBS) -o $@

all: sim-root
ROOT_ARTIFACTS += alichain-sim alichain-hosts alichain-sim-mutants
sim-root: $(BIN)/alichain-sim $(BIN)/alichain-hosts
	cp -f $(call shq,$(BIN)/alichain-sim) ./alichain-sim
	cp -f $(call shq,$(BIN)/alichain-hosts) ./alichain-hosts

TEST_RUN_EXTRA += $(BIN)/alichain-sim $(BIN)/alichain-hosts

sim: $(BIN)/alichain-sim
	$(call shq,$(BIN)/alichain-sim) suite sim/scenarios sim/scenarios/regress \
	  --swarm $(call shq,$(SIM_SWARM_SEEDS)) --out $(call shq,$(OUT)/sim-failures)

sim-mutants:
	$(MAKE) --no-print-directory VARIANT=mutants EXTRA_CFLAGS="$(EXTRA_CFLAGS) -DALICHAIN_MUTANTS" \
	  build/mutants/bin/alichain-sim
	cp -f build/mutants/bin/alichain-sim ./alichain-sim-mutants
	bash sim/swarm/mutants.sh ./alichain-sim-mutants $(call shq,$(MUTANT_SEEDS)) build/mutants/sim-failures

# ---- the swarm in blocks through GNU parallel (docs/SCALING.md) ------------------------
# make swarm-parallel SEEDS=N JOBS=J: ceil(N / SWARM_BLOCK_SEEDS) blocks 0.. of
# SWARM_BLOCK_SEEDS seeds each (so N rounds up to whole blocks), J at a time, each by
# sim/swarm/swarm-job.sh into SWARM_RESULTS (emptied first); then `alichain-sim report` over
# every block, expecting exactly seeds 0..blocks*SWARM_BLOCK_SEEDS-1; its exit status is
# the target's (sim/swarm/swarm-parallel.sh). SEEDS, JOBS and SWARM_BLOCK_SEEDS are whole
# numbers >= 1; a SWARM_RESULTS that holds anything but block results is refused, not emptied. SWARM_PARALLEL_ARGS adds GNU parallel options (--sshlogin for many
# machines: docs/SCALING.md); SWARM_SIM picks the alichain-sim.
SEEDS ?= 20000
JOBS ?= 2
SWARM_BLOCK_SEEDS ?= 1000
SWARM_RESULTS ?= $(OUT)/swarm-results
SWARM_SIM ?= $(BIN)/alichain-sim
SWARM_PARALLEL_ARGS ?=
.PHONY: swarm-parallel
swarm-parallel: $(SWARM_SIM)
	@bash sim/swarm/swarm-parallel.sh $(call shq,$(SWARM_SIM)) $(call shq,$(SEEDS)) $(call shq,$(JOBS)) \
	  $(call shq,$(SWARM_BLOCK_SEEDS)) $(call shq,$(SWARM_RESULTS)) $(call shq,$(SWARM_PARALLEL_ARGS))

# make real-mutants: the six real programs built with the planted bugs (core's, and the
# real-only ones of net/; selected at run time by ALICHAIN_MUTANT, a variable only this
# build reads; net/drive.h keeps them out of every other build), then alichain-sim real
# against each; exits 0 only if at least REAL_MUTANTS_MIN are caught while the same
# scenarios pass with ALICHAIN_MUTANT=none.
# (8 of 9: write_during_pause may miss one; not root, the three power-cut cases (the disk
# fault file system) and skip-mac (the relays' forger) are refused: REAL_MUTANTS_MIN=4 there)
REAL_MUTANTS_MIN ?= 8
.PHONY: real-mutants real-mutants-programs compare-mutants
real-mutants-programs:
	$(MAKE) --no-print-directory VARIANT=real-mutants \
	  EXTRA_CFLAGS="$(EXTRA_CFLAGS) -DALICHAIN_MUTANTS -DALICHAIN_REAL_MUTANTS" programs
real-mutants: $(BIN)/alichain-sim real-mutants-programs
	bash sim/real/mutants.sh real $(call shq,$(BIN)/alichain-sim) build/real-mutants/bin $(call shq,$(REAL_MUTANTS_MIN))

# make compare-mutants: the same programs, each planted bug run by alichain-sim compare
# (this build's simulator is correct) on a scenario the unmutated programs compare equal on;
# caught only by a DIFFERENT line (docs/REAL.md "Planted bugs"). One case needs namespace
# hosts (root): on loopback it is refused and not counted, so lower COMPARE_MUTANTS_MIN there.
COMPARE_MUTANTS_MIN ?= 4
compare-mutants: $(BIN)/alichain-sim real-mutants-programs
	bash sim/real/mutants.sh compare $(call shq,$(BIN)/alichain-sim) build/real-mutants/bin \
	  $(call shq,$(COMPARE_MUTANTS_MIN))

# make soak: the durability soak (docs/REAL.md "Durability soak"): SOAK_TRANSFERS transfers,
# SOAK_CONCURRENCY at a time, on the real programs across the namespace hosts (loopback,
# said loudly, where they cannot be made; refused under CI=true), a random server killed
# with SIGKILL and restarted every SOAK_KILL_MS ms; then the block files are checked.
SOAK_TRANSFERS ?= 2000
SOAK_CONCURRENCY ?= 16
SOAK_KILL_MS ?= 200
SOAK_SEED ?= 1
.PHONY: soak
soak: programs $(BIN)/alichain-sim
	$(call shq,$(BIN)/alichain-sim) soak --transfers $(call shq,$(SOAK_TRANSFERS)) \
	  --concurrency $(call shq,$(SOAK_CONCURRENCY)) --kill-ms $(call shq,$(SOAK_KILL_MS)) \
	  --seed $(call shq,$(SOAK_SEED)) --programs $(call shq,$(BIN))
