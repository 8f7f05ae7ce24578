/* test_sim_history.c — unit tests of the simulator's end-of-run checkers (sim/judge/history.c)
 * on hand-made histories: each checker must fire on the history that breaks its rule and
 * stay quiet on the legal ones next to it (concurrent reads, unknown outcomes, ...). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "judge/history.h"

#define H_MAX 32
#define MS 1000u

typedef struct {
    tx_t initial[H_MAX];
    size_t ni;
    hist_stored_t stored[H_MAX];
    size_t ns;
    hist_op_t ops[H_MAX];
    size_t nops;
    int settled;
    char seen[H_MAX][32];
    int nseen;
    uint8_t model[H_MAX];     /* per op: what the check made of its answer (hist_model_t) */
} hist_fixture_t;

static void on_violation(void *ctx, const char *checker, uint64_t at_us, const char *msg) {
    hist_fixture_t *f = ctx;
    (void)at_us;
    (void)msg;
    if (f->nseen < H_MAX) snprintf(f->seen[f->nseen++], sizeof(f->seen[0]), "%s", checker);
}

static int fx_run(hist_fixture_t *f) {
    hist_input_t in = {.initial = f->initial, .initial_count = f->ni, .stored = f->stored,
                       .stored_count = f->ns, .ops = f->ops, .op_count = f->nops,
                       .settled = f->settled, .model = f->model};
    f->nseen = 0;
    return history_check(&in, on_violation, f);
}

static int fx_saw(const hist_fixture_t *f, const char *checker) {
    for (int i = 0; i < f->nseen; i++) {
        if (strcmp(f->seen[i], checker) == 0) return 1;
    }
    return 0;
}

static void mk_tx(tx_t *t, uint64_t serial, const char *s, const char *r, int64_t amount) {
    tx_set(t, serial, s, strlen(s), r, strlen(r), amount);
}

/* Initial: 1 Ann Bob 100 (on A), 2 Bob Cid 50 (on B). Ann 900, Bob 1050, Cid 1050. */
static void fx_init(hist_fixture_t *f) {
    memset(f, 0, sizeof(*f));
    f->settled = 1;
    mk_tx(&f->initial[0], 1, "Ann", "Bob", 100);
    mk_tx(&f->initial[1], 2, "Bob", "Cid", 50);
    f->ni = 2;
    f->stored[0].tx = f->initial[0];
    f->stored[0].backend = 0;
    f->stored[1].tx = f->initial[1];
    f->stored[1].backend = 1;
    f->ns = 2;
}

static void fx_store(hist_fixture_t *f, int backend, uint64_t serial, const char *s, const char *r,
                     int64_t amount) {
    mk_tx(&f->stored[f->ns].tx, serial, s, r, amount);
    f->stored[f->ns].backend = (uint8_t)backend;
    f->ns++;
}

static hist_op_t *fx_transfer(hist_fixture_t *f, const char *label, const char *s, const char *r,
                              int64_t amount, uint64_t inv_ms, uint64_t resp_ms) {
    hist_op_t *op = &f->ops[f->nops++];
    memset(op, 0, sizeof(*op));
    op->label = label;
    op->op = CREQ_TRANSFER;
    op->user = s;
    op->receiver = r;
    op->amount = amount;
    op->inv_us = inv_ms * MS;
    op->resp_us = resp_ms == 0 ? HIST_NO_RESPONSE : resp_ms * MS;
    op->status = HIST_NONE;
    return op;
}

static void fx_ok(hist_op_t *op, uint64_t serial, int64_t balance) {
    op->status = HIST_OK;
    op->reply.kind = CREP_TRANSFER;
    op->reply.serial = serial;
    op->reply.balance = balance;
}

/* A read answered OK (the caller sets its reply's fields). */
static hist_op_t *fx_read(hist_fixture_t *f, const char *label, creq_op_t what, const char *user,
                          uint64_t inv_ms, uint64_t resp_ms, crep_kind_t kind) {
    hist_op_t *op = &f->ops[f->nops++];
    memset(op, 0, sizeof(*op));
    op->label = label;
    op->op = what;
    op->user = user;
    op->inv_us = inv_ms * MS;
    op->resp_us = resp_ms * MS;
    op->status = HIST_OK;
    op->reply.kind = kind;
    return op;
}

static hist_op_t *fx_balance(hist_fixture_t *f, const char *label, const char *user, uint64_t inv_ms,
                             uint64_t resp_ms, int64_t balance) {
    hist_op_t *op = fx_read(f, label, CREQ_BALANCE, user, inv_ms, resp_ms, CREP_BALANCE);
    op->reply.balance = balance;
    return op;
}

/* A stats read answered OK with count rows (the caller sets the rows). */
static hist_op_t *fx_stats(hist_fixture_t *f, const char *label, const char *user, uint64_t inv_ms,
                           uint64_t resp_ms, uint64_t count) {
    hist_op_t *op = fx_read(f, label, CREQ_STATS, user, inv_ms, resp_ms, CREP_STATS);
    op->reply.count = count;
    return op;
}

/* Sets op's rows to two stats rows as the client prints them (into rows[256]). */
static void fx_two_rows(hist_op_t *op, char *rows, const char *n1, int c1, int net1, const char *n2,
                        int c2, int net2) {
    snprintf(rows, 256, "%-5d %-19s %-10d %d\n%-5d %-19s %-10d %d\n", 1, n1, c1, net1, 2, n2, c2, net2);
    op->rows = rows;
    op->rows_len = strlen(rows);
}

TEST(test_clean_history_passes) {
    hist_fixture_t f;
    fx_init(&f);
    fx_balance(&f, "b0", "Ann", 0, 5, 900);
    fx_ok(fx_transfer(&f, "t", "Ann", "Cid", 30, 10, 20), 3, 870);
    fx_store(&f, 2, 3, "Ann", "Cid", 30);
    fx_balance(&f, "b1", "Ann", 30, 40, 870);
    fx_balance(&f, "b2", "Cid", 30, 40, 1080);
    CHECK_EQ(fx_run(&f), 0);
}

TEST(test_stale_read_is_not_linearizable) {
    hist_fixture_t f;
    fx_init(&f);
    fx_ok(fx_transfer(&f, "t", "Ann", "Cid", 30, 10, 20), 3, 870);
    fx_store(&f, 2, 3, "Ann", "Cid", 30);
    fx_balance(&f, "late", "Ann", 30, 40, 900); /* started after t ended: must see 870 */
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "linearizability"));
}

TEST(test_concurrent_read_may_see_either_state) {
    hist_fixture_t f;
    fx_init(&f);
    fx_ok(fx_transfer(&f, "t", "Ann", "Cid", 30, 10, 20), 3, 870);
    fx_store(&f, 2, 3, "Ann", "Cid", 30);
    fx_balance(&f, "old", "Ann", 12, 18, 900);
    fx_balance(&f, "new", "Ann", 12, 18, 870);
    CHECK_EQ(fx_run(&f), 0);
}

/* Per operation, what the check made of its answer: reads and refusals concurrent with a
 * transfer fit when some state real time allows gives their answer (before or after it) and
 * are rejected, with a violation, when none does; a confirmed transfer fits with the
 * balance after its serial and is rejected with another; a transfer in doubt has no
 * answer to check. */
TEST(test_model_verdict_per_operation) {
    hist_fixture_t f;
    fx_init(&f);
    fx_ok(fx_transfer(&f, "t", "Ann", "Cid", 30, 10, 20), 3, 870);                     /* 0 */
    fx_store(&f, 2, 3, "Ann", "Cid", 30);
    fx_balance(&f, "old", "Ann", 12, 18, 900);                                         /* 1 */
    fx_balance(&f, "new", "Ann", 12, 18, 870);                                         /* 2 */
    hist_op_t *poor = fx_transfer(&f, "poor", "Ann", "Bob", 880, 12, 18);              /* 3 */
    poor->status = HIST_REFUSED;
    poor->reply.kind = CREP_INSUFFICIENT;
    poor->reply.balance = 870;     /* after t: 870 < 880 */
    fx_transfer(&f, "doubt", "Bob", "Cid", 5, 12, 0);                                  /* 4: never answered */
    fx_ok(fx_transfer(&f, "t2", "Bob", "Ann", 10, 30, 40), 4, 1040);                  /* 5 */
    fx_store(&f, 0, 4, "Bob", "Ann", 10);
    CHECK_EQ(fx_run(&f), 0);
    const uint8_t fits[6] = {HIST_MODEL_FITS, HIST_MODEL_FITS, HIST_MODEL_FITS, HIST_MODEL_FITS,
                             HIST_MODEL_UNCHECKED, HIST_MODEL_FITS};
    for (int i = 0; i < 6; i++) CHECK_EQ(f.model[i], fits[i]);
    /* the same, each answer changed to one no state in its window gives */
    f.ops[1].reply.balance = 885;  /* neither 900 nor 870 */
    f.ops[3].reply.balance = 880;  /* not Ann's balance in any state (and not < 880) */
    f.ops[5].reply.balance = 1030; /* Bob has 1040 after serial 4 */
    CHECK(fx_run(&f) > 0);         /* each reported (with the balances it could have seen) */
    CHECK(fx_saw(&f, "linearizability"));
    const uint8_t rejected[6] = {HIST_MODEL_FITS, HIST_MODEL_REJECTED, HIST_MODEL_FITS, HIST_MODEL_REJECTED,
                                 HIST_MODEL_UNCHECKED, HIST_MODEL_REJECTED};
    for (int i = 0; i < 6; i++) CHECK_EQ(f.model[i], rejected[i]);
    /* a confirmation no disk holds, and one out of real-time order, are rejected too */
    f.ops[1].reply.balance = 900;
    f.ops[3].reply.balance = 870;
    f.ops[5].reply.balance = 1040;
    f.ops[5].inv_us = 1 * MS;      /* t2 ... */
    f.ops[5].resp_us = 5 * MS;     /* ... ended before t (serial 3) started: serial 4 is too late */
    f.ns--;                        /* and t2's line is on no disk: */
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "confirmed-durable"));
    CHECK_EQ(f.model[5], HIST_MODEL_REJECTED);
    fx_store(&f, 0, 4, "Bob", "Ann", 10);
    CHECK(fx_run(&f) > 0);
    CHECK_EQ(f.model[5], HIST_MODEL_REJECTED);
    CHECK_EQ(f.model[0], HIST_MODEL_FITS);
}

TEST(test_reads_cannot_go_back_in_time) {
    hist_fixture_t f;
    fx_init(&f);
    fx_ok(fx_transfer(&f, "t", "Ann", "Cid", 30, 10, 50), 3, 870);
    fx_store(&f, 2, 3, "Ann", "Cid", 30);
    fx_balance(&f, "new", "Ann", 12, 18, 870); /* saw the transfer ... */
    fx_balance(&f, "old", "Ann", 20, 25, 900); /* ... so a later read cannot miss it */
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "linearizability"));
}

TEST(test_duplicate_serial_is_caught) {
    hist_fixture_t f;
    fx_init(&f);
    fx_ok(fx_transfer(&f, "t", "Ann", "Cid", 30, 10, 20), 3, 870);
    fx_store(&f, 2, 3, "Ann", "Cid", 30);
    fx_store(&f, 0, 3, "Ann", "Cid", 30); /* the same line stored twice */
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "serials-unique"));
}

TEST(test_lost_confirmation_is_caught) {
    hist_fixture_t f;
    fx_init(&f);
    fx_ok(fx_transfer(&f, "t", "Ann", "Cid", 30, 10, 20), 3, 870);
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "confirmed-durable"));
}

TEST(test_confirmed_serial_with_other_line_is_caught) {
    hist_fixture_t f;
    fx_init(&f);
    fx_ok(fx_transfer(&f, "t", "Ann", "Cid", 30, 10, 20), 3, 870);
    fx_store(&f, 2, 3, "Ann", "Cid", 31);
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "confirmed-durable"));
}

TEST(test_phantom_transaction_is_caught) {
    hist_fixture_t f;
    fx_init(&f);
    fx_store(&f, 2, 3, "Cid", "Ann", 5); /* nobody asked for it */
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "no-phantom"));
}

TEST(test_unknown_outcome_may_or_may_not_land) {
    hist_fixture_t f;
    fx_init(&f);
    fx_transfer(&f, "landed", "Ann", "Cid", 30, 10, 20);   /* exit 3, but on disk */
    fx_transfer(&f, "vanished", "Bob", "Cid", 7, 10, 20);  /* exit 3, nowhere */
    fx_store(&f, 2, 3, "Ann", "Cid", 30);
    fx_balance(&f, "b", "Ann", 100, 110, 870);
    CHECK_EQ(fx_run(&f), 0);
}

/* One transfer of unknown outcome explains one line, not two: a second identical line is a
 * phantom; two such transfers explain both (the earlier start takes the earlier serial). */
TEST(test_unknown_outcome_lands_once) {
    hist_fixture_t f;
    fx_init(&f);
    fx_transfer(&f, "u1", "Ann", "Cid", 30, 10, 20);
    fx_store(&f, 2, 3, "Ann", "Cid", 30);
    fx_store(&f, 0, 4, "Ann", "Cid", 30);
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "no-phantom"));
    fx_transfer(&f, "u2", "Ann", "Cid", 30, 12, 22);
    CHECK_EQ(fx_run(&f), 0);
}

TEST(test_overdraft_is_caught) {
    hist_fixture_t f;
    fx_init(&f); /* Ann has 900 */
    fx_ok(fx_transfer(&f, "t1", "Ann", "Cid", 600, 10, 20), 3, 300);
    fx_ok(fx_transfer(&f, "t2", "Ann", "Bob", 600, 10, 20), 4, -300);
    fx_store(&f, 0, 3, "Ann", "Cid", 600);
    fx_store(&f, 1, 4, "Ann", "Bob", 600);
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "no-overdraft"));
}

TEST(test_same_balance_confirmation_is_caught) {
    hist_fixture_t f;
    fx_init(&f); /* two transfers validated against the same balance of 900 */
    fx_ok(fx_transfer(&f, "t1", "Ann", "Cid", 100, 10, 20), 3, 800);
    fx_ok(fx_transfer(&f, "t2", "Ann", "Bob", 100, 10, 20), 4, 800);
    fx_store(&f, 0, 3, "Ann", "Cid", 100);
    fx_store(&f, 1, 4, "Ann", "Bob", 100);
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "linearizability"));
}

TEST(test_serial_gap_only_when_settled) {
    hist_fixture_t f;
    fx_init(&f);
    fx_transfer(&f, "t", "Ann", "Cid", 30, 10, 0); /* still running */
    fx_store(&f, 2, 4, "Ann", "Cid", 30);          /* serial 3 is missing */
    f.settled = 0;
    CHECK_EQ(fx_run(&f), 0);
    f.settled = 1;
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "serials-contiguous"));
}

TEST(test_write_order_must_respect_real_time) {
    hist_fixture_t f;
    fx_init(&f);
    fx_ok(fx_transfer(&f, "late", "Ann", "Cid", 1, 100, 110), 3, 899);
    fx_ok(fx_transfer(&f, "early", "Bob", "Cid", 1, 10, 20), 4, 1049); /* ended first, later serial */
    fx_store(&f, 0, 3, "Ann", "Cid", 1);
    fx_store(&f, 0, 4, "Bob", "Cid", 1);
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "linearizability"));
}

TEST(test_refusals_are_checked_against_the_state) {
    hist_fixture_t f;
    fx_init(&f);
    hist_op_t *op = fx_transfer(&f, "poor", "Ann", "Bob", 901, 10, 20);
    op->status = HIST_REFUSED;
    op->reply.kind = CREP_INSUFFICIENT;
    op->reply.balance = 900;
    op = fx_transfer(&f, "nouser", "Zed", "Bob", 1, 10, 20);
    op->status = HIST_REFUSED;
    op->reply.kind = CREP_NOUSER;
    snprintf(op->reply.names[0].s, sizeof(op->reply.names[0].s), "Zed");
    CHECK_EQ(fx_run(&f), 0);
    f.ops[0].reply.balance = 221; /* a balance that never existed */
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "linearizability"));
    f.ops[0].reply.balance = 900;
    snprintf(f.ops[1].reply.names[0].s, sizeof(f.ops[1].reply.names[0].s), "Bob"); /* Bob exists */
    CHECK(fx_run(&f) > 0);
}

TEST(test_txlist_file_must_match_a_state) {
    hist_fixture_t f;
    fx_init(&f);
    fx_ok(fx_transfer(&f, "t", "Ann", "Cid", 30, 10, 20), 3, 870);
    fx_store(&f, 2, 3, "Ann", "Cid", 30);
    hist_op_t *l = &f.ops[f.nops++];
    memset(l, 0, sizeof(*l));
    l->label = "list";
    l->op = CREQ_TXLIST;
    l->inv_us = 30 * MS;
    l->resp_us = 40 * MS;
    l->status = HIST_OK;
    l->reply.kind = CREP_TXLIST;
    l->reply.count = 3;
    static const char good[] = "1 Ann Bob 100\n2 Bob Cid 50\n3 Ann Cid 30\n";
    l->file = good;
    l->file_len = sizeof(good) - 1;
    CHECK_EQ(fx_run(&f), 0);
    static const char partial[] = "1 Ann Bob 100\n3 Ann Cid 30\n";
    l->file = partial;
    l->file_len = sizeof(partial) - 1;
    l->reply.count = 2;
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "linearizability"));
}

TEST(test_stats_rows_must_match_a_state) {
    hist_fixture_t f;
    fx_init(&f); /* Bob: Ann (1, +100), Cid (1, -50) */
    hist_op_t *s = fx_stats(&f, "st", "Bob", 0, 5, 2);
    static char rows[256];
    fx_two_rows(s, rows, "Ann", 1, 100, "Cid", 1, -50);
    CHECK_EQ(fx_run(&f), 0);
    fx_two_rows(s, rows, "Cid", 1, -50, "Ann", 1, 100);
    CHECK(fx_run(&f) > 0);
}

/* Rows merge every transaction with one partner, initial and new, interleaved. */
TEST(test_stats_rows_merge_partners) {
    hist_fixture_t f;
    fx_init(&f); /* Bob: Ann (1, +100), Cid (1, -50) */
    fx_ok(fx_transfer(&f, "t3", "Ann", "Bob", 10, 1, 2), 3, 890);
    fx_store(&f, 0, 3, "Ann", "Bob", 10);
    fx_ok(fx_transfer(&f, "t4", "Cid", "Bob", 5, 3, 4), 4, 1045);
    fx_store(&f, 1, 4, "Cid", "Bob", 5);
    fx_ok(fx_transfer(&f, "t5", "Ann", "Bob", 1, 5, 6), 5, 889);
    fx_store(&f, 2, 5, "Ann", "Bob", 1);
    hist_op_t *s = fx_stats(&f, "st", "Bob", 10, 15, 2);
    static char rows[256];
    fx_two_rows(s, rows, "Ann", 3, 111, "Cid", 2, -45);
    CHECK_EQ(fx_run(&f), 0);
    fx_two_rows(s, rows, "Ann", 2, 110, "Cid", 2, -45);
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "linearizability"));
}

TEST(test_absent_user_read) {
    hist_fixture_t f;
    fx_init(&f);
    hist_op_t *op = fx_balance(&f, "b", "Dan", 0, 5, 0);
    op->reply.kind = CREP_NOUSER;
    snprintf(op->reply.names[0].s, sizeof(op->reply.names[0].s), "Dan");
    CHECK_EQ(fx_run(&f), 0);
    op->user = "Ann"; /* Ann is part of the network */
    CHECK(fx_run(&f) > 0);
}

static hist_op_t *in_session(hist_op_t *op, uint32_t session, uint32_t seq) {
    op->session = session;
    op->session_seq = seq;
    return op;
}

/* One persistent connection pipelines a transfer then a balance, all concurrent in real
 * time: the balance must see the transfer. Two one-shot clients may see either state. */
TEST(test_session_read_sees_its_earlier_transfer) {
    hist_fixture_t f;
    fx_init(&f);
    fx_ok(in_session(fx_transfer(&f, "t", "Ann", "Cid", 30, 10, 30), 1, 0), 3, 870);
    fx_store(&f, 2, 3, "Ann", "Cid", 30);
    in_session(fx_balance(&f, "b", "Ann", 10, 30, 900), 1, 1);
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "linearizability"));
    f.ops[1].session = 0; /* another client's balance: 900 is fine */
    CHECK_EQ(fx_run(&f), 0);
    f.ops[1].session = 1;
    f.ops[1].reply.balance = 870;
    CHECK_EQ(fx_run(&f), 0);
}

/* A balance before a transfer on the connection must not see it. */
TEST(test_session_read_misses_its_later_transfer) {
    hist_fixture_t f;
    fx_init(&f);
    in_session(fx_balance(&f, "b", "Ann", 10, 30, 870), 1, 0);
    fx_ok(in_session(fx_transfer(&f, "t", "Ann", "Cid", 30, 10, 30), 1, 1), 3, 870);
    fx_store(&f, 2, 3, "Ann", "Cid", 30);
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "linearizability"));
    f.ops[0].reply.balance = 900;
    CHECK_EQ(fx_run(&f), 0);
}

/* A connection's transfers take effect in its order; reads of one connection never go back. */
TEST(test_session_transfers_and_reads_keep_their_order) {
    hist_fixture_t f;
    fx_init(&f);
    fx_ok(in_session(fx_transfer(&f, "t1", "Ann", "Cid", 30, 10, 30), 1, 0), 4, 840);
    fx_ok(in_session(fx_transfer(&f, "t2", "Ann", "Bob", 30, 10, 30), 1, 1), 3, 870);
    fx_store(&f, 2, 3, "Ann", "Bob", 30);
    fx_store(&f, 0, 4, "Ann", "Cid", 30);
    CHECK(fx_run(&f) > 0);
    CHECK(fx_saw(&f, "session-order"));
    f.ops[0].session_seq = 2; /* the other order on the connection: fine */
    CHECK_EQ(fx_run(&f), 0);
    /* two balances of one connection, a transfer of another client meanwhile */
    hist_fixture_t g;
    fx_init(&g);
    fx_ok(fx_transfer(&g, "t", "Ann", "Cid", 30, 10, 30), 3, 870);
    fx_store(&g, 2, 3, "Ann", "Cid", 30);
    in_session(fx_balance(&g, "b1", "Ann", 10, 30, 870), 1, 0);
    in_session(fx_balance(&g, "b2", "Ann", 10, 30, 900), 1, 1);
    CHECK(fx_run(&g) > 0);
    g.ops[2].reply.balance = 900;
    g.ops[1].reply.balance = 870; /* the first saw the old state, the second the new: fine */
    g.ops[1].session_seq = 1;
    g.ops[2].session_seq = 0;
    CHECK_EQ(fx_run(&g), 0);
}

int main(void) {
    RUN(test_clean_history_passes);
    RUN(test_stale_read_is_not_linearizable);
    RUN(test_concurrent_read_may_see_either_state);
    RUN(test_reads_cannot_go_back_in_time);
    RUN(test_duplicate_serial_is_caught);
    RUN(test_lost_confirmation_is_caught);
    RUN(test_confirmed_serial_with_other_line_is_caught);
    RUN(test_phantom_transaction_is_caught);
    RUN(test_unknown_outcome_may_or_may_not_land);
    RUN(test_unknown_outcome_lands_once);
    RUN(test_overdraft_is_caught);
    RUN(test_same_balance_confirmation_is_caught);
    RUN(test_serial_gap_only_when_settled);
    RUN(test_write_order_must_respect_real_time);
    RUN(test_refusals_are_checked_against_the_state);
    RUN(test_txlist_file_must_match_a_state);
    RUN(test_stats_rows_must_match_a_state);
    RUN(test_stats_rows_merge_partners);
    RUN(test_absent_user_read);
    RUN(test_session_read_sees_its_earlier_transfer);
    RUN(test_session_read_misses_its_later_transfer);
    RUN(test_session_transfers_and_reads_keep_their_order);
    RUN(test_model_verdict_per_operation);
    return CHECK_DONE();
}
