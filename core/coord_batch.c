/* coord_batch.c — serverM's batches: a batch takes every balance and transfer waiting at
 * that moment and runs two phases:
 *   FETCH  QUERYs to every backend for the batch's users (names while they fit a datagram,
 *          64 at most); balances are answered from this fetch, and transfers are validated
 *          in arrival order against running balances (the fetch plus the transfers
 *          accepted before in the batch);
 *          a refusal that depends on those is left to the next batch;
 *   WRITE  accepted transfers get serial = max(max serial of the three) + 1, +1 each, and
 *          all go to one backend chosen at random, one WRITE datagram after the other,
 *          the next only once the previous is stored whole (a WRITE is all or nothing),
 *          so a lost write never leaves a later serial stored without it.
 * One batch decides and writes at a time, and none starts while any write is in doubt, so
 * no two transfers see the same balance and no serial is handed out twice.
 * Group commit: while the batch writes, the next one (the batch ahead, mains[cur ^ 1])
 * already fetches; it decides only once the batch has ended. Its fetch saw a prefix of
 * the batch's writes on their backend W (a backend answers a QUERY only once every write
 * it accepted is durable, and the writes reach W in serial order) and none of them on the
 * others: each user's answer from W says how far (its largest serial, buser_t.seen), so
 * when the batch ends with every transfer stored, those W had not stored when it answered
 * are added (prior[], batch_catch_up) and the batch ahead decides on the ledger after the
 * batch, the state it would have fetched had it waited. If the batch ends any other way (a
 * write refused or in doubt), the fetch is thrown away: the batch ahead's requests go back
 * to the head of the queue (planted bug: ahead-no-catch-up).
 * Beside them, the balances that arrive go in read batches (READ_BATCHES_MAX at once): a
 * FETCH phase only, answered from it. A read needs no order with the batch's writes: it
 * sees the ledger after some prefix of them, a state that was (docs/PROTOCOL.md 2.4) —
 * provided the next batch writes only after it: its writes may go to another backend
 * (batch_may_decide: planted bug reads-across-batches). Read batches start only while no
 * write is in doubt (a request behind one waits, or hears UNAVAILABLE, as before). The
 * batches are the OWN_BATCH row of the out table's owners (batch_on_reply,
 * batch_on_expire); an out entry names its batch's slot (out_t.batch). */
#include <stdio.h> /* snprintf only: core never prints */
#include <stdlib.h>
#include <string.h>

#include "coord_internal.h"
#include "messages.h"
#include "mutant.h"

static int add_u64(uint64_t a, uint64_t b, uint64_t *out) { return __builtin_add_overflow(a, b, out); }

static int balance_of(uint64_t received, uint64_t sent, int64_t *out) {
    /* 1000 + received - sent in 64 bits, or 1 on overflow */
    if (received > (uint64_t)INT64_MAX || sent > (uint64_t)INT64_MAX) return 1;
    int64_t v;
    if (__builtin_add_overflow((int64_t)BALANCE_INITIAL, (int64_t)received, &v)) return 1;
    if (__builtin_sub_overflow(v, (int64_t)sent, &v)) return 1;
    *out = v;
    return 0;
}

static void batch_release(batch_t *b) {
    memset(b->users, 0, sizeof(b->users[0]) * (size_t)b->user_count);
    memset(b, 0, offsetof(batch_t, ops)); /* ops[] entries are written before use */
}


/* The slot of user_slots a name hashes to: its entry's, or the empty one where it goes. */
static uint32_t batch_user_slot(const batch_t *b, const wire_name_t *n) {
    uint32_t h = name_hash(n->s, n->len) & (BATCH_USER_SLOTS - 1);
    for (; b->user_slots[h] != 0; h = (h + 1) & (BATCH_USER_SLOTS - 1)) {
        const buser_t *x = &b->users[b->user_slots[h] - 1];
        if (x->name.len == n->len && memcmp(x->name.s, n->s, n->len) == 0) break;
    }
    return h;
}

/* The batch's entry for a user, or -1: O(1) on average, by a hash of the name. */
static int batch_user_find(const batch_t *b, const wire_name_t *n) {
    return b->user_slots[batch_user_slot(b, n)] - 1;
}

/* The batch's entry for a user, added when new. */
static int batch_user_index(batch_t *b, const wire_name_t *n) {
    uint32_t h = batch_user_slot(b, n);
    if (b->user_slots[h] != 0) return b->user_slots[h] - 1;
    AC_ASSERT(b->user_count < BATCH_USERS_MAX);
    b->users[b->user_count].name = *n;
    b->user_slots[h] = (uint16_t)(b->user_count + 1);
    return b->user_count++;
}

static void batch_phase_begin(batch_t *b, batch_phase_t phase) {
    b->phase = phase;
    memset(b->outstanding, 0, sizeof(b->outstanding));
    b->failed_mask = 0;
    b->active_mask = 0;
}

/* "sent a request to server X", once per backend for each phase or job (*mask: its own). */
static void batch_note_sent(batch_t *b, int backend, outbox_t *out) {
    note_sent(&b->active_mask, backend, out);
    b->outstanding[backend]++;
}

/* The batch an out entry's QUERY or WRITE belongs to (out_t.batch), and back. */
static batch_t *batch_of(coord_t *c, const out_t *e) {
    if (e->batch == 0) return &c->mains[0];
    if (e->batch == BATCH_ID_MAIN1) return &c->mains[1];
    AC_ASSERT(e->batch > 0 && e->batch <= READ_BATCHES_MAX);
    AC_ASSERT(c->reads[e->batch - 1] != NULL);
    return c->reads[e->batch - 1];
}

static int batch_id(const coord_t *c, const batch_t *b) {
    if (b == &c->mains[0]) return 0;
    if (b == &c->mains[1]) return BATCH_ID_MAIN1;
    for (int k = 0; k < READ_BATCHES_MAX; k++)
        if (c->reads[k] == b) return k + 1;
    AC_ASSERT(0);
    return -1;
}

static int names_equal(const wire_name_t *a, const wire_name_t *b) {
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

/* A stats job of this user is running: a transfer naming the user waits for its end. */
static int user_locked(const coord_t *c, const wire_name_t *n) {
    if (c->sjob_count == 0 || MUTANT(MUT_STATS_NO_LOCK)) return 0;
    for (int j = 0; j < STATS_JOBS_MAX; j++) {
        const stats_job_t *s = &c->sjobs[j];
        if (s->used && names_equal(&c->ops[s->op].req.user, n)) return 1;
    }
    return 0;
}

static void coord_fetch_send(coord_t *c, batch_t *b, uint64_t now_us, outbox_t *out);
static void coord_fetch_done(coord_t *c, batch_t *b, uint64_t now_us, outbox_t *out);
static void batch_decide(coord_t *c, batch_t *b, uint64_t now_us, outbox_t *out);
static void coord_write_done(coord_t *c, batch_t *b, uint64_t now_us, outbox_t *out);

/* A batch decides (answers, validates, writes) only once no read batch that began before
 * the last batch ended still runs: that read may have seen one backend before the last
 * batch's writes, and must not see another after this one's (its answers would mix two
 * states that never were one). Its fetch need not wait: a fetch writes nothing. */
static int batch_may_decide(const coord_t *c) {
    if (MUTANT(MUT_READS_ACROSS_BATCHES)) return 1;
    for (int k = 0; k < READ_BATCHES_MAX; k++) {
        const batch_t *r = c->reads[k];
        if (r != NULL && r->phase != PHASE_IDLE && r->gen < c->gen) return 0;
    }
    return 1;
}

/* Moves the queue's requests into b, in order, up to BATCH_OPS_MAX; a transfer behind a
 * parked one of its connection, or naming a user whose stats job runs, is parked. */
static void batch_take(coord_t *c, batch_t *b) {
    while (c->queue.len > 0 && b->op_count < BATCH_OPS_MAX) {
        int i = opq_pop(&c->queue);
        op_t *o = &c->ops[i];
        AC_ASSERT(o->state == OP_QUEUED);
        conn_t *k = o->conn_open ? conn_find(c, o->conn_id) : NULL;
        if (o->req.op == CREQ_TRANSFER && ((k != NULL && k->parked > 0) || user_locked(c, &o->req.user) ||
                                           user_locked(c, &o->req.receiver))) {
            opq_push(&c->parked, i); /* back in the queue when that stats job ends; a later */
            if (k != NULL) k->parked++; /* transfer of its connection waits behind it */
            continue;
        }
        o->state = OP_BATCH;
        b->ops[b->op_count++] = i;
        batch_user_index(b, &o->req.user);
        if (o->req.op == CREQ_TRANSFER) batch_user_index(b, &o->req.receiver);
    }
}

void coord_batch_start(coord_t *c, uint64_t now_us, outbox_t *out) {
    batch_t *m = coord_main(c);
    if (m->phase == PHASE_FETCH && m->fetched && batch_may_decide(c)) {
        m->fetched = 0;
        batch_decide(c, m, now_us, out);
        coord_batch_start(c, now_us, out); /* it writes now: the batch ahead may start */
        return;
    }
    batch_t *a = coord_ahead(c);
    /* one batch ahead at most, and only beside the batch's writes (a batch that writes
     * nothing has nothing to overlap); a discarded one gives its requests back first */
    if (c->queue.len == 0 || a->phase != PHASE_IDLE) return;
    batch_t *b = m->phase == PHASE_IDLE ? m : m->phase == PHASE_WRITE ? a : NULL;
    if (b == NULL) return;
    /* a write in doubt may yet store its serials: the next batch's fetch would not see them */
    AC_ASSERT(c->in_doubt == 0 || MUTANT(MUT_SERIAL_REUSE_IN_DOUBT));
    batch_release(b);
    batch_take(c, b);
    if (b->op_count == 0) return;
    c->stats.batches++;
    if (b == a) c->stats.batches_ahead++;
    b->gen = c->gen;
    batch_phase_begin(b, PHASE_FETCH);
    coord_fetch_send(c, b, now_us, out);
}

int coord_reads_running(const coord_t *c) {
    int n = 0;
    for (int k = 0; k < READ_BATCHES_MAX; k++) n += c->reads[k] != NULL && c->reads[k]->phase != PHASE_IDLE;
    return n;
}

void coord_reads_free(coord_t *c) {
    for (int k = 0; k < READ_BATCHES_MAX; k++) {
        free(c->reads[k]);
        c->reads[k] = NULL;
    }
}

/* Moves the balances of the queue (up to BATCH_OPS_MAX, in order) into b; the rest keep
 * their order. A balance in the queue is behind no unanswered transfer of its connection
 * (conn_may_admit), so it may pass the transfers queued before it. */
static void reads_take(coord_t *c, batch_t *b) {
    int n = c->queue.len;
    for (int k = 0; k < n; k++) {
        int i = opq_pop(&c->queue);
        op_t *o = &c->ops[i];
        AC_ASSERT(o->state == OP_QUEUED);
        if (o->req.op != CREQ_BALANCE || b->op_count == BATCH_OPS_MAX) {
            opq_push(&c->queue, i);
            continue;
        }
        o->state = OP_BATCH;
        b->ops[b->op_count++] = i;
        batch_user_index(b, &o->req.user);
    }
}

void coord_reads_start(coord_t *c, uint64_t now_us, outbox_t *out) {
    if (coord_main(c)->phase == PHASE_IDLE || c->in_doubt > 0) return;
    for (int k = 0; k < READ_BATCHES_MAX && c->queue.len > 0; k++) {
        if (c->reads[k] != NULL && c->reads[k]->phase != PHASE_IDLE) continue;
        if (c->reads[k] == NULL) {
            c->reads[k] = calloc(1, sizeof(batch_t));
            if (c->reads[k] == NULL) return; /* the balances wait for the batch */
        }
        batch_t *b = c->reads[k];
        batch_release(b);
        reads_take(c, b);
        if (b->op_count == 0) return; /* no balance waits */
        c->stats.batches++;
        b->gen = c->gen;
        batch_phase_begin(b, PHASE_FETCH);
        coord_fetch_send(c, b, now_us, out);
    }
}

/* The batch ahead's fetch is thrown away: its requests go back to the head of the queue,
 * in their order, for a batch that fetches after the batch before's writes settle. */
static void batch_requeue(coord_t *c, batch_t *b, uint64_t now_us, outbox_t *out) {
    opq_t back;
    back.head = back.len = 0;
    for (int k = 0; k < b->op_count; k++) {
        AC_ASSERT(c->ops[b->ops[k]].state == OP_BATCH);
        AC_ASSERT(!c->ops[b->ops[k]].replied);
        c->ops[b->ops[k]].state = OP_QUEUED;
        opq_push(&back, b->ops[k]);
    }
    opq_prepend_all(&c->queue, &back);
    c->stats.ahead_discarded++;
    batch_release(b);
    coord_schedule(c, now_us, out);
}

/* The batch n ends while the batch ahead a fetched: with every transfer of n stored, a
 * keeps them (prior[]) to add those its answers did not hold yet when it decides; with any
 * refused or in doubt, a's fetch is thrown away (it is not known what the ledger holds). */
static void batch_hand_over(coord_t *c, const batch_t *n, batch_t *a) {
    AC_ASSERT(n->accepted > 0); /* the batch ahead starts only beside writes */
    if (n->acked != n->accepted) {
        a->discard = 1;
        return;
    }
    a->prior_backend = n->write_backend;
    a->prior_count = 0;
    for (int k = 0; k < n->op_count; k++) {
        const op_t *o = &c->ops[n->ops[k]];
        if (o->write_state != W_STORED) continue;
        AC_ASSERT(o->backend == n->write_backend);
        prior_t *p = &a->prior[a->prior_count++];
        p->serial = o->serial;
        p->amount = o->req.amount;
        p->sender = batch_user_find(a, &o->req.user);
        p->receiver = batch_user_find(a, &o->req.receiver);
    }
    AC_ASSERT(a->prior_count == n->accepted);
}

/* The batch ahead decides on the ledger after the batch before: its fetch, plus each of
 * that batch's transfers the answer of their backend for that user did not hold yet (the
 * answer's largest serial is below it). Its largest serial is at least theirs. */
static void batch_catch_up(coord_t *c, batch_t *b) {
    int w = b->prior_backend;
    for (int k = 0; k < b->prior_count; k++) {
        const prior_t *p = &b->prior[k];
        if (p->serial > b->max_serial) b->max_serial = p->serial;
        if (MUTANT(MUT_AHEAD_NO_CATCH_UP)) continue;
        int added = 0;
        if (p->sender >= 0 && p->serial > b->users[p->sender].seen[w]) {
            buser_t *u = &b->users[p->sender];
            if (add_u64(u->sent, p->amount, &u->sent)) u->overflow = 1;
            added = 1;
        }
        if (p->receiver >= 0 && p->serial > b->users[p->receiver].seen[w]) {
            buser_t *u = &b->users[p->receiver];
            if (add_u64(u->received, p->amount, &u->received)) u->overflow = 1;
            added = 1;
        }
        c->stats.ahead_caught_up += (uint64_t)added;
    }
    b->prior_count = 0;
}

/* The batch is over: its ops are released (a transfer in doubt when its write settles),
 * the batch ahead becomes the batch (or gives its requests back), then the next jobs and
 * batch start. */
static void coord_batch_end(coord_t *c, batch_t *b, uint64_t now_us, outbox_t *out) {
    int is_main = b == coord_main(c);
    batch_t *a = coord_ahead(c);
    if (is_main && a->phase != PHASE_IDLE) batch_hand_over(c, b, a);
    for (int k = 0; k < b->op_count; k++) {
        int i = b->ops[k];
        op_t *o = &c->ops[i];
        AC_ASSERT(o->replied);
        if (o->write_state == W_UNKNOWN) { /* released when its write settles */
            o->state = OP_DOUBT;
            continue;
        }
        op_release(c, i);
    }
    batch_release(b);
    if (is_main) {
        c->gen++;
        if (a->phase != PHASE_IDLE && !a->discard) {
            c->cur ^= 1; /* coord_schedule lets it decide once its fetch is done */
        } else if (a->phase != PHASE_IDLE && a->fetched) {
            batch_requeue(c, a, now_us, out);
            return;
        }
    }
    coord_schedule(c, now_us, out);
}

/* Sends one WRITE datagram of b owned by the ops in owners[], and empties req. */
static void coord_write_send(coord_t *c, batch_t *b, uint64_t now_us, int be, wire_req_t *req,
                             const int *owners, outbox_t *out) {
    uint8_t count = req->u.write.count;
    AC_ASSERT(count > 0);
    AC_ASSERT(count <= WIRE_WRITE_TXS_MAX);
    for (uint8_t k = 0; k < count; k++) { /* the owners' serials, contiguous */
        AC_ASSERT(req->u.write.txs[k].serial == c->ops[owners[k]].serial);
        AC_ASSERT(req->u.write.txs[k].serial - req->u.write.txs[0].serial == k);
    }
    int e = out_send(c, now_us, be, OWN_BATCH, req, out);
    if (ALWAYS(e >= 0)) {
        memcpy(c->out[e].ops, owners, sizeof(int) * req->u.write.count);
        c->out[e].op_count = req->u.write.count;
        c->out[e].batch = batch_id(c, b);
        batch_note_sent(b, be, out);
    }
    req->u.write.count = 0;
}

/* The batch's users in QUERYs of as many names as fit (WIRE_QUERY_NAMES_MAX, fewer when
 * the names are long), the same chunks for every backend. */
static void coord_fetch_send(coord_t *c, batch_t *b, uint64_t now_us, outbox_t *out) {
    int id = batch_id(c, b);
    for (int be = 0; be < BACKEND_COUNT; be++) {
        for (int first = 0, n; first < b->user_count; first += n) {
            size_t bytes = WIRE_QUERY_REQ_FIXED_BYTES;
            for (n = 0; first + n < b->user_count && n < WIRE_QUERY_NAMES_MAX; n++) {
                size_t more = wire_name_bytes(b->users[first + n].name.len);
                if (bytes + more > DGRAM_BYTES_MAX) break;
                bytes += more;
            }
            AC_ASSERT(n >= 1);
            wire_req_t req;
            wire_req_clear(&req, WIRE_QUERY);
            req.type = WIRE_QUERY;
            req.u.query.count = (uint8_t)n;
            for (int k = 0; k < n; k++) req.u.query.names[k] = b->users[first + k].name;
            int e = out_send(c, now_us, be, OWN_BATCH, &req, out);
            if (NEVER(e < 0)) continue;
            c->out[e].first_user = first;
            c->out[e].user_count = n;
            c->out[e].batch = id;
            batch_note_sent(b, be, out);
        }
    }
}

static void coord_fetch_reply(coord_t *c, uint64_t now_us, const out_t *e, const wire_reply_t *rep,
                              outbox_t *out) {
    batch_t *b = batch_of(c, e);
    int be = e->backend;
    for (int k = 0; k < e->user_count; k++) {
        buser_t *u = &b->users[e->first_user + k];
        const wire_totals_t *t = &rep->u.query.totals[k];
        u->got_mask |= (uint8_t)(1u << be);
        u->seen[be] = rep->u.query.max_serial;
        if (t->exists) u->exists = 1;
        if (add_u64(u->sent, t->sent, &u->sent) || add_u64(u->received, t->received, &u->received)) {
            u->overflow = 1;
        }
    }
    if (rep->u.query.max_serial > b->max_serial) b->max_serial = rep->u.query.max_serial;
    /* every chunk's answer is the same while the batch fetches; a read batch's may
     * differ (a write of the batch beside it between two chunks): each answer is a state
     * of that backend, and each user's totals come from one answer a backend */
    b->largest[be] = rep->u.query.max_serial;
    b->count[be] = rep->u.query.tx_count;
    b->outstanding[be]--;
    if (b->outstanding[be] == 0) {
        outbox_line(out, FX_STDOUT, MSG_M_RECV_TXS, backend_letter(be), c->cfg.backend_port[be]);
    }
    coord_fetch_done(c, b, now_us, out);
}

static int batch_outstanding(const batch_t *b) {
    return b->outstanding[0] + b->outstanding[1] + b->outstanding[2];
}

/* Sends the batch's next WRITE: accepted transfers from write_next on, in serial order, as
 * many as fit one datagram. Returns 1 when one was sent, 0 when none is left. */
static int coord_write_next(coord_t *c, batch_t *b, uint64_t now_us, outbox_t *out) {
    AC_ASSERT(b->phase == PHASE_WRITE);
    AC_ASSERT(b->acked == b->sent); /* one WRITE at a time: the one before is stored */
    wire_req_t req;
    int owners[WIRE_WRITE_TXS_MAX];
    size_t bytes = WIRE_WRITE_REQ_FIXED_BYTES;
    wire_req_clear(&req, WIRE_WRITE); /* the txs are written as they are taken */
    req.type = WIRE_WRITE;
    for (; b->write_next < b->op_count; b->write_next++) {
        int i = b->ops[b->write_next];
        op_t *o = &c->ops[i];
        if (o->write_state != W_PENDING) continue;
        tx_t t;
        tx_set(&t, o->serial, o->req.user.s, o->req.user.len, o->req.receiver.s,
               o->req.receiver.len, o->req.amount);
        uint64_t prev = req.u.write.count == 0 ? 0 : req.u.write.txs[req.u.write.count - 1].serial;
        size_t need = wire_list_tx_bytes(prev, &t); /* page transactions (wire v5) */
        if (req.u.write.count == WIRE_WRITE_TXS_MAX || bytes + need > DGRAM_BYTES_MAX) break;
        owners[req.u.write.count] = i;
        req.u.write.txs[req.u.write.count++] = t;
        bytes += need;
        AC_ASSERT(o->serial - b->serial_first == (uint64_t)b->sent); /* in serial order */
        o->write_state = W_SENT;
        b->sent++;
    }
    AC_ASSERT(b->sent <= b->accepted);
    if (req.u.write.count == 0) return 0;
    coord_write_send(c, b, now_us, b->write_backend, &req, owners, out);
    return 1;
}

/* Transfer o from s to r passed every check: money moves between their running balances
 * (credited: r's after it) and o takes the next serial of the batch. */
static void batch_accept(coord_t *c, batch_t *b, op_t *o, buser_t *s, buser_t *r, int64_t credited) {
    AC_ASSERT(o->req.op == CREQ_TRANSFER);
    AC_ASSERT(o->write_state == W_NONE);
    AC_ASSERT(o->req.amount >= AMOUNT_MIN); /* wire_creq_decode refuses other amounts */
    AC_ASSERT(o->req.amount <= AMOUNT_MAX);
    AC_ASSERT(s != r);
    AC_ASSERT(s->exists);
    AC_ASSERT(r->exists);
    AC_ASSERT(s->running >= o->req.amount); /* so no balance goes below zero */
    AC_ASSERT(credited - o->req.amount == r->running);
    AC_ASSERT(b->max_serial < UINT64_MAX);
    if (b->accepted == 0) {
        b->write_backend = (int)prng_below(&c->prng, BACKEND_COUNT);
        b->serial_first = b->max_serial + 1;
    }
    o->new_balance = s->running - o->req.amount;
    if (!MUTANT(MUT_SAME_BALANCE)) { /* the mutant validates all against the fetch */
        s->running -= o->req.amount;
        r->running = credited;
    }
    o->serial = ++b->max_serial;
    o->backend = b->write_backend;
    o->write_state = W_PENDING;
    b->accepted++;
    AC_ASSERT(o->new_balance >= 0);
    AC_ASSERT(s->running >= 0);
    AC_ASSERT(o->serial - b->serial_first == (uint64_t)(b->accepted - 1)); /* contiguous */
}

/* What the accepted transfers debited they credited: the running balances of the batch's
 * users add up to the fetched ones. Each differs by at most BATCH_OPS_MAX * AMOUNT_MAX,
 * so the sum cannot overflow. */
static void batch_assert_conserved(const batch_t *b) {
    int64_t moved = 0;
    for (int u = 0; u < b->user_count; u++) moved += b->users[u].running - b->users[u].balance;
    AC_ASSERT(moved == 0);
}

/* Every QUERY of b is answered or failed: a read batch decides now, the batch once no
 * earlier read batch runs (batch_may_decide), the batch ahead once it is the batch. */
static void coord_fetch_done(coord_t *c, batch_t *b, uint64_t now_us, outbox_t *out) {
    if (batch_outstanding(b) > 0) return;
    if (b == coord_ahead(c)) {
        if (b->discard) batch_requeue(c, b, now_us, out);
        else b->fetched = 1;
        return;
    }
    if (b == coord_main(c) && !batch_may_decide(c)) {
        b->fetched = 1; /* coord_batch_start, once that read batch ends */
        return;
    }
    batch_decide(c, b, now_us, out);
}

/* Balance and transfer ops, once the fetch is done (and caught up, batch_catch_up).
 * Balances are answered from the fetch (linearized before the batch's transfers).
 * Transfers are validated in arrival order against running balances: the fetched ones
 * plus the effect of every transfer accepted before in this batch. That is safe because
 * the batch's writes are stored in serial order or not at all after the first that is
 * not stored: one datagram after the other, each stored whole by its backend (a WRITE is
 * all or nothing), the next sent only once the previous one is stored. */
static void batch_decide(coord_t *c, batch_t *b, uint64_t now_us, outbox_t *out) {
    AC_ASSERT(b->phase == PHASE_FETCH);
    AC_ASSERT(batch_outstanding(b) == 0);
    batch_catch_up(c, b);
    char letters[BACKEND_COUNT + 1];
    mask_letters(b->failed_mask, letters);
    int fetch_ok = b->failed_mask == 0 || MUTANT(MUT_PARTIAL_BALANCE);
    /* A serial stored by two backends counts twice in every total: no balance or transfer
     * is decided over it (README.md, "One ledger across three files"). */
    char dup_text[PATH_BYTES_MAX + 1] = "";
    serials_dup_t dup;
    uint8_t answered = (uint8_t)(((1u << BACKEND_COUNT) - 1) & ~b->failed_mask);
    if (fetch_ok && serials_check_maxima(b->largest, b->count, BACKEND_COUNT, answered, &dup) == AC_EDUP)
        coord_dup_report(&dup, dup_text, sizeof(dup_text), out);
    for (int u = 0; u < b->user_count; u++) {
        buser_t *x = &b->users[u];
        if (balance_of(x->received, x->sent, &x->balance)) x->overflow = 1;
        x->running = x->balance;
    }
    opq_t deferred; /* ops of this batch that wait for the next one, in order */
    deferred.head = deferred.len = 0;
    uint32_t deferred_conns[BATCH_OPS_MAX]; /* their connections: later transfers of one */
    int deferred_conn_count = 0;            /* wait behind them (conn_may_admit) */
    for (int k = 0; k < b->op_count; k++) {
        op_t *o = &c->ops[b->ops[k]];
        if (!fetch_ok) {
            op_reply_kind(c, o, CREP_UNAVAILABLE, letters, b->stale_mask, out);
            continue;
        }
        if (dup_text[0] != '\0') {
            op_reply_kind(c, o, CREP_INTERNAL, dup_text, 0, out);
            continue;
        }
        buser_t *s = &b->users[batch_user_index(b, &o->req.user)];
        wire_crep_t rep;
        memset(&rep, 0, sizeof(rep));
        if (o->req.op == CREQ_BALANCE) {
            if (!s->exists) {
                rep.kind = CREP_NOUSER;
                rep.names[0] = o->req.user;
            } else if (s->overflow) {
                rep.kind = CREP_INTERNAL;
                snprintf(rep.text, sizeof(rep.text), "balance out of 64-bit range");
            } else {
                rep.kind = CREP_BALANCE;
                rep.balance = s->balance;
            }
            op_reply(c, o, &rep, out);
            continue;
        }
        buser_t *r = &b->users[batch_user_index(b, &o->req.receiver)];
        int64_t credited = 0;
        int behind = 0; /* an earlier transfer of its connection waits for the next batch */
        for (int d = 0; d < deferred_conn_count && o->conn_open; d++) behind |= deferred_conns[d] == o->conn_id;
        if (behind || (s->running < o->req.amount && s->running != s->balance) ||
            (r->running != r->balance && __builtin_add_overflow(r->running, o->req.amount, &credited))) {
            /* refused only because of transfers of this batch that may still fail: it is
             * decided by the next batch, which reads after them */
            opq_push(&deferred, b->ops[k]);
            if (o->conn_open && deferred_conn_count < BATCH_OPS_MAX) deferred_conns[deferred_conn_count++] = o->conn_id;
            continue;
        }
        if (!s->exists && !r->exists) {
            rep.kind = CREP_NOUSERS;
            rep.names[0] = o->req.user;
            rep.names[1] = o->req.receiver;
        } else if (!s->exists || !r->exists) {
            rep.kind = CREP_NOUSER;
            rep.names[0] = s->exists ? o->req.receiver : o->req.user;
        } else if (s == r) {
            rep.kind = CREP_SAME;
        } else if (s->overflow || r->overflow ||
                   __builtin_add_overflow(r->running, o->req.amount, &credited)) {
            rep.kind = CREP_INTERNAL;
            snprintf(rep.text, sizeof(rep.text), "balance out of 64-bit range");
        } else if (s->running < o->req.amount) {
            rep.kind = CREP_INSUFFICIENT;
            rep.balance = s->running;
        } else if (b->max_serial == UINT64_MAX) {
            rep.kind = CREP_INTERNAL; /* a serial never wraps around to reuse 1 */
            snprintf(rep.text, sizeof(rep.text), "no serial left (the largest is 18446744073709551615)");
        } else {
            batch_accept(c, b, o, s, r, credited);
            continue;
        }
        op_reply(c, o, &rep, out);
    }
    batch_assert_conserved(b);
    if (deferred.len > 0) { /* out of the batch, back at the head of the queue */
        int kept = 0;
        for (int k = 0; k < b->op_count; k++) {
            if (c->ops[b->ops[k]].replied || c->ops[b->ops[k]].write_state == W_PENDING)
                b->ops[kept++] = b->ops[k];
            else
                c->ops[b->ops[k]].state = OP_QUEUED;
        }
        b->op_count = kept;
        opq_prepend_all(&c->queue, &deferred);
    }
    if (b->accepted == 0) {
        coord_batch_end(c, b, now_us, out);
        return;
    }
    batch_phase_begin(b, PHASE_WRITE);
    coord_write_next(c, b, now_us, out);
}

/* A WRITE reply (or a STALE refusal): settle its transfers. */
static void coord_write_reply(coord_t *c, uint64_t now_us, int ei, const wire_reply_t *rep,
                              outbox_t *out) {
    out_t *e = &c->out[ei];
    batch_t *b = batch_of(c, e);
    int be = e->backend;
    int e_count = e->op_count; /* e is released before the next WRITE goes */
    int was_in_doubt = e->in_doubt;
    int all_stored = 1;
    AC_ASSERT(e->type == WIRE_WRITE);
    AC_ASSERT(e->op_count > 0);
    if (!was_in_doubt) { /* one WRITE at a time: the last one sent, the oldest not stored */
        AC_ASSERT(c->ops[e->ops[0]].serial - b->serial_first == (uint64_t)b->acked);
        AC_ASSERT(b->acked + e->op_count == b->sent);
    }
    for (int k = 0; k < e->op_count; k++) {
        op_t *o = &c->ops[e->ops[k]];
        AC_ASSERT(o->write_state == (was_in_doubt ? W_UNKNOWN : W_SENT));
        int result = WIRE_TX_CONFLICT;
        if (rep->status == WIRE_ST_OK) {
            for (int m = 0; m < rep->u.write.count; m++) {
                if (rep->u.write.serials[m] == o->serial) result = rep->u.write.results[m];
            }
        }
        if (was_in_doubt) {
            /* the client already heard "unknown"; now we know */
            if (result == WIRE_TX_STORED) c->stats.transfers_ok++;
            if (result != WIRE_TX_STORED) {
                outbox_line(out, FX_STDERR, "in-doubt transfer serial %llu was not stored",
                            (unsigned long long)o->serial);
            }
            o->write_state = result == WIRE_TX_STORED ? W_STORED : W_FAILED;
            if (o->state == OP_DOUBT) op_release(c, e->ops[k]); /* else its batch releases it */
            continue;
        }
        o->write_state = result == WIRE_TX_STORED ? W_STORED : W_FAILED;
        o->write_result = (uint8_t)result;
        if (result != WIRE_TX_STORED) {
            all_stored = 0;
            outbox_line(out, FX_STDERR, "server %c refused transfer serial %llu (%s)",
                        backend_letter(be), (unsigned long long)o->serial,
                        rep->status == WIRE_ST_STALE ? "newer serverM seen"
                        : result == WIRE_TX_FULL     ? "its block file is full"
                        : result == WIRE_TX_NOSPACE  ? "its disk is full"
                        : result == WIRE_TX_IOERR    ? "its disk failed the write"
                                                     : "serial conflict");
        }
    }
    out_release(c, ei);
    if (was_in_doubt) {
        coord_schedule(c, now_us, out);
        return;
    }
    if (rep->status == WIRE_ST_STALE) b->stale_mask |= (uint8_t)(1u << be);
    b->outstanding[be]--;
    if (all_stored) b->acked += e_count;
    /* the next datagram only after this one is stored whole, so serials stay contiguous */
    if (all_stored && coord_write_next(c, b, now_us, out)) return;
    outbox_line(out, FX_STDOUT, MSG_M_RECV_FEEDBACK, backend_letter(be), c->cfg.backend_port[be]);
    coord_write_done(c, b, now_us, out);
}

static void coord_write_done(coord_t *c, batch_t *b, uint64_t now_us, outbox_t *out) {
    if (batch_outstanding(b) > 0) return;
    int refused = 0; /* a backend answered one of the batch's transfers with a refusal */
    int stored = 0;
    for (int k = 0; k < b->op_count; k++) {
        refused |= c->ops[b->ops[k]].write_state == W_FAILED;
        stored += c->ops[b->ops[k]].write_state == W_STORED;
    }
    /* Only what was acknowledged is confirmed: with no refusal (a refusal may come with a
     * backend's mixed answer), exactly the acknowledged serials, a contiguous run. */
    AC_ASSERT(b->acked <= stored);
    if (!refused) AC_ASSERT(stored == b->acked);
    for (int k = 0; k < b->op_count; k++) {
        op_t *o = &c->ops[b->ops[k]];
        if (o->req.op != CREQ_TRANSFER || o->replied) continue;
        wire_crep_t rep;
        memset(&rep, 0, sizeof(rep));
        if (o->write_state == W_STORED) {
            AC_ASSERT(o->new_balance >= 0);
            AC_ASSERT(o->serial - b->serial_first < (uint64_t)b->sent);
            rep.kind = CREP_TRANSFER;
            rep.balance = o->new_balance;
            rep.serial = o->serial;
            c->stats.transfers_ok++;
        } else if (o->write_state == W_UNKNOWN) {
            rep.kind = CREP_UNKNOWN;
        } else if (b->stale_mask & (1u << o->backend)) { /* refused: a newer serverM */
            rep.kind = CREP_STALE;
            rep.text[0] = backend_letter(o->backend);
            rep.text[1] = '\0';
        } else if (o->write_state == W_PENDING && refused) { /* never sent */
            rep.kind = CREP_INTERNAL;
            snprintf(rep.text, sizeof(rep.text), "server %c refused an earlier transfer of "
                     "the batch", backend_letter(o->backend));
        } else if (o->write_state == W_PENDING) { /* never sent: an earlier write timed out */
            rep.kind = CREP_UNAVAILABLE;
            rep.text[0] = backend_letter(o->backend);
            rep.text[1] = '\0';
        } else if (o->write_result == WIRE_TX_FULL) { /* blockfile.h's size rule */
            rep.kind = CREP_INTERNAL;
            snprintf(rep.text, sizeof(rep.text), "server %c's block file is full (2 GiB)",
                     backend_letter(o->backend));
        } else if (o->write_result == WIRE_TX_NOSPACE) { /* ENOSPC: the disk cut it back */
            rep.kind = CREP_INTERNAL;
            snprintf(rep.text, sizeof(rep.text), "server %c's disk is full",
                     backend_letter(o->backend));
        } else if (o->write_result == WIRE_TX_IOERR) { /* EIO: the disk cut it back */
            rep.kind = CREP_INTERNAL;
            snprintf(rep.text, sizeof(rep.text), "server %c's disk failed the write (I/O error)",
                     backend_letter(o->backend));
        } else {
            rep.kind = CREP_INTERNAL;
            snprintf(rep.text, sizeof(rep.text), "server %c refused the write",
                     backend_letter(o->backend));
        }
        op_reply(c, o, &rep, out);
    }
    coord_batch_end(c, b, now_us, out);
}


/* Its transfers may still be written. */
int batch_names(const coord_t *c, const wire_name_t *n) {
    for (int m = 0; m < 2; m++) {
        const batch_t *b = &c->mains[m];
        if (b->phase == PHASE_IDLE) continue;
        for (int k = 0; k < b->op_count; k++) {
            const op_t *o = &c->ops[b->ops[k]];
            if (o->req.op == CREQ_TRANSFER && (names_equal(&o->req.user, n) || names_equal(&o->req.receiver, n)))
                return 1;
        }
    }
    return 0;
}


/* ---- the batch as an owner of out entries (out_owners) --------------------------- */

void batch_on_reply(coord_t *c, uint64_t now_us, int ei, const wire_reply_t *rep, outbox_t *out) {
    if (c->out[ei].type == WIRE_WRITE) { /* settled by coord_write_reply, which releases it */
        coord_write_reply(c, now_us, ei, rep, out);
        return;
    }
    AC_ASSERT(c->out[ei].type == WIRE_QUERY);
    out_t e = out_take(c, ei);
    coord_fetch_reply(c, now_us, &e, rep, out);
}

/* A QUERY fails the fetch ("unavailable"); a WRITE goes in doubt: the client hears
 * "unknown" and the write stays, retried until the backend answers. */
void batch_on_expire(coord_t *c, uint64_t now_us, int ei, outbox_t *out) {
    out_t *w = &c->out[ei];
    batch_t *b = batch_of(c, w);
    int be = w->backend;
    if (w->type == WIRE_WRITE) {
        for (int k = 0; k < w->op_count; k++) c->ops[w->ops[k]].write_state = W_UNKNOWN;
        out_hold_in_doubt(c, ei);
        b->outstanding[be]--;
        coord_write_done(c, b, now_us, out);
        return;
    }
    out_t e = out_take(c, ei);
    AC_ASSERT(e.type == WIRE_QUERY);
    b->failed_mask |= (uint8_t)(1u << be);
    b->outstanding[be]--;
    coord_fetch_done(c, b, now_us, out);
}

uint8_t *batch_stale_mask(coord_t *c, const out_t *e) { return &batch_of(c, e)->stale_mask; }
