/* gen.c — the benchmark's ledger: a generator of block files whose every transaction is a
 * pure function of (seed, serial), and the model that knows every answer: balances, the
 * stats rows of chosen users and the sorted list, kept up to date with the bench's own
 * confirmed transfers. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_WRITE_BUF_BYTES (1u << 20)   /* stdio buffer of each block file */
#define GEN_LINE_BYTES 128               /* one generated line (names are short) */

static uint32_t bench_users_for(uint64_t txs) {
    uint64_t u = txs / BENCH_TXS_PER_USER;
    if (u < BENCH_USERS_MIN) u = BENCH_USERS_MIN;
    if (u > BENCH_USERS_MAX) u = BENCH_USERS_MAX;
    return (uint32_t)u;
}

static bench_tx_t ledger_gen_tx(const bench_ledger_t *l, uint64_t serial) {
    AC_ASSERT(serial >= 1);
    AC_ASSERT(serial <= l->txs);
    bench_tx_t t;
    if (serial <= l->users) {
        t.sender = l->users;
        t.receiver = (uint32_t)(serial - 1);
        t.amount = BENCH_GRANT;
        return t;
    }
    uint64_t h = bench_mix(l->seed ^ (serial * 0xD1B54A32D192ED03ULL));
    t.sender = (uint32_t)(h % l->users);
    t.receiver = (uint32_t)((t.sender + 1 + (h >> 24) % (l->users - 1)) % l->users);
    t.amount = 1 + (int64_t)((h >> 44) % BENCH_AMOUNT_GEN_MAX);
    return t;
}

/* The block (0..2) that holds generated serial k. */
static unsigned gen_block_of(const bench_ledger_t *l, uint64_t serial) {
    return (unsigned)(bench_mix(l->seed + serial) % BACKEND_COUNT);
}

uint64_t ledger_max_serial(const bench_ledger_t *l) { return l->txs + l->log_len; }

static bench_tx_t ledger_tx(const bench_ledger_t *l, uint64_t serial) {
    AC_ASSERT(serial >= 1);
    AC_ASSERT(serial <= ledger_max_serial(l));
    if (serial <= l->txs) return ledger_gen_tx(l, serial);
    return l->log[serial - l->txs - 1];
}

static size_t fmt_u64(char *p, uint64_t v) {
    char tmp[24];
    size_t n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (size_t i = 0; i < n; i++) p[i] = tmp[n - 1 - i];
    return n;
}

size_t ledger_name(const bench_ledger_t *l, uint32_t u, char *buf) {
    if (u == l->users) { memcpy(buf, "mint", 5); return 4; }
    buf[0] = 'u';
    size_t n = 1 + fmt_u64(buf + 1, u);
    buf[n] = '\0';
    return n;
}

/* "<serial> <sender> <receiver> <amount>\n" into p; returns its length. */
static size_t gen_line(const bench_ledger_t *l, uint64_t serial, const bench_tx_t *t, char *p) {
    size_t n = fmt_u64(p, serial);
    p[n++] = ' ';
    n += ledger_name(l, t->sender, p + n);
    p[n++] = ' ';
    n += ledger_name(l, t->receiver, p + n);
    p[n++] = ' ';
    n += fmt_u64(p + n, (uint64_t)t->amount);
    p[n++] = '\n';
    return n;
}

void ledger_init(bench_ledger_t *l, uint64_t txs, uint64_t seed) {
    memset(l, 0, sizeof *l);
    l->seed = seed;
    l->txs = txs;
    l->users = bench_users_for(txs);
    AC_ASSERT(l->users < txs);
    l->balance = bench_xmalloc(((size_t)l->users + 1) * sizeof *l->balance);
    for (uint32_t u = 0; u <= l->users; u++) l->balance[u] = BALANCE_INITIAL;
    for (uint64_t k = 1; k <= txs; k++) {
        bench_tx_t t = ledger_gen_tx(l, k);
        l->balance[t.sender] -= t.amount;
        l->balance[t.receiver] += t.amount;
    }
}

void ledger_free(bench_ledger_t *l) {
    free(l->balance);
    free(l->log);
    memset(l, 0, sizeof *l);
}

void ledger_apply(bench_ledger_t *l, uint32_t sender, uint32_t receiver, int64_t amount) {
    if (l->log_len == l->log_cap) {
        l->log_cap = l->log_cap ? 2 * l->log_cap : 4096;
        l->log = bench_xrealloc(l->log, l->log_cap * sizeof *l->log);
    }
    l->log[l->log_len++] = (bench_tx_t){ sender, receiver, amount };
    l->balance[sender] -= amount;
    l->balance[receiver] += amount;
}

static FILE *gen_open(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) bench_die("cannot create %s", path);
    setvbuf(f, NULL, _IOFBF, GEN_WRITE_BUF_BYTES);
    return f;
}

static void gen_close(FILE *f, const char *path) {
    if (ferror(f) || fclose(f) != 0) bench_die("cannot write %s", path);
}

void ledger_write_blocks(const bench_ledger_t *l, const char *dir, const char *all_path) {
    static const char *const names[BACKEND_COUNT] = { "block1.txt", "block2.txt", "block3.txt" };
    char path[BACKEND_COUNT][BENCH_PATH_MAX];
    FILE *f[BACKEND_COUNT];
    for (unsigned b = 0; b < BACKEND_COUNT; b++) {
        bench_path(path[b], "%s/%s", dir, names[b]);
        f[b] = gen_open(path[b]);
    }
    FILE *all = all_path ? gen_open(all_path) : NULL;
    char line[GEN_LINE_BYTES];
    for (uint64_t k = 1; k <= l->txs; k++) {     /* ascending: blocks 1 and 3, the all file */
        bench_tx_t t = ledger_gen_tx(l, k);
        size_t n = gen_line(l, k, &t, line);
        unsigned b = gen_block_of(l, k);
        if (b != 1) fwrite(line, 1, n, f[b]);
        if (all) fwrite(line, 1, n, all);
    }
    for (uint64_t k = l->txs; k >= 1; k--) {     /* descending: block 2 */
        if (gen_block_of(l, k) != 1) continue;
        bench_tx_t t = ledger_gen_tx(l, k);
        fwrite(line, 1, gen_line(l, k, &t, line), f[1]);
    }
    for (unsigned b = 0; b < BACKEND_COUNT; b++) gen_close(f[b], path[b]);
    if (all) gen_close(all, all_path);
}

/* ---- stats ---- */
typedef struct {
    uint32_t slot, partner;
    int64_t delta;
} stat_rec_t;

static int rec_cmp(const void *a, const void *b) {
    const stat_rec_t *x = a, *y = b;
    if (x->slot != y->slot) return x->slot < y->slot ? -1 : 1;
    if (x->partner != y->partner) return x->partner < y->partner ? -1 : 1;
    return 0;
}

static const bench_ledger_t *row_cmp_ledger;   /* qsort has no context argument */

static int row_cmp(const void *a, const void *b) {
    const bench_row_t *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    char nx[NAME_BYTES_MAX + 1], ny[NAME_BYTES_MAX + 1];
    ledger_name(row_cmp_ledger, x->partner, nx);
    ledger_name(row_cmp_ledger, y->partner, ny);
    return strcmp(nx, ny);
}

void stats_model_build(const bench_ledger_t *l, bench_stats_model_t *m) {
    uint8_t *slot_of = bench_xmalloc((size_t)l->users + 1);
    memset(slot_of, 0xFF, (size_t)l->users + 1);
    for (unsigned i = 0; i < BENCH_STATS_USERS; i++) {
        AC_ASSERT(m->user[i] < l->users);
        slot_of[m->user[i]] = (uint8_t)i;
        m->rows[i] = NULL;
        m->rows_len[i] = 0;
    }
    stat_rec_t *rec = NULL;
    size_t len = 0, cap = 0;
    uint64_t max = ledger_max_serial(l);
    for (uint64_t k = 1; k <= max; k++) {
        bench_tx_t t = ledger_tx(l, k);
        for (int side = 0; side < 2; side++) {
            uint32_t me = side ? t.receiver : t.sender;
            if (slot_of[me] == 0xFF) continue;
            if (len == cap) {
                cap = cap ? 2 * cap : 1024;
                rec = bench_xrealloc(rec, cap * sizeof *rec);
            }
            rec[len++] = (stat_rec_t){ slot_of[me], side ? t.sender : t.receiver,
                                       side ? t.amount : -t.amount };
        }
    }
    free(slot_of);
    if (len) qsort(rec, len, sizeof *rec, rec_cmp);
    for (size_t i = 0; i < len;) {
        size_t j = i;
        bench_row_t row = { rec[i].partner, 0, 0 };
        for (; j < len && rec[j].slot == rec[i].slot && rec[j].partner == rec[i].partner; j++) {
            row.count++;
            row.net += rec[j].delta;
        }
        uint32_t s = rec[i].slot;
        m->rows[s] = bench_xrealloc(m->rows[s], (m->rows_len[s] + 1) * sizeof row);
        m->rows[s][m->rows_len[s]++] = row;
        i = j;
    }
    free(rec);
    row_cmp_ledger = l;
    for (unsigned i = 0; i < BENCH_STATS_USERS; i++)
        if (m->rows_len[i]) qsort(m->rows[i], m->rows_len[i], sizeof(bench_row_t), row_cmp);
}

void stats_model_free(bench_stats_model_t *m) {
    for (unsigned i = 0; i < BENCH_STATS_USERS; i++) {
        free(m->rows[i]);
        m->rows[i] = NULL;
        m->rows_len[i] = 0;
    }
}

int ledger_check_txlist(const bench_ledger_t *l, const char *path, uint64_t count,
                        char *err, size_t err_cap) {
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, err_cap, "cannot open %s", path); return -1; }
    setvbuf(f, NULL, _IOFBF, GEN_WRITE_BUF_BYTES);
    char got[BLOCK_LINE_BYTES_MAX + 2], want[GEN_LINE_BYTES];
    int rc = 0;
    uint64_t k = 1;
    for (; fgets(got, sizeof got, f); k++) {
        if (k > count || k > ledger_max_serial(l)) {
            snprintf(err, err_cap, "%s: more than %llu lines", path, (unsigned long long)count);
            rc = -1;
            break;
        }
        bench_tx_t t = ledger_tx(l, k);
        size_t n = gen_line(l, k, &t, want);
        if (strlen(got) != n || memcmp(got, want, n) != 0) {
            snprintf(err, err_cap, "%s line %llu: got \"%.80s\", expected \"%.*s\"", path,
                     (unsigned long long)k, got, (int)(n - 1), want);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && k != count + 1) {
        snprintf(err, err_cap, "%s: %llu lines, the reply said %llu", path,
                 (unsigned long long)(k - 1), (unsigned long long)count);
        rc = -1;
    }
    fclose(f);
    return rc;
}
