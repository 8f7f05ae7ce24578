/* backend.h — a backend node (serverA/B/C) as a sans-I/O state machine.
 * Datagrams from serverM in; replies and durable appends out (outbox.h). A write is
 * acknowledged only after the driver reports it durable; a retransmitted write of a serial
 * already held is acknowledged again (same line) or refused (different line), never stored
 * twice. Writes are fenced by serverM's incarnation (docs/PROTOCOL.md, "Fencing"). */
#ifndef ALICHAIN_BACKEND_H
#define ALICHAIN_BACKEND_H

#include "auth.h"
#include "blockfile.h"
#include "ledger.h"
#include "outbox.h"
#include "wire.h"

#define BACKEND_PENDING_MAX 64   /* WRITE requests waiting for their sync at once */
#define BACKEND_HELD_MAX 16      /* reads held until the writes before them are synced */
/* A QUERY may raise the fence to an incarnation at most this far ahead of the backend's
 * clock (serverM's incarnation is its wall clock at start): one datagram, even an
 * authentic one from a serverM whose clock ran wild, cannot fence the real one out for
 * longer than this. */
#define BACKEND_INCARNATION_AHEAD_MAX_US (3600ull * 1000000ull)

#define BACKEND_REFUSED_MAX 16   /* WRITE requests refused by the disk, remembered (a ring) */

/* Why the disk did not make an append durable (backend_on_disk_error). */
enum {
    BACKEND_DISK_NOSPACE = 1,    /* ENOSPC (on the write, or on the sync) */
    BACKEND_DISK_IOERR,          /* EIO or any other error of the write or the sync */
};

typedef struct {
    uint64_t token;              /* of the FX_BLOCK_APPEND effect; 0 = free slot */
    uint64_t incarnation;
    uint64_t request_id;
    uint8_t count;
    tx_t txs[WIRE_WRITE_TXS_MAX];
    uint8_t results[WIRE_WRITE_TXS_MAX];
    uint8_t fresh[WIRE_WRITE_TXS_MAX]; /* 1: this request appends the tx */
    uint64_t offset;             /* the block file's size before its lines */
} backend_pending_t;

/* A WRITE request the disk refused: a copy of it (a duplicate datagram, a retransmission
 * whose first answer was lost) gets the same refusal, never a later append. */
typedef struct {
    uint64_t incarnation;
    uint64_t request_id;
    uint8_t result;              /* WIRE_TX_NOSPACE or WIRE_TX_IOERR; 0: empty */
} backend_refused_t;

typedef struct {
    int index;                   /* 0..2 for A..C */
    ledger_t ledger;
    uint64_t epoch;              /* this process's boot epoch (backend_init: the driver's) */
    uint64_t fence;              /* highest incarnation a QUERY raised it to */
    int fenced;                  /* a QUERY of `fence` has been seen since start */
    const auth_t *auth;          /* the driver's (outlives the node); NULL: bare wire
                                    messages, no trailer (unit tests) */
    uint64_t auth_seq;           /* the last sequence number sealed into a reply */
    auth_window_t window;        /* sequence numbers taken in incarnation `fence` */
    uint64_t next_token;
    blockfile_t file;            /* the block file's append state (blockfile.h) */
    int pending_count;
    int held_count;
    uint64_t stat_requests;      /* datagrams handled */
    uint64_t stat_dropped;       /* malformed datagrams dropped (any reason below too) */
    uint64_t stat_unauthentic;   /* dropped by auth_open: bad MAC, no MAC, wrong peer */
    uint64_t stat_replayed;      /* dropped by the replay window */
    uint64_t stat_disk_errors;   /* appends the disk failed (backend_on_disk_error) */
    backend_refused_t refused[BACKEND_REFUSED_MAX];
    int refused_next;            /* the ring's next slot */
    /* The tables, last: backend_init clears what is before them and only the pending
     * slots' tokens (a free slot is token 0); the rest is counted (held) or scratch. */
    backend_pending_t pending[BACKEND_PENDING_MAX];
    /* Reads that arrived while a write was syncing wait for it, so that no reply (a max
     * serial above all) leaves out a write the backend has already accepted. */
    struct {
        size_t len;
        uint8_t data[DGRAM_BYTES_MAX];
    } held[BACKEND_HELD_MAX];
    /* scratch owned by the node (no static buffers in core): the request being handled,
     * its reply, and the held reads while they are replayed */
    wire_req_t req;
    wire_reply_t rep;
    struct {
        size_t len;
        uint8_t data[DGRAM_BYTES_MAX];
    } replay[BACKEND_HELD_MAX];
} backend_t;

/* index: 0..2; epoch: this process's boot epoch, a value that differs at every start of the
 * backend (the driver draws it: getrandom() in net/, the seeded PRNG in the simulator) and
 * is not 0. Every reply carries it; a WRITE carrying another epoch is refused
 * (WIRE_ST_EPOCH), so a copy of a write meant for an earlier run of this backend — one that
 * run may have refused, with serverM reusing its serial since — is never applied by this
 * one (docs/PROTOCOL.md 3.6). The ledger starts empty; call backend_load() and
 * backend_start() before any datagram. */
void backend_init(backend_t *b, int index, uint64_t epoch);
void backend_free(backend_t *b);
/* dst (holding nothing) becomes a copy of src, a backend with no write awaiting its sync and
 * no read held (one just loaded, say): same epoch, ledger and block file state, so it
 * answers every datagram as src would. For a harness that starts many runs from one loaded
 * backend (sim/world/nodes.c). Returns 0, or AC_ENOMEM with dst holding nothing. */
int backend_copy(backend_t *dst, const backend_t *src);

/* Recovery, decided and nothing changed yet: loads the block file image img[0..len) under
 * the rules of blockfile.h (marker: the content of "<block>.appended", NULL when absent).
 * Returns 0 or a negative error with "<file_name>:<line>: <reason>" in err: the driver then
 * refuses to start and changes nothing. res says what was found. */
int backend_load(backend_t *b, const char *img, size_t len, const char *marker,
                 size_t marker_len, const char *file_name, blockfile_recovery_t *res,
                 char *err, size_t err_cap);

/* Start-up, once the driver holds its port: the recovery's storage effects (a torn tail
 * set aside, the marker removed), then "The Server<i> is up and running ...". img is the
 * image given to backend_load (still the driver's). */
void backend_start(backend_t *b, const char *img, const blockfile_recovery_t *res,
                   const char *file_name, uint16_t port, outbox_t *out);

/* A clean stop, once every append is durable (no FX_BLOCK_APPEND awaits its sync): the
 * block file's closing effects (blockfile_close). */
void backend_stop(backend_t *b, outbox_t *out);

/* Authentication for every later datagram (the driver's, outliving the node), before the
 * first one; without this call the node takes and sends bare wire messages. */
void backend_set_auth(backend_t *b, const auth_t *auth);

/* A datagram from serverM, now_us the backend's wall clock (it bounds how far a QUERY may
 * raise the fence). With authentication (backend_set_auth) it is opened first: a bad or
 * missing MAC, a datagram for another backend and a replayed sequence number are dropped
 * with an FX_STDERR_DROP diagnostic (the driver reports them rate-limited), and so are
 * malformed ones. */
void backend_on_datagram(backend_t *b, uint64_t now_us, const uint8_t *data, size_t len,
                         outbox_t *out);

/* The FX_BLOCK_APPEND with this token is durable. */
void backend_on_durable(backend_t *b, uint64_t now_us, uint64_t token, outbox_t *out);

/* The FX_BLOCK_APPEND with this token was not made durable: its write failed (maybe after
 * writing part of it), or a sync that should have covered it failed; why is BACKEND_DISK_*.
 * The disk's state past the last good sync is unknown then (a failed fsync may have dropped
 * the dirty pages: PostgreSQL's "fsyncgate"), so the backend never retries that sync: it
 * cuts the block file back to the size before that append (FX_BLOCK_TRUNCATE: ftruncate and
 * a sync of its own) and refuses that write and every later one still awaiting a sync
 * (WIRE_TX_NOSPACE / WIRE_TX_IOERR), in token order, once the cut is made. Its index never
 * held them, so it equals the durable file again; the next WRITE appends as usual. A
 * driver that cannot make the cut exits: recovery reads what the disk holds. Writes whose
 * append came before the failed one keep awaiting their sync. Only for a token still
 * awaiting its sync (not for the run's first '\n', sync or marker: their failure is a
 * crash). */
void backend_on_disk_error(backend_t *b, uint64_t now_us, uint64_t token, int why, outbox_t *out);

#endif
