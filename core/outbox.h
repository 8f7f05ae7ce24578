/* outbox.h — the effects a core state machine asks its driver to carry out.
 * Every core entry point appends effects here; the real poll() loop and the simulator
 * both drain the same list in order, then call outbox_clear(). The payload bytes live
 * in one arena owned by the outbox, so an effect is just (kind, target, token, slice). */
#ifndef ALICHAIN_OUTBOX_H
#define ALICHAIN_OUTBOX_H

#include "common.h"

typedef enum {
    FX_DGRAM = 1,    /* send data as one datagram to peer `target`:
                        from serverM: backend index 0..2; from a backend: 0 (serverM) */
    FX_CONN_SEND,    /* queue data on TCP connection `target` */
    FX_CONN_CLOSE,   /* close connection `target` once its queued bytes are sent (net:
                        then shutdown(SHUT_WR) and read until the peer's FIN or a linger
                        deadline); the core has forgotten `target` (coordinator.h) */
    /* backend storage (core/blockfile.h has the rules; the driver carries them out in
     * order, each step complete before the next one starts): */
    FX_BLOCK_APPEND, /* append data to the block file; when token != 0, call
                        backend_on_durable(token) once a sync covers it (a driver may
                        group the syncs of many appends: group commit) */
    FX_BLOCK_SYNC,   /* make every byte appended so far durable now */
    FX_BLOCK_TRUNCATE, /* cut the block file to `arg` bytes, durably */
    FX_MARKER_WRITE, /* replace "<block>.appended" with data, durably (temp, sync, rename) */
    FX_MARKER_REMOVE,/* remove "<block>.appended" durably (absent: nothing to do) */
    FX_TORN_APPEND,  /* append data to "<block>.torn", durably */
    FX_FILE_WRITE,   /* serverM: the TXLIST file, in chunks of one token: data goes to a
                        new temporary file; arg FX_FILE_MORE: more chunks follow; arg 0:
                        the last one: sync, rename onto the TXLIST path (atomic), then call
                        coord_on_file_written(token, ok); arg FX_FILE_ABORT: no more
                        chunks, discard the temporary file, no call */
    FX_STDOUT,       /* one line of the spec's screen text (no newline in data) */
    FX_STDERR,       /* one diagnostic line (no newline in data); arg FX_STDERR_DROP: it
                        reports one dropped input and may be counted, not printed (outbox_drop) */
    FX_DONE,         /* client: finished; `arg` is the process exit code */
    FX_CONN_READ,    /* serverM: arg 0: stop reading connection `target` (its bytes wait in
                        the socket); arg 1: read it again. Sent when the core's memory rule
                        changes its mind (coordinator.h, coord_on_conn_sent) */
} fx_kind_t;

typedef struct {
    fx_kind_t kind;
    uint32_t target;
    uint64_t token;
    uint64_t arg;
    size_t data_off; /* into outbox.data */
    size_t data_len;
} fx_t;

typedef struct {
    fx_t *fx;
    size_t fx_count;
    size_t fx_cap;
    uint8_t *data;
    size_t data_len;
    size_t data_cap;
    int failed; /* an allocation failed; effects were lost (treated as a crash by drivers) */
} outbox_t;

void outbox_init(outbox_t *o);
void outbox_free(outbox_t *o);
void outbox_clear(outbox_t *o);

/* Appends one effect with a copy of data[0..len). Returns a pointer to the new effect
 * (owned by the outbox, valid until the next push/clear) or NULL when memory ran out,
 * in which case o->failed is set. */
fx_t *outbox_push(outbox_t *o, fx_kind_t kind, uint32_t target, uint64_t token,
                  const void *data, size_t len);

#define FX_FILE_MORE 1  /* FX_FILE_WRITE arg: a chunk, more of the same file follow */
#define FX_FILE_ABORT 2 /* FX_FILE_WRITE arg: the file of this token is abandoned */
#define FX_STDERR_DROP 1 /* FX_STDERR arg: "dropped <reason>", one dropped input */
#define OUTBOX_DROP_PREFIX "dropped " /* how every FX_STDERR_DROP line starts */

/* FX_STDOUT / FX_STDERR with printf-style formatting (truncated to 1023 bytes). */
void outbox_line(outbox_t *o, fx_kind_t kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The effect's payload (never NULL: an outbox that holds no payload yet has no arena, and
 * even a zero offset from NULL is undefined behaviour; fuzz_block found it). */
/* FX_STDERR "dropped <reason>" with arg FX_STDERR_DROP: the core dropped one input (a
 * malformed or unexpected datagram...). fmt gives the reason, e.g. "a malformed datagram of
 * %zu bytes"; a driver may count drops by reason instead of printing each. */
void outbox_drop(outbox_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline const uint8_t *outbox_bytes(const outbox_t *o, const fx_t *f) {
    if (o->data == NULL) return (const uint8_t *)"";
    return o->data + f->data_off;
}

#endif
