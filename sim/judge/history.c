/* history.c — checks a finished run's history against a sequential model of the ledger.
 *
 * The disks fix the order of the transfers that took effect: serial order (a new serial is
 * the largest + 1). So the model's states are S_0 (the initial blocks), S_1, ..., S_n, one
 * transfer more each. Every transfer that took effect is matched to the operation that
 * asked for it (a confirmed one by its serial; one whose outcome the client never learnt
 * by its fields), and must fit the real-time order: t_1 <= ... <= t_n with each t_k in its
 * operation's [start, end]. Every read (balance, stats, TXLIST, refused transfer) must
 * have seen some state S_j whose position is allowed by real time: after every transfer
 * that ended before it started, before every transfer that started after it ended, and
 * not before a state an earlier read already saw. Choosing for each read (in order of
 * start) the smallest such j that gives its answer is optimal, so the check is exact for
 * this history shape and runs in O((n + reads) log n) plus the evaluations. */
#include "history.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "names.h"

#define HIST_MSG_BYTES 400
#define HIST_VALUES_SHOWN 6

/* ------------------------------------------------------------------ users */

typedef struct {
    const char *name;         /* a transaction's (the input outlives the check) */
    int initial_exists;
    int64_t initial_balance;
    uint32_t *changes;        /* applied indexes k (1-based) naming the user, ascending */
    int64_t *after;           /* balance after change i */
    uint32_t change_count, change_cap;
    uint32_t *init_txs;       /* indexes into the initial list naming the user */
    uint32_t init_count, init_cap;
} huser_t;

typedef struct {
    names_t names;            /* name -> index into users */
    huser_t *users;
    uint32_t count, cap;
} husers_t;

/* The user's index, or -1 (create = 0), or AC_ENOMEM. */
static int64_t users_find(husers_t *u, const char *name, int create) {
    int64_t i = names_find(&u->names, name, create);
    if (i < 0 || (uint32_t)i < u->count) return i;
    if (u->count == u->cap) { /* a new name: names_find gave it the next index */
        uint32_t cap = u->cap ? u->cap * 2 : 32;
        huser_t *n = realloc(u->users, cap * sizeof(*n));
        if (n == NULL) return AC_ENOMEM;
        u->users = n;
        u->cap = cap;
    }
    huser_t *nu = &u->users[u->count];
    memset(nu, 0, sizeof(*nu));
    nu->name = name;
    nu->initial_balance = BALANCE_INITIAL;
    return u->count++;
}

static int user_add_change(huser_t *h, uint32_t k, int64_t delta) {
    if (h->change_count == h->change_cap) {
        uint32_t cap = h->change_cap ? h->change_cap * 2 : 8;
        uint32_t *c = realloc(h->changes, cap * sizeof(*c));
        if (c == NULL) return AC_ENOMEM;
        h->changes = c;
        int64_t *a = realloc(h->after, cap * sizeof(*a));
        if (a == NULL) return AC_ENOMEM;
        h->after = a;
        h->change_cap = cap;
    }
    int64_t before = h->change_count ? h->after[h->change_count - 1] : h->initial_balance;
    h->changes[h->change_count] = k;
    h->after[h->change_count] = before + delta;
    h->change_count++;
    return 0;
}

static int user_add_init(huser_t *h, uint32_t i) {
    if (h->init_count == h->init_cap) {
        uint32_t cap = h->init_cap ? h->init_cap * 2 : 8;
        uint32_t *c = realloc(h->init_txs, cap * sizeof(*c));
        if (c == NULL) return AC_ENOMEM;
        h->init_txs = c;
        h->init_cap = cap;
    }
    h->init_txs[h->init_count++] = i;
    return 0;
}

/* Number of the user's changes at or before state j. */
static uint32_t user_changes_upto(const huser_t *h, uint32_t j) {
    uint32_t lo = 0, hi = h->change_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (h->changes[mid] <= j) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int user_exists_at(const huser_t *h, uint32_t j) {
    return h->initial_exists || user_changes_upto(h, j) > 0;
}

static int64_t user_balance_at(const huser_t *h, uint32_t j) {
    uint32_t c = user_changes_upto(h, j);
    return c ? h->after[c - 1] : h->initial_balance;
}

/* ------------------------------------------------------------------ the checker */

typedef struct {
    const hist_input_t *in;
    hist_report_fn report;
    void *ctx;
    int found;
    int stopped;              /* in->stop said so: every loop ends early */
    husers_t users;
    const tx_t **applied;     /* [1..n]: S_k = S_0 + applied[1..k] */
    int64_t *applied_op;      /* op index or -1 (none matched) */
    uint32_t n;
    uint64_t init_max;
    char *text;               /* scratch for expected stats/TXLIST text */
    size_t text_cap;
    /* session order (hist_sessions): per op, the states its connection allows it */
    uint32_t *sess_lo;        /* >= the serial index of every earlier transfer of its session */
    uint32_t *sess_hi;        /* <= every later one's, minus 1 (reads) */
    uint32_t *sess_last_j;    /* per session: the largest state one of its reads has seen */
} hist_t;

static void hist_report(hist_t *h, const char *checker, uint64_t at_us, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void hist_report(hist_t *h, const char *checker, uint64_t at_us, const char *fmt, ...) {
    char msg[HIST_MSG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    h->found++;
    if (h->report != NULL) h->report(h->ctx, checker, at_us, msg);
}

/* Whether the caller asked the check to end (a signal): asked again only until it says yes. */
static int hist_stopped(hist_t *h) {
    if (!h->stopped && h->in->stop != NULL) h->stopped = h->in->stop(h->in->stop_ctx) != 0;
    return h->stopped;
}

static int cmp_stored_serial(const void *a, const void *b) {
    const hist_stored_t *x = *(const hist_stored_t *const *)a;
    const hist_stored_t *y = *(const hist_stored_t *const *)b;
    if (x->tx.serial != y->tx.serial) return x->tx.serial < y->tx.serial ? -1 : 1;
    return x->backend < y->backend ? -1 : x->backend > y->backend;
}

static int cmp_tx_serial(const void *a, const void *b) {
    const tx_t *x = *(const tx_t *const *)a;
    const tx_t *y = *(const tx_t *const *)b;
    return x->serial < y->serial ? -1 : x->serial > y->serial;
}

static const tx_t *initial_find(const hist_input_t *in, const tx_t *const *sorted, uint64_t serial) {
    size_t lo = 0, hi = in->initial_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid]->serial < serial) lo = mid + 1;
        else hi = mid;
    }
    return lo < in->initial_count && sorted[lo]->serial == serial ? sorted[lo] : NULL;
}

static const char *op_label(const hist_op_t *op) { return op->label ? op->label : "?"; }

/* What the check made of operation idx's answer, into in->model: a rejection stays one. */
static void hist_model_set(hist_t *h, size_t idx, hist_model_t m) {
    uint8_t *model = h->in->model;
    if (model == NULL || model[idx] == HIST_MODEL_REJECTED) return;
    model[idx] = (uint8_t)m;
}

/* Splits the disks' copies into initial transactions and the applied sequence. */
static int hist_collect(hist_t *h) {
    const hist_input_t *in = h->in;
    int rc = AC_ENOMEM;
    const hist_stored_t **st = calloc(in->stored_count + 1, sizeof(*st));
    const tx_t **init = calloc(in->initial_count + 1, sizeof(*init));
    uint8_t *init_seen = calloc(in->initial_count + 1, 1);
    const tx_t **news = calloc(in->stored_count + 1, sizeof(*news));
    if (st == NULL || init == NULL || init_seen == NULL || news == NULL) goto out;
    for (size_t i = 0; i < in->stored_count; i++) st[i] = &in->stored[i];
    qsort(st, in->stored_count, sizeof(*st), cmp_stored_serial);
    for (size_t i = 0; i < in->initial_count; i++) init[i] = &in->initial[i];
    qsort(init, in->initial_count, sizeof(*init), cmp_tx_serial);
    for (size_t i = 0; i < in->initial_count; i++) {
        if (init[i]->serial > h->init_max) h->init_max = init[i]->serial;
    }
    size_t nn = 0;
    for (size_t i = 0; i < in->stored_count;) {
        size_t j = i + 1;
        while (j < in->stored_count && st[j]->tx.serial == st[i]->tx.serial) j++;
        if (j - i > 1) {
            const tx_t *a = &st[i]->tx, *b = &st[i + 1]->tx;
            hist_report(h, "serials-unique", 0, "serial %llu is stored %zu times: on server%c "
                        "(%s %s %lld) and on server%c (%s %s %lld)", (unsigned long long)a->serial,
                        j - i, 'A' + st[i]->backend, a->sender, a->receiver, (long long)a->amount,
                        'A' + st[i + 1]->backend, b->sender, b->receiver, (long long)b->amount);
        }
        const tx_t *t = &st[i]->tx;
        const tx_t *it = initial_find(in, init, t->serial);
        if (it != NULL && tx_equal(it, t)) {
            init_seen[it - in->initial] = 1;
        } else {
            if (it != NULL)
                hist_report(h, "serials-unique", 0, "serial %llu of the initial blocks now holds a "
                            "different transaction (%s %s %lld)", (unsigned long long)t->serial,
                            t->sender, t->receiver, (long long)t->amount);
            news[nn++] = t;
        }
        i = j;
    }
    for (size_t i = 0; i < in->initial_count; i++) {
        if (!init_seen[i])
            hist_report(h, "durability", 0, "initial transaction serial %llu (%s %s %lld) is on "
                        "no disk any more", (unsigned long long)in->initial[i].serial,
                        in->initial[i].sender, in->initial[i].receiver, (long long)in->initial[i].amount);
    }
    /* news are in serial order already (st was sorted) */
    h->n = (uint32_t)nn;
    h->applied = calloc(nn + 1, sizeof(*h->applied));
    h->applied_op = malloc((nn + 1) * sizeof(*h->applied_op));
    if (h->applied == NULL || h->applied_op == NULL) goto out;
    for (size_t k = 0; k < nn; k++) {
        h->applied[k + 1] = news[k];
        h->applied_op[k + 1] = -1;
    }
    if (in->settled) {
        uint64_t expect = h->init_max + 1;
        for (size_t k = 0; k < nn; k++) {
            if (news[k]->serial != expect) {
                hist_report(h, "serials-contiguous", 0, "the serials after the initial %llu "
                            "should run %llu, %llu, ... but serial %llu comes next on the disks",
                            (unsigned long long)h->init_max, (unsigned long long)h->init_max + 1,
                            (unsigned long long)h->init_max + 2, (unsigned long long)news[k]->serial);
                break;
            }
            expect++;
        }
    }
    rc = 0;
out:
    free(st);
    free(init);
    free(init_seen);
    free(news);
    return rc;
}

static int transfer_matches(const hist_op_t *op, const tx_t *t) {
    return op->op == CREQ_TRANSFER && op->user && op->receiver && strcmp(op->user, t->sender) == 0 &&
           strcmp(op->receiver, t->receiver) == 0 && op->amount == t->amount;
}

/* An operation's transfer fields against a transaction's: <0, 0, >0 in (sender,
 * receiver, amount) order. */
static int cmp_fields(const hist_op_t *op, const tx_t *t) {
    int c = strcmp(op->user, t->sender);
    if (c == 0) c = strcmp(op->receiver, t->receiver);
    if (c == 0 && op->amount != t->amount) c = op->amount < t->amount ? -1 : 1;
    return c;
}

typedef struct {
    const hist_op_t *op;
    uint32_t idx;             /* its index in the input */
} hcand_t;

/* Transfers of unknown outcome by (sender, receiver, amount, start, index). */
static int cmp_unknown(const void *a, const void *b) {
    const hcand_t *p = a, *q = b;
    const hist_op_t *x = p->op, *y = q->op;
    int c = strcmp(x->user, y->user);
    if (c == 0) c = strcmp(x->receiver, y->receiver);
    if (c == 0 && x->amount != y->amount) c = x->amount < y->amount ? -1 : 1;
    if (c == 0 && x->inv_us != y->inv_us) c = x->inv_us < y->inv_us ? -1 : 1;
    if (c == 0) c = p->idx < q->idx ? -1 : 1;
    return c;
}

/* The first position >= c of cand whose operation is not used yet (n: none). skip[] links
 * a used position onward and is compressed as it is walked, so every position is passed
 * over a bounded number of times in all (a union-find "next free"). */
static size_t skip_unused(uint32_t *skip, const hcand_t *cand, const uint8_t *used, size_t c, size_t n) {
    size_t r = c;
    while (r < n && used[cand[r].idx]) r = skip[r] == r ? r + 1 : skip[r];
    while (c < r) { /* path compression */
        size_t next = skip[c] == c ? c + 1 : skip[c];
        skip[c] = (uint32_t)r;
        c = next;
    }
    return r;
}

/* Finds the operation behind every applied transfer. */
static int hist_match(hist_t *h) {
    const hist_input_t *in = h->in;
    uint8_t *used = calloc(in->op_count + 1, 1);
    if (used == NULL) return AC_ENOMEM;
    /* confirmed transfers claim their serials */
    for (size_t i = 0; i < in->op_count; i++) {
        const hist_op_t *op = &in->ops[i];
        if (i % HIST_POLL_EVERY == 0 && hist_stopped(h)) break;
        if (op->op != CREQ_TRANSFER || op->status != HIST_OK) continue;
        uint64_t s = op->reply.serial;
        uint32_t lo = 1, hi = h->n + 1; /* binary search over serial order */
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (h->applied[mid]->serial < s) lo = mid + 1;
            else hi = mid;
        }
        if (lo > h->n || h->applied[lo]->serial != s) {
            hist_report(h, "confirmed-durable", op->resp_us, "%s was confirmed with serial %llu, but "
                        "no disk holds a new transaction with that serial", op_label(op),
                        (unsigned long long)s);
            hist_model_set(h, i, HIST_MODEL_REJECTED);
            continue;
        }
        const tx_t *t = h->applied[lo];
        if (!transfer_matches(op, t)) {
            hist_report(h, "confirmed-durable", op->resp_us, "%s (%s -> %s %lld) was confirmed with "
                        "serial %llu, but that serial holds %s %s %lld", op_label(op), op->user,
                        op->receiver, (long long)op->amount, (unsigned long long)s, t->sender,
                        t->receiver, (long long)t->amount);
            hist_model_set(h, i, HIST_MODEL_REJECTED);
            continue;
        }
        if (h->applied_op[lo] >= 0) {
            hist_report(h, "serials-unique", op->resp_us, "%s and %s were both confirmed with "
                        "serial %llu", op_label(&in->ops[h->applied_op[lo]]), op_label(op),
                        (unsigned long long)s);
            hist_model_set(h, i, HIST_MODEL_REJECTED);
            continue;
        }
        h->applied_op[lo] = (int64_t)i;
        used[i] = 1;
    }
    /* the rest: transfers whose outcome the client never learnt, earliest start first. The
     * candidates sorted by (sender, receiver, amount, start, index): each applied transfer
     * takes the first unused one of its fields' run, in O(log ops) amortised. */
    size_t nc = 0;
    hcand_t *cand = malloc((in->op_count + 1) * sizeof(*cand));
    uint32_t *skip = malloc((in->op_count + 1) * sizeof(*skip));
    if (cand == NULL || skip == NULL) {
        free(cand);
        free(skip);
        free(used);
        return AC_ENOMEM;
    }
    for (size_t i = 0; i < in->op_count; i++) {
        const hist_op_t *op = &in->ops[i];
        if (op->op == CREQ_TRANSFER && op->status == HIST_NONE && op->user && op->receiver)
            cand[nc++] = (hcand_t){op, (uint32_t)i};
    }
    qsort(cand, nc, sizeof(*cand), cmp_unknown);
    for (size_t c = 0; c <= nc; c++) skip[c] = (uint32_t)c;
    for (uint32_t k = 1; k <= h->n; k++) {
        if (h->applied_op[k] >= 0) continue;
        if (k % HIST_POLL_EVERY == 0 && hist_stopped(h)) break;
        const tx_t *t = h->applied[k];
        size_t lo = 0, hi = nc; /* the first candidate not before t's fields */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cmp_fields(cand[mid].op, t) < 0) lo = mid + 1;
            else hi = mid;
        }
        size_t c = skip_unused(skip, cand, used, lo, nc);
        int64_t best = c < nc && transfer_matches(cand[c].op, t) ? (int64_t)cand[c].idx : -1;
        if (best < 0) {
            hist_report(h, "no-phantom", 0, "serial %llu (%s %s %lld) is on disk, but no transfer "
                        "operation asked for it (or it was confirmed with another serial)",
                        (unsigned long long)t->serial, t->sender, t->receiver, (long long)t->amount);
            continue;
        }
        h->applied_op[k] = best;
        used[best] = 1;
    }
    free(cand);
    free(skip);
    free(used);
    return 0;
}

/* Builds the users, checks every applied transfer against the state before it, and every
 * confirmation's balance against the state after it: a confirmed transfer fits the model
 * when it was valid there, without overdraft, and printed that balance. */
static int hist_replay(hist_t *h) {
    const hist_input_t *in = h->in;
    for (size_t i = 0; i < in->initial_count; i++) {
        const tx_t *t = &in->initial[i];
        int64_t s = users_find(&h->users, t->sender, 1);
        if (s < 0) return AC_ENOMEM;
        int64_t r = users_find(&h->users, t->receiver, 1);
        if (r < 0) return AC_ENOMEM;
        huser_t *us = &h->users.users[s], *ur = &h->users.users[r];
        us->initial_exists = ur->initial_exists = 1;
        us->initial_balance -= t->amount;
        ur->initial_balance += t->amount;
        if (user_add_init(us, (uint32_t)i) != 0) return AC_ENOMEM;
        if (s != r && user_add_init(ur, (uint32_t)i) != 0) return AC_ENOMEM;
    }
    for (uint32_t k = 1; k <= h->n; k++) {
        if (k % HIST_POLL_EVERY == 0 && hist_stopped(h)) break;
        const tx_t *t = h->applied[k];
        int64_t s = users_find(&h->users, t->sender, 1);
        if (s < 0) return AC_ENOMEM;
        int64_t r = users_find(&h->users, t->receiver, 1);
        if (r < 0) return AC_ENOMEM;
        huser_t *us = &h->users.users[s], *ur = &h->users.users[r];
        uint32_t j = k - 1;
        const hist_op_t *op = h->applied_op[k] >= 0 ? &in->ops[h->applied_op[k]] : NULL;
        uint64_t at = op && op->resp_us != HIST_NO_RESPONSE ? op->resp_us : 0;
        int fits = 0;
        if (!user_exists_at(us, j) || !user_exists_at(ur, j) || s == r) {
            hist_report(h, "validity", at, "serial %llu (%s -> %s %lld) was applied although %s",
                        (unsigned long long)t->serial, t->sender, t->receiver, (long long)t->amount,
                        s == r ? "sender and receiver are the same" : "a user was not part of the network");
        } else if (user_balance_at(us, j) < t->amount) {
            hist_report(h, "no-overdraft", at, "serial %llu: %s sent %lld with a balance of %lld "
                        "(after serial %llu): double spending", (unsigned long long)t->serial,
                        t->sender, (long long)t->amount, (long long)user_balance_at(us, j),
                        (unsigned long long)(j ? h->applied[j]->serial : h->init_max));
        } else {
            fits = 1;
        }
        if (user_add_change(us, k, -t->amount) != 0) return AC_ENOMEM;
        if (s != r && user_add_change(ur, k, t->amount) != 0) return AC_ENOMEM;
        if (op != NULL && op->status == HIST_OK) {
            int64_t bal = user_balance_at(&h->users.users[s], k);
            if (op->reply.balance != bal) {
                hist_report(h, "linearizability", op->resp_us, "%s confirmed serial %llu with the "
                            "new balance %lld of %s, but after that serial it is %lld", op_label(op),
                            (unsigned long long)t->serial, (long long)op->reply.balance, t->sender,
                            (long long)bal);
                fits = 0;
            }
            hist_model_set(h, (size_t)h->applied_op[k], fits ? HIST_MODEL_FITS : HIST_MODEL_REJECTED);
        }
    }
    return 0;
}

/* The writes' real-time order: t_k = max(start_k, t_{k-1}) must not pass end_k. */
static void hist_writes_order(hist_t *h) {
    const hist_input_t *in = h->in;
    uint64_t e = 0;
    uint32_t e_from = 0;
    for (uint32_t k = 1; k <= h->n; k++) {
        if (h->applied_op[k] < 0) continue;
        const hist_op_t *op = &in->ops[h->applied_op[k]];
        if (op->inv_us > e) {
            e = op->inv_us;
            e_from = k;
        }
        if (op->status == HIST_OK && e > op->resp_us) {
            const hist_op_t *late = &in->ops[h->applied_op[e_from]];
            hist_report(h, "linearizability", op->resp_us, "%s got serial %llu and ended at %.6fs, "
                        "but %s, which got the earlier serial %llu, only started at %.6fs",
                        op_label(op), (unsigned long long)h->applied[k]->serial,
                        (double)op->resp_us / 1e6, op_label(late),
                        (unsigned long long)h->applied[e_from]->serial, (double)late->inv_us / 1e6);
            hist_model_set(h, (size_t)h->applied_op[k], HIST_MODEL_REJECTED);
        }
    }
}

/* ------------------------------------------------------------------ sessions */

typedef struct {
    uint32_t session, seq, idx;
} hsess_t;

static int cmp_hsess(const void *a, const void *b) {
    const hsess_t *x = a, *y = b;
    if (x->session != y->session) return x->session < y->session ? -1 : 1;
    if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The requests of one persistent connection take effect in their order: its transfers
 * that took effect have ascending serials (else a violation), and each of its reads must
 * see a state at or after every earlier transfer of the connection and before every later
 * one (sess_lo/sess_hi, used by hist_reads, which also keeps its reads monotonic). */
static int hist_sessions(hist_t *h) {
    const hist_input_t *in = h->in;
    size_t n = in->op_count;
    h->sess_lo = calloc(n + 1, sizeof(*h->sess_lo));
    h->sess_hi = calloc(n + 1, sizeof(*h->sess_hi));
    h->sess_last_j = calloc(n + 2, sizeof(*h->sess_last_j));
    uint32_t *k_of = calloc(n + 1, sizeof(*k_of));
    hsess_t *order = calloc(n + 1, sizeof(*order));
    int rc = AC_ENOMEM;
    if (!h->sess_lo || !h->sess_hi || !h->sess_last_j || !k_of || !order) goto out;
    for (uint32_t k = 1; k <= h->n; k++)
        if (h->applied_op[k] >= 0) k_of[h->applied_op[k]] = k;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        h->sess_hi[i] = UINT32_MAX;
        uint32_t s = in->ops[i].session;
        if (s != 0 && s <= n) order[m++] = (hsess_t){s, in->ops[i].session_seq, (uint32_t)i};
    }
    qsort(order, m, sizeof(*order), cmp_hsess);
    for (size_t a = 0; a < m;) {
        size_t b = a;
        while (b < m && order[b].session == order[a].session) b++;
        uint32_t lo = 0, prev = 0;
        for (size_t i = a; i < b; i++) { /* forwards: earlier transfers */
            const hist_op_t *op = &in->ops[order[i].idx];
            h->sess_lo[order[i].idx] = lo;
            uint32_t k = k_of[order[i].idx];
            if (k == 0) continue;
            if (k < lo) {
                const hist_op_t *e = &in->ops[order[prev].idx];
                hist_report(h, "session-order", op->resp_us, "%s and %s are requests of one connection "
                            "in that order, but %s took effect first (serial %llu before %llu)",
                            op_label(e), op_label(op), op_label(op),
                            (unsigned long long)h->applied[k]->serial,
                            (unsigned long long)h->applied[lo]->serial);
                if (op->status == HIST_OK) hist_model_set(h, order[i].idx, HIST_MODEL_REJECTED);
            } else {
                lo = k;
                prev = i;
            }
        }
        uint32_t hi = UINT32_MAX;
        for (size_t i = b; i > a; i--) { /* backwards: later transfers */
            h->sess_hi[order[i - 1].idx] = hi;
            uint32_t k = k_of[order[i - 1].idx];
            if (k != 0 && k - 1 < hi) hi = k - 1;
        }
        a = b;
    }
    rc = 0;
out:
    free(k_of);
    free(order);
    return rc;
}

/* ------------------------------------------------------------------ reads */

static int text_reserve(hist_t *h, size_t need) {
    if (need <= h->text_cap) return 0;
    size_t cap = h->text_cap ? h->text_cap : 4096;
    while (cap < need) cap *= 2;
    char *t = realloc(h->text, cap);
    if (t == NULL) return AC_ENOMEM;
    h->text = t;
    h->text_cap = cap;
    return 0;
}

typedef struct {
    const char *name;
    uint32_t count;
    int64_t net;
} hrow_t;

static int cmp_rows(const void *a, const void *b) {
    const hrow_t *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_row_names(const void *a, const void *b) {
    return strcmp(((const hrow_t *)a)->name, ((const hrow_t *)b)->name);
}

/* A transaction of u as a one-transaction row: its partner and u's net from it. */
static hrow_t row_of(const huser_t *u, const tx_t *t) {
    if (strcmp(t->sender, u->name) == 0) return (hrow_t){t->receiver, 1, -t->amount};
    return (hrow_t){t->sender, 1, t->amount};
}

/* The stats rows of a user at state j, as the client prints them; length or -1. The
 * partners are merged by sorting, O(c log c) for c transactions (not a scan per row). */
static long stats_text(hist_t *h, const huser_t *u, uint32_t j) {
    uint32_t c = user_changes_upto(u, j);
    uint32_t max = u->init_count + c;
    hrow_t *rows = malloc((max + 1) * sizeof(*rows));
    if (rows == NULL) return -1;
    uint32_t m = 0;
    for (uint32_t i = 0; i < u->init_count; i++) rows[m++] = row_of(u, &h->in->initial[u->init_txs[i]]);
    for (uint32_t i = 0; i < c; i++) rows[m++] = row_of(u, h->applied[u->changes[i]]);
    qsort(rows, m, sizeof(*rows), cmp_row_names);
    uint32_t n = 0;
    for (uint32_t i = 0; i < m; i++) { /* one row per partner */
        if (n > 0 && strcmp(rows[n - 1].name, rows[i].name) == 0) {
            rows[n - 1].count++;
            rows[n - 1].net += rows[i].net;
        } else {
            rows[n++] = rows[i];
        }
    }
    qsort(rows, n, sizeof(*rows), cmp_rows);
    size_t len = 0;
    if (text_reserve(h, (size_t)(n + 1) * (NAME_BYTES_MAX + 64)) != 0) {
        free(rows);
        return -1;
    }
    size_t name_max = 0;
    uint64_t count_max = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t nl = strlen(rows[i].name);
        if (nl > name_max) name_max = nl;
        if (rows[i].count > count_max) count_max = rows[i].count;
    }
    client_stats_widths_t w = client_stats_widths(n, name_max, count_max);
    for (uint32_t i = 0; i < n; i++) {
        len += (size_t)client_stats_row(h->text + len, h->text_cap - len, &w, i + 1, rows[i].name,
                                        rows[i].count, rows[i].net);
        h->text[len++] = '\n';
    }
    free(rows);
    return (long)len;
}

static int cmp_txp(const void *a, const void *b) { return cmp_tx_serial(a, b); }

/* alichain.txt at state j; length or -1. */
static long txlist_text(hist_t *h, uint32_t j) {
    size_t count = h->in->initial_count + j;
    const tx_t **all = malloc((count + 1) * sizeof(*all));
    if (all == NULL || text_reserve(h, (count + 1) * TX_LINE_BYTES_MAX) != 0) {
        free(all);
        return -1;
    }
    for (size_t i = 0; i < h->in->initial_count; i++) all[i] = &h->in->initial[i];
    for (uint32_t k = 1; k <= j; k++) all[h->in->initial_count + k - 1] = h->applied[k];
    qsort(all, count, sizeof(*all), cmp_txp);
    size_t len = 0;
    for (size_t i = 0; i < count; i++) len += tx_format(all[i], h->text + len, h->text_cap - len);
    free(all);
    return (long)len;
}

/* 1 when the read's answer is what the model gives at state j. */
static int read_fits(hist_t *h, const hist_op_t *op, uint32_t j) {
    const wire_crep_t *r = &op->reply;
    int64_t ui = op->user ? users_find(&h->users, op->user, 0) : -1;
    const huser_t *u = ui >= 0 ? &h->users.users[ui] : NULL;
    int u_exists = u != NULL && user_exists_at(u, j);
    switch (op->op) {
    case CREQ_BALANCE:
        if (r->kind == CREP_NOUSER) return !u_exists;
        return r->kind == CREP_BALANCE && u_exists && user_balance_at(u, j) == r->balance;
    case CREQ_STATS: {
        if (r->kind == CREP_NOUSER) return !u_exists;
        if (r->kind != CREP_STATS || !u_exists) return 0;
        uint64_t lines = 0;
        for (size_t i = 0; i < op->rows_len; i++) lines += op->rows[i] == '\n';
        if (lines != r->count) return 0;
        long len = stats_text(h, u, j);
        return len >= 0 && (size_t)len == op->rows_len && memcmp(h->text, op->rows, op->rows_len) == 0;
    }
    case CREQ_TXLIST: {
        if (r->kind != CREP_TXLIST || op->file == NULL) return 0;
        if (r->count != h->in->initial_count + j) return 0;
        long len = txlist_text(h, j);
        return len >= 0 && (size_t)len == op->file_len && memcmp(h->text, op->file, op->file_len) == 0;
    }
    case CREQ_TRANSFER: {
        int64_t vi = op->receiver ? users_find(&h->users, op->receiver, 0) : -1;
        int v_exists = vi >= 0 && user_exists_at(&h->users.users[vi], j);
        int same = op->receiver && op->user && strcmp(op->user, op->receiver) == 0;
        switch (r->kind) {
        case CREP_SAME: return same;
        case CREP_NOUSERS: return !u_exists && !v_exists;
        case CREP_NOUSER:
            if (strcmp(r->names[0].s, op->user) == 0) return !u_exists && (same || v_exists);
            if (op->receiver && strcmp(r->names[0].s, op->receiver) == 0) return !v_exists && u_exists;
            return 0;
        case CREP_INSUFFICIENT:
            return !same && u_exists && v_exists && user_balance_at(u, j) < op->amount &&
                   user_balance_at(u, j) == r->balance;
        default: return 0;
        }
    }
    case CREQ_KEEPALIVE: return 0; /* not an operation: never recorded as one */
    }
    return 0;
}

/* Points where the read's answer may change: sorted candidate states in [lo, hi]. */
static void read_changes(hist_t *h, const hist_op_t *op, const huser_t **u1, const huser_t **u2) {
    *u1 = *u2 = NULL;
    int64_t i = op->user ? users_find(&h->users, op->user, 0) : -1;
    if (i >= 0) *u1 = &h->users.users[i];
    if (op->op == CREQ_TRANSFER && op->receiver) {
        int64_t k = users_find(&h->users, op->receiver, 0);
        if (k >= 0) *u2 = &h->users.users[k];
    }
}

/* The next change index > j of u1 or u2 (UINT32_MAX: none). */
static uint32_t next_change(const huser_t *u1, const huser_t *u2, uint32_t j) {
    uint32_t best = UINT32_MAX;
    const huser_t *us[2] = {u1, u2};
    for (int k = 0; k < 2; k++) {
        if (us[k] == NULL) continue;
        uint32_t c = user_changes_upto(us[k], j);
        if (c < us[k]->change_count && us[k]->changes[c] < best) best = us[k]->changes[c];
    }
    return best;
}

static void read_describe(const hist_op_t *op, char *buf, size_t cap) {
    const wire_crep_t *r = &op->reply;
    switch (r->kind) {
    case CREP_BALANCE: snprintf(buf, cap, "balance %lld", (long long)r->balance); break;
    case CREP_NOUSER: snprintf(buf, cap, "\"%s\" is not part of the network", r->names[0].s); break;
    case CREP_NOUSERS: snprintf(buf, cap, "neither user is part of the network"); break;
    case CREP_SAME: snprintf(buf, cap, "sender and receiver are the same"); break;
    case CREP_INSUFFICIENT: snprintf(buf, cap, "insufficient balance %lld", (long long)r->balance); break;
    case CREP_STATS: snprintf(buf, cap, "%llu stats rows", (unsigned long long)r->count); break;
    case CREP_TXLIST: snprintf(buf, cap, "alichain.txt with %llu transactions%s",
                               (unsigned long long)r->count, op->file ? "" : " (never written)"); break;
    default: snprintf(buf, cap, "reply kind %d", (int)r->kind); break;
    }
}

typedef hist_key_t hkey_t;

int hist_key_cmp(const void *a, const void *b) {
    const hkey_t *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

typedef struct {
    uint64_t resp;
    uint32_t j;
} hdone_t;

/* min-heap of finished reads by response time */
static void done_push(hdone_t *heap, size_t *n, hdone_t v) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (heap[p].resp <= v.resp) break;
        heap[i] = heap[p];
        i = p;
    }
    heap[i] = v;
}

static hdone_t done_pop(hdone_t *heap, size_t *n) {
    hdone_t top = heap[0];
    hdone_t last = heap[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= *n) break;
        size_t m = l + 1 < *n && heap[l + 1].resp < heap[l].resp ? l + 1 : l;
        if (heap[m].resp >= last.resp) break;
        heap[i] = heap[m];
        i = m;
    }
    if (*n > 0) heap[i] = last;
    return top;
}

static int is_read(const hist_op_t *op) {
    if (op->status == HIST_NONE) return 0;
    if (op->op == CREQ_TRANSFER) return op->status == HIST_REFUSED;
    return 1;
}

static int hist_reads(hist_t *h) {
    const hist_input_t *in = h->in;
    uint32_t n = h->n;
    int rc = AC_ENOMEM;
    hkey_t *by_resp = calloc(n + 1, sizeof(*by_resp));
    uint32_t *pre_max = calloc(n + 1, sizeof(*pre_max));
    hkey_t *by_inv = calloc(n + 1, sizeof(*by_inv));
    uint32_t *suf_min = calloc(n + 2, sizeof(*suf_min));
    hkey_t *reads = calloc(in->op_count + 1, sizeof(*reads));
    hdone_t *done = calloc(in->op_count + 1, sizeof(*done));
    if (!by_resp || !pre_max || !by_inv || !suf_min || !reads || !done) goto out;
    uint32_t nw = 0;
    for (uint32_t k = 1; k <= n; k++) {
        if (h->applied_op[k] < 0) continue;
        const hist_op_t *op = &in->ops[h->applied_op[k]];
        by_resp[nw] = (hkey_t){op->status == HIST_OK ? op->resp_us : HIST_NO_RESPONSE, k};
        by_inv[nw] = (hkey_t){op->inv_us, k};
        nw++;
    }
    qsort(by_resp, nw, sizeof(*by_resp), hist_key_cmp);
    qsort(by_inv, nw, sizeof(*by_inv), hist_key_cmp);
    for (uint32_t i = 0; i < nw; i++) pre_max[i] = i && pre_max[i - 1] > by_resp[i].idx ? pre_max[i - 1] : by_resp[i].idx;
    suf_min[nw] = n + 1;
    for (uint32_t i = nw; i > 0; i--) suf_min[i - 1] = by_inv[i - 1].idx < suf_min[i] ? by_inv[i - 1].idx : suf_min[i];
    size_t nr = 0;
    for (size_t i = 0; i < in->op_count; i++) {
        if (is_read(&in->ops[i])) reads[nr++] = (hkey_t){in->ops[i].inv_us, (uint32_t)i};
    }
    qsort(reads, nr, sizeof(*reads), hist_key_cmp);
    /* reads of one connection started at the same moment: in their order on it */
    for (size_t i = 1; i < nr; i++) {
        for (size_t j = i; j > 0 && reads[j].key == reads[j - 1].key; j--) {
            const hist_op_t *x = &in->ops[reads[j - 1].idx], *y = &in->ops[reads[j].idx];
            if (x->session == 0 || x->session != y->session || x->session_seq < y->session_seq) break;
            hkey_t t = reads[j];
            reads[j] = reads[j - 1];
            reads[j - 1] = t;
        }
    }
    size_t ndone = 0;
    uint32_t lb = 0;
    for (size_t ri = 0; ri < nr; ri++) {
        if (ri % HIST_POLL_EVERY == 0 && hist_stopped(h)) break;
        const hist_op_t *op = &in->ops[reads[ri].idx];
        while (ndone > 0 && done[0].resp < op->inv_us) {
            hdone_t d = done_pop(done, &ndone);
            if (d.j > lb) lb = d.j;
        }
        /* lo: the latest write (in serial order) among those that ended before we started */
        uint32_t a = 0, b = nw;
        while (a < b) {
            uint32_t m = a + (b - a) / 2;
            if (by_resp[m].key < op->inv_us) a = m + 1;
            else b = m;
        }
        uint32_t lo = a ? pre_max[a - 1] : 0;
        /* hi: before the first write (in serial order) among those that started after we ended */
        a = 0;
        b = nw;
        while (a < b) {
            uint32_t m = a + (b - a) / 2;
            if (by_inv[m].key <= op->resp_us) a = m + 1;
            else b = m;
        }
        uint32_t hi = suf_min[a] - 1;
        uint32_t from = lo > lb ? lo : lb;
        uint32_t sess = op->session <= in->op_count ? op->session : 0;
        if (sess != 0) { /* its connection's earlier requests first, its later ones after */
            uint32_t slo = h->sess_lo[reads[ri].idx], shi = h->sess_hi[reads[ri].idx];
            if (h->sess_last_j[sess] > slo) slo = h->sess_last_j[sess];
            if (slo > from) from = slo;
            if (shi < hi) hi = shi;
        }
        uint32_t chosen = UINT32_MAX;
        if (from <= hi) {
            if (op->op == CREQ_TXLIST) {
                uint64_t j = op->reply.count >= in->initial_count ? op->reply.count - in->initial_count : UINT64_MAX;
                if (j >= from && j <= hi && read_fits(h, op, (uint32_t)j)) chosen = (uint32_t)j;
            } else {
                const huser_t *u1, *u2;
                read_changes(h, op, &u1, &u2);
                uint32_t j = from;
                for (uint32_t steps = 0; steps <= n + 1 && j <= hi; steps++) {
                    if (read_fits(h, op, j)) {
                        chosen = j;
                        break;
                    }
                    j = next_change(u1, u2, j);
                    if (j == UINT32_MAX) break;
                }
            }
        }
        int found = chosen != UINT32_MAX;
        if (!found) {
            char what[160], seen[200];
            read_describe(op, what, sizeof(what));
            size_t sl = 0;
            seen[0] = '\0';
            if (op->user && (op->op == CREQ_BALANCE || op->op == CREQ_TRANSFER) && from <= hi) {
                int64_t ui = users_find(&h->users, op->user, 0);
                const huser_t *u1, *u2;
                read_changes(h, op, &u1, &u2);
                uint32_t j = from;
                for (int shown = 0; shown < HIST_VALUES_SHOWN && j <= hi && j != UINT32_MAX; shown++) {
                    if (ui >= 0 && user_exists_at(&h->users.users[ui], j))
                        sl += (size_t)snprintf(seen + sl, sizeof(seen) - sl, "%s%lld", sl ? ", " : "",
                                               (long long)user_balance_at(&h->users.users[ui], j));
                    else sl += (size_t)snprintf(seen + sl, sizeof(seen) - sl, "%sabsent", sl ? ", " : "");
                    if (sl >= sizeof(seen)) break;
                    j = next_change(u1, u2, j);
                }
            }
            hist_report(h, "linearizability", op->resp_us, "%s answered \"%s\" in [%.6fs, %.6fs], "
                        "but the states it may have seen (after %u..%u of %u new transfers) %s%s",
                        op_label(op), what, (double)op->inv_us / 1e6, (double)op->resp_us / 1e6,
                        from, hi, n, from <= hi ? "give a different answer" :
                        "are none: real-time order rules every state out", sl ? ": " : "");
            if (sl) hist_report(h, "linearizability", op->resp_us, "  (%s's balance in those states: %s)",
                                op->user, seen);
            chosen = from <= hi ? from : lb;
        }
        hist_model_set(h, reads[ri].idx, found ? HIST_MODEL_FITS : HIST_MODEL_REJECTED);
        if (op->resp_us != HIST_NO_RESPONSE) done_push(done, &ndone, (hdone_t){op->resp_us, chosen});
        if (sess != 0 && chosen != UINT32_MAX && chosen > h->sess_last_j[sess]) h->sess_last_j[sess] = chosen;
    }
    rc = 0;
out:
    free(by_resp);
    free(pre_max);
    free(by_inv);
    free(suf_min);
    free(reads);
    free(done);
    return rc;
}

int history_check(const hist_input_t *in, hist_report_fn report, void *ctx) {
    hist_t h;
    memset(&h, 0, sizeof(h));
    h.in = in;
    h.report = report;
    h.ctx = ctx;
    if (in->model != NULL && in->op_count > 0) memset(in->model, HIST_MODEL_UNCHECKED, in->op_count);
    /* each phase's long loop polls in->stop; a stop between phases ends the check too */
    int rc = hist_collect(&h);
    if (rc == 0 && !hist_stopped(&h)) rc = hist_match(&h);
    if (rc == 0 && !hist_stopped(&h)) rc = hist_replay(&h);
    if (rc == 0 && !hist_stopped(&h)) hist_writes_order(&h);
    if (rc == 0 && !hist_stopped(&h)) rc = hist_sessions(&h);
    if (rc == 0 && !hist_stopped(&h)) rc = hist_reads(&h);
    if (rc == 0 && h.stopped) rc = HIST_ESTOPPED;
    for (uint32_t i = 0; i < h.users.count; i++) {
        free(h.users.users[i].changes);
        free(h.users.users[i].after);
        free(h.users.users[i].init_txs);
    }
    free(h.users.users);
    names_free(&h.users.names);
    free(h.applied);
    free(h.applied_op);
    free(h.text);
    free(h.sess_lo);
    free(h.sess_hi);
    free(h.sess_last_j);
    return rc != 0 ? rc : h.found;
}
