/* txfile.h — serverM's TXLIST file, written by a thread of its own so that no write or
 * sync of a large file ever holds up the event loop (no head-of-line blocking): the loop
 * hands over the chunks of FX_FILE_WRITE as they come and hears of the finished file
 * through a pipe it polls. The thread only carries out what core decided (outbox.h). */
#ifndef ALICHAIN_NET_TXFILE_H
#define ALICHAIN_NET_TXFILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct txfile txfile_t;

#define TXFILE_ERR_BYTES 256

typedef struct {
    uint64_t token;
    int ok;
    char why[TXFILE_ERR_BYTES]; /* when !ok */
} txfile_done_t;

/* Starts the writer for `path`. NULL on failure (err says why). */
txfile_t *txfile_new(const char *path, char *err, size_t err_cap);
/* Stops the thread after the work already handed over; a file left unfinished is
 * removed (its temporary file, never the TXLIST path). */
void txfile_free(txfile_t *t);
/* The descriptor to poll for POLLIN: results are waiting. */
int txfile_fd(const txfile_t *t);
/* Hands one FX_FILE_WRITE over (token, data copied, arg: FX_FILE_MORE, 0 or
 * FX_FILE_ABORT). Returns 0, or -1 when memory ran out (the file then fails). */
int txfile_submit(txfile_t *t, uint64_t token, uint64_t arg, const void *data, size_t len);
/* Takes up to max finished files. Returns how many. */
size_t txfile_take(txfile_t *t, txfile_done_t *out, size_t max);
/* 1 when nothing is handed over and unfinished. */
int txfile_idle(txfile_t *t);

#endif
