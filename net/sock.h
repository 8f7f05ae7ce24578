/* sock.h — the socket helpers of the real front ends, all of one shape (Redis anet style):
 * int sock_x(char *err, ...) returns 0, or -1 with a one-line reason in err (SOCK_ERR_BYTES).
 * IPv4 only; every socket made here is non-blocking and close-on-exec. */
#ifndef ALICHAIN_NET_SOCK_H
#define ALICHAIN_NET_SOCK_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define SOCK_ERR_BYTES 256      /* size of every err buffer passed to these helpers */
#define SOCK_BACKLOG 511        /* listen() queue of the client ports */

/* Fills addr from a dotted-quad host (or "localhost") and a port. */
int sock_addr(char *err, const char *host, uint16_t port, struct sockaddr_in *addr);

/* 1 when a and b hold the same IPv4 address and port. */
int sock_addr_equal(const struct sockaddr_in *a, const struct sockaddr_in *b);

/* "a.b.c.d:port" into buf (SOCK_ADDR_TEXT_BYTES suffices). */
#define SOCK_ADDR_TEXT_BYTES 24
void sock_addr_text(const struct sockaddr_in *a, char *buf, size_t cap);

/* A UDP socket bound to host:port. */
int sock_udp_bind(char *err, const char *host, uint16_t port, int *fd_out);

/* A TCP listener on host:port with SO_REUSEADDR (a server restarts at once) and
 * TCP_NODELAY, which the connections it accepts inherit. */
int sock_tcp_listen(char *err, const char *host, uint16_t port, int *fd_out);

/* Accepts one connection: non-blocking, close-on-exec, TCP_NODELAY from its listener (a
 * reply leaves at once even behind an unacknowledged one: on a persistent connection
 * Nagle's rule would hold it until the client's delayed ACK, ~40 ms). Returns 0 with *fd_out set, 0 with
 * *fd_out = -1 when none is waiting (or the peer gave up before we got to it), or -1 on a
 * real error (e.g. EMFILE). */
int sock_accept(char *err, int listen_fd, int *fd_out);

/* Starts a non-blocking connect to host:port. *fd_out is the socket; *done is 1 when the
 * connection is already established, 0 when it is in progress (wait for POLLOUT, then
 * sock_connect_result). A refusal that is known at once is an error (-1). */
int sock_tcp_connect(char *err, const char *host, uint16_t port, int *fd_out, int *done);

/* After POLLOUT on a connecting socket: 0 when connected, -1 with the reason (the bare
 * strerror text; the caller names the address). */
int sock_connect_result(char *err, int fd);

#endif
