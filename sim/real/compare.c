/* compare.c — `alichain-sim compare` (real.h): one scenario run in the simulator and on the
 * real programs, the outcome of every labelled operation printed side by side, and the
 * outcomes the scenario determines compared (docs/REAL.md "compare"). */
#define _GNU_SOURCE /* open_memstream */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "judge/judge.h"
#include "real.h"
#include "world/sim.h"

/* The simulator's outcome of each operation, read from its verbose report ("op L: ...
 * exit N" then "    stdout: ..." lines). */
static int sim_outcomes(const scenario_t *s, const real_options_t *o, real_outcome_t *ops, size_t n,
                        int *verdict) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) return -1;
    sim_options_t so = {.seed_override = o->seed, .has_seed_override = o->has_seed, .report = f, .verbose = 1};
    sim_result_t sr;
    int rc = sim_run(s, &so, &sr);
    fclose(f);
    *verdict = sr.verdict;
    size_t k = SIZE_MAX;
    for (char *line = text; rc >= 0 && line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        if (nl != NULL) *nl = '\0';
        if (strncmp(line, "op ", 3) == 0) {
            k = k == SIZE_MAX ? 0 : k + 1;
            if (k >= n) break;
            char *colon = strchr(line + 3, ':');
            if (colon != NULL) snprintf(ops[k].label, sizeof(ops[k].label), "%.*s", (int)(colon - line - 3), line + 3);
            char *ex = strstr(line, "] exit ");
            ops[k].state = ex ? CHECK_OP_DONE : strstr(line, "still running") ? CHECK_OP_RUNNING : CHECK_OP_WAITING;
            ops[k].exit_code = ex ? atoi(ex + 7) : -1;
            char *open_br = strstr(line, "  [");
            ops[k].inv_us = open_br ? (uint64_t)(strtod(open_br + 3, NULL) * 1e6 + 0.5) : 0;
            char *dots = open_br ? strstr(open_br, " .. ") : NULL;
            ops[k].resp_us = ex && dots ? (uint64_t)(strtod(dots + 4, NULL) * 1e6 + 0.5) : UINT64_MAX;
        } else if (k < n && strncmp(line, "    stdout: ", 12) == 0) {
            size_t l = strlen(line + 12);
            char *p = realloc(ops[k].out, ops[k].out_len + l + 2);
            if (p != NULL) {
                memcpy(p + ops[k].out_len, line + 12, l);
                ops[k].out_len += l;
                p[ops[k].out_len++] = '\n';
                p[ops[k].out_len] = '\0';
                ops[k].out = p;
            }
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    free(text);
    return rc < 0 ? -1 : 0;
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

/* 1 when outcome o of step st may have changed the ledger: a transfer not refused (exit 1)
 * — confirmed, in doubt or unfinished. */
static int may_write(const scn_step_t *st, const real_outcome_t *o) {
    return step_is_transfer(st) && !(o->state == CHECK_OP_DONE && o->exit_code == 1);
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

/* 1 when operation i started after a transfer whose outcome stayed in doubt in run o (exit
 * 3 "unknown"/"unavailable", or never finished): that write may land on one side and not
 * on the other, and both are correct (SPEC: the client was told the outcome is unknown), so
 * what i sees is judged by each side's checkers, not compared as text. */
static int after_in_doubt(const scenario_t *s, const real_outcome_t *o, size_t n, size_t i) {
    size_t j = 0;
    for (size_t st = 0; st < s->step_count && j < n; st++) {
        if (s->steps[st].kind != STEP_OP) continue;
        int settled = o[j].state == CHECK_OP_DONE && (o[j].exit_code == 0 || o[j].exit_code == 1);
        if (j != i && step_is_transfer(&s->steps[st]) && !settled && o[j].inv_us <= o[i].inv_us)
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
static int schedule_report(const scenario_t *s, const real_outcome_t *sim, const real_result_t *rr, size_t n,
                           FILE *f) {
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

int real_compare(const scenario_t *s, const real_options_t *o, FILE *f) {
    size_t n = 0;
    for (size_t i = 0; i < s->step_count; i++) n += s->steps[i].kind == STEP_OP;
    real_outcome_t *sim = calloc(n + 1, sizeof(*sim));
    if (sim == NULL) return REAL_EXIT_REFUSED;
    int sim_verdict = 1;
    if (sim_outcomes(s, o, sim, n, &sim_verdict) != 0) {
        fprintf(f, "simulator: the scenario cannot run\n");
        free(sim);
        return REAL_EXIT_REFUSED;
    }
    fprintf(f, "simulator: verdict %s\n", sim_verdict == 0 ? "pass" : "fail");
    fprintf(f, "-- real --\n");
    real_result_t rr;
    int rc = real_run(s, o, &rr);
    if (rc == REAL_EXIT_REFUSED) {
        fprintf(f, "real: refused: %s\n", rr.first_failure);
        for (size_t i = 0; i < n; i++) free(sim[i].out);
        free(sim);
        real_result_free(&rr);
        return REAL_EXIT_REFUSED;
    }
    fprintf(f, "real: verdict %s\n-- compare --\n",
            rr.inconclusive ? "inconclusive" : rr.verdict == 0 ? "pass" : "fail");
    uint32_t differences = 0;
    for (size_t i = 0; i < n && i < rr.op_count; i++) {
        const real_outcome_t *a = &sim[i], *b = &rr.ops[i];
        uint32_t mask = expect_exit_mask(s, b->label);
        int ca = a->state == CHECK_OP_DONE ? a->exit_code : -1, cb = b->state == CHECK_OP_DONE ? b->exit_code : -1;
        int popcount = __builtin_popcount(mask);
        const char *verdict;
        if (ca != cb) {
            int allowed = ca >= 0 && cb >= 0 && ca < 32 && cb < 32 && (mask >> ca & 1u) && (mask >> cb & 1u);
            verdict = allowed ? "allowed (expect exit)" : "DIFFERENT";
        } else if (popcount > 1) {
            verdict = "same exit (output not compared: expect allows several)";
        } else if (overlaps_transfer(s, sim, n, i) || overlaps_transfer(s, rr.ops, rr.op_count, i)) {
            verdict = "same exit (output not compared: concurrent with a transfer)";
        } else if (after_in_doubt(s, sim, n, i) || after_in_doubt(s, rr.ops, rr.op_count, i)) {
            verdict = "same exit (output not compared: after a transfer in doubt)";
        } else {
            int same = a->out_len == b->out_len && (a->out_len == 0 || memcmp(a->out, b->out, a->out_len) == 0);
            verdict = same ? "same" : "DIFFERENT (stdout)";
        }
        if (strncmp(verdict, "DIFFERENT", 9) == 0) differences++;
        fprintf(f, "op %-12s sim: ", b->label);
        outcome_print(f, a);
        fprintf(f, "  real: ");
        outcome_print(f, b);
        fprintf(f, "  %s\n", verdict);
        if (strcmp(verdict, "DIFFERENT (stdout)") == 0) {
            fprintf(f, "  sim stdout:\n%.*s  real stdout:\n%.*s", (int)a->out_len, a->out ? a->out : "",
                    (int)b->out_len, b->out ? b->out : "");
        }
    }
    fprintf(f, "differences: %u\n", differences);
    (void)schedule_report(s, sim, &rr, n < rr.op_count ? n : rr.op_count, f);
    int fail = differences > 0 || sim_verdict != 0 || rr.verdict != 0;
    /* a fault that landed late proves nothing either way: it may explain any difference or
     * real failure — unless the simulator itself failed, which no real timing explains. An
     * overlap the simulator did not have is reported and judged by each side's checkers. */
    rc = sim_verdict != 0 ? 1 : rr.inconclusive ? REAL_EXIT_INCONCLUSIVE : fail;
    fprintf(f, "verdict: %s\n", rc == REAL_EXIT_INCONCLUSIVE ? "inconclusive" : rc ? "fail" : "pass");
    for (size_t i = 0; i < n; i++) free(sim[i].out);
    free(sim);
    real_result_free(&rr);
    return rc;
}
