/* key.h — the key the four servers share (README.md, "Authenticated backends"): a file of
 * 64 hex digits (and one newline), mode 0600, like an Erlang cookie. A server that finds
 * none creates one, atomically, so that servers starting together all end up with the
 * same; it refuses one that others may read or that is not a key. The real programs hand
 * it to core as an auth_t of key_mac / key_verify (keyed BLAKE2b-256). */
#ifndef ALICHAIN_NET_KEY_H
#define ALICHAIN_NET_KEY_H

#include <stddef.h>

#include "auth.h"
#include "config.h"

#define KEY_FILE_DEFAULT ".alichain.key"   /* under $HOME */
#define KEY_FILE_HEX_BYTES (2 * AUTH_KEY_BYTES)

typedef struct {
    auth_t auth;                  /* what core gets: key NULL when insecure */
    unsigned char key[AUTH_KEY_BYTES];
    char path[CONFIG_PATH_BYTES]; /* the file read (or created) */
    int created;                  /* this start created it */
} server_key_t;

/* Sets k up for c: insecure (c->insecure: no file read), or the key of c->key_path (or of
 * $HOME/KEY_FILE_DEFAULT), created first when missing. Returns 0, or -1 with one line in
 * err (the caller exits EXIT_CONFIG): no HOME for the default, a file that is not a regular
 * file, is readable or writable by group or others, is not 64 hex digits, or cannot be
 * read or created. */
int key_load(server_key_t *k, const config_t *c, char *err, size_t err_cap);

/* The MAC of the authenticated datagram (core/auth.h AUTH_SCHEME_MAC): BLAKE2b-256 keyed
 * with key, libsodium's crypto_generichash(tag, 32, in, inlen, key, 32), with the keyed
 * state made once and reused; key_verify compares in constant time (auth_mac_fn /
 * auth_verify_fn). */
int key_mac(unsigned char *tag, const unsigned char *in, unsigned long long inlen,
            const unsigned char *key);
int key_verify(const unsigned char *tag, const unsigned char *in, unsigned long long inlen,
               const unsigned char *key);

/* The lines a server prints on stderr at start: the loud one when insecure, the one
 * naming a key it created. */
void key_announce(const server_key_t *k, const char *program);

#endif
