/* world.c — one simulated run: the event loop under a virtual clock, the four server nodes
 * (serverM and the three backends, the very core state machines the real programs run),
 * the client processes of the scenario's operations, the timed fault steps, and the
 * bookkeeping the liveness and availability checkers need. One PRNG, seeded from the
 * scenario or --seed, is the only source of chance; nothing here reads the wall clock
 * except for the speed figures. */
#include "world.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grow.h"
#include "judge/history.h"
#include "messages.h"
#include "mutant.h"
#include "ports.h"
#include "proc/proc.h"
#include "scenario/anchor.h"
#include "scenario/disk_fate.h"
#include "scenario/forge.h"
#include "tx.h"

#define PARKED_MAX 100000            /* inputs queued at a paused node */
#define TIMER_SPINS_MAX 1000         /* a timer that keeps asking for "now" is a core bug */
#define OUT_TEXT_BYTES_MAX (1u << 20)/* captured output of one operation */

/* ------------------------------------------------------------------ basics */

void world_violation(world_t *w, const char *checker, const char *fmt, ...) {
    char msg[sizeof(w->res->violations[0].message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    world_violation_at(w, w->now_us, checker, msg);
}

void world_violation_at(world_t *w, uint64_t at_us, const char *checker, const char *msg) {
    sim_result_t *r = w->res;
    if (r->violation_count < SIM_VIOLATIONS_MAX) {
        sim_violation_t *v = &r->violations[r->violation_count];
        snprintf(v->checker, sizeof(v->checker), "%s", checker);
        v->at_us = at_us;
        snprintf(v->message, sizeof(v->message), "%s", msg);
    }
    if (r->violation_count == 0 && r->first_failure[0] == '\0') {
        snprintf(r->first_failure, sizeof(r->first_failure), "%s: %s", checker, msg);
    }
    r->violation_count++;
    trace_event(w, SIM_NODE_M, "violation", checker, strlen(checker), "%s: %s", checker, msg);
}

static int world_push(world_t *w, sim_event_t *e) {
    AC_ASSERT(e->at_us >= w->now_us);
    switch (e->kind) {
    case EV_DGRAM: case EV_TCP: case EV_CONNECT: case EV_ACCEPT: case EV_CONNECTED:
    case EV_CONNFAIL: case EV_RESET:
        w->inflight++;
        break;
    case EV_SYNC: case EV_FILE:
        w->disk_pending++;
        break;
    default:
        break;
    }
    int rc = evq_push(&w->q, e);
    if (rc != 0 && !w->stop) {
        world_violation(w, "runaway", "the event queue is full (%zu events pending)", w->q.count);
        w->stop = 1;
    }
    return rc;
}

static uint64_t world_rand_range(world_t *w, uint64_t lo, uint64_t hi) {
    if (hi <= lo) return lo;
    return lo + prng_below(&w->rng, hi - lo + 1);
}

static void counters_on_pop(world_t *w, const sim_event_t *e) {
    switch (e->kind) {
    case EV_DGRAM: case EV_TCP: case EV_CONNECT: case EV_ACCEPT: case EV_CONNECTED:
    case EV_CONNFAIL: case EV_RESET:
        AC_ASSERT(w->inflight > 0);
        w->inflight--;
        break;
    case EV_SYNC: case EV_FILE:
        AC_ASSERT(w->disk_pending > 0);
        w->disk_pending--;
        break;
    default:
        break;
    }
}

static uint64_t parked_total(const world_t *w) {
    uint64_t n = 0;
    for (int i = 0; i < SIM_SERVERS; i++) n += w->node[i].parked_count;
    return n;
}

/* 1: the event may run on `node` now; 0: it was parked (node paused) */
static int world_gate(world_t *w, int node, const sim_event_t *e) {
    sim_node_t *n = &w->node[node];
    if (!n->paused) return 1;
    if (n->parked_count >= PARKED_MAX) {
        n->parked_dropped++;
        if (e->kind == EV_DGRAM) link_slot_release(&w->link, e->a);
        return 0;
    }
    if (n->parked_count == n->parked_cap) {
        size_t cap = n->parked_cap ? n->parked_cap * 2 : 64;
        sim_event_t *p = realloc(n->parked, cap * sizeof(*p));
        if (p == NULL) {
            world_violation(w, "runaway", "out of memory parking events");
            w->stop = 1;
            return 0;
        }
        n->parked = p;
        n->parked_cap = cap;
    }
    n->parked[n->parked_count++] = *e;
    return 0;
}

static void node_drop_parked(world_t *w, int node) {
    sim_node_t *n = &w->node[node];
    for (size_t i = 0; i < n->parked_count; i++) {
        if (n->parked[i].kind == EV_DGRAM) link_slot_release(&w->link, n->parked[i].a);
        if (n->parked[i].kind == EV_DGRAM) w->res->faults[FAULT_TO_DOWN]++;
    }
    n->parked_count = 0;
}

/* ------------------------------------------------------------------ touches */
/* What touched the run goes to the one rule (judge/excuse.h), attributed to the step whose
 * fault is in force on that link, disk or node. */

static void world_op_disturb(world_t *w, sim_op_t *op) {
    op->disturbed = 1;
    if (op->ka != NULL) session_disturb(w, (uint32_t)(op - w->ops)); /* and what rides on it */
}

static void hook_touch(void *ctx, int kind, int src, int dst, uint64_t until_us) {
    world_t *w = ctx;
    AC_ASSERT(src >= 0 && src < SIM_NODES);
    AC_ASSERT(dst >= 0 && dst < SIM_NODES);
    int source;
    switch (kind) {
    case TOUCH_CUT: source = w->cut_src[src][dst]; break;
    case TOUCH_STALLED: source = w->cut[src][dst] ? w->cut_src[src][dst] : w->tcp_src; break;
    default: /* lost, late: a datagram link's settings */
        AC_ASSERT(src < SIM_SERVERS && dst < SIM_SERVERS);
        source = w->udp_src[src][dst];
        break;
    }
    excuse_touch(&w->ex, (touch_kind_t)kind, source, w->now_us, until_us, 1);
}

/* A STEP_SET changed settings: the links, disks and client link it changed now answer to
 * step si, which could excuse when the new settings may touch. */
static void world_settings_changed(world_t *w, const sim_faults_t *before, int si) {
    int16_t s = (int16_t)si;
    for (int i = 0; i < SIM_SERVERS; i++)
        for (int j = 0; j < SIM_SERVERS; j++)
            if (memcmp(&before->udp[i][j], &w->faults.udp[i][j], sizeof(sim_udp_t)) != 0) w->udp_src[i][j] = s;
    for (int b = 0; b < BACKEND_COUNT; b++)
        if (memcmp(&before->disk[b], &w->faults.disk[b], sizeof(sim_disk_t)) != 0) w->disk_src[b] = s;
    if (memcmp(&before->tcp, &w->faults.tcp, sizeof(sim_tcp_t)) != 0) w->tcp_src = s;
    if (excuse_faults_may_touch(&w->ex, &w->faults) && memcmp(before, &w->faults, sizeof(*before)) != 0)
        excuse_fault(&w->ex, si);
}

/* ------------------------------------------------------------------ effects */

static void drain_check_failed(world_t *w, const char *who) {
    if (w->out.failed) world_violation(w, "effects", "%s: the outbox ran out of memory", who);
}

static void m_arm(world_t *w, int after_timer);

static sim_conn_t *conn_get(world_t *w, uint32_t conn) { return link_conn(&w->link, conn); }

static void script_run(world_t *w, uint32_t si, const uint32_t *step_op);

/* A node sends a datagram: first the steps anchored to it (anchor.h) — settings,
 * partitions and heals at once, so they apply to this very datagram; node events as a
 * script event at this instant, queued before the datagram's delivery — then the send. */
static void dgram_send(world_t *w, int src, int dst, const uint8_t *d, size_t len) {
    scn_fired_t *f = &w->res->fired;
    for (uint32_t k = 0; k < f->count; k++) {
        const scn_step_t *st = &w->scn->steps[f->step[k]];
        if (f->at_us[k] != UINT64_MAX || !scn_event_matches(&st->on, src, dst, d, len)) continue;
        if (++w->anchor_seen[k] != st->on.nth) continue;
        f->at_us[k] = w->now_us;
        trace_event(w, src, "anchor", &f->step[k], sizeof(f->step[k]), "line %u: its event came", st->line);
        if (scn_anchor_applies_at_once(st)) {
            script_run(w, f->step[k], NULL);
        } else {
            sim_event_t e = {.kind = EV_SCRIPT, .at_us = w->now_us + st->on.after_us, .a = f->step[k]};
            if (world_push(w, &e) != 0) w->stop = 1;
            w->anchors_due++; /* the run is not quiet before it is carried out */
        }
    }
    link_dgram_send(&w->link, src, dst, d, len);
}

typedef struct {
    uint32_t conn;
    uint32_t len;
} sent_rec_t;

static void sent_log_add(world_t *w, uint32_t conn, size_t len) {
    sent_rec_t r = {conn, (uint32_t)len};
    AC_ASSERT(len <= UINT32_MAX);
    if (buf_append(&w->sent_log, &r, sizeof(r)) != 0) {
        world_violation(w, "runaway", "out of memory for the sent bytes of serverM");
        w->stop = 1;
    }
}

static void drain_m(world_t *w, int after_timer);

/* The simulated sockets take every reply byte at once: each drain of serverM's outbox
 * ends by telling the core (coord_on_conn_sent), so between events the core counts no
 * reply as unsent but the ones it holds for their turn; a byte it counts twice or never
 * (its memory rule's accounting, docs/PROTOCOL.md 2.5) is a violation here. */
static void sent_report(world_t *w, int after_timer) {
    if (w->sent_log.len == 0 || w->coord == NULL) {
        w->sent_log.len = 0;
        return;
    }
    sim_buf_t log = w->sent_log; /* the drains below start a new log */
    memset(&w->sent_log, 0, sizeof(w->sent_log));
    for (size_t off = 0; off + sizeof(sent_rec_t) <= log.len; off += sizeof(sent_rec_t)) {
        sent_rec_t r;
        memcpy(&r, log.p + off, sizeof(r));
        coord_on_conn_sent(w->coord, w->now_us, r.conn, r.len, &w->out);
        drain_m(w, after_timer);
    }
    if (w->sent_log.p == NULL) {
        log.len = 0;
        w->sent_log = log; /* the buffer is kept for the next drain */
    } else {
        buf_free(&log);
    }
    if (coord_unsent_bytes(w->coord) != 0)
        world_violation(w, "memory", "serverM counts %zu reply bytes as unsent after every byte "
                        "was reported taken", coord_unsent_bytes(w->coord));
}

static void drain_m(world_t *w, int after_timer) {
    outbox_t *o = &w->out;
    drain_check_failed(w, "serverM");
    for (size_t k = 0; k < o->fx_count; k++) {
        const fx_t *f = &o->fx[k];
        const uint8_t *d = outbox_bytes(o, f);
        size_t len = f->data_len;
        switch (f->kind) {
        case FX_DGRAM:
            if (f->target >= BACKEND_COUNT) {
                world_violation(w, "effects", "serverM sent a datagram to backend %u", f->target);
                break;
            }
            if (len <= AUTH_DGRAM_BYTES_MAX) { /* for STEP_FORGE's replay */
                memcpy(w->last_m_dgram[f->target], d, len);
                w->last_m_len[f->target] = len;
            }
            dgram_send(w, SIM_NODE_M, (int)f->target + 1, d, len);
            break;
        case FX_CONN_SEND: {
            sim_conn_t *c = conn_get(w, f->target);
            if (c == NULL || !c->m_open) {
                world_violation(w, "effects", "serverM sent on connection %u, which it does not have open",
                                f->target);
                break;
            }
            sim_op_t *op = &w->ops[c->op];
            if (op->ka != NULL) session_m_sent(w, c->op, d, len);
            else if (op->parsed && op->req.op == CREQ_TXLIST && op->file_version == 0)
                op->file_version = w->files.current;
            link_tcp_send(&w->link, f->target, DIR_TO_CLIENT, d, len);
            sent_log_add(w, f->target, len);
            break;
        }
        case FX_CONN_READ: {
            sim_conn_t *c = conn_get(w, f->target);
            if (c == NULL || !c->m_open) {
                world_violation(w, "effects", "serverM stopped or resumed reading connection %u, "
                                "which it does not have open", f->target);
                break;
            }
            /* the simulated socket takes every byte at once (sent_report): a stop lasts
             * until the end of this drain, and the link has no flow control to apply it */
            trace_event(w, SIM_NODE_M, f->arg ? "read-on" : "read-off", &f->target,
                        sizeof(f->target), "connection %u: %s", f->target,
                        f->arg ? "read again" : "not read (replies unsent)");
            break;
        }
        case FX_CONN_CLOSE: {
            sim_conn_t *c = conn_get(w, f->target);
            if (c == NULL || !c->m_open) {
                world_violation(w, "effects", "serverM closed connection %u, which it does not have open",
                                f->target);
                break;
            }
            c->m_open = 0;
            link_tcp_fin(&w->link, f->target, DIR_TO_CLIENT);
            break;
        }
        case FX_FILE_WRITE: {
            sim_files_t *fs = &w->files;
            if (f->arg == FX_FILE_ABORT) {
                fs->partial.len = 0;
                fs->partial_open = 0;
                trace_event(w, SIM_NODE_M, "file-abort", "", 0, "alichain.txt: write abandoned");
                break;
            }
            if (buf_append(&fs->partial, d, len) != 0) {
                w->stop = 1;
                break;
            }
            fs->partial_open = f->arg == FX_FILE_MORE;
            if (fs->partial_open) break;
            d = fs->partial.p;
            len = fs->partial.len;
            if (fs->count == fs->cap) {
                uint32_t cap = fs->cap ? fs->cap * 2 : 8;
                sim_buf_t *v = realloc(fs->versions, cap * sizeof(*v));
                if (v == NULL) {
                    world_violation(w, "runaway", "out of memory for alichain.txt versions");
                    w->stop = 1;
                    break;
                }
                fs->versions = v;
                fs->cap = cap;
            }
            sim_buf_t *v = &fs->versions[fs->count];
            memset(v, 0, sizeof(*v));
            if (buf_append(v, d, len) != 0) {
                w->stop = 1;
                break;
            }
            sim_event_t e = {.kind = EV_FILE, .node = SIM_NODE_M, .a = fs->count, .b = f->token,
                             .epoch = w->node[SIM_NODE_M].epoch};
            fs->count++;
            e.at_us = w->now_us + world_rand_range(w, w->faults.file_min_us, w->faults.file_max_us);
            trace_event(w, SIM_NODE_M, "file-write", d, len, "alichain.txt: %zu bytes (version %u)",
                        len, e.a);
            fs->partial.len = 0;
            world_push(w, &e);
            break;
        }
        case FX_STDOUT:
            trace_event(w, SIM_NODE_M, "stdout", d, len, "%.*s", (int)len, (const char *)d);
            break;
        case FX_STDERR:
            trace_event(w, SIM_NODE_M, "stderr", d, len, "%.*s", (int)len, (const char *)d);
            break;
        default:
            world_violation(w, "effects", "serverM emitted an effect of kind %d", (int)f->kind);
            break;
        }
    }
    outbox_clear(o);
    sent_report(w, after_timer);
    m_arm(w, after_timer);
}

/* One storage effect of backend b on its simulated disk; an append that awaits its sync
 * gets an EV_SYNC at a time drawn from the disk's latency (syncs complete in order). */
/* A write or sync of backend b's append that the disk failed: counted, a touch that
 * excuses what it refuses, traced. */
static void disk_error(world_t *w, int b, int fate, const char *what, uint64_t token) {
    w->res->faults[fate == DISK_FATE_NOSPACE ? FAULT_NOSPACE : FAULT_EIO]++;
    excuse_touch(&w->ex, TOUCH_DISK_ERROR, w->disk_src[b], w->now_us, w->now_us, 1);
    trace_event(w, b + 1, "disk-error", &token, sizeof(token), "the %s of token %llu failed (%s)", what,
                (unsigned long long)token, fate == DISK_FATE_NOSPACE ? "ENOSPC" : "EIO");
}

/* The write of a tokened append under the disk's error settings: 1 when it failed (half
 * of it is in the file; the drain then tells the backend), else 0. */
static int disk_write_fails(world_t *w, int b, const fx_t *f, const uint8_t *data) {
    size_t kept;
    int fate = disk_fate_write(&w->rng, &w->faults.disk[b], f->data_len, &kept);
    if (fate == DISK_FATE_OK) return 0;
    fx_t part = *f;
    part.data_len = kept;
    part.token = 0;
    if (simdisk_apply(&w->disk[b], &part, data) < 0) {
        world_violation(w, "runaway", "server%c: out of memory for its disk", backend_letter(b));
        w->stop = 1;
    }
    disk_error(w, b, fate, "write", f->token);
    AC_ASSERT(w->disk_failed[b] == 0); /* one WRITE, one append: the drain reports it */
    w->disk_failed[b] = f->token;
    w->disk_failed_why[b] = fate == DISK_FATE_NOSPACE ? BACKEND_DISK_NOSPACE : BACKEND_DISK_IOERR;
    return 1;
}

static void disk_effect(world_t *w, int b, const fx_t *f, const uint8_t *data) {
    simdisk_t *d = &w->disk[b];
    int node = b + 1;
    size_t len = f->data_len;
    if (f->kind == FX_BLOCK_APPEND && f->token != 0 && disk_write_fails(w, b, f, data)) return;
    int rc = simdisk_apply(d, f, data);
    if (rc < 0) {
        world_violation(w, rc == AC_ENOMEM ? "runaway" : "effects",
                        "server%c: storage effect %d failed (%d)", backend_letter(b), (int)f->kind, rc);
        if (rc == AC_ENOMEM) w->stop = 1;
        return;
    }
    switch (f->kind) {
    case FX_BLOCK_APPEND:
        trace_event(w, node, "append", data, len, "append %zuB (token %llu): %.*s", len,
                    (unsigned long long)f->token,
                    (int)(len && data[len - 1] == '\n' ? len - 1 : len), (const char *)data);
        break;
    case FX_BLOCK_SYNC:
        trace_event(w, node, "sync", &d->durable_len, sizeof(d->durable_len),
                    "block file synced (%zu bytes durable)", d->durable_len);
        break;
    case FX_BLOCK_TRUNCATE:
        trace_event(w, node, "truncate", &f->arg, sizeof(f->arg), "block file cut to %llu bytes",
                    (unsigned long long)f->arg);
        break;
    case FX_MARKER_WRITE:
        trace_event(w, node, "marker", data, len, "marker written: %.*s",
                    (int)(len && data[len - 1] == '\n' ? len - 1 : len), (const char *)data);
        break;
    case FX_MARKER_REMOVE:
        trace_event(w, node, "unmark", "-", 1, "marker removed");
        break;
    case FX_TORN_APPEND:
        trace_event(w, node, "torn-aside", data, len, "set aside in .torn: \"%.*s\"",
                    (int)(len && data[len - 1] == '\n' ? len - 1 : len), (const char *)data);
        break;
    default:
        break;
    }
    if (rc == 1) {
        const sim_disk_t *cfg = &w->faults.disk[b];
        uint64_t at = w->now_us + disk_fate_sync_us(&w->rng, cfg);
        if (at < w->disk_last_sync_at[b]) at = w->disk_last_sync_at[b];
        w->disk_last_sync_at[b] = at;
        if (at - w->now_us > w->ex.late_us) excuse_touch(&w->ex, TOUCH_SLOW_SYNC, w->disk_src[b], w->now_us, at, 1);
        sim_event_t e = {.kind = EV_SYNC, .node = (uint8_t)node, .at_us = at, .b = f->token,
                         .epoch = w->node[node].epoch};
        world_push(w, &e);
    }
}

static void drain_backend(world_t *w, int b) {
    outbox_t *o = &w->out;
    int node = b + 1;
    drain_check_failed(w, "backend");
    for (size_t k = 0; k < o->fx_count; k++) {
        const fx_t *f = &o->fx[k];
        const uint8_t *d = outbox_bytes(o, f);
        size_t len = f->data_len;
        switch (f->kind) {
        case FX_DGRAM:
            if (f->target != 0) {
                world_violation(w, "effects", "server%c sent a datagram to peer %u",
                                backend_letter(b), f->target);
                break;
            }
            dgram_send(w, node, SIM_NODE_M, d, len);
            break;
        case FX_STDOUT:
            trace_event(w, node, "stdout", d, len, "%.*s", (int)len, (const char *)d);
            break;
        case FX_STDERR:
            trace_event(w, node, "stderr", d, len, "%.*s", (int)len, (const char *)d);
            break;
        default:
            if (simdisk_is_storage(f->kind)) {
                disk_effect(w, b, f, d);
                break;
            }
            world_violation(w, "effects", "server%c emitted an effect of kind %d", backend_letter(b),
                            (int)f->kind);
            break;
        }
    }
    outbox_clear(o);
    uint64_t failed = w->disk_failed[b];
    if (failed != 0) { /* a write failed: the backend hears it once its effects are out */
        w->disk_failed[b] = 0;
        backend_on_disk_error(w->be[b], w->now_us, failed, w->disk_failed_why[b], o);
        drain_backend(w, b);
    }
}

/* ------------------------------------------------------------------ timers */

static void m_arm(world_t *w, int after_timer) {
    if (w->coord == NULL) return;
    sim_node_t *n = &w->node[SIM_NODE_M];
    uint64_t d = coord_deadline_us(w->coord);
    if (d == UINT64_MAX) return;
    if (d <= w->now_us) {
        if (after_timer && ++w->timer_spins > TIMER_SPINS_MAX) {
            world_violation(w, "timers", "serverM's deadline stays at or before now after "
                            "%u timer calls", TIMER_SPINS_MAX);
            w->stop = 1;
            return;
        }
        d = w->now_us;
    } else if (after_timer) {
        w->timer_spins = 0;
    }
    if (d >= n->timer_at) return;
    n->timer_gen++;
    n->timer_at = d;
    sim_event_t e = {.kind = EV_TIMER, .node = SIM_NODE_M, .at_us = d, .epoch = n->epoch,
                     .b = n->timer_gen};
    world_push(w, &e);
}

static void client_arm(world_t *w, uint32_t i) {
    sim_op_t *op = &w->ops[i];
    if (op->cl == NULL || op->state != OP_RUNNING) return;
    uint64_t d = client_deadline_us(op->cl);
    if (d == UINT64_MAX) return;
    if (d < w->now_us) d = w->now_us;
    if (d >= op->timer_at) return;
    op->timer_gen++;
    op->timer_at = d;
    sim_event_t e = {.kind = EV_TIMER, .node = EV_NODE_CLIENT, .a = i, .at_us = d, .b = op->timer_gen};
    world_push(w, &e);
}

/* ------------------------------------------------------------------ operations */

static void out_line(sim_buf_t *b, const void *d, size_t len) {
    if (b->len + len + 1 > OUT_TEXT_BYTES_MAX) return;
    buf_append(b, d, len);
    buf_append(b, "\n", 1);
}

static void op_finish(world_t *w, uint32_t i, int code) {
    sim_op_t *op = &w->ops[i];
    AC_ASSERT(op->state == OP_RUNNING);
    op->state = OP_DONE;
    op->exit_code = code;
    op->resp_us = w->now_us;
    op->touches = w->ex.total - op->touches_at_start;
    op->drawn = w->ex.drawn - op->drawn_at_start;
    AC_ASSERT(w->ops_running > 0);
    w->ops_running--;
    if (op->cl != NULL) {
        int ec = code;
        wire_crep_t rep;
        if (client_result(op->cl, &ec, &rep) && rep.kind != 0) {
            op->reply = rep;
            op->have_reply = 1;
        }
    }
    sim_conn_t *c = op->joined ? NULL : conn_get(w, op->conn); /* a session's is not its own */
    if (c != NULL && c->c_open) { /* the process exits: its socket closes */
        c->c_open = 0;
        if (c->state != CONN_DEAD) link_tcp_fin(&w->link, op->conn, DIR_TO_M);
    }
    trace_event(w, TRACE_TRACK_OP0 + (int)i, "exit", &code, sizeof(code), "%s exits %d",
                op->step->label, code);
    if (code == CLIENT_EXIT_FAILED && !op->disturbed && excuse_owed(&w->ex, op->inv_us)) {
        world_violation(w, "availability", "%s (client%c) ended with exit 3 although no fault "
                        "touched the run from %.6fs (its start %.6fs less the lookback) on: see "
                        "docs/SIMULATOR.md", op->step->label, op->step->client ? 'B' : 'A',
                        (double)(op->inv_us > w->ex.lookback_us ? op->inv_us - w->ex.lookback_us : 0) / 1e6,
                        (double)op->inv_us / 1e6);
    }
    uint64_t bound = op->ka != NULL ? UINT64_MAX : excuse_bound_us(&w->ex, op->inv_us);
    if (w->now_us > bound) {
        world_violation(w, "liveness", "%s ended at %.6fs, after its bound %.6fs (liveness %.3fs "
                        "after its start or the last touch)", op->step->label, (double)w->now_us / 1e6,
                        (double)bound / 1e6, (double)w->ex.liveness_us / 1e6);
    }
    if (op->session != 0) session_member_done(w, i);
}

void world_op_finish(world_t *w, uint32_t i, int code) { op_finish(w, i, code); }

static void drain_client(world_t *w, uint32_t i) {
    outbox_t *o = &w->out;
    sim_op_t *op = &w->ops[i];
    int track = TRACE_TRACK_OP0 + (int)i;
    drain_check_failed(w, op->step->label);
    int done = -1;
    for (size_t k = 0; k < o->fx_count; k++) {
        const fx_t *f = &o->fx[k];
        const uint8_t *d = outbox_bytes(o, f);
        size_t len = f->data_len;
        switch (f->kind) {
        case FX_CONN_SEND: {
            sim_conn_t *c = conn_get(w, op->conn);
            if (c == NULL || !c->c_open || c->state == CONN_DEAD) break; /* broken: EPIPE */
            link_tcp_send(&w->link, op->conn, DIR_TO_M, d, len);
            /* "half-close clientA ...": shutdown(SHUT_WR) after the request, still reading */
            if (op->step->half_close && !op->joined) link_tcp_fin(&w->link, op->conn, DIR_TO_M);
            break;
        }
        case FX_CONN_CLOSE: {
            sim_conn_t *c = op->joined ? NULL : conn_get(w, op->conn); /* the session's stays */
            if (c != NULL && c->c_open) {
                c->c_open = 0;
                if (c->state != CONN_DEAD) link_tcp_fin(&w->link, op->conn, DIR_TO_M);
            }
            break;
        }
        case FX_STDOUT:
            out_line(&op->out, d, len);
            trace_event(w, track, "stdout", d, len, "%.*s", (int)len, (const char *)d);
            break;
        case FX_STDERR:
            out_line(&op->err, d, len);
            trace_event(w, track, "stderr", d, len, "%.*s", (int)len, (const char *)d);
            break;
        case FX_DONE:
            if (done < 0) done = (int)f->arg;
            else world_violation(w, "effects", "%s finished twice", op->step->label);
            break;
        default:
            world_violation(w, "effects", "client emitted an effect of kind %d", (int)f->kind);
            break;
        }
    }
    outbox_clear(o);
    if (done >= 0 && op->state == OP_RUNNING) {
        op_finish(w, i, done);
        client_free(op->cl);
        op->cl = NULL;
        return;
    }
    client_arm(w, i);
}

void world_drain_client(world_t *w, uint32_t i) { drain_client(w, i); }

static void op_start(world_t *w, uint32_t i) {
    sim_op_t *op = &w->ops[i];
    const scn_step_t *st = op->step;
    int track = TRACE_TRACK_OP0 + (int)i;
    op->state = OP_RUNNING;
    w->ops_running++;
    op->inv_us = w->now_us;
    op->timer_at = UINT64_MAX;
    op->touches_at_start = w->ex.total;
    op->drawn_at_start = w->ex.drawn;
    if (op->ka != NULL) {
        session_start(w, i);
        return;
    }
    if (op->session != 0) w->ops[op->session - 1].ka->members_started++;
    const char *argv[SCN_ARGS_MAX + 1];
    argv[0] = st->client ? "clientB" : "clientA";
    char cmd[SCN_ARGS_MAX * (SCN_ARG_BYTES_MAX + 1) + 16];
    size_t cl = (size_t)snprintf(cmd, sizeof(cmd), "%s", argv[0]);
    for (int k = 0; k < st->argc; k++) {
        argv[k + 1] = st->argv[k];
        cl += (size_t)snprintf(cmd + cl, sizeof(cmd) - cl, " %s", st->argv[k]);
    }
    trace_event(w, track, "start", cmd, cl, "%s: %s", st->label, cmd);
    char err[256];
    if (client_parse_argv(st->argc + 1, argv, &op->req, err, sizeof(err)) != 0) {
        char line[320];
        int n = snprintf(line, sizeof(line), "%s: %s", argv[0], err);
        out_line(&op->err, line, (size_t)n);
        const char *u = client_usage(st->client);
        while (*u) {
            const char *nl = strchr(u, '\n');
            size_t len = nl ? (size_t)(nl - u) : strlen(u);
            out_line(&op->err, u, len);
            u += len + (nl ? 1 : 0);
        }
        op_finish(w, i, CLIENT_EXIT_USAGE);
        return;
    }
    op->parsed = 1;
    op->cl = client_new(st->client, &op->req, w->scn->client_timeout_ms);
    if (op->cl == NULL) {
        world_violation(w, "runaway", "out of memory for a client");
        w->stop = 1;
        return;
    }
    client_start(op->cl, w->now_us, &w->out);
    drain_client(w, i);
    if (op->state != OP_RUNNING) return;
    if (session_join(w, i)) return; /* its request goes over its session's connection */
    op->conn = link_conn_new(&w->link, i);
    if (op->conn == 0) {
        w->stop = 1;
        return;
    }
    link_connect(&w->link, op->conn);
}

/* ------------------------------------------------------------------ link.c's hooks */
/* What link.c (through link_t) may do to the world: schedule, report, trace, ask whether a
 * node is up, and deliver connection events to serverM's core and the clients' cores. */

static void hook_m_conn_open(void *ctx, uint32_t conn) {
    world_t *w = ctx;
    sim_conn_t *c = conn_get(w, conn);
    c->m_open = 1;
    int rc = coord_on_conn_open(w->coord, w->now_us, conn, w->ops[c->op].step->client, &w->out);
    (void)rc; /* AC_EFULL: the BUSY reply and the close are in the outbox */
    drain_m(w, 0);
}

static void hook_m_conn_data(void *ctx, uint32_t conn, const uint8_t *data, size_t len) {
    world_t *w = ctx;
    coord_on_conn_data(w->coord, w->now_us, conn, data, len, &w->out);
    drain_m(w, 0);
}

/* The client's FIN reached serverM: serverM keeps the connection; the core decides. */
static void hook_m_conn_eof(void *ctx, uint32_t conn) {
    world_t *w = ctx;
    if (!conn_get(w, conn)->m_open) return;
    coord_on_conn_eof(w->coord, w->now_us, conn, &w->out);
    drain_m(w, 0);
}

/* A reset reached serverM: the connection is gone. */
static void hook_m_conn_reset(void *ctx, uint32_t conn) {
    world_t *w = ctx;
    sim_conn_t *c = conn_get(w, conn);
    if (!c->m_open) return;
    c->m_open = 0;
    coord_on_conn_reset(w->coord, w->now_us, conn, &w->out);
    drain_m(w, 0);
}

static void hook_client_connected(void *ctx, uint32_t op) {
    world_t *w = ctx;
    if (w->ops[op].state != OP_RUNNING) return;
    if (w->ops[op].ka != NULL) {
        session_connected(w, op);
        return;
    }
    client_on_connected(w->ops[op].cl, w->now_us, &w->out);
    drain_client(w, op);
}

static void hook_client_connect_failed(void *ctx, uint32_t op) {
    world_t *w = ctx;
    if (w->ops[op].state != OP_RUNNING) return;
    if (w->ops[op].ka != NULL) {
        session_connect_failed(w, op);
        return;
    }
    client_on_connect_failed(w->ops[op].cl, w->now_us, &w->out);
    drain_client(w, op);
}

static void hook_client_data(void *ctx, uint32_t op, const uint8_t *data, size_t len) {
    world_t *w = ctx;
    if (w->ops[op].state != OP_RUNNING) return;
    if (w->ops[op].ka != NULL) {
        session_data(w, op, data, len);
        return;
    }
    client_on_data(w->ops[op].cl, w->now_us, data, len, &w->out);
    drain_client(w, op);
}

static void hook_client_closed(void *ctx, uint32_t op) {
    world_t *w = ctx;
    if (w->ops[op].state != OP_RUNNING) return;
    if (w->ops[op].ka != NULL) {
        session_closed(w, op);
        return;
    }
    client_on_closed(w->ops[op].cl, w->now_us, &w->out);
    drain_client(w, op);
}

static int hook_push(void *ctx, sim_event_t *e) { return world_push(ctx, e); }

static void hook_violation(void *ctx, const char *checker, const char *msg) {
    world_t *w = ctx;
    world_violation_at(w, w->now_us, checker, msg);
}

static void hook_trace(void *ctx, int track, const char *what, const void *data, size_t len,
                       const char *text) {
    trace_event(ctx, track, what, data, len, "%s", text);
}

static int hook_trace_detail(void *ctx) {
    const world_t *w = ctx;
    return w->trace.text != NULL || w->trace.json != NULL;
}

static void hook_flow(void *ctx, int track, uint64_t id, const char *name, int recv) {
    if (recv) trace_flow_recv(ctx, track, id, name);
    else trace_flow_send(ctx, track, id, name);
}

static int hook_node_up(void *ctx, int node) { return ((world_t *)ctx)->node[node].up; }

static uint32_t hook_node_epoch(void *ctx, int node) { return ((world_t *)ctx)->node[node].epoch; }

static int hook_gate(void *ctx, int node, const sim_event_t *e) { return world_gate(ctx, node, e); }

static void hook_op_disturb(void *ctx, uint32_t op) {
    world_t *w = ctx;
    world_op_disturb(w, &w->ops[op]);
}

static void world_link_init(world_t *w) {
    const link_hooks_t hooks = {
        .ctx = w,
        .push = hook_push,
        .violation = hook_violation,
        .trace = hook_trace,
        .trace_detail = hook_trace_detail,
        .flow = hook_flow,
        .node_up = hook_node_up,
        .node_epoch = hook_node_epoch,
        .gate = hook_gate,
        .op_disturb = hook_op_disturb,
        .touch = hook_touch,
        .m_conn_open = hook_m_conn_open,
        .m_conn_data = hook_m_conn_data,
        .m_conn_eof = hook_m_conn_eof,
        .m_conn_reset = hook_m_conn_reset,
        .client_connected = hook_client_connected,
        .client_connect_failed = hook_client_connect_failed,
        .client_data = hook_client_data,
        .client_closed = hook_client_closed,
    };
    link_init(&w->link, &hooks, &w->rng, &w->now_us, &w->faults,
              (const uint8_t (*)[SIM_NODES])w->cut, w->res->faults, &w->stop);
    w->link.late_us = w->ex.late_us;
}

/* ------------------------------------------------------------------ nodes */

static uint16_t backend_port(int b) { return port_backend(b, PORT_OFFSET_DEFAULT); }

/* The simulated servers' key; the forger's is scenario/forge.h's forge_key: any other key
 * is as good as a wrong one, since a MAC of the wrong key verifies no better than random
 * bytes. */
static const uint8_t sim_key[AUTH_KEY_BYTES] = "the simulated servers' shared k";

/* The simulator's MAC is a model of one, not cryptography: a keyed hash, one 64-bit lane
 * seeded from the key and widened to the tag at the end, that the simulated forger (who
 * lacks the key and does not search for collisions) cannot produce — the same layout and
 * checks in core as the real programs' HMAC-SHA-512-256, at a small part of its cost (HMAC
 * halved the swarm's speed, keyed BLAKE2b took 11 % of its instructions, four lanes over
 * the message 10 % of its time). What the simulator tests is the protocol around the MAC
 * (trailers, windows, fences); fuzz_auth and tests/unit/test_auth.c cover the real MAC. */
#define SIM_MAC_WORDS (AUTH_TAG_BYTES / 8)
#define SIM_MAC_MUL 0x9E3779B97F4A7C15ull

static uint64_t sim_mac_mix(uint64_t h, uint64_t v) {
    h = (h ^ v) * SIM_MAC_MUL;
    return h ^ (h >> 29);
}

static int sim_mac(unsigned char *tag, const unsigned char *in, unsigned long long inlen,
                   const unsigned char *k) {
    _Static_assert(AUTH_KEY_BYTES == 8 * SIM_MAC_WORDS && AUTH_TAG_BYTES == 8 * SIM_MAC_WORDS,
                   "a word of tag per 8 bytes of key");
    uint64_t key[SIM_MAC_WORDS], h = inlen;
    for (int j = 0; j < SIM_MAC_WORDS; j++) {
        key[j] = sim_load_le(k + 8 * j, 8);
        h = sim_mac_mix(h, key[j]);
    }
    size_t i = 0;
    for (; i + 8 <= inlen; i += 8) h = sim_mac_mix(h, sim_load_le(in + i, 8));
    if (i < inlen) h = sim_mac_mix(h, sim_load_le(in + i, (size_t)(inlen - i))); /* the last, short word */
    for (int j = 0; j < SIM_MAC_WORDS; j++) { /* each word of the tag keyed again */
        uint64_t w = sim_mac_mix(sim_mac_mix(h, key[j]), (uint64_t)(j + 1));
        for (int b = 0; b < 8; b++) tag[8 * j + b] = (unsigned char)(w >> (8 * b));
    }
    return 0;
}

/* The MACs sealed lately, with what they were computed from: a datagram is verified with
 * the very bytes and key it was sealed with (unless a fault or the forger changed them),
 * and the MAC is a function of those alone, so a verification that finds its bytes, key
 * and tag here has its answer (the same tag) without computing it again; any difference
 * computes it. Direct-mapped by the tag's first byte. Per thread, and no part of a run's
 * state: it changes no result, only what a verification costs. */
#define SIM_MAC_MEMO_SLOTS 32
typedef struct {
    unsigned long long len; /* of in; 0: empty */
    unsigned char key[AUTH_KEY_BYTES];
    unsigned char tag[AUTH_TAG_BYTES];
    unsigned char in[AUTH_DGRAM_BYTES_MAX];
} sim_mac_memo_t;
static _Thread_local sim_mac_memo_t sim_mac_memo[SIM_MAC_MEMO_SLOTS];

static sim_mac_memo_t *sim_mac_memo_slot(const unsigned char *tag) {
    return &sim_mac_memo[tag[0] % SIM_MAC_MEMO_SLOTS];
}

static int sim_mac_sealed(unsigned char *tag, const unsigned char *in, unsigned long long inlen,
                          const unsigned char *k) {
    (void)sim_mac(tag, in, inlen, k);
    if (inlen == 0 || inlen > AUTH_DGRAM_BYTES_MAX) return 0;
    sim_mac_memo_t *m = sim_mac_memo_slot(tag);
    m->len = inlen;
    memcpy(m->key, k, AUTH_KEY_BYTES);
    memcpy(m->tag, tag, AUTH_TAG_BYTES);
    memcpy(m->in, in, (size_t)inlen);
    return 0;
}

static int sim_verify(const unsigned char *tag, const unsigned char *in, unsigned long long inlen,
                      const unsigned char *k) {
    const sim_mac_memo_t *m = sim_mac_memo_slot(tag);
    if (m->len == inlen && inlen > 0 && memcmp(m->tag, tag, AUTH_TAG_BYTES) == 0 &&
        memcmp(m->key, k, AUTH_KEY_BYTES) == 0 && memcmp(m->in, in, (size_t)inlen) == 0)
        return 0; /* sim_mac(in, k) is m->tag, which is tag */
    unsigned char want[AUTH_TAG_BYTES];
    (void)sim_mac(want, in, inlen, k);
    return memcmp(want, tag, AUTH_TAG_BYTES) == 0 ? 0 : -1;
}

static void world_auth_init(world_t *w) {
    w->auth = (auth_t){.mac = sim_mac_sealed, .verify = sim_verify, .key = sim_key};
    w->forger = (auth_t){.mac = sim_mac_sealed, .verify = sim_verify, .key = forge_key};
}

/* STEP_FORGE: the forger sends backend `node` what st->forge says, from serverM's address
 * (the simulated network does not check sources; the real backends' check is no defence,
 * since anyone may bind serverM's port while serverM is down). The datagrams are
 * scenario/forge.h's, which the real hosts' relay sends too; counted forged / replayed. */
static void forge_send(world_t *w, const scn_step_t *st) {
    int b = st->node - 1;
    AC_ASSERT(b >= 0 && b < BACKEND_COUNT);
    trace_event(w, SIM_NODE_M, "forge", &st->forge, 1, "a forger sends server%c: %s",
                backend_letter(b), forge_names[st->forge]);
    if (st->forge == FORGE_REPLAY) {
        if (w->last_m_len[b] > 0) {
            w->res->faults[FAULT_REPLAYED]++;
            link_dgram_send(&w->link, SIM_NODE_M, st->node, w->last_m_dgram[b], w->last_m_len[b]);
        }
        return;
    }
    forge_dgram_t d[FORGE_DGRAMS_MAX];
    /* the backend run's epoch: every reply of it shows the forger on the wire */
    int n = forge_build(&w->forger, b, st->forge, w->incarnation, w->be[b]->epoch, &w->forged_seq, d);
    if (n < 0) {
        w->stop = 1;
        return;
    }
    for (int k = 0; k < n; k++) {
        w->res->faults[FAULT_FORGED]++;
        link_dgram_send(&w->link, SIM_NODE_M, st->node, d[k].data, d[k].len);
    }
}

/* serverM's core between runs: a crash keeps it and the next start resets it (coord_reset:
 * what coord_new would return, without clearing all of it again; the swarm restarts serverM
 * about 1.6 times a seed, and coord_new's memset was 6 % of its instructions). */
static coord_t *spare_coord;

static coord_t *m_coord_take(const coord_config_t *cfg) {
    coord_t *c = spare_coord;
    spare_coord = NULL;
    if (c == NULL) return coord_new(cfg);
    if (coord_reset(c, cfg) == 0) return c;
    coord_free(c);
    return NULL;
}

/* What serverM's core counted of group commit, into the result (at a crash, at the end). */
static void m_stats_collect(world_t *w) {
    coord_stats_t st;
    coord_get_stats(w->coord, &st);
    const sim_group_commit_t g = {.ahead = st.batches_ahead, .caught_up = st.ahead_caught_up,
                                  .discarded = st.ahead_discarded};
    sim_group_commit_add(&w->res->group_commit, &g);
}

static void m_coord_give(coord_t *c) {
    if (spare_coord == NULL) spare_coord = c;
    else coord_free(c);
}

/* The backends' 680 kB tables between runs, likewise: a fresh one is mapped anew whenever
 * the allocator gives the last back to the system, and backend_init's pass over its
 * pending slots then faults its pages in again (35x the page faults of a seed, 0.4 s of
 * kernel time in 5,000 seeds, once batch_t grew by a fifth). backend_init clears what it
 * reads. */
static backend_t *spare_be[BACKEND_COUNT];

static backend_t *be_take(int b) {
    backend_t *x = spare_be[b];
    spare_be[b] = NULL;
    return x != NULL ? x : malloc(sizeof(backend_t));
}

static void be_give(int b, backend_t *x) {
    if (spare_be[b] == NULL) spare_be[b] = x;
    else free(x);
}

static int m_start(world_t *w) {
    coord_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.auth = &w->auth;
    cfg.incarnation = ++w->incarnation;
    cfg.seed = prng_next(&w->rng);
    cfg.timeout_ms = w->scn->timeout_ms;
    for (int b = 0; b < BACKEND_COUNT; b++) cfg.backend_port[b] = backend_port(b);
    cfg.client_port[0] = port_client(0, PORT_OFFSET_DEFAULT);
    cfg.client_port[1] = port_client(1, PORT_OFFSET_DEFAULT);
    cfg.txlist_path = "alichain.txt";
    w->coord = m_coord_take(&cfg);
    if (w->coord == NULL) return AC_ENOMEM;
    sim_node_t *n = &w->node[SIM_NODE_M];
    n->up = 1;
    n->paused = 0;
    n->timer_at = UINT64_MAX;
    trace_event(w, SIM_NODE_M, "start", &cfg.incarnation, sizeof(cfg.incarnation),
                "serverM starts, incarnation %llu", (unsigned long long)cfg.incarnation);
    coord_start(w->coord, w->now_us, &w->out);
    drain_m(w, 0);
    return 0;
}

/* Starts backend b from its durable disk, as the real serverA/B/C do: core decides what
 * the image means, then carries out its recovery steps on the disk. */
static int be_start(world_t *w, int b, char *err, size_t err_cap) {
    backend_t *be = w->be[b];
    simdisk_t *d = &w->disk[b];
    uint64_t epoch = 0;
    while (epoch == 0) epoch = prng_next(&w->epoch_rng); /* 0: once in 2^64 draws */
    backend_init(be, b, epoch);
    backend_set_auth(be, &w->auth);
    blockfile_recovery_t res;
    size_t marker_len;
    const char *marker = simdisk_marker(d, &marker_len);
    int rc = backend_load(be, simdisk_image(d), d->durable_len, marker, marker_len,
                          blockfile_default_name(b), &res, err, err_cap);
    if (rc != 0) {
        backend_free(be);
        return rc;
    }
    int node = b + 1;
    sim_node_t *nd = &w->node[node];
    nd->up = 1;
    nd->paused = 0;
    nd->timer_at = UINT64_MAX;
    w->disk_last_sync_at[b] = 0;
    backend_start(be, simdisk_image(d), &res, blockfile_default_name(b), backend_port(b), &w->out);
    drain_backend(w, b);
    return 0;
}

/* A crash of backend b's machine: what was synced survives; with the disk's torn
 * probability, so does a random part of what was not (at least one byte kept and one
 * lost), which may end in the middle of a line. */
static void disk_crash(world_t *w, int b) {
    simdisk_t *d = &w->disk[b];
    int node = b + 1;
    size_t unsynced = simdisk_unsynced(d);
    w->res->faults[FAULT_UNSYNCED] += d->sync_count;
    size_t keep = disk_fate_keep(&w->rng, &w->faults.disk[b], unsynced);
    int torn = simdisk_crash(d, keep);
    if (torn) w->res->faults[FAULT_TORN]++;
    if (keep > 0)
        trace_event(w, node, "disk-crash", &keep, sizeof(keep), "crash kept %zu of %zu unsynced bytes%s",
                    keep, unsynced, torn ? ": the last line is torn" : "");
    else if (unsynced > 0)
        trace_event(w, node, "disk-crash", &unsynced, sizeof(unsynced), "crash dropped %zu unsynced bytes",
                    unsynced);
}

static void node_crash(world_t *w, int node) {
    sim_node_t *n = &w->node[node];
    if (!n->up) {
        trace_event(w, node, "crash", "down", 4, "crash ignored: already down");
        return;
    }
    w->res->faults[FAULT_CRASHES]++;
    n->up = 0;
    n->paused = 0;
    n->epoch++;
    n->timer_gen++;
    n->timer_at = UINT64_MAX;
    node_drop_parked(w, node);
    trace_event(w, node, "crash", "crash", 5, "crash");
    if (node == SIM_NODE_M) {
        m_stats_collect(w);
        m_coord_give(w->coord);
        w->coord = NULL;
        w->files.partial.len = 0; /* a temporary file, never renamed */
        w->files.partial_open = 0;
        for (uint32_t c = 1; c <= w->link.conn_count; c++) {
            sim_conn_t *cn = conn_get(w, c);
            if (cn->state == CONN_OPEN) {
                cn->m_open = 0;
                link_tcp_reset(&w->link, c, 0, 1);
            }
        }
    } else {
        disk_crash(w, node - 1);
        backend_free(w->be[node - 1]);
    }
    if (w->step_now != EXCUSE_SETTINGS) excuse_fault(&w->ex, w->step_now);
    excuse_begin(&w->ex, TOUCH_DOWN, node, w->step_now, w->now_us);
}

static void node_restart(world_t *w, int node) {
    sim_node_t *n = &w->node[node];
    if (n->up) {
        trace_event(w, node, "restart", "up", 2, "restart ignored: already up");
        return;
    }
    w->res->faults[FAULT_RESTARTS]++;
    n->epoch++;
    if (node == SIM_NODE_M) {
        if (m_start(w) != 0) {
            world_violation(w, "runaway", "out of memory restarting serverM");
            w->stop = 1;
        }
    } else {
        char err[256];
        if (be_start(w, node - 1, err, sizeof(err)) != 0) {
            world_violation(w, "recovery", "server%c cannot restart from its disk: %s",
                            backend_letter(node - 1), err);
        }
    }
    if (n->up) excuse_end(&w->ex, TOUCH_DOWN, node, w->now_us); /* a failed restart stays down */
}

static void node_pause(world_t *w, int node) {
    sim_node_t *n = &w->node[node];
    if (!n->up || n->paused) {
        trace_event(w, node, "pause", "no", 2, "pause ignored: down or paused");
        return;
    }
    w->res->faults[FAULT_PAUSES]++;
    n->paused = 1;
    trace_event(w, node, "pause", "pause", 5, "paused");
    if (w->step_now != EXCUSE_SETTINGS) excuse_fault(&w->ex, w->step_now);
    excuse_begin(&w->ex, TOUCH_PAUSED, node, w->step_now, w->now_us);
}

static void node_resume(world_t *w, int node) {
    sim_node_t *n = &w->node[node];
    if (!n->paused) {
        trace_event(w, node, "resume", "no", 2, "resume ignored: not paused");
        return;
    }
    n->paused = 0;
    trace_event(w, node, "resume", "resume", 6, "resumed with %zu queued inputs", n->parked_count);
    /* the queued inputs run now, in their order of arrival */
    size_t count = n->parked_count;
    n->parked_count = 0;
    for (size_t i = 0; i < count && !w->stop; i++) {
        sim_event_t e = n->parked[i];
        e.at_us = w->now_us;
        world_push(w, &e);
    }
    excuse_end(&w->ex, TOUCH_PAUSED, node, w->now_us);
}

static void link_cut(world_t *w, int from, int to, uint8_t v) {
    w->cut[from][to] = v;
    if (v) w->cut_src[from][to] = w->step_now;
}

static void links_set(world_t *w, const scn_step_t *st, uint8_t v) {
    if (st->node == SIM_NODE_ALL) {
        for (int i = 0; i < SIM_NODES; i++)
            for (int j = 0; j < SIM_NODES; j++) link_cut(w, i, j, i == j ? 0 : v);
        return;
    }
    if (st->node2 == SIM_NODE_ALL) {
        for (int j = 0; j < SIM_NODES; j++) {
            if (j == st->node) continue;
            link_cut(w, st->node, j, v);
            link_cut(w, j, st->node, v);
        }
        return;
    }
    link_cut(w, st->node, st->node2, v);
    if (!st->oneway) link_cut(w, st->node2, st->node, v);
}

static void world_recover(world_t *w) {
    memset(w->cut, 0, sizeof(w->cut));
    for (int n = SIM_NODE_A; n <= SIM_NODE_C; n++) {
        if (!w->node[n].up) node_restart(w, n);
    }
    if (!w->node[SIM_NODE_M].up) node_restart(w, SIM_NODE_M);
    for (int n = 0; n < SIM_SERVERS; n++) {
        if (w->node[n].paused) node_resume(w, n);
    }
    sim_faults_calm(&w->faults);
}

static void script_run(world_t *w, uint32_t si, const uint32_t *step_op) {
    const scn_step_t *st = &w->scn->steps[si];
    if (st->on.type == 0) w->steps_done++;
    else if (!scn_anchor_applies_at_once(st)) w->anchors_due--;
    w->step_now = (int16_t)si;
    switch (st->kind) {
    case STEP_OP:
        op_start(w, step_op[si]);
        break;
    case STEP_CRASH:
        node_crash(w, st->node);
        break;
    case STEP_RESTART:
        node_restart(w, st->node);
        break;
    case STEP_PAUSE:
        node_pause(w, st->node);
        break;
    case STEP_RESUME:
        node_resume(w, st->node);
        break;
    case STEP_PARTITION:
        w->res->faults[FAULT_PARTITIONS]++;
        links_set(w, st, 1);
        excuse_fault(&w->ex, (int)si); /* vacuous in the report if it cuts nothing */
        trace_event(w, SIM_NODE_M, "partition", &st->node, 2, "partition %d %s %d", st->node,
                    st->oneway ? "->" : "<->", st->node2);
        break;
    case STEP_HEAL:
        links_set(w, st, 0);
        trace_event(w, SIM_NODE_M, "heal", &st->node, 2, "heal %d %d", st->node, st->node2);
        break;
    case STEP_RECOVER:
        trace_event(w, SIM_NODE_M, "recover", "recover", 7, "recover everything");
        world_recover(w);
        break;
    case STEP_SESSION:
        session_step(w, st);
        break;
    case STEP_FORGE:
        forge_send(w, st);
        break;
    case STEP_SET: {
        sim_faults_t before = w->faults;
        sim_set_apply(&w->faults, &st->set);
        world_settings_changed(w, &before, (int)si);
        trace_event(w, SIM_NODE_M, "settings", &st->set.what, 1, "fault settings changed (line %u)",
                    st->line);
        break;
    }
    default:
        break;
    }
    w->step_now = EXCUSE_SETTINGS;
}

/* ------------------------------------------------------------------ dispatch */

static void on_timer(world_t *w, const sim_event_t *e) {
    if (e->node == EV_NODE_CLIENT) {
        sim_op_t *op = &w->ops[e->a];
        if (op->state != OP_RUNNING || e->b != op->timer_gen) return;
        op->timer_at = UINT64_MAX;
        client_on_timer(op->cl, w->now_us, &w->out);
        drain_client(w, e->a);
        return;
    }
    sim_node_t *n = &w->node[e->node];
    if (!n->up || e->epoch != n->epoch || e->b != n->timer_gen) return;
    if (!world_gate(w, e->node, e)) return;
    n->timer_at = UINT64_MAX;
    coord_on_timer(w->coord, w->now_us, &w->out);
    drain_m(w, 1);
}

static void on_dgram(world_t *w, const sim_event_t *ev) {
    sim_event_t e = *ev;
    if (!(e.flags & 1)) {
        if (!link_dgram_arrive(&w->link, &e)) return;
        e.flags |= 1; /* arrived at the host: a later partition cannot take it back */
        e.epoch = w->node[e.node].epoch; /* ... but a crash can: it was the process's */
    } else if (!w->node[e.node].up || e.epoch != w->node[e.node].epoch) {
        /* queued while the node was paused, and the node crashed before it ran (a kill -9
         * takes the socket's queue with the process) */
        w->res->faults[FAULT_TO_DOWN]++;
        link_slot_release(&w->link, e.a);
        return;
    }
    if (!world_gate(w, e.node, &e)) return;
    const uint8_t *data = link_slot_bytes(&w->link, e.a);
    trace_flow_recv(w, e.node, e.id, "dgram");
    if (e.node == SIM_NODE_M) {
        coord_on_datagram(w->coord, w->now_us, e.src - 1, data, e.len, &w->out);
        drain_m(w, 0);
    } else {
        backend_on_datagram(w->be[e.node - 1], w->now_us, data, e.len, &w->out);
        drain_backend(w, e.node - 1);
    }
    link_slot_release(&w->link, e.a);
}

static void on_sync(world_t *w, const sim_event_t *e) {
    sim_node_t *n = &w->node[e->node];
    if (!n->up || e->epoch != n->epoch) return;
    if (!world_gate(w, e->node, e)) return;
    int b = e->node - 1;
    simdisk_t *d = &w->disk[b];
    if (d->sync_count == 0 || d->syncs[0].token != e->b) return; /* its append was cut away */
    if (disk_fate_sync(&w->rng, &w->faults.disk[b]) != DISK_FATE_OK) {
        /* nothing it covers is durable, and never retried: the backend cuts them away */
        disk_error(w, b, DISK_FATE_EIO, "sync", e->b);
        backend_on_disk_error(w->be[b], w->now_us, e->b, BACKEND_DISK_IOERR, &w->out);
        drain_backend(w, b);
        return;
    }
    uint64_t token = simdisk_sync_next(d);
    AC_ASSERT(token == e->b);
    trace_event(w, e->node, "synced", &e->b, sizeof(e->b), "token %llu durable (%zu bytes)",
                (unsigned long long)e->b, w->disk[b].durable_len);
    backend_on_durable(w->be[b], w->now_us, e->b, &w->out);
    drain_backend(w, b);
}

static void on_file(world_t *w, const sim_event_t *e) {
    sim_node_t *n = &w->node[SIM_NODE_M];
    if (!n->up || e->epoch != n->epoch) return;
    if (!world_gate(w, SIM_NODE_M, e)) return;
    w->files.current = e->a;
    trace_event(w, SIM_NODE_M, "file-done", &e->a, sizeof(e->a), "alichain.txt is version %u", e->a);
    coord_on_file_written(w->coord, w->now_us, e->b, 1, &w->out);
    drain_m(w, 0);
}

static void dispatch(world_t *w, const sim_event_t *e, const uint32_t *step_op) {
    switch (e->kind) {
    case EV_SCRIPT: script_run(w, e->a, step_op); break;
    case EV_DGRAM: on_dgram(w, e); break;
    case EV_TIMER: on_timer(w, e); break;
    case EV_SYNC: on_sync(w, e); break;
    case EV_FILE: on_file(w, e); break;
    default: link_on_event(&w->link, e); break;
    }
}

static int world_quiet(world_t *w) {
    if (w->steps_done < w->steps_timed || w->anchors_due > 0 || w->ops_running || w->inflight || w->disk_pending)
        return 0;
    if (parked_total(w) != 0) return 0;
    return w->coord == NULL || coord_idle(w->coord);
}

/* ------------------------------------------------------------------ report */

static void report_ops(world_t *w, FILE *f) {
    for (uint32_t i = 0; i < w->op_count; i++) {
        const sim_op_t *op = &w->ops[i];
        const scn_step_t *st = op->step;
        fprintf(f, "op %s: ", st->label);
        if (st->keepalive) fputs("keepalive ", f);
        else if (st->session[0] != '\0') fprintf(f, "on %s ", st->session);
        fprintf(f, "client%c", st->client ? 'B' : 'A');
        for (int k = 0; k < st->argc; k++) fprintf(f, " %s", st->argv[k]);
        if (op->state == OP_DONE) {
            fprintf(f, "  [%.6fs .. %.6fs] exit %d", (double)op->inv_us / 1e6,
                    (double)op->resp_us / 1e6, op->exit_code);
            if (op->touches > 0) fprintf(f, "  touches %llu", (unsigned long long)op->touches);
            fputc('\n', f);
        } else if (op->state == OP_RUNNING) {
            fprintf(f, "  [%.6fs .. ] still running\n", (double)op->inv_us / 1e6);
        } else {
            fprintf(f, "  never started\n");
        }
        if (!w->opts->verbose) continue;
        const sim_buf_t *bufs[2] = {&op->out, &op->err};
        for (int k = 0; k < 2; k++) {
            size_t pos = 0;
            while (pos < bufs[k]->len) {
                const char *s = (const char *)bufs[k]->p + pos;
                const char *nl = memchr(s, '\n', bufs[k]->len - pos);
                size_t len = nl ? (size_t)(nl - s) : bufs[k]->len - pos;
                fprintf(f, "    %s %.*s\n", k ? "stderr:" : "stdout:", (int)len, s);
                pos += len + 1;
            }
        }
    }
}

static void report_print(world_t *w) {
    FILE *f = w->opts->report;
    sim_result_t *r = w->res;
    if (f == NULL) return;
    report_ops(w, f);
    fprintf(f, "ops: %u (ok %u, refused %u, usage %u, failed %u, pending %u)\n", r->ops, r->ops_ok,
            r->ops_refused, r->ops_usage, r->ops_failed, r->ops_pending);
    fprintf(f, "faults: dgrams=%llu", (unsigned long long)r->faults[FAULT_DGRAMS]);
    for (int k = 1; k < FAULT_COUNT; k++)
        fprintf(f, " %s=%llu", sim_fault_names[k], (unsigned long long)r->faults[k]);
    fputc('\n', f);
    excuse_report(&w->ex, f);
    scn_fired_report(&r->fired, w->scn, f);
    double wall = (double)r->wall_us / 1e6;
    fprintf(f, "events: %llu  virtual: %.6fs  wall: %.3fs\n", (unsigned long long)r->events,
            (double)r->virtual_us / 1e6, wall);
    uint32_t shown = r->violation_count < SIM_VIOLATIONS_MAX ? r->violation_count : SIM_VIOLATIONS_MAX;
    for (uint32_t i = 0; i < shown; i++) {
        const sim_violation_t *v = &r->violations[i];
        fprintf(f, "violation: %s at t=%.6fs (seed %llu): %s\n", v->checker, (double)v->at_us / 1e6,
                (unsigned long long)r->seed, v->message);
    }
    if (r->violation_count > shown)
        fprintf(f, "violation: ... and %u more\n", r->violation_count - shown);
    if (w->expect_log.len > 0) fwrite(w->expect_log.p, 1, w->expect_log.len, f);
    if (r->violation_count > 0 && w->opts->repro != NULL)
        fprintf(f, "reproduce: %s\n", w->opts->repro);
}

/* ------------------------------------------------------------------ the run */

static void world_free(world_t *w) {
    session_free(w);
    for (uint32_t i = 0; i < w->op_count; i++) {
        if (w->ops[i].cl != NULL) client_free(w->ops[i].cl);
        buf_free(&w->ops[i].out);
        buf_free(&w->ops[i].err);
    }
    free(w->ops);
    buf_free(&w->expect_log);
    buf_free(&w->sent_log);
    if (w->coord != NULL) m_coord_give(w->coord);
    for (int b = 0; b < BACKEND_COUNT; b++) {
        if (w->be[b] != NULL) {
            if (w->node[b + 1].up) backend_free(w->be[b]);
            be_give(b, w->be[b]);
        }
        simdisk_free(&w->disk[b]);
    }
    for (uint32_t v = 0; v < w->files.count; v++) buf_free(&w->files.versions[v]);
    buf_free(&w->files.partial);
    free(w->files.versions);
    for (int n = 0; n < SIM_SERVERS; n++) free(w->node[n].parked);
    link_free(&w->link);
    excuse_free(&w->ex);
    evq_free(&w->q);
    outbox_free(&w->out);
    free(w);
}

int sim_run(const scenario_t *s, const sim_options_t *opts_in, sim_result_t *res) {
    static const sim_options_t no_opts;
    const sim_options_t *opts = opts_in != NULL ? opts_in : &no_opts;
    memset(res, 0, sizeof(*res));
    uint64_t wall0 = proc_now_us();
    world_t *w = calloc(1, sizeof(*w));
    uint32_t *step_op = calloc(s->step_count + 1, sizeof(uint32_t));
    if (w == NULL || step_op == NULL) {
        free(w);
        free(step_op);
        return AC_ENOMEM;
    }
    w->scn = s;
    w->opts = opts;
    w->res = res;
    if (scn_fired_init(&res->fired, s) != 0) { /* the parser refuses such a scenario */
        free(w);
        free(step_op);
        return AC_ERANGE;
    }
    res->seed = opts->has_seed_override ? opts->seed_override : s->seed;
    prng_init(&w->rng, res->seed);
    prng_init(&w->epoch_rng, res->seed ^ 0x65706f6368ull); /* "epoch" */
    world_auth_init(w);
    outbox_init(&w->out);
    evq_init(&w->q);
    w->faults = s->faults;
    if (excuse_init(&w->ex, s) != 0) {
        free(w);
        free(step_op);
        return AC_ENOMEM;
    }
    w->step_now = w->tcp_src = EXCUSE_SETTINGS;
    for (int i = 0; i < SIM_NODES; i++)
        for (int j = 0; j < SIM_NODES; j++) w->cut_src[i][j] = EXCUSE_SETTINGS;
    for (int i = 0; i < SIM_SERVERS; i++)
        for (int j = 0; j < SIM_SERVERS; j++) w->udp_src[i][j] = EXCUSE_SETTINGS;
    for (int b = 0; b < BACKEND_COUNT; b++) w->disk_src[b] = EXCUSE_SETTINGS;
    world_link_init(w);
    trace_open(w);
    int rc = 0;
    for (size_t i = 0; i < s->step_count; i++) {
        if (s->steps[i].kind == STEP_OP) {
            step_op[i] = w->op_count;
            w->op_count++;
        }
    }
    w->ops = calloc(w->op_count + 1, sizeof(sim_op_t));
    if (w->ops == NULL) rc = AC_ENOMEM;
    for (size_t i = 0, k = 0; rc == 0 && i < s->step_count; i++) {
        if (s->steps[i].kind == STEP_OP) w->ops[k++].step = &s->steps[i];
    }
    if (rc == 0) rc = session_init(w);
    /* version 0 of alichain.txt: "no file" */
    w->files.versions = calloc(8, sizeof(sim_buf_t));
    w->files.cap = 8;
    w->files.count = 1;
    if (w->files.versions == NULL) rc = AC_ENOMEM;
    for (int b = 0; rc == 0 && b < BACKEND_COUNT; b++) {
        w->be[b] = be_take(b);
        if (w->be[b] == NULL || simdisk_init(&w->disk[b], s->block[b], s->block_len[b]) != 0) rc = AC_ENOMEM;
    }
    for (int b = 0; rc == 0 && b < BACKEND_COUNT; b++) {
        char err[300];
        if (be_start(w, b, err, sizeof(err)) != 0) {
            snprintf(res->first_failure, sizeof(res->first_failure),
                     "server%c refuses to start: %s", backend_letter(b), err);
            w->node[b + 1].up = 0;
            rc = AC_EINVAL;
        }
    }
    if (rc == 0 && m_start(w) != 0) rc = AC_ENOMEM;
    for (size_t i = 0; rc == 0 && i < s->step_count; i++) {
        if (s->steps[i].on.type != 0) continue; /* fired by its event (dgram_send) */
        w->steps_timed++;
        sim_event_t e = {.kind = EV_SCRIPT, .at_us = s->steps[i].at_us, .a = (uint32_t)i};
        if (world_push(w, &e) != 0) rc = AC_ENOMEM;
    }
    uint64_t events_max = opts->events_max ? opts->events_max : SIM_EVENTS_MAX_DEFAULT;
    while (rc == 0 && !w->stop) {
        uint64_t next = evq_next_us(&w->q);
        if (next == UINT64_MAX || next > s->run_us) break;
        sim_event_t e;
        evq_pop(&w->q, &e);
        w->now_us = e.at_us;
        counters_on_pop(w, &e);
        w->events++;
        dispatch(w, &e, step_op);
        if (s->until_quiet && world_quiet(w)) break;
        if (w->events >= events_max) {
            world_violation(w, "runaway", "more than %llu events", (unsigned long long)events_max);
            break;
        }
    }
    if (rc == 0) {
        if (!s->until_quiet) w->now_us = s->run_us > w->now_us ? s->run_us : w->now_us;
        for (uint32_t i = 0; i < w->op_count; i++) {
            sim_op_t *op = &w->ops[i];
            res->ops++;
            uint64_t bound = op->ka != NULL ? UINT64_MAX : excuse_bound_us(&w->ex, op->inv_us);
            if (op->state == OP_RUNNING && w->now_us > bound) {
                world_violation(w, "liveness", "%s still running at the end (%.6fs), past its "
                                "bound %.6fs", op->step->label, (double)w->now_us / 1e6,
                                (double)bound / 1e6);
            }
            if (op->state != OP_DONE) res->ops_pending++;
            else if (op->exit_code == 0) res->ops_ok++;
            else if (op->exit_code == 1) res->ops_refused++;
            else if (op->exit_code == 2) res->ops_usage++;
            else res->ops_failed++;
        }
        world_check_final(w);
    }
    if (w->coord != NULL) m_stats_collect(w);
    res->events = w->events;
    res->virtual_us = w->now_us;
    res->trace_hash = w->trace.hash;
    res->verdict = (res->violation_count > 0 || res->expects_failed > 0 || rc != 0) ? 1 : 0;
    res->wall_us = proc_now_us() - wall0;
    if (rc == 0) report_print(w);
    for (uint32_t i = 0; rc == 0 && w->opts->on_op != NULL && i < w->op_count; i++) {
        const sim_op_t *op = &w->ops[i];
        sim_op_view_t v = {.step = op->step, .state = op->state, .exit_code = op->exit_code,
                           .inv_us = op->inv_us, .resp_us = op->resp_us, .touches = op->touches,
                           .drawn = op->drawn, .out = (const char *)op->out.p,
                           .out_len = op->out.len, .err = (const char *)op->err.p, .err_len = op->err.len,
                           .model = op->model};
        w->opts->on_op(w->opts->hook_ctx, &v);
    }
    trace_close(w);
    world_free(w);
    free(step_op);
    return rc != 0 ? rc : res->verdict;
}
