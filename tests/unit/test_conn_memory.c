/* test_conn_memory.c — serverM's memory rule (core/coordinator.h coord_on_conn_sent,
 * common.h CONN_UNSENT_BYTES_MAX and COORD_UNSENT_BYTES_BUDGET): replies a client does
 * not read stop serverM reading that client, all of them together stop every persistent
 * connection owed a reply, and a reply taken by the socket lets it read again. Persistent
 * connections pipelining "KEEPALIVE" make replies without any backend. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coordinator.h"

#define CONNS 400                /* 64 MiB / 256 KiB = 256 of them reach the budget */
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
    int errors;                  /* effects to connections not open, or a repeated state */
} rig_t;

static void sweep(rig_t *r) {
    CHECK(!r->out.failed);
    for (size_t k = 0; k < r->out.fx_count; k++) {
        const fx_t *f = &r->out.fx[k];
        if (f->kind != FX_CONN_SEND && f->kind != FX_CONN_READ && f->kind != FX_CONN_CLOSE) continue;
        if (f->target < 1 || f->target > CONNS || r->closed[f->target]) {
            r->errors++;
            continue;
        }
        if (f->kind == FX_CONN_SEND) r->sent[f->target] += f->data_len;
        if (f->kind == FX_CONN_CLOSE) r->closed[f->target] = 1;
        if (f->kind == FX_CONN_READ) {
            if (r->stopped[f->target] == (f->arg == 0)) r->errors++; /* said twice */
            r->stopped[f->target] = f->arg == 0;
            r->read_fx[f->target]++;
        }
    }
    outbox_clear(&r->out);
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
    coord_free(r->m);
    outbox_free(&r->out);
    free(r);
}

static void rig_open_keep(rig_t *r, uint32_t conn) {
    CHECK_EQ(coord_on_conn_open(r->m, r->now, conn, (int)(conn % 2), &r->out), 0);
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

int main(void) {
    RUN(a_slow_reader_is_stopped_at_its_bound_and_no_one_else);
    RUN(slow_readers_together_stop_at_the_budget);
    RUN(closed_and_reset_connections_give_their_bytes_back);
    return CHECK_DONE();
}
