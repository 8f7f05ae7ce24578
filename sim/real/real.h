/* real.h — the real room: `alichain-sim real` and `compare`: a scenario played against the six
 * real programs as processes (wall clock, real sockets and files, faults from signals and a
 * realnet_t back end), judged by the same checkers as the simulator (judge.h). docs/REAL.md
 * explains it. */
#ifndef ALICHAIN_SIM_REAL_H
#define ALICHAIN_SIM_REAL_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "realnet.h"
#include "realdisk.h"
#include "judge/judge.h"
#include "scenario/scenario.h"

#define REAL_SKIPPED_MAX 16          /* distinct unsupported faults named in a report */
#define REAL_FAULT_NAME_BYTES 48
#define REAL_EXIT_REFUSED 2          /* real / compare / soak: refused, or cannot run */
#define REAL_EXIT_INCONCLUSIVE 3     /* real / compare: a timed fault landed later than
                                      * REAL_LAND_TOLERANCE_US: neither pass nor fail, the
                                      * run proves nothing either way */
#define REAL_LAND_TOLERANCE_US 25000 /* a timed step is on time when every injector has
                                      * acknowledged it within this of its scheduled time
                                      * (docs/REAL.md "When faults land") */
#define REAL_LATE_TEXT_BYTES 400

typedef struct {
    const char *programs;        /* directory holding serverM/A/B/C, clientA/B */
    int skip_unsupported;        /* skip (and list) faults the back end cannot produce */
    int has_seed;
    uint64_t seed;
    int has_port_offset;
    unsigned port_offset;        /* else: a free one, locked like tests/e2e does */
    int verbose;                 /* report every operation's output */
    FILE *report;                /* NULL: print nothing */
    realnet_t *net;              /* NULL: loopback */
    const char *net_note;        /* why the run is on loopback when hosts were wanted (report) */
    int disk;                    /* REALDISK_AUTO (the fault file system where it mounts),
                                  * REALDISK_FUSE (or refuse), REALDISK_PLAIN (realdisk.h) */
    uint32_t judge_hold_ms;      /* tests: wait this long after "judging ..." (a signal ends
                                    the wait), so a SIGINT can be aimed at judging; 0: none */
} real_options_t;

/* One labelled operation's outcome, for compare. */
typedef struct {
    char label[SCN_LABEL_BYTES];
    int state;                   /* CHECK_OP_* */
    int exit_code;
    uint64_t inv_us, resp_us;    /* resp_us UINT64_MAX: never ended */
    uint64_t touches, drawn;     /* faults that touched it while it ran; of them, random draws */
    char *out, *err;             /* stdout, stderr (owned) */
    size_t out_len, err_len;
    int model;                   /* hist_model_t: its printed answer against the model, as its
                                    run's judge found it (check_input_t.model) */
} real_outcome_t;

/* A run's end state, for compare: the final disks as restarting backends would read them
 * (every copy, tagged with its backend) and the last alichain.txt. */
typedef struct {
    int known;                   /* 0: not read (the run did not get that far) */
    check_txs_t disks;           /* owned */
    char *txlist;                /* owned; NULL: none was written */
    size_t txlist_len;
} real_final_t;

typedef struct {
    int verdict;                 /* 0 pass, 1 fail */
    int unsupported;             /* refused: a fault the back end cannot produce */
    char skipped[REAL_SKIPPED_MAX][REAL_FAULT_NAME_BYTES];
    int skipped_count;
    uint64_t faults[FAULT_COUNT];
    real_outcome_t *ops;         /* one per STEP_OP, in step order (owned) */
    size_t op_count;
    real_final_t final;
    char first_failure[480];
    int inconclusive;            /* a timed step landed late: see late */
    uint32_t steps_timed;        /* fault steps whose landing was measured */
    uint64_t land_max_us;        /* the latest landing (from the scheduled time) */
    char late[REAL_LATE_TEXT_BYTES]; /* "line 9 partition at 1.000s +23.412 ms; ..." */
    scn_fired_t fired;           /* when each step on a protocol event fired (run time) */
    int safety_failed;           /* a safety checker fired (serials, durability, linearizability,
                                    ...): no real timing explains that */
} real_result_t;

/* Plays s for real. Returns 0 pass, 1 fail, 2 refused (unsupported fault without
 * --skip-unsupported, cannot start: reason on stderr and in first_failure) or interrupted,
 * 3 inconclusive (a timed step landed later than REAL_LAND_TOLERANCE_US: r->late says which;
 * the run was judged and reported all the same).
 * Everything it started (processes, temp dir, the back end's setup) is gone on return. */
int real_run(const scenario_t *s, const real_options_t *o, real_result_t *r);
void real_result_free(real_result_t *r);

#define REAL_DIFF_TEXT_BYTES 400

/* What one compare came to, for `compare --generated`'s JSON lines: the same numbers as
 * the printed report's "compared:", "ledger:" and "differences:" lines. */
typedef struct {
    int verdict;                 /* as real_compare returns */
    uint32_t ops;                /* labelled operations compared */
    uint32_t output_compared;    /* ... with their output as text */
    uint32_t model_checked;      /* ... not as text, but each side's printed answer found one
                                    its judge's model allows (the rest: exit codes only) */
    uint32_t model_rejected;     /* ... whose answer a side's judge found none for (a violation) */
    uint32_t differences;        /* operations and end states that differ */
    int ledger_compared;         /* the final ledgers were compared */
    uint64_t faults[FAULT_COUNT]; /* what the real run's faults touched */
    char first_difference[REAL_DIFF_TEXT_BYTES]; /* "" when none */
    char why[REAL_DIFF_TEXT_BYTES]; /* a fail without a difference, refused or inconclusive: why */
} compare_result_t;

/* Runs s in the simulator and for real and prints both results per labelled operation to f;
 * fills *cr when it is not NULL. Returns 0 (no difference, both pass), 1, 2 (refused /
 * cannot run) or 3 (inconclusive: a timed fault of the real run landed late, and the
 * simulator passed). */
int real_compare(const scenario_t *s, const real_options_t *o, FILE *f, compare_result_t *cr);

/* What every program of a run is started with (real mode and the durability soak). */
typedef struct {
    const realnet_t *net;     /* where it runs (wrap words) and where the servers are */
    const char *programs;     /* the directory of the six programs */
    const char *dir;          /* the run's directory: the cwd, the block files */
    const char *node_dir[SIM_SERVERS]; /* a server's own directory (cwd, block file) when not
                                        * NULL: its disk (realdisk.h) */
    unsigned offset;          /* ALICHAIN_PORT_OFFSET */
    uint32_t timeout_ms, client_timeout_ms;
    const char *client_m_host; /* where a client is told serverM is (the TCP proxy's front);
                                * NULL: where the network back end says serverM is */
} real_env_t;

/* Starts prog (in e->programs) on node with the args after its name, stdin /dev/null,
 * stdout and stderr appended to the given files, through proc_spawn (signals blocked across
 * the fork); its environment: the port offset, timeouts, ALICHAIN_SEED=seed, a backend's
 * ALICHAIN_BLOCK and every ALICHAIN_HOST_* as node sees them. Returns the pid, or -1. */
pid_t real_spawn(const real_env_t *e, int node, const char *prog, uint64_t seed, int argc, char *const *args,
                 const char *out_path, const char *err_path);
/* The exact "up" line server node prints at that offset (core/messages.h's sentence). */
void real_up_line(int node, unsigned offset, char *buf, size_t cap);

#endif
