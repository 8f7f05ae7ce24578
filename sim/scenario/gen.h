/* gen.h — random scenarios for swarm testing: a workload of client operations and, per
 * seed, its own mix of faults (each kind on or off, with its own intensity), followed by a
 * calm phase in which availability and liveness are owed. The chance comes from a source
 * object, so the swarm draws from a seeded PRNG and the fuzzers from their input bytes. */
#ifndef ALICHAIN_SIM_GEN_H
#define ALICHAIN_SIM_GEN_H

#include <stdint.h>

#include "scenario.h"

typedef struct {
    uint64_t (*below)(void *ctx, uint64_t n); /* uniform in [0, n), n >= 1 */
    void *ctx;
} gen_src_t;

typedef struct {
    uint32_t ops_max;          /* operations at most (>= 1) */
    uint64_t fault_phase_max_us;
    int real_only;             /* only faults real hosts produce, timed as compare needs */
} gen_limits_t;

/* Fills out (freed first by the caller's scenario_init) with a random scenario whose run
 * seed is `seed`. Returns 0 or AC_ENOMEM. */
int gen_scenario(gen_src_t *src, uint64_t seed, const gen_limits_t *lim, scenario_t *out);

/* The swarm's limits. */
extern const gen_limits_t gen_limits_swarm;

/* `compare --generated`'s: a handful of operations, and only what namespace hosts and real
 * processes produce (crash/restart, pause/resume, partitions, UDP loss/dup/reorder/delay);
 * every fault step on a GEN_REAL_SLOT_US boundary and every operation in the middle of a
 * slot, so an operation is never nearer than GEN_REAL_SLOT_US / 2 to a fault it aims at
 * (a real fault lands within 25 ms: docs/REAL.md "When faults land"). */
extern const gen_limits_t gen_limits_real;
#define GEN_REAL_SLOT_US 120000

#endif
