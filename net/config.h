/* config.h — the settings of the six programs, from the environment (SPEC.md "Ports and
 * configuration") overridden by command-line flags, validated once at start so that a bad
 * value is one line on stderr before anything else happens. Ports: core's table (ports.h). */
#ifndef ALICHAIN_NET_CONFIG_H
#define ALICHAIN_NET_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"
#include "ports.h"

#define CONFIG_TIMEOUT_MS_MAX 600000   /* ALICHAIN_TIMEOUT_MS and the client's wait */
#define CONFIG_HOST_BYTES 64
#define CONFIG_PATH_BYTES 4096
#define CONFIG_HOST_M BACKEND_COUNT    /* host[] index of serverM, after A, B, C */
#define CONFIG_TXLIST_DEFAULT "alichain.txt"

/* Exit codes of the servers (the clients' are in client.h). */
enum { EXIT_CONFIG = 2, EXIT_RUNTIME = 1 };

typedef enum { CONFIG_BACKEND = 0, CONFIG_SERVERM, CONFIG_CLIENT } config_role_t;

typedef struct {
    config_role_t role;
    int index;                                /* backend 0..2 or client 0..1 */
    char program[16];                         /* "serverA", "clientB", ...: stderr prefix */
    uint32_t port_offset;
    char host[BACKEND_COUNT + 1][CONFIG_HOST_BYTES]; /* A, B, C, M: where each listens */
    char block_path[CONFIG_PATH_BYTES];       /* backend */
    char txlist_path[PATH_BYTES_MAX + 1];     /* serverM; shown to clients, hence short */
    uint32_t timeout_ms;                      /* serverM: wait for a backend */
    uint32_t client_timeout_ms;               /* client: wait for the reply */
    uint64_t seed;                            /* serverM: given, or from the OS */
    int seed_given;                           /* ALICHAIN_SEED or --seed was set */
    char key_path[CONFIG_PATH_BYTES];         /* servers: the shared key ("" : the default,
                                                 key.h's KEY_FILE_DEFAULT under $HOME) */
    int insecure;                             /* servers: ALICHAIN_INSECURE=1 / --insecure 1:
                                                 no authentication (announced loudly) */
    int help;                                 /* --help was given: print usage, exit 0 */
    int args_first;                           /* client: argv index of the operation */
    int args_ended;                           /* client: a "--" came before the operation */
} config_t;

/* Fills c for the role (index: which backend or client) from the environment and argv.
 * Servers take only flags; a client takes its flags before the operation's words (a
 * "--" ends them, for a user whose name starts with "--"). A flag overrides its variable,
 * which is then not read at all. Refused, each with one line in err naming it: an unknown
 * option, a flag given twice or without its value, a server argument that is no option
 * (also after "--"), a value out of range or holding a control character, a block or
 * TXLIST path that is a directory, a TXLIST path that is a FIFO, socket, device or block
 * file (README.md "The TXLIST file"), a TXLIST directory that is missing or not writable.
 * Returns 0, or -1 (the caller prints "<program>: <err>" and exits EXIT_CONFIG, a client
 * CLIENT_EXIT_USAGE). With --help among the options it returns 0 with c->help set and
 * checks nothing else. Nothing is created or bound here. */
int config_load(config_t *c, config_role_t role, int index, int argc, char **argv, char *err,
                size_t err_cap);

/* Usage of a server program (its flags and variables). */
void config_usage(const config_t *c, FILE *f);
/* 64 random bits from the OS (getrandom(), else /dev/urandom) into *seed: 0, or -1. */
int config_os_seed(uint64_t *seed);
/* The flags a client accepts before its operation (printed after client_usage()). */
void config_client_usage(FILE *f);

static inline uint16_t config_port_backend(const config_t *c, int i) {
    return port_backend(i, c->port_offset);
}
static inline uint16_t config_port_m_udp(const config_t *c) {
    return port_m_udp(c->port_offset);
}
static inline uint16_t config_port_client(const config_t *c, int j) {
    return port_client(j, c->port_offset);
}

#endif
