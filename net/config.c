/* config.c — environment and flags of the six programs (see config.h). Numbers are strict
 * decimals (no sign, no blanks, no hex) checked against their range; hosts are IPv4 dotted
 * quads or "localhost"; the seed falls back to the OS's randomness. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define CONFIG_NUMBER_DIGITS_MAX 20   /* UINT64_MAX */

static int config_fail(char *err, size_t err_cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int config_fail(char *err, size_t err_cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_cap, fmt, ap);
    va_end(ap);
    return -1;
}

/* Strict decimal in [min, max]; what names the value in the message (a flag or a variable). */
static int config_number(const char *what, const char *text, uint64_t min, uint64_t max,
                         uint64_t *out, char *err, size_t err_cap) {
    size_t len = strlen(text);
    uint64_t v = 0;
    int ok = len > 0 && len <= CONFIG_NUMBER_DIGITS_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        unsigned d = (unsigned)(text[i] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10) ok = 0;
        else v = v * 10 + d;
    }
    if (!ok || v < min || v > max)
        return config_fail(err, err_cap, "%s: \"%.40s\" is not a number in %llu..%llu", what,
                           text, (unsigned long long)min, (unsigned long long)max);
    *out = v;
    return 0;
}

static int config_host(const char *what, const char *text, char *out, char *err,
                       size_t err_cap) {
    struct in_addr a;
    const char *dotted = strcmp(text, "localhost") == 0 ? "127.0.0.1" : text;
    if (inet_pton(AF_INET, dotted, &a) != 1)
        return config_fail(err, err_cap, "%s: \"%.40s\" is not an IPv4 address (a.b.c.d)",
                           what, text);
    snprintf(out, CONFIG_HOST_BYTES, "%s", dotted);
    return 0;
}

static int config_path(const char *what, const char *text, char *out, size_t cap, char *err,
                       size_t err_cap) {
    size_t len = strlen(text);
    if (len == 0 || len >= cap)
        return config_fail(err, err_cap, "%s: the path must be 1..%zu bytes", what, cap - 1);
    memcpy(out, text, len + 1);
    return 0;
}

/* 64 random bits from the OS: getrandom(), else /dev/urandom. */
static int config_os_seed(uint64_t *seed) {
    if (getrandom(seed, sizeof(*seed), 0) == (ssize_t)sizeof(*seed)) return 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, seed, sizeof(*seed));
    close(fd);
    return n == (ssize_t)sizeof(*seed) ? 0 : -1;
}

/* One setting, from a variable or a flag: what names it in messages. */
static int config_set(config_t *c, const char *key, const char *what, const char *val,
                      char *err, size_t err_cap) {
    uint64_t v;
    if (strcmp(key, "port-offset") == 0) {
        if (config_number(what, val, 0, PORT_OFFSET_MAX, &v, err, err_cap) < 0) return -1;
        c->port_offset = (uint32_t)v;
    } else if (strcmp(key, "timeout-ms") == 0) {
        if (config_number(what, val, 1, CONFIG_TIMEOUT_MS_MAX, &v, err, err_cap) < 0) return -1;
        c->timeout_ms = (uint32_t)v;
    } else if (strcmp(key, "client-timeout-ms") == 0) {
        if (config_number(what, val, 1, CONFIG_TIMEOUT_MS_MAX, &v, err, err_cap) < 0) return -1;
        c->client_timeout_ms = (uint32_t)v;
    } else if (strcmp(key, "seed") == 0) {
        if (config_number(what, val, 0, UINT64_MAX, &c->seed, err, err_cap) < 0) return -1;
        c->seed_given = 1;
    } else if (strcmp(key, "block") == 0) {
        return config_path(what, val, c->block_path, sizeof(c->block_path), err, err_cap);
    } else if (strcmp(key, "txlist") == 0) {
        return config_path(what, val, c->txlist_path, sizeof(c->txlist_path), err, err_cap);
    } else {
        AC_ASSERT(0); /* the tables below only name the keys above */
        return -1;
    }
    return 0;
}

typedef struct {
    const char *key;   /* flag without "--" */
    const char *env;   /* variable */
} config_key_t;

/* The settings each role reads; flags and variables share the key. */
static const config_key_t config_keys_backend[] = {
    {"port-offset", "ALICHAIN_PORT_OFFSET"}, {"block", "ALICHAIN_BLOCK"}, {NULL, NULL}};
static const config_key_t config_keys_serverM[] = {
    {"port-offset", "ALICHAIN_PORT_OFFSET"}, {"txlist", "ALICHAIN_TXLIST"},
    {"timeout-ms", "ALICHAIN_TIMEOUT_MS"},   {"seed", "ALICHAIN_SEED"},
    {NULL, NULL}};
static const config_key_t config_keys_client[] = {
    {"port-offset", "ALICHAIN_PORT_OFFSET"},
    {"client-timeout-ms", "ALICHAIN_CLIENT_TIMEOUT_MS"},
    {NULL, NULL}};

static const config_key_t *config_keys(config_role_t role) {
    if (role == CONFIG_BACKEND) return config_keys_backend;
    if (role == CONFIG_SERVERM) return config_keys_serverM;
    return config_keys_client;
}

/* argv[*i] is "--key" or "--key=value" of this role: applies it and advances *i.
 * Returns 1 when applied, 0 when argv[*i] is no flag of this role, -1 on a bad value. */
static int config_flag(config_t *c, int argc, char **argv, int *i, char *err, size_t err_cap) {
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0) return 0;
    for (const config_key_t *k = config_keys(c->role); k->key; k++) {
        size_t klen = strlen(k->key);
        if (strncmp(arg + 2, k->key, klen) != 0) continue;
        const char *tail = arg + 2 + klen;
        char what[64];
        snprintf(what, sizeof(what), "--%s", k->key);
        if (*tail == '=') {
            (*i)++;
            return config_set(c, k->key, what, tail + 1, err, err_cap) < 0 ? -1 : 1;
        }
        if (*tail != '\0') continue;
        if (*i + 1 >= argc) return config_fail(err, err_cap, "%s needs a value", what);
        *i += 2;
        return config_set(c, k->key, what, argv[*i - 1], err, err_cap) < 0 ? -1 : 1;
    }
    return 0;
}

static void config_defaults(config_t *c, config_role_t role, int index) {
    memset(c, 0, sizeof(*c));
    c->role = role;
    c->index = index;
    if (role == CONFIG_SERVERM) snprintf(c->program, sizeof(c->program), "serverM");
    else if (role == CONFIG_BACKEND)
        snprintf(c->program, sizeof(c->program), "server%c", backend_letter(index));
    else snprintf(c->program, sizeof(c->program), "client%c", (char)('A' + index));
    c->port_offset = PORT_OFFSET_DEFAULT;
    for (int h = 0; h <= BACKEND_COUNT; h++)
        snprintf(c->host[h], CONFIG_HOST_BYTES, "127.0.0.1");
    snprintf(c->block_path, sizeof(c->block_path), "block%d.txt", index + 1);
    snprintf(c->txlist_path, sizeof(c->txlist_path), "%s", CONFIG_TXLIST_DEFAULT);
    c->timeout_ms = TIMEOUT_MS_DEFAULT;
    c->client_timeout_ms = CLIENT_TIMEOUT_MS_DEFAULT;
}

/* The hosts a role uses: a backend its own and serverM's, serverM all, a client serverM's. */
static int config_hosts(config_t *c, char *err, size_t err_cap) {
    static const char *const vars[BACKEND_COUNT + 1] = {"ALICHAIN_HOST_A", "ALICHAIN_HOST_B",
                                                        "ALICHAIN_HOST_C", "ALICHAIN_HOST_M"};
    for (int h = 0; h <= BACKEND_COUNT; h++) {
        int used = h == CONFIG_HOST_M || c->role == CONFIG_SERVERM ||
                   (c->role == CONFIG_BACKEND && h == c->index);
        const char *val = getenv(vars[h]);
        if (!used || val == NULL) continue;
        if (config_host(vars[h], val, c->host[h], err, err_cap) < 0) return -1;
    }
    return 0;
}

int config_load(config_t *c, config_role_t role, int index, int argc, char **argv, char *err,
                size_t err_cap) {
    config_defaults(c, role, index);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            c->help = 1;
            return 0;
        }
    }
    for (const config_key_t *k = config_keys(role); k->key; k++) {
        const char *val = getenv(k->env);
        if (val != NULL && config_set(c, k->key, k->env, val, err, err_cap) < 0) return -1;
    }
    if (config_hosts(c, err, err_cap) < 0) return -1;
    int i = 1;
    while (i < argc) {
        if (role == CONFIG_CLIENT && strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        int r = config_flag(c, argc, argv, &i, err, err_cap);
        if (r < 0) return -1;
        if (r == 1) continue;
        if (role == CONFIG_CLIENT) break; /* the operation starts here */
        return config_fail(err, err_cap, "unknown argument \"%.60s\" (try --help)", argv[i]);
    }
    c->args_first = i;
    if (role == CONFIG_SERVERM && !c->seed_given && config_os_seed(&c->seed) < 0)
        return config_fail(err, err_cap, "cannot read a seed from the OS: %s", strerror(errno));
    return 0;
}

void config_usage(const config_t *c, FILE *f) {
    fprintf(f, "usage: %s [options]\n", c->program);
    if (c->role == CONFIG_BACKEND) {
        fprintf(f, "Backend node %c of alichain: serves its block file to serverM over UDP.\n",
                backend_letter(c->index));
    } else {
        fprintf(f, "Main server of alichain: serves clientA/clientB over TCP, the backends "
                   "over UDP.\n");
    }
    fprintf(f, "options (each overrides its environment variable):\n"
               "  --port-offset N   ALICHAIN_PORT_OFFSET, 0..%d (default %d)\n",
            PORT_OFFSET_MAX, PORT_OFFSET_DEFAULT);
    if (c->role == CONFIG_BACKEND) {
        fprintf(f, "  --block FILE      ALICHAIN_BLOCK, the block file (default block%d.txt)\n",
                c->index + 1);
        fprintf(f, "  --help            this text\n"
                   "environment: ALICHAIN_HOST_%c (listen address), ALICHAIN_HOST_M "
                   "(serverM's address)\n", backend_letter(c->index));
    } else {
        fprintf(f, "  --txlist FILE     ALICHAIN_TXLIST, where TXLIST writes (default %s)\n"
                   "  --timeout-ms N    ALICHAIN_TIMEOUT_MS, wait for a backend, 1..%d "
                   "(default %d)\n"
                   "  --seed N          ALICHAIN_SEED, seed of the backend choice (default: "
                   "from the OS)\n"
                   "  --help            this text\n"
                   "environment: ALICHAIN_HOST_M (listen address), ALICHAIN_HOST_A/B/C "
                   "(backends' addresses)\n",
                CONFIG_TXLIST_DEFAULT, CONFIG_TIMEOUT_MS_MAX, TIMEOUT_MS_DEFAULT);
    }
    fprintf(f, "SIGINT/SIGTERM: finish what is in flight, then exit 0.\n");
}

void config_client_usage(FILE *f) {
    fprintf(f, "options, before the operation (each overrides its environment variable):\n"
               "  --port-offset N         ALICHAIN_PORT_OFFSET, 0..%d (default %d)\n"
               "  --client-timeout-ms N   ALICHAIN_CLIENT_TIMEOUT_MS, wait for the reply, "
               "1..%d (default %d)\n"
               "  --                      ends the options (for a name starting with \"--\")\n"
               "environment: ALICHAIN_HOST_M (serverM's address, default 127.0.0.1)\n",
            PORT_OFFSET_MAX, PORT_OFFSET_DEFAULT, CONFIG_TIMEOUT_MS_MAX, CLIENT_TIMEOUT_MS_DEFAULT);
}
