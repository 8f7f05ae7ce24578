/* test_wire.c — unit tests of core/wire.c: every UDP message and TCP line round-trips at
 * its limits, every malformed input is refused (including every truncation), the size
 * helpers agree with real encodings, and line assembly and the framing of persistent replies
 * survive any chunking. */
#include "check.h"
#include "wire.h"

/* ---------------------------------------------------------------- helpers */

#define BIG_BYTES (2 * DGRAM_BYTES_MAX)

static void name_set(wire_name_t *n, const char *s) {
    memset(n, 0, sizeof *n);
    n->len = (uint8_t)strlen(s);
    memcpy(n->s, s, n->len);
}

/* A valid name of exactly len bytes, distinct per seed. */
static void name_make(char *out, size_t len, unsigned seed) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.";
    for (size_t i = 0; i < len; i++) out[i] = alphabet[(seed * 7 + i * 13) % 65];
    out[len] = '\0';
}

static void wname_make(wire_name_t *n, size_t len, unsigned seed) {
    char s[NAME_BYTES_MAX + 1];
    name_make(s, len, seed);
    name_set(n, s);
}

static void tx_make(tx_t *t, uint64_t serial, size_t sender_len, size_t receiver_len,
                    int64_t amount, unsigned seed) {
    char a[NAME_BYTES_MAX + 1], b[NAME_BYTES_MAX + 1];
    name_make(a, sender_len, seed);
    name_make(b, receiver_len, seed + 1);
    tx_set(t, serial, a, sender_len, b, receiver_len, amount);
}

static void put_be(uint8_t *p, uint64_t v, size_t bytes) {
    for (size_t i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* Every proper prefix and the message plus one byte must be refused. */
static int req_refuses_truncations(const uint8_t *buf, size_t len) {
    static wire_req_t m;
    uint8_t copy[DGRAM_BYTES_MAX + 1];
    memcpy(copy, buf, len);
    copy[len] = 0;
    for (size_t k = 0; k < len; k++) {
        if (wire_req_decode(copy, k, &m) != AC_EINVAL) return 0;
    }
    return wire_req_decode(copy, len + 1, &m) == AC_EINVAL &&
           wire_req_decode(copy, len, &m) == AC_OK;
}

static int reply_refuses_truncations(const uint8_t *buf, size_t len) {
    static wire_reply_t m;
    uint8_t copy[DGRAM_BYTES_MAX + 1];
    memcpy(copy, buf, len);
    copy[len] = 0;
    for (size_t k = 0; k < len; k++) {
        if (wire_reply_decode(copy, k, &m) != AC_EINVAL) return 0;
    }
    return wire_reply_decode(copy, len + 1, &m) == AC_EINVAL &&
           wire_reply_decode(copy, len, &m) == AC_OK;
}

/* decode(encode(m)) encodes to the very same bytes; and every truncation is refused. */
static size_t req_roundtrip(const wire_req_t *m, wire_req_t *out) {
    uint8_t a[BIG_BYTES], b[BIG_BYTES];
    size_t n = wire_req_encode(m, a, sizeof a);
    CHECK(n > 0);
    CHECK(n <= DGRAM_BYTES_MAX);
    CHECK_EQ(wire_req_decode(a, n, out), AC_OK);
    CHECK_EQ(wire_req_encode(out, b, sizeof b), n);
    CHECK(memcmp(a, b, n) == 0);
    CHECK(req_refuses_truncations(a, n));
    /* cap exactly n suffices, n - 1 does not */
    CHECK_EQ(wire_req_encode(m, b, n), n);
    CHECK_EQ(wire_req_encode(m, b, n - 1), 0);
    return n;
}

static size_t reply_roundtrip(const wire_reply_t *m, wire_reply_t *out) {
    uint8_t a[BIG_BYTES], b[BIG_BYTES];
    size_t n = wire_reply_encode(m, a, sizeof a);
    CHECK(n > 0);
    CHECK(n <= DGRAM_BYTES_MAX);
    CHECK_EQ(wire_reply_decode(a, n, out), AC_OK);
    CHECK_EQ(wire_reply_encode(out, b, sizeof b), n);
    CHECK(memcmp(a, b, n) == 0);
    CHECK(reply_refuses_truncations(a, n));
    CHECK_EQ(wire_reply_encode(m, b, n), n);
    CHECK_EQ(wire_reply_encode(m, b, n - 1), 0);
    return n;
}

static void req_init(wire_req_t *m, uint8_t type) {
    memset(m, 0, sizeof *m);
    m->type = type;
    m->incarnation = 1;
    m->request_id = 7;
    if (type == WIRE_LIST) m->u.list.pages = 1; /* a window of one page */
}

static void reply_init(wire_reply_t *m, uint8_t type) {
    memset(m, 0, sizeof *m);
    m->type = (uint8_t)(type | WIRE_REPLY);
    m->incarnation = 1;
    m->request_id = 7;
    m->status = WIRE_ST_OK;
    m->fence = 1;
    m->epoch = 0x2a; /* the answering backend run's boot epoch */
}

/* Splits total bytes of names over n names of 1..64 bytes each. */
static void lengths_spread(size_t *lens, size_t n, size_t total) {
    CHECK(total >= n && total <= n * NAME_BYTES_MAX);
    for (size_t i = 0; i < n; i++) {
        lens[i] = total / n + (i < total % n ? 1 : 0);
    }
}

/* ------------------------------------------------------------ UDP: layout */

TEST(test_query_worked_example) {
    /* docs/PROTOCOL.md: a QUERY for "Chinmay", incarnation 1, request id 7 */
    static const uint8_t expect[] = {
        0xA1, 0x05, 0x01, 0x00,                         /* magic version type flags */
        0, 0, 0, 0, 0, 0, 0, 1,                         /* incarnation 1 */
        0, 0, 0, 0, 0, 0, 0, 7,                         /* request id 7 */
        0x01,                                           /* count 1 */
        0x07, 'C', 'h', 'i', 'n', 'm', 'a', 'y',        /* name */
    };
    wire_req_t m, d;
    req_init(&m, WIRE_QUERY);
    m.u.query.count = 1;
    name_set(&m.u.query.names[0], "Chinmay");
    uint8_t buf[DGRAM_BYTES_MAX];
    size_t n = wire_req_encode(&m, buf, sizeof buf);
    CHECK_EQ(n, sizeof expect);
    CHECK(memcmp(buf, expect, sizeof expect) == 0);
    CHECK_EQ(wire_req_decode(expect, sizeof expect, &d), AC_OK);
    CHECK_EQ(d.type, WIRE_QUERY);
    CHECK_EQ(d.incarnation, 1);
    CHECK_EQ(d.request_id, 7);
    CHECK_EQ(d.u.query.count, 1);
    CHECK_EQ(d.u.query.names[0].len, 7);
    CHECK_STR(d.u.query.names[0].s, "Chinmay");
}

TEST(test_reply_worked_example) {
    /* the answer of backend A (sample block1) to the QUERY above: fence 1, max serial 9,
     * 3 transactions, Chinmay exists, sent 129, received 0 */
    static const uint8_t expect[] = {
        0xA1, 0x05, 0x81, 0x00,
        0, 0, 0, 0, 0, 0, 0, 1,
        0, 0, 0, 0, 0, 0, 0, 7,
        0x00,                                           /* status OK */
        0, 0, 0, 0, 0, 0, 0, 1,                         /* fence 1 */
        0, 0, 0, 0, 0, 0, 0, 0x2a,                      /* epoch 42 */
        0, 0, 0, 0, 0, 0, 0, 9,                         /* max serial 9 */
        0, 0, 0, 3,                                     /* tx count 3 */
        0x01,                                           /* count 1 */
        0x01,                                           /* exists */
        0, 0, 0, 0, 0, 0, 0, 0x81,                      /* sent 129 */
        0, 0, 0, 0, 0, 0, 0, 0,                         /* received 0 */
    };
    wire_reply_t m;
    reply_init(&m, WIRE_QUERY);
    m.u.query.max_serial = 9;
    m.u.query.tx_count = 3;
    m.u.query.count = 1;
    m.u.query.totals[0].exists = 1;
    m.u.query.totals[0].sent = 129;
    uint8_t buf[DGRAM_BYTES_MAX];
    size_t n = wire_reply_encode(&m, buf, sizeof buf);
    CHECK_EQ(n, sizeof expect);
    CHECK(memcmp(buf, expect, sizeof expect) == 0);
}

/* Hex digits (spaces ignored) -> bytes; returns the byte count. */
static size_t hex_parse(const char *hex, uint8_t *out, size_t cap) {
    size_t n = 0;
    int half = -1;
    for (const char *p = hex; *p != '\0'; p++) {
        int v = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
        if (v < 0) continue;
        if (half < 0) {
            half = v;
        } else {
            CHECK(n < cap);
            if (n < cap) out[n++] = (uint8_t)(half * 16 + v);
            half = -1;
        }
    }
    CHECK(half < 0);
    return n;
}

static void req_matches_hex(const wire_req_t *m, const char *hex) {
    uint8_t expect[DGRAM_BYTES_MAX], buf[DGRAM_BYTES_MAX];
    size_t n = hex_parse(hex, expect, sizeof expect);
    CHECK_EQ(wire_req_encode(m, buf, sizeof buf), n);
    CHECK(memcmp(buf, expect, n) == 0);
    CHECK(req_refuses_truncations(expect, n));
}

static void reply_matches_hex(const wire_reply_t *m, const char *hex) {
    uint8_t expect[DGRAM_BYTES_MAX], buf[DGRAM_BYTES_MAX];
    size_t n = hex_parse(hex, expect, sizeof expect);
    CHECK_EQ(wire_reply_encode(m, buf, sizeof buf), n);
    CHECK(memcmp(buf, expect, n) == 0);
    CHECK(reply_refuses_truncations(expect, n));
}

/* The remaining worked examples of docs/PROTOCOL.md, byte for byte. */
TEST(test_doc_examples) {
    static wire_req_t q;
    static wire_reply_t r;

    req_init(&q, WIRE_QUERY); /* hello */
    q.request_id = 12;
    req_matches_hex(&q, "a1 05 01 00  00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 0c  00");

    req_init(&q, WIRE_WRITE);
    q.request_id = 8;
    q.u.write.count = 1;
    q.u.write.epoch = 0x2a;
    tx_set(&q.u.write.txs[0], 10, "Chinmay", 7, "Luke", 4, 20);
    req_matches_hex(&q, "a1 05 02 00  00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 08"
                        "00 00 00 00 00 00 00 2a  01"
                        "0a  07 43 68 69 6e 6d 61 79  04 4c 75 6b 65  14");
    reply_init(&r, WIRE_WRITE);
    r.request_id = 8;
    r.u.write.count = 1;
    r.u.write.serials[0] = 10;
    r.u.write.results[0] = WIRE_TX_STORED;
    reply_matches_hex(&r, "a1 05 82 00  00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 08  00"
                          "00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 2a"
                          "01  00 00 00 00 00 00 00 0a  00");
    reply_init(&r, WIRE_WRITE);
    r.request_id = 8;
    r.status = WIRE_ST_UNFENCED;
    reply_matches_hex(&r, "a1 05 82 00  00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 08  02"
                          "00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 2a  00");

    req_init(&q, WIRE_LIST);
    q.request_id = 9;
    q.u.list.max = 2;
    q.u.list.pages = 2;
    req_matches_hex(&q, "a1 05 03 00  00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 09"
                        "00 00 00 00  00 02  02");
    reply_init(&r, WIRE_LIST);
    r.request_id = 9;
    r.u.list.cursor = 0;
    r.u.list.next_cursor = 2;
    r.u.list.count = 2;
    tx_set(&r.u.list.txs[0], 4, "Ben", 3, "Victor", 6, 85); /* LIST ascends */
    tx_set(&r.u.list.txs[1], 6, "Racheal", 7, "Alice", 5, 49);
    reply_matches_hex(&r, "a1 05 83 00  00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 09  00"
                          "00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 2a"
                          "00 00 00 00  00 00 00 02  00  02"
                          "04  03 42 65 6e  06 56 69 63 74 6f 72  55"
                          "02  07 52 61 63 68 65 61 6c  05 41 6c 69 63 65  31");
    reply_init(&r, WIRE_LIST); /* the window's second page: the last */
    r.request_id = 9;
    r.u.list.cursor = 2;
    r.u.list.next_cursor = 3;
    r.u.list.done = 1;
    r.u.list.count = 1;
    tx_set(&r.u.list.txs[0], 7, "Martin", 6, "Luke", 4, 25);
    reply_matches_hex(&r, "a1 05 83 00  00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 09  00"
                          "00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 2a"
                          "00 00 00 02  00 00 00 03  01  01"
                          "07  06 4d 61 72 74 69 6e  04 4c 75 6b 65  19");
    reply_init(&r, WIRE_LIST); /* STALE */
    r.request_id = 9;
    r.status = WIRE_ST_STALE;
    r.fence = 5;
    reply_matches_hex(&r, "a1 05 83 00  00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 09  01"
                          "00 00 00 00 00 00 00 05  00 00 00 00 00 00 00 2a"
                          "00 00 00 00  00 00 00 00  00  00");

    req_init(&q, WIRE_STATS);
    q.request_id = 11;
    name_set(&q.u.stats.user, "Chinmay");
    req_matches_hex(&q, "a1 05 04 00  00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 0b"
                        "07 43 68 69 6e 6d 61 79  00 00 00 00");
    reply_init(&r, WIRE_STATS);
    r.request_id = 11;
    r.u.stats.next_cursor = 1;
    r.u.stats.done = 1;
    r.u.stats.count = 1;
    name_set(&r.u.stats.rows[0].partner, "Oliver");
    r.u.stats.rows[0].count = 1;
    r.u.stats.rows[0].net = -129;
    reply_matches_hex(&r, "a1 05 84 00  00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 0b  00"
                          "00 00 00 00 00 00 00 01  00 00 00 00 00 00 00 2a"
                          "00 00 00 01  01  01"
                          "06 4f 6c 69 76 65 72  00 00 00 01  ff ff ff ff ff ff ff 7f");
}

/* serverM re-aims an encoded WRITE at a backend's new run in place: only the epoch changes,
 * and anything but a WRITE is refused. */
TEST(test_write_set_epoch) {
    static wire_req_t q, d;
    uint8_t buf[DGRAM_BYTES_MAX], before[DGRAM_BYTES_MAX];
    req_init(&q, WIRE_WRITE);
    q.u.write.count = 1;
    q.u.write.epoch = 5;
    tx_set(&q.u.write.txs[0], 10, "Chinmay", 7, "Luke", 4, 20);
    size_t n = wire_req_encode(&q, buf, sizeof buf);
    CHECK(n > 0);
    memcpy(before, buf, n);
    CHECK_EQ(wire_write_set_epoch(buf, n, 0x0102030405060708ull), AC_OK);
    CHECK_EQ(wire_req_decode(buf, n, &d), AC_OK);
    CHECK_EQ(d.u.write.epoch, 0x0102030405060708ull);
    CHECK_EQ(d.u.write.count, 1);
    CHECK(tx_equal(&d.u.write.txs[0], &q.u.write.txs[0]));
    CHECK_EQ(buf[WIRE_HEADER_BYTES], 0x01);
    CHECK(memcmp(buf, before, WIRE_HEADER_BYTES) == 0);
    CHECK(memcmp(buf + WIRE_WRITE_REQ_FIXED_BYTES - 1, before + WIRE_WRITE_REQ_FIXED_BYTES - 1,
                 n - (WIRE_WRITE_REQ_FIXED_BYTES - 1)) == 0);
    CHECK_EQ(wire_write_set_epoch(buf, WIRE_WRITE_REQ_FIXED_BYTES - 1, 1), AC_EINVAL);
    req_init(&q, WIRE_QUERY);
    n = wire_req_encode(&q, buf, sizeof buf);
    memcpy(before, buf, n);
    CHECK_EQ(wire_write_set_epoch(buf, n, 1), AC_EINVAL);
    CHECK(memcmp(buf, before, n) == 0);
}

TEST(test_fixed_bytes_match_encodings) {
    uint8_t buf[DGRAM_BYTES_MAX];
    wire_req_t q;
    wire_reply_t r;

    req_init(&q, WIRE_QUERY);
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), WIRE_QUERY_REQ_FIXED_BYTES);
    CHECK_EQ(WIRE_HEADER_BYTES, 20);

    req_init(&q, WIRE_WRITE);
    q.u.write.count = 1;
    tx_make(&q.u.write.txs[0], 1, 1, 1, 1, 0);
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf),
             WIRE_WRITE_REQ_FIXED_BYTES + wire_list_tx_bytes(0, &q.u.write.txs[0]));

    req_init(&q, WIRE_LIST);
    q.u.list.max = 1;
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), WIRE_HEADER_BYTES + 4 + 2 + 1);
    CHECK_EQ(WIRE_LIST_REQ_BYTES, WIRE_HEADER_BYTES + 4 + 2 + 1);

    reply_init(&r, WIRE_LIST);
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), WIRE_LIST_REPLY_FIXED_BYTES);
    reply_init(&r, WIRE_STATS);
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), WIRE_STATS_REPLY_FIXED_BYTES);
    reply_init(&r, WIRE_QUERY);
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), WIRE_HEADER_BYTES + 9 + 8 + 8 + 4 + 1);
    reply_init(&r, WIRE_WRITE);
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), WIRE_HEADER_BYTES + 9 + 8 + 1);
}

TEST(test_size_helpers_match_encodings) {
    uint8_t buf[DGRAM_BYTES_MAX];
    for (size_t len = 1; len <= NAME_BYTES_MAX; len++) {
        CHECK_EQ(wire_name_bytes(len), 1 + len);

        wire_req_t q;
        req_init(&q, WIRE_STATS);
        wname_make(&q.u.stats.user, len, (unsigned)len);
        CHECK_EQ(wire_req_encode(&q, buf, sizeof buf),
                 WIRE_HEADER_BYTES + wire_name_bytes(len) + 4);

        req_init(&q, WIRE_QUERY);
        q.u.query.count = 1;
        wname_make(&q.u.query.names[0], len, (unsigned)len);
        CHECK_EQ(wire_req_encode(&q, buf, sizeof buf),
                 WIRE_QUERY_REQ_FIXED_BYTES + wire_name_bytes(len));

        tx_t t;
        tx_make(&t, len, len, NAME_BYTES_MAX + 1 - len, (int64_t)len, (unsigned)len);
        req_init(&q, WIRE_WRITE);
        q.u.write.count = 1;
        q.u.write.txs[0] = t;
        CHECK_EQ(wire_req_encode(&q, buf, sizeof buf),
                 WIRE_WRITE_REQ_FIXED_BYTES + wire_list_tx_bytes(0, &t));

        wire_reply_t r;
        reply_init(&r, WIRE_LIST);
        r.u.list.count = 1;
        r.u.list.txs[0] = t;
        CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf),
                 WIRE_LIST_REPLY_FIXED_BYTES + wire_list_tx_bytes(0, &t));

        reply_init(&r, WIRE_STATS);
        r.u.stats.count = 1;
        wname_make(&r.u.stats.rows[0].partner, len, (unsigned)len);
        CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf),
                 WIRE_STATS_REPLY_FIXED_BYTES + wire_row_bytes(len));
    }
    tx_t t;
    tx_make(&t, 1, 3, 5, 1, 0);
    CHECK_EQ(wire_list_tx_bytes(0, &t), 1 + 4 + 6 + 1);
    CHECK_EQ(wire_row_bytes(10), 1 + 10 + 4 + 8);
}

/* ------------------------------------------------------- UDP: round trips */

TEST(test_query_req_roundtrip) {
    wire_req_t m, d;
    req_init(&m, WIRE_QUERY); /* count 0: the "hello" */
    m.incarnation = UINT64_MAX;
    m.request_id = 0;
    CHECK_EQ(req_roundtrip(&m, &d), WIRE_QUERY_REQ_FIXED_BYTES);
    CHECK_EQ(d.u.query.count, 0);
    CHECK(d.incarnation == UINT64_MAX);
    CHECK_EQ(d.request_id, 0);

    /* the most names of the longest length a QUERY holds (WIRE_QUERY_NAMES_FIT, 18) ... */
    req_init(&m, WIRE_QUERY);
    m.request_id = UINT64_MAX;
    m.u.query.count = WIRE_QUERY_NAMES_FIT;
    for (unsigned i = 0; i < WIRE_QUERY_NAMES_FIT; i++) {
        wname_make(&m.u.query.names[i], NAME_BYTES_MAX, i);
    }
    size_t n = req_roundtrip(&m, &d);
    CHECK_EQ(WIRE_QUERY_NAMES_FIT, 18);
    CHECK_EQ(n, WIRE_QUERY_REQ_FIXED_BYTES + WIRE_QUERY_NAMES_FIT * (1 + NAME_BYTES_MAX));
    CHECK_EQ(d.u.query.count, WIRE_QUERY_NAMES_FIT);
    CHECK(d.request_id == UINT64_MAX);
    for (unsigned i = 0; i < WIRE_QUERY_NAMES_FIT; i++) {
        CHECK_EQ(d.u.query.names[i].len, NAME_BYTES_MAX);
        CHECK_STR(d.u.query.names[i].s, m.u.query.names[i].s);
    }
    /* ... one more does not fit a datagram: the encoder refuses it (callers pack by size) */
    uint8_t big[BIG_BYTES];
    m.u.query.count = WIRE_QUERY_NAMES_FIT + 1;
    wname_make(&m.u.query.names[WIRE_QUERY_NAMES_FIT], NAME_BYTES_MAX, WIRE_QUERY_NAMES_FIT);
    CHECK_EQ(wire_req_encode(&m, big, sizeof big), 0);

    /* the most names (64) fit when they are short: 64 of 17 bytes are 1,173 bytes */
    req_init(&m, WIRE_QUERY);
    m.u.query.count = WIRE_QUERY_NAMES_MAX;
    for (unsigned i = 0; i < WIRE_QUERY_NAMES_MAX; i++) wname_make(&m.u.query.names[i], 17, i);
    n = req_roundtrip(&m, &d);
    CHECK_EQ(n, WIRE_QUERY_REQ_FIXED_BYTES + WIRE_QUERY_NAMES_MAX * (1 + 17));
    CHECK(n <= DGRAM_BYTES_MAX);
    CHECK_EQ(d.u.query.count, WIRE_QUERY_NAMES_MAX);
    for (unsigned i = 0; i < WIRE_QUERY_NAMES_MAX; i++)
        CHECK_STR(d.u.query.names[i].s, m.u.query.names[i].s);
    wname_make(&m.u.query.names[0], 17 + (DGRAM_BYTES_MAX - n) + 1, 0); /* 1,201 bytes */
    CHECK_EQ(wire_req_encode(&m, big, sizeof big), 0);
}

TEST(test_write_req_roundtrip) {
    wire_req_t m, d;
    req_init(&m, WIRE_WRITE);
    m.u.write.count = 1;
    tx_make(&m.u.write.txs[0], UINT64_MAX, NAME_BYTES_MAX, 1, AMOUNT_MAX, 3);
    req_roundtrip(&m, &d);
    CHECK_EQ(d.u.write.count, 1);
    CHECK(tx_equal(&d.u.write.txs[0], &m.u.write.txs[0]));
    CHECK(d.u.write.txs[0].serial == UINT64_MAX);
    CHECK_EQ(d.u.write.txs[0].amount, AMOUNT_MAX);
    CHECK_EQ(d.u.write.txs[0].sender_len, NAME_BYTES_MAX);

    req_init(&m, WIRE_WRITE);
    m.u.write.count = WIRE_WRITE_TXS_MAX;
    for (unsigned i = 0; i < WIRE_WRITE_TXS_MAX; i++) {
        tx_make(&m.u.write.txs[i], 1 + i, 1 + i % 4, 2, AMOUNT_MIN + i, i);
    }
    req_roundtrip(&m, &d);
    CHECK_EQ(d.u.write.count, WIRE_WRITE_TXS_MAX);
    for (unsigned i = 0; i < WIRE_WRITE_TXS_MAX; i++) {
        CHECK(tx_equal(&d.u.write.txs[i], &m.u.write.txs[i]));
    }
}

TEST(test_list_and_stats_req_roundtrip) {
    wire_req_t m, d;
    req_init(&m, WIRE_LIST);
    m.u.list.cursor = 0;
    m.u.list.max = 1;
    req_roundtrip(&m, &d);
    CHECK_EQ(d.u.list.cursor, 0);
    CHECK_EQ(d.u.list.max, 1);
    m.u.list.cursor = UINT32_MAX;
    m.u.list.max = WIRE_LIST_TXS_MAX;
    m.u.list.pages = WIRE_LIST_PAGES_MAX;
    req_roundtrip(&m, &d);
    CHECK(d.u.list.cursor == UINT32_MAX);
    CHECK_EQ(d.u.list.max, WIRE_LIST_TXS_MAX);
    CHECK_EQ(d.u.list.pages, WIRE_LIST_PAGES_MAX);

    req_init(&m, WIRE_STATS);
    wname_make(&m.u.stats.user, NAME_BYTES_MAX, 9);
    m.u.stats.cursor = UINT32_MAX;
    req_roundtrip(&m, &d);
    CHECK_STR(d.u.stats.user.s, m.u.stats.user.s);
    CHECK(d.u.stats.cursor == UINT32_MAX);
    name_set(&m.u.stats.user, "a");
    m.u.stats.cursor = 0;
    req_roundtrip(&m, &d);
    CHECK_STR(d.u.stats.user.s, "a");
    CHECK_EQ(d.u.stats.cursor, 0);
}

TEST(test_query_reply_roundtrip) {
    wire_reply_t m, d;
    reply_init(&m, WIRE_QUERY);
    m.status = WIRE_ST_STALE;
    m.fence = UINT64_MAX;
    reply_roundtrip(&m, &d);
    CHECK_EQ(d.type, WIRE_QUERY | WIRE_REPLY);
    CHECK_EQ(d.status, WIRE_ST_STALE);
    CHECK(d.fence == UINT64_MAX);
    CHECK_EQ(d.u.query.count, 0);

    reply_init(&m, WIRE_QUERY);
    m.u.query.max_serial = UINT64_MAX;
    m.u.query.tx_count = UINT32_MAX;
    m.u.query.count = WIRE_QUERY_NAMES_MAX;
    for (unsigned i = 0; i < WIRE_QUERY_NAMES_MAX; i++) {
        m.u.query.totals[i].exists = (uint8_t)(i % 2);
        m.u.query.totals[i].sent = i % 2 ? UINT64_MAX - i : 0;
        m.u.query.totals[i].received = i % 2 ? i : 0;
    }
    reply_roundtrip(&m, &d);
    CHECK(d.u.query.max_serial == UINT64_MAX);
    CHECK(d.u.query.tx_count == UINT32_MAX);
    CHECK_EQ(d.u.query.count, WIRE_QUERY_NAMES_MAX);
    for (unsigned i = 0; i < WIRE_QUERY_NAMES_MAX; i++) {
        CHECK_EQ(d.u.query.totals[i].exists, i % 2);
        CHECK(d.u.query.totals[i].sent == m.u.query.totals[i].sent);
        CHECK(d.u.query.totals[i].received == m.u.query.totals[i].received);
    }
}

TEST(test_write_reply_roundtrip) {
    wire_reply_t m, d;
    reply_init(&m, WIRE_WRITE);
    m.status = WIRE_ST_UNFENCED;
    reply_roundtrip(&m, &d);
    CHECK_EQ(d.status, WIRE_ST_UNFENCED);
    CHECK_EQ(d.u.write.count, 0);

    reply_init(&m, WIRE_WRITE);
    m.u.write.count = WIRE_WRITE_TXS_MAX;
    for (unsigned i = 0; i < WIRE_WRITE_TXS_MAX; i++) {
        m.u.write.serials[i] = i == 0 ? UINT64_MAX : i;
        m.u.write.results[i] = (uint8_t)(i % 3);
    }
    reply_roundtrip(&m, &d);
    CHECK_EQ(d.u.write.count, WIRE_WRITE_TXS_MAX);
    CHECK(d.u.write.serials[0] == UINT64_MAX);
    for (unsigned i = 1; i < WIRE_WRITE_TXS_MAX; i++) {
        CHECK_EQ(d.u.write.serials[i], i);
        CHECK_EQ(d.u.write.results[i], i % 3);
    }
}

TEST(test_list_reply_roundtrip) {
    wire_reply_t m, d;
    reply_init(&m, WIRE_LIST);
    m.u.list.done = 1;
    m.u.list.cursor = UINT32_MAX - 1;
    m.u.list.next_cursor = UINT32_MAX;
    reply_roundtrip(&m, &d);
    CHECK_EQ(d.u.list.done, 1);
    CHECK(d.u.list.cursor == UINT32_MAX - 1);
    CHECK(d.u.list.next_cursor == UINT32_MAX);
    CHECK_EQ(d.u.list.count, 0);

    /* the most transactions a page holds: WIRE_LIST_TXS_MAX of the smallest (6 bytes: a
     * serial 1 above the one before, one-byte names and amount), far under 1200 bytes */
    reply_init(&m, WIRE_LIST);
    unsigned most = WIRE_LIST_TXS_MAX;
    m.u.list.count = (uint8_t)most;
    for (unsigned i = 0; i < most; i++) tx_make(&m.u.list.txs[i], 1 + i, 1, 1, 1 + i, i);
    CHECK_EQ(wire_list_tx_bytes(0, &m.u.list.txs[0]), 6);
    CHECK(WIRE_LIST_REPLY_FIXED_BYTES + most * 6 < DGRAM_BYTES_MAX);
    reply_roundtrip(&m, &d);
    CHECK_EQ(d.u.list.count, most);
    CHECK_EQ(d.u.list.done, 0);
    for (unsigned i = 0; i < most; i++) CHECK(tx_equal(&d.u.list.txs[i], &m.u.list.txs[i]));
    /* the extremes of the varints: serial 2^64 - 1 (10 bytes, from 0), AMOUNT_MAX (6) */
    reply_init(&m, WIRE_LIST);
    m.u.list.count = 2;
    tx_make(&m.u.list.txs[0], 127, 1, 1, 127, 0);        /* one byte each */
    tx_make(&m.u.list.txs[1], UINT64_MAX, 1, 1, AMOUNT_MAX, 1);
    CHECK_EQ(wire_list_tx_bytes(127, &m.u.list.txs[1]), 10 + 2 + 2 + 6);
    reply_roundtrip(&m, &d);
    CHECK(d.u.list.txs[1].serial == UINT64_MAX);
    CHECK(d.u.list.txs[1].amount == AMOUNT_MAX);
    /* a page that does not ascend, or repeats a serial, cannot be encoded */
    uint8_t buf[BIG_BYTES];
    m.u.list.txs[1].serial = 127;
    CHECK_EQ(wire_reply_encode(&m, buf, sizeof buf), 0);
    m.u.list.txs[1].serial = 100;
    CHECK_EQ(wire_reply_encode(&m, buf, sizeof buf), 0);
}

TEST(test_stats_reply_roundtrip) {
    wire_reply_t m, d;
    reply_init(&m, WIRE_STATS);
    m.u.stats.done = 1;
    reply_roundtrip(&m, &d);
    CHECK_EQ(d.u.stats.count, 0);
    CHECK_EQ(d.u.stats.done, 1);

    reply_init(&m, WIRE_STATS);
    m.u.stats.next_cursor = 12345;
    size_t room = DGRAM_BYTES_MAX - WIRE_STATS_REPLY_FIXED_BYTES;
    unsigned most = (unsigned)(room / wire_row_bytes(1));
    CHECK(most < WIRE_STATS_ROWS_MAX);
    m.u.stats.count = (uint8_t)most;
    static const int64_t nets[] = {INT64_MIN, INT64_MAX, -1, 0, 1, -20};
    for (unsigned i = 0; i < most; i++) {
        wname_make(&m.u.stats.rows[i].partner, 1, i);
        m.u.stats.rows[i].count = i == 0 ? UINT32_MAX : i;
        m.u.stats.rows[i].net = nets[i % AC_ARRAY_LEN(nets)];
    }
    reply_roundtrip(&m, &d);
    CHECK_EQ(d.u.stats.count, most);
    CHECK_EQ(d.u.stats.next_cursor, 12345);
    CHECK(d.u.stats.rows[0].count == UINT32_MAX);
    for (unsigned i = 0; i < most; i++) {
        CHECK(d.u.stats.rows[i].net == m.u.stats.rows[i].net);
        CHECK_STR(d.u.stats.rows[i].partner.s, m.u.stats.rows[i].partner.s);
    }
    /* 64-byte partner names */
    reply_init(&m, WIRE_STATS);
    m.u.stats.count = 3;
    for (unsigned i = 0; i < 3; i++) wname_make(&m.u.stats.rows[i].partner, NAME_BYTES_MAX, i);
    reply_roundtrip(&m, &d);
    CHECK_EQ(d.u.stats.rows[2].partner.len, NAME_BYTES_MAX);
}

/* -------------------------------------------------- UDP: greedy packing */

/* Packs transactions of the given sizes into a LIST reply the way a backend does: add while
 * the page stays <= DGRAM_BYTES_MAX. Returns the number packed. */
static unsigned list_pack(wire_reply_t *m, const tx_t *txs, unsigned n, size_t *size) {
    reply_init(m, WIRE_LIST);
    *size = WIRE_LIST_REPLY_FIXED_BYTES;
    unsigned k = 0;
    while (k < n && k < WIRE_LIST_TXS_MAX &&
           *size + wire_list_tx_bytes(k ? txs[k - 1].serial : 0, &txs[k]) <= DGRAM_BYTES_MAX) {
        *size += wire_list_tx_bytes(k ? txs[k - 1].serial : 0, &txs[k]);
        m->u.list.txs[k] = txs[k];
        k++;
    }
    m->u.list.count = (uint8_t)k;
    return k;
}

TEST(test_greedy_packing_list) {
    static tx_t txs[WIRE_LIST_TXS_MAX];
    static wire_reply_t m, d;
    uint8_t buf[BIG_BYTES];
    unsigned seed = 12345;
    for (int round = 0; round < 200; round++) {
        for (unsigned i = 0; i < WIRE_LIST_TXS_MAX; i++) {
            seed = seed * 1103515245u + 12345u;
            size_t a = 1 + (seed >> 8) % NAME_BYTES_MAX;
            size_t b = 1 + (seed >> 16) % NAME_BYTES_MAX;
            tx_make(&txs[i], 1 + i, a, b, 1 + (seed >> 4) % AMOUNT_MAX, seed);
        }
        size_t size = 0;
        unsigned k = list_pack(&m, txs, WIRE_LIST_TXS_MAX, &size);
        CHECK(k >= 1);
        size_t n = wire_reply_encode(&m, buf, sizeof buf);
        CHECK_EQ(n, size);
        CHECK(n <= DGRAM_BYTES_MAX);
        CHECK_EQ(wire_reply_decode(buf, n, &d), AC_OK);
        CHECK_EQ(d.u.list.count, k);
        if (k < WIRE_LIST_TXS_MAX) { /* the next one would not have fitted */
            CHECK(size + wire_list_tx_bytes(txs[k - 1].serial, &txs[k]) > DGRAM_BYTES_MAX);
            m.u.list.txs[k] = txs[k];
            m.u.list.count = (uint8_t)(k + 1);
            CHECK_EQ(wire_reply_encode(&m, buf, sizeof buf), 0);
        }
    }
}

TEST(test_packing_reaches_exactly_1200) {
    uint8_t buf[BIG_BYTES];
    static wire_reply_t m, d;
    static wire_req_t q, e;

    /* LIST: 16 transactions whose names sum to the exact room left */
    {
        enum { N = 16 };
        size_t room = DGRAM_BYTES_MAX - WIRE_LIST_REPLY_FIXED_BYTES - N * (1 + 1 + 1 + 1);
        size_t lens[2 * N];
        lengths_spread(lens, 2 * N, room);
        reply_init(&m, WIRE_LIST);
        m.u.list.count = N;
        for (unsigned i = 0; i < N; i++) {
            tx_make(&m.u.list.txs[i], 1 + i, lens[2 * i], lens[2 * i + 1], 5, i);
        }
        CHECK_EQ(wire_reply_encode(&m, buf, sizeof buf), DGRAM_BYTES_MAX);
        CHECK_EQ(wire_reply_decode(buf, DGRAM_BYTES_MAX, &d), AC_OK);
        /* one byte more (a longer name) and it no longer fits */
        tx_make(&m.u.list.txs[0], 1, lens[0] + 1, lens[1], 5, 0);
        CHECK_EQ(wire_reply_encode(&m, buf, sizeof buf), 0);
    }
    /* STATS: 16 rows */
    {
        enum { N = 16 };
        size_t room = DGRAM_BYTES_MAX - WIRE_STATS_REPLY_FIXED_BYTES - N * wire_row_bytes(0);
        size_t lens[N];
        lengths_spread(lens, N, room);
        reply_init(&m, WIRE_STATS);
        m.u.stats.count = N;
        for (unsigned i = 0; i < N; i++) wname_make(&m.u.stats.rows[i].partner, lens[i], i);
        CHECK_EQ(wire_reply_encode(&m, buf, sizeof buf), DGRAM_BYTES_MAX);
        CHECK_EQ(wire_reply_decode(buf, DGRAM_BYTES_MAX, &d), AC_OK);
        /* one more well-formed row (a copy of the first) makes it too big to accept */
        static uint8_t over[BIG_BYTES];
        size_t row = wire_row_bytes(lens[0]);
        memcpy(over, buf, DGRAM_BYTES_MAX);
        over[WIRE_STATS_REPLY_FIXED_BYTES - 1] = N + 1;
        memcpy(over + DGRAM_BYTES_MAX, buf + WIRE_STATS_REPLY_FIXED_BYTES, row);
        CHECK_EQ(wire_reply_decode(over, DGRAM_BYTES_MAX + row, &d), AC_EINVAL);
        wname_make(&m.u.stats.rows[0].partner, lens[0] + 1, 0);
        CHECK_EQ(wire_reply_encode(&m, buf, sizeof buf), 0);
    }
    /* WRITE: 10 transactions */
    {
        enum { N = 10 };
        size_t room = DGRAM_BYTES_MAX - WIRE_WRITE_REQ_FIXED_BYTES - N * (1 + 1 + 1 + 1);
        size_t lens[2 * N];
        lengths_spread(lens, 2 * N, room);
        req_init(&q, WIRE_WRITE);
        q.u.write.count = N;
        for (unsigned i = 0; i < N; i++) {
            tx_make(&q.u.write.txs[i], 1 + i, lens[2 * i], lens[2 * i + 1], 5, i);
        }
        CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), DGRAM_BYTES_MAX);
        CHECK_EQ(wire_req_decode(buf, DGRAM_BYTES_MAX, &e), AC_OK);
        CHECK_EQ(e.u.write.count, N);
        /* the same bytes plus one more well-formed transaction: refused for its size */
        static uint8_t over[BIG_BYTES];
        size_t tx_bytes = wire_list_tx_bytes(0, &q.u.write.txs[0]); /* a step of 1: serial N + 1 */
        memcpy(over, buf, DGRAM_BYTES_MAX);
        over[WIRE_WRITE_REQ_FIXED_BYTES - 1] = N + 1; /* the count, after the epoch */
        memcpy(over + DGRAM_BYTES_MAX, buf + WIRE_WRITE_REQ_FIXED_BYTES, tx_bytes);
        CHECK_EQ(wire_req_decode(over, DGRAM_BYTES_MAX + tx_bytes, &e), AC_EINVAL);
        over[WIRE_WRITE_REQ_FIXED_BYTES - 1] = 1; /* sanity: the added transaction itself is valid */
        memmove(over + WIRE_WRITE_REQ_FIXED_BYTES, over + DGRAM_BYTES_MAX, tx_bytes);
        CHECK_EQ(wire_req_decode(over, WIRE_WRITE_REQ_FIXED_BYTES + tx_bytes, &e), AC_OK);
        tx_make(&q.u.write.txs[0], 1, lens[0] + 1, lens[1], 5, 0);
        CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0);
    }
    /* a WRITE of 64 transactions with 64-byte names never fits: split by the sender */
    req_init(&q, WIRE_WRITE);
    q.u.write.count = WIRE_WRITE_TXS_MAX;
    for (unsigned i = 0; i < WIRE_WRITE_TXS_MAX; i++) {
        tx_make(&q.u.write.txs[i], 1 + i, NAME_BYTES_MAX, NAME_BYTES_MAX, 1, i);
    }
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0);
    /* a datagram over DGRAM_BYTES_MAX is refused by the decoders */
    uint8_t big[DGRAM_BYTES_MAX + 1];
    memset(big, 0, sizeof big);
    CHECK_EQ(wire_req_decode(big, sizeof big, &e), AC_EINVAL);
    CHECK_EQ(wire_reply_decode(big, sizeof big, &d), AC_EINVAL);
}

/* ------------------------------------------------------- UDP: rejects */

/* Decodes buf after one byte at off is replaced by v; returns the decoder's verdict. */
static int req_patched(const uint8_t *buf, size_t len, size_t off, uint8_t v) {
    static wire_req_t m;
    uint8_t copy[DGRAM_BYTES_MAX];
    memcpy(copy, buf, len);
    copy[off] = v;
    return wire_req_decode(copy, len, &m);
}

static int reply_patched(const uint8_t *buf, size_t len, size_t off, uint8_t v) {
    static wire_reply_t m;
    uint8_t copy[DGRAM_BYTES_MAX];
    memcpy(copy, buf, len);
    copy[off] = v;
    return wire_reply_decode(copy, len, &m);
}

static int req_patched_u64(const uint8_t *buf, size_t len, size_t off, uint64_t v) {
    static wire_req_t m;
    uint8_t copy[DGRAM_BYTES_MAX];
    memcpy(copy, buf, len);
    put_be(copy + off, v, 8);
    return wire_req_decode(copy, len, &m);
}

TEST(test_header_rejects) {
    wire_req_t q;
    req_init(&q, WIRE_LIST);
    q.u.list.max = 5;
    uint8_t buf[DGRAM_BYTES_MAX];
    size_t n = wire_req_encode(&q, buf, sizeof buf);
    CHECK_EQ(n, 27);
    CHECK_EQ(req_patched(buf, n, 0, WIRE_MAGIC), AC_OK);
    CHECK_EQ(req_patched(buf, n, 0, 0xA2), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 0, 0x00), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 1, 0), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 1, 1), AC_EINVAL); /* version 1: no epochs */
    CHECK_EQ(req_patched(buf, n, 1, 2), AC_EINVAL); /* version 2: a LIST of one page */
    CHECK_EQ(req_patched(buf, n, 1, 3), AC_EINVAL); /* version 3: a QUERY of 16 names */
    CHECK_EQ(req_patched(buf, n, 1, 4), AC_EINVAL); /* version 4: WRITEs of fixed-width txs */
    CHECK_EQ(req_patched(buf, n, 1, 6), AC_EINVAL);
    for (unsigned flags = 1; flags <= 0xFF; flags <<= 1) {
        CHECK_EQ(req_patched(buf, n, 3, (uint8_t)flags), AC_EINVAL);
    }
    static const uint8_t bad_req_types[] = {0, 5, 0x7F, 0x80, 0x81, 0x83, 0x84, 0xFF};
    for (size_t i = 0; i < sizeof bad_req_types; i++) {
        CHECK_EQ(req_patched(buf, n, 2, bad_req_types[i]), AC_EINVAL);
    }

    wire_reply_t r;
    reply_init(&r, WIRE_LIST);
    n = wire_reply_encode(&r, buf, sizeof buf);
    CHECK_EQ(reply_patched(buf, n, 2, WIRE_LIST | WIRE_REPLY), AC_OK);
    CHECK_EQ(reply_patched(buf, n, 0, 0xA0), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 1, 0), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 3, 1), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 3, 0x80), AC_EINVAL);
    static const uint8_t bad_reply_types[] = {0, 1, 3, 4, 0x80, 0x85, 0xFF};
    for (size_t i = 0; i < sizeof bad_reply_types; i++) {
        CHECK_EQ(reply_patched(buf, n, 2, bad_reply_types[i]), AC_EINVAL);
    }
    /* status: 0..3 only */
    CHECK_EQ(reply_patched(buf, n, 20, WIRE_ST_UNFENCED), AC_OK);
    CHECK_EQ(reply_patched(buf, n, 20, WIRE_ST_EPOCH), AC_OK);
    CHECK_EQ(reply_patched(buf, n, 20, 4), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 20, 0xFF), AC_EINVAL);
    /* empty and tiny inputs */
    static wire_req_t m;
    static wire_reply_t mr;
    CHECK_EQ(wire_req_decode(NULL, 0, &m), AC_EINVAL);
    CHECK_EQ(wire_reply_decode(NULL, 0, &mr), AC_EINVAL);
}

TEST(test_query_req_rejects) {
    wire_req_t q;
    req_init(&q, WIRE_QUERY);
    q.u.query.count = 2;
    name_set(&q.u.query.names[0], "ab");
    name_set(&q.u.query.names[1], "cd");
    uint8_t buf[DGRAM_BYTES_MAX];
    size_t n = wire_req_encode(&q, buf, sizeof buf);
    CHECK_EQ(n, 27);
    CHECK(req_refuses_truncations(buf, n));
    /* count: 20; names: 21 len, 22-23, 24 len, 25-26 */
    CHECK_EQ(req_patched(buf, n, 20, 3), AC_EINVAL);  /* says 3, has 2 */
    CHECK_EQ(req_patched(buf, n, 20, 1), AC_EINVAL);  /* says 1: trailing bytes */
    CHECK_EQ(req_patched(buf, n, 20, WIRE_QUERY_NAMES_MAX + 1), AC_EINVAL); /* over the maximum */
    CHECK_EQ(req_patched(buf, n, 21, 0), AC_EINVAL);  /* empty name */
    CHECK_EQ(req_patched(buf, n, 21, 3), AC_EINVAL);  /* length past the next */
    CHECK_EQ(req_patched(buf, n, 24, 65), AC_EINVAL); /* length past the end */
    CHECK_EQ(req_patched(buf, n, 22, ' '), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 23, 0), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 25, 0x80), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 26, '/'), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 26, '.'), AC_OK);

    /* 65 names even of full size: a 65-byte name length refused as well */
    req_init(&q, WIRE_QUERY);
    q.u.query.count = WIRE_QUERY_NAMES_MAX;
    for (unsigned i = 0; i < WIRE_QUERY_NAMES_MAX; i++) name_set(&q.u.query.names[i], "x");
    n = wire_req_encode(&q, buf, sizeof buf);
    uint8_t more[DGRAM_BYTES_MAX];
    memcpy(more, buf, n);
    more[20] = WIRE_QUERY_NAMES_MAX + 1;
    more[n] = 1;
    more[n + 1] = 'y';
    static wire_req_t m;
    CHECK_EQ(wire_req_decode(more, n + 2, &m), AC_EINVAL);
    more[20] = WIRE_QUERY_NAMES_MAX;
    CHECK_EQ(wire_req_decode(more, n, &m), AC_OK);

    /* a name of 65 bytes */
    uint8_t long_name[WIRE_HEADER_BYTES + 2 + NAME_BYTES_MAX + 1];
    memcpy(long_name, buf, WIRE_HEADER_BYTES);
    long_name[20] = 1;
    long_name[21] = NAME_BYTES_MAX + 1;
    memset(long_name + 22, 'a', NAME_BYTES_MAX + 1);
    CHECK_EQ(wire_req_decode(long_name, sizeof long_name, &m), AC_EINVAL);
    long_name[21] = NAME_BYTES_MAX; /* 64 + one trailing byte */
    CHECK_EQ(wire_req_decode(long_name, sizeof long_name, &m), AC_EINVAL);
    CHECK_EQ(wire_req_decode(long_name, sizeof long_name - 1, &m), AC_OK);
}

TEST(test_write_req_rejects) {
    wire_req_t q;
    req_init(&q, WIRE_WRITE);
    q.u.write.count = 1;
    tx_set(&q.u.write.txs[0], 5, "ab", 2, "cd", 2, 25);
    uint8_t buf[DGRAM_BYTES_MAX];
    size_t n = wire_req_encode(&q, buf, sizeof buf);
    /* 20-27 epoch, 28 count, then a page transaction (1.3): 29 serial step (varint), 30 len,
     * 31-32, 33 len, 34-35, 36 amount (varint) */
    CHECK_EQ(n, 37);
    CHECK_EQ(req_patched_u64(buf, n, 20, UINT64_MAX), AC_OK); /* any epoch */
    CHECK(req_refuses_truncations(buf, n));
    CHECK_EQ(req_patched(buf, n, 28, 0), AC_EINVAL);   /* count 0 */
    static wire_req_t m;
    uint8_t empty[WIRE_WRITE_REQ_FIXED_BYTES];
    memcpy(empty, buf, sizeof empty);
    empty[28] = 0; /* a WRITE of nothing, with nothing after it */
    CHECK_EQ(wire_req_decode(empty, sizeof empty, &m), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 28, 2), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 28, WIRE_WRITE_TXS_MAX + 1), AC_EINVAL); /* over the maximum */
    CHECK_EQ(req_patched(buf, n, 29, 0), AC_EINVAL);   /* a step of 0: serial 0 */
    CHECK_EQ(req_patched(buf, n, 29, 0x7F), AC_OK);    /* serial 127 */
    CHECK_EQ(req_patched(buf, n, 30, 0), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 31, '!'), AC_EINVAL); /* sender */
    CHECK_EQ(req_patched(buf, n, 33, 0), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 35, ' '), AC_EINVAL); /* receiver */
    CHECK_EQ(req_patched(buf, n, 36, 0), AC_EINVAL);   /* amount 0 */
    CHECK_EQ(req_patched(buf, n, 36, AMOUNT_MIN), AC_OK);
    /* the amount's varint: AMOUNT_MAX is taken, one more is refused, and so is a second
     * transaction that does not ascend (a step of 0 after the first) */
    uint8_t big[DGRAM_BYTES_MAX];
    memcpy(big, buf, 36);
    uint64_t amounts[2] = {AMOUNT_MAX, AMOUNT_MAX + 1};
    for (int k = 0; k < 2; k++) {
        size_t len = 36;
        for (uint64_t v = amounts[k]; ; v >>= 7) {
            big[len++] = (uint8_t)((v & 0x7F) | (v >= 0x80 ? 0x80 : 0));
            if (v < 0x80) break;
        }
        CHECK_EQ(wire_req_decode(big, len, &m), k == 0 ? AC_OK : AC_EINVAL);
    }
    memcpy(big, buf, n);
    big[28] = 2;
    memcpy(big + n, buf + 29, n - 29); /* the same transaction again: a step of 5, serial 10 */
    CHECK_EQ(wire_req_decode(big, n + (n - 29), &m), AC_OK);
    CHECK_EQ(m.u.write.txs[1].serial, 10);
    big[n] = 0; /* a step of 0: serial 5 again */
    CHECK_EQ(wire_req_decode(big, n + (n - 29), &m), AC_EINVAL);
}

TEST(test_list_and_stats_req_rejects) {
    wire_req_t q;
    uint8_t buf[DGRAM_BYTES_MAX];
    req_init(&q, WIRE_LIST);
    q.u.list.cursor = 3;
    q.u.list.max = 10;
    size_t n = wire_req_encode(&q, buf, sizeof buf);
    CHECK(req_refuses_truncations(buf, n));
    /* max: bytes 24-25 */
    CHECK_EQ(req_patched(buf, n, 25, 0), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 25, WIRE_LIST_TXS_MAX), AC_OK);
    CHECK_EQ(req_patched(buf, n, 25, WIRE_LIST_TXS_MAX + 1), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 24, 1), AC_EINVAL); /* 256 + 10 */
    /* pages: byte 26 */
    CHECK_EQ(req_patched(buf, n, 26, 0), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 26, WIRE_LIST_PAGES_MAX), AC_OK);
    CHECK_EQ(req_patched(buf, n, 26, WIRE_LIST_PAGES_MAX + 1), AC_EINVAL);

    req_init(&q, WIRE_STATS);
    name_set(&q.u.stats.user, "Luke");
    n = wire_req_encode(&q, buf, sizeof buf);
    CHECK_EQ(n, 20 + 5 + 4);
    CHECK(req_refuses_truncations(buf, n));
    CHECK_EQ(req_patched(buf, n, 20, 0), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 20, 5), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 20, 3), AC_EINVAL);
    CHECK_EQ(req_patched(buf, n, 21, '\n'), AC_EINVAL);
}

TEST(test_query_and_write_reply_rejects) {
    wire_reply_t r;
    uint8_t buf[DGRAM_BYTES_MAX];
    reply_init(&r, WIRE_QUERY);
    r.u.query.count = 1;
    r.u.query.totals[0].exists = 1;
    size_t n = wire_reply_encode(&r, buf, sizeof buf);
    /* 29-36 epoch, 37-44 max serial, 45-48 tx count, 49 count, 50 exists, 51-58, 59-66 */
    CHECK_EQ(n, 67);
    CHECK(reply_refuses_truncations(buf, n));
    CHECK_EQ(reply_patched(buf, n, 50, 0), AC_OK);
    CHECK_EQ(reply_patched(buf, n, 50, 2), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 50, 0xFF), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 49, 0), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 49, 2), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 49, 17), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 20, 4), AC_EINVAL);

    reply_init(&r, WIRE_WRITE);
    r.u.write.count = 2;
    r.u.write.serials[0] = 4;
    r.u.write.serials[1] = 5;
    r.u.write.results[1] = WIRE_TX_INVALID;
    n = wire_reply_encode(&r, buf, sizeof buf);
    /* 29-36 epoch, 37 count, 38-45 serial, 46 result, 47-54, 55 */
    CHECK_EQ(n, 56);
    CHECK(reply_refuses_truncations(buf, n));
    CHECK_EQ(reply_patched(buf, n, 46, WIRE_TX_CONFLICT), AC_OK);
    CHECK_EQ(reply_patched(buf, n, 46, WIRE_TX_FULL), AC_OK);
    CHECK_EQ(reply_patched(buf, n, 46, WIRE_TX_IOERR), AC_OK);
    CHECK_EQ(reply_patched(buf, n, 46, WIRE_TX_IOERR + 1), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 55, 0xFF), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 37, 33), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 37, 1), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 37, 3), AC_EINVAL);
}

/* A LIST page with the bytes of its transactions replaced by body[0..len) (count stays). */
static int list_body_decodes(uint8_t count, const uint8_t *body, size_t len) {
    static wire_reply_t r, d;
    reply_init(&r, WIRE_LIST);
    uint8_t buf[DGRAM_BYTES_MAX];
    size_t n = wire_reply_encode(&r, buf, sizeof buf);
    CHECK_EQ(n, WIRE_LIST_REPLY_FIXED_BYTES);
    buf[n - 1] = count;
    memcpy(buf + n, body, len);
    return wire_reply_decode(buf, n + len, &d);
}

/* The varints of a LIST page are read one way only: the shortest spelling, 64 bits at
 * most, serials strictly ascending within the page and never past 2^64 - 1. */
TEST(test_list_reply_varints) {
    /* serial 1, "a" -> "b", amount 1 */
    static const uint8_t ok[] = {0x01, 1, 'a', 1, 'b', 0x01};
    CHECK_EQ(list_body_decodes(1, ok, sizeof ok), AC_OK);
    static const uint8_t long_serial[] = {0x81, 0x00, 1, 'a', 1, 'b', 0x01};  /* 1 in 2 bytes */
    CHECK_EQ(list_body_decodes(1, long_serial, sizeof long_serial), AC_EINVAL);
    static const uint8_t long_amount[] = {0x01, 1, 'a', 1, 'b', 0x80, 0x01};  /* 128: fine */
    CHECK_EQ(list_body_decodes(1, long_amount, sizeof long_amount), AC_OK);
    static const uint8_t zero_group[] = {0x01, 1, 'a', 1, 'b', 0x80, 0x80, 0x00};
    CHECK_EQ(list_body_decodes(1, zero_group, sizeof zero_group), AC_EINVAL);
    /* 2^64 - 1 in 10 bytes; then one more serial (past 2^64) */
    static const uint8_t top[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
                                  1, 'a', 1, 'b', 0x01};
    CHECK_EQ(list_body_decodes(1, top, sizeof top), AC_OK);
    static const uint8_t past[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02,
                                   1, 'a', 1, 'b', 0x01};                  /* 2^64 + ... */
    CHECK_EQ(list_body_decodes(1, past, sizeof past), AC_EINVAL);
    static const uint8_t eleven[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x81,
                                     0x00, 1, 'a', 1, 'b', 0x01};
    CHECK_EQ(list_body_decodes(1, eleven, sizeof eleven), AC_EINVAL);
    static const uint8_t wraps[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
                                    1, 'a', 1, 'b', 0x01,  0x01, 1, 'a', 1, 'b', 0x01};
    CHECK_EQ(list_body_decodes(2, wraps, sizeof wraps), AC_EINVAL);
    /* two transactions: 5 then 5 + 3; a difference of 0 repeats a serial */
    static const uint8_t two[] = {0x05, 1, 'a', 1, 'b', 0x01, 0x03, 1, 'c', 1, 'd', 0x02};
    CHECK_EQ(list_body_decodes(2, two, sizeof two), AC_OK);
    static const uint8_t repeat[] = {0x05, 1, 'a', 1, 'b', 0x01, 0x00, 1, 'c', 1, 'd', 0x02};
    CHECK_EQ(list_body_decodes(2, repeat, sizeof repeat), AC_EINVAL);
    /* amounts: AMOUNT_MAX (6 bytes) and one above */
    uint8_t amt[6 + 6];
    size_t k = 0;
    amt[k++] = 0x01;
    amt[k++] = 1, amt[k++] = 'a', amt[k++] = 1, amt[k++] = 'b';
    for (uint64_t v = AMOUNT_MAX; ; v >>= 7) {
        if (v < 0x80) { amt[k++] = (uint8_t)v; break; }
        amt[k++] = (uint8_t)(0x80 | (v & 0x7F));
    }
    CHECK_EQ(k, 5 + 6);
    CHECK_EQ(list_body_decodes(1, amt, k), AC_OK);
    amt[5] = (uint8_t)(amt[5] + 1); /* AMOUNT_MAX + 1: its low group is not 0x7F */
    CHECK_EQ(list_body_decodes(1, amt, k), AC_EINVAL);
}

TEST(test_list_and_stats_reply_rejects) {
    wire_reply_t r;
    uint8_t buf[DGRAM_BYTES_MAX];
    reply_init(&r, WIRE_LIST);
    r.u.list.count = 1;
    tx_set(&r.u.list.txs[0], 9, "Ali", 3, "Luke", 4, 155);
    size_t n = wire_reply_encode(&r, buf, sizeof buf);
    /* 29-36 epoch, 37-40 cursor, 41-44 next, 45 done, 46 count, 47 serial (varint 9), 48 len,
     * 49-51, 52 len, 53-56, 57-58 amount (varint 155: 9b 01) */
    CHECK_EQ(n, 59);
    CHECK_EQ(buf[57], 0x9B);
    CHECK_EQ(buf[58], 0x01);
    CHECK(reply_refuses_truncations(buf, n));
    CHECK_EQ(reply_patched(buf, n, 40, 0xFF), AC_OK); /* any cursor */
    CHECK_EQ(reply_patched(buf, n, 45, 1), AC_OK);
    CHECK_EQ(reply_patched(buf, n, 45, 2), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 46, 0), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 46, 65), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 47, 0), AC_EINVAL);    /* serial 0 */
    CHECK_EQ(reply_patched(buf, n, 47, 0x7F), AC_OK);     /* serial 127 */
    CHECK_EQ(reply_patched(buf, n, 47, 0x89), AC_EINVAL); /* a varint running into the name */
    CHECK_EQ(reply_patched(buf, n, 49, '*'), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 52, 0), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 56, 0x7F), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 58, 0x00), AC_EINVAL); /* 9b 00: 27 spelt too long */
    CHECK_EQ(reply_patched(buf, n, 57, 0x00), AC_EINVAL); /* amount 0, a byte left over */

    reply_init(&r, WIRE_STATS);
    r.u.stats.count = 1;
    name_set(&r.u.stats.rows[0].partner, "Luke");
    r.u.stats.rows[0].count = 1;
    r.u.stats.rows[0].net = -20;
    n = wire_reply_encode(&r, buf, sizeof buf);
    /* 29-36 epoch, 37-40 next, 41 done, 42 count, 43 len, 44-47, 48-51 count, 52-59 net */
    CHECK_EQ(n, 60);
    CHECK(reply_refuses_truncations(buf, n));
    CHECK_EQ(buf[52], 0xFF);  /* -20 in two's complement */
    CHECK_EQ(buf[59], 0xEC);
    CHECK_EQ(reply_patched(buf, n, 41, 2), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 42, 97), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 42, 0), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 43, 0), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 43, 65), AC_EINVAL);
    CHECK_EQ(reply_patched(buf, n, 44, ' '), AC_EINVAL);
}

TEST(test_encoders_refuse_invalid_messages) {
    uint8_t buf[BIG_BYTES];
    wire_req_t q;
    wire_reply_t r;

    req_init(&q, 0);
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0);
    req_init(&q, WIRE_QUERY | WIRE_REPLY);
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0);
    req_init(&q, WIRE_QUERY);
    CHECK_EQ(wire_req_encode(&q, NULL, 100), 0);
    q.u.query.count = WIRE_QUERY_NAMES_MAX + 1;
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0);
    q.u.query.count = 1;
    name_set(&q.u.query.names[0], "a b");
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0);
    q.u.query.names[0].len = 0;
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0);

    req_init(&q, WIRE_WRITE);
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0); /* count 0 */
    q.u.write.count = WIRE_WRITE_TXS_MAX + 1;
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0);
    q.u.write.count = 1;
    tx_set(&q.u.write.txs[0], 1, "a", 1, "b", 1, 1);
    CHECK(wire_req_encode(&q, buf, sizeof buf) > 0);
    q.u.write.txs[0].serial = 0;
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0);
    q.u.write.txs[0].serial = 1;
    q.u.write.txs[0].amount = 0;
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0);
    q.u.write.txs[0].amount = AMOUNT_MAX + 1;
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0);
    q.u.write.txs[0].amount = -1;
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0);
    q.u.write.txs[0].amount = 1;
    q.u.write.txs[0].receiver_len = NAME_BYTES_MAX + 1;
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0);

    req_init(&q, WIRE_LIST);
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0); /* max 0 */
    q.u.list.max = WIRE_LIST_TXS_MAX + 1;
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0);
    req_init(&q, WIRE_STATS);
    CHECK_EQ(wire_req_encode(&q, buf, sizeof buf), 0); /* empty user */

    reply_init(&r, WIRE_QUERY);
    r.type = WIRE_QUERY;
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), 0);
    r.type = 0x85;
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), 0);
    reply_init(&r, WIRE_QUERY);
    r.status = WIRE_ST_EPOCH + 1;
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), 0);
    reply_init(&r, WIRE_QUERY);
    r.u.query.count = WIRE_QUERY_NAMES_MAX + 1;
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), 0);
    r.u.query.count = 1;
    r.u.query.totals[0].exists = 2;
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), 0);

    reply_init(&r, WIRE_WRITE);
    r.u.write.count = WIRE_WRITE_TXS_MAX + 1;
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), 0);
    r.u.write.count = 1;
    r.u.write.results[0] = WIRE_TX_IOERR + 1;
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), 0);

    reply_init(&r, WIRE_LIST);
    r.u.list.done = 2;
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), 0);
    r.u.list.done = 0;
    r.u.list.count = WIRE_LIST_TXS_MAX + 1;
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), 0);
    r.u.list.count = 1;
    tx_set(&r.u.list.txs[0], 1, "a", 1, "b", 1, 1);
    r.u.list.txs[0].serial = 0;
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), 0);

    reply_init(&r, WIRE_STATS);
    r.u.stats.done = 2;
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), 0);
    r.u.stats.done = 1;
    r.u.stats.count = WIRE_STATS_ROWS_MAX + 1;
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), 0);
    r.u.stats.count = 1;
    name_set(&r.u.stats.rows[0].partner, "x~");
    CHECK_EQ(wire_reply_encode(&r, buf, sizeof buf), 0);
    CHECK_EQ(wire_reply_encode(&r, NULL, 0), 0);
}

TEST(test_encoders_respect_cap_at_every_length) {
    uint8_t buf[BIG_BYTES];
    wire_req_t q;
    req_init(&q, WIRE_WRITE);
    q.u.write.count = 3;
    for (unsigned i = 0; i < 3; i++) tx_make(&q.u.write.txs[i], 10 + i, 7, 9, 100, i);
    size_t n = wire_req_encode(&q, buf, sizeof buf);
    CHECK(n > 0);
    for (size_t cap = 0; cap < n; cap++) {
        memset(buf, 0xEE, sizeof buf);
        CHECK_EQ(wire_req_encode(&q, buf, cap), 0);
        CHECK_EQ(buf[cap], 0xEE); /* never a byte past cap */
    }
    wire_reply_t r;
    reply_init(&r, WIRE_STATS);
    r.u.stats.count = 2;
    name_set(&r.u.stats.rows[0].partner, "Luke");
    name_set(&r.u.stats.rows[1].partner, "Oliver");
    n = wire_reply_encode(&r, buf, sizeof buf);
    for (size_t cap = 0; cap < n; cap++) {
        memset(buf, 0xEE, sizeof buf);
        CHECK_EQ(wire_reply_encode(&r, buf, cap), 0);
        CHECK_EQ(buf[cap], 0xEE);
    }
}

/* Decoding arbitrary bytes never crashes, and whatever decodes re-encodes identically. */
TEST(test_random_bytes_are_safe) {
    static wire_req_t q;
    static wire_reply_t r;
    uint8_t buf[DGRAM_BYTES_MAX], again[DGRAM_BYTES_MAX];
    unsigned seed = 99;
    for (int round = 0; round < 20000; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = WIRE_HEADER_BYTES + (seed >> 8) % 80;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (uint8_t)(seed >> 16);
            if ((seed >> 4) % 4 != 0) buf[i] &= 0x3F; /* small values: counts, lengths */
        }
        buf[0] = WIRE_MAGIC;
        buf[1] = WIRE_VERSION;
        buf[2] = (uint8_t)(1 + (seed >> 24) % 4);
        if (round % 2) buf[2] |= WIRE_REPLY;
        buf[3] = 0;
        if (wire_req_decode(buf, len, &q) == AC_OK) {
            CHECK_EQ(wire_req_encode(&q, again, sizeof again), len);
            CHECK(memcmp(buf, again, len) == 0);
        }
        if (wire_reply_decode(buf, len, &r) == AC_OK) {
            CHECK_EQ(wire_reply_encode(&r, again, sizeof again), len);
            CHECK(memcmp(buf, again, len) == 0);
        }
    }
}

/* ----------------------------------------------------------- TCP: requests */

static void creq_roundtrip(const wire_creq_t *r, const char *expect) {
    char buf[TCP_LINE_BYTES_MAX];
    size_t n = wire_creq_encode(r, buf, sizeof buf);
    CHECK_EQ(n, strlen(expect));
    CHECK(n > 0 && n <= TCP_REQUEST_BYTES_MAX);
    CHECK(n > 0 && memcmp(buf, expect, n) == 0);
    CHECK_EQ(wire_creq_encode(r, buf, n), n);
    CHECK_EQ(wire_creq_encode(r, buf, n - 1), 0);
    wire_creq_t d;
    CHECK_EQ(wire_creq_decode(expect, strlen(expect) - 1, &d), AC_OK);
    CHECK_EQ(d.op, r->op);
    CHECK_STR(d.user.s, r->user.s);
    CHECK_EQ(d.user.len, r->user.len);
    if (r->op == CREQ_TRANSFER) {
        CHECK_STR(d.receiver.s, r->receiver.s);
        CHECK_EQ(d.amount, r->amount);
    }
}

TEST(test_creq_roundtrip) {
    wire_creq_t r;
    memset(&r, 0, sizeof r);
    r.op = CREQ_BALANCE;
    name_set(&r.user, "Chinmay");
    creq_roundtrip(&r, "ALICHAIN/1 BALANCE Chinmay\n");
    r.op = CREQ_STATS;
    creq_roundtrip(&r, "ALICHAIN/1 STATS Chinmay\n");
    memset(&r, 0, sizeof r);
    r.op = CREQ_TXLIST;
    creq_roundtrip(&r, "ALICHAIN/1 TXLIST\n");
    r.op = CREQ_KEEPALIVE; /* a persistent connection's first line */
    creq_roundtrip(&r, "ALICHAIN/1 KEEPALIVE\n");
    r.op = CREQ_TRANSFER;
    name_set(&r.user, "Chinmay");
    name_set(&r.receiver, "Luke");
    r.amount = 20;
    creq_roundtrip(&r, "ALICHAIN/1 TRANSFER Chinmay Luke 20\n");
    r.amount = AMOUNT_MIN;
    creq_roundtrip(&r, "ALICHAIN/1 TRANSFER Chinmay Luke 1\n");
    r.amount = AMOUNT_MAX;
    creq_roundtrip(&r, "ALICHAIN/1 TRANSFER Chinmay Luke 1000000000000\n");
    /* the longest request: two 64-byte names, the largest amount */
    char a[NAME_BYTES_MAX + 1], b[NAME_BYTES_MAX + 1], expect[TCP_LINE_BYTES_MAX];
    name_make(a, NAME_BYTES_MAX, 1);
    name_make(b, NAME_BYTES_MAX, 2);
    name_set(&r.user, a);
    name_set(&r.receiver, b);
    strcpy(expect, "ALICHAIN/1 TRANSFER ");
    strcat(expect, a);
    strcat(expect, " ");
    strcat(expect, b);
    strcat(expect, " 1000000000000\n");
    creq_roundtrip(&r, expect);
    /* the same user twice is a valid request (the reply is REFUSED SAME) */
    name_set(&r.receiver, a);
    strcpy(expect, "ALICHAIN/1 TRANSFER ");
    strcat(expect, a);
    strcat(expect, " ");
    strcat(expect, a);
    strcat(expect, " 1000000000000\n");
    creq_roundtrip(&r, expect);
}

static int creq_rejects(const char *line) {
    wire_creq_t d;
    return wire_creq_decode(line, strlen(line), &d) == AC_EINVAL;
}

TEST(test_creq_rejects) {
    static const char *const bad[] = {
        "", " ", "ALICHAIN/1", "ALICHAIN/1 ", "ALICHAIN/2 BALANCE a", "alichain/1 BALANCE a",
        "ALICHAIN/1 balance a", "ALICHAIN/1 BALANCE", "ALICHAIN/1 BALANCE ",
        "ALICHAIN/1 BALANCE a b", "ALICHAIN/1  BALANCE a", "ALICHAIN/1 BALANCE  a",
        "ALICHAIN/1 BALANCE a ", " ALICHAIN/1 BALANCE a", "ALICHAIN/1 BALANCE a\r",
        "ALICHAIN/1 BALANCE\ta", "ALICHAIN/1 BALANCEa", "ALICHAIN/1BALANCE a",
        "ALICHAIN/1 BALANCE a/b", "ALICHAIN/1 BALANCE \"a\"",
        "ALICHAIN/1 BALANCE 12345678901234567890123456789012345678901234567890123456789012345",
        "ALICHAIN/1 TRANSFER a b", "ALICHAIN/1 TRANSFER a b 0", "ALICHAIN/1 TRANSFER a b 05",
        "ALICHAIN/1 TRANSFER a b 1000000000001", "ALICHAIN/1 TRANSFER a b 99999999999999",
        "ALICHAIN/1 TRANSFER a b +5", "ALICHAIN/1 TRANSFER a b -5", "ALICHAIN/1 TRANSFER a b 5x",
        "ALICHAIN/1 TRANSFER a b 5 6", "ALICHAIN/1 TRANSFER a b 5 ", "ALICHAIN/1 TRANSFER a  b 5",
        "ALICHAIN/1 TRANSFER a% b 5", "ALICHAIN/1 TRANSFER a b% 5",
        "ALICHAIN/1 TXLIST x", "ALICHAIN/1 TXLIST ", "ALICHAIN/1 TXLISTS", "ALICHAIN/1 STATS",
        "ALICHAIN/1 STATS a b", "ALICHAIN/1 STATS a stats", "ALICHAIN/1 WHAT a",
        "ALICHAIN/1 KEEPALIVE 1", "ALICHAIN/1 KEEPALIVE ", "ALICHAIN/1 KEEPALIVEX",
        "ALICHAIN/1 keepalive", "ALICHAIN/2 KEEPALIVE", "ALICHAIN/1  KEEPALIVE",
    };
    for (size_t i = 0; i < AC_ARRAY_LEN(bad); i++) {
        if (!creq_rejects(bad[i])) {
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
            CHECK(0);
        }
    }
    /* a NUL inside the line */
    wire_creq_t d;
    CHECK_EQ(wire_creq_decode("ALICHAIN/1 BALANCE a\0b", 22, &d), AC_EINVAL);
    CHECK_EQ(wire_creq_decode("ALICHAIN/1 BALANCE a\0b", 20, &d), AC_OK);
    CHECK_EQ(wire_creq_decode(NULL, 0, &d), AC_EINVAL);
}

TEST(test_creq_encode_rejects) {
    char buf[TCP_LINE_BYTES_MAX];
    wire_creq_t r;
    memset(&r, 0, sizeof r);
    r.op = (creq_op_t)0;
    CHECK_EQ(wire_creq_encode(&r, buf, sizeof buf), 0);
    r.op = (creq_op_t)(CREQ_KEEPALIVE + 1);
    CHECK_EQ(wire_creq_encode(&r, buf, sizeof buf), 0);
    r.op = CREQ_BALANCE; /* empty name */
    CHECK_EQ(wire_creq_encode(&r, buf, sizeof buf), 0);
    name_set(&r.user, "a b");
    CHECK_EQ(wire_creq_encode(&r, buf, sizeof buf), 0);
    r.op = CREQ_TRANSFER;
    name_set(&r.user, "a");
    name_set(&r.receiver, "b");
    r.amount = 0;
    CHECK_EQ(wire_creq_encode(&r, buf, sizeof buf), 0);
    r.amount = AMOUNT_MAX + 1;
    CHECK_EQ(wire_creq_encode(&r, buf, sizeof buf), 0);
    r.amount = 5;
    CHECK_EQ(wire_creq_encode(&r, buf, sizeof buf), strlen("ALICHAIN/1 TRANSFER a b 5\n"));
    CHECK_EQ(wire_creq_encode(&r, NULL, 0), 0);
    r.receiver.len = 0;
    CHECK_EQ(wire_creq_encode(&r, buf, sizeof buf), 0);
}

/* ------------------------------------------------------------ TCP: replies */

static void crep_roundtrip(const wire_crep_t *r, const char *expect) {
    char buf[TCP_LINE_BYTES_MAX + 8];
    size_t n = wire_crep_encode(r, buf, sizeof buf);
    CHECK_EQ(n, strlen(expect));
    CHECK(n > 0 && n <= TCP_LINE_BYTES_MAX);
    if (n == 0 || memcmp(buf, expect, n) != 0) {
        fprintf(stderr, "expected \"%s\", got \"%.*s\"\n", expect, (int)n, buf);
        CHECK(0);
    }
    CHECK_EQ(wire_crep_encode(r, buf, n), n);
    CHECK_EQ(wire_crep_encode(r, buf, n - 1), 0);
    wire_crep_t d;
    CHECK_EQ(wire_crep_decode(expect, strlen(expect) - 1, &d), AC_OK);
    char again[TCP_LINE_BYTES_MAX];
    CHECK_EQ(wire_crep_encode(&d, again, sizeof again), n);
    CHECK(memcmp(again, expect, n) == 0);
    CHECK_EQ(d.kind, r->kind);
}

static void crep_init(wire_crep_t *r, crep_kind_t kind) {
    memset(r, 0, sizeof *r);
    r->kind = kind;
}

TEST(test_crep_roundtrip) {
    wire_crep_t r, d;
    crep_init(&r, CREP_BALANCE);
    r.balance = 881;
    crep_roundtrip(&r, "OK BALANCE 881\n");
    r.balance = 0;
    crep_roundtrip(&r, "OK BALANCE 0\n");
    r.balance = -20;
    crep_roundtrip(&r, "OK BALANCE -20\n");
    r.balance = INT64_MAX;
    crep_roundtrip(&r, "OK BALANCE 9223372036854775807\n");
    r.balance = INT64_MIN;
    crep_roundtrip(&r, "OK BALANCE -9223372036854775808\n");
    CHECK_EQ(wire_crep_decode("OK BALANCE -9223372036854775808", 31, &d), AC_OK);
    CHECK(d.balance == INT64_MIN);

    crep_init(&r, CREP_TRANSFER);
    r.balance = 861;
    r.serial = 10;
    crep_roundtrip(&r, "OK TRANSFER 861 10\n");
    r.balance = -1;
    r.serial = UINT64_MAX;
    crep_roundtrip(&r, "OK TRANSFER -1 18446744073709551615\n");
    CHECK_EQ(wire_crep_decode("OK TRANSFER -1 18446744073709551615", 35, &d), AC_OK);
    CHECK(d.serial == UINT64_MAX);
    CHECK_EQ(d.balance, -1);

    crep_init(&r, CREP_TXLIST);
    r.count = 10;
    strcpy(r.text, "alichain.txt");
    crep_roundtrip(&r, "OK TXLIST 10 alichain.txt\n");
    r.count = 0;
    strcpy(r.text, "/tmp/my lists/a b.txt");
    crep_roundtrip(&r, "OK TXLIST 0 /tmp/my lists/a b.txt\n");
    strcpy(r.text, " lead space");
    crep_roundtrip(&r, "OK TXLIST 0  lead space\n");
    r.count = UINT64_MAX;
    strcpy(r.text, "caf\xc3\xa9.txt"); /* UTF-8 is allowed in the path */
    crep_roundtrip(&r, "OK TXLIST 18446744073709551615 caf\xc3\xa9.txt\n");
    char longest[PATH_BYTES_MAX + 1], expect[TCP_LINE_BYTES_MAX];
    memset(longest, 'p', PATH_BYTES_MAX);
    longest[PATH_BYTES_MAX] = '\0';
    strcpy(r.text, longest);
    strcpy(expect, "OK TXLIST 18446744073709551615 ");
    strcat(expect, longest);
    strcat(expect, "\n");
    crep_roundtrip(&r, expect);

    crep_init(&r, CREP_STATS);
    r.count = 3;
    crep_roundtrip(&r, "OK STATS 3\n");
    r.count = 0;
    crep_roundtrip(&r, "OK STATS 0\n");
    r.count = STATS_PARTNERS_MAX;
    crep_roundtrip(&r, "OK STATS 1000000\n");

    crep_init(&r, CREP_NOUSER);
    name_set(&r.names[0], "Nobody");
    crep_roundtrip(&r, "REFUSED NOUSER Nobody\n");
    crep_init(&r, CREP_NOUSERS);
    name_set(&r.names[0], "X1");
    name_set(&r.names[1], "Y2");
    crep_roundtrip(&r, "REFUSED NOUSERS X1 Y2\n");
    CHECK_EQ(wire_crep_decode("REFUSED NOUSERS X1 Y2", 21, &d), AC_OK);
    CHECK_STR(d.names[0].s, "X1");
    CHECK_STR(d.names[1].s, "Y2");
    char a[NAME_BYTES_MAX + 1];
    name_make(a, NAME_BYTES_MAX, 4);
    name_set(&r.names[0], a);
    name_set(&r.names[1], a);
    strcpy(expect, "REFUSED NOUSERS ");
    strcat(expect, a);
    strcat(expect, " ");
    strcat(expect, a);
    strcat(expect, "\n");
    crep_roundtrip(&r, expect);

    crep_init(&r, CREP_SAME);
    crep_roundtrip(&r, "REFUSED SAME\n");
    crep_init(&r, CREP_KEEPALIVE);
    crep_roundtrip(&r, "OK KEEPALIVE\n");
    CHECK_EQ(wire_crep_decode("OK KEEPALIVE 1", 14, &d), AC_EINVAL);
    CHECK_EQ(wire_crep_decode("OK KEEPALIVE ", 13, &d), AC_EINVAL);
    crep_init(&r, CREP_INSUFFICIENT);
    r.balance = 5;
    crep_roundtrip(&r, "REFUSED INSUFFICIENT 5\n");
    r.balance = -3;
    crep_roundtrip(&r, "REFUSED INSUFFICIENT -3\n");

    static const char *const letters[] = {"A", "B", "C", "AB", "AC", "BC", "ABC"};
    for (size_t i = 0; i < AC_ARRAY_LEN(letters); i++) {
        crep_init(&r, CREP_UNAVAILABLE);
        strcpy(r.text, letters[i]);
        strcpy(expect, "ERROR UNAVAILABLE ");
        strcat(expect, letters[i]);
        strcat(expect, "\n");
        crep_roundtrip(&r, expect);
    }
    crep_init(&r, CREP_UNKNOWN);
    crep_roundtrip(&r, "ERROR UNKNOWN\n");
    crep_init(&r, CREP_BUSY);
    crep_roundtrip(&r, "ERROR BUSY\n");
    crep_init(&r, CREP_BADREQ);
    crep_roundtrip(&r, "ERROR BADREQ\n");
    crep_init(&r, CREP_INTERNAL);
    strcpy(r.text, "txlist write failed");
    crep_roundtrip(&r, "ERROR INTERNAL txlist write failed\n");
    CHECK_EQ(wire_crep_decode("ERROR INTERNAL txlist write failed", 34, &d), AC_OK);
    CHECK_STR(d.text, "txlist write failed");
    memset(longest, '~', PATH_BYTES_MAX);
    strcpy(r.text, longest);
    strcpy(expect, "ERROR INTERNAL ");
    strcat(expect, longest);
    strcat(expect, "\n");
    crep_roundtrip(&r, expect);
}

static int crep_rejects(const char *line) {
    wire_crep_t d;
    return wire_crep_decode(line, strlen(line), &d) == AC_EINVAL;
}

TEST(test_crep_rejects) {
    static const char *const bad[] = {
        "", "OK", "OK ", "ok BALANCE 5", "OK balance 5", "OK BALANCE", "OK BALANCE ",
        "OK BALANCE +5", "OK BALANCE -0", "OK BALANCE 05", "OK BALANCE -05", "OK BALANCE -",
        "OK BALANCE 5 ", " OK BALANCE 5", "OK  BALANCE 5", "OK BALANCE  5", "OK BALANCE 5x",
        "OK BALANCE 1 2", "OK BALANCE 9223372036854775808", "OK BALANCE -9223372036854775809",
        "OK BALANCE 99999999999999999999999", "OK BALANCE 5\r", "OK BALANCES 5",
        "OK TRANSFER 5", "OK TRANSFER 5 0", "OK TRANSFER 5 -1",
        "OK TRANSFER 5 18446744073709551616",
        "OK TRANSFER 5 6 7", "OK TRANSFER x 6",
        "OK TXLIST 3", "OK TXLIST 3 ", "OK TXLIST x a.txt", "OK TXLIST -1 a.txt", "OK TXLIST a.txt",
        "OK TXLIST 3 a\tb", "OK TXLIST 3 a\x7f", "OK TXLIST 3 a\x1b[0m",
        "OK STATS", "OK STATS 1000001", "OK STATS 3 4", "OK STATS -1",
        "REFUSED", "REFUSED NOUSER", "REFUSED NOUSER a b", "REFUSED NOUSER a!", "REFUSED NOUSERS a",
        "REFUSED NOUSERS a b c", "REFUSED NOUSERSX a b", "REFUSED SAME x", "REFUSED SAME ",
        "REFUSED INSUFFICIENT", "REFUSED INSUFFICIENT x",
        "ERROR", "ERROR UNAVAILABLE", "ERROR UNAVAILABLE ", "ERROR UNAVAILABLE D",
        "ERROR UNAVAILABLE a", "ERROR UNAVAILABLE BA", "ERROR UNAVAILABLE AA",
        "ERROR UNAVAILABLE CB",
        "ERROR UNAVAILABLE ABCA", "ERROR UNAVAILABLE A B", "ERROR UNAVAILABLE @",
        "ERROR UNKNOWN ", "ERROR UNKNOWN x", "ERROR BUSY 1", "ERROR BADREQ x", "ERROR INTERNAL",
        "ERROR INTERNAL ", "ERROR INTERNAL a\tb", "ERROR INTERNAL caf\xc3\xa9", "ERROR WHAT",
        "WHAT", "OK WHAT 5", "REFUSED WHAT",
    };
    for (size_t i = 0; i < AC_ARRAY_LEN(bad); i++) {
        if (!crep_rejects(bad[i])) {
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
            CHECK(0);
        }
    }
    /* text fields longer than PATH_BYTES_MAX */
    char line[TCP_LINE_BYTES_MAX];
    strcpy(line, "OK TXLIST 1 ");
    size_t head = strlen(line);
    memset(line + head, 'x', PATH_BYTES_MAX + 1);
    wire_crep_t d;
    CHECK_EQ(wire_crep_decode(line, head + PATH_BYTES_MAX + 1, &d), AC_EINVAL);
    CHECK_EQ(wire_crep_decode(line, head + PATH_BYTES_MAX, &d), AC_OK);
    CHECK_EQ(strlen(d.text), PATH_BYTES_MAX);
    strcpy(line, "ERROR INTERNAL ");
    head = strlen(line);
    memset(line + head, 'y', PATH_BYTES_MAX + 1);
    CHECK_EQ(wire_crep_decode(line, head + PATH_BYTES_MAX + 1, &d), AC_EINVAL);
    CHECK_EQ(wire_crep_decode(line, head + PATH_BYTES_MAX, &d), AC_OK);
    /* a NUL in a text field */
    CHECK_EQ(wire_crep_decode("ERROR INTERNAL a\0b", 18, &d), AC_EINVAL);
    CHECK_EQ(wire_crep_decode("OK TXLIST 1 a\0b", 15, &d), AC_EINVAL);
    CHECK_EQ(wire_crep_decode(NULL, 0, &d), AC_EINVAL);
}

TEST(test_crep_encode_rejects) {
    char buf[TCP_LINE_BYTES_MAX];
    wire_crep_t r;
    crep_init(&r, (crep_kind_t)0);
    CHECK_EQ(wire_crep_encode(&r, buf, sizeof buf), 0);
    crep_init(&r, (crep_kind_t)(CREP_INTERNAL + 1));
    CHECK_EQ(wire_crep_encode(&r, buf, sizeof buf), 0);
    crep_init(&r, CREP_TRANSFER); /* serial 0 */
    CHECK_EQ(wire_crep_encode(&r, buf, sizeof buf), 0);
    crep_init(&r, CREP_STATS);
    r.count = STATS_PARTNERS_MAX + 1;
    CHECK_EQ(wire_crep_encode(&r, buf, sizeof buf), 0);
    crep_init(&r, CREP_NOUSER); /* empty name */
    CHECK_EQ(wire_crep_encode(&r, buf, sizeof buf), 0);
    crep_init(&r, CREP_NOUSERS);
    name_set(&r.names[0], "a");
    CHECK_EQ(wire_crep_encode(&r, buf, sizeof buf), 0);
    crep_init(&r, CREP_TXLIST); /* empty file */
    CHECK_EQ(wire_crep_encode(&r, buf, sizeof buf), 0);
    strcpy(r.text, "a\nb");
    CHECK_EQ(wire_crep_encode(&r, buf, sizeof buf), 0);
    memset(r.text, 'x', sizeof r.text); /* no NUL at all: too long */
    CHECK_EQ(wire_crep_encode(&r, buf, sizeof buf), 0);
    crep_init(&r, CREP_UNAVAILABLE);
    CHECK_EQ(wire_crep_encode(&r, buf, sizeof buf), 0);
    strcpy(r.text, "CA");
    CHECK_EQ(wire_crep_encode(&r, buf, sizeof buf), 0);
    strcpy(r.text, "ABCC");
    CHECK_EQ(wire_crep_encode(&r, buf, sizeof buf), 0);
    crep_init(&r, CREP_INTERNAL);
    CHECK_EQ(wire_crep_encode(&r, buf, sizeof buf), 0);
    strcpy(r.text, "bad\x01");
    CHECK_EQ(wire_crep_encode(&r, buf, sizeof buf), 0);
    crep_init(&r, CREP_BUSY);
    CHECK_EQ(wire_crep_encode(&r, NULL, 0), 0);
    CHECK_EQ(wire_crep_encode(&r, buf, sizeof buf), 11);
}

TEST(test_crep_exit_codes) {
    CHECK_EQ(wire_crep_exit_code(CREP_BALANCE), 0);
    CHECK_EQ(wire_crep_exit_code(CREP_TRANSFER), 0);
    CHECK_EQ(wire_crep_exit_code(CREP_TXLIST), 0);
    CHECK_EQ(wire_crep_exit_code(CREP_STATS), 0);
    CHECK_EQ(wire_crep_exit_code(CREP_KEEPALIVE), 0);
    CHECK_EQ(wire_crep_exit_code(CREP_NOUSER), 1);
    CHECK_EQ(wire_crep_exit_code(CREP_NOUSERS), 1);
    CHECK_EQ(wire_crep_exit_code(CREP_SAME), 1);
    CHECK_EQ(wire_crep_exit_code(CREP_INSUFFICIENT), 1);
    CHECK_EQ(wire_crep_exit_code(CREP_UNAVAILABLE), 3);
    CHECK_EQ(wire_crep_exit_code(CREP_UNKNOWN), 3);
    CHECK_EQ(wire_crep_exit_code(CREP_BUSY), 3);
    CHECK_EQ(wire_crep_exit_code(CREP_BADREQ), 3);
    CHECK_EQ(wire_crep_exit_code(CREP_INTERNAL), 3);
    CHECK_EQ(wire_crep_exit_code((crep_kind_t)0), 3);
    CHECK_EQ(wire_crep_exit_code((crep_kind_t)99), 3);
}

/* ----------------------------------------------------------- TCP: stats rows */

TEST(test_crow_roundtrip_and_rejects) {
    char buf[TCP_LINE_BYTES_MAX];
    wire_crow_t r, d;
    memset(&r, 0, sizeof r);
    r.rank = 1;
    name_set(&r.partner, "Luke");
    r.count = 1;
    r.net = -20;
    size_t n = wire_crow_encode(&r, buf, sizeof buf);
    CHECK_EQ(n, strlen("1 Luke 1 -20\n"));
    CHECK(memcmp(buf, "1 Luke 1 -20\n", n) == 0);
    CHECK_EQ(wire_crow_decode(buf, n - 1, &d), AC_OK);
    CHECK_EQ(d.rank, 1);
    CHECK_STR(d.partner.s, "Luke");
    CHECK_EQ(d.count, 1);
    CHECK_EQ(d.net, -20);
    CHECK_EQ(wire_crow_encode(&r, buf, n), n);
    CHECK_EQ(wire_crow_encode(&r, buf, n - 1), 0);

    /* extremes */
    r.rank = UINT64_MAX;
    wname_make(&r.partner, NAME_BYTES_MAX, 6);
    r.count = UINT64_MAX;
    r.net = INT64_MIN;
    n = wire_crow_encode(&r, buf, sizeof buf);
    CHECK_EQ(n, 20 + 1 + NAME_BYTES_MAX + 1 + 20 + 1 + 20 + 1);
    CHECK_EQ(wire_crow_decode(buf, n - 1, &d), AC_OK);
    CHECK(d.rank == UINT64_MAX);
    CHECK(d.count == UINT64_MAX);
    CHECK(d.net == INT64_MIN);
    CHECK_STR(d.partner.s, r.partner.s);
    r.net = INT64_MAX;
    r.rank = 0;
    r.count = 0;
    n = wire_crow_encode(&r, buf, sizeof buf);
    CHECK_EQ(wire_crow_decode(buf, n - 1, &d), AC_OK);
    CHECK(d.net == INT64_MAX);

    r.partner.len = 0;
    CHECK_EQ(wire_crow_encode(&r, buf, sizeof buf), 0);
    CHECK_EQ(wire_crow_encode(&r, NULL, 0), 0);

    static const char *const bad[] = {
        "", "1", "1 Luke", "1 Luke 1", "1 Luke 1 -20 x", "1 Luke 1 -20 ", " 1 Luke 1 -20",
        "1  Luke 1 -20", "01 Luke 1 -20", "+1 Luke 1 -20", "1 Lu/ke 1 -20", "1 Luke -1 -20",
        "1 Luke 1 -0", "1 Luke 1 +20", "1 Luke 1 20x", "18446744073709551616 Luke 1 1",
        "1 Luke 1 9223372036854775808", "x Luke 1 1",
    };
    for (size_t i = 0; i < AC_ARRAY_LEN(bad); i++) {
        if (wire_crow_decode(bad[i], strlen(bad[i]), &d) != AC_EINVAL) {
            fprintf(stderr, "accepted row: \"%s\"\n", bad[i]);
            CHECK(0);
        }
    }
}

/* ------------------------------------------------------- TCP: line assembly */

#define STREAM_LINES_MAX 64

typedef struct {
    char lines[STREAM_LINES_MAX][TCP_LINE_BYTES_MAX];
    size_t lens[STREAM_LINES_MAX];
    size_t count;
    int full;
} collected_t;

/* Feeds data in chunks of the given sizes (cycled), collecting complete lines. */
static void lines_feed(wire_lines_t *lb, const char *data, size_t len, const size_t *chunks,
                       size_t chunk_count, collected_t *out) {
    memset(out, 0, sizeof *out);
    size_t pos = 0, c = 0;
    while (pos < len) {
        size_t n = chunks[c++ % chunk_count];
        if (n > len - pos) n = len - pos;
        size_t off = 0;
        int guard = 0;
        while (off < n) {
            size_t used = 0, avail = n - off;
            const char *line = NULL;
            size_t line_len = 0;
            int rc = wire_lines_take(lb, (const uint8_t *)data + pos + off, avail, &used, &line,
                                     &line_len);
            CHECK(used <= avail);
            off += used;
            if (rc == AC_EFULL) {
                out->full = 1;
                return;
            }
            if (rc == 1) {
                CHECK(out->count < STREAM_LINES_MAX);
                CHECK(used >= 1);
                memcpy(out->lines[out->count], line, line_len);
                out->lens[out->count++] = line_len;
            } else {
                CHECK_EQ(rc, 0);
                CHECK_EQ(used, avail); /* no line: everything was consumed */
            }
            CHECK(++guard < 10000);
        }
        pos += n;
    }
}

static const char stream[] =
    "OK STATS 2\r\n1 Luke 1 -20\n2 Oliver 1 -129\n\n\r\nx\r\r\nlast";

static void stream_check(const collected_t *got) {
    static const char *const expect[] = {"OK STATS 2", "1 Luke 1 -20", "2 Oliver 1 -129", "",
                                         "", "x\r"};
    CHECK_EQ(got->full, 0);
    CHECK_EQ(got->count, AC_ARRAY_LEN(expect));
    for (size_t i = 0; i < AC_ARRAY_LEN(expect) && i < got->count; i++) {
        CHECK_EQ(got->lens[i], strlen(expect[i]));
        CHECK(memcmp(got->lines[i], expect[i], got->lens[i]) == 0);
    }
}

TEST(test_lines_all_at_once_and_bytewise) {
    static collected_t got;
    wire_lines_t lb;
    size_t len = sizeof stream - 1;

    size_t whole[] = {len};
    wire_lines_init(&lb, TCP_LINE_BYTES_MAX);
    lines_feed(&lb, stream, len, whole, 1, &got);
    stream_check(&got);
    CHECK_EQ(lb.len, 4); /* "last" waits for its newline */

    size_t one[] = {1};
    wire_lines_init(&lb, TCP_LINE_BYTES_MAX);
    lines_feed(&lb, stream, len, one, 1, &got);
    stream_check(&got);

    size_t odd[] = {3, 1, 7, 2, 11, 5};
    wire_lines_init(&lb, TCP_LINE_BYTES_MAX);
    lines_feed(&lb, stream, len, odd, AC_ARRAY_LEN(odd), &got);
    stream_check(&got);

    /* the unfinished "last" completes with a later newline */
    size_t used = 0;
    const char *line = NULL;
    size_t line_len = 0;
    CHECK_EQ(wire_lines_take(&lb, (const uint8_t *)"\n", 1, &used, &line, &line_len), 1);
    CHECK_EQ(used, 1);
    CHECK_EQ(line_len, 4);
    CHECK(memcmp(line, "last", 4) == 0);
    /* no input: nothing happens */
    CHECK_EQ(wire_lines_take(&lb, NULL, 0, &used, &line, &line_len), 0);
    CHECK_EQ(used, 0);
}

TEST(test_lines_random_chunks) {
    /* every encoded reply line of a STATS answer, split at random points */
    static char data[STREAM_LINES_MAX * TCP_LINE_BYTES_MAX];
    static collected_t got;
    static char expect[STREAM_LINES_MAX][TCP_LINE_BYTES_MAX];
    size_t expect_len[STREAM_LINES_MAX];
    size_t len = 0;
    unsigned lines = 0;
    wire_crep_t head;
    crep_init(&head, CREP_STATS);
    head.count = STREAM_LINES_MAX - 1;
    size_t n = wire_crep_encode(&head, data, sizeof data);
    memcpy(expect[lines], data, n - 1);
    expect_len[lines++] = n - 1;
    len += n;
    for (unsigned i = 1; i < STREAM_LINES_MAX; i++) {
        wire_crow_t row;
        memset(&row, 0, sizeof row);
        row.rank = i;
        wname_make(&row.partner, 1 + i % NAME_BYTES_MAX, i);
        row.count = i * 3;
        row.net = -(int64_t)i * 1000003;
        n = wire_crow_encode(&row, data + len, sizeof data - len);
        CHECK(n > 0);
        memcpy(expect[lines], data + len, n - 1);
        expect_len[lines++] = n - 1;
        len += n;
    }
    unsigned seed = 7;
    for (int round = 0; round < 300; round++) {
        size_t chunks[16];
        for (size_t i = 0; i < 16; i++) {
            seed = seed * 1103515245u + 12345u;
            chunks[i] = 1 + (seed >> 8) % (round % 2 ? 9 : 700);
        }
        wire_lines_t lb;
        wire_lines_init(&lb, TCP_LINE_BYTES_MAX);
        lines_feed(&lb, data, len, chunks, 16, &got);
        CHECK_EQ(got.full, 0);
        CHECK_EQ(got.count, lines);
        for (unsigned i = 0; i < lines && i < got.count; i++) {
            CHECK_EQ(got.lens[i], expect_len[i]);
            CHECK(memcmp(got.lines[i], expect[i], expect_len[i]) == 0);
        }
    }
}

TEST(test_lines_limit) {
    enum { LIMIT = 8 };
    wire_lines_t lb;
    size_t used;
    const char *line;
    size_t line_len;

    /* 7 bytes + '\n' == limit: accepted */
    wire_lines_init(&lb, LIMIT);
    CHECK_EQ(wire_lines_take(&lb, (const uint8_t *)"1234567\nrest", 12, &used, &line, &line_len),
             1);
    CHECK_EQ(used, 8);
    CHECK_EQ(line_len, 7);
    /* "\r\n" counts too: 6 + '\r' + '\n' fits, 7 + '\r' + '\n' does not */
    wire_lines_init(&lb, LIMIT);
    CHECK_EQ(wire_lines_take(&lb, (const uint8_t *)"123456\r\n", 8, &used, &line, &line_len), 1);
    CHECK_EQ(line_len, 6);
    wire_lines_init(&lb, LIMIT);
    CHECK_EQ(wire_lines_take(&lb, (const uint8_t *)"1234567\r\n", 9, &used, &line, &line_len),
             AC_EFULL);

    /* 8 bytes without '\n': refused at the 8th byte, whichever way it arrives */
    wire_lines_init(&lb, LIMIT);
    CHECK_EQ(wire_lines_take(&lb, (const uint8_t *)"12345678\n", 9, &used, &line, &line_len),
             AC_EFULL);
    CHECK_EQ(used, 8);
    wire_lines_init(&lb, LIMIT);
    int rc = 0;
    for (int i = 0; i < 7; i++) {
        rc = wire_lines_take(&lb, (const uint8_t *)"x", 1, &used, &line, &line_len);
        CHECK_EQ(rc, 0);
        CHECK_EQ(used, 1);
    }
    CHECK_EQ(wire_lines_take(&lb, (const uint8_t *)"x", 1, &used, &line, &line_len), AC_EFULL);
    /* sticky: the tail of the overlong line is never taken for a line */
    CHECK_EQ(wire_lines_take(&lb, (const uint8_t *)"\n", 1, &used, &line, &line_len), AC_EFULL);
    CHECK_EQ(used, 0);
    CHECK(line == NULL);
    wire_lines_init(&lb, LIMIT);
    CHECK_EQ(wire_lines_take(&lb, (const uint8_t *)"ok\n", 3, &used, &line, &line_len), 1);

    /* the real limits: a request of TCP_REQUEST_BYTES_MAX with '\n' passes, one more fails */
    static char big[TCP_LINE_BYTES_MAX + 2];
    memset(big, 'a', sizeof big);
    big[TCP_REQUEST_BYTES_MAX - 1] = '\n';
    wire_lines_init(&lb, TCP_REQUEST_BYTES_MAX);
    CHECK_EQ(wire_lines_take(&lb, (const uint8_t *)big, TCP_REQUEST_BYTES_MAX, &used, &line,
                             &line_len), 1);
    CHECK_EQ(line_len, TCP_REQUEST_BYTES_MAX - 1);
    big[TCP_REQUEST_BYTES_MAX - 1] = 'a';
    big[TCP_REQUEST_BYTES_MAX] = '\n';
    wire_lines_init(&lb, TCP_REQUEST_BYTES_MAX);
    CHECK_EQ(wire_lines_take(&lb, (const uint8_t *)big, TCP_REQUEST_BYTES_MAX + 1, &used, &line,
                             &line_len), AC_EFULL);
    memset(big, 'b', sizeof big);
    big[TCP_LINE_BYTES_MAX - 1] = '\n';
    wire_lines_init(&lb, TCP_LINE_BYTES_MAX);
    CHECK_EQ(wire_lines_take(&lb, (const uint8_t *)big, sizeof big, &used, &line, &line_len), 1);
    CHECK_EQ(used, TCP_LINE_BYTES_MAX);
    CHECK_EQ(line_len, TCP_LINE_BYTES_MAX - 1);
    big[TCP_LINE_BYTES_MAX - 1] = 'b';
    wire_lines_init(&lb, TCP_LINE_BYTES_MAX);
    CHECK_EQ(wire_lines_take(&lb, (const uint8_t *)big, sizeof big, &used, &line, &line_len),
             AC_EFULL);
    /* limit 1: only empty lines */
    wire_lines_init(&lb, 1);
    CHECK_EQ(wire_lines_take(&lb, (const uint8_t *)"\n", 1, &used, &line, &line_len), 1);
    CHECK_EQ(line_len, 0);
    CHECK_EQ(wire_lines_take(&lb, (const uint8_t *)"a\n", 2, &used, &line, &line_len), AC_EFULL);
}

/* A whole TCP exchange: request line through the assembler, decoded, answered. */
TEST(test_tcp_exchange) {
    wire_creq_t req, got;
    memset(&req, 0, sizeof req);
    req.op = CREQ_TRANSFER;
    name_set(&req.user, "Chinmay");
    name_set(&req.receiver, "Luke");
    req.amount = 20;
    char buf[TCP_LINE_BYTES_MAX];
    size_t n = wire_creq_encode(&req, buf, sizeof buf);
    wire_lines_t lb;
    wire_lines_init(&lb, TCP_REQUEST_BYTES_MAX);
    size_t used = 0, off = 0;
    const char *line = NULL;
    size_t line_len = 0;
    int rc = 0;
    while (off < n && rc == 0) { /* byte by byte */
        rc = wire_lines_take(&lb, (const uint8_t *)buf + off, 1, &used, &line, &line_len);
        off += used;
    }
    CHECK_EQ(rc, 1);
    CHECK_EQ(off, n);
    CHECK_EQ(wire_creq_decode(line, line_len, &got), AC_OK);
    CHECK_EQ(got.op, CREQ_TRANSFER);
    CHECK_STR(got.user.s, "Chinmay");
    CHECK_STR(got.receiver.s, "Luke");
    CHECK_EQ(got.amount, 20);
    /* a client sending CRLF is understood the same */
    CHECK_EQ(wire_lines_take(&lb, (const uint8_t *)"ALICHAIN/1 TXLIST\r\n", 19, &used, &line,
                             &line_len), 1);
    CHECK_EQ(wire_creq_decode(line, line_len, &got), AC_OK);
    CHECK_EQ(got.op, CREQ_TXLIST);
}

/* ---------------------------------------------------------------- persistent replies */

TEST(test_hello_encode) {
    static const char want[] = "ALICHAIN/1 KEEPALIVE\n";
    char buf[TCP_REQUEST_BYTES_MAX];
    size_t n = wire_hello_encode(buf, sizeof buf);
    CHECK_EQ(n, sizeof want - 1);
    CHECK(memcmp(buf, want, sizeof want - 1) == 0);
    wire_creq_t r;
    CHECK_EQ(wire_creq_decode(buf, n - 1, &r), AC_OK);
    CHECK_EQ(r.op, CREQ_KEEPALIVE);
    CHECK_EQ(wire_hello_encode(buf, sizeof want - 1), sizeof want - 1); /* exactly enough */
    CHECK_EQ(wire_hello_encode(buf, sizeof want - 2), 0);                /* one short */
}

#define FRAMES_MAX 16

typedef struct {
    size_t ends[FRAMES_MAX];  /* stream offset just past each reply (or refused head line) */
    int kinds[FRAMES_MAX];    /* its kind, or AC_EINVAL for a head line that is no reply */
    size_t count;
    int full;                 /* AC_EFULL came: the offset where framing stopped */
    size_t full_at;
} frames_t;

/* Feeds data through one wire_frame_t in chunks of the given sizes (cycled), collecting where
 * each reply ends; a refused head line is recorded and framing goes on after it. */
static void frames_feed(const char *data, size_t len, const size_t *chunks, size_t chunk_count,
                        frames_t *out) {
    static wire_frame_t f;
    wire_frame_init(&f);
    memset(out, 0, sizeof *out);
    size_t pos = 0, c = 0;
    while (pos < len) {
        size_t n = chunks[c++ % chunk_count];
        if (n > len - pos) n = len - pos;
        size_t end = pos + n;
        for (int guard = 0; pos < end; guard++) {
            CHECK(guard < 10000);
            size_t used = 0;
            int rc = wire_frame_take(&f, (const uint8_t *)data + pos, end - pos, &used);
            CHECK(used <= end - pos);
            pos += used;
            if (rc == AC_EFULL) {
                out->full = 1;
                out->full_at = pos;
                return;
            }
            if (rc == 0) {
                CHECK_EQ(pos, end); /* not complete: everything was consumed */
                break;
            }
            CHECK(rc == 1 || rc == AC_EINVAL);
            CHECK(out->count < FRAMES_MAX);
            if (out->count >= FRAMES_MAX) return;
            CHECK(rc == 1 || f.head.kind == 0);
            out->ends[out->count] = pos;
            out->kinds[out->count++] = rc == 1 ? (int)f.head.kind : AC_EINVAL;
        }
    }
}

/* The same stream whole, byte by byte and in odd pieces must frame the same. */
static void frames_every_way(const char *data, size_t len, frames_t *out) {
    static const size_t whole[] = {SIZE_MAX}, one[] = {1}, odd[] = {3, 1, 7, 2, 11, 5};
    frames_t a, b;
    frames_feed(data, len, whole, 1, out);
    frames_feed(data, len, one, 1, &a);
    frames_feed(data, len, odd, AC_ARRAY_LEN(odd), &b);
    CHECK(memcmp(out, &a, sizeof a) == 0);
    CHECK(memcmp(out, &b, sizeof b) == 0);
}

/* The stream, framed every way, gives exactly these replies: where each ends, its kind. */
static void frames_expect(const char *data, size_t len, const size_t *ends, const int *kinds,
                          size_t count) {
    frames_t got;
    frames_every_way(data, len, &got);
    CHECK_EQ(got.full, 0);
    CHECK_EQ(got.count, count);
    for (size_t i = 0; i < got.count && i < count; i++) {
        CHECK_EQ(got.ends[i], ends[i]);
        CHECK_EQ(got.kinds[i], kinds[i]);
    }
}

TEST(test_frame_replies) {
    static const char s[] = "OK KEEPALIVE\n"                             /* 13 */
                            "OK BALANCE 5\n"                             /* 26 */
                            "OK STATS 2\n1 Luke 1 -20\n2 Oliver 1 -129\n" /* 66 */
                            "OK STATS 0\n"                               /* 77 */
                            "ERROR BUSY\n"                               /* 88 */
                            "OK TRANSFER 3 4\r\n"                        /* 105 */
                            "OK STATS 1\nnot a row, but a line\n";       /* 138 */
    static const size_t ends[] = {13, 26, 66, 77, 88, 105, 138};
    static const int kinds[] = {CREP_KEEPALIVE, CREP_BALANCE, CREP_STATS, CREP_STATS,
                                CREP_BUSY, CREP_TRANSFER, CREP_STATS};
    frames_expect(s, sizeof s - 1, ends, kinds, AC_ARRAY_LEN(ends));
}

TEST(test_frame_partial) {
    wire_frame_t f;
    size_t used = 0;
    wire_frame_init(&f);
    CHECK_EQ(wire_frame_take(&f, NULL, 0, &used), 0); /* no input: nothing happens */
    CHECK_EQ(used, 0);
    /* a head line without its newline, then a STATS reply short of its last row */
    CHECK_EQ(wire_frame_take(&f, (const uint8_t *)"OK STA", 6, &used), 0);
    CHECK_EQ(used, 6);
    CHECK_EQ(wire_frame_take(&f, (const uint8_t *)"TS 2\n1 Luke 1 -20\n2 Oli", 24, &used), 0);
    CHECK_EQ(used, 24);
    /* the rest, with the next reply behind it: the take stops where the reply ends */
    CHECK_EQ(wire_frame_take(&f, (const uint8_t *)"ver 1 -129\nOK BALANCE 9\n", 24, &used), 1);
    CHECK_EQ(used, 11);
    CHECK_EQ(f.head.kind, CREP_STATS);
    CHECK_EQ(f.head.count, 2);
    CHECK_EQ(wire_frame_take(&f, (const uint8_t *)"OK BALANCE 9\n", 13, &used), 1);
    CHECK_EQ(used, 13);
    CHECK_EQ(f.head.kind, CREP_BALANCE);
    CHECK_EQ(f.head.balance, 9);
}

TEST(test_frame_malformed) {
    /* head lines that are no reply: each is refused alone, the next line is the next head
     * (a kind's prefix, a bad argument, a count over STATS_PARTNERS_MAX, a request, empty) */
    static const char s[] = "OK BALANCE x\nOK BALANCE 5\nOK STATS 1000001\nALICHAIN/1 TXLIST\n"
                            "\nOK STATS 1\nOK BALANCE 7\nERROR UNKNOWN\n";
    static const size_t ends[] = {13, 26, 43, 61, 62, 86, 100};
    static const int kinds[] = {AC_EINVAL, CREP_BALANCE, AC_EINVAL, AC_EINVAL, AC_EINVAL,
                                CREP_STATS, CREP_UNKNOWN};
    frames_expect(s, sizeof s - 1, ends, kinds, AC_ARRAY_LEN(ends));
    frames_t got;

    /* a line over TCP_LINE_BYTES_MAX, as a head or as a row: framing stops for good */
    static char big[2 * TCP_LINE_BYTES_MAX];
    static const char stats[] = "OK STATS 3\n1 Luke 1 -20\n";
    for (int as_row = 0; as_row < 2; as_row++) {
        size_t pre = as_row ? sizeof stats - 1 : 0;
        memcpy(big, stats, pre);
        memset(big + pre, 'a', sizeof big - pre);
        big[pre + TCP_LINE_BYTES_MAX] = '\n';  /* one byte past the limit */
        frames_every_way(big, sizeof big, &got);
        CHECK_EQ(got.full, 1);
        CHECK_EQ(got.count, 0);
        CHECK_EQ(got.full_at, pre + TCP_LINE_BYTES_MAX);
        big[pre + TCP_LINE_BYTES_MAX - 1] = '\n'; /* exactly the limit: a line */
        frames_feed(big, pre + TCP_LINE_BYTES_MAX, (const size_t[]){SIZE_MAX}, 1, &got);
        CHECK_EQ(got.full, 0);
        CHECK_EQ(got.count, as_row ? 0 : 1);   /* a row line is counted, 1 of 2 to go */
    }
    wire_frame_t f;
    size_t used = 0;
    memset(big, 'a', sizeof big);
    wire_frame_init(&f);
    CHECK_EQ(wire_frame_take(&f, (const uint8_t *)big, sizeof big, &used), AC_EFULL);
    CHECK_EQ(wire_frame_take(&f, (const uint8_t *)"\nOK SAME\n", 9, &used), AC_EFULL); /* sticky */
    CHECK_EQ(used, 0);
    wire_frame_init(&f);
    CHECK_EQ(wire_frame_take(&f, (const uint8_t *)"REFUSED SAME\n", 13, &used), 1);
    CHECK_EQ(f.head.kind, CREP_SAME);
}

int main(void) {
    RUN(test_query_worked_example);
    RUN(test_reply_worked_example);
    RUN(test_doc_examples);
    RUN(test_write_set_epoch);
    RUN(test_fixed_bytes_match_encodings);
    RUN(test_size_helpers_match_encodings);
    RUN(test_query_req_roundtrip);
    RUN(test_write_req_roundtrip);
    RUN(test_list_and_stats_req_roundtrip);
    RUN(test_query_reply_roundtrip);
    RUN(test_write_reply_roundtrip);
    RUN(test_list_reply_roundtrip);
    RUN(test_stats_reply_roundtrip);
    RUN(test_greedy_packing_list);
    RUN(test_packing_reaches_exactly_1200);
    RUN(test_header_rejects);
    RUN(test_query_req_rejects);
    RUN(test_write_req_rejects);
    RUN(test_list_and_stats_req_rejects);
    RUN(test_query_and_write_reply_rejects);
    RUN(test_list_and_stats_reply_rejects);
    RUN(test_list_reply_varints);
    RUN(test_encoders_refuse_invalid_messages);
    RUN(test_encoders_respect_cap_at_every_length);
    RUN(test_random_bytes_are_safe);
    RUN(test_creq_roundtrip);
    RUN(test_creq_rejects);
    RUN(test_creq_encode_rejects);
    RUN(test_crep_roundtrip);
    RUN(test_crep_rejects);
    RUN(test_crep_encode_rejects);
    RUN(test_crep_exit_codes);
    RUN(test_crow_roundtrip_and_rejects);
    RUN(test_lines_all_at_once_and_bytewise);
    RUN(test_lines_random_chunks);
    RUN(test_lines_limit);
    RUN(test_tcp_exchange);
    RUN(test_hello_encode);
    RUN(test_frame_replies);
    RUN(test_frame_partial);
    RUN(test_frame_malformed);
    return CHECK_DONE();
}
