/* fuzz_auth.c — libFuzzer target for the authenticated datagram (core/auth.c) with
 * the real programs' MAC (keyed BLAKE2b, hosts/mac.h), and for a keyed backend (core/backend.c) behind it. The first byte
 * picks what the rest is:
 *   0: a datagram from anyone: auth_open may take it only if its MAC is the key's, and a
 *      backend given it answers and stores nothing unless it was;
 *   1: a message the key holder seals: it opens to itself, a copy with any one byte
 *      changed does not, and a copy sealed with another key or for another backend
 *      does not either;
 *   2: sequence numbers for the replay window, checked against a model: none is taken
 *      twice, none AUTH_WINDOW_BITS or more below the highest, every fresh one within
 *      reach is.
 * (docs/PROTOCOL.md 1.10, docs/THREATS.md.) */
#include <sodium.h>
#include <string.h>

#include "auth.h"
#include "backend.h"
#include "fuzz.h"
#include "hosts/mac.h"

static const uint8_t key[AUTH_KEY_BYTES] = "fuzz_auth: the servers' key ...";
static const uint8_t other[AUTH_KEY_BYTES] = "fuzz_auth: some other key .....";

static const auth_t *keyed(const uint8_t *k) {
    static auth_t a[2];
    int i = k == key ? 0 : 1;
    a[i] = hosts_mac_auth(k);
    return &a[i];
}

/* 1 when the datagram's tag is the key's MAC of everything before it. */
static int mac_is_keys(const uint8_t *d, size_t len) {
    uint8_t tag[AUTH_TAG_BYTES];
    hosts_mac(tag, d, len - AUTH_TAG_BYTES, key);
    return memcmp(tag, d + len - AUTH_TAG_BYTES, AUTH_TAG_BYTES) == 0;
}

static void anyone(const uint8_t *d, size_t len, int peer) {
    size_t m;
    uint64_t seq;
    int rc = auth_open(keyed(key), peer, d, len, &m, &seq);
    if (rc == 0) FUZZ_CHECK(mac_is_keys(d, len));
    static backend_t b;
    static outbox_t out;
    backend_init(&b, peer, 1);
    outbox_init(&out);
    backend_set_auth(&b, keyed(key));
    backend_on_datagram(&b, 0, d, len, &out);
    for (size_t i = 0; rc != 0 && i < out.fx_count; i++) {
        FUZZ_CHECK(out.fx[i].kind != FX_DGRAM);        /* no answer to a forger ... */
        FUZZ_CHECK(out.fx[i].kind != FX_BLOCK_APPEND); /* ... and nothing stored */
    }
    outbox_free(&out);
    backend_free(&b);
}

static void holder(fuzz_reader_t *r, int peer) {
    uint64_t seq = ((uint64_t)fuzz_u16(r) << 16 | fuzz_u16(r)) + 1;
    size_t flip = fuzz_u16(r);
    uint8_t mask = (uint8_t)(fuzz_u8(r) | 1);
    size_t len = fuzz_left(r) > DGRAM_BYTES_MAX ? DGRAM_BYTES_MAX : fuzz_left(r);
    if (len == 0) return;
    const uint8_t *msg = r->data + r->pos;
    uint8_t d[AUTH_DGRAM_BYTES_MAX];
    size_t n = auth_seal(keyed(key), peer, seq, msg, len, d, sizeof(d));
    FUZZ_CHECK(n == len + AUTH_TRAILER_BYTES);
    size_t m = 0;
    uint64_t got = 0;
    FUZZ_CHECK(auth_open(keyed(key), peer, d, n, &m, &got) == 0);
    FUZZ_CHECK(m == len && got == seq && memcmp(d, msg, len) == 0);
    FUZZ_CHECK(auth_open(keyed(key), (peer + 1) % BACKEND_COUNT, d, n, &m, &got) == AUTH_EPEER);
    FUZZ_CHECK(auth_open(keyed(other), peer, d, n, &m, &got) == AUTH_EMAC);
    d[flip % n] ^= mask;
    FUZZ_CHECK(auth_open(keyed(key), peer, d, n, &m, &got) != 0);
}

static void window(fuzz_reader_t *r) {
    auth_window_t w = {0};
    uint64_t taken[64];
    size_t count = 0;
    uint64_t top = 0;
    while (fuzz_left(r) > 0 && count < 64) {
        uint64_t seq = top > 80 ? top - 80 + fuzz_u8(r) : fuzz_u8(r);
        int seen = seq == 0;
        for (size_t i = 0; i < count; i++) seen |= taken[i] == seq;
        int too_old = top >= AUTH_WINDOW_BITS && seq <= top - AUTH_WINDOW_BITS;
        int rc = auth_window_take(&w, seq);
        FUZZ_CHECK((rc == 0) == (!seen && !too_old));
        if (rc == 0) {
            taken[count++] = seq;
            if (seq > top) top = seq;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    FUZZ_CHECK(sodium_init() >= 0);
    fuzz_reader_t r;
    fuzz_reader_init(&r, data + 2, size - 2);
    int peer = data[1] % BACKEND_COUNT;
    switch (data[0] % 3) {
    case 0: anyone(data + 2, size - 2, peer); break;
    case 1: holder(&r, peer); break;
    default: window(&r); break;
    }
    return 0;
}
