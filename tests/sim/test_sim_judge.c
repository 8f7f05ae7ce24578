/* test_sim_judge.c — the judge at scale (sim/judge/disks.c, check.c, history.c): real mode's
 * serial assignment and the disks' index against the quadratic versions they replaced (kept
 * here, verbatim in what they compute, as the reference), on hand-made and random ledgers;
 * a 10,000-transfer history judged with the right verdict (and each planted fault named);
 * and a stop() that ends judging early. Prints timings (never asserts them: the machine is
 * shared): `test_sim_judge --bench N` judges N transfers and times the old serial
 * assignment against the new one on the same input. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "judge/judge.h"
#include "messages.h"

#define USERS 8
#define BIG_TRANSFERS 10000
#define OLD_TRANSFERS 600        /* the quadratic reference is timed on this many by default */
#define OLD_BENCH_MAX 3000       /* --bench times the old assignment up to this many (above, it
                                    takes minutes: every candidate rescans every pair of lines) */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s) { /* xorshift64*: the tests' only chance */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* ------------------------------------------------------------------ the old algorithms */

/* real.c's balance_after before this change: every line against every earlier line. */
static int64_t old_balance_after(const check_txs_t *disk, const char *user, uint64_t serial) {
    int64_t b = BALANCE_INITIAL;
    for (size_t i = 0; i < disk->count; i++) {
        const tx_t *t = &disk->txs[i].tx;
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++) dup = disk->txs[j].tx.serial == t->serial;
        if (dup || t->serial > serial) continue;
        if (strcmp(t->sender, user) == 0) b -= t->amount;
        if (strcmp(t->receiver, user) == 0) b += t->amount;
    }
    return b;
}

/* The assignment rule (judge.h check_assign_serials) as a plain scan, O(ops x lines):
 * real.c's assign_serials before disks.c indexed it, with its second pass since. */
static void old_assign_serials(check_op_t *ops, size_t op_count, const check_txs_t *disk,
                               const check_txs_t *initial) {
    uint8_t *claimed = calloc(disk->count + 1, 1);
    uint8_t *todo = calloc(op_count + 1, 1);
    for (size_t i = 0; i < disk->count; i++) {
        for (size_t k = 0; k < initial->count && !claimed[i]; k++)
            claimed[i] = initial->txs[k].tx.serial == disk->txs[i].tx.serial;
    }
    for (size_t i = 0; i < op_count; i++) {
        check_op_t *op = &ops[i];
        todo[i] = op->state == CHECK_OP_DONE && op->have_reply && op->reply.kind == CREP_TRANSFER &&
                  op->reply.serial == 0;
        if (todo[i]) op->reply.serial = UINT64_MAX;
    }
    for (int fallback = 0; fallback < 2; fallback++) { /* fitting ones first, then the rest */
        uint8_t *seen = calloc(op_count + 1, 1);
        for (;;) {
            size_t next = SIZE_MAX;
            for (size_t i = 0; i < op_count; i++) {
                if (todo[i] && !seen[i] && (next == SIZE_MAX || ops[i].resp_us < ops[next].resp_us))
                    next = i;
            }
            if (next == SIZE_MAX) break;
            seen[next] = 1;
            check_op_t *op = &ops[next];
            size_t best = SIZE_MAX;
            for (size_t i = 0; i < disk->count; i++) {
                const tx_t *t = &disk->txs[i].tx;
                if (claimed[i] || strcmp(t->sender, op->req.user.s) != 0 ||
                    strcmp(t->receiver, op->req.receiver.s) != 0 || t->amount != op->req.amount)
                    continue;
                if (!fallback && old_balance_after(disk, t->sender, t->serial) != op->reply.balance)
                    continue;
                if (best == SIZE_MAX || t->serial < disk->txs[best].tx.serial) best = i;
            }
            if (best == SIZE_MAX) continue;
            todo[next] = 0;
            op->reply.serial = disk->txs[best].tx.serial;
            for (size_t i = 0; i < disk->count; i++) claimed[i] |= disk->txs[i].tx.serial == op->reply.serial;
        }
        free(seen);
    }
    free(todo);
    free(claimed);
}

/* check.c's check_final_balance before this change. */
static int old_final_balance(const check_txs_t *d, const char *user, int64_t *bal) {
    int exists = 0;
    int64_t b = BALANCE_INITIAL;
    for (size_t i = 0; i < d->count; i++) {
        const tx_t *t = &d->txs[i].tx;
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++) dup = tx_equal(&d->txs[j].tx, t);
        if (dup) continue;
        if (strcmp(t->sender, user) == 0) exists = 1, b -= t->amount;
        if (strcmp(t->receiver, user) == 0) exists = 1, b += t->amount;
    }
    *bal = b;
    return exists;
}

/* ------------------------------------------------------------------ fixtures */

static const char *const user_names[USERS] = {"Ann", "Bob", "Cid", "Dee", "Eve", "Fay", "Gus", "Hal"};

static void txs_add(check_txs_t *d, uint64_t serial, const char *s, const char *r, int64_t amount, int backend) {
    if (d->count == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->txs = realloc(d->txs, d->cap * sizeof(*d->txs));
    }
    tx_set(&d->txs[d->count].tx, serial, s, strlen(s), r, strlen(r), amount);
    d->txs[d->count].backend = (uint8_t)backend;
    d->count++;
}

static void op_transfer(check_op_t *op, const char *s, const char *r, int64_t amount) {
    memset(&op->req, 0, sizeof(op->req));
    op->req.op = CREQ_TRANSFER;
    op->req.user.len = (uint8_t)snprintf(op->req.user.s, sizeof(op->req.user.s), "%s", s);
    op->req.receiver.len = (uint8_t)snprintf(op->req.receiver.s, sizeof(op->req.receiver.s), "%s", r);
    op->req.amount = amount;
    op->parsed = 1;
    op->state = CHECK_OP_DONE;
}

/* A confirmed transfer as real mode reads it: the sender's new balance, no serial. */
static void op_confirmed(check_op_t *op, const char *s, const char *r, int64_t amount, int64_t bal,
                         uint64_t resp_us) {
    op_transfer(op, s, r, amount);
    op->have_reply = 1;
    op->exit_code = 0;
    op->reply.kind = CREP_TRANSFER;
    op->reply.balance = bal;
    op->reply.serial = 0;
    op->resp_us = resp_us;
}

/* ------------------------------------------------------------------ serials */

/* Two identical transfers Ann -> Bob 10 with Cid's transfers to Ann between them: the one
 * that printed 990 is serial 5 (the balance after it), the one that printed 1000 serial 7,
 * whatever order they answered in; a transfer on no disk gets UINT64_MAX. */
TEST(serials_fit_the_printed_balance) {
    check_txs_t disk = {0}, initial = {0};
    txs_add(&initial, 1, "Ann", "Dee", 1, 0);
    txs_add(&disk, 1, "Ann", "Dee", 1, 0);   /* Ann 999 */
    txs_add(&disk, 4, "Cid", "Ann", 1, 1);   /* Ann 1000 */
    txs_add(&disk, 5, "Ann", "Bob", 10, 2);  /* Ann 990 */
    txs_add(&disk, 6, "Cid", "Ann", 20, 0);  /* Ann 1010 */
    txs_add(&disk, 7, "Ann", "Bob", 10, 1);  /* Ann 1000 */
    txs_add(&disk, 5, "Ann", "Bob", 10, 0);  /* a copy of 5 on another disk: counts once */
    check_op_t ops[3];
    memset(ops, 0, sizeof(ops));
    op_confirmed(&ops[0], "Ann", "Bob", 10, 1000, 100); /* answered first: still serial 7 */
    op_confirmed(&ops[1], "Ann", "Bob", 10, 990, 200);
    op_confirmed(&ops[2], "Ann", "Cid", 10, 990, 300);
    CHECK_EQ(check_assign_serials(ops, 3, &disk, &initial, NULL, NULL), 0);
    CHECK_EQ(ops[0].reply.serial, 7);
    CHECK_EQ(ops[1].reply.serial, 5);
    CHECK(ops[2].reply.serial == UINT64_MAX);
    check_op_t old[3];
    memcpy(old, ops, sizeof(old));
    for (int i = 0; i < 3; i++) old[i].reply.serial = 0;
    old_assign_serials(old, 3, &disk, &initial);
    for (int i = 0; i < 3; i++) CHECK(old[i].reply.serial == ops[i].reply.serial);
    check_txs_free(&disk);
    check_txs_free(&initial);
}

/* Both candidates fit the printed balance (Ann's balance is 990 after each): the lower
 * serial goes to the first to answer; neither fits: still the lowest unclaimed. */
TEST(serials_two_fitting_candidates) {
    check_txs_t disk = {0}, initial = {0};
    txs_add(&disk, 1, "Ann", "Bob", 10, 0);  /* Ann 990 */
    txs_add(&disk, 2, "Cid", "Ann", 10, 1);  /* Ann 1000 */
    txs_add(&disk, 3, "Ann", "Bob", 10, 2);  /* Ann 990 */
    txs_add(&disk, 4, "Ann", "Bob", 10, 2);  /* Ann 980 */
    check_op_t ops[3];
    memset(ops, 0, sizeof(ops));
    op_confirmed(&ops[0], "Ann", "Bob", 10, 990, 300);
    op_confirmed(&ops[1], "Ann", "Bob", 10, 990, 200);
    op_confirmed(&ops[2], "Ann", "Bob", 10, 5, 400);     /* fits nothing */
    CHECK_EQ(check_assign_serials(ops, 3, &disk, &initial, NULL, NULL), 0);
    CHECK_EQ(ops[1].reply.serial, 1);
    CHECK_EQ(ops[0].reply.serial, 3);
    CHECK_EQ(ops[2].reply.serial, 4);
    check_txs_free(&disk);
}

/* Two identical transfers Pay -> Ann 30 (tests/real's scenario 06): the first to answer
 * printed a false balance (a planted lie), the second the true one. The true one gets the
 * serial its balance fits; the lie the one left, which its balance does not fit (and the
 * judge says so). Taking the lowest serial in order of response gave the lie the true
 * one's serial and blamed both. */
TEST(serials_a_false_answer_does_not_take_a_true_ones_serial) {
    check_txs_t disk = {0}, initial = {0};
    txs_add(&disk, 3, "Pay", "Ann", 30, 0);  /* Pay 970 */
    txs_add(&disk, 4, "Pay", "Ann", 30, 1);  /* Pay 940 */
    check_op_t ops[2];
    memset(ops, 0, sizeof(ops));
    op_confirmed(&ops[0], "Pay", "Ann", 30, 12345, 100); /* the lie, answered first */
    op_confirmed(&ops[1], "Pay", "Ann", 30, 970, 200);
    CHECK_EQ(check_assign_serials(ops, 2, &disk, &initial, NULL, NULL), 0);
    CHECK_EQ(ops[1].reply.serial, 3);
    CHECK_EQ(ops[0].reply.serial, 4);
    check_txs_free(&disk);
}

/* Random small ledgers (interleaved users, copies, a serial holding two different lines,
 * initial serials, transfers on no disk): the new assignment equals the old one, and the
 * disks' index gives the old final balances. */
TEST(serials_and_balances_match_the_old_algorithms) {
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 300; round++) {
        check_txs_t disk = {0}, initial = {0};
        size_t lines = 1 + rng_next(&rng) % 40, nops = rng_next(&rng) % 30;
        uint64_t ninit = rng_next(&rng) % 4;
        int users = 2 + (int)(rng_next(&rng) % 4);
        for (size_t i = 0; i < lines; i++) {
            uint64_t serial = 1 + rng_next(&rng) % (lines + 2); /* repeats: copies, conflicts */
            const char *s = user_names[rng_next(&rng) % (uint64_t)users];
            const char *r = user_names[rng_next(&rng) % (uint64_t)users];
            int64_t amount = 1 + (int64_t)(rng_next(&rng) % 3);
            txs_add(&disk, serial, s, r, amount, (int)(rng_next(&rng) % 3));
            if (serial <= ninit) txs_add(&initial, serial, s, r, amount, 0);
        }
        check_op_t *ops = calloc(nops + 1, sizeof(*ops)), *old = calloc(nops + 1, sizeof(*ops));
        for (size_t i = 0; i < nops; i++) {
            const tx_t *t = &disk.txs[rng_next(&rng) % disk.count].tx;
            int64_t bal = old_balance_after(&disk, t->sender, t->serial) + (int64_t)(rng_next(&rng) % 2);
            op_confirmed(&ops[i], t->sender, rng_next(&rng) % 8 ? t->receiver : "Zed", t->amount, bal,
                         rng_next(&rng) % 10);
            if (rng_next(&rng) % 10 == 0) ops[i].have_reply = 0; /* exit 3: no serial to find */
        }
        memcpy(old, ops, (nops + 1) * sizeof(*ops));
        CHECK_EQ(check_assign_serials(ops, nops, &disk, &initial, NULL, NULL), 0);
        old_assign_serials(old, nops, &disk, &initial);
        for (size_t i = 0; i < nops; i++) CHECK(ops[i].reply.serial == old[i].reply.serial);
        check_disks_t x;
        CHECK_EQ(check_disks_index(&x, &disk), 0);
        for (int u = 0; u < USERS; u++) {
            int64_t a, b;
            CHECK_EQ(check_disks_balance(&x, user_names[u], &a), old_final_balance(&disk, user_names[u], &b));
            CHECK_EQ(a, b);
        }
        for (size_t i = 0; i < disk.count; i++) CHECK(check_disks_has(&x, &disk.txs[i].tx));
        tx_t absent;
        tx_set(&absent, 1, "Ann", 3, "Zed", 3, 1);
        CHECK(!check_disks_has(&x, &absent));
        check_disks_free(&x);
        free(ops);
        free(old);
        check_txs_free(&disk);
        check_txs_free(&initial);
    }
}

/* ------------------------------------------------------------------ a big history */

typedef struct {
    scenario_t scn;
    scn_step_t *steps;
    check_op_t *ops;
    size_t nops;
    check_txs_t disk, initial;
    int64_t bal[USERS];
    char seen[16][32];            /* the checkers that fired (the first few) */
    int nseen, expects_failed;
} big_t;

static void big_violation(void *ctx, const char *checker, uint64_t at_us, const char *msg) {
    big_t *b = ctx;
    (void)at_us;
    (void)msg;
    if (b->nseen < 16) snprintf(b->seen[b->nseen], sizeof(b->seen[0]), "%s", checker);
    b->nseen++;
}

static void big_expect(void *ctx, const scn_expect_t *e, const char *msg) {
    big_t *b = ctx;
    (void)e;
    (void)msg;
    b->expects_failed++;
}

static int big_saw(const big_t *b, const char *checker) {
    for (int i = 0; i < b->nseen && i < 16; i++) {
        if (strcmp(b->seen[i], checker) == 0) return 1;
    }
    return 0;
}

static void big_expect_add(big_t *b, uint8_t kind, const char *label, const char *text, int64_t num) {
    scenario_t *s = &b->scn;
    if (s->expect_count == s->expect_cap) {
        s->expect_cap = s->expect_cap ? s->expect_cap * 2 : 64;
        s->expects = realloc(s->expects, s->expect_cap * sizeof(*s->expects));
    }
    scn_expect_t *e = &s->expects[s->expect_count++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->num = num;
    if (kind == EXP_EXIT) e->exit_mask = 1u << num; /* num is an exit code only there */
    snprintf(e->label, sizeof(e->label), "%s", label);
    e->text = text ? strdup(text) : NULL;
}

/* n transfers among USERS users as real mode sees them, mostly one after another: every
 * 50th overlaps the next, one in 7 asks for more than the sender has (refused with its
 * balance), one in 333 ends with exit 3 (every other one of those still took effect), one
 * in 25 is followed by a balance read. Expects: every transfer's exit code, every user's
 * final balance, the ledger's size. Confirmed serials are left 0, for check_assign_serials. */
static void big_build(big_t *b, size_t n, uint64_t seed) {
    memset(b, 0, sizeof(*b));
    static char block_a[] = "1 Ann Bob 5\n2 Cid Dee 5\n", block_b[] = "3 Eve Fay 5\n", block_c[] = "4 Gus Hal 5\n";
    char *blocks[3] = {block_a, block_b, block_c};
    for (int k = 0; k < 3; k++) {
        b->scn.block[k] = blocks[k];
        b->scn.block_len[k] = strlen(blocks[k]);
    }
    const int64_t init[USERS] = {995, 1005, 995, 1005, 995, 1005, 995, 1005};
    memcpy(b->bal, init, sizeof(init));
    txs_add(&b->disk, 1, "Ann", "Bob", 5, 0);
    txs_add(&b->disk, 2, "Cid", "Dee", 5, 0);
    txs_add(&b->disk, 3, "Eve", "Fay", 5, 1);
    txs_add(&b->disk, 4, "Gus", "Hal", 5, 2);
    for (size_t i = 0; i < 4; i++) txs_add(&b->initial, b->disk.txs[i].tx.serial, b->disk.txs[i].tx.sender,
                                           b->disk.txs[i].tx.receiver, b->disk.txs[i].tx.amount, 0);
    size_t cap = n + n / 25 + 2;
    b->steps = calloc(cap, sizeof(*b->steps));
    b->ops = calloc(cap, sizeof(*b->ops));
    uint64_t serial = 5, t = 1000, rng = seed;
    for (size_t i = 0; i < n; i++) {
        check_op_t *op = &b->ops[b->nops];
        scn_step_t *st = &b->steps[b->nops++];
        op->step = st;
        snprintf(st->label, sizeof(st->label), "t%zu", i);
        int s = (int)(rng_next(&rng) % USERS), r = (s + 1 + (int)(rng_next(&rng) % (USERS - 1))) % USERS;
        int64_t amount = rng_next(&rng) % 7 == 0 ? b->bal[s] + 1 + (int64_t)(rng_next(&rng) % 50)
                                                 : 1 + (int64_t)(rng_next(&rng) % 40);
        int overlap = i % 50 == 0; /* this one and the next run at once */
        op->inv_us = t;
        op->resp_us = t + (overlap ? 1000 : 400);
        t += overlap ? 100 : 500;
        if (i % 50 == 1) t += 500;
        int unknown = i % 333 == 332;
        if (amount > b->bal[s]) {
            op_transfer(op, user_names[s], user_names[r], amount);
            op->have_reply = 1;
            op->exit_code = 1;
            op->reply.kind = CREP_INSUFFICIENT;
            op->reply.balance = b->bal[s];
            big_expect_add(b, EXP_EXIT, st->label, NULL, 1);
        } else {
            int applied = !unknown || i % 666 == 332;
            if (applied) {
                b->bal[s] -= amount;
                b->bal[r] += amount;
                txs_add(&b->disk, serial, user_names[s], user_names[r], amount, (int)(serial % 3));
                serial++;
            }
            if (unknown) {
                op_transfer(op, user_names[s], user_names[r], amount);
                op->exit_code = 3;
            } else {
                op_confirmed(op, user_names[s], user_names[r], amount, b->bal[s], op->resp_us);
                big_expect_add(b, EXP_EXIT, st->label, NULL, 0);
            }
        }
        if (i % 25 == 24) { /* a balance read between two transfers */
            check_op_t *rd = &b->ops[b->nops];
            scn_step_t *rs = &b->steps[b->nops++];
            rd->step = rs;
            snprintf(rs->label, sizeof(rs->label), "b%zu", i);
            int u = (int)(rng_next(&rng) % USERS);
            rd->parsed = rd->have_reply = 1;
            rd->state = CHECK_OP_DONE;
            rd->req.op = CREQ_BALANCE;
            rd->req.user.len = (uint8_t)snprintf(rd->req.user.s, sizeof(rd->req.user.s), "%s", user_names[u]);
            rd->reply.kind = CREP_BALANCE;
            rd->reply.balance = b->bal[u];
            rd->inv_us = t;
            rd->resp_us = t + 300;
            t += 400;
        }
    }
    for (int u = 0; u < USERS; u++) big_expect_add(b, EXP_BALANCE, "", user_names[u], b->bal[u]);
    big_expect_add(b, EXP_LEDGER_COUNT, "", NULL, (int64_t)(serial - 1));
}

static void big_free(big_t *b) {
    for (size_t i = 0; i < b->scn.expect_count; i++) free(b->scn.expects[i].text);
    free(b->scn.expects);
    free(b->steps);
    free(b->ops);
    check_txs_free(&b->disk);
    check_txs_free(&b->initial);
}

/* Real mode's judging: serials from the disks, then every checker and expect. Returns
 * check_judge's code; *ns the time it took. */
static int big_judge(big_t *b, int (*stop)(void *), uint64_t *ns) {
    uint64_t t0 = now_ns();
    b->nseen = b->expects_failed = 0;
    int rc = check_assign_serials(b->ops, b->nops, &b->disk, &b->initial, stop, NULL);
    check_input_t in = {.scn = &b->scn, .ops = b->ops, .op_count = b->nops, .disk = &b->disk,
                        .settled = 1, .stop = stop};
    uint64_t faults[FAULT_COUNT] = {0};
    in.faults = faults;
    check_sink_t sink = {.violation = big_violation, .expect_failed = big_expect, .ctx = b};
    if (rc == 0) rc = check_judge(&in, &sink);
    if (ns) *ns = now_ns() - t0;
    return rc;
}

static void big_serials_reset(big_t *b) {
    for (size_t i = 0; i < b->nops; i++) {
        if (b->ops[i].reply.kind == CREP_TRANSFER) b->ops[i].reply.serial = 0;
    }
}

/* 10,000 transfers: judged legal, every expect met, in well under a second (printed). */
TEST(big_history_passes) {
    big_t b;
    big_build(&b, BIG_TRANSFERS, 7);
    uint64_t ns;
    CHECK_EQ(big_judge(&b, NULL, &ns), 0);
    CHECK_EQ(b.nseen, 0);
    CHECK_EQ(b.expects_failed, 0);
    for (int i = 0; i < b.nseen && i < 16; i++) fprintf(stderr, "unexpected violation: %s\n", b.seen[i]);
    printf("judge: %d transfers (%zu operations, %zu disk lines) judged in %.3f s\n", BIG_TRANSFERS,
           b.nops, b.disk.count, (double)ns / 1e9);
    big_free(&b);
}

/* The same history with one planted fault each: the checker that owns it fires. */
TEST(big_history_faults_are_named) {
    big_t b;
    big_build(&b, BIG_TRANSFERS, 8);
    /* a serial stored twice (a backend stored a retransmitted write again) */
    tx_t t = b.disk.txs[5000].tx;
    txs_add(&b.disk, t.serial, t.sender, t.receiver, t.amount, (b.disk.txs[5000].backend + 1) % 3);
    CHECK_EQ(big_judge(&b, NULL, NULL), 0);
    CHECK(big_saw(&b, "serials-unique"));
    CHECK_EQ(b.expects_failed, 0); /* an identical copy counts once in balances and the count */
    b.disk.count--;
    big_serials_reset(&b);
    /* a line no operation asked for */
    txs_add(&b.disk, b.disk.txs[b.disk.count - 1].tx.serial + 1, "Hal", "Ann", 1, 0);
    CHECK_EQ(big_judge(&b, NULL, NULL), 0);
    CHECK(big_saw(&b, "no-phantom"));
    b.disk.count--;
    big_serials_reset(&b);
    /* an overdraft: one line's amount far beyond the sender's balance */
    b.disk.txs[6000].tx.amount = 900000;
    CHECK_EQ(big_judge(&b, NULL, NULL), 0);
    CHECK(big_saw(&b, "no-overdraft"));
    big_free(&b);
}

/* ------------------------------------------------------------------ the printed answer */

#define PRINTED_BYTES 512

/* Appends one line (a messages.h sentence) to a client's stdout. */
static void out_line(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_line(char *out, const char *fmt, ...) {
    size_t len = strlen(out);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + len, PRINTED_BYTES - len - 1, fmt, ap);
    va_end(ap);
    strcat(out, "\n");
}

/* A balance read of user by clientA in [inv, resp] as real mode reads it: the reply
 * CREP_BALANCE bal, and stdout as the client prints it for shown (user, or another name). */
static void op_balance_printed(check_op_t *op, scn_step_t *st, char *out, const char *label, const char *user,
                               const char *shown, int64_t bal, uint64_t inv_us, uint64_t resp_us) {
    memset(op, 0, sizeof(*op));
    memset(st, 0, sizeof(*st));
    snprintf(st->label, sizeof(st->label), "%s", label);
    op->step = st;
    op->parsed = op->have_reply = 1;
    op->state = CHECK_OP_DONE;
    op->req.op = CREQ_BALANCE;
    op->req.user.len = (uint8_t)snprintf(op->req.user.s, sizeof(op->req.user.s), "%s", user);
    op->reply.kind = CREP_BALANCE;
    op->reply.balance = bal;
    op->inv_us = inv_us;
    op->resp_us = resp_us;
    out[0] = '\0';
    out_line(out, MSG_C_UP, 'A');
    out_line(out, MSG_C_BALANCE_SENT, shown);
    out_line(out, MSG_C_BALANCE, shown, (long long)bal);
    op->out = out;
    op->out_len = strlen(out);
}

/* A read concurrent with a transfer printed a balance that neither the state before nor
 * the one after it gives: compare would not compare it as text (concurrent with a
 * transfer), and the judge rejects it — a linearizability violation and the operation's
 * model verdict HIST_MODEL_REJECTED — while the reads beside it fit, and the transfer's
 * printed new balance fits at its serial. An answer that fits but is printed for another
 * user than asked is not counted as checked. */
TEST(printed_answers_against_the_model) {
    static char block_a[] = "1 Ann Bob 5\n";  /* Ann 995 */
    scenario_t scn;
    memset(&scn, 0, sizeof(scn));
    scn.block[0] = block_a;
    scn.block_len[0] = strlen(block_a);
    check_txs_t disk = {0}, initial = {0};
    txs_add(&disk, 1, "Ann", "Bob", 5, 0);
    txs_add(&initial, 1, "Ann", "Bob", 5, 0);
    txs_add(&disk, 2, "Ann", "Bob", 30, 1);  /* t: Ann 965 */
    static char outs[5][PRINTED_BYTES];
    scn_step_t steps[5];
    check_op_t ops[5];
    op_balance_printed(&ops[0], &steps[0], outs[0], "before", "Ann", "Ann", 995, 12000, 18000);
    op_balance_printed(&ops[1], &steps[1], outs[1], "after", "Ann", "Ann", 965, 12000, 18000);
    op_balance_printed(&ops[2], &steps[2], outs[2], "wrong", "Ann", "Ann", 980, 12000, 18000);
    op_balance_printed(&ops[3], &steps[3], outs[3], "other", "Ann", "Bob", 995, 12000, 18000);
    memset(&steps[4], 0, sizeof(steps[4]));
    snprintf(steps[4].label, sizeof(steps[4].label), "t");
    steps[4].client = 1;
    ops[4].step = &steps[4];
    op_confirmed(&ops[4], "Ann", "Bob", 30, 965, 20000);
    ops[4].inv_us = 10000;
    ops[4].out = outs[4];
    out_line(outs[4], MSG_C_UP, 'B');
    out_line(outs[4], MSG_C_TRANSFER_SENT, "Ann", 30LL, "Bob");
    out_line(outs[4], MSG_C_TRANSFER_OK, "Ann", 30LL, "Bob");
    out_line(outs[4], MSG_C_BALANCE, "Ann", 965LL);
    ops[4].out_len = strlen(outs[4]);
    big_t b; /* its sink only */
    memset(&b, 0, sizeof(b));
    uint64_t faults[FAULT_COUNT] = {0};
    uint8_t model[5];
    memset(model, 0xff, sizeof(model));
    CHECK_EQ(check_assign_serials(ops, 5, &disk, &initial, NULL, NULL), 0);
    CHECK_EQ(ops[4].reply.serial, 2);
    check_input_t in = {.scn = &scn, .ops = ops, .op_count = 5, .disk = &disk, .faults = faults, .settled = 1,
                        .model = model};
    check_sink_t sink = {.violation = big_violation, .expect_failed = big_expect, .ctx = &b};
    CHECK_EQ(check_judge(&in, &sink), 0);
    CHECK(big_saw(&b, "linearizability"));
    CHECK_EQ(model[0], HIST_MODEL_FITS);
    CHECK_EQ(model[1], HIST_MODEL_FITS);
    CHECK_EQ(model[2], HIST_MODEL_REJECTED);
    CHECK_EQ(model[3], HIST_MODEL_UNCHECKED); /* 995 fits Ann, but it printed Bob's name */
    CHECK_EQ(model[4], HIST_MODEL_FITS);
    /* the rejected read alone made the violations: with 965 it fits, and nothing is reported */
    snprintf(outs[2], PRINTED_BYTES, "%s", outs[1]);
    ops[2].out_len = strlen(outs[2]);
    ops[2].reply.balance = 965;
    b.nseen = 0;
    CHECK_EQ(check_judge(&in, &sink), 0);
    CHECK_EQ(b.nseen, 0);
    CHECK_EQ(model[2], HIST_MODEL_FITS);
    check_txs_free(&disk);
    check_txs_free(&initial);
}

static int stop_now(void *ctx) {
    (void)ctx;
    return 1;
}

/* A stop() that says yes ends judging early with HIST_ESTOPPED, reporting nothing more. */
TEST(stop_ends_judging) {
    big_t b;
    big_build(&b, 3000, 9);
    CHECK_EQ(big_judge(&b, stop_now, NULL), HIST_ESTOPPED);
    big_serials_reset(&b);
    CHECK_EQ(check_assign_serials(b.ops, b.nops, &b.disk, &b.initial, NULL, NULL), 0);
    check_input_t in = {.scn = &b.scn, .ops = b.ops, .op_count = b.nops, .disk = &b.disk,
                        .settled = 1, .stop = stop_now};
    uint64_t faults[FAULT_COUNT] = {0};
    in.faults = faults;
    check_sink_t sink = {.violation = big_violation, .expect_failed = big_expect, .ctx = &b};
    b.expects_failed = 0;
    CHECK_EQ(check_judge(&in, &sink), HIST_ESTOPPED);
    CHECK_EQ(b.expects_failed, 0);
    big_free(&b);
}

/* The old serial assignment against the new one on the same n transfers (printed). */
static void bench_serials(size_t n) {
    big_t b;
    big_build(&b, n, 11);
    check_op_t *copy = malloc((b.nops + 1) * sizeof(*copy));
    memcpy(copy, b.ops, b.nops * sizeof(*copy));
    int old = n <= OLD_BENCH_MAX;
    uint64_t t0 = now_ns();
    if (old) old_assign_serials(copy, b.nops, &b.disk, &b.initial);
    uint64_t t1 = now_ns();
    CHECK_EQ(check_assign_serials(b.ops, b.nops, &b.disk, &b.initial, NULL, NULL), 0);
    uint64_t t2 = now_ns();
    for (size_t i = 0; old && i < b.nops; i++) CHECK(copy[i].reply.serial == b.ops[i].reply.serial);
    if (old)
        printf("judge: serials of %zu transfers: old %.3f s, new %.6f s\n", n, (double)(t1 - t0) / 1e9,
               (double)(t2 - t1) / 1e9);
    else
        printf("judge: serials of %zu transfers: new %.6f s (old not run above %d transfers)\n", n,
               (double)(t2 - t1) / 1e9, OLD_BENCH_MAX);
    fflush(stdout);
    free(copy);
    big_free(&b);
}

TEST(old_and_new_serials_agree) {
    bench_serials(OLD_TRANSFERS);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--bench") == 0) { /* test_sim_judge --bench N */
        size_t n = (size_t)strtoull(argv[2], NULL, 10);
        big_t b;
        big_build(&b, n, 7);
        uint64_t ns;
        int rc = big_judge(&b, NULL, &ns);
        printf("judge: %zu transfers (%zu operations, %zu disk lines) judged in %.3f s: rc %d, "
               "%d violations, %d expects failed\n", n, b.nops, b.disk.count, (double)ns / 1e9, rc, b.nseen,
               b.expects_failed);
        fflush(stdout);
        big_free(&b);
        bench_serials(n);
        return check_failures_ != 0;
    }
    RUN(serials_fit_the_printed_balance);
    RUN(serials_two_fitting_candidates);
    RUN(serials_a_false_answer_does_not_take_a_true_ones_serial);
    RUN(serials_and_balances_match_the_old_algorithms);
    RUN(big_history_passes);
    RUN(big_history_faults_are_named);
    RUN(stop_ends_judging);
    RUN(printed_answers_against_the_model);
    RUN(old_and_new_serials_agree);
    return CHECK_DONE();
}
