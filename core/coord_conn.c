/* coord_conn.c — serverM's client connections: the connection table (conn id -> conn in
 * O(1)), each connection's ring of unanswered requests, and op_send, the one way a reply
 * leaves, in request order. It decides what every event on a connection means
 * (coordinator.h, docs/PROTOCOL.md 2.5); a request line becomes an op in the op pool
 * (coordinator.c), which batches and jobs serve. */
#include <stdio.h> /* snprintf only: core never prints */
#include <stdlib.h>
#include <string.h>

#include "coord_internal.h"
#include "messages.h"
#include "mutant.h"

static char client_letter(int client_index) { return (char)('A' + client_index); }

static uint16_t client_port(const coord_t *c, int client_index) {
    return c->cfg.client_port[client_index];
}

/* The connection table: conns[] with a free stack, and conn_index, a linear-probing hash
 * of the driver's conn ids, so that every connection event finds its conn in O(1). */
static uint32_t conn_hash(uint32_t conn_id) {
    uint32_t h = conn_id * 2654435761u; /* Knuth's multiplicative hash */
    return (h ^ (h >> 16)) & (CONN_INDEX_SLOTS - 1);
}

conn_t *conn_find(coord_t *c, uint32_t conn_id) {
    for (uint32_t h = conn_hash(conn_id); c->conn_index[h] != 0; h = (h + 1) & (CONN_INDEX_SLOTS - 1)) {
        conn_t *k = &c->conns[c->conn_index[h] - 1];
        if (k->conn_id == conn_id) return k;
    }
    return NULL;
}

static void conn_index_add(coord_t *c, int i) {
    uint32_t h = conn_hash(c->conns[i].conn_id);
    while (c->conn_index[h] != 0) h = (h + 1) & (CONN_INDEX_SLOTS - 1);
    c->conn_index[h] = (uint16_t)(i + 1);
    AC_ASSERT(conn_find(c, c->conns[i].conn_id) == &c->conns[i]);
}

/* Removes conns[i] from the index; the entries after it in its probe run move back into
 * the hole when their home slot allows (backward-shift deletion: no tombstones). */
static void conn_index_remove(coord_t *c, int i) {
    const uint32_t mask = CONN_INDEX_SLOTS - 1;
    uint32_t hole = conn_hash(c->conns[i].conn_id);
    while (c->conn_index[hole] != (uint16_t)(i + 1)) hole = (hole + 1) & mask;
    for (uint32_t j = (hole + 1) & mask; c->conn_index[j] != 0; j = (j + 1) & mask) {
        uint32_t home = conn_hash(c->conns[c->conn_index[j] - 1].conn_id);
        /* j may fill the hole unless its home lies cyclically in (hole, j] */
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            c->conn_index[hole] = c->conn_index[j];
            hole = j;
        }
    }
    c->conn_index[hole] = 0;
}

static void conn_admit_held(coord_t *c, conn_t *k);

/* ---- memory: replies not yet taken by a socket (common.h, coordinator.h) -----------------
 * Every reply byte is counted from its FX_CONN_SEND (or from being held for its turn) until
 * the driver reports it taken (coord_on_conn_sent) or the connection is reset. The rule:
 * a connection owed CONN_UNSENT_BYTES_MAX or more is not read; while all of them together
 * are over COORD_UNSENT_BYTES_BUDGET, no persistent connection owed anything is read. A
 * request line already read from such a connection (the driver's last read held several)
 * is answered ERROR BUSY, a line long, instead of becoming a reply of up to a STATS page a
 * row; one-shot connections are always read (one request each), so other clients keep
 * being served. */

static int conn_read_rule(const coord_t *c, const conn_t *k) {
    size_t owed = k->unsent_bytes + k->held_bytes;
    if (owed >= CONN_UNSENT_BYTES_MAX) return 0;
    return !(c->over_budget && k->state == CONN_KEEP && owed > 0);
}

/* A reply longer than a line (a STATS table; every other reply is one line, and at most
 * OPS_MAX of them are owed at once) is answered ERROR BUSY instead when k could not read
 * another request: it is owed bytes already and the reply would take it past its bound or
 * all connections past the budget; or when it would take all of them past the limit (a
 * persistent connection: past 3/4 of it, so that a one-shot client is still answered).
 * Reading stops before either, so only requests read before it stopped meet this rule:
 * what a connection nobody reads is owed stays under its bound, plus one reply. */
_Static_assert(COORD_REPLY_BYTES_MAX <= COORD_UNSENT_BYTES_LIMIT / 4 * 3,
               "the longest reply is refused only while others' replies fill the limit");
static int reply_refused(const coord_t *c, const conn_t *k, size_t len) {
    if (len <= TCP_LINE_BYTES_MAX) return 0;
    size_t owed = k->unsent_bytes + k->held_bytes;
    size_t limit = k->state == CONN_KEEP ? COORD_UNSENT_BYTES_LIMIT / 4 * 3 : COORD_UNSENT_BYTES_LIMIT;
    if (c->unsent_bytes + len > limit) return 1;
    if (owed == 0) return 0;
    return owed + len > CONN_UNSENT_BYTES_MAX || c->unsent_bytes + len > COORD_UNSENT_BYTES_BUDGET;
}

/* Tells the driver when the rule changes its mind about k. */
static void conn_read_update(coord_t *c, conn_t *k, outbox_t *out) {
    int stop = !conn_read_rule(c, k);
    if (stop == k->read_stopped) return;
    k->read_stopped = stop;
    fx_t *f = outbox_push(out, FX_CONN_READ, k->conn_id, 0, NULL, 0);
    if (f != NULL) f->arg = (uint64_t)!stop;
}

/* The total changed: crossing the budget (up) or 3/4 of it (down) decides every connection
 * again, O(connections) at most once per budget/4 bytes moved. */
static void coord_budget_update(coord_t *c, outbox_t *out) {
    int over = c->unsent_bytes >= (c->over_budget ? COORD_UNSENT_BYTES_BUDGET / 4 * 3
                                                  : COORD_UNSENT_BYTES_BUDGET);
    if (over == c->over_budget) return;
    c->over_budget = over;
    if (over) {
        c->stats.budget_stops++;
        if ((c->stats.budget_stops & (c->stats.budget_stops - 1)) == 0) /* 1st, 2nd, 4th, ... */
            outbox_line(out, FX_STDERR, "replies unread by clients reached %u MiB; reading only "
                        "connections owed nothing (%llu times so far)", COORD_UNSENT_BYTES_BUDGET >> 20,
                        (unsigned long long)c->stats.budget_stops);
    }
    for (int i = 0; i < c->conn_hw; i++)
        if (c->conns[i].state != CONN_FREE) conn_read_update(c, &c->conns[i], out);
}

/* n more bytes owed in *field: k's unsent_bytes or held_bytes, or (k NULL) the closed ones. */
static void unsent_add(coord_t *c, conn_t *k, size_t *field, size_t n, outbox_t *out) {
    *field += n;
    c->unsent_bytes += n;
    if (k != NULL) conn_read_update(c, k, out);
    coord_budget_update(c, out);
}

static void unsent_sub(coord_t *c, conn_t *k, size_t *field, size_t n, outbox_t *out) {
    AC_ASSERT(*field >= n);
    AC_ASSERT(c->unsent_bytes >= n);
    *field -= n;
    c->unsent_bytes -= n;
    if (k != NULL) conn_read_update(c, k, out);
    if (out != NULL) coord_budget_update(c, out);
}

/* The one way reply bytes go to a connection the core has open. */
static void conn_send(coord_t *c, conn_t *k, const void *bytes, size_t len, outbox_t *out) {
    outbox_push(out, FX_CONN_SEND, k->conn_id, 0, bytes, len);
    unsent_add(c, k, &k->unsent_bytes, len, out);
}

void coord_on_conn_sent(coord_t *c, uint64_t now_us, uint32_t conn_id, size_t bytes,
                        outbox_t *out) {
    (void)now_us;
    conn_t *k = conn_find(c, conn_id);
    size_t *field = k != NULL ? &k->unsent_bytes : &c->closed_unsent_bytes;
    if (NEVER(bytes > *field)) bytes = *field; /* a driver's bug: more than it was given */
    unsent_sub(c, k, field, bytes, out);
}

size_t coord_unsent_bytes(const coord_t *c) {
    size_t sent = c->closed_unsent_bytes, held = 0;
    for (int i = 0; i < c->conn_hw; i++) {
        sent += c->conns[i].unsent_bytes;
        held += c->conns[i].held_bytes;
    }
    AC_ASSERT(sent + held == c->unsent_bytes); /* the total is kept in step */
    return sent;
}

/* Frees what the ring holds; an op still working on one of its requests will find its
 * connection gone (conn_open = 0) and drop its reply. */
static void conn_ring_clear(coord_t *c, conn_t *k) {
    for (uint32_t n = 0; n < k->count; n++) {
        pend_t *p = &k->ring[(k->head + n) % TCP_PIPELINE_MAX];
        if (p->op >= 0) {
            c->ops[p->op].conn_open = 0;
            if (c->ops[p->op].state == OP_HELD) op_admit(c, p->op); /* accepted: it completes */
        }
        free(p->held);
    }
    k->count = 0;
    unsent_sub(c, NULL, &k->held_bytes, k->held_bytes, NULL);
}

void coord_conns_free(coord_t *c) {
    for (int i = 0; i < c->conn_hw; i++) {
        conn_t *k = &c->conns[i];
        if (k->state == CONN_FREE) continue;
        for (uint32_t n = 0; n < k->count; n++) free(k->ring[(k->head + n) % TCP_PIPELINE_MAX].held);
        k->count = 0;
    }
}

/* closed: the driver still holds k's unsent bytes and reports them (FX_CONN_CLOSE); else
 * (a reset) it has let them go. */
static void conn_forget(coord_t *c, conn_t *k, int closed, outbox_t *out) {
    int i = (int)(k - c->conns);
    AC_ASSERT(k->state != CONN_FREE);
    conn_ring_clear(c, k);
    if (closed) c->closed_unsent_bytes += k->unsent_bytes; /* the total keeps them */
    else unsent_sub(c, NULL, &k->unsent_bytes, k->unsent_bytes, NULL);
    conn_index_remove(c, i);
    AC_ASSERT(conn_find(c, k->conn_id) == NULL);
    memset(k, 0, sizeof(*k));
    pool_put(c->conn_free, &c->conn_free_count, CONNECTIONS_MAX, i);
    while (c->conn_hw > 0 && c->conns[c->conn_hw - 1].state == CONN_FREE) c->conn_hw--;
    coord_budget_update(c, out);
}

static void conn_close(coord_t *c, conn_t *k, outbox_t *out) {
    outbox_push(out, FX_CONN_CLOSE, k->conn_id, 0, NULL, 0);
    conn_forget(c, k, 1, out);
}

static void conn_send_kind(coord_t *c, conn_t *k, crep_kind_t kind, outbox_t *out) {
    wire_crep_t rep = {.kind = kind};
    char line[TCP_LINE_BYTES_MAX];
    size_t n = wire_crep_encode(&rep, line, sizeof(line));
    AC_ASSERT(n > 0);
    conn_send(c, k, line, n, out);
}

static void conn_reply_close(coord_t *c, conn_t *k, const wire_crep_t *rep, outbox_t *out) {
    char line[TCP_LINE_BYTES_MAX];
    size_t n = wire_crep_encode(rep, line, sizeof(line));
    AC_ASSERT(n > 0);
    conn_send(c, k, line, n, out);
    conn_close(c, k, out);
}

/* The spec's "sent ... to client <j>" line of a request kind (TXLIST has none: "wrote the
 * sorted list" says it). */
static void conn_sent_line(int client_index, uint8_t msg, outbox_t *out) {
    char j = client_letter(client_index);
    switch (msg) {
    case CREQ_BALANCE: outbox_line(out, FX_STDOUT, MSG_M_SENT_BALANCE, j); break;
    case CREQ_TRANSFER: outbox_line(out, FX_STDOUT, MSG_M_SENT_RESULT, j); break;
    case CREQ_STATS: outbox_line(out, FX_STDOUT, MSG_M_SENT_STATS, j); break;
    default: break;
    }
}

/* Sends one reply that is next in its connection's order: its bytes, then (one-shot) the
 * close, then the screen line, then the BUSY replies owed after it. Returns 0 when the
 * connection is gone (one-shot: closed) and k must not be used again. */
static int conn_emit(coord_t *c, conn_t *k, const uint8_t *bytes, size_t len, uint8_t msg,
                     uint32_t busy_after, outbox_t *out) {
    if (len > 0) conn_send(c, k, bytes, len, out);
    int client_index = k->client_index;
    if (k->state == CONN_SERVING) {
        AC_ASSERT(busy_after == 0);
        conn_close(c, k, out); /* forgets k */
        conn_sent_line(client_index, msg, out);
        return 0;
    }
    conn_sent_line(client_index, msg, out);
    for (uint32_t b = 0; b < busy_after; b++) conn_send_kind(c, k, CREP_BUSY, out);
    return 1;
}

/* Sends the replies at the head of the ring that are ready, in order; once the ring is
 * empty, a pending BADREQ or the peer's eof closes the connection. */
static void conn_flush(coord_t *c, conn_t *k, outbox_t *out) {
    while (k->count > 0) {
        pend_t *p = &k->ring[k->head % TCP_PIPELINE_MAX];
        if (!p->ready) return;
        pend_t taken = *p;
        memset(p, 0, sizeof(*p));
        p->op = -1;
        k->head++;
        k->count--;
        int alive;
        if (taken.held != NULL) unsent_sub(c, k, &k->held_bytes, taken.held_len, out);
        if (taken.fixed != 0) {
            conn_send_kind(c, k, (crep_kind_t)taken.fixed, out);
            alive = conn_emit(c, k, NULL, 0, 0, taken.busy_after, out);
        } else {
            alive = conn_emit(c, k, taken.held, taken.held_len, taken.msg, taken.busy_after, out);
        }
        free(taken.held);
        if (!alive) return;
    }
    if (k->state != CONN_KEEP) return;
    if (k->badreq) {
        conn_send_kind(c, k, CREP_BADREQ, out);
        conn_close(c, k, out);
    } else if (k->peer_eof) {
        conn_close(c, k, out); /* a half-close: everything received is answered */
    }
}

/* Appends a request to the ring (the caller checked there is room); returns its seq. */
static uint32_t conn_push(conn_t *k, int op, crep_kind_t fixed) {
    AC_ASSERT(k->count < TCP_PIPELINE_MAX);
    uint32_t seq = k->head + k->count;
    pend_t *p = &k->ring[seq % TCP_PIPELINE_MAX];
    memset(p, 0, sizeof(*p));
    p->op = op;
    p->ready = op < 0;
    p->fixed = (uint8_t)fixed;
    k->count++;
    return seq;
}

/* A persistent connection's request answered without an op (OK KEEPALIVE, a BUSY of a
 * full op pool), in its turn. A full ring adds one more BUSY after its last request. */
static void conn_answer_fixed(coord_t *c, conn_t *k, crep_kind_t kind, outbox_t *out) {
    if (k->count >= TCP_PIPELINE_MAX) {
        k->ring[(k->head + k->count - 1) % TCP_PIPELINE_MAX].busy_after++;
        return;
    }
    conn_push(k, -1, kind);
    conn_flush(c, k, out);
}

/* A malformed or overlong line: one-shot, ERROR BADREQ and close now; persistent, after
 * the replies still owed (the stream can no longer be trusted, so nothing more is read). */
static void conn_bad_line(coord_t *c, conn_t *k, const char *why, outbox_t *out) {
    outbox_line(out, FX_STDERR, "closed a connection: %s", why);
    if (k->state != CONN_KEEP) {
        wire_crep_t bad = {.kind = CREP_BADREQ};
        conn_reply_close(c, k, &bad, out);
        return;
    }
    k->badreq = 1;
    conn_flush(c, k, out);
}

int coord_on_conn_open(coord_t *c, uint64_t now_us, uint32_t conn_id, int client_index,
                       outbox_t *out) {
    AC_ASSERT(client_index == 0 || client_index == 1);
    AC_ASSERT(conn_find(c, conn_id) == NULL);
    int fresh;
    int i = pool_take(c->conn_free, &c->conn_free_count, &c->conn_fresh, CONNECTIONS_MAX, &fresh);
    if (i >= 0) {
        conn_t *k = &c->conns[i];
        if (fresh) memset(k, 0, sizeof(*k)); /* never handed out: never cleared (coord_new) */
        AC_ASSERT(k->state == CONN_FREE);
        k->state = CONN_READING;
        k->conn_id = conn_id;
        k->client_index = client_index;
        k->idle_deadline_us = now_us + CONN_IDLE_US;
        wire_lines_init(&k->lines, TCP_REQUEST_BYTES_MAX);
        conn_index_add(c, i);
        if (i >= c->conn_hw) c->conn_hw = i + 1;
        return 0;
    }
    wire_crep_t rep = {.kind = CREP_BUSY};
    char line[TCP_LINE_BYTES_MAX];
    size_t n = wire_crep_encode(&rep, line, sizeof(line));
    outbox_push(out, FX_CONN_SEND, conn_id, 0, line, n);
    unsent_add(c, NULL, &c->closed_unsent_bytes, n, out); /* reported like any closed one's */
    outbox_push(out, FX_CONN_CLOSE, conn_id, 0, NULL, 0);
    c->stats.busy++;
    if ((c->stats.busy & (c->stats.busy - 1)) == 0) { /* 1st, 2nd, 4th, ...: no flood */
        outbox_line(out, FX_STDERR, "too many connections (%d open); refused %llu so far",
                    CONNECTIONS_MAX, (unsigned long long)c->stats.busy);
    }
    return AC_EFULL;
}

/* Whether a reply of kind answers its request: the ledger's answer, a refusal included
 * (the spec's "sent the current balance" / "the result of the transaction" / "the
 * statistics" then say so), or not: unavailable, stale, outcome unknown, busy, internal. */
static int reply_answers(crep_kind_t kind) {
    switch (kind) {
    case CREP_BALANCE: case CREP_TRANSFER: case CREP_TXLIST: case CREP_STATS: case CREP_NOUSER:
    case CREP_NOUSERS: case CREP_SAME: case CREP_INSUFFICIENT: return 1;
    default: return 0;
    }
}

/* The one way a reply leaves: the op's reply bytes go to its client in the order of that
 * connection's requests (held by the conn while an earlier one is unanswered), followed by
 * the spec's "sent" line when the reply answers the request (a stderr line naming the
 * reply otherwise: "sent the current balance" after an UNAVAILABLE would be false);
 * nothing when the connection is gone. The op itself is released by its batch (or by its
 * caller when it never got one); the bytes are copied. */
void op_send(coord_t *c, op_t *o, const char *bytes, size_t len, crep_kind_t kind, outbox_t *out) {
    AC_ASSERT(!o->replied);
    o->replied = 1;
    if (!o->conn_open) return;
    o->conn_open = 0; /* the op is done with its connection */
    conn_t *k = conn_find(c, o->conn_id);
    if (NEVER(k == NULL)) return;
    AC_ASSERT(o->conn_seq - k->head < k->count);
    char busy[TCP_LINE_BYTES_MAX];
    int refused = 0;
    if (reply_refused(c, k, len)) { /* nobody reads it yet: memory is kept for those who do */
        wire_crep_t rep = {.kind = CREP_BUSY};
        size_t n = wire_crep_encode(&rep, busy, sizeof(busy));
        AC_ASSERT(n > 0);
        c->stats.replies_refused++;
        if ((c->stats.replies_refused & (c->stats.replies_refused - 1)) == 0) /* 1st, 2nd, 4th, ... */
            outbox_line(out, FX_STDERR, "answered client %c ERROR BUSY instead of a %zu-byte reply: "
                        "replies unread by clients hold %zu bytes (%llu such answers so far)",
                        client_letter(k->client_index), len, c->unsent_bytes,
                        (unsigned long long)c->stats.replies_refused);
        bytes = busy;
        len = n;
        kind = CREP_BUSY;
        refused = 1;
    }
    pend_t *p = &k->ring[o->conn_seq % TCP_PIPELINE_MAX];
    AC_ASSERT(p->op == (int)(o - c->ops));
    p->op = -1;
    p->ready = 1;
    if (k->state == CONN_KEEP) conn_admit_held(c, k);
    p->msg = reply_answers(kind) ? (uint8_t)o->req.op : 0;
    if (p->msg == 0 && o->req.op != CREQ_TXLIST && !refused) { /* TXLIST's: "wrote the sorted list" */
        const char *nl = memchr(bytes, '\n', len);
        outbox_line(out, FX_STDERR, "answered client %c without a result: %.*s", client_letter(k->client_index),
                    (int)(nl != NULL ? (size_t)(nl - bytes) : len), bytes);
    }
    if (o->conn_seq != k->head && MUTANT(MUT_REPLY_OUT_OF_ORDER)) {
        /* planted bug: the reply leaves as it completes, ahead of earlier ones */
        conn_send(c, k, bytes, len, out);
        conn_sent_line(k->client_index, p->msg, out);
        p->msg = 0;
        return;
    }
    if (o->conn_seq == k->head) { /* nothing before it: no copy */
        uint32_t busy_after = p->busy_after;
        uint8_t msg = p->msg;
        memset(p, 0, sizeof(*p));
        p->op = -1;
        k->head++;
        k->count--;
        if (!conn_emit(c, k, (const uint8_t *)bytes, len, msg, busy_after, out)) return;
        conn_flush(c, k, out);
        return;
    }
    p->held = malloc(len);
    if (p->held == NULL) { /* cannot keep the order: drop the connection, as a reset would */
        outbox_line(out, FX_STDERR, "closed a connection: out of memory for a held reply");
        conn_close(c, k, out);
        return;
    }
    memcpy(p->held, bytes, len);
    p->held_len = len;
    unsent_add(c, k, &k->held_bytes, len, out);
}

/* Sends the reply of an op (op_send) as one line. */
void op_reply(coord_t *c, op_t *o, const wire_crep_t *rep, outbox_t *out) {
    char line[TCP_LINE_BYTES_MAX];
    size_t n = wire_crep_encode(rep, line, sizeof(line));
    AC_ASSERT(n > 0);
    op_send(c, o, line, n, rep->kind, out);
}

/* An UNAVAILABLE reply names the backends that failed (text: their letters); when some
 * of them answered STALE (stale_mask, of the batch or job that failed), the reply is STALE
 * and names just those. */
void op_reply_kind(coord_t *c, op_t *o, crep_kind_t kind, const char *text, uint8_t stale_mask,
                   outbox_t *out) {
    wire_crep_t rep;
    memset(&rep, 0, sizeof(rep));
    rep.kind = kind;
    if (text != NULL) snprintf(rep.text, sizeof(rep.text), "%s", text);
    uint8_t stale = 0;
    for (const char *l = text; kind == CREP_UNAVAILABLE && l != NULL && *l != '\0'; l++)
        stale |= (uint8_t)(stale_mask & (1u << (*l - 'A')));
    if (stale != 0) {
        rep.kind = CREP_STALE;
        mask_letters(stale, rep.text);
    }
    op_reply(c, o, &rep, out);
}
/* A persistent connection's requests take effect in their order. The request at seq may
 * start before the earlier unanswered requests of k only where batches keep the order by
 * themselves: a balance behind balances (one batch's fetch, or a later one), a transfer
 * behind balances and transfers (a batch answers its balances from the fetch before its
 * transfers; transfers keep their order through batches: c->parked and deferrals keep a
 * connection's transfers together). Anything else, and anything behind a stats or TXLIST
 * job (its moment is its own), waits for the answers before it. Nothing passes a request
 * that is still held. */
static int conn_may_admit(const coord_t *c, const conn_t *k, uint32_t seq) {
    creq_op_t x = c->ops[k->ring[seq % TCP_PIPELINE_MAX].op].req.op;
    if (MUTANT(MUT_CONN_UNORDERED)) return 1;
    for (uint32_t s = k->head; s != seq; s++) {
        const pend_t *p = &k->ring[s % TCP_PIPELINE_MAX];
        if (p->op < 0) continue; /* answered */
        const op_t *e = &c->ops[p->op];
        if (e->state == OP_HELD) return 0;
        int in_order = (x == CREQ_BALANCE && e->req.op == CREQ_BALANCE) ||
                       (x == CREQ_TRANSFER && (e->req.op == CREQ_BALANCE || e->req.op == CREQ_TRANSFER));
        if (!in_order) return 0;
    }
    return 1;
}

/* Admits k's held requests, in order, as far as conn_may_admit allows (after an answer).
 * They start at the next coord_schedule (every batch and job end calls it). */
static void conn_admit_held(coord_t *c, conn_t *k) {
    for (uint32_t s = k->head; s != k->head + k->count; s++) {
        const pend_t *p = &k->ring[s % TCP_PIPELINE_MAX];
        if (p->op < 0 || c->ops[p->op].state != OP_HELD) continue;
        if (!conn_may_admit(c, k, s)) return;
        op_admit(c, p->op);
    }
}

/* A request line of k becomes an op in the queue (or, at a limit, an ERROR BUSY in its
 * turn: the op pool is full, or a persistent connection has TCP_PIPELINE_MAX unanswered, or
 * persistent connections would take the ops kept for one-shot ones). */
static void coord_accept_request(coord_t *c, uint64_t now_us, conn_t *k, const wire_creq_t *req,
                                 outbox_t *out) {
    AC_ASSERT(req->op != CREQ_KEEPALIVE); /* answered by conn_take_line */
    AC_ASSERT(k->state == CONN_READING || k->state == CONN_KEEP); /* one-shot: one request */
    /* CONNECTIONS_MAX ops are kept for one-shot connections (each needs one): pipelines that
     * nobody reads cannot take them all, so a one-shot client is never turned away for them */
    if (k->state == CONN_KEEP && (k->count >= TCP_PIPELINE_MAX || !conn_read_rule(c, k) ||
                                  pool_free(c->op_free_count, c->op_fresh, OPS_MAX) <= OPS_KEPT_ONESHOT)) {
        conn_answer_fixed(c, k, CREP_BUSY, out);
        return;
    }
    int slot = op_alloc(c);
    if (slot < 0) { /* every queue holds at most OPS_MAX: the ops */
        if (k->state == CONN_KEEP) {
            conn_answer_fixed(c, k, CREP_BUSY, out);
            return;
        }
        wire_crep_t rep = {.kind = CREP_BUSY};
        conn_reply_close(c, k, &rep, out);
        return;
    }
    op_t *o = &c->ops[slot];
    o->conn_id = k->conn_id;
    o->conn_open = 1;
    o->client_index = k->client_index;
    o->req = *req;
    o->arrived_us = now_us;
    if (k->state == CONN_READING) k->state = CONN_SERVING; /* one-shot: this is its request */
    o->conn_seq = conn_push(k, slot, 0);
    c->stats.requests++;
    uint16_t port = client_port(c, k->client_index);
    char j = client_letter(k->client_index);
    switch (req->op) {
    case CREQ_BALANCE:
        outbox_line(out, FX_STDOUT, MSG_M_RECV_BALANCE, req->user.s, port);
        break;
    case CREQ_TRANSFER:
        outbox_line(out, FX_STDOUT, MSG_M_RECV_TRANSFER, req->user.s, (long long)req->amount,
                    req->receiver.s, port);
        break;
    case CREQ_TXLIST:
        outbox_line(out, FX_STDOUT, MSG_M_RECV_TXLIST, j, port);
        break;
    case CREQ_STATS:
        outbox_line(out, FX_STDOUT, MSG_M_RECV_STATS, req->user.s, j, port);
        break;
    case CREQ_KEEPALIVE: AC_ASSERT(0); break; /* answered by coord_on_conn_data */
    }
    if (k->state == CONN_KEEP && !conn_may_admit(c, k, o->conn_seq)) {
        o->state = OP_HELD; /* conn_admit_held, when the one it waits for is answered */
        return;
    }
    op_admit(c, slot); /* started by coord_on_conn_data's coord_schedule, with the chunk */
}

/* One whole request line of k. Returns 1 when k may read on (a persistent connection). */
static int conn_take_line(coord_t *c, uint64_t now_us, conn_t *k, const char *line, size_t len,
                          outbox_t *out) {
    wire_creq_t req;
    if (wire_creq_decode(line, len, &req) != 0) {
        conn_bad_line(c, k, "malformed request line", out);
        return 0;
    }
    if (req.op == CREQ_KEEPALIVE) { /* first line: persistent from here; later: answered again */
        if (k->state == CONN_READING) k->state = CONN_KEEP;
        conn_answer_fixed(c, k, CREP_KEEPALIVE, out);
        return 1;
    }
    int keep = k->state == CONN_KEEP;
    coord_accept_request(c, now_us, k, &req, out);
    return keep;
}

void coord_on_conn_data(coord_t *c, uint64_t now_us, uint32_t conn_id, const uint8_t *data,
                        size_t len, outbox_t *out) {
    conn_t *k = conn_find(c, conn_id);
    /* one-shot: bytes after the request line are ignored; persistent: read until a bad line
     * (none come after an eof) */
    if (k == NULL || k->state == CONN_SERVING || k->peer_eof || k->badreq) return;
    if (k->state == CONN_KEEP) k->idle_deadline_us = now_us + CONN_IDLE_US;
    size_t off = 0;
    while (off < len) {
        size_t used = 0;
        const char *line = NULL;
        size_t line_len = 0;
        int rc = wire_lines_take(&k->lines, data + off, len - off, &used, &line, &line_len);
        off += used;
        if (rc == 0) break;
        if (rc == AC_EFULL) {
            char why[64];
            snprintf(why, sizeof(why), "request longer than %d bytes", TCP_REQUEST_BYTES_MAX);
            conn_bad_line(c, k, why, out);
            break;
        }
        if (!conn_take_line(c, now_us, k, line, line_len, out)) break;
    }
    /* Every request of the chunk is queued before a batch or job starts: a pipeline that
     * arrives whole goes into one batch, not its first line alone with the rest waiting a
     * whole batch for the next. */
    coord_schedule(c, now_us, out);
}

/* A half-close: the requests already whole are still answered; a partial one is dropped. */
void coord_on_conn_eof(coord_t *c, uint64_t now_us, uint32_t conn_id, outbox_t *out) {
    (void)now_us;
    conn_t *k = conn_find(c, conn_id);
    if (k == NULL || k->peer_eof) return; /* closed by the core already, or a repeat */
    k->peer_eof = 1;
    if (k->state == CONN_READING) conn_close(c, k, out); /* no request will come */
    else if (k->state == CONN_KEEP) conn_flush(c, k, out); /* closes once nothing is owed */
    /* CONN_SERVING: the op's reply goes out, then FX_CONN_CLOSE (op_send) */
}

/* The connection is gone: its ops go on, their replies are dropped. */
void coord_on_conn_reset(coord_t *c, uint64_t now_us, uint32_t conn_id, outbox_t *out) {
    (void)now_us;
    conn_t *k = conn_find(c, conn_id);
    if (k == NULL) return;
    conn_forget(c, k, 0, out); /* conn_ring_clear tells the ops */
}

/* A connection is closed for idleness once its idle deadline passes while it waits for its
 * first line, or is persistent with nothing unanswered. */
uint64_t conn_due_us(const conn_t *k) {
    int idle = k->state == CONN_READING || (k->state == CONN_KEEP && k->count == 0);
    return idle ? k->idle_deadline_us : UINT64_MAX;
}

void conn_expire_idle(coord_t *c, conn_t *k, outbox_t *out) {
    outbox_line(out, FX_STDERR, "closed a connection idle for %d s", CONN_IDLE_US / 1000000);
    conn_close(c, k, out);
}
