/* mac.c — the real programs' MAC for the harness (mac.h). */
#include "mac.h"

#include <sodium.h>

int hosts_mac(unsigned char *tag, const unsigned char *in, unsigned long long inlen,
              const unsigned char *key) {
    return crypto_generichash(tag, AUTH_TAG_BYTES, in, inlen, key, AUTH_KEY_BYTES);
}

int hosts_mac_verify(const unsigned char *tag, const unsigned char *in, unsigned long long inlen,
                     const unsigned char *key) {
    unsigned char mine[AUTH_TAG_BYTES];
    hosts_mac(mine, in, inlen, key);
    return crypto_verify_32(tag, mine);
}

auth_t hosts_mac_auth(const uint8_t *key) {
    return (auth_t){.mac = hosts_mac, .verify = hosts_mac_verify, .key = key};
}
