/* suite.h — `alichain-sim suite`: every scenario file of some directories (each run twice,
 * the two trace hashes compared), one table row per scenario, then a short swarm whose
 * totals give the speed figures (events per second, virtual time / wall time). */
#ifndef ALICHAIN_SIM_SUITE_H
#define ALICHAIN_SIM_SUITE_H

#include <stdio.h>
#include <stdint.h>

typedef struct {
    const char *const *dirs;
    int dir_count;
    uint64_t swarm_seeds;      /* 0: no swarm */
    const char *out_dir;       /* the swarm's shrunk scenarios */
    const char *prog;
    FILE *report;
} suite_options_t;

/* Returns 0 when everything passed, 1 otherwise, 2 when a scenario does not parse. */
int suite_run(const suite_options_t *o);

#endif
