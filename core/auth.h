/* auth.h — the authenticated datagram between serverM and the backends (docs/PROTOCOL.md
 * 1.10): a wire message (wire.h) followed by a trailer naming the scheme, the backend, a
 * per-sender sequence number and a MAC over everything before it. Core never computes a
 * MAC: the driver hands in the functions (keyed BLAKE2b-256: net/key.c's key_mac and
 * key_verify, with the signatures of libsodium's crypto_auth) and the key, so core stays free of crypto and of I/O. The
 * replay window (which sequence numbers a backend has taken) is protocol logic and lives
 * here too. */
#ifndef ALICHAIN_AUTH_H
#define ALICHAIN_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define AUTH_TAG_BYTES 32        /* BLAKE2b-256's output */
#define AUTH_KEY_BYTES 32        /* its key (crypto_generichash_KEYBYTES) */
#define AUTH_TRAILER_BYTES (1 + 1 + 8 + AUTH_TAG_BYTES) /* scheme, peer, seq, tag */
#define AUTH_DGRAM_BYTES_MAX (DGRAM_BYTES_MAX + AUTH_TRAILER_BYTES) /* on the wire */
#define AUTH_WINDOW_BITS 64      /* sequence numbers a backend remembers below the highest */

/* trailer scheme byte */
enum {
    AUTH_SCHEME_NONE = 0,        /* an unauthenticated sender (insecure mode): tag all zero */
    AUTH_SCHEME_MAC = 2,         /* tag = BLAKE2b-256 keyed with the key (RFC 7693, libsodium's
                                    crypto_generichash) of message || scheme..seq. Scheme 1,
                                    HMAC-SHA-512-256 until wire v5, is refused (ESCHEME) */
};

/* auth_open's refusals (negative, apart from common.h's AC_E*) */
enum {
    AUTH_ESIZE = -20,            /* shorter than a trailer, or longer than the maximum */
    AUTH_ESCHEME = -21,          /* a scheme byte this version does not know */
    AUTH_EUNSIGNED = -22,        /* scheme NONE, but this node has a key */
    AUTH_EPEER = -23,            /* sealed for (or by) another backend */
    AUTH_EMAC = -24,             /* the MAC does not verify: another key, or forged */
    AUTH_EREPLAY = -25,          /* auth_window_take: a sequence number already taken, or
                                    too far below the highest one */
};

/* The MAC and its check (crypto_auth's signatures): 0 on success (verify: the tag matches). */
typedef int (*auth_mac_fn)(unsigned char *tag, const unsigned char *in, unsigned long long inlen,
                           const unsigned char *key);
typedef int (*auth_verify_fn)(const unsigned char *tag, const unsigned char *in,
                              unsigned long long inlen, const unsigned char *key);

/* A node's authentication, owned by the driver and outliving the node. key NULL: the node
 * runs without authentication (seals with scheme NONE, accepts any scheme unverified). */
typedef struct {
    auth_mac_fn mac;
    auth_verify_fn verify;
    const uint8_t *key;          /* AUTH_KEY_BYTES, or NULL */
} auth_t;

/* Writes msg[0..len) and its trailer into out (cap bytes) for/by backend `peer` with
 * sequence number seq (>= 1). Returns the datagram's length. */
size_t auth_seal(const auth_t *a, int peer, uint64_t seq, const uint8_t *msg, size_t len,
                 uint8_t *out, size_t cap);

/* Checks the trailer of dgram[0..len) for/from backend `peer`: 0 with the message's length
 * and the sequence number set, or one of AUTH_E* above (the datagram must be dropped). */
int auth_open(const auth_t *a, int peer, const uint8_t *dgram, size_t len, size_t *msg_len,
              uint64_t *seq);

/* Why auth_open or auth_window_take refused, for a drop line. */
const char *auth_error_text(int rc);

/* The sequence numbers a backend has taken within one incarnation of serverM: the highest,
 * and a bitmap of the AUTH_WINDOW_BITS below it (bit i: top - i taken). */
typedef struct {
    uint64_t top;
    uint64_t bits;
} auth_window_t;

/* Takes seq (>= 1): 0 when it is new, AUTH_EREPLAY when it was taken before or is
 * AUTH_WINDOW_BITS or more below the highest (a very late copy: dropped like a loss). */
int auth_window_take(auth_window_t *w, uint64_t seq);

#endif
