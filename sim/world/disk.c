/* disk.c — the one simulated disk (disk.h): appends are volatile until a sync covers them;
 * a crash keeps what was synced plus, if the caller says so, part of what was not,
 * possibly ending in the middle of a line (a torn write). Marker and torn-file changes are
 * durable at once, as the real driver makes them (fsync of file and directory). */
#include "disk.h"

#include <stdlib.h>
#include <string.h>


int simdisk_init(simdisk_t *d, const char *image, size_t len) {
    memset(d, 0, sizeof(*d));
    if (buf_append(&d->file, image, len) != 0) return AC_ENOMEM;
    d->durable_len = len;
    return 0;
}

void simdisk_free(simdisk_t *d) {
    buf_free(&d->file);
    buf_free(&d->marker);
    buf_free(&d->torn);
    free(d->syncs);
    memset(d, 0, sizeof(*d));
}

int simdisk_is_storage(fx_kind_t kind) {
    switch (kind) {
    case FX_BLOCK_APPEND: case FX_BLOCK_SYNC: case FX_BLOCK_TRUNCATE:
    case FX_MARKER_WRITE: case FX_MARKER_REMOVE: case FX_TORN_APPEND:
        return 1;
    default:
        return 0;
    }
}

int simdisk_apply(simdisk_t *d, const fx_t *f, const uint8_t *data) {
    switch (f->kind) {
    case FX_BLOCK_APPEND:
        if (f->token != 0 && d->sync_count == d->sync_cap) {
            size_t cap = d->sync_cap ? d->sync_cap * 2 : 16;
            simdisk_sync_t *p = realloc(d->syncs, cap * sizeof(*p));
            if (p == NULL) return AC_ENOMEM;
            d->syncs = p;
            d->sync_cap = cap;
        }
        if (buf_append(&d->file, data, f->data_len) != 0) return AC_ENOMEM;
        if (f->token == 0) return 0;
        d->syncs[d->sync_count++] = (simdisk_sync_t){.token = f->token, .len_after = d->file.len};
        return 1;
    case FX_BLOCK_SYNC:
        d->durable_len = d->file.len;
        return 0;
    case FX_BLOCK_TRUNCATE:
        if (f->arg > d->file.len) return AC_EINVAL;
        d->file.len = (size_t)f->arg;
        d->durable_len = d->file.len; /* ftruncate, then fsync */
        /* appends cut away (a failed write or sync) await no sync any more */
        while (d->sync_count > 0 && d->syncs[d->sync_count - 1].len_after > d->file.len) d->sync_count--;
        return 0;
    case FX_MARKER_WRITE:
        d->marker.len = 0;
        if (buf_append(&d->marker, data, f->data_len) != 0) return AC_ENOMEM;
        d->marker_present = 1;
        return 0;
    case FX_MARKER_REMOVE:
        d->marker_present = 0;
        d->marker.len = 0;
        return 0;
    case FX_TORN_APPEND:
        return buf_append(&d->torn, data, f->data_len) != 0 ? AC_ENOMEM : 0;
    default:
        return AC_EINVAL;
    }
}

uint64_t simdisk_sync_next(simdisk_t *d) {
    AC_ASSERT(d->sync_count > 0);
    simdisk_sync_t s = d->syncs[0];
    memmove(&d->syncs[0], &d->syncs[1], (d->sync_count - 1) * sizeof(d->syncs[0]));
    d->sync_count--;
    AC_ASSERT(s.len_after <= d->file.len);
    if (s.len_after > d->durable_len) d->durable_len = s.len_after;
    return s.token;
}

size_t simdisk_unsynced(const simdisk_t *d) {
    AC_ASSERT(d->durable_len <= d->file.len);
    return d->file.len - d->durable_len;
}

int simdisk_crash(simdisk_t *d, size_t keep) {
    AC_ASSERT(keep <= simdisk_unsynced(d));
    d->file.len = d->durable_len + keep;
    d->durable_len = d->file.len;
    d->sync_count = 0;
    return d->file.len > 0 && d->file.p[d->file.len - 1] != '\n' && keep > 0;
}

const char *simdisk_image(const simdisk_t *d) {
    return d->file.len > 0 ? (const char *)d->file.p : "";
}

const char *simdisk_marker(const simdisk_t *d, size_t *len) {
    *len = d->marker.len;
    if (!d->marker_present) return NULL;
    return d->marker.len > 0 ? (const char *)d->marker.p : "";
}

int simdisk_recover(const simdisk_t *d, ledger_t *l, const char *file_name,
                    blockfile_recovery_t *res, char *err, size_t err_cap) {
    size_t marker_len;
    const char *marker = simdisk_marker(d, &marker_len);
    return blockfile_recover(l, simdisk_image(d), d->durable_len, marker, marker_len, file_name,
                             res, err, err_cap);
}
