/* test_key_mac.c — net/key.c's MAC (the keyed BLAKE2b state made once and copied) gives
 * exactly the tags of libsodium's crypto_generichash keyed with the key (32 bytes of
 * BLAKE2b, RFC 7693), as does the harness's hosts/mac.h, and its verify accepts exactly
 * those, whatever the length and however the key changes between calls. */
#include <sodium.h>

#include "check.h"
#include "hosts/mac.h"
#include "key.h"

static void reference(unsigned char *tag, const unsigned char *msg, size_t len, const unsigned char *key) {
    CHECK_EQ(crypto_generichash(tag, AUTH_TAG_BYTES, msg, len, key, AUTH_KEY_BYTES), 0);
}

/* Every length from 0 to a little over the largest datagram, under two keys taken in turn:
 * a state kept for the wrong key would give the other key's tags. */
TEST(test_same_tags_as_keyed_blake2b) {
    unsigned char keys[2][AUTH_KEY_BYTES], msg[AUTH_DGRAM_BYTES_MAX + 300];
    randombytes_buf(keys, sizeof keys);
    randombytes_buf(msg, sizeof msg);
    for (size_t len = 0; len <= sizeof msg; len++) {
        const unsigned char *key = keys[len % 2];
        unsigned char want[AUTH_TAG_BYTES], got[AUTH_TAG_BYTES], harness[AUTH_TAG_BYTES];
        reference(want, msg, len, key);
        CHECK_EQ(key_mac(got, msg, len, key), 0);
        CHECK(memcmp(want, got, sizeof want) == 0);
        CHECK_EQ(hosts_mac(harness, msg, len, key), 0);
        CHECK(memcmp(want, harness, sizeof want) == 0);
        CHECK_EQ(hosts_mac_verify(want, msg, len, key), 0);
        CHECK_EQ(key_verify(want, msg, len, key), 0);
        CHECK_EQ(key_verify(want, msg, len, keys[(len + 1) % 2]), -1);
        want[len % sizeof want] ^= 1;
        CHECK_EQ(key_verify(want, msg, len, key), -1);
        if (len > 0) {
            want[len % sizeof want] ^= 1;
            msg[len - 1] ^= 0x80;
            CHECK_EQ(key_verify(want, msg, len, key), -1);
            msg[len - 1] ^= 0x80;
        }
    }
}

/* A key changed in place (same address, new bytes) is noticed too. */
TEST(test_key_changed_in_place) {
    unsigned char key[AUTH_KEY_BYTES], msg[100], want[AUTH_TAG_BYTES], got[AUTH_TAG_BYTES];
    randombytes_buf(msg, sizeof msg);
    for (int round = 0; round < 4; round++) {
        randombytes_buf(key, sizeof key);
        reference(want, msg, sizeof msg, key);
        key_mac(got, msg, sizeof msg, key);
        CHECK(memcmp(want, got, sizeof want) == 0);
    }
}

int main(void) {
    CHECK(sodium_init() >= 0);
    RUN(test_same_tags_as_keyed_blake2b);
    RUN(test_key_changed_in_place);
    return CHECK_DONE();
}
