/* realnet_ns.c — the namespace back end of `alichain-sim real` (see realnet_ns.h). Every
 * backend listens on 127.0.0.1 inside its own host and believes serverM is at 127.0.0.1; a
 * relay child process on that host holds the backend's real address and port (where serverM
 * sends, and from where serverM accepts answers) and 127.0.0.1 at serverM's port (where the
 * backend sends, and from where it accepts queries). Relay settings and counters cross the
 * process boundary through a shared mapping. */
#include "realnet_ns.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ports.h"
#include "hosts/mac.h"
#include "hosts/netns.h"
#include "hosts/relay.h"
#include "hosts/tcpproxy.h"
#include "proc/proc.h"

#define NS_LOCAL "127.0.0.1"
#define NS_ENV_BYTES 48
#define NS_SEED_BASE 0x616c6963686e7300ull /* the relays' draws: offset and backend mixed in */
#define NS_PROXY_SEED 0x7463707072787900ull        /* the TCP proxy's draws: offset mixed in */
#define NS_ACK_POLL_US 50                  /* a relay acknowledges within one loop turn: tens of us */

_Static_assert((int)NETNS_HOST_M == (int)SIM_NODE_M && (int)NETNS_HOST_A == (int)SIM_NODE_A &&
                   (int)NETNS_HOST_B == (int)SIM_NODE_B && (int)NETNS_HOST_C == (int)SIM_NODE_C &&
                   (int)NETNS_HOST_CLIENTS == (int)SIM_NODE_CLIENTS && (int)NETNS_HOSTS == (int)SIM_NODES,
               "a node is the host of the same number");

/* One relay's shared state: the child works on relay; the parent hands settings through ctl
 * (relay.h: the child applies them before the next datagram it plans and acknowledges them)
 * and reads the counters the child publishes there. */
typedef struct {
    relay_t relay;
    relay_control_t ctl;
} ns_shared_t;

typedef struct {
    netns_t ns;
    unsigned offset;
    unsigned runs;
    pid_t relay_pid[BACKEND_COUNT];
    ns_shared_t *shared[BACKEND_COUNT];
    int wake_fd[BACKEND_COUNT];        /* an eventfd the relay polls: a new setting wakes it */
    int relay_dirty[BACKEND_COUNT];    /* settings handed since the last commit */
    netns_batch_t batch;               /* the nft commands of the step being run */
    char env_host[BACKEND_COUNT][NS_ENV_BYTES];
    char env_m[NS_ENV_BYTES];
    const char *words[SIM_NODES][REALNET_WRAP_ARGS_MAX];
    int nwords[SIM_NODES];
    uint64_t reported[FAULT_COUNT];
    /* nftables' own counters, read only once a fault rule went through nft (isolations, the
     * clients' links): reading them spawns `nft`, and the runner samples counters when
     * every operation ends — a 1,200-transfer run would spawn 1,200 of them for nothing */
    int nft_used;
    uint64_t nft_lost, nft_cut, nft_stalled;
    /* steps on protocol events: the table every relay and the runner share, and the
     * eventfd a relay writes when one fired */
    relay_anchors_t *anchors;
    int anchors_fd;
    /* the TCP fault proxy on host M: its child, its control block, its wake */
    pid_t proxy_pid;
    tcpproxy_control_t *proxy;
    int proxy_wake_fd;
    int proxy_dirty;
    int relay_b;                       /* the backend of the relay child being started */
} ns_ctx_t;

static ns_ctx_t ns_ctx;

static int ns_fail(char *err, size_t cap, const char *what, const char *why) {
    snprintf(err, cap, "%s: %s", what, why);
    return -1;
}

/* ---- the relay child ------------------------------------------------------------------- */

static volatile sig_atomic_t relay_stop;
static void relay_on_stop(int sig) {
    (void)sig;
    relay_stop = 1;
}

static void relay_link_of(const ns_ctx_t *c, int b, relay_link_t *l) {
    char err[NETNS_ERR_BYTES], text[NS_ENV_BYTES];
    unsigned port_b = port_backend(b, c->offset);
    unsigned port_m = port_m_udp(c->offset);
    snprintf(text, sizeof(text), "%s:%u", c->ns.addr[SIM_NODE_A + b], port_b);
    (void)relay_addr_parse(err, sizeof(err), text, &l->front_bind);
    snprintf(text, sizeof(text), "%s:%u", c->ns.addr[SIM_NODE_M], port_m);
    (void)relay_addr_parse(err, sizeof(err), text, &l->m_addr);
    snprintf(text, sizeof(text), "%s:%u", NS_LOCAL, port_m);
    (void)relay_addr_parse(err, sizeof(err), text, &l->back_bind);
    snprintf(text, sizeof(text), "%s:%u", NS_LOCAL, port_b);
    (void)relay_addr_parse(err, sizeof(err), text, &l->backend_addr);
}

/* The child: joins backend b's host, binds, says so on ready_fd (one byte, or the error's
 * text), forwards until SIGTERM. Never returns. */
static void relay_child(ns_ctx_t *c, int b, int ready_fd) {
    char err[NETNS_ERR_BYTES];
    struct sigaction sa = {0};
    sa.sa_handler = relay_on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    relay_link_t link;
    int fds[RELAY_DIRS];
    if (netns_enter(err, &c->ns, SIM_NODE_A + b) < 0) {
        (void)!write(ready_fd, err, strlen(err));
        _exit(1);
    }
    relay_link_of(c, b, &link);
    if (relay_bind(err, sizeof(err), &link, 1, fds) < 0) {
        (void)!write(ready_fd, err, strlen(err));
        _exit(1);
    }
    (void)!write(ready_fd, "+", 1);
    close(ready_fd);
    relay_serve(&c->shared[b]->relay, &link, 1, fds, &relay_stop, 0, &c->shared[b]->ctl, c->wake_fd[b]);
    _exit(0);
}

static int relay_start(ns_ctx_t *c, int b, char *err, size_t cap);
static void relay_child_of(ns_ctx_t *c, int ready_fd) { relay_child(c, c->relay_b, ready_fd); }
static void relay_stop_all(ns_ctx_t *c) {
    (void)proc_stop_all(c->relay_pid, NULL, BACKEND_COUNT, REALNET_NS_STOP_TIMEOUT_MS * 1000ull);
    (void)proc_stop_all(&c->proxy_pid, NULL, 1, REALNET_NS_STOP_TIMEOUT_MS * 1000ull);
}

/* ---- the TCP fault proxy child (hosts/tcpproxy.h) ---------------------------------------- */

/* Its listeners: each front of host M (plain, half-close) at both client ports, to serverM
 * at the same port on M's own address. */
static int proxy_listeners(const ns_ctx_t *c, tcpproxy_listen_t *l) {
    char err[NETNS_ERR_BYTES], text[NS_ENV_BYTES];
    int n = 0;
    for (int f = 0; f < NETNS_FRONTS; f++) {
        for (int j = 0; j < 2; j++, n++) {
            unsigned port = port_client(j, c->offset);
            snprintf(text, sizeof(text), "%s:%u", c->ns.front[f], port);
            (void)relay_addr_parse(err, sizeof(err), text, &l[n].front);
            snprintf(text, sizeof(text), "%s:%u", c->ns.addr[SIM_NODE_M], port);
            (void)relay_addr_parse(err, sizeof(err), text, &l[n].back);
            l[n].half_close = f == NETNS_FRONT_HALF_CLOSE;
        }
    }
    return n;
}
_Static_assert(NETNS_FRONTS * 2 <= TCPPROXY_LISTENERS_MAX, "two client ports a front");

static void proxy_child(ns_ctx_t *c, int ready_fd) {
    char err[NETNS_ERR_BYTES];
    struct sigaction sa = {0};
    sa.sa_handler = relay_on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    tcpproxy_listen_t l[TCPPROXY_LISTENERS_MAX];
    int fds[TCPPROXY_LISTENERS_MAX];
    int n = proxy_listeners(c, l);
    if (netns_enter(err, &c->ns, SIM_NODE_M) < 0 || tcpproxy_bind(err, sizeof(err), l, n, fds) < 0) {
        (void)!write(ready_fd, err, strlen(err));
        _exit(1);
    }
    (void)!write(ready_fd, "+", 1);
    close(ready_fd);
    sim_faults_t calm;
    sim_faults_default(&calm);
    tcpproxy_serve(l, n, fds, NS_PROXY_SEED ^ c->offset, &calm.tcp, c->proxy, c->proxy_wake_fd, &relay_stop);
    _exit(0);
}

/* Forks child(c, fd) and waits for its ready byte; the pid into *pid. 0, or -1 with err. */
static int child_start(ns_ctx_t *c, void (*child)(ns_ctx_t *, int), const char *what, pid_t *pid, char *err,
                       size_t cap) {
    int p[2];
    if (pipe(p) < 0) return ns_fail(err, cap, "pipe", strerror(errno));
    pid_t kid = proc_fork();
    if (kid == 0) {
        close(p[0]);
        child(c, p[1]);
    }
    close(p[1]);
    if (kid < 0) {
        close(p[0]);
        return ns_fail(err, cap, "fork", strerror(errno));
    }
    *pid = kid;
    char msg[NETNS_ERR_BYTES] = "";
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    int ready = poll(&pfd, 1, REALNET_NS_READY_TIMEOUT_MS);
    ssize_t got = ready > 0 ? read(p[0], msg, sizeof(msg) - 1) : -1;
    close(p[0]);
    if (got == 1 && msg[0] == '+') return 0;
    if (got > 0) msg[got] = '\0';
    snprintf(err, cap, "%s: %s", what, got > 0 ? msg : ready == 0 ? "not ready in time" : "exited before it was ready");
    return -1;
}

static int proxy_start(ns_ctx_t *c, char *err, size_t cap) {
    c->proxy = mmap(NULL, sizeof(*c->proxy), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c->proxy == MAP_FAILED) {
        c->proxy = NULL;
        return ns_fail(err, cap, "mmap", strerror(errno));
    }
    c->proxy_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->proxy_wake_fd < 0) return ns_fail(err, cap, "eventfd", strerror(errno));
    return child_start(c, proxy_child, "tcp proxy", &c->proxy_pid, err, cap);
}

static int relay_start(ns_ctx_t *c, int b, char *err, size_t cap) {
    ns_shared_t *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) return ns_fail(err, cap, "mmap", strerror(errno));
    /* an anonymous mapping starts zeroed: no settings wanted, no counts */
    c->shared[b] = sh;
    relay_init(&sh->relay, NS_SEED_BASE ^ ((uint64_t)c->offset << 8) ^ (uint64_t)b, sh->ctl.wanted);
    const uint8_t backend = (uint8_t)(SIM_NODE_A + b);
    relay_anchors_bind(&sh->relay, c->anchors, c->anchors_fd, &backend, 1);
    /* the forger seals with the real programs' MAC (keyed BLAKE2b, hosts/mac.h) and a key
     * that is not the servers': its datagrams are well-formed but for the MAC */
    const auth_t forger = hosts_mac_auth(forge_key);
    relay_forger_bind(&sh->relay, &forger, &backend, 1);
    c->wake_fd[b] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->wake_fd[b] < 0) return ns_fail(err, cap, "eventfd", strerror(errno));
    char what[32];
    snprintf(what, sizeof(what), "relay of server%c", 'A' + b);
    c->relay_b = b;
    return child_start(c, relay_child_of, what, &c->relay_pid[b], err, cap);
}

/* ---- the realnet_t hooks ----------------------------------------------------------------- */

static const char *ns_host(const realnet_t *n, int node) {
    const ns_ctx_t *c = n->ctx;
    return node >= 0 && node < NETNS_HOSTS ? c->ns.addr[node] : NS_LOCAL;
}

static void ns_wrap(const realnet_t *n, int node, const char *const **words, int *count) {
    const ns_ctx_t *c = n->ctx;
    int ok = node >= 0 && node < SIM_NODES;
    *words = ok ? c->words[node] : NULL;
    *count = ok ? c->nwords[node] : 0;
}

static void ns_words(ns_ctx_t *c) {
    for (int node = 0; node < SIM_NODES; node++) {
        const char **w = c->words[node];
        int k = 0;
        if (node >= SIM_NODE_A && node <= SIM_NODE_C) { /* behind its relay */
            w[k++] = "env";
            w[k++] = c->env_host[node - SIM_NODE_A];
            w[k++] = c->env_m;
        }
        c->nwords[node] = k;
    }
    for (int b = 0; b < BACKEND_COUNT; b++)
        snprintf(c->env_host[b], sizeof(c->env_host[b]), "ALICHAIN_HOST_%c=%s", 'A' + b, NS_LOCAL);
    snprintf(c->env_m, sizeof(c->env_m), "ALICHAIN_HOST_M=%s", NS_LOCAL);
}
_Static_assert(REALNET_WRAP_ARGS_MAX >= 3, "env HOST_X HOST_M");

/* In the child: joins node's namespace itself. Not `ip netns exec`, which forks the program
 * off as its own child: a server there would outlive a harness killed with kill -9 (the
 * child's PR_SET_PDEATHSIG does not pass a fork). */
static int ns_enter(const realnet_t *n, int node) {
    const ns_ctx_t *c = n->ctx;
    char err[NETNS_ERR_BYTES];
    if (netns_enter(err, &c->ns, node) == 0) return 0;
    dprintf(2, "alichain-sim: %s\n", err);
    return -1;
}

static void ns_teardown(realnet_t *n) {
    ns_ctx_t *c = n->ctx;
    char err[NETNS_ERR_BYTES];
    relay_stop_all(c);
    for (int b = 0; b < BACKEND_COUNT; b++) {
        if (c->shared[b]) munmap(c->shared[b], sizeof(ns_shared_t));
        c->shared[b] = NULL;
        if (c->wake_fd[b] >= 0) close(c->wake_fd[b]);
        c->wake_fd[b] = -1;
        c->relay_dirty[b] = 0;
    }
    if (c->proxy != NULL) munmap(c->proxy, sizeof(*c->proxy));
    c->proxy = NULL;
    if (c->proxy_wake_fd >= 0) close(c->proxy_wake_fd);
    c->proxy_wake_fd = -1;
    c->proxy_dirty = 0;
    if (c->anchors != NULL) munmap(c->anchors, sizeof(*c->anchors));
    c->anchors = NULL;
    if (c->anchors_fd >= 0) close(c->anchors_fd);
    c->anchors_fd = -1;
    if (c->ns.up && netns_down(err, &c->ns) < 0) fprintf(stderr, "alichain-sim: network netns teardown: %s\n", err);
}

static int ns_setup(realnet_t *n, unsigned port_offset, char *err, size_t cap) {
    ns_ctx_t *c = n->ctx;
    char why[NETNS_ERR_BYTES], tag[NETNS_TAG_BYTES];
    int removed = 0;
    c->offset = port_offset;
    memset(c->reported, 0, sizeof(c->reported));
    c->nft_used = 0;
    c->nft_lost = c->nft_cut = c->nft_stalled = 0;
    netns_batch_fresh(&c->batch); /* new hosts: no fault on, a heal touches only what was cut */
    (void)netns_sweep(why, &removed); /* a killed earlier run's leftovers */
    snprintf(tag, sizeof(tag), "r%u", c->runs++ % 100000u);
    if (netns_init(why, &c->ns, getpid(), tag) < 0 || netns_up(why, &c->ns) < 0) {
        ns_teardown(n);
        return ns_fail(err, cap, "hosts", why);
    }
    ns_words(c);
    c->anchors = mmap(NULL, sizeof(*c->anchors), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    c->anchors_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->anchors == MAP_FAILED || c->anchors_fd < 0) {
        int e = errno;
        if (c->anchors == MAP_FAILED) c->anchors = NULL;
        ns_teardown(n);
        return ns_fail(err, cap, "steps on events", strerror(e));
    }
    for (int b = 0; b < BACKEND_COUNT; b++) {
        if (relay_start(c, b, err, cap) < 0) {
            ns_teardown(n);
            return -1;
        }
    }
    if (proxy_start(c, err, cap) < 0) {
        ns_teardown(n);
        return -1;
    }
    return 0;
}

/* The relay of the link node -> node2 when it is serverM <-> a backend (*dir its direction),
 * else -1: every datagram of such a link passes that relay, so the relay cuts it, in
 * microseconds and checked again at delivery like the simulator's; other links (the
 * clients' TCP, an isolation) are the kernel's. */
static int relay_of_link(int node, int node2, int *dir) {
    if (node == SIM_NODE_M && node2 >= SIM_NODE_A && node2 <= SIM_NODE_C) {
        *dir = RELAY_DOWN;
        return node2 - SIM_NODE_A;
    }
    if (node2 == SIM_NODE_M && node >= SIM_NODE_A && node <= SIM_NODE_C) {
        *dir = RELAY_UP;
        return node - SIM_NODE_A;
    }
    return -1;
}

/* Cuts (cut 1) or heals the link node -> node2; queued for ns_commit. */
static int ns_link(ns_ctx_t *c, int node, int node2, int cut, char *why) {
    int dir, b = relay_of_link(node, node2, &dir);
    if (b >= 0 && c->shared[b] != NULL) {
        (void)relay_control_cut(&c->shared[b]->ctl, dir, cut);
        c->relay_dirty[b] = 1;
        return 0;
    }
    c->nft_used |= cut;
    return cut ? netns_cut(why, &c->ns, &c->batch, node, node2) : netns_heal_link(why, &c->ns, &c->batch, node, node2);
}

/* Heals every relay cut of backend b's relay (b < 0: every relay). */
static void relays_heal(ns_ctx_t *c, int only) {
    for (int b = 0; b < BACKEND_COUNT; b++) {
        if (c->shared[b] == NULL || (only >= 0 && b != only)) continue;
        for (int d = 0; d < RELAY_DIRS; d++) (void)relay_control_cut(&c->shared[b]->ctl, d, 0);
        c->relay_dirty[b] = 1;
    }
}

static int ns_partition(realnet_t *n, int node, int node2, int oneway, char *err, size_t cap) {
    ns_ctx_t *c = n->ctx;
    char why[NETNS_ERR_BYTES];
    int rc;
    if (node2 == SIM_NODE_ALL) {
        c->nft_used = 1;
        rc = netns_isolate(why, &c->ns, &c->batch, node);
    } else {
        rc = ns_link(c, node, node2, 1, why);
        if (rc == 0 && !oneway) rc = ns_link(c, node2, node, 1, why);
    }
    return rc < 0 ? ns_fail(err, cap, "partition", why) : REALNET_OK;
}

static int ns_heal(realnet_t *n, int node, int node2, int oneway, char *err, size_t cap) {
    ns_ctx_t *c = n->ctx;
    char why[NETNS_ERR_BYTES];
    int rc;
    if (node == SIM_NODE_ALL) {
        relays_heal(c, -1);
        rc = netns_heal_cuts(why, &c->ns, &c->batch);
    } else if (node2 == SIM_NODE_ALL) {
        if (node == SIM_NODE_M) relays_heal(c, -1);
        else if (node >= SIM_NODE_A && node <= SIM_NODE_C) relays_heal(c, node - SIM_NODE_A);
        rc = netns_heal_host(why, &c->ns, &c->batch, node);
    } else {
        rc = ns_link(c, node, node2, 0, why);
        if (rc == 0 && !oneway) rc = ns_link(c, node2, node, 0, why);
    }
    return rc < 0 ? ns_fail(err, cap, "heal", why) : REALNET_OK;
}

static uint64_t clamp_us(uint64_t us) {
    const uint64_t max = (uint64_t)RELAY_DELAY_MS_MAX * 1000u;
    return us < max ? us : max;
}

/* Every UDP fault of a link — loss, delay, duplication, reordering — is the relay's, in the
 * link's direction, drawn as the simulator draws it (scenario/udp_fate.h); queued here,
 * landed by ns_commit. (Loss was an nft rule once: a rule change costs an nft process and
 * often a kernel grace period, 5-20 ms, where a relay acknowledges in microseconds.) */
static int ns_udp(realnet_t *n, int from, int to, const sim_udp_t *u, char *err, size_t cap) {
    ns_ctx_t *c = n->ctx;
    int down = from == SIM_NODE_M && to >= SIM_NODE_A && to <= SIM_NODE_C;
    int up = to == SIM_NODE_M && from >= SIM_NODE_A && from <= SIM_NODE_C;
    if (!down && !up) return REALNET_UNSUPPORTED; /* the protocol has no other UDP link */
    int b = (down ? to : from) - SIM_NODE_A, dir = down ? RELAY_DOWN : RELAY_UP;
    ns_shared_t *sh = c->shared[b];
    if (!sh) return ns_fail(err, cap, "udp", "no relay (setup did not run)");
    relay_fault_t f = *u;
    f.delay_min_us = clamp_us(u->delay_min_us);
    f.delay_max_us = clamp_us(u->delay_max_us);
    if (f.delay_max_us < f.delay_min_us) f.delay_max_us = f.delay_min_us;
    if (f.loss_ppm > PPM_ONE) f.loss_ppm = PPM_ONE;
    (void)relay_control_set(&sh->ctl, dir, &f);
    c->relay_dirty[b] = 1;
    return REALNET_OK;
}

/* A forgery is backend node's relay's (it holds serverM's address on that host): handed
 * through its control block, the relay woken, and waited for (it queues the datagrams down
 * the link at once, like serverM's). */
static int ns_forge(realnet_t *n, int node, int kind, uint64_t seq, uint32_t *sent, char *err, size_t cap) {
    ns_ctx_t *c = n->ctx;
    if (node < SIM_NODE_A || node > SIM_NODE_C) return ns_fail(err, cap, "forge", "not a backend");
    int b = node - SIM_NODE_A;
    ns_shared_t *sh = c->shared[b];
    if (!sh || c->wake_fd[b] < 0) return ns_fail(err, cap, "forge", "no relay (setup did not run)");
    relay_control_forge(&sh->ctl, 0, kind, seq);
    uint64_t one = 1, deadline_us = proc_now_us() + REALNET_NS_ACK_TIMEOUT_MS * 1000ull;
    (void)!write(c->wake_fd[b], &one, sizeof(one));
    while (!relay_control_forged(&sh->ctl, sent)) {
        if (proc_now_us() >= deadline_us) {
            snprintf(err, cap, "the relay of server%c did not carry out a forgery within %d ms", 'A' + b,
                     REALNET_NS_ACK_TIMEOUT_MS);
            return REALNET_FAILED;
        }
        proc_sleep_us(NS_ACK_POLL_US);
    }
    return REALNET_OK;
}

/* TCP faults are the proxy's, in front of serverM: queued here, landed by ns_commit. */
static int ns_tcp(realnet_t *n, const sim_tcp_t *t, char *err, size_t cap) {
    ns_ctx_t *c = n->ctx;
    if (c->proxy == NULL) return ns_fail(err, cap, "tcp", "no proxy (setup did not run)");
    (void)tcpproxy_control_set(c->proxy, t);
    c->proxy_dirty = 1;
    return REALNET_OK;
}

static const char *ns_tcp_front(const realnet_t *n, int half_close) {
    const ns_ctx_t *c = n->ctx;
    return c->ns.front[half_close ? NETNS_FRONT_HALF_CLOSE : NETNS_FRONT_PLAIN];
}

static void ns_note(realnet_t *n, FILE *f) {
    const ns_ctx_t *c = n->ctx;
    if (c->proxy == NULL) return;
    tcpproxy_counts_t k;
    const uint64_t *from = (const uint64_t *)&c->proxy->published;
    uint64_t *to = (uint64_t *)&k;
    for (size_t i = 0; i < sizeof(k) / sizeof(uint64_t); i++) to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
    fprintf(f, "tcp proxy: conns=%llu split=%llu resets=%llu half-closes=%llu refused=%llu\n",
            (unsigned long long)k.conns, (unsigned long long)k.split, (unsigned long long)k.resets,
            (unsigned long long)k.half_closes, (unsigned long long)k.refused);
}

static int ns_socket(realnet_t *n, int node, char *err, size_t cap) {
    ns_ctx_t *c = n->ctx;
    char why[NETNS_ERR_BYTES];
    int fd = netns_socket(why, &c->ns, node, AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    return fd < 0 ? ns_fail(err, cap, "socket", why) : fd;
}

/* Wakes every relay with new settings, commits every host's nft commands (one transaction
 * each, all at once), then waits until every woken relay has acknowledged. */
static int ns_commit(realnet_t *n, char *err, size_t cap) {
    ns_ctx_t *c = n->ctx;
    char why[NETNS_ERR_BYTES];
    uint64_t one = 1;
    for (int b = 0; b < BACKEND_COUNT; b++) {
        if (c->relay_dirty[b] && c->wake_fd[b] >= 0) (void)!write(c->wake_fd[b], &one, sizeof(one));
    }
    if (c->proxy_dirty && c->proxy_wake_fd >= 0) (void)!write(c->proxy_wake_fd, &one, sizeof(one));
    if (netns_batch_run(why, &c->ns, &c->batch) < 0) return ns_fail(err, cap, "faults", why);
    uint64_t deadline_us = proc_now_us() + REALNET_NS_ACK_TIMEOUT_MS * 1000ull;
    for (int b = 0; b < BACKEND_COUNT; b++) {
        if (!c->relay_dirty[b] || c->shared[b] == NULL) continue;
        while (!relay_control_acked(&c->shared[b]->ctl)) {
            if (proc_now_us() >= deadline_us) {
                snprintf(err, cap, "the relay of server%c did not acknowledge its settings within %d ms", 'A' + b,
                         REALNET_NS_ACK_TIMEOUT_MS);
                return REALNET_FAILED;
            }
            proc_sleep_us(NS_ACK_POLL_US);
        }
        c->relay_dirty[b] = 0;
    }
    while (c->proxy_dirty && c->proxy != NULL && !tcpproxy_control_acked(c->proxy)) {
        if (proc_now_us() >= deadline_us) {
            snprintf(err, cap, "the tcp proxy did not acknowledge its settings within %d ms", REALNET_NS_ACK_TIMEOUT_MS);
            return REALNET_FAILED;
        }
        proc_sleep_us(NS_ACK_POLL_US);
    }
    c->proxy_dirty = 0;
    return REALNET_OK;
}

static int ns_anchor_arm(realnet_t *n, const scenario_t *s, const scn_fired_t *f, char *err, size_t cap) {
    ns_ctx_t *c = n->ctx;
    if (c->anchors == NULL || c->anchors_fd < 0) return ns_fail(err, cap, "steps on events", "no shared table");
    for (uint32_t k = 0; k < f->count; k++) {
        relay_anchor_t *a = &c->anchors->a[k];
        *a = (relay_anchor_t){.ev = s->steps[f->step[k]].on};
    }
    __atomic_store_n(&c->anchors->count, f->count, __ATOMIC_RELEASE);
    return c->anchors_fd;
}

static int ns_anchor_take(realnet_t *n, uint64_t *fired_us) {
    ns_ctx_t *c = n->ctx;
    uint64_t drain;
    (void)!read(c->anchors_fd, &drain, sizeof(drain)); /* non-blocking: the wake is consumed */
    return relay_anchors_take(c->anchors, fired_us);
}

static void ns_anchor_done(realnet_t *n, int k) {
    ns_ctx_t *c = n->ctx;
    relay_anchors_done(c->anchors, k);
    for (int b = 0; b < BACKEND_COUNT; b++) { /* the relay holding its datagram waits on this */
        uint64_t one = 1;
        if (c->wake_fd[b] >= 0) (void)!write(c->wake_fd[b], &one, sizeof(one));
    }
}

static void ns_counters(realnet_t *n, realnet_counters_t out) {
    ns_ctx_t *c = n->ctx;
    uint64_t total[FAULT_COUNT];
    memcpy(total, c->reported, sizeof(total));
    netns_counter_t nc[NETNS_COUNTERS_MAX];
    size_t count = 0;
    char why[NETNS_ERR_BYTES];
    if (c->ns.up && c->nft_used && netns_counters(why, &c->ns, nc, NETNS_COUNTERS_MAX, &count) == 0) {
        c->nft_lost = c->nft_cut = c->nft_stalled = 0;
        for (size_t i = 0; i < count; i++) {
            if (strncmp(nc[i].name, "loss_", 5) == 0) c->nft_lost += nc[i].packets;
            else if (strncmp(nc[i].name, "tcp_", 4) == 0) c->nft_stalled += nc[i].packets;
            else c->nft_cut += nc[i].packets;
        }
    }
    total[FAULT_LOST] = c->nft_lost; /* the relays' counts are added below */
    total[FAULT_CUT] = c->nft_cut;
    total[FAULT_STALLED] = c->nft_stalled;
    uint64_t dgrams = 0, dup = 0, reord = 0, full = 0, lost = 0, cut = 0, forged = 0, replayed = 0;
    for (int b = 0; b < BACKEND_COUNT; b++) {
        if (!c->shared[b]) continue;
        for (int d = 0; d < RELAY_DIRS; d++) {
            const relay_counts_t *p = &c->shared[b]->ctl.published[d];
            dgrams += __atomic_load_n(&p->received, __ATOMIC_RELAXED);
            lost += __atomic_load_n(&p->lost, __ATOMIC_RELAXED);
            cut += __atomic_load_n(&p->cut, __ATOMIC_RELAXED);
            dup += __atomic_load_n(&p->duplicated, __ATOMIC_RELAXED);
            reord += __atomic_load_n(&p->reordered, __ATOMIC_RELAXED);
            full += __atomic_load_n(&p->dropped_full, __ATOMIC_RELAXED);
            forged += __atomic_load_n(&p->forged, __ATOMIC_RELAXED);
            replayed += __atomic_load_n(&p->replayed, __ATOMIC_RELAXED);
        }
    }
    if (dgrams > 0) {
        total[FAULT_DGRAMS] = dgrams;
        total[FAULT_DUPLICATED] = dup;
        total[FAULT_REORDERED] = reord;
        total[FAULT_LOST] += full + lost;
        total[FAULT_CUT] += cut;
    }
    total[FAULT_FORGED] = forged;
    total[FAULT_REPLAYED] = replayed;
    if (c->proxy != NULL) { /* what the TCP proxy split and reset */
        total[FAULT_SPLIT] = __atomic_load_n(&c->proxy->published.split, __ATOMIC_RELAXED);
        total[FAULT_RESETS] = __atomic_load_n(&c->proxy->published.resets, __ATOMIC_RELAXED);
    }
    for (int i = 0; i < FAULT_COUNT; i++) {
        if (total[i] > c->reported[i]) out[i] += total[i] - c->reported[i];
        if (total[i] > c->reported[i]) c->reported[i] = total[i];
    }
}

int realnet_netns(realnet_t *n, char *err, size_t err_cap) {
    char why[NETNS_ERR_BYTES];
    for (int b = 0; b < BACKEND_COUNT; b++) ns_ctx.wake_fd[b] = -1;
    ns_ctx.anchors_fd = -1;
    ns_ctx.proxy_wake_fd = -1;
    if (netns_available(why) < 0) return ns_fail(err, err_cap, "network namespaces unavailable", why);
    if (sodium_init() < 0) return ns_fail(err, err_cap, "the relays' forger", "libsodium cannot start");
    if (netns_init(why, &ns_ctx.ns, getpid(), "r0") < 0) return ns_fail(err, err_cap, "hosts", why);
    /* host_seen_by_m stays NULL: the relay holds the backend's own address */
    *n = (realnet_t){.name = "netns",
                     .measured = 1u << FAULT_DGRAMS | 1u << FAULT_LOST | 1u << FAULT_DUPLICATED |
                                 1u << FAULT_REORDERED | 1u << FAULT_CUT | 1u << FAULT_STALLED |
                                 1u << FAULT_SPLIT | 1u << FAULT_RESETS | 1u << FAULT_FORGED |
                                 1u << FAULT_REPLAYED,
                     .caps = REALNET_CAN_PARTITION | REALNET_CAN_UDP_LOSS | REALNET_CAN_UDP_DUP |
                             REALNET_CAN_UDP_REORDER | REALNET_CAN_UDP_DELAY | REALNET_CAN_ANCHOR |
                             REALNET_CAN_TCP | REALNET_CAN_FORGE,
                     .forge = ns_forge, .tcp = ns_tcp, .tcp_front = ns_tcp_front, .socket = ns_socket, .note = ns_note,
                     .anchor_arm = ns_anchor_arm, .anchor_take = ns_anchor_take, .anchor_done = ns_anchor_done,
                     .ctx = &ns_ctx, .setup = ns_setup, .host = ns_host, .wrap = ns_wrap, .enter = ns_enter,
                     .partition = ns_partition, .heal = ns_heal, .udp = ns_udp, .commit = ns_commit,
                     .counters = ns_counters,
                     .teardown = ns_teardown};
    return 0;
}
