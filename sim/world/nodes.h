/* nodes.h — one small in-process harness of the node state machines: serverM, three
 * backends on the one simulated disk (disk.h) and client state machines, wired together
 * synchronously with no clock of their own. Datagrams wait in a bounded network that the
 * caller delivers from (in order, or picked, duplicated, dropped); appends become durable
 * at once or when the caller completes their sync; crashes keep what the caller says.
 * tests/unit/test_nodes.c pins exact behaviour with it, fuzz/fuzz_nodes.c lets the fuzzer
 * choose every step; the simulator proper (world.c) adds latency, faults and checkers. */
#ifndef ALICHAIN_SIM_NODES_H
#define ALICHAIN_SIM_NODES_H

#include "backend.h"
#include "buf.h"
#include "client.h"
#include "coordinator.h"
#include "disk.h"

#define NODES_CONNS_MAX 64          /* connection ids 1..NODES_CONNS_MAX */
#define NODES_SRC_M (-1)            /* effect sources: serverM, backends 0..2, ... */
#define NODES_SRC_CLIENT0 100       /* ... and the client on connection c: this + c */
#define NODES_FAILURE_BYTES 256

/* A datagram in flight. Its bytes are one DGRAM_BYTES_MAX slot of the harness's arena: the
 * queue's entries past `queued` keep the free slots, so that taking an entry out moves these
 * small records, never the datagrams (a fuzz input delivers thousands). */
typedef struct {
    int to_coord;                   /* 1: to serverM from backend `node`; 0: to backend `node` */
    int node;
    size_t len;
    uint8_t *data;                  /* valid while the entry is queued */
} nodes_dgram_t;

/* Sees every effect before the harness carries it out (src as above). */
typedef void (*nodes_fx_hook_t)(void *ctx, int src, const fx_t *f, const uint8_t *data);

typedef struct {
    uint8_t open;                   /* serverM holds it open */
    client_t *cl;                   /* NULL: a raw connection driven by the caller */
    uint8_t done;                   /* the client finished */
    int exit_code;
    sim_buf_t out;                  /* the client's stdout lines, each with its '\n' */
} nodes_conn_t;

typedef struct {
    coord_t *m;
    uint64_t incarnation;
    uint32_t timeout_ms;
    backend_t be[BACKEND_COUNT];
    int be_up[BACKEND_COUNT];
    uint64_t be_starts;             /* backend starts so far: each start's boot epoch */
    simdisk_t disk[BACKEND_COUNT];
    int sync_at_once[BACKEND_COUNT]; /* 1 (default): appends are durable as written */
    uint64_t now;
    outbox_t out;
    nodes_dgram_t *queue;           /* [0, queued): datagrams in flight, oldest first; then
                                       the free slots (queue_max + 1 entries in all) */
    size_t queued, queue_max;       /* past queue_max a datagram is lost; a caller may empty
                                       the queue by setting queued to 0 */
    uint8_t *dgram_arena;           /* the slots' bytes */
    int drop_to[BACKEND_COUNT + 1]; /* 1: datagrams to backend b (3: serverM) vanish */
    uint64_t seq;                   /* orders pending syncs (simdisk_sync_t.seq) and the file write */
    int file_pending;               /* serverM's FX_FILE_WRITE not yet completed */
    int file_at_once;               /* 1 (default): it completes (ok) as issued */
    uint64_t file_token, file_seq;
    sim_buf_t txlist;               /* alichain.txt as last written */
    sim_buf_t file_partial;         /* the chunks of the one being written (FX_FILE_MORE) */
    sim_buf_t m_out;                /* serverM's stdout lines */
    nodes_conn_t conn[NODES_CONNS_MAX + 1];
    nodes_fx_hook_t hook;
    void *hook_ctx;
    int failures;                   /* what the harness itself found wrong (first in failure) */
    char failure[NODES_FAILURE_BYTES];
} nodes_t;

/* Three backends from the block images (hand-written files: no markers) and serverM with
 * this incarnation. Returns 0, or a negative error with the reason in n->failure (a block
 * the backend refuses). A block given to an earlier nodes_init is not read again: that
 * backend's first start is copied (same state, same effects; nodes.c keeps it), and so is
 * the memory of serverM and the network: thousands of worlds a second cost little. */
int nodes_init(nodes_t *n, const char *const blocks[BACKEND_COUNT], uint64_t incarnation,
               uint32_t timeout_ms, size_t queue_max);
void nodes_free(nodes_t *n);

/* A crash of backend b (when up) keeping `keep` bytes of what was not synced (clamped),
 * then its restart from the disk. Returns 0 or the recovery's error (n->failure). */
int nodes_backend_restart(nodes_t *n, int b, size_t keep);
/* serverM crashes (connections and its file write die with it) and restarts with the next
 * incarnation; datagrams in flight stay. */
void nodes_coord_restart(nodes_t *n);

/* Hands a datagram to its node (a copy of exactly len bytes) and carries out the effects. */
void nodes_deliver(nodes_t *n, int to_coord, int node, const uint8_t *data, size_t len);
/* Removes queue entry i and delivers it (or only removes it: drop). O(queued) small moves. */
void nodes_deliver_queued(nodes_t *n, size_t i, int drop);
/* Completes something pending: pick 0 the oldest of all, 1..3 backend A..C's oldest sync,
 * 4 serverM's file write (ok or failed). Returns 0 when there was nothing to complete. */
int nodes_complete(nodes_t *n, unsigned pick, int file_ok);
/* Time moves to now_us (never back) and serverM's timer runs. */
void nodes_timer(nodes_t *n, uint64_t now_us);

/* Raw connections (the caller writes the bytes). */
void nodes_conn_open(nodes_t *n, uint32_t conn, int client_index);
void nodes_conn_data(nodes_t *n, uint32_t conn, const uint8_t *data, size_t len);
/* The peer shut down its writing side (reset = 0: serverM may still answer, then closes)
 * or the connection reset (reset = 1: serverM forgets it). */
void nodes_conn_end(nodes_t *n, uint32_t conn, int reset);

/* A client process (client.h) with this command line on a new connection, connected at
 * once. Returns its connection id, or 0 when argv is not valid or no id is free. */
uint32_t nodes_client(nodes_t *n, int client_index, int argc, const char *const *argv);

/* Delivers every datagram in order and runs serverM's timers (time jumping to its next
 * deadline) until nothing is left to do, or (clients_only) every client has finished.
 * Returns 0 when it settled, -1 when it did not within its bound. */
int nodes_run(nodes_t *n, int clients_only);

/* The network heals: every pending sync and file write completes, every datagram arrives,
 * 50 ms at a time, until serverM is idle and nothing is in flight (bounded). Returns 1 when
 * it got there. */
int nodes_heal(nodes_t *n);

#endif
