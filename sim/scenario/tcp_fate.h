/* tcp_fate.h — what the network does to a TCP byte stream with settings sim_tcp_t: how a
 * send is cut into segments, each segment's delay, and whether a segment resets its
 * connection instead. Pure draws from a caller's PRNG, used by both drivers: the
 * simulator's network (sim/world/link.c) and the real hosts' TCP fault proxy
 * (sim/hosts/tcpproxy.c), so a scenario's `net tcp` line means the same sizes, ranges and
 * rates on both (docs/REAL-HOSTS.md). Beside udp_fate.h, for the same reason: sim_tcp_t
 * lives in this room. */
#ifndef ALICHAIN_SIM_TCP_FATE_H
#define ALICHAIN_SIM_TCP_FATE_H

#include <stddef.h>
#include <stdint.h>

#include "prng.h"
#include "scenario.h"

/* The size of the next segment of a send with `left` bytes still to cut: uniform in
 * [seg_min, seg_max] (0 counts as 1; no draw when the range is one value), at most left. */
size_t tcp_fate_size(prng_t *rng, const sim_tcp_t *t, size_t left);

/* A segment's (or a FIN's) delay: uniform in [delay_min_us, delay_max_us]. A stream keeps
 * its order: the caller delivers a segment no earlier than the one before it. */
uint64_t tcp_fate_delay(prng_t *rng, const sim_tcp_t *t);

/* Whether a data segment, as it is delivered, resets its connection instead (drawn only
 * when reset_ppm > 0; never for a FIN). */
int tcp_fate_reset(prng_t *rng, const sim_tcp_t *t);

#endif
