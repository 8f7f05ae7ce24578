/* coordinator.c — serverM: client requests in, backend datagrams out; balances and
 * transfers one batch at a time, TXLIST and stats as jobs beside the batches. This file
 * owns the coordinator itself: its lifecycle, the op pool and the queues between the
 * sub-machines, scheduling, and the one timer pass. Each sub-machine has its own file
 * (coord_internal.h lists them): connections (coord_conn.c), the UDP request table
 * (coord_out.c), batches (coord_batch.c), jobs (coord_jobs.c). Only one batch is in flight
 * and a new one waits while any write is in doubt, so no two transfers see the same
 * balance and no serial is handed out twice. docs/DESIGN-NOTES.md has the argument.
 *
 * One TRANSFER, from the TCP line to the backend's ack and back to the client:
 *   coord_on_conn_data        bytes of the request line (wire_lines_take, wire_creq_decode)
 *     (coord_conn.c)
 *   coord_accept_request      an op from the pool (op_alloc) in the queue (op_admit);
 *                             "received ... to transfer" printed
 *   coord_schedule            here: starts jobs, then coord_batch_start (coord_batch.c):
 *                             the queued ops become a batch; the users to fetch
 *   coord_fetch_send          one QUERY per backend (out_send: request id -> out slot)
 *   coord_on_datagram         each QUERY reply, matched by request id in O(1), goes to its
 *     (coord_out.c)           owner's row of out_owners: batch_on_reply
 *   coord_fetch_reply         the totals summed; when all three are in:
 *   coord_fetch_done          the balance checked, a serial and the backend chosen
 *   coord_write_next          the WRITE datagram (out_send); retransmitted by the timer
 *                             pass (coord_timers, here) until answered
 *   coord_on_datagram         the WRITE reply (after the backend's append is durable)
 *   coord_write_reply         the transfer is W_STORED; the next WRITE, or:
 *   coord_write_done          op_reply: "OK TRANSFER <balance> <serial>"; op_send
 *                             (coord_conn.c), the one way out, keeps each connection's
 *                             replies in request order, then FX_CONN_CLOSE (one-shot) and
 *                             "sent the result" printed
 *   coord_batch_end           ops released (op_release); coord_schedule starts jobs and
 *                             the next batch.
 * A write past its deadline goes through batch_on_expire (the client hears UNKNOWN; the
 * write stays, retried until the backend answers). A half-close of the connection on the
 * way (coord_on_conn_eof) changes nothing; a reset (coord_on_conn_reset) only drops the
 * reply: the transfer completes either way. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "coord_internal.h"
#include "messages.h"
#include "mutant.h"

/* ------------------------------------------------------------------------------------ */
/* small helpers                                                                         */

void mask_letters(uint8_t mask, char *buf) {
    size_t n = 0;
    for (int i = 0; i < BACKEND_COUNT; i++) {
        if (mask & (1u << i)) buf[n++] = backend_letter(i);
    }
    buf[n] = '\0';
}

void coord_dup_report(const serials_dup_t *dup, char *text, size_t cap, outbox_t *out) {
    static const char *const names[BACKEND_COUNT] = {"serverA", "serverB", "serverC"};
    serials_dup_format(dup, names, text, cap);
    outbox_line(out, FX_STDERR, "%s", text);
}

void note_sent(uint8_t *mask, int backend, outbox_t *out) {
    if (!(*mask & (1u << backend))) {
        *mask |= (uint8_t)(1u << backend);
        outbox_line(out, FX_STDOUT, MSG_M_SENT_BACKEND, backend_letter(backend));
    }
}

uint32_t name_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* ------------------------------------------------------------------------------------ */
/* op queues: rings of op indexes                                                        */

void opq_push(opq_t *q, int i) {
    AC_ASSERT(i >= 0);
    AC_ASSERT(i < OPS_MAX);
    AC_ASSERT(q->len < OPS_MAX);
    q->idx[(q->head + q->len) % OPS_MAX] = i;
    q->len++;
}

int opq_pop(opq_t *q) {
    AC_ASSERT(q->len > 0);
    int i = q->idx[q->head];
    q->head = (q->head + 1) % OPS_MAX;
    q->len--;
    return i;
}

int opq_peek(const opq_t *q) { return q->idx[q->head]; }

/* Moves every op of `from` to the head of `to`, in their order. */
void opq_prepend_all(opq_t *to, opq_t *from) {
    for (int k = from->len - 1; k >= 0; k--) {
        AC_ASSERT(to->len < OPS_MAX);
        to->head = (to->head + OPS_MAX - 1) % OPS_MAX;
        to->idx[to->head] = from->idx[(from->head + k) % OPS_MAX];
        to->len++;
    }
    from->head = from->len = 0;
    AC_ASSERT(to->len <= OPS_MAX);
}

/* ------------------------------------------------------------------------------------ */
/* lifecycle                                                                             */

_Static_assert(offsetof(coord_t, conns) < offsetof(coord_t, ops) && offsetof(coord_t, ops) < offsetof(coord_t, out) &&
                   sizeof(coord_t) - offsetof(coord_t, out) - sizeof(((coord_t *)0)->out) < _Alignof(coord_t),
               "the pools are struct coord's last members: coord_new clears everything before them");

static int coord_config_valid(const coord_config_t *cfg) {
    if (cfg->timeout_ms == 0 || cfg->txlist_path == NULL) return 0;
    size_t path_len = strlen(cfg->txlist_path);
    if (path_len == 0 || path_len > PATH_BYTES_MAX) return 0;
    for (size_t i = 0; i < path_len; i++) { /* it travels in a reply line */
        unsigned char ch = (unsigned char)cfg->txlist_path[i];
        if (ch < 0x20 || ch == 0x7f) return 0;
    }
    return 1;
}

/* coord_reset's clearing, cheaper than coord_new's 276 kB: c was in use, so the tables read
 * only below a count or inside a ring (the free lists, the op queues' rings, the batches'
 * op and prior lists) may keep what they hold, as the pools do, and the batches' users past
 * user_count are zero already (batch_release clears those it used); everything else before
 * the pools is cleared as coord_new clears it: about 29 kB a restart (plus the users in
 * use) instead of 276 kB. */
static void coord_clear_used(coord_t *c) {
    static const struct {
        size_t off, len;
    } kept[] = {
        {offsetof(coord_t, conn_free), sizeof(((coord_t *)0)->conn_free)},
        {offsetof(coord_t, op_free), sizeof(((coord_t *)0)->op_free)},
        {offsetof(coord_t, queue.idx), sizeof(((coord_t *)0)->queue.idx)},
        {offsetof(coord_t, txq.idx), sizeof(((coord_t *)0)->txq.idx)},
        {offsetof(coord_t, sq.idx), sizeof(((coord_t *)0)->sq.idx)},
        {offsetof(coord_t, parked.idx), sizeof(((coord_t *)0)->parked.idx)},
        {offsetof(coord_t, out_free), sizeof(((coord_t *)0)->out_free)},
        {offsetof(coord_t, mains[0].ops), sizeof(((coord_t *)0)->mains[0].ops)},
        {offsetof(coord_t, mains[0].prior), sizeof(((coord_t *)0)->mains[0].prior)},
        {offsetof(coord_t, mains[0].users), sizeof(((coord_t *)0)->mains[0].users)},
        {offsetof(coord_t, mains[1].ops), sizeof(((coord_t *)0)->mains[1].ops)},
        {offsetof(coord_t, mains[1].prior), sizeof(((coord_t *)0)->mains[1].prior)},
        {offsetof(coord_t, mains[1].users), sizeof(((coord_t *)0)->mains[1].users)},
    };
    for (int m = 0; m < 2; m++) {
        batch_t *b = &c->mains[m];
        AC_ASSERT(b->user_count >= 0);
        AC_ASSERT(b->user_count <= BATCH_USERS_MAX);
        memset(b->users, 0, sizeof(b->users[0]) * (size_t)b->user_count);
    }
    size_t at = 0;
    for (size_t k = 0; k < sizeof(kept) / sizeof(kept[0]); k++) {
        AC_ASSERT(kept[k].off >= at); /* in member order, none overlapping */
        memset((char *)c + at, 0, kept[k].off - at);
        at = kept[k].off + kept[k].len;
    }
    AC_ASSERT(at <= offsetof(coord_t, conns));
    memset((char *)c + at, 0, offsetof(coord_t, conns) - at);
}

/* c as coord_new leaves it, once what is read before it is written before the pools is zero
 * (coord_new clears it all, coord_reset what coord_clear_used says); cfg is valid. */
static void coord_init(coord_t *c, const coord_config_t *cfg) {
    c->cfg = *cfg;
    memcpy(c->txlist_path, cfg->txlist_path, strlen(cfg->txlist_path) + 1);
    c->cfg.txlist_path = c->txlist_path;
    prng_init(&c->prng, cfg->seed);
    c->next_request_seq = 1;
    c->next_token = 1; /* the pools: nothing released, nothing handed out yet (zeroed) */
}

coord_t *coord_new(const coord_config_t *cfg) {
    if (!coord_config_valid(cfg)) return NULL;
    coord_t *c = malloc(sizeof(*c));
    if (c == NULL) return NULL;
    memset(c, 0, offsetof(coord_t, conns)); /* the pools after it: see struct coord */
    coord_init(c, cfg);
    return c;
}

int coord_reset(coord_t *c, const coord_config_t *cfg) {
    if (!coord_config_valid(cfg)) return AC_EINVAL;
    coord_conns_free(c);
    coord_jobs_free(c);
    coord_reads_free(c); /* before the clearing, which forgets their pointers */
    coord_clear_used(c);
    coord_init(c, cfg);
    return 0;
}

void coord_free(coord_t *c) {
    if (c == NULL) return;
    coord_conns_free(c);
    coord_jobs_free(c);
    coord_reads_free(c);
    free(c);
}

void coord_start(coord_t *c, uint64_t now_us, outbox_t *out) {
    (void)c;
    (void)now_us;
    outbox_line(out, FX_STDOUT, MSG_M_UP);
}

/* ------------------------------------------------------------------------------------ */
/* the op pool and scheduling                                                            */

int pool_take(int *released, int *count, int *fresh, int n, int *fresh_out) {
    int first = *count == 0;
    if (first && *fresh == n) return -1;
    if (fresh_out != NULL) *fresh_out = first;
    return first ? (*fresh)++ : released[--*count];
}

void pool_put(int *released, int *count, int n, int i) {
    AC_ASSERT(*count < n);
    AC_ASSERT(i >= 0 && i < n);
    released[(*count)++] = i;
}

int pool_free(int count, int fresh, int n) { return count + n - fresh; }

int op_alloc(coord_t *c) {
    int fresh;
    int i = pool_take(c->op_free, &c->op_free_count, &c->op_fresh, OPS_MAX, &fresh);
    if (i < 0) return -1;
    op_t *o = &c->ops[i];
    AC_ASSERT(fresh || o->state == OP_FREE); /* a fresh one was never cleared (coord_new) */
    memset(o, 0, sizeof(*o));
    o->state = OP_QUEUED;
    o->stats_job = -1;
    o->backend = -1;
    return i;
}

void op_admit(coord_t *c, int i) {
    op_t *o = &c->ops[i];
    AC_ASSERT(o->state == OP_HELD || o->state == OP_QUEUED); /* held, or just accepted */
    AC_ASSERT(!o->replied);
    o->state = OP_QUEUED;
    creq_op_t op = o->req.op;
    opq_push(op == CREQ_TXLIST ? &c->txq : op == CREQ_STATS ? &c->sq : &c->queue, i);
}

void op_release(coord_t *c, int i) {
    AC_ASSERT(c->ops[i].state != OP_FREE);
    AC_ASSERT(c->ops[i].replied);
    memset(&c->ops[i], 0, sizeof(c->ops[i]));
    pool_put(c->op_free, &c->op_free_count, OPS_MAX, i);
}

/* Jobs need no write in doubt (nor does a batch, but for the mutant that reuses serials);
 * stats before the batch, so it can lock its user first. */
void coord_schedule(coord_t *c, uint64_t now_us, outbox_t *out) {
    if (c->in_doubt == 0) {
        coord_txlist_start(c, now_us, out);
        coord_stats_start(c, now_us, out);
    }
    if (c->in_doubt > 0 && !MUTANT(MUT_SERIAL_REUSE_IN_DOUBT)) return;
    coord_batch_start(c, now_us, out);
    coord_reads_start(c, now_us, out);
}

/* ------------------------------------------------------------------------------------ */
/* time: the one timer pass                                                              */

/* UINT64_MAX is "never": due at no time, not even now_us = UINT64_MAX. */
static int is_due(uint64_t now_us, uint64_t due_us) { return due_us != UINT64_MAX && now_us >= due_us; }

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* When the request at the head of q has waited a whole timeout behind an in-doubt write. */
static uint64_t stuck_deadline(const coord_t *c, const opq_t *q) {
    return c->ops[opq_peek(q)].arrived_us + (uint64_t)c->cfg.timeout_ms * 1000u;
}

/* Every rule of time, walked once over each table (an entry's own rule: out_due_us,
 * conn_due_us):
 *   out entries   retransmission, then the deadline (out_on_due): bounded by OUT_MAX;
 *   queues        while a write is in doubt, a request that waited a whole timeout at the
 *                 head of a queue that cannot start (a job's; the batch queue between
 *                 batches) hears UNAVAILABLE, naming the backends of the in-doubt writes;
 *   connections   closed once idle past CONN_IDLE_US.
 * With out == NULL the pass only reads and returns the earliest time something is due:
 * coord_deadline_us. With an outbox it also carries out what is due at now_us:
 * coord_on_timer, which drops the figure (requests its actions send into lower out slots
 * are not in it; drivers ask coord_deadline_us next). */
static uint64_t coord_timers(coord_t *c, uint64_t now_us, outbox_t *out) {
    AC_ASSERT(c->out_hw <= OUT_MAX);
    AC_ASSERT(c->conn_hw <= CONNECTIONS_MAX);
    uint64_t next_us = UINT64_MAX;
    uint8_t doubt_mask = 0; /* backends holding an in-doubt write */
    for (int i = 0; i < c->out_hw; i++) {
        if (!c->out[i].used) continue;
        if (out != NULL && is_due(now_us, out_due_us(&c->out[i]))) out_on_due(c, now_us, i, out);
        const out_t *e = &c->out[i];
        if (!e->used) continue;
        if (e->in_doubt) doubt_mask |= (uint8_t)(1u << e->backend);
        next_us = min_u64(next_us, out_due_us(e));
    }
    if (c->in_doubt > 0) {
        AC_ASSERT(doubt_mask != 0); /* c->in_doubt counts the entries walked above */
        char letters[BACKEND_COUNT + 1];
        mask_letters(doubt_mask, letters);
        opq_t *stuck[3] = {&c->txq, &c->sq, coord_main(c)->phase == PHASE_IDLE ? &c->queue : NULL};
        for (int q = 0; q < 3; q++) {
            while (stuck[q] != NULL && stuck[q]->len > 0) {
                uint64_t due_us = stuck_deadline(c, stuck[q]);
                if (out == NULL || !is_due(now_us, due_us)) {
                    next_us = min_u64(next_us, due_us);
                    break;
                }
                int i = opq_pop(stuck[q]);
                op_reply_kind(c, &c->ops[i], CREP_UNAVAILABLE, letters, 0, out);
                op_release(c, i);
            }
        }
    }
    for (int i = 0; i < c->conn_hw; i++) {
        conn_t *k = &c->conns[i];
        uint64_t due_us = conn_due_us(k);
        if (out != NULL && is_due(now_us, due_us)) {
            conn_expire_idle(c, k, out);
            continue;
        }
        next_us = min_u64(next_us, due_us);
    }
    return next_us;
}

void coord_on_timer(coord_t *c, uint64_t now_us, outbox_t *out) {
    AC_ASSERT(out != NULL);
    (void)coord_timers(c, now_us, out);
}

uint64_t coord_deadline_us(const coord_t *c) {
    /* with no outbox the pass writes nothing: the cast only shares its walk */
    return coord_timers((coord_t *)c, 0, NULL);
}

/* ------------------------------------------------------------------------------------ */

int coord_idle(const coord_t *c) {
    return c->mains[0].phase == PHASE_IDLE && c->mains[1].phase == PHASE_IDLE && coord_reads_running(c) == 0 &&
           c->txjob.phase == TXJ_IDLE &&
           c->sjob_count == 0 &&
           c->queue.len == 0 && c->txq.len == 0 && c->sq.len == 0 && c->parked.len == 0 &&
           pool_free(c->out_free_count, c->out_fresh, OUT_MAX) == OUT_MAX;
}

void coord_get_stats(const coord_t *c, coord_stats_t *s) { *s = c->stats; }
