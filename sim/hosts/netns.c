/* netns.c — network-namespace hosts and their nftables faults (see netns.h). Each step is
 * an `ip` or `nft` call run by cmd_run() with a deadline, its output captured for the
 * error message; `nft` runs inside a namespace by setns() in the child before exec. */
#define _GNU_SOURCE
#include "netns.h"

#include "proc/proc.h"

#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Runs argv (NULL-terminated) with stdin from input (or /dev/null), inside namespace ns
 * when ns is not NULL, and stdout+stderr captured into out (always terminated). Kills it
 * at NETNS_CMD_TIMEOUT_MS (out_cap >= 1). Returns 0 when it exited 0, else NETNS_ERR_COMMAND. */
static int cmd_run(char *err, const char *ns, const char *input, char *const argv[], char *out,
                   size_t out_cap) {
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
    size_t used = 0;
    uint64_t deadline = proc_now_us() / 1000u + NETNS_CMD_TIMEOUT_MS;
    int timed_out = 0;
    for (;;) {
        uint64_t now = proc_now_us() / 1000u;
        if (now >= deadline) {
            timed_out = 1;
            break;
        }
        struct pollfd p = {.fd = out_pipe[0], .events = POLLIN};
        int r = poll(&p, 1, (int)(deadline - now));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        char buf[4096];
        ssize_t got = read(out_pipe[0], buf, sizeof(buf));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        size_t take = (size_t)got;
        if (used + take >= out_cap) take = out_cap - 1 - used; /* the rest is dropped */
        memcpy(out + used, buf, take);
        used += take;
    }
    close(out_pipe[0]);
    out[used] = '\0';
    if (timed_out) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
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

/* Where prog is: the first executable in PATH, then in the system directories (root's
 * tools live in /usr/sbin, which a user's PATH may lack). Returns 0 with its path in buf. */
int netns_tool_path(const char *prog, char *buf, size_t cap) {
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
    return 0;
}

static int ns_exists(const char *name) {
    char path[NETNS_NAME_BYTES + sizeof(NETNS_DIR) + 1];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", NETNS_DIR, name);
    return stat(path, &st) == 0;
}

/* One host: its namespace joined to the bridge, its address, its empty nft table. */
static int host_up(char *err, const netns_t *n, int h) {
    char peer[16], cidr[NETNS_ADDR_BYTES + 4], script[SCRIPT_BYTES];
    snprintf(peer, sizeof(peer), "v%c", HOST_LETTERS[h]);
    snprintf(cidr, sizeof(cidr), "%s/24", n->addr[h]);
    int rc = run(err, NULL, NULL, NULL, 0, "ip", "netns", "add", n->name[h], NULL);
    if (rc == 0) rc = run(err, NULL, NULL, NULL, 0, "ip", "-n", n->bridge, "link", "add", peer, "type", "veth",
                          "peer", "name", "eth0", "netns", n->name[h], NULL);
    snprintf(script, sizeof(script), "link set %s master br0\nlink set %s up\n", peer, peer);
    if (rc == 0) rc = run(err, NULL, script, NULL, 0, "ip", "-n", n->bridge, "-batch", "-", NULL);
    snprintf(script, sizeof(script), "addr add %s dev eth0\nlink set eth0 up\nlink set lo up\n", cidr);
    if (rc == 0) rc = run(err, NULL, script, NULL, 0, "ip", "-n", n->name[h], "-batch", "-", NULL);
    snprintf(script, sizeof(script),
             "table %s {\n"
             "  chain input { type filter hook input priority 0; policy accept; }\n"
             "  chain output { type filter hook output priority 0; policy accept; }\n"
             "}\n",
             NFT_TABLE);
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

/* Kills what runs in namespace name and deletes it, if it exists. */
static int ns_remove(char *err, const char *name) {
    if (!ns_exists(name)) return 0;
    char out[LINE_BYTES * 16];
    if (run(err, NULL, NULL, out, sizeof(out), "ip", "netns", "pids", name, NULL) == 0) {
        char *save = NULL;
        for (char *tok = strtok_r(out, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
            long pid = strtol(tok, NULL, 10);
            if (pid > 1 && pid != (long)getpid()) kill((pid_t)pid, SIGKILL);
        }
    }
    return run(err, NULL, NULL, NULL, 0, "ip", "netns", "del", name, NULL);
}

int netns_down(char *err, netns_t *n) {
    int first = 0;
    char why[NETNS_ERR_BYTES];
    for (int h = 0; h <= NETNS_HOSTS; h++) {
        const char *name = h < NETNS_HOSTS ? n->name[h] : n->bridge;
        int rc = ns_remove(why, name);
        if (rc < 0 && first == 0) {
            first = rc;
            snprintf(err, NETNS_ERR_BYTES, "%s", why);
        }
    }
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
        rc = ns_remove(err, name);
        if (rc < 0) return rc;
        (*removed)++;
    }
    return 0;
}

int netns_enter(char *err, const netns_t *n, int host) {
    if (host < 0 || host >= NETNS_HOSTS) return fail(err, NETNS_ERR_ARG, "no host %d", host);
    if (join_netns(n->name[host]) < 0)
        return fail(err, NETNS_ERR_SYS, "cannot enter namespace %s: %s", n->name[host], strerror(errno));
    for (int h = 0; h <= NETNS_HOST_C; h++)
        if (setenv(HOST_VARS[h], n->addr[h], 0) < 0) /* the caller's own value wins */ return fail(err, NETNS_ERR_SYS, "setenv: %s", strerror(errno));
    return 0;
}

/* Every fault rule carries its counter's name as its comment, so it can be found again
 * (by `nft -a list`, for its handle) and removed alone: the tool is stateless between
 * calls, the kernel's table is the state. */

/* Deletes the rules of host whose comment matches pattern (fnmatch). */
static int rules_delete(char *err, const netns_t *n, int host, const char *pattern) {
    static char text[NETNS_CMD_OUT_BYTES];
    char script[SCRIPT_BYTES * 4];
    size_t used = 0;
    int rc = run(err, n->name[host], NULL, text, sizeof(text), "nft", "-a", "list", "table", "inet", "alichain", NULL);
    if (rc < 0) return rc;
    char chain[16] = "";
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[NETNS_FAULT_NAME_BYTES];
        unsigned long handle;
        const char *c = strstr(line, "comment \""), *h = strstr(line, "# handle ");
        if (sscanf(line, " chain %15s {", chain) == 1) continue;
        if (!c || !h || sscanf(c, "comment \"%31[^\"]\"", name) != 1 || sscanf(h, "# handle %lu", &handle) != 1)
            continue;
        if (fnmatch(pattern, name, 0) != 0) continue;
        int len = snprintf(script + used, sizeof(script) - used, "delete rule %s %s handle %lu\n", NFT_TABLE, chain,
                           handle);
        if (len < 0 || (size_t)len >= sizeof(script) - used) return fail(err, NETNS_ERR_ARG, "too many rules to delete");
        used += (size_t)len;
    }
    return used == 0 ? 0 : run(err, n->name[host], script, NULL, 0, "nft", "-f", "-", NULL);
}

/* Adds a named counter (kept if it exists: it counts on), with its tcp_ twin when tcp, and
 * one rule per line of rules, each already naming its counter and commented with NAME. */
static int fault_add(char *err, const netns_t *n, int host, const char *counter, int tcp, const char *rules) {
    char script[SCRIPT_BYTES];
    int len = snprintf(script, sizeof(script), "add counter %s %s\n%s%s%s%s%s", NFT_TABLE, counter,
                       tcp ? "add counter " : "", tcp ? NFT_TABLE " " TCP_PREFIX : "", tcp ? counter : "",
                       tcp ? "\n" : "", rules);
    if (len < 0 || (size_t)len >= sizeof(script)) return fail(err, NETNS_ERR_ARG, "fault script too long");
    return run(err, n->name[host], script, NULL, 0, "nft", "-f", "-", NULL);
}

/* Two drop rules on chain for what matches: TCP counted apart as tcp_NAME (segments and
 * handshakes the partition holds back, which TCP will retransmit: the report's "stalled"),
 * the rest as NAME (the report's "cut"). Appends to rules (cap bytes). */
static void cut_rules(char *rules, size_t cap, const char *chain, const char *match, const char *counter) {
    size_t used = strlen(rules);
    snprintf(rules + used, cap - used,
             "add rule %s %s %s meta l4proto tcp counter name " TCP_PREFIX "%s drop comment \"%s\"\n"
             "add rule %s %s %s counter name %s drop comment \"%s\"\n",
             NFT_TABLE, chain, match, counter, counter, NFT_TABLE, chain, match, counter, counter);
}

static int pair_ok(char *err, int from, int to) {
    if (from < 0 || from >= NETNS_HOSTS || to < 0 || to >= NETNS_HOSTS || from == to)
        return fail(err, NETNS_ERR_ARG, "hosts %c and %c are not two distinct hosts", netns_letter_of(from),
                    netns_letter_of(to));
    return 0;
}

int netns_loss(char *err, const netns_t *n, int from, int to, uint32_t ppm) {
    if (pair_ok(err, from, to) < 0) return NETNS_ERR_ARG;
    if (ppm > NETNS_PPM_ONE) return fail(err, NETNS_ERR_ARG, "loss %u ppm is over 1000000", (unsigned)ppm);
    char counter[NETNS_FAULT_NAME_BYTES], rules[SCRIPT_BYTES];
    snprintf(counter, sizeof(counter), "loss_%c_%c", HOST_LETTERS[from], HOST_LETTERS[to]);
    int rc = rules_delete(err, n, to, counter); /* the link's earlier setting, if any */
    if (rc < 0 || ppm == 0) return rc;
    /* numgen random mod 1000000 is uniform in 0..999999: "< ppm" drops ppm of a million
     * (nft refuses "< 1000000", and a certain loss needs no draw) */
    char draw[64] = "";
    if (ppm < NETNS_PPM_ONE) snprintf(draw, sizeof(draw), "numgen random mod %u < %u ", NETNS_PPM_ONE, (unsigned)ppm);
    snprintf(rules, sizeof(rules),
             "add rule %s input ip saddr %s meta l4proto udp %scounter name %s drop comment \"%s\"\n", NFT_TABLE,
             n->addr[from], draw, counter, counter);
    return fault_add(err, n, to, counter, 0, rules);
}

int netns_cut(char *err, const netns_t *n, int from, int to) {
    if (pair_ok(err, from, to) < 0) return NETNS_ERR_ARG;
    char counter[NETNS_FAULT_NAME_BYTES], rules[SCRIPT_BYTES];
    snprintf(counter, sizeof(counter), "part_%c_%c", HOST_LETTERS[from], HOST_LETTERS[to]);
    int rc = rules_delete(err, n, to, counter); /* cut twice is cut once */
    if (rc < 0) return rc;
    char match[NETNS_ADDR_BYTES + 16];
    snprintf(match, sizeof(match), "ip saddr %s", n->addr[from]);
    rules[0] = '\0';
    cut_rules(rules, sizeof(rules), "input", match, counter);
    return fault_add(err, n, to, counter, 1, rules);
}

int netns_isolate(char *err, const netns_t *n, int host) {
    if (host < 0 || host >= NETNS_HOSTS) return fail(err, NETNS_ERR_ARG, "no host %d", host);
    char counter[NETNS_FAULT_NAME_BYTES], rules[SCRIPT_BYTES];
    snprintf(counter, sizeof(counter), "iso_%c", HOST_LETTERS[host]);
    int rc = rules_delete(err, n, host, counter);
    if (rc < 0) return rc;
    rules[0] = '\0';
    cut_rules(rules, sizeof(rules), "input", "iifname \"eth0\"", counter);
    cut_rules(rules, sizeof(rules), "output", "oifname \"eth0\"", counter);
    return fault_add(err, n, host, counter, 1, rules);
}

int netns_heal_link(char *err, const netns_t *n, int from, int to) {
    if (pair_ok(err, from, to) < 0) return NETNS_ERR_ARG;
    char counter[NETNS_FAULT_NAME_BYTES];
    snprintf(counter, sizeof(counter), "part_%c_%c", HOST_LETTERS[from], HOST_LETTERS[to]);
    return rules_delete(err, n, to, counter);
}

int netns_heal_host(char *err, const netns_t *n, int host) {
    if (host < 0 || host >= NETNS_HOSTS) return fail(err, NETNS_ERR_ARG, "no host %d", host);
    char into[NETNS_FAULT_NAME_BYTES], iso[NETNS_FAULT_NAME_BYTES];
    snprintf(into, sizeof(into), "part_?_%c", HOST_LETTERS[host]);
    snprintf(iso, sizeof(iso), "iso_%c", HOST_LETTERS[host]);
    int rc = rules_delete(err, n, host, into);
    if (rc == 0) rc = rules_delete(err, n, host, iso);
    for (int h = 0; h < NETNS_HOSTS && rc == 0; h++)
        if (h != host) rc = netns_heal_link(err, n, host, h);
    return rc;
}

int netns_heal_cuts(char *err, const netns_t *n) {
    int rc = 0;
    for (int h = 0; h < NETNS_HOSTS && rc == 0; h++) {
        rc = rules_delete(err, n, h, "part_*");
        if (rc == 0) rc = rules_delete(err, n, h, "iso_*");
    }
    return rc;
}

int netns_heal(char *err, const netns_t *n) {
    char script[SCRIPT_BYTES];
    snprintf(script, sizeof(script), "flush chain %s input\nflush chain %s output\n", NFT_TABLE, NFT_TABLE);
    for (int h = 0; h < NETNS_HOSTS; h++) {
        int rc = run(err, n->name[h], script, NULL, 0, "nft", "-f", "-", NULL);
        if (rc < 0) return rc;
    }
    return 0;
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
