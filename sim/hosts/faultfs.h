/* faultfs.h — a disk fault file system (libfuse3) in the manner of Jepsen's LazyFS: mounted
 * over a real directory (over itself: the backing is the directory as it was before the
 * mount), it passes reads and writes through but keeps every byte not yet synced in its own
 * cache (direct_io: no kernel page cache, so a restarted process reads what the "disk"
 * holds). An fsync/fdatasync makes a file's bytes durable after a delay drawn by the
 * simulator's own function (scenario/disk_fate.h); a power cut loses what was not synced,
 * keeping a torn prefix of the log file's unsynced append with the simulator's
 * distribution. Namespace changes (create, rename, unlink) and directory fsyncs are durable
 * at once, as the simulator's marker and torn files are. flock is the kernel's (the file
 * system declares no lock method). One mount is one node's disk; it runs in a child
 * process, commanded through a shared control block and an eventfd, acknowledged by
 * sequence number like the UDP relay (relay.h): faultfs_command returns once the command
 * has taken effect. Built without libfuse3 (ALICHAIN_FUSE undefined), faultfs_available
 * says so and nothing mounts. */
#ifndef ALICHAIN_FAULTFS_H
#define ALICHAIN_FAULTFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "scenario/scenario.h"

#define FAULTFS_PATH_BYTES 256
#define FAULTFS_NAME_BYTES 64
#define FAULTFS_ERR_BYTES 300
#define FAULTFS_READY_TIMEOUT_MS 5000  /* the child mounted by then */
#define FAULTFS_STOP_TIMEOUT_MS 3000   /* the child exits after the unmount by then */
#define FAULTFS_ACK_TIMEOUT_MS 1000    /* a command is acknowledged by then (it takes us) */
#define FAULTFS_FSNAME "alichain-faultfs" /* mounts are named FAULTFS_FSNAME.<runner pid> */

enum {
    FAULTFS_CMD_SET = 1, /* take want as the disk's settings (sync delay, torn, errors) */
    FAULTFS_CMD_CUT,     /* a power cut: unsynced bytes lost (the log file's torn by the
                          * settings), sleeping syncs fail, every write refused until ON */
    FAULTFS_CMD_ON,      /* power back: writes accepted again */
};

/* What the file system did (monotonic). */
typedef struct {
    uint64_t writes;     /* write requests */
    uint64_t syncs;      /* syncs that made bytes durable */
    uint64_t slow_syncs; /* of them, delayed more than the control block's late_us */
    uint64_t cuts;       /* power cuts */
    uint64_t unsynced;   /* appends (write requests) to the log file lost at a cut before
                          * their sync: the simulator's FAULT_UNSYNCED */
    uint64_t torn;       /* cuts that left the log file ending in the middle of a line:
                          * FAULT_TORN */
    uint64_t bytes_lost; /* unsynced bytes a cut dropped */
    uint64_t bytes_kept; /* unsynced bytes a cut kept (torn appends) */
    uint64_t refused;    /* requests refused while the power was off */
    uint64_t nospace;    /* writes to the log file failed with ENOSPC ("full on"):
                          * FAULT_NOSPACE */
    uint64_t eio;        /* writes to and syncs of the log file failed with EIO
                          * ("eio-write", "eio-sync"): FAULT_EIO */
} faultfs_counts_t;

/* Shared between the runner and the file system's child (an anonymous shared mapping).
 * The runner writes cmd, want and late_us, then bumps wanted (release) and wakes the
 * child; the child carries the command out and stores acked = wanted. */
typedef struct {
    sim_disk_t want;
    uint64_t late_us;
    uint32_t cmd;
    uint64_t wanted;
    uint64_t acked;
    faultfs_counts_t published;
} faultfs_control_t;

typedef struct {
    char dir[FAULTFS_PATH_BYTES];
    pid_t pid;                 /* the child serving the mount; 0: none */
    faultfs_control_t *ctl;    /* NULL: not started */
    int wake_fd;
} faultfs_t;

/* 0 when this build and machine can mount: built with libfuse3, root, /dev/fuse opens;
 * else -1 with err saying why. */
int faultfs_available(char *err, size_t cap);

/* Mounts the file system over dir (an existing directory; its files stay and are the
 * durable state) in a child process. log_name ("" for none) is the file whose syncs are
 * delayed by the settings and whose unsynced append a cut may tear, counted as unsynced and
 * torn (a backend's block file); with "", every file's sync is delayed (serverM's
 * alichain.txt: the file delay) and none tears. seed drives the draws; d the settings;
 * late_us marks a sync as slow. Returns 0 or -1 with err (nothing left mounted). */
int faultfs_start(faultfs_t *fs, const char *dir, const char *log_name, uint64_t seed, const sim_disk_t *d,
                  uint64_t late_us, char *err, size_t cap);

/* Carries out cmd (FAULTFS_CMD_*; d: the settings for FAULTFS_CMD_SET, else NULL) and
 * returns once the file system acknowledged it: 0, or -1 with err. */
int faultfs_command(faultfs_t *fs, uint32_t cmd, const sim_disk_t *d, char *err, size_t cap);

/* The counters published so far (zeros when not started). */
void faultfs_counts(const faultfs_t *fs, faultfs_counts_t *out);

/* Unmounts (lazily when busy), stops the child (SIGKILL past FAULTFS_STOP_TIMEOUT_MS) and
 * frees the control block. Safe when never started, after a failed start and twice. */
void faultfs_stop(faultfs_t *fs);

/* Lazily unmounts every FAULTFS_FSNAME mount whose runner is gone (a killed run's
 * leftovers). Returns how many. */
int faultfs_sweep(void);

#endif
