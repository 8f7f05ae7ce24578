/* test_ledger.c — unit tests of core/ledger.c: totals, partner aggregates and their
 * cursors (and the aggregate cache), serial lookups and ascending positions, inserts below
 * the largest serial, duplicate and overflow refusals (ledger unchanged), the bulk load
 * (sorting, duplicates found at the end), and randomized scale tests checked against a
 * naive recomputation. */
#include <stdlib.h>

#include "check.h"
#include "ledger.h"

#define S(lit) (lit), (sizeof(lit) - 1) /* a string literal as (pointer, length) */

/* Parses one block line and adds it; returns ledger_add's code (parse must succeed). */
static int add_line(ledger_t *l, const char *line) {
    tx_t t;
    char err[64];
    int rc = tx_parse_line(line, strlen(line), &t, err, sizeof err);
    CHECK_EQ(rc, AC_OK);
    if (rc != AC_OK) return rc;
    return ledger_add(l, &t);
}

static ledger_totals_t totals_of(const ledger_t *l, const char *name) {
    ledger_totals_t t;
    ledger_totals(l, name, strlen(name), &t);
    return t;
}

/* Checks one user's totals. */
static void check_totals(const ledger_t *l, const char *name, int exists, uint64_t sent,
                         uint64_t received, uint32_t tx_count) {
    ledger_totals_t t = totals_of(l, name);
    CHECK_EQ(t.exists, exists);
    CHECK(t.sent == sent);
    CHECK(t.received == received);
    CHECK_EQ(t.tx_count, tx_count);
    if (t.exists != exists || t.sent != sent || t.received != received || t.tx_count != tx_count)
        fprintf(stderr, "  user \"%s\"\n", name);
}

#define ROWS_MAX 16

/* All partner rows of name, fetched `page` rows at a time; returns the row count. */
static uint32_t partners_all(ledger_t *l, const char *name, ledger_partner_t *rows,
                             uint32_t rows_max, uint32_t page) {
    uint32_t cursor = 0, n = 0;
    int done = 0;
    for (int calls = 0; calls < 1000 && !done; calls++) {
        uint32_t want = page < rows_max - n ? page : rows_max - n;
        n += ledger_partners(l, name, strlen(name), &cursor, rows + n, want, &done);
        if (n == rows_max) break;
    }
    CHECK_EQ(done, 1);
    return n;
}

static void check_row(const ledger_partner_t *r, const char *name, uint32_t count, int64_t net) {
    CHECK_EQ(r->name_len, strlen(name));
    CHECK(r->name_len == strlen(name) && memcmp(r->name, name, r->name_len) == 0);
    CHECK_EQ(r->count, count);
    CHECK_EQ(r->net, net);
}

/* The nine transactions of the sample blocks (SPEC's worked example), all in one ledger. */
static const char *const sample_lines[] = {
    "5 Chinmay Oliver 129", "1 Racheal John 45",   "9 Ali Luke 155",
    "2 Rishil Alice 30",    "8 Rishil Chinmay 10", "3 Oliver Rachit 94",
    "6 Racheal Alice 49",   "4 Ben Victor 85",     "7 Martin Luke 25",
};

static void sample_load(ledger_t *l) {
    ledger_init(l);
    for (size_t i = 0; i < AC_ARRAY_LEN(sample_lines); i++) {
        CHECK_EQ(add_line(l, sample_lines[i]), AC_OK);
    }
}

TEST(test_empty) {
    ledger_t l;
    ledger_init(&l);
    check_totals(&l, "Nobody", 0, 0, 0, 0);
    CHECK_EQ(ledger_find_serial(&l, 1), -1);
    CHECK(l.max_serial == 0);
    uint32_t cursor = 0;
    int done = 0;
    ledger_partner_t row;
    CHECK_EQ(ledger_partners(&l, S("Nobody"), &cursor, &row, 1, &done), 0);
    CHECK_EQ(done, 1);
    ledger_free(&l);
    ledger_free(&l); /* harmless twice */
}

TEST(test_sample_totals) {
    ledger_t l;
    sample_load(&l);
    CHECK_EQ(l.tx_count, 9);
    CHECK(l.max_serial == 9);
    /* SPEC: Chinmay 881 = 1000 + 10 - 129; Luke 1180 = 1000 + 155 + 25 */
    check_totals(&l, "Chinmay", 1, 129, 10, 2);
    check_totals(&l, "Luke", 1, 0, 180, 2);
    check_totals(&l, "Rishil", 1, 40, 0, 2);
    check_totals(&l, "Alice", 1, 0, 79, 2);
    check_totals(&l, "luke", 0, 0, 0, 0); /* case-sensitive */
    check_totals(&l, "Luk", 0, 0, 0, 0);
    check_totals(&l, "Lukee", 0, 0, 0, 0);
    ledger_totals_t t;
    ledger_totals(&l, NULL, 0, &t);
    CHECK_EQ(t.exists, 0);
    char n65[NAME_BYTES_MAX + 1];
    memset(n65, 'a', sizeof n65);
    ledger_totals(&l, n65, sizeof n65, &t);
    CHECK_EQ(t.exists, 0);

    /* added out of order, held in ascending serial order: serial s at position s-1 */
    for (uint64_t s = 1; s <= 9; s++) {
        int64_t i = ledger_find_serial(&l, s);
        CHECK_EQ(i, (int64_t)s - 1);
        if (i < 0) continue;
        tx_t x;
        ledger_get(&l, (uint32_t)i, &x);
        CHECK(x.serial == s);
        char line[TX_LINE_BYTES_MAX];
        size_t n = tx_format(&x, line, sizeof line);
        CHECK(n > 0);
        line[n - 1] = '\0';
        int found = 0;
        for (size_t k = 0; k < AC_ARRAY_LEN(sample_lines); k++) found += strcmp(line, sample_lines[k]) == 0;
        CHECK_EQ(found, 1);
    }
    CHECK_EQ(ledger_find_serial(&l, 0), -1);
    CHECK_EQ(ledger_find_serial(&l, 10), -1);
    CHECK_EQ(ledger_find_serial(&l, UINT64_MAX), -1);
    ledger_free(&l);
}

TEST(test_sample_partners) {
    ledger_t l;
    sample_load(&l);
    CHECK_EQ(add_line(&l, "10 Chinmay Luke 20"), AC_OK);
    ledger_partner_t rows[ROWS_MAX];
    /* first-seen order: Oliver (serial 5), Rishil (8), Luke (10) */
    for (uint32_t page = 1; page <= 4; page++) {
        memset(rows, 0, sizeof rows);
        CHECK_EQ(partners_all(&l, "Chinmay", rows, ROWS_MAX, page), 3);
        check_row(&rows[0], "Oliver", 1, -129);
        check_row(&rows[1], "Rishil", 1, 10);
        check_row(&rows[2], "Luke", 1, -20);
    }
    /* first-seen in serial order: Martin (7), Ali (9), Chinmay (10) */
    CHECK_EQ(partners_all(&l, "Luke", rows, ROWS_MAX, 10), 3);
    check_row(&rows[0], "Martin", 1, 25);
    check_row(&rows[1], "Ali", 1, 155);
    check_row(&rows[2], "Chinmay", 1, 20);
    CHECK_EQ(partners_all(&l, "Nobody", rows, ROWS_MAX, 10), 0);

    /* repeated transactions in both directions aggregate into one row */
    CHECK_EQ(add_line(&l, "11 Luke Chinmay 7"), AC_OK);
    CHECK_EQ(add_line(&l, "12 Luke Chinmay 3"), AC_OK);
    CHECK_EQ(partners_all(&l, "Chinmay", rows, ROWS_MAX, 2), 3);
    check_row(&rows[2], "Luke", 3, -10);
    CHECK_EQ(partners_all(&l, "Luke", rows, ROWS_MAX, 2), 3);
    check_row(&rows[2], "Chinmay", 3, 10);
    check_totals(&l, "Luke", 1, 10, 200, 5);
    ledger_free(&l);
}

TEST(test_partner_cursor) {
    ledger_t l;
    ledger_init(&l);
    CHECK_EQ(add_line(&l, "1 U P1 1"), AC_OK);
    CHECK_EQ(add_line(&l, "2 P2 U 2"), AC_OK);
    CHECK_EQ(add_line(&l, "3 U P3 3"), AC_OK);
    ledger_partner_t row[2];
    uint32_t cursor = 0;
    int done = -1;
    /* max 0: nothing written, rows remain */
    CHECK_EQ(ledger_partners(&l, S("U"), &cursor, row, 0, &done), 0);
    CHECK_EQ(done, 0);
    CHECK_EQ(ledger_partners(&l, S("U"), &cursor, NULL, 0, &done), 0);
    CHECK_EQ(done, 0);
    CHECK_EQ(cursor, 0);
    CHECK_EQ(ledger_partners(&l, S("U"), &cursor, row, 1, &done), 1);
    check_row(&row[0], "P1", 1, -1);
    CHECK_EQ(done, 0);
    uint32_t saved = cursor;
    CHECK_EQ(ledger_partners(&l, S("U"), &cursor, row, 2, &done), 2);
    check_row(&row[0], "P2", 1, 2);
    check_row(&row[1], "P3", 1, -3);
    CHECK_EQ(done, 1);
    /* the same cursor gives the same page again (idempotent page requests) */
    uint32_t again = saved;
    CHECK_EQ(ledger_partners(&l, S("U"), &again, row, 2, &done), 2);
    check_row(&row[0], "P2", 1, 2);
    CHECK_EQ(again, cursor);
    /* at the end: nothing more */
    uint32_t end = cursor;
    CHECK_EQ(ledger_partners(&l, S("U"), &end, row, 2, &done), 0);
    CHECK_EQ(done, 1);
    /* an append later: the end cursor stays valid and finds the new partner */
    CHECK_EQ(add_line(&l, "4 P4 U 4"), AC_OK);
    CHECK_EQ(add_line(&l, "5 U P1 10"), AC_OK); /* an old partner: no new row */
    end = cursor;
    CHECK_EQ(ledger_partners(&l, S("U"), &end, row, 2, &done), 1);
    check_row(&row[0], "P4", 1, 4);
    CHECK_EQ(done, 1);
    /* the cached aggregates were brought up to date: P1 now has both transactions */
    ledger_partner_t all[ROWS_MAX];
    CHECK_EQ(partners_all(&l, "U", all, ROWS_MAX, 2), 4);
    check_row(&all[0], "P1", 2, -11);
    check_row(&all[3], "P4", 1, 4);

    /* bad cursors (they come from the network): past the rows, no rows, done */
    uint32_t bad = 5;
    CHECK_EQ(ledger_partners(&l, S("U"), &bad, row, 2, &done), 0);
    CHECK_EQ(done, 1);
    bad = UINT32_MAX;
    CHECK_EQ(ledger_partners(&l, S("U"), &bad, row, 2, &done), 0);
    CHECK_EQ(done, 1);
    uint32_t p1 = 0;
    CHECK_EQ(ledger_partners(&l, S("P1"), &p1, row, 1, &done), 1);
    check_row(&row[0], "U", 2, 11);
    CHECK_EQ(p1, 1);
    ledger_free(&l);
}

TEST(test_self_transaction) {
    ledger_t l;
    ledger_init(&l);
    CHECK_EQ(add_line(&l, "1 Me Me 10"), AC_OK);
    check_totals(&l, "Me", 1, 10, 10, 1);
    CHECK_EQ(add_line(&l, "2 Me You 3"), AC_OK);
    CHECK_EQ(add_line(&l, "3 Me Me 5"), AC_OK);
    check_totals(&l, "Me", 1, 18, 15, 3);
    ledger_partner_t rows[ROWS_MAX];
    CHECK_EQ(partners_all(&l, "Me", rows, ROWS_MAX, 1), 2);
    check_row(&rows[0], "Me", 2, 0);
    check_row(&rows[1], "You", 1, -3);
    ledger_free(&l);
}

TEST(test_duplicate_and_invalid) {
    ledger_t l;
    sample_load(&l);
    CHECK_EQ(add_line(&l, "5 Zed Chinmay 1"), AC_EDUP);
    CHECK_EQ(add_line(&l, "9 Ali Luke 155"), AC_EDUP); /* even identical */
    CHECK_EQ(l.tx_count, 9);
    check_totals(&l, "Zed", 0, 0, 0, 0);
    check_totals(&l, "Chinmay", 1, 129, 10, 2);

    /* out-of-range fields in a hand-made tx_t are refused, not trusted */
    tx_t t;
    tx_set(&t, 0, S("A"), S("B"), 5);
    CHECK_EQ(ledger_add(&l, &t), AC_ERANGE);
    tx_set(&t, 100, S("A"), S("B"), 0);
    CHECK_EQ(ledger_add(&l, &t), AC_ERANGE);
    tx_set(&t, 100, S("A"), S("B"), AMOUNT_MAX + 1);
    CHECK_EQ(ledger_add(&l, &t), AC_ERANGE);
    tx_set(&t, 100, S("A"), S("B"), -1);
    CHECK_EQ(ledger_add(&l, &t), AC_ERANGE);
    CHECK_EQ(l.tx_count, 9);
    check_totals(&l, "A", 0, 0, 0, 0);

    /* the largest serial is fine */
    tx_set(&t, UINT64_MAX, S("A"), S("B"), AMOUNT_MAX);
    CHECK_EQ(ledger_add(&l, &t), AC_OK);
    CHECK(l.max_serial == UINT64_MAX);
    CHECK_EQ(ledger_find_serial(&l, UINT64_MAX), 9);
    ledger_free(&l);
}

/* Snapshot of everything observable about two users and their pair, for "unchanged". */
typedef struct {
    ledger_totals_t a, b;
    uint32_t tx_count, user_count;
    uint64_t max_serial;
    ledger_partner_t rows[ROWS_MAX];
    uint32_t row_count;
} snapshot_t;

static void snapshot_take(ledger_t *l, snapshot_t *s) {
    memset(s, 0, sizeof *s);
    s->a = totals_of(l, "A");
    s->b = totals_of(l, "B");
    s->tx_count = l->tx_count;
    s->user_count = l->user_count;
    s->max_serial = l->max_serial;
    s->row_count = partners_all(l, "A", s->rows, ROWS_MAX, ROWS_MAX);
}

static void snapshot_check_same(ledger_t *l, const snapshot_t *before) {
    snapshot_t now;
    snapshot_take(l, &now);
    CHECK(memcmp(&now.a, &before->a, sizeof now.a) == 0);
    CHECK(memcmp(&now.b, &before->b, sizeof now.b) == 0);
    CHECK_EQ(now.tx_count, before->tx_count);
    CHECK_EQ(now.user_count, before->user_count);
    CHECK(now.max_serial == before->max_serial);
    CHECK_EQ(now.row_count, before->row_count);
    for (uint32_t i = 0; i < now.row_count && i < before->row_count; i++) {
        CHECK_EQ(now.rows[i].count, before->rows[i].count);
        CHECK_EQ(now.rows[i].net, before->rows[i].net);
    }
}

TEST(test_overflow) {
    /* A user's sent and received stop at INT64_MAX (so every partner's net fits int64).
     * Reaching it takes ~9.2e6 transactions of 10^12, so the totals are pushed near the
     * limit directly (the struct is public for this reason). */
    ledger_t l;
    ledger_init(&l);
    CHECK_EQ(add_line(&l, "1 A B 1000000000000"), AC_OK);
    int64_t a = ledger_find_serial(&l, 1);
    CHECK_EQ(a, 0);
    uint32_t ua = l.txs[0].sender, ub = l.txs[0].receiver;
    snapshot_t snap;

    l.users[ua].sent = (uint64_t)INT64_MAX - 5;
    snapshot_take(&l, &snap);
    CHECK_EQ(add_line(&l, "2 A B 6"), AC_ERANGE);
    CHECK_EQ(add_line(&l, "3 A C 6"), AC_ERANGE); /* to a new user: nothing created */
    CHECK_EQ(add_line(&l, "4 A A 6"), AC_ERANGE);
    snapshot_check_same(&l, &snap);
    CHECK_EQ(ledger_find_serial(&l, 2), -1);
    check_totals(&l, "C", 0, 0, 0, 0);
    CHECK_EQ(add_line(&l, "5 A B 5"), AC_OK); /* exactly INT64_MAX */
    check_totals(&l, "A", 1, (uint64_t)INT64_MAX, 0, 2);

    l.users[ub].received = (uint64_t)INT64_MAX - 1;
    snapshot_take(&l, &snap);
    CHECK_EQ(add_line(&l, "6 D B 2"), AC_ERANGE); /* from a new user */
    CHECK_EQ(add_line(&l, "7 B B 2"), AC_ERANGE); /* B's received overflows */
    snapshot_check_same(&l, &snap);
    check_totals(&l, "D", 0, 0, 0, 0);
    CHECK_EQ(add_line(&l, "8 D B 1"), AC_OK); /* exactly INT64_MAX */
    ledger_free(&l);

    /* the same limit in a bulk load */
    ledger_init(&l);
    ledger_load_begin(&l, 2);
    tx_t t[2];
    tx_set(&t[0], 1, S("A"), S("B"), 5);
    tx_set(&t[1], 2, S("A"), S("B"), 5);
    uint32_t added = 0;
    CHECK_EQ(ledger_load_add_batch(&l, t, 1, &added), AC_OK);
    CHECK_EQ(added, 1);
    l.users[l.txs[0].sender].sent = (uint64_t)INT64_MAX - 4;
    CHECK_EQ(ledger_load_add_batch(&l, &t[1], 1, &added), AC_ERANGE);
    CHECK_EQ(added, 0);
    t[1].amount = 0;
    CHECK_EQ(ledger_load_add_batch(&l, &t[1], 1, &added), AC_ERANGE);
    ledger_free(&l);
}

/* ---- scale ---- */

/* A small generator of the test's own (xorshift64*), independent of core/prng.c. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rng_next(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

enum { SCALE_USERS = 5000, SCALE_TXS = 200000, SCALE_CHECKED_USERS = 40 };

typedef struct {
    uint64_t serial;
    int64_t amount;
    uint32_t sender, receiver;
} naive_tx_t;

static void scale_name(uint32_t u, char *buf) { snprintf(buf, 16, "user%u", u); }

/* Recomputes user u's partner rows from the raw list (in serial order), in first-seen order, and compares
 * them with ledger_partners (fetched in pages of 37). */
static void scale_check_partners(ledger_t *l, const naive_tx_t *txs, uint32_t n,
                                 uint32_t u) {
    static uint32_t count[SCALE_USERS];
    static int64_t net[SCALE_USERS];
    static uint32_t order[SCALE_USERS];
    uint32_t order_len = 0;
    memset(count, 0, sizeof count);
    memset(net, 0, sizeof net);
    for (uint32_t i = 0; i < n; i++) {
        const naive_tx_t *x = &txs[i];
        uint32_t p;
        int64_t delta;
        if (x->sender == u) {
            p = x->receiver;
            delta = x->sender == x->receiver ? 0 : -x->amount;
        } else if (x->receiver == u) {
            p = x->sender;
            delta = x->amount;
        } else {
            continue;
        }
        if (count[p] == 0) order[order_len++] = p;
        count[p]++;
        net[p] += delta;
    }
    char name[16];
    scale_name(u, name);
    static ledger_partner_t rows[SCALE_USERS];
    uint32_t cursor = 0, got = 0;
    int done = 0;
    for (uint32_t calls = 0; calls < SCALE_USERS && !done; calls++) {
        got += ledger_partners(l, name, strlen(name), &cursor, rows + got, 37, &done);
    }
    CHECK_EQ(done, 1);
    CHECK_EQ(got, order_len);
    int bad = 0;
    for (uint32_t i = 0; i < got && i < order_len; i++) {
        char pname[16];
        scale_name(order[i], pname);
        bad += rows[i].name_len != strlen(pname) ||
               memcmp(rows[i].name, pname, rows[i].name_len) != 0 ||
               rows[i].count != count[order[i]] || rows[i].net != net[order[i]];
    }
    CHECK_EQ(bad, 0);
}

static void scale_check_all(ledger_t *l, const naive_tx_t *txs, uint32_t n) {
    static uint64_t sent[SCALE_USERS], received[SCALE_USERS];
    static uint32_t tx_count[SCALE_USERS];
    memset(sent, 0, sizeof sent);
    memset(received, 0, sizeof received);
    memset(tx_count, 0, sizeof tx_count);
    uint64_t max_serial = 0;
    for (uint32_t i = 0; i < n; i++) {
        sent[txs[i].sender] += (uint64_t)txs[i].amount;
        received[txs[i].receiver] += (uint64_t)txs[i].amount;
        tx_count[txs[i].sender]++;
        if (txs[i].receiver != txs[i].sender) tx_count[txs[i].receiver]++;
        if (txs[i].serial > max_serial) max_serial = txs[i].serial;
    }
    CHECK_EQ(l->tx_count, n);
    CHECK(l->max_serial == max_serial);
    int bad = 0;
    for (uint32_t u = 0; u < SCALE_USERS; u++) {
        char name[16];
        scale_name(u, name);
        ledger_totals_t t;
        ledger_totals(l, name, strlen(name), &t);
        bad += t.exists != (tx_count[u] > 0) || t.sent != sent[u] ||
               t.received != received[u] || t.tx_count != tx_count[u];
    }
    CHECK_EQ(bad, 0);
    bad = 0;
    for (uint32_t i = 0; i < n; i++) bad += ledger_find_serial(l, txs[i].serial) != (int64_t)i;
    CHECK_EQ(bad, 0);
    for (uint32_t k = 0; k < SCALE_CHECKED_USERS; k++) {
        scale_check_partners(l, txs, n, (uint32_t)(rng_next() % SCALE_USERS));
    }
    scale_check_partners(l, txs, n, 0); /* user 0 is a hub, see test_scale */
}

static int naive_cmp(const void *a, const void *b) {
    uint64_t x = ((const naive_tx_t *)a)->serial, y = ((const naive_tx_t *)b)->serial;
    return x < y ? -1 : x > y;
}

/* Loads txs[0..n) in their order through the bulk path, in batches of `batch`. */
static int scale_load(ledger_t *l, const naive_tx_t *txs, uint32_t n, uint32_t batch,
                      uint32_t *dup_at) {
    ledger_load_begin(l, n);
    tx_t t[LEDGER_LOAD_BATCH];
    for (uint32_t i = 0; i < n; i += batch) {
        uint32_t k = 0;
        for (; k < batch && i + k < n; k++) {
            const naive_tx_t *x = &txs[i + k];
            char sn[16], rn[16];
            scale_name(x->sender, sn);
            scale_name(x->receiver, rn);
            tx_set(&t[k], x->serial, sn, strlen(sn), rn, strlen(rn), x->amount);
        }
        uint32_t added = 0;
        int rc = ledger_load_add_batch(l, t, k, &added);
        CHECK_EQ(rc, AC_OK);
        CHECK_EQ(added, k);
    }
    return ledger_load_end(l, dup_at);
}

TEST(test_scale) {
    naive_tx_t *txs = malloc(SCALE_TXS * sizeof *txs);
    CHECK(txs != NULL);
    if (txs == NULL) return;
    ledger_t l;
    ledger_init(&l);
    /* distinct serials in random order: a random odd multiplier is a bijection on uint64
     * (spread over 2^64: the load sorts them with its wide path) */
    uint64_t mul = rng_next() | 1;
    for (uint32_t i = 0; i < SCALE_TXS; i++) {
        naive_tx_t *x = &txs[i];
        x->serial = (uint64_t)(i + 1) * mul;
        if (x->serial == 0) x->serial = 1; /* cannot happen for i+1 < 2^32 and odd mul */
        /* a quarter of the txs involve user 0, so it has thousands of partners */
        x->sender = (uint32_t)(rng_next() % SCALE_USERS);
        x->receiver = i % 4 == 0 ? 0 : (uint32_t)(rng_next() % SCALE_USERS);
        if (rng_next() % 2 == 0) {
            uint32_t t = x->sender;
            x->sender = x->receiver;
            x->receiver = t;
        }
        x->amount = (int64_t)(rng_next() % 1000000) + 1;
        if (i % 1000 == 0) x->amount = AMOUNT_MAX;
    }
    uint32_t dup_at = 0;
    CHECK_EQ(scale_load(&l, txs, SCALE_TXS, LEDGER_LOAD_BATCH, &dup_at), AC_OK);
    /* every serial again: all duplicates */
    int bad = 0;
    for (uint32_t i = 0; i < SCALE_TXS; i += 97) {
        tx_t t;
        ledger_get(&l, i, &t);
        bad += ledger_add(&l, &t) != AC_EDUP;
    }
    CHECK_EQ(bad, 0);
    qsort(txs, SCALE_TXS, sizeof *txs, naive_cmp); /* the ledger's positions */
    scale_check_all(&l, txs, SCALE_TXS);
    ledger_free(&l);

    /* the same transactions with serials 1..n shuffled (the narrow radix path), loaded in
     * odd batch sizes */
    for (uint32_t i = 0; i < SCALE_TXS; i++) txs[i].serial = i + 1;
    for (uint32_t i = SCALE_TXS - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(rng_next() % (i + 1));
        naive_tx_t t = txs[i];
        txs[i] = txs[j];
        txs[j] = t;
    }
    ledger_init(&l);
    CHECK_EQ(scale_load(&l, txs, SCALE_TXS, 7, &dup_at), AC_OK);
    qsort(txs, SCALE_TXS, sizeof *txs, naive_cmp);
    scale_check_all(&l, txs, SCALE_TXS);
    /* appends after the load, above the largest serial, extend the cached aggregates */
    naive_tx_t *more = realloc(txs, (SCALE_TXS + 1000) * sizeof *txs);
    CHECK(more != NULL);
    if (more == NULL) {
        free(txs);
        ledger_free(&l);
        return;
    }
    txs = more;
    bad = 0;
    for (uint32_t i = SCALE_TXS; i < SCALE_TXS + 1000; i++) {
        naive_tx_t *x = &txs[i];
        x->serial = i + 1;
        x->sender = i % 2 == 0 ? 0 : (uint32_t)(rng_next() % SCALE_USERS);
        x->receiver = (uint32_t)(rng_next() % SCALE_USERS);
        x->amount = (int64_t)(rng_next() % 1000) + 1;
        char sn[16], rn[16];
        scale_name(x->sender, sn);
        scale_name(x->receiver, rn);
        tx_t t;
        tx_set(&t, x->serial, sn, strlen(sn), rn, strlen(rn), x->amount);
        bad += ledger_add(&l, &t) != AC_OK;
        if (i % 100 == 0) scale_check_partners(&l, txs, i + 1, 0); /* user 0's cache, kept up */
    }
    CHECK_EQ(bad, 0);
    scale_check_all(&l, txs, SCALE_TXS + 1000);
    free(txs);
    ledger_free(&l);
}

/* The bulk load: already-ascending and descending files need no sort; a duplicate is
 * reported at its first repeat in load order, whatever the order. */
TEST(test_load_orders) {
    enum { N = 100 };
    naive_tx_t txs[N];
    for (uint32_t i = 0; i < N; i++) {
        txs[i] = (naive_tx_t){.serial = i + 1, .amount = i + 1, .sender = i % 7, .receiver = i % 5};
    }
    ledger_t l;
    uint32_t dup_at = 0;
    ledger_init(&l);
    CHECK_EQ(scale_load(&l, txs, N, 3, &dup_at), AC_OK);
    scale_check_all(&l, txs, N);
    ledger_free(&l);
    naive_tx_t rev[N];
    for (uint32_t i = 0; i < N; i++) rev[i] = txs[N - 1 - i];
    ledger_init(&l);
    CHECK_EQ(scale_load(&l, rev, N, LEDGER_LOAD_BATCH, &dup_at), AC_OK);
    scale_check_all(&l, txs, N);
    ledger_free(&l);

    /* serials 1..100 in a scrambled order, then 40 and 17 again: 40's copy comes first */
    naive_tx_t mix[N + 2];
    for (uint32_t i = 0; i < N; i++) mix[i] = txs[(i * 37) % N];
    mix[N] = txs[39];
    mix[N + 1] = txs[16];
    ledger_init(&l);
    CHECK_EQ(scale_load(&l, mix, N + 2, 5, &dup_at), AC_EDUP);
    CHECK_EQ(dup_at, N);
    ledger_free(&l);
    /* a repeat inside the scrambled part: the earliest repeat wins */
    mix[50] = mix[10];
    mix[60] = mix[20];
    ledger_init(&l);
    CHECK_EQ(scale_load(&l, mix, N, 5, &dup_at), AC_EDUP);
    CHECK_EQ(dup_at, 50);
    ledger_free(&l);
    /* ... and with serials spread over 2^64 (the qsort path) */
    for (uint32_t i = 0; i < N; i++) mix[i].serial *= 0x9E3779B97F4A7C15ULL;
    ledger_init(&l);
    CHECK_EQ(scale_load(&l, mix, N, 5, &dup_at), AC_EDUP);
    CHECK_EQ(dup_at, 50);
    ledger_free(&l);
    /* an empty load */
    ledger_init(&l);
    CHECK_EQ(scale_load(&l, txs, 0, 5, &dup_at), AC_OK);
    CHECK_EQ(l.tx_count, 0);
    ledger_free(&l);
}

/* A run-time insert below the largest serial (serverM never sends one, but the ledger
 * stays right): positions move, chains and the aggregate cache are rebuilt. */
TEST(test_insert_below_max) {
    ledger_t l;
    ledger_init(&l);
    CHECK_EQ(add_line(&l, "10 U A 1"), AC_OK);
    CHECK_EQ(add_line(&l, "20 B U 2"), AC_OK);
    ledger_partner_t rows[ROWS_MAX];
    CHECK_EQ(partners_all(&l, "U", rows, ROWS_MAX, 1), 2); /* cached: A, B */
    CHECK_EQ(add_line(&l, "15 U C 3"), AC_OK);
    CHECK_EQ(add_line(&l, "5 A U 4"), AC_OK);
    CHECK_EQ(add_line(&l, "15 U C 3"), AC_EDUP);
    CHECK_EQ(ledger_find_serial(&l, 5), 0);
    CHECK_EQ(ledger_find_serial(&l, 15), 2);
    CHECK_EQ(ledger_find_serial(&l, 20), 3);
    CHECK_EQ(ledger_find_serial(&l, 12), -1);
    CHECK_EQ(partners_all(&l, "U", rows, ROWS_MAX, 2), 3);
    check_row(&rows[0], "A", 2, 3);
    check_row(&rows[1], "C", 1, -3);
    check_row(&rows[2], "B", 1, 2);
    check_totals(&l, "U", 1, 4, 6, 4);
    ledger_free(&l);
}

/* More users paged at once than the cache holds: evicted entries are rebuilt. */
TEST(test_partner_cache_eviction) {
    ledger_t l;
    ledger_init(&l);
    char line[64];
    for (uint32_t i = 0; i < 60; i++) {
        snprintf(line, sizeof line, "%u U%u P%u %u", i + 1, i % 6, i % 10, i + 1);
        CHECK_EQ(add_line(&l, line), AC_OK);
    }
    ledger_partner_t row;
    uint32_t cursor[6] = {0};
    int done = 0, rows[6] = {0};
    /* interleave six users' pages, one row at a time (the cache holds fewer) */
    for (int round = 0; round < 10; round++) {
        for (uint32_t u = 0; u < 6; u++) {
            char name[8];
            snprintf(name, sizeof name, "U%u", u);
            rows[u] += ledger_partners(&l, name, strlen(name), &cursor[u], &row, 1, &done);
        }
    }
    for (uint32_t u = 0; u < 6; u++) CHECK_EQ(rows[u], 5); /* U0: P0,P6,P2,P8,P4 */
    ledger_free(&l);
}

/* One user with 100,000 partners, paged through in full. */
TEST(test_many_partners) {
    enum { PARTNERS = 100000, PAGE = 500 };
    ledger_t l;
    ledger_init(&l);
    int bad = 0;
    for (uint32_t i = 0; i < PARTNERS; i++) {
        char pn[16];
        int n = snprintf(pn, sizeof pn, "p%u", i);
        tx_t t;
        if (i % 2 == 0) {
            tx_set(&t, i + 1, S("hub"), pn, (size_t)n, i + 1);
        } else {
            tx_set(&t, i + 1, pn, (size_t)n, S("hub"), i + 1);
        }
        bad += ledger_add(&l, &t) != AC_OK;
    }
    CHECK_EQ(bad, 0);
    static ledger_partner_t rows[PAGE];
    uint32_t cursor = 0, seen = 0;
    int done = 0;
    bad = 0;
    for (uint32_t calls = 0; calls <= PARTNERS / PAGE && !done; calls++) {
        uint32_t n = ledger_partners(&l, S("hub"), &cursor, rows, PAGE, &done);
        for (uint32_t k = 0; k < n; k++, seen++) {
            char pn[16];
            snprintf(pn, sizeof pn, "p%u", seen);
            int64_t net = seen % 2 == 0 ? -(int64_t)(seen + 1) : (int64_t)(seen + 1);
            bad += rows[k].name_len != strlen(pn) || memcmp(rows[k].name, pn, strlen(pn)) != 0 ||
                   rows[k].count != 1 || rows[k].net != net;
        }
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(seen, PARTNERS);
    CHECK_EQ(done, 1);
    check_totals(&l, "hub", 1, (uint64_t)PARTNERS / 2 * (PARTNERS / 2),
                 (uint64_t)PARTNERS / 2 * (PARTNERS / 2 + 1), PARTNERS);
    ledger_free(&l);
}

/* Every user's totals and partner rows in a and b are the same. */
static void check_same_ledgers(ledger_t *a, ledger_t *b) {
    CHECK_EQ(a->tx_count, b->tx_count);
    CHECK_EQ(a->user_count, b->user_count);
    CHECK(a->max_serial == b->max_serial);
    for (uint32_t u = 0; u < a->user_count && u < b->user_count; u++) {
        const ledger_user_t *x = &a->users[u];
        char name[NAME_BYTES_MAX + 1];
        memcpy(name, a->names + x->name_off, x->name_len);
        name[x->name_len] = '\0';
        ledger_totals_t ta = totals_of(a, name), tb = totals_of(b, name);
        CHECK(memcmp(&ta, &tb, sizeof(ta)) == 0);
        ledger_partner_t ra[ROWS_MAX], rb[ROWS_MAX];
        uint32_t na = partners_all(a, name, ra, ROWS_MAX, 2);
        uint32_t nb = partners_all(b, name, rb, ROWS_MAX, 3);
        CHECK_EQ(na, nb);
        for (uint32_t k = 0; k < na && k < nb; k++) {
            CHECK(ra[k].name_len == rb[k].name_len &&
                  memcmp(ra[k].name, rb[k].name, ra[k].name_len) == 0);
            CHECK(ra[k].count == rb[k].count && ra[k].net == rb[k].net);
        }
    }
    for (uint32_t i = 0; i < a->tx_count; i++)
        CHECK_EQ(ledger_find_serial(b, a->txs[i].serial), (int64_t)i);
}

/* ledger_copy: the copy answers as the original, partner cache included, keeps answering so
 * as both take the same transactions, and neither shares memory with the other. */
TEST(test_copy) {
    ledger_t a, b;
    sample_load(&a);
    ledger_partner_t rows[ROWS_MAX];
    (void)partners_all(&a, "Rishil", rows, ROWS_MAX, 1); /* a cached user */
    CHECK_EQ(ledger_copy(&b, &a), AC_OK);
    check_same_ledgers(&a, &b);
    CHECK(b.txs != a.txs && b.users != a.users && b.names != a.names && b.user_slots != a.user_slots);
    CHECK_EQ(add_line(&a, "10 Rishil Newcomer 3"), AC_OK);
    check_totals(&b, "Newcomer", 0, 0, 0, 0); /* the copy did not see it */
    CHECK_EQ(add_line(&b, "10 Rishil Newcomer 3"), AC_OK);
    check_same_ledgers(&a, &b);
    ledger_free(&a);
    check_totals(&b, "Rishil", 1, 43, 0, 3);
    ledger_free(&b);
    ledger_t e, f; /* and an empty one */
    ledger_init(&e);
    CHECK_EQ(ledger_copy(&f, &e), AC_OK);
    check_totals(&f, "Ann", 0, 0, 0, 0);
    ledger_free(&e);
    ledger_free(&f);
}

/* ledger_totals_many answers what ledger_totals answers, name for name: on an empty ledger,
 * and on one of 3,000 users queried 64 at a time (present, absent, long, a repeat). */
TEST(test_totals_many_as_one_by_one) {
    ledger_t l;
    ledger_init(&l);
    char names[LEDGER_TOTALS_MANY_MAX][NAME_BYTES_MAX + 1];
    ledger_name_t refs[LEDGER_TOTALS_MANY_MAX];
    ledger_totals_t many[LEDGER_TOTALS_MANY_MAX];
    for (int round = 0; round < 2; round++) {
        if (round == 1) {
            char line[256];
            for (unsigned i = 0; i < 3000; i++) {
                snprintf(line, sizeof line, "%u u%u%s u%u %u", i + 1, i, i % 7 ? "" : "_a_long_name_past_the_head",
                         (i * 7919u) % 3000u, 1 + i % 50);
                CHECK_EQ(add_line(&l, line), AC_OK);
            }
        }
        for (unsigned q = 0; q < 100; q++) {
            for (unsigned k = 0; k < LEDGER_TOTALS_MANY_MAX; k++) {
                unsigned u = (q * 131u + k * 37u) % 4000u; /* past 3,000: absent */
                snprintf(names[k], sizeof names[k], "u%u%s", u, u % 7 ? "" : "_a_long_name_past_the_head");
                if (k == 5) snprintf(names[k], sizeof names[k], "%s", names[4]); /* a repeat */
                refs[k] = (ledger_name_t){.s = names[k], .len = strlen(names[k])};
            }
            ledger_totals_many(&l, refs, LEDGER_TOTALS_MANY_MAX, many);
            for (unsigned k = 0; k < LEDGER_TOTALS_MANY_MAX; k++) {
                ledger_totals_t one = totals_of(&l, names[k]);
                CHECK_EQ(many[k].exists, one.exists);
                CHECK(many[k].sent == one.sent && many[k].received == one.received);
                CHECK_EQ(many[k].tx_count, one.tx_count);
                if (round == 1 && q == 0 && k == 0) CHECK_EQ(one.exists, 1); /* u0 sent to u0 */
            }
        }
    }
    ledger_free(&l);
}

int main(void) {
    RUN(test_empty);
    RUN(test_totals_many_as_one_by_one);
    RUN(test_sample_totals);
    RUN(test_sample_partners);
    RUN(test_partner_cursor);
    RUN(test_self_transaction);
    RUN(test_duplicate_and_invalid);
    RUN(test_overflow);
    RUN(test_scale);
    RUN(test_load_orders);
    RUN(test_insert_below_max);
    RUN(test_partner_cache_eviction);
    RUN(test_many_partners);
    RUN(test_copy);
    return CHECK_DONE();
}
