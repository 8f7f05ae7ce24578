/* link.c — the simulated network. UDP between serverM and the backends: per-direction
 * latency ranges, loss, duplication, reordering (a held-back datagram), partitions checked
 * at send and at arrival, and the 1200-byte datagram limit. TCP between clients and
 * serverM: an ordered byte stream per direction cut into random segment sizes, delivered
 * in order (only the head segment is ever scheduled), stalled (not lost) across a
 * partition, closed with a FIN after the queued bytes, or reset by a fault. It works on a
 * link_t (link.h): its own tables plus what it needs from the world, never world_t. */
#include "link.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "judge/excuse.h"
#include "scenario/tcp_fate.h"
#include "scenario/udp_fate.h"
#include "wire.h"

#define SLOTS_MAX (1u << 22)           /* datagrams in flight at once */
#define CONNS_MAX (1u << 22)           /* client connections in one run */
#define TCP_RETRY_US 200000            /* a stalled segment is retried (RTO) */
#define SYN_RETRY_US 1000000           /* a connect across a partition is retried */
#define LINK_TEXT_BYTES 256            /* one trace line's detail */
#define LINK_MSG_BYTES 200             /* one violation message */

void link_init(link_t *l, const link_hooks_t *hooks, prng_t *rng, const uint64_t *now_us,
               const sim_faults_t *faults, const uint8_t (*cut)[SIM_NODES],
               uint64_t *fault_counts, int *stop) {
    memset(l, 0, sizeof(*l));
    l->hooks = *hooks;
    l->rng = rng;
    l->now_us = now_us;
    l->faults = faults;
    l->cut = cut;
    l->fault_counts = fault_counts;
    l->stop = stop;
}

/* ------------------------------------------------------------------ the world's services */

static uint64_t now(const link_t *l) { return *l->now_us; }

/* Uniform in [lo, hi] from the run's PRNG (the same draw world.c and the relay make). */
static uint64_t rand_range(link_t *l, uint64_t lo, uint64_t hi) {
    return udp_fate_range(l->rng, lo, hi);
}

static void push(link_t *l, sim_event_t *e) { (void)l->hooks.push(l->hooks.ctx, e); }

static void count(link_t *l, sim_fault_id_t f) { l->fault_counts[f]++; }

static void violation(link_t *l, const char *checker, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void violation(link_t *l, const char *checker, const char *fmt, ...) {
    char msg[LINK_MSG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    l->hooks.violation(l->hooks.ctx, checker, msg);
}

/* A trace record; the detail text is formatted only when a readable trace is on. */
static void trace(link_t *l, int track, const char *what, const void *data, size_t len,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void trace(link_t *l, int track, const char *what, const void *data, size_t len,
                  const char *fmt, ...) {
    char text[LINK_TEXT_BYTES];
    text[0] = '\0'; /* not the whole array: the detail is formatted only for a trace file */
    if (l->hooks.trace_detail(l->hooks.ctx)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
    }
    l->hooks.trace(l->hooks.ctx, track, what, data, len, text);
}

/* ------------------------------------------------------------------ UDP */

/* A free payload slot, or UINT32_MAX (too many in flight, or out of memory). */
static uint32_t slot_alloc(link_t *l) {
    if (l->slot_free_count > 0) return l->slot_free[--l->slot_free_count];
    if (l->slot_count >= SLOTS_MAX) return UINT32_MAX;
    size_t need = (size_t)l->slot_count + 1; /* the free list can hold every slot */
    if (grow_array(&l->slots, &l->slot_cap, need, AUTH_DGRAM_BYTES_MAX) != AC_OK ||
        grow_array(&l->slot_free, &l->slot_free_cap, need, sizeof(uint32_t)) != AC_OK)
        return UINT32_MAX;
    return l->slot_count++;
}

const uint8_t *link_slot_bytes(const link_t *l, uint32_t slot) {
    AC_ASSERT(slot < l->slot_count);
    return l->slots[slot];
}

void link_slot_release(link_t *l, uint32_t slot) {
    AC_ASSERT(slot < l->slot_count);
    AC_ASSERT(l->slot_free_count < l->slot_free_cap);
    l->slot_free[l->slot_free_count++] = slot;
}

static const char *node_letter(int n) {
    static const char *const names[SIM_NODES] = {"M", "A", "B", "C", "clients"};
    return n >= 0 && n < SIM_NODES ? names[n] : "?";
}

/* "QUERY rid=7 inc=1" of a datagram (its wire message: the authentication trailer cut
 * off), for the text trace only. Decoded with heap scratch (a wire message is large); only
 * when a trace is written. */
static const char *dgram_describe(int src, const uint8_t *data, size_t len, char *buf, size_t cap) {
    if (len > AUTH_TRAILER_BYTES) len -= AUTH_TRAILER_BYTES;
    static const char *const types[] = {"?", "QUERY", "WRITE", "LIST", "STATS"};
    wire_req_t *req = malloc(sizeof(*req));
    wire_reply_t *rep = malloc(sizeof(*rep));
    if (req != NULL && src == SIM_NODE_M && wire_req_decode(data, len, req) == 0) {
        snprintf(buf, cap, "%s rid=%llu inc=%llu", types[req->type <= 4 ? req->type : 0],
                 (unsigned long long)req->request_id, (unsigned long long)req->incarnation);
    } else if (rep != NULL && src != SIM_NODE_M && wire_reply_decode(data, len, rep) == 0) {
        int t = rep->type & ~WIRE_REPLY;
        snprintf(buf, cap, "%s-REPLY rid=%llu inc=%llu status=%u", types[t >= 1 && t <= 4 ? t : 0],
                 (unsigned long long)rep->request_id, (unsigned long long)rep->incarnation,
                 rep->status);
    } else {
        snprintf(buf, cap, req == NULL || rep == NULL ? "?" : "undecodable");
    }
    free(req);
    free(rep);
    return buf;
}

void link_dgram_send(link_t *l, int src, int dst, const uint8_t *data, size_t len) {
    AC_ASSERT(src < SIM_SERVERS && dst < SIM_SERVERS);
    count(l, FAULT_DGRAMS);
    uint64_t id = ++l->msg_ids;
    char desc[96] = "";
    if (l->hooks.trace_detail(l->hooks.ctx)) dgram_describe(src, data, len, desc, sizeof(desc));
    trace(l, src, "send", data, len, "#%llu -> %s %zuB %s", (unsigned long long)id,
                node_letter(dst), len, desc);
    if (len > AUTH_DGRAM_BYTES_MAX) {
        violation(l, "datagram-size", "%s sent a datagram of %zu bytes to %s (limit %d)",
                        node_letter(src), len, node_letter(dst), AUTH_DGRAM_BYTES_MAX);
        return;
    }
    if (l->cut[src][dst]) {
        count(l, FAULT_CUT);
        l->hooks.touch(l->hooks.ctx, TOUCH_CUT, src, dst, now(l));
        trace(l, src, "cut", &id, sizeof(id), "#%llu dropped by a partition", (unsigned long long)id);
        return;
    }
    udp_fate_t fate; /* the distribution the real hosts' relay draws from too */
    udp_fate_draw(l->rng, &l->faults->udp[src][dst], &fate);
    if (fate.lost) {
        count(l, FAULT_LOST);
        /* loss within the calm bound is the protocol's to absorb: it touches nothing */
        if (l->faults->udp[src][dst].loss_ppm > EXCUSE_LOSS_CALM_PPM)
            l->hooks.touch(l->hooks.ctx, TOUCH_LOST, src, dst, now(l));
        trace(l, src, "lost", &id, sizeof(id), "#%llu lost", (unsigned long long)id);
        return;
    }
    if (fate.copies == 2) {
        count(l, FAULT_DUPLICATED);
        trace(l, src, "dup", &id, sizeof(id), "#%llu duplicated", (unsigned long long)id);
    }
    uint64_t seq = ++l->seq[src][dst];
    l->hooks.flow(l->hooks.ctx, src, id, "dgram", 0);
    for (int c = 0; c < fate.copies; c++) {
        uint64_t delay = fate.delay_us[c];
        if (delay > l->late_us) l->hooks.touch(l->hooks.ctx, TOUCH_LATE, src, dst, now(l) + delay);
        uint32_t slot = slot_alloc(l);
        if (slot == UINT32_MAX) {
            violation(l, "runaway", "too many datagrams in flight");
            *l->stop = 1;
            return;
        }
        memcpy(l->slots[slot], data, len);
        sim_event_t e = {.kind = EV_DGRAM, .at_us = now(l) + delay, .node = (uint8_t)dst,
                         .src = (uint8_t)src, .a = slot, .len = (uint32_t)len, .b = seq, .id = id};
        push(l, &e);
    }
}

int link_dgram_arrive(link_t *l, const sim_event_t *e) {
    int src = e->src, dst = e->node;
    if (l->cut[src][dst]) {
        count(l, FAULT_CUT);
        l->hooks.touch(l->hooks.ctx, TOUCH_CUT, src, dst, now(l));
        trace(l, dst, "cut", &e->id, sizeof(e->id), "#%llu from %s dropped by a partition",
                    (unsigned long long)e->id, node_letter(src));
        link_slot_release(l, e->a);
        return 0;
    }
    if (!l->hooks.node_up(l->hooks.ctx, dst)) {
        count(l, FAULT_TO_DOWN);
        trace(l, dst, "to-down", &e->id, sizeof(e->id), "#%llu from %s: the node is down",
                    (unsigned long long)e->id, node_letter(src));
        link_slot_release(l, e->a);
        return 0;
    }
    if (e->b < l->delivered[src][dst]) {
        count(l, FAULT_REORDERED);
    } else {
        l->delivered[src][dst] = e->b;
    }
    trace(l, dst, "recv", &e->id, sizeof(e->id), "#%llu from %s %uB", (unsigned long long)e->id,
                node_letter(src), e->len);
    return 1;
}

/* ------------------------------------------------------------------ TCP */

static sim_conn_t *conn_at(link_t *l, uint32_t conn) {
    AC_ASSERT(conn >= 1 && conn <= l->conn_count);
    return &l->conns[conn - 1];
}

sim_conn_t *link_conn(link_t *l, uint32_t conn) {
    return conn == 0 || conn > l->conn_count ? NULL : &l->conns[conn - 1];
}

uint32_t link_conn_new(link_t *l, uint32_t op) {
    if (l->conn_count >= CONNS_MAX) {
        violation(l, "runaway", "too many connections");
        return 0;
    }
    if (grow_array(&l->conns, &l->conn_cap, (size_t)l->conn_count + 1, sizeof(sim_conn_t)) != AC_OK) {
        violation(l, "runaway", "out of memory for connections");
        return 0;
    }
    sim_conn_t *c = &l->conns[l->conn_count++];
    memset(c, 0, sizeof(*c));
    c->op = op;
    c->state = CONN_CONNECTING;
    c->c_open = 1;
    return l->conn_count;
}

static int conn_track(const sim_conn_t *c, int dir) {
    return dir == DIR_TO_M ? SIM_NODE_M : TRACE_TRACK_OP0 + (int)c->op;
}

void link_connect(link_t *l, uint32_t conn) {
    const sim_tcp_t *t = &l->faults->tcp;
    sim_event_t e = {.kind = EV_CONNECT, .a = conn,
                     .at_us = now(l) + rand_range(l, t->delay_min_us, t->delay_max_us)};
    push(l, &e);
}

static void stream_schedule(link_t *l, uint32_t conn, int dir) {
    sim_conn_t *c = conn_at(l, conn);
    sim_stream_t *s = &c->dir[dir];
    if (s->scheduled || s->seg_count == 0) return;
    const sim_seg_t *head = &s->segs[s->seg_head];
    sim_event_t e = {.kind = EV_TCP, .a = conn, .flags = (uint8_t)dir, .id = head->id,
                     .at_us = head->at_us > now(l) ? head->at_us : now(l)};
    s->scheduled = 1;
    push(l, &e);
}

static int stream_push_seg(sim_stream_t *s, const sim_seg_t *seg) {
    if (s->seg_count == s->seg_cap) {
        uint32_t cap = s->seg_cap ? s->seg_cap * 2 : 8;
        sim_seg_t *n = malloc((size_t)cap * sizeof(*n));
        if (n == NULL) return AC_ENOMEM;
        for (uint32_t i = 0; i < s->seg_count; i++) n[i] = s->segs[(s->seg_head + i) % s->seg_cap];
        free(s->segs);
        s->segs = n;
        s->seg_head = 0;
        s->seg_cap = cap;
    }
    s->segs[(s->seg_head + s->seg_count) % s->seg_cap] = *seg;
    s->seg_count++;
    return 0;
}

static uint64_t stream_at(link_t *l, sim_stream_t *s) {
    const sim_tcp_t *t = &l->faults->tcp;
    uint64_t at = now(l) + tcp_fate_delay(l->rng, t); /* the proxy's draw too */
    if (at < s->last_at_us) at = s->last_at_us;
    if (at - now(l) > EXCUSE_TCP_CALM_DELAY_US) /* which direction: the hook needs no more */
        l->hooks.touch(l->hooks.ctx, TOUCH_STALLED, SIM_NODE_CLIENTS, SIM_NODE_M, at);
    s->last_at_us = at;
    return at;
}

void link_tcp_send(link_t *l, uint32_t conn, int dir, const uint8_t *data, size_t len) {
    sim_conn_t *c = conn_at(l, conn);
    sim_stream_t *s = &c->dir[dir];
    if (c->state == CONN_DEAD || s->fin_sent || len == 0) return;
    trace(l, dir == DIR_TO_M ? TRACE_TRACK_OP0 + (int)c->op : SIM_NODE_M, "tcp-send", data, len,
                "conn %u: %zuB \"%.*s\"", conn, len, (int)(len > 80 ? 80 : len), (const char *)data);
    if (s->head == s->len) s->head = s->len = 0; /* everything delivered: rewind */
    if (grow_array(&s->bytes, &s->cap, s->len + len, 1) != AC_OK) {
        violation(l, "runaway", "out of memory for a TCP stream");
        *l->stop = 1;
        return;
    }
    memcpy(s->bytes + s->len, data, len);
    s->len += len;
    const sim_tcp_t *t = &l->faults->tcp;
    size_t left = len;
    uint32_t segs = 0;
    while (left > 0) {
        size_t n = tcp_fate_size(l->rng, t, left); /* the size, then its delay (stream_at) */
        sim_seg_t seg = {.at_us = stream_at(l, s), .id = ++l->msg_ids, .len = (uint32_t)n};
        if (stream_push_seg(s, &seg) != 0) {
            *l->stop = 1;
            return;
        }
        l->hooks.flow(l->hooks.ctx, conn_track(c, !dir), seg.id, "tcp", 0);
        left -= n;
        segs++;
    }
    if (segs > 1) l->fault_counts[FAULT_SPLIT] += segs - 1;
    stream_schedule(l, conn, dir);
}

void link_tcp_fin(link_t *l, uint32_t conn, int dir) {
    sim_conn_t *c = conn_at(l, conn);
    sim_stream_t *s = &c->dir[dir];
    if (c->state == CONN_DEAD || s->fin_sent) return;
    s->fin_sent = 1;
    if (c->state == CONN_CONNECTING) return; /* never connected: nothing to close */
    sim_seg_t seg = {.at_us = stream_at(l, s), .id = ++l->msg_ids, .fin = 1};
    if (stream_push_seg(s, &seg) != 0) {
        *l->stop = 1;
        return;
    }
    stream_schedule(l, conn, dir);
}

static void stream_clear(sim_stream_t *s) {
    s->seg_count = 0;
    s->seg_head = 0;
    s->head = s->len = 0;
}

void link_tcp_reset(link_t *l, uint32_t conn, int notify_m, int notify_client) {
    sim_conn_t *c = conn_at(l, conn);
    if (c->state == CONN_DEAD) return;
    c->state = CONN_DEAD;
    count(l, FAULT_RESETS);
    stream_clear(&c->dir[0]);
    stream_clear(&c->dir[1]);
    l->hooks.op_disturb(l->hooks.ctx, c->op);
    trace(l, TRACE_TRACK_OP0 + (int)c->op, "reset", &conn, sizeof(conn), "conn %u reset", conn);
    const sim_tcp_t *t = &l->faults->tcp;
    if (notify_client && c->c_open) {
        sim_event_t e = {.kind = EV_RESET, .a = conn, .flags = DIR_TO_CLIENT,
                         .at_us = now(l) + rand_range(l, t->delay_min_us, t->delay_max_us)};
        push(l, &e);
    }
    if (notify_m && c->m_open) {
        sim_event_t e = {.kind = EV_RESET, .a = conn, .flags = DIR_TO_M, .epoch = c->m_epoch,
                         .at_us = now(l) + rand_range(l, t->delay_min_us, t->delay_max_us)};
        push(l, &e);
    }
}

static void on_connect(link_t *l, const sim_event_t *e) {
    sim_conn_t *c = conn_at(l, e->a);
    if (c->state != CONN_CONNECTING || !c->c_open) return; /* the client gave up */
    if (l->cut[SIM_NODE_CLIENTS][SIM_NODE_M] || l->cut[SIM_NODE_M][SIM_NODE_CLIENTS]) {
        count(l, FAULT_STALLED);
        int from = l->cut[SIM_NODE_CLIENTS][SIM_NODE_M] ? SIM_NODE_CLIENTS : SIM_NODE_M;
        l->hooks.touch(l->hooks.ctx, TOUCH_STALLED, from, from == SIM_NODE_M ? SIM_NODE_CLIENTS : SIM_NODE_M,
                       now(l) + SYN_RETRY_US);
        sim_event_t r = *e; /* the SYN (or its answer) is lost: the client's kernel retries */
        r.at_us = now(l) + SYN_RETRY_US;
        trace(l, TRACE_TRACK_OP0 + (int)c->op, "syn-cut", &e->a, sizeof(e->a),
                    "conn %u: SYN lost to a partition, retrying", e->a);
        push(l, &r);
        return;
    }
    const sim_tcp_t *t = &l->faults->tcp;
    uint64_t back = rand_range(l, t->delay_min_us, t->delay_max_us);
    if (!l->hooks.node_up(l->hooks.ctx, SIM_NODE_M)) {
        c->state = CONN_DEAD;
        trace(l, TRACE_TRACK_OP0 + (int)c->op, "refused", &e->a, sizeof(e->a),
                    "conn %u refused: serverM is down", e->a);
        sim_event_t r = {.kind = EV_CONNFAIL, .a = e->a, .at_us = now(l) + back};
        push(l, &r);
        return;
    }
    c->state = CONN_OPEN;
    c->m_epoch = l->hooks.node_epoch(l->hooks.ctx, SIM_NODE_M);
    sim_event_t acc = {.kind = EV_ACCEPT, .a = e->a, .at_us = now(l), .epoch = c->m_epoch};
    push(l, &acc);
    sim_event_t ok = {.kind = EV_CONNECTED, .a = e->a, .at_us = now(l) + back};
    push(l, &ok);
}

static void on_tcp(link_t *l, const sim_event_t *e) {
    uint32_t conn = e->a;
    int dir = e->flags;
    sim_conn_t *c = conn_at(l, conn);
    sim_stream_t *s = &c->dir[dir];
    if (c->state == CONN_DEAD) {
        s->scheduled = 0;
        return;
    }
    int dst = dir == DIR_TO_M ? SIM_NODE_M : SIM_NODE_CLIENTS;
    int src = dir == DIR_TO_M ? SIM_NODE_CLIENTS : SIM_NODE_M;
    if (l->cut[src][dst]) { /* stalled: the sender's TCP retransmits until the link heals */
        count(l, FAULT_STALLED);
        l->hooks.touch(l->hooks.ctx, TOUCH_STALLED, src, dst, now(l) + TCP_RETRY_US);
        sim_event_t r = *e;
        r.at_us = now(l) + TCP_RETRY_US;
        push(l, &r);
        return;
    }
    if (dir == DIR_TO_M && !l->hooks.gate(l->hooks.ctx, SIM_NODE_M, e)) return;
    AC_ASSERT(s->seg_count > 0);
    sim_seg_t seg = s->segs[s->seg_head];
    if (!seg.fin && tcp_fate_reset(l->rng, &l->faults->tcp)) {
        s->scheduled = 0;
        link_tcp_reset(l, conn, 1, 1);
        return;
    }
    s->seg_head = (s->seg_head + 1) % s->seg_cap;
    s->seg_count--;
    s->scheduled = 0;
    /* a stream that never carried a byte (a FIN alone) has no buffer: no offset from NULL */
    const uint8_t *bytes = s->bytes != NULL ? s->bytes + s->head : (const uint8_t *)"";
    s->head += seg.len;
    stream_schedule(l, conn, dir);
    int track = conn_track(c, dir);
    if (seg.fin) {
        trace(l, track, "fin", &conn, sizeof(conn), "conn %u: closed by the peer", conn);
        if (dir == DIR_TO_M) l->hooks.m_conn_eof(l->hooks.ctx, conn); /* a half-close: the core decides */
        else if (c->c_open) l->hooks.client_closed(l->hooks.ctx, c->op);
        return;
    }
    l->hooks.flow(l->hooks.ctx, track, seg.id, "tcp", 1);
    trace(l, track, "tcp-recv", &seg.len, sizeof(seg.len), "conn %u: %uB", conn, seg.len);
    if (dir == DIR_TO_M) {
        if (c->m_open) l->hooks.m_conn_data(l->hooks.ctx, conn, bytes, seg.len);
    } else if (c->c_open) {
        l->hooks.client_data(l->hooks.ctx, c->op, bytes, seg.len);
    }
}

void link_on_event(link_t *l, const sim_event_t *e) {
    sim_conn_t *c;
    switch (e->kind) {
    case EV_CONNECT:
        on_connect(l, e);
        break;
    case EV_ACCEPT:
        c = conn_at(l, e->a);
        if (c->state != CONN_OPEN || !l->hooks.node_up(l->hooks.ctx, SIM_NODE_M) || e->epoch != l->hooks.node_epoch(l->hooks.ctx, SIM_NODE_M))
            return;
        if (!l->hooks.gate(l->hooks.ctx, SIM_NODE_M, e)) return;
        c->accepted = 1;
        trace(l, SIM_NODE_M, "accept", &e->a, sizeof(e->a), "conn %u accepted", e->a);
        l->hooks.m_conn_open(l->hooks.ctx, e->a);
        break;
    case EV_CONNECTED:
        c = conn_at(l, e->a);
        if (!c->c_open) return;
        trace(l, TRACE_TRACK_OP0 + (int)c->op, "connected", &e->a, sizeof(e->a), "conn %u", e->a);
        l->hooks.client_connected(l->hooks.ctx, c->op);
        break;
    case EV_CONNFAIL:
        c = conn_at(l, e->a);
        l->hooks.client_connect_failed(l->hooks.ctx, c->op);
        break;
    case EV_RESET:
        c = conn_at(l, e->a);
        if (e->flags == DIR_TO_CLIENT) {
            if (c->c_open) l->hooks.client_closed(l->hooks.ctx, c->op);
            return;
        }
        if (!l->hooks.node_up(l->hooks.ctx, SIM_NODE_M) || e->epoch != l->hooks.node_epoch(l->hooks.ctx, SIM_NODE_M)) return;
        if (!l->hooks.gate(l->hooks.ctx, SIM_NODE_M, e)) return;
        l->hooks.m_conn_reset(l->hooks.ctx, e->a);
        break;
    case EV_TCP:
        on_tcp(l, e);
        break;
    default:
        AC_ASSERT(0);
        break;
    }
}

static void conn_release(sim_conn_t *c) {
    for (int d = 0; d < 2; d++) {
        free(c->dir[d].bytes);
        c->dir[d].bytes = NULL;
        c->dir[d].len = c->dir[d].cap = c->dir[d].head = 0;
        free(c->dir[d].segs);
        c->dir[d].segs = NULL;
        c->dir[d].seg_cap = c->dir[d].seg_count = 0;
    }
}

void link_free(link_t *l) {
    for (uint32_t i = 0; i < l->conn_count; i++) conn_release(&l->conns[i]);
    free(l->conns);
    free(l->slots);
    free(l->slot_free);
    l->conns = NULL;
    l->slots = NULL;
    l->slot_free = NULL;
}
