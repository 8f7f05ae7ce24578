/* real.h — `alichain-sim real` and `compare`: a scenario played against the six real programs
 * as processes (wall clock, real sockets and files, faults from signals and a realnet_t back
 * end), judged by the same checkers as the simulator (judge.h). docs/REAL.md explains it. */
#ifndef ALICHAIN_SIM_REAL_H
#define ALICHAIN_SIM_REAL_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "realnet.h"
#include "sim.h"

#define REAL_SKIPPED_MAX 16          /* distinct unsupported faults named in a report */
#define REAL_FAULT_NAME_BYTES 48

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
} real_options_t;

/* One labelled operation's outcome, for compare. */
typedef struct {
    char label[SCN_LABEL_BYTES];
    int state;                   /* CHECK_OP_* */
    int exit_code;
    uint64_t inv_us, resp_us;    /* resp_us UINT64_MAX: never ended */
    char *out;                   /* stdout (owned) */
    size_t out_len;
} real_outcome_t;

typedef struct {
    int verdict;                 /* 0 pass, 1 fail */
    int unsupported;             /* refused: a fault the back end cannot produce */
    char skipped[REAL_SKIPPED_MAX][REAL_FAULT_NAME_BYTES];
    int skipped_count;
    uint64_t faults[FAULT_COUNT];
    real_outcome_t *ops;         /* one per STEP_OP, in step order (owned) */
    size_t op_count;
    char first_failure[480];
} real_result_t;

/* Plays s for real. Returns 0 pass, 1 fail, 2 refused (unsupported fault without
 * --skip-unsupported, cannot start: reason on stderr and in first_failure) or interrupted.
 * Everything it started (processes, temp dir, the back end's setup) is gone on return. */
int real_run(const scenario_t *s, const real_options_t *o, real_result_t *r);
void real_result_free(real_result_t *r);

/* The faults of s that net cannot produce, each named once (e.g. "udp loss", "torn write"). */
int real_unsupported(const scenario_t *s, const realnet_t *net,
                     char names[REAL_SKIPPED_MAX][REAL_FAULT_NAME_BYTES]);

/* Runs s in the simulator and for real and prints both results per labelled operation;
 * returns 0 (no difference, both pass), 1, or 2 (refused / cannot run). */
int real_compare(const scenario_t *s, const real_options_t *o, FILE *f);

/* Process helpers, shared with the durability soak (sim/soak.c). */

/* Forks path on node (the back end's wrap words first) with args after its name, stdin
 * /dev/null, stdout and stderr appended to the given files, cwd cwd, env[0..ne) put into
 * its environment and ALICHAIN_HOST_* from net. Returns the pid, or -1. */
pid_t real_spawn(const realnet_t *net, int node, const char *path, int argc, char *const *args,
                 const char *cwd, char *const *env, int ne, const char *out_path, const char *err_path);
/* kill -9 (and SIGCONT) and reap, within a deadline; *pid set to 0. */
void real_proc_kill(pid_t *pid);
/* The whole file into a NUL-terminated malloc'd *buf (NULL when it does not exist): 0 or -1. */
int real_file_read(const char *path, char **buf, size_t *len);
/* Removes dir and everything below it (best effort). */
/* SIGINT/SIGTERM during a run (real, soak): caught so everything started is stopped first.
 * real_signals_catch clears the flag and installs the handler, saving the old ones;
 * real_signals_restore puts them back; real_was_interrupted says whether one arrived. */
typedef struct {
    struct sigaction old_int, old_term;
} real_signals_t;
void real_signals_catch(real_signals_t *saved);
void real_signals_restore(const real_signals_t *saved);
int real_was_interrupted(void);

/* A fresh directory "$TMPDIR/<prefix>-XXXXXX" (TMPDIR unset or relative: /tmp) into
 * dir[cap]. Returns 0, or -1 with errno (dir then empty). */
int real_mkdtemp(char *dir, size_t cap, const char *prefix);
void real_remove_tree(const char *dir);
/* A free port offset held under tests/e2e's lock files (*lock_fd: close it to release). */
int real_port_lease(unsigned *offset, int *lock_fd, char *err, size_t cap);

#endif
