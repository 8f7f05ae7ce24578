/* fuzz_udp.c — libFuzzer target for the UDP codec (core/wire.c). Every datagram is tried
 * as a request and as a reply; whatever a decoder accepts must re-encode to the very same
 * bytes (docs/PROTOCOL.md: every message has exactly one encoding, so the canonical form
 * is the input itself), which decode to the same message; the size helpers must predict
 * the length; a short buffer must be refused, and neither a byte less nor a byte more of
 * the datagram may decode. */
#include <string.h>

#include "fuzz.h"
#include "wire.h"

static int name_equal(const wire_name_t *a, const wire_name_t *b) {
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

static int req_equal(const wire_req_t *a, const wire_req_t *b) {
    if (a->type != b->type || a->incarnation != b->incarnation ||
        a->request_id != b->request_id)
        return 0;
    switch (a->type) {
    case WIRE_QUERY:
        if (a->u.query.count != b->u.query.count) return 0;
        for (size_t i = 0; i < a->u.query.count; i++)
            if (!name_equal(&a->u.query.names[i], &b->u.query.names[i])) return 0;
        return 1;
    case WIRE_WRITE:
        if (a->u.write.epoch != b->u.write.epoch || a->u.write.count != b->u.write.count) return 0;
        for (size_t i = 0; i < a->u.write.count; i++)
            if (!tx_equal(&a->u.write.txs[i], &b->u.write.txs[i])) return 0;
        return 1;
    case WIRE_LIST:
        return a->u.list.cursor == b->u.list.cursor && a->u.list.max == b->u.list.max &&
               a->u.list.pages == b->u.list.pages;
    case WIRE_STATS:
        return name_equal(&a->u.stats.user, &b->u.stats.user) &&
               a->u.stats.cursor == b->u.stats.cursor;
    default:
        return 0; /* the decoder accepted an unknown type */
    }
}

static int reply_body_equal(const wire_reply_t *a, const wire_reply_t *b) {
    switch (a->type & ~WIRE_REPLY) {
    case WIRE_QUERY:
        if (a->u.query.max_serial != b->u.query.max_serial ||
            a->u.query.tx_count != b->u.query.tx_count || a->u.query.count != b->u.query.count)
            return 0;
        for (size_t i = 0; i < a->u.query.count; i++) {
            const wire_totals_t *x = &a->u.query.totals[i], *y = &b->u.query.totals[i];
            if (x->exists != y->exists || x->sent != y->sent || x->received != y->received)
                return 0;
        }
        return 1;
    case WIRE_WRITE:
        if (a->u.write.count != b->u.write.count) return 0;
        for (size_t i = 0; i < a->u.write.count; i++)
            if (a->u.write.serials[i] != b->u.write.serials[i] ||
                a->u.write.results[i] != b->u.write.results[i])
                return 0;
        return 1;
    case WIRE_LIST:
        if (a->u.list.cursor != b->u.list.cursor || a->u.list.next_cursor != b->u.list.next_cursor ||
            a->u.list.done != b->u.list.done ||
            a->u.list.count != b->u.list.count)
            return 0;
        for (size_t i = 0; i < a->u.list.count; i++)
            if (!tx_equal(&a->u.list.txs[i], &b->u.list.txs[i])) return 0;
        return 1;
    case WIRE_STATS:
        if (a->u.stats.next_cursor != b->u.stats.next_cursor ||
            a->u.stats.done != b->u.stats.done || a->u.stats.count != b->u.stats.count)
            return 0;
        for (size_t i = 0; i < a->u.stats.count; i++) {
            const wire_row_t *x = &a->u.stats.rows[i], *y = &b->u.stats.rows[i];
            if (!name_equal(&x->partner, &y->partner) || x->count != y->count || x->net != y->net)
                return 0;
        }
        return 1;
    default:
        return 0;
    }
}

static int reply_equal(const wire_reply_t *a, const wire_reply_t *b) {
    if (a->type != b->type || a->incarnation != b->incarnation ||
        a->request_id != b->request_id || a->status != b->status || a->fence != b->fence ||
        a->epoch != b->epoch)
        return 0;
    return a->status != WIRE_ST_OK || reply_body_equal(a, b);
}

/* Room for the canonical form, one byte more (the "trailing byte" probe) and slack. */
#define FUZZ_UDP_BUF_BYTES (DGRAM_BYTES_MAX + 16)

/* The shared part of both checks: e[0..n) is a canonical encoding just produced. */
static void canonical_check(const uint8_t *e, size_t n, size_t predicted, int is_reply) {
    FUZZ_CHECK(n > WIRE_HEADER_BYTES);
    FUZZ_CHECK(n <= DGRAM_BYTES_MAX);
    FUZZ_CHECK(predicted == 0 || n == predicted);
    /* Exact-size heap copies, so ASan catches any read past either end. */
    uint8_t *shorter = malloc(n - 1); /* n > WIRE_HEADER_BYTES, so never 0 */
    uint8_t *longer = malloc(n + 1);
    FUZZ_CHECK(shorter != NULL && longer != NULL);
    memcpy(shorter, e, n - 1);
    memcpy(longer, e, n);
    longer[n] = 0;
    static wire_req_t rq;
    static wire_reply_t rp;
    if (is_reply) {
        FUZZ_CHECK(wire_reply_decode(shorter, n - 1, &rp) != 0);
        FUZZ_CHECK(wire_reply_decode(longer, n + 1, &rp) != 0);
    } else {
        FUZZ_CHECK(wire_req_decode(shorter, n - 1, &rq) != 0);
        FUZZ_CHECK(wire_req_decode(longer, n + 1, &rq) != 0);
    }
    free(shorter);
    free(longer);
}

/* The length the size helpers predict for a request (0 when they do not cover it). */
static size_t req_predicted(const wire_req_t *m) {
    size_t n = 0;
    if (m->type == WIRE_QUERY) {
        n = WIRE_QUERY_REQ_FIXED_BYTES;
        for (size_t i = 0; i < m->u.query.count; i++) n += wire_name_bytes(m->u.query.names[i].len);
    } else if (m->type == WIRE_WRITE) {
        n = WIRE_WRITE_REQ_FIXED_BYTES;
        for (size_t i = 0; i < m->u.write.count; i++)
            n += wire_list_tx_bytes(i ? m->u.write.txs[i - 1].serial : 0, &m->u.write.txs[i]);
    }
    return n;
}

static size_t reply_predicted(const wire_reply_t *m) {
    size_t n = 0;
    if (m->status != WIRE_ST_OK) return 0;
    if (m->type == (WIRE_LIST | WIRE_REPLY)) {
        n = WIRE_LIST_REPLY_FIXED_BYTES;
        for (size_t i = 0; i < m->u.list.count; i++)
            n += wire_list_tx_bytes(i ? m->u.list.txs[i - 1].serial : 0, &m->u.list.txs[i]);
    } else if (m->type == (WIRE_STATS | WIRE_REPLY)) {
        n = WIRE_STATS_REPLY_FIXED_BYTES;
        for (size_t i = 0; i < m->u.stats.count; i++)
            n += wire_row_bytes(m->u.stats.rows[i].partner.len);
    }
    return n;
}

static void req_check(const uint8_t *data, size_t size) {
    static wire_req_t m1, m2;
    static uint8_t e1[FUZZ_UDP_BUF_BYTES], e2[FUZZ_UDP_BUF_BYTES];
    memset(&m1, 0, sizeof m1);
    memset(&m2, 0, sizeof m2);
    if (wire_req_decode(data, size, &m1) != 0) return;
    size_t n1 = wire_req_encode(&m1, e1, sizeof e1);
    FUZZ_CHECK(n1 == size && memcmp(e1, data, size) == 0); /* one encoding per message */
    FUZZ_CHECK(wire_req_encode(&m1, e2, n1 - 1) == 0); /* a short buffer is refused */
    FUZZ_CHECK(wire_req_decode(e1, n1, &m2) == 0);
    FUZZ_CHECK(req_equal(&m1, &m2));
    size_t n2 = wire_req_encode(&m2, e2, sizeof e2);
    FUZZ_CHECK(n2 == n1 && memcmp(e1, e2, n1) == 0);
    canonical_check(e1, n1, req_predicted(&m1), 0);
}

static void reply_check(const uint8_t *data, size_t size) {
    static wire_reply_t m1, m2;
    static uint8_t e1[FUZZ_UDP_BUF_BYTES], e2[FUZZ_UDP_BUF_BYTES];
    memset(&m1, 0, sizeof m1);
    memset(&m2, 0, sizeof m2);
    if (wire_reply_decode(data, size, &m1) != 0) return;
    size_t n1 = wire_reply_encode(&m1, e1, sizeof e1);
    FUZZ_CHECK(n1 == size && memcmp(e1, data, size) == 0);
    FUZZ_CHECK(wire_reply_encode(&m1, e2, n1 - 1) == 0);
    FUZZ_CHECK(wire_reply_decode(e1, n1, &m2) == 0);
    FUZZ_CHECK(reply_equal(&m1, &m2));
    size_t n2 = wire_reply_encode(&m2, e2, sizeof e2);
    FUZZ_CHECK(n2 == n1 && memcmp(e1, e2, n1) == 0);
    canonical_check(e1, n1, reply_predicted(&m1), 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    req_check(data, size);
    reply_check(data, size);
    return 0;
}
