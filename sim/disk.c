/* disk.c — a backend's block file under the crash model of DESIGN.md: appends are
 * volatile until their sync completes; a crash keeps only what was synced, except that
 * (with the configured probability) part of the unsynced bytes survives, possibly ending
 * in the middle of a line: a torn write, which the restarted backend must cope with.
 * `cur` is the file as the process sees it, `durable` what survives a crash. */
#include <stdlib.h>
#include <string.h>

#include "world.h"

int disk_init(sim_bfile_t *d, const char *image, size_t len) {
    memset(d, 0, sizeof(*d));
    d->durable_is_prefix = 1;
    if (buf_append(&d->durable, image, len) != 0) return AC_ENOMEM;
    if (buf_append(&d->cur, image, len) != 0) return AC_ENOMEM;
    return 0;
}

void disk_free(sim_bfile_t *d) {
    buf_free(&d->cur);
    buf_free(&d->durable);
    buf_free(&d->torn_aside);
    free(d->syncs);
    memset(d, 0, sizeof(*d));
}

void disk_append(world_t *w, int b, uint64_t drop, const uint8_t *data, size_t len, uint64_t token) {
    sim_bfile_t *d = &w->disk[b];
    int node = b + 1;
    if (drop > 0) {
        if (drop > d->cur.len) {
            world_violation(w, "effects", "server%c asked to drop %llu bytes of a %zu-byte file",
                            backend_letter(b), (unsigned long long)drop, d->cur.len);
            drop = d->cur.len;
        }
        d->cur.len -= (size_t)drop;
        if (d->durable.len > d->cur.len) d->durable_is_prefix = 0;
    }
    int rc = 0;
    if (!d->appended) {
        /* as net/disk.c: before the marker, a hand-written unterminated last line gets its
         * '\n' and everything so far is synced; only then "<block>.appended" (durable) */
        if (d->cur.len > 0 && d->cur.p[d->cur.len - 1] != '\n') rc = buf_append(&d->cur, "\n", 1);
        d->durable.len = 0;
        if (rc == 0) rc = buf_append(&d->durable, d->cur.p, d->cur.len);
        d->durable_is_prefix = 1;
        d->appended = 1;
    }
    if (rc == 0 && d->cur.len > 0 && d->cur.p[d->cur.len - 1] != '\n') rc = buf_append(&d->cur, "\n", 1);
    if (rc == 0) rc = buf_append(&d->cur, data, len);
    if (rc == 0 && d->sync_count == d->sync_cap) {
        size_t cap = d->sync_cap ? d->sync_cap * 2 : 16;
        sim_sync_t *s = realloc(d->syncs, cap * sizeof(*s));
        if (s == NULL) rc = AC_ENOMEM;
        else {
            d->syncs = s;
            d->sync_cap = cap;
        }
    }
    if (rc != 0) {
        world_violation(w, "runaway", "out of memory for a block file");
        w->stop = 1;
        return;
    }
    const sim_disk_t *cfg = &w->faults.disk[b];
    uint64_t at = w->now_us + world_rand_range(w, cfg->sync_min_us, cfg->sync_max_us);
    if (at < d->last_sync_at) at = d->last_sync_at;
    d->last_sync_at = at;
    d->syncs[d->sync_count++] = (sim_sync_t){.token = token, .len_after = d->cur.len,
                                             .epoch = w->node[node].epoch};
    trace_event(w, node, "append", data, len, "append %zuB%s (token %llu): %.*s", len,
                drop ? " replacing a torn tail" : "", (unsigned long long)token,
                (int)(len && data[len - 1] == '\n' ? len - 1 : len), (const char *)data);
    sim_event_t e = {.kind = EV_SYNC, .node = (uint8_t)node, .at_us = at, .b = token,
                     .epoch = w->node[node].epoch};
    world_push(w, &e);
}

void disk_on_sync(world_t *w, int b, const sim_event_t *e) {
    sim_bfile_t *d = &w->disk[b];
    AC_ASSERT(d->sync_count > 0);
    AC_ASSERT(d->syncs[0].token == e->b);
    size_t upto = (size_t)d->syncs[0].len_after;
    memmove(&d->syncs[0], &d->syncs[1], (d->sync_count - 1) * sizeof(sim_sync_t));
    d->sync_count--;
    AC_ASSERT(upto <= d->cur.len);
    if (d->durable_is_prefix && d->durable.len <= upto) {
        buf_append(&d->durable, d->cur.p + d->durable.len, upto - d->durable.len);
    } else {
        d->durable.len = 0;
        buf_append(&d->durable, d->cur.p, upto);
    }
    d->durable_is_prefix = 1;
    trace_event(w, b + 1, "synced", &e->b, sizeof(e->b), "token %llu durable (%zu bytes)",
                (unsigned long long)e->b, d->durable.len);
}

void disk_crash(world_t *w, int b) {
    sim_bfile_t *d = &w->disk[b];
    int node = b + 1;
    w->res->faults[FAULT_UNSYNCED] += d->sync_count;
    /* P: the bytes that cur and durable share; what lies beyond in cur was never synced */
    size_t p = 0;
    size_t n = d->cur.len < d->durable.len ? d->cur.len : d->durable.len;
    if (d->durable_is_prefix) p = d->durable.len;
    else
        while (p < n && d->cur.p[p] == d->durable.p[p]) p++;
    if (d->cur.len > p + 1 && w->faults.disk[b].torn_ppm &&
        prng_chance_ppm(&w->rng, w->faults.disk[b].torn_ppm)) {
        size_t keep = (size_t)world_rand_range(w, p + 1, d->cur.len - 1);
        d->durable.len = 0;
        buf_append(&d->durable, d->cur.p, keep);
        int torn = d->durable.p[keep - 1] != '\n';
        if (torn) w->res->faults[FAULT_TORN]++;
        trace_event(w, node, "disk-crash", &keep, sizeof(keep),
                    "crash kept %zu of %zu unsynced bytes%s", keep - p, d->cur.len - p,
                    torn ? ": the last line is torn" : "");
    } else if (d->sync_count > 0) {
        trace_event(w, node, "disk-crash", &p, sizeof(p), "crash dropped %zu unsynced bytes",
                    d->cur.len - p);
    }
    d->sync_count = 0;
    d->last_sync_at = 0;
    d->cur.len = 0;
    buf_append(&d->cur, d->durable.p, d->durable.len);
    d->durable_is_prefix = 1;
}
