/* main_backend.c — serverA/serverB/serverC (compiled once per letter with -DBACKEND_INDEX):
 * holds the block file, answers serverM's datagrams through core/backend, and carries out
 * its storage effects (core/blockfile.h), appends with group commit (all appends of one
 * poll turn, then one fdatasync). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "disk.h"
#include "drive.h"
#include "key.h"
#include "loop.h"
#include "messages.h"
#include "mutant.h"
#include "sock.h"

#ifndef BACKEND_INDEX
#error "compile with -DBACKEND_INDEX=0, 1 or 2"
#endif
_Static_assert(BACKEND_INDEX >= 0 && BACKEND_INDEX < BACKEND_COUNT, "backend index 0..2");

#define BACKEND_READS_PER_TURN 64               /* datagrams read before the group sync */
#define SYNC_TOKENS_MAX (4 * BACKEND_PENDING_MAX) /* appends awaiting the group's fdatasync */
#define SYNC_ROUNDS_MAX 64                      /* sync rounds in one turn (bounded loop) */
#define ERR_BYTES 512

typedef struct {
    config_t cfg;
    backend_t node;
    outbox_t out;
    drive_t drive;
    loop_t loop;
    int udp_fd;
    struct sockaddr_in m_addr;             /* the only peer accepted */
    disk_block_t blk;
    uint64_t sync_tokens[SYNC_TOKENS_MAX]; /* written, not yet fdatasync'ed */
    size_t sync_count;
    uint64_t failed_token;                 /* an append whose write failed (0: none) */
    int failed_why;                        /* BACKEND_DISK_* */
    int prep_why;                          /* the run's first append's preparation (its
                                              '\n', sync or marker) failed: BACKEND_DISK_*
                                              until the append it prepares (0: none) */
    char prep_err[ERR_BYTES];
    drive_drops_t drops;        /* datagrams dropped, reported as a count once a second */
    server_key_t key;           /* the servers' shared key (or none: insecure) */
} backend_main_t;

static backend_main_t g; /* static: the loop's tables are large */

/* What the disk said when it failed an append's write or sync: BACKEND_DISK_NOSPACE or
 * _IOERR for the errors core refuses the write on (docs/PROTOCOL.md "disk errors"), 0 for
 * any other (a crash, as before). */
static int backend_disk_why(int e) {
    if (e == ENOSPC || e == EDQUOT || e == EFBIG) return BACKEND_DISK_NOSPACE;
    if (e == EIO) return BACKEND_DISK_IOERR;
    return 0;
}

static int backend_fx(void *ctx, const outbox_t *o, const fx_t *f, char *err, size_t err_cap) {
    backend_main_t *m = ctx;
    const uint8_t *bytes = outbox_bytes(o, f);
    char why[ERR_BYTES];
    int rc = 0;
    switch (f->kind) {
    case FX_DGRAM: {
        ssize_t n = sendto(m->udp_fd, bytes, f->data_len, 0, (const struct sockaddr *)&m->m_addr,
                           sizeof(m->m_addr));
        if (n < 0) /* a lost datagram: serverM retransmits its request */
            drive_drop(m->cfg.program, &m->drops, loop_now_us(), "unsent to serverM (%s)",
                       strerror(errno));
        return 0;
    }
    case FX_BLOCK_APPEND: case FX_BLOCK_SYNC: case FX_MARKER_WRITE:
        if (m->prep_why != 0) { /* the preparation failed: nothing more until its append */
            if (f->kind != FX_BLOCK_APPEND || f->token == 0) return 0;
            m->failed_token = f->token; /* never written: core cuts the preparation back */
            m->failed_why = m->prep_why;
            m->prep_why = 0;
            return 0;
        }
        break;
    default:
        break;
    }
    switch (f->kind) {
    case FX_BLOCK_APPEND:
        if (f->token != 0 && m->sync_count >= SYNC_TOKENS_MAX) {
            snprintf(err, err_cap, "more than %d appends wait for one sync", SYNC_TOKENS_MAX);
            return -1;
        }
        rc = disk_block_append(why, sizeof(why), &m->blk, bytes, f->data_len);
        if (rc < 0 && f->token != 0 && m->failed_token == 0 && backend_disk_why(errno) != 0) {
            /* refused, not a crash: core hears it once this drain is over (backend_drain) */
            m->failed_why = backend_disk_why(errno);
            m->failed_token = f->token;
            drive_warn(m->cfg.program, "%s: %s", m->cfg.block_path, why);
            return 0;
        }
        if (rc == 0 && f->token != 0) m->sync_tokens[m->sync_count++] = f->token;
        break;
    case FX_BLOCK_SYNC:
        rc = disk_block_sync(why, sizeof(why), &m->blk);
        break;
    case FX_BLOCK_TRUNCATE:
        rc = disk_block_truncate(why, sizeof(why), &m->blk, f->arg);
        break;
    case FX_MARKER_WRITE:
        rc = disk_block_mark(why, sizeof(why), &m->blk, bytes, f->data_len);
        break;
    case FX_MARKER_REMOVE:
        rc = disk_block_unmark(why, sizeof(why), &m->blk);
        break;
    case FX_TORN_APPEND:
        rc = disk_block_set_aside(why, sizeof(why), &m->blk, bytes, f->data_len);
        break;
    default:
        drive_warn(m->cfg.program, "ignored an effect of kind %d", (int)f->kind);
        return 0;
    }
    int prep = f->kind == FX_BLOCK_SYNC || f->kind == FX_MARKER_WRITE || (f->kind == FX_BLOCK_APPEND && f->token == 0);
    if (rc < 0 && prep && backend_disk_why(errno) != 0) {
        /* the first append's preparation (or start-up's or a stop's sync: then no append
         * follows and backend_drain exits, as before) */
        m->prep_why = backend_disk_why(errno);
        snprintf(m->prep_err, sizeof(m->prep_err), "%s", why);
        drive_warn(m->cfg.program, "%s: %s", m->cfg.block_path, why);
        return 0;
    }
    if (rc < 0) { /* a crash: the restart recovers from what the disk holds */
        snprintf(err, err_cap, "%s: %s", m->cfg.block_path, why);
        return -1;
    }
    return 0;
}

/* drive_drain, then what a failed append asks of core: backend_on_disk_error, whose drain
 * may write again (a held WRITE replayed; bounded like the sync rounds). A failed
 * preparation that no append followed (start-up's recovery steps, a clean stop's sync) is
 * a crash, as any other storage failure: the restart recovers from what the disk holds. */
static void backend_drain(backend_main_t *m) {
    drive_drain(&m->drive, &m->out);
    for (int round = 0; round < SYNC_ROUNDS_MAX && m->failed_token != 0; round++) {
        uint64_t token = m->failed_token;
        m->failed_token = 0;
        backend_on_disk_error(&m->node, loop_now_us(), token, m->failed_why, &m->out);
        drive_drain(&m->drive, &m->out);
    }
    if (m->prep_why != 0) drive_die(m->cfg.program, EXIT_RUNTIME, "%s: %s", m->cfg.block_path, m->prep_err);
}

/* Group commit: one fdatasync for every append written so far, then the acks. The acks'
 * drain may write new appends (replayed reads never do, but be bounded anyway): sync again.
 * A failed fdatasync is never retried (after it the kernel may have dropped the dirty pages:
 * PostgreSQL's "fsyncgate"): core cuts every append it covered away and refuses them. */
static void backend_sync(backend_main_t *m) {
    for (int round = 0; round < SYNC_ROUNDS_MAX && m->sync_count > 0; round++) {
        char why[ERR_BYTES];
        if (disk_block_sync(why, sizeof(why), &m->blk) < 0) {
            int kind = backend_disk_why(errno);
            if (kind == 0) drive_die(m->cfg.program, EXIT_RUNTIME, "%s: %s", m->cfg.block_path, why);
            drive_warn(m->cfg.program, "%s: %s", m->cfg.block_path, why);
            uint64_t oldest = m->sync_tokens[0]; /* the cut covers it and every later one */
            m->sync_count = 0;
            backend_on_disk_error(&m->node, loop_now_us(), oldest, kind, &m->out);
            backend_drain(m);
            continue;
        }
        uint64_t tokens[SYNC_TOKENS_MAX];
        size_t count = m->sync_count;
        memcpy(tokens, m->sync_tokens, count * sizeof(tokens[0]));
        m->sync_count = 0;
        for (size_t i = 0; i < count; i++) {
            backend_on_durable(&m->node, loop_now_us(), tokens[i], &m->out);
            backend_drain(m);
        }
    }
}

static void backend_on_readable(void *ctx, int fd, short revents) {
    backend_main_t *m = ctx;
    (void)revents;
    for (int i = 0; i < BACKEND_READS_PER_TURN && m->sync_count < BACKEND_PENDING_MAX; i++) {
        uint8_t buf[AUTH_DGRAM_BYTES_MAX];
        struct sockaddr_in src;
        socklen_t src_len = sizeof(src);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&src, &src_len);
        if (n < 0) break; /* EAGAIN: all read (other errors: ICMP noise, try next turn) */
        uint64_t now = loop_now_us();
        if (src_len != sizeof(src) || !sock_addr_equal(&src, &m->m_addr)) {
            char from[SOCK_ADDR_TEXT_BYTES];
            sock_addr_text(&src, from, sizeof(from));
            drive_drop(m->cfg.program, &m->drops, now, "from %s, not serverM", from);
            continue;
        }
        if ((size_t)n > sizeof(buf)) {
            drive_drop(m->cfg.program, &m->drops, now, "over %d bytes", AUTH_DGRAM_BYTES_MAX);
            continue;
        }
        /* the backend's clock is the wall clock: it bounds how far a QUERY may move the fence */
        backend_on_datagram(&m->node, loop_wall_us(), buf, (size_t)n, &m->out);
        backend_drain(m);
    }
}

/* Planted bug "restart-forgets-last-line" (real-mutants build only): a backend that finds
 * its marker (it was killed after appending: a restart after a crash) reads its block file
 * without the last line. Core's recovery then does its correct work on that shorter image:
 * the line stays in the file, but the backend's index lacks a confirmed transfer, so the
 * balances it answers miss it. Here in net/, not in core/blockfile.c, so that the
 * simulator's backends stay correct. */
static void backend_mutant_forget_last_line(const char *data, size_t *len, const char *marker) {
    if (marker == NULL) return;
    size_t end = *len;
    if (end > 0 && data[end - 1] == '\n') end--;
    while (end > 0 && data[end - 1] != '\n') end--;
    *len = end;
}

/* Locks and reads the block file, lets core decide what it means, binds the port, then
 * carries out core's recovery steps: every check that can refuse to start comes before the
 * first change on disk. */
static void backend_open(backend_main_t *m) {
    char err[ERR_BYTES];
    const char *prog = m->cfg.program;
    char *data, *marker;
    size_t len, marker_len;
    int rc = disk_block_open(err, sizeof(err), &m->blk, m->cfg.block_path);
    if (rc < 0) drive_die(prog, rc == DISK_BLOCK_IN_USE ? EXIT_RUNTIME : EXIT_CONFIG, "%s", err);
    if (disk_block_read(err, sizeof(err), &m->blk, &data, &len, &marker, &marker_len) < 0)
        drive_die(prog, EXIT_CONFIG, "%s", err);
    if (MUTANT(MUT_RESTART_FORGETS_LAST)) backend_mutant_forget_last_line(data, &len, marker);
    blockfile_recovery_t res;
    uint64_t epoch = 0; /* this run's boot epoch (backend_init): random, never 0 */
    for (int tries = 0; epoch == 0 && tries < 4; tries++)
        if (config_os_seed(&epoch) < 0) drive_die(prog, EXIT_RUNTIME, "no random bits for the boot epoch");
    if (epoch == 0) drive_die(prog, EXIT_RUNTIME, "the OS gave 0 as random bits four times");
    backend_init(&m->node, m->cfg.index, epoch);
    if (backend_load(&m->node, data, len, marker, marker_len, m->cfg.block_path, &res, err,
                     sizeof(err)) < 0)
        drive_die(prog, EXIT_RUNTIME, "%s", err);
    if (key_load(&m->key, &m->cfg, err, sizeof(err)) < 0) drive_die(prog, EXIT_CONFIG, "%s", err);
    key_announce(&m->key, prog);
    backend_set_auth(&m->node, &m->key.auth);
    uint16_t port = config_port_backend(&m->cfg, m->cfg.index);
    if (sock_addr(err, m->cfg.host[CONFIG_HOST_M], config_port_m_udp(&m->cfg), &m->m_addr) < 0 ||
        sock_udp_bind(err, m->cfg.host[m->cfg.index], port, &m->udp_fd) < 0)
        drive_die(prog, EXIT_RUNTIME, "%s", err);
    if (loop_catch_signals(&m->loop, err, sizeof(err)) < 0)
        drive_die(prog, EXIT_RUNTIME, "cannot start the event loop: %s", err);
    if (loop_add(&m->loop, m->udp_fd, POLLIN, backend_on_readable, m) < 0)
        drive_die(prog, EXIT_RUNTIME, "cannot start the event loop: epoll_ctl: %s", strerror(errno));
    backend_start(&m->node, data, &res, m->cfg.block_path, port, &m->out);
    /* The outbox holds copies of what the effects need: the image (as large as the file)
     * goes before "up and running", so a running backend holds only its index. */
    free(data);
    free(marker);
    backend_drain(m);
}

int main(int argc, char **argv) {
    backend_main_t *m = &g;
    char err[ERR_BYTES];
    setvbuf(stdout, NULL, _IOFBF, STDOUT_BUFFER_BYTES); /* flushed every loop turn (loop.c) */
    drive_mutant_select(argv[0]);
    if (config_load(&m->cfg, CONFIG_BACKEND, BACKEND_INDEX, argc, argv, err, sizeof(err)) < 0)
        drive_die(m->cfg.program, EXIT_CONFIG, "%s", err);
    if (m->cfg.help) {
        config_usage(&m->cfg, stdout);
        return 0;
    }
    outbox_init(&m->out);
    m->drive = (drive_t){.program = m->cfg.program, .fatal_exit_code = EXIT_RUNTIME, .on_fx = backend_fx, .ctx = m,
                         .drops = &m->drops};
    if (loop_init(&m->loop, err, sizeof(err)) < 0) drive_die(m->cfg.program, EXIT_RUNTIME, "%s", err);
    backend_open(m);
    /* every turn ends with its group sync, so a stop never leaves an ack unsent */
    while (!m->loop.stop || m->sync_count > 0) {
        uint64_t deadline = m->sync_count > 0 ? 0 : drive_drops_deadline_us(&m->drops);
        if (loop_turn(&m->loop, deadline, err, sizeof(err)) < 0)
            drive_die(m->cfg.program, EXIT_RUNTIME, "%s", err);
        backend_sync(m);
        drive_drops_report(m->cfg.program, &m->drops, loop_now_us());
    }
    backend_stop(&m->node, &m->out);
    backend_drain(m);
    drive_drops_report(m->cfg.program, &m->drops, UINT64_MAX); /* what the last second held */
    disk_block_close(&m->blk);
    close(m->udp_fd);
    loop_free(&m->loop);
    backend_free(&m->node);
    outbox_free(&m->out);
    return 0;
}
