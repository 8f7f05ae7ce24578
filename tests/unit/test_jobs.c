/* test_jobs.c — serverM's jobs beside its batches (core/coord_jobs.c), on the
 * shared harness sim/world/nodes.h: a balance is answered while a TXLIST or a stats request is
 * paging (no head-of-line blocking); a TXLIST lists the ledger of the moment it began and
 * reaches the driver in chunks; a stats request parks the transfers of its user; a batch
 * validates one sender's transfers against running balances. Each test holds datagrams
 * back by type to put the jobs and batches where it wants them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "world/nodes.h"
#include "nodes_check.h"
#include "outbox.h"
#include "wire.h"

#define INCARNATION 100
#define TIMEOUT_MS 200
#define STEPS_MAX 200000
#define BIG_LINES 60000 /* about 1.4 MB of alichain.txt: more than one chunk */

#define RAW_BYTES 4096

/* What serverM handed to the driver for alichain.txt, and sent on raw connections. */
typedef struct {
    int more, last, aborts;
    char m_err[RAW_BYTES];      /* serverM's stderr lines */
    char raw[NODES_CONNS_MAX + 1][RAW_BYTES];
} files_t;

static void hook(void *ctx, int src, const fx_t *f, const uint8_t *data) {
    files_t *fl = ctx;
    if (src == NODES_SRC_M && f->kind == FX_CONN_SEND && f->target <= NODES_CONNS_MAX) {
        char *r = fl->raw[f->target];
        size_t have = strlen(r);
        if (have + f->data_len < RAW_BYTES) {
            memcpy(r + have, data, f->data_len);
            r[have + f->data_len] = '\0';
        }
    }
    if (src == NODES_SRC_M && f->kind == FX_STDERR) {
        size_t have = strlen(fl->m_err);
        if (have + f->data_len + 1 < RAW_BYTES) {
            memcpy(fl->m_err + have, data, f->data_len);
            fl->m_err[have + f->data_len] = '\n';
            fl->m_err[have + f->data_len + 1] = '\0';
        }
    }
    if (src != NODES_SRC_M || f->kind != FX_FILE_WRITE) return;
    if (f->arg == FX_FILE_MORE) fl->more++;
    else if (f->arg == FX_FILE_ABORT) fl->aborts++;
    else fl->last++;
}

static nodes_t *world_new(const char *const blocks[3], files_t *fl) {
    memset(fl, 0, sizeof(*fl));
    nodes_t *n = world_alloc(blocks, INCARNATION, TIMEOUT_MS, 1 << 16);
    n->hook = hook;
    n->hook_ctx = fl;
    return n;
}

static uint32_t client(nodes_t *n, int argc, const char *const *argv) {
    uint32_t c = nodes_client(n, 0, argc, argv);
    CHECK(c != 0);
    return c;
}

/* clientA asks for the TXLIST. */
static uint32_t txlist(nodes_t *n) {
    const char *tl[] = {"clientA", "TXLIST"};
    return client(n, 2, tl);
}

/* The request type of a queued datagram to a backend (0 for one to serverM). */
static int type_of(const nodes_dgram_t *g) { return g->to_coord ? 0 : g->data[2]; }

/* Delivers queued datagrams, oldest first, except requests of type `hold` (0: none) to
 * the backends in hold_mask, until `until` is done (a client finished) or nothing else can
 * move. Returns 1 when the client finished. */
static int deliver_except(nodes_t *n, int hold, unsigned hold_mask, uint32_t until) {
    for (int steps = 0; steps < STEPS_MAX; steps++) {
        if (until != 0 && n->conn[until].done) return 1;
        size_t i = 0;
        while (i < n->queued && type_of(&n->queue[i]) == hold && hold != 0 &&
               (hold_mask & (1u << n->queue[i].node)))
            i++;
        if (i == n->queued) return until != 0 && n->conn[until].done;
        nodes_deliver_queued(n, i, 0);
    }
    return 0;
}

static int count_queued(const nodes_t *n, int type) {
    int k = 0;
    for (size_t i = 0; i < n->queued; i++) k += type_of(&n->queue[i]) == type;
    return k;
}

/* A balance goes through while every LIST page of a TXLIST is held back. */
TEST(a_balance_is_answered_while_a_txlist_pages) {
    files_t fl;
    nodes_t *n = world_new(sample, &fl);
    uint32_t l = txlist(n);
    deliver_except(n, WIRE_LIST, 7, 0);
    CHECK_EQ(count_queued(n, WIRE_LIST), 3); /* the hellos are in: one page asked of each */
    const char *bal[] = {"clientB", "Ali"};
    uint32_t b = client(n, 2, bal);
    CHECK(deliver_except(n, WIRE_LIST, 7, b));
    CHECK(strstr(OUT(n, b), "The current balance of \"Ali\" is : 845 alicoins.") != NULL);
    CHECK(!n->conn[l].done);
    CHECK_EQ(nodes_run(n, 0), 0);
    CHECK(strstr(OUT(n, l), "The sorted list of 9 transactions is ready") != NULL);
    CHECK_EQ(fl.last, 1);
    world_free(n);
}

/* A transfer confirmed while the TXLIST's pages are held (its hellos answered first) is
 * not in the list: the listing is the ledger of the moment it began. */
TEST(a_txlist_lists_the_ledger_of_the_moment_it_began) {
    files_t fl;
    nodes_t *n = world_new(sample, &fl);
    uint32_t l = txlist(n);
    deliver_except(n, WIRE_LIST, 7, 0);
    const char *tr[] = {"clientB", "Ali", "Luke", "5"};
    uint32_t t = client(n, 4, tr);
    CHECK(deliver_except(n, WIRE_LIST, 7, t));
    CHECK_EQ(n->conn[t].exit_code, 0); /* serial 10, stored before any page was read */
    CHECK_EQ(nodes_run(n, 0), 0);
    CHECK(strstr(OUT(n, l), "The sorted list of 9 transactions is ready") != NULL);
    CHECK(strstr(text(&n->txlist), "10 Ali Luke 5") == NULL);
    CHECK(strstr(text(&n->txlist), "9 Ali Luke 155\n") != NULL);
    /* the next one has it */
    uint32_t l2 = txlist(n);
    CHECK_EQ(nodes_run(n, 0), 0);
    CHECK(strstr(OUT(n, l2), "The sorted list of 10 transactions is ready") != NULL);
    CHECK(strstr(text(&n->txlist), "9 Ali Luke 155\n10 Ali Luke 5\n") != NULL);
    world_free(n);
}

/* Blocks of BIG_LINES transactions in all, dealt to the three backends out of order. */
static char **big_blocks(void) {
    char **b = calloc(3, sizeof(char *));
    size_t cap = (size_t)BIG_LINES * 40;
    for (int i = 0; i < 3; i++) {
        b[i] = malloc(cap);
        b[i][0] = '\0';
    }
    size_t len[3] = {0, 0, 0};
    for (int s = BIG_LINES; s >= 1; s--) {
        int i = (s * 7) % 3;
        len[i] += (size_t)snprintf(b[i] + len[i], cap - len[i], "%d user%d user%d %d\n", s, s % 50,
                                   (s + 1) % 50, s % 90 + 1);
    }
    return b;
}

static void big_free(char **b) {
    for (int i = 0; i < 3; i++) free(b[i]);
    free(b);
}

/* A listing over 1 MiB reaches the driver in chunks that make up the sorted file. */
TEST(a_large_txlist_is_written_in_chunks) {
    char **blocks = big_blocks();
    files_t fl;
    nodes_t *n = world_new((const char *const *)blocks, &fl);
    uint32_t l = txlist(n);
    CHECK_EQ(nodes_run(n, 0), 0);
    char want[128];
    snprintf(want, sizeof(want), "The sorted list of %d transactions is ready", BIG_LINES);
    CHECK(strstr(OUT(n, l), want) != NULL);
    CHECK(fl.more >= 1);
    CHECK_EQ(fl.last, 1);
    CHECK_EQ(fl.aborts, 0);
    /* every serial once, in order */
    const char *p = text(&n->txlist);
    long expect = 1;
    int sorted = 1;
    while (*p != '\0') {
        if (strtol(p, NULL, 10) != expect) sorted = 0;
        expect++;
        p = strchr(p, '\n');
        if (p == NULL) break;
        p++;
    }
    CHECK(sorted);
    CHECK_EQ(expect - 1, BIG_LINES);
    world_free(n);
    big_free(blocks);
}

/* A backend lost after chunks went out: the file is abandoned, the client hears
 * "unavailable", alichain.txt keeps what it was. */
TEST(a_backend_lost_mid_listing_abandons_the_file) {
    char **blocks = big_blocks();
    files_t fl;
    nodes_t *n = world_new((const char *const *)blocks, &fl);
    uint32_t l = txlist(n);
    for (int steps = 0; steps < STEPS_MAX && fl.more == 0 && n->queued > 0; steps++)
        nodes_deliver_queued(n, 0, 0);
    CHECK(fl.more >= 1);
    n->drop_to[2] = 1; /* serverC is gone */
    CHECK_EQ(nodes_run(n, 0), 0);
    CHECK_EQ(n->conn[l].exit_code, 3);
    CHECK_EQ(fl.aborts, 1);
    CHECK_EQ(fl.last, 0);
    CHECK_EQ(n->txlist.len, 0);
    world_free(n);
    big_free(blocks);
}

/* A backend's listing that goes back in serial order from one page to the next fails the
 * TXLIST (INTERNAL), nothing written (within a page, the encoding cannot go back). */
TEST(a_list_out_of_order_fails_the_txlist) {
    files_t fl;
    nodes_t *n = world_new(sample, &fl);
    uint32_t l = txlist(n);
    deliver_except(n, WIRE_LIST, 1, 0); /* A's page held */
    size_t i = 0;
    while (i < n->queued && type_of(&n->queue[i]) != WIRE_LIST) i++;
    CHECK(i < n->queued);
    if (i < n->queued) {
        wire_req_t q;
        CHECK_EQ(wire_req_decode(n->queue[i].data, n->queue[i].len, &q), 0);
        nodes_deliver_queued(n, i, 1);
        wire_reply_t *rep = calloc(1, sizeof(*rep));
        rep->type = WIRE_LIST | WIRE_REPLY;
        rep->incarnation = q.incarnation;
        rep->request_id = q.request_id;
        rep->fence = q.incarnation;
        CHECK(q.u.list.pages >= 2);
        rep->u.list.count = 1; /* the window's first page: serial 5 */
        rep->u.list.next_cursor = 1;
        tx_set(&rep->u.list.txs[0], 5, "Chinmay", 7, "Oliver", 6, 129);
        uint8_t buf[DGRAM_BYTES_MAX];
        size_t len = wire_reply_encode(rep, buf, sizeof(buf));
        CHECK(len > 0);
        nodes_deliver(n, 1, 0, buf, len);
        rep->u.list.cursor = 1; /* its second: serial 1 */
        rep->u.list.next_cursor = 2;
        rep->u.list.done = 1;
        tx_set(&rep->u.list.txs[0], 1, "Racheal", 7, "John", 4, 45);
        len = wire_reply_encode(rep, buf, sizeof(buf));
        CHECK(len > 0);
        nodes_deliver(n, 1, 0, buf, len);
        free(rep);
    }
    CHECK_EQ(nodes_run(n, 0), 0);
    CHECK_EQ(n->conn[l].exit_code, 3);
    CHECK_EQ(fl.last, 0);
    CHECK_EQ(fl.more, 0);
    world_free(n);
}

/* While Rishil's stats page, a transfer naming Rishil waits; a balance of Rishil and a
 * transfer of others go through. The stats are those of before the transfer. */
TEST(stats_park_the_transfers_of_their_user) {
    files_t fl;
    nodes_t *n = world_new(sample, &fl);
    const char *st[] = {"clientA", "Rishil", "stats"};
    uint32_t s = client(n, 3, st);
    const char *tr[] = {"clientB", "Chinmay", "Rishil", "7"};
    uint32_t t = client(n, 4, tr);
    const char *other[] = {"clientB", "Ali", "Luke", "5"};
    uint32_t o = client(n, 4, other);
    const char *bal[] = {"clientA", "Rishil"};
    uint32_t b = client(n, 2, bal);
    CHECK(deliver_except(n, WIRE_STATS, 7, o));
    CHECK(deliver_except(n, WIRE_STATS, 7, b));
    CHECK_EQ(n->conn[o].exit_code, 0);
    CHECK(strstr(OUT(n, b), "The current balance of \"Rishil\" is : 960 alicoins.") != NULL);
    CHECK(!n->conn[t].done);
    CHECK(!n->conn[s].done);
    CHECK_EQ(nodes_run(n, 0), 0);
    CHECK(strstr(OUT(n, s), "Chinmay") != NULL);
    CHECK(strstr(OUT(n, s), "-10") != NULL || strstr(OUT(n, s), "10") != NULL);
    CHECK(strstr(OUT(n, s), "17") == NULL); /* 10 + 7: the transfer came after */
    CHECK_EQ(n->conn[t].exit_code, 0);
    world_free(n);
}

/* Counts the WRITE requests queued now and delivers everything. */
static int writes_while_running(nodes_t *n) {
    int writes = 0;
    for (int steps = 0; steps < STEPS_MAX && n->queued > 0; steps++) {
        writes += type_of(&n->queue[0]) == WIRE_WRITE;
        nodes_deliver_queued(n, 0, 0);
    }
    return writes;
}

/* Three transfers of one sender waiting together are one batch: validated one after the
 * other against running balances, written in one WRITE, serials in arrival order. */
TEST(one_senders_transfers_share_a_batch_and_a_write) {
    files_t fl;
    nodes_t *n = world_new(sample, &fl);
    const char *first[] = {"clientA", "Luke"}; /* a batch in flight: the rest waits */
    client(n, 2, first);
    const char *t1[] = {"clientA", "Chinmay", "Luke", "100"};
    const char *t2[] = {"clientB", "Chinmay", "Ali", "200"};
    const char *t3[] = {"clientA", "Chinmay", "Luke", "300"};
    uint32_t a = client(n, 4, t1), b = client(n, 4, t2), c = client(n, 4, t3);
    CHECK_EQ(writes_while_running(n), 1);
    CHECK_EQ(nodes_run(n, 0), 0);
    CHECK(strstr(OUT(n, a), "successfully transferred 100 alicoins") != NULL);
    CHECK(strstr(OUT(n, b), "successfully transferred 200 alicoins") != NULL);
    CHECK(strstr(OUT(n, c), "successfully transferred 300 alicoins") != NULL);
    CHECK(strstr(OUT(n, c), "The current balance of \"Chinmay\" is : 281 alicoins.") != NULL);
    world_free(n);
}

/* A transfer refused only because of an earlier one of its batch (which might still fail)
 * is decided by the next batch, from what is stored. */
TEST(a_refusal_that_depends_on_the_batch_waits_for_the_next) {
    files_t fl;
    nodes_t *n = world_new(sample, &fl);
    const char *first[] = {"clientA", "Luke"};
    client(n, 2, first);
    const char *t1[] = {"clientA", "Chinmay", "Luke", "800"};
    const char *t2[] = {"clientB", "Chinmay", "Ali", "100"};
    uint32_t a = client(n, 4, t1), b = client(n, 4, t2);
    int queries_before = 0;
    for (int steps = 0; steps < STEPS_MAX && n->queued > 0 && !n->conn[b].done; steps++) {
        if (n->conn[a].done && type_of(&n->queue[0]) == WIRE_QUERY) queries_before++;
        nodes_deliver_queued(n, 0, 0);
    }
    CHECK_EQ(nodes_run(n, 0), 0);
    CHECK_EQ(n->conn[a].exit_code, 0);
    CHECK_EQ(n->conn[b].exit_code, 1);
    CHECK(strstr(OUT(n, b), "insufficient balance") != NULL);
    CHECK(queries_before >= 3); /* fetched again after the first was stored */
    world_free(n);
}

/* A persistent connection on conn id `conn` with these request lines, all in one piece. */
static void pipeline(nodes_t *n, uint32_t conn, const char *lines) {
    nodes_conn_open(n, conn, 0);
    char buf[2048];
    int len = snprintf(buf, sizeof(buf), "ALICHAIN/1 KEEPALIVE\n%s", lines);
    nodes_conn_data(n, conn, (const uint8_t *)buf, (size_t)len);
}

/* A persistent connection's requests take effect in their order, even when they arrive
 * together behind a running batch: a balance after a transfer sees it, a TXLIST after it
 * lists it, a transfer after a TXLIST is not in that list. */
TEST(a_connections_requests_take_effect_in_order) {
    files_t *fl = calloc(1, sizeof(*fl));
    nodes_t *n = world_new(sample, fl);
    const char *first[] = {"clientA", "Luke"}; /* a batch in flight: the pipeline queues */
    client(n, 2, first);
    pipeline(n, 60, "ALICHAIN/1 TRANSFER Chinmay Luke 20\n"
                    "ALICHAIN/1 BALANCE Chinmay\n"
                    "ALICHAIN/1 TXLIST\n"
                    "ALICHAIN/1 TRANSFER Chinmay Luke 1\n"
                    "ALICHAIN/1 BALANCE Chinmay\n");
    CHECK_EQ(nodes_run(n, 0), 0);
    CHECK_STR(fl->raw[60], "OK KEEPALIVE\nOK TRANSFER 861 10\nOK BALANCE 861\n"
                           "OK TXLIST 10 alichain.txt\nOK TRANSFER 860 11\nOK BALANCE 860\n");
    world_free(n);
    free(fl);
}

/* Transfers of one connection keep their order when the first must wait: parked behind a
 * stats job of its user, or left to the next batch. */
TEST(a_connections_transfers_keep_their_order) {
    files_t *fl = calloc(1, sizeof(*fl));
    nodes_t *n = world_new(sample, fl);
    const char *st[] = {"clientB", "Rishil", "stats"};
    uint32_t s = client(n, 3, st);
    deliver_except(n, WIRE_STATS, 7, 0); /* the stats job runs: Rishil's transfers park */
    pipeline(n, 61, "ALICHAIN/1 TRANSFER Rishil Luke 5\n"
                    "ALICHAIN/1 TRANSFER Ali Luke 6\n");
    deliver_except(n, WIRE_STATS, 7, 0);
    CHECK(strstr(fl->raw[61], "OK TRANSFER") == NULL); /* the second waits behind the first */
    CHECK_EQ(nodes_run(n, 0), 0);
    CHECK(n->conn[s].done);
    CHECK_STR(fl->raw[61], "OK KEEPALIVE\nOK TRANSFER 955 10\nOK TRANSFER 839 11\n");
    /* a refusal left to the next batch: the transfers after it follow it there */
    const char *first[] = {"clientA", "Luke"};
    client(n, 2, first);
    pipeline(n, 62, "ALICHAIN/1 TRANSFER Chinmay Luke 800\n"
                    "ALICHAIN/1 TRANSFER Chinmay Ali 100\n"
                    "ALICHAIN/1 TRANSFER Ali Chinmay 50\n");
    CHECK_EQ(nodes_run(n, 0), 0);
    CHECK_STR(fl->raw[62], "OK KEEPALIVE\nOK TRANSFER 81 12\nREFUSED INSUFFICIENT 81\n"
                           "OK TRANSFER 789 13\n"); /* had it gone first, Chinmay could pay 100 */
    world_free(n);
    free(fl);
}

/* The sample with serial 1 in block2.txt too, and with serial 9 in block3.txt too. */
static const char *dup1[3] = {
    "5 Chinmay Oliver 129\n1 Racheal John 45\n9 Ali Luke 155\n",
    "2 Rishil Alice 30\n8 Rishil Chinmay 10\n3 Oliver Rachit 94\n1 Racheal John 45\n",
    "6 Racheal Alice 49\n4 Ben Victor 85\n7 Martin Luke 25\n",
};
static const char *dup9[3] = {
    "5 Chinmay Oliver 129\n1 Racheal John 45\n9 Ali Luke 155\n",
    "2 Rishil Alice 30\n8 Rishil Chinmay 10\n3 Oliver Rachit 94\n",
    "6 Racheal Alice 49\n4 Ben Victor 85\n7 Martin Luke 25\n9 Ali Luke 155\n",
};

/* A TXLIST over a serial of two blocks: named (serial and both backends) on serverM's
 * stderr, refused to the client, and no file reaches the driver. */
TEST(a_txlist_refuses_a_serial_stored_twice) {
    files_t fl;
    nodes_t *n = world_new(dup1, &fl);
    uint32_t l = txlist(n);
    CHECK_EQ(nodes_run(n, 0), 0);
    CHECK_EQ(n->conn[l].exit_code, 3);
    CHECK(strstr(fl.m_err, "serial 1 is stored by both serverA and serverB") != NULL);
    CHECK_EQ(fl.last, 0);
    CHECK_EQ(fl.more, 0);
    CHECK_EQ(n->txlist.len, 0);
    world_free(n);
    /* two equal largest serials: named by the hellos, before any page */
    n = world_new(dup9, &fl);
    l = txlist(n);
    CHECK_EQ(nodes_run(n, 0), 0);
    CHECK_EQ(n->conn[l].exit_code, 3);
    CHECK(strstr(fl.m_err, "serial 9 is stored by both serverA and serverC") != NULL);
    CHECK_EQ(fl.last, 0);
    world_free(n);
}

/* Balances, transfers and stats over a serial of two blocks: refused on the counts (ten
 * transactions under serials up to 9), nothing stored. */
TEST(balances_transfers_and_stats_refuse_a_serial_stored_twice) {
    files_t fl;
    nodes_t *n = world_new(dup1, &fl);
    const char *bal[] = {"clientA", "John"};
    const char *tr[] = {"clientB", "Racheal", "Ali", "5"};
    const char *st[] = {"clientA", "John", "stats"};
    uint32_t b = client(n, 2, bal), t = client(n, 4, tr), s = client(n, 3, st);
    CHECK_EQ(nodes_run(n, 0), 0);
    CHECK_EQ(n->conn[b].exit_code, 3);
    CHECK_EQ(n->conn[t].exit_code, 3);
    CHECK_EQ(n->conn[s].exit_code, 3);
    CHECK(strstr(OUT(n, b), "alicoins") == NULL);
    CHECK(strstr(OUT(n, s), "statistics are the following") == NULL);
    CHECK(strstr(fl.m_err, "hold 10 transactions under serials up to 9") != NULL);
    for (int be = 0; be < 3; be++) CHECK_EQ(n->be[be].ledger.max_serial <= 9, 1);
    world_free(n);
    /* the same requests over the sample are answered */
    n = world_new(sample, &fl);
    b = client(n, 2, bal);
    s = client(n, 3, st);
    CHECK_EQ(nodes_run(n, 0), 0);
    CHECK_EQ(n->conn[b].exit_code, 0);
    CHECK_EQ(n->conn[s].exit_code, 0);
    CHECK_EQ(fl.m_err[0], '\0');
    world_free(n);
}

int main(void) {
    RUN(a_txlist_refuses_a_serial_stored_twice);
    RUN(balances_transfers_and_stats_refuse_a_serial_stored_twice);
    RUN(a_balance_is_answered_while_a_txlist_pages);
    RUN(a_txlist_lists_the_ledger_of_the_moment_it_began);
    RUN(a_large_txlist_is_written_in_chunks);
    RUN(a_backend_lost_mid_listing_abandons_the_file);
    RUN(a_list_out_of_order_fails_the_txlist);
    RUN(stats_park_the_transfers_of_their_user);
    RUN(one_senders_transfers_share_a_batch_and_a_write);
    RUN(a_refusal_that_depends_on_the_batch_waits_for_the_next);
    RUN(a_connections_requests_take_effect_in_order);
    RUN(a_connections_transfers_keep_their_order);
    return CHECK_DONE();
}
