/* tcpproxy.c — the TCP fault proxy (tcpproxy.h): a ppoll() loop over its listeners and
 * every client <-> serverM pair. What one side writes is read, cut into slices with the
 * simulator's draws (scenario/tcp_fate.h) and queued with a due time; a slice is written
 * alone (TCP_NODELAY) when due, unless its reset draw resets both sockets instead. A FIN is
 * passed on after the slices before it; a reset (or a failed write) of either side resets
 * the other. Cost: one write per slice, fine for the few connections of a scenario. */
#define _GNU_SOURCE /* accept4, ppoll */
#include "tcpproxy.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "prng.h"
#include "proc/proc.h"
#include "scenario/tcp_fate.h"

enum { SIDE_CLIENT = 0, SIDE_M = 1, SIDES = 2 };

typedef struct {
    uint64_t due_us;
    uint32_t len;
    uint8_t fin;
    uint8_t drawn; /* its reset draw was made */
} slice_t;

/* One direction: bytes read from side k, waiting to be written to the other side. */
typedef struct {
    uint8_t *bytes;
    size_t start, end, cap;   /* queued bytes [start, end) */
    size_t wrote;             /* of the head slice, already written */
    slice_t *q;
    uint32_t head, count, qcap;
    uint64_t last_due_us;
    int eof;                  /* nothing more is read from this side */
    int fin_sent;             /* its FIN went to the other side */
    int blocked;              /* the other side's socket is full: wait for POLLOUT */
} pdir_t;

typedef struct {
    int fd[SIDES];            /* -1: closed */
    int connecting;           /* the connection to serverM is being made */
    int half_close;           /* a `half-close` operation's */
    pdir_t d[SIDES];          /* d[k]: read from fd[k], written to fd[1 - k] */
} pconn_t;

typedef struct {
    prng_t rng;
    sim_tcp_t tcp;
    tcpproxy_counts_t counts;
    tcpproxy_control_t *ctl;
    pconn_t conns[TCPPROXY_CONNS_MAX];
} proxy_t;

uint32_t tcpproxy_control_set(tcpproxy_control_t *c, const sim_tcp_t *t) {
    c->wanted = *t; /* the proxy reads it only after it sees the new sequence */
    return __atomic_add_fetch(&c->wanted_seq, 1, __ATOMIC_RELEASE);
}

int tcpproxy_control_acked(const tcpproxy_control_t *c) {
    return __atomic_load_n(&c->applied_seq, __ATOMIC_ACQUIRE) == __atomic_load_n(&c->wanted_seq, __ATOMIC_ACQUIRE);
}

/* Publishes the counters: before the effect they count can be seen (a reset before its RST
 * leaves), so a controller that sees the effect sees the count. */
static void proxy_publish(proxy_t *p) {
    tcpproxy_control_t *c = p->ctl;
    if (c == NULL) return;
    const uint64_t *from = (const uint64_t *)&p->counts;
    uint64_t *to = (uint64_t *)&c->published;
    for (size_t i = 0; i < sizeof(p->counts) / sizeof(uint64_t); i++) __atomic_store_n(&to[i], from[i], __ATOMIC_RELEASE);
}

/* Applies a new setting when the sequence moved and acknowledges it, then publishes. */
static void proxy_sync(proxy_t *p) {
    tcpproxy_control_t *c = p->ctl;
    if (c == NULL) return;
    uint32_t seq = __atomic_load_n(&c->wanted_seq, __ATOMIC_ACQUIRE);
    if (seq != __atomic_load_n(&c->applied_seq, __ATOMIC_RELAXED)) {
        p->tcp = c->wanted;
        __atomic_store_n(&c->applied_seq, seq, __ATOMIC_RELEASE);
    }
    proxy_publish(p);
}

int tcpproxy_bind(char *err, size_t cap, const tcpproxy_listen_t *l, int count, int fds[]) {
    assert(count >= 1 && count <= TCPPROXY_LISTENERS_MAX);
    for (int i = 0; i < count; i++) {
        int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd >= 0) (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (fd < 0 || bind(fd, (const struct sockaddr *)&l[i].front, sizeof(l[i].front)) < 0 || listen(fd, 128) < 0) {
            char a[INET_ADDRSTRLEN] = "?";
            (void)inet_ntop(AF_INET, &l[i].front.sin_addr, a, sizeof(a));
            snprintf(err, cap, "tcp proxy: listen on %s:%u: %s", a, (unsigned)ntohs(l[i].front.sin_port),
                     strerror(errno));
            if (fd >= 0) close(fd);
            while (i-- > 0) close(fds[i]);
            return TCPPROXY_ERR_SYS;
        }
        fds[i] = fd;
    }
    return TCPPROXY_OK;
}

/* ---- one pair ---------------------------------------------------------------------------- */

static void dir_free(pdir_t *d) {
    free(d->bytes);
    free(d->q);
    memset(d, 0, sizeof(*d));
}

static void fd_close(int *fd, int reset) {
    if (*fd < 0) return;
    if (reset) { /* SO_LINGER 0: close sends a RST, as a reset connection does */
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(*fd);
    *fd = -1;
}

static void conn_end(pconn_t *c, int reset) {
    for (int k = 0; k < SIDES; k++) {
        fd_close(&c->fd[k], reset);
        dir_free(&c->d[k]);
    }
    c->connecting = c->half_close = 0;
}

static int slice_push(pdir_t *d, const slice_t *s) {
    if (d->count >= TCPPROXY_SLICES_MAX) return -1;
    if (d->count == d->qcap) {
        uint32_t cap = d->qcap ? d->qcap * 2 : 64;
        slice_t *n = malloc((size_t)cap * sizeof(*n));
        if (n == NULL) return -1;
        for (uint32_t i = 0; i < d->count; i++) n[i] = d->q[(d->head + i) % d->qcap];
        free(d->q);
        d->q = n;
        d->head = 0;
        d->qcap = cap;
    }
    d->q[(d->head + d->count) % d->qcap] = *s;
    d->count++;
    return 0;
}

static int bytes_append(pdir_t *d, const uint8_t *data, size_t len) {
    if (d->start > 0 && d->start == d->end) d->start = d->end = 0;
    if (d->end + len > d->cap && d->start > 0) { /* compact */
        memmove(d->bytes, d->bytes + d->start, d->end - d->start);
        d->end -= d->start;
        d->start = 0;
    }
    if (d->end + len > d->cap) {
        size_t cap = d->cap ? d->cap : TCPPROXY_READ_BYTES;
        while (cap < d->end + len) cap *= 2;
        uint8_t *n = realloc(d->bytes, cap);
        if (n == NULL) return -1;
        d->bytes = n;
        d->cap = cap;
    }
    memcpy(d->bytes + d->end, data, len);
    d->end += len;
    return 0;
}

/* Queues len bytes read from side k, cut into slices as the simulator cuts a send (the
 * size, then its delay, per slice); a fin slice after them when fin. -1: out of room. */
static int dir_queue(proxy_t *p, pdir_t *d, const uint8_t *data, size_t len, int fin, uint64_t now) {
    proxy_sync(p); /* the setting in force when the bytes came */
    uint32_t slices = 0;
    for (size_t off = 0; off < len; slices++) {
        size_t n = tcp_fate_size(&p->rng, &p->tcp, len - off);
        uint64_t due = now + tcp_fate_delay(&p->rng, &p->tcp);
        if (d->last_due_us != 0 && due < d->last_due_us + TCPPROXY_GAP_US) due = d->last_due_us + TCPPROXY_GAP_US;
        slice_t s = {.due_us = due, .len = (uint32_t)n};
        if (slice_push(d, &s) < 0) return -1;
        d->last_due_us = due;
        off += n;
    }
    if (slices > 1) p->counts.split += slices - 1;
    proxy_publish(p);
    if (len > 0 && bytes_append(d, data, len) < 0) return -1;
    if (fin) {
        uint64_t due = now + tcp_fate_delay(&p->rng, &p->tcp);
        if (due < d->last_due_us) due = d->last_due_us;
        slice_t s = {.due_us = due, .fin = 1};
        if (slice_push(d, &s) < 0) return -1;
        d->last_due_us = due;
        d->eof = 1;
    }
    return 0;
}

/* Writes every due slice of direction k. Returns 0, or -1 when the pair was reset. */
static int dir_pump(proxy_t *p, pconn_t *c, int k, uint64_t now) {
    pdir_t *d = &c->d[k];
    int to = c->fd[1 - k];
    while (d->count > 0 && !d->blocked && !c->connecting && to >= 0) {
        slice_t *s = &d->q[d->head];
        if (s->due_us > now) break;
        if (s->fin) {
            (void)shutdown(to, SHUT_WR);
            d->fin_sent = 1;
        } else {
            if (!s->drawn) {
                s->drawn = 1;
                proxy_sync(p);
                if (tcp_fate_reset(&p->rng, &p->tcp)) {
                    p->counts.resets++;
                    proxy_publish(p);
                    conn_end(c, 1);
                    return -1;
                }
            }
            ssize_t n = send(to, d->bytes + d->start + d->wrote, s->len - d->wrote, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                d->blocked = 1;
                break;
            }
            if (n < 0) { /* the other side is gone: so is this one */
                conn_end(c, 1);
                return -1;
            }
            d->wrote += (size_t)n;
            if (d->wrote < s->len) continue;
            d->start += s->len;
            d->wrote = 0;
        }
        d->head = (d->head + 1) % d->qcap;
        d->count--;
    }
    if (d->fin_sent && c->d[1 - k].fin_sent) conn_end(c, 0); /* both ways closed */
    return 0;
}

/* Side k reset its connection at now: what it sent that was due by then goes out first (the
 * simulator delivers the segments due before a reset; a proxy that fell behind must not
 * drop them), then the other side is reset too. */
static void side_reset(proxy_t *p, pconn_t *c, int k, uint64_t now) {
    c->d[k].blocked = 0;
    if (dir_pump(p, c, k, now) == 0) conn_end(c, 1);
}

/* Reads what side k has. A half-close pair forwards the client's bytes up to its request
 * line's end, then a FIN. Returns 0, or -1 when the pair ended. */
static int side_read(proxy_t *p, pconn_t *c, int k, uint64_t now) {
    uint8_t buf[TCPPROXY_READ_BYTES];
    pdir_t *d = &c->d[k];
    ssize_t n = recv(c->fd[k], buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
    if (n < 0) { /* reset by that side: reset the other too */
        side_reset(p, c, k, now);
        return -1;
    }
    size_t len = (size_t)n;
    int fin = n == 0;
    if (k == SIDE_CLIENT && c->half_close && !fin) {
        const uint8_t *nl = memchr(buf, '\n', len);
        if (nl != NULL) { /* shutdown(SHUT_WR) right after the request */
            len = (size_t)(nl - buf) + 1;
            fin = 1;
            p->counts.half_closes++; /* published by dir_queue, before the FIN leaves */
        }
    }
    if (dir_queue(p, d, buf, len, fin, now) < 0) {
        conn_end(c, 1);
        return -1;
    }
    return 0;
}

static void conn_accept(proxy_t *p, const tcpproxy_listen_t *l, int lfd) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    pconn_t *c = NULL;
    for (int i = 0; i < TCPPROXY_CONNS_MAX && c == NULL; i++) {
        if (p->conns[i].fd[SIDE_CLIENT] < 0 && p->conns[i].fd[SIDE_M] < 0) c = &p->conns[i];
    }
    int up = c != NULL ? socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
    if (up < 0) {
        fd_close(&fd, 1);
        return;
    }
    p->counts.conns++;
    (void)setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(c, 0, sizeof(*c));
    c->fd[SIDE_CLIENT] = fd;
    c->fd[SIDE_M] = up;
    c->half_close = l->half_close;
    int rc = connect(up, (const struct sockaddr *)&l->back, sizeof(l->back));
    if (rc < 0 && errno == EINPROGRESS) c->connecting = 1;
    else if (rc < 0) { /* serverM is not there: the client hears a reset */
        p->counts.refused++;
        proxy_publish(p);
        conn_end(c, 1);
    }
}

static void conn_connected(proxy_t *p, pconn_t *c) {
    int e = 0;
    socklen_t el = sizeof(e);
    c->connecting = 0;
    if (getsockopt(c->fd[SIDE_M], SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e != 0) {
        p->counts.refused++;
        proxy_publish(p);
        conn_end(c, 1);
    }
}

/* ---- the loop ------------------------------------------------------------------------------ */

static int conn_open(const pconn_t *c) { return c->fd[SIDE_CLIENT] >= 0 || c->fd[SIDE_M] >= 0; }

static uint64_t next_due(const proxy_t *p) {
    uint64_t due = UINT64_MAX;
    for (int i = 0; i < TCPPROXY_CONNS_MAX; i++) {
        const pconn_t *c = &p->conns[i];
        for (int k = 0; conn_open(c) && !c->connecting && k < SIDES; k++) {
            const pdir_t *d = &c->d[k];
            if (d->count > 0 && !d->blocked && d->q[d->head].due_us < due) due = d->q[d->head].due_us;
        }
    }
    return due;
}

static short side_events(const pconn_t *c, int k) {
    short ev = 0;
    const pdir_t *in = &c->d[k], *out = &c->d[1 - k];
    if (k == SIDE_M && c->connecting) return POLLOUT;
    if (!in->eof && in->end - in->start < TCPPROXY_QUEUE_BYTES_MAX) ev |= POLLIN;
    if (out->blocked) ev |= POLLOUT;
    return ev;
}

void tcpproxy_serve(const tcpproxy_listen_t *l, int count, const int fds[], uint64_t seed, const sim_tcp_t *initial,
                    tcpproxy_control_t *ctl, int wake_fd, volatile sig_atomic_t *stop) {
    proxy_t *p = calloc(1, sizeof(*p));
    if (p == NULL) return;
    enum { NFDS = TCPPROXY_LISTENERS_MAX + 1 + TCPPROXY_CONNS_MAX * SIDES };
    struct pollfd *pf = calloc(NFDS, sizeof(*pf));
    int *owner = calloc(NFDS, sizeof(*owner));
    if (pf == NULL || owner == NULL) {
        free(pf);
        free(owner);
        free(p);
        return;
    }
    prng_init(&p->rng, seed);
    p->tcp = *initial;
    p->ctl = ctl;
    for (int i = 0; i < TCPPROXY_CONNS_MAX; i++) p->conns[i].fd[0] = p->conns[i].fd[1] = -1;
    while (!*stop) {
        proxy_sync(p); /* also acknowledges a setting no byte met yet */
        uint64_t now = proc_now_us();
        for (int i = 0; i < TCPPROXY_CONNS_MAX; i++) {
            pconn_t *c = &p->conns[i];
            for (int k = 0; k < SIDES && conn_open(c); k++) (void)dir_pump(p, c, k, now);
        }
        int n = 0;
        for (int i = 0; i < count; i++) {
            pf[n] = (struct pollfd){.fd = fds[i], .events = POLLIN};
            owner[n++] = -1 - i;
        }
        pf[n] = (struct pollfd){.fd = wake_fd, .events = POLLIN}; /* a negative fd is ignored */
        owner[n++] = INT32_MIN;
        for (int i = 0; i < TCPPROXY_CONNS_MAX; i++) {
            const pconn_t *c = &p->conns[i];
            for (int k = 0; k < SIDES && conn_open(c); k++) {
                short ev = side_events(c, k); /* none: not polled, or a hang-up would spin */
                pf[n] = (struct pollfd){.fd = ev ? c->fd[k] : -1, .events = ev};
                owner[n++] = i * SIDES + k;
            }
        }
        uint64_t due = next_due(p), wait_us = (uint64_t)TCPPROXY_POLL_MS_MAX * 1000u;
        if (due != UINT64_MAX) wait_us = due > now ? (due - now < wait_us ? due - now : wait_us) : 0;
        struct timespec ts = {.tv_sec = (time_t)(wait_us / 1000000u), .tv_nsec = (long)(wait_us % 1000000u) * 1000};
        if (ppoll(pf, (nfds_t)n, &ts, NULL) <= 0) continue; /* due, or EINTR: look at *stop */
        now = proc_now_us();
        for (int j = 0; j < n; j++) {
            if (pf[j].revents == 0) continue;
            if (owner[j] == INT32_MIN) {
                uint64_t drain[8];
                (void)!read(wake_fd, drain, sizeof(drain));
            } else if (owner[j] < 0) {
                conn_accept(p, &l[-1 - owner[j]], pf[j].fd);
            } else {
                pconn_t *c = &p->conns[owner[j] / SIDES];
                int k = owner[j] % SIDES;
                if (c->fd[k] != pf[j].fd) continue; /* ended earlier in this turn */
                if (k == SIDE_M && c->connecting) {
                    conn_connected(p, c);
                    continue;
                }
                if ((pf[j].revents & POLLERR) && !(pf[j].revents & POLLIN)) { /* reset: so is the other side */
                    side_reset(p, c, k, now);
                    continue;
                }
                if (pf[j].revents & POLLOUT) c->d[1 - k].blocked = 0;
                if ((pf[j].revents & (POLLIN | POLLHUP | POLLERR)) && !c->d[k].eof) (void)side_read(p, c, k, now);
            }
        }
    }
    for (int i = 0; i < TCPPROXY_CONNS_MAX; i++) conn_end(&p->conns[i], 1);
    proxy_sync(p);
    free(pf);
    free(owner);
    free(p);
}
