/* test_conn_memory.c — serverM's memory rule (core/coordinator.h coord_on_conn_sent,
 * common.h CONN_UNSENT_BYTES_MAX, COORD_UNSENT_BYTES_BUDGET and COORD_UNSENT_BYTES_LIMIT):
 * replies a client does not read stop serverM reading that client, all of them together
 * stop every persistent connection owed a reply, and a reply taken by the socket lets it
 * read again; a STATS table of a request read before that is answered ERROR BUSY where it
 * would pass a bound. Persistent connections pipelining "KEEPALIVE" make replies without
 * any backend; STATS tables come from three scripted backends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coordinator.h"
#include "wire.h"

#define CONNS 1000               /* 64 MiB / 256 KiB = 256 of them reach the budget */
#define KEEPALIVE_LINE "ALICHAIN/1 KEEPALIVE\n"
#define REPLY_LINE_BYTES 13      /* "OK KEEPALIVE\n" */
#define LINES_PER_CHUNK 190      /* a 4 KiB read of the driver */

typedef struct {
    coord_t *m;
    outbox_t out;
    uint64_t now;                /* stays 0: the rule needs no time */
    size_t sent[CONNS + 1];      /* FX_CONN_SEND bytes not yet reported taken */
    int stopped[CONNS + 1];      /* the last FX_CONN_READ said: do not read */
    int read_fx[CONNS + 1];      /* FX_CONN_READ effects seen */
    int closed[CONNS + 1];
    uint32_t readers[4];         /* connections whose clients read every byte at once */
    int reader_count;
    int tables[CONNS + 1];       /* replies longer than a line (STATS tables) */
    int busy[CONNS + 1];         /* "ERROR BUSY" replies */
    uint8_t (*dgrams)[DGRAM_BYTES_MAX]; /* datagrams to the backends, not answered yet */
    size_t *dgram_len;
    int *dgram_backend;
    size_t dgram_count, dgram_cap;
    int errors;                  /* effects to connections not open, or a repeated state */
} rig_t;

static void rig_taken(rig_t *r, uint32_t conn, size_t n);

/* A datagram to a backend, kept to be answered (rig_backends). */
static void keep_dgram(rig_t *r, const fx_t *f, const uint8_t *d) {
    if (r->dgram_count == r->dgram_cap) {
        r->dgram_cap = r->dgram_cap ? 2 * r->dgram_cap : 256;
        r->dgrams = realloc(r->dgrams, r->dgram_cap * sizeof(*r->dgrams));
        r->dgram_len = realloc(r->dgram_len, r->dgram_cap * sizeof(*r->dgram_len));
        r->dgram_backend = realloc(r->dgram_backend, r->dgram_cap * sizeof(*r->dgram_backend));
        CHECK(r->dgrams != NULL && r->dgram_len != NULL && r->dgram_backend != NULL);
        if (r->dgrams == NULL || r->dgram_len == NULL || r->dgram_backend == NULL) exit(1);
    }
    memcpy(r->dgrams[r->dgram_count], d, f->data_len);
    r->dgram_len[r->dgram_count] = f->data_len;
    r->dgram_backend[r->dgram_count++] = (int)f->target;
}

static void sweep(rig_t *r) {
    CHECK(!r->out.failed);
    for (size_t k = 0; k < r->out.fx_count; k++) {
        const fx_t *f = &r->out.fx[k];
        if (f->kind == FX_DGRAM) keep_dgram(r, f, outbox_bytes(&r->out, f));
        if (f->kind != FX_CONN_SEND && f->kind != FX_CONN_READ && f->kind != FX_CONN_CLOSE) continue;
        if (f->target < 1 || f->target > CONNS || r->closed[f->target]) {
            r->errors++;
            continue;
        }
        if (f->kind == FX_CONN_SEND) {
            r->sent[f->target] += f->data_len;
            if (f->data_len > TCP_LINE_BYTES_MAX) r->tables[f->target]++;
            const char busy[] = "ERROR BUSY\n";
            if (f->data_len == strlen(busy) && memcmp(outbox_bytes(&r->out, f), busy, strlen(busy)) == 0)
                r->busy[f->target]++;
        }
        if (f->kind == FX_CONN_CLOSE) r->closed[f->target] = 1;
        if (f->kind == FX_CONN_READ) {
            if (r->stopped[f->target] == (f->arg == 0)) r->errors++; /* said twice */
            r->stopped[f->target] = f->arg == 0;
            r->read_fx[f->target]++;
        }
    }
    outbox_clear(&r->out);
    for (int i = 0; i < r->reader_count; i++) /* readers take what they were sent */
        if (r->sent[r->readers[i]] > 0) rig_taken(r, r->readers[i], r->sent[r->readers[i]]);
}

/* A coordinator with no connection yet (calloc'd: the rig is large). */
static rig_t *rig_new(void) {
    rig_t *r = calloc(1, sizeof(*r));
    CHECK(r != NULL);
    if (r == NULL) exit(1);
    coord_config_t cfg = {.incarnation = 3, .seed = 2, .timeout_ms = 1000,
                          .client_port = {25001, 26001}, .txlist_path = "list.txt"};
    r->m = coord_new(&cfg);
    CHECK(r->m != NULL);
    if (r->m == NULL) exit(1);
    outbox_init(&r->out);
    coord_start(r->m, 0, &r->out);
    sweep(r);
    return r;
}

/* Every effect went where it could; then freed. */
static void rig_end(rig_t *r) {
    CHECK_EQ(r->errors, 0);
    free(r->dgrams);
    free(r->dgram_len);
    free(r->dgram_backend);
    coord_free(r->m);
    outbox_free(&r->out);
    free(r);
}

static void rig_open_keep(rig_t *r, uint32_t conn) {
    CHECK_EQ(coord_on_conn_open(r->m, r->now, conn, (int)(conn % 2), &r->out), 0);
    sweep(r);
}

static void rig_text(rig_t *r, uint32_t conn, const char *text) {
    coord_on_conn_data(r->m, r->now, conn, (const uint8_t *)text, strlen(text), &r->out);
    sweep(r);
}

/* One driver read of LINES_PER_CHUNK keep-alive requests: LINES_PER_CHUNK replies. */
static void rig_chunk(rig_t *r, uint32_t conn) {
    static char chunk[LINES_PER_CHUNK * sizeof(KEEPALIVE_LINE)];
    size_t n = 0;
    for (int i = 0; i < LINES_PER_CHUNK; i++) {
        memcpy(chunk + n, KEEPALIVE_LINE, strlen(KEEPALIVE_LINE));
        n += strlen(KEEPALIVE_LINE);
    }
    coord_on_conn_data(r->m, r->now, conn, (const uint8_t *)chunk, n, &r->out);
    sweep(r);
}

/* Reads conn as a driver that honours FX_CONN_READ does, until it is stopped. */
static void rig_fill(rig_t *r, uint32_t conn) {
    for (int i = 0; i < 10000 && !r->stopped[conn]; i++) rig_chunk(r, conn);
}

/* The socket took n of conn's bytes. */
static void rig_taken(rig_t *r, uint32_t conn, size_t n) {
    CHECK(n <= r->sent[conn]);
    r->sent[conn] -= n;
    coord_on_conn_sent(r->m, r->now, conn, n, &r->out);
    sweep(r);
}

static size_t rig_total(const rig_t *r) {
    size_t t = 0;
    for (int i = 1; i <= CONNS; i++) t += r->sent[i];
    return t;
}

/* One client that reads nothing is stopped at its bound, alone; the bytes it takes let it
 * be read again, once it is under the bound. */
TEST(a_slow_reader_is_stopped_at_its_bound_and_no_one_else) {
    rig_t *r = rig_new();
    rig_open_keep(r, 1);
    rig_open_keep(r, 2);
    rig_fill(r, 1);
    CHECK(r->stopped[1]);
    CHECK(r->sent[1] >= CONN_UNSENT_BYTES_MAX);
    CHECK(r->sent[1] < CONN_UNSENT_BYTES_MAX + LINES_PER_CHUNK * REPLY_LINE_BYTES);
    CHECK_EQ(coord_unsent_bytes(r->m), r->sent[1]);
    rig_chunk(r, 2); /* the other connection is served as before */
    CHECK(!r->stopped[2]);
    CHECK_EQ(r->read_fx[2], 0);
    CHECK_EQ(r->sent[2], LINES_PER_CHUNK * REPLY_LINE_BYTES);
    rig_taken(r, 1, r->sent[1] - CONN_UNSENT_BYTES_MAX); /* exactly at the bound: still */
    CHECK(r->stopped[1]);
    rig_taken(r, 1, 1);
    CHECK(!r->stopped[1]);
    CHECK_EQ(r->read_fx[1], 2);
    rig_taken(r, 1, r->sent[1]);
    rig_taken(r, 2, r->sent[2]);
    CHECK_EQ(coord_unsent_bytes(r->m), 0);
    rig_end(r);
}

/* Many slow readers: once all of them together owe COORD_UNSENT_BYTES_BUDGET, every
 * persistent connection owed a reply is stopped, one owed nothing is still read; under
 * 3/4 of the budget they are read again. */
TEST(slow_readers_together_stop_at_the_budget) {
    rig_t *r = rig_new();
    for (uint32_t c = 1; c <= CONNS; c++) rig_open_keep(r, c);
    uint32_t filled = 0;
    while (filled < CONNS - 1 && rig_total(r) < COORD_UNSENT_BYTES_BUDGET) rig_fill(r, ++filled);
    CHECK(rig_total(r) >= COORD_UNSENT_BYTES_BUDGET);
    CHECK(rig_total(r) < COORD_UNSENT_BYTES_BUDGET + CONN_UNSENT_BYTES_MAX + LINES_PER_CHUNK * REPLY_LINE_BYTES);
    CHECK(filled < CONNS - 1);
    for (uint32_t c = 1; c <= filled; c++) CHECK(r->stopped[c]);
    /* one owed nothing: read, answered, and stopped only once it owes its replies */
    uint32_t fresh = CONNS;
    CHECK(!r->stopped[fresh]);
    rig_chunk(r, fresh);
    CHECK_EQ(r->sent[fresh], LINES_PER_CHUNK * REPLY_LINE_BYTES);
    CHECK(r->stopped[fresh]);
    /* the last one filled stopped at the budget, under its own bound: taking a little of
     * its bytes does not let it read while the total is over 3/4 of the budget */
    rig_taken(r, filled, r->sent[filled] / 2);
    CHECK(r->stopped[filled]);
    /* the clients read: under 3/4 of the budget, every connection under its bound reads */
    for (uint32_t c = 1; c <= filled && rig_total(r) >= COORD_UNSENT_BYTES_BUDGET / 4 * 3; c++)
        rig_taken(r, c, r->sent[c]);
    CHECK(rig_total(r) < COORD_UNSENT_BYTES_BUDGET / 4 * 3);
    for (uint32_t c = 1; c <= CONNS; c++)
        if (r->sent[c] < CONN_UNSENT_BYTES_MAX) CHECK(!r->stopped[c]);
    rig_end(r);
}

/* A connection the core closes with replies unsent is still counted until the driver hands
 * its bytes back; a reset connection's bytes are forgotten at once. */
TEST(closed_and_reset_connections_give_their_bytes_back) {
    rig_t *r = rig_new();
    rig_open_keep(r, 1);
    rig_open_keep(r, 2);
    rig_chunk(r, 1);
    rig_chunk(r, 2);
    const char bad[] = "what\n";
    coord_on_conn_data(r->m, r->now, 1, (const uint8_t *)bad, strlen(bad), &r->out);
    sweep(r);
    CHECK(r->closed[1]);
    CHECK_EQ(coord_unsent_bytes(r->m), r->sent[1] + r->sent[2]);
    coord_on_conn_reset(r->m, r->now, 2, &r->out);
    sweep(r);
    r->sent[2] = 0;
    CHECK_EQ(coord_unsent_bytes(r->m), r->sent[1]);
    coord_on_conn_sent(r->m, r->now, 1, r->sent[1], &r->out); /* sent, or dropped: gone */
    sweep(r);
    CHECK_EQ(coord_unsent_bytes(r->m), 0);
    rig_end(r);
}

/* ---- STATS tables of requests read before a connection stopped ------------------------ */

#define HUB_PARTNERS 3000        /* Hub's table: about 240 kB, more than half a bound */
#define ROWS_PER_PAGE 14         /* names of NAME_BYTES_MAX: 14 rows fit a datagram */
#define STATS_HUB "ALICHAIN/1 STATS Hub\n"

/* serverA holds Hub's HUB_PARTNERS transfers (serials 1..HUB_PARTNERS), serverB and serverC
 * nothing; every request is answered at once. */
static size_t backend_answer(int b, const uint8_t *req, size_t len, uint8_t *buf, size_t cap) {
    wire_req_t q;
    CHECK_EQ(wire_req_decode(req, len, &q), 0);
    static wire_reply_t rep;
    wire_reply_clear(&rep, (uint8_t)(q.type | WIRE_REPLY));
    rep.type = (uint8_t)(q.type | WIRE_REPLY);
    rep.incarnation = q.incarnation;
    rep.request_id = q.request_id;
    rep.status = WIRE_ST_OK;
    rep.fence = q.incarnation;
    rep.epoch = 100 + (uint64_t)b;
    int hub = b == 0 && q.type == WIRE_STATS && strcmp(q.u.stats.user.s, "Hub") == 0;
    if (q.type == WIRE_QUERY) {
        rep.u.query.max_serial = b == 0 ? HUB_PARTNERS : 0;
        rep.u.query.tx_count = b == 0 ? HUB_PARTNERS : 0;
    } else if (q.type == WIRE_STATS) {
        uint32_t k = q.u.stats.cursor;
        for (; hub && k < HUB_PARTNERS && rep.u.stats.count < ROWS_PER_PAGE; k++) {
            wire_row_t *row = &rep.u.stats.rows[rep.u.stats.count++];
            row->partner.len = (uint8_t)snprintf(row->partner.s, sizeof(row->partner.s), "P%0*u",
                                                 NAME_BYTES_MAX - 1, k);
            row->count = 1;
            row->net = k % 2 ? 1 : -1;
        }
        rep.u.stats.next_cursor = k;
        rep.u.stats.done = !hub || k == HUB_PARTNERS;
    } else {
        CHECK(0); /* a stats job asks nothing else */
    }
    size_t n = wire_reply_encode(&rep, buf, cap);
    CHECK(n > 0);
    return n;
}

/* Answers the backends' datagrams, and what the answers make serverM send, until none is
 * left. */
static void rig_backends(rig_t *r) {
    uint8_t reply[DGRAM_BYTES_MAX];
    while (r->dgram_count > 0) {
        size_t i = --r->dgram_count; /* any order: each job's pages are one at a time */
        uint8_t req[DGRAM_BYTES_MAX];
        size_t len = r->dgram_len[i];
        int b = r->dgram_backend[i];
        memcpy(req, r->dgrams[i], len);
        size_t n = backend_answer(b, req, len, reply, sizeof(reply));
        coord_on_datagram(r->m, r->now, b, reply, n, &r->out);
        sweep(r);
    }
}

/* A client that pipelines STATS and reads nothing gets the first table, then ERROR BUSY
 * where a table would take it past its bound; a client that reads gets every table. */
TEST(tables_nobody_reads_stop_at_the_bound) {
    rig_t *r = rig_new();
    rig_open_keep(r, 1);
    rig_open_keep(r, 2);
    r->readers[r->reader_count++] = 2;
    rig_text(r, 1, "ALICHAIN/1 KEEPALIVE\n" STATS_HUB STATS_HUB STATS_HUB STATS_HUB);
    rig_text(r, 2, "ALICHAIN/1 KEEPALIVE\n" STATS_HUB STATS_HUB STATS_HUB STATS_HUB);
    rig_backends(r);
    CHECK_EQ(r->tables[1], 1);
    CHECK_EQ(r->busy[1], 3);
    CHECK(r->sent[1] <= CONN_UNSENT_BYTES_MAX);
    CHECK(r->sent[1] > CONN_UNSENT_BYTES_MAX / 2); /* a table is over half a bound */
    CHECK_EQ(r->tables[2], 4);
    CHECK_EQ(r->busy[2], 0);
    coord_stats_t st;
    coord_get_stats(r->m, &st);
    CHECK_EQ(st.replies_refused, 3);
    CHECK_EQ(coord_unsent_bytes(r->m), r->sent[1]);
    rig_end(r);
}

/* Over the budget: a table for a connection owed bytes already is ERROR BUSY; one owed
 * nothing, persistent or one-shot, gets its table. */
TEST(over_the_budget_only_connections_owed_nothing_get_tables) {
    rig_t *r = rig_new();
    const uint32_t owing = CONNS - 2, reading = CONNS - 1, oneshot = CONNS;
    rig_open_keep(r, owing);
    rig_open_keep(r, reading);
    rig_open_keep(r, oneshot);
    r->readers[r->reader_count++] = reading;
    rig_text(r, owing, "ALICHAIN/1 KEEPALIVE\n" STATS_HUB); /* owes its OK KEEPALIVE */
    rig_text(r, reading, "ALICHAIN/1 KEEPALIVE\n" STATS_HUB);
    rig_text(r, oneshot, STATS_HUB);
    uint32_t filled = 0;
    while (filled < owing - 1 && rig_total(r) < COORD_UNSENT_BYTES_BUDGET) {
        rig_open_keep(r, ++filled);
        rig_fill(r, filled);
    }
    CHECK(rig_total(r) >= COORD_UNSENT_BYTES_BUDGET);
    rig_backends(r);
    CHECK_EQ(r->tables[owing], 0);
    CHECK_EQ(r->busy[owing], 1);
    CHECK_EQ(r->tables[reading], 1);
    CHECK_EQ(r->tables[oneshot], 1);
    CHECK(r->closed[oneshot]);
    rig_end(r);
}

/* Many clients ask one table each and read nothing: tables go out until all of them hold
 * 3/4 of the limit; past that, persistent clients get ERROR BUSY and a one-shot client
 * still gets its table (the last quarter is kept for them). */
TEST(tables_stop_at_the_limit_one_shot_clients_still_served) {
    rig_t *r = rig_new();
    const uint32_t oneshot = CONNS;
    for (uint32_t c = 1; c < oneshot; c++) {
        rig_open_keep(r, c);
        rig_text(r, c, "ALICHAIN/1 KEEPALIVE\n");
        rig_taken(r, c, r->sent[c]); /* each owes nothing when its table comes */
        rig_text(r, c, STATS_HUB);
        if (c % 32 == 0) rig_backends(r); /* the jobs: STATS_JOBS_MAX at a time */
    }
    rig_backends(r);
    int tables = 0, busy = 0;
    for (uint32_t c = 1; c < oneshot; c++) {
        tables += r->tables[c];
        busy += r->busy[c];
        CHECK_EQ(r->tables[c] + r->busy[c], 1);
    }
    size_t table = r->sent[1];
    CHECK(busy > 0);
    CHECK(rig_total(r) <= COORD_UNSENT_BYTES_LIMIT / 4 * 3);
    CHECK(rig_total(r) + table > COORD_UNSENT_BYTES_LIMIT / 4 * 3);
    rig_open_keep(r, oneshot);
    rig_text(r, oneshot, STATS_HUB);
    rig_backends(r);
    CHECK_EQ(r->tables[oneshot], 1);
    CHECK(rig_total(r) <= COORD_UNSENT_BYTES_LIMIT);
    coord_stats_t st;
    coord_get_stats(r->m, &st);
    CHECK_EQ(st.replies_refused, (uint64_t)busy);
    CHECK_EQ(coord_unsent_bytes(r->m), rig_total(r));
    rig_end(r);
}

int main(void) {
    RUN(a_slow_reader_is_stopped_at_its_bound_and_no_one_else);
    RUN(slow_readers_together_stop_at_the_budget);
    RUN(closed_and_reset_connections_give_their_bytes_back);
    RUN(tables_nobody_reads_stop_at_the_bound);
    RUN(over_the_budget_only_connections_owed_nothing_get_tables);
    RUN(tables_stop_at_the_limit_one_shot_clients_still_served);
    return CHECK_DONE();
}
