/* fuzz_nodes.c — libFuzzer target for the node state machines (backend.c, coordinator.c,
 * blockfile.c), driven through the shared in-process harness (sim/world/nodes.h: the simulator's
 * disk and recovery path). The input is a sequence of steps (an op byte, then its operands):
 * raw datagrams and client bytes in, time passing, syncs and file writes completing, the
 * little network carrying the nodes' own datagrams that the fuzzer delivers, duplicates,
 * corrupts or drops, and serverM and backend crashes/restarts (backends from their disk,
 * maybe keeping a torn part of an unsynced append). No input may crash or trip an
 * assertion; every effect must be well-formed (datagrams decode, client replies are reply
 * lines, appends and the TXLIST file are block lines); memory stays bounded. Then the
 * network heals: serverM must end idle, and (unless a forged datagram was accepted) serials
 * are unique and contiguous, no balance is negative and every confirmed transfer is on some
 * backend. */
#include <string.h>

#include "fuzz.h"
#include "world/nodes.h"

#define NODES_CONNS 4                  /* client connections, ids 1..4 */
#define NODES_QUEUE_MAX 32             /* datagrams in flight in the little network */
#define NODES_STEPS_MAX 512
#define NODES_EFFECT_BYTES_MAX (1u << 20)
#define NODES_OP_KINDS 11
#define NODES_CONFIRMED_MAX 256        /* transfers confirmed to clients, remembered */

typedef struct {
    int forged; /* a corrupted or made-up datagram was accepted: no promise holds */
    uint64_t confirmed[NODES_CONFIRMED_MAX]; /* serials of "OK TRANSFER" replies */
    size_t confirmed_count;
    int trace;  /* FUZZ_TRACE=1 prints every effect, to see what an input does */
    wire_req_t req;
    wire_reply_t rep;
} fuzz_state_t;

static nodes_t w;
static fuzz_state_t fz;
static const char *const blocks[BACKEND_COUNT] = {
    "1 Racheal John 45\n5 Chinmay Oliver 129\n9 Ali Luke 155\n",
    "2 Rishil Alice 30\n8 Rishil Chinmay 10\n\r\n3 Oliver Rachit 94\n",
    "6 Racheal Alice 49\n4 Ben Victor 85\n7 Martin Luke 25", /* unterminated tail */
};

/* Every line of data[0..len) is a block line; serials increase when `sorted` (or stay
 * equal, once a forged datagram was accepted). */
static void lines_check(const char *data, size_t len, int sorted) {
    uint64_t last = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        FUZZ_CHECK(nl != NULL);
        tx_t t;
        FUZZ_CHECK(tx_parse_line(data + pos, (size_t)(nl - (data + pos)), &t, NULL, 0) == 0);
        /* a forged write may put one serial on two backends: then ties are possible */
        FUZZ_CHECK(!sorted || t.serial > last || (fz.forged && t.serial == last));
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
    if (head.kind == CREP_TRANSFER && fz.confirmed_count < NODES_CONFIRMED_MAX)
        fz.confirmed[fz.confirmed_count++] = head.serial;
}

/* Checks every effect before the harness carries it out. */
static void effect_check(void *ctx, int src, const fx_t *f, const uint8_t *d) {
    (void)ctx;
    if (fz.trace)
        fprintf(stderr, "%8llu %d fx%d to %u: %.*s\n", (unsigned long long)w.now, src, (int)f->kind,
                (unsigned)f->target, f->kind == FX_DGRAM ? 0 : (int)f->data_len, (const char *)d);
    FUZZ_CHECK(f->data_len <= NODES_EFFECT_BYTES_MAX);
    int backend = src >= 0 && src < BACKEND_COUNT;
    switch (f->kind) {
    case FX_DGRAM:
        FUZZ_CHECK(f->data_len <= DGRAM_BYTES_MAX);
        FUZZ_CHECK(src == NODES_SRC_M ? f->target < BACKEND_COUNT : backend && f->target == 0);
        FUZZ_CHECK(src == NODES_SRC_M ? wire_req_decode(d, f->data_len, &fz.req) == 0
                                      : wire_reply_decode(d, f->data_len, &fz.rep) == 0);
        break;
    case FX_CONN_SEND:
    case FX_CONN_CLOSE:
        FUZZ_CHECK(src == NODES_SRC_M && f->target >= 1 && f->target <= NODES_CONNS);
        FUZZ_CHECK(w.conn[f->target].open); /* never to a connection it let go */
        if (f->kind == FX_CONN_SEND) reply_check((const char *)d, f->data_len);
        break;
    case FX_CONN_READ:
        FUZZ_CHECK(src == NODES_SRC_M && f->target >= 1 && f->target <= NODES_CONNS);
        FUZZ_CHECK(w.conn[f->target].open);
        FUZZ_CHECK(f->arg <= 1);
        break;
    case FX_BLOCK_APPEND:
        FUZZ_CHECK(backend && f->data_len > 0);
        if (f->token == 0) FUZZ_CHECK(f->data_len == 1 && d[0] == '\n'); /* ends a user's line */
        else lines_check((const char *)d, f->data_len, 0);
        break;
    case FX_MARKER_WRITE:
        FUZZ_CHECK(backend && f->data_len > sizeof(BLOCKFILE_MARKER_MAGIC));
        FUZZ_CHECK(memcmp(d, BLOCKFILE_MARKER_MAGIC " ", sizeof(BLOCKFILE_MARKER_MAGIC)) == 0);
        break;
    case FX_BLOCK_SYNC:
    case FX_BLOCK_TRUNCATE:
    case FX_MARKER_REMOVE:
    case FX_TORN_APPEND:
        FUZZ_CHECK(backend);
        break;
    case FX_FILE_WRITE:
        FUZZ_CHECK(src == NODES_SRC_M && !w.file_pending); /* one TXLIST write at a time */
        lines_check((const char *)d, f->data_len, 1);
        break;
    case FX_STDOUT:
    case FX_STDERR:
        FUZZ_CHECK(memchr(d, '\n', f->data_len) == NULL);
        break;
    default:
        FUZZ_CHECK(0); /* FX_DONE is a client's, and there are none here */
    }
}

/* Hands a datagram to its node. One the nodes did not write themselves (`made`) voids the
 * promises when it decodes: it may carry any incarnation or request id. */
static void deliver(int to_coord, int node, const uint8_t *data, size_t len, int made) {
    if (made && (to_coord ? wire_reply_decode(data, len, &fz.rep) : wire_req_decode(data, len, &fz.req)) == 0) {
        if (fz.trace && !fz.forged) fprintf(stderr, "%8llu a forged datagram was accepted\n", (unsigned long long)w.now);
        fz.forged = 1;
    }
    nodes_deliver(&w, to_coord, node, data, len);
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
        if (!w.conn[conn].open) nodes_conn_open(&w, conn, (int)(conn % 2));
        bytes = fuzz_bytes(r, fuzz_u8(r), &n);
        if (w.conn[conn].open) nodes_conn_data(&w, conn, bytes, n);
        break;
    case 3: /* the client half-closes (even sel) or the connection resets (odd) */
        if (w.conn[conn].open) nodes_conn_end(&w, conn, sel % 2);
        break;
    case 4: { /* time passes: to serverM's next deadline, or by a few ms to seconds */
        uint64_t next = coord_deadline_us(w.m);
        uint64_t to = w.now;
        if (sel % 2 == 1) to += (uint64_t)(1 + fuzz_u16(r)) * 100;
        else if (next != UINT64_MAX && next > w.now) to = next;
        nodes_timer(&w, to);
        break;
    }
    case 5: /* the network delivers (5), duplicates (6) or drops (7) a datagram */
    case 6:
    case 7: { /* operands are read whatever the state, so a step always means the same */
        size_t pick = fuzz_u8(r);
        size_t at = kind != 7 && sel >= 12 ? fuzz_u16(r) : 0;
        if (w.queued == 0) break;
        size_t i = pick % w.queued;
        nodes_dgram_t *g = &w.queue[i];
        int corrupt = kind != 7 && sel >= 12 && g->len > 0;
        if (corrupt) g->data[at % g->len] ^= (uint8_t)(1 + sel);
        /* A copy of the record: its bytes stay in their slot until a datagram is queued,
         * and nodes_deliver copies them before anything can queue one. */
        nodes_dgram_t copy = *g;
        if (kind == 6) {
            deliver(copy.to_coord, copy.node, copy.data, copy.len, corrupt);
        } else if (corrupt) {
            nodes_deliver_queued(&w, i, 1);
            deliver(copy.to_coord, copy.node, copy.data, copy.len, 1);
        } else {
            nodes_deliver_queued(&w, i, kind == 7);
        }
        break;
    }
    case 8: /* a sync or the file write completes (a file write may fail) */
        nodes_complete(&w, fuzz_u8(r) % 5, sel % 4 != 3);
        break;
    case 9: /* serverM restarts with a higher incarnation; datagrams stay in flight */
        nodes_coord_restart(&w);
        break;
    default: { /* a backend crashes and restarts from its disk, maybe with a torn append */
        int b = (int)(sel % BACKEND_COUNT);
        size_t keep = fuzz_u16(r) % (simdisk_unsynced(&w.disk[b]) + 1);
        FUZZ_CHECK(nodes_backend_restart(&w, b, keep) == 0); /* a backend always restarts */
        break;
    }
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
    for (size_t i = 0; i < fz.confirmed_count; i++) {
        int found = 0;
        for (int b = 0; b < BACKEND_COUNT; b++)
            found |= ledger_find_serial(&w.be[b].ledger, fz.confirmed[i]) >= 0;
        FUZZ_CHECK(found); /* a confirmed transfer is never lost */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    memset(&fz, 0, sizeof fz);
    fz.trace = getenv("FUZZ_TRACE") != NULL;
    FUZZ_CHECK(nodes_init(&w, blocks, 1, TIMEOUT_MS_DEFAULT, NODES_QUEUE_MAX) == 0);
    w.hook = effect_check;
    w.file_at_once = 0;
    for (int b = 0; b < BACKEND_COUNT; b++) w.sync_at_once[b] = 0;
    fuzz_reader_t r;
    fuzz_reader_init(&r, data, size);
    for (int s = 0; s < NODES_STEPS_MAX && fuzz_left(&r) > 0; s++) step(&r);
    int healed = nodes_heal(&w);
    /* Once faults heal, every pending request finishes (SPEC.md: nothing hangs forever). */
    FUZZ_CHECK(fz.forged || healed);
    if (w.failures) fprintf(stderr, "harness: %s\n", w.failure);
    FUZZ_CHECK(w.failures == 0);
    if (!fz.forged) ledgers_check();
    nodes_free(&w);
    return 0;
}
