/* swarm.c — swarm testing: seed after seed of generated scenarios, each with its own fault
 * mix; a failing seed is printed with the command that reproduces it and shrunk (greedy
 * removal of steps, in halves then one by one, and of fault settings) into a scenario file
 * that fails with the same checker. The shrunk file is parsed back and re-run before its
 * path is printed, so a printed reproducer always reproduces. With o->jsonl each seed's
 * result is also one JSON line (jsonl.h). */
#include "swarm.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "scenario/gen.h"
#include "jsonl.h"
#include "mutant.h"
#include "prng.h"

#define SWARM_SEED_SALT 0x5EED5A17C0FFEEull
#define SWARM_SHRINK_RUNS_MAX 800
#define SWARM_PATH_BYTES 1024

static uint64_t prng_src_below(void *ctx, uint64_t n) { return prng_below(ctx, n); }

int swarm_scenario_limits(uint64_t seed, const gen_limits_t *lim, scenario_t *out) {
    prng_t p;
    prng_init(&p, seed ^ SWARM_SEED_SALT);
    gen_src_t g = {.below = prng_src_below, .ctx = &p};
    return gen_scenario(&g, seed, lim, out);
}

static int swarm_scenario(uint64_t seed, scenario_t *out) { return swarm_scenario_limits(seed, &gen_limits_swarm, out); }

static const char *result_checker(const sim_result_t *r) {
    if (r->violation_count > 0) return r->violations[0].checker;
    if (r->expects_failed > 0) return "expect";
    return "";
}

static int still_fails(const scenario_t *s, const char *checker) {
    sim_result_t r;
    int rc = sim_run(s, NULL, &r);
    if (rc < 0) return 0;
    return r.verdict == 1 && strcmp(result_checker(&r), checker) == 0;
}

/* Tries one candidate: keeps it (1) when the failure persists, else frees it (0). */
static int shrink_try(scenario_t *s, scenario_t *cand, const char *checker, uint32_t *runs) {
    (*runs)++;
    if (still_fails(cand, checker)) {
        scenario_free(s);
        *s = *cand;
        return 1;
    }
    scenario_free(cand);
    return 0;
}

static int shrink_settings(scenario_t *s, const char *checker, uint32_t *runs, uint32_t runs_max) {
    sim_faults_t d;
    sim_faults_default(&d);
    int changed = 0;
    for (int part = 0; part < 2 + BACKEND_COUNT && *runs < runs_max; part++) {
        scenario_t c;
        if (scenario_copy(&c, s) != 0) return changed;
        int differs = 0;
        if (part == 0) {
            differs = memcmp(c.faults.udp, d.udp, sizeof(d.udp)) != 0;
            memcpy(c.faults.udp, d.udp, sizeof(d.udp));
        } else if (part == 1) {
            differs = memcmp(&c.faults.tcp, &d.tcp, sizeof(d.tcp)) != 0;
            c.faults.tcp = d.tcp;
        } else {
            int b = part - 2;
            differs = memcmp(&c.faults.disk[b], &d.disk[b], sizeof(d.disk[b])) != 0;
            c.faults.disk[b] = d.disk[b];
        }
        if (!differs) {
            scenario_free(&c);
            continue;
        }
        changed |= shrink_try(s, &c, checker, runs);
    }
    return changed;
}

static int stop_asked(const swarm_options_t *o) { return o->stop != NULL && o->stop(); }

/* Shrinks a failing scenario in place; `runs_max` bounds the attempts, and o->stop ends it
 * early (the caller then abandons the seed). Returns the number of steps removed. */
static int swarm_shrink(const swarm_options_t *o, scenario_t *s, const char *checker, uint32_t runs_max) {
    uint32_t runs = 0;
    size_t before = s->step_count;
    int changed = 1;
    while (changed && runs < runs_max && !stop_asked(o)) {
        changed = 0;
        size_t chunk = s->step_count / 2;
        if (chunk == 0) chunk = 1;
        for (;;) {
            for (size_t i = 0; i + chunk <= s->step_count && runs < runs_max && !stop_asked(o);) {
                scenario_t c;
                if (scenario_copy(&c, s) != 0) return (int)(before - s->step_count);
                for (size_t k = 0; k < chunk; k++) scenario_remove_step(&c, i);
                scenario_drop_orphans(&c); /* the reproducer must parse: no session step without its session */
                if (shrink_try(s, &c, checker, &runs)) changed = 1;
                else i += chunk;
            }
            if (chunk == 1) break;
            chunk /= 2;
        }
        if (shrink_settings(s, checker, &runs, runs_max)) changed = 1;
    }
    return (int)(before - s->step_count);
}

static int mkdir_p(const char *path) {
    char buf[SWARM_PATH_BYTES];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
    return 0;
}

/* Writes the shrunk scenario and checks that the file itself still fails. */
static int swarm_write(const swarm_options_t *o, uint64_t seed, const scenario_t *s,
                       const sim_result_t *orig, size_t steps_before, char *path, size_t cap) {
    const char *dir = o->out_dir ? o->out_dir : "build/sim-failures";
    if (mkdir_p(dir) != 0) return -1;
    snprintf(path, cap, "%s/swarm-%s%s%llu.scn", dir, o->mutant ? o->mutant : "", o->mutant ? "-" : "",
             (unsigned long long)seed);
    sim_result_t now;
    if (sim_run(s, NULL, &now) == 1) orig = &now; /* quote the shrunk scenario's own failure */
    FILE *f = fopen(path, "w");
    if (f == NULL) return -1;
    fprintf(f, "# Shrunk by alichain-sim swarm from seed %llu (%zu of %zu steps kept)%s%s.\n",
            (unsigned long long)seed, s->step_count, steps_before, o->mutant ? " with --mutant " : "",
            o->mutant ? o->mutant : "");
    fprintf(f, "# It fails with: %s\n", orig->first_failure);
    scenario_print(s, f);
    if (fclose(f) != 0) return -1;
    scenario_t back;
    char err[256];
    if (scenario_load(path, &back, err, sizeof(err)) != 0) return -2;
    sim_result_t r;
    int rc = sim_run(&back, NULL, &r);
    scenario_free(&back);
    return rc == 1 ? 0 : -2;
}

/* 1 when the scenario also fails with no planted bug (mutants build only). */
static int swarm_base_fails(const scenario_t *s) {
#if defined(ALICHAIN_MUTANTS)
    mutant_t saved = ac_mutant;
    ac_mutant = MUT_NONE;
    sim_result_t r;
    int rc = sim_run(s, NULL, &r);
    ac_mutant = saved;
    return rc != 0;
#else
    (void)s;
    return 0;
#endif
}

/* The "run" line: which seeds this swarm was asked for. */
static void jsonl_run_line(const swarm_options_t *o) {
    jsonl_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.kind = JSONL_RUN;
    snprintf(rec.commit, sizeof(rec.commit), "%s", o->commit ? o->commit : "unknown");
    rec.first = o->first;
    rec.seeds = o->seeds;
    rec.has_block = o->has_block;
    rec.block = o->block;
    rec.block_seeds = o->block_seeds;
    snprintf(rec.mutant, sizeof(rec.mutant), "%s", o->mutant ? o->mutant : "");
    snprintf(rec.host, sizeof(rec.host), "%s", o->host ? o->host : "");
    snprintf(rec.attempt, sizeof(rec.attempt), "%s", o->attempt ? o->attempt : "");
    jsonl_write(o->jsonl, &rec);
}

/* One seed's line; reproducer is the shrunk scenario's path or "", and its text goes into
 * the line too, so it comes back with the results from whatever machine ran the seed. */
static void jsonl_seed_line(const swarm_options_t *o, uint64_t seed, jsonl_verdict_t verdict,
                            const sim_result_t *res, const char *reproduce, const char *reproducer) {
    static jsonl_record_t rec;   /* large (a scenario's text): one line at a time */
    memset(&rec, 0, sizeof(rec));
    rec.kind = JSONL_SEED;
    snprintf(rec.commit, sizeof(rec.commit), "%s", o->commit ? o->commit : "unknown");
    rec.seed = seed;
    rec.verdict = verdict;
    rec.events = res->events;
    rec.virtual_us = res->virtual_us;
    rec.wall_us = res->wall_us;
    memcpy(rec.faults, res->faults, sizeof(rec.faults));
    if (verdict != JSONL_PASS) {
        rec.has_violation = 1;
        snprintf(rec.checker, sizeof(rec.checker), "%s", result_checker(res));
        rec.at_us = res->violation_count > 0 ? res->violations[0].at_us : res->virtual_us;
        snprintf(rec.message, sizeof(rec.message), "%s", res->first_failure);
        snprintf(rec.reproduce, sizeof(rec.reproduce), "%s", reproduce);
        snprintf(rec.reproducer, sizeof(rec.reproducer), "%s", reproducer);
        if (reproducer[0]) jsonl_scenario_load(&rec, reproducer);   /* too long: the path alone */
    }
    jsonl_write(o->jsonl, &rec);
}

int swarm_run(const swarm_options_t *o, swarm_result_t *r) {
    memset(r, 0, sizeof(*r));
    FILE *f = o->report;
    const char *prog = o->prog ? o->prog : "alichain-sim";
    char mut[80] = "";
    if (o->mutant) snprintf(mut, sizeof(mut), " --mutant %s", o->mutant);
    if (o->jsonl != NULL) jsonl_run_line(o);
    int cancelled = 0;
    for (uint64_t i = 0; i < o->seeds; i++) {
        if (stop_asked(o)) { /* a seed boundary: every line written so far is whole */
            cancelled = 1;
            break;
        }
        uint64_t seed = o->first + i;
        scenario_t s;
        if (swarm_scenario(seed, &s) != 0) return AC_ENOMEM;
        sim_result_t res;
        int rc = sim_run(&s, NULL, &res);
        r->seeds_run++;
        r->events += res.events;
        r->virtual_us += res.virtual_us;
        r->wall_us += res.wall_us;
        for (int k = 0; k < FAULT_COUNT; k++) r->faults[k] += res.faults[k];
        sim_group_commit_add(&r->group_commit, &res.group_commit);
        if (rc < 0) {
            scenario_free(&s);
            return rc;
        }
        char repro[SWARM_PATH_BYTES];
        snprintf(repro, sizeof(repro), "%s swarm --seeds 1 --first %llu%s", prog,
                 (unsigned long long)seed, mut);
        if (rc == 1 && o->mutant != NULL && swarm_base_fails(&s)) {
            /* the unmutated core fails this seed too: it does not tell the mutant apart */
            r->base_failed++;
            if (f != NULL)
                fprintf(f, "seed %llu: fails without the mutant too (%s); not counted\n",
                        (unsigned long long)seed, res.first_failure);
            if (o->jsonl != NULL) jsonl_seed_line(o, seed, JSONL_IGNORED, &res, repro, "");
            scenario_free(&s);
            continue;
        }
        char path[SWARM_PATH_BYTES] = "";
        if (rc == 1) {
            if (r->failed == 0) {
                r->first_failed_seed = seed;
                snprintf(r->first_checker, sizeof(r->first_checker), "%s", result_checker(&res));
            }
            r->failed++;
            if (f != NULL) {
                if (o->progress) fputc('\n', stderr);
                fprintf(f, "seed %llu: FAIL: %s\n", (unsigned long long)seed, res.first_failure);
                fprintf(f, "  reproduce: %s\n", repro);
            }
            if (o->shrink) {
                size_t before = s.step_count;
                char checker[32];
                snprintf(checker, sizeof(checker), "%s", result_checker(&res));
                swarm_shrink(o, &s, checker, SWARM_SHRINK_RUNS_MAX);
                if (stop_asked(o)) { /* mid-shrink: abandon the seed, write nothing of it */
                    r->seeds_run--;   /* not counted: it has no line */
                    r->failed--;
                    scenario_free(&s);
                    cancelled = 1;
                    break;
                }
                int wrc = swarm_write(o, seed, &s, &res, before, path, sizeof(path));
                if (f != NULL && wrc == 0) {
                    fprintf(f, "  shrunk scenario (%zu of %zu steps): %s\n", s.step_count, before, path);
                    fprintf(f, "  reproduce: %s run %s%s\n", prog, path, mut);
                } else if (f != NULL) {
                    fprintf(f, "  could not write a shrunk scenario that reproduces (%s)\n",
                            wrc == -1 ? "cannot write the file" : "the file does not fail");
                }
                if (wrc != 0) path[0] = '\0';
            }
        }
        if (o->jsonl != NULL)
            jsonl_seed_line(o, seed, rc == 1 ? JSONL_FAIL : JSONL_PASS, &res, repro, path);
        scenario_free(&s);
        if (o->progress && f != NULL && (i % 10 == 9 || i + 1 == o->seeds)) {
            fprintf(stderr, "\rswarm: %llu/%llu seeds, %llu failed", (unsigned long long)(i + 1),
                    (unsigned long long)o->seeds, (unsigned long long)r->failed);
        }
        if (rc == 1 && o->stop_on_fail) break;
    }
    if (o->progress && f != NULL) fputc('\n', stderr);
    if (o->jsonl != NULL && (fflush(o->jsonl) != 0 || ferror(o->jsonl))) return SWARM_EWRITE;
    if (cancelled) {
        if (f != NULL)
            fprintf(f, "swarm: stopped by a signal after %llu of %llu seeds, %llu failed (the seed running then "
                       "abandoned: no line, no scenario)\n",
                    (unsigned long long)r->seeds_run, (unsigned long long)o->seeds, (unsigned long long)r->failed);
        return SWARM_ECANCELLED;
    }
    if (f != NULL) {
        fprintf(f, "swarm: %llu seeds, %llu failed\n", (unsigned long long)r->seeds_run,
                (unsigned long long)r->failed);
        if (r->base_failed)
            fprintf(f, "swarm: %llu more seeds fail without the mutant as well (not counted)\n",
                    (unsigned long long)r->base_failed);
    }
    return r->failed ? 1 : 0;
}
