/* check.c — what is checked when a run ends, for any driver (judge.h): the disks are read
 * back through blockfile_recover, the history of client-visible results goes to history.c
 * (serials, durability, phantoms, overdraft, linearizability) and the scenario's `expect`
 * statements are evaluated; for the simulator also each live backend's index against its disk. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge.h"
#include "history.h"
#include "blockfile.h"
#include "outcome.h"
#include "scenario/forge.h"

static int txlist_add(check_txs_t *l, const tx_t *t, int backend) {
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

void check_txs_free(check_txs_t *t) {
    free(t->txs);
    t->txs = NULL;
    t->count = t->cap = 0;
}

/* Every transaction of a block file, read as a restarting backend reads it: through
 * blockfile_recover (a torn tail of an appended file left out, whatever it looks like).
 * marker == NULL: no "<block>.appended" marker (e.g. a scenario's hand-written image). */
int check_block_read(const char *img, size_t len, const char *marker, size_t marker_len,
                     int backend, check_txs_t *out, char *err, size_t err_cap) {
    const char *name = blockfile_default_name(backend);
    ledger_t l;
    ledger_init(&l);
    blockfile_recovery_t res;
    int rc = blockfile_recover(&l, img, len, marker, marker_len, name, &res, err, err_cap);
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

/* ---- the driver-neutral judge ---- */

static void judge_violation(void *ctx, const char *checker, uint64_t at_us, const char *msg) {
    const check_sink_t *sink = ctx;
    sink->violation(sink->ctx, checker, at_us, msg);
}

/* The stats rows a client printed: the stdout lines after the column header. */
static void op_stats_rows(const check_op_t *op, const char **rows, size_t *len) {
    static const char header[] = "Rank--Username--NumofTransactions--Total\n";
    const char *out = op->out;
    *rows = "";
    *len = 0;
    if (out == NULL) return;
    size_t hl = sizeof(header) - 1;
    for (size_t pos = 0; pos + hl <= op->out_len;) {
        if (memcmp(out + pos, header, hl) == 0) {
            *rows = out + pos + hl;
            *len = op->out_len - pos - hl;
            return;
        }
        const char *nl = memchr(out + pos, '\n', op->out_len - pos);
        if (nl == NULL) break;
        pos = (size_t)(nl - out) + 1;
    }
}

static int name_eq(const wire_name_t *a, const wire_name_t *b) {
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

/* 1 when op's stdout, read back by core's outcome parser, is what its client prints for its
 * own request (letter, user, receiver, amount) with the reply the checkers judged, and that
 * exit code: the answer judged against the model is then the answer printed. (Stats rows
 * and a TXLIST's file are judged as printed and written already; the TXLIST's path is
 * serverM's setting, not the ledger's.) */
static int op_printed_as_judged(const check_op_t *op) {
    outcome_t o;
    if (op->out == NULL || outcome_parse(op->out, op->out_len, "", 0, &o, NULL, 0) != 0) return 0;
    const wire_creq_t *q = &op->req;
    const wire_crep_t *want = &op->reply, *got = &o.reply;
    if (o.letter != (op->step->client ? 'B' : 'A') || outcome_exit_code(&o) != op->exit_code) return 0;
    if (o.req.op != q->op || (q->op != CREQ_TXLIST && !name_eq(&o.req.user, &q->user))) return 0;
    if (q->op == CREQ_TRANSFER && (!name_eq(&o.req.receiver, &q->receiver) || o.req.amount != q->amount)) return 0;
    if (got->kind != want->kind) return 0;
    switch (want->kind) {
    case CREP_BALANCE:
    case CREP_TRANSFER:
    case CREP_INSUFFICIENT: return got->balance == want->balance;
    case CREP_NOUSERS: return name_eq(&got->names[0], &want->names[0]) && name_eq(&got->names[1], &want->names[1]);
    case CREP_NOUSER: return name_eq(&got->names[0], &want->names[0]);
    case CREP_STATS:
    case CREP_TXLIST: return got->count == want->count;
    case CREP_SAME: return 1;
    default: return 0;
    }
}

static void expect_fail(const check_sink_t *sink, const scn_expect_t *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void expect_fail(const check_sink_t *sink, const scn_expect_t *e, const char *fmt, ...) {
    char msg[CHECK_MSG_BYTES - 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sink->expect_failed(sink->ctx, e, msg);
}

static int cmp_op_label(const void *a, const void *b) {
    const check_op_t *x = *(const check_op_t *const *)a, *y = *(const check_op_t *const *)b;
    int c = strcmp(x->step->label, y->step->label);
    return c != 0 ? c : (x < y ? -1 : x > y);
}

/* The first operation (in run order) labelled label, by binary search over the operations
 * sorted by (label, position): one expect costs O(log ops), not a scan. */
static const check_op_t *op_by_label(const check_op_t *const *sorted, size_t n, const char *label) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(sorted[mid]->step->label, label) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && strcmp(sorted[lo]->step->label, label) == 0 ? sorted[lo] : NULL;
}

static int has_line(const char *p, size_t len, const char *text) {
    size_t tl = strlen(text);
    for (size_t pos = 0; p != NULL && pos < len;) {
        const char *nl = memchr(p + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (p + pos)) : len - pos;
        if (ll == tl && memcmp(p + pos, text, tl) == 0) return 1;
        pos += ll + 1;
    }
    return 0;
}

static int has_sub(const char *p, size_t len, const char *text) {
    size_t tl = strlen(text);
    if (tl == 0) return 1;
    for (size_t pos = 0; p != NULL && pos + tl <= len; pos++) {
        if (memcmp(p + pos, text, tl) == 0) return 1;
    }
    return 0;
}

static void check_expect_op(const check_sink_t *sink, const scn_expect_t *e, const check_op_t *op) {
    switch (e->kind) {
    case EXP_EXIT:
        if (op->exit_code < 0 || op->exit_code > 31 || !(e->exit_mask & (1u << op->exit_code)))
            expect_fail(sink, e, "%s exited %d", e->label, op->exit_code);
        break;
    case EXP_STDOUT:
        if (!has_line(op->out, op->out_len, e->text))
            expect_fail(sink, e, "%s printed no stdout line \"%s\"", e->label, e->text);
        break;
    case EXP_NO_STDOUT:
        if (has_line(op->out, op->out_len, e->text)) expect_fail(sink, e, "%s printed \"%s\"", e->label, e->text);
        break;
    case EXP_STDERR:
        if (!has_sub(op->err, op->err_len, e->text))
            expect_fail(sink, e, "%s's stderr lacks \"%s\"", e->label, e->text);
        break;
    case EXP_SERIAL:
        if (!op->have_reply || op->reply.kind != CREP_TRANSFER || (int64_t)op->reply.serial != e->num)
            expect_fail(sink, e, "%s got serial %lld, not %lld", e->label,
                        op->have_reply && op->reply.kind == CREP_TRANSFER ? (long long)op->reply.serial : -1LL,
                        (long long)e->num);
        break;
    default:
        break;
    }
}

/* Every `expect` of the scenario, against the operations sorted by label and the disks
 * indexed once. Returns 0, AC_ENOMEM, or HIST_ESTOPPED. */
static int check_expects(const check_input_t *in, const check_sink_t *sink) {
    const scenario_t *s = in->scn;
    check_disks_t disk = {0};
    const check_op_t **sorted = malloc((in->op_count + 1) * sizeof(*sorted));
    if (sorted == NULL || check_disks_index(&disk, in->disk) != 0) {
        free(sorted);
        check_disks_free(&disk);
        return AC_ENOMEM;
    }
    for (size_t i = 0; i < in->op_count; i++) sorted[i] = &in->ops[i];
    qsort(sorted, in->op_count, sizeof(*sorted), cmp_op_label);
    int rc = 0;
    for (size_t i = 0; i < s->expect_count; i++) {
        const scn_expect_t *e = &s->expects[i];
        if (i % HIST_POLL_EVERY == 0 && in->stop != NULL && in->stop(in->stop_ctx)) {
            rc = HIST_ESTOPPED;
            break;
        }
        if (e->kind == EXP_EXIT || e->kind == EXP_STDOUT || e->kind == EXP_NO_STDOUT ||
            e->kind == EXP_STDERR || e->kind == EXP_SERIAL) {
            const check_op_t *op = op_by_label(sorted, in->op_count, e->label);
            if (op == NULL || op->state != CHECK_OP_DONE)
                expect_fail(sink, e, "%s has not finished (%s)", e->label,
                            op == NULL ? "no such operation"
                            : op->state == CHECK_OP_RUNNING ? "still running" : "never started");
            else check_expect_op(sink, e, op);
            continue;
        }
        int64_t bal;
        switch (e->kind) {
        case EXP_BALANCE:
            if (!check_disks_balance(&disk, e->text, &bal)) expect_fail(sink, e, "%s is not part of the network", e->text);
            else if (bal != e->num) expect_fail(sink, e, "the balance of %s is %lld", e->text, (long long)bal);
            break;
        case EXP_ABSENT:
            if (check_disks_balance(&disk, e->text, &bal))
                expect_fail(sink, e, "%s is part of the network (balance %lld)", e->text, (long long)bal);
            break;
        case EXP_TXLIST_ABSENT:
            if (in->txlist != NULL) expect_fail(sink, e, "alichain.txt exists (%zu bytes)", in->txlist_len);
            break;
        case EXP_TXLIST_LINES:
        case EXP_TXLIST_LINE: {
            if (in->txlist == NULL) {
                expect_fail(sink, e, "alichain.txt was never written");
                break;
            }
            if (e->kind == EXP_TXLIST_LINE) {
                if (!has_line(in->txlist, in->txlist_len, e->text))
                    expect_fail(sink, e, "alichain.txt has no line \"%s\"", e->text);
                break;
            }
            int64_t lines = 0;
            for (size_t k = 0; k < in->txlist_len; k++) lines += in->txlist[k] == '\n';
            if (lines != e->num) expect_fail(sink, e, "alichain.txt has %lld lines", (long long)lines);
            break;
        }
        case EXP_LEDGER_COUNT: {
            int64_t distinct = (int64_t)disk.distinct_count;
            if (distinct != e->num) expect_fail(sink, e, "the disks hold %lld transactions", (long long)distinct);
            break;
        }
        case EXP_LEDGER_HAS: {
            tx_t t;
            char err[96];
            if (tx_parse_line(e->text, strlen(e->text), &t, err, sizeof(err)) != 0) {
                expect_fail(sink, e, "\"%s\" is not a transaction line: %s", e->text, err);
                break;
            }
            if (!check_disks_has(&disk, &t)) expect_fail(sink, e, "no disk holds \"%s\"", e->text);
            break;
        }
        case EXP_INVARIANTS:
            break; /* the checkers always run; a violation fails the run by itself */
        case EXP_FAULT: {
            if (in->faults_unmeasured & (1u << e->fault)) break; /* nothing to judge it by */
            uint64_t got = in->faults[e->fault];
            int ok = e->cmp == CMP_GE ? got >= (uint64_t)e->num
                     : e->cmp == CMP_EQ ? got == (uint64_t)e->num : got <= (uint64_t)e->num;
            if (!ok) expect_fail(sink, e, "fault %s fired %llu times", sim_fault_names[e->fault],
                                 (unsigned long long)got);
            break;
        }
        default:
            break;
        }
    }
    free(sorted);
    check_disks_free(&disk);
    return rc;
}

/* No transfer of the forger's (STEP_FORGE, scenario/forge.h) is on any disk: backends take
 * datagrams only with a MAC of the servers' key. Whichever driver forged: the simulator's
 * world or the real hosts' relay. */
static void check_forgery(const check_input_t *in, const check_sink_t *sink) {
    for (size_t i = 0; i < in->disk->count; i++) {
        const tx_t *t = &in->disk->txs[i].tx;
        if (!forge_tx_is_forged(t)) continue;
        char msg[CHECK_MSG_BYTES];
        snprintf(msg, sizeof(msg), "server%c stored a forged transfer: %llu %s %s %lld",
                 'A' + in->disk->txs[i].backend, (unsigned long long)t->serial, t->sender, t->receiver,
                 (long long)t->amount);
        sink->violation(sink->ctx, "forgery", 0, msg);
    }
}

int check_judge(const check_input_t *in, const check_sink_t *sink) {
    const scenario_t *s = in->scn;
    check_txs_t initial = {0};
    hist_op_t *hops = calloc(in->op_count + 1, sizeof(*hops));
    uint32_t *hidx = calloc(in->op_count + 1, sizeof(*hidx)); /* hops[k] is ops[hidx[k]] */
    uint8_t *hmodel = calloc(in->op_count + 1, 1);
    tx_t *init = NULL;
    int rc = hops == NULL || hidx == NULL || hmodel == NULL ? AC_ENOMEM : 0;
    if (in->model != NULL && in->op_count > 0) memset(in->model, HIST_MODEL_UNCHECKED, in->op_count);
    for (int b = 0; rc == 0 && b < BACKEND_COUNT; b++) {
        char err[CHECK_MSG_BYTES];
        if (s->block[b] == NULL) continue;
        int ib = check_block_read(s->block[b], s->block_len[b], NULL, 0, b, &initial, err, sizeof(err));
        if (ib < 0) rc = ib;
    }
    if (rc == 0) {
        init = calloc(initial.count + 1, sizeof(*init));
        if (init == NULL) rc = AC_ENOMEM;
        for (size_t i = 0; rc == 0 && i < initial.count; i++) init[i] = initial.txs[i].tx;
    }
    size_t nh = 0;
    for (size_t i = 0; rc == 0 && i < in->op_count; i++) {
        const check_op_t *op = &in->ops[i];
        if (op->state == CHECK_OP_WAITING) continue;
        hidx[nh] = (uint32_t)i;
        hist_op_t *h = &hops[nh++];
        h->label = op->step->label;
        h->op = op->parsed ? op->req.op : CREQ_BALANCE;
        h->user = op->parsed ? op->req.user.s : NULL;
        h->receiver = op->parsed && op->req.op == CREQ_TRANSFER ? op->req.receiver.s : NULL;
        h->amount = op->req.amount;
        h->inv_us = op->inv_us;
        h->resp_us = op->state == CHECK_OP_DONE ? op->resp_us : HIST_NO_RESPONSE;
        h->status = HIST_NONE;
        if (op->state == CHECK_OP_DONE && op->parsed && op->have_reply) {
            if (op->exit_code == 0) h->status = HIST_OK;
            if (op->exit_code == 1) h->status = HIST_REFUSED;
            h->reply = op->reply;
        }
        h->session = op->session <= in->op_count ? op->session : 0;
        h->session_seq = op->session_seq;
        if (h->status == HIST_OK && h->op == CREQ_STATS) op_stats_rows(op, &h->rows, &h->rows_len);
        if (h->status == HIST_OK && h->op == CREQ_TXLIST && op->file != NULL) {
            h->file = op->file;
            h->file_len = op->file_len;
        }
    }
    if (rc == 0) {
        hist_input_t hin = {.initial = init, .initial_count = initial.count, .stored = in->disk->txs,
                            .stored_count = in->disk->count, .ops = hops, .op_count = nh,
                            .settled = in->settled, .stop = in->stop, .stop_ctx = in->stop_ctx,
                            .model = hmodel};
        rc = history_check(&hin, judge_violation, (void *)sink);
        if (rc > 0) rc = 0;
    }
    for (size_t k = 0; rc == 0 && in->model != NULL && k < nh; k++) {
        const check_op_t *op = &in->ops[hidx[k]];
        int printed = hmodel[k] != HIST_MODEL_FITS || op_printed_as_judged(op);
        in->model[hidx[k]] = printed ? hmodel[k] : (uint8_t)HIST_MODEL_UNCHECKED;
    }
    if (rc == 0) rc = check_expects(in, sink);
    if (rc == 0) check_forgery(in, sink);
    free(hops);
    free(hidx);
    free(hmodel);
    free(init);
    check_txs_free(&initial);
    return rc;
}
