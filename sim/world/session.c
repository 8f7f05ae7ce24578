/* session.c — keep-alive sessions in the simulator: a "keepalive clientA" operation holds
 * one persistent connection to serverM (docs/PROTOCOL.md 2.5), and the operations "on" it
 * are client processes whose request lines go over that connection, pipelined. Each is
 * invoked when it starts and completed when its reply arrives, so the checkers see them as
 * they see any other operation; the session itself is not judged (its operations are). */
#include "world.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"

static sim_session_t *ka_of(world_t *w, uint32_t si) { return w->ops[si].ka; }

static sim_conn_t *session_conn(world_t *w, uint32_t si) {
    return link_conn(&w->link, w->ops[si].conn);
}

int session_init(world_t *w) {
    uint32_t sessions = 0;
    for (uint32_t i = 0; i < w->op_count; i++) {
        if (!w->ops[i].step->keepalive) continue;
        sim_session_t *ka = calloc(1, sizeof(*ka));
        if (ka == NULL) return AC_ENOMEM;
        wire_frame_init(&ka->frame);
        w->ops[i].ka = ka;
        sessions++;
    }
    if (sessions == 0) return 0;
    /* O(members x ops): sessions are few and the labels unique */
    for (uint32_t i = 0; i < w->op_count; i++) {
        const char *name = w->ops[i].step->session;
        if (name[0] == '\0' || w->ops[i].step->keepalive) continue;
        for (uint32_t j = 0; j < w->op_count; j++) {
            if (w->ops[j].ka == NULL || strcmp(w->ops[j].step->label, name) != 0) continue;
            w->ops[i].session = j + 1;
            w->ops[j].ka->members_total++;
            break;
        }
    }
    return 0;
}

void session_free(world_t *w) {
    for (uint32_t i = 0; w->ops != NULL && i < w->op_count; i++) {
        if (w->ops[i].ka == NULL) continue;
        free(w->ops[i].ka->members);
        free(w->ops[i].ka);
        w->ops[i].ka = NULL;
    }
}

/* The session's process exits once nothing is owed and no operation of it is to come (or
 * the scenario ended it): 0 when every operation that joined got its reply. */
static void session_check_end(world_t *w, uint32_t si) {
    sim_op_t *s = &w->ops[si];
    sim_session_t *ka = s->ka;
    if (s->state != OP_RUNNING || ka->closing) return;
    if (!ka->ended && ka->members_started < ka->members_total) return;
    if (ka->head < ka->member_count) return;
    world_op_finish(w, si, ka->lost ? CLIENT_EXIT_FAILED : CLIENT_EXIT_OK);
}

void session_start(world_t *w, uint32_t si) {
    sim_op_t *s = &w->ops[si];
    s->disturbed = 1;              /* not judged (nor its liveness): its operations are */
    const char *who = s->step->client ? "clientB" : "clientA";
    trace_event(w, TRACE_TRACK_OP0 + (int)si, "start", who, strlen(who), "%s: keepalive %s",
                s->step->label, who);
    s->conn = link_conn_new(&w->link, si);
    if (s->conn == 0) {
        w->stop = 1;
        return;
    }
    link_connect(&w->link, s->conn);
}

/* Sends members[k]'s request line (the op is running and has its client). */
static void member_send(world_t *w, uint32_t si, size_t k) {
    sim_session_t *ka = ka_of(w, si);
    uint32_t m = ka->members[k];
    AC_ASSERT(k == ka->sent);
    /* pipelining past the limit is the client's doing: ERROR BUSY is the protocol's answer */
    if (ka->sent - ka->head >= TCP_PIPELINE_MAX) w->ops[m].disturbed = 1;
    ka->sent++;
    client_on_connected(w->ops[m].cl, w->now_us, &w->out);
    world_drain_client(w, m);
}

int session_join(world_t *w, uint32_t i) {
    sim_op_t *op = &w->ops[i];
    if (op->session == 0) return 0;
    uint32_t si = op->session - 1;
    sim_op_t *s = &w->ops[si];
    sim_session_t *ka = s->ka;
    sim_conn_t *c = session_conn(w, si);
    /* a session that has not started, has ended or lost its connection: the operation
     * makes its own connection, as a client would after its keep-alive connection closed */
    if (s->state != OP_RUNNING || ka->ended || ka->closing || c == NULL || c->state == CONN_DEAD)
        return 0;
    if (grow_array(&ka->members, &ka->member_cap, ka->member_count + 1, sizeof(uint32_t)) != AC_OK) {
        world_violation(w, "runaway", "out of memory for a session's operations");
        w->stop = 1;
        return 1;
    }
    ka->members[ka->member_count++] = i;
    op->joined = 1;
    op->conn = s->conn;
    if (ka->connected) member_send(w, si, ka->member_count - 1);
    return 1;
}

void session_connected(world_t *w, uint32_t si) {
    sim_session_t *ka = ka_of(w, si);
    sim_op_t *s = &w->ops[si];
    ka->connected = 1;
    char hello[TCP_REQUEST_BYTES_MAX];
    size_t hello_len = wire_hello_encode(hello, sizeof(hello));
    AC_ASSERT(hello_len > 0);
    link_tcp_send(&w->link, s->conn, DIR_TO_M, (const uint8_t *)hello, hello_len);
    /* the operations that joined while it connected; those that gave up meanwhile leave
     * the list, so members[0..sent) stay exactly the requests sent, in order */
    size_t keep = ka->sent;
    for (size_t k = ka->sent; k < ka->member_count; k++) {
        uint32_t m = ka->members[k];
        if (w->ops[m].state == OP_RUNNING && w->ops[m].cl != NULL) ka->members[keep++] = m;
    }
    ka->member_count = keep;
    while (ka->sent < ka->member_count && s->state == OP_RUNNING) member_send(w, si, ka->sent);
    if (ka->fin_pending) link_tcp_fin(&w->link, s->conn, DIR_TO_M);
    session_check_end(w, si);
}

/* The connection is gone (refused, closed by serverM, reset): every operation still
 * waiting hears so from its client (exit 3), then the session's process exits. */
static void session_fail_all(world_t *w, uint32_t si, int connect_failed) {
    sim_session_t *ka = ka_of(w, si);
    ka->closing = 1;
    for (size_t k = ka->head; k < ka->member_count; k++) {
        uint32_t m = ka->members[k];
        sim_op_t *op = &w->ops[m];
        if (op->state != OP_RUNNING || op->cl == NULL) continue;
        ka->lost++;
        if (connect_failed && k >= ka->sent) client_on_connect_failed(op->cl, w->now_us, &w->out);
        else client_on_closed(op->cl, w->now_us, &w->out);
        world_drain_client(w, m);
    }
    ka->head = ka->member_count;
    if (w->ops[si].state == OP_RUNNING)
        world_op_finish(w, si, ka->lost ? CLIENT_EXIT_FAILED : CLIENT_EXIT_OK);
}

void session_connect_failed(world_t *w, uint32_t si) { session_fail_all(w, si, 1); }

void session_closed(world_t *w, uint32_t si) { session_fail_all(w, si, 0); }

/* Bytes of the reply being read go to the oldest operation still waiting, as its own client
 * reads them (it finishes when its reply is complete: the head line, or the last STATS row).
 * The hello's answer goes to no one, nor does the reply of an operation that gave up or one
 * no request waits for (session_reply_end reports that). */
static void session_feed(world_t *w, uint32_t si, const uint8_t *data, size_t len) {
    sim_session_t *ka = ka_of(w, si);
    if (!ka->got_ok || ka->head >= ka->sent || len == 0) return;
    uint32_t m = ka->members[ka->head];
    sim_op_t *op = &w->ops[m];
    if (op->state != OP_RUNNING || op->cl == NULL) return; /* it gave up: its reply is dropped */
    client_on_data(op->cl, w->now_us, data, len, &w->out);
    world_drain_client(w, m); /* may finish it */
}

/* A reply ended (rc 1), or a head line that is no reply did (AC_EINVAL: the oldest operation
 * got it as its reply, and fails on it as its own client would): the next reply is the next
 * operation's. */
static void session_reply_end(world_t *w, uint32_t si, int rc) {
    sim_session_t *ka = ka_of(w, si);
    if (!ka->got_ok) {
        if (rc == 1 && ka->frame.head.kind == CREP_KEEPALIVE) {
            ka->got_ok = 1;
            return;
        }
        /* refused (e.g. ERROR BUSY at serverM's connection limit): nothing will be served */
        ka->ended = 1;
        session_fail_all(w, si, 0);
        return;
    }
    if (ka->head >= ka->sent) {
        char head[TCP_LINE_BYTES_MAX];
        size_t n = rc == 1 ? wire_crep_encode(&ka->frame.head, head, sizeof(head)) : 0;
        world_violation(w, "effects", "session %s: serverM sent a reply no request waits for: "
                        "\"%.*s\"", w->ops[si].step->label, n > 0 ? (int)n - 1 : 0, head);
        return;
    }
    ka->head++;
    session_check_end(w, si);
}

void session_data(world_t *w, uint32_t si, const uint8_t *data, size_t len) {
    sim_session_t *ka = ka_of(w, si);
    size_t off = 0;
    while (off < len && w->ops[si].state == OP_RUNNING) {
        size_t used = 0;
        int rc = wire_frame_take(&ka->frame, data + off, len - off, &used);
        if (rc == AC_EFULL) {
            world_violation(w, "effects", "session %s: a reply line longer than %d bytes",
                            w->ops[si].step->label, TCP_LINE_BYTES_MAX);
            wire_frame_init(&ka->frame);
            return;
        }
        session_feed(w, si, data + off, used);
        off += used;
        if (rc == 0) return;
        session_reply_end(w, si, rc);
    }
}

void session_member_done(world_t *w, uint32_t i) {
    session_check_end(w, w->ops[i].session - 1); /* session_reply_end moves head on */
}

void session_m_sent(world_t *w, uint32_t si, const uint8_t *data, size_t len) {
    (void)data;
    (void)len;
    sim_session_t *ka = ka_of(w, si);
    uint32_t k = ka->m_sends++; /* replies leave in request order: send k answers request k-1 */
    if (k == 0 || k - 1 >= ka->sent) return;
    sim_op_t *op = &w->ops[ka->members[k - 1]];
    if (op->parsed && op->req.op == CREQ_TXLIST && op->file_version == 0)
        op->file_version = w->files.current;
}

void session_disturb(world_t *w, uint32_t si) {
    sim_session_t *ka = ka_of(w, si);
    for (size_t k = ka->head; k < ka->member_count; k++) w->ops[ka->members[k]].disturbed = 1;
}

void session_step(world_t *w, const scn_step_t *st) {
    uint32_t si = UINT32_MAX;
    for (uint32_t i = 0; i < w->op_count && si == UINT32_MAX; i++) {
        if (w->ops[i].ka != NULL && strcmp(w->ops[i].step->label, st->session) == 0) si = i;
    }
    const char *what = st->half_close ? "shutdown" : "reset";
    if (si == UINT32_MAX || w->ops[si].state != OP_RUNNING || w->ops[si].ka->ended) {
        trace_event(w, SIM_NODE_M, what, st->session, strlen(st->session), "%s %s: no such session running",
                    what, st->session);
        return;
    }
    sim_session_t *ka = w->ops[si].ka;
    sim_op_t *s = &w->ops[si];
    ka->ended = 1;
    trace_event(w, TRACE_TRACK_OP0 + (int)si, what, st->session, strlen(st->session), "%s %s", what,
                st->session);
    if (st->half_close) { /* shutdown(SHUT_WR): serverM answers what it has, then closes */
        if (ka->connected) link_tcp_fin(&w->link, s->conn, DIR_TO_M);
        else ka->fin_pending = 1;
        session_check_end(w, si);
        return;
    }
    session_disturb(w, si); /* the client's own reset: its operations in flight fail by design */
    link_tcp_reset(&w->link, s->conn, 1, 1);
}
