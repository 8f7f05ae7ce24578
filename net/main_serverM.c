/* main_serverM.c — serverM: the TCP ports of client A and B, the UDP socket to the
 * backends and the TXLIST file, around core/coordinator. Connections are non-blocking with
 * bounded output queues, so one slow client never holds up the others. What a client's
 * bytes, EOF and reset mean (one-shot or persistent, pipelined) is the core's decision
 * (coord_on_conn_data/eof/reset): this file hands it every byte read while the connection
 * is open, and carries out FX_CONN_SEND/FX_CONN_CLOSE: flush, shutdown the write side,
 * linger for the peer's FIN. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "coordinator.h"
#include "disk.h"
#include "drive.h"
#include "key.h"
#include "loop.h"
#include "sock.h"
#include "txfile.h"

#define CONN_SLOTS (CONNECTIONS_MAX + 32)  /* beyond CONNECTIONS_MAX the core answers BUSY */
#define CONN_SLOT_BITS 11                  /* conn id = generation << bits | slot */
#define CONN_OUT_BYTES_MAX (128u << 20)    /* unsent bytes of one connection: a big stats
                                              table, or a pipeline's replies; beyond: dropped */
#define CONN_OUT_BYTES_MIN 512             /* first allocation of an output queue */
#define CONN_READ_BYTES 4096
#define CONN_READS_PER_EVENT 4
#define CONN_LINGER_US 2000000             /* after our FIN: wait for the peer's */
#define ACCEPTS_PER_EVENT 64
#define ACCEPT_PAUSE_US 100000             /* after accept() failed (e.g. out of fds) */
#define UDP_READS_PER_EVENT 256
#define STOP_GRACE_EXTRA_US 1000000        /* stopping: timeout_ms plus this */
#define FILES_DONE_MAX 16                  /* TXLIST writes finished within one drain */
#define PUMP_ROUNDS_MAX 64
#define ERR_BYTES 512
_Static_assert(CONN_SLOTS <= (1u << CONN_SLOT_BITS), "slot fits its bits");
_Static_assert(COORD_REPLY_BYTES_MAX <= CONN_OUT_BYTES_MAX,
               "the longest reply of the core (a full stats table) fits a connection's queue");
_Static_assert(CONN_SLOTS + 8 <= LOOP_FDS_MAX, "connections, listeners and UDP fit the loop");

typedef enum {
    CONN_FREE = 0,
    CONN_OPEN,      /* the core's: requests in, replies out */
    CONN_CLOSING,   /* the core closed it: flushing the output queue */
    CONN_LINGER,    /* flushed and shut down for writing: discarding input until EOF */
} conn_state_t;

typedef struct {
    conn_state_t state;
    int fd;
    int slot;                   /* in the loop */
    uint32_t id;
    uint32_t generation;
    int client_index;
    int peer_eof;               /* the peer shut down its writing side (told to the core) */
    int broken;                 /* a write failed or the queue overflowed: peer gone */
    int touched;                /* listed in serverM_t.touched */
    int read_stopped;           /* OPEN: the core asked to stop reading (FX_CONN_READ 0) */
    size_t unreported;          /* bytes sent (or dropped) not yet told to the core */
    uint8_t *out;               /* output queue: bytes [out_off, out_len) still to send */
    size_t out_off, out_len, out_cap;
    uint64_t linger_until_us;
} conn_t;

typedef struct {
    uint64_t token;
    int ok;
} file_done_t;

typedef struct {
    config_t cfg;
    coord_t *coord;
    outbox_t out;
    drive_t drive;
    loop_t loop;
    int udp_fd;
    int listen_fd[2];
    int listen_slot[2];
    int listen_paused;
    uint64_t accept_resume_us;     /* 0: not paused by an accept() failure */
    struct sockaddr_in backend_addr[BACKEND_COUNT];
    conn_t conns[CONN_SLOTS];
    uint32_t free_slots[CONN_SLOTS];
    uint32_t free_count;
    uint32_t conn_count;
    uint32_t linger_count;
    uint32_t touched[CONN_SLOTS];  /* connections to settle after a drain */
    uint32_t touched_count;
    uint32_t settling[CONN_SLOTS]; /* pump's copy of touched[] */
    file_done_t files_done[FILES_DONE_MAX];
    uint32_t files_done_count;
    uint64_t stop_deadline_us;     /* 0: not stopping */
    drive_limiter_t accept_warn;
    drive_drops_t drops;           /* datagrams dropped, reported as a count once a second */
    server_key_t key;              /* the servers' shared key (or none: insecure) */
    txfile_t *txfile;              /* the TXLIST file's writer thread */
} serverM_t;

static serverM_t g; /* static: the tables are large */

static void conn_settle(serverM_t *m, conn_t *c);

/* ---- connections ---------------------------------------------------------------------- */

static conn_t *conn_find(serverM_t *m, uint32_t id) {
    uint32_t s = id & ((1u << CONN_SLOT_BITS) - 1);
    if (s >= CONN_SLOTS) return NULL;
    conn_t *c = &m->conns[s];
    return c->state != CONN_FREE && c->id == id ? c : NULL;
}

static void conn_touch(serverM_t *m, conn_t *c) {
    if (c->touched) return;
    AC_ASSERT(m->touched_count < CONN_SLOTS);
    c->touched = 1;
    m->touched[m->touched_count++] = (uint32_t)(c - m->conns);
}

static void listeners_enable(serverM_t *m, int on) {
    for (int j = 0; j < 2; j++)
        if (m->listen_slot[j] >= 0) loop_set_events(&m->loop, m->listen_slot[j], on ? POLLIN : 0);
    m->listen_paused = !on;
}

/* Tells the core the bytes that left c's queue since the last time (coordinator.h). */
static void conn_report(serverM_t *m, conn_t *c) {
    if (c->unreported == 0) return;
    size_t n = c->unreported;
    c->unreported = 0;
    coord_on_conn_sent(m->coord, loop_now_us(), c->id, n, &m->out);
    drive_drain(&m->drive, &m->out);
}

/* Closes the descriptor and returns the slot (the core already let go of it, or is told
 * by the caller right after). A connection the core closed hands back what it still held
 * (the core counts it until then); an OPEN one is reported reset by the caller. */
static void conn_free(serverM_t *m, conn_t *c) {
    AC_ASSERT(c->state != CONN_FREE);
    if (c->state != CONN_OPEN) {
        c->unreported += c->out_len - c->out_off;
        c->out_off = c->out_len;
        conn_report(m, c);
    }
    if (c->state == CONN_LINGER) m->linger_count--;
    loop_del(&m->loop, c->slot);
    close(c->fd);
    free(c->out);
    c->out = NULL;
    c->out_cap = c->out_len = c->out_off = 0;
    c->state = CONN_FREE;
    m->free_slots[m->free_count++] = (uint32_t)(c - m->conns);
    m->conn_count--;
    if (m->listen_paused && m->accept_resume_us == 0 && m->stop_deadline_us == 0)
        listeners_enable(m, 1);
}

/* The connection broke (reset, failed write) while the core owned it: release, then tell
 * the core, which keeps the operation going and drops its reply. */
static void conn_lost(serverM_t *m, conn_t *c) {
    AC_ASSERT(c->state == CONN_OPEN);
    uint32_t id = c->id;
    conn_free(m, c);
    coord_on_conn_reset(m->coord, loop_now_us(), id, &m->out);
    drive_drain(&m->drive, &m->out);
}

static int conn_queue(conn_t *c, const uint8_t *data, size_t len) {
    if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
    if (len > CONN_OUT_BYTES_MAX - (c->out_len - c->out_off)) return -1;
    if (c->out_off > 0 && c->out_len + len > c->out_cap) { /* slide the unsent bytes down */
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : CONN_OUT_BYTES_MIN;
        while (cap < c->out_len + len) cap *= 2;
        uint8_t *p = realloc(c->out, cap);
        if (p == NULL) return -1;
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    return 0;
}

/* Writes what the socket takes (counted in c->unreported); 0, or -1 when the peer is gone. */
static int conn_flush(conn_t *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (n <= 0) return -1;
        c->out_off += (size_t)n;
        c->unreported += (size_t)n;
    }
    return 0;
}

/* After the core or the socket acted on c: send what is queued, move between states and
 * keep the poll interest right. */
static void conn_settle(serverM_t *m, conn_t *c) {
    if (c->state == CONN_FREE) return;
    if (!c->broken && conn_flush(c) < 0) c->broken = 1;
    if (c->broken) {
        if (c->state == CONN_OPEN) conn_lost(m, c);
        else conn_free(m, c);
        return;
    }
    conn_report(m, c); /* the core may ask to read c again (FX_CONN_READ: touched again) */
    int pending = c->out_off < c->out_len;
    if (c->state == CONN_CLOSING && !pending) {
        if (c->peer_eof) { /* both sides are done */
            conn_free(m, c);
            return;
        }
        shutdown(c->fd, SHUT_WR);
        c->state = CONN_LINGER;
        c->linger_until_us = loop_now_us() + CONN_LINGER_US;
        m->linger_count++;
    }
    short ev = pending ? POLLOUT : 0;
    if (!c->peer_eof && !(c->state == CONN_OPEN && c->read_stopped)) ev |= POLLIN;
    loop_set_events(&m->loop, c->slot, ev);
}

/* Reads and hands bytes to the core (OPEN: every byte; a persistent connection's reads
 * may hold many request lines, or end inside one) or discards them (CLOSING, LINGER).
 * An OPEN connection the core stopped is not read, unless `hangup` (poll reported the
 * connection gone: what is left is read to find its end). */
static void conn_read(serverM_t *m, conn_t *c, int hangup) {
    for (int i = 0; i < CONN_READS_PER_EVENT && c->state != CONN_FREE && !c->peer_eof; i++) {
        if (c->state == CONN_OPEN && c->read_stopped && !hangup) return;
        uint8_t buf[CONN_READ_BYTES];
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        if (n < 0) { /* reset */
            c->broken = 1;
            return;
        }
        if (n == 0) { /* the peer shut down its writing side */
            c->peer_eof = 1;
            if (c->state == CONN_OPEN) { /* what it means is the core's decision */
                coord_on_conn_eof(m->coord, loop_now_us(), c->id, &m->out);
                drive_drain(&m->drive, &m->out);
            }
            /* CLOSING: conn_settle frees it once the reply is flushed; LINGER: done */
            if (c->state == CONN_LINGER) conn_free(m, c);
            return;
        }
        if (c->state == CONN_OPEN) {
            coord_on_conn_data(m->coord, loop_now_us(), c->id, buf, (size_t)n, &m->out);
            drive_drain(&m->drive, &m->out);
        }
        /* a short read emptied the socket (most likely): another recv would mostly say
         * EAGAIN (a third of serverM's receives under persistent load); poll is
         * level-triggered, so anything that came meanwhile is read next turn */
        if ((size_t)n < sizeof(buf)) return;
    }
}

static void pump(serverM_t *m);

static void conn_on_event(void *ctx, int fd, short revents) {
    conn_t *c = ctx;
    serverM_t *m = &g;
    (void)fd;
    if (revents & (POLLIN | POLLHUP | POLLERR)) conn_read(m, c, (revents & (POLLHUP | POLLERR)) != 0);
    /* an error, or a hang-up after the peer's EOF (poll would report it forever) */
    if (c->state != CONN_FREE && ((revents & POLLERR) || ((revents & POLLHUP) && c->peer_eof)))
        c->broken = 1;
    if (c->state != CONN_FREE) conn_touch(m, c);
    pump(m);
}

static void conn_accept(serverM_t *m, int j, int fd) {
    if (m->free_count == 0 || m->loop.used >= LOOP_FDS_MAX) { /* not reached: paused first */
        close(fd);
        return;
    }
    uint32_t s = m->free_slots[m->free_count - 1];
    conn_t *c = &m->conns[s];
    int slot = loop_add(&m->loop, fd, POLLIN, conn_on_event, c);
    if (slot < 0) { /* the kernel's epoll watches ran out: the client sees its connection closed */
        drive_warn(m->cfg.program, "cannot watch a new connection: %s", strerror(errno));
        close(fd);
        return;
    }
    m->free_count--;
    int touched = c->touched;
    uint32_t generation = c->generation + 1;
    memset(c, 0, sizeof(*c));
    c->touched = touched;
    c->generation = generation;
    c->id = (generation << CONN_SLOT_BITS) | s;
    c->fd = fd;
    c->client_index = j;
    c->state = CONN_OPEN;
    c->slot = slot;
    m->conn_count++;
    (void)coord_on_conn_open(m->coord, loop_now_us(), c->id, j, &m->out); /* EFULL: BUSY queued */
    drive_drain(&m->drive, &m->out);
    conn_touch(m, c);
}

static void listen_on_event(void *ctx, int fd, short revents) {
    serverM_t *m = &g;
    int j = (int)(intptr_t)ctx;
    (void)revents;
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        if (m->free_count == 0) {
            listeners_enable(m, 0); /* resumed when a connection is freed */
            break;
        }
        char err[SOCK_ERR_BYTES];
        int cfd;
        if (sock_accept(err, fd, &cfd) < 0) {
            drive_warn_limited(m->cfg.program, &m->accept_warn, loop_now_us(), "%s", err);
            listeners_enable(m, 0);
            m->accept_resume_us = loop_now_us() + ACCEPT_PAUSE_US;
            break;
        }
        if (cfd < 0) break;
        conn_accept(m, j, cfd);
    }
    pump(m);
}

/* ---- effects ---------------------------------------------------------------------------- */

static int serverM_fx(void *ctx, const outbox_t *o, const fx_t *f, char *err, size_t err_cap) {
    serverM_t *m = ctx;
    const uint8_t *bytes = outbox_bytes(o, f);
    conn_t *c;
    switch (f->kind) {
    case FX_DGRAM:
        if (f->target >= BACKEND_COUNT) break;
        if (sendto(m->udp_fd, bytes, f->data_len, 0,
                   (const struct sockaddr *)&m->backend_addr[f->target],
                   sizeof(m->backend_addr[0])) < 0) /* lost: the core retransmits */
            drive_drop(m->cfg.program, &m->drops, loop_now_us(), "unsent to server%c (%s)",
                       backend_letter((int)f->target), strerror(errno));
        return 0;
    case FX_CONN_SEND:
        c = conn_find(m, f->target);
        if (c == NULL || c->state != CONN_OPEN) return 0;
        if (conn_queue(c, bytes, f->data_len) < 0) {
            drive_warn(m->cfg.program, "a reply to client %c exceeds %u bytes; dropped",
                       'A' + c->client_index, CONN_OUT_BYTES_MAX);
            c->unreported += f->data_len; /* left the queue: told to the core like sent bytes */
            c->broken = 1;
        }
        conn_touch(m, c);
        return 0;
    case FX_CONN_CLOSE:
        c = conn_find(m, f->target);
        if (c == NULL || c->state != CONN_OPEN) return 0;
        c->state = CONN_CLOSING;
        c->read_stopped = 0; /* CLOSING and LINGER read to discard, and to see the FIN */
        conn_touch(m, c);
        return 0;
    case FX_CONN_READ:
        c = conn_find(m, f->target);
        if (c == NULL || c->state != CONN_OPEN) return 0;
        c->read_stopped = f->arg == 0;
        conn_touch(m, c);
        return 0;
    case FX_FILE_WRITE:
        /* on the writer thread: a large file never holds up the loop (txfile.h) */
        if (txfile_submit(m->txfile, f->token, f->arg, bytes, f->data_len) < 0) {
            snprintf(err, err_cap, "out of memory for the TXLIST file");
            return -1;
        }
        return 0;
    default:
        break;
    }
    drive_warn(m->cfg.program, "ignored an effect of kind %d", (int)f->kind);
    return 0;
}

/* Drains, then feeds back what the drain produced (finished file writes, connections to
 * flush or found dead) until nothing is left; each round's core calls drain again. */
static void pump(serverM_t *m) {
    drive_drain(&m->drive, &m->out);
    for (int round = 0; round < PUMP_ROUNDS_MAX; round++) {
        if (m->files_done_count == 0 && m->touched_count == 0) return;
        file_done_t files[FILES_DONE_MAX];
        uint32_t nfiles = m->files_done_count;
        memcpy(files, m->files_done, nfiles * sizeof(files[0]));
        m->files_done_count = 0;
        for (uint32_t i = 0; i < nfiles; i++) {
            coord_on_file_written(m->coord, loop_now_us(), files[i].token, files[i].ok, &m->out);
            drive_drain(&m->drive, &m->out);
        }
        uint32_t n = m->touched_count;
        memcpy(m->settling, m->touched, n * sizeof(m->settling[0]));
        m->touched_count = 0;
        for (uint32_t i = 0; i < n; i++) {
            conn_t *c = &m->conns[m->settling[i]];
            c->touched = 0;
            conn_settle(m, c);
        }
    }
    /* left over: the main loop polls without waiting and pumps again */
}

/* ---- UDP -------------------------------------------------------------------------------- */

static int backend_of(const serverM_t *m, const struct sockaddr_in *src) {
    for (int i = 0; i < BACKEND_COUNT; i++)
        if (sock_addr_equal(src, &m->backend_addr[i])) return i;
    return -1;
}

static void udp_on_event(void *ctx, int fd, short revents) {
    serverM_t *m = ctx;
    (void)revents;
    for (int i = 0; i < UDP_READS_PER_EVENT; i++) {
        uint8_t buf[AUTH_DGRAM_BYTES_MAX];
        struct sockaddr_in src;
        socklen_t src_len = sizeof(src);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&src, &src_len);
        if (n < 0) break;
        uint64_t now = loop_now_us();
        int b = src_len == sizeof(src) ? backend_of(m, &src) : -1;
        if (b < 0 || (size_t)n > sizeof(buf)) {
            char from[SOCK_ADDR_TEXT_BYTES];
            sock_addr_text(&src, from, sizeof(from));
            if (b < 0) drive_drop(m->cfg.program, &m->drops, now, "from %s, not a backend", from);
            else drive_drop(m->cfg.program, &m->drops, now, "over %d bytes", AUTH_DGRAM_BYTES_MAX);
            continue;
        }
        coord_on_datagram(m->coord, now, b, buf, (size_t)n, &m->out);
        pump(m);
    }
}

/* The writer thread finished a TXLIST file. */
static void txfile_on_event(void *ctx, int fd, short revents) {
    serverM_t *m = ctx;
    (void)fd;
    (void)revents;
    txfile_done_t done[FILES_DONE_MAX];
    size_t n = txfile_take(m->txfile, done, FILES_DONE_MAX);
    for (size_t i = 0; i < n; i++) {
        if (!done[i].ok) drive_warn(m->cfg.program, "%s", done[i].why);
        AC_ASSERT(m->files_done_count < FILES_DONE_MAX);
        m->files_done[m->files_done_count++] = (file_done_t){done[i].token, done[i].ok};
    }
    pump(m);
}

/* ---- start, timers, stop ------------------------------------------------------------------ */

/* Room for every connection's descriptor (the soft limit is often 1024). */
static void fd_limit_raise(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return;
    rlim_t want = LOOP_FDS_MAX + 64;
    if (rl.rlim_cur >= want) return;
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
}

static void serverM_open(serverM_t *m) {
    char err[ERR_BYTES];
    const config_t *cfg = &m->cfg;
    const char *host = cfg->host[CONFIG_HOST_M];
    for (int i = 0; i < BACKEND_COUNT; i++)
        if (sock_addr(err, cfg->host[i], config_port_backend(cfg, i), &m->backend_addr[i]) < 0)
            drive_die(cfg->program, EXIT_CONFIG, "%s", err);
    if (key_load(&m->key, cfg, err, sizeof(err)) < 0) drive_die(cfg->program, EXIT_CONFIG, "%s", err);
    key_announce(&m->key, cfg->program);
    if (sock_udp_bind(err, host, config_port_m_udp(cfg), &m->udp_fd) < 0)
        drive_die(cfg->program, EXIT_RUNTIME, "%s", err);
    for (int j = 0; j < 2; j++)
        if (sock_tcp_listen(err, host, config_port_client(cfg, j), &m->listen_fd[j]) < 0)
            drive_die(cfg->program, EXIT_RUNTIME, "%s", err);
    /* what a killed serverM left half-written (its temporary files, unlocked since it died):
     * after the sockets are bound, so a start refused changes nothing */
    uint32_t stale_files;
    uint64_t stale_bytes;
    if (disk_tmp_sweep(err, sizeof(err), cfg->txlist_path, &stale_files, &stale_bytes) < 0)
        drive_warn(cfg->program, "%s", err);
    else if (stale_files > 0)
        drive_warn(cfg->program, "removed %u temporary files of %s left by a serverM that was killed "
                   "(%llu bytes)", stale_files, cfg->txlist_path, (unsigned long long)stale_bytes);
    coord_config_t cc = {
        .incarnation = loop_wall_us(), /* grows across restarts unless the clock steps back */
        .seed = cfg->seed,
        .timeout_ms = cfg->timeout_ms,
        .txlist_path = cfg->txlist_path,
        .auth = &m->key.auth,
    };
    for (int i = 0; i < BACKEND_COUNT; i++) cc.backend_port[i] = config_port_backend(cfg, i);
    for (int j = 0; j < 2; j++) cc.client_port[j] = config_port_client(cfg, j);
    m->coord = coord_new(&cc);
    if (m->coord == NULL) drive_die(cfg->program, EXIT_RUNTIME, "cannot start the coordinator");
    if (loop_catch_signals(&m->loop, err, sizeof(err)) < 0)
        drive_die(cfg->program, EXIT_RUNTIME, "%s", err);
    if (loop_add(&m->loop, m->udp_fd, POLLIN, udp_on_event, m) < 0)
        drive_die(cfg->program, EXIT_RUNTIME, "epoll_ctl: %s", strerror(errno));
    m->txfile = txfile_new(cfg->txlist_path, err, sizeof(err));
    if (m->txfile == NULL) drive_die(cfg->program, EXIT_RUNTIME, "%s", err);
    if (loop_add(&m->loop, txfile_fd(m->txfile), POLLIN, txfile_on_event, m) < 0)
        drive_die(cfg->program, EXIT_RUNTIME, "epoll_ctl: %s", strerror(errno));
    for (int j = 0; j < 2; j++) {
        m->listen_slot[j] = loop_add(&m->loop, m->listen_fd[j], POLLIN, listen_on_event,
                                     (void *)(intptr_t)j);
        if (m->listen_slot[j] < 0) drive_die(cfg->program, EXIT_RUNTIME, "epoll_ctl: %s", strerror(errno));
    }
    m->free_count = CONN_SLOTS;
    for (uint32_t s = 0; s < CONN_SLOTS; s++) m->free_slots[s] = CONN_SLOTS - 1 - s;
    coord_start(m->coord, loop_now_us(), &m->out);
    pump(m);
}

/* The earliest of: the core's timer, a lingering connection's end, the accept pause, the end
 * of a dropped-datagram count's second, the stop grace. 0 when work is left over from a pump. */
static uint64_t serverM_deadline_us(const serverM_t *m) {
    if (m->touched_count > 0 || m->files_done_count > 0) return 0;
    uint64_t d = coord_deadline_us(m->coord);
    if (m->accept_resume_us != 0 && m->accept_resume_us < d) d = m->accept_resume_us;
    if (m->stop_deadline_us != 0 && m->stop_deadline_us < d) d = m->stop_deadline_us;
    if (drive_drops_deadline_us(&m->drops) < d) d = drive_drops_deadline_us(&m->drops);
    /* O(slots) while any connection lingers: ~1000 compares a turn, small next to poll() */
    for (uint32_t s = 0; m->linger_count > 0 && s < CONN_SLOTS; s++)
        if (m->conns[s].state == CONN_LINGER && m->conns[s].linger_until_us < d)
            d = m->conns[s].linger_until_us;
    return d;
}

static void serverM_on_time(serverM_t *m) {
    uint64_t now = loop_now_us();
    if (now >= coord_deadline_us(m->coord)) {
        coord_on_timer(m->coord, now, &m->out);
        pump(m);
    }
    if (m->accept_resume_us != 0 && now >= m->accept_resume_us) {
        m->accept_resume_us = 0;
        if (m->stop_deadline_us == 0) listeners_enable(m, 1);
    }
    for (uint32_t s = 0; m->linger_count > 0 && s < CONN_SLOTS; s++)
        if (m->conns[s].state == CONN_LINGER && now >= m->conns[s].linger_until_us)
            conn_free(m, &m->conns[s]);
    drive_drops_report(m->cfg.program, &m->drops, now);
}

/* Stopping: no new connections; in-flight work finishes (or the grace period ends). */
static int serverM_stopped(serverM_t *m) {
    if (!m->loop.stop) return 0;
    uint64_t now = loop_now_us();
    if (m->stop_deadline_us == 0) {
        m->stop_deadline_us = now + (uint64_t)m->cfg.timeout_ms * 1000u + STOP_GRACE_EXTRA_US;
        for (int j = 0; j < 2; j++) {
            loop_del(&m->loop, m->listen_slot[j]);
            close(m->listen_fd[j]);
            m->listen_slot[j] = -1;
        }
    }
    if (now >= m->stop_deadline_us) return 1;
    if (!coord_idle(m->coord) || m->touched_count > 0 || !txfile_idle(m->txfile)) return 0;
    for (uint32_t s = 0; s < CONN_SLOTS; s++)
        if (m->conns[s].state == CONN_CLOSING) return 0; /* a reply still being sent */
    return 1;
}

static void serverM_close(serverM_t *m) {
    for (uint32_t s = 0; s < CONN_SLOTS; s++)
        if (m->conns[s].state != CONN_FREE) conn_free(m, &m->conns[s]);
    for (int j = 0; j < 2; j++)
        if (m->listen_slot[j] >= 0) close(m->listen_fd[j]);
    close(m->udp_fd);
    txfile_free(m->txfile);
    loop_free(&m->loop);
    coord_free(m->coord);
    outbox_free(&m->out);
}

int main(int argc, char **argv) {
    serverM_t *m = &g;
    char err[ERR_BYTES];
    setvbuf(stdout, NULL, _IOFBF, STDOUT_BUFFER_BYTES); /* flushed every loop turn (loop.c) */
    drive_mutant_select(argv[0]);
    if (config_load(&m->cfg, CONFIG_SERVERM, 0, argc, argv, err, sizeof(err)) < 0)
        drive_die(m->cfg.program, EXIT_CONFIG, "%s", err);
    if (m->cfg.help) {
        config_usage(&m->cfg, stdout);
        return 0;
    }
    fd_limit_raise();
    outbox_init(&m->out);
    m->drive = (drive_t){.program = m->cfg.program, .fatal_exit_code = EXIT_RUNTIME, .on_fx = serverM_fx, .ctx = m,
                         .drops = &m->drops};
    if (loop_init(&m->loop, err, sizeof(err)) < 0) drive_die(m->cfg.program, EXIT_RUNTIME, "%s", err);
    m->listen_slot[0] = m->listen_slot[1] = -1;
    serverM_open(m);
    while (!serverM_stopped(m)) {
        if (loop_turn(&m->loop, serverM_deadline_us(m), err, sizeof(err)) < 0)
            drive_die(m->cfg.program, EXIT_RUNTIME, "%s", err);
        pump(m);
        serverM_on_time(m);
    }
    drive_drops_report(m->cfg.program, &m->drops, UINT64_MAX); /* what the last second held */
    serverM_close(m);
    return 0;
}
