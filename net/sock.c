/* sock.c — socket helpers (see sock.h): address parsing, UDP bind, TCP listen, accept and
 * non-blocking connect. Each returns 0 or -1 with the reason in the caller's err buffer,
 * so the mains can print one line and exit. */
#define _GNU_SOURCE /* accept4 */
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int sock_fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int sock_fail(char *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, SOCK_ERR_BYTES, fmt, ap);
    va_end(ap);
    return -1;
}

int sock_addr(char *err, const char *host, uint16_t port, struct sockaddr_in *addr) {
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_port = htons(port);
    const char *dotted = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (inet_pton(AF_INET, dotted, &addr->sin_addr) != 1)
        return sock_fail(err, "\"%s\" is not an IPv4 address (a.b.c.d)", host);
    return 0;
}

int sock_addr_equal(const struct sockaddr_in *a, const struct sockaddr_in *b) {
    return a->sin_family == b->sin_family && a->sin_port == b->sin_port &&
           a->sin_addr.s_addr == b->sin_addr.s_addr;
}

void sock_addr_text(const struct sockaddr_in *a, char *buf, size_t cap) {
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
    snprintf(buf, cap, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
}

/* socket() + SO_REUSEADDR (TCP only) + bind(); closes the socket on failure. */
static int sock_bound(char *err, int type, const char *host, uint16_t port, int *fd_out) {
    struct sockaddr_in addr;
    if (sock_addr(err, host, port, &addr) < 0) return -1;
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return sock_fail(err, "socket: %s", strerror(errno));
    int one = 1;
    if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
        sock_fail(err, "setsockopt(SO_REUSEADDR): %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (bind(fd, (const struct sockaddr *)&addr, sizeof(addr)) < 0) {
        sock_fail(err, "cannot bind %s %s:%u: %s", type == SOCK_STREAM ? "TCP" : "UDP", host,
                  (unsigned)port, strerror(errno));
        close(fd);
        return -1;
    }
    *fd_out = fd;
    return 0;
}

int sock_udp_bind(char *err, const char *host, uint16_t port, int *fd_out) {
    return sock_bound(err, SOCK_DGRAM, host, port, fd_out);
}

int sock_tcp_listen(char *err, const char *host, uint16_t port, int *fd_out) {
    int fd;
    if (sock_bound(err, SOCK_STREAM, host, port, &fd) < 0) return -1;
    /* TCP_NODELAY on the listener: Linux copies it into every connection accepted from it
     * (tests/unit/test_sock.c checks), one call per server, not one per client */
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
        sock_fail(err, "setsockopt(TCP_NODELAY): %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, SOCK_BACKLOG) < 0) {
        sock_fail(err, "cannot listen on TCP %s:%u: %s", host, (unsigned)port, strerror(errno));
        close(fd);
        return -1;
    }
    *fd_out = fd;
    return 0;
}

int sock_accept(char *err, int listen_fd, int *fd_out) {
    *fd_out = -1;
    /* non-blocking and close-on-exec from the start: one call, not accept and three fcntl
     * (a one-shot client costs serverM a connection each) */
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        /* nothing waiting, or a connection that died in the queue: not our error */
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED ||
            errno == EPROTO)
            return 0;
        return sock_fail(err, "accept: %s", strerror(errno));
    }
    *fd_out = fd;
    return 0;
}

int sock_tcp_connect(char *err, const char *host, uint16_t port, int *fd_out, int *done) {
    struct sockaddr_in addr;
    if (sock_addr(err, host, port, &addr) < 0) return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return sock_fail(err, "socket: %s", strerror(errno));
    *done = 0;
    if (connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) == 0) {
        *done = 1;
    } else if (errno != EINPROGRESS) {
        sock_fail(err, "cannot connect to %s:%u: %s", host, (unsigned)port, strerror(errno));
        close(fd);
        return -1;
    }
    *fd_out = fd;
    return 0;
}

int sock_connect_result(char *err, int fd) {
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        return sock_fail(err, "getsockopt(SO_ERROR): %s", strerror(errno));
    if (soerr != 0) return sock_fail(err, "%s", strerror(soerr));
    return 0;
}
