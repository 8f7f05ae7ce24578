/* test_disk_error.c — unit tests of core/backend.c when the disk fails an append
 * (backend_on_disk_error): a write that hits ENOSPC or EIO, maybe after part of it was
 * written, or whose sync fails, is refused (WIRE_TX_NOSPACE / WIRE_TX_IOERR) only after the
 * block file is cut back; the index never holds it, so it equals what recovery reads; the
 * next write works; a copy of the refused request is refused again, never appended; a
 * write appended before the failed one keeps waiting for its own sync. The storage effects
 * run on the simulator's disk (sim/world/disk.c). */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "check.h"
#include "world/disk.h"

#define INCARNATION 9
#define TOKENS_MAX 8
#define REPLIES_MAX 8

typedef struct {
    backend_t b;
    simdisk_t disk;
    outbox_t out;
    uint64_t next_id;
    uint64_t tokens[TOKENS_MAX]; /* appends awaiting their sync, in order */
    size_t token_count;
    wire_reply_t replies[REPLIES_MAX]; /* the datagrams of the last step, in order */
    size_t reply_count;
    int fail_next_append;        /* the next tokened append writes half, then fails */
} rig_t;

static rig_t *rig_new(const char *img) {
    rig_t *r = calloc(1, sizeof *r);
    CHECK(r != NULL);
    backend_init(&r->b, 0, TEST_EPOCH);
    outbox_init(&r->out);
    CHECK_EQ(simdisk_init(&r->disk, img, strlen(img)), 0);
    blockfile_recovery_t res;
    char err[128];
    CHECK_EQ(backend_load(&r->b, img, strlen(img), NULL, 0, "block1.txt", &res, err, sizeof err), 0);
    backend_start(&r->b, img, &res, "block1.txt", 21000, &r->out);
    outbox_clear(&r->out);
    r->next_id = 1;
    return r;
}

static void rig_free(rig_t *r) {
    backend_free(&r->b);
    simdisk_free(&r->disk);
    outbox_free(&r->out);
    free(r);
}

/* Carries out the outbox on the disk, collects replies and awaiting tokens. Returns the
 * token of an append it failed (fail_next_append), else 0. */
static uint64_t rig_drain(rig_t *r) {
    uint64_t failed = 0;
    r->reply_count = 0;
    for (size_t i = 0; i < r->out.fx_count; i++) {
        const fx_t *f = &r->out.fx[i];
        const uint8_t *d = outbox_bytes(&r->out, f);
        if (f->kind == FX_DGRAM) {
            CHECK(r->reply_count < REPLIES_MAX);
            CHECK_EQ(wire_reply_decode(d, f->data_len, &r->replies[r->reply_count++]), 0);
        } else if (simdisk_is_storage(f->kind)) {
            if (f->kind == FX_BLOCK_APPEND && f->token != 0 && r->fail_next_append) {
                fx_t half = *f; /* a partial write before the error: half of it is in */
                half.data_len = f->data_len / 2;
                half.token = 0;
                CHECK_EQ(simdisk_apply(&r->disk, &half, d), 0);
                r->fail_next_append = 0;
                failed = f->token;
                continue;
            }
            int rc = simdisk_apply(&r->disk, f, d);
            CHECK(rc >= 0);
            if (rc == 1) {
                CHECK(r->token_count < TOKENS_MAX);
                r->tokens[r->token_count++] = f->token;
            }
        }
    }
    outbox_clear(&r->out);
    return failed;
}

/* A datagram to the backend; returns the token of an append the rig failed, else 0. */
static uint64_t rig_send(rig_t *r, wire_req_t *req, uint64_t id) {
    uint8_t buf[DGRAM_BYTES_MAX];
    req->incarnation = INCARNATION;
    req->request_id = id;
    size_t n = wire_req_encode(req, buf, sizeof buf);
    CHECK(n > 0);
    backend_on_datagram(&r->b, 0, buf, n, &r->out);
    return rig_drain(r);
}

static void rig_fence(rig_t *r) {
    wire_req_t q;
    memset(&q, 0, sizeof q);
    q.type = WIRE_QUERY;
    rig_send(r, &q, r->next_id++);
    CHECK_EQ(r->reply_count, 1);
}

static void write_req(wire_req_t *w, const char *line) {
    memset(w, 0, sizeof *w);
    w->type = WIRE_WRITE;
    w->u.write.count = 1;
    w->u.write.epoch = TEST_EPOCH;
    char err[64];
    CHECK_EQ(tx_parse_line(line, strlen(line), &w->u.write.txs[0], err, sizeof err), 0);
}

/* The oldest awaiting sync completes. */
static void rig_sync(rig_t *r) {
    CHECK(r->token_count > 0);
    uint64_t t = simdisk_sync_next(&r->disk);
    CHECK_EQ(t, r->tokens[0]);
    memmove(r->tokens, r->tokens + 1, (r->token_count - 1) * sizeof(r->tokens[0]));
    r->token_count--;
    backend_on_durable(&r->b, 0, t, &r->out);
    rig_drain(r);
}

/* What a restart would load: the durable image recovered, as many lines as the index. */
static void check_recovers_to(rig_t *r, uint32_t lines) {
    ledger_t l;
    ledger_init(&l);
    blockfile_recovery_t res;
    char err[128];
    CHECK_EQ(simdisk_recover(&r->disk, &l, "block1.txt", &res, err, sizeof err), 0);
    CHECK_EQ(res.torn_len, 0);
    CHECK_EQ(res.lines, lines);
    CHECK_EQ(r->b.ledger.tx_count, lines);
    CHECK_EQ(r->disk.file.len, r->disk.durable_len); /* nothing unsynced left behind */
    CHECK_EQ(r->b.file.size, r->disk.file.len);
    ledger_free(&l);
}

/* ENOSPC after half of the append was written: cut back, refused, and the next write (the
 * space is back) is stored; a copy of the refused request stays refused. */
TEST(test_append_nospace_refused_then_recovers) {
    const char *img = "1 Ali Bob 5\n";
    rig_t *r = rig_new(img);
    rig_fence(r);
    wire_req_t w;
    write_req(&w, "2 Ali Bob 6");
    r->fail_next_append = 1;
    uint64_t id = r->next_id++;
    uint64_t failed = rig_send(r, &w, id);
    CHECK(failed != 0);
    CHECK_EQ(r->reply_count, 0); /* nothing is answered before the driver reports */
    CHECK(r->disk.file.len > strlen(img)); /* the partial write is in the file */
    backend_on_disk_error(&r->b, 0, failed, BACKEND_DISK_NOSPACE, &r->out);
    CHECK_EQ(r->out.fx[0].kind, FX_BLOCK_TRUNCATE); /* the cut comes before the refusal */
    CHECK_EQ(r->out.fx[0].arg, strlen(img));
    rig_drain(r);
    CHECK_EQ(r->reply_count, 1);
    CHECK_EQ(r->replies[0].request_id, id);
    CHECK_EQ(r->replies[0].u.write.results[0], WIRE_TX_NOSPACE);
    CHECK(ledger_find_serial(&r->b.ledger, 2) < 0);
    check_recovers_to(r, 1);
    CHECK_EQ(r->b.stat_disk_errors, 1);
    /* a duplicate of the refused datagram: the same answer, no append */
    CHECK_EQ(rig_send(r, &w, id), 0);
    CHECK_EQ(r->token_count, 0);
    CHECK_EQ(r->reply_count, 1);
    CHECK_EQ(r->replies[0].u.write.results[0], WIRE_TX_NOSPACE);
    /* space again: serverM's next request for the serial is stored */
    rig_send(r, &w, r->next_id++);
    CHECK_EQ(r->token_count, 1);
    rig_sync(r);
    CHECK_EQ(r->reply_count, 1);
    CHECK_EQ(r->replies[0].u.write.results[0], WIRE_TX_STORED);
    check_recovers_to(r, 2);
    rig_free(r);
}

/* A failed sync covers every append not yet synced: all of them refused in order, the
 * file cut back to what was durable, and a read held behind them answered after. */
TEST(test_sync_eio_refuses_every_unsynced_write) {
    const char *img = "1 Ali Bob 5\n";
    rig_t *r = rig_new(img);
    rig_fence(r);
    wire_req_t w1, w2, q;
    write_req(&w1, "2 Ali Bob 6");
    write_req(&w2, "3 Bob Ali 1");
    uint64_t id1 = r->next_id++, id2 = r->next_id++;
    rig_send(r, &w1, id1);
    rig_send(r, &w2, id2);
    CHECK_EQ(r->token_count, 2);
    memset(&q, 0, sizeof q);
    q.type = WIRE_QUERY;
    rig_send(r, &q, r->next_id++);
    CHECK_EQ(r->reply_count, 0); /* held behind the writes */
    backend_on_disk_error(&r->b, 0, r->tokens[0], BACKEND_DISK_IOERR, &r->out);
    r->token_count = 0; /* the driver forgets the failed sync's appends */
    rig_drain(r);
    CHECK_EQ(r->reply_count, 3);
    CHECK_EQ(r->replies[0].request_id, id1);
    CHECK_EQ(r->replies[0].u.write.results[0], WIRE_TX_IOERR);
    CHECK_EQ(r->replies[1].request_id, id2);
    CHECK_EQ(r->replies[1].u.write.results[0], WIRE_TX_IOERR);
    CHECK_EQ(r->replies[2].type, WIRE_QUERY | WIRE_REPLY);
    CHECK_EQ(r->replies[2].u.query.max_serial, 1); /* none of them counted */
    CHECK_EQ(r->b.pending_count, 0);
    /* the simulated disk was told the cut: it forgets the awaiting syncs past it */
    CHECK_EQ(r->disk.sync_count, 0);
    check_recovers_to(r, 1);
    rig_send(r, &w2, r->next_id++);
    rig_sync(r);
    CHECK_EQ(r->replies[0].u.write.results[0], WIRE_TX_STORED);
    check_recovers_to(r, 2);
    rig_free(r);
}

/* An append before the failed one is untouched: it is stored once its own sync comes. */
TEST(test_earlier_append_keeps_its_sync) {
    const char *img = "1 Ali Bob 5\n";
    rig_t *r = rig_new(img);
    rig_fence(r);
    wire_req_t w1, w2;
    write_req(&w1, "2 Ali Bob 6");
    write_req(&w2, "3 Bob Ali 1");
    rig_send(r, &w1, r->next_id++);
    r->fail_next_append = 1;
    uint64_t failed = rig_send(r, &w2, r->next_id++);
    CHECK(failed != 0);
    backend_on_disk_error(&r->b, 0, failed, BACKEND_DISK_IOERR, &r->out);
    rig_drain(r);
    CHECK_EQ(r->reply_count, 1);
    CHECK_EQ(r->replies[0].u.write.serials[0], 3);
    CHECK_EQ(r->replies[0].u.write.results[0], WIRE_TX_IOERR);
    CHECK_EQ(r->b.pending_count, 1);
    rig_sync(r);
    CHECK_EQ(r->reply_count, 1);
    CHECK_EQ(r->replies[0].u.write.serials[0], 2);
    CHECK_EQ(r->replies[0].u.write.results[0], WIRE_TX_STORED);
    check_recovers_to(r, 2);
    rig_free(r);
}

/* The run's first append on a file whose last line is hand-written (no '\n'): its
 * preparation ('\n', sync, marker) may be what failed, so the cut undoes it too; the next
 * append prepares again with the very same marker, and recovery reads both lines. */
TEST(test_first_append_failure_undoes_its_preparation) {
    const char *img = "1 Ali Bob 5";
    rig_t *r = rig_new(img);
    rig_fence(r);
    wire_req_t w;
    write_req(&w, "2 Ali Bob 6");
    r->fail_next_append = 1;
    uint64_t failed = rig_send(r, &w, r->next_id++);
    CHECK(failed != 0);
    size_t marker_len;
    const char *m = simdisk_marker(&r->disk, &marker_len);
    CHECK(m != NULL);
    char marker[BLOCKFILE_MARKER_BYTES_MAX];
    CHECK(marker_len < sizeof marker);
    memcpy(marker, m, marker_len);
    marker[marker_len] = '\0';
    backend_on_disk_error(&r->b, 0, failed, BACKEND_DISK_NOSPACE, &r->out);
    CHECK_EQ(r->out.fx[0].kind, FX_BLOCK_TRUNCATE);
    CHECK_EQ(r->out.fx[0].arg, strlen(img)); /* before the '\n' it put there */
    rig_drain(r);
    CHECK_EQ(r->replies[0].u.write.results[0], WIRE_TX_NOSPACE);
    CHECK_EQ(r->b.file.size, strlen(img));
    CHECK_EQ(r->b.file.ends_open, 1);
    CHECK_EQ(r->b.file.marked, 0);
    rig_send(r, &w, r->next_id++);
    m = simdisk_marker(&r->disk, &marker_len);
    CHECK(m != NULL && marker_len == strlen(marker) && memcmp(m, marker, marker_len) == 0);
    rig_sync(r);
    CHECK_EQ(r->replies[0].u.write.results[0], WIRE_TX_STORED);
    check_recovers_to(r, 2);
    rig_free(r);
}

int main(void) {
    RUN(test_first_append_failure_undoes_its_preparation);
    RUN(test_append_nospace_refused_then_recovers);
    RUN(test_sync_eio_refuses_every_unsynced_write);
    RUN(test_earlier_append_keeps_its_sync);
    return CHECK_DONE();
}
