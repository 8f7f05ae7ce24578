/* disk_fate.c — one sync's delay and one crash's torn part (disk_fate.h): the distribution
 * the simulator and the real hosts' fault file system share. Pure: no clock, no file. */
#include "disk_fate.h"

#include "udp_fate.h"

uint64_t disk_fate_sync_us(prng_t *rng, const sim_disk_t *d) {
    return udp_fate_range(rng, d->sync_min_us, d->sync_max_us);
}

size_t disk_fate_keep(prng_t *rng, const sim_disk_t *d, size_t unsynced) {
    if (unsynced <= 1 || d->torn_ppm == 0 || !prng_chance_ppm(rng, d->torn_ppm)) return 0;
    return (size_t)udp_fate_range(rng, 1, unsynced - 1);
}

int disk_fate_write(prng_t *rng, const sim_disk_t *d, size_t len, size_t *kept) {
    *kept = 0;
    int fate = d->full ? DISK_FATE_NOSPACE
               : d->eio_write_ppm != 0 && prng_chance_ppm(rng, d->eio_write_ppm) ? DISK_FATE_EIO
                                                                                  : DISK_FATE_OK;
    if (fate != DISK_FATE_OK) *kept = len / 2;
    return fate;
}

int disk_fate_sync(prng_t *rng, const sim_disk_t *d) {
    return d->eio_sync_ppm != 0 && prng_chance_ppm(rng, d->eio_sync_ppm) ? DISK_FATE_EIO : DISK_FATE_OK;
}
