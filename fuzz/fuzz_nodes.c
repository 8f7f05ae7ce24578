/* fuzz_nodes.c — libFuzzer target for the node state machines (backend.c, coordinator.c).
 * The input is a sequence of steps (an op byte, then its operands): raw datagrams and
 * client bytes in, time passing, syncs and file writes completing, a little network
 * carrying the nodes' own datagrams that the fuzzer delivers, duplicates, corrupts or
 * drops, and serverM and backend crashes/restarts (backends from their disk image, maybe
 * with a torn unsynced append). No input may crash or trip an assertion; every effect must
 * be well-formed (datagrams decode, client replies are reply lines, appends and the TXLIST
 * file are block lines); memory stays bounded. Then the network heals: serverM must end
 * idle, and (unless a forged datagram was accepted) serials are unique and contiguous, no
 * balance is negative and every confirmed transfer is on some backend. */
#include <string.h>

#include "backend.h"
#include "coordinator.h"
#include "fuzz.h"

#define NODES_CONNS 4                  /* client connections, ids 1..4 */
#define NODES_QUEUE_MAX 32             /* datagrams in flight in the little network */
#define NODES_STEPS_MAX 512
#define NODES_DISK_BYTES_MAX (64u << 10) /* per backend; past it, no more restarts */
#define NODES_OUTBOX_BYTES_MAX (1u << 20)
#define NODES_OP_KINDS 11
#define NODES_HEAL_ROUNDS 400          /* 50 ms each: 20 s of a healed network at the end */
#define NODES_HEAL_STEP_US 50000
#define NODES_CONFIRMED_MAX 256        /* transfers confirmed to clients, remembered */

typedef struct {
    int to_coord, node; /* to serverM from backend `node`, or to backend `node` */
    size_t len;
    uint8_t data[DGRAM_BYTES_MAX];
} dgram_t;

/* One backend's block file, as the drivers keep it (net/disk.c, sim/disk.c): an append
 * is written at once (after dropping `arg` bytes, and after a '\n' when the file ends in
 * an unterminated line) and becomes durable at its sync; syncs complete in order. Once
 * appended to, an unterminated last line found at a restart is a torn append and is set
 * aside before loading (net/main_backend.c, sim/world.c). */
typedef struct {
    char written[NODES_DISK_BYTES_MAX];
    size_t written_len;
    char durable[NODES_DISK_BYTES_MAX];
    size_t durable_len;
    struct { uint64_t token, seq; size_t len_after; } syncs[BACKEND_PENDING_MAX];
    size_t sync_count;
    int full; /* an append did not fit: this image is no longer the backend's */
    int marked; /* appended to (the drivers' durable "<block>.appended" marker) */
} disk_t;

typedef struct {
    backend_t be[BACKEND_COUNT];
    disk_t disk[BACKEND_COUNT];
    coord_t *m;
    uint64_t incarnation, now, seq;
    outbox_t out;
    int conn_open[NODES_CONNS];
    dgram_t queue[NODES_QUEUE_MAX];
    size_t queued;
    int file_pending;         /* serverM's FX_FILE_WRITE not yet completed */
    uint64_t file_token, file_seq;
    int forged; /* a corrupted or made-up datagram was accepted: no promise holds */
    uint64_t confirmed[NODES_CONFIRMED_MAX]; /* serials of "OK TRANSFER" replies */
    size_t confirmed_count;
} world_t;

static world_t w;
static const char *const blocks[BACKEND_COUNT] = {
    "1 Racheal John 45\n5 Chinmay Oliver 129\n9 Ali Luke 155\n",
    "2 Rishil Alice 30\n8 Rishil Chinmay 10\n\r\n3 Oliver Rachit 94\n",
    "6 Racheal Alice 49\n4 Ben Victor 85\n7 Martin Luke 25", /* unterminated tail */
};

/* Every line of data[0..len) is a block line; serials increase when `sorted`. */
static void lines_check(const char *data, size_t len, int sorted) {
    uint64_t last = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        FUZZ_CHECK(nl != NULL);
        tx_t t;
        FUZZ_CHECK(tx_parse_line(data + pos, (size_t)(nl - (data + pos)), &t, NULL, 0) == 0);
        FUZZ_CHECK(!sorted || t.serial > last);
        last = t.serial;
        pos = (size_t)(nl - data) + 1;
    }
}

/* A reply to a client: a head line, then (STATS) exactly `count` rows ranked 1, 2, ... */
static void reply_check(const char *data, size_t len) {
    wire_crep_t head;
    wire_crow_t row;
    uint64_t rows = 0;
    memset(&head, 0, sizeof head);
    FUZZ_CHECK(len > 0);
    for (size_t pos = 0; pos < len; rows++) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        FUZZ_CHECK(nl != NULL);
        size_t n = (size_t)(nl - (data + pos));
        if (pos == 0) FUZZ_CHECK(wire_crep_decode(data, n, &head) == 0);
        else FUZZ_CHECK(wire_crow_decode(data + pos, n, &row) == 0 && row.rank == rows);
        pos += n + 1;
    }
    FUZZ_CHECK(rows == 1 + (head.kind == CREP_STATS ? head.count : 0));
    if (head.kind == CREP_TRANSFER && w.confirmed_count < NODES_CONFIRMED_MAX)
        w.confirmed[w.confirmed_count++] = head.serial;
}

static void disk_append(int b, const fx_t *f, const uint8_t *data) {
    disk_t *d = &w.disk[b];
    FUZZ_CHECK(d->sync_count < BACKEND_PENDING_MAX); /* the backend bounds its syncs */
    FUZZ_CHECK(f->arg <= d->written_len || d->full); /* drops only what the file holds */
    if (!d->full) {
        d->written_len -= f->arg;
        if (!d->marked) {
            /* as net/disk.c: a hand-written last line gets its '\n' and the file is synced
             * before the marker exists */
            if (d->written_len > 0 && d->written[d->written_len - 1] != '\n') {
                FUZZ_CHECK(d->written_len < NODES_DISK_BYTES_MAX);
                d->written[d->written_len++] = '\n';
            }
            memcpy(d->durable, d->written, d->written_len);
            d->durable_len = d->written_len;
        }
    }
    d->marked = 1;
    if (!d->full) {
        int newline = d->written_len > 0 && d->written[d->written_len - 1] != '\n';
        if (d->written_len + (size_t)newline + f->data_len > NODES_DISK_BYTES_MAX) {
            d->full = 1;
        } else {
            if (newline) d->written[d->written_len++] = '\n';
            memcpy(d->written + d->written_len, data, f->data_len);
            d->written_len += f->data_len;
        }
    }
    d->syncs[d->sync_count].token = f->token;
    d->syncs[d->sync_count].seq = ++w.seq;
    d->syncs[d->sync_count++].len_after = d->written_len;
}

/* Checks and carries out the effects of node `src` (-1 = serverM), then clears them. */
static void drain(int src) {
    static int trace = -1; /* FUZZ_TRACE=1 prints every effect, to see what an input does */
    if (trace < 0) trace = getenv("FUZZ_TRACE") != NULL;
    FUZZ_CHECK(!w.out.failed && w.out.data_len <= NODES_OUTBOX_BYTES_MAX);
    for (size_t i = 0; i < w.out.fx_count; i++) {
        const fx_t *f = &w.out.fx[i];
        const uint8_t *d = outbox_bytes(&w.out, f);
        if (trace)
            fprintf(stderr, "%8llu %c fx%d to %u: %.*s\n", (unsigned long long)w.now,
                    src < 0 ? 'M' : backend_letter(src), (int)f->kind, (unsigned)f->target,
                    f->kind == FX_DGRAM ? 0 : (int)f->data_len, (const char *)d);
        static wire_req_t req;
        static wire_reply_t rep;
        switch (f->kind) {
        case FX_DGRAM:
            FUZZ_CHECK(f->data_len <= DGRAM_BYTES_MAX);
            FUZZ_CHECK(src < 0 ? f->target < BACKEND_COUNT : f->target == 0);
            FUZZ_CHECK(src < 0 ? wire_req_decode(d, f->data_len, &req) == 0
                               : wire_reply_decode(d, f->data_len, &rep) == 0);
            if (w.queued == NODES_QUEUE_MAX) break; /* the network lost it */
            w.queue[w.queued] = (dgram_t){src >= 0, src < 0 ? (int)f->target : src, f->data_len, {0}};
            memcpy(w.queue[w.queued++].data, d, f->data_len);
            break;
        case FX_CONN_SEND:
        case FX_CONN_CLOSE:
            FUZZ_CHECK(src < 0 && f->target >= 1 && f->target <= NODES_CONNS);
            FUZZ_CHECK(w.conn_open[f->target - 1]); /* never to a connection it let go */
            if (f->kind == FX_CONN_CLOSE) w.conn_open[f->target - 1] = 0;
            else reply_check((const char *)d, f->data_len);
            break;
        case FX_APPEND_SYNC:
            FUZZ_CHECK(src >= 0 && f->data_len > 0 && f->token != 0);
            lines_check((const char *)d, f->data_len, 0);
            disk_append(src, f, d);
            break;
        case FX_FILE_WRITE:
            FUZZ_CHECK(src < 0 && !w.file_pending); /* one TXLIST write at a time */
            lines_check((const char *)d, f->data_len, 1);
            w.file_pending = 1;
            w.file_token = f->token;
            w.file_seq = ++w.seq;
            break;
        case FX_STDOUT:
        case FX_STDERR:
            FUZZ_CHECK(memchr(d, '\n', f->data_len) == NULL);
            break;
        default:
            FUZZ_CHECK(0); /* FX_DONE is a client's */
        }
    }
    outbox_clear(&w.out);
}

static void coord_restart(void) {
    if (w.m != NULL) coord_free(w.m);
    coord_config_t cfg = {.incarnation = ++w.incarnation, .seed = w.incarnation,
                          .timeout_ms = TIMEOUT_MS_DEFAULT, .backend_port = {21319, 22319, 23319},
                          .client_port = {25319, 26319}, .txlist_path = "alichain.txt"};
    w.m = coord_new(&cfg);
    FUZZ_CHECK(w.m != NULL);
    memset(w.conn_open, 0, sizeof w.conn_open);
    w.file_pending = 0; /* its file write died with it */
    coord_start(w.m, w.now, &w.out);
    drain(-1);
}

/* (Re)starts backend b from its disk: what was synced, plus `torn` bytes of what was
 * written after (a crash may keep part of an unsynced append). */
static void backend_restart(int b, size_t torn) {
    disk_t *d = &w.disk[b];
    ledger_load_t res;
    char err[128];
    if (d->full) return; /* the image no longer holds what the backend acknowledged */
    size_t keep = d->durable_len;
    if (d->durable_len <= d->written_len && memcmp(d->written, d->durable, d->durable_len) == 0)
        keep += torn % (d->written_len - d->durable_len + 1);
    else
        memcpy(d->written, d->durable, d->durable_len);
    d->sync_count = 0; /* unsynced appends are lost */
    size_t image = keep;
    if (d->marked) /* in a file appended to, an unterminated last line is a torn append */
        while (keep > 0 && d->written[keep - 1] != '\n') keep--;
    if (getenv("FUZZ_TRACE") != NULL)
        fprintf(stderr, "%8llu %c restarts: disk %zu bytes (%zu synced), %zu set aside: \"%.*s\"\n",
                (unsigned long long)w.now, backend_letter(b), image, d->durable_len,
                image - keep, (int)(image - keep), d->written + keep);
    backend_free(&w.be[b]);
    backend_init(&w.be[b], b);
    int rc = backend_load(&w.be[b], d->written, keep, "block", &res, err, sizeof err);
    if (rc != 0) fprintf(stderr, "backend %d cannot restart: %s\n", b, err);
    FUZZ_CHECK(rc == 0); /* a backend always restarts from its own file */
    d->written_len = d->durable_len = res.torn_offset; /* the driver moves a torn tail aside */
    memcpy(d->durable, d->written, d->durable_len);
}

static void sync_complete(int b) {
    disk_t *d = &w.disk[b];
    uint64_t token = d->syncs[0].token;
    if (!d->full) {
        d->durable_len = d->syncs[0].len_after;
        memcpy(d->durable, d->written, d->durable_len);
    }
    memmove(d->syncs, d->syncs + 1, --d->sync_count * sizeof d->syncs[0]);
    backend_on_durable(&w.be[b], w.now, token, &w.out);
    drain(b);
}

static void file_complete(int ok) {
    w.file_pending = 0;
    coord_on_file_written(w.m, w.now, w.file_token, ok, &w.out);
    drain(-1);
}

/* Completes something pending: pick 0 the oldest of all, 1..3 backend A..C's oldest sync,
 * 4 serverM's file write. Returns 0 when there was nothing to complete. */
static int pending_complete(unsigned pick, int file_ok) {
    int best = -2; /* -1: the file write; 0..2: a backend */
    uint64_t best_seq = UINT64_MAX;
    if (w.file_pending && (pick == 0 || pick == 4)) best = -1, best_seq = w.file_seq;
    for (int b = 0; b < BACKEND_COUNT; b++)
        if (w.disk[b].sync_count > 0 && (pick == 0 || pick == (unsigned)b + 1) &&
            w.disk[b].syncs[0].seq < best_seq)
            best = b, best_seq = w.disk[b].syncs[0].seq;
    if (best == -2) return 0;
    if (best == -1) file_complete(file_ok);
    else sync_complete(best);
    return 1;
}

/* Hands a datagram to its node; the copy is exact-size so ASan sees past its end. A
 * datagram the nodes did not write themselves (`made`) voids the liveness check when it
 * decodes: it may carry any incarnation or request id. */
static void deliver(int to_coord, int node, const uint8_t *data, size_t len, int made) {
    static wire_req_t req;
    static wire_reply_t rep;
    if (made && (to_coord ? wire_reply_decode(data, len, &rep) : wire_req_decode(data, len, &req)) == 0)
        w.forged = 1;
    uint8_t *copy = malloc(len == 0 ? 1 : len);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data, len);
    if (to_coord) coord_on_datagram(w.m, w.now, node, copy, len, &w.out);
    else backend_on_datagram(&w.be[node], w.now, copy, len, &w.out);
    free(copy);
    drain(to_coord ? -1 : node);
}

static void step(fuzz_reader_t *r) {
    uint8_t op = fuzz_u8(r);
    unsigned kind = op % NODES_OP_KINDS, sel = op / NODES_OP_KINDS;
    size_t n = 0;
    const uint8_t *bytes;
    uint32_t conn = 1 + sel % NODES_CONNS;
    switch (kind) {
    case 0: /* a raw datagram to a backend, or to serverM from a backend */
    case 1:
        bytes = fuzz_bytes(r, fuzz_u16(r) % (DGRAM_BYTES_MAX + 2), &n);
        deliver(kind == 1, (int)(sel % BACKEND_COUNT), bytes, n, 1);
        break;
    case 2: /* client bytes (the connection opens first if need be) */
        if (!w.conn_open[conn - 1]) {
            w.conn_open[conn - 1] = 1;
            FUZZ_CHECK(coord_on_conn_open(w.m, w.now, conn, (int)(conn % 2), &w.out) == 0);
        }
        bytes = fuzz_bytes(r, fuzz_u8(r), &n);
        coord_on_conn_data(w.m, w.now, conn, bytes, n, &w.out);
        drain(-1);
        break;
    case 3: /* the connection resets */
        if (!w.conn_open[conn - 1]) break;
        w.conn_open[conn - 1] = 0;
        coord_on_conn_reset(w.m, w.now, conn, &w.out);
        drain(-1);
        break;
    case 4: { /* time passes: to serverM's next deadline, or by a few ms to seconds */
        uint64_t next = coord_deadline_us(w.m);
        if (sel % 2 == 1) w.now += (uint64_t)(1 + fuzz_u16(r)) * 100;
        else if (next != UINT64_MAX && next > w.now) w.now = next;
        coord_on_timer(w.m, w.now, &w.out);
        drain(-1);
        break;
    }
    case 5: /* the network delivers (5), duplicates (6) or drops (7) a datagram */
    case 6:
    case 7: { /* operands are read whatever the state, so a step always means the same */
        size_t pick = fuzz_u8(r);
        size_t at = kind != 7 && sel >= 12 ? fuzz_u16(r) : 0;
        if (w.queued == 0) break;
        size_t i = pick % w.queued;
        dgram_t *g = &w.queue[i];
        if (kind != 7) {
            int corrupt = sel >= 12 && g->len > 0;
            if (corrupt) g->data[at % g->len] ^= (uint8_t)(1 + sel);
            static dgram_t copy; /* delivery may queue more */
            copy = *g;
            if (kind == 5) memmove(g, g + 1, (--w.queued - i) * sizeof *g);
            deliver(copy.to_coord, copy.node, copy.data, copy.len, corrupt);
        } else {
            memmove(g, g + 1, (--w.queued - i) * sizeof *g);
        }
        break;
    }
    case 8: /* a sync or the file write completes (a file write may fail) */
        pending_complete(fuzz_u8(r) % 5, sel % 4 != 3);
        break;
    case 9: /* serverM restarts with a higher incarnation; datagrams stay in flight */
        coord_restart();
        break;
    default: /* a backend crashes and restarts from its disk, maybe with a torn append */
        backend_restart((int)(sel % BACKEND_COUNT), fuzz_u16(r));
        break;
    }
}

/* The network heals: every sync completes and every datagram arrives, 50 ms at a time,
 * until nothing is left to do. */
static void heal(void) {
    for (int round = 0; round < NODES_HEAL_ROUNDS; round++) {
        if (coord_idle(w.m) && w.queued == 0 && !w.file_pending &&
            w.disk[0].sync_count + w.disk[1].sync_count + w.disk[2].sync_count == 0)
            return;
        while (pending_complete(0, 1)) {
        }
        for (size_t n = w.queued; n > 0 && w.queued > 0; n--) {
            static dgram_t g;
            g = w.queue[0];
            memmove(w.queue, w.queue + 1, --w.queued * sizeof g);
            deliver(g.to_coord, g.node, g.data, g.len, 0);
        }
        w.now += NODES_HEAL_STEP_US;
        coord_on_timer(w.m, w.now, &w.out);
        drain(-1);
    }
}

/* The ledger promises of SPEC.md over the three backends, once everything has settled:
 * serials unique and contiguous (1..N), no balance below zero (the blocks start with none),
 * every transfer confirmed to a client present. Only without forged datagrams, which may
 * carry any write, and while every disk image is complete. */
static void ledgers_check(void) {
    uint64_t count = 0, max = 0;
    for (int b = 0; b < BACKEND_COUNT; b++) {
        const ledger_t *l = &w.be[b].ledger;
        count += l->tx_count;
        if (l->max_serial > max) max = l->max_serial;
        for (uint32_t i = 0; i < l->tx_count; i++)
            for (int o = 0; o < BACKEND_COUNT; o++)
                FUZZ_CHECK(o == b || ledger_find_serial(&w.be[o].ledger, l->txs[i].serial) < 0);
        for (uint32_t u = 0; u < l->user_count; u++) {
            const ledger_user_t *user = &l->users[u];
            uint64_t in = BALANCE_INITIAL, out = 0;
            for (int o = 0; o < BACKEND_COUNT; o++) {
                ledger_totals_t t;
                ledger_totals(&w.be[o].ledger, l->names + user->name_off, user->name_len, &t);
                in += t.received;
                out += t.sent;
            }
            FUZZ_CHECK(in >= out); /* no double spending */
        }
    }
    FUZZ_CHECK(max == count); /* unique (above) and all >= 1: exactly 1..count */
    for (size_t i = 0; i < w.confirmed_count; i++) {
        int found = 0;
        for (int b = 0; b < BACKEND_COUNT; b++)
            found |= ledger_find_serial(&w.be[b].ledger, w.confirmed[i]) >= 0;
        FUZZ_CHECK(found); /* a confirmed transfer is never lost */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* a fresh world (the big arrays need no clearing: counts say what is valid) */
    w.m = NULL;
    w.incarnation = w.now = 0;
    w.queued = 0;
    w.seq = 0;
    w.file_pending = 0;
    w.forged = 0;
    w.confirmed_count = 0;
    memset(w.conn_open, 0, sizeof w.conn_open);
    outbox_init(&w.out);
    for (int b = 0; b < BACKEND_COUNT; b++) {
        disk_t *d = &w.disk[b];
        d->full = 0;
        d->marked = 0;
        d->sync_count = 0;
        d->written_len = d->durable_len = strlen(blocks[b]);
        memcpy(d->written, blocks[b], d->written_len);
        memcpy(d->durable, blocks[b], d->durable_len);
        backend_init(&w.be[b], b);
        backend_restart(b, 0);
    }
    coord_restart();
    fuzz_reader_t r;
    fuzz_reader_init(&r, data, size);
    for (int s = 0; s < NODES_STEPS_MAX && fuzz_left(&r) > 0; s++) step(&r);
    heal();
    /* Once faults heal, every pending request finishes (SPEC.md: nothing hangs forever). */
    FUZZ_CHECK(w.forged || (coord_idle(w.m) && w.queued == 0 && !w.file_pending));
    if (!w.forged && !w.disk[0].full && !w.disk[1].full && !w.disk[2].full) ledgers_check();
    coord_free(w.m);
    for (int b = 0; b < BACKEND_COUNT; b++) backend_free(&w.be[b]);
    outbox_free(&w.out);
    return 0;
}
