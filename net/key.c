/* key.c — loading, and on first start creating, the servers' shared key (key.h). The file
 * appears whole or not at all: it is written to a private temporary name in its directory
 * (mkstemp: O_EXCL, mode 0600), synced, then hard-linked to its name, which fails if the
 * name exists. Servers racing to create it therefore all read the one that won. */
#include "key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drive.h"

#define KEY_CREATE_TRIES 3

/* The MAC is BLAKE2b-256 keyed with the key (RFC 7693; libsodium's crypto_generichash): a
 * MAC by design, about twice as fast as HMAC-SHA-512-256 over a 1.2 kB datagram (3.3 us
 * against 1.65 here), both sides of every datagram. Keyed BLAKE2b hashes its key as a
 * first block of its own before it reads a byte of the message; a server has one key, so
 * that state is made once (the first MAC under a key) and copied for every datagram
 * after: the same tags as crypto_generichash (tests/unit/test_key_mac.c compares them). */
static struct {
    unsigned char key[AUTH_KEY_BYTES];
    int ready;
    crypto_generichash_blake2b_state keyed;
} key_mac_cache;

static void key_mac_state(crypto_generichash_blake2b_state *st, const unsigned char *key) {
    if (!key_mac_cache.ready || sodium_memcmp(key_mac_cache.key, key, AUTH_KEY_BYTES) != 0) {
        crypto_generichash_blake2b_init(&key_mac_cache.keyed, key, AUTH_KEY_BYTES, AUTH_TAG_BYTES);
        memcpy(key_mac_cache.key, key, AUTH_KEY_BYTES);
        key_mac_cache.ready = 1;
    }
    *st = key_mac_cache.keyed;
}

int key_mac(unsigned char *tag, const unsigned char *in, unsigned long long inlen,
            const unsigned char *key) {
    crypto_generichash_blake2b_state st;
    key_mac_state(&st, key);
    crypto_generichash_blake2b_update(&st, in, inlen);
    return crypto_generichash_blake2b_final(&st, tag, AUTH_TAG_BYTES);
}

int key_verify(const unsigned char *tag, const unsigned char *in, unsigned long long inlen,
               const unsigned char *key) {
    unsigned char mine[AUTH_TAG_BYTES];
    key_mac(mine, in, inlen, key);
    return crypto_verify_32(tag, mine);
}

static int key_fail(char *err, size_t err_cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int key_fail(char *err, size_t err_cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_cap, fmt, ap);
    va_end(ap);
    return -1;
}

/* Reads and checks an open key file. */
static int key_read(server_key_t *k, int fd, char *err, size_t err_cap) {
    struct stat st;
    if (fstat(fd, &st) < 0)
        return key_fail(err, err_cap, "key file %s: %s", k->path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return key_fail(err, err_cap, "key file %s is not a regular file", k->path);
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return key_fail(err, err_cap, "key file %s is open to group or others (mode %04o): "
                        "chmod 600 %s", k->path, (unsigned)(st.st_mode & 07777), k->path);
    char text[KEY_FILE_HEX_BYTES + 2];
    ssize_t n = read(fd, text, sizeof(text));
    if (n < 0) return key_fail(err, err_cap, "key file %s: %s", k->path, strerror(errno));
    int newline = n == KEY_FILE_HEX_BYTES + 1 && text[KEY_FILE_HEX_BYTES] == '\n';
    if ((n != KEY_FILE_HEX_BYTES && !newline) || st.st_size != n)
        return key_fail(err, err_cap, "key file %s is %lld bytes, not a key (%d hex digits and "
                        "a newline)", k->path, (long long)st.st_size, KEY_FILE_HEX_BYTES);
    for (int i = 0; i < KEY_FILE_HEX_BYTES; i++) {
        char ch = text[i];
        int hex = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
        if (!hex)
            return key_fail(err, err_cap, "key file %s is not a key: byte %d is not a hex digit",
                            k->path, i + 1);
    }
    size_t bin_len = 0;
    if (sodium_hex2bin(k->key, sizeof(k->key), text, KEY_FILE_HEX_BYTES, NULL, &bin_len, NULL) != 0 ||
        bin_len != sizeof(k->key))
        return key_fail(err, err_cap, "key file %s is not a key", k->path);
    sodium_memzero(text, sizeof(text));
    return 0;
}

/* Writes a new key under a temporary name beside k->path and links it into place.
 * Returns 1 when this call created the file, 0 when another process had (EEXIST), -1 on
 * an error. */
static int key_create(server_key_t *k, char *err, size_t err_cap) {
    char tmp[CONFIG_PATH_BYTES + 16];
    const char *slash = strrchr(k->path, '/');
    int dir_len = slash == NULL ? 0 : (int)(slash - k->path + 1);
    if ((size_t)snprintf(tmp, sizeof(tmp), "%.*s.alichain-key.XXXXXX", dir_len, k->path) >= sizeof(tmp))
        return key_fail(err, err_cap, "key file %s: the path is too long", k->path);
    int fd = mkstemp(tmp); /* O_EXCL, mode 0600 */
    if (fd < 0)
        return key_fail(err, err_cap, "cannot create key file %s: %s", k->path, strerror(errno));
    unsigned char key[AUTH_KEY_BYTES];
    char text[KEY_FILE_HEX_BYTES + 2];
    randombytes_buf(key, sizeof(key));
    sodium_bin2hex(text, sizeof(text), key, sizeof(key));
    text[KEY_FILE_HEX_BYTES] = '\n';
    sodium_memzero(key, sizeof(key));
    int ok = write(fd, text, KEY_FILE_HEX_BYTES + 1) == KEY_FILE_HEX_BYTES + 1 && fsync(fd) == 0;
    int saved = errno;
    sodium_memzero(text, sizeof(text));
    close(fd);
    if (!ok) {
        unlink(tmp);
        return key_fail(err, err_cap, "cannot write key file %s: %s", k->path, strerror(saved));
    }
    int rc = link(tmp, k->path);
    saved = errno;
    unlink(tmp);
    if (rc == 0) return 1;
    if (saved == EEXIST) return 0;
    return key_fail(err, err_cap, "cannot create key file %s: %s", k->path, strerror(saved));
}

int key_load(server_key_t *k, const config_t *c, char *err, size_t err_cap) {
    memset(k, 0, sizeof(*k));
    if (sodium_init() < 0) return key_fail(err, err_cap, "libsodium cannot start");
    k->auth.mac = key_mac;
    k->auth.verify = key_verify;
    if (c->insecure) return 0; /* auth.key stays NULL */
    if (c->key_path[0] != '\0') {
        snprintf(k->path, sizeof(k->path), "%s", c->key_path);
    } else {
        const char *home = getenv("HOME");
        if (home == NULL || home[0] == '\0')
            return key_fail(err, err_cap, "no HOME for the default key file ~/%s: set "
                            "ALICHAIN_KEY_FILE or --key-file", KEY_FILE_DEFAULT);
        if ((size_t)snprintf(k->path, sizeof(k->path), "%s/%s", home, KEY_FILE_DEFAULT) >= sizeof(k->path))
            return key_fail(err, err_cap, "HOME is too long for the key file");
    }
    for (int attempt = 0; attempt < KEY_CREATE_TRIES; attempt++) {
        int fd = open(k->path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            int rc = key_read(k, fd, err, err_cap);
            close(fd);
            if (rc < 0) return -1;
            k->auth.key = k->key;
            return 0;
        }
        if (errno != ENOENT)
            return key_fail(err, err_cap, "cannot read key file %s: %s", k->path, strerror(errno));
        int made = key_create(k, err, err_cap);
        if (made < 0) return -1;
        k->created |= made;
    }
    return key_fail(err, err_cap, "key file %s keeps disappearing", k->path);
}

void key_announce(const server_key_t *k, const char *program) {
    if (k->auth.key == NULL) {
        drive_warn(program, "WARNING: running WITHOUT authentication (ALICHAIN_INSECURE=1): "
                            "anyone who can send UDP to the servers can read and write the ledger");
        return;
    }
    if (k->created)
        drive_warn(program, "created a new key in %s: copy it (mode 0600) to every host that "
                            "runs an alichain server", k->path);
}
