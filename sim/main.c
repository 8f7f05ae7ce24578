/* main.c — the alichain-sim command line: run one scenario, a swarm, the suite of `make
 * sim`, or print a scenario (parsed, or generated for a swarm seed). Thin: everything
 * lives in sim.a (sim.h, swarm.h, suite.h). In the alichain-sim-mutants build --mutant
 * NAME plants one of core/'s named bugs (core/mutant.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mutant.h"
#include "sim.h"
#include "suite.h"
#include "swarm.h"

#define EXIT_USAGE 2
#define REPRO_BYTES 2048

static const char usage[] =
    "usage: alichain-sim run FILE [--seed N] [--trace FILE] [--trace-json FILE] [-v]\n"
    "       alichain-sim swarm --seeds N [--first S] [--out DIR] [--stop-on-fail] [--no-shrink]\n"
    "       alichain-sim suite [DIR...] [--swarm N] [--out DIR]\n"
    "       alichain-sim print FILE        the scenario as parsed, printed back\n"
    "       alichain-sim gen SEED          the scenario the swarm runs for SEED\n"
    "options of every command: --mutant NAME (alichain-sim-mutants only; names: --mutant list)\n"
    "run prints trace-hash: <hex> and verdict: pass|fail; exit 0 pass, 1 fail, 2 usage.\n"
    "docs/SIMULATOR.md and docs/SCENARIOS.md describe the model and the language.\n";

static const char *prog_name = "alichain-sim";

static int parse_u64_arg(const char *s, uint64_t *out) {
    char *end;
    if (s == NULL || *s == '\0' || *s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0') return -1;
    *out = v;
    return 0;
}

/* --mutant NAME: only the mutants build has planted bugs. */
static int mutant_select(const char *name) {
    if (strcmp(name, "list") == 0) {
        for (int m = 1; m < MUT_COUNT; m++) printf("%s\n", mutant_names[m]);
        exit(0);
    }
#if defined(ALICHAIN_MUTANTS)
    for (int m = 0; m < MUT_COUNT; m++) {
        if (strcmp(mutant_names[m], name) == 0) {
            ac_mutant = (mutant_t)m;
            return 0;
        }
    }
    fprintf(stderr, "%s: unknown mutant \"%s\" (--mutant list)\n", prog_name, name);
    return -1;
#else
    if (strcmp(name, "none") == 0) return 0;
    fprintf(stderr, "%s: this build has no planted bugs; use alichain-sim-mutants\n", prog_name);
    return -1;
#endif
}

typedef struct {
    const char *positional[64];
    int npos;
    const char *trace, *trace_json, *out, *mutant;
    uint64_t seed, seeds, first, swarm;
    int has_seed, has_seeds, has_swarm, verbose, stop_on_fail, no_shrink;
} args_t;

static int args_parse(int argc, char **argv, args_t *a) {
    memset(a, 0, sizeof(*a));
    a->first = 1;
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(s, "--seed") == 0) {
            if (parse_u64_arg(v, &a->seed) != 0) return -1;
            a->has_seed = 1;
            i++;
        } else if (strcmp(s, "--seeds") == 0) {
            if (parse_u64_arg(v, &a->seeds) != 0) return -1;
            a->has_seeds = 1;
            i++;
        } else if (strcmp(s, "--first") == 0) {
            if (parse_u64_arg(v, &a->first) != 0) return -1;
            i++;
        } else if (strcmp(s, "--swarm") == 0) {
            if (parse_u64_arg(v, &a->swarm) != 0) return -1;
            a->has_swarm = 1;
            i++;
        } else if (strcmp(s, "--trace") == 0 && v) {
            a->trace = v;
            i++;
        } else if (strcmp(s, "--trace-json") == 0 && v) {
            a->trace_json = v;
            i++;
        } else if (strcmp(s, "--out") == 0 && v) {
            a->out = v;
            i++;
        } else if (strcmp(s, "--mutant") == 0 && v) {
            a->mutant = v;
            i++;
        } else if (strcmp(s, "-v") == 0 || strcmp(s, "--verbose") == 0) {
            a->verbose = 1;
        } else if (strcmp(s, "--stop-on-fail") == 0) {
            a->stop_on_fail = 1;
        } else if (strcmp(s, "--no-shrink") == 0) {
            a->no_shrink = 1;
        } else if (s[0] == '-' && s[1] != '\0') {
            return -1;
        } else if (a->npos < 64) {
            a->positional[a->npos++] = s;
        } else {
            return -1;
        }
    }
    if (a->mutant != NULL && mutant_select(a->mutant) != 0) return -1;
    return 0;
}

static int cmd_run(const args_t *a) {
    if (a->npos != 1) return EXIT_USAGE;
    scenario_t s;
    char err[512];
    if (scenario_load(a->positional[0], &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", prog_name, err);
        return EXIT_USAGE;
    }
    char repro[REPRO_BYTES];
    uint64_t seed = a->has_seed ? a->seed : s.seed;
    snprintf(repro, sizeof(repro), "%s run %s --seed %llu%s%s", prog_name, a->positional[0],
             (unsigned long long)seed, a->mutant ? " --mutant " : "", a->mutant ? a->mutant : "");
    sim_options_t o = {.seed_override = a->seed, .has_seed_override = a->has_seed, .report = stdout,
                       .verbose = a->verbose, .trace_path = a->trace, .trace_json_path = a->trace_json,
                       .repro = repro};
    printf("scenario: %s\nseed: %llu\n", a->positional[0], (unsigned long long)seed);
    sim_result_t r;
    int rc = sim_run(&s, &o, &r);
    scenario_free(&s);
    if (rc < 0) {
        fprintf(stderr, "%s: %s: %s\n", prog_name, a->positional[0],
                r.first_failure[0] ? r.first_failure : "cannot run (out of memory)");
        return EXIT_USAGE;
    }
    printf("trace-hash: %016llx\n", (unsigned long long)r.trace_hash);
    printf("verdict: %s\n", r.verdict == 0 ? "pass" : "fail");
    return r.verdict == 0 ? 0 : 1;
}

static int cmd_swarm(const args_t *a) {
    if (!a->has_seeds || a->npos != 0) return EXIT_USAGE;
    swarm_options_t o = {.seeds = a->seeds, .first = a->first, .out_dir = a->out, .prog = prog_name,
                         .mutant = a->mutant, .stop_on_fail = a->stop_on_fail, .shrink = !a->no_shrink,
                         .progress = isatty(STDERR_FILENO), .report = stdout};
    swarm_result_t r;
    int rc = swarm_run(&o, &r);
    if (rc < 0) {
        fprintf(stderr, "%s: swarm: out of memory\n", prog_name);
        return EXIT_USAGE;
    }
    double wall = (double)r.wall_us / 1e6;
    printf("events: %llu in %.3fs (%.0f events/s); virtual %.1fs (%.0fx)\n",
           (unsigned long long)r.events, wall, wall > 0 ? (double)r.events / wall : 0.0,
           (double)r.virtual_us / 1e6, wall > 0 ? (double)r.virtual_us / 1e6 / wall : 0.0);
    char faults[512];
    sim_faults_format(r.faults, faults, sizeof(faults));
    printf("faults fired: %s\n", faults);
    if (r.failed && a->mutant != NULL)
        printf("mutant %s: caught by seed %llu (%s)\n", a->mutant, (unsigned long long)r.first_failed_seed,
               r.first_checker);
    else if (a->mutant != NULL)
        printf("mutant %s: NOT caught in %llu seeds\n", a->mutant, (unsigned long long)r.seeds_run);
    return rc;
}

static int cmd_suite(const args_t *a) {
    static const char *const defaults[] = {"sim/scenarios", "sim/scenarios/regress"};
    suite_options_t o = {.dirs = a->npos ? a->positional : defaults, .dir_count = a->npos ? a->npos : 2,
                         .swarm_seeds = a->has_swarm ? a->swarm : 100, .out_dir = a->out,
                         .prog = prog_name, .report = stdout};
    return suite_run(&o);
}

static int cmd_print(const args_t *a) {
    if (a->npos != 1) return EXIT_USAGE;
    scenario_t s;
    char err[512];
    if (scenario_load(a->positional[0], &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", prog_name, err);
        return EXIT_USAGE;
    }
    scenario_print(&s, stdout);
    scenario_free(&s);
    return 0;
}

static int cmd_gen(const args_t *a) {
    uint64_t seed;
    if (a->npos != 1 || parse_u64_arg(a->positional[0], &seed) != 0) return EXIT_USAGE;
    scenario_t s;
    if (swarm_scenario(seed, &s) != 0) return EXIT_USAGE;
    printf("# the scenario alichain-sim swarm runs for seed %llu\n", (unsigned long long)seed);
    scenario_print(&s, stdout);
    scenario_free(&s);
    return 0;
}

int main(int argc, char **argv) {
#if defined(ALICHAIN_MUTANTS)
    prog_name = "alichain-sim-mutants";
#endif
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    args_t a;
    if (args_parse(argc, argv, &a) != 0) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    int rc = EXIT_USAGE;
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0) rc = cmd_run(&a);
    else if (strcmp(cmd, "swarm") == 0) rc = cmd_swarm(&a);
    else if (strcmp(cmd, "suite") == 0) rc = cmd_suite(&a);
    else if (strcmp(cmd, "print") == 0) rc = cmd_print(&a);
    else if (strcmp(cmd, "gen") == 0) rc = cmd_gen(&a);
    if (rc == EXIT_USAGE && strcmp(cmd, "run") != 0 && strcmp(cmd, "print") != 0) fputs(usage, stderr);
    return rc;
}
