/* tcp_fate.c — a TCP stream's segments, delays and resets (tcp_fate.h): the draws the
 * simulator and the real hosts' TCP fault proxy share. Pure: no clock, no socket. */
#include "tcp_fate.h"

#include "udp_fate.h"

size_t tcp_fate_size(prng_t *rng, const sim_tcp_t *t, size_t left) {
    size_t n = (size_t)udp_fate_range(rng, t->seg_min ? t->seg_min : 1, t->seg_max ? t->seg_max : 1);
    return n < left ? n : left;
}

uint64_t tcp_fate_delay(prng_t *rng, const sim_tcp_t *t) {
    return udp_fate_range(rng, t->delay_min_us, t->delay_max_us);
}

int tcp_fate_reset(prng_t *rng, const sim_tcp_t *t) {
    return t->reset_ppm && prng_chance_ppm(rng, t->reset_ppm);
}
