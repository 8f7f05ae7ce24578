/* disk_fate.h — what a disk with settings sim_disk_t does to one sync and to one crash: how
 * long the sync takes, and how many of the unsynced bytes a crash keeps (a torn append);
 * whether a write or a sync fails (ENOSPC, EIO) and how much of a failed write is in. One
 * pure function each, drawn from a caller's PRNG, used by both drivers: the simulator's disk
 * (sim/world/world.c) and the real hosts' fault file system (sim/hosts/faultfs.c), so that a
 * scenario's `disk ... sync R torn P` line means the same ranges and shapes on both
 * (docs/REAL.md). It lives in the scenario room because sim_disk_t, the settings it reads,
 * does — as udp_fate.h does for a UDP link. */
#ifndef ALICHAIN_SIM_DISK_FATE_H
#define ALICHAIN_SIM_DISK_FATE_H

#include <stddef.h>
#include <stdint.h>

#include "prng.h"
#include "scenario.h"

/* The time one sync takes: uniform in [sync_min_us, sync_max_us] (no draw when the range is
 * one value; udp_fate_range). */
uint64_t disk_fate_sync_us(prng_t *rng, const sim_disk_t *d);

/* How many of the `unsynced` bytes (appended, not yet synced) survive a crash: 0 unless
 * unsynced > 1 and a draw with probability torn_ppm says the append tears; then uniform in
 * [1, unsynced - 1] (at least one byte kept and one lost). Draws nothing when torn_ppm is 0
 * or unsynced <= 1 (the simulator's trace hashes depend on it). */
size_t disk_fate_keep(prng_t *rng, const sim_disk_t *d, size_t unsynced);

/* What the disk does to one write of an append of len bytes (the block file's): 0, written
 * whole; DISK_FATE_NOSPACE ("full on": no draw) or DISK_FATE_EIO (a draw with probability
 * eio_write_ppm, none when it is 0), and then *kept = len / 2 of its bytes are written
 * before the error (a partial write the backend must cut away). */
enum { DISK_FATE_OK = 0, DISK_FATE_NOSPACE, DISK_FATE_EIO };
int disk_fate_write(prng_t *rng, const sim_disk_t *d, size_t len, size_t *kept);

/* One sync of appended bytes: DISK_FATE_EIO with probability eio_sync_ppm (no draw when it
 * is 0), else DISK_FATE_OK. Nothing of what it should have covered is durable then. */
int disk_fate_sync(prng_t *rng, const sim_disk_t *d);

#endif
