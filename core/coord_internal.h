/* coord_internal.h — serverM's private header: the limits, tables and structs the
 * coordinator's files share, and the functions one of them calls in another. Only
 * core/coord*.c include it; everyone else sees core/coordinator.h.
 *   coordinator.c   lifecycle, the op pool and its queues, scheduling, the timer pass
 *   coord_conn.c    client connections and the one way a reply leaves (op_send)
 *   coord_out.c     the UDP request table: send, retransmit, deadlines, replies by owner
 *   coord_batch.c   batches of balances and transfers: fetch, validate, write
 *   coord_jobs.c    the TXLIST job and the stats jobs, beside the batches */
#ifndef ALICHAIN_COORD_INTERNAL_H
#define ALICHAIN_COORD_INTERNAL_H

#include "coordinator.h"
#include "prng.h"
#include "serials.h"

#define OPS_MAX (4 * CONNECTIONS_MAX)     /* requests alive (queued, in a batch, in doubt) */
#define OPS_KEPT_ONESHOT CONNECTIONS_MAX  /* of them, never taken by persistent connections */
#define BATCH_OPS_MAX 256                 /* requests served by one batch */
#define BATCH_USERS_MAX (2 * BATCH_OPS_MAX)
#define BATCH_USER_SLOTS (2 * BATCH_USERS_MAX) /* name -> users[] index + 1: load <= 1/2 */
#define OUT_SLOT_BITS 11
#define OUT_MAX (1 << OUT_SLOT_BITS)      /* UDP requests in flight */
#define LIST_PAGE_TXS WIRE_LIST_TXS_MAX
#define TXJ_WINDOW_PAGES 16               /* LIST pages a backend sends the TXLIST job at once */
#define TXJ_QUEUE_TXS (2 * TXJ_WINDOW_PAGES * LIST_PAGE_TXS) /* a backend's listed, unmerged
                                             transactions (the job's ring, 0.9 MB in all) */
#define STATS_JOBS_MAX 64                 /* stats requests served at once */
#define READ_BATCHES_MAX 3                /* batches of balances only, beside the batch */
#define BATCH_ID_MAIN1 (READ_BATCHES_MAX + 1) /* out_t.batch of mains[1] */
#define FILE_CHUNK_BYTES (1u << 20)       /* the TXLIST file goes to the driver in chunks of at most this */
#define CONN_INDEX_SLOTS (2 * CONNECTIONS_MAX) /* conn id -> conn: load <= 1/2 */

_Static_assert(BATCH_OPS_MAX <= OPS_MAX, "a batch fits in the op pool");
_Static_assert(OPS_MAX >= 2 * CONNECTIONS_MAX, "every one-shot connection's request fits, twice");
_Static_assert(OPS_MAX >= 64 * TCP_PIPELINE_MAX,
               "64 full pipelines (docs/BENCHMARKS.md's persistent load) fit the op pool");
_Static_assert((TCP_PIPELINE_MAX & (TCP_PIPELINE_MAX - 1)) == 0,
               "a power of two: ring[seq % TCP_PIPELINE_MAX] stays in order when seq wraps");
/* A request id is (sequence << OUT_SLOT_BITS) | out slot: unique within the incarnation
 * (the sequence only grows) and found again in O(1) from a reply. */
_Static_assert(OUT_MAX == 1 << OUT_SLOT_BITS, "an out slot fits its bits of a request id");
_Static_assert((CONN_INDEX_SLOTS & (CONN_INDEX_SLOTS - 1)) == 0, "a power of two");
_Static_assert((BATCH_USER_SLOTS & (BATCH_USER_SLOTS - 1)) == 0 && BATCH_USERS_MAX < UINT16_MAX,
               "a power of two, and a users[] index + 1 fits a uint16_t");
_Static_assert(CONNECTIONS_MAX < UINT16_MAX, "a conn index + 1 fits a uint16_t");
/* The reply to a stats request is built in one buffer: head line plus its rows. */
_Static_assert(COORD_STATS_ROW_BYTES_MAX >= 20 + 1 + NAME_BYTES_MAX + 1 + 20 + 1 + 20 + 1,
               "a stats row (rank, partner, count, net, newline) fits its bound");
/* At most in flight at once: the jobs (a LIST window or hello per backend for TXLIST, a STATS
 * and a hello per stats job and backend), the batch's QUERYs or its writes (one datagram a transfer
 * at worst, each with a hello), the read batches' and the batch ahead's QUERYs and the earlier
 * batch's in-doubt writes and hellos. */
_Static_assert(BACKEND_COUNT * (1 + 2 * STATS_JOBS_MAX) + (BATCH_USERS_MAX + WIRE_QUERY_NAMES_FIT - 1) / WIRE_QUERY_NAMES_FIT * BACKEND_COUNT +
                   READ_BATCHES_MAX * ((BATCH_OPS_MAX + WIRE_QUERY_NAMES_FIT - 1) / WIRE_QUERY_NAMES_FIT) * BACKEND_COUNT +
                   (BATCH_USERS_MAX + WIRE_QUERY_NAMES_FIT - 1) / WIRE_QUERY_NAMES_FIT * BACKEND_COUNT +
                   4 * BATCH_OPS_MAX <= OUT_MAX,
               "every datagram in flight fits in the out table");
_Static_assert(TXJ_WINDOW_PAGES >= 1 && TXJ_WINDOW_PAGES <= WIRE_LIST_PAGES_MAX, "a window is one LIST");
_Static_assert(TXJ_QUEUE_TXS >= 2 * TXJ_WINDOW_PAGES * LIST_PAGE_TXS,
               "a window is asked while one waits to merge");

/* Where a client request (an op) is in its life. */
typedef enum {
    OP_FREE = 0,
    OP_HELD,               /* persistent connection: waits for an earlier request of its
                              connection (conn_may_admit), in no queue yet */
    OP_QUEUED,             /* waiting for a batch or job */
    OP_BATCH,              /* in the current batch */
    OP_DOUBT,              /* its batch is over, its write still in doubt */
} op_state_t;

/* The phase of the (single) batch in flight; coord_batch.c's opening comment describes each. */
typedef enum { PHASE_IDLE = 0, PHASE_FETCH, PHASE_WRITE } batch_phase_t;

/* Where a transfer's write is. */
typedef enum {
    W_NONE = 0,            /* not a transfer, or not accepted */
    W_PENDING,             /* accepted, not sent yet */
    W_SENT,                /* in a WRITE datagram, not answered */
    W_STORED,              /* the backend stored it durably */
    W_FAILED,              /* refused (conflict, invalid, stale) or never sent */
    W_UNKNOWN,             /* past its deadline: in doubt, still retried */
} write_state_t;

typedef struct {
    op_state_t state;
    uint32_t conn_id;
    int conn_open;
    int client_index;
    wire_creq_t req;
    uint64_t arrived_us;
    int replied;
    uint32_t conn_seq;     /* its place in its connection's reply order (conn_t.ring) */
    /* transfer */
    write_state_t write_state;
    uint8_t write_result;  /* the backend's WIRE_TX_* for it (W_FAILED: why) */
    int backend;
    uint64_t serial;
    int64_t new_balance;
    /* stats */
    int stats_job;
} op_t;

/* A client connection, from coord_on_conn_open until the core closes it or hears of a
 * reset (coordinator.h says what each event means). */
typedef enum {
    CONN_FREE = 0,
    CONN_READING,          /* the first line is not complete yet */
    CONN_SERVING,          /* one-shot: the request is an op; its reply closes the connection */
    CONN_KEEP,             /* persistent (first line ALICHAIN/1 KEEPALIVE): requests in, replies
                              out in request order */
} conn_state_t;

/* One request of a connection whose reply has not left yet, in the connection's ring. Its
 * reply is held here (owned by the conn) when an earlier one is still being worked on, so
 * an op's own lifetime does not depend on its connection's order. */
typedef struct {
    int op;                /* the op still working on it, or -1 */
    uint8_t ready;         /* 1: the reply is decided (held, fixed, or gone already) */
    uint8_t msg;           /* creq_op_t of the "sent ... to client" screen line, 0: none */
    uint8_t fixed;         /* a crep_kind_t sent without an op (BUSY, KEEPALIVE), 0: none */
    uint32_t busy_after;   /* requests refused at TCP_PIPELINE_MAX right after this one:
                              an ERROR BUSY each, sent after this reply */
    uint8_t *held;         /* malloc'd reply bytes, or NULL */
    size_t held_len;
} pend_t;

typedef struct {
    conn_state_t state;
    uint32_t conn_id;
    int client_index;
    int peer_eof;          /* the peer shut down its writing side (half-closed) */
    int badreq;            /* CONN_KEEP: a bad line came; ERROR BADREQ and close after the ring */
    uint64_t idle_deadline_us;
    uint32_t head;         /* seq of the oldest request whose reply has not left */
    uint32_t count;        /* requests in the ring (CONN_SERVING: 1) */
    uint32_t parked;       /* its transfers in c->parked: the later ones wait behind them */
    size_t unsent_bytes;   /* sent as FX_CONN_SEND, not yet reported by coord_on_conn_sent */
    size_t held_bytes;     /* the ring's held replies */
    int read_stopped;      /* FX_CONN_READ 0 went out last (the memory rule, conn_read_rule) */
    wire_lines_t lines;
    pend_t ring[TCP_PIPELINE_MAX]; /* request seq s at ring[s % TCP_PIPELINE_MAX] */
} conn_t;

typedef struct {
    wire_name_t name;
    uint8_t got_mask;      /* backends that answered for this user */
    int exists;
    int overflow;
    uint64_t sent;
    uint64_t received;
    int64_t balance;       /* from the fetch: what a balance request of the batch hears */
    int64_t running;       /* after the transfers accepted so far in this batch */
    uint64_t seen[BACKEND_COUNT]; /* the largest serial of the answer each backend gave for
                              it: which of the batch before's writes its totals hold */
} buser_t;

/* A transfer the batch before this one stored after this one's fetch began (group commit,
 * coord_batch.c): its users here (index into users[], -1: not in this batch). */
typedef struct {
    uint64_t serial;
    uint64_t amount;
    int sender;
    int receiver;
} prior_t;

typedef struct {
    char name[NAME_BYTES_MAX + 1];
    uint8_t len;
    uint64_t count;
    int64_t net;
} srow_t;

typedef struct {
    int used;
    int op;
    uint32_t cursor[BACKEND_COUNT];
    int outstanding[BACKEND_COUNT];   /* 0 or 1: one page a backend at a time */
    uint8_t active_mask;              /* backends asked (for the screen lines) */
    uint8_t done_mask;
    uint8_t failed_mask;
    uint8_t stale_mask;
    uint8_t hello_wait;               /* backends whose hello is not answered yet */
    uint8_t hello_mask;               /* backends whose hello (largest serial, count) came */
    uint64_t largest[BACKEND_COUNT];
    uint64_t count[BACKEND_COUNT];
    srow_t *rows;
    uint32_t row_count;
    size_t row_cap;
    uint32_t *slots;       /* hash of row index + 1 */
    uint32_t slot_cap;
    int overflow;
} stats_job_t;

/* The TXLIST job (one at a time: every TXLIST writes the same file). */
typedef enum { TXJ_IDLE = 0, TXJ_HELLO, TXJ_PAGES, TXJ_FILE } txjob_phase_t;

typedef struct {
    txjob_phase_t phase;
    int op_count;
    int outstanding[BACKEND_COUNT];   /* 0 or 1: a hello, or a LIST window */
    uint8_t window_left[BACKEND_COUNT]; /* pages the backend's LIST window still owes */
    uint8_t active_mask;
    uint8_t failed_mask;
    uint8_t stale_mask;
    uint8_t done_mask;                /* no page left to ask of that backend */
    uint64_t snapshot;                /* the listing holds the serials <= this (3.7) */
    uint32_t cursor[BACKEND_COUNT];
    uint64_t last_serial[BACKEND_COUNT]; /* the largest serial a backend listed so far */
    tx_t *q;                          /* listed, not merged yet: a ring per backend,
                                         q[be * TXJ_QUEUE_TXS ..] (malloc'd by the job) */
    uint32_t q_head[BACKEND_COUNT], q_len[BACKEND_COUNT];
    uint64_t merged_last;             /* serial of the last line written (0: none) */
    uint64_t line_count;
    int broken;                       /* an internal failure: the job answers INTERNAL */
    const char *broken_text;
    char dup_text[PATH_BYTES_MAX + 1]; /* broken_text of a serial stored twice */
    serials_merge_t merge;            /* the listing's serials, for a serial listed twice */
    uint64_t largest[BACKEND_COUNT];  /* the hellos' answers (serials_check_maxima) */
    uint64_t count[BACKEND_COUNT];
    uint64_t file_token;              /* 0 until the first chunk went to the driver */
    int file_open;                    /* chunks went out; an abort must follow a failure */
    char *chunk;
    size_t chunk_len, chunk_cap;
    /* the large table last: txjob_release clears what comes before it */
    int ops[BATCH_OPS_MAX];
} txjob_t;

/* Who is waiting for an out entry's answer. */
/* Who is waiting for an out entry's answer: the row of out_owners (coord_out.c) that its
 * reply and its missed deadline go to. */
typedef enum { OWN_BATCH = 0, OWN_TXLIST, OWN_STATS, OWN_COUNT } out_owner_t;

typedef struct {
    int used;
    uint64_t request_id;
    int backend;
    uint8_t type;
    out_owner_t owner;
    size_t len;
    uint64_t deadline_us;   /* UINT64_MAX for an in-doubt write (retried until answered) */
    uint64_t next_retx_us;
    uint64_t rto_us;
    int in_doubt;
    int hello_for;          /* for a hello QUERY: the WRITE entry waiting for it, else -1 */
    int hello;              /* a WRITE paused until its hello is answered: the hello's entry,
                               else -1 (out_release keeps the two links in step) */
    uint64_t epoch;         /* a WRITE: the backend epoch its payload carries now; only a
                               reply of that backend process settles it */
    /* owner */
    int first_user;         /* QUERY chunk */
    int user_count;
    int ops[WIRE_WRITE_TXS_MAX]; /* WRITE */
    int op_count;
    int stats_job;          /* STATS */
    int batch;              /* a batch's QUERY or WRITE: 0, mains[0]; 1..READ_BATCHES_MAX,
                               read batch k - 1; BATCH_ID_MAIN1, mains[1] */
    /* the payload last: out_clear clears what comes before it (its first len bytes are
     * the datagram; nothing reads past them) */
    uint8_t payload[DGRAM_BYTES_MAX];
} out_t;

typedef struct {
    batch_phase_t phase;
    int op_count;
    int user_count;
    int outstanding[BACKEND_COUNT];   /* requests of the current phase per backend */
    uint8_t failed_mask;              /* backends that missed a deadline in this phase */
    uint8_t stale_mask;               /* backends that answered STALE in this batch */
    uint8_t active_mask;              /* backends asked in this phase */
    uint64_t max_serial;
    uint64_t largest[BACKEND_COUNT];  /* each backend's answer: its largest serial, */
    uint64_t count[BACKEND_COUNT];    /* its transactions (serials_check_maxima) */
    int accepted;                     /* transfers accepted for writing */
    int write_backend;                /* the one backend all of them go to */
    int write_next;                   /* index into ops[] of the next to send */
    /* The accepted transfers hold the serials serial_first + 0 .. accepted - 1, in ops[]
     * order; the first `sent` of them went out in WRITEs, one WRITE at a time, and the
     * first `acked` came back stored (acked <= sent <= accepted). */
    uint64_t serial_first;
    int sent;
    int acked;
    uint64_t gen;                     /* c->gen when it started (coord_batch.c: reads) */
    int fetched;                      /* every QUERY answered or failed; the decision waits */
    int discard;                      /* a batch ahead whose fetch the batch before spoilt */
    int prior_count;                  /* prior[]: the batch before's transfers to add */
    int prior_backend;                /* the backend they went to */
    uint16_t user_slots[BATCH_USER_SLOTS]; /* open addressing over users[] (batch_user_index) */
    /* the large tables last: batch_release clears only the entries in use */
    int ops[BATCH_OPS_MAX];
    prior_t prior[BATCH_OPS_MAX];
    buser_t users[BATCH_USERS_MAX];
} batch_t;

/* A ring of op indexes. */
typedef struct {
    int idx[OPS_MAX];
    int head, len;
} opq_t;

struct coord {
    coord_config_t cfg;
    char txlist_path[PATH_BYTES_MAX + 1];
    prng_t prng;
    uint64_t next_request_seq;        /* the high bits of the next request id */
    uint64_t auth_seq[BACKEND_COUNT]; /* the last sequence number sealed for each backend */
    uint64_t be_epoch[BACKEND_COUNT]; /* each backend's boot epoch, from its latest QUERY reply
                                         (0: none yet): new WRITEs carry it */
    uint64_t next_token;
    uint16_t conn_index[CONN_INDEX_SLOTS]; /* open addressing: conn id -> conns[] index + 1 */
    int conn_free[CONNECTIONS_MAX];   /* released conns[] indexes (pool_take) */
    int conn_free_count;
    int conn_fresh;                   /* conns[conn_fresh..] were never handed out */
    int op_free[OPS_MAX];             /* released op indexes: O(1) allocation */
    int op_free_count;
    int op_fresh;                     /* ops[op_fresh..] were never handed out */
    opq_t queue;                      /* balances and transfers waiting for a batch */
    opq_t txq;                        /* TXLISTs waiting for the TXLIST job */
    opq_t sq;                         /* stats waiting for a stats job */
    opq_t parked;                     /* transfers naming a user whose stats job runs */
    int out_free[OUT_MAX];            /* released out indexes: O(1) allocation */
    int out_free_count;
    int out_fresh;                    /* out[out_fresh..] were never handed out */
    int out_hw;                       /* entries at or above this index are unused */
    int conn_hw;                      /* likewise for conns */
    int in_doubt;                     /* out entries that are in-doubt writes */
    batch_t *reads[READ_BATCHES_MAX]; /* read batches (balances only) beside the batch:
                                         allocated at first use, kept until coord_free */
    /* The batch (mains[cur]) and the batch ahead (mains[cur ^ 1]): the next one, fetching
     * while the batch writes (group commit); it becomes the batch when that one ends. An
     * out entry names its slot, not its role (out_t.batch). */
    batch_t mains[2];
    int cur;
    uint64_t gen;                     /* batches ended (the read rule, coord_batch.c) */
    txjob_t txjob;
    stats_job_t sjobs[STATS_JOBS_MAX];
    int sjob_count;                   /* stats jobs running */
    coord_stats_t stats;
    /* replies not yet taken by a socket: every open connection's unsent_bytes and
     * held_bytes, plus closed_unsent_bytes (coord_on_conn_sent) */
    size_t unsent_bytes;
    size_t closed_unsent_bytes;       /* of connections the core closed, still in the driver */
    int over_budget;                  /* unsent_bytes reached COORD_UNSENT_BYTES_BUDGET and has
                                         not yet fallen under 3/4 of it */
    wire_reply_t reply;               /* coord_on_datagram's decoded reply (too large for
                                         the stack of a small thread; owned here) */
    /* The pools, last: 6.5 MB that coord_new does not clear (a simulator starts serverM
     * thousands of times a second). An entry is cleared when it is first handed out
     * (pool_take says so); nothing reads one that never was (the loops stop at conn_hw,
     * out_hw, below which every entry has been handed out). */
    conn_t conns[CONNECTIONS_MAX];
    op_t ops[OPS_MAX];
    out_t out[OUT_MAX];
};

/* ---- coordinator.c: helpers, the op pool and its queues, scheduling ------------------ */

/* Letters of the backends in mask, in order, e.g. "AC" (buf: BACKEND_COUNT + 1 bytes). */
void mask_letters(uint8_t mask, char *buf);
/* A serial stored by two backends (core/serials.h): its text (the ERROR INTERNAL reply's,
 * cap <= PATH_BYTES_MAX + 1) into text, and the same line on stderr. */
void coord_dup_report(const serials_dup_t *dup, char *text, size_t cap, outbox_t *out);
/* "sent a request to server X", once per backend for each phase or job (*mask: its own). */
void note_sent(uint8_t *mask, int backend, outbox_t *out);
uint32_t name_hash(const char *s, size_t n);

/* The pools' indexes: released ones are taken again first, the last released first, then
 * the never-used ones in increasing order; nothing is prepared per index in advance
 * (coord_new would otherwise walk 7,168 of them at every start). Returns the index, or -1
 * when all n are taken; *fresh_out (may be NULL) is 1 when it was never handed out before. */
int pool_take(int *released, int *count, int *fresh, int n, int *fresh_out);
void pool_put(int *released, int *count, int n, int i);
/* How many of the n are free. */
int pool_free(int count, int fresh, int n);

void opq_push(opq_t *q, int i);
int opq_pop(opq_t *q);
int opq_peek(const opq_t *q);
void opq_prepend_all(opq_t *to, opq_t *from);

/* A free op, cleared and OP_QUEUED, or -1 when all OPS_MAX are alive. */
int op_alloc(coord_t *c);
/* Into the queue of its kind (a batch's, the TXLIST job's or the stats jobs'). */
void op_admit(coord_t *c, int i);
/* Back to the pool; the op must have been replied to. */
void op_release(coord_t *c, int i);
/* Starts what may start: jobs, then the next batch (every batch and job end calls it). */
void coord_schedule(coord_t *c, uint64_t now_us, outbox_t *out);

/* ---- coord_conn.c: connections and replies ----------------------------------------- */

conn_t *conn_find(coord_t *c, uint32_t conn_id);
/* Frees the replies every open connection holds for their turn (serverM goes away). */
void coord_conns_free(coord_t *c);
/* When coord_on_timer must close k for idleness, or UINT64_MAX. */
uint64_t conn_due_us(const conn_t *k);
/* k's idle deadline passed: closed without a reply. */
void conn_expire_idle(coord_t *c, conn_t *k, outbox_t *out);
/* The one way a reply leaves (bytes copied; kind: the reply's, which decides whether the
 * spec's "sent ..." line follows); op_reply sends one line, op_reply_kind an UNAVAILABLE
 * (or STALE: the backends of text in stale_mask) or another kind with text. */
void op_send(coord_t *c, op_t *o, const char *bytes, size_t len, crep_kind_t kind, outbox_t *out);
void op_reply(coord_t *c, op_t *o, const wire_crep_t *rep, outbox_t *out);
void op_reply_kind(coord_t *c, op_t *o, crep_kind_t kind, const char *text, uint8_t stale_mask,
                   outbox_t *out);

/* ---- coord_out.c: the UDP request table -------------------------------------------- */

/* Sends a new request; returns its entry index, or -1 when the table is full (a bug:
 * batches and jobs are bounded to fit). */
int out_send(coord_t *c, uint64_t now_us, int backend, out_owner_t owner, wire_req_t *req,
             outbox_t *out);
void out_release(coord_t *c, int i);
/* Entry i asks *req from now on, under the same request id: a LIST window that made
 * progress re-asks only the pages it still lacks. Its backoff starts again, and its
 * deadline is timeout_ms from now (a backend that answers is not late). */
void out_renew(coord_t *c, uint64_t now_us, int i, wire_req_t *req);
/* Entry i, copied but for its payload (no owner reads it) and released: a handler may then
 * send the next request into its slot. */
out_t out_take(coord_t *c, int i);
/* A WRITE past its deadline stays, retried until its backend answers (in doubt). */
void out_hold_in_doubt(coord_t *c, int i);
/* When entry e next needs the timer (its retransmission or its deadline). */
uint64_t out_due_us(const out_t *e);
/* Entry i is due at now_us: its deadline passed (out_expire) or it is retransmitted. */
void out_on_due(coord_t *c, uint64_t now_us, int i, outbox_t *out);

/* What an owner does with its entries (out_owners in coord_out.c, indexed by owner).
 * on_reply gets a reply matched to entry ei, once the table has handled its own cases (a
 * hello's answer, an UNFENCED WRITE, a read refused STALE); on_expire, an entry whose
 * deadline passed or whose read was refused STALE. Both own ei from then on: they release
 * it (out_take) or keep it (a write in doubt). stale_mask is where the batch or job the
 * entry serves notes the backends that answered STALE. */
typedef struct {
    void (*on_reply)(coord_t *c, uint64_t now_us, int ei, const wire_reply_t *rep, outbox_t *out);
    void (*on_expire)(coord_t *c, uint64_t now_us, int ei, outbox_t *out);
    uint8_t *(*stale_mask)(coord_t *c, const out_t *e);
} out_owner_ops_t;

/* ---- coord_batch.c: batches -------------------------------------------------------- */

/* The batch (it decides and writes) and the batch ahead (fetching while it writes). */
static inline batch_t *coord_main(coord_t *c) { return &c->mains[c->cur]; }
static inline batch_t *coord_ahead(coord_t *c) { return &c->mains[c->cur ^ 1]; }
/* Starts a batch of the queued balances and transfers when none is running, or the batch
 * ahead while the batch writes; lets a batch whose fetch is done decide once it may. */
void coord_batch_start(coord_t *c, uint64_t now_us, outbox_t *out);
/* While the batch runs, the balances waiting become read batches beside it. */
void coord_reads_start(coord_t *c, uint64_t now_us, outbox_t *out);
int coord_reads_running(const coord_t *c);
void coord_reads_free(coord_t *c);
/* Whether the batch or the batch ahead has a transfer naming this user. */
int batch_names(const coord_t *c, const wire_name_t *n);
void batch_on_reply(coord_t *c, uint64_t now_us, int ei, const wire_reply_t *rep, outbox_t *out);
void batch_on_expire(coord_t *c, uint64_t now_us, int ei, outbox_t *out);
uint8_t *batch_stale_mask(coord_t *c, const out_t *e);

/* ---- coord_jobs.c: the TXLIST job and the stats jobs ------------------------------- */

void coord_txlist_start(coord_t *c, uint64_t now_us, outbox_t *out);
void coord_stats_start(coord_t *c, uint64_t now_us, outbox_t *out);
/* Frees what running jobs hold (coord_free). */
void coord_jobs_free(coord_t *c);
void txlist_on_reply(coord_t *c, uint64_t now_us, int ei, const wire_reply_t *rep, outbox_t *out);
void txlist_on_expire(coord_t *c, uint64_t now_us, int ei, outbox_t *out);
uint8_t *txlist_stale_mask(coord_t *c, const out_t *e);
void stats_on_reply(coord_t *c, uint64_t now_us, int ei, const wire_reply_t *rep, outbox_t *out);
void stats_on_expire(coord_t *c, uint64_t now_us, int ei, outbox_t *out);
uint8_t *stats_stale_mask(coord_t *c, const out_t *e);

#endif
