/* backend.h — a backend node (serverA/B/C) as a sans-I/O state machine.
 * Datagrams from serverM in; replies and durable appends out (outbox.h). A write is
 * acknowledged only after the driver reports it durable; a retransmitted write of a serial
 * already held is acknowledged again (same line) or refused (different line), never stored
 * twice. Writes are fenced by serverM's incarnation (docs/PROTOCOL.md, "Fencing"). */
#ifndef ALICHAIN_BACKEND_H
#define ALICHAIN_BACKEND_H

#include "ledger.h"
#include "outbox.h"
#include "wire.h"

#define BACKEND_PENDING_MAX 64   /* WRITE requests waiting for their sync at once */
#define BACKEND_HELD_MAX 16      /* reads held until the writes before them are synced */

typedef struct {
    uint64_t token;              /* of the FX_APPEND_SYNC effect; 0 = free slot */
    uint64_t incarnation;
    uint64_t request_id;
    uint8_t count;
    tx_t txs[WIRE_WRITE_TXS_MAX];
    uint8_t results[WIRE_WRITE_TXS_MAX];
    uint8_t fresh[WIRE_WRITE_TXS_MAX]; /* 1: this request appends the tx */
} backend_pending_t;

typedef struct {
    int index;                   /* 0..2 for A..C */
    ledger_t ledger;
    uint64_t fence;              /* highest incarnation seen in any request */
    int fenced;                  /* a QUERY of `fence` has been seen since start */
    uint64_t next_token;
    /* an unterminated last line loaded from disk: it may be a torn write that parses */
    int tail_open;
    uint64_t tail_serial;
    uint64_t tail_bytes;
    int tail_pending;            /* a replacement of that tail is in flight */
    backend_pending_t pending[BACKEND_PENDING_MAX];
    int pending_count;
    /* Reads that arrived while a write was syncing wait for it, so that no reply (a max
     * serial above all) leaves out a write the backend has already accepted. */
    struct {
        size_t len;
        uint8_t data[DGRAM_BYTES_MAX];
    } held[BACKEND_HELD_MAX];
    int held_count;
    uint64_t stat_requests;      /* datagrams handled */
    uint64_t stat_dropped;       /* malformed datagrams dropped */
} backend_t;

/* index: 0..2. The ledger starts empty; call backend_load() before any datagram. */
void backend_init(backend_t *b, int index);
void backend_free(backend_t *b);

/* Loads the block file image (see ledger_load). Returns 0 or a negative error with
 * "<file_name>:<line>: <reason>" in err. res says whether a torn tail must be moved aside
 * by the driver (res->torn_offset < len). */
int backend_load(backend_t *b, const char *data, size_t len, const char *file_name,
                 ledger_load_t *res, char *err, size_t err_cap);

/* A datagram from serverM. Malformed ones are dropped with an FX_STDERR diagnostic. */
void backend_on_datagram(backend_t *b, uint64_t now_us, const uint8_t *data, size_t len,
                         outbox_t *out);

/* The FX_APPEND_SYNC with this token is durable (a failed sync is a crash: the driver
 * exits and the backend recovers from disk on restart). */
void backend_on_durable(backend_t *b, uint64_t now_us, uint64_t token, outbox_t *out);

#endif
