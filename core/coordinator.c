/* coordinator.c — serverM: client requests in, backend datagrams out, one batch at a time.
 *
 * A batch takes every request waiting at that moment and runs three phases:
 *   FETCH  one QUERY per backend (16 users a datagram) for the users of balance and
 *          transfer requests; balances are answered from this fetch, and transfers are
 *          validated against it in arrival order; a transfer naming a user that an
 *          accepted transfer of this batch already names waits for the next batch;
 *   WRITE  accepted transfers get serial = max(max serial of the three) + 1, +1 each, and
 *          all go to one backend chosen at random, one WRITE datagram after the other
 *          (so a lost write never leaves a later serial stored without it);
 *   PAGED  TXLIST and stats read pages from every backend by cursor and merge them.
 * Only one batch is in flight and a new one waits while any write is in doubt, so no two
 * transfers see the same balance and no serial is handed out twice. Every UDP request is
 * retransmitted with backoff until answered or until its deadline.
 *
 * One TRANSFER, from the TCP line to the backend's ack and back to the client:
 *   coord_on_conn_data        bytes of the request line (wire_lines_take, wire_creq_decode)
 *   coord_accept_request      an op in the queue; "received ... to transfer" printed
 *   coord_batch_start         the queued ops become a batch; the users to fetch
 *   coord_fetch_send          one QUERY per backend (out_send: request id -> out slot)
 *   coord_on_datagram         each QUERY reply, matched by request id in O(1)
 *   coord_fetch_reply         the totals summed; when all three are in:
 *   coord_fetch_done          the balance checked, a serial and the backend chosen
 *   coord_write_next          the WRITE datagram (out_send); retransmitted by
 *                             coord_on_timer / out_retransmit until answered
 *   coord_on_datagram         the WRITE reply (after the backend's append is durable)
 *   coord_write_reply         the transfer is W_STORED; the next WRITE, or:
 *   coord_write_done          op_reply: "OK TRANSFER <balance> <serial>"; op_send, the one
 *                             way out, keeps each connection's replies in request order,
 *                             then FX_CONN_CLOSE (one-shot) and "sent the result" printed
 *   coord_paged_begin/check   nothing paged in this batch: ops released, next batch.
 * A write past its deadline goes through coord_expire (the client hears UNKNOWN; the
 * write stays, retried until the backend answers). A half-close of the connection on the
 * way (coord_on_conn_eof) changes nothing; a reset (coord_on_conn_reset) only drops the
 * reply: the transfer completes either way. */
#include "coordinator.h"

#include <stddef.h>
#include <stdio.h> /* snprintf only: core never prints */
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "messages.h"
#include "mutant.h"
#include "prng.h"

#define OPS_MAX (4 * CONNECTIONS_MAX)     /* requests alive (queued, in a batch, in doubt) */
#define BATCH_OPS_MAX 256                 /* requests served by one batch */
#define BATCH_USERS_MAX (2 * BATCH_OPS_MAX)
#define OUT_SLOT_BITS 11
#define OUT_MAX (1 << OUT_SLOT_BITS)      /* UDP requests in flight */
#define LIST_PAGE_TXS WIRE_LIST_TXS_MAX
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
_Static_assert(CONNECTIONS_MAX < UINT16_MAX, "a conn index + 1 fits a uint16_t");
/* The reply to a stats request is built in one buffer: head line plus its rows. */
_Static_assert(COORD_STATS_ROW_BYTES_MAX >= 20 + 1 + NAME_BYTES_MAX + 1 + 20 + 1 + 20 + 1,
               "a stats row (rank, partner, count, net, newline) fits its bound");
/* At most in flight: the paged phase (a LIST per backend, a STATS per job and backend)
 * plus the batch's writes in doubt (one datagram a transfer at worst) and their hellos. */
_Static_assert(BACKEND_COUNT * (1 + BATCH_OPS_MAX) + 2 * BATCH_OPS_MAX <= OUT_MAX,
               "every datagram of one batch fits in the out table");
_Static_assert(BATCH_USERS_MAX / WIRE_QUERY_NAMES_MAX * BACKEND_COUNT <= OUT_MAX,
               "every QUERY of one batch fits in the out table");

/* Where a client request (an op) is in its life. */
typedef enum {
    OP_FREE = 0,
    OP_QUEUED,             /* waiting for a batch */
    OP_BATCH,              /* in the current batch */
    OP_DOUBT,              /* its batch is over, its write still in doubt */
} op_state_t;

/* The phase of the (single) batch in flight; the top of this file describes each. */
typedef enum { PHASE_IDLE = 0, PHASE_FETCH, PHASE_WRITE, PHASE_PAGED } batch_phase_t;

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
    int backend;
    uint64_t serial;
    int64_t new_balance;
    /* stats */
    int stats_job;
    int deferred;          /* left for the next batch */
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
    wire_lines_t lines;
    pend_t ring[TCP_PIPELINE_MAX]; /* request seq s at ring[s % TCP_PIPELINE_MAX] */
} conn_t;

typedef struct {
    wire_name_t name;
    uint8_t got_mask;      /* backends that answered for this user */
    int exists;
    int overflow;
    int touched;           /* an accepted transfer of this batch names the user */
    uint64_t sent;
    uint64_t received;
    int64_t balance;
} buser_t;

typedef struct {
    char name[NAME_BYTES_MAX + 1];
    uint8_t len;
    uint64_t count;
    int64_t net;
} srow_t;

typedef struct {
    int op;
    uint32_t cursor[BACKEND_COUNT];
    uint8_t done_mask;
    uint8_t failed_mask;
    srow_t *rows;
    uint32_t row_count;
    size_t row_cap;
    uint32_t *slots;       /* hash of row index + 1 */
    uint32_t slot_cap;
    int overflow;
} stats_job_t;

typedef struct {
    uint64_t serial;
    uint32_t off;
    uint32_t len;
} lline_t;

typedef struct {
    int used;
    uint64_t request_id;
    int backend;
    uint8_t type;
    uint8_t payload[DGRAM_BYTES_MAX];
    size_t len;
    uint64_t deadline_us;   /* UINT64_MAX for an in-doubt write (retried until answered) */
    uint64_t next_retx_us;
    uint64_t rto_us;
    int in_doubt;
    int hello_for;          /* for a hello QUERY: the WRITE entry waiting for it, else -1 */
    int hello;              /* a WRITE paused until its hello is answered: the hello's entry,
                               else -1 (out_release keeps the two links in step) */
    /* owner */
    int first_user;         /* QUERY chunk */
    int user_count;
    int ops[WIRE_WRITE_TXS_MAX]; /* WRITE */
    int op_count;
    int stats_job;          /* STATS */
} out_t;

typedef struct {
    batch_phase_t phase;
    int op_count;
    int user_count;
    int job_count;
    int outstanding[BACKEND_COUNT];   /* requests of the current phase per backend */
    uint8_t failed_mask;              /* backends that missed a deadline in this phase */
    uint8_t stale_mask;               /* backends that answered STALE in this batch */
    uint8_t active_mask;              /* backends asked in this phase */
    uint64_t max_serial;
    int accepted;                     /* transfers accepted for writing */
    int write_backend;                /* the one backend all of them go to */
    int write_next;                   /* index into ops[] of the next to send */
    /* PAGED */
    int txlist;                       /* a TXLIST is in this batch */
    uint32_t list_cursor[BACKEND_COUNT];
    uint8_t list_done_mask;
    uint8_t list_failed_mask;
    lline_t *lines;
    uint32_t line_count;
    size_t line_cap;
    char *text;
    size_t text_len, text_cap;
    int list_overflow;
    uint64_t file_token;              /* FX_FILE_WRITE in flight */
    /* the large tables last: batch_release clears only the entries in use */
    int ops[BATCH_OPS_MAX];
    buser_t users[BATCH_USERS_MAX];
    stats_job_t jobs[BATCH_OPS_MAX];
} batch_t;

struct coord {
    coord_config_t cfg;
    char txlist_path[PATH_BYTES_MAX + 1];
    prng_t prng;
    uint64_t next_request_seq;        /* the high bits of the next request id */
    uint64_t next_token;
    conn_t conns[CONNECTIONS_MAX];
    uint16_t conn_index[CONN_INDEX_SLOTS]; /* open addressing: conn id -> conns[] index + 1 */
    int conn_free[CONNECTIONS_MAX];   /* stack of free conns[] indexes */
    int conn_free_count;
    op_t ops[OPS_MAX];
    int op_free[OPS_MAX];             /* stack of free op indexes: O(1) allocation */
    int op_free_count;
    int queue[OPS_MAX];               /* ring of op indexes waiting for a batch */
    int queue_head, queue_len;
    out_t out[OUT_MAX];
    int out_free[OUT_MAX];            /* stack of free out indexes: O(1) allocation */
    int out_free_count;
    int out_hw;                       /* entries at or above this index are unused */
    int conn_hw;                      /* likewise for conns */
    int in_doubt;                     /* out entries that are in-doubt writes */
    batch_t batch;
    coord_stats_t stats;
    wire_reply_t reply;               /* coord_on_datagram's decoded reply (too large for
                                         the stack of a small thread; owned here) */
};

/* ------------------------------------------------------------------------------------ */
/* small helpers                                                                         */

static char client_letter(int client_index) { return (char)('A' + client_index); }

static uint16_t client_port(const coord_t *c, int client_index) {
    return c->cfg.client_port[client_index];
}

/* Letters of the backends in mask, in order, e.g. "AC". */
static void mask_letters(uint8_t mask, char *buf) {
    size_t n = 0;
    for (int i = 0; i < BACKEND_COUNT; i++) {
        if (mask & (1u << i)) buf[n++] = backend_letter(i);
    }
    buf[n] = '\0';
}

static int add_u64(uint64_t a, uint64_t b, uint64_t *out) { return __builtin_add_overflow(a, b, out); }

static int balance_of(uint64_t received, uint64_t sent, int64_t *out) {
    /* 1000 + received - sent in 64 bits, or 1 on overflow */
    if (received > (uint64_t)INT64_MAX || sent > (uint64_t)INT64_MAX) return 1;
    int64_t v;
    if (__builtin_add_overflow((int64_t)BALANCE_INITIAL, (int64_t)received, &v)) return 1;
    if (__builtin_sub_overflow(v, (int64_t)sent, &v)) return 1;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* lifecycle                                                                             */

coord_t *coord_new(const coord_config_t *cfg) {
    if (cfg->timeout_ms == 0 || cfg->txlist_path == NULL) return NULL;
    size_t path_len = strlen(cfg->txlist_path);
    if (path_len == 0 || path_len > PATH_BYTES_MAX) return NULL;
    for (size_t i = 0; i < path_len; i++) { /* it travels in a reply line */
        unsigned char ch = (unsigned char)cfg->txlist_path[i];
        if (ch < 0x20 || ch == 0x7f) return NULL;
    }
    coord_t *c = calloc(1, sizeof(*c));
    if (c == NULL) return NULL;
    c->cfg = *cfg;
    memcpy(c->txlist_path, cfg->txlist_path, path_len + 1);
    c->cfg.txlist_path = c->txlist_path;
    prng_init(&c->prng, cfg->seed);
    c->next_request_seq = 1;
    c->next_token = 1;
    for (int i = 0; i < OPS_MAX; i++) c->op_free[i] = OPS_MAX - 1 - i; /* 0 is taken first */
    c->op_free_count = OPS_MAX;
    for (int i = 0; i < OUT_MAX; i++) c->out_free[i] = OUT_MAX - 1 - i;
    c->out_free_count = OUT_MAX;
    for (int i = 0; i < CONNECTIONS_MAX; i++) c->conn_free[i] = CONNECTIONS_MAX - 1 - i;
    c->conn_free_count = CONNECTIONS_MAX;
    return c;
}

static void batch_release(batch_t *b) {
    for (int j = 0; j < b->job_count; j++) {
        free(b->jobs[j].rows);
        free(b->jobs[j].slots);
    }
    free(b->lines);
    free(b->text);
    memset(b->users, 0, sizeof(b->users[0]) * (size_t)b->user_count);
    memset(b->jobs, 0, sizeof(b->jobs[0]) * (size_t)b->job_count);
    memset(b, 0, offsetof(batch_t, ops)); /* ops[] entries are written before use */
}

void coord_free(coord_t *c) {
    if (c == NULL) return;
    batch_release(&c->batch);
    free(c);
}

void coord_start(coord_t *c, uint64_t now_us, outbox_t *out) {
    (void)c;
    (void)now_us;
    outbox_line(out, FX_STDOUT, MSG_M_UP);
}

/* ------------------------------------------------------------------------------------ */
/* connections and replies                                                               */

/* The connection table: conns[] with a free stack, and conn_index, a linear-probing hash
 * of the driver's conn ids, so that every connection event finds its conn in O(1). */
static uint32_t conn_hash(uint32_t conn_id) {
    uint32_t h = conn_id * 2654435761u; /* Knuth's multiplicative hash */
    return (h ^ (h >> 16)) & (CONN_INDEX_SLOTS - 1);
}

static conn_t *conn_find(coord_t *c, uint32_t conn_id) {
    for (uint32_t h = conn_hash(conn_id); c->conn_index[h] != 0; h = (h + 1) & (CONN_INDEX_SLOTS - 1)) {
        conn_t *k = &c->conns[c->conn_index[h] - 1];
        if (k->conn_id == conn_id) return k;
    }
    return NULL;
}

static void conn_index_add(coord_t *c, int i) {
    uint32_t h = conn_hash(c->conns[i].conn_id);
    while (c->conn_index[h] != 0) h = (h + 1) & (CONN_INDEX_SLOTS - 1);
    c->conn_index[h] = (uint16_t)(i + 1);
}

/* Removes conns[i] from the index; the entries after it in its probe run move back into
 * the hole when their home slot allows (backward-shift deletion: no tombstones). */
static void conn_index_remove(coord_t *c, int i) {
    const uint32_t mask = CONN_INDEX_SLOTS - 1;
    uint32_t hole = conn_hash(c->conns[i].conn_id);
    while (c->conn_index[hole] != (uint16_t)(i + 1)) hole = (hole + 1) & mask;
    for (uint32_t j = (hole + 1) & mask; c->conn_index[j] != 0; j = (j + 1) & mask) {
        uint32_t home = conn_hash(c->conns[c->conn_index[j] - 1].conn_id);
        /* j may fill the hole unless its home lies cyclically in (hole, j] */
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            c->conn_index[hole] = c->conn_index[j];
            hole = j;
        }
    }
    c->conn_index[hole] = 0;
}

/* Frees what the ring holds; an op still working on one of its requests will find its
 * connection gone (conn_open = 0) and drop its reply. */
static void conn_ring_clear(coord_t *c, conn_t *k) {
    for (uint32_t n = 0; n < k->count; n++) {
        pend_t *p = &k->ring[(k->head + n) % TCP_PIPELINE_MAX];
        if (p->op >= 0) c->ops[p->op].conn_open = 0;
        free(p->held);
    }
    k->count = 0;
}

static void conn_forget(coord_t *c, conn_t *k) {
    int i = (int)(k - c->conns);
    conn_ring_clear(c, k);
    conn_index_remove(c, i);
    memset(k, 0, sizeof(*k));
    AC_ASSERT(c->conn_free_count < CONNECTIONS_MAX);
    c->conn_free[c->conn_free_count++] = i;
    while (c->conn_hw > 0 && c->conns[c->conn_hw - 1].state == CONN_FREE) c->conn_hw--;
}

static void conn_close(coord_t *c, conn_t *k, outbox_t *out) {
    outbox_push(out, FX_CONN_CLOSE, k->conn_id, 0, NULL, 0);
    conn_forget(c, k);
}

static void conn_send_kind(conn_t *k, crep_kind_t kind, outbox_t *out) {
    wire_crep_t rep = {.kind = kind};
    char line[TCP_LINE_BYTES_MAX];
    size_t n = wire_crep_encode(&rep, line, sizeof(line));
    AC_ASSERT(n > 0);
    outbox_push(out, FX_CONN_SEND, k->conn_id, 0, line, n);
}

static void conn_reply_close(coord_t *c, conn_t *k, const wire_crep_t *rep, outbox_t *out) {
    char line[TCP_LINE_BYTES_MAX];
    size_t n = wire_crep_encode(rep, line, sizeof(line));
    AC_ASSERT(n > 0);
    outbox_push(out, FX_CONN_SEND, k->conn_id, 0, line, n);
    conn_close(c, k, out);
}

/* The spec's "sent ... to client <j>" line of a request kind (TXLIST has none: "wrote the
 * sorted list" says it). */
static void conn_sent_line(int client_index, uint8_t msg, outbox_t *out) {
    char j = client_letter(client_index);
    switch (msg) {
    case CREQ_BALANCE: outbox_line(out, FX_STDOUT, MSG_M_SENT_BALANCE, j); break;
    case CREQ_TRANSFER: outbox_line(out, FX_STDOUT, MSG_M_SENT_RESULT, j); break;
    case CREQ_STATS: outbox_line(out, FX_STDOUT, MSG_M_SENT_STATS, j); break;
    default: break;
    }
}

/* Sends one reply that is next in its connection's order: its bytes, then (one-shot) the
 * close, then the screen line, then the BUSY replies owed after it. Returns 0 when the
 * connection is gone (one-shot: closed) and k must not be used again. */
static int conn_emit(coord_t *c, conn_t *k, const uint8_t *bytes, size_t len, uint8_t msg,
                     uint32_t busy_after, outbox_t *out) {
    if (len > 0) outbox_push(out, FX_CONN_SEND, k->conn_id, 0, bytes, len);
    int client_index = k->client_index;
    if (k->state == CONN_SERVING) {
        AC_ASSERT(busy_after == 0);
        conn_close(c, k, out); /* forgets k */
        conn_sent_line(client_index, msg, out);
        return 0;
    }
    conn_sent_line(client_index, msg, out);
    for (uint32_t b = 0; b < busy_after; b++) conn_send_kind(k, CREP_BUSY, out);
    return 1;
}

/* Sends the replies at the head of the ring that are ready, in order; once the ring is
 * empty, a pending BADREQ or the peer's eof closes the connection. */
static void conn_flush(coord_t *c, conn_t *k, outbox_t *out) {
    while (k->count > 0) {
        pend_t *p = &k->ring[k->head % TCP_PIPELINE_MAX];
        if (!p->ready) return;
        pend_t taken = *p;
        memset(p, 0, sizeof(*p));
        p->op = -1;
        k->head++;
        k->count--;
        int alive;
        if (taken.fixed != 0) {
            conn_send_kind(k, (crep_kind_t)taken.fixed, out);
            alive = conn_emit(c, k, NULL, 0, 0, taken.busy_after, out);
        } else {
            alive = conn_emit(c, k, taken.held, taken.held_len, taken.msg, taken.busy_after, out);
        }
        free(taken.held);
        if (!alive) return;
    }
    if (k->state != CONN_KEEP) return;
    if (k->badreq) {
        conn_send_kind(k, CREP_BADREQ, out);
        conn_close(c, k, out);
    } else if (k->peer_eof) {
        conn_close(c, k, out); /* a half-close: everything received is answered */
    }
}

/* Appends a request to the ring (the caller checked there is room); returns its seq. */
static uint32_t conn_push(conn_t *k, int op, crep_kind_t fixed) {
    AC_ASSERT(k->count < TCP_PIPELINE_MAX);
    uint32_t seq = k->head + k->count;
    pend_t *p = &k->ring[seq % TCP_PIPELINE_MAX];
    memset(p, 0, sizeof(*p));
    p->op = op;
    p->ready = op < 0;
    p->fixed = (uint8_t)fixed;
    k->count++;
    return seq;
}

/* A persistent connection's request answered without an op (OK KEEPALIVE, a BUSY of a
 * full op pool), in its turn. A full ring adds one more BUSY after its last request. */
static void conn_answer_fixed(coord_t *c, conn_t *k, crep_kind_t kind, outbox_t *out) {
    if (k->count >= TCP_PIPELINE_MAX) {
        k->ring[(k->head + k->count - 1) % TCP_PIPELINE_MAX].busy_after++;
        return;
    }
    conn_push(k, -1, kind);
    conn_flush(c, k, out);
}

/* A malformed or overlong line: one-shot, ERROR BADREQ and close now; persistent, after
 * the replies still owed (the stream can no longer be trusted, so nothing more is read). */
static void conn_bad_line(coord_t *c, conn_t *k, const char *why, outbox_t *out) {
    outbox_line(out, FX_STDERR, "closed a connection: %s", why);
    if (k->state != CONN_KEEP) {
        wire_crep_t bad = {.kind = CREP_BADREQ};
        conn_reply_close(c, k, &bad, out);
        return;
    }
    k->badreq = 1;
    conn_flush(c, k, out);
}

int coord_on_conn_open(coord_t *c, uint64_t now_us, uint32_t conn_id, int client_index,
                       outbox_t *out) {
    AC_ASSERT(client_index == 0 || client_index == 1);
    AC_ASSERT(conn_find(c, conn_id) == NULL);
    if (c->conn_free_count > 0) {
        int i = c->conn_free[--c->conn_free_count];
        conn_t *k = &c->conns[i];
        AC_ASSERT(k->state == CONN_FREE);
        k->state = CONN_READING;
        k->conn_id = conn_id;
        k->client_index = client_index;
        k->idle_deadline_us = now_us + CONN_IDLE_US;
        wire_lines_init(&k->lines, TCP_REQUEST_BYTES_MAX);
        conn_index_add(c, i);
        if (i >= c->conn_hw) c->conn_hw = i + 1;
        return 0;
    }
    wire_crep_t rep = {.kind = CREP_BUSY};
    char line[TCP_LINE_BYTES_MAX];
    size_t n = wire_crep_encode(&rep, line, sizeof(line));
    outbox_push(out, FX_CONN_SEND, conn_id, 0, line, n);
    outbox_push(out, FX_CONN_CLOSE, conn_id, 0, NULL, 0);
    c->stats.busy++;
    if ((c->stats.busy & (c->stats.busy - 1)) == 0) { /* 1st, 2nd, 4th, ...: no flood */
        outbox_line(out, FX_STDERR, "too many connections (%d open); refused %llu so far",
                    CONNECTIONS_MAX, (unsigned long long)c->stats.busy);
    }
    return AC_EFULL;
}

/* The one way a reply leaves: the op's reply bytes go to its client in the order of that
 * connection's requests (held by the conn while an earlier one is unanswered), followed by
 * the spec's "sent" line; nothing when the connection is gone. The op itself is released
 * by its batch (or by its caller when it never got one); the bytes are copied. */
static void op_send(coord_t *c, op_t *o, const char *bytes, size_t len, outbox_t *out) {
    AC_ASSERT(!o->replied);
    o->replied = 1;
    if (!o->conn_open) return;
    o->conn_open = 0; /* the op is done with its connection */
    conn_t *k = conn_find(c, o->conn_id);
    if (NEVER(k == NULL)) return;
    AC_ASSERT(o->conn_seq - k->head < k->count);
    pend_t *p = &k->ring[o->conn_seq % TCP_PIPELINE_MAX];
    AC_ASSERT(p->op == (int)(o - c->ops));
    p->op = -1;
    p->ready = 1;
    p->msg = (uint8_t)o->req.op;
    if (o->conn_seq != k->head && MUTANT(MUT_REPLY_OUT_OF_ORDER)) {
        /* planted bug: the reply leaves as it completes, ahead of earlier ones */
        outbox_push(out, FX_CONN_SEND, k->conn_id, 0, bytes, len);
        conn_sent_line(k->client_index, p->msg, out);
        p->msg = 0;
        return;
    }
    if (o->conn_seq == k->head) { /* nothing before it: no copy */
        uint32_t busy_after = p->busy_after;
        memset(p, 0, sizeof(*p));
        p->op = -1;
        k->head++;
        k->count--;
        if (!conn_emit(c, k, (const uint8_t *)bytes, len, (uint8_t)o->req.op, busy_after, out)) return;
        conn_flush(c, k, out);
        return;
    }
    p->held = malloc(len);
    if (p->held == NULL) { /* cannot keep the order: drop the connection, as a reset would */
        outbox_line(out, FX_STDERR, "closed a connection: out of memory for a held reply");
        conn_close(c, k, out);
        return;
    }
    memcpy(p->held, bytes, len);
    p->held_len = len;
}

/* Sends the reply of an op (op_send) as one line. */
static void op_reply(coord_t *c, op_t *o, const wire_crep_t *rep, outbox_t *out) {
    char line[TCP_LINE_BYTES_MAX];
    size_t n = wire_crep_encode(rep, line, sizeof(line));
    AC_ASSERT(n > 0);
    op_send(c, o, line, n, out);
}

/* An UNAVAILABLE reply names the backends that failed (text: their letters); when some
 * of them answered STALE in this batch, the reply is STALE and names just those. */
static void op_reply_kind(coord_t *c, op_t *o, crep_kind_t kind, const char *text, outbox_t *out) {
    wire_crep_t rep;
    memset(&rep, 0, sizeof(rep));
    rep.kind = kind;
    if (text != NULL) snprintf(rep.text, sizeof(rep.text), "%s", text);
    uint8_t stale = 0;
    for (const char *l = text; kind == CREP_UNAVAILABLE && l != NULL && *l != '\0'; l++)
        stale |= (uint8_t)(c->batch.stale_mask & (1u << (*l - 'A')));
    if (stale != 0) {
        rep.kind = CREP_STALE;
        mask_letters(stale, rep.text);
    }
    op_reply(c, o, &rep, out);
}

static void op_release(coord_t *c, int i) {
    AC_ASSERT(c->ops[i].state != OP_FREE);
    AC_ASSERT(c->ops[i].replied);
    memset(&c->ops[i], 0, sizeof(c->ops[i]));
    AC_ASSERT(c->op_free_count < OPS_MAX);
    c->op_free[c->op_free_count++] = i;
}

static void coord_batch_start(coord_t *c, uint64_t now_us, outbox_t *out);

/* A request line of k becomes an op in the queue (or, at a limit, an ERROR BUSY in its
 * turn: the op pool is full, or a persistent connection has TCP_PIPELINE_MAX unanswered). */
static void coord_accept_request(coord_t *c, uint64_t now_us, conn_t *k, const wire_creq_t *req,
                                 outbox_t *out) {
    if (k->state == CONN_KEEP && k->count >= TCP_PIPELINE_MAX) {
        conn_answer_fixed(c, k, CREP_BUSY, out);
        return;
    }
    if (c->op_free_count == 0 || c->queue_len >= OPS_MAX) {
        if (k->state == CONN_KEEP) {
            conn_answer_fixed(c, k, CREP_BUSY, out);
            return;
        }
        wire_crep_t rep = {.kind = CREP_BUSY};
        conn_reply_close(c, k, &rep, out);
        return;
    }
    int slot = c->op_free[--c->op_free_count];
    op_t *o = &c->ops[slot];
    AC_ASSERT(o->state == OP_FREE);
    memset(o, 0, sizeof(*o));
    o->state = OP_QUEUED;
    o->conn_id = k->conn_id;
    o->conn_open = 1;
    o->client_index = k->client_index;
    o->req = *req;
    o->arrived_us = now_us;
    o->stats_job = -1;
    o->backend = -1;
    if (k->state == CONN_READING) k->state = CONN_SERVING; /* one-shot: this is its request */
    o->conn_seq = conn_push(k, slot, 0);
    c->stats.requests++;
    uint16_t port = client_port(c, k->client_index);
    char j = client_letter(k->client_index);
    switch (req->op) {
    case CREQ_BALANCE:
        outbox_line(out, FX_STDOUT, MSG_M_RECV_BALANCE, req->user.s, port);
        break;
    case CREQ_TRANSFER:
        outbox_line(out, FX_STDOUT, MSG_M_RECV_TRANSFER, req->user.s, (long long)req->amount,
                    req->receiver.s, port);
        break;
    case CREQ_TXLIST:
        outbox_line(out, FX_STDOUT, MSG_M_RECV_TXLIST, j, port);
        break;
    case CREQ_STATS:
        outbox_line(out, FX_STDOUT, MSG_M_RECV_STATS, req->user.s, j, port);
        break;
    case CREQ_KEEPALIVE: AC_ASSERT(0); break; /* answered by coord_on_conn_data */
    }
    c->queue[(c->queue_head + c->queue_len) % OPS_MAX] = slot;
    c->queue_len++;
    coord_batch_start(c, now_us, out);
}

/* One whole request line of k. Returns 1 when k may read on (a persistent connection). */
static int conn_take_line(coord_t *c, uint64_t now_us, conn_t *k, const char *line, size_t len,
                          outbox_t *out) {
    wire_creq_t req;
    if (wire_creq_decode(line, len, &req) != 0) {
        conn_bad_line(c, k, "malformed request line", out);
        return 0;
    }
    if (req.op == CREQ_KEEPALIVE) { /* first line: persistent from here; later: answered again */
        if (k->state == CONN_READING) k->state = CONN_KEEP;
        conn_answer_fixed(c, k, CREP_KEEPALIVE, out);
        return 1;
    }
    int keep = k->state == CONN_KEEP;
    coord_accept_request(c, now_us, k, &req, out);
    return keep;
}

void coord_on_conn_data(coord_t *c, uint64_t now_us, uint32_t conn_id, const uint8_t *data,
                        size_t len, outbox_t *out) {
    conn_t *k = conn_find(c, conn_id);
    /* one-shot: bytes after the request line are ignored; persistent: read until a bad line
     * (none come after an eof) */
    if (k == NULL || k->state == CONN_SERVING || k->peer_eof || k->badreq) return;
    if (k->state == CONN_KEEP) k->idle_deadline_us = now_us + CONN_IDLE_US;
    size_t off = 0;
    while (off < len) {
        size_t used = 0;
        const char *line = NULL;
        size_t line_len = 0;
        int rc = wire_lines_take(&k->lines, data + off, len - off, &used, &line, &line_len);
        off += used;
        if (rc == 0) return;
        if (rc == AC_EFULL) {
            char why[64];
            snprintf(why, sizeof(why), "request longer than %d bytes", TCP_REQUEST_BYTES_MAX);
            conn_bad_line(c, k, why, out);
            return;
        }
        if (!conn_take_line(c, now_us, k, line, line_len, out)) return;
        k = conn_find(c, conn_id); /* defensive: the batch it started may have answered */
        if (NEVER(k == NULL)) return;
    }
}

/* A half-close: the requests already whole are still answered; a partial one is dropped. */
void coord_on_conn_eof(coord_t *c, uint64_t now_us, uint32_t conn_id, outbox_t *out) {
    (void)now_us;
    conn_t *k = conn_find(c, conn_id);
    if (k == NULL || k->peer_eof) return; /* closed by the core already, or a repeat */
    k->peer_eof = 1;
    if (k->state == CONN_READING) conn_close(c, k, out); /* no request will come */
    else if (k->state == CONN_KEEP) conn_flush(c, k, out); /* closes once nothing is owed */
    /* CONN_SERVING: the op's reply goes out, then FX_CONN_CLOSE (op_send) */
}

/* The connection is gone: its ops go on, their replies are dropped. */
void coord_on_conn_reset(coord_t *c, uint64_t now_us, uint32_t conn_id, outbox_t *out) {
    (void)now_us;
    (void)out;
    conn_t *k = conn_find(c, conn_id);
    if (k == NULL) return;
    conn_forget(c, k); /* conn_ring_clear tells the ops */
}

/* 1 when k is closed by coord_on_timer once its idle deadline passes: it waits for its first
 * line, or is persistent with nothing unanswered. */
static int conn_idle(const conn_t *k) {
    return k->state == CONN_READING || (k->state == CONN_KEEP && k->count == 0);
}

/* ------------------------------------------------------------------------------------ */
/* UDP requests: send, retransmit, deadlines                                            */

/* Sends a new request; returns its entry index or -1 (the table is full: a bug, since
 * batches are bounded to fit; treated as a missed deadline by the caller). */
static int out_send(coord_t *c, uint64_t now_us, int backend, wire_req_t *req, outbox_t *out) {
    if (NEVER(c->out_free_count == 0)) return -1;
    int i = c->out_free[--c->out_free_count];
    out_t *e = &c->out[i];
    AC_ASSERT(!e->used);
    memset(e, 0, sizeof(*e));
    req->incarnation = c->cfg.incarnation;
    req->request_id = (c->next_request_seq++ << OUT_SLOT_BITS) | (uint64_t)i;
    size_t n = wire_req_encode(req, e->payload, sizeof(e->payload));
    AC_ASSERT(n > 0);
    e->used = 1;
    e->request_id = req->request_id;
    e->backend = backend;
    e->type = req->type;
    e->len = n;
    e->deadline_us = now_us + (uint64_t)c->cfg.timeout_ms * 1000u;
    e->rto_us = RETRANSMIT_US_INITIAL;
    e->next_retx_us = now_us + e->rto_us;
    e->hello_for = -1;
    e->hello = -1;
    e->stats_job = -1;
    if (i >= c->out_hw) c->out_hw = i + 1;
    outbox_push(out, FX_DGRAM, (uint32_t)backend, 0, e->payload, n);
    return i;
}

/* Frees entry i. A WRITE's hello goes with it (no longer needed); a hello that goes
 * unpauses its WRITE's link to it. */
static void out_release(coord_t *c, int i) {
    out_t *e = &c->out[i];
    AC_ASSERT(e->used);
    if (e->in_doubt) c->in_doubt--;
    if (e->hello_for >= 0) {
        AC_ASSERT(c->out[e->hello_for].hello == i);
        c->out[e->hello_for].hello = -1;
    }
    int hello = e->hello;
    memset(e, 0, sizeof(*e));
    AC_ASSERT(c->out_free_count < OUT_MAX);
    c->out_free[c->out_free_count++] = i;
    if (hello >= 0) {
        c->out[hello].hello_for = -1; /* already gone: nothing to unlink */
        out_release(c, hello);
    }
    while (c->out_hw > 0 && !c->out[c->out_hw - 1].used) c->out_hw--;
}

static void out_retransmit(coord_t *c, uint64_t now_us, out_t *e, outbox_t *out) {
    if (MUTANT(MUT_NO_RETRANSMIT)) {
        e->next_retx_us = UINT64_MAX;
        return;
    }
    int target = e->backend;
    if (MUTANT(MUT_RETX_OTHER_BACKEND) && e->type == WIRE_WRITE) target = (e->backend + 1) % BACKEND_COUNT;
    outbox_push(out, FX_DGRAM, (uint32_t)target, 0, e->payload, e->len);
    c->stats.retransmits++;
    e->rto_us = e->rto_us * 2 > RETRANSMIT_US_MAX ? RETRANSMIT_US_MAX : e->rto_us * 2;
    e->next_retx_us = now_us + e->rto_us;
}

/* ------------------------------------------------------------------------------------ */
/* batches                                                                               */

static int batch_user_index(batch_t *b, const wire_name_t *n) {
    /* O(users) scan per name; a batch holds at most BATCH_USERS_MAX, fine for now */
    for (int u = 0; u < b->user_count; u++) {
        if (b->users[u].name.len == n->len && memcmp(b->users[u].name.s, n->s, n->len) == 0) return u;
    }
    AC_ASSERT(b->user_count < BATCH_USERS_MAX);
    b->users[b->user_count].name = *n;
    return b->user_count++;
}

static void batch_phase_begin(batch_t *b, batch_phase_t phase) {
    b->phase = phase;
    memset(b->outstanding, 0, sizeof(b->outstanding));
    b->failed_mask = 0;
    b->active_mask = 0;
}

static void batch_note_sent(coord_t *c, int backend, outbox_t *out) {
    batch_t *b = &c->batch;
    if (!(b->active_mask & (1u << backend))) {
        b->active_mask |= (uint8_t)(1u << backend);
        outbox_line(out, FX_STDOUT, MSG_M_SENT_BACKEND, backend_letter(backend));
    }
    b->outstanding[backend]++;
}

static void coord_fetch_send(coord_t *c, uint64_t now_us, outbox_t *out);
static void coord_fetch_done(coord_t *c, uint64_t now_us, outbox_t *out);
static void coord_write_done(coord_t *c, uint64_t now_us, outbox_t *out);
static void coord_paged_begin(coord_t *c, uint64_t now_us, outbox_t *out);
static void coord_paged_check(coord_t *c, uint64_t now_us, outbox_t *out);
static void coord_expire(coord_t *c, uint64_t now_us, int ei, outbox_t *out);

/* Starts a batch from the queue when none is running and no write is in doubt. */
static void coord_batch_start(coord_t *c, uint64_t now_us, outbox_t *out) {
    batch_t *b = &c->batch;
    if (b->phase != PHASE_IDLE || c->queue_len == 0) return;
    if (c->in_doubt > 0 && !MUTANT(MUT_SERIAL_REUSE_IN_DOUBT)) return;
    batch_release(b);
    c->stats.batches++;
    int needs_fetch = 0;
    while (c->queue_len > 0 && b->op_count < BATCH_OPS_MAX) {
        int i = c->queue[c->queue_head];
        c->queue_head = (c->queue_head + 1) % OPS_MAX;
        c->queue_len--;
        op_t *o = &c->ops[i];
        AC_ASSERT(o->state == OP_QUEUED);
        o->state = OP_BATCH;
        b->ops[b->op_count++] = i;
        if (o->req.op == CREQ_BALANCE || o->req.op == CREQ_TRANSFER) {
            needs_fetch = 1;
            batch_user_index(b, &o->req.user);
            if (o->req.op == CREQ_TRANSFER) batch_user_index(b, &o->req.receiver);
        }
    }
    if (needs_fetch) {
        batch_phase_begin(b, PHASE_FETCH);
        coord_fetch_send(c, now_us, out);
    } else {
        coord_paged_begin(c, now_us, out);
    }
}

/* Sends one WRITE datagram owned by the ops in owners[], and empties req. */
static void coord_write_send(coord_t *c, uint64_t now_us, int be, wire_req_t *req,
                             const int *owners, outbox_t *out) {
    int e = out_send(c, now_us, be, req, out);
    if (ALWAYS(e >= 0)) {
        memcpy(c->out[e].ops, owners, sizeof(int) * req->u.write.count);
        c->out[e].op_count = req->u.write.count;
        batch_note_sent(c, be, out);
    }
    req->u.write.count = 0;
}

static void coord_fetch_send(coord_t *c, uint64_t now_us, outbox_t *out) {
    batch_t *b = &c->batch;
    for (int be = 0; be < BACKEND_COUNT; be++) {
        for (int first = 0; first < b->user_count; first += WIRE_QUERY_NAMES_MAX) {
            int n = b->user_count - first;
            if (n > WIRE_QUERY_NAMES_MAX) n = WIRE_QUERY_NAMES_MAX;
            wire_req_t req;
            memset(&req, 0, sizeof(req));
            req.type = WIRE_QUERY;
            req.u.query.count = (uint8_t)n;
            for (int k = 0; k < n; k++) req.u.query.names[k] = b->users[first + k].name;
            int e = out_send(c, now_us, be, &req, out);
            if (NEVER(e < 0)) continue;
            c->out[e].first_user = first;
            c->out[e].user_count = n;
            batch_note_sent(c, be, out);
        }
    }
}

static void coord_fetch_reply(coord_t *c, uint64_t now_us, out_t *e, const wire_reply_t *rep,
                              outbox_t *out) {
    batch_t *b = &c->batch;
    int be = e->backend;
    for (int k = 0; k < e->user_count; k++) {
        buser_t *u = &b->users[e->first_user + k];
        const wire_totals_t *t = &rep->u.query.totals[k];
        u->got_mask |= (uint8_t)(1u << be);
        if (t->exists) u->exists = 1;
        if (add_u64(u->sent, t->sent, &u->sent) || add_u64(u->received, t->received, &u->received)) {
            u->overflow = 1;
        }
    }
    if (rep->u.query.max_serial > b->max_serial) b->max_serial = rep->u.query.max_serial;
    b->outstanding[be]--;
    if (b->outstanding[be] == 0) {
        outbox_line(out, FX_STDOUT, MSG_M_RECV_TXS, backend_letter(be), c->cfg.backend_port[be]);
    }
    coord_fetch_done(c, now_us, out);
}

static int batch_outstanding(const batch_t *b) {
    return b->outstanding[0] + b->outstanding[1] + b->outstanding[2];
}

/* Puts the batch's deferred ops back at the head of the queue, in their order. */
static void coord_requeue_deferred(coord_t *c) {
    batch_t *b = &c->batch;
    int kept = 0;
    int deferred[BATCH_OPS_MAX];
    int n = 0;
    for (int k = 0; k < b->op_count; k++) {
        op_t *o = &c->ops[b->ops[k]];
        if (o->deferred) {
            deferred[n++] = b->ops[k];
        } else {
            b->ops[kept++] = b->ops[k];
        }
    }
    b->op_count = kept;
    for (int j = n - 1; j >= 0; j--) {
        AC_ASSERT(c->queue_len < OPS_MAX);
        c->queue_head = (c->queue_head + OPS_MAX - 1) % OPS_MAX;
        c->queue[c->queue_head] = deferred[j];
        c->queue_len++;
        c->ops[deferred[j]].state = OP_QUEUED;
        c->ops[deferred[j]].deferred = 0;
    }
}

/* Sends the batch's next WRITE: accepted transfers from write_next on, in serial order, as
 * many as fit one datagram. Returns 1 when one was sent, 0 when none is left. */
static int coord_write_next(coord_t *c, uint64_t now_us, outbox_t *out) {
    batch_t *b = &c->batch;
    wire_req_t req;
    int owners[WIRE_WRITE_TXS_MAX];
    size_t bytes = WIRE_WRITE_REQ_FIXED_BYTES;
    memset(&req, 0, sizeof(req));
    req.type = WIRE_WRITE;
    for (; b->write_next < b->op_count; b->write_next++) {
        int i = b->ops[b->write_next];
        op_t *o = &c->ops[i];
        if (o->write_state != W_PENDING) continue;
        tx_t t;
        tx_set(&t, o->serial, o->req.user.s, o->req.user.len, o->req.receiver.s,
               o->req.receiver.len, o->req.amount);
        size_t need = wire_tx_bytes(&t);
        if (req.u.write.count == WIRE_WRITE_TXS_MAX || bytes + need > DGRAM_BYTES_MAX) break;
        owners[req.u.write.count] = i;
        req.u.write.txs[req.u.write.count++] = t;
        bytes += need;
        o->write_state = W_SENT;
    }
    if (req.u.write.count == 0) return 0;
    coord_write_send(c, now_us, b->write_backend, &req, owners, out);
    return 1;
}

/* Balance and transfer ops, once every QUERY of the batch is answered or failed. */
static void coord_fetch_done(coord_t *c, uint64_t now_us, outbox_t *out) {
    batch_t *b = &c->batch;
    if (batch_outstanding(b) > 0) return;
    char letters[BACKEND_COUNT + 1];
    mask_letters(b->failed_mask, letters);
    int fetch_ok = b->failed_mask == 0 || MUTANT(MUT_PARTIAL_BALANCE);
    for (int u = 0; u < b->user_count; u++) {
        buser_t *x = &b->users[u];
        if (balance_of(x->received, x->sent, &x->balance)) x->overflow = 1;
    }
    for (int k = 0; k < b->op_count; k++) {
        op_t *o = &c->ops[b->ops[k]];
        if (o->req.op != CREQ_BALANCE && o->req.op != CREQ_TRANSFER) continue;
        if (!fetch_ok) {
            op_reply_kind(c, o, CREP_UNAVAILABLE, letters, out);
            continue;
        }
        buser_t *s = &b->users[batch_user_index(b, &o->req.user)];
        wire_crep_t rep;
        memset(&rep, 0, sizeof(rep));
        if (o->req.op == CREQ_BALANCE) {
            if (!s->exists) {
                rep.kind = CREP_NOUSER;
                rep.names[0] = o->req.user;
            } else if (s->overflow) {
                rep.kind = CREP_INTERNAL;
                snprintf(rep.text, sizeof(rep.text), "balance out of 64-bit range");
            } else {
                rep.kind = CREP_BALANCE;
                rep.balance = s->balance;
            }
            op_reply(c, o, &rep, out);
            continue;
        }
        buser_t *r = &b->users[batch_user_index(b, &o->req.receiver)];
        if ((s->touched || r->touched) && !MUTANT(MUT_SAME_BALANCE)) {
            /* validated against this fetch it could double-spend (or report a balance
             * that misses the other transfer): the next batch reads after that write */
            o->deferred = 1;
            continue;
        }
        int64_t credited = 0;
        if (!s->exists && !r->exists) {
            rep.kind = CREP_NOUSERS;
            rep.names[0] = o->req.user;
            rep.names[1] = o->req.receiver;
        } else if (!s->exists || !r->exists) {
            rep.kind = CREP_NOUSER;
            rep.names[0] = s->exists ? o->req.receiver : o->req.user;
        } else if (s == r) {
            rep.kind = CREP_SAME;
        } else if (s->overflow || r->overflow ||
                   __builtin_add_overflow(r->balance, o->req.amount, &credited)) {
            rep.kind = CREP_INTERNAL;
            snprintf(rep.text, sizeof(rep.text), "balance out of 64-bit range");
        } else if (s->balance < o->req.amount) {
            rep.kind = CREP_INSUFFICIENT;
            rep.balance = s->balance;
        } else if (b->max_serial == UINT64_MAX) {
            rep.kind = CREP_INTERNAL; /* a serial never wraps around to reuse 1 */
            snprintf(rep.text, sizeof(rep.text), "no serial left (the largest is 18446744073709551615)");
        } else {
            if (b->accepted == 0) b->write_backend = (int)prng_below(&c->prng, BACKEND_COUNT);
            s->touched = r->touched = 1;
            o->new_balance = s->balance - o->req.amount;
            o->serial = ++b->max_serial;
            o->backend = b->write_backend;
            o->write_state = W_PENDING;
            b->accepted++;
            continue;
        }
        op_reply(c, o, &rep, out);
    }
    coord_requeue_deferred(c);
    if (b->accepted == 0) {
        coord_paged_begin(c, now_us, out);
        return;
    }
    batch_phase_begin(b, PHASE_WRITE);
    coord_write_next(c, now_us, out);
}

/* A WRITE reply (or a STALE refusal): settle its transfers. */
static void coord_write_reply(coord_t *c, uint64_t now_us, int ei, const wire_reply_t *rep,
                              outbox_t *out) {
    out_t *e = &c->out[ei];
    batch_t *b = &c->batch;
    int be = e->backend;
    int was_in_doubt = e->in_doubt;
    int all_stored = 1;
    for (int k = 0; k < e->op_count; k++) {
        op_t *o = &c->ops[e->ops[k]];
        int result = WIRE_TX_CONFLICT;
        if (rep->status == WIRE_ST_OK) {
            for (int m = 0; m < rep->u.write.count; m++) {
                if (rep->u.write.serials[m] == o->serial) result = rep->u.write.results[m];
            }
        }
        if (was_in_doubt) {
            /* the client already heard "unknown"; now we know */
            if (result == WIRE_TX_STORED) c->stats.transfers_ok++;
            if (result != WIRE_TX_STORED) {
                outbox_line(out, FX_STDERR, "in-doubt transfer serial %llu was not stored",
                            (unsigned long long)o->serial);
            }
            o->write_state = result == WIRE_TX_STORED ? W_STORED : W_FAILED;
            if (o->state == OP_DOUBT) op_release(c, e->ops[k]); /* else its batch releases it */
            continue;
        }
        o->write_state = result == WIRE_TX_STORED ? W_STORED : W_FAILED;
        if (result != WIRE_TX_STORED) {
            all_stored = 0;
            outbox_line(out, FX_STDERR, "server %c refused transfer serial %llu (%s)",
                        backend_letter(be), (unsigned long long)o->serial,
                        rep->status == WIRE_ST_STALE ? "newer serverM seen" : "serial conflict");
        }
    }
    out_release(c, ei);
    if (was_in_doubt) {
        coord_batch_start(c, now_us, out);
        return;
    }
    if (rep->status == WIRE_ST_STALE) b->stale_mask |= (uint8_t)(1u << be);
    b->outstanding[be]--;
    /* the next datagram only after this one is stored whole, so serials stay contiguous */
    if (all_stored && coord_write_next(c, now_us, out)) return;
    outbox_line(out, FX_STDOUT, MSG_M_RECV_FEEDBACK, backend_letter(be), c->cfg.backend_port[be]);
    coord_write_done(c, now_us, out);
}

static void coord_write_done(coord_t *c, uint64_t now_us, outbox_t *out) {
    batch_t *b = &c->batch;
    if (batch_outstanding(b) > 0) return;
    int refused = 0; /* a backend answered one of the batch's transfers with a refusal */
    for (int k = 0; k < b->op_count; k++) refused |= c->ops[b->ops[k]].write_state == W_FAILED;
    for (int k = 0; k < b->op_count; k++) {
        op_t *o = &c->ops[b->ops[k]];
        if (o->req.op != CREQ_TRANSFER || o->replied) continue;
        wire_crep_t rep;
        memset(&rep, 0, sizeof(rep));
        if (o->write_state == W_STORED) {
            rep.kind = CREP_TRANSFER;
            rep.balance = o->new_balance;
            rep.serial = o->serial;
            c->stats.transfers_ok++;
        } else if (o->write_state == W_UNKNOWN) {
            rep.kind = CREP_UNKNOWN;
        } else if (b->stale_mask & (1u << o->backend)) { /* refused: a newer serverM */
            rep.kind = CREP_STALE;
            rep.text[0] = backend_letter(o->backend);
            rep.text[1] = '\0';
        } else if (o->write_state == W_PENDING && refused) { /* never sent */
            rep.kind = CREP_INTERNAL;
            snprintf(rep.text, sizeof(rep.text), "server %c refused an earlier transfer of "
                     "the batch", backend_letter(o->backend));
        } else if (o->write_state == W_PENDING) { /* never sent: an earlier write timed out */
            rep.kind = CREP_UNAVAILABLE;
            rep.text[0] = backend_letter(o->backend);
            rep.text[1] = '\0';
        } else {
            rep.kind = CREP_INTERNAL;
            snprintf(rep.text, sizeof(rep.text), "server %c refused the write",
                     backend_letter(o->backend));
        }
        op_reply(c, o, &rep, out);
    }
    coord_paged_begin(c, now_us, out);
}

/* ---- PAGED: TXLIST and stats ------------------------------------------------------- */

static void coord_list_ask(coord_t *c, uint64_t now_us, int be, outbox_t *out) {
    wire_req_t req;
    memset(&req, 0, sizeof(req));
    req.type = WIRE_LIST;
    req.u.list.cursor = c->batch.list_cursor[be];
    req.u.list.max = LIST_PAGE_TXS;
    if (ALWAYS(out_send(c, now_us, be, &req, out) >= 0)) batch_note_sent(c, be, out);
}

static void coord_stats_ask(coord_t *c, uint64_t now_us, int job, int be, outbox_t *out) {
    stats_job_t *s = &c->batch.jobs[job];
    wire_req_t req;
    memset(&req, 0, sizeof(req));
    req.type = WIRE_STATS;
    req.u.stats.user = c->ops[s->op].req.user;
    req.u.stats.cursor = s->cursor[be];
    int e = out_send(c, now_us, be, &req, out);
    if (ALWAYS(e >= 0)) {
        c->out[e].stats_job = job;
        batch_note_sent(c, be, out);
    }
}

static void coord_paged_begin(coord_t *c, uint64_t now_us, outbox_t *out) {
    batch_t *b = &c->batch;
    batch_phase_begin(b, PHASE_PAGED);
    char letters[BACKEND_COUNT + 1] = "";
    uint8_t doubt_mask = 0;
    for (int i = 0; i < c->out_hw; i++) {
        if (c->out[i].used && c->out[i].in_doubt) doubt_mask |= (uint8_t)(1u << c->out[i].backend);
    }
    mask_letters(doubt_mask, letters);
    for (int k = 0; k < b->op_count; k++) {
        int i = b->ops[k];
        op_t *o = &c->ops[i];
        if (o->req.op != CREQ_TXLIST && o->req.op != CREQ_STATS) continue;
        if (doubt_mask != 0) {
            /* a write of this batch is in doubt: a listing now could show a gap */
            op_reply_kind(c, o, CREP_UNAVAILABLE, letters, out);
            continue;
        }
        if (o->req.op == CREQ_TXLIST) {
            b->txlist = 1;
            continue;
        }
        AC_ASSERT(b->job_count < BATCH_OPS_MAX);
        o->stats_job = b->job_count;
        stats_job_t *s = &b->jobs[b->job_count++];
        memset(s, 0, sizeof(*s));
        s->op = i;
    }
    for (int be = 0; be < BACKEND_COUNT; be++) {
        if (b->txlist) coord_list_ask(c, now_us, be, out);
        for (int j = 0; j < b->job_count; j++) coord_stats_ask(c, now_us, j, be, out);
    }
    coord_paged_check(c, now_us, out);
}

static int text_append(batch_t *b, const char *s, size_t n) {
    if (n > SIZE_MAX - b->text_len) return AC_ENOMEM;
    int rc = grow_array(&b->text, &b->text_cap, b->text_len + n, 1);
    if (rc != AC_OK) return rc;
    memcpy(b->text + b->text_len, s, n);
    b->text_len += n;
    return 0;
}

static void coord_list_reply(coord_t *c, uint64_t now_us, out_t *e, const wire_reply_t *rep,
                             outbox_t *out) {
    batch_t *b = &c->batch;
    int be = e->backend;
    for (int k = 0; k < rep->u.list.count && !b->list_overflow; k++) {
        char line[TX_LINE_BYTES_MAX];
        size_t n = tx_format(&rep->u.list.txs[k], line, sizeof(line));
        AC_ASSERT(n > 0);
        if (b->line_count == UINT32_MAX ||
            grow_array(&b->lines, &b->line_cap, (size_t)b->line_count + 1, sizeof(lline_t)) != AC_OK) {
            b->list_overflow = 1;
            break;
        }
        if (b->text_len + n > UINT32_MAX) {
            b->list_overflow = 1;
            break;
        }
        lline_t *l = &b->lines[b->line_count];
        l->serial = rep->u.list.txs[k].serial;
        l->off = (uint32_t)b->text_len;
        l->len = (uint32_t)n;
        if (text_append(b, line, n) != 0) {
            b->list_overflow = 1;
            break;
        }
        b->line_count++;
    }
    b->list_cursor[be] = rep->u.list.next_cursor;
    b->outstanding[be]--;
    if (rep->u.list.done || rep->u.list.count == 0) {
        b->list_done_mask |= (uint8_t)(1u << be);
    } else {
        coord_list_ask(c, now_us, be, out);
    }
}

static uint32_t name_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* Adds a backend's partner row into the job's merge table. Returns 0 or AC_ENOMEM/AC_EFULL. */
static int stats_merge(stats_job_t *s, const wire_row_t *r) {
    if (s->row_count * 2 >= s->slot_cap) {
        uint32_t cap = s->slot_cap ? s->slot_cap * 2 : 64;
        uint32_t *slots = calloc(cap, sizeof(uint32_t));
        if (slots == NULL) return AC_ENOMEM;
        for (uint32_t i = 0; i < s->row_count; i++) {
            uint32_t h = name_hash(s->rows[i].name, s->rows[i].len) & (cap - 1);
            while (slots[h] != 0) h = (h + 1) & (cap - 1);
            slots[h] = i + 1;
        }
        free(s->slots);
        s->slots = slots;
        s->slot_cap = cap;
    }
    uint32_t h = name_hash(r->partner.s, r->partner.len) & (s->slot_cap - 1);
    while (s->slots[h] != 0) {
        srow_t *x = &s->rows[s->slots[h] - 1];
        if (x->len == r->partner.len && memcmp(x->name, r->partner.s, x->len) == 0) {
            x->count += r->count;
            if (__builtin_add_overflow(x->net, r->net, &x->net)) return AC_ERANGE;
            return 0;
        }
        h = (h + 1) & (s->slot_cap - 1);
    }
    if (s->row_count >= STATS_PARTNERS_MAX) return AC_EFULL;
    int rc = grow_array(&s->rows, &s->row_cap, (size_t)s->row_count + 1, sizeof(srow_t));
    if (rc != AC_OK) return rc;
    srow_t *x = &s->rows[s->row_count];
    memcpy(x->name, r->partner.s, r->partner.len);
    x->name[r->partner.len] = '\0';
    x->len = r->partner.len;
    x->count = r->count;
    x->net = r->net;
    s->slots[h] = ++s->row_count;
    return 0;
}

static void coord_stats_reply(coord_t *c, uint64_t now_us, out_t *e, const wire_reply_t *rep,
                              outbox_t *out) {
    batch_t *b = &c->batch;
    int be = e->backend;
    int job = e->stats_job;
    stats_job_t *s = &b->jobs[job];
    for (int k = 0; k < rep->u.stats.count && !s->overflow; k++) {
        if (stats_merge(s, &rep->u.stats.rows[k]) != 0) s->overflow = 1;
    }
    s->cursor[be] = rep->u.stats.next_cursor;
    b->outstanding[be]--;
    if (rep->u.stats.done || rep->u.stats.count == 0) {
        s->done_mask |= (uint8_t)(1u << be);
    } else {
        coord_stats_ask(c, now_us, job, be, out);
    }
}

static int lline_cmp(const void *a, const void *b) {
    uint64_t x = ((const lline_t *)a)->serial, y = ((const lline_t *)b)->serial;
    return x < y ? -1 : x > y;
}

static int srow_cmp(const void *a, const void *b) {
    const srow_t *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->name, y->name, n);
    if (r != 0) return r;
    return (int)x->len - (int)y->len;
}

/* The reply of a finished stats job: head line and one row a partner, in one send. */
static void coord_stats_finish(coord_t *c, stats_job_t *s, outbox_t *out) {
    op_t *o = &c->ops[s->op];
    char letters[BACKEND_COUNT + 1];
    if (s->failed_mask) {
        mask_letters(s->failed_mask, letters);
        op_reply_kind(c, o, CREP_UNAVAILABLE, letters, out);
        return;
    }
    if (s->overflow) {
        op_reply_kind(c, o, CREP_INTERNAL, "statistics too large", out);
        return;
    }
    if (s->row_count == 0) {
        wire_crep_t rep;
        memset(&rep, 0, sizeof(rep));
        rep.kind = CREP_NOUSER;
        rep.names[0] = o->req.user;
        op_reply(c, o, &rep, out);
        return;
    }
    qsort(s->rows, s->row_count, sizeof(srow_t), srow_cmp);
    /* Build the whole reply: head + rows, sent as one (op_send) */
    if (!o->conn_open) { /* nobody to read it */
        o->replied = 1;
        return;
    }
    wire_crep_t head;
    memset(&head, 0, sizeof(head));
    head.kind = CREP_STATS;
    head.count = s->row_count;
    /* <= COORD_REPLY_BYTES_MAX, which net's connection queue is sized to hold */
    size_t cap = TCP_LINE_BYTES_MAX * 2 + (size_t)s->row_count * COORD_STATS_ROW_BYTES_MAX;
    char *buf = malloc(cap);
    if (buf == NULL) {
        op_reply_kind(c, o, CREP_INTERNAL, "out of memory", out);
        return;
    }
    size_t len = wire_crep_encode(&head, buf, cap);
    for (uint32_t r = 0; r < s->row_count; r++) {
        wire_crow_t row;
        memset(&row, 0, sizeof(row));
        row.rank = r + 1;
        memcpy(row.partner.s, s->rows[r].name, s->rows[r].len + 1u);
        row.partner.len = s->rows[r].len;
        row.count = s->rows[r].count;
        row.net = s->rows[r].net;
        size_t n = wire_crow_encode(&row, buf + len, cap - len);
        AC_ASSERT(n > 0);
        len += n;
    }
    op_send(c, o, buf, len, out);
    free(buf);
}

/* Finishes the paged phase (and the batch) once every chain ended. */
static void coord_paged_check(coord_t *c, uint64_t now_us, outbox_t *out) {
    batch_t *b = &c->batch;
    if (b->phase != PHASE_PAGED || batch_outstanding(b) > 0 || b->file_token != 0) return;
    for (int be = 0; be < BACKEND_COUNT; be++) { /* once per backend that answered all */
        if ((b->active_mask & (1u << be)) && !(b->failed_mask & (1u << be))) {
            outbox_line(out, FX_STDOUT, MSG_M_RECV_TXS, backend_letter(be), c->cfg.backend_port[be]);
        }
    }
    b->active_mask = 0;
    for (int j = 0; j < b->job_count; j++) {
        stats_job_t *s = &b->jobs[j];
        if (!c->ops[s->op].replied) coord_stats_finish(c, s, out);
    }
    if (b->txlist && !b->list_failed_mask && !b->list_overflow && b->text != NULL) {
        /* sort by serial and hand the file to the driver */
        qsort(b->lines, b->line_count, sizeof(lline_t), lline_cmp);
        for (uint32_t i = 1; i < b->line_count; i++) { /* only hand-edited blocks do this */
            if (b->lines[i].serial == b->lines[i - 1].serial) {
                outbox_line(out, FX_STDERR, "warning: serial %llu appears in more than one block",
                            (unsigned long long)b->lines[i].serial);
            }
        }
        size_t total = b->text_len;
        char *file = malloc(total ? total : 1);
        if (file != NULL) {
            size_t off = 0;
            for (uint32_t i = 0; i < b->line_count; i++) {
                memcpy(file + off, b->text + b->lines[i].off, b->lines[i].len);
                off += b->lines[i].len;
            }
            b->file_token = c->next_token++;
            outbox_push(out, FX_FILE_WRITE, 0, b->file_token, file, total);
            free(file);
            return; /* coord_on_file_written continues */
        }
        b->list_overflow = 1;
    }
    if (b->txlist && b->text == NULL && !b->list_failed_mask && !b->list_overflow) {
        /* an empty ledger: an empty file */
        b->file_token = c->next_token++;
        outbox_push(out, FX_FILE_WRITE, 0, b->file_token, "", 0);
        return;
    }
    /* TXLIST failed (or none): answer and end the batch */
    for (int k = 0; k < b->op_count; k++) {
        op_t *o = &c->ops[b->ops[k]];
        if (o->req.op != CREQ_TXLIST || o->replied) continue;
        char letters[BACKEND_COUNT + 1];
        mask_letters(b->list_failed_mask, letters);
        if (b->list_failed_mask) {
            op_reply_kind(c, o, CREP_UNAVAILABLE, letters, out);
        } else {
            op_reply_kind(c, o, CREP_INTERNAL, "ledger too large or out of memory", out);
        }
    }
    /* end of batch */
    for (int k = 0; k < b->op_count; k++) {
        int i = b->ops[k];
        op_t *o = &c->ops[i];
        AC_ASSERT(o->replied);
        if (o->write_state == W_UNKNOWN) { /* released when its write settles */
            o->state = OP_DOUBT;
            continue;
        }
        op_release(c, i);
    }
    batch_release(b);
    coord_batch_start(c, now_us, out);
}

void coord_on_file_written(coord_t *c, uint64_t now_us, uint64_t token, int ok, outbox_t *out) {
    batch_t *b = &c->batch;
    if (NEVER(token == 0 || token != b->file_token)) return;
    b->file_token = 0;
    if (ok) outbox_line(out, FX_STDOUT, MSG_M_WROTE_TXLIST, c->txlist_path);
    for (int k = 0; k < b->op_count; k++) {
        op_t *o = &c->ops[b->ops[k]];
        if (o->req.op != CREQ_TXLIST || o->replied) continue;
        wire_crep_t rep;
        memset(&rep, 0, sizeof(rep));
        if (ok) {
            rep.kind = CREP_TXLIST;
            rep.count = b->line_count;
            snprintf(rep.text, sizeof(rep.text), "%s", c->txlist_path);
        } else {
            rep.kind = CREP_INTERNAL;
            snprintf(rep.text, sizeof(rep.text), "could not write the sorted list");
        }
        op_reply(c, o, &rep, out);
    }
    b->txlist = 0;
    free(b->text);
    b->text = NULL;
    b->text_len = b->text_cap = 0;
    coord_paged_check(c, now_us, out);
}

/* ------------------------------------------------------------------------------------ */
/* datagrams                                                                             */

static int reply_shape_ok(const out_t *e, const wire_reply_t *rep) {
    if (rep->type != (e->type | WIRE_REPLY)) return 0;
    if (rep->status != WIRE_ST_OK) return 1;
    if (e->type == WIRE_QUERY) return rep->u.query.count == e->user_count;
    return 1;
}

void coord_on_datagram(coord_t *c, uint64_t now_us, int backend, const uint8_t *data, size_t len,
                       outbox_t *out) {
    wire_reply_t *rep = &c->reply;
    if (backend < 0 || backend >= BACKEND_COUNT || wire_reply_decode(data, len, rep) != 0) {
        c->stats.datagrams_dropped++;
        outbox_drop(out, "a malformed datagram of %zu bytes", len);
        return;
    }
    if (rep->incarnation != c->cfg.incarnation) {
        c->stats.datagrams_dropped++; /* for an earlier run of serverM */
        return;
    }
    int ei = (int)(rep->request_id & (OUT_MAX - 1)); /* the slot is in the id's low bits */
    out_t *e = &c->out[ei];
    if (!e->used || e->request_id != rep->request_id) {
        c->stats.datagrams_dropped++; /* a duplicate or a late reply */
        return;
    }
    if (e->backend != backend || !reply_shape_ok(e, rep)) {
        c->stats.datagrams_dropped++;
        outbox_drop(out, "a reply that does not match its request");
        return;
    }
    if (e->hello_for >= 0) {
        /* the hello a fenced-out WRITE waited for: resend that write at once */
        out_t *w = &c->out[e->hello_for];
        AC_ASSERT(w->used && w->hello == ei); /* out_release drops a write's hello too */
        out_release(c, ei);                   /* and unpauses the write: w->hello = -1 */
        w->rto_us = RETRANSMIT_US_INITIAL / 2;
        out_retransmit(c, now_us, w, out);
        return;
    }
    if (rep->status == WIRE_ST_UNFENCED && e->type == WIRE_WRITE) {
        if (e->hello >= 0) return;
        wire_req_t hello;
        memset(&hello, 0, sizeof(hello));
        hello.type = WIRE_QUERY;
        int h = out_send(c, now_us, backend, &hello, out);
        if (NEVER(h < 0)) return;
        c->out[h].hello_for = ei;
        c->out[h].deadline_us = UINT64_MAX; /* the write's own deadline governs */
        c->out[h].user_count = 0;
        e->hello = h;
        e->next_retx_us = UINT64_MAX;
        return;
    }
    if (rep->status == WIRE_ST_STALE && e->type != WIRE_WRITE) {
        /* a newer serverM is running: this one can no longer read consistently */
        outbox_line(out, FX_STDERR, "server %c has seen a newer serverM; failing the request",
                    backend_letter(backend));
        c->batch.stale_mask |= (uint8_t)(1u << backend);
        coord_expire(c, now_us, ei, out);
        return;
    }
    if (e->type == WIRE_WRITE) {
        coord_write_reply(c, now_us, ei, rep, out);
        return;
    }
    out_t copy = *e; /* free the entry first: the handlers may send the next page */
    out_release(c, ei);
    switch (copy.type) {
    case WIRE_QUERY:
        coord_fetch_reply(c, now_us, &copy, rep, out);
        break;
    case WIRE_LIST:
        coord_list_reply(c, now_us, &copy, rep, out);
        coord_paged_check(c, now_us, out);
        break;
    case WIRE_STATS:
        coord_stats_reply(c, now_us, &copy, rep, out);
        coord_paged_check(c, now_us, out);
        break;
    default:
        AC_ASSERT(0);
    }
}

/* ------------------------------------------------------------------------------------ */
/* time                                                                                  */

/* A request missed its deadline: for a read the batch reports "unavailable"; for a write
 * the client hears "unknown" and the write stays, retried until the backend answers. */
static void coord_expire(coord_t *c, uint64_t now_us, int ei, outbox_t *out) {
    out_t *e = &c->out[ei];
    batch_t *b = &c->batch;
    int be = e->backend;
    if (!(b->stale_mask & (1u << be))) /* a STALE answer was reported as such */
        outbox_line(out, FX_STDERR, "server %c did not answer within %u ms", backend_letter(be),
                    c->cfg.timeout_ms);
    if (e->type == WIRE_WRITE) {
        c->stats.in_doubt++;
        for (int k = 0; k < e->op_count; k++) c->ops[e->ops[k]].write_state = W_UNKNOWN;
        e->in_doubt = 1; /* MUT_SERIAL_REUSE_IN_DOUBT: coord_batch_start ignores it */
        c->in_doubt++;
        e->deadline_us = UINT64_MAX;
        b->outstanding[be]--;
        coord_write_done(c, now_us, out);
        return;
    }
    if (e->hello_for >= 0) { /* cannot happen: hellos have no deadline */
        out_release(c, ei);
        return;
    }
    out_t copy = *e;
    out_release(c, ei);
    b->failed_mask |= (uint8_t)(1u << be);
    b->outstanding[be]--;
    switch (copy.type) {
    case WIRE_QUERY:
        coord_fetch_done(c, now_us, out);
        break;
    case WIRE_LIST:
        b->list_failed_mask |= (uint8_t)(1u << be);
        coord_paged_check(c, now_us, out);
        break;
    case WIRE_STATS:
        b->jobs[copy.stats_job].failed_mask |= (uint8_t)(1u << be);
        coord_paged_check(c, now_us, out);
        break;
    default:
        AC_ASSERT(0);
    }
}

void coord_on_timer(coord_t *c, uint64_t now_us, outbox_t *out) {
    /* deadlines and retransmissions; bounded by OUT_MAX per call */
    for (int i = 0; i < c->out_hw; i++) {
        out_t *e = &c->out[i];
        if (!e->used) continue;
        if (e->hello >= 0) {
            if (now_us >= e->deadline_us) {
                out_release(c, e->hello); /* its hello first; the write is unpaused */
                coord_expire(c, now_us, i, out);
                if (e->used) e->next_retx_us = now_us; /* an in-doubt write: resend now */
            }
            continue;
        }
        if (now_us >= e->deadline_us) {
            coord_expire(c, now_us, i, out);
            continue;
        }
        if (now_us >= e->next_retx_us) out_retransmit(c, now_us, e, out);
    }
    /* queued requests stuck behind an in-doubt write */
    if (c->in_doubt > 0 && c->batch.phase == PHASE_IDLE) {
        uint8_t mask = 0;
        for (int i = 0; i < c->out_hw; i++) {
            if (c->out[i].used && c->out[i].in_doubt) mask |= (uint8_t)(1u << c->out[i].backend);
        }
        char letters[BACKEND_COUNT + 1];
        mask_letters(mask, letters);
        uint64_t wait_us = (uint64_t)c->cfg.timeout_ms * 1000u;
        while (c->queue_len > 0) {
            int i = c->queue[c->queue_head];
            op_t *o = &c->ops[i];
            if (now_us < o->arrived_us + wait_us) break;
            c->queue_head = (c->queue_head + 1) % OPS_MAX;
            c->queue_len--;
            op_reply_kind(c, o, CREP_UNAVAILABLE, letters, out);
            op_release(c, i);
        }
    }
    /* idle connections */
    for (int i = 0; i < c->conn_hw; i++) {
        conn_t *k = &c->conns[i];
        if (conn_idle(k) && now_us >= k->idle_deadline_us) {
            outbox_line(out, FX_STDERR, "closed a connection idle for %d s", CONN_IDLE_US / 1000000);
            conn_close(c, k, out);
        }
    }
}

uint64_t coord_deadline_us(const coord_t *c) {
    uint64_t t = UINT64_MAX;
    for (int i = 0; i < c->out_hw; i++) {
        const out_t *e = &c->out[i];
        if (!e->used) continue;
        if (e->deadline_us < t) t = e->deadline_us;
        if (e->hello < 0 && e->next_retx_us < t) t = e->next_retx_us;
    }
    if (c->in_doubt > 0 && c->queue_len > 0 && c->batch.phase == PHASE_IDLE) { /* as coord_on_timer */
        uint64_t q = c->ops[c->queue[c->queue_head]].arrived_us + (uint64_t)c->cfg.timeout_ms * 1000u;
        if (q < t) t = q;
    }
    for (int i = 0; i < c->conn_hw; i++) {
        const conn_t *k = &c->conns[i];
        if (conn_idle(k) && k->idle_deadline_us < t) t = k->idle_deadline_us;
    }
    return t;
}

int coord_idle(const coord_t *c) {
    return c->batch.phase == PHASE_IDLE && c->queue_len == 0 && c->out_free_count == OUT_MAX;
}

void coord_get_stats(const coord_t *c, coord_stats_t *s) { *s = c->stats; }
