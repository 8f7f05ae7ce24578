/* swarm.h — the swarm room: many seeds, each a generated scenario with its own fault mix
 * (gen.h); every failure is reported with its seed, the command that reproduces it, and a
 * scenario file shrunk by greedy removal of operations and faults while the same checker still
 * fails. */
#ifndef ALICHAIN_SIM_SWARM_H
#define ALICHAIN_SIM_SWARM_H

#include <stdio.h>

#include "scenario/gen.h"
#include "world/sim.h"

typedef struct {
    uint64_t seeds;            /* how many */
    uint64_t first;            /* the first seed */
    const char *out_dir;       /* where shrunk scenarios go (created) */
    const char *prog;          /* program name in reproduce commands */
    const char *mutant;        /* --mutant NAME in reproduce commands, or NULL */
    int stop_on_fail;          /* stop at the first failing seed */
    int shrink;                /* shrink failures */
    int progress;              /* a progress line on stderr (a terminal) */
    FILE *report;              /* failures and the summary (NULL: silent) */
    FILE *jsonl;               /* one JSON line per seed after a "run" line (jsonl.h), or NULL */
    const char *commit;        /* the "commit" field of those lines (NULL: "unknown") */
    const char *host, *attempt; /* the run line's "host" and "attempt" (NULL: left out) */
    int has_block;             /* the seeds are block `block` of `block_seeds` (run line) */
    uint64_t block, block_seeds;
    int (*stop)(void);         /* non-zero: stop at the next seed boundary (NULL: never);
                                * the driver's SIGINT/SIGTERM flag (proc_interrupted) */
} swarm_options_t;

typedef struct {
    uint64_t seeds_run;
    uint64_t failed;
    uint64_t base_failed;      /* --mutant: seeds failing without the mutant too (not counted) */
    uint64_t first_failed_seed;
    char first_checker[32];
    uint64_t events;
    uint64_t virtual_us;
    uint64_t wall_us;          /* of the runs themselves (shrinking excluded) */
    uint64_t faults[FAULT_COUNT];
    sim_group_commit_t group_commit; /* sim_result_t.group_commit, summed */
} swarm_result_t;

/* swarm_run's error when the JSON lines could not be written (out of core's error range). */
#define SWARM_EWRITE (-64)
/* swarm_run's answer when o->stop asked it to stop: the seeds finished before it have their
 * whole lines in o->jsonl (flushed); the seed running then is abandoned, with no line and no
 * shrunk scenario. */
#define SWARM_ECANCELLED (-65)

/* Returns 0 when every seed passed, 1 otherwise, or a negative error (AC_ENOMEM,
 * SWARM_EWRITE when o->jsonl reports a write error, SWARM_ECANCELLED). */
int swarm_run(const swarm_options_t *o, swarm_result_t *r);

/* The scenario generated for `seed` under lim (gen_limits_swarm: what the swarm runs;
 * gen_limits_real: compare --generated), from one seeded source. Returns 0 or AC_ENOMEM. */
int swarm_scenario_limits(uint64_t seed, const gen_limits_t *lim, scenario_t *out);


#endif
