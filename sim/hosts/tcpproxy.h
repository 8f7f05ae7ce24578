/* tcpproxy.h — a TCP fault proxy in front of serverM, in the manner of Toxiproxy's toxics:
 * clients connect to it where they believe serverM is, it connects to serverM, and every
 * byte either way is cut into slices written one at a time (TCP_NODELAY, a pause between
 * slices), each delivered after its delay, any of which may reset the connection instead
 * (SO_LINGER 0 on both sockets) — sizes, delays and resets drawn by the simulator's own
 * functions (scenario/tcp_fate.h) so a `net tcp` line means one thing on both. A listener
 * may be marked half-close: its connections shut down their writing side towards serverM
 * right after the client's request line (a `half-close` operation). Settings change through
 * a tcpproxy_control_t shared with the controller and acknowledged like the relay's
 * (relay.h); counters are published there. docs/REAL-HOSTS.md "The TCP fault proxy". */
#ifndef ALICHAIN_TCPPROXY_H
#define ALICHAIN_TCPPROXY_H

#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario/scenario.h"

#define TCPPROXY_LISTENERS_MAX 4
#define TCPPROXY_CONNS_MAX 256             /* client connections open at once; more are reset */
#define TCPPROXY_GAP_US 50                 /* at least this between two slices of one direction,
                                            * so the reader sees them apart */
#define TCPPROXY_QUEUE_BYTES_MAX (1u << 20) /* a direction stops reading while this is queued */
#define TCPPROXY_SLICES_MAX 65536          /* slices queued in one direction */
#define TCPPROXY_POLL_MS_MAX 100           /* the loop looks at *stop and its control this often */
#define TCPPROXY_READ_BYTES 4096

enum { TCPPROXY_OK = 0, TCPPROXY_ERR_SYS = -1 };

/* What the proxy did, published at every sync. split: extra slices (a read of n bytes cut
 * into k slices adds k - 1, as the simulator's FAULT_SPLIT); resets: connections the proxy
 * reset on a draw; half_closes: FINs it sent after a request line; refused: client
 * connections reset because serverM could not be reached; conns: accepted. */
typedef struct {
    uint64_t conns, split, resets, half_closes, refused;
} tcpproxy_counts_t;

/* Shared between the controller and the proxy (the controller maps it). The controller
 * writes wanted and bumps wanted_seq (tcpproxy_control_set) and waits for
 * tcpproxy_control_acked; the proxy applies a new setting before it slices the next read
 * and draws the next reset (tcpproxy_control_sync), at least every TCPPROXY_POLL_MS_MAX. */
typedef struct {
    sim_tcp_t wanted;
    uint32_t wanted_seq;
    uint32_t applied_seq;
    tcpproxy_counts_t published;
} tcpproxy_control_t;

uint32_t tcpproxy_control_set(tcpproxy_control_t *c, const sim_tcp_t *t);
int tcpproxy_control_acked(const tcpproxy_control_t *c);

/* One listener: front is where clients connect, back is serverM; half_close marks its
 * connections as `half-close` operations'. */
typedef struct {
    struct sockaddr_in front;
    struct sockaddr_in back;
    int half_close;
} tcpproxy_listen_t;

/* Binds and listens on every front (SO_REUSEADDR); fds[i] for l[i] (the caller closes them).
 * Returns 0, or TCPPROXY_ERR_SYS with err naming the address. */
int tcpproxy_bind(char *err, size_t cap, const tcpproxy_listen_t *l, int count, int fds[]);

/* Serves until *stop: settings start as *initial (then ctl's, when ctl is not NULL), draws
 * from a PRNG seeded with seed; wake_fd (-1: none) is polled too and drained, so a new
 * setting is acknowledged at once. Every connection still open at the end is reset. */
void tcpproxy_serve(const tcpproxy_listen_t *l, int count, const int fds[], uint64_t seed, const sim_tcp_t *initial,
                    tcpproxy_control_t *ctl, int wake_fd, volatile sig_atomic_t *stop);

#endif
