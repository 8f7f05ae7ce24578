/* realnet.h — where `alichain-sim real` runs each program and how it injects network faults:
 * the narrow interface between the real-mode runner (sim/real/real.c) and a network back end.
 * real.c ships the loopback back end (realnet_loopback); the namespace hosts + nftables +
 * fault relay back end (issue #8 items 2 and 3) implements the same table. */
#ifndef ALICHAIN_SIM_REALNET_H
#define ALICHAIN_SIM_REALNET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scenario/scenario.h"

#define REALNET_HOST_BYTES 64      /* an address as ALICHAIN_HOST_* holds it */
#define REALNET_NAME_BYTES 32
#define REALNET_ERR_BYTES 300
#define REALNET_WRAP_ARGS_MAX 8    /* words put before a program's argv (e.g. env NAME=value) */

/* The places a process runs: the nodes of sim.h (SIM_NODE_M, _A.._C, _CLIENTS). */

/* Results of a fault hook. */
enum {
    REALNET_OK = 0,
    REALNET_UNSUPPORTED = 1,       /* this back end cannot produce the fault: the runner refuses
                                    * the scenario (exit 2) or, with --skip-unsupported, skips
                                    * it and lists it in the report */
    REALNET_FAILED = -1,           /* it should work but did not: err says why (run fails) */
};

/* Counters a back end reads back for the report's `faults:` line, in sim_fault_id_t
 * units: FAULT_LOST, FAULT_DUPLICATED, FAULT_REORDERED, FAULT_CUT (datagrams dropped by a
 * partition rule), FAULT_DGRAMS when it can count them. Others stay 0. */
typedef uint64_t realnet_counters_t[FAULT_COUNT];

/* What a back end can produce (realnet_t.caps): the runner refuses (exit 2) a scenario
 * that needs anything else before it starts a process, naming the fault. */
enum {
    REALNET_CAN_PARTITION = 1u << 0,   /* partition, one-way partition, isolate */
    REALNET_CAN_UDP_LOSS = 1u << 1,
    REALNET_CAN_UDP_DUP = 1u << 2,
    REALNET_CAN_UDP_REORDER = 1u << 3,
    REALNET_CAN_UDP_DELAY = 1u << 4,   /* a delay range other than the calm default */
    REALNET_CAN_ANCHOR = 1u << 5,      /* steps on protocol events: an injector sees every
                                        * datagram between serverM and the backends */
    REALNET_CAN_TCP = 1u << 6,         /* TCP segment sizes, delay, resets and half-close: a
                                        * proxy between the clients and serverM */
    REALNET_CAN_FORGE = 1u << 7,       /* forgeries (`forge X write|fence|replay`): a forger on
                                        * serverM's address in front of each backend */
};

typedef struct realnet realnet_t;
struct realnet {
    char name[REALNET_NAME_BYTES];  /* "loopback", "netns", ... (printed as `network:`) */
    uint32_t caps;                  /* REALNET_CAN_* */
    uint32_t measured;              /* 1u << FAULT_*: the counters `counters` reads back */
    void *ctx;                      /* the back end's own state */

    /* Creates what the run needs (namespaces, bridge, rules, relays) for port offset
     * port_offset. Called once before any process starts. Returns 0 or -1 with err. */
    int (*setup)(realnet_t *n, unsigned port_offset, char *err, size_t err_cap);

    /* The address node listens on / is reached at (ALICHAIN_HOST_<node>); for
     * SIM_NODE_CLIENTS the address clients run at (informational). Never NULL. Where a
     * relay sits between serverM and a backend, host_seen_by_m(n, b) is where serverM sends
     * to backend b (ALICHAIN_HOST_<b> in serverM's environment); NULL hook: host(). */
    const char *(*host)(const realnet_t *n, int node);
    const char *(*host_seen_by_m)(const realnet_t *n, int node);

    /* Words to put before argv to run a program on node (e.g. {"env","NAME=value"});
     * *count set to 0 for none. The runner execs wrap[0] with wrap + argv. A word must
     * exec, never fork the program off: the runner's children die with it (proc_fork's
     * PR_SET_PDEATHSIG), which a grandchild would escape (`ip netns exec` forks). */
    void (*wrap)(const realnet_t *n, int node, const char *const **words, int *count);
    /* Called in the child between fork and exec to put it on node (joining its network
     * namespace); 0, or non-zero after a line on stderr (the child exits 127). NULL: none. */
    int (*enter)(const realnet_t *n, int node);

    /* Fault hooks; each returns REALNET_OK, REALNET_UNSUPPORTED or REALNET_FAILED (err).
     * partition: cut node -> node2 (and node2 -> node unless oneway); node2 SIM_NODE_ALL
     * isolates node. heal: node SIM_NODE_ALL heals every link; node2 SIM_NODE_ALL every link
     * of node. udp: the settings of one link from -> to (sim_udp_t: loss, dup, reorder,
     * delay) — called at start for every link whose settings differ from the calm default,
     * and at every "net udp" step. With a commit hook these only queue the change. */
    int (*partition)(realnet_t *n, int node, int node2, int oneway, char *err, size_t err_cap);
    int (*heal)(realnet_t *n, int node, int node2, int oneway, char *err, size_t err_cap);
    int (*udp)(realnet_t *n, int from, int to, const sim_udp_t *u, char *err, size_t err_cap);

    /* TCP faults, with REALNET_CAN_TCP. tcp: the settings of every client connection that
     * passes the proxy (sim_tcp_t: segment sizes, delay, resets), handed at start and at
     * every "net tcp" step, landed by commit like udp. tcp_front: where a client connects to
     * pass the proxy (ALICHAIN_HOST_M in its environment); half_close: the front whose
     * connections shut down their writing side after the request line. */
    int (*tcp)(realnet_t *n, const sim_tcp_t *t, char *err, size_t err_cap);
    const char *(*tcp_front)(const realnet_t *n, int half_close);

    /* A TCP socket (nonblocking) made on node's host: the runner's own connections, the
     * keep-alive sessions, leave from where the clients run. NULL: socket() where the runner
     * is. Returns the fd, or -1 with err. */
    int (*socket)(realnet_t *n, int node, char *err, size_t err_cap);

    /* Makes the faults handed to partition, heal and udp since the last commit land, and
     * returns once every injector has acknowledged them (the kernel committed each host's
     * rules, each relay applied its settings): a timed step is done when this returns, and
     * the runner measures its landing time up to here. Returns REALNET_OK or REALNET_FAILED
     * (err). NULL: the fault hooks take effect before they return. */
    int (*commit)(realnet_t *n, char *err, size_t err_cap);

    /* Steps anchored to protocol events (scenario/anchor.h), with REALNET_CAN_ANCHOR.
     * anchor_arm hands the events of f's steps (in f's order) to the injectors before any
     * process starts; it returns a descriptor that becomes readable when one fired, or -1
     * with err. anchor_take returns the index into f of a fired step the runner has not
     * taken yet and when it fired (proc_now_us()), or -1; anchor_done releases the
     * datagram that fired step k, once the runner has carried it out. */
    int (*anchor_arm)(realnet_t *n, const scenario_t *s, const scn_fired_t *f, char *err, size_t err_cap);
    int (*anchor_take)(realnet_t *n, uint64_t *fired_us);
    void (*anchor_done)(realnet_t *n, int k);

    /* The forger, with REALNET_CAN_FORGE: on serverM's address in front of backend node
     * (SIM_NODE_A..C), sends what a `forge X kind` step says (scenario/forge.h: sequence
     * numbers after seq) down that link as serverM's datagrams go; returns once that is done,
     * with how many datagrams it sent in *sent — 0 when the link has carried no datagram of
     * serverM yet (nothing to replay, no incarnation to forge under). REALNET_OK or
     * REALNET_FAILED (err). Counted FAULT_FORGED, FAULT_REPLAYED by `counters`. */
    int (*forge)(realnet_t *n, int node, int kind, uint64_t seq, uint32_t *sent, char *err, size_t err_cap);

    /* Prints what the TCP proxy did beyond the counters (one line, for the report); may be NULL. */
    void (*note)(realnet_t *n, FILE *f);

    /* Adds what fired so far to c (may be called more than once; adds the delta). */
    void (*counters)(realnet_t *n, realnet_counters_t c);

    /* Undoes setup; must be safe after a partial setup and more than once (a SIGINT may
     * land anywhere). */
    void (*teardown)(realnet_t *n);
};

/* The loopback back end (sim/real/real.c): every node on 127.0.0.1, no wrapping, caps 0;
 * partition and every non-calm udp setting are REALNET_UNSUPPORTED, heal a no-op. */
void realnet_loopback(realnet_t *n);

#endif
