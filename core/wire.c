/* wire.c — the single implementation of both protocols of docs/PROTOCOL.md: the binary
 * UDP messages between serverM and the backends, and the text lines between clients and
 * serverM. Everything here is strict and bounded, because the fuzzers and the network
 * feed it arbitrary bytes: no allocation, no length trusted before it is checked. */
#include "wire.h"

#include <stddef.h>
#include <string.h>

/* ================================ UDP ================================ */

/* Field sizes on the wire (big-endian integers). */
#define U8_BYTES 1
#define U16_BYTES 2
#define U32_BYTES 4
#define U64_BYTES 8
/* A reply starts with the header, then status, fence and epoch. */
#define REPLY_HEAD_BYTES (WIRE_HEADER_BYTES + U8_BYTES + U64_BYTES + U64_BYTES)
#define QUERY_REPLY_FIXED_BYTES (REPLY_HEAD_BYTES + U64_BYTES + U32_BYTES + U8_BYTES)
#define QUERY_TOTALS_BYTES (U8_BYTES + U64_BYTES + U64_BYTES)
#define WRITE_REPLY_FIXED_BYTES (REPLY_HEAD_BYTES + U8_BYTES)
#define WRITE_RESULT_BYTES (U64_BYTES + U8_BYTES)
#define STATS_REQ_BYTES_MAX (WIRE_HEADER_BYTES + 1 + NAME_BYTES_MAX + U32_BYTES)
#define ROW_BYTES_MAX (1 + NAME_BYTES_MAX + U32_BYTES + U64_BYTES)
#define STATUS_MAX WIRE_ST_EPOCH
#define RESULT_MAX WIRE_TX_IOERR

_Static_assert(WIRE_HEADER_BYTES == 4 * U8_BYTES + 2 * U64_BYTES, "header layout");
_Static_assert(WIRE_QUERY_REQ_FIXED_BYTES == WIRE_HEADER_BYTES + U8_BYTES, "QUERY req");
_Static_assert(WIRE_WRITE_REQ_FIXED_BYTES == WIRE_HEADER_BYTES + U64_BYTES + U8_BYTES, "WRITE req");
_Static_assert(WIRE_LIST_REQ_BYTES == WIRE_HEADER_BYTES + U32_BYTES + U16_BYTES + U8_BYTES,
               "LIST req");
_Static_assert(WIRE_LIST_REPLY_FIXED_BYTES == REPLY_HEAD_BYTES + 2 * U32_BYTES + 2 * U8_BYTES,
               "LIST reply");
_Static_assert(WIRE_STATS_REPLY_FIXED_BYTES == REPLY_HEAD_BYTES + U32_BYTES + 2 * U8_BYTES,
               "STATS reply");
/* The messages without paging always fit one datagram, whatever their content ... */
_Static_assert(QUERY_REPLY_FIXED_BYTES + WIRE_QUERY_NAMES_MAX * QUERY_TOTALS_BYTES <=
               DGRAM_BYTES_MAX, "a full QUERY reply fits a datagram");
_Static_assert(WRITE_REPLY_FIXED_BYTES + WIRE_WRITE_TXS_MAX * WRITE_RESULT_BYTES <=
               DGRAM_BYTES_MAX, "a full WRITE reply fits a datagram");
_Static_assert(STATS_REQ_BYTES_MAX <= DGRAM_BYTES_MAX, "a STATS request fits a datagram");
/* ... and the packed ones always have room for at least one element, so paging and
 * splitting make progress. */
_Static_assert(WIRE_QUERY_NAMES_FIT >= 1 && WIRE_QUERY_NAMES_FIT <= WIRE_QUERY_NAMES_MAX &&
               WIRE_QUERY_REQ_FIXED_BYTES + WIRE_QUERY_NAMES_FIT * (1 + NAME_BYTES_MAX) <=
                   DGRAM_BYTES_MAX, "a QUERY holds WIRE_QUERY_NAMES_FIT names of any length");
#define LIST_TX_BYTES_MAX (10 + 2 * (1 + NAME_BYTES_MAX) + 6) /* varints: a u64, an amount */
_Static_assert(AMOUNT_MAX < (1ull << 42), "an amount is a varint of 6 bytes at most");
_Static_assert(WIRE_LIST_REPLY_FIXED_BYTES + LIST_TX_BYTES_MAX <= DGRAM_BYTES_MAX, "1 tx per page");
_Static_assert(WIRE_WRITE_REQ_FIXED_BYTES + LIST_TX_BYTES_MAX <= DGRAM_BYTES_MAX, "1 tx per WRITE");
_Static_assert(WIRE_STATS_REPLY_FIXED_BYTES + ROW_BYTES_MAX <= DGRAM_BYTES_MAX, "1 row a page");
_Static_assert(WIRE_LIST_TXS_MAX <= UINT8_MAX && WIRE_STATS_ROWS_MAX <= UINT8_MAX,
               "counts are u8 on the wire");
_Static_assert(NAME_BYTES_MAX <= UINT8_MAX, "a name length is a u8 on the wire");

size_t wire_name_bytes(size_t name_len) { return 1 + name_len; }

/* Bytes of v as a varint (LEB128: 7 bits a byte, the low ones first, the top bit set on
 * every byte but the last): 1 for v < 128 ... 10 for v >= 2^63. */
static size_t varint_bytes(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t wire_list_tx_bytes(uint64_t prev_serial, const tx_t *t) {
    AC_ASSERT(t != NULL);
    AC_ASSERT(t->serial > prev_serial);
    AC_ASSERT(t->amount >= 0);
    return varint_bytes(t->serial - prev_serial) + wire_name_bytes(t->sender_len) +
           wire_name_bytes(t->receiver_len) + varint_bytes((uint64_t)t->amount);
}

size_t wire_row_bytes(size_t partner_len) {
    return wire_name_bytes(partner_len) + U32_BYTES + U64_BYTES;
}

/* ---- writing: a cursor over the caller's buffer; `bad` latches the first problem
 * (no room, or a field the decoder would refuse), and the encoder then returns 0. */
typedef struct {
    uint8_t *p;
    size_t cap;
    size_t len;
    int bad;
} bw_t;

static void bw_init(bw_t *w, uint8_t *buf, size_t cap) {
    w->p = buf;
    w->cap = buf == NULL ? 0 : (cap < DGRAM_BYTES_MAX ? cap : DGRAM_BYTES_MAX);
    w->len = 0;
    w->bad = 0;
}

static void bw_uint(bw_t *w, uint64_t v, size_t bytes) {
    if (w->bad || w->cap - w->len < bytes) {
        w->bad = 1;
        return;
    }
    uint8_t *p = w->p + w->len;
    if (bytes == U64_BYTES) { /* most of them (serials, amounts, ids): unrolled */
        p[0] = (uint8_t)(v >> 56);
        p[1] = (uint8_t)(v >> 48);
        p[2] = (uint8_t)(v >> 40);
        p[3] = (uint8_t)(v >> 32);
        p[4] = (uint8_t)(v >> 24);
        p[5] = (uint8_t)(v >> 16);
        p[6] = (uint8_t)(v >> 8);
        p[7] = (uint8_t)v;
    } else {
        for (size_t i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    }
    w->len += bytes;
}

static void bw_varint(bw_t *w, uint64_t v) {
    size_t n = varint_bytes(v);
    if (w->bad || w->cap - w->len < n) {
        w->bad = 1;
        return;
    }
    for (size_t i = 0; i + 1 < n; i++, v >>= 7) w->p[w->len++] = (uint8_t)(0x80 | (v & 0x7F));
    w->p[w->len++] = (uint8_t)v;
}

static void bw_name(bw_t *w, const char *s, size_t len) {
    if (!tx_name_valid(s, len)) w->bad = 1;
    bw_uint(w, len, U8_BYTES);
    if (w->bad || w->cap - w->len < len) {
        w->bad = 1;
        return;
    }
    memcpy(w->p + w->len, s, len);
    w->len += len;
}

/* A LIST page's or a WRITE's transaction (1.3): its serial as the difference from the one before it in
 * the page (*prev_serial: 0 before the first), so a page ascends strictly by its encoding,
 * and its amount as a varint. */
static void bw_list_tx(bw_t *w, const tx_t *t, uint64_t *prev_serial) {
    if (t->serial <= *prev_serial || t->amount < AMOUNT_MIN || t->amount > AMOUNT_MAX) w->bad = 1;
    if (w->bad) return;
    bw_varint(w, t->serial - *prev_serial);
    bw_name(w, t->sender, t->sender_len);
    bw_name(w, t->receiver, t->receiver_len);
    bw_varint(w, (uint64_t)t->amount);
    *prev_serial = t->serial;
}

static void bw_header(bw_t *w, uint8_t type, uint64_t incarnation, uint64_t request_id) {
    bw_uint(w, WIRE_MAGIC, U8_BYTES);
    bw_uint(w, WIRE_VERSION, U8_BYTES);
    bw_uint(w, type, U8_BYTES);
    bw_uint(w, 0, U8_BYTES); /* flags */
    bw_uint(w, incarnation, U64_BYTES);
    bw_uint(w, request_id, U64_BYTES);
}

uint8_t wire_type_of(const uint8_t *buf, size_t len) {
    if (len < WIRE_HEADER_BYTES || buf[0] != WIRE_MAGIC || buf[1] != WIRE_VERSION) return 0;
    return buf[2];
}

int wire_write_set_epoch(uint8_t *buf, size_t len, uint64_t epoch) {
    AC_ASSERT(buf != NULL);
    if (len < WIRE_WRITE_REQ_FIXED_BYTES || wire_type_of(buf, len) != WIRE_WRITE) return AC_EINVAL;
    for (size_t i = 0; i < U64_BYTES; i++) /* big-endian, right after the header */
        buf[WIRE_HEADER_BYTES + i] = (uint8_t)(epoch >> (8 * (U64_BYTES - 1 - i)));
    return AC_OK;
}

/* Checks a count against its range before it is used to index an array. */
static int count_ok(unsigned count, unsigned min, unsigned max) {
    return count >= min && count <= max;
}

size_t wire_req_encode(const wire_req_t *m, uint8_t *buf, size_t cap) {
    AC_ASSERT(m != NULL);
    bw_t w;
    bw_init(&w, buf, cap);
    bw_header(&w, m->type, m->incarnation, m->request_id);
    switch (m->type) {
    case WIRE_QUERY:
        if (!count_ok(m->u.query.count, 0, WIRE_QUERY_NAMES_MAX)) return 0;
        bw_uint(&w, m->u.query.count, U8_BYTES);
        for (unsigned i = 0; i < m->u.query.count; i++) {
            bw_name(&w, m->u.query.names[i].s, m->u.query.names[i].len);
        }
        break;
    case WIRE_WRITE:
        if (!count_ok(m->u.write.count, 1, WIRE_WRITE_TXS_MAX)) return 0;
        bw_uint(&w, m->u.write.epoch, U64_BYTES);
        bw_uint(&w, m->u.write.count, U8_BYTES);
        uint64_t prev = 0;
        for (unsigned i = 0; i < m->u.write.count; i++) bw_list_tx(&w, &m->u.write.txs[i], &prev);
        break;
    case WIRE_LIST:
        if (!count_ok(m->u.list.max, 1, WIRE_LIST_TXS_MAX)) return 0;
        if (!count_ok(m->u.list.pages, 1, WIRE_LIST_PAGES_MAX)) return 0;
        bw_uint(&w, m->u.list.cursor, U32_BYTES);
        bw_uint(&w, m->u.list.max, U16_BYTES);
        bw_uint(&w, m->u.list.pages, U8_BYTES);
        break;
    case WIRE_STATS:
        bw_name(&w, m->u.stats.user.s, m->u.stats.user.len);
        bw_uint(&w, m->u.stats.cursor, U32_BYTES);
        break;
    default:
        return 0;
    }
    return w.bad ? 0 : w.len;
}

size_t wire_reply_encode(const wire_reply_t *m, uint8_t *buf, size_t cap) {
    AC_ASSERT(m != NULL);
    if (m->status > STATUS_MAX) return 0;
    bw_t w;
    bw_init(&w, buf, cap);
    bw_header(&w, m->type, m->incarnation, m->request_id);
    bw_uint(&w, m->status, U8_BYTES);
    bw_uint(&w, m->fence, U64_BYTES);
    bw_uint(&w, m->epoch, U64_BYTES);
    switch (m->type) {
    case WIRE_QUERY | WIRE_REPLY:
        if (!count_ok(m->u.query.count, 0, WIRE_QUERY_NAMES_MAX)) return 0;
        bw_uint(&w, m->u.query.max_serial, U64_BYTES);
        bw_uint(&w, m->u.query.tx_count, U32_BYTES);
        bw_uint(&w, m->u.query.count, U8_BYTES);
        for (unsigned i = 0; i < m->u.query.count; i++) {
            const wire_totals_t *t = &m->u.query.totals[i];
            if (t->exists > 1) return 0;
            bw_uint(&w, t->exists, U8_BYTES);
            bw_uint(&w, t->sent, U64_BYTES);
            bw_uint(&w, t->received, U64_BYTES);
        }
        break;
    case WIRE_WRITE | WIRE_REPLY:
        if (!count_ok(m->u.write.count, 0, WIRE_WRITE_TXS_MAX)) return 0;
        bw_uint(&w, m->u.write.count, U8_BYTES);
        for (unsigned i = 0; i < m->u.write.count; i++) {
            if (m->u.write.results[i] > RESULT_MAX) return 0;
            bw_uint(&w, m->u.write.serials[i], U64_BYTES);
            bw_uint(&w, m->u.write.results[i], U8_BYTES);
        }
        break;
    case WIRE_LIST | WIRE_REPLY:
        if (!count_ok(m->u.list.count, 0, WIRE_LIST_TXS_MAX) || m->u.list.done > 1) return 0;
        bw_uint(&w, m->u.list.cursor, U32_BYTES);
        bw_uint(&w, m->u.list.next_cursor, U32_BYTES);
        bw_uint(&w, m->u.list.done, U8_BYTES);
        bw_uint(&w, m->u.list.count, U8_BYTES);
        uint64_t prev = 0;
        for (unsigned i = 0; i < m->u.list.count; i++) bw_list_tx(&w, &m->u.list.txs[i], &prev);
        break;
    case WIRE_STATS | WIRE_REPLY:
        if (!count_ok(m->u.stats.count, 0, WIRE_STATS_ROWS_MAX) || m->u.stats.done > 1) {
            return 0;
        }
        bw_uint(&w, m->u.stats.next_cursor, U32_BYTES);
        bw_uint(&w, m->u.stats.done, U8_BYTES);
        bw_uint(&w, m->u.stats.count, U8_BYTES);
        for (unsigned i = 0; i < m->u.stats.count; i++) {
            const wire_row_t *r = &m->u.stats.rows[i];
            bw_name(&w, r->partner.s, r->partner.len);
            bw_uint(&w, r->count, U32_BYTES);
            bw_uint(&w, (uint64_t)r->net, U64_BYTES); /* two's complement */
        }
        break;
    default:
        return 0;
    }
    return w.bad ? 0 : w.len;
}

/* ---- reading: a cursor over the received bytes; `bad` latches the first problem and
 * every later read then yields zeros, so a decoder checks it once at the end. */
typedef struct {
    const uint8_t *p;
    size_t len;
    size_t pos;
    int bad;
} br_t;

static uint64_t br_uint(br_t *r, size_t bytes) {
    if (r->bad || r->len - r->pos < bytes) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++) v = (v << 8) | r->p[r->pos + i];
    r->pos += bytes;
    return v;
}

/* Reads a varint written the one way bw_varint writes it: no byte after the one that ends
 * it, no trailing zero group (a shorter spelling exists), nothing past 64 bits. */
static uint64_t br_varint(br_t *r) {
    uint64_t v = 0;
    for (unsigned shift = 0; !r->bad; shift += 7) {
        if (r->pos >= r->len || shift > 63) {
            r->bad = 1;
            break;
        }
        uint8_t b = r->p[r->pos++];
        uint64_t group = b & 0x7F;
        if ((shift == 63 && group > 1) || (shift > 0 && b == 0)) {
            r->bad = 1; /* past 64 bits, or a zero last group: not the shortest spelling */
            break;
        }
        v |= group << shift;
        if (!(b & 0x80)) return v;
    }
    return 0;
}

/* Reads a u8 that must be <= max (a count, a flag, a status). */
static uint8_t br_u8_max(br_t *r, unsigned max) {
    uint8_t v = (uint8_t)br_uint(r, U8_BYTES);
    if (v > max) r->bad = 1;
    return r->bad ? 0 : v;
}

static void br_name(br_t *r, char *s, uint8_t *len_out) {
    size_t len = (size_t)br_uint(r, U8_BYTES);
    if (r->bad || r->len - r->pos < len || !tx_name_valid((const char *)r->p + r->pos, len)) {
        r->bad = 1;
        return;
    }
    memcpy(s, r->p + r->pos, len);
    s[len] = '\0';
    *len_out = (uint8_t)len;
    r->pos += len;
}

/* Reads one name into *n, cleared first (the clears leave a message's arrays to their readers). */
static void br_wire_name(br_t *r, wire_name_t *n) {
    memset(n, 0, sizeof *n);
    br_name(r, n->s, &n->len);
}

/* Reads one page transaction (bw_list_tx: a LIST page's or a WRITE's) into *t, cleared first:
 * its serial must be above *prev_serial (a difference of 0, or one past 2^64, is refused). */
static void br_list_tx(br_t *r, tx_t *t, uint64_t *prev_serial) {
    memset(t, 0, sizeof *t);
    uint64_t delta = br_varint(r);
    br_name(r, t->sender, &t->sender_len);
    br_name(r, t->receiver, &t->receiver_len);
    uint64_t amount = br_varint(r);
    if (delta == 0 || delta > UINT64_MAX - *prev_serial || amount < AMOUNT_MIN || amount > AMOUNT_MAX)
        r->bad = 1;
    if (r->bad) return;
    t->serial = *prev_serial + delta;
    t->amount = (int64_t)amount;
    *prev_serial = t->serial;
}

/* Reads the header; returns its type, or 0 (and sets bad) when magic, version or flags
 * are wrong. Whether the type is known is the caller's switch. */
static uint8_t br_header(br_t *r, uint64_t *incarnation, uint64_t *request_id) {
    uint8_t magic = (uint8_t)br_uint(r, U8_BYTES);
    uint8_t version = (uint8_t)br_uint(r, U8_BYTES);
    uint8_t type = (uint8_t)br_uint(r, U8_BYTES);
    uint8_t flags = (uint8_t)br_uint(r, U8_BYTES);
    *incarnation = br_uint(r, U64_BYTES);
    *request_id = br_uint(r, U64_BYTES);
    if (magic != WIRE_MAGIC || version != WIRE_VERSION || flags != 0) r->bad = 1;
    return r->bad ? 0 : type;
}

/* The verdict once the body has been read: well-formed and nothing left over. */
static int br_finish(const br_t *r) { return (r->bad || r->pos != r->len) ? AC_EINVAL : AC_OK; }

/* Up to a type's array (the fixed fields, the member's own before it): the array's entries
 * are written by whoever fills them, the decoders clearing each before reading it. */
void wire_req_clear(wire_req_t *m, uint8_t type) {
    switch (type) {
    case WIRE_QUERY: memset(m, 0, offsetof(wire_req_t, u.query.names)); break;
    case WIRE_WRITE: memset(m, 0, offsetof(wire_req_t, u.write.txs)); break;
    case WIRE_LIST: memset(m, 0, offsetof(wire_req_t, u.list) + sizeof m->u.list); break;
    case WIRE_STATS: memset(m, 0, offsetof(wire_req_t, u.stats) + sizeof m->u.stats); break;
    default: memset(m, 0, sizeof *m); break;
    }
}

void wire_reply_clear(wire_reply_t *m, uint8_t type) {
    switch (type) {
    case WIRE_QUERY | WIRE_REPLY: memset(m, 0, offsetof(wire_reply_t, u.query.totals)); break;
    case WIRE_WRITE | WIRE_REPLY: memset(m, 0, offsetof(wire_reply_t, u.write.serials)); break;
    case WIRE_LIST | WIRE_REPLY: memset(m, 0, offsetof(wire_reply_t, u.list.txs)); break;
    case WIRE_STATS | WIRE_REPLY: memset(m, 0, offsetof(wire_reply_t, u.stats.rows)); break;
    default: memset(m, 0, sizeof *m); break;
    }
}

int wire_req_decode(const uint8_t *buf, size_t len, wire_req_t *m) {
    AC_ASSERT(m != NULL);
    AC_ASSERT(buf != NULL || len == 0);
    wire_req_clear(m, wire_type_of(buf, len));
    if (len > DGRAM_BYTES_MAX) return AC_EINVAL;
    br_t r = {buf, len, 0, 0};
    m->type = br_header(&r, &m->incarnation, &m->request_id);
    switch (m->type) {
    case WIRE_QUERY:
        m->u.query.count = br_u8_max(&r, WIRE_QUERY_NAMES_MAX);
        for (unsigned i = 0; i < m->u.query.count && !r.bad; i++) {
            br_wire_name(&r, &m->u.query.names[i]);
        }
        break;
    case WIRE_WRITE:
        m->u.write.epoch = br_uint(&r, U64_BYTES);
        m->u.write.count = br_u8_max(&r, WIRE_WRITE_TXS_MAX);
        if (m->u.write.count == 0) r.bad = 1;
        uint64_t prev = 0;
        for (unsigned i = 0; i < m->u.write.count && !r.bad; i++) {
            br_list_tx(&r, &m->u.write.txs[i], &prev);
        }
        break;
    case WIRE_LIST:
        m->u.list.cursor = (uint32_t)br_uint(&r, U32_BYTES);
        m->u.list.max = (uint16_t)br_uint(&r, U16_BYTES);
        m->u.list.pages = br_u8_max(&r, WIRE_LIST_PAGES_MAX);
        if (!count_ok(m->u.list.max, 1, WIRE_LIST_TXS_MAX) || m->u.list.pages == 0) r.bad = 1;
        break;
    case WIRE_STATS:
        br_wire_name(&r, &m->u.stats.user);
        m->u.stats.cursor = (uint32_t)br_uint(&r, U32_BYTES);
        break;
    default:
        r.bad = 1;
        break;
    }
    return br_finish(&r);
}

int wire_reply_decode(const uint8_t *buf, size_t len, wire_reply_t *m) {
    AC_ASSERT(m != NULL);
    AC_ASSERT(buf != NULL || len == 0);
    wire_reply_clear(m, wire_type_of(buf, len));
    if (len > DGRAM_BYTES_MAX) return AC_EINVAL;
    br_t r = {buf, len, 0, 0};
    m->type = br_header(&r, &m->incarnation, &m->request_id);
    m->status = br_u8_max(&r, STATUS_MAX);
    m->fence = br_uint(&r, U64_BYTES);
    m->epoch = br_uint(&r, U64_BYTES);
    switch (m->type) {
    case WIRE_QUERY | WIRE_REPLY:
        m->u.query.max_serial = br_uint(&r, U64_BYTES);
        m->u.query.tx_count = (uint32_t)br_uint(&r, U32_BYTES);
        m->u.query.count = br_u8_max(&r, WIRE_QUERY_NAMES_MAX);
        for (unsigned i = 0; i < m->u.query.count && !r.bad; i++) {
            wire_totals_t *t = &m->u.query.totals[i];
            memset(t, 0, sizeof *t); /* its padding too: entries are cleared as they are read */
            t->exists = br_u8_max(&r, 1);
            t->sent = br_uint(&r, U64_BYTES);
            t->received = br_uint(&r, U64_BYTES);
        }
        break;
    case WIRE_WRITE | WIRE_REPLY:
        m->u.write.count = br_u8_max(&r, WIRE_WRITE_TXS_MAX);
        for (unsigned i = 0; i < m->u.write.count && !r.bad; i++) {
            m->u.write.serials[i] = br_uint(&r, U64_BYTES);
            m->u.write.results[i] = br_u8_max(&r, RESULT_MAX);
        }
        break;
    case WIRE_LIST | WIRE_REPLY:
        m->u.list.cursor = (uint32_t)br_uint(&r, U32_BYTES);
        m->u.list.next_cursor = (uint32_t)br_uint(&r, U32_BYTES);
        m->u.list.done = br_u8_max(&r, 1);
        m->u.list.count = br_u8_max(&r, WIRE_LIST_TXS_MAX);
        uint64_t prev = 0;
        for (unsigned i = 0; i < m->u.list.count && !r.bad; i++) {
            br_list_tx(&r, &m->u.list.txs[i], &prev);
        }
        break;
    case WIRE_STATS | WIRE_REPLY:
        m->u.stats.next_cursor = (uint32_t)br_uint(&r, U32_BYTES);
        m->u.stats.done = br_u8_max(&r, 1);
        m->u.stats.count = br_u8_max(&r, WIRE_STATS_ROWS_MAX);
        for (unsigned i = 0; i < m->u.stats.count && !r.bad; i++) {
            wire_row_t *row = &m->u.stats.rows[i];
            memset(row, 0, sizeof *row);
            br_wire_name(&r, &row->partner);
            row->count = (uint32_t)br_uint(&r, U32_BYTES);
            row->net = (int64_t)br_uint(&r, U64_BYTES); /* two's complement */
        }
        break;
    default:
        r.bad = 1;
        break;
    }
    return br_finish(&r);
}

/* ================================ TCP ================================ */

#define REQ_PREFIX "ALICHAIN/1"
#define UNAVAILABLE_LETTERS_MAX BACKEND_COUNT

/* The longest line of each kind, to prove the line limits at compile time. */
_Static_assert(sizeof REQ_PREFIX " TRANSFER " - 1 + 2 * NAME_BYTES_MAX + 2 +
               AMOUNT_DIGITS_MAX <= TCP_REQUEST_BYTES_MAX, "a request fits its line limit");
_Static_assert(sizeof "OK TXLIST " - 1 + SERIAL_DIGITS_MAX + 1 + PATH_BYTES_MAX + 1 <=
               TCP_LINE_BYTES_MAX, "the longest reply head fits its line limit");
_Static_assert(sizeof "REFUSED NOUSERS " - 1 + 2 * NAME_BYTES_MAX + 2 <= TCP_LINE_BYTES_MAX,
               "NOUSERS fits its line limit");
_Static_assert(3 * SERIAL_DIGITS_MAX + NAME_BYTES_MAX + 5 <= TCP_LINE_BYTES_MAX,
               "a stats row fits its line limit");

/* Arguments of the text messages, one letter each, shared by encoders and decoders so the
 * two cannot drift apart:
 *   requests: 'u' user (sender)   'v' receiver   'a' amount
 *   replies:  'b' balance (i64)   's' serial     'c' count   'r' stats row count
 *             'n' names[0]   'm' names[1]   'l' backend letters
 *             'f' file (rest of line)   't' text (rest of line; last in a form) */
typedef struct {
    int code;              /* creq_op_t or crep_kind_t */
    const char *head;      /* the fixed words */
    const char *args;      /* argument letters, in order */
    int exit_code;         /* replies only */
} text_form_t;

static const text_form_t creq_forms[] = {
    {CREQ_BALANCE, REQ_PREFIX " BALANCE", "u", 0},
    {CREQ_TRANSFER, REQ_PREFIX " TRANSFER", "uva", 0},
    {CREQ_TXLIST, REQ_PREFIX " TXLIST", "", 0},
    {CREQ_STATS, REQ_PREFIX " STATS", "u", 0},
    {CREQ_KEEPALIVE, REQ_PREFIX " KEEPALIVE", "", 0},
};

static const text_form_t crep_forms[] = {
    {CREP_BALANCE, "OK BALANCE", "b", 0},
    {CREP_TRANSFER, "OK TRANSFER", "bs", 0},
    {CREP_TXLIST, "OK TXLIST", "cf", 0},
    {CREP_STATS, "OK STATS", "r", 0},
    {CREP_NOUSER, "REFUSED NOUSER", "n", 1},
    {CREP_NOUSERS, "REFUSED NOUSERS", "nm", 1},
    {CREP_SAME, "REFUSED SAME", "", 1},
    {CREP_INSUFFICIENT, "REFUSED INSUFFICIENT", "b", 1},
    {CREP_UNAVAILABLE, "ERROR UNAVAILABLE", "l", 3},
    {CREP_UNKNOWN, "ERROR UNKNOWN", "", 3},
    {CREP_BUSY, "ERROR BUSY", "", 3},
    {CREP_BADREQ, "ERROR BADREQ", "", 3},
    {CREP_INTERNAL, "ERROR INTERNAL", "t", 3},
    {CREP_STALE, "ERROR STALE", "l", 3},
    {CREP_KEEPALIVE, "OK KEEPALIVE", "", 0},
};

static const text_form_t *form_by_code(const text_form_t *forms, size_t n, int code) {
    for (size_t i = 0; i < n; i++) {
        if (forms[i].code == code) return &forms[i];
    }
    return NULL;
}

int wire_crep_exit_code(crep_kind_t kind) {
    const text_form_t *f = form_by_code(crep_forms, AC_ARRAY_LEN(crep_forms), (int)kind);
    return f == NULL ? 3 : f->exit_code; /* an unknown kind cannot be a success */
}

/* ---- text checks ---- */

/* Length of a NUL-terminated string in a char[cap], or cap when it has no NUL. */
static size_t text_len(const char *s, size_t cap) {
    size_t n = 0;
    while (n < cap && s[n] != '\0') n++;
    return n;
}

/* The TXLIST file: 1..PATH_BYTES_MAX bytes, no control characters (bytes >= 0x80, e.g.
 * UTF-8, are allowed: it is a path). */
static int file_text_valid(const char *s, size_t len) {
    if (len < 1 || len > PATH_BYTES_MAX) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) return 0;
    }
    return 1;
}

/* The INTERNAL text: 1..PATH_BYTES_MAX bytes of printable ASCII. */
static int plain_text_valid(const char *s, size_t len) {
    if (len < 1 || len > PATH_BYTES_MAX) return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) return 0;
    }
    return 1;
}

/* Backend letters: 1..3 of A, B, C, each at most once, in order ("A", "AC", "ABC"). */
static int letters_valid(const char *s, size_t len) {
    if (len < 1 || len > UNAVAILABLE_LETTERS_MAX) return 0;
    char prev = 'A' - 1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] <= prev || s[i] > backend_letter(BACKEND_COUNT - 1)) return 0;
        prev = s[i];
    }
    return 1;
}

/* ---- numbers: canonical decimal only (no sign but a leading '-', no leading zeros,
 * no "-0"), so every value has exactly one spelling. ---- */
static int u64_parse(const char *s, size_t len, uint64_t *out) {
    if (len < 1 || len > SERIAL_DIGITS_MAX || (len > 1 && s[0] == '0')) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static int i64_parse(const char *s, size_t len, int64_t *out) {
    int negative = len > 0 && s[0] == '-';
    uint64_t mag = 0;
    size_t skip = negative ? 1 : 0;
    if (!u64_parse(s + skip, len - skip, &mag)) return 0;
    if (negative) {
        if (mag == 0 || mag > (uint64_t)INT64_MAX + 1) return 0;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX) return 0;
        *out = (int64_t)mag;
    }
    return 1;
}

/* ---- writing text: like bw_t, `bad` latches no-room or an invalid field ---- */
typedef struct {
    char *p;
    size_t cap;
    size_t len;
    int bad;
} tw_t;

static void tw_init(tw_t *w, char *buf, size_t cap, size_t line_max) {
    w->p = buf;
    w->cap = buf == NULL ? 0 : (cap < line_max ? cap : line_max);
    w->len = 0;
    w->bad = 0;
}

static void tw_bytes(tw_t *w, const char *s, size_t n) {
    if (w->bad || w->cap - w->len < n) {
        w->bad = 1;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void tw_u64(tw_t *w, uint64_t v) {
    char digits[SERIAL_DIGITS_MAX];
    size_t n = sizeof digits;
    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    tw_bytes(w, digits + n, sizeof digits - n);
}

static void tw_i64(tw_t *w, int64_t v) {
    if (v < 0) {
        tw_bytes(w, "-", 1);
        tw_u64(w, (uint64_t)(-(v + 1)) + 1); /* safe for INT64_MIN */
    } else {
        tw_u64(w, (uint64_t)v);
    }
}

static void tw_name(tw_t *w, const wire_name_t *n) {
    if (!tx_name_valid(n->s, n->len)) w->bad = 1;
    tw_bytes(w, n->s, n->len);
}

/* Writes a text field that check() accepts. */
static void tw_text(tw_t *w, const char *s, size_t cap, int (*check)(const char *, size_t)) {
    size_t n = text_len(s, cap);
    if (!check(s, n)) w->bad = 1;
    tw_bytes(w, s, n);
}

static size_t tw_finish(tw_t *w) {
    tw_bytes(w, "\n", 1);
    return w->bad ? 0 : w->len;
}

/* ---- reading text: single-space separated tokens ---- */
typedef struct {
    const char *s;
    size_t len;
    size_t pos;   /* start of the next token */
    int ended;    /* the last token has been taken */
} ts_t;

/* Takes the next token (the bytes up to the next space or the end of the line). Returns
 * 0 when none is left or it is empty (a leading, doubled or trailing space). */
static int ts_token(ts_t *t, const char **tok, size_t *tok_len) {
    if (t->ended) return 0;
    size_t i = t->pos;
    while (i < t->len && t->s[i] != ' ') i++;
    if (i == t->pos) return 0;
    *tok = t->s + t->pos;
    *tok_len = i - t->pos;
    if (i == t->len) {
        t->ended = 1;
    } else {
        t->pos = i + 1;
    }
    return 1;
}

/* Takes everything left on the line (spaces included). Returns 0 when nothing is left. */
static int ts_rest(ts_t *t, const char **rest, size_t *rest_len) {
    if (t->ended || t->pos == t->len) return 0;
    *rest = t->s + t->pos;
    *rest_len = t->len - t->pos;
    t->ended = 1;
    return 1;
}

/* Matches the fixed words of a form at the start of the line. */
static int ts_head(ts_t *t, const char *head) {
    size_t n = strlen(head);
    if (t->len < n || memcmp(t->s, head, n) != 0) return 0;
    if (t->len == n) {
        t->ended = 1;
    } else if (t->s[n] == ' ') {
        t->pos = n + 1;
    } else {
        return 0; /* "REFUSED NOUSERSX" is not "REFUSED NOUSERS" */
    }
    return 1;
}

static int ts_name(ts_t *t, wire_name_t *n) {
    const char *tok;
    size_t len;
    if (!ts_token(t, &tok, &len) || !tx_name_valid(tok, len)) return 0;
    memcpy(n->s, tok, len);
    n->s[len] = '\0';
    n->len = (uint8_t)len;
    return 1;
}

static int ts_u64(ts_t *t, uint64_t *v) {
    const char *tok;
    size_t len;
    return ts_token(t, &tok, &len) && u64_parse(tok, len, v);
}

static int ts_i64(ts_t *t, int64_t *v) {
    const char *tok;
    size_t len;
    return ts_token(t, &tok, &len) && i64_parse(tok, len, v);
}

/* Reads the rest of the line (or one token) into text when check() accepts it. */
static int ts_text(ts_t *t, int whole_rest, char *text, int (*check)(const char *, size_t)) {
    const char *s;
    size_t len;
    int got = whole_rest ? ts_rest(t, &s, &len) : ts_token(t, &s, &len);
    if (!got || !check(s, len)) return 0;
    memcpy(text, s, len); /* check() bounds len by PATH_BYTES_MAX */
    text[len] = '\0';
    return 1;
}

/* Finds the form whose head starts the line; returns it with t past the head. */
static const text_form_t *ts_form(ts_t *t, const text_form_t *forms, size_t n) {
    for (size_t i = 0; i < n; i++) {
        ts_t probe = *t;
        if (ts_head(&probe, forms[i].head)) {
            *t = probe;
            return &forms[i];
        }
    }
    return NULL;
}

/* ---- requests ---- */

size_t wire_creq_encode(const wire_creq_t *r, char *buf, size_t cap) {
    AC_ASSERT(r != NULL);
    const text_form_t *f = form_by_code(creq_forms, AC_ARRAY_LEN(creq_forms), (int)r->op);
    if (f == NULL) return 0;
    tw_t w;
    tw_init(&w, buf, cap, TCP_REQUEST_BYTES_MAX);
    tw_bytes(&w, f->head, strlen(f->head));
    for (const char *a = f->args; *a != '\0'; a++) {
        tw_bytes(&w, " ", 1);
        switch (*a) {
        case 'u': tw_name(&w, &r->user); break;
        case 'v': tw_name(&w, &r->receiver); break;
        default: /* 'a' */
            if (r->amount < AMOUNT_MIN || r->amount > AMOUNT_MAX) w.bad = 1;
            tw_i64(&w, r->amount);
            break;
        }
    }
    return tw_finish(&w);
}

/* A request amount: exactly what tx_amount_parse accepts (no leading 0, 1..10^12). */
static int ts_amount(ts_t *t, int64_t *amount) {
    const char *tok;
    size_t len;
    if (!ts_token(t, &tok, &len)) return 0;
    return tx_amount_parse(tok, len, amount) == AC_OK;
}

int wire_creq_decode(const char *line, size_t len, wire_creq_t *r) {
    AC_ASSERT(r != NULL);
    AC_ASSERT(line != NULL || len == 0);
    memset(r, 0, sizeof *r);
    ts_t t = {line, len, 0, 0};
    const text_form_t *f = ts_form(&t, creq_forms, AC_ARRAY_LEN(creq_forms));
    if (f == NULL) return AC_EINVAL;
    r->op = (creq_op_t)f->code;
    for (const char *a = f->args; *a != '\0'; a++) {
        int ok;
        switch (*a) {
        case 'u': ok = ts_name(&t, &r->user); break;
        case 'v': ok = ts_name(&t, &r->receiver); break;
        default: ok = ts_amount(&t, &r->amount); break; /* 'a' */
        }
        if (!ok) return AC_EINVAL;
    }
    return t.ended ? AC_OK : AC_EINVAL;
}

/* ---- replies ---- */

size_t wire_crep_encode(const wire_crep_t *r, char *buf, size_t cap) {
    AC_ASSERT(r != NULL);
    const text_form_t *f = form_by_code(crep_forms, AC_ARRAY_LEN(crep_forms), (int)r->kind);
    if (f == NULL) return 0;
    tw_t w;
    tw_init(&w, buf, cap, TCP_LINE_BYTES_MAX);
    tw_bytes(&w, f->head, strlen(f->head));
    for (const char *a = f->args; *a != '\0'; a++) {
        tw_bytes(&w, " ", 1);
        switch (*a) {
        case 'b': tw_i64(&w, r->balance); break;
        case 's':
            if (r->serial == 0) w.bad = 1;
            tw_u64(&w, r->serial);
            break;
        case 'r':
            if (r->count > STATS_PARTNERS_MAX) w.bad = 1;
            tw_u64(&w, r->count);
            break;
        case 'c': tw_u64(&w, r->count); break;
        case 'n': tw_name(&w, &r->names[0]); break;
        case 'm': tw_name(&w, &r->names[1]); break;
        case 'l': tw_text(&w, r->text, sizeof r->text, letters_valid); break;
        case 'f': tw_text(&w, r->text, sizeof r->text, file_text_valid); break;
        default: tw_text(&w, r->text, sizeof r->text, plain_text_valid); break; /* 't' */
        }
    }
    return tw_finish(&w);
}

int wire_crep_decode(const char *line, size_t len, wire_crep_t *r) {
    AC_ASSERT(r != NULL);
    AC_ASSERT(line != NULL || len == 0);
    memset(r, 0, sizeof *r);
    ts_t t = {line, len, 0, 0};
    const text_form_t *f = ts_form(&t, crep_forms, AC_ARRAY_LEN(crep_forms));
    if (f == NULL) return AC_EINVAL;
    r->kind = (crep_kind_t)f->code;
    for (const char *a = f->args; *a != '\0'; a++) {
        int ok;
        switch (*a) {
        case 'b': ok = ts_i64(&t, &r->balance); break;
        case 's': ok = ts_u64(&t, &r->serial) && r->serial != 0; break;
        case 'r': ok = ts_u64(&t, &r->count) && r->count <= STATS_PARTNERS_MAX; break;
        case 'c': ok = ts_u64(&t, &r->count); break;
        case 'n': ok = ts_name(&t, &r->names[0]); break;
        case 'm': ok = ts_name(&t, &r->names[1]); break;
        case 'l': ok = ts_text(&t, 0, r->text, letters_valid); break;
        case 'f': ok = ts_text(&t, 1, r->text, file_text_valid); break;
        default: ok = ts_text(&t, 1, r->text, plain_text_valid); break; /* 't' */
        }
        if (!ok) return AC_EINVAL;
    }
    return t.ended ? AC_OK : AC_EINVAL;
}

/* ---- stats rows: "<rank> <partner> <count> <net>" ---- */

size_t wire_crow_encode(const wire_crow_t *r, char *buf, size_t cap) {
    AC_ASSERT(r != NULL);
    tw_t w;
    tw_init(&w, buf, cap, TCP_LINE_BYTES_MAX);
    tw_u64(&w, r->rank);
    tw_bytes(&w, " ", 1);
    tw_name(&w, &r->partner);
    tw_bytes(&w, " ", 1);
    tw_u64(&w, r->count);
    tw_bytes(&w, " ", 1);
    tw_i64(&w, r->net);
    return tw_finish(&w);
}

int wire_crow_decode(const char *line, size_t len, wire_crow_t *r) {
    AC_ASSERT(r != NULL);
    AC_ASSERT(line != NULL || len == 0);
    memset(r, 0, sizeof *r);
    ts_t t = {line, len, 0, 0};
    int ok = ts_u64(&t, &r->rank) && ts_name(&t, &r->partner) && ts_u64(&t, &r->count) &&
             ts_i64(&t, &r->net);
    return ok && t.ended ? AC_OK : AC_EINVAL;
}

/* ---- line assembly ---- */

void wire_lines_init(wire_lines_t *lb, size_t limit) {
    AC_ASSERT(lb != NULL);
    AC_ASSERT(limit >= 1);
    AC_ASSERT(limit <= sizeof lb->buf);
    lb->len = 0;
    lb->limit = limit;
}

/* After AC_EFULL the assembler stays failed (len == limit, which no line can reach) until
 * wire_lines_init: the rest of an overlong line must never pass for a line of its own. */
int wire_lines_take(wire_lines_t *lb, const uint8_t *data, size_t len, size_t *used,
                    const char **line, size_t *line_len) {
    AC_ASSERT(lb != NULL);
    AC_ASSERT(lb->limit >= 1 && lb->limit <= sizeof lb->buf);
    AC_ASSERT(data != NULL || len == 0);
    AC_ASSERT(used != NULL && line != NULL && line_len != NULL);
    *used = 0;
    *line = NULL;
    *line_len = 0;
    if (lb->len >= lb->limit) return AC_EFULL;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            size_t n = lb->len;
            if (n > 0 && lb->buf[n - 1] == '\r') n--;
            *used = i + 1;
            *line = lb->buf;
            *line_len = n;
            lb->len = 0; /* the bytes stay in buf until the next call overwrites them */
            return 1;
        }
        if (lb->len + 1 >= lb->limit) { /* this byte, then the '\n', would not fit */
            lb->len = lb->limit;
            *used = i + 1;
            return AC_EFULL;
        }
        lb->buf[lb->len++] = (char)data[i];
    }
    *used = len;
    return 0;
}

/* ---- persistent connections ---- */

size_t wire_hello_encode(char *buf, size_t cap) {
    wire_creq_t hello;
    memset(&hello, 0, sizeof hello);
    hello.op = CREQ_KEEPALIVE;
    return wire_creq_encode(&hello, buf, cap);
}

void wire_frame_init(wire_frame_t *f) {
    AC_ASSERT(f != NULL);
    memset(f, 0, sizeof *f);
    wire_lines_init(&f->lines, TCP_LINE_BYTES_MAX);
}

/* One line at a time through wire_lines: the head line is decoded, a STATS head sets the
 * rows to count, and the reply ends with its head (no rows) or its last row. */
int wire_frame_take(wire_frame_t *f, const uint8_t *data, size_t len, size_t *used) {
    AC_ASSERT(f != NULL);
    AC_ASSERT(data != NULL || len == 0);
    AC_ASSERT(used != NULL);
    *used = 0;
    for (;;) {
        size_t took = 0, line_len = 0;
        const char *line = NULL;
        const uint8_t *rest = data == NULL ? NULL : data + *used; /* no offset on NULL */
        int rc = wire_lines_take(&f->lines, rest, len - *used, &took, &line, &line_len);
        *used += took;
        if (rc != 1) return rc; /* 0: all consumed; AC_EFULL: an overlong line */
        if (!f->have_head) {
            if (wire_crep_decode(line, line_len, &f->head) != AC_OK) {
                memset(&f->head, 0, sizeof f->head); /* the decoder may have set a kind */
                return AC_EINVAL;
            }
            f->have_head = 1;
            f->rows_left = f->head.kind == CREP_STATS ? f->head.count : 0;
        } else {
            AC_ASSERT(f->rows_left > 0);
            f->rows_left--;
        }
        if (f->rows_left == 0) {
            f->have_head = 0;
            return 1;
        }
    }
}
