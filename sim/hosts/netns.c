/* netns.c — network-namespace hosts and their nftables faults (see netns.h). Each step is
 * an `ip` or `nft` call run by cmd_run() with a deadline, its output captured for the
 * error message; `nft` runs inside a namespace by setns() in the child before exec. */
#define _GNU_SOURCE
#include "netns.h"

#include "proc/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CMD_ARGS_MAX 24
#define NETNS_DIR "/run/netns"
#define NFT_TABLE "inet alichain"
#define SCRIPT_BYTES 1024
#define LINE_BYTES 256
#define TCP_PREFIX "tcp_" /* the TCP half of a partition's counter */

static const char HOST_LETTERS[NETNS_HOSTS] = {'M', 'A', 'B', 'C', 'K'};
/* 198.18.0.0/15 only (RFC 2544's benchmarking range): never an address in use elsewhere */
static const char *const HOST_ADDRS[NETNS_HOSTS] = {"198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.4",
                                                    "198.18.0.5"};
static const char *const FRONT_ADDRS[NETNS_FRONTS] = {"198.18.0.6", "198.18.0.7"};
static const char *const HOST_VARS[] = {"ALICHAIN_HOST_M", "ALICHAIN_HOST_A", "ALICHAIN_HOST_B",
                                        "ALICHAIN_HOST_C"};
_Static_assert(NETNS_HOST_C + 1 == sizeof(HOST_VARS) / sizeof(HOST_VARS[0]),
               "one ALICHAIN_HOST_* variable per server host");

int netns_host_of(char letter) {
    for (int h = 0; h < NETNS_HOSTS; h++)
        if (HOST_LETTERS[h] == letter) return h;
    return -1;
}

char netns_letter_of(int host) {
    return host >= 0 && host < NETNS_HOSTS ? HOST_LETTERS[host] : '?';
}

static int fail(char *err, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, NETNS_ERR_BYTES, fmt, ap);
    va_end(ap);
    return code;
}

/* Where prog is: the first executable in PATH, then in the system directories (root's
 * tools live in /usr/sbin, which a user's PATH may lack). Returns 0 with its path in buf. */
static int netns_tool_path(const char *prog, char *buf, size_t cap) {
    const char *lists[] = {getenv("PATH"), "/usr/sbin:/usr/bin:/sbin:/bin"};
    for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
        for (const char *path = lists[l]; path && *path;) {
            size_t len = strcspn(path, ":");
            if (len > 0 && len + strlen(prog) + 2 <= cap) {
                snprintf(buf, cap, "%.*s/%s", (int)len, path, prog);
                if (access(buf, X_OK) == 0) return 0;
            }
            path += len;
            if (*path == ':') path++;
        }
    }
    return -1;
}

static int join_netns(const char *name) {
    char path[NETNS_NAME_BYTES + sizeof(NETNS_DIR) + 1];
    snprintf(path, sizeof(path), "%s/%s", NETNS_DIR, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = setns(fd, CLONE_NEWNET);
    close(fd);
    return rc;
}

/* The first line of text, for an error message. */
static void first_line(const char *text, char *buf, size_t cap) {
    size_t i = 0;
    while (text[i] != '\0' && text[i] != '\n' && i + 1 < cap) {
        buf[i] = text[i];
        i++;
    }
    buf[i] = '\0';
}

/* A started command: its pid and the read end of its stdout+stderr. */
typedef struct {
    pid_t pid;
    int out_fd;
} cmd_t;

/* Starts argv (NULL-terminated) with stdin from input (or /dev/null), inside namespace ns
 * when ns is not NULL, stdout+stderr into a pipe. Returns 0 or NETNS_ERR_SYS. */
static int cmd_start(char *err, const char *ns, const char *input, char *const argv[], cmd_t *c) {
    int out_pipe[2], in_pipe[2] = {-1, -1};
    if (pipe2(out_pipe, O_CLOEXEC) < 0) return fail(err, NETNS_ERR_SYS, "pipe: %s", strerror(errno));
    if (input && pipe2(in_pipe, O_CLOEXEC) < 0) {
        close(out_pipe[0]);
        close(out_pipe[1]);
        return fail(err, NETNS_ERR_SYS, "pipe: %s", strerror(errno));
    }
    pid_t pid = proc_fork();
    if (pid == 0) {
        int in = input ? in_pipe[0] : open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, 0) < 0 || dup2(out_pipe[1], 1) < 0 || dup2(out_pipe[1], 2) < 0) _exit(126);
        if (ns && join_netns(ns) < 0) {
            dprintf(2, "cannot enter namespace %s: %s\n", ns, strerror(errno));
            _exit(126);
        }
        char path[LINE_BYTES];
        if (netns_tool_path(argv[0], path, sizeof(path)) == 0) execv(path, argv);
        dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out_pipe[1]);
    if (input) close(in_pipe[0]);
    if (pid < 0) {
        close(out_pipe[0]);
        if (input) close(in_pipe[1]);
        return fail(err, NETNS_ERR_SYS, "fork: %s", strerror(errno));
    }
    if (input) { /* scripts are far below a pipe's capacity: one write, then EOF */
        size_t len = strlen(input);
        ssize_t w = write(in_pipe[1], input, len);
        (void)w;
        close(in_pipe[1]);
    }
    c->pid = pid;
    c->out_fd = out_pipe[0];
    return 0;
}

/* Collects a started command's output into out (always terminated; out_cap >= 1) and its
 * exit, killing it at deadline_ms (proc_now_us / 1000). Returns 0 when it exited 0, else
 * NETNS_ERR_COMMAND with argv[0], argv[1] and ns in the message. */
static int cmd_finish(char *err, const char *ns, char *const argv[], cmd_t *c, uint64_t deadline_ms, char *out,
                      size_t out_cap) {
    size_t used = 0;
    int timed_out = 0;
    for (;;) {
        uint64_t now = proc_now_us() / 1000u;
        if (now >= deadline_ms) {
            timed_out = 1;
            break;
        }
        struct pollfd p = {.fd = c->out_fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(deadline_ms - now));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        char buf[4096];
        ssize_t got = read(c->out_fd, buf, sizeof(buf));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        size_t take = (size_t)got;
        if (used + take >= out_cap) take = out_cap - 1 - used; /* the rest is dropped */
        memcpy(out + used, buf, take);
        used += take;
    }
    close(c->out_fd);
    out[used] = '\0';
    if (timed_out) kill(c->pid, SIGKILL);
    int status = 0;
    while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) return fail(err, NETNS_ERR_COMMAND, "%s: no answer within %d ms", argv[0], NETNS_CMD_TIMEOUT_MS);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char line[LINE_BYTES];
        first_line(out, line, sizeof(line));
        return fail(err, NETNS_ERR_COMMAND, "%s %s%s%s failed: %s", argv[0], argv[1] ? argv[1] : "",
                    ns ? " in " : "", ns ? ns : "", line[0] ? line : "(no message)");
    }
    return 0;
}

/* Runs argv to its end (cmd_start, cmd_finish) with a deadline of NETNS_CMD_TIMEOUT_MS. */
static int cmd_run(char *err, const char *ns, const char *input, char *const argv[], char *out,
                   size_t out_cap) {
    cmd_t c;
    int rc = cmd_start(err, ns, input, argv, &c);
    if (rc < 0) return rc;
    return cmd_finish(err, ns, argv, &c, proc_now_us() / 1000u + NETNS_CMD_TIMEOUT_MS, out, out_cap);
}

/* cmd_run with a NULL-terminated list of words. */
static int run(char *err, const char *ns, const char *input, char *out, size_t out_cap, ...) {
    char *argv[CMD_ARGS_MAX + 1];
    char local[LINE_BYTES * 4];
    int n = 0;
    va_list ap;
    va_start(ap, out_cap);
    for (const char *w = va_arg(ap, const char *); w; w = va_arg(ap, const char *)) {
        if (n == CMD_ARGS_MAX) {
            va_end(ap);
            return fail(err, NETNS_ERR_ARG, "more than %d words in one command", CMD_ARGS_MAX);
        }
        argv[n++] = (char *)w;
    }
    va_end(ap);
    argv[n] = NULL;
    if (!out) { /* keep the output for the error message anyway */
        out = local;
        out_cap = sizeof(local);
    }
    return cmd_run(err, ns, input, argv, out, out_cap);
}

static int on_path(const char *prog) {
    char buf[LINE_BYTES];
    return netns_tool_path(prog, buf, sizeof(buf)) == 0;
}

int netns_available(char *err) {
    if (geteuid() != 0) return fail(err, NETNS_ERR_UNAVAILABLE, "not root: network namespaces need root");
    if (!on_path("ip")) return fail(err, NETNS_ERR_UNAVAILABLE, "`ip` (iproute2) is not installed (PATH, /usr/sbin, /sbin)");
    if (!on_path("nft")) return fail(err, NETNS_ERR_UNAVAILABLE, "`nft` (nftables) is not installed (PATH, /usr/sbin, /sbin)");
    return 0;
}

int netns_init(char *err, netns_t *n, pid_t owner, const char *tag) {
    size_t tag_len = strlen(tag);
    if (owner <= 0) return fail(err, NETNS_ERR_ARG, "owner pid %d is not a process", (int)owner);
    if (tag_len == 0 || tag_len >= NETNS_TAG_BYTES || strspn(tag, "abcdefghijklmnopqrstuvwxyz0123456789") != tag_len)
        return fail(err, NETNS_ERR_ARG, "tag \"%s\" is not 1..%d of [a-z0-9]", tag, NETNS_TAG_BYTES - 1);
    memset(n, 0, sizeof(*n));
    char prefix[NETNS_PREFIX_BYTES];
    snprintf(prefix, sizeof(prefix), "alc-%d-%s-", (int)owner, tag);
    snprintf(n->prefix, sizeof(n->prefix), "%s", prefix);
    snprintf(n->bridge, sizeof(n->bridge), "%sbr", prefix);
    for (int h = 0; h < NETNS_HOSTS; h++) {
        snprintf(n->name[h], sizeof(n->name[h]), "%s%c", prefix, HOST_LETTERS[h]);
        snprintf(n->addr[h], sizeof(n->addr[h]), "%s", HOST_ADDRS[h]);
    }
    for (int f = 0; f < NETNS_FRONTS; f++) snprintf(n->front[f], sizeof(n->front[f]), "%s", FRONT_ADDRS[f]);
    return 0;
}

static int ns_exists(const char *name) {
    char path[NETNS_NAME_BYTES + sizeof(NETNS_DIR) + 1];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", NETNS_DIR, name);
    return stat(path, &st) == 0;
}

/* The fault chains of host h's table, each jumped to from input or output: loss_F_H and
 * part_F_H (from every other host F), iso_in and iso_out. Every change only inserts rules
 * at a chain's head, where they shadow everything older: a fault inserts its drop rules
 * above a `return` (so what it does not drop skips the older rules), a heal inserts a
 * `return` alone. Removing a rule (flush, delete) costs the kernel a grace period, 10-20 ms
 * measured here, where an insert commits in well under a millisecond; so nothing is ever
 * removed during a run (a chain grows by a few rules a step; netns_down drops it all), and
 * no handle needs looking up, so the faults of one step go to a host as one `nft -f`
 * transaction (netns_batch_run). Appends the definitions to script. */
static void fault_chains(char *script, size_t cap, int h) {
    size_t used = strlen(script);
    for (int f = 0; f < NETNS_HOSTS; f++) {
        if (f == h) continue;
        used += (size_t)snprintf(script + used, cap - used,
                                 "add chain %s loss_%c_%c\nadd rule %s input jump loss_%c_%c\n"
                                 "add chain %s part_%c_%c\nadd rule %s input jump part_%c_%c\n",
                                 NFT_TABLE, HOST_LETTERS[f], HOST_LETTERS[h], NFT_TABLE, HOST_LETTERS[f],
                                 HOST_LETTERS[h], NFT_TABLE, HOST_LETTERS[f], HOST_LETTERS[h], NFT_TABLE,
                                 HOST_LETTERS[f], HOST_LETTERS[h]);
    }
    snprintf(script + used, cap - used,
             "add chain %s iso_in\nadd rule %s input jump iso_in\n"
             "add chain %s iso_out\nadd rule %s output jump iso_out\n",
             NFT_TABLE, NFT_TABLE, NFT_TABLE, NFT_TABLE);
}

/* One host: its namespace joined to the bridge, its address, its nft table with empty
 * fault chains. */
static int host_up(char *err, const netns_t *n, int h) {
    char peer[16], cidr[NETNS_ADDR_BYTES + 4], script[SCRIPT_BYTES * 2];
    snprintf(peer, sizeof(peer), "v%c", HOST_LETTERS[h]);
    snprintf(cidr, sizeof(cidr), "%s/24", n->addr[h]);
    int rc = run(err, NULL, NULL, NULL, 0, "ip", "netns", "add", n->name[h], NULL);
    if (rc == 0) rc = run(err, NULL, NULL, NULL, 0, "ip", "-n", n->bridge, "link", "add", peer, "type", "veth",
                          "peer", "name", "eth0", "netns", n->name[h], NULL);
    snprintf(script, sizeof(script), "link set %s master br0\nlink set %s up\n", peer, peer);
    if (rc == 0) rc = run(err, NULL, script, NULL, 0, "ip", "-n", n->bridge, "-batch", "-", NULL);
    int len = snprintf(script, sizeof(script), "addr add %s dev eth0\nlink set eth0 up\nlink set lo up\n", cidr);
    for (int f = 0; h == NETNS_HOST_M && f < NETNS_FRONTS; f++) /* the TCP proxy's fronts */
        len += snprintf(script + len, sizeof(script) - (size_t)len, "addr add %s/24 dev eth0\n", n->front[f]);
    if (rc == 0) rc = run(err, NULL, script, NULL, 0, "ip", "-n", n->name[h], "-batch", "-", NULL);
    snprintf(script, sizeof(script),
             "table %s {\n"
             "  chain input { type filter hook input priority 0; policy accept; }\n"
             "  chain output { type filter hook output priority 0; policy accept; }\n"
             "}\n",
             NFT_TABLE);
    fault_chains(script, sizeof(script), h);
    if (rc == 0) rc = run(err, n->name[h], script, NULL, 0, "nft", "-f", "-", NULL);
    return rc;
}

int netns_up(char *err, netns_t *n) {
    int rc = netns_available(err);
    if (rc < 0) return rc;
    n->up = 1;
    rc = run(err, NULL, NULL, NULL, 0, "ip", "netns", "add", n->bridge, NULL);
    if (rc == 0)
        rc = run(err, NULL, "link add br0 type bridge\nlink set br0 up\n", NULL, 0, "ip", "-n", n->bridge, "-batch",
                 "-", NULL);
    for (int h = 0; h < NETNS_HOSTS && rc == 0; h++) rc = host_up(err, n, h);
    if (rc < 0) {
        char ignored[NETNS_ERR_BYTES];
        (void)netns_down(ignored, n);
    }
    return rc;
}

/* Whether pid is gone: no such process, or a zombie (it has exited; its parent reaps it). */
static int pid_gone(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return 1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p != NULL && p[1] == ' ' && p[2] == 'Z';
}

/* The pids running in the namespaces names[0..count) that exist, into pids (at most cap). */
static int ns_pids(char *err, char names[][NETNS_NAME_BYTES], int count, pid_t *pids, int cap) {
    char out[LINE_BYTES * 16];
    int n = 0;
    for (int i = 0; i < count; i++) {
        if (!ns_exists(names[i])) continue;
        if (run(err, NULL, NULL, out, sizeof(out), "ip", "netns", "pids", names[i], NULL) != 0) continue;
        char *save = NULL;
        for (char *tok = strtok_r(out, " \n", &save); tok && n < cap; tok = strtok_r(NULL, " \n", &save)) {
            long pid = strtol(tok, NULL, 10);
            if (pid > 1 && pid != (long)getpid()) pids[n++] = (pid_t)pid;
        }
    }
    return n;
}

/* Stops what runs in the namespaces names[0..count) the way a clean stop does: SIGTERM (a
 * server finishes, removes its markers and exits), up to NETNS_STOP_GRACE_MS for all of
 * them, then SIGKILL (and SIGCONT, for a stopped one) to the rest; then deletes each
 * namespace that exists. Returns 0 or the first error (it still tries all). */
static int ns_remove_all(char *err, char names[][NETNS_NAME_BYTES], int count) {
    pid_t pids[NETNS_STOP_PIDS_MAX];
    int n = ns_pids(err, names, count, pids, NETNS_STOP_PIDS_MAX);
    for (int i = 0; i < n; i++) kill(pids[i], SIGTERM);
    uint64_t deadline = proc_now_us() + NETNS_STOP_GRACE_MS * 1000ull;
    for (int i = 0; i < n; i++)
        while (!pid_gone(pids[i]) && proc_now_us() < deadline) proc_sleep_us(NETNS_STOP_TICK_US);
    for (int i = 0; i < n; i++) {
        if (pid_gone(pids[i])) continue;
        kill(pids[i], SIGKILL);
        kill(pids[i], SIGCONT);
    }
    int first = 0;
    char why[NETNS_ERR_BYTES];
    for (int i = 0; i < count; i++) {
        if (!ns_exists(names[i])) continue;
        int rc = run(why, NULL, NULL, NULL, 0, "ip", "netns", "del", names[i], NULL);
        if (rc < 0 && first == 0) {
            first = rc;
            snprintf(err, NETNS_ERR_BYTES, "%s", why);
        }
    }
    return first;
}

int netns_down(char *err, netns_t *n) {
    char names[NETNS_HOSTS + 1][NETNS_NAME_BYTES];
    for (int h = 0; h < NETNS_HOSTS; h++) snprintf(names[h], NETNS_NAME_BYTES, "%s", n->name[h]);
    snprintf(names[NETNS_HOSTS], NETNS_NAME_BYTES, "%s", n->bridge);
    int first = ns_remove_all(err, names, NETNS_HOSTS + 1);
    if (first == 0) n->up = 0;
    return first;
}

static int owner_alive(pid_t pid) {
    return kill(pid, 0) == 0 || errno != ESRCH;
}

int netns_sweep(char *err, int *removed) {
    static char out[NETNS_CMD_OUT_BYTES];
    *removed = 0;
    int rc = netns_available(err);
    if (rc < 0) return rc;
    rc = run(err, NULL, NULL, out, sizeof(out), "ip", "netns", "list", NULL);
    if (rc < 0) return rc;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line && *removed < NETNS_SWEEP_MAX;
         line = strtok_r(NULL, "\n", &save)) {
        char name[NETNS_NAME_BYTES];
        int pid = 0, used = 0;
        if (sscanf(line, "%31s", name) != 1) continue;
        if (sscanf(name, "alc-%d-%n", &pid, &used) != 1 || used == 0 || pid <= 0) continue;
        if (owner_alive((pid_t)pid)) continue;
        rc = ns_remove_all(err, &name, 1);
        if (rc < 0) return rc;
        (*removed)++;
    }
    return 0;
}

int netns_sweep_dirs(void) { return proc_tmp_sweep(); }

int netns_enter(char *err, const netns_t *n, int host) {
    if (host < 0 || host >= NETNS_HOSTS) return fail(err, NETNS_ERR_ARG, "no host %d", host);
    if (join_netns(n->name[host]) < 0)
        return fail(err, NETNS_ERR_SYS, "cannot enter namespace %s: %s", n->name[host], strerror(errno));
    for (int h = 0; h <= NETNS_HOST_C; h++)
        if (setenv(HOST_VARS[h], n->addr[h], 0) < 0) /* the caller's own value wins */ return fail(err, NETNS_ERR_SYS, "setenv: %s", strerror(errno));
    return 0;
}

int netns_socket(char *err, const netns_t *n, int host, int domain, int type) {
    if (host < 0 || host >= NETNS_HOSTS) return fail(err, NETNS_ERR_ARG, "no host %d", host);
    int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0) return fail(err, NETNS_ERR_SYS, "/proc/self/ns/net: %s", strerror(errno));
    int fd = -1, e = 0;
    if (join_netns(n->name[host]) < 0) e = errno;
    else if ((fd = socket(domain, type | SOCK_CLOEXEC, 0)) < 0) e = errno;
    if (setns(home, CLONE_NEWNET) < 0 && fd >= 0) { /* never left in the other namespace */
        e = errno;
        close(fd);
        fd = -1;
    }
    close(home);
    if (fd < 0) return fail(err, NETNS_ERR_SYS, "a socket on host %c: %s", HOST_LETTERS[host], strerror(e));
    return fd;
}

/* ---- faults: each a chain's content (fault_chains), written into a batch ---------------- */

/* Bits of netns_batch_t.on: the loss chain from host F, the cut from F, the isolation. */
#define ON_LOSS(f) (1u << (f))
#define ON_PART(f) (1u << (8 + (f)))
#define ON_ISO (1u << 16)
_Static_assert(NETNS_HOSTS <= 8, "a host's chains fit the bits of netns_batch_t.on");

static void batch_clear(netns_batch_t *b) {
    memset(b->len, 0, sizeof(b->len));
    b->overflow = 0;
    for (int h = 0; h < NETNS_HOSTS; h++) b->script[h][0] = '\0';
}

void netns_batch_init(netns_batch_t *b) {
    batch_clear(b);
    for (int h = 0; h < NETNS_HOSTS; h++) b->on[h] = UINT32_MAX;
}

void netns_batch_fresh(netns_batch_t *b) {
    batch_clear(b);
    memset(b->on, 0, sizeof(b->on));
}

static void batch_add(netns_batch_t *b, int host, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void batch_add(netns_batch_t *b, int host, const char *fmt, ...) {
    size_t used = b->len[host], cap = sizeof(b->script[host]);
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(b->script[host] + used, cap - used, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= cap - used) {
        b->script[host][used] = '\0'; /* refused whole at netns_batch_run */
        b->overflow = 1;
        return;
    }
    b->len[host] += (size_t)len;
}

int netns_batch_run(char *err, const netns_t *n, netns_batch_t *b) {
    static char *const argv[] = {"nft", "-f", "-", NULL};
    cmd_t cmd[NETNS_HOSTS];
    int started[NETNS_HOSTS] = {0}, rc = 0;
    if (b->overflow) rc = fail(err, NETNS_ERR_ARG, "one step's fault rules exceed %d bytes on a host", NETNS_BATCH_BYTES);
    /* every host at once: each transaction waits on its own kernel, not on the others' */
    for (int h = 0; h < NETNS_HOSTS && rc == 0; h++) {
        if (b->len[h] == 0) continue;
        rc = cmd_start(err, n->name[h], b->script[h], argv, &cmd[h]);
        started[h] = rc == 0;
    }
    uint64_t deadline_ms = proc_now_us() / 1000u + NETNS_CMD_TIMEOUT_MS;
    for (int h = 0; h < NETNS_HOSTS; h++) {
        if (!started[h]) continue;
        char out[LINE_BYTES * 4], why[NETNS_ERR_BYTES];
        int r = cmd_finish(why, n->name[h], argv, &cmd[h], deadline_ms, out, sizeof(out));
        if (r < 0 && rc == 0) {
            rc = r;
            snprintf(err, NETNS_ERR_BYTES, "%s", why);
        }
    }
    batch_clear(b);
    return rc;
}

/* A fault call's batch: the caller's, or (b NULL) one of its own that batch_end runs. */
static netns_batch_t *batch_begin(netns_batch_t *b) {
    if (b != NULL) return b;
    netns_batch_t *own = malloc(sizeof(*own));
    if (own != NULL) netns_batch_init(own);
    return own;
}

static int batch_end(char *err, const netns_t *n, netns_batch_t *given, netns_batch_t *b, int rc) {
    if (b == NULL) return fail(err, NETNS_ERR_SYS, "out of memory for a fault batch");
    if (b == given) return rc;
    if (rc == 0) rc = netns_batch_run(err, n, b);
    free(b);
    return rc;
}

/* Two drop rules at the head of chain for what matches: TCP counted apart as tcp_NAME
 * (segments and handshakes the partition holds back, which TCP will retransmit: the
 * report's "stalled"), the rest as NAME (the report's "cut"). Inserted in reverse, so TCP's
 * comes first. The counters are added (kept if they exist: a fault set again counts on). */
static void cut_rules(netns_batch_t *b, int host, const char *chain, const char *match, const char *counter) {
    batch_add(b, host,
              "add counter %s %s\nadd counter %s " TCP_PREFIX "%s\n"
              "insert rule %s %s %s counter name %s drop\n"
              "insert rule %s %s %s meta l4proto tcp counter name " TCP_PREFIX "%s drop\n",
              NFT_TABLE, counter, NFT_TABLE, counter, NFT_TABLE, chain, match, counter, NFT_TABLE, chain, match,
              counter);
}

static int pair_ok(char *err, int from, int to) {
    if (from < 0 || from >= NETNS_HOSTS || to < 0 || to >= NETNS_HOSTS || from == to)
        return fail(err, NETNS_ERR_ARG, "hosts %c and %c are not two distinct hosts", netns_letter_of(from),
                    netns_letter_of(to));
    return 0;
}

/* Switches a fault chain off when it may be on: a `return` at its head shadows every
 * older rule. The caller marks it on again when it inserts a fault above. */
static void chain_off(netns_batch_t *b, int host, const char *kind, int from, int to) {
    uint32_t bit = kind[0] == 'l' ? ON_LOSS(from) : ON_PART(from);
    if (!(b->on[host] & bit)) return;
    b->on[host] &= ~bit;
    batch_add(b, host, "insert rule %s %s_%c_%c return\n", NFT_TABLE, kind, HOST_LETTERS[from], HOST_LETTERS[to]);
}

static void iso_off(netns_batch_t *b, int host) {
    if (!(b->on[host] & ON_ISO)) return;
    b->on[host] &= ~ON_ISO;
    batch_add(b, host, "insert rule %s iso_in return\ninsert rule %s iso_out return\n", NFT_TABLE, NFT_TABLE);
}

int netns_loss(char *err, const netns_t *n, netns_batch_t *given, int from, int to, uint32_t ppm) {
    if (pair_ok(err, from, to) < 0) return NETNS_ERR_ARG;
    if (ppm > NETNS_PPM_ONE) return fail(err, NETNS_ERR_ARG, "loss %u ppm is over 1000000", (unsigned)ppm);
    netns_batch_t *b = batch_begin(given);
    if (b != NULL) {
        b->on[to] |= ON_LOSS(from); /* the link's earlier setting, if any, is shadowed ... */
        chain_off(b, to, "loss", from, to);
        if (ppm > 0) b->on[to] |= ON_LOSS(from); /* ... by a return the new rule goes above */
        /* numgen random mod 1000000 is uniform in 0..999999: "< ppm" drops ppm of a million
         * (nft refuses "< 1000000", and a certain loss needs no draw) */
        char draw[64] = "";
        if (ppm < NETNS_PPM_ONE) snprintf(draw, sizeof(draw), "numgen random mod %u < %u ", NETNS_PPM_ONE, (unsigned)ppm);
        if (ppm > 0)
            batch_add(b, to,
                      "add counter %s loss_%c_%c\n"
                      "insert rule %s loss_%c_%c ip saddr %s meta l4proto udp %scounter name loss_%c_%c drop\n",
                      NFT_TABLE, HOST_LETTERS[from], HOST_LETTERS[to], NFT_TABLE, HOST_LETTERS[from],
                      HOST_LETTERS[to], n->addr[from], draw, HOST_LETTERS[from], HOST_LETTERS[to]);
    }
    return batch_end(err, n, given, b, 0);
}

int netns_cut(char *err, const netns_t *n, netns_batch_t *given, int from, int to) {
    if (pair_ok(err, from, to) < 0) return NETNS_ERR_ARG;
    netns_batch_t *b = batch_begin(given);
    if (b != NULL) {
        char chain[NETNS_FAULT_NAME_BYTES], match[(NETNS_FRONTS + 1) * NETNS_ADDR_BYTES + 24];
        snprintf(chain, sizeof(chain), "part_%c_%c", HOST_LETTERS[from], HOST_LETTERS[to]);
        if (from == NETNS_HOST_M) /* what the TCP proxy's fronts send is serverM's too */
            snprintf(match, sizeof(match), "ip saddr { %s, %s, %s }", n->addr[from], n->front[0], n->front[1]);
        else snprintf(match, sizeof(match), "ip saddr %s", n->addr[from]);
        b->on[to] |= ON_PART(from); /* cut twice is cut once: the older rules are shadowed */
        chain_off(b, to, "part", from, to);
        b->on[to] |= ON_PART(from);
        cut_rules(b, to, chain, match, chain);
    }
    return batch_end(err, n, given, b, 0);
}

int netns_isolate(char *err, const netns_t *n, netns_batch_t *given, int host) {
    if (host < 0 || host >= NETNS_HOSTS) return fail(err, NETNS_ERR_ARG, "no host %d", host);
    netns_batch_t *b = batch_begin(given);
    if (b != NULL) {
        char counter[NETNS_FAULT_NAME_BYTES];
        snprintf(counter, sizeof(counter), "iso_%c", HOST_LETTERS[host]);
        b->on[host] |= ON_ISO;
        iso_off(b, host);
        b->on[host] |= ON_ISO;
        cut_rules(b, host, "iso_in", "iifname \"eth0\"", counter);
        cut_rules(b, host, "iso_out", "oifname \"eth0\"", counter);
    }
    return batch_end(err, n, given, b, 0);
}

int netns_heal_link(char *err, const netns_t *n, netns_batch_t *given, int from, int to) {
    if (pair_ok(err, from, to) < 0) return NETNS_ERR_ARG;
    netns_batch_t *b = batch_begin(given);
    if (b != NULL) chain_off(b, to, "part", from, to);
    return batch_end(err, n, given, b, 0);
}

int netns_heal_host(char *err, const netns_t *n, netns_batch_t *given, int host) {
    if (host < 0 || host >= NETNS_HOSTS) return fail(err, NETNS_ERR_ARG, "no host %d", host);
    netns_batch_t *b = batch_begin(given);
    if (b != NULL) {
        iso_off(b, host);
        for (int h = 0; h < NETNS_HOSTS; h++) {
            if (h == host) continue;
            chain_off(b, host, "part", h, host); /* cuts into host ... */
            chain_off(b, h, "part", host, h);    /* ... and out of it */
        }
    }
    return batch_end(err, n, given, b, 0);
}

/* Every cut and isolation of every host; with losses when with_loss. */
static void heal_every(netns_batch_t *b, int with_loss) {
    for (int to = 0; to < NETNS_HOSTS; to++) {
        iso_off(b, to);
        for (int from = 0; from < NETNS_HOSTS; from++) {
            if (from == to) continue;
            chain_off(b, to, "part", from, to);
            if (with_loss) chain_off(b, to, "loss", from, to);
        }
    }
}

int netns_heal_cuts(char *err, const netns_t *n, netns_batch_t *given) {
    netns_batch_t *b = batch_begin(given);
    if (b != NULL) heal_every(b, 0);
    return batch_end(err, n, given, b, 0);
}

int netns_heal(char *err, const netns_t *n, netns_batch_t *given) {
    netns_batch_t *b = batch_begin(given);
    if (b != NULL) heal_every(b, 1);
    return batch_end(err, n, given, b, 0);
}

/* Parses `nft list table` output: "counter NAME {" then "packets P bytes B". */
static void counters_parse(char *text, char host, netns_counter_t *out, size_t cap, size_t *count) {
    char *save = NULL;
    netns_counter_t *cur = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[NETNS_FAULT_NAME_BYTES];
        unsigned long long packets, bytes;
        if (sscanf(line, " counter %31s {", name) == 1 && *count < cap) {
            cur = &out[(*count)++];
            memset(cur, 0, sizeof(*cur));
            snprintf(cur->name, sizeof(cur->name), "%s", name);
            cur->host = host;
        } else if (cur && sscanf(line, " packets %llu bytes %llu", &packets, &bytes) == 2) {
            cur->packets = packets;
            cur->bytes = bytes;
            cur = NULL;
        }
    }
}

int netns_counters(char *err, const netns_t *n, netns_counter_t *out, size_t cap, size_t *count) {
    static char text[NETNS_CMD_OUT_BYTES];
    *count = 0;
    for (int h = 0; h < NETNS_HOSTS; h++) {
        int rc = run(err, n->name[h], NULL, text, sizeof(text), "nft", "list", "table", "inet", "alichain", NULL);
        if (rc < 0) return rc;
        counters_parse(text, HOST_LETTERS[h], out, cap, count);
    }
    return 0;
}
