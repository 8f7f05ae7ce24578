/* config.c — environment and flags of the six programs (see config.h). Numbers are strict
 * decimals (no sign, no blanks, no hex) checked against their range; hosts are IPv4 dotted
 * quads or "localhost"; the seed falls back to the OS's randomness. Every refusal is one
 * line naming the flag or variable, decided before the program binds or creates anything. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockfile.h"
#include "key.h"
#include "mutant.h"

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

/* An address: a.b.c.d or localhost. A program that sends to it (dest) cannot send to
 * 0.0.0.0 ("any": where a server may listen, never where one is reached) or to
 * 255.255.255.255 (broadcast): refused at start rather than "unavailable" at every use. */
static int config_host(const char *what, const char *text, int dest, char *out, char *err,
                       size_t err_cap) {
    struct in_addr a;
    const char *dotted = strcmp(text, "localhost") == 0 ? "127.0.0.1" : text;
    if (inet_pton(AF_INET, dotted, &a) != 1)
        return config_fail(err, err_cap, "%s: \"%.40s\" is not an IPv4 address (a.b.c.d)",
                           what, text);
    if (dest && (a.s_addr == htonl(INADDR_ANY) || a.s_addr == htonl(INADDR_BROADCAST)))
        return config_fail(err, err_cap, "%s: \"%.40s\" is no address a server is reached at "
                           "(give the server's own address, e.g. 127.0.0.1)", what, text);
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
int config_os_seed(uint64_t *seed) {
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
    } else if (strcmp(key, "insecure") == 0) {
        if (config_number(what, val, 0, 1, &v, err, err_cap) < 0) return -1;
        c->insecure = (int)v;
    } else if (strcmp(key, "key-file") == 0) {
        return config_path(what, val, c->key_path, sizeof(c->key_path), err, err_cap);
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
    {"port-offset", "ALICHAIN_PORT_OFFSET"}, {"block", "ALICHAIN_BLOCK"},
    {"key-file", "ALICHAIN_KEY_FILE"},       {"insecure", "ALICHAIN_INSECURE"},
    {NULL, NULL}};
static const config_key_t config_keys_serverM[] = {
    {"port-offset", "ALICHAIN_PORT_OFFSET"}, {"txlist", "ALICHAIN_TXLIST"},
    {"timeout-ms", "ALICHAIN_TIMEOUT_MS"},   {"seed", "ALICHAIN_SEED"},
    {"key-file", "ALICHAIN_KEY_FILE"},       {"insecure", "ALICHAIN_INSECURE"},
    {NULL, NULL}};
static const config_key_t config_keys_client[] = {
    {"port-offset", "ALICHAIN_PORT_OFFSET"},
    {"client-timeout-ms", "ALICHAIN_CLIENT_TIMEOUT_MS"},
    {NULL, NULL}};

#define CONFIG_KEYS_MAX 8 /* the longest table above, with room */
_Static_assert(AC_ARRAY_LEN(config_keys_serverM) <= CONFIG_KEYS_MAX, "serverM's keys fit");
_Static_assert(AC_ARRAY_LEN(config_keys_backend) <= CONFIG_KEYS_MAX, "a backend's keys fit");
_Static_assert(AC_ARRAY_LEN(config_keys_client) <= CONFIG_KEYS_MAX, "a client's keys fit");

static const config_key_t *config_keys(config_role_t role) {
    if (role == CONFIG_BACKEND) return config_keys_backend;
    if (role == CONFIG_SERVERM) return config_keys_serverM;
    return config_keys_client;
}

/* The index in config_keys(role) of flag arg ("--key" or "--key=value"), or -1. *value
 * points at the text after '=' (NULL when the value is the next argument). */
static int config_flag_find(config_role_t role, const char *arg, const char **value) {
    const config_key_t *keys = config_keys(role);
    for (int k = 0; keys[k].key != NULL; k++) {
        size_t klen = strlen(keys[k].key);
        if (strncmp(arg + 2, keys[k].key, klen) != 0) continue;
        const char *tail = arg + 2 + klen;
        if (*tail == '\0' || *tail == '=') {
            *value = *tail == '=' ? tail + 1 : NULL;
            return k;
        }
    }
    return -1;
}

/* The flags found on the command line: the value text of each key (NULL: not given). */
typedef struct {
    const char *value[CONFIG_KEYS_MAX];
    int help;
    int ended;     /* a "--" ended the options */
} config_flags_t;

/* Reads the options of argv (a client's stop at its operation or at "--"), without
 * checking their values. Sets *first to the argv index after them. Returns 0, or -1 with
 * one line in err naming the argument (unknown, given twice, missing its value, or a
 * server's argument that is no option). --help wins over every error before or after it. */
static int config_flags_read(config_role_t role, int argc, char **argv, config_flags_t *fl,
                             int *first, char *err, size_t err_cap) {
    int failed = 0;
    int i = 1;
    memset(fl, 0, sizeof(*fl));
    while (i < argc) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            fl->ended = 1;
            i++;
            break;
        }
        if (strcmp(arg, "--help") == 0) {
            fl->help = 1;
            i++;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            if (role == CONFIG_CLIENT) break; /* the operation starts here */
            if (!failed++)
                config_fail(err, err_cap, "unexpected argument \"%.60s\" (try --help)", arg);
            i++;
            continue;
        }
        const char *value = NULL;
        int k = config_flag_find(role, arg, &value);
        i++;
        if (k < 0) {
            if (!failed++)
                config_fail(err, err_cap, "unknown option \"%.60s\" (try --help)", arg);
            continue;
        }
        const char *key = config_keys(role)[k].key;
        if (value == NULL && i >= argc) {
            if (!failed++) config_fail(err, err_cap, "--%s needs a value", key);
            continue;
        }
        if (value == NULL) value = argv[i++];
        if (fl->value[k] != NULL && !failed++)
            config_fail(err, err_cap, "--%s is given twice", key);
        fl->value[k] = value;
    }
    /* after "--", a server has nothing more to read; a client reads its operation, where
     * a "--help" still asks for help unless a "--" came first */
    if (role != CONFIG_CLIENT && i < argc && !failed++)
        config_fail(err, err_cap, "unexpected argument \"%.60s\" (try --help)", argv[i]);
    for (int k = i; role == CONFIG_CLIENT && !fl->ended && k < argc; k++)
        fl->help |= strcmp(argv[k], "--help") == 0;
    *first = i;
    if (fl->help) return 0;
    return failed ? -1 : 0;
}

/* 1 when s holds a control character (a byte below 0x20, or DEL). */
static int config_has_control(const char *s) {
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
    }
    return 0;
}

/* path with its directory resolved ("<realpath of the directory>/<last component>"), so two
 * spellings of one directory entry compare equal whether or not the file exists. Returns
 * 0, or -1 when the directory cannot be resolved. */
static int config_resolved(const char *path, char *out, size_t cap) {
    char dir[PATH_MAX], real[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash == NULL ? path : slash + 1;
    if (slash == NULL) snprintf(dir, sizeof(dir), ".");
    else if (slash == path) snprintf(dir, sizeof(dir), "/");
    else snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    if (realpath(dir, real) == NULL) return -1;
    return (size_t)snprintf(out, cap, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base) < cap ? 0 : -1;
}

/* 1 when a and b name one file: the same directory entry once the directories are
 * resolved, or (where both exist) the same inode. */
static int config_same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
        return 1;
    char ra[PATH_MAX + NAME_MAX + 2], rb[PATH_MAX + NAME_MAX + 2];
    return config_resolved(a, ra, sizeof(ra)) == 0 && config_resolved(b, rb, sizeof(rb)) == 0 &&
           strcmp(ra, rb) == 0;
}

/* What the TXLIST path must not be, since its rename replaces whatever the name holds
 * (README.md, "The TXLIST file"): anything but a regular file (a directory, device, FIFO,
 * socket), or a block file — one a backend started here would use by default, the one
 * ALICHAIN_BLOCK names in serverM's environment, one whose backend holds its lock now, or
 * one with a backend's marker beside it. serverM cannot know a backend's --block given
 * only on that backend's command line, or an ALICHAIN_BLOCK set only in its environment,
 * while that backend is not running. */
static int config_txlist_target(const config_t *c, const char *what, char *err, size_t err_cap) {
    const char *p = c->txlist_path;
    struct stat st;
    if (stat(p, &st) == 0 && !S_ISREG(st.st_mode)) {
        const char *kind = S_ISDIR(st.st_mode)    ? "a directory"
                           : S_ISFIFO(st.st_mode) ? "a FIFO"
                           : S_ISSOCK(st.st_mode) ? "a socket"
                           : S_ISCHR(st.st_mode)  ? "a character device"
                           : S_ISBLK(st.st_mode)  ? "a block device"
                                                  : "not a regular file";
        return config_fail(err, err_cap, "%s: \"%.60s\" is %s, not a file", what, p, kind);
    }
    for (int b = 0; b < BACKEND_COUNT; b++) {
        if (config_same_file(p, blockfile_default_name(b)))
            return config_fail(err, err_cap, "%s: \"%.60s\" is server%c's block file %s (its default "
                               "here); writing the list there would replace it", what, p,
                               backend_letter(b), blockfile_default_name(b));
    }
    const char *env_block = getenv("ALICHAIN_BLOCK");
    if (env_block != NULL && env_block[0] != '\0' && config_same_file(p, env_block))
        return config_fail(err, err_cap, "%s: \"%.60s\" is the block file ALICHAIN_BLOCK names "
                           "(\"%.60s\"); writing the list there would replace it", what, p, env_block);
    char marker[CONFIG_PATH_BYTES];
    snprintf(marker, sizeof(marker), "%s%s", p, BLOCKFILE_MARKER_SUFFIX);
    if (access(marker, F_OK) == 0)
        return config_fail(err, err_cap, "%s: \"%.60s\" is a block file (a backend's marker %.60s%s "
                           "is beside it); writing the list there would replace it", what, p, p,
                           BLOCKFILE_MARKER_SUFFIX);
    int fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) { /* a backend holds its block file's lock exclusively (net/disk.c) */
        int held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
        close(fd);
        if (held)
            return config_fail(err, err_cap, "%s: \"%.60s\" is a block file in use (a backend holds "
                               "its lock); writing the list there would replace it", what, p);
    }
    return 0;
}

/* The files a role will use must be usable before it binds a socket or creates a file:
 * a block file must not be a directory; the TXLIST file must not be one either, and its
 * directory must exist and be writable (the list is written there, then renamed). */
static int config_files(const config_t *c, const char *what, char *err, size_t err_cap) {
    struct stat st;
    if (c->role == CONFIG_BACKEND) {
        if (stat(c->block_path, &st) == 0 && S_ISDIR(st.st_mode))
            return config_fail(err, err_cap, "%s: \"%.60s\" is a directory, not a block file",
                               what, c->block_path);
        return 0;
    }
    if (c->role != CONFIG_SERVERM) return 0;
    if (config_txlist_target(c, what, err, err_cap) < 0) return -1;
    char dir[PATH_BYTES_MAX + 1];
    snprintf(dir, sizeof(dir), "%s", c->txlist_path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) snprintf(dir, sizeof(dir), ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return config_fail(err, err_cap, "%s: no directory \"%.60s\" to write \"%.60s\" in",
                           what, dir, c->txlist_path);
    if (access(dir, W_OK | X_OK) != 0)
        return config_fail(err, err_cap, "%s: cannot write in directory \"%.60s\": %s", what,
                           dir, strerror(errno));
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
    snprintf(c->block_path, sizeof(c->block_path), "%s", blockfile_default_name(index));
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
        /* where this program sends (not where it listens): serverM's address for a client
         * or a backend, the backends' for serverM */
        int dest = c->role == CONFIG_SERVERM ? h != CONFIG_HOST_M : h == CONFIG_HOST_M;
        const char *val = getenv(vars[h]);
        if (!used || val == NULL) continue;
        if (config_host(vars[h], val, dest, c->host[h], err, err_cap) < 0) return -1;
    }
    return 0;
}

int config_load(config_t *c, config_role_t role, int index, int argc, char **argv, char *err,
                size_t err_cap) {
    config_defaults(c, role, index);
    config_flags_t fl;
    int first = 1;
    int rc = config_flags_read(role, argc, argv, &fl, &first, err, err_cap);
    if (fl.help) {
        c->help = 1;
        return 0;
    }
    if (rc < 0) return -1;
    /* a flag overrides its variable, even a malformed one: the variable is not read */
    const config_key_t *keys = config_keys(role);
    char path_what[32] = "";
    for (int k = 0; keys[k].key != NULL; k++) {
        char flag[32];
        snprintf(flag, sizeof(flag), "--%s", keys[k].key);
        const char *val = fl.value[k];
        const char *what = flag;
        if (val == NULL) {
            val = getenv(keys[k].env);
            what = keys[k].env;
        }
        if (val == NULL) continue;
        if (config_has_control(val))
            return config_fail(err, err_cap, "%s: the value holds a control character", what);
        if (config_set(c, keys[k].key, what, val, err, err_cap) < 0) return -1;
        if (strcmp(keys[k].key, "block") == 0 || strcmp(keys[k].key, "txlist") == 0)
            snprintf(path_what, sizeof(path_what), "%s", what);
    }
    if (config_hosts(c, err, err_cap) < 0) return -1;
    if (path_what[0] == '\0') /* the default path */
        snprintf(path_what, sizeof(path_what), "%s",
                 role == CONFIG_BACKEND ? "block file" : "TXLIST file");
    if (config_files(c, path_what, err, err_cap) < 0) return -1;
    c->args_first = first;
    c->args_ended = fl.ended;
    if (role == CONFIG_SERVERM && !c->seed_given && config_os_seed(&c->seed) < 0)
        return config_fail(err, err_cap, "cannot read a seed from the OS: %s", strerror(errno));
    /* Planted bug "half-timeout" (real-mutants build only): serverM gives up on a backend
     * after half the time it was told. In net/, so the simulator keeps the right deadline. */
    if (role == CONFIG_SERVERM && MUTANT(MUT_HALF_TIMEOUT) && c->timeout_ms > 1) c->timeout_ms /= 2;
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
    fprintf(f, "  --key-file FILE   ALICHAIN_KEY_FILE, the key every server shares (default "
               "$HOME/%s,\n"
               "                    created 0600 if missing; copy it to every host of alichain)\n"
               "  --insecure 1      ALICHAIN_INSECURE=1: no authentication with the other servers "
               "(anyone\n"
               "                    who can send UDP here can then write to the ledger)\n",
            KEY_FILE_DEFAULT);
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
