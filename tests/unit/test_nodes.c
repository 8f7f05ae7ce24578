/* test_nodes.c — unit tests of the three node state machines (coordinator, backend,
 * client) wired together in one process by a tiny synchronous harness: datagrams and TCP
 * bytes are delivered in order, disks sync at once, time jumps to the next deadline.
 * The simulator does faults at scale; this pins down exact behaviour case by case. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "check.h"
#include "client.h"
#include "coordinator.h"
#include "messages.h"
#include "mutant.h"

#define Q_MAX 4096
#define CLIENTS_MAX 64

typedef struct {
    int to;          /* 0..2 backend, 3 serverM */
    int from;
    size_t len;
    uint8_t data[DGRAM_BYTES_MAX];
} dgram_t;

typedef struct {
    backend_t b[3];
    int b_up[3];
    coord_t *m;
    uint64_t incarnation;
    outbox_t ob;
    dgram_t *q;
    size_t q_head, q_len;
    char disk[3][1 << 16];
    size_t disk_len[3];
    char txlist[1 << 16];
    size_t txlist_len;
    int drop_to[4];          /* datagrams to this node vanish */
    int hold_sync[3];        /* appends stay unsynced (no durable callback) */
    uint64_t held_token[3][16];
    int held_count[3];
    client_t *cl[CLIENTS_MAX];
    int cl_done[CLIENTS_MAX];
    int cl_exit[CLIENTS_MAX];
    char cl_out[CLIENTS_MAX][4096];
    int cl_count;
    char m_out[1 << 16];
    uint64_t now;
    uint32_t timeout_ms;
} world_t;

static const char *sample[3] = {
    "5 Chinmay Oliver 129\n1 Racheal John 45\n9 Ali Luke 155\n",
    "2 Rishil Alice 30\n8 Rishil Chinmay 10\n3 Oliver Rachit 94\n",
    "6 Racheal Alice 49\n4 Ben Victor 85\n7 Martin Luke 25\n",
};

static void world_coord_new(world_t *w) {
    coord_config_t cfg = {.incarnation = w->incarnation, .seed = 7, .timeout_ms = w->timeout_ms,
                          .backend_port = {21319, 22319, 23319}, .client_port = {25319, 26319},
                          .txlist_path = "alichain.txt"};
    w->m = coord_new(&cfg);
    CHECK(w->m != NULL);
}

static void world_backend_up(world_t *w, int i) {
    ledger_load_t res;
    char err[256];
    backend_init(&w->b[i], i);
    int rc = backend_load(&w->b[i], w->disk[i], w->disk_len[i], "block.txt", &res, err, sizeof(err));
    CHECK_EQ(rc, 0);
    w->b_up[i] = 1;
}

static void drain(world_t *w, int who);

static world_t *world_new(const char *const blocks[3]) {
    world_t *w = calloc(1, sizeof(*w));
    w->q = calloc(Q_MAX, sizeof(dgram_t));
    outbox_init(&w->ob);
    w->incarnation = 100;
    w->timeout_ms = 200;
    w->now = 1000000;
    for (int i = 0; i < 3; i++) {
        w->disk_len[i] = strlen(blocks[i]);
        memcpy(w->disk[i], blocks[i], w->disk_len[i]);
        world_backend_up(w, i);
    }
    world_coord_new(w);
    coord_start(w->m, w->now, &w->ob);
    drain(w, 3);
    return w;
}

static void world_free(world_t *w) {
    for (int i = 0; i < 3; i++) {
        if (w->b_up[i]) backend_free(&w->b[i]);
    }
    coord_free(w->m);
    for (int k = 0; k < w->cl_count; k++) client_free(w->cl[k]);
    outbox_free(&w->ob);
    free(w->q);
    free(w);
}

static void q_push(world_t *w, int from, int to, const uint8_t *d, size_t n) {
    if (w->drop_to[to]) return;
    CHECK(w->q_len < Q_MAX);
    dgram_t *g = &w->q[(w->q_head + w->q_len++) % Q_MAX];
    g->from = from;
    g->to = to;
    g->len = n;
    memcpy(g->data, d, n);
}

static void append(char *buf, size_t cap, const uint8_t *d, size_t n) {
    size_t l = strlen(buf);
    if (l + n + 2 > cap) return;
    memcpy(buf + l, d, n);
    buf[l + n] = '\n';
    buf[l + n + 1] = '\0';
}

/* Carries out the effects of node `who` (0..2 backend, 3 serverM, 4+k client k). */
static void drain(world_t *w, int who) {
    outbox_t o = w->ob; /* take the effects; the callbacks below reuse w->ob */
    outbox_init(&w->ob);
    for (size_t i = 0; i < o.fx_count; i++) {
        const fx_t *f = &o.fx[i];
        const uint8_t *d = outbox_bytes(&o, f);
        switch (f->kind) {
        case FX_DGRAM:
            q_push(w, who, who == 3 ? (int)f->target : 3, d, f->data_len);
            break;
        case FX_CONN_SEND:
            if (who == 3) { /* to client conn target */
                client_on_data(w->cl[f->target], w->now, d, f->data_len, &w->ob);
                drain(w, 4 + (int)f->target);
            } else {
                coord_on_conn_data(w->m, w->now, (uint32_t)(who - 4), d, f->data_len, &w->ob);
                drain(w, 3);
            }
            break;
        case FX_CONN_CLOSE:
            if (who == 3 && !w->cl_done[f->target]) {
                client_on_closed(w->cl[f->target], w->now, &w->ob);
                drain(w, 4 + (int)f->target);
            }
            break;
        case FX_APPEND_SYNC: {
            AC_ASSERT(who < 3);
            if (f->arg > 0) w->disk_len[who] -= f->arg;
            if (w->disk_len[who] > 0 && w->disk[who][w->disk_len[who] - 1] != '\n') {
                w->disk[who][w->disk_len[who]++] = '\n';
            }
            memcpy(w->disk[who] + w->disk_len[who], d, f->data_len);
            w->disk_len[who] += f->data_len;
            if (w->hold_sync[who]) {
                w->held_token[who][w->held_count[who]++] = f->token;
            } else {
                backend_on_durable(&w->b[who], w->now, f->token, &w->ob);
                drain(w, who);
            }
            break;
        }
        case FX_FILE_WRITE:
            memcpy(w->txlist, d, f->data_len);
            w->txlist_len = f->data_len;
            coord_on_file_written(w->m, w->now, f->token, 1, &w->ob);
            drain(w, 3);
            break;
        case FX_STDOUT:
            if (who == 3) append(w->m_out, sizeof(w->m_out), d, f->data_len);
            if (who >= 4) append(w->cl_out[who - 4], sizeof(w->cl_out[0]), d, f->data_len);
            break;
        case FX_STDERR:
            break;
        case FX_DONE:
            w->cl_done[who - 4] = 1;
            w->cl_exit[who - 4] = (int)f->arg;
            break;
        }
    }
    outbox_free(&o);
}

/* Starts a client operation; returns its index. */
static int op_start(world_t *w, int client_index, int argc, const char *const *argv) {
    wire_creq_t req;
    char err[128];
    int rc = client_parse_argv(argc, argv, &req, err, sizeof(err));
    CHECK_EQ(rc, 0);
    int k = w->cl_count++;
    w->cl[k] = client_new(client_index, &req, 5000);
    client_start(w->cl[k], w->now, &w->ob);
    drain(w, 4 + k);
    CHECK_EQ(coord_on_conn_open(w->m, w->now, (uint32_t)k, client_index, &w->ob), 0);
    drain(w, 3);
    client_on_connected(w->cl[k], w->now, &w->ob);
    drain(w, 4 + k);
    return k;
}

/* Delivers datagrams and fires timers until nothing is left to do (bounded); with
 * clients_only, until every client has finished. */
static void run_until(world_t *w, int clients_only) {
    for (int steps = 0; steps < 200000; steps++) {
        if (w->q_len > 0) {
            dgram_t g = w->q[w->q_head];
            w->q_head = (w->q_head + 1) % Q_MAX;
            w->q_len--;
            if (g.to == 3) {
                coord_on_datagram(w->m, w->now, g.from, g.data, g.len, &w->ob);
                drain(w, 3);
            } else if (w->b_up[g.to]) {
                backend_on_datagram(&w->b[g.to], w->now, g.data, g.len, &w->ob);
                drain(w, g.to);
            }
            continue;
        }
        uint64_t t = coord_deadline_us(w->m);
        int all_done = 1;
        for (int k = 0; k < w->cl_count; k++) all_done &= w->cl_done[k];
        if (t == UINT64_MAX || (all_done && (clients_only || coord_idle(w->m)))) return;
        if (t > w->now) w->now = t;
        coord_on_timer(w->m, w->now, &w->ob);
        drain(w, 3);
    }
    CHECK(0); /* did not settle */
}

static void run(world_t *w) { run_until(w, 0); }

static int64_t balance(world_t *w, const char *user) {
    const char *argv[] = {"clientA", user};
    int k = op_start(w, 0, 2, argv);
    run(w);
    CHECK(w->cl_done[k]);
    wire_crep_t rep;
    int code = -1;
    CHECK(client_result(w->cl[k], &code, &rep));
    CHECK_EQ(code, 0);
    if (code != 0) fprintf(stderr, "balance of %s failed:\n%s", user, w->cl_out[k]);
    return rep.balance;
}

TEST(test_worked_example) {
    world_t *w = world_new(sample);
    CHECK_EQ(balance(w, "Chinmay"), 881);
    CHECK_EQ(balance(w, "Luke"), 1180);
    const char *tx[] = {"clientA", "Chinmay", "Luke", "20"};
    int k = op_start(w, 0, 4, tx);
    run(w);
    CHECK_EQ(w->cl_exit[k], 0);
    CHECK_STR(w->cl_out[k], "The client A is up and running.\n"
                            "\"Chinmay\" has requested to transfer 20 coins to \"Luke\".\n"
                            "\"Chinmay\" successfully transferred 20 alicoins to \"Luke\".\n"
                            "The current balance of \"Chinmay\" is : 861 alicoins.\n");
    const char *st[] = {"clientA", "Chinmay", "stats"};
    k = op_start(w, 0, 3, st);
    run(w);
    CHECK_EQ(w->cl_exit[k], 0);
    CHECK_STR(w->cl_out[k], "The client A is up and running.\n"
                            "\"Chinmay\" sent a statistics enquiry request to the main server.\n"
                            "\"Chinmay\" statistics are the following.:\n"
                            "Rank--Username--NumofTransactions--Total\n"
                            "1     Luke                1          -20\n"
                            "2     Oliver              1          -129\n"
                            "3     Rishil              1          10\n");
    const char *tl[] = {"clientB", "TXLIST"};
    k = op_start(w, 1, 2, tl);
    run(w);
    CHECK_EQ(w->cl_exit[k], 0);
    CHECK_STR(w->cl_out[k], "The client B is up and running.\n"
                            "Client B sent a sorted list request to the main server.\n"
                            "The sorted list of 10 transactions is ready in alichain.txt on the main server.\n");
    w->txlist[w->txlist_len] = '\0';
    CHECK_STR(w->txlist, "1 Racheal John 45\n2 Rishil Alice 30\n3 Oliver Rachit 94\n4 Ben Victor 85\n"
                         "5 Chinmay Oliver 129\n6 Racheal Alice 49\n7 Martin Luke 25\n8 Rishil Chinmay 10\n"
                         "9 Ali Luke 155\n10 Chinmay Luke 20\n");
    CHECK(strstr(w->m_out, "The main server received input=\"Chinmay\" from the client using TCP over port 25319.\n"));
    CHECK(strstr(w->m_out, "The main server received transactions from Server B using UDP over port 22319.\n"));
    CHECK(strstr(w->m_out, "The main server wrote the sorted list to alichain.txt.\n"));
    world_free(w);
}

TEST(test_refusals) {
    world_t *w = world_new(sample);
    const char *a[] = {"clientA", "Nobody"};
    int k = op_start(w, 0, 2, a);
    run(w);
    CHECK_EQ(w->cl_exit[k], 1);
    CHECK(strstr(w->cl_out[k], "Unable to proceed with the request as \"Nobody\" is not part of the network.\n"));
    const char *b[] = {"clientA", "Chinmay", "Nobody", "5"};
    k = op_start(w, 0, 4, b);
    run(w);
    CHECK_EQ(w->cl_exit[k], 1);
    CHECK(strstr(w->cl_out[k], "Unable to proceed with the transaction as \"Nobody\" is not part of the network.\n"));
    const char *c[] = {"clientA", "X1", "X2", "5"};
    k = op_start(w, 0, 4, c);
    run(w);
    CHECK_EQ(w->cl_exit[k], 1);
    CHECK(strstr(w->cl_out[k], "as \"X1\" and \"X2\" are not part of the network.\n"));
    const char *d[] = {"clientA", "Chinmay", "Luke", "882"};
    k = op_start(w, 0, 4, d);
    run(w);
    CHECK_EQ(w->cl_exit[k], 1);
    CHECK(strstr(w->cl_out[k], "\"Chinmay\" was unable to transfer 882 alicoins to \"Luke\" because of insufficient balance.\n"
                               "The current balance of \"Chinmay\" is : 881 alicoins.\n"));
    const char *e[] = {"clientA", "Luke", "Luke", "1"};
    k = op_start(w, 0, 4, e);
    run(w);
    CHECK_EQ(w->cl_exit[k], 1);
    const char *f[] = {"clientA", "Nobody", "stats"};
    k = op_start(w, 0, 3, f);
    run(w);
    CHECK_EQ(w->cl_exit[k], 1);
    world_free(w);
}

/* 45 transfers of 50 from a 1000 balance arrive together: exactly 20 succeed. */
TEST(test_racing_transfers) {
    const char *blocks[3] = {"1 Rich Poor 1\n", "2 Poor Rich 1\n", ""};
    world_t *w = world_new(blocks);
    const char *argv[] = {"clientA", "Rich", "Poor", "50"};
    int first = w->cl_count;
    for (int i = 0; i < 45; i++) op_start(w, i % 2, 4, argv);
    run(w);
    int ok = 0, refused = 0;
    uint64_t serial_seen[64] = {0};
    for (int k = first; k < w->cl_count; k++) {
        wire_crep_t rep;
        int code;
        CHECK(client_result(w->cl[k], &code, &rep));
        if (code == 0) {
            ok++;
            CHECK(rep.serial >= 3 && rep.serial < 3 + 20);
            serial_seen[rep.serial]++;
        }
        if (code == 1) refused++;
    }
    CHECK_EQ(ok, 20);
    CHECK_EQ(refused, 25);
    for (int s = 3; s < 23; s++) CHECK_EQ(serial_seen[s], 1);
    CHECK_EQ(balance(w, "Rich"), 0);
    world_free(w);
}

/* A silent backend: reads fail "unavailable" within the deadline, and serverM recovers. */
TEST(test_backend_unavailable) {
    world_t *w = world_new(sample);
    w->drop_to[2] = 1;
    const char *a[] = {"clientA", "Chinmay"};
    int k = op_start(w, 0, 2, a);
    run(w);
    CHECK_EQ(w->cl_exit[k], 3);
    w->drop_to[2] = 0;
    CHECK_EQ(balance(w, "Chinmay"), 881);
    world_free(w);
}

/* A write whose backend stops answering: "unknown", retried, then it lands exactly once
 * and the next transfer gets the next serial. */
TEST(test_write_in_doubt) {
    world_t *w = world_new(sample);
    w->hold_sync[0] = w->hold_sync[1] = w->hold_sync[2] = 1;
    const char *tx[] = {"clientA", "Chinmay", "Luke", "20"};
    int k = op_start(w, 0, 4, tx);
    run_until(w, 1);
    CHECK_EQ(w->cl_exit[k], 3);
    CHECK(!coord_idle(w->m)); /* still retrying the write */
    /* the disks sync now; the retransmission gets the answer */
    int be = -1;
    for (int i = 0; i < 3; i++) {
        w->hold_sync[i] = 0;
        for (int h = 0; h < w->held_count[i]; h++) {
            backend_on_durable(&w->b[i], w->now, w->held_token[i][h], &w->ob);
            drain(w, i);
            be = i;
        }
        w->held_count[i] = 0;
    }
    CHECK(be >= 0);
    run(w);
    CHECK_EQ(balance(w, "Chinmay"), 861);
    const char *tx2[] = {"clientA", "Chinmay", "Luke", "1"};
    k = op_start(w, 0, 4, tx2);
    run(w);
    wire_crep_t rep;
    int code;
    CHECK(client_result(w->cl[k], &code, &rep));
    CHECK_EQ(code, 0);
    CHECK_EQ(rep.serial, 11);
    world_free(w);
}

/* A restarted serverM (new incarnation) fences the old one out of every backend. */
TEST(test_fencing) {
    world_t *w = world_new(sample);
    CHECK_EQ(balance(w, "Chinmay"), 881);
    /* an old WRITE, as a previous serverM would have sent it */
    wire_req_t old;
    memset(&old, 0, sizeof(old));
    old.type = WIRE_WRITE;
    old.incarnation = 99;
    old.request_id = 1;
    old.u.write.count = 1;
    tx_set(&old.u.write.txs[0], 10, "Ali", 3, "Luke", 4, 5);
    uint8_t buf[DGRAM_BYTES_MAX];
    size_t n = wire_req_encode(&old, buf, sizeof(buf));
    backend_on_datagram(&w->b[0], w->now, buf, n, &w->ob);
    outbox_clear(&w->ob);
    CHECK_EQ(ledger_find_serial(&w->b[0].ledger, 10), -1);
    /* a restarted backend refuses even the current incarnation's write until a QUERY */
    backend_free(&w->b[1]);
    world_backend_up(w, 1);
    old.incarnation = 100;
    n = wire_req_encode(&old, buf, sizeof(buf));
    backend_on_datagram(&w->b[1], w->now, buf, n, &w->ob);
    CHECK_EQ(w->ob.fx_count >= 1, 1);
    wire_reply_t rep;
    int found = 0;
    for (size_t i = 0; i < w->ob.fx_count; i++) {
        if (w->ob.fx[i].kind != FX_DGRAM) continue;
        CHECK_EQ(wire_reply_decode(outbox_bytes(&w->ob, &w->ob.fx[i]), w->ob.fx[i].data_len, &rep), 0);
        CHECK_EQ(rep.status, WIRE_ST_UNFENCED);
        found = 1;
    }
    CHECK(found);
    outbox_clear(&w->ob);
    /* serverM restarted with backend B restarted too: transfers still work (hello path) */
    const char *tx[] = {"clientA", "Chinmay", "Luke", "20"};
    int k = op_start(w, 0, 4, tx);
    run(w);
    CHECK_EQ(w->cl_exit[k], 0);
    world_free(w);
}

/* Garbage on the TCP port and the UDP ports never crashes anything. */
TEST(test_garbage) {
    world_t *w = world_new(sample);
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof(junk); i++) junk[i] = (uint8_t)(i * 37 + 11);
    coord_on_datagram(w->m, w->now, 0, junk, sizeof(junk), &w->ob);
    coord_on_datagram(w->m, w->now, 5, junk, 10, &w->ob);
    backend_on_datagram(&w->b[0], w->now, junk, sizeof(junk), &w->ob);
    outbox_clear(&w->ob);
    CHECK_EQ(coord_on_conn_open(w->m, w->now, 500, 0, &w->ob), 0);
    coord_on_conn_data(w->m, w->now, 500, junk, sizeof(junk), &w->ob);
    int closed = 0;
    for (size_t i = 0; i < w->ob.fx_count; i++) closed += w->ob.fx[i].kind == FX_CONN_CLOSE;
    CHECK_EQ(closed, 1);
    outbox_clear(&w->ob);
    CHECK_EQ(coord_on_conn_open(w->m, w->now, 501, 1, &w->ob), 0);
    coord_on_conn_data(w->m, w->now, 501, (const uint8_t *)"ALICHAIN/1 NOPE\n", 16, &w->ob);
    closed = 0;
    for (size_t i = 0; i < w->ob.fx_count; i++) closed += w->ob.fx[i].kind == FX_CONN_CLOSE;
    CHECK_EQ(closed, 1);
    outbox_clear(&w->ob);
    /* an idle connection is closed after CONN_IDLE_US */
    CHECK_EQ(coord_on_conn_open(w->m, w->now, 502, 1, &w->ob), 0);
    CHECK_EQ(coord_deadline_us(w->m), w->now + CONN_IDLE_US);
    coord_on_timer(w->m, w->now + CONN_IDLE_US, &w->ob);
    closed = 0;
    for (size_t i = 0; i < w->ob.fx_count; i++) closed += w->ob.fx[i].kind == FX_CONN_CLOSE;
    CHECK_EQ(closed, 1);
    outbox_clear(&w->ob);
    CHECK_EQ(balance(w, "Luke"), 1180);
    world_free(w);
}

/* A torn-but-parseable last line is replaced by serverM's retransmitted write. */
TEST(test_tail_replacement) {
    const char *blocks[3] = {"1 A B 5\n2 A B 2", "", ""};
    world_t *w = world_new(blocks);
    CHECK_EQ(w->b[0].tail_open, 1);
    wire_req_t req;
    memset(&req, 0, sizeof(req));
    req.type = WIRE_QUERY;
    req.incarnation = 100;
    req.request_id = 1;
    uint8_t buf[DGRAM_BYTES_MAX];
    size_t n = wire_req_encode(&req, buf, sizeof(buf));
    backend_on_datagram(&w->b[0], w->now, buf, n, &w->ob);
    outbox_clear(&w->ob);
    req.type = WIRE_WRITE;
    req.request_id = 2;
    req.u.write.count = 1;
    tx_set(&req.u.write.txs[0], 2, "A", 1, "B", 1, 25);
    n = wire_req_encode(&req, buf, sizeof(buf));
    backend_on_datagram(&w->b[0], w->now, buf, n, &w->ob);
    drain(w, 0);
    w->disk[0][w->disk_len[0]] = '\0';
    CHECK_STR(w->disk[0], "1 A B 5\n2 A B 25\n");
    ledger_totals_t t;
    ledger_totals(&w->b[0].ledger, "A", 1, &t);
    CHECK_EQ(t.sent, 30);
    world_free(w);
}

TEST(test_argv) {
    wire_creq_t r;
    char err[128];
    const char *a1[] = {"c"};
    CHECK_EQ(client_parse_argv(1, a1, &r, err, sizeof(err)), AC_EINVAL);
    const char *a2[] = {"c", "bad name"};
    CHECK_EQ(client_parse_argv(2, a2, &r, err, sizeof(err)), AC_EINVAL);
    const char *a3[] = {"c", "Bob", "STATS"};
    CHECK_EQ(client_parse_argv(3, a3, &r, err, sizeof(err)), AC_EINVAL);
    const char *a4[] = {"c", "Bob", "Al", "0"};
    CHECK_EQ(client_parse_argv(4, a4, &r, err, sizeof(err)), AC_EINVAL);
    const char *a5[] = {"c", "Bob", "Al", "1000000000000"};
    CHECK_EQ(client_parse_argv(4, a5, &r, err, sizeof(err)), 0);
    CHECK_EQ(r.amount, 1000000000000LL);
    const char *a6[] = {"c", "Bob", "x/y", "5"};
    CHECK_EQ(client_parse_argv(4, a6, &r, err, sizeof(err)), AC_EINVAL);
    const char *a7[] = {"c", "1", "2", "3", "4"};
    CHECK_EQ(client_parse_argv(5, a7, &r, err, sizeof(err)), AC_EINVAL);
    CHECK(strstr(client_usage(0), "clientA") != NULL);
    CHECK(strstr(client_usage(1), "clientB") != NULL);
}

int main(void) {
    RUN(test_worked_example);
    RUN(test_refusals);
    RUN(test_racing_transfers);
    RUN(test_backend_unavailable);
    RUN(test_write_in_doubt);
    RUN(test_fencing);
    RUN(test_garbage);
    RUN(test_tail_replacement);
    RUN(test_argv);
    return CHECK_DONE();
}
