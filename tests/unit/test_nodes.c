/* test_nodes.c — unit tests of the three node state machines (coordinator, backend,
 * client) wired together in one process by the shared harness sim/world/nodes.h (the same
 * simulated disk and recovery path as the simulator and fuzz_nodes): datagrams delivered
 * in order, disks synced at once unless a test holds them, time jumping to the next
 * deadline. The simulator does faults at scale; this pins down exact behaviour case by case. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "messages.h"
#include "world/nodes.h"
#include "nodes_check.h"

#define INCARNATION 100
#define TIMEOUT_MS 200

static nodes_t *world_new(const char *const blocks[3]) {
    return world_alloc(blocks, INCARNATION, TIMEOUT_MS, 4096);
}

static uint32_t op_start(nodes_t *n, int client_index, int argc, const char *const *argv) {
    uint32_t c = nodes_client(n, client_index, argc, argv);
    CHECK(c != 0);
    return c;
}

static void run(nodes_t *n) { CHECK_EQ(nodes_run(n, 0), 0); }

#define EXIT(n, k) ((n)->conn[k].exit_code)

static int64_t balance(nodes_t *n, const char *user) {
    const char *argv[] = {"clientA", user};
    uint32_t k = op_start(n, 0, 2, argv);
    run(n);
    CHECK(n->conn[k].done);
    wire_crep_t rep;
    int code = -1;
    CHECK(client_result(n->conn[k].cl, &code, &rep));
    CHECK_EQ(code, 0);
    if (code != 0) fprintf(stderr, "balance of %s failed:\n%s", user, OUT(n, k));
    return rep.balance;
}

/* The backend whose disk holds this exact line, or -1. */
static int disk_holding(nodes_t *n, const char *line) {
    for (int b = 0; b < BACKEND_COUNT; b++) {
        if (strstr(text(&n->disk[b].file), line) != NULL) return b;
    }
    return -1;
}

TEST(test_worked_example) {
    nodes_t *w = world_new(sample);
    CHECK_EQ(balance(w, "Chinmay"), 881);
    CHECK_EQ(balance(w, "Luke"), 1180);
    const char *tx[] = {"clientA", "Chinmay", "Luke", "20"};
    uint32_t k = op_start(w, 0, 4, tx);
    run(w);
    CHECK_EQ(EXIT(w, k), 0);
    CHECK_STR(OUT(w, k), "The client A is up and running.\n"
                            "\"Chinmay\" has requested to transfer 20 coins to \"Luke\".\n"
                            "\"Chinmay\" successfully transferred 20 alicoins to \"Luke\".\n"
                            "The current balance of \"Chinmay\" is : 861 alicoins.\n");
    const char *st[] = {"clientA", "Chinmay", "stats"};
    k = op_start(w, 0, 3, st);
    run(w);
    CHECK_EQ(EXIT(w, k), 0);
    CHECK_STR(OUT(w, k), "The client A is up and running.\n"
                            "\"Chinmay\" sent a statistics enquiry request to the main server.\n"
                            "\"Chinmay\" statistics are the following.:\n"
                            "Rank--Username--NumofTransactions--Total\n"
                            "1     Luke                1          -20\n"
                            "2     Oliver              1          -129\n"
                            "3     Rishil              1          10\n");
    const char *tl[] = {"clientB", "TXLIST"};
    k = op_start(w, 1, 2, tl);
    run(w);
    CHECK_EQ(EXIT(w, k), 0);
    CHECK_STR(OUT(w, k), "The client B is up and running.\n"
                            "Client B sent a sorted list request to the main server.\n"
                            "The sorted list of 10 transactions is ready in alichain.txt on the main server.\n");
    CHECK_STR(text(&w->txlist), "1 Racheal John 45\n2 Rishil Alice 30\n3 Oliver Rachit 94\n4 Ben Victor 85\n"
                         "5 Chinmay Oliver 129\n6 Racheal Alice 49\n7 Martin Luke 25\n8 Rishil Chinmay 10\n"
                         "9 Ali Luke 155\n10 Chinmay Luke 20\n");
    CHECK(strstr(text(&w->m_out), "The main server received input=\"Chinmay\" from the client using TCP over port 25319.\n"));
    CHECK(strstr(text(&w->m_out), "The main server received transactions from Server B using UDP over port 22319.\n"));
    CHECK(strstr(text(&w->m_out), "The main server wrote the sorted list to alichain.txt.\n"));
    world_free(w);
}

TEST(test_refusals) {
    nodes_t *w = world_new(sample);
    const char *a[] = {"clientA", "Nobody"};
    uint32_t k = op_start(w, 0, 2, a);
    run(w);
    CHECK_EQ(EXIT(w, k), 1);
    CHECK(strstr(OUT(w, k), "Unable to proceed with the request as \"Nobody\" is not part of the network.\n"));
    const char *b[] = {"clientA", "Chinmay", "Nobody", "5"};
    k = op_start(w, 0, 4, b);
    run(w);
    CHECK_EQ(EXIT(w, k), 1);
    CHECK(strstr(OUT(w, k), "Unable to proceed with the transaction as \"Nobody\" is not part of the network.\n"));
    const char *c[] = {"clientA", "X1", "X2", "5"};
    k = op_start(w, 0, 4, c);
    run(w);
    CHECK_EQ(EXIT(w, k), 1);
    CHECK(strstr(OUT(w, k), "as \"X1\" and \"X2\" are not part of the network.\n"));
    const char *d[] = {"clientA", "Chinmay", "Luke", "882"};
    k = op_start(w, 0, 4, d);
    run(w);
    CHECK_EQ(EXIT(w, k), 1);
    CHECK(strstr(OUT(w, k), "\"Chinmay\" was unable to transfer 882 alicoins to \"Luke\" because of insufficient balance.\n"
                               "The current balance of \"Chinmay\" is : 881 alicoins.\n"));
    const char *e[] = {"clientA", "Luke", "Luke", "1"};
    k = op_start(w, 0, 4, e);
    run(w);
    CHECK_EQ(EXIT(w, k), 1);
    const char *f[] = {"clientA", "Nobody", "stats"};
    k = op_start(w, 0, 3, f);
    run(w);
    CHECK_EQ(EXIT(w, k), 1);
    world_free(w);
}

TEST(test_racing_transfers) {
    const char *blocks[3] = {"1 Rich Poor 1\n", "2 Poor Rich 1\n", ""};
    nodes_t *w = world_new(blocks);
    const char *argv[] = {"clientA", "Rich", "Poor", "50"};
    uint32_t conns[45];
    for (int i = 0; i < 45; i++) conns[i] = op_start(w, i % 2, 4, argv);
    run(w);
    int ok = 0, refused = 0;
    uint64_t serial_seen[64] = {0};
    for (int i = 0; i < 45; i++) {
        wire_crep_t rep;
        int code;
        CHECK(client_result(w->conn[conns[i]].cl, &code, &rep));
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

TEST(test_backend_unavailable) {
    nodes_t *w = world_new(sample);
    w->drop_to[2] = 1;
    const char *a[] = {"clientA", "Chinmay"};
    uint32_t k = op_start(w, 0, 2, a);
    run(w);
    CHECK_EQ(EXIT(w, k), 3);
    w->drop_to[2] = 0;
    CHECK_EQ(balance(w, "Chinmay"), 881);
    world_free(w);
}

/* A write whose backend stops answering: "unknown", retried, then it lands exactly once
 * and the next transfer gets the next serial. */
TEST(test_write_in_doubt) {
    nodes_t *w = world_new(sample);
    for (int b = 0; b < BACKEND_COUNT; b++) w->sync_at_once[b] = 0;
    const char *tx[] = {"clientA", "Chinmay", "Luke", "20"};
    uint32_t k = op_start(w, 0, 4, tx);
    CHECK_EQ(nodes_run(w, 1), 0);
    CHECK_EQ(EXIT(w, k), 3);
    CHECK(!coord_idle(w->m)); /* still retrying the write */
    /* the disks sync now; the retransmission gets the answer */
    int synced = 0;
    while (nodes_complete(w, 0, 1)) synced++;
    CHECK_EQ(synced, 1);
    for (int b = 0; b < BACKEND_COUNT; b++) w->sync_at_once[b] = 1;
    run(w);
    CHECK_EQ(balance(w, "Chinmay"), 861);
    const char *tx2[] = {"clientA", "Chinmay", "Luke", "1"};
    k = op_start(w, 0, 4, tx2);
    run(w);
    wire_crep_t rep;
    int code;
    CHECK(client_result(w->conn[k].cl, &code, &rep));
    CHECK_EQ(code, 0);
    CHECK_EQ(rep.serial, 11);
    world_free(w);
}

/* The last datagram serverM would receive, decoded. */
static void last_reply(nodes_t *w, wire_reply_t *rep) {
    CHECK(w->queued > 0);
    if (w->queued == 0) return;
    const nodes_dgram_t *g = &w->queue[w->queued - 1];
    CHECK(g->to_coord);
    CHECK_EQ(wire_reply_decode(g->data, g->len, rep), 0);
}

/* A write as serverM of incarnation `inc` would send it to the backend run of `epoch`. */
static size_t write_of(uint64_t inc, uint64_t epoch, uint64_t id, uint64_t serial, const char *s,
                       const char *r, int64_t amount, uint8_t *buf) {
    wire_req_t req;
    memset(&req, 0, sizeof(req));
    req.type = WIRE_WRITE;
    req.incarnation = inc;
    req.request_id = id;
    req.u.write.epoch = epoch;
    req.u.write.count = 1;
    tx_set(&req.u.write.txs[0], serial, s, strlen(s), r, strlen(r), amount);
    return wire_req_encode(&req, buf, DGRAM_BYTES_MAX);
}

static size_t query_of(uint64_t inc, uint64_t id, uint8_t *buf) {
    wire_req_t req;
    memset(&req, 0, sizeof(req));
    req.type = WIRE_QUERY;
    req.incarnation = inc;
    req.request_id = id;
    return wire_req_encode(&req, buf, DGRAM_BYTES_MAX);
}

/* A write meant for an earlier run of a backend (a delayed copy, sent before the backend
 * restarted) is refused by the new run even once serverM's QUERY has fenced it: the new run
 * never knew what the old one refused (swarm seed 8000, regress/P8). The copy carrying the
 * new run's epoch, learned from its hello's answer, is stored. */
TEST(test_write_for_an_earlier_run) {
    nodes_t *w = world_new(sample);
    CHECK_EQ(balance(w, "Chinmay"), 881);
    uint8_t buf[DGRAM_BYTES_MAX];
    uint64_t old_epoch = w->be[0].epoch;
    CHECK_EQ(nodes_backend_restart(w, 0, 0), 0);
    CHECK(w->be[0].epoch != old_epoch);
    size_t n = query_of(INCARNATION, 900, buf);
    nodes_deliver(w, 0, 0, buf, n);
    wire_reply_t rep;
    last_reply(w, &rep);
    CHECK_EQ(rep.status, WIRE_ST_OK);
    CHECK_EQ(rep.epoch, w->be[0].epoch);
    n = write_of(INCARNATION, old_epoch, 901, 10, "Ali", "Luke", 5, buf);
    nodes_deliver(w, 0, 0, buf, n);
    last_reply(w, &rep);
    CHECK_EQ(rep.status, WIRE_ST_EPOCH);
    CHECK_EQ(rep.epoch, w->be[0].epoch);
    CHECK_EQ(ledger_find_serial(&w->be[0].ledger, 10), -1);
    n = write_of(INCARNATION, w->be[0].epoch, 902, 10, "Ali", "Luke", 5, buf);
    nodes_deliver(w, 0, 0, buf, n);
    run(w);
    CHECK(ledger_find_serial(&w->be[0].ledger, 10) >= 0);
    world_free(w);
}

/* A restarted serverM (new incarnation) fences the old one out of every backend. */
TEST(test_fencing) {
    nodes_t *w = world_new(sample);
    CHECK_EQ(balance(w, "Chinmay"), 881);
    uint8_t buf[DGRAM_BYTES_MAX];
    /* an old WRITE, as a previous serverM would have sent it: STALE, nothing stored */
    size_t n = write_of(INCARNATION - 1, w->be[0].epoch, 1, 10, "Ali", "Luke", 5, buf);
    nodes_deliver(w, 0, 0, buf, n);
    wire_reply_t rep;
    last_reply(w, &rep);
    CHECK_EQ(rep.status, WIRE_ST_STALE);
    CHECK_EQ(ledger_find_serial(&w->be[0].ledger, 10), -1);
    /* a restarted backend refuses even the current incarnation's write until a QUERY */
    CHECK_EQ(nodes_backend_restart(w, 1, 0), 0);
    n = write_of(INCARNATION, w->be[1].epoch, 2, 10, "Ali", "Luke", 5, buf);
    nodes_deliver(w, 0, 1, buf, n);
    last_reply(w, &rep);
    CHECK_EQ(rep.status, WIRE_ST_UNFENCED);
    CHECK_EQ(ledger_find_serial(&w->be[1].ledger, 10), -1);
    w->queued = 0;
    /* and transfers still work */
    const char *tx[] = {"clientA", "Chinmay", "Luke", "20"};
    uint32_t k = op_start(w, 0, 4, tx);
    run(w);
    CHECK_EQ(EXIT(w, k), 0);
    world_free(w);
}

/* Garbage on the TCP port and the UDP ports never crashes anything. */
TEST(test_garbage) {
    nodes_t *w = world_new(sample);
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof(junk); i++) junk[i] = (uint8_t)(i * 37 + 11);
    nodes_deliver(w, 1, 0, junk, sizeof(junk));
    nodes_deliver(w, 0, 0, junk, sizeof(junk));
    CHECK_EQ(w->queued, 0); /* nothing answers garbage */
    nodes_conn_open(w, 60, 0);
    nodes_conn_data(w, 60, junk, sizeof(junk));
    CHECK_EQ(w->conn[60].open, 0); /* closed by serverM */
    nodes_conn_open(w, 61, 1);
    nodes_conn_data(w, 61, (const uint8_t *)"ALICHAIN/1 NOPE\n", 16);
    CHECK_EQ(w->conn[61].open, 0);
    /* an idle connection is closed after CONN_IDLE_US */
    nodes_conn_open(w, 62, 1);
    CHECK_EQ(coord_deadline_us(w->m), w->now + CONN_IDLE_US);
    nodes_timer(w, w->now + CONN_IDLE_US);
    CHECK_EQ(w->conn[62].open, 0);
    CHECK_EQ(balance(w, "Luke"), 1180);
    world_free(w);
}

/* A hand-written last line without its newline counts; a WRITE of its serial with another
 * line is a conflict that changes nothing (there is no tail replacement). */
TEST(test_hand_written_tail) {
    const char *blocks[3] = {"1 A B 5\n2 A B 2", "", ""};
    nodes_t *w = world_new(blocks);
    CHECK_EQ(balance(w, "A"), 993);
    uint8_t buf[DGRAM_BYTES_MAX];
    size_t n = query_of(INCARNATION, 900, buf);
    nodes_deliver(w, 0, 0, buf, n);
    wire_reply_t rep;
    last_reply(w, &rep); /* the hello's answer: the epoch of serverA's run */
    n = write_of(INCARNATION, rep.epoch, 901, 2, "A", "B", 25, buf);
    nodes_deliver(w, 0, 0, buf, n);
    last_reply(w, &rep);
    CHECK_EQ(rep.status, WIRE_ST_OK);
    CHECK_EQ(rep.u.write.results[0], WIRE_TX_CONFLICT);
    w->queued = 0;
    CHECK_STR(text(&w->disk[0].file), "1 A B 5\n2 A B 2");
    CHECK_EQ(w->disk[0].marker_present, 0);
    CHECK_EQ(balance(w, "A"), 993);
    /* a transfer appends; on block1 the hand-written line gets its '\n' first */
    const char *tx[] = {"clientA", "A", "B", "1"};
    uint32_t k = op_start(w, 0, 4, tx);
    run(w);
    CHECK_EQ(EXIT(w, k), 0);
    int b = disk_holding(w, "3 A B 1\n");
    CHECK(b >= 0);
    if (b >= 0) {
        CHECK_STR(text(&w->disk[b].file), b == 0 ? "1 A B 5\n2 A B 2\n3 A B 1\n" : "3 A B 1\n");
        CHECK_EQ(w->disk[b].marker_present, 1);
    }
    /* a restart of every backend: the same ledger; the markers are gone */
    for (int i = 0; i < BACKEND_COUNT; i++) {
        CHECK_EQ(nodes_backend_restart(w, i, 0), 0);
        CHECK_EQ(w->disk[i].marker_present, 0);
    }
    CHECK_EQ(balance(w, "A"), 992);
    world_free(w);
}

/* A crash tears an unsynced append so that what is left parses ("4 A B 1" of
 * "4 A B 10"): recovery sets it aside, serverM's retry then stores the real line once. */
TEST(test_torn_append_that_parses) {
    const char *blocks[3] = {"1 A B 5\n", "2 B A 3\n", "3 A C 1\n"};
    nodes_t *w = world_new(blocks);
    for (int b = 0; b < BACKEND_COUNT; b++) w->sync_at_once[b] = 0;
    const char *tx[] = {"clientA", "A", "B", "10"};
    uint32_t k = op_start(w, 0, 4, tx);
    CHECK_EQ(nodes_run(w, 1), 0);
    CHECK_EQ(EXIT(w, k), 3); /* outcome unknown: the append never synced */
    int b = disk_holding(w, "4 A B 10\n");
    CHECK(b >= 0);
    if (b < 0) {
        world_free(w);
        return;
    }
    CHECK_EQ(w->disk[b].marker_present, 1);
    size_t unsynced = simdisk_unsynced(&w->disk[b]);
    CHECK_EQ(unsynced, strlen("4 A B 10\n"));
    CHECK_EQ(nodes_backend_restart(w, b, unsynced - 2), 0); /* keeps "4 A B 1" */
    CHECK_STR(text(&w->disk[b].torn), "4 A B 1\n");
    CHECK_EQ(ledger_find_serial(&w->be[b].ledger, 4), -1);
    CHECK_EQ(w->disk[b].marker_present, 0);
    for (int i = 0; i < BACKEND_COUNT; i++) w->sync_at_once[i] = 1;
    CHECK_EQ(nodes_heal(w), 1);
    int holders = 0;
    for (int i = 0; i < BACKEND_COUNT; i++) holders += ledger_find_serial(&w->be[i].ledger, 4) >= 0;
    CHECK_EQ(holders, 1);
    CHECK_EQ(balance(w, "A"), 1000 - 5 + 3 - 1 - 10);
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
    RUN(test_write_for_an_earlier_run);
    RUN(test_garbage);
    RUN(test_hand_written_tail);
    RUN(test_torn_append_that_parses);
    RUN(test_argv);
    return CHECK_DONE();
}
