/* link.c — the simulated network. UDP between serverM and the backends: per-direction
 * latency ranges, loss, duplication, reordering (a held-back datagram), partitions checked
 * at send and at arrival, and the 1200-byte datagram limit. TCP between clients and
 * serverM: an ordered byte stream per direction cut into random segment sizes, delivered
 * in order (only the head segment is ever scheduled), stalled (not lost) across a
 * partition, closed with a FIN after the queued bytes, or reset by a fault. */
#include <stdlib.h>
#include <string.h>

#include "world.h"

#define SLOTS_MAX (1u << 22)           /* datagrams in flight at once */
#define CONNS_MAX (1u << 22)           /* client connections in one run */
#define TCP_RETRY_US 200000            /* a stalled segment is retried (RTO) */
#define SYN_RETRY_US 1000000           /* a connect across a partition is retried */
#define REORDER_EXTRA_US_MIN 1000      /* a held-back datagram waits up to 2 x max + 1 ms */

/* ------------------------------------------------------------------ UDP */

static uint32_t slot_alloc(world_t *w) {
    if (w->slot_free_count > 0) return w->slot_free[--w->slot_free_count];
    if (w->slot_count == w->slot_cap) {
        if (w->slot_cap >= SLOTS_MAX) return UINT32_MAX;
        uint32_t cap = w->slot_cap ? w->slot_cap * 2 : 256;
        uint8_t(*s)[DGRAM_BYTES_MAX] = realloc(w->slots, (size_t)cap * DGRAM_BYTES_MAX);
        if (s == NULL) return UINT32_MAX;
        w->slots = s;
        uint32_t *f = realloc(w->slot_free, (size_t)cap * sizeof(uint32_t));
        if (f == NULL) return UINT32_MAX;
        w->slot_free = f;
        w->slot_cap = cap;
    }
    return w->slot_count++;
}

void link_slot_release(world_t *w, uint32_t slot) {
    AC_ASSERT(slot < w->slot_count);
    AC_ASSERT(w->slot_free_count < w->slot_cap);
    w->slot_free[w->slot_free_count++] = slot;
}

static const char *node_letter(int n) {
    static const char *const names[SIM_NODES] = {"M", "A", "B", "C", "clients"};
    return n >= 0 && n < SIM_NODES ? names[n] : "?";
}

/* "QUERY rid=7 inc=1" of a datagram, for the text trace only. */
static const char *dgram_describe(int src, const uint8_t *data, size_t len, char *buf, size_t cap) {
    static wire_req_t req;
    static wire_reply_t rep;
    static const char *const types[] = {"?", "QUERY", "WRITE", "LIST", "STATS"};
    if (src == SIM_NODE_M && wire_req_decode(data, len, &req) == 0) {
        snprintf(buf, cap, "%s rid=%llu inc=%llu", types[req.type <= 4 ? req.type : 0],
                 (unsigned long long)req.request_id, (unsigned long long)req.incarnation);
    } else if (src != SIM_NODE_M && wire_reply_decode(data, len, &rep) == 0) {
        int t = rep.type & ~WIRE_REPLY;
        snprintf(buf, cap, "%s-REPLY rid=%llu inc=%llu status=%u", types[t >= 1 && t <= 4 ? t : 0],
                 (unsigned long long)rep.request_id, (unsigned long long)rep.incarnation, rep.status);
    } else {
        snprintf(buf, cap, "undecodable");
    }
    return buf;
}

void link_dgram_send(world_t *w, int src, int dst, const uint8_t *data, size_t len) {
    AC_ASSERT(src < SIM_SERVERS && dst < SIM_SERVERS);
    w->res->faults[FAULT_DGRAMS]++;
    uint64_t id = ++w->msg_ids;
    char desc[96] = "";
    if (w->trace.text || w->trace.json) dgram_describe(src, data, len, desc, sizeof(desc));
    trace_event(w, src, "send", data, len, "#%llu -> %s %zuB %s", (unsigned long long)id,
                node_letter(dst), len, desc);
    if (len > DGRAM_BYTES_MAX) {
        world_violation(w, "datagram-size", "%s sent a datagram of %zu bytes to %s (limit %d)",
                        node_letter(src), len, node_letter(dst), DGRAM_BYTES_MAX);
        return;
    }
    if (w->cut[src][dst]) {
        w->res->faults[FAULT_CUT]++;
        trace_event(w, src, "cut", &id, sizeof(id), "#%llu dropped by a partition", (unsigned long long)id);
        return;
    }
    const sim_udp_t *u = &w->faults.udp[src][dst];
    if (u->loss_ppm && prng_chance_ppm(&w->rng, u->loss_ppm)) {
        w->res->faults[FAULT_LOST]++;
        trace_event(w, src, "lost", &id, sizeof(id), "#%llu lost", (unsigned long long)id);
        return;
    }
    int copies = 1;
    if (u->dup_ppm && prng_chance_ppm(&w->rng, u->dup_ppm)) {
        copies = 2;
        w->res->faults[FAULT_DUPLICATED]++;
        trace_event(w, src, "dup", &id, sizeof(id), "#%llu duplicated", (unsigned long long)id);
    }
    uint64_t seq = ++w->link_seq[src][dst];
    trace_flow_send(w, src, id, "dgram");
    for (int c = 0; c < copies; c++) {
        uint64_t delay = world_rand_range(w, u->delay_min_us, u->delay_max_us);
        if (u->reorder_ppm && prng_chance_ppm(&w->rng, u->reorder_ppm))
            delay += world_rand_range(w, 0, 2 * u->delay_max_us + REORDER_EXTRA_US_MIN);
        uint32_t slot = slot_alloc(w);
        if (slot == UINT32_MAX) {
            world_violation(w, "runaway", "too many datagrams in flight");
            w->stop = 1;
            return;
        }
        memcpy(w->slots[slot], data, len);
        sim_event_t e = {.kind = EV_DGRAM, .at_us = w->now_us + delay, .node = (uint8_t)dst,
                         .src = (uint8_t)src, .a = slot, .len = (uint32_t)len, .b = seq, .id = id};
        world_push(w, &e);
    }
}

int link_dgram_arrive(world_t *w, const sim_event_t *e) {
    int src = e->src, dst = e->node;
    if (w->cut[src][dst]) {
        w->res->faults[FAULT_CUT]++;
        trace_event(w, dst, "cut", &e->id, sizeof(e->id), "#%llu from %s dropped by a partition",
                    (unsigned long long)e->id, node_letter(src));
        link_slot_release(w, e->a);
        return 0;
    }
    if (!w->node[dst].up) {
        w->res->faults[FAULT_TO_DOWN]++;
        trace_event(w, dst, "to-down", &e->id, sizeof(e->id), "#%llu from %s: the node is down",
                    (unsigned long long)e->id, node_letter(src));
        link_slot_release(w, e->a);
        return 0;
    }
    if (e->b < w->link_delivered[src][dst]) {
        w->res->faults[FAULT_REORDERED]++;
    } else {
        w->link_delivered[src][dst] = e->b;
    }
    trace_event(w, dst, "recv", &e->id, sizeof(e->id), "#%llu from %s %uB", (unsigned long long)e->id,
                node_letter(src), e->len);
    return 1;
}

/* ------------------------------------------------------------------ TCP */

static sim_conn_t *conn_at(world_t *w, uint32_t conn) {
    AC_ASSERT(conn >= 1 && conn <= w->conn_count);
    return &w->conns[conn - 1];
}

uint32_t link_conn_new(world_t *w, uint32_t op) {
    if (w->conn_count == w->conn_cap) {
        if (w->conn_cap >= CONNS_MAX) {
            world_violation(w, "runaway", "too many connections");
            return 0;
        }
        uint32_t cap = w->conn_cap ? w->conn_cap * 2 : 64;
        sim_conn_t *c = realloc(w->conns, (size_t)cap * sizeof(*c));
        if (c == NULL) {
            world_violation(w, "runaway", "out of memory for connections");
            return 0;
        }
        w->conns = c;
        w->conn_cap = cap;
    }
    sim_conn_t *c = &w->conns[w->conn_count++];
    memset(c, 0, sizeof(*c));
    c->op = op;
    c->state = CONN_CONNECTING;
    c->c_open = 1;
    return w->conn_count;
}

static int conn_track(const world_t *w, const sim_conn_t *c, int dir) {
    (void)w;
    return dir == DIR_TO_M ? SIM_NODE_M : TRACE_TRACK_OP0 + (int)c->op;
}

void link_connect(world_t *w, uint32_t conn) {
    const sim_tcp_t *t = &w->faults.tcp;
    sim_event_t e = {.kind = EV_CONNECT, .a = conn,
                     .at_us = w->now_us + world_rand_range(w, t->delay_min_us, t->delay_max_us)};
    world_push(w, &e);
}

static void stream_schedule(world_t *w, uint32_t conn, int dir) {
    sim_conn_t *c = conn_at(w, conn);
    sim_stream_t *s = &c->dir[dir];
    if (s->scheduled || s->seg_count == 0) return;
    const sim_seg_t *head = &s->segs[s->seg_head];
    sim_event_t e = {.kind = EV_TCP, .a = conn, .flags = (uint8_t)dir, .id = head->id,
                     .at_us = head->at_us > w->now_us ? head->at_us : w->now_us};
    s->scheduled = 1;
    world_push(w, &e);
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

static uint64_t stream_at(world_t *w, sim_stream_t *s) {
    const sim_tcp_t *t = &w->faults.tcp;
    uint64_t at = w->now_us + world_rand_range(w, t->delay_min_us, t->delay_max_us);
    if (at < s->last_at_us) at = s->last_at_us;
    s->last_at_us = at;
    return at;
}

void link_tcp_send(world_t *w, uint32_t conn, int dir, const uint8_t *data, size_t len) {
    sim_conn_t *c = conn_at(w, conn);
    sim_stream_t *s = &c->dir[dir];
    if (c->state == CONN_DEAD || s->fin_sent || len == 0) return;
    trace_event(w, dir == DIR_TO_M ? TRACE_TRACK_OP0 + (int)c->op : SIM_NODE_M, "tcp-send", data, len,
                "conn %u: %zuB \"%.*s\"", conn, len, (int)(len > 80 ? 80 : len), (const char *)data);
    if (s->head == s->bytes.len) s->head = s->bytes.len = 0; /* everything delivered: rewind */
    if (buf_append(&s->bytes, data, len) != 0) {
        world_violation(w, "runaway", "out of memory for a TCP stream");
        w->stop = 1;
        return;
    }
    const sim_tcp_t *t = &w->faults.tcp;
    size_t left = len;
    uint32_t segs = 0;
    while (left > 0) {
        size_t n = (size_t)world_rand_range(w, t->seg_min ? t->seg_min : 1, t->seg_max ? t->seg_max : 1);
        if (n > left) n = left;
        sim_seg_t seg = {.at_us = stream_at(w, s), .id = ++w->msg_ids, .len = (uint32_t)n};
        if (stream_push_seg(s, &seg) != 0) {
            w->stop = 1;
            return;
        }
        trace_flow_send(w, conn_track(w, c, !dir), seg.id, "tcp");
        left -= n;
        segs++;
    }
    if (segs > 1) w->res->faults[FAULT_SPLIT] += segs - 1;
    stream_schedule(w, conn, dir);
}

void link_tcp_fin(world_t *w, uint32_t conn, int dir) {
    sim_conn_t *c = conn_at(w, conn);
    sim_stream_t *s = &c->dir[dir];
    if (c->state == CONN_DEAD || s->fin_sent) return;
    s->fin_sent = 1;
    if (c->state == CONN_CONNECTING) return; /* never connected: nothing to close */
    sim_seg_t seg = {.at_us = stream_at(w, s), .id = ++w->msg_ids, .fin = 1};
    if (stream_push_seg(s, &seg) != 0) {
        w->stop = 1;
        return;
    }
    stream_schedule(w, conn, dir);
}

static void stream_clear(sim_stream_t *s) {
    s->seg_count = 0;
    s->seg_head = 0;
    s->head = s->bytes.len = 0;
}

void link_tcp_reset(world_t *w, uint32_t conn, int notify_m, int notify_client) {
    sim_conn_t *c = conn_at(w, conn);
    if (c->state == CONN_DEAD) return;
    c->state = CONN_DEAD;
    w->res->faults[FAULT_RESETS]++;
    stream_clear(&c->dir[0]);
    stream_clear(&c->dir[1]);
    world_op_disturb(w, &w->ops[c->op]);
    trace_event(w, TRACE_TRACK_OP0 + (int)c->op, "reset", &conn, sizeof(conn), "conn %u reset", conn);
    const sim_tcp_t *t = &w->faults.tcp;
    if (notify_client && c->c_open) {
        sim_event_t e = {.kind = EV_RESET, .a = conn, .flags = DIR_TO_CLIENT,
                         .at_us = w->now_us + world_rand_range(w, t->delay_min_us, t->delay_max_us)};
        world_push(w, &e);
    }
    if (notify_m && c->m_open) {
        sim_event_t e = {.kind = EV_RESET, .a = conn, .flags = DIR_TO_M, .epoch = c->m_epoch,
                         .at_us = w->now_us + world_rand_range(w, t->delay_min_us, t->delay_max_us)};
        world_push(w, &e);
    }
}

static void on_connect(world_t *w, const sim_event_t *e) {
    sim_conn_t *c = conn_at(w, e->a);
    if (c->state != CONN_CONNECTING || !c->c_open) return; /* the client gave up */
    if (w->cut[SIM_NODE_CLIENTS][SIM_NODE_M] || w->cut[SIM_NODE_M][SIM_NODE_CLIENTS]) {
        w->res->faults[FAULT_STALLED]++;
        sim_event_t r = *e; /* the SYN (or its answer) is lost: the client's kernel retries */
        r.at_us = w->now_us + SYN_RETRY_US;
        trace_event(w, TRACE_TRACK_OP0 + (int)c->op, "syn-cut", &e->a, sizeof(e->a),
                    "conn %u: SYN lost to a partition, retrying", e->a);
        world_push(w, &r);
        return;
    }
    const sim_tcp_t *t = &w->faults.tcp;
    uint64_t back = world_rand_range(w, t->delay_min_us, t->delay_max_us);
    if (!w->node[SIM_NODE_M].up) {
        c->state = CONN_DEAD;
        trace_event(w, TRACE_TRACK_OP0 + (int)c->op, "refused", &e->a, sizeof(e->a),
                    "conn %u refused: serverM is down", e->a);
        sim_event_t r = {.kind = EV_CONNFAIL, .a = e->a, .at_us = w->now_us + back};
        world_push(w, &r);
        return;
    }
    c->state = CONN_OPEN;
    c->m_epoch = w->node[SIM_NODE_M].epoch;
    sim_event_t acc = {.kind = EV_ACCEPT, .a = e->a, .at_us = w->now_us, .epoch = c->m_epoch};
    world_push(w, &acc);
    sim_event_t ok = {.kind = EV_CONNECTED, .a = e->a, .at_us = w->now_us + back};
    world_push(w, &ok);
}

static void on_tcp(world_t *w, const sim_event_t *e) {
    uint32_t conn = e->a;
    int dir = e->flags;
    sim_conn_t *c = conn_at(w, conn);
    sim_stream_t *s = &c->dir[dir];
    if (c->state == CONN_DEAD) {
        s->scheduled = 0;
        return;
    }
    int dst = dir == DIR_TO_M ? SIM_NODE_M : SIM_NODE_CLIENTS;
    int src = dir == DIR_TO_M ? SIM_NODE_CLIENTS : SIM_NODE_M;
    if (w->cut[src][dst]) { /* stalled: the sender's TCP retransmits until the link heals */
        w->res->faults[FAULT_STALLED]++;
        sim_event_t r = *e;
        r.at_us = w->now_us + TCP_RETRY_US;
        world_push(w, &r);
        return;
    }
    if (dir == DIR_TO_M && !world_gate(w, SIM_NODE_M, e)) return;
    AC_ASSERT(s->seg_count > 0);
    sim_seg_t seg = s->segs[s->seg_head];
    if (!seg.fin && w->faults.tcp.reset_ppm && prng_chance_ppm(&w->rng, w->faults.tcp.reset_ppm)) {
        s->scheduled = 0;
        link_tcp_reset(w, conn, 1, 1);
        return;
    }
    s->seg_head = (s->seg_head + 1) % s->seg_cap;
    s->seg_count--;
    s->scheduled = 0;
    const uint8_t *bytes = s->bytes.p + s->head;
    s->head += seg.len;
    stream_schedule(w, conn, dir);
    int track = conn_track(w, c, dir);
    if (seg.fin) {
        trace_event(w, track, "fin", &conn, sizeof(conn), "conn %u: closed by the peer", conn);
        if (dir == DIR_TO_M) world_m_conn_eof(w, conn); /* a half-close: the core decides */
        else if (c->c_open) world_client_closed(w, c->op);
        return;
    }
    trace_flow_recv(w, track, seg.id, "tcp");
    trace_event(w, track, "tcp-recv", &seg.len, sizeof(seg.len), "conn %u: %uB", conn, seg.len);
    if (dir == DIR_TO_M) {
        if (c->m_open) world_m_conn_data(w, conn, bytes, seg.len);
    } else if (c->c_open) {
        world_client_data(w, c->op, bytes, seg.len);
    }
}

void link_on_event(world_t *w, const sim_event_t *e) {
    sim_conn_t *c;
    switch (e->kind) {
    case EV_CONNECT:
        on_connect(w, e);
        break;
    case EV_ACCEPT:
        c = conn_at(w, e->a);
        if (c->state != CONN_OPEN || !w->node[SIM_NODE_M].up || e->epoch != w->node[SIM_NODE_M].epoch)
            return;
        if (!world_gate(w, SIM_NODE_M, e)) return;
        c->accepted = 1;
        trace_event(w, SIM_NODE_M, "accept", &e->a, sizeof(e->a), "conn %u accepted", e->a);
        world_m_conn_open(w, e->a);
        break;
    case EV_CONNECTED:
        c = conn_at(w, e->a);
        if (!c->c_open) return;
        trace_event(w, TRACE_TRACK_OP0 + (int)c->op, "connected", &e->a, sizeof(e->a), "conn %u", e->a);
        world_client_connected(w, c->op);
        break;
    case EV_CONNFAIL:
        c = conn_at(w, e->a);
        world_client_connect_failed(w, c->op);
        break;
    case EV_RESET:
        c = conn_at(w, e->a);
        if (e->flags == DIR_TO_CLIENT) {
            if (c->c_open) world_client_closed(w, c->op);
            return;
        }
        if (!w->node[SIM_NODE_M].up || e->epoch != w->node[SIM_NODE_M].epoch) return;
        if (!world_gate(w, SIM_NODE_M, e)) return;
        world_m_conn_reset(w, e->a);
        break;
    case EV_TCP:
        on_tcp(w, e);
        break;
    default:
        AC_ASSERT(0);
        break;
    }
}

void link_conn_release(world_t *w, sim_conn_t *c) {
    (void)w;
    for (int d = 0; d < 2; d++) {
        buf_free(&c->dir[d].bytes);
        free(c->dir[d].segs);
        c->dir[d].segs = NULL;
        c->dir[d].seg_cap = c->dir[d].seg_count = 0;
    }
}

void link_free(world_t *w) {
    for (uint32_t i = 0; i < w->conn_count; i++) link_conn_release(w, &w->conns[i]);
    free(w->conns);
    free(w->slots);
    free(w->slot_free);
    w->conns = NULL;
    w->slots = NULL;
    w->slot_free = NULL;
}
