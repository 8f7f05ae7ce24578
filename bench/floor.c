/* floor.c — what this machine can do at best, measured in the same run as alichain: a
 * minimal TCP server (own process, epoll; one-shot: read one line, answer, close; persistent:
 * answer every line in order on the open connection), the loopback UDP round trip,
 * append + fdatasync of one line, writing and reading a file.
 * Every alichain figure is printed as a ratio to one of these. */
#define _GNU_SOURCE   /* accept4 */
#include "bench.h"

#include "proc/proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define FLOOR_BACKLOG 511                   /* as serverM's listen() (net/sock.h) */
#define FLOOR_CONNS_MAX 1024                /* as serverM's CONNECTIONS_MAX */
#define FLOOR_FDS_MAX (FLOOR_CONNS_MAX + 64)  /* descriptors the floor server indexes */
#define FLOOR_EVENTS_MAX 256                /* epoll events taken per wake-up */
#define FLOOR_IN_BYTES (TCP_REQUEST_BYTES_MAX * BENCH_DEPTH_MAX) /* one read: a full pipeline */
#define FLOOR_OUT_BYTES (FLOOR_IN_BYTES * 2) /* its replies: a reply is < 2 shortest requests */
#define FLOOR_REPLY "OK BALANCE 1000000000\n" /* the size of a real balance reply */
#define FLOOR_UDP_REQ_BYTES 29              /* a QUERY of one 7-byte name (PROTOCOL.md 1.9) */
#define FLOOR_UDP_REPLY_BYTES 59            /* its reply */
#define FLOOR_UDP_WAIT_MS 1000              /* a lost loopback datagram ends the floor run */
#define FLOOR_SYNC_LINE "10000001 u123456 u654321 500\n"
#define FLOOR_FILE_CHUNK_BYTES (1u << 20)

_Static_assert(FLOOR_CONNS_MAX >= BENCH_CONNS_MAX, "the floor server takes every connection");

static int floor_listen_loopback(int type, uint16_t *port) {
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) bench_die("floor: socket: %s", strerror(errno));
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        bench_die("floor: bind: %s", strerror(errno));
    if (type == SOCK_STREAM && listen(fd, FLOOR_BACKLOG) != 0)
        bench_die("floor: listen: %s", strerror(errno));
    *port = ntohs(a.sin_port);
    return fd;
}

/* The floor servers' connections, indexed by descriptor: the carried part of a line. */
typedef struct {
    uint16_t len;
    char buf[TCP_REQUEST_BYTES_MAX];
} floor_conn_t;

static floor_conn_t g_floor_conns[FLOOR_FDS_MAX];

/* The replies to every whole line of in[0..len): a balance-sized line each, "OK KEEPALIVE"
 * to the hello. Returns the bytes of in used (the rest is a partial line), or -1 when a line
 * is overlong or out would overflow. */
static long floor_answer(const char *in, size_t len, char *out, size_t out_cap, size_t *out_len) {
    size_t at = 0;
    *out_len = 0;
    for (;;) {
        const char *nl = memchr(in + at, '\n', len - at);
        if (!nl) return len - at >= TCP_REQUEST_BYTES_MAX ? -1 : (long)at;
        size_t line = (size_t)(nl - (in + at)) + 1;
        if (line > TCP_REQUEST_BYTES_MAX) return -1;
        size_t hello_len, ok_len;
        const char *hello_line = bench_hello_line(&hello_len), *ok = bench_hello_reply(&ok_len);
        int hello = line == hello_len && memcmp(in + at, hello_line, line) == 0;
        const char *rep = hello ? ok : FLOOR_REPLY;
        size_t rep_len = hello ? ok_len : sizeof FLOOR_REPLY - 1;
        if (out_cap - *out_len < rep_len) return -1;
        memcpy(out + *out_len, rep, rep_len);
        *out_len += rep_len;
        at += line;
    }
}

static void floor_close(int ep, int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
}

/* One readable connection. One-shot: the first whole line is answered and the connection
 * closed at once (the client sends nothing more, so nothing unread can turn the close into
 * a reset). Persistent: every whole line is answered in one write; EOF closes. A reply that
 * does not fit the socket (a client that stopped reading) closes it too. */
static void floor_serve_conn(int ep, int fd, int persistent) {
    floor_conn_t *c = &g_floor_conns[fd];
    static char in[FLOOR_IN_BYTES], out[FLOOR_OUT_BYTES];
    memcpy(in, c->buf, c->len);
    ssize_t got = read(fd, in + c->len, sizeof in - c->len);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (got <= 0) { floor_close(ep, fd); return; }
    size_t len = c->len + (size_t)got, out_len;
    long used = floor_answer(in, len, out, sizeof out, &out_len);
    if (used < 0) { floor_close(ep, fd); return; }
    if (out_len > 0 && !persistent) {   /* one request, one reply, close */
        ssize_t w = write(fd, FLOOR_REPLY, sizeof FLOOR_REPLY - 1);
        (void)w;   /* a failed reply is the client's error to count */
        floor_close(ep, fd);
        return;
    }
    if (out_len > 0 && write(fd, out, out_len) != (ssize_t)out_len) {
        floor_close(ep, fd);
        return;
    }
    c->len = (uint16_t)(len - (size_t)used);
    memmove(c->buf, in + used, c->len);
}

/* The child of floor_tcp_start: serves until killed. epoll (no per-turn rebuild), every
 * pending connection accepted per wake-up (accept4 until EAGAIN), the listen backlog of
 * serverM, TCP_NODELAY on every connection as serverM. */
static void floor_tcp_serve(int lfd, int persistent) __attribute__((noreturn));
static void floor_tcp_serve(int lfd, int persistent) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) _exit(1);
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) _exit(1);
    static struct epoll_event evs[FLOOR_EVENTS_MAX];
    for (;;) {
        int n = epoll_wait(ep, evs, FLOOR_EVENTS_MAX, -1);
        if (n < 0 && errno != EINTR) _exit(1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd != lfd) { floor_serve_conn(ep, fd, persistent); continue; }
            for (int k = 0; k < FLOOR_CONNS_MAX; k++) {   /* bounded: one backlog's worth */
                int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) break;
                struct epoll_event cev = { .events = EPOLLIN, .data.fd = cfd };
                int one = 1;   /* as serverM's accepted connections */
                if (cfd >= FLOOR_FDS_MAX ||
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev) != 0) {
                    close(cfd);
                    continue;
                }
                g_floor_conns[cfd].len = 0;
            }
        }
    }
}

pid_t floor_tcp_start(uint16_t *port, int persistent) {
    int lfd = floor_listen_loopback(SOCK_STREAM, port);
    pid_t pid = proc_fork();
    if (pid < 0) bench_die("floor: fork: %s", strerror(errno));
    if (pid == 0) floor_tcp_serve(lfd, persistent);
    close(lfd);
    return pid;
}

void floor_stop(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

void floor_udp_run(double secs, bench_result_t *r) {
    memset(r, 0, sizeof *r);
    uint16_t port;
    int echo = floor_listen_loopback(SOCK_DGRAM, &port);
    pid_t pid = proc_fork();
    if (pid < 0) bench_die("floor: fork: %s", strerror(errno));
    if (pid == 0) {
        uint8_t buf[DGRAM_BYTES_MAX], reply[FLOOR_UDP_REPLY_BYTES];
        memset(reply, 0xA1, sizeof reply);
        for (;;) {
            struct sockaddr_in from;
            socklen_t len = sizeof from;
            ssize_t n = recvfrom(echo, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
            if (n < 0 && errno != EINTR) _exit(1);
            if (n > 0) sendto(echo, reply, sizeof reply, 0, (struct sockaddr *)&from, len);
        }
    }
    close(echo);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        bench_die("floor: udp socket: %s", strerror(errno));
    uint8_t req[FLOOR_UDP_REQ_BYTES], buf[DGRAM_BYTES_MAX];
    memset(req, 0xA1, sizeof req);
    uint64_t t_start = bench_now_ns(), end = t_start + (uint64_t)(secs * 1e9);
    while (!bench_interrupted && bench_now_ns() < end) {
        uint64_t t0 = bench_now_ns();
        if (send(fd, req, sizeof req, 0) != (ssize_t)sizeof req) { r->errors++; break; }
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, FLOOR_UDP_WAIT_MS) != 1 || recv(fd, buf, sizeof buf, 0) != FLOOR_UDP_REPLY_BYTES) {
            r->errors++;
            break;
        }
        samples_add(&r->lat, bench_now_ns() - t0);
        r->ops++;
    }
    r->secs = (double)(bench_now_ns() - t_start) / 1e9;
    close(fd);
    floor_stop(pid);
}

void floor_sync_run(const char *dir, double secs, bench_result_t *r) {
    memset(r, 0, sizeof *r);
    char path[BENCH_PATH_MAX];
    bench_path(path, "%s/floor-sync.txt", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) bench_die("floor: cannot create %s: %s", path, strerror(errno));
    uint64_t t_start = bench_now_ns(), end = t_start + (uint64_t)(secs * 1e9);
    while (!bench_interrupted && bench_now_ns() < end) {
        uint64_t t0 = bench_now_ns();
        if (write(fd, FLOOR_SYNC_LINE, sizeof FLOOR_SYNC_LINE - 1) != sizeof FLOOR_SYNC_LINE - 1 ||
            fdatasync(fd) != 0)
            bench_die("floor: append + fdatasync of %s: %s", path, strerror(errno));
        samples_add(&r->lat, bench_now_ns() - t0);
        r->ops++;
    }
    r->secs = (double)(bench_now_ns() - t_start) / 1e9;
    close(fd);
    unlink(path);
}

double floor_file_secs(const char *dir, uint64_t bytes) {
    char tmp[BENCH_PATH_MAX], path[BENCH_PATH_MAX];
    bench_path(tmp, "%s/floor-file.tmp", dir);
    bench_path(path, "%s/floor-file.txt", dir);
    char *chunk = bench_xmalloc(FLOOR_FILE_CHUNK_BYTES);
    memset(chunk, 'x', FLOOR_FILE_CHUNK_BYTES);
    uint64_t t0 = bench_now_ns();
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) bench_die("floor: cannot create %s: %s", tmp, strerror(errno));
    for (uint64_t done = 0; done < bytes;) {
        size_t n = bytes - done < FLOOR_FILE_CHUNK_BYTES ? (size_t)(bytes - done) : FLOOR_FILE_CHUNK_BYTES;
        ssize_t w = write(fd, chunk, n);
        if (w <= 0) bench_die("floor: write %s: %s", tmp, strerror(errno));
        done += (uint64_t)w;
    }
    if (fdatasync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0)
        bench_die("floor: sync/rename %s: %s", tmp, strerror(errno));
    double secs = (double)(bench_now_ns() - t0) / 1e9;
    unlink(path);
    free(chunk);
    return secs;
}

double floor_read_secs(const char *path) {
    char *chunk = bench_xmalloc(FLOOR_FILE_CHUNK_BYTES);
    uint64_t t0 = bench_now_ns();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) bench_die("floor: cannot open %s: %s", path, strerror(errno));
    ssize_t n;
    while ((n = read(fd, chunk, FLOOR_FILE_CHUNK_BYTES)) > 0) {}
    if (n < 0) bench_die("floor: read %s: %s", path, strerror(errno));
    close(fd);
    free(chunk);
    return (double)(bench_now_ns() - t0) / 1e9;
}
