/* suite.c — the body of `make sim`: every scenario file of sim/scenarios (and regress/) twice, with a
 * row of verdict, virtual time, wall time and the faults that fired; then a short swarm,
 * which is also the standard workload for the speed figures of docs/SIMULATOR.md. */
#include "suite.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "world/sim.h"
#include "swarm.h"

#define SUITE_FILES_MAX 4096
#define SUITE_PATH_BYTES 1024

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int suite_dir(const suite_options_t *o, const char *dir, int *failed, int *bad) {
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(o->report, "suite: cannot open %s\n", dir);
        (*bad)++;
        return 0;
    }
    char *names[SUITE_FILES_MAX];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < SUITE_FILES_MAX) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".scn") == 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
    for (int i = 0; i < n; i++) {
        char path[SUITE_PATH_BYTES];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        scenario_t s;
        char err[400];
        if (scenario_load(path, &s, err, sizeof(err)) != 0) {
            fprintf(o->report, "%-44s ERROR   %s\n", path, err);
            (*bad)++;
            free(names[i]);
            continue;
        }
        sim_result_t r1, r2;
        int rc1 = sim_run(&s, NULL, &r1);
        int rc2 = sim_run(&s, NULL, &r2);
        char faults[512];
        sim_faults_format(r1.faults, faults, sizeof(faults));
        const char *verdict = rc1 == 0 ? "pass" : "FAIL";
        if (rc1 >= 0 && r1.trace_hash != r2.trace_hash) verdict = "NONDET";
        if (rc1 < 0) verdict = "ERROR";
        fprintf(o->report, "%-44s %-7s %9.3fs %8.3fs  %s\n", path, verdict, (double)r1.virtual_us / 1e6,
                (double)r1.wall_us / 1e6, faults);
        if (strcmp(verdict, "pass") != 0) {
            (*failed)++;
            fprintf(o->report, "    %s\n    reproduce: %s run %s -v\n",
                    r1.first_failure[0] ? r1.first_failure : "the two runs' trace hashes differ",
                    o->prog ? o->prog : "alichain-sim", path);
        }
        (void)rc2;
        scenario_free(&s);
        free(names[i]);
    }
    return n;
}

int suite_run(const suite_options_t *o) {
    int failed = 0, bad = 0, total = 0;
    fprintf(o->report, "%-44s %-7s %10s %9s  %s\n", "scenario", "verdict", "virtual", "wall", "faults fired");
    for (int i = 0; i < o->dir_count; i++) total += suite_dir(o, o->dirs[i], &failed, &bad);
    fprintf(o->report, "scenarios: %d, failed %d\n", total, failed + bad);
    int swarm_failed = 0;
    if (o->swarm_seeds > 0) {
        swarm_options_t so = {.seeds = o->swarm_seeds, .first = 1, .out_dir = o->out_dir,
                              .prog = o->prog, .shrink = 1, .report = o->report};
        swarm_result_t sr;
        int rc = swarm_run(&so, &sr);
        swarm_failed = rc != 0;
        double wall = (double)sr.wall_us / 1e6;
        double virt = (double)sr.virtual_us / 1e6;
        fprintf(o->report, "speed (swarm seeds 1..%llu, one core): %llu events in %.3f s wall = "
                "%.0f events/s; %.1f s virtual = %.0fx time compression\n",
                (unsigned long long)o->swarm_seeds, (unsigned long long)sr.events, wall,
                wall > 0 ? (double)sr.events / wall : 0.0, virt, wall > 0 ? virt / wall : 0.0);
        char faults[512];
        sim_faults_format(sr.faults, faults, sizeof(faults));
        fprintf(o->report, "swarm faults fired: %s\n", faults);
        char gc[160];
        sim_group_commit_format(&sr.group_commit, gc, sizeof(gc));
        fprintf(o->report, "swarm group commit: %s\n", gc);
    }
    if (bad) return 2;
    return failed || swarm_failed ? 1 : 0;
}
