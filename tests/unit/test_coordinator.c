/* test_coordinator.c — serverM's connection rules (core/coordinator.h): what open, data,
 * eof (a half-close), reset and idle mean, one-shot and persistent (pipelined), checked on the effects alone, with three scripted
 * backends that answer every datagram at once; and how a reply finds its request. The drivers (net/, sim/) only carry these
 * effects out, so these are the rules both of them follow. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coordinator.h"
#include "wire.h"

#define CONNS_TRACKED 8
#define PENDING_MAX 64
#define REPLY_BYTES_MAX 4096

/* A datagram the coordinator sent, not answered yet. */
typedef struct {
    int backend;
    uint8_t bytes[DGRAM_BYTES_MAX];
    size_t len;
} dgram_t;

/* What the coordinator did to each connection (by conn id < CONNS_TRACKED). */
typedef struct {
    char sent[CONNS_TRACKED][REPLY_BYTES_MAX]; /* every FX_CONN_SEND, concatenated */
    int closes[CONNS_TRACKED];                 /* FX_CONN_CLOSE count */
    int close_after_send[CONNS_TRACKED];       /* 1: the close came after the last send */
    dgram_t pending[PENDING_MAX];              /* datagrams not answered yet */
    int pending_count;
    int dgrams;                                /* datagrams sent in all */
    int writes;                                /* WRITE requests among them */
    char file[REPLY_BYTES_MAX];                /* the TXLIST file's chunks, concatenated */
    uint64_t file_token;                       /* its token, once the last chunk came */
} log_t;

typedef struct {
    coord_t *m;
    outbox_t out;
    log_t log;
    uint64_t now;
} rig_t;

/* Moves the outbox's effects into the log and clears the outbox. */
static void rig_sweep(rig_t *r) {
    CHECK(!r->out.failed);
    for (size_t k = 0; k < r->out.fx_count; k++) {
        const fx_t *f = &r->out.fx[k];
        const uint8_t *d = outbox_bytes(&r->out, f);
        switch (f->kind) {
        case FX_CONN_SEND:
            if (f->target < CONNS_TRACKED) {
                char *s = r->log.sent[f->target];
                size_t have = strlen(s);
                CHECK(have + f->data_len < REPLY_BYTES_MAX);
                memcpy(s + have, d, f->data_len);
                s[have + f->data_len] = '\0';
                r->log.close_after_send[f->target] = 0;
            }
            break;
        case FX_CONN_CLOSE:
            if (f->target < CONNS_TRACKED) {
                r->log.closes[f->target]++;
                r->log.close_after_send[f->target] = 1;
            }
            break;
        case FX_DGRAM:
            CHECK(r->log.pending_count < PENDING_MAX);
            if (r->log.pending_count < PENDING_MAX) {
                int i = r->log.pending_count++;
                r->log.pending[i].backend = (int)f->target;
                memcpy(r->log.pending[i].bytes, d, f->data_len);
                r->log.pending[i].len = f->data_len;
            }
            r->log.dgrams++;
            break;
        case FX_FILE_WRITE: {
            size_t have = strlen(r->log.file);
            CHECK(have + f->data_len < REPLY_BYTES_MAX);
            if (have + f->data_len < REPLY_BYTES_MAX) {
                memcpy(r->log.file + have, d, f->data_len);
                r->log.file[have + f->data_len] = '\0';
            }
            if (f->arg == 0) r->log.file_token = f->token;
            break;
        }
        default:
            break;
        }
    }
    outbox_clear(&r->out);
}

/* The boot epoch of each scripted backend's current run (a test may "restart" one by
 * changing it), and the epoch the last WRITE that reached a backend carried. */
static uint64_t fake_epoch[BACKEND_COUNT] = {101, 102, 103};
static uint64_t fake_last_write_epoch;
static uint64_t fake_received; /* what every user has received, as QUERY answers say (0) */

/* With fake_ledger on, the scripted backends keep the transfers their WRITEs stored, and a
 * QUERY's totals and largest serial include them (a backend's state at its answer). */
#define FAKE_TXS 64
static int fake_ledger;
static tx_t fake_txs[BACKEND_COUNT][FAKE_TXS];
static int fake_tx_count[BACKEND_COUNT];

static void fake_totals(int b, const wire_name_t *n, wire_totals_t *t, uint64_t *largest) {
    for (int k = 0; k < fake_tx_count[b]; k++) {
        const tx_t *x = &fake_txs[b][k];
        if (x->sender_len == n->len && memcmp(x->sender, n->s, n->len) == 0) t->sent += (uint64_t)x->amount;
        if (x->receiver_len == n->len && memcmp(x->receiver, n->s, n->len) == 0) t->received += (uint64_t)x->amount;
        if (x->serial > *largest) *largest = x->serial;
    }
}

/* Backend b's answer: every user exists with no history (but fake_received); largest
 * serial 9 for serverA (the sample's), 8 and 7 for the others, never one serial in two
 * backends (core/serials.c refuses that ledger); every write stored; listings and
 * statistics empty. */
static size_t backend_answer(int b, const wire_req_t *q, uint8_t *buf, size_t cap) {
    wire_reply_t *rep = calloc(1, sizeof(*rep));
    if (rep == NULL) return 0;
    rep->type = (uint8_t)(q->type | WIRE_REPLY);
    rep->incarnation = q->incarnation;
    rep->request_id = q->request_id;
    rep->status = WIRE_ST_OK;
    rep->fence = q->incarnation;
    rep->epoch = fake_epoch[b];
    if (q->type == WIRE_WRITE) fake_last_write_epoch = q->u.write.epoch;
    if (q->type == WIRE_WRITE && q->u.write.epoch != fake_epoch[b]) {
        rep->status = WIRE_ST_EPOCH; /* meant for another run: refused, as backend.c does */
        size_t n = wire_reply_encode(rep, buf, cap);
        free(rep);
        return n;
    }
    switch (q->type) {
    case WIRE_QUERY:
        rep->u.query.max_serial = 9 - (uint64_t)b;
        rep->u.query.count = q->u.query.count;
        for (int k = 0; k < q->u.query.count; k++) {
            rep->u.query.totals[k].exists = 1;
            rep->u.query.totals[k].received = fake_received;
            if (fake_ledger) fake_totals(b, &q->u.query.names[k], &rep->u.query.totals[k], &rep->u.query.max_serial);
        }
        break;
    case WIRE_WRITE:
        rep->u.write.count = q->u.write.count;
        for (int k = 0; k < q->u.write.count; k++) {
            rep->u.write.serials[k] = q->u.write.txs[k].serial;
            if (fake_ledger && fake_tx_count[b] < FAKE_TXS) fake_txs[b][fake_tx_count[b]++] = q->u.write.txs[k];
        }
        break;
    case WIRE_LIST:
        rep->u.list.done = 1;
        break;
    default:
        rep->u.stats.done = 1;
        break;
    }
    size_t n = wire_reply_encode(rep, buf, cap);
    free(rep);
    return n;
}

/* Delivers the answer to the datagram bytes[0..len) sent to backend, with its request id
 * changed by id_delta (0: the true answer). */
static void rig_answer(rig_t *r, int backend, const uint8_t *bytes, size_t len, int64_t id_delta) {
    wire_req_t q;
    uint8_t reply[DGRAM_BYTES_MAX];
    CHECK_EQ(wire_req_decode(bytes, len, &q), 0);
    if (q.type == WIRE_WRITE && id_delta == 0) r->log.writes++;
    q.request_id += (uint64_t)id_delta;
    size_t n = backend_answer(backend, &q, reply, sizeof(reply));
    CHECK(n > 0);
    r->now += 100;
    coord_on_datagram(r->m, r->now, backend, reply, n, &r->out);
    rig_sweep(r);
}

/* Answers pending datagrams (and what those answers make the coordinator send) until none
 * is left. */
static void rig_backends_answer(rig_t *r) {
    for (int rounds = 0; r->log.pending_count > 0 && rounds < 100; rounds++) {
        int n = r->log.pending_count;
        dgram_t *copy = malloc((size_t)n * sizeof(*copy)); /* the answers queue more */
        CHECK(copy != NULL);
        if (copy == NULL) return;
        memcpy(copy, r->log.pending, (size_t)n * sizeof(*copy));
        r->log.pending_count = 0;
        for (int i = 0; i < n; i++) rig_answer(r, copy[i].backend, copy[i].bytes, copy[i].len, 0);
        free(copy);
    }
    CHECK_EQ(r->log.pending_count, 0);
}

static void rig_init(rig_t *r) {
    memset(r, 0, sizeof(*r));
    fake_ledger = 0;
    memset(fake_tx_count, 0, sizeof(fake_tx_count));
    for (int b = 0; b < BACKEND_COUNT; b++) fake_epoch[b] = 101 + (uint64_t)b;
    coord_config_t cfg = {.incarnation = 7, .seed = 1, .timeout_ms = 2000,
                          .client_port = {25000, 26000}, .txlist_path = "alichain.txt"};
    r->m = coord_new(&cfg);
    CHECK(r->m != NULL);
    outbox_init(&r->out);
    r->now = 1000;
    coord_start(r->m, r->now, &r->out);
    rig_sweep(r);
}

static void rig_free(rig_t *r) {
    coord_free(r->m);
    outbox_free(&r->out);
}

static void rig_open(rig_t *r, uint32_t conn) {
    CHECK_EQ(coord_on_conn_open(r->m, r->now, conn, 0, &r->out), 0);
    rig_sweep(r);
}

static void rig_data(rig_t *r, uint32_t conn, const char *text) {
    coord_on_conn_data(r->m, r->now, conn, (const uint8_t *)text, strlen(text), &r->out);
    rig_sweep(r);
}

static void rig_eof(rig_t *r, uint32_t conn) {
    coord_on_conn_eof(r->m, r->now, conn, &r->out);
    rig_sweep(r);
}

static void rig_reset(rig_t *r, uint32_t conn) {
    coord_on_conn_reset(r->m, r->now, conn, &r->out);
    rig_sweep(r);
}

/* A whole request, then a half-close: the request is answered, then the connection closed. */
TEST(eof_after_a_whole_request_still_gets_the_reply) {
    rig_t r;
    rig_init(&r);
    rig_open(&r, 1);
    rig_data(&r, 1, "ALICHAIN/1 BALANCE Chinmay\n");
    rig_eof(&r, 1);
    CHECK_EQ(r.log.closes[1], 0); /* not closed by the eof: the reply is owed */
    rig_backends_answer(&r);
    CHECK_STR(r.log.sent[1], "OK BALANCE 1000\n");
    CHECK_EQ(r.log.closes[1], 1);
    CHECK_EQ(r.log.close_after_send[1], 1);
    CHECK(coord_idle(r.m));
    rig_free(&r);
}

/* The same for a transfer whose request arrived in pieces, the eof right after the last. */
TEST(eof_after_a_transfer_in_pieces_gets_the_serial) {
    rig_t r;
    rig_init(&r);
    rig_open(&r, 2);
    rig_data(&r, 2, "ALICHAIN/1 TRANS");
    rig_data(&r, 2, "FER Chinmay Luke 20\n");
    rig_eof(&r, 2);
    rig_backends_answer(&r);
    CHECK_EQ(r.log.writes, 1);
    CHECK_STR(r.log.sent[2], "OK TRANSFER 980 10\n");
    CHECK_EQ(r.log.closes[2], 1);
    rig_free(&r);
}

/* An eof before a whole line: the partial request is dropped, the connection closed at
 * once, nothing sent to a backend, nothing to the client. */
TEST(eof_before_a_whole_request_closes_without_reply) {
    rig_t r;
    rig_init(&r);
    rig_open(&r, 3);
    rig_data(&r, 3, "ALICHAIN/1 BALANCE Chin");
    rig_eof(&r, 3);
    CHECK_EQ(r.log.closes[3], 1);
    CHECK_STR(r.log.sent[3], "");
    CHECK_EQ(r.log.dgrams, 0);
    /* the core forgot the connection: later events on its id change nothing */
    rig_data(&r, 3, "may\n");
    rig_eof(&r, 3);
    rig_reset(&r, 3);
    CHECK_EQ(r.log.closes[3], 1);
    CHECK_EQ(r.log.dgrams, 0);
    CHECK_EQ(coord_deadline_us(r.m), UINT64_MAX); /* no idle timer left behind either */
    /* and with no byte at all */
    rig_open(&r, 4);
    rig_eof(&r, 4);
    CHECK_EQ(r.log.closes[4], 1);
    CHECK_STR(r.log.sent[4], "");
    rig_free(&r);
}

/* Resets conn after the requests sent on it (a transfer among them), answers every
 * datagram: the transfer is stored, only `sent` reached the client, no close was asked. */
static void check_reset_completes(rig_t *r, uint32_t conn, const char *sent) {
    rig_reset(r, conn);
    rig_backends_answer(r);
    CHECK_EQ(r->log.writes, 1);
    CHECK_STR(r->log.sent[conn], sent);
    CHECK_EQ(r->log.closes[conn], 0);
    coord_stats_t st;
    coord_get_stats(r->m, &st);
    CHECK_EQ(st.transfers_ok, 1);
    CHECK(coord_idle(r->m));
}

/* A reset after the request: the operation goes on (the write is sent and settles), its
 * reply is dropped, and no close is asked for a connection the driver already released. */
TEST(reset_after_the_request_completes_the_operation_without_reply) {
    rig_t r;
    rig_init(&r);
    rig_open(&r, 5);
    rig_data(&r, 5, "ALICHAIN/1 TRANSFER Chinmay Luke 20\n");
    check_reset_completes(&r, 5, "");
    rig_free(&r);
}

/* A reset before any request: forgotten, no effect, and the next connection works. */
TEST(reset_before_a_request_is_forgotten) {
    rig_t r;
    rig_init(&r);
    rig_open(&r, 6);
    rig_data(&r, 6, "ALICHAIN/1 BAL");
    rig_reset(&r, 6);
    CHECK_EQ(r.log.closes[6], 0);
    CHECK_EQ(coord_deadline_us(r.m), UINT64_MAX);
    rig_open(&r, 6); /* the driver may reuse the id once released */
    rig_data(&r, 6, "ALICHAIN/1 BALANCE Luke\n");
    rig_backends_answer(&r);
    CHECK_STR(r.log.sent[6], "OK BALANCE 1000\n");
    rig_free(&r);
}

/* Bytes after the request line, and an eof after the reply, change nothing. */
TEST(bytes_after_the_request_and_a_late_eof_are_ignored) {
    rig_t r;
    rig_init(&r);
    rig_open(&r, 7);
    rig_data(&r, 7, "ALICHAIN/1 BALANCE Ali\nALICHAIN/1 BALANCE Ben\n");
    rig_data(&r, 7, "more\n");
    rig_backends_answer(&r);
    CHECK_STR(r.log.sent[7], "OK BALANCE 1000\n");
    rig_eof(&r, 7);
    CHECK_EQ(r.log.closes[7], 1);
    coord_stats_t st;
    coord_get_stats(r.m, &st);
    CHECK_EQ(st.requests, 1);
    rig_free(&r);
}

static void rig_answer_pending(rig_t *r, int i, int64_t id_delta) {
    const dgram_t *d = &r->log.pending[i];
    rig_answer(r, d->backend, d->bytes, d->len, id_delta);
}

/* A reply is matched by its whole request id in O(1): the id's low bits name the slot, and
 * a reply for an earlier request that used the same slot (same low bits, older sequence)
 * or one delivered twice is dropped, not taken for the current request. */
TEST(a_reply_is_matched_by_its_whole_request_id) {
    rig_t r;
    rig_init(&r);
    rig_open(&r, 1);
    rig_data(&r, 1, "ALICHAIN/1 BALANCE Chinmay\n");
    CHECK_EQ(r.log.pending_count, BACKEND_COUNT);
    coord_stats_t st;
    rig_answer_pending(&r, 0, -2048); /* same slot, older sequence: a late reply */
    rig_answer_pending(&r, 0, +2048); /* same slot, a sequence never sent */
    rig_answer_pending(&r, 0, +1);    /* another slot: another request's */
    coord_get_stats(r.m, &st);
    CHECK_EQ(st.datagrams_dropped, 3);
    CHECK_STR(r.log.sent[1], "");
    rig_answer_pending(&r, 0, 0);     /* the real one */
    rig_answer_pending(&r, 0, 0);     /* and again: a duplicate */
    coord_get_stats(r.m, &st);
    CHECK_EQ(st.datagrams_dropped, 4);
    CHECK_STR(r.log.sent[1], "");     /* two backends still to answer */
    for (int i = 1; i < BACKEND_COUNT; i++) rig_answer_pending(&r, i, 0);
    CHECK_STR(r.log.sent[1], "OK BALANCE 1000\n");
    rig_free(&r);
}

/* A WRITE goes with the epoch of the backend run that answered serverM's QUERY, and only an
 * answer of the run it now goes to settles it: a refusal from another run (the disk-full
 * answer of a run that then crashed, arriving late) is dropped, and the write, refused
 * WIRE_ST_EPOCH by the restarted run, is re-aimed at it after a hello (regress/P8). */
TEST(a_write_is_settled_only_by_the_run_it_goes_to) {
    rig_t r;
    rig_init(&r);
    rig_open(&r, 2);
    rig_data(&r, 2, "ALICHAIN/1 TRANSFER Chinmay Luke 20\n");
    rig_eof(&r, 2);
    CHECK_EQ(r.log.pending_count, BACKEND_COUNT);
    dgram_t q[BACKEND_COUNT];
    memcpy(q, r.log.pending, sizeof q);
    r.log.pending_count = 0;
    for (int i = 0; i < BACKEND_COUNT; i++) rig_answer(&r, q[i].backend, q[i].bytes, q[i].len, 0);
    CHECK_EQ(r.log.pending_count, 1); /* the WRITE */
    dgram_t w = r.log.pending[0];
    r.log.pending_count = 0;
    static wire_req_t wq;
    CHECK_EQ(wire_req_decode(w.bytes, w.len, &wq), 0);
    CHECK_EQ(wq.type, WIRE_WRITE);
    CHECK_EQ(wq.u.write.epoch, fake_epoch[w.backend]);
    /* a disk-full refusal, from a run of that backend other than the one written to */
    static wire_reply_t no;
    memset(&no, 0, sizeof no);
    no.type = WIRE_WRITE | WIRE_REPLY;
    no.incarnation = wq.incarnation;
    no.request_id = wq.request_id;
    no.fence = wq.incarnation;
    no.epoch = fake_epoch[w.backend] + 1000;
    no.u.write.count = 1;
    no.u.write.serials[0] = wq.u.write.txs[0].serial;
    no.u.write.results[0] = WIRE_TX_NOSPACE;
    uint8_t buf[DGRAM_BYTES_MAX];
    size_t n = wire_reply_encode(&no, buf, sizeof buf);
    CHECK(n > 0);
    coord_stats_t st0, st;
    coord_get_stats(r.m, &st0);
    coord_on_datagram(r.m, r.now, w.backend, buf, n, &r.out);
    rig_sweep(&r);
    coord_get_stats(r.m, &st);
    CHECK_EQ(st.datagrams_dropped, st0.datagrams_dropped + 1);
    CHECK_STR(r.log.sent[2], ""); /* the client is told nothing yet */
    CHECK_EQ(r.log.pending_count, 0);
    /* the backend restarts (a new run); the write's copy reaches it */
    fake_epoch[w.backend] = 777;
    rig_answer(&r, w.backend, w.bytes, w.len, 0); /* WIRE_ST_EPOCH: a hello goes out */
    CHECK_EQ(fake_last_write_epoch, wq.u.write.epoch);
    CHECK_STR(r.log.sent[2], "");
    CHECK_EQ(r.log.pending_count, 1);
    rig_backends_answer(&r); /* the hello, then the write re-aimed at the new run */
    CHECK_EQ(fake_last_write_epoch, 777);
    CHECK_STR(r.log.sent[2], "OK TRANSFER 980 10\n");
    CHECK(coord_idle(r.m));
    rig_free(&r);
}

/* 1: the outbox holds exactly one effect, an FX_CONN_CLOSE of conn. Clears the outbox. */
static int only_a_close_of(rig_t *r, uint32_t conn) {
    int ok = r->out.fx_count == 1 && r->out.fx[0].kind == FX_CONN_CLOSE && r->out.fx[0].target == conn;
    outbox_clear(&r->out);
    return ok;
}

/* The table of connections at its limit, with ids shaped like net's (generation << 11 |
 * slot) and like the simulator's (1, 2, 3, ...), half of them reset in a scrambled order:
 * every event still finds its connection, and a freed id opens again. */
TEST(every_connection_is_found_at_the_limit) {
    rig_t r;
    rig_init(&r);
    uint32_t ids[CONNECTIONS_MAX];
    for (uint32_t i = 0; i < CONNECTIONS_MAX; i++) {
        ids[i] = i % 2 ? ((i + 1) << 11) | (i & 2047) : i + 1;
        CHECK_EQ(coord_on_conn_open(r.m, r.now, ids[i], (int)(i % 2), &r.out), 0);
    }
    CHECK_EQ(r.out.fx_count, 0);
    CHECK_EQ(coord_on_conn_open(r.m, r.now, 999999, 0, &r.out), AC_EFULL); /* BUSY */
    outbox_clear(&r.out);
    int open[CONNECTIONS_MAX];
    for (uint32_t i = 0; i < CONNECTIONS_MAX; i++) open[i] = 1;
    for (uint32_t k = 0; k < CONNECTIONS_MAX / 2; k++) {
        uint32_t i = (k * 389u + 17u) % CONNECTIONS_MAX; /* 389 is prime: a permutation */
        coord_on_conn_reset(r.m, r.now, ids[i], &r.out);
        open[i] = 0;
    }
    CHECK_EQ(r.out.fx_count, 0);
    int found = 0, missed = 0;
    for (uint32_t i = 0; i < CONNECTIONS_MAX; i++) {
        coord_on_conn_eof(r.m, r.now, ids[i], &r.out); /* open: closed at once; reset: nothing */
        if (open[i]) found += only_a_close_of(&r, ids[i]);
        else missed += r.out.fx_count == 0;
        outbox_clear(&r.out);
    }
    CHECK_EQ(found, CONNECTIONS_MAX / 2);
    CHECK_EQ(missed, CONNECTIONS_MAX / 2);
    for (uint32_t i = 0; i < CONNECTIONS_MAX; i++) {
        CHECK_EQ(coord_on_conn_open(r.m, r.now, ids[i], 0, &r.out), 0); /* every id is free */
    }
    CHECK_EQ(r.out.fx_count, 0);
    rig_free(&r);
}


/* ---- persistent connections (ALICHAIN/1 KEEPALIVE) ---------------------------------- */

static void rig_keepalive(rig_t *r, uint32_t conn) {
    rig_open(r, conn);
    rig_data(r, conn, "ALICHAIN/1 KEEPALIVE\n");
    CHECK_STR(r->log.sent[conn], "OK KEEPALIVE\n");
    CHECK_EQ(r->log.closes[conn], 0);
}

/* Replies leave in request order even when a later request completes first: in the second
 * batch the balance is answered from the fetch, before the transfer's write is stored. */
TEST(keepalive_replies_leave_in_request_order) {
    rig_t r;
    rig_init(&r);
    rig_keepalive(&r, 1);
    rig_data(&r, 1, "ALICHAIN/1 BALANCE Ann\n"); /* a batch of its own */
    rig_data(&r, 1, "ALICHAIN/1 TRANSFER Chinmay Luke 20\nALICHAIN/1 BALANCE Luke\n"
                    "ALICHAIN/1 KEEPALIVE\nALICHAIN/1 STATS Luke\n");
    rig_backends_answer(&r);
    CHECK_STR(r.log.sent[1], "OK KEEPALIVE\nOK BALANCE 1000\nOK TRANSFER 980 10\n"
                             "OK BALANCE 1000\nOK KEEPALIVE\nREFUSED NOUSER Luke\n");
    CHECK_EQ(r.log.closes[1], 0); /* persistent: still open */
    CHECK_EQ(r.log.writes, 1);
    rig_data(&r, 1, "ALICHAIN/1 BALANCE Ann\n"); /* and it keeps serving */
    rig_backends_answer(&r);
    CHECK_STR(r.log.sent[1] + strlen(r.log.sent[1]) - 16, "OK BALANCE 1000\n");
    coord_stats_t st;
    coord_get_stats(r.m, &st);
    CHECK_EQ(st.requests, 5);
    rig_free(&r);
}

/* TCP_PIPELINE_MAX unanswered requests are served; the ones beyond get ERROR BUSY in their
 * turn, with no work done; once the ring has room again, requests are served again. */
TEST(keepalive_busy_beyond_the_pipeline_limit) {
    rig_t r;
    rig_init(&r);
    rig_keepalive(&r, 2);
    for (int i = 0; i < TCP_PIPELINE_MAX + 2; i++) rig_data(&r, 2, "ALICHAIN/1 BALANCE Ann\n");
    CHECK_STR(r.log.sent[2], "OK KEEPALIVE\n");
    coord_stats_t st;
    coord_get_stats(r.m, &st);
    CHECK_EQ(st.requests, TCP_PIPELINE_MAX);
    rig_backends_answer(&r);
    char want[REPLY_BYTES_MAX] = "OK KEEPALIVE\n";
    for (int i = 0; i < TCP_PIPELINE_MAX; i++) strcat(want, "OK BALANCE 1000\n");
    strcat(want, "ERROR BUSY\nERROR BUSY\n");
    CHECK_STR(r.log.sent[2], want);
    rig_data(&r, 2, "ALICHAIN/1 BALANCE Ann\n");
    rig_backends_answer(&r);
    strcat(want, "OK BALANCE 1000\n");
    CHECK_STR(r.log.sent[2], want);
    CHECK_EQ(r.log.closes[2], 0);
    rig_free(&r);
}

/* A malformed line: ERROR BADREQ after the replies owed, then the close; nothing after the
 * bad line is read. An overlong line is the same. */
TEST(keepalive_badreq_closes_after_the_earlier_replies) {
    rig_t r;
    rig_init(&r);
    rig_keepalive(&r, 3);
    rig_data(&r, 3, "ALICHAIN/1 BALANCE Ann\nnonsense\nALICHAIN/1 BALANCE Bob\n");
    CHECK_EQ(r.log.closes[3], 0);
    rig_backends_answer(&r);
    CHECK_STR(r.log.sent[3], "OK KEEPALIVE\nOK BALANCE 1000\nERROR BADREQ\n");
    CHECK_EQ(r.log.closes[3], 1);
    CHECK_EQ(r.log.close_after_send[3], 1);
    coord_stats_t st;
    coord_get_stats(r.m, &st);
    CHECK_EQ(st.requests, 1);
    rig_keepalive(&r, 4);
    char longline[TCP_REQUEST_BYTES_MAX + 2];
    memset(longline, 'x', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    rig_data(&r, 4, longline);
    CHECK_STR(r.log.sent[4], "OK KEEPALIVE\nERROR BADREQ\n");
    CHECK_EQ(r.log.closes[4], 1);
    rig_free(&r);
}

/* A half-close answers every whole request received, in order, then closes; a partial line
 * at the eof is dropped. */
TEST(keepalive_half_close_answers_everything_received) {
    rig_t r;
    rig_init(&r);
    rig_keepalive(&r, 5);
    rig_data(&r, 5, "ALICHAIN/1 TRANSFER Chinmay Luke 20\nALICHAIN/1 BALANCE Luke\nALICHAIN/1 BAL");
    rig_eof(&r, 5);
    CHECK_EQ(r.log.closes[5], 0);
    rig_backends_answer(&r);
    CHECK_STR(r.log.sent[5], "OK KEEPALIVE\nOK TRANSFER 980 10\nOK BALANCE 1000\n");
    CHECK_EQ(r.log.closes[5], 1);
    CHECK_EQ(r.log.close_after_send[5], 1);
    rig_keepalive(&r, 6); /* nothing owed: the eof closes at once */
    rig_eof(&r, 6);
    CHECK_EQ(r.log.closes[6], 1);
    CHECK(coord_idle(r.m));
    rig_free(&r);
}

/* A reset mid-pipeline: the accepted operations complete (the write is stored), their
 * replies are dropped, no close is asked. */
TEST(keepalive_reset_completes_the_accepted_operations) {
    rig_t r;
    rig_init(&r);
    rig_keepalive(&r, 7);
    rig_data(&r, 7, "ALICHAIN/1 BALANCE Ann\nALICHAIN/1 TRANSFER Chinmay Luke 20\n");
    check_reset_completes(&r, 7, "OK KEEPALIVE\n");
    rig_free(&r);
}

/* Idle: a persistent connection with nothing unanswered and no bytes for CONN_IDLE_US is
 * closed without a reply; the deadline counts from its last bytes. */
TEST(keepalive_idle_connection_is_closed) {
    rig_t r;
    rig_init(&r);
    rig_keepalive(&r, 1);
    CHECK_EQ(coord_deadline_us(r.m), r.now + CONN_IDLE_US);
    r.now += CONN_IDLE_US / 2;
    rig_data(&r, 1, "ALICHAIN/1 BALANCE Ann\n");
    uint64_t idle_at = r.now + CONN_IDLE_US;
    r.now += 2000 * 1000; /* timeout_ms: the balance misses its deadline: UNAVAILABLE */
    coord_on_timer(r.m, r.now, &r.out);
    rig_sweep(&r);
    CHECK_STR(r.log.sent[1], "OK KEEPALIVE\nERROR UNAVAILABLE ABC\n");
    CHECK_EQ(r.log.closes[1], 0);
    CHECK_EQ(coord_deadline_us(r.m), idle_at); /* counted from its last bytes */
    r.log.pending_count = 0;
    coord_on_timer(r.m, idle_at - 1, &r.out);
    rig_sweep(&r);
    CHECK_EQ(r.log.closes[1], 0);
    coord_on_timer(r.m, idle_at, &r.out); /* nothing owed, no bytes for the idle time */
    rig_sweep(&r);
    CHECK_EQ(r.log.closes[1], 1);
    CHECK_STR(r.log.sent[1], "OK KEEPALIVE\nERROR UNAVAILABLE ABC\n");
    CHECK_EQ(coord_deadline_us(r.m), UINT64_MAX);
    rig_free(&r);
}

/* The requests a_reset_coordinator_acts_as_a_new_one plays on both coordinators: two
 * batches, a stats job beside the first. */
static void rig_script(rig_t *r) {
    for (uint32_t k = 1; k <= 3; k++) rig_keepalive(r, k);
    rig_data(r, 1, "ALICHAIN/1 TRANSFER Ann Luke 7\nALICHAIN/1 BALANCE Chinmay\n");
    rig_data(r, 2, "ALICHAIN/1 STATS Chinmay\n");
    rig_data(r, 3, "ALICHAIN/1 BALANCE Ben\n");
    rig_backends_answer(r);
    rig_data(r, 1, "ALICHAIN/1 TRANSFER Luke Ann 1\nALICHAIN/1 BALANCE Luke\n");
    rig_backends_answer(r);
}

/* coord_reset makes what coord_new makes, even of a coordinator caught with its tables in
 * use (connections, a batch waiting for its fetch, queued requests, a stats job): coord_reset
 * clears less than coord_new (only what is read before it is written), so the same
 * requests afterwards must get the same datagrams and the same replies. */
TEST(a_reset_coordinator_acts_as_a_new_one) {
    rig_t used, fresh;
    rig_init(&used);
    for (uint32_t k = 1; k < CONNS_TRACKED; k++) rig_keepalive(&used, k);
    rig_data(&used, 1, "ALICHAIN/1 TRANSFER Chinmay Luke 20\nALICHAIN/1 BALANCE Rachit\n");
    rig_data(&used, 2, "ALICHAIN/1 STATS Luke\n");
    rig_data(&used, 3, "ALICHAIN/1 BALANCE Ann\n");
    rig_data(&used, 4, "ALICHAIN/1 TRANSFER Ben Ann 5\nALICHAIN/1 BALANCE Victor\n");
    CHECK(used.log.pending_count > 1);
    fake_received = 500; /* the batch's users hold what this answer said, */
    rig_answer_pending(&used, 0, 0); /* and the rest stays unanswered: it is in flight */
    fake_received = 0;
    CHECK(!coord_idle(used.m));
    coord_config_t cfg = {.incarnation = 7, .seed = 1, .timeout_ms = 2000,
                          .client_port = {25000, 26000}, .txlist_path = "alichain.txt"};
    CHECK_EQ(coord_reset(used.m, &cfg), 0);
    memset(&used.log, 0, sizeof(used.log));
    outbox_clear(&used.out);
    used.now = 1000;
    coord_start(used.m, used.now, &used.out);
    rig_sweep(&used);
    rig_init(&fresh); /* the same config as the reset's */
    rig_script(&used);
    rig_script(&fresh);
    for (uint32_t k = 0; k < CONNS_TRACKED; k++) {
        CHECK_STR(used.log.sent[k], fresh.log.sent[k]);
        CHECK_EQ(used.log.closes[k], fresh.log.closes[k]);
    }
    CHECK_STR(fresh.log.sent[1], "OK KEEPALIVE\nOK TRANSFER 993 10\nOK BALANCE 1000\n"
                                 "OK TRANSFER 999 10\nOK BALANCE 1000\n"); /* stateless backends */
    CHECK_EQ(used.log.dgrams, fresh.log.dgrams);
    CHECK_EQ(used.log.writes, 2);
    CHECK_EQ(fresh.log.writes, 2);
    CHECK(coord_idle(used.m));
    CHECK(coord_idle(fresh.m));
    rig_free(&used);
    rig_free(&fresh);
}

/* The pending LIST to backend be, decoded and taken out of the log (0), or -1. */
static int rig_take_list(rig_t *r, int be, wire_req_t *q) {
    for (int i = 0; i < r->log.pending_count; i++) {
        dgram_t *d = &r->log.pending[i];
        if (d->backend != be || wire_req_decode(d->bytes, d->len, q) != 0 || q->type != WIRE_LIST) continue;
        r->log.pending[i] = r->log.pending[--r->log.pending_count];
        return 0;
    }
    return -1;
}

/* Delivers one page of backend be's window for request q: the serials from `cursor` on
 * (positions in its listing), done after the last. */
static void rig_page(rig_t *r, int be, const wire_req_t *q, const uint64_t *serials, uint32_t n,
                     uint32_t cursor, uint32_t count) {
    static wire_reply_t rep;
    memset(&rep, 0, sizeof(rep));
    rep.type = WIRE_LIST | WIRE_REPLY;
    rep.incarnation = q->incarnation;
    rep.request_id = q->request_id;
    rep.fence = q->incarnation;
    rep.epoch = fake_epoch[be];
    rep.u.list.cursor = cursor;
    rep.u.list.count = (uint8_t)count;
    for (uint32_t k = 0; k < count; k++)
        tx_set(&rep.u.list.txs[k], serials[cursor + k], "Ali", 3, "Luke", 4, 1);
    rep.u.list.next_cursor = cursor + count;
    rep.u.list.done = cursor + count >= n;
    uint8_t buf[DGRAM_BYTES_MAX];
    size_t len = wire_reply_encode(&rep, buf, sizeof(buf));
    CHECK(len > 0);
    r->now += 100;
    coord_on_datagram(r->m, r->now, be, buf, len, &r->out);
    rig_sweep(r);
}

/* A TXLIST asks each backend a window of pages in one LIST and takes them in order only:
 * a page that does not start at the backend's cursor (one before it lost, or a copy of one
 * taken) is dropped and counted; the window's retransmission asks only the pages it still
 * lacks, from the cursor; the listing is whole and merged in serial order. */
TEST(a_txlist_window_takes_its_pages_in_order) {
    rig_t r;
    rig_init(&r);
    rig_open(&r, 1);
    rig_data(&r, 1, "ALICHAIN/1 TXLIST\n");
    /* the hellos (serverA's largest serial 9, B 8, C 7) */
    int hellos = r.log.pending_count;
    CHECK_EQ(hellos, BACKEND_COUNT);
    dgram_t copy[BACKEND_COUNT];
    memcpy(copy, r.log.pending, sizeof(copy));
    r.log.pending_count = 0;
    for (int i = 0; i < BACKEND_COUNT; i++) rig_answer(&r, copy[i].backend, copy[i].bytes, copy[i].len, 0);
    static const uint64_t a[] = {1, 4, 9}, b[] = {2, 5, 8}, c[] = {3, 6, 7};
    wire_req_t qa, qb, qc;
    CHECK_EQ(rig_take_list(&r, 0, &qa), 0);
    CHECK_EQ(rig_take_list(&r, 1, &qb), 0);
    CHECK_EQ(rig_take_list(&r, 2, &qc), 0);
    CHECK(qa.u.list.pages > 1); /* a window, not a page */
    CHECK_EQ(qa.u.list.cursor, 0);
    /* B and C: their whole listing in one page each */
    rig_page(&r, 1, &qb, b, 3, 0, 3);
    rig_page(&r, 2, &qc, c, 3, 0, 3);
    /* A: one transaction a page; the second page comes first: dropped */
    coord_stats_t st;
    rig_page(&r, 0, &qa, a, 3, 1, 1);
    coord_get_stats(r.m, &st);
    CHECK_EQ(st.pages_unordered, 1);
    rig_page(&r, 0, &qa, a, 3, 0, 1);  /* in order: taken */
    rig_page(&r, 0, &qa, a, 3, 0, 1);  /* a copy of it: dropped */
    coord_get_stats(r.m, &st);
    CHECK_EQ(st.pages_unordered, 2);
    CHECK_EQ(r.log.file_token, 0); /* serial 4 is not in yet */
    /* the second page is lost: the retransmission asks from cursor 1, the pages still owed */
    CHECK_EQ(r.log.pending_count, 0);
    r.now += 25000;
    coord_on_timer(r.m, r.now, &r.out);
    rig_sweep(&r);
    wire_req_t again;
    CHECK_EQ(rig_take_list(&r, 0, &again), 0);
    CHECK_EQ(again.request_id, qa.request_id); /* the same request, asking less */
    CHECK_EQ(again.u.list.cursor, 1);
    CHECK_EQ(again.u.list.pages, qa.u.list.pages - 1);
    rig_page(&r, 0, &again, a, 3, 1, 1);
    rig_page(&r, 0, &again, a, 3, 2, 1); /* done */
    CHECK(r.log.file_token != 0);
    CHECK_STR(r.log.file, "1 Ali Luke 1\n2 Ali Luke 1\n3 Ali Luke 1\n4 Ali Luke 1\n5 Ali Luke 1\n"
                          "6 Ali Luke 1\n7 Ali Luke 1\n8 Ali Luke 1\n9 Ali Luke 1\n");
    /* a page of the finished window, late: nothing is waiting for it */
    rig_page(&r, 0, &again, a, 3, 2, 1);
    coord_on_file_written(r.m, r.now, r.log.file_token, 1, &r.out);
    rig_sweep(&r);
    CHECK_STR(r.log.sent[1], "OK TXLIST 9 alichain.txt\n");
    rig_free(&r);
}

/* The QUERYs pending to a backend, by their name counts in order of sending (but those
 * asking for "Chinmay" alone). */
static int rig_query_counts(rig_t *r, int backend, int *counts, int cap) {
    int n = 0;
    for (int i = 0; i < r->log.pending_count; i++) {
        wire_req_t q;
        CHECK(r->log.pending[i].len <= DGRAM_BYTES_MAX);
        CHECK_EQ(wire_req_decode(r->log.pending[i].bytes, r->log.pending[i].len, &q), 0);
        if (r->log.pending[i].backend != backend || q.type != WIRE_QUERY) continue;
        if (q.u.query.count == 1 && strcmp(q.u.query.names[0].s, "Chinmay") == 0) continue;
        CHECK(n < cap);
        if (n < cap) counts[n++] = q.u.query.count;
    }
    return n;
}

/* A batch's users go to each backend in QUERYs of as many names as fit a datagram: 64
 * short names at most, fewer long ones (18 of 64 bytes). While a one-shot balance's batch
 * runs, a pipeline of 64 balances of 5-byte names waits, then is the next batch: one QUERY
 * of 64 names a backend; then 24 of them and 40 of 64-byte names: QUERYs of 24 + 15, 18 and
 * 7 names. Every balance answered, in order. */
TEST(a_batch_packs_its_names_into_queries_by_size) {
    rig_t r;
    rig_init(&r);
    rig_keepalive(&r, 1);
    for (int round = 0; round < 2; round++) {
        static char text[TCP_PIPELINE_MAX * TCP_REQUEST_BYTES_MAX], want[TCP_PIPELINE_MAX * 32];
        char name[NAME_BYTES_MAX + 1];
        size_t len = 0, wlen = 0;
        for (unsigned i = 0; i < TCP_PIPELINE_MAX; i++) {
            int is_long = round == 1 && i >= 24;
            memset(name, 'a' + (int)(i % 26), sizeof name);
            snprintf(name, 5, "u%03u", i); /* distinct: "u000x".."u063x", long ones padded */
            name[4] = 'x';
            name[is_long ? NAME_BYTES_MAX : 5] = '\0';
            len += (size_t)snprintf(text + len, sizeof text - len, "ALICHAIN/1 BALANCE %s\n", name);
            wlen += (size_t)snprintf(want + wlen, sizeof want - wlen, "OK BALANCE 1000\n");
        }
        uint32_t one_shot = 2 + (uint32_t)round;
        rig_open(&r, one_shot);
        rig_data(&r, one_shot, "ALICHAIN/1 BALANCE Chinmay\n"); /* its batch starts */
        r.log.sent[1][0] = '\0';
        rig_data(&r, 1, text); /* the next batch's */
        int probe[8];
        if (rig_query_counts(&r, 0, probe, 8) == 0) { /* it waits for the one-shot's batch */
            CHECK_EQ(r.log.pending_count, BACKEND_COUNT);
            dgram_t first[BACKEND_COUNT];
            memcpy(first, r.log.pending, sizeof first);
            r.log.pending_count = 0;
            for (int b = 0; b < BACKEND_COUNT; b++)
                rig_answer(&r, first[b].backend, first[b].bytes, first[b].len, 0);
            CHECK_STR(r.log.sent[one_shot], "OK BALANCE 1000\n");
        }
        static const int want_counts[2][3] = {{64, 0, 0}, {39, 18, 7}};
        for (int b = 0; b < BACKEND_COUNT; b++) {
            int counts[8];
            int n = rig_query_counts(&r, b, counts, 8);
            CHECK_EQ(n, round == 0 ? 1 : 3);
            for (int k = 0; k < n && k < 3; k++) CHECK_EQ(counts[k], want_counts[round][k]);
        }
        rig_backends_answer(&r);
        CHECK_STR(r.log.sent[1], want);
        CHECK_STR(r.log.sent[one_shot], "OK BALANCE 1000\n");
    }
    CHECK(coord_idle(r.m));
    rig_free(&r);
}

/* A pipeline that arrives whole, with nothing running, is one batch: one QUERY of its 10
 * names a backend, not a batch of its first line with the other 9 waiting for the next. */
TEST(a_pipeline_in_one_chunk_is_one_batch) {
    rig_t r;
    rig_init(&r);
    rig_keepalive(&r, 1);
    char text[10 * 40], want[10 * 20];
    size_t len = 0, wlen = 0;
    for (int i = 0; i < 10; i++) {
        len += (size_t)snprintf(text + len, sizeof text - len, "ALICHAIN/1 BALANCE user%d\n", i);
        wlen += (size_t)snprintf(want + wlen, sizeof want - wlen, "OK BALANCE 1000\n");
    }
    r.log.sent[1][0] = '\0';
    rig_data(&r, 1, text);
    for (int b = 0; b < BACKEND_COUNT; b++) {
        int counts[4];
        CHECK_EQ(rig_query_counts(&r, b, counts, 4), 1);
        CHECK_EQ(counts[0], 10);
    }
    rig_backends_answer(&r);
    CHECK_STR(r.log.sent[1], want); /* ten balances, in order */
    CHECK(coord_idle(r.m));
    rig_free(&r);
}

/* Answers the pending datagrams of one type (to backend `backend`, or any with -1); what
 * the answers make the coordinator send stays pending. Returns how many were answered. */
static int rig_answer_only(rig_t *r, uint8_t type, int backend) {
    static dgram_t keep[PENDING_MAX], now[PENDING_MAX];
    int nk = 0, nn = 0;
    for (int i = 0; i < r->log.pending_count; i++) {
        wire_req_t q;
        CHECK_EQ(wire_req_decode(r->log.pending[i].bytes, r->log.pending[i].len, &q), 0);
        if (q.type == type && (backend < 0 || r->log.pending[i].backend == backend))
            now[nn++] = r->log.pending[i];
        else
            keep[nk++] = r->log.pending[i];
    }
    memcpy(r->log.pending, keep, sizeof(keep[0]) * (size_t)nk);
    r->log.pending_count = nk;
    for (int i = 0; i < nn; i++) rig_answer(r, now[i].backend, now[i].bytes, now[i].len, 0);
    return nn;
}

/* The backend the one pending WRITE goes to (-1: none, or more than one). */
static int rig_write_backend(rig_t *r) {
    int be = -1, n = 0;
    for (int i = 0; i < r->log.pending_count; i++) {
        wire_req_t q;
        CHECK_EQ(wire_req_decode(r->log.pending[i].bytes, r->log.pending[i].len, &q), 0);
        if (q.type == WIRE_WRITE) {
            be = r->log.pending[i].backend;
            n++;
        }
    }
    return n == 1 ? be : -1;
}

/* Group commit: requests that arrive while the batch writes are a batch ahead that fetches
 * at once, and decides on the ledger after the batch's transfers, whatever its answers saw.
 * Round 1: the write backend answers the batch ahead before the WRITE is stored, so
 * Chinmay's 600 must be added: his second 600 is refused (400 left). (A balance that comes
 * next is a read batch beside the write: it may hear the ledger before it.)
 * Round 2: it answers after the WRITE, holding it already: nothing is added twice, so
 * Luke's 1500 (1600 - 100) passes, to 0, with the next serial. */
TEST(a_batch_ahead_decides_on_the_ledger_after_the_batch_before) {
    rig_t r;
    rig_init(&r);
    fake_ledger = 1;
    rig_keepalive(&r, 1);
    rig_keepalive(&r, 2);
    rig_keepalive(&r, 3);
    rig_data(&r, 1, "ALICHAIN/1 TRANSFER Chinmay Luke 600\n");
    CHECK_EQ(rig_answer_only(&r, WIRE_QUERY, -1), BACKEND_COUNT);
    int w = rig_write_backend(&r);
    CHECK(w >= 0);
    rig_data(&r, 2, "ALICHAIN/1 TRANSFER Chinmay Luke 600\n");
    rig_data(&r, 3, "ALICHAIN/1 BALANCE Luke\n");
    coord_stats_t st;
    coord_get_stats(r.m, &st);
    CHECK_EQ(st.batches_ahead, 1);
    CHECK_EQ(r.log.pending_count, 1 + 2 * BACKEND_COUNT); /* the WRITE, the fetches ahead and read */
    CHECK_EQ(rig_answer_only(&r, WIRE_QUERY, -1), 2 * BACKEND_COUNT); /* none holds the write yet */
    CHECK_STR(r.log.sent[3], "OK KEEPALIVE\nOK BALANCE 1000\n");
    CHECK_STR(r.log.sent[2], "OK KEEPALIVE\n"); /* it waits for the batch before */
    CHECK_EQ(rig_answer_only(&r, WIRE_WRITE, -1), 1);
    CHECK_STR(r.log.sent[1], "OK KEEPALIVE\nOK TRANSFER 400 10\n");
    CHECK_STR(r.log.sent[2], "OK KEEPALIVE\nREFUSED INSUFFICIENT 400\n");
    rig_data(&r, 3, "ALICHAIN/1 BALANCE Luke\n");
    rig_backends_answer(&r);
    CHECK_STR(r.log.sent[3], "OK KEEPALIVE\nOK BALANCE 1000\nOK BALANCE 1600\n");
    coord_get_stats(r.m, &st);
    CHECK_EQ(st.ahead_caught_up, 1);
    CHECK(coord_idle(r.m));

    rig_data(&r, 1, "ALICHAIN/1 TRANSFER Luke Chinmay 100\n");
    CHECK_EQ(rig_answer_only(&r, WIRE_QUERY, -1), BACKEND_COUNT);
    w = rig_write_backend(&r);
    CHECK(w >= 0);
    rig_data(&r, 2, "ALICHAIN/1 TRANSFER Luke Chinmay 1500\n");
    for (int b = 0; b < BACKEND_COUNT; b++) /* w's waits */
        if (b != w) CHECK_EQ(rig_answer_only(&r, WIRE_QUERY, b), 1);
    CHECK_EQ(rig_answer_only(&r, WIRE_WRITE, -1), 1); /* the batch ends; the one ahead waits for w */
    CHECK_STR(r.log.sent[1], "OK KEEPALIVE\nOK TRANSFER 400 10\nOK TRANSFER 1500 11\n");
    CHECK_EQ(rig_answer_only(&r, WIRE_QUERY, w), 1); /* holds serial 11 already */
    rig_backends_answer(&r);
    CHECK_STR(r.log.sent[2], "OK KEEPALIVE\nREFUSED INSUFFICIENT 400\nOK TRANSFER 0 12\n");
    coord_get_stats(r.m, &st);
    CHECK_EQ(st.batches_ahead, 2);
    CHECK_EQ(st.ahead_caught_up, 1); /* nothing added in round 2 */
    CHECK(coord_idle(r.m));
    rig_free(&r);
}

int main(void) {
    RUN(eof_after_a_whole_request_still_gets_the_reply);
    RUN(a_batch_packs_its_names_into_queries_by_size);
    RUN(a_pipeline_in_one_chunk_is_one_batch);
    RUN(a_write_is_settled_only_by_the_run_it_goes_to);
    RUN(a_batch_ahead_decides_on_the_ledger_after_the_batch_before);
    RUN(eof_after_a_transfer_in_pieces_gets_the_serial);
    RUN(eof_before_a_whole_request_closes_without_reply);
    RUN(reset_after_the_request_completes_the_operation_without_reply);
    RUN(reset_before_a_request_is_forgotten);
    RUN(bytes_after_the_request_and_a_late_eof_are_ignored);
    RUN(a_reply_is_matched_by_its_whole_request_id);
    RUN(a_txlist_window_takes_its_pages_in_order);
    RUN(every_connection_is_found_at_the_limit);
    RUN(keepalive_replies_leave_in_request_order);
    RUN(keepalive_busy_beyond_the_pipeline_limit);
    RUN(keepalive_badreq_closes_after_the_earlier_replies);
    RUN(keepalive_half_close_answers_everything_received);
    RUN(keepalive_reset_completes_the_accepted_operations);
    RUN(keepalive_idle_connection_is_closed);
    RUN(a_reset_coordinator_acts_as_a_new_one);
    return CHECK_DONE();
}
