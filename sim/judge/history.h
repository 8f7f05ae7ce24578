/* history.h — the end-of-run checkers over what clients saw and what the disks hold: serials
 * unique and contiguous, every confirmed transfer stored exactly once, no transaction that
 * no operation asked for, no overdraft, and linearizability of every client-visible result
 * against a sequential model of the ledger, with the requests of one persistent connection
 * in their order. Pure: no world, no I/O; tests/sim feeds it
 * hand-made histories. docs/SIMULATOR.md ("Checkers") explains the algorithm. */
#ifndef ALICHAIN_SIM_HISTORY_H
#define ALICHAIN_SIM_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "tx.h"
#include "wire.h"

#define HIST_NO_RESPONSE UINT64_MAX

typedef enum {
    HIST_NONE = 0,   /* no information (exit 2 or 3, or still running): may or may not apply */
    HIST_OK,         /* exit 0, with the reply head in `reply` */
    HIST_REFUSED,    /* exit 1, with the reply head in `reply` */
} hist_status_t;

typedef struct {
    const char *label;
    creq_op_t op;
    const char *user;           /* BALANCE, STATS: the user; TRANSFER: the sender */
    const char *receiver;       /* TRANSFER */
    int64_t amount;             /* TRANSFER */
    uint64_t inv_us;            /* the client started */
    uint64_t resp_us;           /* the client finished (HIST_NO_RESPONSE: never) */
    hist_status_t status;
    wire_crep_t reply;          /* HIST_OK / HIST_REFUSED */
    const char *rows;           /* STATS OK: the rows as printed, each ending in '\n' */
    size_t rows_len;
    const char *file;           /* TXLIST OK: alichain.txt as serverM wrote it (NULL: none) */
    size_t file_len;
    uint32_t session;           /* 0: a one-shot client; else 1..op_count, the same for every
                                   request of one persistent connection: they take effect in
                                   session_seq order (checker "session-order") */
    uint32_t session_seq;       /* the request's place on its connection: 0, 1, 2, ... */
} hist_op_t;

typedef struct {
    tx_t tx;
    uint8_t backend;            /* 0..2 */
} hist_stored_t;

/* What the check made of one operation's answer (hist_input_t.model). */
typedef enum {
    HIST_MODEL_UNCHECKED = 0,   /* no answer the model speaks to (HIST_NONE: exit 2 or 3, still
                                   running), or the check ended early */
    HIST_MODEL_FITS,            /* its answer is what the model gives at a state real time (and
                                   its connection) allows: a read's, a refusal's (the balance
                                   "insufficient" printed too), a confirmed transfer's (stored
                                   under its serial, valid there, in real-time order, the new
                                   balance printed the one after it) */
    HIST_MODEL_REJECTED,        /* checked, and no such state gives it: a violation was reported */
} hist_model_t;

typedef struct {
    const tx_t *initial;        /* the transactions of the initial blocks */
    size_t initial_count;
    const hist_stored_t *stored;/* every transaction on the final disks, every copy */
    size_t stored_count;
    const hist_op_t *ops;
    size_t op_count;
    int settled;                /* nothing in flight at the end: gaps in serials are final */
    int (*stop)(void *ctx);     /* NULL, or asked every HIST_POLL_EVERY steps of a long loop:
                                   nonzero ends the check early (a signal came) */
    void *stop_ctx;
    uint8_t *model;             /* out (NULL: not wanted): op_count entries, each a hist_model_t */
} hist_input_t;

#define HIST_POLL_EVERY 1024    /* steps between two stop() calls: coarse, a call is cheap */
#define HIST_ESTOPPED (-64)     /* stop() said so: the check ended early, incomplete */

/* Called once per violation; checker is a short name ("linearizability", ...). */
typedef void (*hist_report_fn)(void *ctx, const char *checker, uint64_t at_us, const char *msg);

/* A time (or any key) and an index: sorted by hist_key_cmp, ties by index (a stable order
 * from qsort). Shared by history.c and disks.c. */
typedef struct {
    uint64_t key;
    uint32_t idx;
} hist_key_t;
int hist_key_cmp(const void *a, const void *b);

/* Returns the number of violations found (each reported), AC_ENOMEM, or HIST_ESTOPPED. */
int history_check(const hist_input_t *in, hist_report_fn report, void *ctx);

#endif
