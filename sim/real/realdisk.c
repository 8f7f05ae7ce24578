/* realdisk.c — a run's disks (realdisk.h): a fault file system per server, settings and
 * power cuts handed to it synchronously, its counters read back. */
#include "realdisk.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "blockfile.h"

static const char node_letter[SIM_SERVERS] = {'M', 'A', 'B', 'C'};

int realdisk_init(realdisk_t *d, int mode, const char *run_dir, char *err, size_t cap) {
    memset(d, 0, sizeof(*d));
    for (int n = 0; n < SIM_SERVERS; n++) d->fs[n].wake_fd = -1;
    char why[FAULTFS_ERR_BYTES] = "";
    int fuse = mode != REALDISK_PLAIN && faultfs_available(why, sizeof(why)) == 0;
    if (mode == REALDISK_FUSE && !fuse) {
        snprintf(err, cap, "--disk fuse: %s", why);
        return -1;
    }
    snprintf(d->note, sizeof(d->note), "%s", mode == REALDISK_PLAIN ? "--disk plain" : why);
    for (int n = 0; n < SIM_SERVERS; n++) {
        int w = fuse ? snprintf(d->dir[n], sizeof(d->dir[n]), "%s/%c", run_dir, node_letter[n])
                     : snprintf(d->dir[n], sizeof(d->dir[n]), "%s", run_dir);
        if (w < 0 || (size_t)w >= sizeof(d->dir[n])) {
            snprintf(err, cap, "path too long: %s", run_dir);
            return -1;
        }
        if (fuse && mkdir(d->dir[n], 0755) != 0) {
            snprintf(err, cap, "cannot create %s: %s", d->dir[n], strerror(errno));
            return -1;
        }
    }
    d->mounted = -fuse; /* -1: to be mounted (realdisk_mount) */
    return 0;
}

void realdisk_path(const realdisk_t *d, int node, const char *name, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s", d->dir[node], name);
}

/* Node's settings under f: a backend's disk; serverM's TXLIST file delay as a sync delay. */
static sim_disk_t disk_of(const sim_faults_t *f, int node) {
    if (node == SIM_NODE_M) return (sim_disk_t){.sync_min_us = f->file_min_us, .sync_max_us = f->file_max_us};
    return f->disk[node - SIM_NODE_A];
}

int realdisk_mount(realdisk_t *d, const sim_faults_t *f, uint64_t seed, uint64_t late_us, char *err, size_t cap) {
    if (d->mounted >= 0) return 0;
    (void)faultfs_sweep(); /* a killed earlier run's leftovers */
    d->mounted = 1;
    for (int n = 0; n < SIM_SERVERS; n++) {
        const char *log = n == SIM_NODE_M ? "" : blockfile_default_name(n - SIM_NODE_A);
        d->set[n] = disk_of(f, n);
        if (faultfs_start(&d->fs[n], d->dir[n], log, seed ^ (0x6469736bull << 8) ^ (uint64_t)n, &d->set[n], late_us,
                          err, cap) != 0) {
            realdisk_unmount(d);
            return -1;
        }
    }
    return 0;
}

int realdisk_set(realdisk_t *d, const sim_faults_t *f, char *err, size_t cap) {
    if (d->mounted <= 0) return 0;
    for (int n = 0; n < SIM_SERVERS; n++) {
        sim_disk_t want = disk_of(f, n);
        if (memcmp(&want, &d->set[n], sizeof(want)) == 0) continue;
        if (faultfs_command(&d->fs[n], FAULTFS_CMD_SET, &want, err, cap) != 0) return -1;
        d->set[n] = want;
    }
    return 0;
}

int realdisk_cut(realdisk_t *d, int node, char *err, size_t cap) {
    if (d->mounted <= 0 || d->off[node]) return 0;
    if (faultfs_command(&d->fs[node], FAULTFS_CMD_CUT, NULL, err, cap) != 0) return -1;
    d->off[node] = 1;
    return 0;
}

int realdisk_on(realdisk_t *d, int node, char *err, size_t cap) {
    if (d->mounted <= 0 || !d->off[node]) return 0;
    if (faultfs_command(&d->fs[node], FAULTFS_CMD_ON, NULL, err, cap) != 0) return -1;
    d->off[node] = 0;
    return 0;
}

/* The totals so far, summed over the servers. */
static void realdisk_totals(const realdisk_t *d, faultfs_counts_t *out) {
    memset(out, 0, sizeof(*out));
    for (int n = 0; n < SIM_SERVERS; n++) {
        faultfs_counts_t c;
        faultfs_counts(&d->fs[n], &c);
        out->writes += c.writes;
        out->syncs += c.syncs;
        out->slow_syncs += c.slow_syncs;
        out->cuts += c.cuts;
        out->unsynced += c.unsynced;
        out->torn += c.torn;
        out->bytes_lost += c.bytes_lost;
        out->bytes_kept += c.bytes_kept;
        out->refused += c.refused;
        out->nospace += c.nospace;
        out->eio += c.eio;
    }
}

void realdisk_summary(const realdisk_t *d, char *out, size_t cap) {
    faultfs_counts_t c;
    realdisk_totals(d, &c);
    snprintf(out, cap, "%llu power cuts (unsynced appends lost %llu, torn %llu; bytes lost %llu, kept torn %llu), "
                       "%llu writes, %llu syncs, %llu slow, %llu ENOSPC, %llu EIO",
             (unsigned long long)c.cuts, (unsigned long long)c.unsynced, (unsigned long long)c.torn,
             (unsigned long long)c.bytes_lost, (unsigned long long)c.bytes_kept, (unsigned long long)c.writes,
             (unsigned long long)c.syncs, (unsigned long long)c.slow_syncs, (unsigned long long)c.nospace,
             (unsigned long long)c.eio);
}

uint64_t realdisk_counters(realdisk_t *d, uint64_t faults[FAULT_COUNT]) {
    if (d->mounted <= 0) return 0;
    faultfs_counts_t t;
    realdisk_totals(d, &t);
    const uint64_t now[] = {t.torn, t.unsynced, t.nospace, t.eio};
    const int id[] = {FAULT_TORN, FAULT_UNSYNCED, FAULT_NOSPACE, FAULT_EIO};
    for (size_t k = 0; k < sizeof(id) / sizeof(id[0]); k++) {
        if (now[k] > d->reported[id[k]]) faults[id[k]] += now[k] - d->reported[id[k]];
        if (now[k] > d->reported[id[k]]) d->reported[id[k]] = now[k];
    }
    uint64_t slow = t.slow_syncs > d->slow_reported ? t.slow_syncs - d->slow_reported : 0;
    d->slow_reported += slow;
    return slow;
}

void realdisk_unmount(realdisk_t *d) {
    for (int n = 0; n < SIM_SERVERS; n++) faultfs_stop(&d->fs[n]);
    if (d->mounted > 0) d->mounted = 0;
}
