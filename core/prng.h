/* prng.h — a small seeded generator (SplitMix64 to seed, xoshiro256** to draw).
 * Core never gathers entropy: the driver passes a seed (ALICHAIN_SEED or the OS's),
 * and the simulator passes the scenario's, so every choice can be replayed. */
#ifndef ALICHAIN_PRNG_H
#define ALICHAIN_PRNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} prng_t;

void prng_init(prng_t *p, uint64_t seed);
uint64_t prng_next(prng_t *p);
/* Uniform in [0, n), n >= 1, without modulo bias. */
uint64_t prng_below(prng_t *p, uint64_t n);
/* 1 with probability ppm / 1,000,000. */
int prng_chance_ppm(prng_t *p, uint32_t ppm);

#endif
