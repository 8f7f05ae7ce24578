/* mac.h — the real programs' MAC (core/auth.h AUTH_SCHEME_MAC: BLAKE2b-256 keyed with the
 * key, libsodium's crypto_generichash) as an auth_t's functions, for the harness's hosts and
 * whoever seals or opens real datagrams beside them: the relay's forger (which seals with
 * another key), the fuzzers and the tests. net/key.c computes the same tags from a keyed
 * state made once (tests/unit/test_key_mac.c holds the two to crypto_generichash). */
#ifndef ALICHAIN_HOSTS_MAC_H
#define ALICHAIN_HOSTS_MAC_H

#include "auth.h"

int hosts_mac(unsigned char *tag, const unsigned char *in, unsigned long long inlen,
              const unsigned char *key);
int hosts_mac_verify(const unsigned char *tag, const unsigned char *in, unsigned long long inlen,
                     const unsigned char *key);

/* An auth_t of hosts_mac under key (AUTH_KEY_BYTES, or NULL: insecure). */
auth_t hosts_mac_auth(const uint8_t *key);

#endif
