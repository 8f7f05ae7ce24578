/* fuzz_tcp.c — libFuzzer target for the TCP framing (wire_lines, and wire_frame for the
 * replies of a persistent connection) and line codecs (creq, crep, crow), and for the
 * client reading a reply. Input: a mode byte (bit 0: reply side;
 * bits 1-2: the client's operation), a split byte, then the byte stream. The stream is fed
 * once whole and once cut at split points the fuzzer chooses: the lines, the replies'
 * ends and kinds, the client's screen output and its exit code must not depend on the cuts. An accepted line must
 * re-encode to itself (docs/PROTOCOL.md: one spelling per value) and decode the same. */
#include <string.h>

#include "client.h"
#include "fuzz.h"
#include "wire.h"

static int name_equal(const wire_name_t *a, const wire_name_t *b) {
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0 && a->s[a->len] == '\0';
}

static void creq_check(const char *line, size_t len) {
    wire_creq_t a, b;
    char e[TCP_REQUEST_BYTES_MAX + 1];
    if (wire_creq_decode(line, len, &a) != 0) return;
    size_t n = wire_creq_encode(&a, e, sizeof e);
    FUZZ_CHECK(n > 1 && n <= TCP_REQUEST_BYTES_MAX && e[n - 1] == '\n');
    FUZZ_CHECK(n - 1 == len && memcmp(e, line, len) == 0); /* one spelling per request */
    FUZZ_CHECK(wire_creq_decode(e, n - 1, &b) == 0);
    FUZZ_CHECK(a.op == b.op);
    if (a.op != CREQ_TXLIST && a.op != CREQ_KEEPALIVE) FUZZ_CHECK(name_equal(&a.user, &b.user));
    if (a.op == CREQ_TRANSFER)
        FUZZ_CHECK(name_equal(&a.receiver, &b.receiver) && a.amount == b.amount);
}

static int crep_equal(const wire_crep_t *a, const wire_crep_t *b) {
    if (a->kind != b->kind) return 0;
    switch (a->kind) {
    case CREP_BALANCE:
    case CREP_INSUFFICIENT: return a->balance == b->balance;
    case CREP_TRANSFER: return a->balance == b->balance && a->serial == b->serial;
    case CREP_TXLIST: return a->count == b->count && strcmp(a->text, b->text) == 0;
    case CREP_STATS: return a->count == b->count;
    case CREP_NOUSER: return name_equal(&a->names[0], &b->names[0]);
    case CREP_NOUSERS:
        return name_equal(&a->names[0], &b->names[0]) && name_equal(&a->names[1], &b->names[1]);
    case CREP_UNAVAILABLE:
    case CREP_STALE:
    case CREP_INTERNAL: return strcmp(a->text, b->text) == 0;
    default: return 1; /* SAME, UNKNOWN, BUSY, BADREQ, KEEPALIVE carry nothing */
    }
}

/* A reply line is tried both as a head line and as a stats row. */
static void reply_line_check(const char *line, size_t len) {
    wire_crep_t p, q;
    wire_crow_t r, s;
    char e[TCP_LINE_BYTES_MAX + 1];
    if (wire_crep_decode(line, len, &p) == 0) {
        int code = wire_crep_exit_code(p.kind);
        FUZZ_CHECK(code == 0 || code == 1 || code == 3);
        size_t n = wire_crep_encode(&p, e, sizeof e);
        FUZZ_CHECK(n > 1 && n <= TCP_LINE_BYTES_MAX && e[n - 1] == '\n');
        FUZZ_CHECK(n - 1 == len && memcmp(e, line, len) == 0);
        FUZZ_CHECK(wire_crep_decode(e, n - 1, &q) == 0 && crep_equal(&p, &q));
    }
    if (wire_crow_decode(line, len, &r) == 0) {
        size_t n = wire_crow_encode(&r, e, sizeof e);
        FUZZ_CHECK(n > 1 && n <= TCP_LINE_BYTES_MAX && e[n - 1] == '\n');
        FUZZ_CHECK(n - 1 == len && memcmp(e, line, len) == 0);
        FUZZ_CHECK(wire_crow_decode(e, n - 1, &s) == 0);
        FUZZ_CHECK(r.rank == s.rank && r.count == s.count && r.net == s.net);
        FUZZ_CHECK(name_equal(&r.partner, &s.partner));
    }
}

/* Next chunk length: 1..span, from a tiny LCG the split byte seeds (state in *st). */
static size_t chunk_next(uint32_t *st, uint8_t split) {
    *st = *st * 1103515245u + 12345u;
    size_t span = split == 0 ? SIZE_MAX : 1u + split % 64u; /* 0: the stream in one piece */
    return span == SIZE_MAX ? SIZE_MAX : 1u + (*st >> 16) % span;
}

/* A chunked feed: take() consumes from data[0..len) and sets *used; it returns 1 to be
 * called again on the rest of the chunk, 0 when it consumed all of it, -1 to stop the feed. */
typedef int (*feed_take_t)(void *ctx, const uint8_t *data, size_t len, size_t *used);

/* Feeds s[0..n) to take in the chunks the split byte chooses (0: in one piece). */
static void feed_chunks(const uint8_t *s, size_t n, uint8_t split, feed_take_t take, void *ctx) {
    uint32_t st = split;
    size_t off = 0;
    while (off < n) {
        size_t want = chunk_next(&st, split);
        size_t end = want > n - off ? n : off + want;
        for (int more = 1; more > 0 && off < end;) {
            size_t used = 0;
            more = take(ctx, s + off, end - off, &used);
            FUZZ_CHECK(used <= end - off && (more != 0 || used == end - off));
            off += used;
            if (more < 0) return;
        }
    }
}

typedef struct {
    wire_lines_t lb;
    uint64_t h;
    int reply, check;
} lines_ctx_t;

static int lines_take(void *ctx, const uint8_t *data, size_t len, size_t *used) {
    lines_ctx_t *c = ctx;
    size_t line_len = 0;
    const char *line = NULL;
    int rc = wire_lines_take(&c->lb, data, len, used, &line, &line_len);
    FUZZ_CHECK(rc == 1 || rc == 0 || rc == AC_EFULL);
    if (rc == AC_EFULL) c->h = fuzz_hash_u64(c->h, 0xF011);
    if (rc != 1) return rc == 0 ? 0 : -1;
    FUZZ_CHECK(line_len < c->lb.limit && memchr(line, '\n', line_len) == NULL);
    c->h = fuzz_hash(fuzz_hash_u64(c->h, line_len), line, line_len);
    if (c->check && c->reply) reply_line_check(line, line_len);
    if (c->check && !c->reply) creq_check(line, line_len);
    return 1;
}

/* Runs the stream through wire_lines in chunks; returns a hash of the lines and errors. */
static uint64_t lines_run(const uint8_t *s, size_t n, int reply, uint8_t split, int check) {
    lines_ctx_t c = {.h = FUZZ_HASH_INIT, .reply = reply, .check = check};
    wire_lines_init(&c.lb, reply ? TCP_LINE_BYTES_MAX : TCP_REQUEST_BYTES_MAX);
    feed_chunks(s, n, split, lines_take, &c);
    return c.h;
}

typedef struct {
    wire_frame_t f;
    uint64_t h;
    size_t off; /* bytes framed so far */
} frame_ctx_t;

static int frame_take(void *ctx, const uint8_t *data, size_t len, size_t *used) {
    frame_ctx_t *c = ctx;
    int rc = wire_frame_take(&c->f, data, len, used);
    FUZZ_CHECK(rc == 1 || rc == 0 || rc == AC_EINVAL || rc == AC_EFULL);
    c->off += *used;
    if (rc == AC_EFULL) c->h = fuzz_hash_u64(c->h, 0xF011 + c->off);
    if (rc == 0 || rc == AC_EFULL) return rc == 0 ? 0 : -1;
    FUZZ_CHECK(*used > 0 && data[*used - 1] == '\n'); /* a reply ends with its last line */
    FUZZ_CHECK(rc == 1 || c->f.head.kind == 0);
    c->h = fuzz_hash_u64(fuzz_hash_u64(c->h, c->off), rc == 1 ? (uint64_t)c->f.head.kind : 0xBAD);
    return 1;
}

/* Frames the stream as the replies of a persistent connection, in chunks; returns a hash of
 * where each reply (or refused head line) ends and its kind, and where an overlong line
 * stopped the framing. */
static uint64_t frame_run(const uint8_t *s, size_t n, uint8_t split) {
    frame_ctx_t c = {.h = FUZZ_HASH_INIT};
    wire_frame_init(&c.f);
    feed_chunks(s, n, split, frame_take, &c);
    return c.h;
}

/* Feeds the stream as the reply to a client; returns a hash of its output. */
static uint64_t client_run(const uint8_t *s, size_t n, creq_op_t op, uint8_t split) {
    wire_creq_t req = {.op = op, .amount = 25};
    req.user.len = 5;
    memcpy(req.user.s, "Alice", 6);
    req.receiver.len = 3;
    memcpy(req.receiver.s, "Bob", 4);
    client_t *c = client_new(1, &req, 1000);
    FUZZ_CHECK(c != NULL);
    outbox_t out;
    outbox_init(&out);
    client_start(c, 0, &out);
    client_on_connected(c, 0, &out);
    uint32_t st = split;
    for (size_t off = 0; off < n;) {
        size_t want = chunk_next(&st, split);
        size_t len = want > n - off ? n - off : want;
        client_on_data(c, 1, s + off, len, &out);
        off += len;
    }
    client_on_closed(c, 2, &out);
    client_on_timer(c, UINT64_MAX, &out);
    uint64_t h = FUZZ_HASH_INIT;
    int done = 0, code = -1;
    for (size_t i = 0; i < out.fx_count; i++) {
        const fx_t *f = &out.fx[i];
        h = fuzz_hash_u64(fuzz_hash_u64(h, f->kind), f->arg);
        h = fuzz_hash(h, outbox_bytes(&out, f), f->data_len);
        if (f->kind == FX_DONE) done++, code = (int)f->arg;
    }
    int code2 = -1;
    FUZZ_CHECK(!out.failed && done == 1 && client_result(c, &code2, NULL) == 1);
    FUZZ_CHECK(code == code2 && (code == 0 || code == 1 || code == 3));
    outbox_free(&out);
    client_free(c);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    int reply = data[0] & 1;
    creq_op_t op = (creq_op_t)(CREQ_BALANCE + ((data[0] >> 1) & 3));
    uint8_t split = data[1];
    const uint8_t *s = data + 2;
    size_t n = size - 2;
    FUZZ_CHECK(lines_run(s, n, reply, split, 1) == lines_run(s, n, reply, 0, 0));
    if (reply) FUZZ_CHECK(client_run(s, n, op, split) == client_run(s, n, op, 0));
    if (reply) FUZZ_CHECK(frame_run(s, n, split) == frame_run(s, n, 0));
    return 0;
}
