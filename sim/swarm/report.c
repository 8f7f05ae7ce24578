/* report.c — merges swarm JSON-lines files (report.h). Seeds are kept as sorted ranges, not
 * one by one, so 10^7 seeds from contiguous blocks cost a few ranges of memory; failures
 * are grouped by checker and message with its numbers and names masked, since the same
 * bug shows different serials, times and accounts on different seeds. Damaged input is named line by
 * line and makes the exit status 2, whatever else the files say. */
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonl.h"
#include "scenario/scenario.h"

#define REPORT_GROUPS_MAX 256          /* failure groups kept; more are counted as "other" */
#define REPORT_GROUP_SEEDS_SHOWN 8     /* seeds listed per group */
#define REPORT_DAMAGE_SHOWN 100        /* damaged lines named; the rest counted */
#define REPORT_RANGES_SHOWN 20         /* ranges listed per kind */
#define REPORT_COMMITS_MAX 16          /* distinct commits named */
#define REPORT_RANGES_INITIAL 64

typedef struct {
    uint64_t lo, hi;   /* inclusive */
} seed_range_t;

typedef struct {
    seed_range_t *r;
    size_t n, cap;
} range_list_t;

typedef struct {
    char checker[JSONL_NAME_BYTES];
    char key[JSONL_MESSAGE_BYTES];       /* the message, digits masked */
    char example[JSONL_MESSAGE_BYTES];   /* the message of the lowest seed */
    uint64_t count;
    uint64_t low_seed;
    uint64_t shown[REPORT_GROUP_SEEDS_SHOWN];
    size_t shown_count;
    char reproduce[JSONL_PATH_BYTES];
    char reproducer[JSONL_PATH_BYTES];
    char host[JSONL_HOST_BYTES], attempt[JSONL_HOST_BYTES];   /* of the lowest seed's run */
    char where[JSONL_PATH_BYTES];        /* FILE:LINE of the lowest seed */
    char carried[JSONL_PATH_BYTES];      /* where its carried scenario was written, or "" */
    int has_scenario;                    /* its line carries the scenario */
} group_t;

typedef struct {
    char id[JSONL_COMMIT_BYTES];
    uint64_t seeds;
} commit_t;

typedef struct {
    const report_options_t *o;
    FILE *out;
    range_list_t seen, declared;
    group_t *groups;
    size_t group_count;
    uint64_t other_failed;               /* failures beyond REPORT_GROUPS_MAX groups */
    commit_t commits[REPORT_COMMITS_MAX];
    size_t commit_count;
    uint64_t other_commit_seeds;
    int other_commits;                   /* a commit beyond REPORT_COMMITS_MAX was seen */
    uint64_t lines, run_lines, seed_lines, damaged, files_unreadable, files_short;
    uint64_t scenarios_carried, scenarios_written, scenarios_unwritten;
    uint64_t verdicts[JSONL_VERDICT_COUNT];
    uint64_t events, virtual_us, wall_us, faults[FAULT_COUNT];
    uint64_t compare_runs, swarm_runs;   /* run lines of each mode: one report, one mode */
    uint64_t cmp_seeds, cmp_ops, cmp_output_compared, cmp_differences, cmp_ledgers, cmp_explained;
    uint64_t cmp_model_checked, cmp_model_rejected;
    int oom;
} report_t;

/* ------------------------------------------------------------------ seed ranges */

static int range_add(report_t *rp, range_list_t *l, uint64_t lo, uint64_t hi) {
    if (l->n > 0 && l->r[l->n - 1].hi != UINT64_MAX && l->r[l->n - 1].hi + 1 == lo) {
        l->r[l->n - 1].hi = hi;   /* the common case: the next seed of a block */
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : REPORT_RANGES_INITIAL;
        seed_range_t *r = realloc(l->r, cap * sizeof(*r));
        if (r == NULL) {
            rp->oom = 1;
            return -1;
        }
        l->r = r;
        l->cap = cap;
    }
    l->r[l->n].lo = lo;
    l->r[l->n].hi = hi;
    l->n++;
    return 0;
}

static int range_cmp(const void *a, const void *b) {
    const seed_range_t *x = a, *y = b;
    if (x->lo != y->lo) return x->lo < y->lo ? -1 : 1;
    return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Sorts and merges l in place; the seeds covered more than once go to dups (may be NULL). */
static void range_merge(report_t *rp, range_list_t *l, range_list_t *dups) {
    if (l->n == 0) return;
    qsort(l->r, l->n, sizeof(*l->r), range_cmp);
    size_t w = 0;
    for (size_t i = 1; i < l->n; i++) {
        seed_range_t *cur = &l->r[w], nx = l->r[i];
        if (nx.lo <= cur->hi) {
            uint64_t dup_hi = nx.hi < cur->hi ? nx.hi : cur->hi;
            if (dups != NULL) range_add(rp, dups, nx.lo, dup_hi);
            if (nx.hi > cur->hi) cur->hi = nx.hi;
        } else if (cur->hi != UINT64_MAX && nx.lo == cur->hi + 1) {
            cur->hi = nx.hi;
        } else {
            l->r[++w] = nx;
        }
    }
    l->n = w + 1;
}

/* want minus have (both merged) into out. */
static void range_subtract(report_t *rp, const range_list_t *want, const range_list_t *have,
                           range_list_t *out) {
    size_t j = 0;
    for (size_t i = 0; i < want->n; i++) {
        uint64_t lo = want->r[i].lo, hi = want->r[i].hi;
        int open = 1;   /* lo..hi still has seeds to look at */
        while (j < have->n && have->r[j].hi < lo) j++;
        for (size_t k = j; open && k < have->n && have->r[k].lo <= hi; k++) {
            if (have->r[k].lo > lo) range_add(rp, out, lo, have->r[k].lo - 1);
            if (have->r[k].hi >= hi) open = 0;
            else lo = have->r[k].hi + 1;
        }
        if (open) range_add(rp, out, lo, hi);
    }
}

static uint64_t range_total(const range_list_t *l) {
    uint64_t t = 0;
    for (size_t i = 0; i < l->n; i++) t += l->r[i].hi - l->r[i].lo + 1;
    return t;
}

static void range_print(FILE *f, const char *what, const range_list_t *l) {
    fprintf(f, "%s: ", what);
    if (l->n == 0) {
        fputs("none\n", f);
        return;
    }
    fprintf(f, "%llu seed%s in %zu range%s:", (unsigned long long)range_total(l),
            range_total(l) == 1 ? "" : "s", l->n, l->n == 1 ? "" : "s");
    for (size_t i = 0; i < l->n && i < REPORT_RANGES_SHOWN; i++) {
        if (l->r[i].lo == l->r[i].hi) fprintf(f, " %llu", (unsigned long long)l->r[i].lo);
        else fprintf(f, " %llu..%llu", (unsigned long long)l->r[i].lo, (unsigned long long)l->r[i].hi);
    }
    if (l->n > REPORT_RANGES_SHOWN) fprintf(f, " ... (%zu more)", l->n - REPORT_RANGES_SHOWN);
    fputc('\n', f);
}

/* ------------------------------------------------------------------ lines */

static void damage(report_t *rp, const char *file, uint64_t line, const char *why) {
    rp->damaged++;
    if (rp->damaged <= REPORT_DAMAGE_SHOWN) {
        if (line > 0) fprintf(rp->out, "damaged: %s:%llu: %s\n", file, (unsigned long long)line, why);
        else fprintf(rp->out, "damaged: %s: %s\n", file, why);
    } else if (rp->damaged == REPORT_DAMAGE_SHOWN + 1) {
        fprintf(rp->out, "damaged: ... (further damaged lines counted, not shown)\n");
    }
}

/* The group key of a message: numbers become "#", words starting with a capital letter
 * (account names: Bob, Ann) "Name", so one bug on different seeds lands in one group. */
static void mask_message(const char *s, char *dst, size_t cap) {
    size_t n = 0;
    int in_word = 0;   /* inside a word (letters/digits) that started earlier */
    for (; *s != '\0' && n + 5 < cap; s++) {
        int digit = *s >= '0' && *s <= '9';
        int upper = *s >= 'A' && *s <= 'Z', lower = *s >= 'a' && *s <= 'z';
        if (upper && !in_word) {
            memcpy(dst + n, "Name", 4);
            n += 4;
            while ((s[1] >= 'a' && s[1] <= 'z') || (s[1] >= 'A' && s[1] <= 'Z')) s++;
        } else if (digit) {
            if (n == 0 || dst[n - 1] != '#') dst[n++] = '#';
        } else {
            dst[n++] = *s;
        }
        in_word = digit || upper || lower;
    }
    dst[n] = '\0';
}

/* Counts a line of commit id: seeds is 1 for a seed line, 0 for a run line (a block of
 * another commit shows even when none of its seeds survived). */
static void commit_add(report_t *rp, const char *id, uint64_t seeds) {
    for (size_t i = 0; i < rp->commit_count; i++) {
        if (strcmp(rp->commits[i].id, id) == 0) {
            rp->commits[i].seeds += seeds;
            return;
        }
    }
    if (rp->commit_count == REPORT_COMMITS_MAX) {
        rp->other_commit_seeds += seeds;
        rp->other_commits = 1;
        return;
    }
    snprintf(rp->commits[rp->commit_count].id, JSONL_COMMIT_BYTES, "%s", id);
    rp->commits[rp->commit_count++].seeds = seeds;
}

/* The results come from more than one commit. */
static int mixed(const report_t *rp) {
    return rp->commit_count > 1 || rp->other_commits;
}

typedef struct {
    int has_run;
    uint64_t lo, hi;                 /* the current run line's seeds */
    uint64_t run_no;                 /* its line number */
    uint64_t count, last;            /* seed lines under it, the last one's seed */
    char host[JSONL_HOST_BYTES], attempt[JSONL_HOST_BYTES];   /* its origin, "" when absent */
} file_state_t;

/* " (ran on HOST, attempt A)" for a run line that says so, else "". */
static void origin_text(const char *host, const char *attempt, char *dst, size_t cap) {
    if (host[0] == '\0' && attempt[0] == '\0') {
        dst[0] = '\0';
        return;
    }
    snprintf(dst, cap, " (ran on %s, attempt %s)", host[0] ? host : "an unnamed host", attempt[0] ? attempt : "?");
}

/* The end of a run line's seeds (the next run line, or the end of the file): fewer seed
 * lines than it declares is a short file, named here, whatever the other files hold, since
 * a block cut at a line boundary looks whole line by line. A swarm stopped by --stop-on-fail
 * is short too: its unrun seeds are no result. */
static void run_end(report_t *rp, const char *file, const file_state_t *fs) {
    if (!fs->has_run) return;
    uint64_t declared = fs->hi - fs->lo + 1;
    if (fs->count >= declared) return;
    char why[600], origin[2 * JSONL_HOST_BYTES + 40];
    origin_text(fs->host, fs->attempt, origin, sizeof(origin));
    if (fs->count == 0)
        snprintf(why, sizeof(why), "short: the run line declares seeds %llu..%llu and no seed line follows%s",
                 (unsigned long long)fs->lo, (unsigned long long)fs->hi, origin);
    else
        snprintf(why, sizeof(why),
                 "short: the run line declares seeds %llu..%llu, %llu of %llu seed lines follow, the last "
                 "for seed %llu (cut at a line boundary, or stopped early)%s",
                 (unsigned long long)fs->lo, (unsigned long long)fs->hi, (unsigned long long)fs->count,
                 (unsigned long long)declared, (unsigned long long)fs->last, origin);
    rp->files_short++;
    damage(rp, file, fs->run_no, why);
}

static int mkdir_parents(const char *dir) {
    char p[JSONL_PATH_BYTES];
    int n = snprintf(p, sizeof(p), "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof(p)) return -1;
    for (char *s = p + 1; *s != '\0'; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    return mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* A failing seed's carried scenario into o->scenario_dir; path gets its name ("" when not
 * written). */
static void scenario_save(report_t *rp, const jsonl_record_t *r, char *path, size_t cap) {
    path[0] = '\0';
    rp->scenarios_carried++;
    if (rp->o->scenario_dir == NULL) return;
    char p[JSONL_PATH_BYTES];
    int n = snprintf(p, sizeof(p), "%s/%s-%llu.scn", rp->o->scenario_dir, r->has_compare ? "compare" : "seed",
                     (unsigned long long)r->seed);
    FILE *f = NULL;
    if (n > 0 && (size_t)n < sizeof(p) && mkdir_parents(rp->o->scenario_dir) == 0) f = fopen(p, "w");
    int ok = f != NULL && fputs(r->scenario, f) >= 0;
    if (f != NULL && fclose(f) != 0) ok = 0;
    if (!ok) {
        rp->scenarios_unwritten++;
        return;
    }
    rp->scenarios_written++;
    snprintf(path, cap, "%s", p);
}

static void group_add(report_t *rp, const jsonl_record_t *r, const file_state_t *fs, const char *file,
                      uint64_t no) {
    char carried[JSONL_PATH_BYTES] = "";
    if (r->scenario[0]) scenario_save(rp, r, carried, sizeof(carried));
    char key[JSONL_MESSAGE_BYTES];
    mask_message(r->message, key, sizeof(key));
    group_t *g = NULL;
    for (size_t i = 0; i < rp->group_count && g == NULL; i++)
        if (strcmp(rp->groups[i].checker, r->checker) == 0 && strcmp(rp->groups[i].key, key) == 0)
            g = &rp->groups[i];
    if (g == NULL) {
        if (rp->group_count == REPORT_GROUPS_MAX) {
            rp->other_failed++;
            return;
        }
        g = &rp->groups[rp->group_count++];
        memset(g, 0, sizeof(*g));
        snprintf(g->checker, sizeof(g->checker), "%s", r->checker);
        memcpy(g->key, key, sizeof(key));
        g->low_seed = UINT64_MAX;
    }
    g->count++;
    if (g->shown_count < REPORT_GROUP_SEEDS_SHOWN) g->shown[g->shown_count++] = r->seed;
    if (r->seed <= g->low_seed) {
        g->low_seed = r->seed;
        snprintf(g->example, sizeof(g->example), "%s", r->message);
        snprintf(g->reproduce, sizeof(g->reproduce), "%s", r->reproduce);
        snprintf(g->reproducer, sizeof(g->reproducer), "%s", r->reproducer);
        snprintf(g->host, sizeof(g->host), "%s", fs->host);
        snprintf(g->attempt, sizeof(g->attempt), "%s", fs->attempt);
        snprintf(g->where, sizeof(g->where), "%.900s:%llu", file, (unsigned long long)no);
        snprintf(g->carried, sizeof(g->carried), "%s", carried);
        g->has_scenario = r->scenario[0] != '\0';
    }
}

static void take_line(report_t *rp, const char *file, uint64_t no, const char *line, size_t len,
                      file_state_t *fs) {
    static jsonl_record_t r;   /* large: one line at a time */
    char err[256], why[320];
    if (jsonl_parse(line, len, &r, err, sizeof(err)) != 0) {
        snprintf(why, sizeof(why), "malformed: %s", err);
        damage(rp, file, no, why);
        return;
    }
    if (r.kind == JSONL_RUN) {
        rp->run_lines++;
        if (r.compare ? rp->swarm_runs > 0 : rp->compare_runs > 0) {
            damage(rp, file, no, "a swarm and a compare run in one report (their seeds are not the same runs)");
            return;
        }
        *(r.compare ? &rp->compare_runs : &rp->swarm_runs) += 1;
        run_end(rp, file, fs);
        commit_add(rp, r.commit, 0);
        fs->has_run = 1;
        fs->lo = r.first;
        fs->hi = r.first + (r.seeds - 1);
        fs->run_no = no;
        fs->count = 0;
        snprintf(fs->host, sizeof(fs->host), "%s", r.host);
        snprintf(fs->attempt, sizeof(fs->attempt), "%s", r.attempt);
        range_add(rp, &rp->declared, fs->lo, fs->hi);
        return;
    }
    if (!fs->has_run) {
        damage(rp, file, no, "a seed line before any run line");
        return;
    }
    if (r.seed < fs->lo || r.seed > fs->hi) {
        snprintf(why, sizeof(why), "seed %llu is outside its run line's seeds %llu..%llu",
                 (unsigned long long)r.seed, (unsigned long long)fs->lo, (unsigned long long)fs->hi);
        damage(rp, file, no, why);
        return;
    }
    rp->seed_lines++;
    fs->count++;
    fs->last = r.seed;
    range_add(rp, &rp->seen, r.seed, r.seed);
    rp->verdicts[r.verdict]++;
    rp->events += r.events;
    rp->virtual_us += r.virtual_us;
    rp->wall_us += r.wall_us;
    for (int k = 0; k < FAULT_COUNT; k++) rp->faults[k] += r.faults[k];
    commit_add(rp, r.commit, 1);
    if (r.verdict == JSONL_FAIL) group_add(rp, &r, fs, file, no);
    if (r.has_compare) {
        rp->cmp_seeds++;
        rp->cmp_ops += r.cmp_ops;
        rp->cmp_output_compared += r.cmp_output_compared;
        rp->cmp_model_checked += r.cmp_model_checked;
        rp->cmp_model_rejected += r.cmp_model_rejected;
        rp->cmp_differences += r.cmp_differences;
        rp->cmp_ledgers += r.cmp_ledger_compared != 0;
        if (r.verdict == JSONL_INCONCLUSIVE) rp->cmp_explained += r.cmp_differences;
    }
}

/* Reads one file line by line: a line longer than the limit, holding a NUL byte, or
 * without its newline at the end of the file (a cut-off write) is damaged. */
static void read_file(report_t *rp, const char *path) {
    static char line[JSONL_LINE_BYTES_MAX + 1];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        char why[300];
        snprintf(why, sizeof(why), "cannot open: %s", strerror(errno));
        rp->files_unreadable++;
        damage(rp, path, 0, why);
        return;
    }
    file_state_t fs = {0};
    uint64_t no = 0;
    for (;;) {
        size_t len = 0;
        int c, has_nul = 0, too_long = 0;
        while ((c = getc(f)) != EOF && c != '\n') {
            if (c == '\0') has_nul = 1;
            if (len < sizeof(line) - 1) line[len++] = (char)c;
            else too_long = 1;
        }
        if (c == EOF && len == 0 && !too_long) break;
        no++;
        rp->lines++;
        if (c == EOF) damage(rp, path, no, "truncated: no newline at the end of the file");
        else if (too_long) damage(rp, path, no, "line longer than JSONL_LINE_BYTES_MAX bytes");
        else if (has_nul) damage(rp, path, no, "a NUL byte in the line");
        else if (len == 0) damage(rp, path, no, "an empty line");
        else take_line(rp, path, no, line, len, &fs);
        if (c == EOF) break;
    }
    if (ferror(f)) {
        rp->files_unreadable++;
        damage(rp, path, 0, "read error");
    }
    run_end(rp, path, &fs);
    fclose(f);
    if (no == 0) damage(rp, path, 0, "empty file");
}

/* ------------------------------------------------------------------ the summary */

static void print_groups(report_t *rp) {
    FILE *f = rp->out;
    uint64_t failed = rp->verdicts[JSONL_FAIL];
    fprintf(f, "failures: %llu seed%s in %zu group%s (by checker and message, numbers and names masked)\n",
            (unsigned long long)failed, failed == 1 ? "" : "s", rp->group_count,
            rp->group_count == 1 ? "" : "s");
    for (size_t i = 0; i < rp->group_count; i++) {
        const group_t *g = &rp->groups[i];
        fprintf(f, "  [%zu] %llu seed%s, checker %s: %s\n", i + 1, (unsigned long long)g->count,
                g->count == 1 ? "" : "s", g->checker, g->example);
        fprintf(f, "      seeds:");
        for (size_t k = 0; k < g->shown_count; k++) fprintf(f, " %llu", (unsigned long long)g->shown[k]);
        if (g->count > g->shown_count) fputs(" ...", f);
        fputc('\n', f);
        if (g->reproduce[0]) fprintf(f, "      reproduce: %s\n", g->reproduce);
        fprintf(f, "      seed %llu ran on: %s, attempt %s (%s)\n", (unsigned long long)g->low_seed,
                g->host[0] ? g->host : "unknown host", g->attempt[0] ? g->attempt : "unknown", g->where);
        if (g->reproducer[0])
            fprintf(f, "      shrunk scenario (on the machine that ran seed %llu): %s\n",
                    (unsigned long long)g->low_seed, g->reproducer);
        if (g->carried[0])
            fprintf(f, "      shrunk scenario, carried in the JSON lines: %s\n", g->carried);
        else if (g->has_scenario)
            fprintf(f, "      shrunk scenario: carried in the JSON lines (report --out DIR writes it out)\n");
    }
    if (rp->other_failed)
        fprintf(f, "  and %llu more failed seeds in groups beyond the first %d\n",
                (unsigned long long)rp->other_failed, REPORT_GROUPS_MAX);
}

static void print_summary(report_t *rp, const range_list_t *missing, const range_list_t *dups) {
    FILE *f = rp->out;
    const report_options_t *o = rp->o;
    fprintf(f, "report: %d file%s, %llu lines (%llu run, %llu seed), %llu damaged\n", o->file_count,
            o->file_count == 1 ? "" : "s", (unsigned long long)rp->lines,
            (unsigned long long)rp->run_lines, (unsigned long long)rp->seed_lines,
            (unsigned long long)rp->damaged);
    range_print(f, "seeds run", &rp->seen);
    if (o->has_expect)
        fprintf(f, "seeds expected: %llu..%llu\n", (unsigned long long)o->expect_first,
                (unsigned long long)(o->expect_first + (o->expect_seeds - 1)));
    range_print(f, "missing seeds", missing);
    range_print(f, "duplicated seeds", dups);
    for (size_t i = 0; i < rp->commit_count; i++)
        fprintf(f, "commit: %s (%llu seeds)\n", rp->commits[i].id, (unsigned long long)rp->commits[i].seeds);
    if (rp->other_commits)
        fprintf(f, "commit: %llu seeds from further commits\n", (unsigned long long)rp->other_commit_seeds);
    if (mixed(rp))
        fprintf(f, "%s: the results come from more than one commit%s\n", rp->o->allow_mixed ? "warning" : "damaged",
                rp->o->allow_mixed ? " (--allow-mixed)" : ": rerun the odd blocks on one commit, or --allow-mixed");
    if (rp->files_short)
        fprintf(f, "short files: %llu (named above: fewer seed lines than their run line declares)\n",
                (unsigned long long)rp->files_short);
    if (rp->scenarios_carried && rp->o->scenario_dir != NULL)
        fprintf(f, "scenarios carried: %llu failing seed%s; %llu written into %s%s\n",
                (unsigned long long)rp->scenarios_carried, rp->scenarios_carried == 1 ? "" : "s",
                (unsigned long long)rp->scenarios_written, rp->o->scenario_dir,
                rp->scenarios_unwritten ? ", SOME COULD NOT BE WRITTEN" : "");
    else if (rp->scenarios_carried)
        fprintf(f, "scenarios carried: %llu failing seed%s (report --out DIR writes them out)\n",
                (unsigned long long)rp->scenarios_carried, rp->scenarios_carried == 1 ? "" : "s");
    if (rp->compare_runs > 0) {
        fprintf(f, "verdicts: %llu pass, %llu fail, %llu inconclusive (a real fault landed late)\n",
                (unsigned long long)rp->verdicts[JSONL_PASS], (unsigned long long)rp->verdicts[JSONL_FAIL],
                (unsigned long long)rp->verdicts[JSONL_INCONCLUSIVE]);
        uint64_t by_text_or_model = rp->cmp_output_compared + rp->cmp_model_checked;
        fprintf(f, "compare: %llu seeds run both ways, %llu operations (output compared %llu, checked against "
                   "the model on both sides %llu, exit only %llu; answers a model rejected %llu), "
                   "final ledgers compared in %llu; differences %llu (%llu on inconclusive seeds)\n",
                (unsigned long long)rp->cmp_seeds, (unsigned long long)rp->cmp_ops,
                (unsigned long long)rp->cmp_output_compared, (unsigned long long)rp->cmp_model_checked,
                (unsigned long long)(rp->cmp_ops > by_text_or_model ? rp->cmp_ops - by_text_or_model : 0),
                (unsigned long long)rp->cmp_model_rejected, (unsigned long long)rp->cmp_ledgers,
                (unsigned long long)rp->cmp_differences, (unsigned long long)rp->cmp_explained);
    } else {
        fprintf(f, "verdicts: %llu pass, %llu fail, %llu ignored (fail without the mutant too)\n",
                (unsigned long long)rp->verdicts[JSONL_PASS], (unsigned long long)rp->verdicts[JSONL_FAIL],
                (unsigned long long)rp->verdicts[JSONL_IGNORED]);
    }
    print_groups(rp);
    double wall = (double)rp->wall_us / 1e6;
    if (rp->compare_runs > 0) { /* real runs: no events, no virtual time; wall time is the cost */
        fprintf(f, "speed: %.1fs of runs (%.1f s a seed, %.1f seeds/min per worker)\n", wall,
                rp->seed_lines ? wall / (double)rp->seed_lines : 0.0,
                wall > 0 ? (double)rp->seed_lines * 60.0 / wall : 0.0);
        char real_faults[512];
        sim_faults_format(rp->faults, real_faults, sizeof(real_faults));
        fprintf(f, "faults touched (real): %s\n", real_faults);
        return;
    }
    fprintf(f, "speed: %llu events in %.3fs of runs (%.0f events/s, %.1f seeds/s per core)\n",
            (unsigned long long)rp->events, wall, wall > 0 ? (double)rp->events / wall : 0.0,
            wall > 0 ? (double)rp->seed_lines / wall : 0.0);
    fprintf(f, "virtual time: %.1fs (%.0fx the runs' wall time)\n", (double)rp->virtual_us / 1e6,
            wall > 0 ? (double)rp->virtual_us / 1e6 / wall : 0.0);
    char faults[512];
    sim_faults_format(rp->faults, faults, sizeof(faults));
    fprintf(f, "faults fired: %s\n", faults);
}

int report_run(const report_options_t *o) {
    report_t *rp = calloc(1, sizeof(*rp));
    group_t *groups = calloc(REPORT_GROUPS_MAX, sizeof(*groups));
    if (rp == NULL || groups == NULL) {
        free(rp);
        free(groups);
        fprintf(o->out, "report: out of memory\n");
        return REPORT_EXIT_DAMAGED;
    }
    rp->o = o;
    rp->out = o->out;
    rp->groups = groups;
    for (int i = 0; i < o->file_count; i++) read_file(rp, o->files[i]);
    if (o->has_expect) range_add(rp, &rp->declared, o->expect_first, o->expect_first + (o->expect_seeds - 1));
    range_list_t dups = {0}, missing = {0};
    range_merge(rp, &rp->seen, &dups);
    range_merge(rp, &dups, NULL);
    range_merge(rp, &rp->declared, NULL);
    if (!o->has_expect && rp->declared.n > 1) {
        /* no range given: every seed from the lowest to the highest declared is expected,
         * so a block missing between two others shows */
        rp->declared.r[0].hi = rp->declared.r[rp->declared.n - 1].hi;
        rp->declared.n = 1;
    }
    range_subtract(rp, &rp->declared, &rp->seen, &missing);
    print_summary(rp, &missing, &dups);
    int rc = REPORT_EXIT_PASS;
    const char *why = "every seed passed";
    if (rp->verdicts[JSONL_FAIL] > 0) {
        rc = REPORT_EXIT_FAILED;
        why = "seeds failed";
    }
    int mixed_refused = mixed(rp) && !o->allow_mixed;
    if (rp->damaged || missing.n || dups.n || rp->seed_lines == 0 || rp->oom || mixed_refused ||
        rp->scenarios_unwritten) {
        rc = REPORT_EXIT_DAMAGED;
        why = rp->oom                         ? "out of memory: the counts above are incomplete"
              : rp->seed_lines == 0           ? "damaged input: no seed results at all"
              : rp->damaged || missing.n || dups.n ? "damaged input: damaged lines, missing or duplicated seeds"
              : mixed_refused                 ? "mixed commits: results of more than one commit (--allow-mixed)"
                                              : "a carried scenario could not be written (--out)";
    }
    fprintf(o->out, "report: %s: %s\n", rc == REPORT_EXIT_PASS ? "PASS" : rc == REPORT_EXIT_FAILED ? "FAIL" : "DAMAGED",
            why);
    free(rp->seen.r);
    free(rp->declared.r);
    free(dups.r);
    free(missing.r);
    free(groups);
    free(rp);
    return rc;
}
