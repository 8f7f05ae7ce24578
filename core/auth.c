/* auth.c — sealing and opening authenticated datagrams (auth.h), and the replay window.
 * The MAC itself is the driver's function (libsodium); here only the layout, the order of
 * the checks and the window. */
#include "auth.h"

#include <string.h>

#include "mutant.h"

_Static_assert(AUTH_TRAILER_BYTES == 42, "docs/PROTOCOL.md 1.10 draws 42 bytes");
_Static_assert(AUTH_WINDOW_BITS == 64, "the window is one uint64_t");

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

size_t auth_seal(const auth_t *a, int peer, uint64_t seq, const uint8_t *msg, size_t len,
                 uint8_t *out, size_t cap) {
    AC_ASSERT(peer >= 0);
    AC_ASSERT(peer < BACKEND_COUNT);
    AC_ASSERT(seq >= 1);
    AC_ASSERT(len > 0);
    AC_ASSERT(len <= DGRAM_BYTES_MAX);
    AC_ASSERT(cap >= len + AUTH_TRAILER_BYTES);
    if (out != msg) memmove(out, msg, len);
    uint8_t *t = out + len;
    t[0] = a->key != NULL ? AUTH_SCHEME_MAC : AUTH_SCHEME_NONE;
    t[1] = (uint8_t)peer;
    put_u64(t + 2, seq);
    uint8_t *tag = t + 10;
    if (a->key == NULL) {
        memset(tag, 0, AUTH_TAG_BYTES);
    } else {
        int rc = a->mac(tag, out, (unsigned long long)(len + 10), a->key);
        AC_ASSERT(rc == 0); /* the MAC cannot fail */
    }
    return len + AUTH_TRAILER_BYTES;
}

int auth_open(const auth_t *a, int peer, const uint8_t *dgram, size_t len, size_t *msg_len,
              uint64_t *seq) {
    AC_ASSERT(peer >= 0);
    AC_ASSERT(peer < BACKEND_COUNT);
    if (len <= AUTH_TRAILER_BYTES || len > AUTH_DGRAM_BYTES_MAX) return AUTH_ESIZE;
    size_t m = len - AUTH_TRAILER_BYTES;
    const uint8_t *t = dgram + m;
    if (t[0] != AUTH_SCHEME_NONE && t[0] != AUTH_SCHEME_MAC) return AUTH_ESCHEME;
    if (a->key != NULL) {
        if (t[0] == AUTH_SCHEME_NONE) return AUTH_EUNSIGNED;
        /* the MAC first: nothing else of an unverified datagram means anything */
        if (a->verify(t + 10, dgram, (unsigned long long)(m + 10), a->key) != 0 &&
            !MUTANT(MUT_SKIP_MAC))
            return AUTH_EMAC;
    }
    if (t[1] != peer) return AUTH_EPEER;
    *msg_len = m;
    *seq = get_u64(t + 2);
    return 0;
}

const char *auth_error_text(int rc) {
    switch (rc) {
    case AUTH_ESIZE: return "a datagram too short or too long for its MAC trailer";
    case AUTH_ESCHEME: return "a datagram of an unknown authentication scheme";
    case AUTH_EUNSIGNED:
        return "an unauthenticated datagram (its sender runs without a key: ALICHAIN_INSECURE)";
    case AUTH_EPEER: return "a datagram sealed for another backend";
    case AUTH_EMAC:
        return "a bad MAC (forged, or signed with another key: copy serverM's key file here)";
    case AUTH_EREPLAY: return "a replayed datagram (a sequence number already taken)";
    default: return "a datagram refused by authentication";
    }
}

int auth_window_take(auth_window_t *w, uint64_t seq) {
    if (seq == 0) return AUTH_EREPLAY; /* never sealed: seal counts from 1 */
    if (seq > w->top) {
        uint64_t shift = seq - w->top;
        w->bits = shift >= AUTH_WINDOW_BITS ? 0 : w->bits << shift;
        w->bits |= 1; /* bit 0: top itself */
        w->top = seq;
        return 0;
    }
    uint64_t back = w->top - seq;
    if (back >= AUTH_WINDOW_BITS) return AUTH_EREPLAY;
    uint64_t bit = (uint64_t)1 << back;
    if (w->bits & bit) return AUTH_EREPLAY;
    w->bits |= bit;
    return 0;
}
