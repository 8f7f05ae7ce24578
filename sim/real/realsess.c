/* realsess.c — keep-alive sessions driven by the real-mode runner (realsess.h). One
 * nonblocking socket per session; what its members' core clients send is queued on it and
 * written as the socket takes it; replies are framed by core (wire_frame_take) and fed to
 * the oldest member still owed one, exactly as sim/world/session.c feeds the simulator's. */
#include "realsess.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "grow.h"
#include "outbox.h"

#define RS_READ_BYTES 4096
#define RS_READS_PER_SERVE 64     /* a session's reads in one turn: others get theirs */

typedef struct {
    uint8_t *p;
    size_t len, cap;
} rs_buf_t;

typedef struct {
    const scn_step_t *step;
    uint32_t session;         /* 1 + its session's op index; 0: none */
    int32_t sess;             /* this op is session sess (index into sess[]); -1: not one */
    int running;
    int joined;
    int disturbed;
    uint32_t seq;
    client_t *cl;
    rs_buf_t out, err;
} rs_op_t;

typedef struct {
    uint32_t op;
    int fd;                   /* -1: none (not started, or gone) */
    int connecting, connected;
    int got_ok, ended, closing, fin_pending, fin_sent;
    uint32_t members_total, members_started, lost;
    uint32_t *members;        /* op indices in request order: [0, sent) were sent */
    size_t member_count, member_cap, sent, head;
    wire_frame_t frame;
    rs_buf_t outq;            /* requests the socket has not taken yet: [outq_off, len) */
    size_t outq_off;
} rs_sess_t;

struct realsess {
    realsess_hooks_t h;
    uint32_t client_timeout_ms;
    rs_op_t *ops;
    size_t op_count;
    rs_sess_t *sess;
    size_t sess_count;
    outbox_t out;
};

static int buf_add(rs_buf_t *b, const void *d, size_t len, const char *prefix, int nl) {
    size_t pl = prefix ? strlen(prefix) : 0;
    if (grow_array(&b->p, &b->cap, b->len + pl + len + (size_t)nl + 1, 1) != AC_OK) return -1;
    memcpy(b->p + b->len, prefix ? prefix : "", pl);
    memcpy(b->p + b->len + pl, d, len);
    b->len += pl + len;
    if (nl) b->p[b->len++] = '\n';
    b->p[b->len] = '\0';
    return 0;
}

realsess_t *realsess_new(const scn_step_t *const *steps, size_t op_count, uint32_t client_timeout_ms,
                         const realsess_hooks_t *h) {
    realsess_t *rs = calloc(1, sizeof(*rs));
    if (rs == NULL) return NULL;
    rs->h = *h;
    rs->client_timeout_ms = client_timeout_ms;
    rs->op_count = op_count;
    rs->ops = calloc(op_count + 1, sizeof(*rs->ops));
    size_t sessions = 0;
    for (size_t i = 0; i < op_count; i++) sessions += steps[i]->keepalive != 0;
    rs->sess = calloc(sessions + 1, sizeof(*rs->sess));
    outbox_init(&rs->out);
    if (rs->ops == NULL || rs->sess == NULL) {
        realsess_free(rs);
        return NULL;
    }
    for (size_t i = 0; i < op_count; i++) {
        rs->ops[i].step = steps[i];
        rs->ops[i].sess = -1;
        if (!steps[i]->keepalive) continue;
        rs_sess_t *s = &rs->sess[rs->sess_count];
        s->op = (uint32_t)i;
        s->fd = -1;
        wire_frame_init(&s->frame);
        rs->ops[i].sess = (int32_t)rs->sess_count++;
    }
    /* O(members x sessions): sessions are few and the labels unique */
    for (size_t i = 0; i < op_count; i++) {
        if (steps[i]->session[0] == '\0' || steps[i]->keepalive) continue;
        for (size_t k = 0; k < rs->sess_count; k++) {
            rs_sess_t *s = &rs->sess[k];
            if (strcmp(steps[s->op]->label, steps[i]->session) != 0) continue;
            rs->ops[i].session = s->op + 1;
            s->members_total++;
            break;
        }
    }
    return rs;
}

void realsess_free(realsess_t *rs) {
    if (rs == NULL) return;
    for (size_t k = 0; rs->sess != NULL && k < rs->sess_count; k++) {
        if (rs->sess[k].fd >= 0) close(rs->sess[k].fd);
        free(rs->sess[k].members);
        free(rs->sess[k].outq.p);
    }
    for (size_t i = 0; rs->ops != NULL && i < rs->op_count; i++) {
        client_free(rs->ops[i].cl);
        free(rs->ops[i].out.p);
        free(rs->ops[i].err.p);
    }
    outbox_free(&rs->out);
    free(rs->sess);
    free(rs->ops);
    free(rs);
}

void realsess_output(const realsess_t *rs, uint32_t op, const char **out, size_t *out_len, const char **err,
                     size_t *err_len) {
    const rs_op_t *o = &rs->ops[op];
    *out = o->out.p ? (const char *)o->out.p : "";
    *out_len = o->out.len;
    *err = o->err.p ? (const char *)o->err.p : "";
    *err_len = o->err.len;
}

static void op_done(realsess_t *rs, uint32_t i, int code, uint64_t now) {
    rs_op_t *o = &rs->ops[i];
    if (!o->running) return;
    o->running = 0;
    realsess_end_t e = {.exit_code = code, .disturbed = o->disturbed, .session = o->joined ? o->session : 0,
                        .seq = o->seq};
    if (o->cl != NULL) {
        int ec = code;
        if (client_result(o->cl, &ec, &e.reply) && e.reply.kind != 0) e.have_reply = 1;
    }
    rs->h.done(rs->h.ctx, i, now, &e);
}

static void session_check_end(realsess_t *rs, rs_sess_t *s, uint64_t now);

/* Carries out what member i's client asked for (its request goes to its session's queue). */
static void drain(realsess_t *rs, uint32_t i, uint64_t now) {
    rs_op_t *o = &rs->ops[i];
    char prefix[] = "clientX: "; /* as net/drive.c prints core's stderr lines */
    prefix[6] = o->step->client ? 'B' : 'A';
    int done = -1;
    for (size_t k = 0; k < rs->out.fx_count; k++) {
        const fx_t *f = &rs->out.fx[k];
        const uint8_t *d = outbox_bytes(&rs->out, f);
        if (f->kind == FX_CONN_SEND && o->joined) {
            rs_sess_t *s = &rs->sess[rs->ops[o->session - 1].sess];
            if (s->fd >= 0 && !s->closing) (void)buf_add(&s->outq, d, f->data_len, NULL, 0);
        } else if (f->kind == FX_STDOUT) {
            (void)buf_add(&o->out, d, f->data_len, NULL, 1);
        } else if (f->kind == FX_STDERR) {
            (void)buf_add(&o->err, d, f->data_len, prefix, 1);
        } else if (f->kind == FX_DONE && done < 0) {
            done = (int)f->arg;
        }
    }
    outbox_clear(&rs->out);
    if (done < 0) return;
    op_done(rs, i, done, now);
    if (o->joined) session_check_end(rs, &rs->sess[rs->ops[o->session - 1].sess], now);
}

/* The session's process exits once nothing is owed and no operation of it is to come (or
 * the scenario ended it): 0 when every operation that joined got its reply. */
static void session_check_end(realsess_t *rs, rs_sess_t *s, uint64_t now) {
    if (!rs->ops[s->op].running || s->closing) return;
    if (!s->ended && s->members_started < s->members_total) return;
    if (s->head < s->member_count) return;
    op_done(rs, s->op, s->lost ? CLIENT_EXIT_FAILED : CLIENT_EXIT_OK, now);
}

static void fd_drop(rs_sess_t *s, int reset) {
    if (s->fd < 0) return;
    if (reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(s->fd);
    s->fd = -1;
}

/* The connection is gone (refused, closed by serverM, reset): every operation still waiting
 * hears so from its client (exit 3), then the session's process exits. */
static void session_fail_all(realsess_t *rs, rs_sess_t *s, int connect_failed, uint64_t now) {
    s->closing = 1;
    fd_drop(s, 0);
    for (size_t k = s->head; k < s->member_count; k++) {
        uint32_t m = s->members[k];
        rs_op_t *o = &rs->ops[m];
        if (!o->running || o->cl == NULL) continue;
        s->lost++;
        if (connect_failed && k >= s->sent) client_on_connect_failed(o->cl, now, &rs->out);
        else client_on_closed(o->cl, now, &rs->out);
        drain(rs, m, now);
    }
    s->head = s->member_count;
    op_done(rs, s->op, s->lost ? CLIENT_EXIT_FAILED : CLIENT_EXIT_OK, now);
}

static void member_send(realsess_t *rs, rs_sess_t *s, size_t k, uint64_t now) {
    uint32_t m = s->members[k];
    /* pipelining past the limit is the client's doing: ERROR BUSY is the protocol's answer */
    if (s->sent - s->head >= TCP_PIPELINE_MAX) rs->ops[m].disturbed = 1;
    s->sent++;
    client_on_connected(rs->ops[m].cl, now, &rs->out);
    drain(rs, m, now);
}

/* Writes what the socket takes, then the FIN of a shutdown once everything is out. */
static void session_flush(realsess_t *rs, rs_sess_t *s, uint64_t now) {
    while (s->fd >= 0 && s->connected && s->outq_off < s->outq.len) {
        ssize_t n = send(s->fd, s->outq.p + s->outq_off, s->outq.len - s->outq_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        if (n <= 0) {
            session_fail_all(rs, s, 0, now);
            return;
        }
        s->outq_off += (size_t)n;
    }
    if (s->outq_off == s->outq.len) s->outq_off = s->outq.len = 0;
    if (s->fd >= 0 && s->connected && s->fin_pending && !s->fin_sent && s->outq.len == 0) {
        (void)shutdown(s->fd, SHUT_WR);
        s->fin_sent = 1;
    }
}

static void session_connected(realsess_t *rs, rs_sess_t *s, uint64_t now) {
    s->connecting = 0;
    s->connected = 1;
    char hello[TCP_REQUEST_BYTES_MAX];
    size_t hello_len = wire_hello_encode(hello, sizeof(hello));
    (void)buf_add(&s->outq, hello, hello_len, NULL, 0);
    /* the operations that joined while it connected; those that gave up meanwhile leave */
    size_t keep = s->sent;
    for (size_t k = s->sent; k < s->member_count; k++) {
        uint32_t m = s->members[k];
        if (rs->ops[m].running && rs->ops[m].cl != NULL) s->members[keep++] = m;
    }
    s->member_count = keep;
    while (s->sent < s->member_count && rs->ops[s->op].running) member_send(rs, s, s->sent, now);
    session_flush(rs, s, now);
    session_check_end(rs, s, now);
}

void realsess_start(realsess_t *rs, uint32_t op, int fd, int rc, int err_no, uint64_t now_us) {
    rs_op_t *o = &rs->ops[op];
    rs_sess_t *s = &rs->sess[o->sess];
    o->running = 1;
    s->fd = fd;
    if (fd < 0 || (rc < 0 && err_no != EINPROGRESS)) {
        session_fail_all(rs, s, 1, now_us);
        return;
    }
    if (rc == 0) session_connected(rs, s, now_us);
    else s->connecting = 1;
}

int realsess_join(realsess_t *rs, uint32_t op, uint64_t now_us) {
    rs_op_t *o = &rs->ops[op];
    if (o->session == 0) return 0;
    rs_sess_t *s = &rs->sess[rs->ops[o->session - 1].sess];
    s->members_started++;
    /* a session that has not started, has ended or lost its connection: the operation makes
     * its own connection, as a client would after its keep-alive connection closed */
    if (!rs->ops[s->op].running || s->ended || s->closing || s->fd < 0) return 0;
    const scn_step_t *st = o->step;
    const char *argv[SCN_ARGS_MAX + 1] = {st->client ? "clientB" : "clientA"};
    for (int k = 0; k < st->argc && k < SCN_ARGS_MAX; k++) argv[k + 1] = st->argv[k];
    wire_creq_t req;
    char err[200];
    if (client_parse_argv(st->argc + 1, argv, &req, err, sizeof(err)) != 0) return 0; /* the real
                                          * client prints its usage: it runs as a process */
    if (grow_array(&s->members, &s->member_cap, s->member_count + 1, sizeof(uint32_t)) != AC_OK) return 0;
    o->cl = client_new(st->client, &req, rs->client_timeout_ms);
    if (o->cl == NULL) return 0;
    o->running = 1;
    o->joined = 1;
    o->seq = (uint32_t)s->member_count;
    client_start(o->cl, now_us, &rs->out);
    s->members[s->member_count++] = op;
    drain(rs, op, now_us);
    if (s->connected) {
        member_send(rs, s, s->member_count - 1, now_us);
        session_flush(rs, s, now_us);
    }
    return 1;
}

int realsess_end(realsess_t *rs, const char *label, int reset, uint64_t now_us) {
    rs_sess_t *s = NULL;
    for (size_t k = 0; k < rs->sess_count && s == NULL; k++) {
        if (strcmp(rs->ops[rs->sess[k].op].step->label, label) == 0) s = &rs->sess[k];
    }
    if (s == NULL || !rs->ops[s->op].running || s->ended) return 0; /* no such session running */
    s->ended = 1;
    if (!reset) { /* shutdown(SHUT_WR) after what is queued: serverM answers what it has */
        s->fin_pending = 1;
        session_flush(rs, s, now_us);
        session_check_end(rs, s, now_us);
        return 0;
    }
    for (size_t k = s->head; k < s->member_count; k++) rs->ops[s->members[k]].disturbed = 1;
    int had = s->fd >= 0;
    fd_drop(s, 1); /* SO_LINGER 0: a RST, the client's own reset */
    session_fail_all(rs, s, 0, now_us);
    return had;
}

/* Bytes of the reply being read go to the oldest member still waiting, as its own client
 * reads them; the hello's answer goes to no one, nor does the reply of a member that gave up. */
static void session_feed(realsess_t *rs, rs_sess_t *s, const uint8_t *data, size_t len, uint64_t now) {
    if (!s->got_ok || s->head >= s->sent || len == 0) return;
    uint32_t m = s->members[s->head];
    rs_op_t *o = &rs->ops[m];
    if (!o->running || o->cl == NULL) return; /* it gave up: its reply is dropped */
    client_on_data(o->cl, now, data, len, &rs->out);
    drain(rs, m, now);
}

static void session_reply_end(realsess_t *rs, rs_sess_t *s, int rc, uint64_t now) {
    if (!s->got_ok) {
        if (rc == 1 && s->frame.head.kind == CREP_KEEPALIVE) {
            s->got_ok = 1;
            return;
        }
        s->ended = 1; /* refused (ERROR BUSY at serverM's connection limit): nothing is served */
        session_fail_all(rs, s, 0, now);
        return;
    }
    if (s->head >= s->sent) {
        char msg[160];
        snprintf(msg, sizeof(msg), "session %s: serverM sent a reply no request waits for",
                 rs->ops[s->op].step->label);
        if (rs->h.violation != NULL) rs->h.violation(rs->h.ctx, "effects", now, msg);
        return;
    }
    s->head++;
    session_check_end(rs, s, now);
}

static void session_data(realsess_t *rs, rs_sess_t *s, const uint8_t *data, size_t len, uint64_t now) {
    size_t off = 0;
    while (off < len && !s->closing) {
        size_t used = 0;
        int rc = wire_frame_take(&s->frame, data + off, len - off, &used);
        if (rc == AC_EFULL) {
            char msg[160];
            snprintf(msg, sizeof(msg), "session %s: a reply line longer than %d bytes", rs->ops[s->op].step->label,
                     TCP_LINE_BYTES_MAX);
            if (rs->h.violation != NULL) rs->h.violation(rs->h.ctx, "effects", now, msg);
            wire_frame_init(&s->frame);
            return;
        }
        session_feed(rs, s, data + off, used, now);
        off += used;
        if (rc == 0) return;
        session_reply_end(rs, s, rc, now);
    }
}

int realsess_pollfds(const realsess_t *rs, struct pollfd *p, int cap) {
    int n = 0;
    for (size_t k = 0; k < rs->sess_count && n < cap; k++) {
        const rs_sess_t *s = &rs->sess[k];
        if (s->fd < 0 || !rs->ops[s->op].running) continue;
        short ev = s->connecting ? POLLOUT : (short)(POLLIN | (s->outq_off < s->outq.len ? POLLOUT : 0));
        p[n++] = (struct pollfd){.fd = s->fd, .events = ev};
    }
    return n;
}

static void session_serve(realsess_t *rs, rs_sess_t *s, uint64_t now) {
    if (s->connecting) {
        struct pollfd p = {.fd = s->fd, .events = POLLOUT};
        if (poll(&p, 1, 0) <= 0) return;
        int e = 0;
        socklen_t el = sizeof(e);
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e != 0) {
            session_fail_all(rs, s, 1, now);
            return;
        }
        session_connected(rs, s, now);
    }
    session_flush(rs, s, now);
    for (int r = 0; r < RS_READS_PER_SERVE && s->fd >= 0 && rs->ops[s->op].running; r++) {
        uint8_t buf[RS_READ_BYTES];
        ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
        if (n <= 0) { /* closed by serverM, or reset */
            session_fail_all(rs, s, 0, now);
            break;
        }
        session_data(rs, s, buf, (size_t)n, now);
    }
}

void realsess_serve(realsess_t *rs, uint64_t now_us) {
    for (size_t k = 0; k < rs->sess_count; k++) {
        rs_sess_t *s = &rs->sess[k];
        if (s->fd >= 0 && rs->ops[s->op].running) session_serve(rs, s, now_us);
    }
    for (size_t i = 0; i < rs->op_count; i++) { /* the members' own deadlines */
        rs_op_t *o = &rs->ops[i];
        if (!o->running || o->cl == NULL || client_deadline_us(o->cl) > now_us) continue;
        client_on_timer(o->cl, now_us, &rs->out);
        drain(rs, (uint32_t)i, now_us);
    }
}
