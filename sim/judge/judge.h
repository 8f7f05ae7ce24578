/* judge.h — the judge room: the end-of-run judge, independent of who ran the scenario: the
 * simulator (world.c) and the real-mode runner (real.c) both describe their run as
 * check_input_t (operations with invocation/response times, the final disks read through
 * core's blockfile_recover, alichain.txt, fault counters) and get the same checkers and
 * `expect`s. */
#ifndef ALICHAIN_SIM_JUDGE_H
#define ALICHAIN_SIM_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "names.h"
#include "scenario/scenario.h"
#include "wire.h"

#define CHECK_MSG_BYTES 480 /* one violation or failed expect, as sim_result_t keeps it */

enum { CHECK_OP_WAITING = 0, CHECK_OP_RUNNING, CHECK_OP_DONE };

/* One labelled client operation as its driver saw it. */
typedef struct {
    const scn_step_t *step;
    uint8_t state;            /* CHECK_OP_* */
    uint8_t parsed;           /* argv was valid: req holds the request */
    uint8_t have_reply;       /* reply holds the reply head */
    int exit_code;
    wire_creq_t req;
    wire_crep_t reply;
    uint64_t inv_us, resp_us; /* since the run started (virtual or wall clock) */
    const char *out;          /* stdout, lines ending in '\n' */
    size_t out_len;
    const char *err;          /* stderr */
    size_t err_len;
    const char *file;         /* TXLIST answered OK: alichain.txt then (NULL: none) */
    size_t file_len;
    uint32_t session;         /* its persistent connection (1..op_count; 0: one-shot) */
    uint32_t session_seq;     /* its request's place on that connection */
} check_op_t;

/* Every transaction of the final (or initial) block files, every copy. */
typedef struct {
    hist_stored_t *txs;
    size_t count, cap;
} check_txs_t;

typedef struct {
    const scenario_t *scn;
    const check_op_t *ops;
    size_t op_count;
    const check_txs_t *disk;      /* the final disks */
    const char *txlist;           /* the final alichain.txt (NULL: absent) */
    size_t txlist_len;
    const uint64_t *faults;       /* FAULT_COUNT counters (EXP_FAULT) */
    uint32_t faults_unmeasured;   /* 1u << FAULT_*: counters this driver cannot measure; an
                                   * `expect fault` on one is never judged (the real runner
                                   * refuses it, or lists it as skipped) */
    int settled;                  /* nothing in flight at the end */
    int (*stop)(void *ctx);       /* NULL, or polled by the long loops: nonzero ends the
                                     judging early (check_judge returns HIST_ESTOPPED) */
    void *stop_ctx;
    uint8_t *model;               /* out (NULL: not wanted): op_count entries, each a
                                   * hist_model_t: what the linearizability checker made of the
                                   * answer the operation printed (FITS only when its stdout,
                                   * read back by core's outcome parser, shows that request and
                                   * that reply) */
} check_input_t;

typedef struct {
    void (*violation)(void *ctx, const char *checker, uint64_t at_us, const char *msg);
    void (*expect_failed)(void *ctx, const scn_expect_t *e, const char *msg);
    void *ctx;
} check_sink_t;

/* Reads one block image as a restarting backend would (blockfile_recover, with the
 * "<block>.appended" marker when given) and appends its transactions to out, tagged with
 * backend. Returns 0, 1 when it cannot be recovered (reason in err), or AC_ENOMEM. */
int check_block_read(const char *img, size_t len, const char *marker, size_t marker_len,
                     int backend, check_txs_t *out, char *err, size_t err_cap);
void check_txs_free(check_txs_t *t);

/* The checkers of history.c over the operations and disks (the initial transactions are
 * the scenario's blocks), then every `expect` of the scenario. Returns 0, AC_ENOMEM, or
 * HIST_ESTOPPED (in->stop said so: the verdict is incomplete). */
int check_judge(const check_input_t *in, const check_sink_t *sink);

/* The final disks indexed once (disks.c): the distinct transactions (copies of one on
 * several disks count once) and every user's final balance over them; each question below
 * is a lookup, not a scan of the disks. Borrows d's transactions: d outlives it. */
typedef struct {
    const tx_t **distinct;        /* sorted, one per distinct transaction */
    size_t distinct_count;
    names_t names;                /* every user of a transaction */
    int64_t *balance;             /* per user index: the final balance */
    uint32_t users;
} check_disks_t;

int check_disks_index(check_disks_t *x, const check_txs_t *d);   /* 0 or AC_ENOMEM */
void check_disks_free(check_disks_t *x);
/* The final balance of user into *bal; returns 0 (and 1000) when the user is in no
 * transaction, else 1. */
int check_disks_balance(const check_disks_t *x, const char *user, int64_t *bal);
int check_disks_has(const check_disks_t *x, const tx_t *t);
/* Every user's final balance, summed (x->users users). */
int64_t check_disks_coins(const check_disks_t *x);

/* Real mode: a real client does not print a transfer's serial, so each confirmed transfer
 * (a CREP_TRANSFER reply with serial 0) is given the serial of a matching new line on the
 * disks: first, in order of response, the lowest unclaimed matching serial after which the
 * sender's balance is the one the client printed; then, for those left, the lowest
 * unclaimed matching serial; else UINT64_MAX ("no disk holds it"). Balances count each serial's first line only; the
 * initial serials are never claimed. O((lines + ops) log lines). Returns 0, AC_ENOMEM, or
 * HIST_ESTOPPED when stop (may be NULL) said so. */
int check_assign_serials(check_op_t *ops, size_t op_count, const check_txs_t *disk,
                         const check_txs_t *initial, int (*stop)(void *), void *stop_ctx);

#endif
