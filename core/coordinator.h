/* coordinator.h — serverM as a sans-I/O state machine.
 * Client connections and backend datagrams in; replies, datagrams, the TXLIST file and
 * screen lines out (outbox.h). Balances and transfers that wait at the same moment are
 * served together as one batch: one QUERY per backend for all their users, transfers
 * validated in arrival order against running balances, WRITEs to one chosen backend one
 * after the other. Only one batch is in flight, so serials (max over all backends + 1)
 * never repeat; the balances that arrive meanwhile are answered by read batches beside it
 * (a fetch only). TXLIST and stats run as jobs beside the batches: a TXLIST lists the
 * serials up to the largest stored when it began, merged from the backends' ascending
 * pages and written in chunks; a stats job holds back transfers naming its user.
 * docs/PROTOCOL.md describes the retries, deadlines and fencing. */
#ifndef ALICHAIN_COORDINATOR_H
#define ALICHAIN_COORDINATOR_H

#include "auth.h"
#include "outbox.h"
#include "wire.h"

typedef struct coord coord_t;

/* The longest reply serverM sends on one connection: a STATS head line and one row for
 * each of at most STATS_PARTNERS_MAX partners (rank, name, count, net: at most
 * COORD_STATS_ROW_BYTES_MAX each). A driver's output queue must hold this much
 * (net/main_serverM.c asserts it at compile time). */
#define COORD_STATS_ROW_BYTES_MAX (NAME_BYTES_MAX + 64)
#define COORD_REPLY_BYTES_MAX \
    (2u * TCP_LINE_BYTES_MAX + (size_t)STATS_PARTNERS_MAX * COORD_STATS_ROW_BYTES_MAX)

typedef struct {
    uint64_t incarnation;                 /* grows across restarts (driver's job) */
    uint64_t seed;                        /* random backend choice */
    uint32_t timeout_ms;                  /* per backend request, all retries together */
    uint16_t backend_port[BACKEND_COUNT]; /* for screen messages only */
    uint16_t client_port[2];              /* TCP ports of client A and B, for messages */
    const char *txlist_path;              /* as shown to clients (copied) */
    const auth_t *auth;                   /* the driver's, outliving serverM's core: every
                                             datagram sealed and opened with it (auth.h);
                                             NULL: bare wire messages (unit tests) */
} coord_config_t;

/* Returns NULL when memory runs out or the config is invalid. */
coord_t *coord_new(const coord_config_t *cfg);
/* Makes c what coord_new(cfg) would return, in the same memory (a restarted serverM that
 * reuses its allocation: the fuzzers and the harness restart one thousands of times a
 * second). Returns 0, or AC_EINVAL for a cfg coord_new refuses (c unchanged then). */
int coord_reset(coord_t *c, const coord_config_t *cfg);
void coord_free(coord_t *c);

/* Prints "The main server is up and running." (the only place that line comes from). */
void coord_start(coord_t *c, uint64_t now_us, outbox_t *out);

/* ---- client connections ----------------------------------------------------------
 * The core decides what every event on a client connection means; a driver only reports
 * events and carries out FX_CONN_SEND / FX_CONN_CLOSE (docs/PROTOCOL.md 2.5):
 *   open  -> the first line is awaited (CONN_IDLE_US at most);
 *   data  -> bytes of request lines. One-shot (the usual): the first whole line is the
 *            request, any bytes after it are ignored. Persistent (first line
 *            "ALICHAIN/1 KEEPALIVE", answered "OK KEEPALIVE"): every later line is a
 *            request, answered in request order; at most TCP_PIPELINE_MAX unanswered
 *            (more: ERROR BUSY in turn); a bad line: ERROR BADREQ after the replies owed,
 *            then FX_CONN_CLOSE, and no more bytes are read;
 *   eof   -> the peer shut down its writing side (a read returned 0). The driver keeps the
 *            connection open. The complete requests already received are still answered
 *            (a half-close), then FX_CONN_CLOSE; partial bytes are dropped, and with no
 *            reply owed FX_CONN_CLOSE is queued at once;
 *   reset -> the connection is gone (a reset, a failed write): the driver has released it.
 *            The operations already accepted still complete; only their replies are dropped.
 *   idle  -> a connection without its first line, or a persistent one with nothing
 *            unanswered, that got no bytes for CONN_IDLE_US is closed (no reply).
 * FX_CONN_CLOSE means: send what is queued, then close (net: flush, shutdown(SHUT_WR), read
 * until the peer's FIN or a linger deadline). After it the core forgets conn_id, so later
 * events on that id (the peer's FIN, a reset) are ignored. */

/* A client connection was accepted on client j's port (0 = A, 1 = B). conn_id is the
 * driver's, unique among open connections. Returns 0, or AC_EFULL when CONNECTIONS_MAX are
 * open (an FX_CONN_SEND of a BUSY reply and an FX_CONN_CLOSE are queued). */
int coord_on_conn_open(coord_t *c, uint64_t now_us, uint32_t conn_id, int client_index,
                       outbox_t *out);
/* Bytes arrived on a connection (none may follow its eof). */
void coord_on_conn_data(coord_t *c, uint64_t now_us, uint32_t conn_id, const uint8_t *data,
                        size_t len, outbox_t *out);
/* The peer shut down its writing side; see above. */
void coord_on_conn_eof(coord_t *c, uint64_t now_us, uint32_t conn_id, outbox_t *out);
/* The connection was reset or broke; the driver has released it; see above. */
void coord_on_conn_reset(coord_t *c, uint64_t now_us, uint32_t conn_id, outbox_t *out);
/* `bytes` of the FX_CONN_SEND data of conn_id left the driver: taken by the socket, or
 * discarded with a connection the core had closed (FX_CONN_CLOSE). Every byte the core
 * sends is reported so once, except on a connection reported reset (coord_on_conn_reset
 * forgets what it held). The core counts the bytes not yet reported, with the replies it
 * holds for their turn, per connection and in all; past CONN_UNSENT_BYTES_MAX on one
 * connection, or COORD_UNSENT_BYTES_BUDGET in all (common.h), it asks the driver to stop
 * reading that connection (FX_CONN_READ arg 0) and to read it again (arg 1) once the
 * bytes are taken. A driver that reads a stopped connection anyway is served, but is no
 * longer bounded. */
void coord_on_conn_sent(coord_t *c, uint64_t now_us, uint32_t conn_id, size_t bytes,
                        outbox_t *out);
/* Reply bytes sent (FX_CONN_SEND) and not yet reported by coord_on_conn_sent (the replies
 * held for their turn are not among them): a driver that reports every send at once, as
 * the simulator does, sees 0 after each drain. O(connections). */
size_t coord_unsent_bytes(const coord_t *c);
/* A datagram from backend `backend` (0..2); the driver has checked its source address. */
void coord_on_datagram(coord_t *c, uint64_t now_us, int backend, const uint8_t *data,
                       size_t len, outbox_t *out);
/* The FX_FILE_WRITE with this token finished (ok = 1) or failed (ok = 0). */
void coord_on_file_written(coord_t *c, uint64_t now_us, uint64_t token, int ok,
                           outbox_t *out);
/* Time passed: retransmissions, deadlines, idle connections. Call at coord_deadline_us()
 * or later; calling early is harmless. */
void coord_on_timer(coord_t *c, uint64_t now_us, outbox_t *out);
/* The earliest time coord_on_timer has work to do, or UINT64_MAX. */
uint64_t coord_deadline_us(const coord_t *c);

/* 1 when nothing is in flight (no batch, no pending write, no queued request): a stopping
 * driver may exit once this holds or its grace period is over. */
int coord_idle(const coord_t *c);

typedef struct {
    uint64_t batches;
    uint64_t batches_ahead;       /* of them, fetched while the batch before wrote (group commit) */
    uint64_t ahead_caught_up;     /* transfers of a batch before added to one ahead's fetch */
    uint64_t ahead_discarded;     /* batches ahead whose fetch was thrown away (a write of the
                                     batch before refused or in doubt) */
    uint64_t requests;
    uint64_t transfers_ok;
    uint64_t retransmits;
    uint64_t datagrams_dropped;   /* malformed, stale, unexpected or unauthentic */
    uint64_t datagrams_unauthentic; /* of those: refused by auth_open (bad MAC, ...) */
    uint64_t pages_unordered;     /* of those: LIST pages not at their backend's cursor (a
                                     page before them lost, reordered, or a copy) */
    uint64_t in_doubt;            /* writes whose outcome was reported unknown */
    uint64_t busy;                /* connections refused at CONNECTIONS_MAX */
    uint64_t budget_stops;        /* times the unsent replies reached COORD_UNSENT_BYTES_BUDGET */
    uint64_t replies_refused;     /* replies longer than a line answered ERROR BUSY instead
                                     (the memory rule: common.h COORD_UNSENT_BYTES_LIMIT) */
} coord_stats_t;
void coord_get_stats(const coord_t *c, coord_stats_t *s);

#endif
