/* hosts_main.c — alichain-hosts: the namespace hosts (sim/hosts/netns.h), the UDP fault relay
 * (sim/hosts/relay.h) and the disk fault file system (sim/hosts/faultfs.h) from the command
 * line, for tests, demos and by hand. Exit 0 done, 1 the
 * operation failed, 2 usage, 3 unavailable (not root, or ip / nft missing), 130 `up`
 * interrupted (and undone). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hosts/faultfs.h"
#include "hosts/netns.h"
#include "hosts/relay.h"
#include "text.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_UNAVAILABLE 3
#define EXIT_INTERRUPTED 130
#define ERR_TEXT_BYTES 256

static const char USAGE[] =
    "usage: alichain-hosts check | sweep   (sweep: a dead owner's namespaces and temp directories)\n"
    "       alichain-hosts up|down|heal|counters TAG [--owner PID]\n"
    "       alichain-hosts heal TAG HOST | heal TAG FROM TO   [--owner PID]\n"
    "       alichain-hosts exec TAG HOST [--owner PID] -- PROGRAM [ARG...]\n"
    "       alichain-hosts loss TAG FROM TO PCT | cut TAG FROM TO | partition TAG X Y\n"
    "                      | isolate TAG HOST   [--owner PID]\n"
    "       alichain-hosts relay --seed N [--down SPEC] [--up SPEC] [--for-ms N]\n"
    "                      --link FRONT,M,BACK,BACKEND [--link ...]\n"
    "TAG: [a-z0-9]{1,7}; the namespaces are alc-<owner>-<TAG>-{br,M,A,B,C,K} (owner: --owner,\n"
    "default the parent of alichain-hosts: the shell or program that runs it); HOST: M A B C\n"
    "or K (the clients).\n"
    "SPEC: delay=LO-HI,dup=PCT,reorder=PCT (any subset) or none; FRONT etc.: HOST:PORT.\n"
    "A relay link: serverM (at M) sends to FRONT, the backend (at BACKEND) sends to BACK.\n"
    "       alichain-hosts disk DIR [--log NAME] [--seed N]\n"
    "DIR: a directory the fault file system is mounted over until stdin ends (or SIGINT/SIGTERM);\n"
    "stdin commands, each answered by one line once it took effect: `set SYNC_MIN_US SYNC_MAX_US\n"
    "TORN_PPM`, `cut` (power cut), `on` (power back), `counts`.\n";

/* One line on stderr: "alichain-hosts: " and the message, its control characters escaped
 * (a TAG or a command echoed back cannot drive the terminal). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    char line[ERR_TEXT_BYTES * 2], shown[sizeof(line) * 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    text_escape(line, shown, sizeof(shown));
    fprintf(stderr, "alichain-hosts: %s\n", shown);
}

static int usage(const char *why) {
    if (why) say("%s", why);
    fputs(USAGE, stderr);
    return EXIT_USAGE;
}

static int failed(int rc, const char *err) {
    say("%s", err);
    if (rc == NETNS_ERR_ARG) return EXIT_USAGE;
    return rc == NETNS_ERR_UNAVAILABLE ? EXIT_UNAVAILABLE : EXIT_FAILED;
}

static int parse_host(const char *s) {
    return strlen(s) == 1 ? netns_host_of(s[0]) : -1;
}

static volatile sig_atomic_t stop_flag;
static void on_stop(int sig) {
    (void)sig;
    stop_flag = 1;
}

/* The relay: a process of its own, stopped by SIGTERM or SIGINT, printing its counters. */
static int cmd_relay(int argc, char **argv) {
    static relay_t relay;
    relay_link_t links[RELAY_LINKS_MAX];
    relay_fault_t fault[RELAY_DIRS] = {{0}};
    char err[ERR_TEXT_BYTES];
    int link_count = 0, seeded = 0;
    unsigned long long seed = 0, for_ms = 0;
    for (int i = 0; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val) return usage("an option without its value");
        i++;
        char *end = NULL;
        if (strcmp(opt, "--seed") == 0) {
            seed = strtoull(val, &end, 10);
            if (*end || !*val) return usage("--seed is not a number");
            seeded = 1;
        } else if (strcmp(opt, "--for-ms") == 0) {
            for_ms = strtoull(val, &end, 10);
            if (*end || !*val) return usage("--for-ms is not a number");
        } else if (strcmp(opt, "--down") == 0 || strcmp(opt, "--up") == 0) {
            if (relay_fault_parse(err, sizeof(err), val, &fault[opt[2] == 'd' ? RELAY_DOWN : RELAY_UP]) < 0)
                return usage(err);
        } else if (strcmp(opt, "--link") == 0) {
            char copy[ERR_TEXT_BYTES], *parts[4], *save = NULL;
            int n = 0;
            if (link_count == RELAY_LINKS_MAX) return usage("more than 3 links");
            snprintf(copy, sizeof(copy), "%s", val);
            for (char *t = strtok_r(copy, ",", &save); t && n < 4; t = strtok_r(NULL, ",", &save)) parts[n++] = t;
            if (n != 4) return usage("--link wants FRONT,M,BACK,BACKEND");
            relay_link_t *l = &links[link_count++];
            if (relay_addr_parse(err, sizeof(err), parts[0], &l->front_bind) < 0 ||
                relay_addr_parse(err, sizeof(err), parts[1], &l->m_addr) < 0 ||
                relay_addr_parse(err, sizeof(err), parts[2], &l->back_bind) < 0 ||
                relay_addr_parse(err, sizeof(err), parts[3], &l->backend_addr) < 0)
                return usage(err);
        } else {
            return usage("unknown relay option");
        }
    }
    if (!seeded || link_count == 0) return usage("relay needs --seed and at least one --link");
    relay_init(&relay, seed, fault);
    int fds[RELAY_LINKS_MAX * RELAY_DIRS];
    if (relay_bind(err, sizeof(err), links, link_count, fds) < 0) {
        say("relay: %s", err);
        return EXIT_FAILED;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("relay: ready, %d link(s), seed %llu\n", link_count, seed);
    fflush(stdout);
    relay_serve(&relay, links, link_count, fds, &stop_flag, for_ms, NULL, -1);
    for (int i = 0; i < link_count * RELAY_DIRS; i++) close(fds[i]);
    char text[RELAY_COUNTS_TEXT_BYTES];
    relay_counts_text(&relay, text, sizeof(text));
    printf("relay: %s\n", text);
    return 0;
}

static int cmd_counters(const netns_t *n) {
    netns_counter_t c[NETNS_COUNTERS_MAX];
    size_t count = 0;
    char err[NETNS_ERR_BYTES];
    int rc = netns_counters(err, n, c, NETNS_COUNTERS_MAX, &count);
    if (rc < 0) return failed(rc, err);
    for (size_t i = 0; i < count; i++)
        printf("counter %s host %c packets %llu bytes %llu\n", c[i].name, c[i].host, (unsigned long long)c[i].packets,
               (unsigned long long)c[i].bytes);
    return 0;
}

/* SIGINT, SIGTERM and SIGHUP wait while the hosts come up (a half-built run is never left
 * behind by an interrupt); if one came, everything is removed again and the exit is 130. */
static int cmd_up(netns_t *n) {
    char err[NETNS_ERR_BYTES];
    sigset_t block, old, pending;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &old);
    int rc = netns_up(err, n);
    sigpending(&pending);
    if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) || sigismember(&pending, SIGHUP)) {
        if (rc == 0 && netns_down(err, n) < 0) say("%s", err);
        say("interrupted: the hosts were removed again");
        return EXIT_INTERRUPTED;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (rc < 0) return failed(rc, err);
    printf("prefix %s bridge %s\n", n->prefix, n->bridge);
    for (int h = 0; h < NETNS_HOSTS; h++) printf("host %c %s %s\n", netns_letter_of(h), n->name[h], n->addr[h]);
    return 0;
}

/* The commands on one run's hosts: TAG, positional arguments, --owner, and after `--` a
 * program (exec only). */
static int cmd_hosts(const char *cmd, int argc, char **argv) {
    const char *pos[4];
    int npos = 0, prog_at = -1;
    pid_t owner = getppid();
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            prog_at = i + 1;
            break;
        }
        if (strcmp(argv[i], "--owner") == 0 && i + 1 < argc) {
            char *end = NULL;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v <= 0) return usage("--owner is not a pid");
            owner = (pid_t)v;
        } else if (npos < 4) {
            pos[npos++] = argv[i];
        } else {
            return usage("too many arguments");
        }
    }
    if (npos < 1) return usage("a TAG is needed");
    netns_t n;
    char err[NETNS_ERR_BYTES];
    if (netns_init(err, &n, owner, pos[0]) < 0) return usage(err);
    int rc, a = npos > 1 ? parse_host(pos[1]) : -1, b = npos > 2 ? parse_host(pos[2]) : -1;
    if (strcmp(cmd, "up") == 0 && npos == 1) return cmd_up(&n);
    if (strcmp(cmd, "down") == 0 && npos == 1) {
        rc = netns_down(err, &n);
    } else if (strcmp(cmd, "heal") == 0 && npos == 1) {
        rc = netns_heal(err, &n, NULL);
    } else if (strcmp(cmd, "heal") == 0 && npos == 2 && a >= 0) {
        rc = netns_heal_host(err, &n, NULL, a);
    } else if (strcmp(cmd, "heal") == 0 && npos == 3 && a >= 0 && b >= 0) {
        rc = netns_heal_link(err, &n, NULL, a, b);
    } else if (strcmp(cmd, "counters") == 0 && npos == 1) {
        return cmd_counters(&n);
    } else if (strcmp(cmd, "exec") == 0 && npos == 2 && a >= 0 && prog_at > 0 && prog_at < argc) {
        rc = netns_enter(err, &n, a);
        if (rc < 0) return failed(rc, err);
        execvp(argv[prog_at], argv + prog_at);
        say("cannot run %s: %s", argv[prog_at], strerror(errno));
        return 127;
    } else if (strcmp(cmd, "loss") == 0 && npos == 4 && a >= 0 && b >= 0) {
        char *end = NULL;
        long pct = strtol(pos[3], &end, 10);
        if (*end || pct < 1 || pct > 100) return usage("PCT is not 1..100");
        rc = netns_loss(err, &n, NULL, a, b, (uint32_t)pct * (NETNS_PPM_ONE / 100));
    } else if (strcmp(cmd, "cut") == 0 && npos == 3 && a >= 0 && b >= 0) {
        rc = netns_cut(err, &n, NULL, a, b);
    } else if (strcmp(cmd, "partition") == 0 && npos == 3 && a >= 0 && b >= 0) {
        static netns_batch_t both; /* both ways land together: one transaction per host */
        netns_batch_init(&both);
        rc = netns_cut(err, &n, &both, a, b);
        if (rc == 0) rc = netns_cut(err, &n, &both, b, a);
        if (rc == 0) rc = netns_batch_run(err, &n, &both);
    } else if (strcmp(cmd, "isolate") == 0 && npos == 2 && a >= 0) {
        rc = netns_isolate(err, &n, NULL, a);
    } else {
        return usage("unknown command or wrong arguments");
    }
    return rc < 0 ? failed(rc, err) : 0;
}

static void disk_counts_print(const faultfs_t *fs) {
    faultfs_counts_t c;
    faultfs_counts(fs, &c);
    printf("counts writes=%llu syncs=%llu slow_syncs=%llu cuts=%llu unsynced=%llu torn=%llu bytes_lost=%llu "
           "bytes_kept=%llu refused=%llu nospace=%llu eio=%llu\n",
           (unsigned long long)c.writes, (unsigned long long)c.syncs, (unsigned long long)c.slow_syncs,
           (unsigned long long)c.cuts, (unsigned long long)c.unsynced, (unsigned long long)c.torn,
           (unsigned long long)c.bytes_lost, (unsigned long long)c.bytes_kept, (unsigned long long)c.refused,
           (unsigned long long)c.nospace, (unsigned long long)c.eio);
}

/* The fault file system over DIR, commanded line by line on stdin; unmounted at the end. */
static int cmd_disk(int argc, char **argv) {
    char err[FAULTFS_ERR_BYTES];
    const char *dir = NULL, *log = "";
    uint64_t seed = 1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--log") == 0 && i + 1 < argc) log = argv[++i];
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (dir == NULL && argv[i][0] != '-') dir = argv[i];
        else return usage("disk DIR [--log NAME] [--seed N]");
    }
    if (dir == NULL) return usage("disk needs a DIR");
    if (faultfs_available(err, sizeof(err)) < 0) {
        say("%s", err);
        return EXIT_UNAVAILABLE;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_stop; /* no SA_RESTART: a signal ends the read below */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sim_disk_t d = {.sync_min_us = 0, .sync_max_us = 0, .torn_ppm = 0};
    faultfs_t fs;
    (void)faultfs_sweep();
    if (faultfs_start(&fs, dir, log, seed, &d, UINT64_MAX, err, sizeof(err)) < 0) return failed(NETNS_ERR_COMMAND, err);
    printf("mounted %s\n", dir);
    fflush(stdout);
    char line[256];
    int rc = 0;
    while (!stop_flag && fgets(line, sizeof(line), stdin) != NULL) {
        unsigned long long lo, hi, ppm, full = 0, ew = 0, es = 0;
        int ok = 0, n = sscanf(line, "set %llu %llu %llu %llu %llu %llu", &lo, &hi, &ppm, &full, &ew, &es);
        if (n == 3 || n == 6) { /* sync range, torn ppm [, full 0|1, eio-write ppm, eio-sync ppm] */
            d = (sim_disk_t){.sync_min_us = lo, .sync_max_us = hi, .torn_ppm = (uint32_t)ppm, .full = full != 0,
                             .eio_write_ppm = (uint32_t)ew, .eio_sync_ppm = (uint32_t)es};
            ok = faultfs_command(&fs, FAULTFS_CMD_SET, &d, err, sizeof(err)) == 0;
        } else if (strcmp(line, "cut\n") == 0) {
            ok = faultfs_command(&fs, FAULTFS_CMD_CUT, NULL, err, sizeof(err)) == 0;
        } else if (strcmp(line, "on\n") == 0) {
            ok = faultfs_command(&fs, FAULTFS_CMD_ON, NULL, err, sizeof(err)) == 0;
        } else if (strcmp(line, "counts\n") == 0) {
            disk_counts_print(&fs);
            fflush(stdout);
            continue;
        } else {
            snprintf(err, sizeof(err), "unknown command");
        }
        if (ok) printf("ok\n");
        else printf("error %s\n", err);
        fflush(stdout);
        rc |= !ok;
    }
    faultfs_stop(&fs);
    return rc ? EXIT_FAILED : 0;
}

/* The commands of one run's hosts (cmd_hosts); check, sweep, relay and disk are main's. */
static const char *const HOSTS_COMMANDS[] = {"up", "down", "heal", "counters", "exec", "loss", "cut",
                                             "partition", "isolate"};

int main(int argc, char **argv) {
    char err[NETNS_ERR_BYTES];
    if (argc < 2) return usage(NULL);
    const char *cmd = argv[1];
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { /* help, anywhere before -- */
            fputs(USAGE, stdout);
            return 0;
        }
    if (strcmp(cmd, "check") == 0 && argc == 2) {
        int rc = netns_available(err);
        if (rc < 0) return failed(rc, err);
        puts("hosts: available (root, ip, nft)");
        return 0;
    }
    if (strcmp(cmd, "sweep") == 0 && argc == 2) {
        int removed = 0, dirs = netns_sweep_dirs(); /* needs no root: done even without hosts */
        int rc = netns_sweep(err, &removed);
        if (rc < 0) {
            printf("sweep: removed %d stale temp directory(ies)\n", dirs);
            return failed(rc, err);
        }
        printf("sweep: removed %d stale namespace(s), %d stale temp directory(ies)\n", removed, dirs);
        return 0;
    }
    if (strcmp(cmd, "relay") == 0) return cmd_relay(argc - 2, argv + 2);
    if (strcmp(cmd, "disk") == 0) return cmd_disk(argc - 2, argv + 2);
    for (size_t i = 0; i < sizeof(HOSTS_COMMANDS) / sizeof(HOSTS_COMMANDS[0]); i++)
        if (strcmp(cmd, HOSTS_COMMANDS[i]) == 0) return cmd_hosts(cmd, argc - 2, argv + 2);
    char why[ERR_TEXT_BYTES];
    snprintf(why, sizeof(why), "unknown command \"%.60s\"%s", cmd,
             strcmp(cmd, "check") == 0 || strcmp(cmd, "sweep") == 0 ? " with arguments (it takes none)" : "");
    return usage(why);
}
