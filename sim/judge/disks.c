/* disks.c — the final disks indexed once (judge.h): the distinct transactions and every
 * user's final balance over them, and real mode's serial assignment. Both used to rescan
 * every pair of disk lines per question (a balance, a candidate serial), O(n^2) each and
 * O(n^3) and worse in all; here each question is a binary search or a hash lookup over
 * arrays sorted once, O(n log n) in all. */
#include <stdlib.h>
#include <string.h>

#include "judge.h"

/* (serial, amount, sender, receiver): equal exactly when tx_equal says so. */
static int cmp_tx(const tx_t *x, const tx_t *y) {
    if (x->serial != y->serial) return x->serial < y->serial ? -1 : 1;
    if (x->amount != y->amount) return x->amount < y->amount ? -1 : 1;
    int c = strcmp(x->sender, y->sender);
    return c != 0 ? c : strcmp(x->receiver, y->receiver);
}

static int cmp_txp(const void *a, const void *b) {
    return cmp_tx(*(const tx_t *const *)a, *(const tx_t *const *)b);
}

int check_disks_index(check_disks_t *x, const check_txs_t *d) {
    memset(x, 0, sizeof(*x));
    x->distinct = malloc((d->count + 1) * sizeof(*x->distinct));
    if (x->distinct == NULL) return AC_ENOMEM;
    for (size_t i = 0; i < d->count; i++) x->distinct[i] = &d->txs[i].tx;
    qsort(x->distinct, d->count, sizeof(*x->distinct), cmp_txp);
    size_t n = 0; /* copies of one transaction on several disks count once */
    for (size_t i = 0; i < d->count; i++) {
        if (n == 0 || !tx_equal(x->distinct[n - 1], x->distinct[i])) x->distinct[n++] = x->distinct[i];
    }
    x->distinct_count = n;
    for (size_t i = 0; i < n; i++) { /* every user first, then one array of balances */
        if (names_find(&x->names, x->distinct[i]->sender, 1) < 0 ||
            names_find(&x->names, x->distinct[i]->receiver, 1) < 0)
            return AC_ENOMEM;
    }
    x->users = x->names.count;
    x->balance = malloc((x->users + 1) * sizeof(*x->balance));
    if (x->balance == NULL) return AC_ENOMEM;
    for (uint32_t u = 0; u < x->users; u++) x->balance[u] = BALANCE_INITIAL;
    for (size_t i = 0; i < n; i++) {
        const tx_t *t = x->distinct[i];
        x->balance[names_index(&x->names, t->sender)] -= t->amount;
        x->balance[names_index(&x->names, t->receiver)] += t->amount;
    }
    return 0;
}

void check_disks_free(check_disks_t *x) {
    free(x->distinct);
    free(x->balance);
    names_free(&x->names);
    memset(x, 0, sizeof(*x));
}

int check_disks_balance(const check_disks_t *x, const char *user, int64_t *bal) {
    int64_t i = names_index(&x->names, user);
    *bal = i >= 0 ? x->balance[i] : BALANCE_INITIAL;
    return i >= 0;
}

int check_disks_has(const check_disks_t *x, const tx_t *t) {
    size_t lo = 0, hi = x->distinct_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_tx(x->distinct[mid], t) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo < x->distinct_count && tx_equal(x->distinct[lo], t);
}

int64_t check_disks_coins(const check_disks_t *x) {
    int64_t total = 0;
    for (uint32_t i = 0; i < x->users; i++) total += x->balance[i];
    return total;
}

/* ------------------------------------------------------------------ real mode's serials */

/* One disk line as a candidate for a confirmed transfer. */
typedef struct {
    uint32_t sender, receiver;  /* name indexes */
    int64_t amount;
    int64_t bal;                /* the sender's balance once every serial up to this one applied */
    uint64_t serial;
    uint32_t line;              /* index into the disks' lines (ties: the earlier line) */
} scand_t;

static int cmp_key(const scand_t *x, const scand_t *y) {
    if (x->sender != y->sender) return x->sender < y->sender ? -1 : 1;
    if (x->receiver != y->receiver) return x->receiver < y->receiver ? -1 : 1;
    if (x->amount != y->amount) return x->amount < y->amount ? -1 : 1;
    return 0;
}

static int cmp_serial_line(const scand_t *x, const scand_t *y) {
    if (x->serial != y->serial) return x->serial < y->serial ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_by_serial(const void *a, const void *b) { return cmp_serial_line(a, b); }

/* The lowest serial first: the fallback when no candidate fits the printed balance. */
static int cmp_lowest(const void *a, const void *b) {
    int c = cmp_key(a, b);
    return c != 0 ? c : cmp_serial_line(a, b);
}

/* The balance after it next: the candidates that fit a printed balance form one run. */
static int cmp_fitting(const void *a, const void *b) {
    const scand_t *x = a, *y = b;
    int c = cmp_key(x, y);
    if (c == 0 && x->bal != y->bal) c = x->bal < y->bal ? -1 : 1;
    return c != 0 ? c : cmp_serial_line(x, y);
}

typedef struct {
    scand_t *c;
    uint32_t *skip;             /* union-find "next unclaimed position" (skip[i] == i: unlinked) */
    size_t n;
} srun_t;

typedef struct {
    const check_txs_t *disk;
    uint32_t *group;            /* per line: its serial's group (lines sharing a serial) */
    uint8_t *claimed;           /* per group: an initial serial, or assigned already */
    srun_t lowest, fitting;
} serials_t;

/* The first position >= i of the run whose line is unclaimed (r->n: none). Claimed
 * positions are linked onward and the path compressed, so each is passed over a bounded
 * number of times in all. */
static size_t srun_next(serials_t *s, srun_t *r, size_t i) {
    size_t end = i;
    while (end < r->n && s->claimed[s->group[r->c[end].line]])
        end = r->skip[end] == end ? end + 1 : r->skip[end];
    while (i < end) {
        size_t next = r->skip[i] == i ? i + 1 : r->skip[i];
        r->skip[i] = (uint32_t)end;
        i = next;
    }
    return end;
}

/* The first unclaimed candidate equal to key under cmp (the sort order of r), or NULL. */
static const scand_t *srun_find(serials_t *s, srun_t *r, const scand_t *key,
                                int (*cmp)(const void *, const void *)) {
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp(&r->c[mid], key) < 0) lo = mid + 1;
        else hi = mid;
    }
    size_t i = srun_next(s, r, lo);
    if (i == r->n) return NULL;
    scand_t probe = *key; /* equal on the fields cmp orders by before serial and line */
    probe.serial = r->c[i].serial;
    probe.line = r->c[i].line;
    return cmp(&r->c[i], &probe) == 0 ? &r->c[i] : NULL;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Lines in (serial, line) order, their groups, which groups are initial serials, and every
 * line's candidate record with the sender's balance after its serial: the first line of a
 * serial is the one that counts (later copies, even different ones, are skipped). */
static int serials_build(serials_t *s, names_t *names, const check_txs_t *initial, scand_t *c) {
    const check_txs_t *d = s->disk;
    size_t n = d->count;
    int rc = AC_ENOMEM;
    uint64_t *init = malloc((initial->count + 1) * sizeof(*init));
    int64_t *bal = NULL;
    if (init == NULL) goto out;
    for (size_t i = 0; i < initial->count; i++) init[i] = initial->txs[i].tx.serial;
    qsort(init, initial->count, sizeof(*init), cmp_u64);
    for (size_t i = 0; i < n; i++) {
        const tx_t *t = &d->txs[i].tx;
        int64_t a = names_find(names, t->sender, 1), b = a < 0 ? a : names_find(names, t->receiver, 1);
        if (a < 0 || b < 0) goto out;
        c[i] = (scand_t){(uint32_t)a, (uint32_t)b, t->amount, 0, t->serial, (uint32_t)i};
    }
    bal = malloc((names->count + 1) * sizeof(*bal));
    if (bal == NULL) goto out;
    for (uint32_t u = 0; u < names->count; u++) bal[u] = BALANCE_INITIAL;
    scand_t *ord = s->lowest.c; /* scratch: by (serial, line); sorted by key afterwards */
    memcpy(ord, c, n * sizeof(*ord));
    qsort(ord, n, sizeof(*ord), cmp_by_serial);
    uint32_t g = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        const scand_t *first = &ord[i];
        bal[first->sender] -= first->amount;
        bal[first->receiver] += first->amount;
        for (; j < n && ord[j].serial == first->serial; j++) s->group[ord[j].line] = g;
        for (size_t k = i; k < j; k++) c[ord[k].line].bal = bal[ord[k].sender];
        s->claimed[g] = bsearch(&first->serial, init, initial->count, sizeof(*init), cmp_u64) != NULL;
        g++;
        i = j;
    }
    rc = 0;
out:
    free(init);
    free(bal);
    return rc;
}

int check_assign_serials(check_op_t *ops, size_t op_count, const check_txs_t *disk,
                         const check_txs_t *initial, int (*stop)(void *), void *stop_ctx) {
    size_t n = disk->count;
    names_t names = {0};
    serials_t s = {.disk = disk};
    scand_t *c = malloc((n + 1) * sizeof(*c));
    hist_key_t *order = malloc((op_count + 1) * sizeof(*order));
    s.group = malloc((n + 1) * sizeof(*s.group));
    s.claimed = calloc(n + 1, 1);
    s.lowest.c = malloc((n + 1) * sizeof(*s.lowest.c));
    s.fitting.c = malloc((n + 1) * sizeof(*s.fitting.c));
    s.lowest.skip = malloc((n + 1) * sizeof(*s.lowest.skip));
    s.fitting.skip = malloc((n + 1) * sizeof(*s.fitting.skip));
    int rc = AC_ENOMEM;
    if (!c || !order || !s.group || !s.claimed || !s.lowest.c || !s.fitting.c || !s.lowest.skip ||
        !s.fitting.skip || serials_build(&s, &names, initial, c) != 0)
        goto out;
    memcpy(s.lowest.c, c, n * sizeof(*c));
    memcpy(s.fitting.c, c, n * sizeof(*c));
    qsort(s.lowest.c, n, sizeof(*c), cmp_lowest);
    qsort(s.fitting.c, n, sizeof(*c), cmp_fitting);
    s.lowest.n = s.fitting.n = n;
    for (size_t i = 0; i <= n; i++) s.lowest.skip[i] = s.fitting.skip[i] = (uint32_t)i;
    size_t m = 0; /* confirmed transfers without a serial, in order of response */
    for (size_t i = 0; i < op_count; i++) {
        const check_op_t *op = &ops[i];
        if (op->state == CHECK_OP_DONE && op->have_reply && op->reply.kind == CREP_TRANSFER &&
            op->reply.serial == 0)
            order[m++] = (hist_key_t){op->resp_us, (uint32_t)i};
    }
    qsort(order, m, sizeof(*order), hist_key_cmp);
    for (size_t k = 0; k < m; k++) ops[order[k].idx].reply.serial = UINT64_MAX; /* "no disk holds it" */
    /* Two passes: first every transfer whose printed balance fits a serial takes it, then
     * the rest take the lowest left. A transfer whose answer is false must not take the
     * serial of an identical one whose answer is true (the planted answers of tests/real). */
    rc = 0;
    for (int fallback = 0; fallback < 2 && rc == 0; fallback++) {
        for (size_t k = 0; k < m; k++) {
            if (k % HIST_POLL_EVERY == 0 && stop != NULL && stop(stop_ctx)) {
                rc = HIST_ESTOPPED;
                break;
            }
            check_op_t *op = &ops[order[k].idx];
            if (op->reply.serial != UINT64_MAX) continue; /* taken in the first pass */
            int64_t a = names_index(&names, op->req.user.s), b = names_index(&names, op->req.receiver.s);
            if (a < 0 || b < 0) continue;
            scand_t key = {(uint32_t)a, (uint32_t)b, op->req.amount, op->reply.balance, 0, 0};
            const scand_t *best = fallback ? srun_find(&s, &s.lowest, &key, cmp_lowest)
                                           : srun_find(&s, &s.fitting, &key, cmp_fitting);
            if (best == NULL) continue;
            op->reply.serial = best->serial;
            s.claimed[s.group[best->line]] = 1;
        }
    }
out:
    free(c);
    free(order);
    free(s.group);
    free(s.claimed);
    free(s.lowest.c);
    free(s.fitting.c);
    free(s.lowest.skip);
    free(s.fitting.skip);
    names_free(&names);
    return rc;
}
