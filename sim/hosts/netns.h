/* netns.h — the hosts room (with relay.h): hosts for real runs: one network namespace per host
 * (M, A, B, C and one for the clients) on a bridge that lives in a namespace of its own,
 * addresses from 198.18.0.0/15, no default route; kernel faults (UDP loss, partitions) as
 * nftables rules inside them, one `nft -f` transaction per host per step. Everything is done by running `ip` and `nft` (each call with a
 * deadline), so it needs root and both tools: netns_available() says which is missing. */
#ifndef ALICHAIN_NETNS_H
#define ALICHAIN_NETNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
    NETNS_HOST_M = 0,
    NETNS_HOST_A = 1,
    NETNS_HOST_B = 2,
    NETNS_HOST_C = 3,
    NETNS_HOST_CLIENTS = 4,
    NETNS_HOSTS = 5
};

#define NETNS_ERR_BYTES 256
#define NETNS_PREFIX_BYTES 24        /* "alc-<pid>-<tag>-": a namespace name is prefix+host */
#define NETNS_NAME_BYTES 32
#define NETNS_TAG_BYTES 8            /* [a-z0-9], 1..7 characters */
#define NETNS_ADDR_BYTES 16
#define NETNS_CMD_TIMEOUT_MS 10000   /* one `ip` or `nft` call */
#define NETNS_CMD_OUT_BYTES 65536    /* what a call may print (counters listing) */
#define NETNS_SWEEP_MAX 256          /* stale namespaces removed in one sweep */
#define NETNS_FAULT_NAME_BYTES 32
#define NETNS_COUNTERS_MAX 64        /* fault counters read back in one call */

/* The error values; every function returning int returns 0 or one of these, with a
 * one-line reason in the caller's err buffer (NETNS_ERR_BYTES). */
enum {
    NETNS_OK = 0,
    NETNS_ERR_UNAVAILABLE = -1, /* not root, or ip / nft missing */
    NETNS_ERR_COMMAND = -2,     /* an ip / nft call failed or timed out */
    NETNS_ERR_ARG = -3,         /* a bad host, percentage or name */
    NETNS_ERR_SYS = -4          /* fork, pipe, setns, exec */
};

/* One run's hosts. The caller owns it; netns_init fills the names, netns_up creates them. */
/* Host M's further addresses, where the TCP fault proxy (tcpproxy.h) takes clients in
 * front of serverM: NETNS_FRONT_PLAIN for every client, NETNS_FRONT_HALF_CLOSE for the
 * `half-close` operations'. A partition's rules treat them as M's own. */
enum { NETNS_FRONT_PLAIN = 0, NETNS_FRONT_HALF_CLOSE = 1, NETNS_FRONTS = 2 };

typedef struct {
    char prefix[NETNS_PREFIX_BYTES];
    char bridge[NETNS_NAME_BYTES];             /* the bridge's namespace */
    char name[NETNS_HOSTS][NETNS_NAME_BYTES];  /* each host's namespace */
    char addr[NETNS_HOSTS][NETNS_ADDR_BYTES];  /* each host's address on the bridge */
    char front[NETNS_FRONTS][NETNS_ADDR_BYTES]; /* host M's further addresses */
    int up;                                    /* netns_up ran (partly): netns_down has work */
} netns_t;

/* A fault rule's counter: its name (loss_A_M; part_A_M and iso_A for what a partition
 * dropped but TCP, tcp_part_A_M and tcp_iso_A for its TCP) and what it dropped. */
typedef struct {
    char name[NETNS_FAULT_NAME_BYTES];
    char host;                                 /* the namespace holding the rule: M A B C K */
    uint64_t packets;
    uint64_t bytes;
} netns_counter_t;

/* 0 when running as root with `ip` and `nft` installed (PATH, then /usr/sbin, /usr/bin, /sbin, /bin); NETNS_ERR_UNAVAILABLE otherwise,
 * err naming what is missing. */
int netns_available(char *err);

/* Names the run: prefix "alc-<owner>-<tag>-" (owner: the process whose death makes the
 * namespaces stale; tag: [a-z0-9]{1,7} so two runs of one owner differ). Returns 0 or
 * NETNS_ERR_ARG. Touches nothing on the system. */
int netns_init(char *err, netns_t *n, pid_t owner, const char *tag);

/* Creates the bridge namespace and the five host namespaces, each joined to the bridge by
 * a veth pair (eth0 inside the host), lo up, its address /24, no route beyond the link, an
 * empty nft table `inet alichain` with input and output chains. On failure whatever was
 * created is removed again. Returns 0, NETNS_ERR_UNAVAILABLE or NETNS_ERR_COMMAND. */
int netns_up(char *err, netns_t *n);

/* Stops every process left in the run's namespaces, SIGTERM first (a server stops as it
 * does on a clean stop: its markers removed), SIGKILL to what still runs after
 * NETNS_STOP_GRACE_MS, and deletes them (the veth pairs and nft tables go with them).
 * Idempotent; returns 0 or the first error (it still tries all). */
#define NETNS_STOP_GRACE_MS 3000
#define NETNS_STOP_TICK_US 10000
#define NETNS_STOP_PIDS_MAX 1024     /* processes stopped in one down or sweep */
int netns_down(char *err, netns_t *n);

/* Deletes every namespace named alc-<pid>-* whose pid is no longer alive (a killed run's
 * leftovers); *removed gets how many. Never touches a live owner's namespaces. */
int netns_sweep(char *err, int *removed);
/* Removes a dead owner's temp directories of the harness (proc_tmp_sweep: the directory's
 * name carries its owner's pid and start time); returns how many. Needs no root. */
int netns_sweep_dirs(void);

/* The host index of a letter M A B C K (K: the clients), or -1. */
int netns_host_of(char letter);
char netns_letter_of(int host);

/* Joins host's namespace in the calling process (for `exec`-style tools) and sets each
 * ALICHAIN_HOST_* variable not already set in its environment to that host's address (a
 * backend behind a relay keeps its own). Returns 0, NETNS_ERR_ARG or NETNS_ERR_SYS. */
int netns_enter(char *err, const netns_t *n, int host);

/* A socket(domain, type | SOCK_CLOEXEC, 0) made inside host's namespace (it stays there:
 * its connections leave from that host) while the caller stays where it is. Returns the fd,
 * or NETNS_ERR_ARG / NETNS_ERR_SYS with err. */
int netns_socket(char *err, const netns_t *n, int host, int domain, int type);

/* Faults. Each lives in a chain of its own in the receiving host's table (created empty
 * by netns_up, jumped to from input or output) with its own named counter (the counter
 * outlives the rules: a fault set again counts on):
 *   loss       UDP from `from` to `to` dropped with probability ppm / 1,000,000 (numgen
 *              random); a new setting replaces the link's old one, 0 removes it
 *   cut        everything from `from` to `to` (one way); call twice for both ways
 *   isolate    everything into and out of host over the bridge
 *   heal_link  the cut from -> to removed; heal_host every cut to or from host and its
 *              isolation; heal_cuts every cut and isolation (losses stay)
 *   heal       every fault of every host removed, losses included
 * Each writes its nft commands into batch b and returns; netns_batch_run then applies
 * everything b holds as one `nft -f` transaction per host, all hosts at once, and returns
 * when every one has been committed: the faults of one step land together. With b NULL a
 * call runs its own batch at once. Return 0, NETNS_ERR_ARG (bad host or ppm, a batch over
 * NETNS_BATCH_BYTES), NETNS_ERR_SYS or NETNS_ERR_COMMAND. */
#define NETNS_PPM_ONE 1000000u
#define NETNS_BATCH_BYTES 8192       /* one host's commands of one step (a heal of everything: ~1 KB) */
typedef struct {
    char script[NETNS_HOSTS][NETNS_BATCH_BYTES];
    size_t len[NETNS_HOSTS];
    int overflow;
    uint32_t on[NETNS_HOSTS]; /* fault chains that may hold a fault: a heal touches only these */
} netns_batch_t;
/* An empty batch that assumes any fault may be on (a heal switches every chain off). */
void netns_batch_init(netns_batch_t *b);
/* The same for hosts netns_up has just made (no fault on): a batch kept for the whole run
 * then sends a heal only to the hosts that have something to heal. */
void netns_batch_fresh(netns_batch_t *b);
int netns_batch_run(char *err, const netns_t *n, netns_batch_t *b); /* b's commands are gone after */
int netns_loss(char *err, const netns_t *n, netns_batch_t *b, int from, int to, uint32_t ppm);
int netns_cut(char *err, const netns_t *n, netns_batch_t *b, int from, int to);
int netns_isolate(char *err, const netns_t *n, netns_batch_t *b, int host);
int netns_heal_link(char *err, const netns_t *n, netns_batch_t *b, int from, int to);
int netns_heal_host(char *err, const netns_t *n, netns_batch_t *b, int host);
int netns_heal_cuts(char *err, const netns_t *n, netns_batch_t *b);
int netns_heal(char *err, const netns_t *n, netns_batch_t *b);

/* Reads back every fault counter of every host into out (up to cap); *count gets how many.
 * Returns 0 or NETNS_ERR_COMMAND. */
int netns_counters(char *err, const netns_t *n, netns_counter_t *out, size_t cap, size_t *count);

#endif
