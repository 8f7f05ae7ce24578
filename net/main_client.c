/* main_client.c — clientA/clientB (compiled once per letter with -DCLIENT_INDEX): parses
 * the command line, connects to serverM's port for this client, and lets core/client turn
 * the reply into the screen lines and the exit code (SPEC.md "Client exit codes"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "drive.h"
#include "loop.h"
#include "messages.h"
#include "mutant.h"
#include "sock.h"

#ifndef CLIENT_INDEX
#error "compile with -DCLIENT_INDEX=0 or 1"
#endif
_Static_assert(CLIENT_INDEX == 0 || CLIENT_INDEX == 1, "client index 0..1");

#define CLIENT_OUT_BYTES_MAX (4 * TCP_REQUEST_BYTES_MAX) /* the request line, with room */
#define CLIENT_READ_BYTES 4096
#define CLIENT_READS_PER_EVENT 16
#define ERR_BYTES 512

typedef struct {
    config_t cfg;
    client_t *client;
    outbox_t out;
    drive_t drive;
    loop_t loop;
    int fd;                     /* -1: none */
    int slot;                   /* in the loop */
    int connecting;
    int close_wanted;           /* the core asked to close once the request is sent */
    uint8_t buf[CLIENT_OUT_BYTES_MAX];
    size_t buf_off, buf_len;    /* bytes [buf_off, buf_len) still to send */
    int done;
    int exit_code;
} client_main_t;

static client_main_t g; /* static: the loop's tables are large */

static void client_close(client_main_t *m) {
    if (m->fd < 0) return;
    loop_del(&m->loop, m->slot);
    close(m->fd);
    m->fd = -1;
}

/* Sends what the socket takes; 0, or -1 when the connection broke. */
static int client_flush(client_main_t *m) {
    while (m->fd >= 0 && !m->connecting && m->buf_off < m->buf_len) {
        ssize_t n = send(m->fd, m->buf + m->buf_off, m->buf_len - m->buf_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) return -1;
        m->buf_off += (size_t)n;
    }
    if (m->fd >= 0 && !m->connecting) {
        int pending = m->buf_off < m->buf_len;
        if (!pending && m->close_wanted) client_close(m);
        else loop_set_events(&m->loop, m->slot, (short)(POLLIN | (pending ? POLLOUT : 0)));
    }
    return 0;
}

static int client_fx(void *ctx, const outbox_t *o, const fx_t *f, char *err, size_t err_cap) {
    client_main_t *m = ctx;
    switch (f->kind) {
    case FX_CONN_SEND:
        if (m->buf_off == m->buf_len) m->buf_off = m->buf_len = 0;
        if (f->data_len > sizeof(m->buf) - m->buf_len) {
            snprintf(err, err_cap, "a request of %zu bytes does not fit", f->data_len);
            return -1;
        }
        memcpy(m->buf + m->buf_len, outbox_bytes(o, f), f->data_len);
        m->buf_len += f->data_len;
        return 0;
    case FX_CONN_CLOSE:
        m->close_wanted = 1;
        return 0;
    case FX_DONE:
        m->done = 1;
        m->exit_code = (int)f->arg;
        return 0;
    default:
        drive_warn(m->cfg.program, "ignored an effect of kind %d", (int)f->kind);
        return 0;
    }
}

/* Planted bug "wrong-balance" (real-mutants build only): every balance line core wrote
 * ("The current balance of ... is : N alicoins.") leaves with N off by one, changed in the
 * outbox before it is printed: the last digit goes up, or a 9 down, so the line keeps its
 * length. Here in net/, not in core/client.c, so that the simulator stays correct and only
 * `compare` (or real mode's checkers) can see it. */
static void client_mutant_balance(outbox_t *o) {
    static const char suffix[] = " alicoins.";
    const size_t suffix_len = sizeof(suffix) - 1;
    const size_t prefix_len = strcspn(MSG_C_BALANCE, "%"); /* "The current balance of \"" */
    for (size_t i = 0; i < o->fx_count; i++) {
        const fx_t *f = &o->fx[i];
        char *line = (char *)o->data + f->data_off;
        if (f->kind != FX_STDOUT || f->data_len <= prefix_len + suffix_len ||
            memcmp(line, MSG_C_BALANCE, prefix_len) != 0 ||
            memcmp(line + f->data_len - suffix_len, suffix, suffix_len) != 0)
            continue;
        char *digit = line + f->data_len - suffix_len - 1;
        if (*digit >= '0' && *digit <= '9') *digit = *digit == '9' ? '8' : (char)(*digit + 1);
    }
}

/* After every core call: carry out its effects, then send what they queued. A broken
 * connection here shows up as a read error or EOF on the next turn. */
static void client_pump(client_main_t *m) {
    if (MUTANT(MUT_WRONG_BALANCE)) client_mutant_balance(&m->out);
    drive_drain(&m->drive, &m->out);
    if (client_flush(m) < 0 && !m->done) {
        client_close(m);
        client_on_closed(m->client, loop_now_us(), &m->out);
        drive_drain(&m->drive, &m->out);
    }
}

static void client_on_event(void *ctx, int fd, short revents) {
    client_main_t *m = ctx;
    if (m->connecting) {
        char err[SOCK_ERR_BYTES];
        m->connecting = 0;
        if (sock_connect_result(err, fd) < 0) {
            drive_warn(m->cfg.program, "%s:%u: %s", m->cfg.host[CONFIG_HOST_M],
                       (unsigned)config_port_client(&m->cfg, m->cfg.index), err);
            client_close(m);
            client_on_connect_failed(m->client, loop_now_us(), &m->out);
        } else {
            client_on_connected(m->client, loop_now_us(), &m->out);
        }
        client_pump(m);
        return;
    }
    if (revents & POLLOUT) client_pump(m);
    for (int i = 0; i < CLIENT_READS_PER_EVENT && m->fd >= 0 && !m->done; i++) {
        uint8_t buf[CLIENT_READ_BYTES];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
        if (n <= 0) { /* EOF or reset */
            client_close(m);
            client_on_closed(m->client, loop_now_us(), &m->out);
        } else {
            client_on_data(m->client, loop_now_us(), buf, (size_t)n, &m->out);
        }
        client_pump(m);
    }
}

static void client_connect(client_main_t *m) {
    char err[SOCK_ERR_BYTES];
    const char *host = m->cfg.host[CONFIG_HOST_M];
    uint16_t port = config_port_client(&m->cfg, m->cfg.index);
    int established = 0;
    if (sock_tcp_connect(err, host, port, &m->fd, &established) < 0) {
        m->fd = -1;
        drive_warn(m->cfg.program, "%s", err);
        client_on_connect_failed(m->client, loop_now_us(), &m->out);
        client_pump(m);
        return;
    }
    m->connecting = !established;
    m->slot = loop_add(&m->loop, m->fd, POLLOUT, client_on_event, m);
    if (m->slot < 0) drive_die(m->cfg.program, CLIENT_EXIT_FAILED, "epoll_ctl: %s", strerror(errno));
    if (established) {
        client_on_connected(m->client, loop_now_us(), &m->out);
        client_pump(m);
    }
}

static void client_usage_print(FILE *f) {
    fputs(client_usage(CLIENT_INDEX), f);
    config_client_usage(f);
}

int main(int argc, char **argv) {
    client_main_t *m = &g;
    char err[ERR_BYTES];
    setvbuf(stdout, NULL, _IOLBF, 0);
    drive_mutant_select(argv[0]);
    if (config_load(&m->cfg, CONFIG_CLIENT, CLIENT_INDEX, argc, argv, err, sizeof(err)) < 0) {
        drive_warn(m->cfg.program, "%s", err); /* a bad setting: one line */
        return CLIENT_EXIT_USAGE;
    }
    if (m->cfg.help) {
        client_usage_print(stdout);
        return 0;
    }
    /* the operation's words, after our flags; argv[first - 1] stands in for argv[0] */
    int first = m->cfg.args_first;
    wire_creq_t req;
    for (int i = first; i < argc && !m->cfg.args_ended; i++) {
        if (strncmp(argv[i], "--", 2) == 0) { /* an option after the operation: refused */
            drive_warn(m->cfg.program, "\"%.60s\" after the operation: options go before it (a "
                       "name starting with \"--\" goes after a \"--\")", argv[i]);
            return CLIENT_EXIT_USAGE;
        }
    }
    if (client_parse_argv(argc - first + 1, (const char *const *)(argv + first - 1), &req, err,
                          sizeof(err)) < 0) {
        drive_warn(m->cfg.program, "%s (try --help)", err); /* one line */
        return CLIENT_EXIT_USAGE;
    }
    m->client = client_new(CLIENT_INDEX, &req, m->cfg.client_timeout_ms);
    if (m->client == NULL) {
        fprintf(stderr, "%s: out of memory\n", m->cfg.program);
        return CLIENT_EXIT_FAILED;
    }
    outbox_init(&m->out);
    m->drive = (drive_t){.program = m->cfg.program, .fatal_exit_code = CLIENT_EXIT_FAILED,
                         .on_fx = client_fx, .ctx = m};
    if (loop_init(&m->loop, err, sizeof(err)) < 0) drive_die(m->cfg.program, CLIENT_EXIT_FAILED, "%s", err);
    m->fd = -1;
    client_start(m->client, loop_now_us(), &m->out);
    client_pump(m);
    if (!m->done) client_connect(m);
    while (!m->done) {
        if (loop_turn(&m->loop, client_deadline_us(m->client), err, sizeof(err)) < 0)
            drive_die(m->cfg.program, CLIENT_EXIT_FAILED, "%s", err);
        uint64_t now = loop_now_us();
        if (!m->done && now >= client_deadline_us(m->client)) {
            client_on_timer(m->client, now, &m->out);
            client_pump(m);
        }
    }
    client_close(m);
    client_free(m->client);
    outbox_free(&m->out);
    fflush(stdout);
    return m->exit_code;
}
