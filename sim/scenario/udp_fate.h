/* udp_fate.h — what the network does to one UDP datagram on a link with settings sim_udp_t:
 * lost or not, one copy or two, each copy's delay and whether it is held back. One pure
 * function, drawn from a caller's PRNG, used by both drivers: the simulator's network
 * (sim/world/link.c) and the real hosts' UDP fault relay (sim/hosts/relay.c), so that a
 * scenario's `net udp` line means the same ranges and shapes on both (docs/REAL-HOSTS.md).
 * It lives in the scenario room because sim_udp_t, the settings it reads, does. */
#ifndef ALICHAIN_SIM_UDP_FATE_H
#define ALICHAIN_SIM_UDP_FATE_H

#include <stdint.h>

#include "prng.h"
#include "scenario.h"

#define UDP_FATE_COPIES_MAX 2           /* a duplicated datagram: the original and one copy */
#define UDP_FATE_REORDER_EXTRA_US 1000  /* a held datagram waits 0 .. 2 x max delay + this */

typedef struct {
    uint8_t lost;                             /* dropped: copies is 0 */
    uint8_t copies;                           /* 0, 1, or 2 when duplicated */
    uint8_t held[UDP_FATE_COPIES_MAX];        /* copy k was picked for reordering */
    uint64_t delay_us[UDP_FATE_COPIES_MAX];   /* copy k's delay, its hold included */
} udp_fate_t;

/* Draws one datagram's fate from rng, in this order (the simulator's trace hashes depend on
 * it): loss (only when loss_ppm > 0), duplication (only when dup_ppm > 0), then for each
 * copy its delay uniform in [delay_min_us, delay_max_us] (no draw when the range is one
 * value) and, when reorder_ppm > 0, whether it is held, and if so an extra hold uniform in
 * [0, 2 x delay_max_us + UDP_FATE_REORDER_EXTRA_US]. */
void udp_fate_draw(prng_t *rng, const sim_udp_t *u, udp_fate_t *out);

/* Uniform in [lo, hi] (lo when hi <= lo, without a draw): the one range draw of both drivers. */
uint64_t udp_fate_range(prng_t *rng, uint64_t lo, uint64_t hi);

#endif
