/* sim.h — the world room's public face: one deterministic run of a scenario in one process
 * under a virtual clock (world.c and its parts). alichain-sim, the swarm, compare and the
 * fuzz targets (fuzz/fuzz_sim.c) all go through sim_run(); nothing here prints unless
 * sim_options_t.report asks for it. docs/SIMULATOR.md explains the model. */
#ifndef ALICHAIN_SIM_WORLD_SIM_H
#define ALICHAIN_SIM_WORLD_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "judge/judge.h"
#include "scenario/scenario.h"

/* One labelled operation as the run ended, for a caller that compares runs (compare). */
typedef struct {
    const scn_step_t *step;       /* its step in the scenario */
    int state;                    /* SIM_OP_WAITING / SIM_OP_RUNNING / SIM_OP_DONE */
    int exit_code;                /* when done */
    uint64_t inv_us, resp_us;     /* virtual times; resp_us when done */
    uint64_t touches, drawn;      /* faults that touched it while it ran; of them, random draws
                                   * (judge/excuse.h: excuse_t.drawn) */
    const char *out, *err;        /* what it printed (not NUL-terminated) */
    size_t out_len, err_len;
    int model;                    /* hist_model_t: its printed answer against the model
                                     (check_input_t.model), as the run's judge found it */
} sim_op_view_t;
enum { SIM_OP_WAITING = 0, SIM_OP_RUNNING, SIM_OP_DONE };

typedef struct {
    uint64_t seed_override;       /* used when has_seed_override */
    int has_seed_override;
    FILE *report;                 /* NULL: print nothing; else the run's report */
    int verbose;                  /* report: every operation's output too */
    const char *trace_path;       /* text trace, one event a line (NULL: none) */
    const char *trace_json_path;  /* Chrome trace-event JSON (NULL: none) */
    const char *repro;            /* printed after a violation: how to reproduce it */
    uint64_t events_max;          /* 0: SIM_EVENTS_MAX_DEFAULT */
    /* For a caller that compares runs (NULL: not called; views live only for the call):
     * on_op once per labelled operation, in step order, when the run has ended; on_end
     * with the final disks as restarting backends would read them (every copy, tagged
     * with its backend) and the last alichain.txt (NULL: none was written). */
    void (*on_op)(void *ctx, const sim_op_view_t *op);
    void (*on_end)(void *ctx, const check_txs_t *disks, const char *txlist, size_t txlist_len);
    void *hook_ctx;
} sim_options_t;
#define SIM_EVENTS_MAX_DEFAULT 200000000ull

/* Runs the scenario once. Returns the verdict (0 pass, 1 fail) or a negative error
 * (AC_EINVAL: the scenario cannot start, e.g. a bad block; AC_ENOMEM); res is filled
 * either way. Prints only to opts->report. */
int sim_run(const scenario_t *s, const sim_options_t *opts, sim_result_t *res);

#endif
