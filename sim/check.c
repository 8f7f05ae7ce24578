/* check.c — what is checked when a run ends: the simulated disks are read back, the
 * history of client-visible results goes to history.c (serials, durability, phantoms,
 * overdraft, linearizability), every live backend's index is checked against its own disk
 * (conservation), and the scenario's `expect` statements are evaluated. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "world.h"

#define CHECK_MSG_BYTES 480

typedef struct {
    hist_stored_t *txs;
    size_t count, cap;
} txlist_t;

static int txlist_add(txlist_t *l, const tx_t *t, int backend) {
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        hist_stored_t *n = realloc(l->txs, cap * sizeof(*n));
        if (n == NULL) return AC_ENOMEM;
        l->txs = n;
        l->cap = cap;
    }
    l->txs[l->count].tx = *t;
    l->txs[l->count].backend = (uint8_t)backend;
    l->count++;
    return 0;
}

/* Every transaction of a block file, read as a restarting backend reads it: through
 * blockfile_recover (a torn tail of an appended file left out, whatever it looks like).
 * disk == NULL: the scenario's initial image (hand-written, no marker). Returns 0, 1 when
 * the file cannot be recovered (reason in err), or AC_ENOMEM. */
static int disk_read_txs(const simdisk_t *disk, const char *img, size_t len, int backend,
                         txlist_t *out, char *err, size_t err_cap) {
    const char *name = simdisk_block_name(backend);
    ledger_t l;
    ledger_init(&l);
    blockfile_recovery_t res;
    int rc = disk != NULL ? simdisk_recover(disk, &l, name, &res, err, err_cap)
                          : blockfile_recover(&l, img, len, NULL, 0, name, &res, err, err_cap);
    if (rc == AC_ENOMEM) {
        ledger_free(&l);
        return AC_ENOMEM;
    }
    for (uint32_t i = 0; rc == 0 && i < l.tx_count; i++) {
        tx_t t;
        ledger_get(&l, i, &t);
        if (txlist_add(out, &t, backend) != 0) {
            ledger_free(&l);
            return AC_ENOMEM;
        }
    }
    ledger_free(&l);
    return rc != 0 ? 1 : 0;
}

static void hist_violation(void *ctx, const char *checker, uint64_t at_us, const char *msg) {
    world_t *w = ctx;
    world_violation_at(w, at_us ? at_us : w->now_us, checker, msg);
}

/* The stats rows a client printed: the stdout lines after the column header. */
static void op_stats_rows(const sim_op_t *op, const char **rows, size_t *len) {
    static const char header[] = "Rank--Username--NumofTransactions--Total\n";
    const char *out = (const char *)op->out.p;
    *rows = "";
    *len = 0;
    if (out == NULL) return;
    size_t hl = sizeof(header) - 1;
    for (size_t pos = 0; pos + hl <= op->out.len;) {
        if (memcmp(out + pos, header, hl) == 0) {
            *rows = out + pos + hl;
            *len = op->out.len - pos - hl;
            return;
        }
        const char *nl = memchr(out + pos, '\n', op->out.len - pos);
        if (nl == NULL) break;
        pos = (size_t)(nl - out) + 1;
    }
}

static int world_settled(const world_t *w) {
    if (w->inflight || w->disk_pending) return 0;
    for (int n = 0; n < SIM_SERVERS; n++) {
        if (w->node[n].parked_count) return 0;
    }
    return w->coord == NULL || coord_idle(w->coord);
}

/* Each live backend's index agrees with itself and with its own disk. */
static void check_conservation(world_t *w, const txlist_t *disk) {
    for (int b = 0; b < BACKEND_COUNT; b++) {
        if (!w->node[b + 1].up) continue;
        const ledger_t *l = &w->be[b]->ledger;
        uint64_t sent = 0, recv = 0, amounts = 0;
        for (uint32_t u = 0; u < l->user_count; u++) {
            sent += l->users[u].sent;
            recv += l->users[u].received;
        }
        for (uint32_t i = 0; i < l->tx_count; i++) amounts += (uint64_t)l->txs[i].amount;
        if (sent != recv || sent != amounts) {
            world_violation(w, "conservation", "server%c's index: coins sent %llu, received %llu, "
                            "in its transactions %llu", backend_letter(b), (unsigned long long)sent,
                            (unsigned long long)recv, (unsigned long long)amounts);
        }
        if (simdisk_unsynced(&w->disk[b]) != 0) continue; /* appends in flight: compare when settled */
        size_t on_disk = 0;
        for (size_t i = 0; i < disk->count; i++) on_disk += disk->txs[i].backend == b;
        if (on_disk != l->tx_count) {
            world_violation(w, "conservation", "server%c's index holds %u transactions, its disk %zu",
                            backend_letter(b), l->tx_count, on_disk);
        }
    }
}

static void expect_fail(world_t *w, const scn_expect_t *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void expect_fail(world_t *w, const scn_expect_t *e, const char *fmt, ...) {
    char msg[CHECK_MSG_BYTES - 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char line[CHECK_MSG_BYTES + 96];
    int n = snprintf(line, sizeof(line), "expect failed: line %u: %s\n", e->line, msg);
    buf_append(&w->expect_log, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    w->res->expects_failed++;
    if (w->res->first_failure[0] == '\0')
        snprintf(w->res->first_failure, sizeof(w->res->first_failure), "expect (line %u): %s", e->line, msg);
}

static const sim_op_t *op_by_label(const world_t *w, const char *label) {
    for (uint32_t i = 0; i < w->op_count; i++) {
        if (strcmp(w->ops[i].step->label, label) == 0) return &w->ops[i];
    }
    return NULL;
}

static int has_line(const sim_buf_t *b, const char *text) {
    size_t tl = strlen(text);
    const char *p = (const char *)b->p;
    for (size_t pos = 0; pos < b->len;) {
        const char *nl = memchr(p + pos, '\n', b->len - pos);
        size_t ll = nl ? (size_t)(nl - (p + pos)) : b->len - pos;
        if (ll == tl && memcmp(p + pos, text, tl) == 0) return 1;
        pos += ll + 1;
    }
    return 0;
}

static int has_sub(const sim_buf_t *b, const char *text) {
    size_t tl = strlen(text);
    if (tl == 0) return 1;
    for (size_t pos = 0; pos + tl <= b->len; pos++) {
        if (memcmp(b->p + pos, text, tl) == 0) return 1;
    }
    return 0;
}

/* Final-state balance of a user over the distinct transactions on the disks. */
static int final_balance(const txlist_t *d, const char *user, int64_t *bal) {
    int exists = 0;
    int64_t b = BALANCE_INITIAL;
    for (size_t i = 0; i < d->count; i++) {
        const tx_t *t = &d->txs[i].tx;
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++) dup = tx_equal(&d->txs[j].tx, t);
        if (dup) continue;
        if (strcmp(t->sender, user) == 0) {
            exists = 1;
            b -= t->amount;
        }
        if (strcmp(t->receiver, user) == 0) {
            exists = 1;
            b += t->amount;
        }
    }
    *bal = b;
    return exists;
}

static void check_expects(world_t *w, const txlist_t *disk) {
    const scenario_t *s = w->scn;
    const sim_buf_t *file = w->files.current ? &w->files.versions[w->files.current] : NULL;
    for (size_t i = 0; i < s->expect_count; i++) {
        const scn_expect_t *e = &s->expects[i];
        const sim_op_t *op = NULL;
        if (e->kind == EXP_EXIT || e->kind == EXP_STDOUT || e->kind == EXP_NO_STDOUT ||
            e->kind == EXP_STDERR || e->kind == EXP_SERIAL) {
            op = op_by_label(w, e->label);
            if (op == NULL || op->state != OP_DONE) {
                expect_fail(w, e, "%s has not finished (%s)", e->label,
                            op == NULL ? "no such operation" : op->state == OP_RUNNING ? "still running" : "never started");
                continue;
            }
        }
        int64_t bal;
        switch (e->kind) {
        case EXP_EXIT:
            if (op->exit_code < 0 || op->exit_code > 31 || !(e->exit_mask & (1u << op->exit_code)))
                expect_fail(w, e, "%s exited %d", e->label, op->exit_code);
            break;
        case EXP_STDOUT:
            if (!has_line(&op->out, e->text)) expect_fail(w, e, "%s printed no stdout line \"%s\"", e->label, e->text);
            break;
        case EXP_NO_STDOUT:
            if (has_line(&op->out, e->text)) expect_fail(w, e, "%s printed \"%s\"", e->label, e->text);
            break;
        case EXP_STDERR:
            if (!has_sub(&op->err, e->text)) expect_fail(w, e, "%s's stderr lacks \"%s\"", e->label, e->text);
            break;
        case EXP_SERIAL:
            if (!op->have_reply || op->reply.kind != CREP_TRANSFER || (int64_t)op->reply.serial != e->num)
                expect_fail(w, e, "%s got serial %lld, not %lld", e->label,
                            op->have_reply && op->reply.kind == CREP_TRANSFER ? (long long)op->reply.serial : -1LL,
                            (long long)e->num);
            break;
        case EXP_BALANCE:
            if (!final_balance(disk, e->text, &bal)) expect_fail(w, e, "%s is not part of the network", e->text);
            else if (bal != e->num) expect_fail(w, e, "the balance of %s is %lld", e->text, (long long)bal);
            break;
        case EXP_ABSENT:
            if (final_balance(disk, e->text, &bal)) expect_fail(w, e, "%s is part of the network (balance %lld)",
                                                                e->text, (long long)bal);
            break;
        case EXP_TXLIST_ABSENT:
            if (file != NULL) expect_fail(w, e, "alichain.txt exists (%zu bytes)", file->len);
            break;
        case EXP_TXLIST_LINES:
        case EXP_TXLIST_LINE: {
            if (file == NULL) {
                expect_fail(w, e, "alichain.txt was never written");
                break;
            }
            sim_buf_t tmp = *file;
            if (e->kind == EXP_TXLIST_LINE) {
                if (!has_line(&tmp, e->text)) expect_fail(w, e, "alichain.txt has no line \"%s\"", e->text);
                break;
            }
            int64_t lines = 0;
            for (size_t k = 0; k < file->len; k++) lines += file->p[k] == '\n';
            if (lines != e->num) expect_fail(w, e, "alichain.txt has %lld lines", (long long)lines);
            break;
        }
        case EXP_LEDGER_COUNT: {
            int64_t distinct = 0;
            for (size_t k = 0; k < disk->count; k++) {
                int dup = 0;
                for (size_t j = 0; j < k && !dup; j++) dup = tx_equal(&disk->txs[j].tx, &disk->txs[k].tx);
                distinct += !dup;
            }
            if (distinct != e->num) expect_fail(w, e, "the disks hold %lld transactions", (long long)distinct);
            break;
        }
        case EXP_LEDGER_HAS: {
            tx_t t;
            char err[96];
            if (tx_parse_line(e->text, strlen(e->text), &t, err, sizeof(err)) != 0) {
                expect_fail(w, e, "\"%s\" is not a transaction line: %s", e->text, err);
                break;
            }
            int found = 0;
            for (size_t k = 0; k < disk->count && !found; k++) found = tx_equal(&disk->txs[k].tx, &t);
            if (!found) expect_fail(w, e, "no disk holds \"%s\"", e->text);
            break;
        }
        case EXP_INVARIANTS:
            break; /* the checkers always run; a violation fails the run by itself */
        case EXP_FAULT: {
            uint64_t got = w->res->faults[e->fault];
            int ok = e->cmp == CMP_GE ? got >= (uint64_t)e->num
                     : e->cmp == CMP_EQ ? got == (uint64_t)e->num : got <= (uint64_t)e->num;
            if (!ok) expect_fail(w, e, "fault %s fired %llu times", sim_fault_names[e->fault],
                                 (unsigned long long)got);
            break;
        }
        default:
            break;
        }
    }
}

void world_check_final(world_t *w) {
    txlist_t disk = {0}, initial = {0};
    const scenario_t *s = w->scn;
    hist_op_t *hops = calloc(w->op_count + 1, sizeof(*hops));
    tx_t *init = NULL;
    int rc = hops == NULL ? AC_ENOMEM : 0;
    for (int b = 0; rc == 0 && b < BACKEND_COUNT; b++) {
        char err[CHECK_MSG_BYTES];
        int bad = disk_read_txs(&w->disk[b], NULL, 0, b, &disk, err, sizeof(err));
        if (bad < 0) rc = bad;
        else if (bad > 0)
            world_violation(w, "durability", "a restart could not recover block%d.txt: %s", b + 1, err);
        if (rc == 0 && s->block[b] != NULL) {
            int ib = disk_read_txs(NULL, s->block[b], s->block_len[b], b, &initial, err, sizeof(err));
            if (ib < 0) rc = ib;
        }
    }
    if (rc == 0) {
        init = calloc(initial.count + 1, sizeof(*init));
        if (init == NULL) rc = AC_ENOMEM;
        for (size_t i = 0; rc == 0 && i < initial.count; i++) init[i] = initial.txs[i].tx;
    }
    size_t nh = 0;
    for (uint32_t i = 0; rc == 0 && i < w->op_count; i++) {
        const sim_op_t *op = &w->ops[i];
        if (op->state == OP_WAITING) continue;
        hist_op_t *h = &hops[nh++];
        h->label = op->step->label;
        h->op = op->parsed ? op->req.op : CREQ_BALANCE;
        h->user = op->parsed ? op->req.user.s : NULL;
        h->receiver = op->parsed && op->req.op == CREQ_TRANSFER ? op->req.receiver.s : NULL;
        h->amount = op->req.amount;
        h->inv_us = op->inv_us;
        h->resp_us = op->state == OP_DONE ? op->resp_us : HIST_NO_RESPONSE;
        h->status = HIST_NONE;
        if (op->state == OP_DONE && op->parsed && op->have_reply) {
            if (op->exit_code == 0) h->status = HIST_OK;
            if (op->exit_code == 1) h->status = HIST_REFUSED;
            h->reply = op->reply;
        }
        if (h->status == HIST_OK && h->op == CREQ_STATS) op_stats_rows(op, &h->rows, &h->rows_len);
        if (h->status == HIST_OK && h->op == CREQ_TXLIST && op->file_version != 0) {
            h->file = (const char *)w->files.versions[op->file_version].p;
            h->file_len = w->files.versions[op->file_version].len;
            if (h->file == NULL) h->file = "";
        }
    }
    if (rc == 0) {
        hist_input_t in = {.initial = init, .initial_count = initial.count, .stored = disk.txs,
                           .stored_count = disk.count, .ops = hops, .op_count = nh,
                           .settled = world_settled(w)};
        rc = history_check(&in, hist_violation, w);
        if (rc > 0) rc = 0;
    }
    if (rc == 0) {
        check_conservation(w, &disk);
        check_expects(w, &disk);
    } else {
        world_violation(w, "runaway", "out of memory in the final checks");
    }
    free(hops);
    free(init);
    free(disk.txs);
    free(initial.txs);
}
