/* realdisk.h — the disks of a real-mode run (and of the power-cut soak): each server's
 * directory, and where this machine can mount it, the disk fault file system over each
 * (sim/hosts/faultfs.h): sync delay and torn appends of a backend's block file, the file
 * delay of serverM's alichain.txt, power cuts. Without it every server shares the run's
 * directory, as before, and disk faults are refused. */
#ifndef ALICHAIN_SIM_REALDISK_H
#define ALICHAIN_SIM_REALDISK_H

#include <stddef.h>
#include <stdint.h>

#include "hosts/faultfs.h"
#include "scenario/scenario.h"

#define REALDISK_DIR_BYTES 300
#define REALDISK_NOTE_BYTES 300

enum { REALDISK_AUTO = 0, REALDISK_FUSE, REALDISK_PLAIN }; /* --disk auto|fuse|plain */

typedef struct {
    int mounted;                           /* the fault file system is over every dir */
    char dir[SIM_SERVERS][REALDISK_DIR_BYTES]; /* each server's cwd and files */
    faultfs_t fs[SIM_SERVERS];
    int off[SIM_SERVERS];                  /* power cut and not back on */
    sim_disk_t set[SIM_SERVERS];           /* the settings handed to each */
    uint64_t reported[FAULT_COUNT];        /* FAULT_TORN, FAULT_UNSYNCED added so far */
    uint64_t slow_reported;
    char note[REALDISK_NOTE_BYTES];        /* plain: why (for the report) */
} realdisk_t;

/* Lays out run_dir: with the file system (mode FUSE, or AUTO where faultfs_available) a
 * directory per server (run_dir/M, A, B, C), else run_dir for all. Mounts nothing yet.
 * Returns 0, or -1 with err (mode FUSE where it is unavailable; a mkdir failed). */
int realdisk_init(realdisk_t *d, int mode, const char *run_dir, char *err, size_t cap);

/* The path of name in server node's directory. */
void realdisk_path(const realdisk_t *d, int node, const char *name, char *out, size_t cap);

/* Mounts the file system over each server's directory with the settings of f (a backend's
 * disk; serverM's the file delay), draws seeded by seed, syncs slower than late_us counted
 * slow. No-op without the file system. 0, or -1 with err (everything unmounted). */
int realdisk_mount(realdisk_t *d, const sim_faults_t *f, uint64_t seed, uint64_t late_us, char *err, size_t cap);

/* Hands every server whose disk settings in f changed its new ones; returns once each
 * acknowledged. 0, or -1 with err. */
int realdisk_set(realdisk_t *d, const sim_faults_t *f, char *err, size_t cap);

/* A power cut of node's disk (its unsynced bytes lost, its writes refused until
 * realdisk_on), and the power back. No-ops without the file system. 0, or -1 with err. */
int realdisk_cut(realdisk_t *d, int node, char *err, size_t cap);
int realdisk_on(realdisk_t *d, int node, char *err, size_t cap);

/* Adds what the disks counted since the last call to faults (FAULT_TORN, FAULT_UNSYNCED);
 * returns the syncs since then that were slower than late_us. */
uint64_t realdisk_counters(realdisk_t *d, uint64_t faults[FAULT_COUNT]);

/* "N power cuts (unsynced appends lost U, torn T; bytes lost, kept torn), N writes, N syncs,
 * N slow": the report's summary of the disks. */
#define REALDISK_SUMMARY_BYTES 300
void realdisk_summary(const realdisk_t *d, char *out, size_t cap);

/* Unmounts everything; safe more than once and after a partial mount. */
void realdisk_unmount(realdisk_t *d);

#endif
