/* prng.c — the only source of chance in core: xoshiro256** seeded through SplitMix64.
 * Deterministic for a given seed, so the simulator and ALICHAIN_SEED can replay any run.
 * Not cryptographic; it only picks backends and fault schedules. */
#include "prng.h"

#include "common.h"

/* SplitMix64 (Steele, Lea, Flood): turns any seed, even 0, into well-mixed words. */
static uint64_t splitmix64_next(uint64_t *state) {
    *state += 0x9E3779B97F4A7C15ULL;
    uint64_t z = *state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void prng_init(prng_t *p, uint64_t seed) {
    AC_ASSERT(p != NULL);
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++) p->s[i] = splitmix64_next(&sm);
    /* xoshiro must not start from all zeros; SplitMix64 cannot produce four zero words
     * in a row, but keep the guarantee explicit. */
    if (NEVER((p->s[0] | p->s[1] | p->s[2] | p->s[3]) == 0)) p->s[0] = 1;
}

/* xoshiro256** (Blackman, Vigna). */
uint64_t prng_next(prng_t *p) {
    AC_ASSERT(p != NULL);
    uint64_t *s = p->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Each draw is rejected with probability < 1/2, so 128 rejections in a row happen with
 * probability < 2^-128; past that we accept the (then unmeasurable) bias of one modulo
 * rather than loop without a bound. */
#define PRNG_REJECT_TRIES_MAX 128

uint64_t prng_below(prng_t *p, uint64_t n) {
    AC_ASSERT(p != NULL);
    AC_ASSERT(n >= 1);
    /* 2^64 mod n: draws below this would make small results slightly more likely. */
    uint64_t threshold = (0 - n) % n;
    uint64_t x = prng_next(p);
    for (int tries = 1; x < threshold && tries < PRNG_REJECT_TRIES_MAX; tries++) {
        x = prng_next(p);
    }
    return x % n;
}

#define PRNG_PPM_ONE 1000000u

/* Always consumes draws the same way whatever ppm is, so changing one probability in a
 * scenario does not shift every later random choice. */
int prng_chance_ppm(prng_t *p, uint32_t ppm) {
    return prng_below(p, PRNG_PPM_ONE) < ppm;
}
