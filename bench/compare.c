/* compare.c — `alichain-bench compare OLD.tsv NEW.tsv [--noise PCT]`: two runs' results (the
 * --tsv files of alichain-bench) side by side, each figure as a ratio to the floor measured in
 * its own run (docs/BENCHMARKS.md: absolute rates move with the machine and its load, a
 * ratio to a floor measured beside them much less), flagging a row that got worse by more
 * than the noise band. Rows without a floor are compared as they are, and said to be. A row
 * of work done ("ev/seed": the simulator's events a seed) is shown with its growth, never
 * judged: the swarm changing its mix is not a slowdown.
 * Exit 0: no regression past the band; 1: some; 2: a file that cannot be read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define CMP_ROWS_MAX 4096
#define CMP_KEY_BYTES 96
#define CMP_LINE_BYTES 1024
#define CMP_FIELDS_MAX 20
#define CMP_NOISE_PCT_DEFAULT 10.0

typedef struct {
    char key[CMP_KEY_BYTES];   /* "load 1000 balance c=64", "metric 1000 startup-one-file" */
    double score;              /* the ratio to its floor, or the value itself */
    int has_floor;
    int higher_better;         /* rates: higher; times, sizes: lower */
    int work;                  /* how much work, not how fast ("ev/seed"): shown, never judged */
    double p99_score;          /* load rows: p99 over the floor's p99 (lower better); 0: none */
} cmp_row_t;

typedef struct {
    cmp_row_t *rows;
    size_t n;
} cmp_run_t;

/* One TSV row of bench.c's report_load / report_metric into r; 0, or -1 for a row that is
 * neither (a header, a blank line). */
static int row_parse(char *line, cmp_row_t *r) {
    char *f[CMP_FIELDS_MAX];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, "\t\n", &save); t && n < CMP_FIELDS_MAX;
         t = strtok_r(NULL, "\t\n", &save))
        f[n++] = t;
    memset(r, 0, sizeof *r);
    if (n == 16 && strcmp(f[0], "load") == 0) {
        double rate = atof(f[6]), p99 = atof(f[8]), floor_rate = atof(f[13]), floor_p99 = atof(f[15]);
        snprintf(r->key, sizeof r->key, "load %s %s c=%s", f[1], f[2], f[3]);
        r->has_floor = floor_rate > 0;
        r->score = r->has_floor ? rate / floor_rate : rate;
        r->p99_score = floor_p99 > 0 ? p99 / floor_p99 : 0;
        r->higher_better = 1;
        return 0;
    }
    if (n == 7 && strcmp(f[0], "metric") == 0) {
        double value = atof(f[3]), floor = atof(f[6]);
        snprintf(r->key, sizeof r->key, "metric %s %s", f[1], f[2]);
        r->has_floor = floor > 0;
        r->score = r->has_floor ? value / floor : value;
        r->work = strcmp(f[4], "ev/seed") == 0; /* the simulator's events a seed: its swarm's mix */
        r->higher_better = !r->work && strstr(f[4], "/s") != NULL; /* "ev/s", "seeds/s" */
        return 0;
    }
    return -1;
}

static int run_read(const char *path, cmp_run_t *run) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "alichain-bench compare: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    run->rows = bench_xmalloc(CMP_ROWS_MAX * sizeof *run->rows);
    run->n = 0;
    char line[CMP_LINE_BYTES];
    while (fgets(line, sizeof line, f) && run->n < CMP_ROWS_MAX)
        if (row_parse(line, &run->rows[run->n]) == 0) run->n++;
    fclose(f);
    if (run->n == 0) {
        fprintf(stderr, "alichain-bench compare: %s holds no result rows (an alichain-bench --tsv file?)\n", path);
        free(run->rows);
        return -1;
    }
    return 0;
}

static const cmp_row_t *run_find(const cmp_run_t *run, const char *key) {
    for (size_t i = 0; i < run->n; i++)
        if (strcmp(run->rows[i].key, key) == 0) return &run->rows[i];
    return NULL;
}

/* How much worse b is than a, in percent (negative: better), by the row's direction. */
static double worse_pct(double a, double b, int higher_better) {
    if (a <= 0 || b <= 0) return 0;
    return higher_better ? (a / b - 1.0) * 100.0 : (b / a - 1.0) * 100.0;
}

int bench_compare_main(int argc, char **argv) {
    double noise = CMP_NOISE_PCT_DEFAULT;
    const char *paths[2] = {NULL, NULL};
    int np = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: alichain-bench compare OLD.tsv NEW.tsv [--noise PCT (default %.0f)]\n"
                   "Compares two runs' --tsv results row by row as ratios to the floors each run\n"
                   "measured beside them; a row worse by more than PCT %% is a REGRESSION (exit 1).\n",
                   CMP_NOISE_PCT_DEFAULT);
            return 0;
        }
        if (strcmp(argv[i], "--noise") == 0 && i + 1 < argc) {
            char *e;
            noise = strtod(argv[++i], &e);
            if (*e || !(noise >= 0) || noise > 1000) {
                fprintf(stderr, "alichain-bench compare: --noise %s: a percentage 0..1000\n", argv[i]);
                return 2;
            }
        } else if (np < 2 && argv[i][0] != '-') {
            paths[np++] = argv[i];
        } else {
            fprintf(stderr, "alichain-bench compare: unexpected %s (usage: compare OLD.tsv NEW.tsv [--noise PCT])\n",
                    argv[i]);
            return 2;
        }
    }
    if (np != 2) {
        fprintf(stderr, "alichain-bench compare: two result files are needed: OLD.tsv NEW.tsv\n");
        return 2;
    }
    cmp_run_t a, b;
    if (run_read(paths[0], &a) != 0) return 2;
    if (run_read(paths[1], &b) != 0) {
        free(a.rows);
        return 2;
    }
    printf("%-44s %12s %12s %9s\n", "row (ratio to its floor; * no floor: value)", "old", "new", "change");
    unsigned regressions = 0, compared = 0, missing = 0;
    for (size_t i = 0; i < b.n; i++) {
        const cmp_row_t *nr = &b.rows[i], *orow = run_find(&a, nr->key);
        if (orow == NULL) {
            printf("%-44s %12s %12.4g %9s\n", nr->key, "-", nr->score, "new row");
            continue;
        }
        compared++;
        double w = worse_pct(orow->score, nr->score, nr->higher_better);
        int bad = !nr->work && w > noise;
        char label[CMP_KEY_BYTES + 2];
        snprintf(label, sizeof label, "%s%s", nr->key, nr->has_floor ? "" : "*");
        printf("%-44s %12.4g %12.4g %+8.1f%%%s\n", label, orow->score, nr->score, nr->work ? w : 0.0 - w,
               bad ? "  REGRESSION" : nr->work ? "  (work, not judged)" : "");
        regressions += (unsigned)bad;
        if (nr->p99_score > 0 && orow->p99_score > 0) {
            double wp = worse_pct(orow->p99_score, nr->p99_score, 0);
            int badp = wp > noise;
            char key[CMP_KEY_BYTES + 16]; /* "  p99 of " and the key */
            snprintf(key, sizeof key, "  p99 of %s", nr->key);
            printf("%-44s %12.4g %12.4g %+8.1f%%%s\n", key, orow->p99_score, nr->p99_score, 0.0 - wp,
                   badp ? "  REGRESSION" : "");
            regressions += (unsigned)badp;
        }
    }
    for (size_t i = 0; i < a.n; i++)
        if (run_find(&b, a.rows[i].key) == NULL) {
            printf("%-44s %12.4g %12s %9s\n", a.rows[i].key, a.rows[i].score, "-", "gone");
            missing++;
        }
    printf("compare: %u rows compared, %u regressions past the %.1f %% noise band, %u rows only in the old run\n",
           compared, regressions, noise, missing);
    free(a.rows);
    free(b.rows);
    return regressions ? 1 : 0;
}
