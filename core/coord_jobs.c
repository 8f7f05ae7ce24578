/* coord_jobs.c — serverM's jobs: the TXLIST job and the stats jobs, which page the
 * backends beside the batches. A stats or TXLIST request does not wait for batches, nor
 * batches for it: each is a job that reads pages from the backends while balances and
 * transfers go on.
 *   stats of U  starts when no write is in doubt and the running batch names no U; while
 *               it runs, a transfer naming U waits (c->parked), so U's transactions do
 *               not change under its pages: it is linearized at any moment of its run.
 *   TXLIST      starts when no write is in doubt; first a hello (a QUERY of no names) to
 *               every backend: the largest serial S of the three answers. Every serial
 *               <= S is settled by then (a batch writes in serial order, one datagram
 *               after the other, and the next batch waits for every write of the one
 *               before), and every transfer confirmed before the request arrived has a
 *               serial <= S. The listing is the transactions with serial <= S, merged from
 *               the three backends' pages as they arrive (each backend lists in ascending
 *               serial order, PROTOCOL.md 1.5) and handed to the driver in chunks, so no
 *               step costs more than a page: it is linearized just after S was stored (or
 *               at its arrival, when S was stored before).
 * Each kind is a row of the out table's owners (txlist_on_reply, stats_on_reply, ...). */
#include <stdio.h> /* snprintf only: core never prints */
#include <stdlib.h>
#include <string.h>

#include "coord_internal.h"
#include "grow.h"
#include "messages.h"
#include "mutant.h"

/* ---- stats jobs ---------------------------------------------------------------------- */

static void stats_job_release(coord_t *c, stats_job_t *s) {
    AC_ASSERT(s->used);
    AC_ASSERT(c->sjob_count > 0);
    free(s->rows);
    free(s->slots);
    memset(s, 0, sizeof(*s));
    c->sjob_count--;
}

/* The next page of backend be: one at a time, from where the last one ended. */
static void stats_ask(coord_t *c, uint64_t now_us, int job, int be, outbox_t *out) {
    stats_job_t *s = &c->sjobs[job];
    AC_ASSERT(s->used);
    AC_ASSERT(s->outstanding[be] == 0);
    wire_req_t req;
    wire_req_clear(&req, WIRE_STATS);
    req.type = WIRE_STATS;
    req.u.stats.user = c->ops[s->op].req.user;
    req.u.stats.cursor = s->cursor[be];
    int e = out_send(c, now_us, be, OWN_STATS, &req, out);
    if (ALWAYS(e >= 0)) {
        c->out[e].stats_job = job;
        note_sent(&s->active_mask, be, out);
        s->outstanding[be]++;
    }
}

/* Starts stats jobs from c->sq, in order, while a job is free and the head may start. */
void coord_stats_start(coord_t *c, uint64_t now_us, outbox_t *out) {
    while (c->sq.len > 0 && c->sjob_count < STATS_JOBS_MAX) {
        int i = opq_peek(&c->sq);
        op_t *o = &c->ops[i];
        if (batch_names(c, &o->req.user) && !MUTANT(MUT_STATS_NO_LOCK)) return; /* again when the batch ends */
        opq_pop(&c->sq);
        int job = 0;
        while (c->sjobs[job].used) job++;
        AC_ASSERT(job < STATS_JOBS_MAX); /* sjob_count < STATS_JOBS_MAX: one is free */
        AC_ASSERT(o->state == OP_QUEUED);
        stats_job_t *s = &c->sjobs[job];
        memset(s, 0, sizeof(*s));
        s->used = 1;
        s->op = i;
        c->sjob_count++;
        o->state = OP_BATCH;
        o->stats_job = job;
        for (int be = 0; be < BACKEND_COUNT; be++) {
            stats_ask(c, now_us, job, be, out);
            /* beside the first page: the backend's largest serial and count, so a serial
             * stored twice is never counted in the rows (serials_check_maxima) */
            wire_req_t hello;
            wire_req_clear(&hello, WIRE_QUERY); /* no names */
            hello.type = WIRE_QUERY;
            int e = out_send(c, now_us, be, OWN_STATS, &hello, out);
            if (ALWAYS(e >= 0)) {
                c->out[e].stats_job = job;
                s->hello_wait |= (uint8_t)(1u << be);
            }
        }
    }
}

/* Adds a backend's partner row into the job's merge table. Returns 0 or AC_ENOMEM/AC_EFULL. */
static int stats_merge(stats_job_t *s, const wire_row_t *r) {
    if (s->row_count * 2 >= s->slot_cap) {
        uint32_t cap = s->slot_cap ? s->slot_cap * 2 : 64;
        uint32_t *slots = calloc(cap, sizeof(uint32_t));
        if (slots == NULL) return AC_ENOMEM;
        for (uint32_t i = 0; i < s->row_count; i++) {
            uint32_t h = name_hash(s->rows[i].name, s->rows[i].len) & (cap - 1);
            while (slots[h] != 0) h = (h + 1) & (cap - 1);
            slots[h] = i + 1;
        }
        free(s->slots);
        s->slots = slots;
        s->slot_cap = cap;
    }
    uint32_t h = name_hash(r->partner.s, r->partner.len) & (s->slot_cap - 1);
    while (s->slots[h] != 0) {
        srow_t *x = &s->rows[s->slots[h] - 1];
        if (x->len == r->partner.len && memcmp(x->name, r->partner.s, x->len) == 0) {
            x->count += r->count;
            if (__builtin_add_overflow(x->net, r->net, &x->net)) return AC_ERANGE;
            return 0;
        }
        h = (h + 1) & (s->slot_cap - 1);
    }
    if (s->row_count >= STATS_PARTNERS_MAX) return AC_EFULL;
    int rc = grow_array(&s->rows, &s->row_cap, (size_t)s->row_count + 1, sizeof(srow_t));
    if (rc != AC_OK) return rc;
    srow_t *x = &s->rows[s->row_count];
    memcpy(x->name, r->partner.s, r->partner.len);
    x->name[r->partner.len] = '\0';
    x->len = r->partner.len;
    x->count = r->count;
    x->net = r->net;
    s->slots[h] = ++s->row_count;
    return 0;
}

static int srow_cmp(const void *a, const void *b) {
    const srow_t *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->name, y->name, n);
    if (r != 0) return r;
    return (int)x->len - (int)y->len;
}

static void coord_stats_finish(coord_t *c, stats_job_t *s, outbox_t *out) {
    op_t *o = &c->ops[s->op];
    char letters[BACKEND_COUNT + 1];
    if (s->failed_mask) {
        mask_letters(s->failed_mask, letters);
        op_reply_kind(c, o, CREP_UNAVAILABLE, letters, s->stale_mask, out);
        return;
    }
    serials_dup_t dup;
    if (serials_check_maxima(s->largest, s->count, BACKEND_COUNT, s->hello_mask, &dup) == AC_EDUP) {
        char text[PATH_BYTES_MAX + 1];
        coord_dup_report(&dup, text, sizeof(text), out);
        op_reply_kind(c, o, CREP_INTERNAL, text, 0, out);
        return;
    }
    if (s->overflow) {
        op_reply_kind(c, o, CREP_INTERNAL, "statistics too large", 0, out);
        return;
    }
    if (s->row_count == 0) {
        wire_crep_t rep;
        memset(&rep, 0, sizeof(rep));
        rep.kind = CREP_NOUSER;
        rep.names[0] = o->req.user;
        op_reply(c, o, &rep, out);
        return;
    }
    qsort(s->rows, s->row_count, sizeof(srow_t), srow_cmp);
    /* Build the whole reply: head + rows, sent as one (op_send) */
    if (!o->conn_open) { /* nobody to read it */
        o->replied = 1;
        return;
    }
    wire_crep_t head;
    memset(&head, 0, sizeof(head));
    head.kind = CREP_STATS;
    head.count = s->row_count;
    /* <= COORD_REPLY_BYTES_MAX, which net's connection queue is sized to hold */
    size_t cap = TCP_LINE_BYTES_MAX * 2 + (size_t)s->row_count * COORD_STATS_ROW_BYTES_MAX;
    char *buf = malloc(cap);
    if (buf == NULL) {
        op_reply_kind(c, o, CREP_INTERNAL, "out of memory", 0, out);
        return;
    }
    size_t len = wire_crep_encode(&head, buf, cap);
    for (uint32_t r = 0; r < s->row_count; r++) {
        wire_crow_t row;
        memset(&row, 0, sizeof(row));
        row.rank = r + 1;
        memcpy(row.partner.s, s->rows[r].name, s->rows[r].len + 1u);
        row.partner.len = s->rows[r].len;
        row.count = s->rows[r].count;
        row.net = s->rows[r].net;
        size_t n = wire_crow_encode(&row, buf + len, cap - len);
        AC_ASSERT(n > 0);
        len += n;
    }
    op_send(c, o, buf, len, CREP_STATS, out);
    free(buf);
}

static int stats_outstanding(const stats_job_t *s) {
    return s->outstanding[0] + s->outstanding[1] + s->outstanding[2] + (s->hello_wait != 0);
}

/* A stats job whose chains all ended: answered, released, and its parked transfers go
 * back to the head of the queue. */
static void coord_stats_check(coord_t *c, uint64_t now_us, int job, outbox_t *out) {
    stats_job_t *s = &c->sjobs[job];
    if (stats_outstanding(s) > 0) return;
    for (int be = 0; be < BACKEND_COUNT; be++) { /* once per backend that answered all */
        if ((s->active_mask & (1u << be)) && !(s->failed_mask & (1u << be)))
            outbox_line(out, FX_STDOUT, MSG_M_RECV_TXS, backend_letter(be), c->cfg.backend_port[be]);
    }
    int i = s->op;
    coord_stats_finish(c, s, out);
    op_release(c, i);
    stats_job_release(c, s);
    for (int n = 0; n < c->parked.len; n++) {
        const op_t *o = &c->ops[c->parked.idx[(c->parked.head + n) % OPS_MAX]];
        conn_t *k = o->conn_open ? conn_find(c, o->conn_id) : NULL;
        if (k != NULL) k->parked = 0;
    }
    opq_prepend_all(&c->queue, &c->parked);
    coord_schedule(c, now_us, out);
}

static void coord_stats_reply(coord_t *c, uint64_t now_us, const out_t *e, const wire_reply_t *rep,
                              outbox_t *out) {
    int be = e->backend;
    int job = e->stats_job;
    stats_job_t *s = &c->sjobs[job];
    AC_ASSERT(s->used);
    AC_ASSERT(s->outstanding[be] == 1);
    for (int k = 0; k < rep->u.stats.count && !s->overflow; k++) {
        if (stats_merge(s, &rep->u.stats.rows[k]) != 0) s->overflow = 1;
    }
    s->cursor[be] = rep->u.stats.next_cursor;
    s->outstanding[be]--;
    if (rep->u.stats.done || rep->u.stats.count == 0) {
        s->done_mask |= (uint8_t)(1u << be);
    } else {
        stats_ask(c, now_us, job, be, out);
    }
    coord_stats_check(c, now_us, job, out);
}


/* A stats job's hello answered (ok) or missed its deadline (the backend is unavailable). */
static void coord_stats_hello(coord_t *c, uint64_t now_us, const out_t *e, const wire_reply_t *rep,
                              outbox_t *out) {
    stats_job_t *s = &c->sjobs[e->stats_job];
    uint8_t bit = (uint8_t)(1u << e->backend);
    AC_ASSERT(s->used);
    AC_ASSERT(s->hello_wait & bit);
    s->hello_wait &= (uint8_t)~bit;
    if (rep != NULL) {
        s->hello_mask |= bit;
        s->largest[e->backend] = rep->u.query.max_serial;
        s->count[e->backend] = rep->u.query.tx_count;
    } else {
        s->failed_mask |= bit;
    }
    coord_stats_check(c, now_us, e->stats_job, out);
}

void stats_on_reply(coord_t *c, uint64_t now_us, int ei, const wire_reply_t *rep, outbox_t *out) {
    out_t e = out_take(c, ei); /* first: the next page may take its slot */
    if (e.type == WIRE_QUERY) {
        coord_stats_hello(c, now_us, &e, rep, out);
        return;
    }
    AC_ASSERT(e.type == WIRE_STATS);
    coord_stats_reply(c, now_us, &e, rep, out);
}

void stats_on_expire(coord_t *c, uint64_t now_us, int ei, outbox_t *out) {
    out_t e = out_take(c, ei);
    if (e.type == WIRE_QUERY) {
        coord_stats_hello(c, now_us, &e, NULL, out);
        return;
    }
    stats_job_t *s = &c->sjobs[e.stats_job];
    AC_ASSERT(s->used);
    AC_ASSERT(s->outstanding[e.backend] == 1);
    s->failed_mask |= (uint8_t)(1u << e.backend);
    s->outstanding[e.backend]--;
    coord_stats_check(c, now_us, e.stats_job, out);
}

uint8_t *stats_stale_mask(coord_t *c, const out_t *e) { return &c->sjobs[e->stats_job].stale_mask; }

/* ---- the TXLIST job ---------------------------------------------------------------- */

static void txjob_release(txjob_t *t) {
    free(t->chunk);
    free(t->q);
    memset(t, 0, offsetof(txjob_t, ops));
}

/* Backend be's ring: its k-th unmerged transaction (0 = the oldest). */
static tx_t *txjob_queued(txjob_t *t, int be, uint32_t k) {
    AC_ASSERT(k < TXJ_QUEUE_TXS);
    return &t->q[(size_t)be * TXJ_QUEUE_TXS + (t->q_head[be] + k) % TXJ_QUEUE_TXS];
}

void coord_jobs_free(coord_t *c) {
    for (int j = 0; j < STATS_JOBS_MAX; j++) {
        if (c->sjobs[j].used) stats_job_release(c, &c->sjobs[j]);
    }
    txjob_release(&c->txjob);
}

/* One request (a hello, then LIST windows) to backend be at a time. Returns 1 when it
 * went out. */
static int txjob_send(coord_t *c, uint64_t now_us, int be, wire_req_t *req, outbox_t *out) {
    txjob_t *t = &c->txjob;
    AC_ASSERT(t->phase == TXJ_HELLO || t->phase == TXJ_PAGES);
    AC_ASSERT(t->outstanding[be] == 0);
    if (ALWAYS(out_send(c, now_us, be, OWN_TXLIST, req, out) >= 0)) {
        note_sent(&t->active_mask, be, out);
        t->outstanding[be]++;
        return 1;
    }
    return 0;
}

/* The LIST of backend be's window: `pages` pages from its cursor. */
static void txjob_list_req(const txjob_t *t, int be, uint8_t pages, wire_req_t *req) {
    wire_req_clear(req, WIRE_LIST);
    req->type = WIRE_LIST;
    req->u.list.cursor = t->cursor[be];
    req->u.list.max = LIST_PAGE_TXS;
    req->u.list.pages = pages;
}

/* Asks backend be for its next window of TXJ_WINDOW_PAGES pages, once its ring has room
 * for all of them: the pages in flight never exceed the ring's free space, so serverM
 * holds at most TXJ_QUEUE_TXS transactions of a backend however fast it answers. */
static void txjob_list_ask(coord_t *c, uint64_t now_us, int be, outbox_t *out) {
    txjob_t *t = &c->txjob;
    if (t->outstanding[be] > 0 || (t->done_mask & (1u << be)) || t->failed_mask != 0 || t->broken ||
        t->q_len[be] > TXJ_QUEUE_TXS - TXJ_WINDOW_PAGES * LIST_PAGE_TXS)
        return;
    wire_req_t req;
    txjob_list_req(t, be, TXJ_WINDOW_PAGES, &req);
    if (txjob_send(c, now_us, be, &req, out)) t->window_left[be] = TXJ_WINDOW_PAGES;
}

static void coord_txlist_check(coord_t *c, uint64_t now_us, outbox_t *out);

/* Starts the TXLIST job for every waiting TXLIST: a hello to each backend. */
void coord_txlist_start(coord_t *c, uint64_t now_us, outbox_t *out) {
    txjob_t *t = &c->txjob;
    if (t->phase != TXJ_IDLE || c->txq.len == 0) return;
    txjob_release(t);
    t->q = malloc(sizeof(tx_t) * BACKEND_COUNT * TXJ_QUEUE_TXS);
    while (c->txq.len > 0 && t->op_count < BATCH_OPS_MAX) {
        int i = opq_pop(&c->txq);
        c->ops[i].state = OP_BATCH;
        t->ops[t->op_count++] = i;
    }
    t->phase = TXJ_HELLO;
    serials_merge_init(&t->merge);
    if (t->q == NULL) { /* answered at once: nothing asked */
        t->broken = 1;
        t->broken_text = "out of memory";
        coord_txlist_check(c, now_us, out);
        return;
    }
    for (int be = 0; be < BACKEND_COUNT; be++) {
        wire_req_t hello;
        wire_req_clear(&hello, WIRE_QUERY); /* no names */
        hello.type = WIRE_QUERY;
        txjob_send(c, now_us, be, &hello, out);
    }
}

static void file_push(outbox_t *out, uint64_t token, const char *data, size_t len, uint64_t arg) {
    fx_t *f = outbox_push(out, FX_FILE_WRITE, 0, token, data, len);
    if (f != NULL) f->arg = arg; /* else out->failed: the driver treats it as a crash */
}

/* Hands the chunk to the driver: FX_FILE_MORE while lines follow, else the last one. */
static void txjob_flush(coord_t *c, int last, outbox_t *out) {
    txjob_t *t = &c->txjob;
    AC_ASSERT(t->chunk_len <= FILE_CHUNK_BYTES);
    if (t->file_token == 0) t->file_token = c->next_token++;
    file_push(out, t->file_token, t->chunk, t->chunk_len, last ? 0 : FX_FILE_MORE);
    t->file_open = !last;
    t->chunk_len = 0;
}

/* Writes the lines every backend's stream allows, in serial order. Returns 1 when every
 * stream has ended (the listing is complete). */
static int txjob_merge(coord_t *c, outbox_t *out) {
    txjob_t *t = &c->txjob;
    for (;;) {
        int best = -1;
        for (int be = 0; be < BACKEND_COUNT; be++) {
            if (t->q_len[be] == 0) {
                if (t->done_mask & (1u << be)) continue; /* ended */
                return 0; /* its next page decides what comes first */
            }
            const tx_t *x = txjob_queued(t, be, 0);
            if (best < 0 || x->serial < txjob_queued(t, best, 0)->serial) best = be;
        }
        if (best < 0) return 1;
        const tx_t *x = txjob_queued(t, best, 0);
        uint64_t gap_first, gap_last;
        serials_dup_t dup;
        int rc = serials_merge_next(&t->merge, x->serial, best, &gap_first, &gap_last, &dup);
        /* every stream ascends and each had its head here: the listing ascends */
        AC_ASSERT(rc != AC_EINVAL);
        if (rc == AC_EDUP) { /* only hand-edited blocks do this: no ledger is written with it */
            coord_dup_report(&dup, t->dup_text, sizeof(t->dup_text), out);
            t->broken = 1;
            t->broken_text = t->dup_text;
            return 1;
        }
        AC_ASSERT(x->serial > t->merged_last);
        AC_ASSERT(x->serial <= t->snapshot || MUTANT(MUT_TXLIST_NO_SNAPSHOT));
        t->merged_last = x->serial;
        if (t->chunk_len + TX_LINE_BYTES_MAX > FILE_CHUNK_BYTES) txjob_flush(c, 0, out); /* <= 1 MiB */
        if (t->chunk_cap < t->chunk_len + TX_LINE_BYTES_MAX && /* grows a few times a job */
            grow_array(&t->chunk, &t->chunk_cap, t->chunk_len + TX_LINE_BYTES_MAX, 1) != AC_OK) {
            t->broken = 1;
            t->broken_text = "out of memory";
            return 1;
        }
        size_t n = tx_format(x, t->chunk + t->chunk_len, TX_LINE_BYTES_MAX);
        AC_ASSERT(n > 0);
        t->chunk_len += n;
        t->line_count++;
        t->q_head[best] = (t->q_head[best] + 1) % TXJ_QUEUE_TXS;
        t->q_len[best]--;
    }
}

static int txjob_outstanding(const txjob_t *t) {
    return t->outstanding[0] + t->outstanding[1] + t->outstanding[2];
}

/* Every TXLIST of the job gets this reply; then the job ends and the next may start. */
static void txjob_end(coord_t *c, uint64_t now_us, crep_kind_t kind, const char *text, outbox_t *out) {
    txjob_t *t = &c->txjob;
    for (int k = 0; k < t->op_count; k++) {
        op_t *o = &c->ops[t->ops[k]];
        if (kind == CREP_TXLIST) {
            wire_crep_t rep;
            memset(&rep, 0, sizeof(rep));
            rep.kind = CREP_TXLIST;
            rep.count = t->line_count;
            snprintf(rep.text, sizeof(rep.text), "%s", c->txlist_path);
            op_reply(c, o, &rep, out);
        } else {
            op_reply_kind(c, o, kind, text, t->stale_mask, out);
        }
        op_release(c, t->ops[k]);
    }
    txjob_release(t);
    coord_schedule(c, now_us, out);
}

/* Moves the job on after a reply or a missed deadline. */
static void coord_txlist_check(coord_t *c, uint64_t now_us, outbox_t *out) {
    txjob_t *t = &c->txjob;
    if (t->phase == TXJ_FILE) return;
    if (t->failed_mask != 0 || t->broken) {
        if (txjob_outstanding(t) > 0) return; /* the other chains end first */
        if (t->file_open) {
            file_push(out, t->file_token, NULL, 0, FX_FILE_ABORT);
            t->file_open = 0;
        }
        char letters[BACKEND_COUNT + 1];
        mask_letters(t->failed_mask, letters);
        if (t->failed_mask != 0) txjob_end(c, now_us, CREP_UNAVAILABLE, letters, out);
        else txjob_end(c, now_us, CREP_INTERNAL, t->broken_text, out);
        return;
    }
    if (t->phase == TXJ_HELLO) {
        if (txjob_outstanding(t) > 0) return;
        /* two backends with one largest serial: named before any page; a duplicate only
         * the counts prove is left to the merge, which names it */
        serials_dup_t dup;
        if (serials_check_maxima(t->largest, t->count, BACKEND_COUNT, (1u << BACKEND_COUNT) - 1, &dup) == AC_EDUP &&
            dup.serial != SERIALS_UNNAMED) {
            coord_dup_report(&dup, t->dup_text, sizeof(t->dup_text), out);
            t->broken = 1;
            t->broken_text = t->dup_text;
            coord_txlist_check(c, now_us, out);
            return;
        }
        t->phase = TXJ_PAGES;
        for (int be = 0; be < BACKEND_COUNT; be++) txjob_list_ask(c, now_us, be, out);
        return;
    }
    if (!txjob_merge(c, out)) {
        for (int be = 0; be < BACKEND_COUNT; be++) txjob_list_ask(c, now_us, be, out);
        return;
    }
    if (t->broken) {
        coord_txlist_check(c, now_us, out);
        return;
    }
    AC_ASSERT(txjob_outstanding(t) == 0);
    for (int be = 0; be < BACKEND_COUNT; be++)
        outbox_line(out, FX_STDOUT, MSG_M_RECV_TXS, backend_letter(be), c->cfg.backend_port[be]);
    t->phase = TXJ_FILE;
    txjob_flush(c, 1, out); /* coord_on_file_written continues */
}

static void coord_txlist_hello(coord_t *c, uint64_t now_us, const out_t *e, const wire_reply_t *rep,
                               outbox_t *out) {
    txjob_t *t = &c->txjob;
    AC_ASSERT(t->phase == TXJ_HELLO);
    AC_ASSERT(t->outstanding[e->backend] == 1);
    if (rep->u.query.max_serial > t->snapshot) t->snapshot = rep->u.query.max_serial;
    t->largest[e->backend] = rep->u.query.max_serial;
    t->count[e->backend] = rep->u.query.tx_count;
    t->outstanding[e->backend]--;
    coord_txlist_check(c, now_us, out);
}

/* Takes one page of backend be's window into its ring. Returns 1 when the backend's chain
 * has ended (its last transaction, or one past the snapshot), else 0; a serial that does
 * not ascend breaks the job. */
static int txjob_take_page(coord_t *c, int be, const wire_reply_t *rep, outbox_t *out) {
    txjob_t *t = &c->txjob;
    for (int k = 0; k < rep->u.list.count; k++) {
        const tx_t *x = &rep->u.list.txs[k];
        if (x->serial <= t->last_serial[be]) {
            outbox_line(out, FX_STDERR, "server %c listed serial %llu after %llu", backend_letter(be),
                        (unsigned long long)x->serial, (unsigned long long)t->last_serial[be]);
            t->broken = 1;
            t->broken_text = "a server listed its transactions out of order";
            return 1;
        }
        t->last_serial[be] = x->serial;
        if (x->serial > t->snapshot && !MUTANT(MUT_TXLIST_NO_SNAPSHOT))
            return 1; /* written after the listing's moment: the end */
        /* the window asked no more pages than the ring had room for (txjob_list_ask) */
        AC_ASSERT(t->q_len[be] < TXJ_QUEUE_TXS);
        t->q_len[be]++;
        *txjob_queued(t, be, t->q_len[be] - 1) = *x;
    }
    t->cursor[be] = rep->u.list.next_cursor;
    return rep->u.list.done || rep->u.list.count == 0;
}

/* One page of backend be's LIST window (entry ei, still in the table). Pages are taken in
 * order only: a page that does not start at the backend's cursor (one before it was lost, or
 * comes later: reordered; or a copy of a page taken already) is dropped, and the window's
 * retransmission re-asks from the cursor. The entry goes when the window has sent its
 * last page or the chain ended; until then it asks only the pages still owed. */
static void coord_list_page(coord_t *c, uint64_t now_us, int ei, const wire_reply_t *rep,
                            outbox_t *out) {
    txjob_t *t = &c->txjob;
    int be = c->out[ei].backend;
    AC_ASSERT(t->phase == TXJ_PAGES);
    AC_ASSERT(t->outstanding[be] == 1);
    AC_ASSERT(t->window_left[be] > 0);
    if (t->failed_mask != 0 || t->broken) { /* the job fails: the window is not needed */
        out_release(c, ei);
        t->outstanding[be]--;
        coord_txlist_check(c, now_us, out);
        return;
    }
    if (rep->u.list.cursor != t->cursor[be] && !MUTANT(MUT_TXLIST_PAGE_ORDER)) {
        c->stats.pages_unordered++;
        c->stats.datagrams_dropped++;
        return;
    }
    int ended = txjob_take_page(c, be, rep, out);
    if (ended) t->done_mask |= (uint8_t)(1u << be);
    if (--t->window_left[be] == 0 || ended) {
        out_release(c, ei);
        t->outstanding[be]--;
    } else {
        wire_req_t req;
        txjob_list_req(t, be, t->window_left[be], &req);
        out_renew(c, now_us, ei, &req);
    }
    coord_txlist_check(c, now_us, out);
}

void coord_on_file_written(coord_t *c, uint64_t now_us, uint64_t token, int ok, outbox_t *out) {
    txjob_t *t = &c->txjob;
    if (NEVER(token == 0 || t->phase != TXJ_FILE || token != t->file_token)) return;
    if (ok) {
        outbox_line(out, FX_STDOUT, MSG_M_WROTE_TXLIST, c->txlist_path);
        txjob_end(c, now_us, CREP_TXLIST, NULL, out);
    } else {
        txjob_end(c, now_us, CREP_INTERNAL, "could not write the sorted list", out);
    }
}

/* ---- the TXLIST job as an owner of out entries (out_owners) ----------------------- */

void txlist_on_reply(coord_t *c, uint64_t now_us, int ei, const wire_reply_t *rep, outbox_t *out) {
    if (c->out[ei].type == WIRE_LIST) { /* a window: the entry stays until its last page */
        coord_list_page(c, now_us, ei, rep, out);
        return;
    }
    out_t e = out_take(c, ei);
    AC_ASSERT(e.type == WIRE_QUERY);
    coord_txlist_hello(c, now_us, &e, rep, out);
}

void txlist_on_expire(coord_t *c, uint64_t now_us, int ei, outbox_t *out) {
    out_t e = out_take(c, ei);
    txjob_t *t = &c->txjob;
    AC_ASSERT(t->phase == TXJ_HELLO || t->phase == TXJ_PAGES);
    AC_ASSERT(t->outstanding[e.backend] == 1);
    t->failed_mask |= (uint8_t)(1u << e.backend);
    t->outstanding[e.backend]--;
    t->window_left[e.backend] = 0;
    coord_txlist_check(c, now_us, out);
}

uint8_t *txlist_stale_mask(coord_t *c, const out_t *e) {
    (void)e;
    return &c->txjob.stale_mask;
}
