/* udp_fate.c — one datagram's fate on a faulty UDP link (udp_fate.h): the distribution the
 * simulator and the real hosts' relay share. Pure: no clock, no socket, only the PRNG. */
#include "udp_fate.h"

#include <string.h>

uint64_t udp_fate_range(prng_t *rng, uint64_t lo, uint64_t hi) {
    return hi <= lo ? lo : lo + prng_below(rng, hi - lo + 1);
}

void udp_fate_draw(prng_t *rng, const sim_udp_t *u, udp_fate_t *out) {
    memset(out, 0, sizeof(*out));
    if (u->loss_ppm && prng_chance_ppm(rng, u->loss_ppm)) {
        out->lost = 1;
        return;
    }
    out->copies = u->dup_ppm && prng_chance_ppm(rng, u->dup_ppm) ? 2 : 1;
    for (int c = 0; c < out->copies; c++) {
        uint64_t delay = udp_fate_range(rng, u->delay_min_us, u->delay_max_us);
        if (u->reorder_ppm && prng_chance_ppm(rng, u->reorder_ppm)) {
            out->held[c] = 1;
            delay += udp_fate_range(rng, 0, 2 * u->delay_max_us + UDP_FATE_REORDER_EXTRA_US);
        }
        out->delay_us[c] = delay;
    }
}
