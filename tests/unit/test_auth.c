/* test_auth.c — unit tests of core/auth.c with the real programs' MAC (net/key.c's keyed
 * BLAKE2b): the trailer's layout,
 * every refusal of auth_open, the replay window, and a keyed backend (core/backend.c)
 * behind it: sealed replies, replays and forgeries dropped, the fence moved only by a
 * QUERY and never more than BACKEND_INCARNATION_AHEAD_MAX_US past the backend's clock. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "backend.h"
#include "check.h"
#include "key.h"

static const uint8_t key[AUTH_KEY_BYTES] = "test_auth: the servers' key ...";
static const uint8_t other_key[AUTH_KEY_BYTES] = "test_auth: another key ........";
static auth_t keyed, other, insecure;

static size_t hello(uint64_t incarnation, uint64_t id, uint8_t *buf) {
    wire_req_t q;
    memset(&q, 0, sizeof q);
    q.type = WIRE_QUERY;
    q.incarnation = incarnation;
    q.request_id = id;
    size_t n = wire_req_encode(&q, buf, DGRAM_BYTES_MAX);
    CHECK(n > 0);
    return n;
}

TEST(test_seal_layout_and_open) {
    uint8_t d[AUTH_DGRAM_BYTES_MAX];
    size_t n = hello(1, 12, d);
    CHECK_EQ(n, 21);
    size_t len = auth_seal(&keyed, 1, 3, d, n, d, sizeof d);
    CHECK_EQ(len, 63);
    CHECK_EQ(d[21], AUTH_SCHEME_MAC);
    CHECK_EQ(d[22], 1);
    CHECK_EQ(d[30], 3); /* seq, big-endian, in bytes 23..30 */
    uint8_t tag[AUTH_TAG_BYTES];
    /* the MAC, keyed BLAKE2b-256, covers the message and scheme, backend, seq */
    crypto_generichash(tag, AUTH_TAG_BYTES, d, 31, key, AUTH_KEY_BYTES);
    CHECK(memcmp(tag, d + 31, AUTH_TAG_BYTES) == 0);
    size_t m = 0;
    uint64_t seq = 0;
    CHECK_EQ(auth_open(&keyed, 1, d, len, &m, &seq), 0);
    CHECK_EQ(m, 21);
    CHECK_EQ(seq, 3);
}

TEST(test_open_refusals) {
    uint8_t d[AUTH_DGRAM_BYTES_MAX];
    size_t len = auth_seal(&keyed, 0, 1, d, hello(1, 1, d), d, sizeof d);
    size_t m;
    uint64_t seq;
    CHECK_EQ(auth_open(&keyed, 1, d, len, &m, &seq), AUTH_EPEER);   /* for serverA, not B */
    CHECK_EQ(auth_open(&other, 0, d, len, &m, &seq), AUTH_EMAC);    /* another key */
    for (size_t i = 0; i < len; i++) {                              /* any byte changed */
        d[i] ^= 0x20;
        CHECK(auth_open(&keyed, 0, d, len, &m, &seq) != 0);
        d[i] ^= 0x20;
    }
    CHECK_EQ(auth_open(&keyed, 0, d, AUTH_TRAILER_BYTES, &m, &seq), AUTH_ESIZE);
    CHECK_EQ(auth_open(&keyed, 0, d, AUTH_DGRAM_BYTES_MAX + 1, &m, &seq), AUTH_ESIZE);
    size_t plain = auth_seal(&insecure, 0, 1, d, hello(1, 1, d), d, sizeof d);
    CHECK_EQ(d[21], AUTH_SCHEME_NONE);
    CHECK_EQ(auth_open(&keyed, 0, d, plain, &m, &seq), AUTH_EUNSIGNED);
    CHECK_EQ(auth_open(&insecure, 0, d, plain, &m, &seq), 0);       /* insecure takes all */
    CHECK_EQ(auth_open(&insecure, 0, d, len, &m, &seq), 0);
    d[21] = 7;
    CHECK_EQ(auth_open(&insecure, 0, d, plain, &m, &seq), AUTH_ESCHEME);
    CHECK(strstr(auth_error_text(AUTH_EMAC), "bad MAC") != NULL);
}

TEST(test_window) {
    auth_window_t w = {0};
    CHECK_EQ(auth_window_take(&w, 0), AUTH_EREPLAY);
    CHECK_EQ(auth_window_take(&w, 5), 0);
    CHECK_EQ(auth_window_take(&w, 5), AUTH_EREPLAY);
    CHECK_EQ(auth_window_take(&w, 3), 0);    /* late, but new */
    CHECK_EQ(auth_window_take(&w, 3), AUTH_EREPLAY);
    CHECK_EQ(auth_window_take(&w, 69), 0);   /* 5 is now 64 below: too old */
    CHECK_EQ(auth_window_take(&w, 5), AUTH_EREPLAY);
    CHECK_EQ(auth_window_take(&w, 6), 0);    /* 63 below: still within reach */
    CHECK_EQ(auth_window_take(&w, 1000), 0); /* a jump clears the bitmap */
    CHECK_EQ(auth_window_take(&w, 999), 0);
    CHECK_EQ(auth_window_take(&w, 1000), AUTH_EREPLAY);
}

typedef struct {
    backend_t b;
    outbox_t out;
} rig_t;

static rig_t *rig_new(void) {
    rig_t *r = calloc(1, sizeof *r);
    CHECK(r != NULL);
    backend_init(&r->b, 0, TEST_EPOCH);
    backend_set_auth(&r->b, &keyed);
    outbox_init(&r->out);
    static const char img[] = "1 Ali Luke 5\n";
    blockfile_recovery_t res;
    char err[128];
    CHECK_EQ(backend_load(&r->b, img, strlen(img), NULL, 0, "block1.txt", &res, err, sizeof err), 0);
    backend_start(&r->b, img, &res, "block1.txt", 21000, &r->out);
    return r;
}

static void rig_free(rig_t *r) {
    backend_free(&r->b);
    outbox_free(&r->out);
    free(r);
}

/* Delivers the datagram at wall clock now_us; returns the status of the sealed reply (which
 * must open as serverA's), -1 when there is none, and sets *dropped to the drop lines. */
static int rig_send(rig_t *r, uint64_t now_us, const uint8_t *d, size_t len, int *dropped) {
    outbox_clear(&r->out);
    backend_on_datagram(&r->b, now_us, d, len, &r->out);
    int status = -1;
    *dropped = 0;
    for (size_t i = 0; i < r->out.fx_count; i++) {
        const fx_t *f = &r->out.fx[i];
        *dropped += f->kind == FX_STDERR && (f->arg & FX_STDERR_DROP);
        CHECK(f->kind != FX_BLOCK_APPEND);
        if (f->kind != FX_DGRAM) continue;
        size_t m;
        uint64_t seq;
        CHECK_EQ(auth_open(&keyed, 0, outbox_bytes(&r->out, f), f->data_len, &m, &seq), 0);
        wire_reply_t rep;
        CHECK_EQ(wire_reply_decode(outbox_bytes(&r->out, f), m, &rep), 0);
        status = rep.status;
    }
    return status;
}

TEST(test_backend_replay_and_forgery) {
    rig_t *r = rig_new();
    uint8_t d[AUTH_DGRAM_BYTES_MAX];
    int dropped;
    size_t len = auth_seal(&keyed, 0, 1, d, hello(5, 1, d), d, sizeof d);
    CHECK_EQ(rig_send(r, 0, d, len, &dropped), WIRE_ST_OK);
    CHECK_EQ(r->b.fence, 5);
    CHECK_EQ(rig_send(r, 0, d, len, &dropped), -1); /* the same datagram again */
    CHECK_EQ(dropped, 1);
    CHECK_EQ(r->b.stat_replayed, 1);
    /* a forged WRITE of serverM's incarnation: no answer, nothing appended */
    wire_req_t w;
    memset(&w, 0, sizeof w);
    w.type = WIRE_WRITE;
    w.incarnation = 5;
    w.request_id = 2;
    w.u.write.count = 1;
    w.u.write.epoch = TEST_EPOCH;
    char err[64];
    CHECK_EQ(tx_parse_line("2 Chinmay Eve 800", 17, &w.u.write.txs[0], err, sizeof err), 0);
    size_t n = wire_req_encode(&w, d, DGRAM_BYTES_MAX);
    len = auth_seal(&other, 0, 2, d, n, d, sizeof d);
    CHECK_EQ(rig_send(r, 0, d, len, &dropped), -1);
    CHECK_EQ(dropped, 1);
    CHECK_EQ(r->b.stat_unauthentic, 1);
    CHECK_EQ(rig_send(r, 0, d, n, &dropped), -1);   /* no trailer at all */
    CHECK_EQ(r->b.ledger.tx_count, 1);
    rig_free(r);
}

TEST(test_backend_fence_rules) {
    rig_t *r = rig_new();
    uint8_t d[AUTH_DGRAM_BYTES_MAX];
    int dropped;
    uint64_t now = 2000000000000000ull; /* the wall clock, in microseconds */
    size_t len = auth_seal(&keyed, 0, 1, d, hello(now - 10, 1, d), d, sizeof d);
    CHECK_EQ(rig_send(r, now, d, len, &dropped), WIRE_ST_OK);
    /* a WRITE of a newer incarnation does not move the fence: UNFENCED */
    wire_req_t w;
    memset(&w, 0, sizeof w);
    w.type = WIRE_WRITE;
    w.incarnation = now;
    w.request_id = 2;
    w.u.write.count = 1;
    w.u.write.epoch = TEST_EPOCH;
    char err[64];
    CHECK_EQ(tx_parse_line("2 Ali Luke 5", 12, &w.u.write.txs[0], err, sizeof err), 0);
    len = auth_seal(&keyed, 0, 2, d, wire_req_encode(&w, d, DGRAM_BYTES_MAX), d, sizeof d);
    CHECK_EQ(rig_send(r, now, d, len, &dropped), WIRE_ST_UNFENCED);
    CHECK_EQ(r->b.fence, now - 10);
    /* a QUERY from more than an hour ahead of the clock is dropped ... */
    len = auth_seal(&keyed, 0, 3, d, hello(UINT64_MAX, 3, d), d, sizeof d);
    CHECK_EQ(rig_send(r, now, d, len, &dropped), -1);
    CHECK_EQ(dropped, 1);
    len = auth_seal(&keyed, 0, 4, d, hello(now + BACKEND_INCARNATION_AHEAD_MAX_US + 1, 4, d), d, sizeof d);
    CHECK_EQ(rig_send(r, now, d, len, &dropped), -1);
    CHECK_EQ(r->b.fence, now - 10);
    /* ... one within the hour moves it, and restarts the window */
    len = auth_seal(&keyed, 0, 1, d, hello(now + BACKEND_INCARNATION_AHEAD_MAX_US, 5, d), d, sizeof d);
    CHECK_EQ(rig_send(r, now, d, len, &dropped), WIRE_ST_OK);
    CHECK_EQ(r->b.fence, now + BACKEND_INCARNATION_AHEAD_MAX_US);
    rig_free(r);
}

int main(void) {
    CHECK(sodium_init() >= 0);
    keyed = (auth_t){.mac = key_mac, .verify = key_verify, .key = key};
    other = (auth_t){.mac = key_mac, .verify = key_verify, .key = other_key};
    insecure = (auth_t){.mac = key_mac, .verify = key_verify, .key = NULL};
    RUN(test_seal_layout_and_open);
    RUN(test_open_refusals);
    RUN(test_window);
    RUN(test_backend_replay_and_forgery);
    RUN(test_backend_fence_rules);
    return CHECK_DONE();
}
