/* disk.h — the one simulated disk: a backend's block file, its "<block>.appended" marker
 * and its "<block>.torn" file under the crash model of DESIGN.md. It models durability and
 * tearing only; what the bytes mean is core's (core/blockfile.h). The simulator, the fuzz
 * targets and the unit tests all carry out a backend's storage effects with it. */
#ifndef ALICHAIN_SIM_DISK_H
#define ALICHAIN_SIM_DISK_H

#include "blockfile.h"
#include "buf.h"
#include "outbox.h"

typedef struct {
    uint64_t token;      /* of the FX_BLOCK_APPEND */
    size_t len_after;    /* the file's length once that append is in */
    uint64_t seq;        /* the caller's: orders syncs across disks (0 unless it sets it) */
} simdisk_sync_t;

typedef struct {
    sim_buf_t file;        /* the block file as the process sees it */
    size_t durable_len;    /* file[0..durable_len) survives a crash; the rest may not */
    sim_buf_t marker;      /* "<block>.appended" (its writes and removal are durable at once) */
    int marker_present;
    sim_buf_t torn;        /* "<block>.torn": torn tails set aside (durable at once) */
    simdisk_sync_t *syncs; /* appends awaiting their sync, oldest first */
    size_t sync_count, sync_cap;
} simdisk_t;

/* A disk holding image[0..len), all of it durable, no marker. Returns 0 or AC_ENOMEM. */
int simdisk_init(simdisk_t *d, const char *image, size_t len);
void simdisk_free(simdisk_t *d);

/* Carries out one storage effect (FX_BLOCK_*, FX_MARKER_*, FX_TORN_APPEND) with its bytes.
 * Returns 1 when an append now awaits a sync (the caller calls simdisk_sync_next later,
 * once per such append), 0 otherwise, AC_ENOMEM, or AC_EINVAL for an effect that is not
 * storage or a truncation beyond the end (a core bug the caller reports). */
int simdisk_apply(simdisk_t *d, const fx_t *f, const uint8_t *data);
/* 1 for the effect kinds simdisk_apply carries out. */
int simdisk_is_storage(fx_kind_t kind);

/* The oldest awaiting sync completes: its append (and all before it) is durable. Returns
 * its token. Only with sync_count > 0. */
uint64_t simdisk_sync_next(simdisk_t *d);

/* Bytes written but not durable. */
size_t simdisk_unsynced(const simdisk_t *d);

/* A crash: of the unsynced bytes the first `keep` (<= simdisk_unsynced) survive, the rest
 * is lost, and awaiting syncs are forgotten. Returns 1 when the file then ends in the
 * middle of a line (a torn write), else 0. */
int simdisk_crash(simdisk_t *d, size_t keep);

/* Recovery as a restarting backend would see the disk: blockfile_recover() over the
 * durable image and marker into the empty ledger l (see blockfile.h for the results).
 * A restarting backend does the same through backend_load(). */
int simdisk_recover(const simdisk_t *d, ledger_t *l, const char *file_name,
                    blockfile_recovery_t *res, char *err, size_t err_cap);
/* The block file's bytes (never NULL; the durable ones are the first durable_len). */
const char *simdisk_image(const simdisk_t *d);
/* The marker's content and length, or NULL when there is none. */
const char *simdisk_marker(const simdisk_t *d, size_t *len);

#endif
