/* backend.c — a backend node (serverA/B/C): answers serverM's QUERY, LIST and STATS from
 * the ledger's index, and records WRITEs durably before acknowledging them. Retransmitted
 * writes are recognised by serial, so a transaction is stored at most once. */
#include "backend.h"

#include <stddef.h>
#include <string.h>

#include "messages.h"
#include "mutant.h"

_Static_assert(offsetof(backend_t, pending) < offsetof(backend_t, replay) &&
                   sizeof(backend_t) - offsetof(backend_t, replay) - sizeof(((backend_t *)0)->replay) <
                       _Alignof(backend_t),
               "the tables are backend_t's last members: backend_init clears everything before them");

void backend_init(backend_t *b, int index, uint64_t epoch) {
    AC_ASSERT(index >= 0);
    AC_ASSERT(index < BACKEND_COUNT);
    AC_ASSERT(epoch != 0); /* 0 is what serverM sends before it has heard of any */
    memset(b, 0, offsetof(backend_t, pending)); /* the tables after it: see backend_t */
    for (size_t p = 0; p < BACKEND_PENDING_MAX; p++) b->pending[p].token = 0;
    b->index = index;
    b->epoch = epoch;
    b->next_token = 1;
    ledger_init(&b->ledger);
}

void backend_free(backend_t *b) { ledger_free(&b->ledger); }

int backend_copy(backend_t *dst, const backend_t *src) {
    AC_ASSERT(dst != src);
    AC_ASSERT(src->pending_count == 0); /* so every pending slot is free (token 0) */
    AC_ASSERT(src->held_count == 0);
    memcpy(dst, src, offsetof(backend_t, pending)); /* the tables after it: see backend_t */
    for (size_t p = 0; p < BACKEND_PENDING_MAX; p++) dst->pending[p].token = 0;
    return ledger_copy(&dst->ledger, &src->ledger);
}

int backend_load(backend_t *b, const char *img, size_t len, const char *marker,
                 size_t marker_len, const char *file_name, blockfile_recovery_t *res,
                 char *err, size_t err_cap) {
    AC_ASSERT(b->ledger.tx_count == 0);
    int rc = blockfile_recover(&b->ledger, img, len, marker, marker_len, file_name, res, err,
                               err_cap);
    if (rc != 0) return rc;
    blockfile_init(&b->file, res, img);
    return 0;
}

void backend_start(backend_t *b, const char *img, const blockfile_recovery_t *res,
                   const char *file_name, uint16_t port, outbox_t *out) {
    blockfile_recovery_effects(res, img, file_name, out);
    outbox_line(out, FX_STDOUT, MSG_BACKEND_UP, backend_letter(b->index), (unsigned)port);
}

void backend_stop(backend_t *b, outbox_t *out) {
    AC_ASSERT(b->pending_count == 0);
    blockfile_close(&b->file, out);
}

void backend_set_auth(backend_t *b, const auth_t *auth) { b->auth = auth; }

/* One reply datagram, sealed with the next sequence number; every reply says which process
 * of the backend answers (its epoch). */
static void backend_send_dgram(backend_t *b, wire_reply_t *rep, outbox_t *out) {
    uint8_t buf[AUTH_DGRAM_BYTES_MAX];
    rep->epoch = b->epoch;
    size_t n = wire_reply_encode(rep, buf, DGRAM_BYTES_MAX);
    AC_ASSERT(n > 0); /* replies are packed under the limit below */
    if (b->auth != NULL) n = auth_seal(b->auth, b->index, ++b->auth_seq, buf, n, buf, sizeof(buf));
    outbox_push(out, FX_DGRAM, 0, 0, buf, n);
}

/* The answer to one request (a LIST's is its window: backend_list_window). */
static void backend_send(backend_t *b, wire_reply_t *rep, outbox_t *out) {
    backend_send_dgram(b, rep, out);
    outbox_line(out, FX_STDOUT, MSG_BACKEND_SENT, backend_letter(b->index));
}

static void backend_query(backend_t *b, const wire_req_t *req, wire_reply_t *rep) {
    rep->u.query.max_serial = b->ledger.max_serial;
    rep->u.query.tx_count = b->ledger.tx_count;
    rep->u.query.count = req->u.query.count;
    ledger_name_t names[WIRE_QUERY_NAMES_MAX];
    ledger_totals_t t[WIRE_QUERY_NAMES_MAX];
    for (uint8_t i = 0; i < req->u.query.count; i++)
        names[i] = (ledger_name_t){.s = req->u.query.names[i].s, .len = req->u.query.names[i].len};
    ledger_totals_many(&b->ledger, names, req->u.query.count, t);
    for (uint8_t i = 0; i < req->u.query.count; i++) {
        rep->u.query.totals[i].exists = (uint8_t)t[i].exists;
        rep->u.query.totals[i].sent = t[i].sent;
        rep->u.query.totals[i].received = t[i].received;
    }
}
_Static_assert(WIRE_QUERY_NAMES_MAX <= LEDGER_TOTALS_MANY_MAX, "a QUERY's names in one call");

/* One page of at most max transactions from cursor (a position in ascending serial order),
 * as many as fit in a datagram: O(page). */
static void backend_list(backend_t *b, uint32_t cursor, uint16_t max, wire_reply_t *rep) {
    size_t bytes = WIRE_LIST_REPLY_FIXED_BYTES;
    uint32_t i = cursor;
    uint8_t count = 0;
    _Static_assert(WIRE_LIST_TXS_MAX <= LEDGER_PREFETCH_MAX, "a page is one hint");
    ledger_prefetch(&b->ledger, cursor, max);
    while (i < b->ledger.tx_count && count < max) {
        tx_t *t = &rep->u.list.txs[count];
        ledger_get(&b->ledger, i, t);
        size_t need = wire_list_tx_bytes(count > 0 ? rep->u.list.txs[count - 1].serial : 0, t);
        if (bytes + need > DGRAM_BYTES_MAX) break;
        bytes += need;
        count++;
        i++;
    }
    rep->u.list.cursor = cursor;
    rep->u.list.count = count;
    rep->u.list.next_cursor = i > cursor ? i : cursor;
    rep->u.list.done = (uint8_t)(i >= b->ledger.tx_count);
}

/* A LIST's window: up to `pages` pages, each from where the one before ended, one sealed
 * datagram each (its own sequence number), stopping after the last transaction (done).
 * O(pages * page), pages <= WIRE_LIST_PAGES_MAX. */
static void backend_list_window(backend_t *b, const wire_req_t *req, wire_reply_t *rep,
                                outbox_t *out) {
    AC_ASSERT(req->u.list.pages >= 1);
    AC_ASSERT(req->u.list.pages <= WIRE_LIST_PAGES_MAX);
    uint32_t cursor = req->u.list.cursor;
    for (uint8_t k = 0; k < req->u.list.pages; k++) {
        backend_list(b, cursor, req->u.list.max, rep);
        backend_send_dgram(b, rep, out);
        if (rep->u.list.done) break;
        AC_ASSERT(rep->u.list.next_cursor > cursor); /* not done: the page held one at least */
        cursor = rep->u.list.next_cursor;
    }
    outbox_line(out, FX_STDOUT, MSG_BACKEND_SENT, backend_letter(b->index));
}

/* One page of the user's partner aggregates from the cursor: O(page) once the user's
 * aggregates are cached (ledger_partners). Returns 0, or AC_ENOMEM when they cannot be
 * built: then nothing is answered (serverM retries, and reports the backend unavailable
 * rather than a partial list). */
static int backend_stats(backend_t *b, const wire_req_t *req, wire_reply_t *rep) {
    const wire_name_t *user = &req->u.stats.user;
    size_t bytes = WIRE_STATS_REPLY_FIXED_BYTES;
    uint32_t cursor = req->u.stats.cursor;
    uint8_t count = 0;
    int done = 0;
    while (count < WIRE_STATS_ROWS_MAX) {
        ledger_partner_t row;
        uint32_t before = cursor;
        int row_done = 0;
        int n = ledger_partners(&b->ledger, user->s, user->len, &cursor, &row, 1, &row_done);
        if (n < 0) return n;
        if (n == 0) {
            done = 1;
            break;
        }
        size_t need = wire_row_bytes(row.name_len);
        if (bytes + need > DGRAM_BYTES_MAX) {
            cursor = before;
            break;
        }
        bytes += need;
        wire_row_t *r = &rep->u.stats.rows[count++];
        memcpy(r->partner.s, row.name, row.name_len);
        r->partner.s[row.name_len] = '\0';
        r->partner.len = row.name_len;
        r->count = row.count;
        r->net = row.net;
        if (row_done) {
            done = 1;
            break;
        }
    }
    rep->u.stats.count = count;
    rep->u.stats.next_cursor = cursor;
    rep->u.stats.done = (uint8_t)done;
    return AC_OK;
}

static backend_pending_t *backend_pending_holding(backend_t *b, uint64_t serial) {
    for (size_t p = 0; p < BACKEND_PENDING_MAX; p++) {
        backend_pending_t *op = &b->pending[p];
        if (op->token == 0) continue;
        for (uint8_t i = 0; i < op->count; i++) {
            if (op->fresh[i] && op->txs[i].serial == serial) return op;
        }
    }
    return NULL;
}

static backend_pending_t *backend_pending_free_slot(backend_t *b) {
    for (size_t p = 0; p < BACKEND_PENDING_MAX; p++) {
        if (b->pending[p].token == 0) return &b->pending[p];
    }
    return NULL;
}

/* Adds the fresh transactions of a synced write to the index. Afterwards every
 * transaction its reply calls stored is in the index: an acknowledgement never names a
 * transaction this backend does not hold. */
static void backend_commit(backend_t *b, backend_pending_t *op) {
    AC_ASSERT(op->count <= WIRE_WRITE_TXS_MAX);
    uint32_t before = b->ledger.tx_count;
    uint32_t added = 0;
    for (uint8_t i = 0; i < op->count; i++) {
        if (!op->fresh[i]) continue;
        int rc = ledger_add(&b->ledger, &op->txs[i]);
        if (rc == 0) added++;
        if (rc != 0 && !MUTANT(MUT_BACKEND_DOUBLE_STORE)) {
            /* Durable on disk but not indexable (an overflow serverM already refuses):
             * refuse it so serverM never confirms it; recovery will see it. */
            op->results[i] = WIRE_TX_INVALID;
        }
    }
    AC_ASSERT(b->ledger.tx_count == before + added);
    for (uint8_t i = 0; i < op->count; i++) {
        if (op->results[i] != WIRE_TX_STORED || MUTANT(MUT_BACKEND_DOUBLE_STORE)) continue;
        AC_ASSERT(ledger_find_serial(&b->ledger, op->txs[i].serial) >= 0);
    }
}

/* The disk's refusal of this very request (same serverM, same request id), or 0. */
static uint8_t backend_refused_before(const backend_t *b, const wire_req_t *req) {
    for (size_t i = 0; i < BACKEND_REFUSED_MAX; i++) {
        const backend_refused_t *r = &b->refused[i];
        if (r->result != 0 && r->incarnation == req->incarnation && r->request_id == req->request_id)
            return r->result;
    }
    return 0;
}

static void backend_write(backend_t *b, const wire_req_t *req, wire_reply_t *rep,
                          outbox_t *out, int *reply_now) {
    uint8_t count = req->u.write.count;
    uint8_t fresh[WIRE_WRITE_TXS_MAX] = {0};
    int fresh_count = 0;
    rep->u.write.count = count;
    for (uint8_t i = 0; i < count; i++) {
        const tx_t *t = &req->u.write.txs[i];
        rep->u.write.serials[i] = t->serial;
        rep->u.write.results[i] = WIRE_TX_STORED;
        if (backend_pending_holding(b, t->serial) != NULL) {
            /* Still syncing from an earlier copy of this request: its reply will go out
             * when it is durable; a lost reply is answered on the next retransmission. */
            *reply_now = 0;
            return;
        }
        int64_t at = ledger_find_serial(&b->ledger, t->serial);
        if (at >= 0) {
            tx_t have;
            ledger_get(&b->ledger, (uint32_t)at, &have);
            if (tx_equal(&have, t)) {
                if (MUTANT(MUT_BACKEND_DOUBLE_STORE)) {
                    fresh[i] = 1;
                    fresh_count++;
                }
                continue;
            }
            rep->u.write.results[i] = WIRE_TX_CONFLICT;
            continue;
        }
        /* the same serial twice in one request: the first one wins */
        int twice = 0;
        for (uint8_t j = 0; j < i; j++) {
            if (fresh[j] && req->u.write.txs[j].serial == t->serial) twice = 1;
        }
        if (twice) {
            rep->u.write.results[i] = WIRE_TX_CONFLICT;
            continue;
        }
        fresh[i] = 1;
        fresh_count++;
    }
    /* All or nothing: when one transaction is refused, so are the request's new ones
     * (serverM validated each against the ones before it: docs/PROTOCOL.md 1.5). */
    for (uint8_t i = 0; i < count && fresh_count > 0; i++) {
        if (rep->u.write.results[i] != WIRE_TX_CONFLICT) continue;
        for (uint8_t j = 0; j < count; j++) {
            if (fresh[j]) rep->u.write.results[j] = WIRE_TX_CONFLICT;
            fresh[j] = 0;
        }
        fresh_count = 0;
    }
    AC_ASSERT(fresh_count <= count);
    if (fresh_count == 0) return; /* everything was already stored (or refused) */
    uint8_t refused = backend_refused_before(b, req);
    if (refused != 0) { /* a copy of a write the disk refused: its answer stands */
        for (uint8_t i = 0; i < count; i++)
            if (fresh[i]) rep->u.write.results[i] = refused;
        return;
    }

    char buf[WIRE_WRITE_TXS_MAX * TX_LINE_BYTES_MAX];
    size_t len = 0;
    int lines = 0;
    for (uint8_t i = 0; i < count; i++) {
        if (!fresh[i]) continue;
        /* stored at most once: a fresh one is new to this backend (but for the mutant) */
        AC_ASSERT(MUTANT(MUT_BACKEND_DOUBLE_STORE) ||
                  ledger_find_serial(&b->ledger, req->u.write.txs[i].serial) < 0);
        AC_ASSERT(rep->u.write.results[i] == WIRE_TX_STORED);
        size_t n = tx_format(&req->u.write.txs[i], buf + len, sizeof(buf) - len);
        AC_ASSERT(n > 0);
        len += n;
        lines++;
    }
    AC_ASSERT(lines == fresh_count); /* the append holds every new transaction, once */
    if (!blockfile_fits(&b->file, len)) { /* the size rule: refused, never half-appended */
        outbox_line(out, FX_STDERR, "refused %d transactions: the block file would pass 2 GiB "
                    "(%llu bytes now)", fresh_count, (unsigned long long)b->file.size);
        for (uint8_t i = 0; i < count; i++)
            if (fresh[i]) rep->u.write.results[i] = WIRE_TX_FULL;
        return;
    }
    backend_pending_t *op = backend_pending_free_slot(b);
    if (op == NULL) {
        outbox_drop(out, "a WRITE: too many writes are syncing (serverM retries)");
        *reply_now = 0;
        return;
    }
    op->token = b->next_token++;
    b->pending_count++;
    op->incarnation = req->incarnation;
    op->request_id = req->request_id;
    op->count = count;
    memcpy(op->txs, req->u.write.txs, sizeof(tx_t) * count);
    memcpy(op->results, rep->u.write.results, count);
    memcpy(op->fresh, fresh, count);
    AC_ASSERT(b->pending_count <= (int)BACKEND_PENDING_MAX);
    blockfile_append(&b->file, buf, len, op->token, out);
    op->offset = b->file.size - len; /* after the '\n' a first append may put before */
    if (MUTANT(MUT_ACK_BEFORE_SYNC)) {
        backend_commit(b, op);
        memcpy(rep->u.write.results, op->results, count);
        op->count = 0; /* nothing left to do when the sync completes */
        return;
    }
    *reply_now = 0;
}

/* One wire message: authenticated already (seq: its sequence number; 0 when there is none
 * to take — no authentication, or a held read replayed after its window check). */
static void backend_on_message(backend_t *b, uint64_t now_us, uint64_t seq, const uint8_t *data,
                               size_t len, outbox_t *out) {
    wire_req_t *req = &b->req;   /* large (a WRITE holds 32 transactions): node-owned */
    wire_reply_t *rep = &b->rep;
    if (wire_req_decode(data, len, req) != 0) {
        b->stat_dropped++;
        outbox_drop(out, "a malformed datagram of %zu bytes", len);
        return;
    }
    wire_reply_clear(rep, (uint8_t)(req->type | WIRE_REPLY)); /* its own part: not a 10 kB page */
    rep->type = (uint8_t)(req->type | WIRE_REPLY);
    rep->incarnation = req->incarnation;
    rep->request_id = req->request_id;
    rep->status = WIRE_ST_OK;

    int fencing = !MUTANT(MUT_NO_FENCING);
    if (fencing && req->incarnation < b->fence) {
        b->stat_requests++;
        outbox_line(out, FX_STDOUT, MSG_BACKEND_RECEIVED, backend_letter(b->index));
        rep->status = WIRE_ST_STALE;
        rep->fence = b->fence;
        backend_send(b, rep, out);
        return;
    }
    /* Only a QUERY raises the fence, and only to an incarnation that is not from the
     * future (docs/PROTOCOL.md 3.5): a newer WRITE is UNFENCED below, newer reads are
     * answered and leave the fence alone. */
    if (req->incarnation > b->fence && req->type == WIRE_QUERY) {
        if (now_us > UINT64_MAX - BACKEND_INCARNATION_AHEAD_MAX_US ||
            req->incarnation > now_us + BACKEND_INCARNATION_AHEAD_MAX_US) {
            b->stat_dropped++;
            outbox_drop(out, "a QUERY of an incarnation more than %llu s ahead of this host's "
                        "clock (is serverM's clock right?)",
                        (unsigned long long)(BACKEND_INCARNATION_AHEAD_MAX_US / 1000000u));
            return;
        }
        b->fence = req->incarnation;
        b->fenced = 0;
        memset(&b->window, 0, sizeof(b->window));
    }
    if (seq != 0 && req->incarnation == b->fence && auth_window_take(&b->window, seq) != 0) {
        b->stat_dropped++;
        b->stat_replayed++;
        outbox_drop(out, "%s", auth_error_text(AUTH_EREPLAY));
        return;
    }
    if (req->type != WIRE_WRITE && b->pending_count > 0) {
        if (b->held_count < BACKEND_HELD_MAX) { /* else dropped: serverM asks again */
            b->held[b->held_count].len = len;
            memcpy(b->held[b->held_count].data, data, len);
            b->held_count++;
        }
        return;
    }
    b->stat_requests++;
    outbox_line(out, FX_STDOUT, MSG_BACKEND_RECEIVED, backend_letter(b->index));
    rep->fence = b->fence;
    int reply_now = 1;
    switch (req->type) {
    case WIRE_QUERY:
        b->fenced = 1;
        backend_query(b, req, rep);
        break;
    case WIRE_LIST:
        backend_list_window(b, req, rep, out);
        reply_now = 0; /* sent: one datagram a page */
        break;
    case WIRE_STATS:
        if (backend_stats(b, req, rep) != AC_OK) {
            outbox_drop(out, "a STATS request: out of memory for the partner list");
            return;
        }
        break;
    case WIRE_WRITE:
        if (fencing && (!b->fenced || req->incarnation != b->fence)) {
            rep->status = WIRE_ST_UNFENCED;
            break;
        }
        if (req->u.write.epoch != b->epoch && !MUTANT(MUT_NO_EPOCH_CHECK)) {
            /* meant for another run of this backend (or sent before serverM heard of this
             * one): that run's refusals are not remembered here, so never apply it */
            rep->status = WIRE_ST_EPOCH;
            break;
        }
        backend_write(b, req, rep, out, &reply_now);
        break;
    default:
        AC_ASSERT(0); /* the decoder admits only the four request types */
        return;
    }
    if (reply_now) backend_send(b, rep, out);
}

void backend_on_datagram(backend_t *b, uint64_t now_us, const uint8_t *data, size_t len,
                         outbox_t *out) {
    if (b->auth == NULL) {
        backend_on_message(b, now_us, 0, data, len, out);
        return;
    }
    size_t msg_len = 0;
    uint64_t seq = 0;
    int rc = auth_open(b->auth, b->index, data, len, &msg_len, &seq);
    if (rc != 0) {
        b->stat_dropped++;
        b->stat_unauthentic++;
        outbox_drop(out, "%s", auth_error_text(rc));
        return;
    }
    if (b->auth->key == NULL) seq = 0; /* no window without a key: anyone may send anything */
    backend_on_message(b, now_us, seq, data, msg_len, out);
}

/* The answer to a pending write, as its results stand. */
static void backend_answer(backend_t *b, const backend_pending_t *op, outbox_t *out) {
    wire_reply_t *rep = &b->rep;
    wire_reply_clear(rep, WIRE_WRITE | WIRE_REPLY);
    rep->type = WIRE_WRITE | WIRE_REPLY;
    rep->incarnation = op->incarnation;
    rep->request_id = op->request_id;
    rep->status = WIRE_ST_OK;
    rep->fence = b->fence;
    rep->u.write.count = op->count; /* every transaction sent gets its answer */
    for (uint8_t i = 0; i < op->count; i++) {
        rep->u.write.serials[i] = op->txs[i].serial;
        rep->u.write.results[i] = op->results[i];
    }
    backend_send(b, rep, out);
}

static void backend_pending_free(backend_t *b, backend_pending_t *op) {
    memset(op, 0, sizeof(*op));
    b->pending_count--;
    AC_ASSERT(b->pending_count >= 0);
}

/* Once no write awaits its sync: the reads that waited, in order. They are copied out
 * first, since answering may hold new ones (a WRITE among them). */
static void backend_release_held(backend_t *b, uint64_t now_us, outbox_t *out) {
    if (b->pending_count > 0 || b->held_count == 0) return;
    int n = b->held_count;
    for (int i = 0; i < n; i++) {
        b->replay[i].len = b->held[i].len;
        memcpy(b->replay[i].data, b->held[i].data, b->held[i].len);
    }
    b->held_count = 0;
    for (int i = 0; i < n; i++) backend_on_message(b, now_us, 0, b->replay[i].data, b->replay[i].len, out);
}

void backend_on_durable(backend_t *b, uint64_t now_us, uint64_t token, outbox_t *out) {
    backend_pending_t *op = NULL;
    for (size_t p = 0; p < BACKEND_PENDING_MAX; p++) {
        if (b->pending[p].token == token) op = &b->pending[p];
    }
    if (NEVER(op == NULL) || NEVER(token == 0)) return;
    AC_ASSERT(b->pending_count > 0);
    if (op->count > 0) {
        backend_commit(b, op);
        backend_answer(b, op, out);
    }
    backend_pending_free(b, op);
    /* Every accepted write is durable: answer the reads that waited. */
    backend_release_held(b, now_us, out);
}

/* The pending write with the lowest token above `after` whose lines start at or past
 * `from`, or NULL. */
static backend_pending_t *backend_pending_from(backend_t *b, uint64_t from, uint64_t after) {
    backend_pending_t *best = NULL;
    for (size_t p = 0; p < BACKEND_PENDING_MAX; p++) {
        backend_pending_t *op = &b->pending[p];
        if (op->token <= after || op->offset < from) continue;
        if (best == NULL || op->token < best->token) best = op;
    }
    return best;
}

void backend_on_disk_error(backend_t *b, uint64_t now_us, uint64_t token, int why, outbox_t *out) {
    backend_pending_t *failed = NULL;
    for (size_t p = 0; p < BACKEND_PENDING_MAX; p++) {
        if (b->pending[p].token == token) failed = &b->pending[p];
    }
    if (NEVER(failed == NULL) || NEVER(token == 0)) return;
    AC_ASSERT(why == BACKEND_DISK_NOSPACE || why == BACKEND_DISK_IOERR);
    uint8_t result = why == BACKEND_DISK_NOSPACE ? WIRE_TX_NOSPACE : WIRE_TX_IOERR;
    uint64_t cut = failed->offset;
    uint64_t before = b->file.size;
    b->stat_disk_errors++;
    /* The failed bytes go first: no refusal leaves before the file is back to what its
     * syncs made durable (a crash in between: recovery sees them, unacknowledged). */
    if (!MUTANT(MUT_DISK_ERROR_NO_CUT)) blockfile_cut(&b->file, cut, out);
    outbox_line(out, FX_STDERR, "the disk failed an append (%s): cut the block file back from "
                "%llu to %llu bytes and refused the writes not yet synced",
                why == BACKEND_DISK_NOSPACE ? "no space left" : "I/O error",
                (unsigned long long)before, (unsigned long long)cut);
    uint64_t after = 0;
    for (backend_pending_t *op; (op = backend_pending_from(b, cut, after)) != NULL;) {
        after = op->token;
        if (op->count > 0) { /* 0: answered already (MUT_ACK_BEFORE_SYNC) */
            for (uint8_t i = 0; i < op->count; i++)
                if (op->fresh[i]) op->results[i] = result;
            backend_refused_t *r = &b->refused[b->refused_next];
            *r = (backend_refused_t){.incarnation = op->incarnation, .request_id = op->request_id,
                                     .result = result};
            b->refused_next = (b->refused_next + 1) % BACKEND_REFUSED_MAX;
            backend_answer(b, op, out);
        }
        backend_pending_free(b, op);
    }
    backend_release_held(b, now_us, out);
}
