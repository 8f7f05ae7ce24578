/* nodes.c — the small in-process harness of the node state machines (nodes.h). Effects are
 * carried out in order as they come; a node's effects may call into another node (a reply
 * reaching a client at once), so drain() takes the outbox before it walks it. */
#include "nodes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "ports.h"

#define NODES_RUN_STEPS_MAX 200000  /* deliveries and timer calls in one nodes_run */
#define NODES_HEAL_ROUNDS 400       /* 50 ms each: 20 s of a healed network */
#define NODES_HEAL_STEP_US 50000

static void nodes_fail(nodes_t *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void nodes_fail(nodes_t *n, const char *fmt, ...) {
    if (n->failures++ > 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->failure, sizeof(n->failure), fmt, ap);
    va_end(ap);
}

static void drain(nodes_t *n, int src);

/* Outboxes outlive a drain and a nodes_t: drain() gives the outbox it walked back here
 * (emptied, its arrays kept) and takes the next one from here, so that the thousands of
 * drains of a fuzz input allocate nothing once the arrays have grown (a fresh pair of
 * arrays per drain cost fuzz_nodes 8% under perf). Drains nest only a few deep (an effect
 * calls into another node); past NODES_OUTBOX_SPARES an outbox is freed. One thread. */
#define NODES_OUTBOX_SPARES 16
static outbox_t spare_out[NODES_OUTBOX_SPARES];
static int spare_out_count;

static void nodes_outbox_take(outbox_t *o) {
    if (spare_out_count > 0) *o = spare_out[--spare_out_count];
    else outbox_init(o);
}

static void nodes_outbox_give(outbox_t *o) {
    if (spare_out_count < NODES_OUTBOX_SPARES) {
        outbox_clear(o);
        spare_out[spare_out_count++] = *o;
        outbox_init(o);
    } else {
        outbox_free(o);
    }
}

static void nodes_line(sim_buf_t *b, const uint8_t *d, size_t len) {
    buf_append(b, d, len);
    buf_append(b, "\n", 1);
}

static void nodes_sync_done(nodes_t *n, int b) {
    uint64_t token = simdisk_sync_next(&n->disk[b]);
    if (!n->be_up[b]) return;
    backend_on_durable(&n->be[b], n->now, token, &n->out);
    drain(n, b);
}

static void nodes_file_done(nodes_t *n, int ok) {
    n->file_pending = 0;
    coord_on_file_written(n->m, n->now, n->file_token, ok, &n->out);
    drain(n, NODES_SRC_M);
}

static void nodes_queue(nodes_t *n, int to_coord, int node, const uint8_t *d, size_t len) {
    if (n->drop_to[to_coord ? BACKEND_COUNT : node] || n->queued >= n->queue_max) return;
    nodes_dgram_t *g = &n->queue[n->queued++]; /* a free slot: see nodes_dgram_t */
    g->to_coord = to_coord;
    g->node = node;
    g->len = len;
    memcpy(g->data, d, len);
}

static void nodes_storage(nodes_t *n, int b, const fx_t *f, const uint8_t *d) {
    simdisk_t *disk = &n->disk[b];
    int rc = simdisk_apply(disk, f, d);
    if (rc < 0) {
        nodes_fail(n, "server%c: storage effect %d failed (%d)", backend_letter(b), (int)f->kind, rc);
        return;
    }
    if (rc == 0) return;
    disk->syncs[disk->sync_count - 1].seq = ++n->seq;
    if (n->sync_at_once[b]) nodes_sync_done(n, b);
}

static void nodes_conn_send(nodes_t *n, int src, const fx_t *f, const uint8_t *d) {
    if (src == NODES_SRC_M) {
        if (f->target < 1 || f->target > NODES_CONNS_MAX || !n->conn[f->target].open) {
            nodes_fail(n, "serverM wrote to connection %u, which it does not hold", f->target);
            return;
        }
        nodes_conn_t *c = &n->conn[f->target];
        if (c->cl != NULL && !c->done) {
            client_on_data(c->cl, n->now, d, f->data_len, &n->out);
            drain(n, NODES_SRC_CLIENT0 + (int)f->target);
        }
        coord_on_conn_sent(n->m, n->now, f->target, f->data_len, &n->out); /* taken at once */
        drain(n, NODES_SRC_M);
        return;
    }
    uint32_t conn = (uint32_t)(src - NODES_SRC_CLIENT0);
    if (n->conn[conn].open) {
        coord_on_conn_data(n->m, n->now, conn, d, f->data_len, &n->out);
        drain(n, NODES_SRC_M);
    }
}

static void nodes_conn_close(nodes_t *n, int src, const fx_t *f) {
    if (src != NODES_SRC_M) { /* a client that is done closes its socket: serverM hears EOF */
        uint32_t conn = (uint32_t)(src - NODES_SRC_CLIENT0);
        if (n->conn[conn].open) nodes_conn_end(n, conn, 0);
        return;
    }
    if (f->target < 1 || f->target > NODES_CONNS_MAX || !n->conn[f->target].open) {
        nodes_fail(n, "serverM closed connection %u, which it does not hold", f->target);
        return;
    }
    nodes_conn_t *c = &n->conn[f->target];
    c->open = 0;
    if (c->cl != NULL && !c->done) {
        client_on_closed(c->cl, n->now, &n->out);
        drain(n, NODES_SRC_CLIENT0 + (int)f->target);
    }
}

/* Carries out the effects node `src` left in n->out, in order. */
static void drain(nodes_t *n, int src) {
    outbox_t o = n->out; /* take the effects; what they call into fills another outbox */
    nodes_outbox_take(&n->out);
    if (o.failed) nodes_fail(n, "an outbox ran out of memory");
    for (size_t i = 0; i < o.fx_count; i++) {
        const fx_t *f = &o.fx[i];
        const uint8_t *d = outbox_bytes(&o, f);
        if (n->hook != NULL) n->hook(n->hook_ctx, src, f, d);
        switch (f->kind) {
        case FX_DGRAM:
            if (src == NODES_SRC_M && f->target < BACKEND_COUNT) nodes_queue(n, 0, (int)f->target, d, f->data_len);
            else if (src >= 0 && src < BACKEND_COUNT && f->target == 0) nodes_queue(n, 1, src, d, f->data_len);
            else nodes_fail(n, "node %d sent a datagram to peer %u", src, f->target);
            break;
        case FX_CONN_SEND:
            nodes_conn_send(n, src, f, d);
            break;
        case FX_CONN_CLOSE:
            nodes_conn_close(n, src, f);
            break;
        case FX_CONN_READ: /* every byte is taken at once: a stop ends with this drain */
            if (src != NODES_SRC_M || f->target < 1 || f->target > NODES_CONNS_MAX || !n->conn[f->target].open)
                nodes_fail(n, "node %d stopped or resumed reading connection %u", src, f->target);
            break;
        case FX_FILE_WRITE:
            if (src != NODES_SRC_M || n->file_pending) {
                nodes_fail(n, "a second TXLIST write while one is pending");
                break;
            }
            if (f->arg == FX_FILE_ABORT) {
                n->file_partial.len = 0;
                break;
            }
            buf_append(&n->file_partial, d, f->data_len);
            if (f->arg == FX_FILE_MORE) break;
            n->txlist.len = 0;
            buf_append(&n->txlist, n->file_partial.p, n->file_partial.len);
            n->file_partial.len = 0;
            n->file_pending = 1;
            n->file_token = f->token;
            n->file_seq = ++n->seq;
            if (n->file_at_once) nodes_file_done(n, 1);
            break;
        case FX_STDOUT:
            if (src == NODES_SRC_M) nodes_line(&n->m_out, d, f->data_len);
            if (src >= NODES_SRC_CLIENT0) nodes_line(&n->conn[src - NODES_SRC_CLIENT0].out, d, f->data_len);
            break;
        case FX_STDERR:
            break;
        case FX_DONE:
            if (src < NODES_SRC_CLIENT0) {
                nodes_fail(n, "node %d reported FX_DONE", src);
                break;
            }
            n->conn[src - NODES_SRC_CLIENT0].done = 1;
            n->conn[src - NODES_SRC_CLIENT0].exit_code = (int)f->arg;
            break;
        default:
            if (src >= 0 && src < BACKEND_COUNT && simdisk_is_storage(f->kind)) nodes_storage(n, src, f, d);
            else nodes_fail(n, "node %d emitted an effect of kind %d", src, (int)f->kind);
            break;
        }
    }
    nodes_outbox_give(&o);
}

/* Appends a copy of every effect of src to dst (a failure sets dst->failed). */
static void nodes_outbox_append(outbox_t *dst, const outbox_t *src) {
    for (size_t i = 0; i < src->fx_count; i++) {
        const fx_t *f = &src->fx[i];
        fx_t *g = outbox_push(dst, f->kind, f->target, f->token, outbox_bytes(src, f), f->data_len);
        if (g != NULL) g->arg = f->arg;
    }
}

/* A backend's first start from its hand-written block, as nodes_init made it, kept for the
 * next nodes_init with the same block: the loaded backend (backend_copy) and the effects of
 * its start, carried out again in their order. The fuzzers start three backends per input,
 * thousands a second, and loading them again (parsing, building the index) under ASan and
 * libFuzzer's comparison tracing was 10% of fuzz_nodes. A restart from the disk is never
 * copied: its recovery is what it tests. One thread. */
typedef struct {
    char *block;                    /* the block's text (NULL: nothing kept) */
    uint64_t epoch;                 /* its start's (nodes_init: 1, 2, 3 for A, B, C) */
    backend_t be;                   /* loaded, before any datagram */
    outbox_t fx;                    /* what backend_start asked for */
} nodes_first_start_t;

static nodes_first_start_t first_start[BACKEND_COUNT];

static void nodes_first_start_keep(nodes_first_start_t *k, const char *block, const backend_t *be,
                                   const outbox_t *fx) {
    if (k->block != NULL) backend_free(&k->be);
    free(k->block);
    outbox_free(&k->fx);
    size_t len = strlen(block);
    k->block = malloc(len + 1);
    if (k->block == NULL) return;
    memcpy(k->block, block, len + 1);
    k->epoch = be->epoch;
    nodes_outbox_append(&k->fx, fx);
    if (k->fx.failed || backend_copy(&k->be, be) != 0) {
        outbox_free(&k->fx);
        free(k->block);
        k->block = NULL;
    }
}

/* Starts backend b from its disk; block: the hand-written text nodes_init gave it (its
 * first start), else NULL. Returns 0 or the recovery's error (n->failure). */
static int nodes_backend_start(nodes_t *n, int b, const char *block) {
    nodes_first_start_t *k = &first_start[b];
    if (block != NULL && k->block != NULL && k->epoch == n->be_starts + 1 &&
        strcmp(k->block, block) == 0) {
        if (backend_copy(&n->be[b], &k->be) != 0) {
            nodes_fail(n, "server%c cannot start: out of memory", backend_letter(b));
            return AC_ENOMEM;
        }
        n->be_starts++;
        n->be_up[b] = 1;
        nodes_outbox_append(&n->out, &k->fx);
        drain(n, b);
        return 0;
    }
    simdisk_t *d = &n->disk[b];
    blockfile_recovery_t res;
    size_t marker_len;
    const char *marker = simdisk_marker(d, &marker_len);
    char err[NODES_FAILURE_BYTES];
    backend_init(&n->be[b], b, ++n->be_starts); /* a fresh epoch each start, never 0 */
    int rc = backend_load(&n->be[b], simdisk_image(d), d->durable_len, marker, marker_len,
                          blockfile_default_name(b), &res, err, sizeof(err));
    if (rc != 0) {
        backend_free(&n->be[b]);
        nodes_fail(n, "server%c cannot start: %s", backend_letter(b), err);
        return rc;
    }
    n->be_up[b] = 1;
    AC_ASSERT(block == NULL || n->out.fx_count == 0); /* kept: the start's effects alone */
    backend_start(&n->be[b], simdisk_image(d), &res, blockfile_default_name(b),
                  port_backend(b, PORT_OFFSET_DEFAULT), &n->out);
    if (block != NULL) nodes_first_start_keep(k, block, &n->be[b], &n->out);
    drain(n, b);
    return 0;
}

int nodes_backend_restart(nodes_t *n, int b, size_t keep) {
    if (n->be_up[b]) {
        backend_free(&n->be[b]);
        n->be_up[b] = 0;
    }
    size_t unsynced = simdisk_unsynced(&n->disk[b]);
    simdisk_crash(&n->disk[b], keep < unsynced ? keep : unsynced);
    return nodes_backend_start(n, b, NULL);
}

/* Everything of n but the backends' tables (1.1 MB a fuzz input: backend_init clears what
 * a start needs, as for the real programs). */
static void nodes_clear(nodes_t *n) {
    memset(n, 0, offsetof(nodes_t, be));
    memset(&n->be_up, 0, sizeof(*n) - offsetof(nodes_t, be_up));
}

/* serverM's memory outlives a nodes_t: the fuzzers start one per input, thousands a second,
 * and a fresh 6.5 MB a time (mapped, faulted in, unmapped) cost them most of their time. */
static coord_t *spare_coord;
/* So does the network's: the queue and its arena (40 kB for fuzz_nodes' 32 datagrams). */
static nodes_dgram_t *spare_queue;
static uint8_t *spare_arena;
static size_t spare_queue_max;

void nodes_coord_restart(nodes_t *n) {
    coord_config_t cfg = {.incarnation = ++n->incarnation, .seed = n->incarnation,
                          .timeout_ms = n->timeout_ms,
                          .backend_port = {port_backend(0, PORT_OFFSET_DEFAULT),
                                           port_backend(1, PORT_OFFSET_DEFAULT),
                                           port_backend(2, PORT_OFFSET_DEFAULT)},
                          .client_port = {port_client(0, PORT_OFFSET_DEFAULT),
                                          port_client(1, PORT_OFFSET_DEFAULT)},
                          .txlist_path = "alichain.txt"};
    if (n->m == NULL && spare_coord != NULL) {
        n->m = spare_coord;
        spare_coord = NULL;
    }
    if (n->m == NULL) {
        n->m = coord_new(&cfg);
        AC_ASSERT(n->m != NULL);
    } else {
        int rc = coord_reset(n->m, &cfg); /* what it held is freed, as a crash would */
        AC_ASSERT(rc == 0);
    }
    for (uint32_t c = 1; c <= NODES_CONNS_MAX; c++) {
        if (!n->conn[c].open) continue;
        n->conn[c].open = 0; /* a client sees its connection reset */
        if (n->conn[c].cl != NULL && !n->conn[c].done) {
            client_on_closed(n->conn[c].cl, n->now, &n->out);
            drain(n, NODES_SRC_CLIENT0 + (int)c);
        }
    }
    n->file_pending = 0; /* its file write died with it */
    n->file_partial.len = 0;
    coord_start(n->m, n->now, &n->out);
    drain(n, NODES_SRC_M);
}

int nodes_init(nodes_t *n, const char *const blocks[BACKEND_COUNT], uint64_t incarnation,
               uint32_t timeout_ms, size_t queue_max) {
    nodes_clear(n);
    nodes_outbox_take(&n->out);
    n->incarnation = incarnation - 1;
    n->timeout_ms = timeout_ms;
    n->queue_max = queue_max;
    n->file_at_once = 1;
    n->now = 1000000;
    if (spare_queue != NULL && spare_queue_max == queue_max) {
        n->queue = spare_queue; /* its records still hold every slot once */
        n->dgram_arena = spare_arena;
        spare_queue = NULL;
        spare_arena = NULL;
    } else {
        n->queue = calloc(queue_max + 1, sizeof(nodes_dgram_t));
        n->dgram_arena = malloc((queue_max + 1) * DGRAM_BYTES_MAX);
        if (n->queue == NULL || n->dgram_arena == NULL) return AC_ENOMEM;
        for (size_t i = 0; i <= queue_max; i++) n->queue[i].data = n->dgram_arena + i * DGRAM_BYTES_MAX;
    }
    for (int b = 0; b < BACKEND_COUNT; b++) {
        n->sync_at_once[b] = 1;
        if (simdisk_init(&n->disk[b], blocks[b], strlen(blocks[b])) != 0) return AC_ENOMEM;
    }
    for (int b = 0; b < BACKEND_COUNT; b++) {
        int rc = nodes_backend_start(n, b, blocks[b]);
        if (rc != 0) return rc;
    }
    nodes_coord_restart(n);
    return 0;
}

void nodes_free(nodes_t *n) {
    if (spare_coord == NULL) spare_coord = n->m; /* coord_reset frees what it still holds */
    else coord_free(n->m);
    for (int b = 0; b < BACKEND_COUNT; b++) {
        if (n->be_up[b]) backend_free(&n->be[b]);
        simdisk_free(&n->disk[b]);
    }
    for (uint32_t c = 0; c <= NODES_CONNS_MAX; c++) {
        if (n->conn[c].cl != NULL) client_free(n->conn[c].cl);
        buf_free(&n->conn[c].out);
    }
    buf_free(&n->txlist);
    buf_free(&n->file_partial);
    buf_free(&n->m_out);
    nodes_outbox_give(&n->out);
    if (spare_queue == NULL && n->queue != NULL && n->dgram_arena != NULL) {
        spare_queue = n->queue;
        spare_arena = n->dgram_arena;
        spare_queue_max = n->queue_max;
    } else {
        free(n->queue);
        free(n->dgram_arena);
    }
    nodes_clear(n);
}

void nodes_deliver(nodes_t *n, int to_coord, int node, const uint8_t *data, size_t len) {
    /* an exact-size copy, so that ASan sees a read past its end; made before anything runs,
     * since data may be a queue slot that the delivery's own datagrams take */
    uint8_t *copy = malloc(len == 0 ? 1 : len);
    AC_ASSERT(copy != NULL);
    memcpy(copy, data, len);
    if (to_coord) {
        coord_on_datagram(n->m, n->now, node, copy, len, &n->out);
        drain(n, NODES_SRC_M);
    } else if (n->be_up[node]) {
        backend_on_datagram(&n->be[node], n->now, copy, len, &n->out);
        drain(n, node);
    }
    free(copy);
}

void nodes_deliver_queued(nodes_t *n, size_t i, int drop) {
    AC_ASSERT(i < n->queued);
    nodes_dgram_t g = n->queue[i];
    memmove(&n->queue[i], &n->queue[i + 1], (n->queued - i - 1) * sizeof(g));
    n->queue[--n->queued] = g; /* its slot is free again: the next datagram queued takes it, */
    if (!drop) nodes_deliver(n, g.to_coord, g.node, g.data, g.len); /* after this copied it */
}

int nodes_complete(nodes_t *n, unsigned pick, int file_ok) {
    int best = -2; /* -1: the file write; 0..2: a backend's oldest sync */
    uint64_t best_seq = UINT64_MAX;
    if (n->file_pending && (pick == 0 || pick == 4)) {
        best = -1;
        best_seq = n->file_seq;
    }
    for (int b = 0; b < BACKEND_COUNT; b++) {
        const simdisk_t *d = &n->disk[b];
        if (d->sync_count > 0 && (pick == 0 || pick == (unsigned)b + 1) && d->syncs[0].seq < best_seq) {
            best = b;
            best_seq = d->syncs[0].seq;
        }
    }
    if (best == -2) return 0;
    if (best == -1) nodes_file_done(n, file_ok);
    else nodes_sync_done(n, best);
    return 1;
}

void nodes_timer(nodes_t *n, uint64_t now_us) {
    if (now_us > n->now) n->now = now_us;
    coord_on_timer(n->m, n->now, &n->out);
    drain(n, NODES_SRC_M);
}

void nodes_conn_open(nodes_t *n, uint32_t conn, int client_index) {
    AC_ASSERT(conn >= 1 && conn <= NODES_CONNS_MAX);
    AC_ASSERT(!n->conn[conn].open);
    n->conn[conn].open = 1;
    (void)coord_on_conn_open(n->m, n->now, conn, client_index, &n->out); /* AC_EFULL: BUSY, close */
    drain(n, NODES_SRC_M);
}

void nodes_conn_data(nodes_t *n, uint32_t conn, const uint8_t *data, size_t len) {
    AC_ASSERT(n->conn[conn].open);
    coord_on_conn_data(n->m, n->now, conn, data, len, &n->out);
    drain(n, NODES_SRC_M);
}

void nodes_conn_end(nodes_t *n, uint32_t conn, int reset) {
    AC_ASSERT(n->conn[conn].open);
    if (reset) {
        n->conn[conn].open = 0;
        coord_on_conn_reset(n->m, n->now, conn, &n->out);
    } else {
        coord_on_conn_eof(n->m, n->now, conn, &n->out);
    }
    drain(n, NODES_SRC_M);
}

uint32_t nodes_client(nodes_t *n, int client_index, int argc, const char *const *argv) {
    wire_creq_t req;
    char err[128];
    if (client_parse_argv(argc, argv, &req, err, sizeof(err)) != 0) return 0;
    uint32_t c = 1;
    while (c <= NODES_CONNS_MAX && (n->conn[c].open || n->conn[c].cl != NULL)) c++;
    if (c > NODES_CONNS_MAX) return 0;
    nodes_conn_t *k = &n->conn[c];
    k->cl = client_new(client_index, &req, CLIENT_TIMEOUT_MS_DEFAULT);
    AC_ASSERT(k->cl != NULL);
    client_start(k->cl, n->now, &n->out);
    drain(n, NODES_SRC_CLIENT0 + (int)c);
    nodes_conn_open(n, c, client_index);
    client_on_connected(k->cl, n->now, &n->out);
    drain(n, NODES_SRC_CLIENT0 + (int)c);
    return c;
}

static int nodes_clients_done(const nodes_t *n) {
    for (uint32_t c = 1; c <= NODES_CONNS_MAX; c++) {
        if (n->conn[c].cl != NULL && !n->conn[c].done) return 0;
    }
    return 1;
}

int nodes_run(nodes_t *n, int clients_only) {
    for (int steps = 0; steps < NODES_RUN_STEPS_MAX; steps++) {
        if (n->queued > 0) {
            nodes_deliver_queued(n, 0, 0);
            continue;
        }
        uint64_t t = coord_deadline_us(n->m);
        int done = nodes_clients_done(n);
        if (done && (clients_only || coord_idle(n->m))) return 0;
        if (t == UINT64_MAX) return done ? 0 : -1;
        nodes_timer(n, t);
    }
    return -1;
}

int nodes_heal(nodes_t *n) {
    for (int round = 0; round < NODES_HEAL_ROUNDS; round++) {
        int pending = n->file_pending;
        for (int b = 0; b < BACKEND_COUNT; b++) pending |= n->disk[b].sync_count > 0;
        if (coord_idle(n->m) && n->queued == 0 && !pending) return 1;
        while (nodes_complete(n, 0, 1)) {
        }
        for (size_t k = n->queued; k > 0 && n->queued > 0; k--) nodes_deliver_queued(n, 0, 0);
        nodes_timer(n, n->now + NODES_HEAL_STEP_US);
    }
    return 0;
}
