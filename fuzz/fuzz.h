/* fuzz.h — helpers shared by the libFuzzer targets in fuzz/: a check that aborts with the
 * failed condition (so libFuzzer and the standalone driver both report it as a crash),
 * and a reader that turns the fuzzer's bytes into small decisions without ever failing. */
#ifndef ALICHAIN_FUZZ_H
#define ALICHAIN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The entry point every target defines (libFuzzer's, or standalone.c's caller). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the code under test must keep; a violation is a finding, reported like a
 * crash. Unlike assert() it stays on whatever NDEBUG says. */
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(#cond, __FILE__, __LINE__))

static inline void fuzz_fail(const char *cond, const char *file, int line) {
    fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", file, line, cond);
    abort();
}

/* Consumes the input from the front; once it is exhausted every read yields zeros. */
typedef struct {
    const uint8_t *data;
    size_t len;
    size_t pos;
} fuzz_reader_t;

static inline void fuzz_reader_init(fuzz_reader_t *r, const uint8_t *data, size_t len) {
    r->data = data;
    r->len = len;
    r->pos = 0;
}

static inline size_t fuzz_left(const fuzz_reader_t *r) { return r->len - r->pos; }

static inline uint8_t fuzz_u8(fuzz_reader_t *r) {
    return r->pos < r->len ? r->data[r->pos++] : 0;
}

static inline uint16_t fuzz_u16(fuzz_reader_t *r) {
    uint16_t hi = fuzz_u8(r);
    return (uint16_t)((hi << 8) | fuzz_u8(r));
}

/* Up to want bytes (fewer at the end of the input); *got says how many. The pointer is
 * into the input, so ASan sees any read past what was taken only at the input's end. */
static inline const uint8_t *fuzz_bytes(fuzz_reader_t *r, size_t want, size_t *got) {
    size_t n = want < fuzz_left(r) ? want : fuzz_left(r);
    const uint8_t *p = r->data + r->pos;
    r->pos += n;
    *got = n;
    return p;
}

/* FNV-1a over a trace of events, to compare two runs that must behave the same. */
#define FUZZ_HASH_INIT 0xcbf29ce484222325ull

static inline uint64_t fuzz_hash(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static inline uint64_t fuzz_hash_u64(uint64_t h, uint64_t v) { return fuzz_hash(h, &v, sizeof v); }

#endif
