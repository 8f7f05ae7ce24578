/* test_backend.c — unit tests of core/backend.c driven datagram by datagram: LIST pages in
 * strictly ascending serial order from cursor 0 whatever the block file's order, a LIST
 * cursor that stays valid across appends, and STATS pages that stay right while the user
 * gains transactions between pages (the partner cache's incremental update). */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "check.h"

#define INCARNATION 7
#define PAGE_CALLS_MAX 10000 /* a bound on every paging loop below */

typedef struct {
    backend_t b;
    outbox_t out;
    uint64_t next_id;
} rig_t;

/* A backend loaded from img and started (the caller frees with rig_free). */
static rig_t *rig_new(const char *img) {
    rig_t *r = calloc(1, sizeof *r);
    CHECK(r != NULL);
    backend_init(&r->b, 0, TEST_EPOCH);
    outbox_init(&r->out);
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
    outbox_free(&r->out);
    free(r);
}

/* Sends req and decodes the one datagram the backend answers with (0 when it did). */
static int rig_ask(rig_t *r, wire_req_t *req, wire_reply_t *rep) {
    uint8_t buf[DGRAM_BYTES_MAX];
    req->incarnation = INCARNATION;
    req->request_id = r->next_id++;
    size_t n = wire_req_encode(req, buf, sizeof buf);
    CHECK(n > 0);
    outbox_clear(&r->out);
    backend_on_datagram(&r->b, 0, buf, n, &r->out);
    /* a WRITE's append is made durable at once */
    for (size_t i = 0; i < r->out.fx_count; i++) {
        const fx_t *f = &r->out.fx[i];
        if (f->kind == FX_BLOCK_APPEND && f->token != 0) {
            uint64_t token = f->token;
            backend_on_durable(&r->b, 0, token, &r->out);
        }
    }
    for (size_t i = 0; i < r->out.fx_count; i++) {
        const fx_t *f = &r->out.fx[i];
        if (f->kind == FX_DGRAM) return wire_reply_decode(outbox_bytes(&r->out, f), f->data_len, rep);
    }
    return -1;
}

static void rig_write(rig_t *r, const char *line) {
    wire_req_t q;
    wire_reply_t rep;
    memset(&q, 0, sizeof q);
    q.type = WIRE_QUERY; /* fences this incarnation, as serverM's hello does */
    CHECK_EQ(rig_ask(r, &q, &rep), 0);
    wire_req_t w;
    memset(&w, 0, sizeof w);
    w.type = WIRE_WRITE;
    w.u.write.count = 1;
    w.u.write.epoch = TEST_EPOCH;
    char err[64];
    CHECK_EQ(tx_parse_line(line, strlen(line), &w.u.write.txs[0], err, sizeof err), 0);
    CHECK_EQ(rig_ask(r, &w, &rep), 0);
    CHECK_EQ(rep.status, WIRE_ST_OK);
    CHECK_EQ(rep.u.write.results[0], WIRE_TX_STORED);
}

/* Every reply carries the run's boot epoch; a WRITE carrying any other epoch (one meant for
 * an earlier run, or 0 before serverM heard of any) is refused WIRE_ST_EPOCH, nothing
 * appended, even when its transaction is new and the incarnation fenced. */
TEST(test_write_of_another_epoch) {
    rig_t *r = rig_new("1 Ali Bob 5\n");
    wire_req_t q;
    wire_reply_t rep;
    memset(&q, 0, sizeof q);
    q.type = WIRE_QUERY;
    CHECK_EQ(rig_ask(r, &q, &rep), 0);
    CHECK_EQ(rep.status, WIRE_ST_OK);
    CHECK_EQ(rep.epoch, TEST_EPOCH);
    static const uint64_t others[] = {0, TEST_EPOCH - 1, TEST_EPOCH + 1, UINT64_MAX};
    for (size_t k = 0; k < sizeof others / sizeof others[0]; k++) {
        wire_req_t w;
        memset(&w, 0, sizeof w);
        w.type = WIRE_WRITE;
        w.u.write.count = 1;
        w.u.write.epoch = others[k];
        char err[64];
        CHECK_EQ(tx_parse_line("2 Ali Bob 6", 11, &w.u.write.txs[0], err, sizeof err), 0);
        CHECK_EQ(rig_ask(r, &w, &rep), 0);
        CHECK_EQ(rep.status, WIRE_ST_EPOCH);
        CHECK_EQ(rep.epoch, TEST_EPOCH);
        for (size_t i = 0; i < r->out.fx_count; i++) CHECK(r->out.fx[i].kind != FX_BLOCK_APPEND);
        CHECK(ledger_find_serial(&r->b.ledger, 2) < 0);
    }
    rig_write(r, "2 Ali Bob 6"); /* its own epoch: stored */
    CHECK(ledger_find_serial(&r->b.ledger, 2) >= 0);
    rig_free(r);
}

/* The size rule (blockfile.h BLOCKFILE_BYTES_MAX), start-up and append alike: an append that
 * would pass the limit is refused (WIRE_TX_FULL), nothing of it appended, and a file over
 * the limit does not load. The limit is lowered here to reach it with a few lines. */
TEST(test_block_file_size_limit) {
    const char *img = "1 Ali Bob 5\n";
    rig_t *r = rig_new(img);
    uint64_t limit = strlen(img) + strlen("2 Ali Bob 6\n"); /* room for one more line */
    r->b.file.bytes_max = limit;
    rig_write(r, "2 Ali Bob 6");
    CHECK_EQ(r->b.file.size, limit);
    wire_req_t w;
    wire_reply_t rep;
    memset(&w, 0, sizeof w);
    w.type = WIRE_WRITE;
    w.u.write.count = 2;
    w.u.write.epoch = TEST_EPOCH;
    char err[64];
    CHECK_EQ(tx_parse_line("2 Ali Bob 6", 11, &w.u.write.txs[0], err, sizeof err), 0); /* stored */
    CHECK_EQ(tx_parse_line("3 Bob Ali 1", 11, &w.u.write.txs[1], err, sizeof err), 0);
    CHECK_EQ(rig_ask(r, &w, &rep), 0);
    CHECK_EQ(rep.status, WIRE_ST_OK);
    CHECK_EQ(rep.u.write.results[0], WIRE_TX_STORED);
    CHECK_EQ(rep.u.write.results[1], WIRE_TX_FULL);
    for (size_t i = 0; i < r->out.fx_count; i++) CHECK(r->out.fx[i].kind != FX_BLOCK_APPEND);
    CHECK_EQ(r->b.file.size, limit);
    CHECK(ledger_find_serial(&r->b.ledger, 3) < 0);
    rig_free(r);
    /* start-up: a file over BLOCKFILE_BYTES_MAX is refused before a byte of it is read */
    backend_t *b = calloc(1, sizeof *b);
    CHECK(b != NULL);
    backend_init(b, 1, TEST_EPOCH);
    blockfile_recovery_t res;
    char why[128];
    CHECK_EQ(backend_load(b, img, (size_t)BLOCKFILE_BYTES_MAX + 1, NULL, 0, "block2.txt", &res, why,
                          sizeof why), AC_ERANGE);
    CHECK(strstr(why, "block2.txt: larger than 2 GiB") == why);
    backend_free(b);
    free(b);
}

/* Pages LIST from *cursor to the end, `max` a page; appends the serials to out[*n] and
 * checks every page ascends from the one before. Returns the pages read. */
static int list_pages(rig_t *r, uint32_t *cursor, uint16_t max, uint64_t *out, uint32_t *n,
                      uint32_t cap) {
    int pages = 0;
    for (int calls = 0; calls < PAGE_CALLS_MAX; calls++) {
        wire_req_t req;
        wire_reply_t rep;
        memset(&req, 0, sizeof req);
        req.type = WIRE_LIST;
        req.u.list.cursor = *cursor;
        req.u.list.max = max;
        req.u.list.pages = 1;
        CHECK_EQ(rig_ask(r, &req, &rep), 0);
        pages++;
        for (uint8_t k = 0; k < rep.u.list.count; k++) {
            CHECK(*n < cap);
            if (*n >= cap) return pages;
            CHECK(*n == 0 || rep.u.list.txs[k].serial > out[*n - 1]);
            out[(*n)++] = rep.u.list.txs[k].serial;
        }
        *cursor = rep.u.list.next_cursor;
        if (rep.u.list.done || rep.u.list.count == 0) break;
    }
    return pages;
}

/* Block files in descending and scrambled order: LIST still ascends from cursor 0, and
 * the end cursor finds later appends. */
TEST(test_list_ascending) {
    enum { N = 300 };
    static char img[N * 32];
    size_t len = 0;
    for (uint32_t i = 0; i < N; i++) { /* serials 1..N, scrambled (37 is prime to 300) */
        uint32_t s = (i * 37) % N + 1;
        len += (size_t)snprintf(img + len, sizeof img - len, "%u u%u v%u %u\n", s, s % 11, s % 13, s);
    }
    rig_t *r = rig_new(img);
    static uint64_t got[N + 10];
    uint32_t n = 0, cursor = 0;
    int pages = list_pages(r, &cursor, WIRE_LIST_TXS_MAX, got, &n, N + 10);
    CHECK(pages > 1);
    CHECK_EQ(n, N);
    for (uint32_t i = 0; i < n; i++) CHECK_EQ(got[i], i + 1);
    /* appends (serial = max + 1, as serverM sends) continue from the end cursor */
    rig_write(r, "301 u1 v1 5");
    rig_write(r, "302 v2 u3 6");
    list_pages(r, &cursor, 7, got, &n, N + 10);
    CHECK_EQ(n, N + 2);
    CHECK_EQ(got[N], 301);
    CHECK_EQ(got[N + 1], 302);
    /* a cursor in the middle stays valid across appends too */
    uint32_t mid = 100, m = 0;
    static uint64_t again[N + 10];
    rig_write(r, "303 u4 v4 7");
    list_pages(r, &mid, 5, again, &m, N + 10);
    CHECK_EQ(m, N + 3 - 100);
    CHECK_EQ(again[0], 101);
    CHECK_EQ(again[m - 1], 303);
    rig_free(r);

    /* strictly descending (how bench writes block2) */
    len = 0;
    for (uint32_t s = N; s >= 1; s--) len += (size_t)snprintf(img + len, sizeof img - len, "%u a b %u\n", s, s);
    r = rig_new(img);
    n = 0;
    cursor = 0;
    list_pages(r, &cursor, 3, got, &n, N + 10);
    CHECK_EQ(n, N);
    CHECK_EQ(got[0], 1);
    CHECK_EQ(got[N - 1], N);
    rig_free(r);
}

/* A LIST of a window of pages: one datagram a page, each starting where the one before
 * ended (its own cursor, so serverM takes them in order), the whole listing across them in
 * ascending order, and no page past the one that says done. One "finished sending" line
 * for the request, however many pages. */
TEST(test_list_window) {
    enum { N = 100 };
    static char img[N * 32];
    size_t len = 0;
    for (uint32_t i = 0; i < N; i++) { /* serials 1..N, scrambled */
        uint32_t s = (i * 37) % N + 1;
        len += (size_t)snprintf(img + len, sizeof img - len, "%u u%u v%u %u\n", s, s % 11, s % 13, s);
    }
    rig_t *r = rig_new(img);
    wire_req_t req;
    memset(&req, 0, sizeof req);
    req.type = WIRE_LIST;
    req.incarnation = INCARNATION;
    req.request_id = 99;
    req.u.list.cursor = 10;
    req.u.list.max = 7;
    req.u.list.pages = 4;
    uint8_t buf[DGRAM_BYTES_MAX];
    size_t n = wire_req_encode(&req, buf, sizeof buf);
    CHECK(n > 0);
    outbox_clear(&r->out);
    backend_on_datagram(&r->b, 0, buf, n, &r->out);
    uint32_t pages = 0, cursor = 10, sent_lines = 0;
    uint64_t serial = 10;
    for (size_t i = 0; i < r->out.fx_count; i++) {
        const fx_t *f = &r->out.fx[i];
        if (f->kind == FX_STDOUT && strstr((const char *)outbox_bytes(&r->out, f), "finished sending"))
            sent_lines++;
        if (f->kind != FX_DGRAM) continue;
        static wire_reply_t rep;
        CHECK_EQ(wire_reply_decode(outbox_bytes(&r->out, f), f->data_len, &rep), 0);
        CHECK_EQ(rep.request_id, 99);
        CHECK_EQ(rep.status, WIRE_ST_OK);
        CHECK_EQ(rep.u.list.cursor, cursor);
        CHECK_EQ(rep.u.list.count, 7);
        CHECK_EQ(rep.u.list.next_cursor, cursor + 7);
        CHECK_EQ(rep.u.list.done, 0);
        for (uint8_t k = 0; k < rep.u.list.count; k++) CHECK_EQ(rep.u.list.txs[k].serial, ++serial);
        cursor = rep.u.list.next_cursor;
        pages++;
    }
    CHECK_EQ(pages, 4);
    CHECK_EQ(sent_lines, 1);
    /* near the end: the window stops after the page that says done */
    req.u.list.cursor = N - 9;
    req.u.list.pages = WIRE_LIST_PAGES_MAX;
    n = wire_req_encode(&req, buf, sizeof buf);
    outbox_clear(&r->out);
    backend_on_datagram(&r->b, 0, buf, n, &r->out);
    pages = 0;
    uint32_t done = 0, txs = 0;
    for (size_t i = 0; i < r->out.fx_count; i++) {
        const fx_t *f = &r->out.fx[i];
        if (f->kind != FX_DGRAM) continue;
        static wire_reply_t rep;
        CHECK_EQ(wire_reply_decode(outbox_bytes(&r->out, f), f->data_len, &rep), 0);
        CHECK_EQ(done, 0); /* nothing after the last page */
        done = rep.u.list.done;
        txs += rep.u.list.count;
        pages++;
    }
    CHECK_EQ(pages, 2);
    CHECK_EQ(done, 1);
    CHECK_EQ(txs, 9);
    /* at the very end: one empty page, done */
    req.u.list.cursor = N;
    n = wire_req_encode(&req, buf, sizeof buf);
    wire_reply_t end;
    CHECK_EQ(rig_ask(r, &req, &end), 0);
    CHECK_EQ(end.u.list.count, 0);
    CHECK_EQ(end.u.list.done, 1);
    CHECK_EQ(end.u.list.cursor, N);
    size_t dgrams = 0;
    for (size_t i = 0; i < r->out.fx_count; i++) dgrams += r->out.fx[i].kind == FX_DGRAM;
    CHECK_EQ(dgrams, 1);
    rig_free(r);
}

/* All of user's partner rows, paged from cursor 0 with a write between pages. Returns
 * the rows; counts and nets are summed per partner name into names/counts/nets. */
static uint32_t stats_pages(rig_t *r, const char *user, uint32_t *counts, int64_t *nets,
                            uint32_t partners, int write_between) {
    uint32_t cursor = 0, rows = 0;
    int writes = 0;
    for (int calls = 0; calls < PAGE_CALLS_MAX; calls++) {
        wire_req_t req;
        wire_reply_t rep;
        memset(&req, 0, sizeof req);
        req.type = WIRE_STATS;
        req.u.stats.user.len = (uint8_t)strlen(user);
        memcpy(req.u.stats.user.s, user, strlen(user) + 1);
        req.u.stats.cursor = cursor;
        CHECK_EQ(rig_ask(r, &req, &rep), 0);
        for (uint8_t k = 0; k < rep.u.stats.count; k++) {
            unsigned p = 0;
            CHECK_EQ(sscanf(rep.u.stats.rows[k].partner.s, "p%u", &p), 1);
            CHECK(p < partners);
            if (p >= partners) continue;
            counts[p] += rep.u.stats.rows[k].count;
            nets[p] += rep.u.stats.rows[k].net;
            rows++;
        }
        cursor = rep.u.stats.next_cursor;
        if (rep.u.stats.done || rep.u.stats.count == 0) break;
        if (write_between) {
            /* the hub pays a partner it already has, then gains a new one: the new one
             * lands after the cursor, so this paging still sees it once */
            char line[64];
            uint64_t serial = r->b.ledger.max_serial + 1;
            snprintf(line, sizeof line, "%llu hub p%u 1", (unsigned long long)serial, (unsigned)writes % 10);
            rig_write(r, line);
            snprintf(line, sizeof line, "%llu p%u hub 2", (unsigned long long)serial + 1,
                     (unsigned)(partners - 1 - (unsigned)writes));
            rig_write(r, line);
            writes++;
        }
    }
    return rows;
}

TEST(test_stats_pages) {
    enum { PARTNERS = 2000, BUILT = 1000 };
    static char img[BUILT * 32];
    size_t len = 0;
    for (uint32_t i = 0; i < BUILT; i++) {
        len += (size_t)snprintf(img + len, sizeof img - len, "%u hub p%u %u\n", BUILT - i, i, i + 1);
    }
    rig_t *r = rig_new(img);
    static uint32_t counts[PARTNERS];
    static int64_t nets[PARTNERS];
    CHECK_EQ(stats_pages(r, "hub", counts, nets, PARTNERS, 0), BUILT);
    int bad = 0;
    for (uint32_t i = 0; i < BUILT; i++) bad += counts[i] != 1 || nets[i] != -(int64_t)(i + 1);
    CHECK_EQ(bad, 0);
    /* while paging, every page is followed by two writes naming the hub: each row comes
     * once, new partners (from the top of the range down) are found in the same paging */
    memset(counts, 0, sizeof counts);
    memset(nets, 0, sizeof nets);
    uint32_t rows = stats_pages(r, "hub", counts, nets, PARTNERS, 1);
    uint32_t seen = 0;
    for (uint32_t i = 0; i < PARTNERS; i++) seen += counts[i] > 0;
    CHECK_EQ(rows, seen); /* no partner twice */
    CHECK(rows > BUILT);
    /* and a final paging agrees with the ledger's totals */
    memset(counts, 0, sizeof counts);
    memset(nets, 0, sizeof nets);
    stats_pages(r, "hub", counts, nets, PARTNERS, 0);
    int64_t net = 0;
    for (uint32_t i = 0; i < PARTNERS; i++) net += nets[i];
    ledger_totals_t t;
    ledger_totals(&r->b.ledger, "hub", 3, &t);
    CHECK(net == (int64_t)t.received - (int64_t)t.sent);
    rig_free(r);
}

int main(void) {
    RUN(test_list_ascending);
    RUN(test_list_window);
    RUN(test_stats_pages);
    RUN(test_write_of_another_epoch);
    RUN(test_block_file_size_limit);
    return CHECK_DONE();
}
