/* compare.c — `alichain-sim compare` (real.h): one scenario run in the simulator and on the
 * real programs, the outcome of every labelled operation printed side by side, and the
 * outcomes the scenario determines compared (docs/REAL.md "compare"). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "judge/judge.h"
#include "outcome.h"
#include "real.h"
#include "scenario/anchor.h"
#include "world/sim.h"

static char *bytes_dup(const char *p, size_t len) {
    char *d = malloc(len + 1);
    if (d == NULL) return NULL;
    if (len > 0) memcpy(d, p, len);
    d[len] = '\0';
    return d;
}

typedef struct {
    real_outcome_t *ops;
    size_t n, seen;
    int nomem;
    real_final_t final;
} sim_ops_t;

/* stderr as the real client shows it: net/drive.c puts "client<j>: " before each line of
 * core's (the simulator keeps core's lines as they are). */
static char *stderr_as_printed(const char *p, size_t len, char letter, size_t *out_len) {
    size_t lines = 0;
    for (size_t k = 0; k < len; k++) lines += p[k] == '\n';
    char prefix[] = "clientX: ";
    prefix[6] = letter;
    char *d = malloc(len + (lines + 1) * (sizeof(prefix) - 1) + 1);
    if (d == NULL) return NULL;
    size_t n = 0;
    for (size_t k = 0; k < len; k++) {
        if (k == 0 || p[k - 1] == '\n') n += (size_t)snprintf(d + n, sizeof(prefix), "%s", prefix);
        d[n++] = p[k];
    }
    d[n] = '\0';
    *out_len = n;
    return d;
}

/* sim_run's on_op: the simulator's outcome of each labelled operation, as it ended. */
static void sim_op_seen(void *ctx, const sim_op_view_t *v) {
    sim_ops_t *so = ctx;
    if (so->seen >= so->n) return;
    real_outcome_t *o = &so->ops[so->seen++];
    snprintf(o->label, sizeof(o->label), "%s", v->step->label);
    o->state = v->state;
    o->exit_code = v->state == SIM_OP_DONE ? v->exit_code : -1;
    o->inv_us = v->state == SIM_OP_WAITING ? 0 : v->inv_us;
    o->resp_us = v->state == SIM_OP_DONE ? v->resp_us : UINT64_MAX;
    o->touches = v->touches;
    o->drawn = v->drawn;
    o->out = bytes_dup(v->out, v->out_len);
    o->err = stderr_as_printed(v->err, v->err_len, v->step->client ? 'B' : 'A', &o->err_len);
    o->out_len = o->out ? v->out_len : 0;
    o->model = v->model;
    if (o->err == NULL) o->err_len = 0;
    so->nomem |= o->out == NULL || o->err == NULL;
}

/* sim_run's on_end: the simulator's final disks and alichain.txt, copied. */
static void sim_end_seen(void *ctx, const check_txs_t *disks, const char *txlist, size_t txlist_len) {
    sim_ops_t *so = ctx;
    real_final_t *f = &so->final;
    f->disks.txs = malloc((disks->count + 1) * sizeof(*disks->txs));
    f->txlist = txlist != NULL ? bytes_dup(txlist, txlist_len) : NULL;
    if (f->disks.txs == NULL || (txlist != NULL && f->txlist == NULL)) {
        so->nomem = 1;
        return;
    }
    if (disks->count > 0) memcpy(f->disks.txs, disks->txs, disks->count * sizeof(*disks->txs));
    f->disks.count = f->disks.cap = disks->count;
    f->txlist_len = txlist_len;
    f->known = 1;
}

/* Runs s in the simulator; each operation's outcome into ops[0..n), its end state into *final. */
static int sim_outcomes(const scenario_t *s, const real_options_t *o, real_outcome_t *ops, size_t n,
                        int *verdict, real_final_t *final, scn_fired_t *fired, compare_result_t *cr) {
    sim_ops_t so = {.ops = ops, .n = n};
    sim_options_t opts = {.seed_override = o->seed, .has_seed_override = o->has_seed, .on_op = sim_op_seen,
                          .on_end = sim_end_seen, .hook_ctx = &so};
    sim_result_t sr;
    int rc = sim_run(s, &opts, &sr);
    *verdict = sr.verdict;
    *final = so.final;
    *fired = sr.fired;
    if (rc >= 0 && sr.verdict != 0) snprintf(cr->why, sizeof(cr->why), "simulator: %.360s", sr.first_failure);
    return rc < 0 || so.nomem || so.seen != n ? -1 : 0;
}

static void final_free(real_final_t *f) {
    check_txs_free(&f->disks);
    free(f->txlist);
    *f = (real_final_t){0};
}

static void outcomes_free(real_outcome_t *ops, size_t n) {
    for (size_t i = 0; ops != NULL && i < n; i++) {
        free(ops[i].out);
        free(ops[i].err);
    }
    free(ops);
}

/* The exit codes the scenario allows for label (0: no `expect LABEL exit`). */
static uint32_t expect_exit_mask(const scenario_t *s, const char *label) {
    uint32_t mask = 0;
    for (size_t i = 0; i < s->expect_count; i++) {
        if (s->expects[i].kind == EXP_EXIT && strcmp(s->expects[i].label, label) == 0) mask |= s->expects[i].exit_mask;
    }
    return mask;
}

/* 1 when the step is a well-formed transfer (usage errors never reach serverM). */
static int step_is_transfer(const scn_step_t *st) {
    const char *argv[SCN_ARGS_MAX + 1] = {st->client ? "clientB" : "clientA"};
    for (int k = 0; k < st->argc && k < SCN_ARGS_MAX; k++) argv[k + 1] = st->argv[k];
    wire_creq_t req;
    char err[200];
    return client_parse_argv(st->argc + 1, argv, &req, err, sizeof(err)) == 0 && req.op == CREQ_TRANSFER;
}

/* What o printed, read back by core's outcome parser: 0, or -1 when it is not what a
 * client prints (never guessed). */
static int outcome_read(const real_outcome_t *o, outcome_t *oc) {
    if (o->state != CHECK_OP_DONE) return -1;
    return outcome_parse(o->out ? o->out : "", o->out_len, o->err ? o->err : "", o->err_len, oc, NULL, 0) == 0
               ? 0 : -1;
}

/* 1 when transfer outcome o may have been stored: confirmed, or in doubt. Refused (exit 1),
 * never started, or answered "unavailable", "stale", "busy" or "bad request" by serverM,
 * which it says only before it sends a WRITE (core/coord_batch.c), is not; nor is "internal"
 * for a transfer: serverM says it before the WRITE (an overflow, no serial left) or when a
 * backend refused it (a conflict, a full block file or disk, an I/O error: docs/PROTOCOL.md),
 * and a refused write left nothing on disk. */
static int may_be_stored(const real_outcome_t *o) {
    if (o->state == CHECK_OP_WAITING) return 0;
    if (o->state != CHECK_OP_DONE || o->exit_code == 0) return 1;
    if (o->exit_code == 1 || o->exit_code == 2) return 0;
    outcome_t oc;
    if (outcome_read(o, &oc) != 0 || oc.failure != 0 || oc.in_doubt) return 1;
    crep_kind_t k = oc.reply.kind;
    return !(k == CREP_UNAVAILABLE || k == CREP_STALE || k == CREP_BUSY || k == CREP_BADREQ || k == CREP_INTERNAL);
}

/* 1 when outcome o of step st may have changed the ledger: a transfer that may have been
 * stored — confirmed, in doubt or unfinished. */
static int may_write(const scn_step_t *st, const real_outcome_t *o) {
    return step_is_transfer(st) && may_be_stored(o);
}

/* 1 when operation i overlapped in time with a transfer (another operation of three words)
 * in run o: it may then see the ledger before or after it, and each side's checkers judge
 * which it saw; compare does not ask both sides for the same text. */
static int overlaps_transfer(const scenario_t *s, const real_outcome_t *o, size_t n, size_t i) {
    size_t j = 0;
    for (size_t st = 0; st < s->step_count && j < n; st++) {
        if (s->steps[st].kind != STEP_OP) continue;
        if (j != i && may_write(&s->steps[st], &o[j]) && o[j].inv_us <= o[i].resp_us &&
            o[i].inv_us <= o[j].resp_us)
            return 1;
        j++;
    }
    return 0;
}

/* 1 when operation i started after a transfer that may have been stored and whose outcome
 * stayed in doubt in run o (exit 3 "unknown", a client that gave up after sending, or one
 * that never finished): that write may land on one side and not on the other, and both are
 * correct (SPEC: the client was told the outcome is unknown), so what i sees is judged by
 * each side's checkers, not compared as text. A transfer that certainly wrote nothing
 * (refused, "unavailable") puts nothing in doubt. */
static int after_in_doubt(const scenario_t *s, const real_outcome_t *o, size_t n, size_t i) {
    size_t j = 0;
    for (size_t st = 0; st < s->step_count && j < n; st++) {
        if (s->steps[st].kind != STEP_OP) continue;
        int settled = o[j].state == CHECK_OP_DONE && (o[j].exit_code == 0 || o[j].exit_code == 1);
        if (j != i && step_is_transfer(&s->steps[st]) && !settled && may_be_stored(&o[j]) &&
            o[j].inv_us <= o[i].inv_us)
            return 1;
        j++;
    }
    return 0;
}

static int overlap(const real_outcome_t *a, const real_outcome_t *b) {
    return a->inv_us <= b->resp_us && b->inv_us <= a->resp_us;
}

/* Whether the real run kept the schedule: every timed fault step landed within
 * REAL_LAND_TOLERANCE_US (real.c measures it), and the order the scenario intends (the
 * simulator's) was kept: a transfer
 * (one that may have written: not refused) and another operation that did not overlap
 * there but did for real (a slow process, a slow
 * fsync) may legitimately give other results and fail the scenario's expectations; that is
 * real timing, not a bug, and the line says so ("schedule: not kept"). */
/* When step k happened on one side: its time, or for a step on an event when that event
 * came there (fired; UINT64_MAX: never). */
static uint64_t step_time(const scn_step_t *st, size_t k, const scn_fired_t *fired) {
    if (st->on.type == 0) return st->at_us;
    for (uint32_t a = 0; a < fired->count; a++)
        if (fired->step[a] == k) return fired->at_us[a] == UINT64_MAX ? UINT64_MAX : fired->at_us[a] + st->on.after_us;
    return UINT64_MAX;
}

static int schedule_report(const scenario_t *s, const real_outcome_t *sim, const scn_fired_t *sim_fired,
                           const real_result_t *rr, size_t n, FILE *f) {
    const real_outcome_t *real = rr->ops;
    size_t bad = 0;
    size_t i = 0;
    for (size_t si = 0; si < s->step_count && i < n; si++) {
        if (s->steps[si].kind != STEP_OP) continue;
        size_t j = 0;
        for (size_t sj = 0; sj < s->step_count && j < n; sj++) {
            if (s->steps[sj].kind != STEP_OP) continue;
            int write = may_write(&s->steps[si], &real[i]) || may_write(&s->steps[si], &sim[i]) ||
                        may_write(&s->steps[sj], &real[j]) || may_write(&s->steps[sj], &sim[j]);
            if (j > i && write && overlap(&real[i], &real[j]) && !overlap(&sim[i], &sim[j])) {
                if (bad++ == 0) fprintf(f, "schedule: not kept in the real run:");
                fprintf(f, " %s overlapped %s;", real[i].label, real[j].label);
            }
            j++;
        }
        i++;
    }
    /* an operation the real run still had in flight when a timed fault step came, that the
     * simulator had finished before it (or not yet begun): a slow machine, not the programs */
    i = 0;
    for (size_t si = 0; si < s->step_count && i < n; si++) {
        if (s->steps[si].kind != STEP_OP) continue;
        for (size_t k = 0; k < s->step_count; k++) {
            const scn_step_t *st = &s->steps[k];
            if (st->kind == STEP_OP || st->kind == STEP_SESSION) continue;
            uint64_t ts = step_time(st, k, sim_fired), tr = step_time(st, k, &rr->fired);
            int real_in = real[i].inv_us < tr && tr < real[i].resp_us, sim_in = sim[i].inv_us < ts && ts < sim[i].resp_us;
            if (real_in && !sim_in) {
                if (bad++ == 0) fprintf(f, "schedule: not kept in the real run:");
                fprintf(f, " %s was running at line %u's %s;", real[i].label, st->line,
                        st->kind == STEP_CRASH ? "crash" : st->kind == STEP_PAUSE ? "pause" : "fault");
            }
        }
        i++;
    }
    if (bad > 0) fprintf(f, " (apart in the simulator: real timing, see docs/REAL.md)\n");
    if (rr->inconclusive)
        fprintf(f, "schedule: not kept: faults landed late: %s (tolerance %.1f ms, see docs/REAL.md)\n", rr->late,
                REAL_LAND_TOLERANCE_US / 1e3);
    if (bad == 0 && !rr->inconclusive)
        fprintf(f, "schedule: kept (%u timed steps landed within %.1f ms, the latest +%.3f ms)\n", rr->steps_timed,
                REAL_LAND_TOLERANCE_US / 1e3, (double)rr->land_max_us / 1e3);
    return bad == 0 && !rr->inconclusive;
}

static void outcome_print(FILE *f, const real_outcome_t *o) {
    if (o->state == CHECK_OP_DONE) fprintf(f, "exit %d", o->exit_code);
    else fprintf(f, "%s", o->state == CHECK_OP_RUNNING ? "still running" : "never started");
}

/* What one operation's comparison came to: compared (same or different), allowed, or
 * exit codes only, and why. */
typedef enum {
    CMP_SAME,                 /* exit, stdout and stderr's class the same */
    CMP_ALLOWED_EXIT,         /* different exit codes, both allowed by `expect L exit` */
    CMP_ALLOWED_CHANCE,       /* unavailable or unknown on a side where random network draws
                                 (loss, late datagrams) touched it: chance, not the programs */
    CMP_ALLOWED_RACE,         /* a transfer that raced another on both sides: which one the
                                 ledger took first is real timing (each side's checkers judge
                                 its own order) */
    CMP_SKIP_SEVERAL,         /* same exit; output not compared: expect allows several */
    CMP_SKIP_CONCURRENT,      /* ... concurrent with a transfer */
    CMP_SKIP_IN_DOUBT,        /* ... after a transfer that may have been stored, in doubt */
    CMP_SKIP_DIVERGED,        /* another outcome after a transfer the two runs ended differently
                                 as allowed (chance, a race, expect exit): the histories
                                 diverged there, each side's checkers judge its own */
    CMP_DIFF_EXIT,
    CMP_DIFF_STDOUT,
    CMP_DIFF_STDERR,          /* both exit 3, another reply or reason (which backends ...) */
    CMP_DIFF_UNREADABLE,      /* one side printed what no client prints */
    CMP_COUNT
} cmp_kind_t;

static const char *const cmp_text[CMP_COUNT] = {
    [CMP_SAME] = "same",
    [CMP_ALLOWED_EXIT] = "allowed (expect exit)",
    [CMP_ALLOWED_CHANCE] = "allowed (decided by random loss or delay that touched it)",
    [CMP_ALLOWED_RACE] = "allowed (raced another transfer on both sides)",
    [CMP_SKIP_SEVERAL] = "same exit (output not compared: expect allows several)",
    [CMP_SKIP_CONCURRENT] = "same exit (output not compared: concurrent with a transfer)",
    [CMP_SKIP_IN_DOUBT] = "same exit (output not compared: after a transfer in doubt)",
    [CMP_SKIP_DIVERGED] = "not compared (after a transfer that ended differently, as allowed)",
    [CMP_DIFF_EXIT] = "DIFFERENT",
    [CMP_DIFF_STDOUT] = "DIFFERENT (stdout)",
    [CMP_DIFF_STDERR] = "DIFFERENT (stderr)",
    [CMP_DIFF_UNREADABLE] = "DIFFERENT (output no client prints)",
};

/* ... and when both sides' judges found its printed answer one the model allows there
 * (check_input_t.model): what stands in for the text compare did not make. */
static const char *const cmp_model_text[CMP_COUNT] = {
    [CMP_ALLOWED_EXIT] = "allowed (expect exit; output checked against the model on both sides)",
    [CMP_ALLOWED_CHANCE] = "allowed (decided by random loss or delay; output checked against the model on both sides)",
    [CMP_ALLOWED_RACE] = "allowed (raced another transfer on both sides; output checked against the model on both sides)",
    [CMP_SKIP_SEVERAL] = "same exit (output checked against the model on both sides: expect allows several)",
    [CMP_SKIP_CONCURRENT] = "same exit (output checked against the model on both sides: concurrent with a transfer)",
    [CMP_SKIP_IN_DOUBT] = "same exit (output checked against the model on both sides: after a transfer in doubt)",
    [CMP_SKIP_DIVERGED] = "not compared as text (after a transfer that ended differently, as allowed; output checked "
                          "against the model on both sides)",
};

/* Why an operation of kind k was not compared as text, as the compared: line counts it. */
static const char *const cmp_reason[CMP_COUNT] = {
    [CMP_ALLOWED_EXIT] = "allowed by expect exit",
    [CMP_ALLOWED_CHANCE] = "by chance",
    [CMP_ALLOWED_RACE] = "raced",
    [CMP_SKIP_SEVERAL] = "expect allows several",
    [CMP_SKIP_CONCURRENT] = "concurrent with a transfer",
    [CMP_SKIP_IN_DOUBT] = "after a transfer in doubt",
    [CMP_SKIP_DIVERGED] = "after one that ended differently",
};

static int cmp_is_difference(cmp_kind_t k) { return k >= CMP_DIFF_EXIT; }

/* 1 when an operation of kind k had its output compared by neither text nor exit codes
 * alone, but may be by the model: the kinds cmp_model_text names. */
static int cmp_not_as_text(cmp_kind_t k) { return k >= CMP_ALLOWED_EXIT && k <= CMP_SKIP_DIVERGED; }

/* stderr by class: the error reply (its kind and, for unavailable/stale, which backends) or
 * the reason the client gave up, and whether that left a transfer in doubt. */
static int same_stderr_class(const outcome_t *x, const outcome_t *y) {
    if (x->failure != y->failure || x->in_doubt != y->in_doubt || x->reply.kind != y->reply.kind) return 0;
    if (x->reply.kind == CREP_UNAVAILABLE || x->reply.kind == CREP_STALE)
        return strcmp(x->reply.text, y->reply.text) == 0;
    return 1;
}

/* 1 when o's outcome may be chance: it ended unavailable or unknown (exit 3) while random
 * network draws touched it. Each side's availability checker has already judged that exit
 * 3 excused; the draws make it one of the outcomes the fault model allows, not the one. */
static int chance_outcome(const real_outcome_t *o) {
    return o->state == CHECK_OP_DONE && o->exit_code == CLIENT_EXIT_FAILED && o->drawn > 0;
}

/* The step of operation i (the i-th operation of s). */
static const scn_step_t *op_step(const scenario_t *s, size_t i) {
    for (size_t st = 0, j = 0; st < s->step_count; st++) {
        if (s->steps[st].kind != STEP_OP) continue;
        if (j++ == i) return &s->steps[st];
    }
    return NULL;
}

/* Different exit codes the scenario does not determine: both allowed by `expect exit`; an
 * exit 3 where random loss or delay touched the operation (the other side: done, or exit 3
 * by chance too); a transfer accepted on one side and refused on the other where it raced
 * another transfer on both. Anything else is a difference. */
static cmp_kind_t exit_difference(const scenario_t *s, const real_outcome_t *sim, const real_outcome_t *real,
                                  size_t n, size_t i, uint32_t mask, int ca, int cb) {
    const real_outcome_t *a = &sim[i], *b = &real[i];
    const scn_step_t *st = op_step(s, i);
    if (ca >= 0 && cb >= 0 && ca <= CLIENT_EXIT_REFUSED && cb <= CLIENT_EXIT_REFUSED && st != NULL &&
        step_is_transfer(st) && overlaps_transfer(s, sim, n, i) && overlaps_transfer(s, real, n, i))
        return CMP_ALLOWED_RACE; /* first: the ledgers then differ rightly (compare_end_states) */
    if (ca >= 0 && cb >= 0 && ca < 32 && cb < 32 && (mask >> ca & 1u) && (mask >> cb & 1u)) return CMP_ALLOWED_EXIT;
    if (ca >= 0 && cb >= 0 && (ca == CLIENT_EXIT_FAILED || cb == CLIENT_EXIT_FAILED) &&
        (ca != CLIENT_EXIT_FAILED || chance_outcome(a)) && (cb != CLIENT_EXIT_FAILED || chance_outcome(b)))
        return CMP_ALLOWED_CHANCE;
    /* accepted on one side, refused on the other, after a transfer that stayed in doubt:
     * whether that write landed decides the balance (each side's judge checks its own) */
    if (ca >= 0 && cb >= 0 && ca <= CLIENT_EXIT_REFUSED && cb <= CLIENT_EXIT_REFUSED &&
        (after_in_doubt(s, sim, n, i) || after_in_doubt(s, real, n, i)))
        return CMP_SKIP_IN_DOUBT;
    return CMP_DIFF_EXIT;
}

static cmp_kind_t compare_one(const scenario_t *s, const real_outcome_t *sim, const real_outcome_t *real,
                              size_t n, size_t i) {
    const real_outcome_t *a = &sim[i], *b = &real[i];
    uint32_t mask = expect_exit_mask(s, b->label);
    int ca = a->state == CHECK_OP_DONE ? a->exit_code : -1, cb = b->state == CHECK_OP_DONE ? b->exit_code : -1;
    if (ca != cb) return exit_difference(s, sim, real, n, i, mask, ca, cb);
    if (ca != CLIENT_EXIT_USAGE) { /* a usage error never reached serverM: no ledger in it */
        if (__builtin_popcount(mask) > 1) return CMP_SKIP_SEVERAL;
        if (overlaps_transfer(s, sim, n, i) || overlaps_transfer(s, real, n, i)) return CMP_SKIP_CONCURRENT;
        if (after_in_doubt(s, sim, n, i) || after_in_doubt(s, real, n, i)) return CMP_SKIP_IN_DOUBT;
    }
    int same = a->out_len == b->out_len && (a->out_len == 0 || memcmp(a->out, b->out, a->out_len) == 0);
    if (!same) return CMP_DIFF_STDOUT;
    if (ca < 0 || ca == CLIENT_EXIT_USAGE) return CMP_SAME; /* unfinished, or a usage error: stdout said it all */
    const scn_step_t *st = op_step(s, i);
    if (st != NULL && st->keepalive) return CMP_SAME; /* a session prints nothing: its exit says it */
    outcome_t x, y;
    if (outcome_read(a, &x) != 0 || outcome_read(b, &y) != 0) return CMP_DIFF_UNREADABLE;
    if (same_stderr_class(&x, &y)) return CMP_SAME;
    return chance_outcome(a) && chance_outcome(b) ? CMP_ALLOWED_CHANCE : CMP_DIFF_STDERR;
}

/* How many comparisons of each kind were made and skipped, and why: a compare that
 * compared nothing proves nothing, and says so. counts[k]: the operations of kind k;
 * model[k]: those of them whose output both sides' judges checked against the model
 * instead; rejected: operations whose answer a side's judge found no model state for. */
static void compared_report(const uint32_t counts[CMP_COUNT], const uint32_t model[CMP_COUNT], uint32_t rejected,
                            FILE *f, compare_result_t *cr) {
    uint32_t diff = 0, by_model = 0;
    for (int k = CMP_DIFF_EXIT; k < CMP_COUNT; k++) diff += counts[k];
    for (int k = 0; k < CMP_COUNT; k++) by_model += model[k];
    uint32_t out_diff = diff - counts[CMP_DIFF_EXIT];
    for (int k = 0; k < CMP_COUNT; k++) cr->ops += counts[k];
    cr->output_compared = counts[CMP_SAME] + out_diff;
    cr->model_checked = by_model;
    cr->model_rejected = rejected;
    uint32_t exit_only = cr->ops - cr->output_compared - by_model;
    fprintf(f, "compared: %u operations: output compared %u (same %u, different %u); checked against the model "
               "on both sides %u (", cr->ops, cr->output_compared, counts[CMP_SAME], out_diff, by_model);
    for (int k = CMP_ALLOWED_EXIT; k <= CMP_SKIP_DIVERGED; k++)
        fprintf(f, "%s%s %u", k > CMP_ALLOWED_EXIT ? ", " : "", cmp_reason[k], model[k]);
    fprintf(f, "); exit only %u (different exit %u", exit_only, counts[CMP_DIFF_EXIT]);
    for (int k = CMP_ALLOWED_EXIT; k <= CMP_SKIP_DIVERGED; k++) fprintf(f, ", %s %u", cmp_reason[k], counts[k] - model[k]);
    fprintf(f, "); answers a model rejected %u\n", rejected);
}

/* ---- the end states ---- */

static int stored_by_serial(const void *x, const void *y) {
    const hist_stored_t *a = x, *b = y;
    return a->tx.serial < b->tx.serial ? -1 : a->tx.serial > b->tx.serial;
}

/* One transaction a line, in serial order, each serial once (the checkers judge copies):
 * "<serial> <sender> <receiver> <amount>", or without the serial (ordered by the line). */
static char *ledger_lines(const check_txs_t *d, int with_serial, size_t *count) {
    hist_stored_t *v = malloc((d->count + 1) * sizeof(*v));
    char *text = malloc(d->count * (2 * NAME_BYTES_MAX + 48) + 1);
    if (v == NULL || text == NULL) {
        free(v);
        free(text);
        return NULL;
    }
    if (d->count > 0) memcpy(v, d->txs, d->count * sizeof(*v));
    qsort(v, d->count, sizeof(*v), stored_by_serial);
    size_t len = 0, n = 0;
    char **lines = malloc((d->count + 1) * sizeof(*lines));
    for (size_t k = 0; lines != NULL && k < d->count; k++) {
        if (k > 0 && v[k].tx.serial == v[k - 1].tx.serial) continue;
        lines[n++] = text + len;
        if (with_serial) len += (size_t)sprintf(text + len, "%llu ", (unsigned long long)v[k].tx.serial);
        len += (size_t)sprintf(text + len, "%s %s %lld\n", v[k].tx.sender, v[k].tx.receiver,
                               (long long)v[k].tx.amount);
    }
    text[len] = '\0';
    free(v);
    free(lines);
    *count = n;
    return text;
}

static int line_cmp(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* The lines of text (each ending in '\n') sorted, joined again: a multiset, comparable. */
static char *lines_sorted(char *text, size_t count) {
    char **v = malloc((count + 1) * sizeof(*v));
    char *out = malloc(strlen(text) + 1);
    if (v == NULL || out == NULL) {
        free(v);
        free(out);
        return NULL;
    }
    size_t n = 0;
    for (char *p = text; *p != '\0' && n < count; n++) {
        v[n] = p;
        p = strchr(p, '\n');
        *p++ = '\0';
    }
    qsort(v, n, sizeof(*v), line_cmp);
    size_t len = 0;
    for (size_t k = 0; k < n; k++) len += (size_t)sprintf(out + len, "%s\n", v[k]);
    out[len] = '\0';
    free(v);
    return out;
}

/* The first line where two texts differ, for the report, and (the first of the run) in
 * cr->first_difference as "what: ...". */
static void first_difference(const char *what, const char *a, const char *b, FILE *f, compare_result_t *cr) {
    size_t line = 1, at = 0, start = 0;
    while (a[at] != '\0' && a[at] == b[at]) {
        if (a[at++] == '\n') {
            line++;
            start = at;
        }
    }
    a += start; /* the start of that line on both sides: all before it is the same */
    b += start;
    fprintf(f, "  first difference, line %zu: sim \"%.*s\", real \"%.*s\"\n", line, (int)strcspn(a, "\n"), a,
            (int)strcspn(b, "\n"), b);
    if (cr->first_difference[0] == '\0')
        snprintf(cr->first_difference, sizeof(cr->first_difference), "%s: line %zu: sim \"%.*s\", real \"%.*s\"",
                 what, line, (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
}

/* The label of a transfer that may have been stored and stayed in doubt in run o (NULL:
 * none): the ledgers may then rightly differ. */
static const char *transfer_in_doubt(const scenario_t *s, const real_outcome_t *o, size_t n) {
    size_t j = 0;
    for (size_t st = 0; st < s->step_count && j < n; st++) {
        if (s->steps[st].kind != STEP_OP) continue;
        if (step_is_transfer(&s->steps[st]) && may_be_stored(&o[j]) &&
            !(o[j].state == CHECK_OP_DONE && o[j].exit_code == 0))
            return o[j].label;
        j++;
    }
    return NULL;
}

/* 1 when two transfers that may have been stored overlapped in run o: their serial order
 * is then the race's, not the scenario's. Also 1 when a TXLIST overlapped a transfer. */
static int transfers_raced(const scenario_t *s, const real_outcome_t *o, size_t n, int txlists_too) {
    size_t i = 0;
    for (size_t si = 0; si < s->step_count && i < n; si++) {
        if (s->steps[si].kind != STEP_OP) continue;
        int is_list = txlists_too && strcmp(s->steps[si].argc > 0 ? s->steps[si].argv[0] : "", "TXLIST") == 0;
        if (may_write(&s->steps[si], &o[i]) || is_list) {
            size_t j = 0;
            for (size_t sj = 0; sj < s->step_count && j < n; sj++) {
                if (s->steps[sj].kind != STEP_OP) continue;
                if (j != i && may_write(&s->steps[sj], &o[j]) && overlap(&o[i], &o[j])) return 1;
                j++;
            }
        }
        i++;
    }
    return 0;
}

/* The final ledgers (transactions as a multiset, then in serial order) and alichain.txt of
 * the two runs, where the scenario determines them. Returns the differences found. */
static uint32_t compare_end_states(const scenario_t *s, const real_outcome_t *sim, const real_final_t *sf,
                                   const real_outcome_t *real, const real_final_t *rf, size_t n,
                                   const char *took_other, FILE *f, compare_result_t *cr) {
    const char *doubt = transfer_in_doubt(s, sim, n);
    if (doubt == NULL) doubt = transfer_in_doubt(s, real, n);
    if (!sf->known || !rf->known) {
        fprintf(f, "ledger: not compared: the %s run's disks were not read\n", sf->known ? "real" : "simulated");
        return 0;
    }
    if (doubt != NULL) {
        fprintf(f, "ledger: not compared: transfer %s stayed in doubt\nalichain.txt: not compared: likewise\n", doubt);
        return 0;
    }
    if (took_other != NULL) { /* each side's checkers judged its own ledger: coins, serials, order */
        fprintf(f, "ledger: not compared: transfer %s ended differently in the two runs, as allowed "
                   "(sim %zu transactions, real %zu)\nalichain.txt: not compared: likewise\n",
                took_other, sf->disks.count, rf->disks.count);
        return 0;
    }
    uint32_t diff = 0;
    cr->ledger_compared = 1;
    size_t na = 0, nb = 0;
    char *a = ledger_lines(&sf->disks, 0, &na), *b = ledger_lines(&rf->disks, 0, &nb);
    char *sa = a ? lines_sorted(a, na) : NULL, *sb = b ? lines_sorted(b, nb) : NULL;
    int raced = transfers_raced(s, sim, n, 0) || transfers_raced(s, real, n, 0);
    if (sa == NULL || sb == NULL) {
        fprintf(f, "ledger: not compared: out of memory\n");
    } else if (strcmp(sa, sb) != 0) {
        fprintf(f, "ledger: DIFFERENT (sim %zu transactions, real %zu)\n", na, nb);
        first_difference("ledger", sa, sb, f, cr);
        diff++;
    } else if (raced) {
        fprintf(f, "ledger: same %zu transactions (order not compared: transfers overlapped)\n", na);
    } else {
        free(a);
        free(b);
        a = ledger_lines(&sf->disks, 1, &na);
        b = ledger_lines(&rf->disks, 1, &nb);
        if (a == NULL || b == NULL) {
            fprintf(f, "ledger: same %zu transactions (order not compared: out of memory)\n", na);
        } else if (strcmp(a, b) != 0) {
            fprintf(f, "ledger: DIFFERENT (serial order)\n");
            first_difference("ledger serial order", a, b, f, cr);
            diff++;
        } else {
            fprintf(f, "ledger: same %zu transactions in the same serial order\n", na);
        }
    }
    if (diff == 0 && !raced && !transfers_raced(s, sim, n, 1) && !transfers_raced(s, real, n, 1)) {
        if (sf->txlist == NULL && rf->txlist == NULL) {
            fprintf(f, "alichain.txt: written by neither\n");
        } else if (sf->txlist == NULL || rf->txlist == NULL || sf->txlist_len != rf->txlist_len ||
                   memcmp(sf->txlist, rf->txlist, sf->txlist_len) != 0) {
            fprintf(f, "alichain.txt: DIFFERENT\n");
            first_difference("alichain.txt", sf->txlist ? sf->txlist : "", rf->txlist ? rf->txlist : "", f, cr);
            diff++;
        } else {
            fprintf(f, "alichain.txt: same (%zu bytes)\n", sf->txlist_len);
        }
    } else {
        fprintf(f, "alichain.txt: not compared: %s\n", diff ? "the ledgers differ" : "a TXLIST or transfers overlapped a transfer");
    }
    free(a);
    free(b);
    free(sa);
    free(sb);
    return diff;
}

/* Steps on protocol events: whether each fired on both sides (a step that fired on one
 * side only is a difference: the protocol took another path), and when. */
static uint32_t compare_anchors(const scenario_t *s, const scn_fired_t *a, const scn_fired_t *b, FILE *f,
                                compare_result_t *cr) {
    uint32_t diff = 0;
    for (uint32_t k = 0; k < a->count && k < b->count; k++) {
        const scn_step_t *st = &s->steps[a->step[k]];
        char ev[SCN_EVENT_TEXT_BYTES];
        scn_event_format(&st->on, ev, sizeof(ev));
        int fa = a->at_us[k] != UINT64_MAX, fb = b->at_us[k] != UINT64_MAX;
        fprintf(f, "anchor: line %u (on %s) sim: ", st->line, ev);
        if (fa) fprintf(f, "fired at %.3f ms", (double)a->at_us[k] / 1e3);
        else fputs("never fired", f);
        fputs("  real: ", f);
        if (fb) fprintf(f, "fired at %.3f ms", (double)b->at_us[k] / 1e3);
        else fputs("never fired", f);
        fprintf(f, "  %s\n", fa == fb ? "same" : "DIFFERENT");
        if (fa != fb && diff++ == 0 && cr->first_difference[0] == '\0')
            snprintf(cr->first_difference, sizeof(cr->first_difference), "line %u (on %s) fired in the %s only",
                     st->line, ev, fa ? "simulator" : "real run");
    }
    return diff;
}

int real_compare(const scenario_t *s, const real_options_t *o, FILE *f, compare_result_t *cr_out) {
    compare_result_t cr_own, *cr = cr_out != NULL ? cr_out : &cr_own;
    *cr = (compare_result_t){.verdict = REAL_EXIT_REFUSED};
    size_t n = 0;
    for (size_t i = 0; i < s->step_count; i++) n += s->steps[i].kind == STEP_OP;
    real_outcome_t *sim = calloc(n + 1, sizeof(*sim));
    if (sim == NULL) return REAL_EXIT_REFUSED;
    int sim_verdict = 1;
    real_final_t sim_final = {0};
    scn_fired_t sim_fired;
    if (sim_outcomes(s, o, sim, n, &sim_verdict, &sim_final, &sim_fired, cr) != 0) {
        fprintf(f, "simulator: the scenario cannot run\n");
        snprintf(cr->why, sizeof(cr->why), "simulator: the scenario cannot run");
        outcomes_free(sim, n);
        final_free(&sim_final);
        return REAL_EXIT_REFUSED;
    }
    fprintf(f, "simulator: verdict %s\n", sim_verdict == 0 ? "pass" : "fail");
    fprintf(f, "-- real --\n");
    real_result_t rr;
    int rc = real_run(s, o, &rr);
    if (rc == REAL_EXIT_REFUSED) {
        fprintf(f, "real: refused: %s\n", rr.first_failure);
        snprintf(cr->why, sizeof(cr->why), "real: refused: %.360s", rr.first_failure);
        outcomes_free(sim, n);
        final_free(&sim_final);
        real_result_free(&rr);
        return REAL_EXIT_REFUSED;
    }
    fprintf(f, "real: verdict %s\n-- compare --\n",
            rr.inconclusive ? "inconclusive" : rr.verdict == 0 ? "pass" : "fail");
    uint32_t differences = 0, rejected = 0;
    uint32_t counts[CMP_COUNT] = {0}, model[CMP_COUNT] = {0};
    /* The first transfer whose outcome the two runs ended differently as allowed (chance, a
     * race, `expect exit`) and that may have written on either side: from there on the two
     * histories diverged, so a later operation's different answer and the ledgers are each
     * side's checkers' to judge, not compare's. */
    const char *diverged = NULL;
    uint64_t diverged_at[2] = {0, 0}; /* its start in each run */
    for (size_t i = 0; i < n && i < rr.op_count; i++) {
        const real_outcome_t *a = &sim[i], *b = &rr.ops[i];
        cmp_kind_t kind = compare_one(s, sim, rr.ops, n < rr.op_count ? n : rr.op_count, i);
        if (diverged != NULL && (kind == CMP_DIFF_EXIT || kind == CMP_DIFF_STDOUT || kind == CMP_DIFF_STDERR) &&
            (a->inv_us >= diverged_at[0] || b->inv_us >= diverged_at[1]))
            kind = CMP_SKIP_DIVERGED;
        int by_model = cmp_not_as_text(kind) && a->model == HIST_MODEL_FITS && b->model == HIST_MODEL_FITS;
        int ra = a->model == HIST_MODEL_REJECTED, rb = b->model == HIST_MODEL_REJECTED;
        counts[kind]++;
        model[kind] += (uint32_t)by_model;
        rejected += (uint32_t)(ra || rb);
        const scn_step_t *st = op_step(s, i);
        if (diverged == NULL && (kind == CMP_ALLOWED_EXIT || kind == CMP_ALLOWED_CHANCE || kind == CMP_ALLOWED_RACE) &&
            st != NULL && (may_write(st, a) || may_write(st, b))) {
            diverged = b->label;
            diverged_at[0] = a->inv_us;
            diverged_at[1] = b->inv_us;
        }
        if (cmp_is_difference(kind) && differences++ == 0) {
            snprintf(cr->first_difference, sizeof(cr->first_difference), "op %s: sim %s%d, real %s%d: %s", b->label,
                     a->state == CHECK_OP_DONE ? "exit " : "unfinished ", a->exit_code,
                     b->state == CHECK_OP_DONE ? "exit " : "unfinished ", b->exit_code, cmp_text[kind]);
        }
        fprintf(f, "op %-12s sim: ", b->label);
        outcome_print(f, a);
        fprintf(f, "  real: ");
        outcome_print(f, b);
        fprintf(f, "  %s\n", by_model ? cmp_model_text[kind] : cmp_text[kind]);
        if (ra || rb)
            fprintf(f, "  its answer fits no state of the model %s (a violation there)\n",
                    ra && rb ? "on either side" : ra ? "in the simulator" : "in the real run");
        if (kind == CMP_DIFF_STDOUT) {
            fprintf(f, "  sim stdout:\n%.*s  real stdout:\n%.*s", (int)a->out_len, a->out ? a->out : "",
                    (int)b->out_len, b->out ? b->out : "");
        } else if (kind == CMP_DIFF_STDERR || kind == CMP_DIFF_UNREADABLE) {
            fprintf(f, "  sim stderr:\n%.*s  real stderr:\n%.*s", (int)a->err_len, a->err ? a->err : "",
                    (int)b->err_len, b->err ? b->err : "");
        }
    }
    compared_report(counts, model, rejected, f, cr);
    differences += compare_end_states(s, sim, &sim_final, rr.ops, &rr.final, n < rr.op_count ? n : rr.op_count,
                                      diverged, f, cr);
    differences += compare_anchors(s, &sim_fired, &rr.fired, f, cr);
    fprintf(f, "differences: %u\n", differences);
    int kept = schedule_report(s, sim, &sim_fired, &rr, n < rr.op_count ? n : rr.op_count, f);
    int fail = differences > 0 || sim_verdict != 0 || rr.verdict != 0;
    /* a fault that landed late proves nothing either way: it may explain any difference or
     * real failure — unless the simulator itself failed, which no real timing explains. An
     * overlap the simulator did not have is reported and judged by each side's checkers. */
    /* ... and a real run that did not keep the scenario's order (a slow machine: an operation
     * still in flight at a fault the simulator's had finished before) proves nothing either
     * when it differs, unless a safety checker fired there */
    rc = sim_verdict != 0                           ? 1
         : rr.inconclusive                          ? REAL_EXIT_INCONCLUSIVE
         : fail && !kept && !rr.safety_failed       ? REAL_EXIT_INCONCLUSIVE
                                                    : fail;
    fprintf(f, "verdict: %s\n", rc == REAL_EXIT_INCONCLUSIVE ? "inconclusive" : rc ? "fail" : "pass");
    cr->verdict = rc;
    cr->differences = differences;
    memcpy(cr->faults, rr.faults, sizeof(cr->faults));
    if (rr.inconclusive && cr->why[0] == '\0')
        snprintf(cr->why, sizeof(cr->why), "faults landed late: %.360s", rr.late);
    else if (rc == REAL_EXIT_INCONCLUSIVE)
        snprintf(cr->why, sizeof(cr->why), "the real run did not keep the scenario's order (a slow machine): %.300s",
                 cr->first_difference);
    else if (rr.verdict != 0 && cr->why[0] == '\0')
        snprintf(cr->why, sizeof(cr->why), "real: %.360s", rr.first_failure);
    outcomes_free(sim, n);
    final_free(&sim_final);
    real_result_free(&rr);
    return rc;
}
