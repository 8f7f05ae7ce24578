/* coord_out.c — serverM's UDP request table: every request to a backend is an entry of
 * c->out from its send until its answer (or, for a read, its deadline). It owns request
 * ids (a reply finds its entry in O(1)), retransmission with backoff, deadlines, the hello
 * that re-fences a backend for a paused WRITE, and the dispatch of replies and missed
 * deadlines to the entry's owner through out_owners: one row per owner (the batch, the
 * TXLIST job, a stats job), so no switch on the owner lives anywhere else. */
#include <string.h>

#include "coord_internal.h"
#include "mutant.h"

/* Indexed by out_owner_t. */
static const out_owner_ops_t out_owners[OWN_COUNT] = {
    [OWN_BATCH] = {batch_on_reply, batch_on_expire, batch_stale_mask},
    [OWN_TXLIST] = {txlist_on_reply, txlist_on_expire, txlist_stale_mask},
    [OWN_STATS] = {stats_on_reply, stats_on_expire, stats_stale_mask},
};

/* One datagram to a backend: sealed with the next sequence number for it (every copy of a
 * retransmitted request is a new datagram to the replay window), or bare without auth. */
static void out_dgram(coord_t *c, int backend, const uint8_t *msg, size_t len, outbox_t *out) {
    if (c->cfg.auth == NULL) {
        outbox_push(out, FX_DGRAM, (uint32_t)backend, 0, msg, len);
        return;
    }
    uint8_t buf[AUTH_DGRAM_BYTES_MAX];
    size_t n = auth_seal(c->cfg.auth, backend, ++c->auth_seq[backend], msg, len, buf, sizeof(buf));
    outbox_push(out, FX_DGRAM, (uint32_t)backend, 0, buf, n);
}

/* Clears an entry but for its payload (1.2 kB that out_send encodes over). */
static void out_clear(out_t *e) { memset(e, 0, offsetof(out_t, payload)); }

/* The table is full only through a bug (batches and jobs are bounded to fit); the caller
 * then treats the request as one that missed its deadline. */
int out_send(coord_t *c, uint64_t now_us, int backend, out_owner_t owner, wire_req_t *req,
             outbox_t *out) {
    AC_ASSERT(backend >= 0);
    AC_ASSERT(backend < BACKEND_COUNT);
    AC_ASSERT(owner < OWN_COUNT);
    int fresh;
    int i = pool_take(c->out_free, &c->out_free_count, &c->out_fresh, OUT_MAX, &fresh);
    if (NEVER(i < 0)) return -1;
    out_t *e = &c->out[i];
    AC_ASSERT(fresh || !e->used); /* a fresh one was never cleared (coord_new) */
    out_clear(e);
    req->incarnation = c->cfg.incarnation;
    req->request_id = (c->next_request_seq++ << OUT_SLOT_BITS) | (uint64_t)i;
    if (req->type == WIRE_WRITE) req->u.write.epoch = c->be_epoch[backend];
    size_t n = wire_req_encode(req, e->payload, sizeof(e->payload));
    AC_ASSERT(n > 0);
    e->used = 1;
    e->request_id = req->request_id;
    e->backend = backend;
    e->type = req->type;
    e->owner = owner;
    e->epoch = req->type == WIRE_WRITE ? req->u.write.epoch : 0;
    e->len = n;
    e->deadline_us = now_us + (uint64_t)c->cfg.timeout_ms * 1000u;
    e->rto_us = RETRANSMIT_US_INITIAL;
    e->next_retx_us = now_us + e->rto_us;
    e->hello_for = -1;
    e->hello = -1;
    e->stats_job = -1;
    if (i >= c->out_hw) c->out_hw = i + 1;
    AC_ASSERT((e->request_id & (OUT_MAX - 1)) == (uint64_t)i); /* found again from its id */
    out_dgram(c, backend, e->payload, n, out);
    return i;
}

void out_renew(coord_t *c, uint64_t now_us, int i, wire_req_t *req) {
    out_t *e = &c->out[i];
    AC_ASSERT(e->used);
    AC_ASSERT(req->type == e->type);
    AC_ASSERT(e->type != WIRE_WRITE); /* a write is retransmitted unchanged (3.6) */
    req->incarnation = c->cfg.incarnation;
    req->request_id = e->request_id;
    size_t n = wire_req_encode(req, e->payload, sizeof(e->payload));
    AC_ASSERT(n > 0);
    e->len = n;
    e->deadline_us = now_us + (uint64_t)c->cfg.timeout_ms * 1000u;
    e->rto_us = RETRANSMIT_US_INITIAL;
    e->next_retx_us = now_us + e->rto_us;
}

/* Frees entry i. A WRITE's hello goes with it (no longer needed); a hello that goes
 * unpauses its WRITE's link to it. */
void out_release(coord_t *c, int i) {
    out_t *e = &c->out[i];
    AC_ASSERT(e->used);
    if (e->in_doubt) c->in_doubt--;
    if (e->hello_for >= 0) {
        AC_ASSERT(c->out[e->hello_for].hello == i);
        c->out[e->hello_for].hello = -1;
    }
    int hello = e->hello;
    out_clear(e);
    pool_put(c->out_free, &c->out_free_count, OUT_MAX, i);
    if (hello >= 0) {
        c->out[hello].hello_for = -1; /* already gone: nothing to unlink */
        out_release(c, hello);
    }
    while (c->out_hw > 0 && !c->out[c->out_hw - 1].used) c->out_hw--;
    AC_ASSERT(c->in_doubt >= 0);
}

/* A WRITE paused for its hello is not retransmitted: the hello is. */
static void out_retransmit(coord_t *c, uint64_t now_us, out_t *e, outbox_t *out) {
    AC_ASSERT(e->used);
    AC_ASSERT(e->hello < 0);
    if (MUTANT(MUT_NO_RETRANSMIT)) {
        e->next_retx_us = UINT64_MAX;
        return;
    }
    if (MUTANT(MUT_RETX_OTHER_BACKEND) && e->type == WIRE_WRITE) {
        /* planted bug: the copy goes to another backend, re-aimed at that backend's run (as
         * a retry that re-encodes the write for whichever backend it picks would) */
        int other = (e->backend + 1) % BACKEND_COUNT;
        uint8_t copy[sizeof(e->payload)];
        memcpy(copy, e->payload, e->len);
        (void)wire_write_set_epoch(copy, e->len, c->be_epoch[other]);
        out_dgram(c, other, copy, e->len, out);
    } else {
        out_dgram(c, e->backend, e->payload, e->len, out);
    }
    c->stats.retransmits++;
    e->rto_us = e->rto_us * 2 > RETRANSMIT_US_MAX ? RETRANSMIT_US_MAX : e->rto_us * 2;
    e->next_retx_us = now_us + e->rto_us;
    AC_ASSERT(e->rto_us <= RETRANSMIT_US_MAX);
}

out_t out_take(coord_t *c, int i) {
    out_t copy;
    memcpy(&copy, &c->out[i], offsetof(out_t, payload)); /* the owners read no payload */
    out_release(c, i);
    return copy;
}

void out_hold_in_doubt(coord_t *c, int i) {
    out_t *e = &c->out[i];
    AC_ASSERT(e->type == WIRE_WRITE);
    AC_ASSERT(!e->in_doubt);
    c->stats.in_doubt++;
    e->in_doubt = 1; /* MUT_SERIAL_REUSE_IN_DOUBT: coord_batch_start ignores it */
    c->in_doubt++;
    e->deadline_us = UINT64_MAX;
}

/* A request missed its deadline (or a read was refused STALE): said once on stderr, then
 * its owner decides (a read fails its batch or job; a write goes in doubt). */
static void out_expire(coord_t *c, uint64_t now_us, int ei, outbox_t *out) {
    const out_t *e = &c->out[ei];
    const out_owner_ops_t *owner = &out_owners[e->owner];
    int be = e->backend;
    if (!(*owner->stale_mask(c, e) & (1u << be))) /* a STALE answer was reported as such */
        outbox_line(out, FX_STDERR, "server %c did not answer within %u ms", backend_letter(be),
                    c->cfg.timeout_ms);
    if (NEVER(e->hello_for >= 0)) { /* hellos have no deadline, and STALE resends the write */
        out_release(c, ei);
        return;
    }
    owner->on_expire(c, now_us, ei, out);
}

/* A WRITE paused for its hello waits for nothing but its deadline: the hello is the one
 * retransmitted meanwhile. */
uint64_t out_due_us(const out_t *e) {
    if (e->hello >= 0) return e->deadline_us;
    return e->next_retx_us < e->deadline_us ? e->next_retx_us : e->deadline_us;
}

void out_on_due(coord_t *c, uint64_t now_us, int i, outbox_t *out) {
    out_t *e = &c->out[i];
    AC_ASSERT(e->used);
    AC_ASSERT(now_us >= out_due_us(e));
    if (now_us < e->deadline_us) {
        out_retransmit(c, now_us, e, out);
        return;
    }
    int paused = e->hello >= 0;
    if (paused) out_release(c, e->hello); /* its hello first; the write is unpaused */
    out_expire(c, now_us, i, out);
    if (paused && e->used) e->next_retx_us = now_us; /* an in-doubt write: resend now */
}

static int reply_shape_ok(const out_t *e, const wire_reply_t *rep) {
    if (rep->type != (e->type | WIRE_REPLY)) return 0;
    if (rep->status != WIRE_ST_OK) return 1;
    if (e->type == WIRE_QUERY) return rep->u.query.count == e->user_count;
    return 1;
}

void coord_on_datagram(coord_t *c, uint64_t now_us, int backend, const uint8_t *data, size_t len,
                       outbox_t *out) {
    wire_reply_t *rep = &c->reply;
    if (backend >= 0 && backend < BACKEND_COUNT && c->cfg.auth != NULL) {
        /* Replies need no replay window: each answers one request id, used once (3.1). */
        uint64_t seq;
        int rc = auth_open(c->cfg.auth, backend, data, len, &len, &seq);
        if (rc != 0) {
            c->stats.datagrams_dropped++;
            c->stats.datagrams_unauthentic++;
            outbox_drop(out, "from server %c: %s", backend_letter(backend), auth_error_text(rc));
            return;
        }
    }
    if (backend < 0 || backend >= BACKEND_COUNT || wire_reply_decode(data, len, rep) != 0) {
        c->stats.datagrams_dropped++;
        outbox_drop(out, "a malformed datagram of %zu bytes", len);
        return;
    }
    if (rep->incarnation != c->cfg.incarnation) {
        c->stats.datagrams_dropped++; /* for an earlier run of serverM */
        return;
    }
    int ei = (int)(rep->request_id & (OUT_MAX - 1)); /* the slot is in the id's low bits */
    out_t *e = &c->out[ei];
    if (!e->used || e->request_id != rep->request_id) {
        c->stats.datagrams_dropped++; /* a duplicate or a late reply */
        return;
    }
    if (e->backend != backend || !reply_shape_ok(e, rep)) {
        c->stats.datagrams_dropped++;
        outbox_drop(out, "a reply that does not match its request");
        return;
    }
    if (e->type == WIRE_QUERY && rep->status == WIRE_ST_OK) c->be_epoch[backend] = rep->epoch;
    if (e->hello_for >= 0) {
        /* the hello a fenced-out WRITE waited for: resend that write at once, for the
         * backend process that answered it */
        out_t *w = &c->out[e->hello_for];
        AC_ASSERT(w->used);
        AC_ASSERT(w->hello == ei);            /* out_release drops a write's hello too */
        out_release(c, ei);                   /* and unpauses the write: w->hello = -1 */
        if (rep->status == WIRE_ST_OK) {
            int rc = wire_write_set_epoch(w->payload, w->len, rep->epoch);
            AC_ASSERT(rc == AC_OK);
            w->epoch = rep->epoch;
        }
        w->rto_us = RETRANSMIT_US_INITIAL / 2;
        out_retransmit(c, now_us, w, out);
        return;
    }
    int rehello = rep->status == WIRE_ST_UNFENCED || rep->status == WIRE_ST_EPOCH;
    if (e->type == WIRE_WRITE && !rehello && rep->epoch != e->epoch) {
        /* An answer of another run of the backend than the one the write now goes to
         * (a copy sent before a hello taught serverM the new one): it settles nothing,
         * a refusal above all — the run the write now goes to may still apply it. That
         * run's own answer comes to a copy carrying its epoch. */
        c->stats.datagrams_dropped++;
        return;
    }
    if (rehello && e->type == WIRE_WRITE) {
        if (e->hello >= 0) return;
        wire_req_t hello;
        wire_req_clear(&hello, WIRE_QUERY); /* no names */
        hello.type = WIRE_QUERY;
        int h = out_send(c, now_us, backend, OWN_BATCH, &hello, out);
        if (NEVER(h < 0)) return;
        c->out[h].hello_for = ei;
        c->out[h].deadline_us = UINT64_MAX; /* the write's own deadline governs */
        c->out[h].user_count = 0;
        e->hello = h;
        e->next_retx_us = UINT64_MAX;
        return;
    }
    if (rep->status == WIRE_ST_STALE && e->type != WIRE_WRITE) {
        /* a newer serverM is running: this one can no longer read consistently */
        outbox_line(out, FX_STDERR, "server %c has seen a newer serverM; failing the request",
                    backend_letter(backend));
        *out_owners[e->owner].stale_mask(c, e) |= (uint8_t)(1u << backend);
        out_expire(c, now_us, ei, out);
        return;
    }
    out_owners[e->owner].on_reply(c, now_us, ei, rep, out);
}
