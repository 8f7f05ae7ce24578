/* test_sim_jsonl.c — unit tests of the swarm's JSON lines (sim/swarm/jsonl.c): every field
 * survives write then parse, extreme values and awkward strings included; and a bounded
 * mutation loop: any change to a good line either parses or is refused with a reason, and
 * whatever parses writes back to a line that parses to the same record. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "swarm/jsonl.h"
#include "prng.h"

#define LINE_BYTES (JSONL_LINE_BYTES_MAX + 2)
#define MUTATION_ROUNDS 20000
#define MUTATION_SEED 0x15ED5EEDull

/* r written into buf (without the newline); returns its length, or 0 on failure. */
static size_t write_line(const jsonl_record_t *r, char *buf, size_t cap) {
    FILE *f = fmemopen(buf, cap, "w");
    if (f == NULL) return 0;
    int rc = jsonl_write(f, r);
    long len = ftell(f);
    fclose(f);
    if (rc != 0 || len <= 0 || (size_t)len >= cap || buf[len - 1] != '\n') return 0;
    return (size_t)len - 1;
}

/* Field by field: the bytes after a string's end do not count. */
static int same(const jsonl_record_t *a, const jsonl_record_t *b) {
    int eq = a->kind == b->kind && strcmp(a->commit, b->commit) == 0;
    if (a->kind == JSONL_RUN)
        return eq && a->first == b->first && a->seeds == b->seeds && a->has_block == b->has_block &&
               (!a->has_block || (a->block == b->block && a->block_seeds == b->block_seeds)) &&
               strcmp(a->mutant, b->mutant) == 0 && a->compare == b->compare && strcmp(a->host, b->host) == 0 &&
               strcmp(a->attempt, b->attempt) == 0;
    eq = eq && a->seed == b->seed && a->verdict == b->verdict && a->events == b->events &&
         a->virtual_us == b->virtual_us && a->wall_us == b->wall_us &&
         memcmp(a->faults, b->faults, sizeof(a->faults)) == 0 && a->has_violation == b->has_violation &&
         strcmp(a->reproducer, b->reproducer) == 0 && strcmp(a->reproduce, b->reproduce) == 0 &&
         strcmp(a->scenario, b->scenario) == 0 && a->has_compare == b->has_compare;
    eq = eq && (!a->has_compare ||
                (a->cmp_ops == b->cmp_ops && a->cmp_output_compared == b->cmp_output_compared &&
                 a->cmp_differences == b->cmp_differences && a->cmp_ledger_compared == b->cmp_ledger_compared &&
                 a->cmp_model_checked == b->cmp_model_checked && a->cmp_model_rejected == b->cmp_model_rejected &&
                 strcmp(a->cmp_first_difference, b->cmp_first_difference) == 0 && strcmp(a->cmp_why, b->cmp_why) == 0));
    return eq && (!a->has_violation || (strcmp(a->checker, b->checker) == 0 && a->at_us == b->at_us &&
                                        strcmp(a->message, b->message) == 0));
}

static void seed_record(jsonl_record_t *r) {
    memset(r, 0, sizeof(*r));
    r->kind = JSONL_SEED;
    snprintf(r->commit, sizeof(r->commit), "0123456789ab-dirty");
    r->seed = UINT64_MAX;
    r->verdict = JSONL_FAIL;
    r->events = 1;
    r->virtual_us = 0;
    r->wall_us = UINT64_MAX - 1;
    for (int k = 0; k < FAULT_COUNT; k++) r->faults[k] = (uint64_t)k * 1000003u;
    r->has_violation = 1;
    snprintf(r->checker, sizeof(r->checker), "linearizability");
    r->at_us = 123456789;
    snprintf(r->message, sizeof(r->message), "quote \" backslash \\ slash / tilde ~ end");
    snprintf(r->reproducer, sizeof(r->reproducer), "/tmp/a b/swarm-7.scn");
    snprintf(r->reproduce, sizeof(r->reproduce), "alichain-sim swarm --seeds 1 --first 7");
    snprintf(r->scenario, sizeof(r->scenario), "# shrunk\nseed 7\nat 1s o1:\tclientA Ann Bob 5\n");
}

/* 1 when a, written, holds `needle` (NULL: anything) and parses back to the same record. */
static int round_trips(const jsonl_record_t *a, const char *needle) {
    static jsonl_record_t b;
    static char buf[LINE_BYTES];
    char err[256];
    size_t n = write_line(a, buf, sizeof(buf));
    if (n == 0 || (needle != NULL && strstr(buf, needle) == NULL)) return 0;
    return jsonl_parse(buf, n, &b, err, sizeof(err)) == 0 && same(a, &b);
}

TEST(test_seed_line_round_trips) {
    static jsonl_record_t a;
    seed_record(&a);
    CHECK(round_trips(&a, "\"violation\":{\"checker\":\"linearizability\""));
    a.verdict = JSONL_PASS;   /* a pass has no violation and no reproducer */
    a.has_violation = 0;
    a.checker[0] = a.message[0] = a.reproducer[0] = a.reproduce[0] = a.scenario[0] = '\0';
    a.at_us = 0;
    CHECK(round_trips(&a, "\"violation\":null,\"reproducer\":null,\"reproduce\":null}"));
}

static void run_record(jsonl_record_t *r, uint64_t first, uint64_t seeds) {
    memset(r, 0, sizeof(*r));
    r->kind = JSONL_RUN;
    snprintf(r->commit, sizeof(r->commit), "unknown");
    r->first = first;
    r->seeds = seeds;
}

TEST(test_run_line_round_trips_with_and_without_block) {
    static jsonl_record_t a;
    run_record(&a, 30000, 10000);
    a.has_block = 1;
    a.block = 3;
    a.block_seeds = 10000;
    snprintf(a.mutant, sizeof(a.mutant), "same-balance");
    CHECK(round_trips(&a, "\"block\":3,\"block_seeds\":10000,\"mutant\":\"same-balance\""));
    a.has_block = 0;
    a.block = a.block_seeds = 0;
    a.mutant[0] = '\0';
    CHECK(round_trips(&a, "\"block\":null,\"block_seeds\":null,\"mutant\":null"));
}

/* compare --generated's lines: the run line's mode, a seed's "compare" object, the verdict
 * inconclusive (only on a compare seed). */
TEST(test_compare_lines_round_trip) {
    static jsonl_record_t a, r;
    char err[256];
    run_record(&a, 0, 40);
    a.compare = 1;
    CHECK(round_trips(&a, "\"mutant\":null,\"mode\":\"compare\"}"));
    seed_record(&a);
    a.has_compare = 1;
    a.cmp_ops = 9;
    a.cmp_output_compared = 5;
    a.cmp_differences = 4;
    a.cmp_ledger_compared = 1;
    a.cmp_model_checked = 3;
    a.cmp_model_rejected = 1;
    snprintf(a.cmp_first_difference, sizeof(a.cmp_first_difference), "op o5: sim exit 1, real exit 0: DIFFERENT");
    CHECK(round_trips(&a, "\"compare\":{\"ops\":9,\"output_compared\":5,\"differences\":4,\"ledger_compared\":1,"
                          "\"first_difference\":\"op o5: sim exit 1, real exit 0: DIFFERENT\",\"why\":null,"
                          "\"model_checked\":3,\"model_rejected\":1}"));
    { /* a line written before the model counts were added: they read 0 */
        static char old[LINE_BYTES];
        CHECK(write_line(&a, old, sizeof(old)) > 0);
        char *cut = strstr(old, ",\"model_checked\"");
        CHECK(cut != NULL);
        if (cut != NULL) memcpy(cut, "}}", 3); /* the compare object and the line end there, as before */
        CHECK_EQ(jsonl_parse(old, strlen(old), &r, err, sizeof(err)), 0);
        CHECK(r.cmp_ops == 9 && r.cmp_model_checked == 0 && r.cmp_model_rejected == 0);
    }
    a.verdict = JSONL_INCONCLUSIVE;
    a.has_violation = 0;
    snprintf(a.cmp_why, sizeof(a.cmp_why), "faults landed late: line 9 partition +30 ms");
    CHECK(round_trips(&a, "\"verdict\":\"inconclusive\""));
    a.has_compare = 0;   /* a swarm seed is never inconclusive */
    static char buf[LINE_BYTES];
    size_t n = write_line(&a, buf, sizeof(buf));
    CHECK_EQ(jsonl_parse(buf, n, &r, err, sizeof(err)), -1);
    CHECK(strstr(err, "inconclusive seed that is no compare") != NULL);
    const char *mode = "{\"format\":\"alichain-swarm\",\"v\":1,\"type\":\"run\",\"commit\":\"c\","
                       "\"first\":0,\"seeds\":2,\"block\":null,\"block_seeds\":null,\"mutant\":null,\"mode\":\"x\"}";
    CHECK_EQ(jsonl_parse(mode, strlen(mode), &r, err, sizeof(err)), -1);
    CHECK(strstr(err, "unknown mode") != NULL);
}

TEST(test_control_and_high_bytes_are_escaped_and_read_back_as_question_marks) {
    static jsonl_record_t a, b;
    static char buf[LINE_BYTES];
    char err[256];
    seed_record(&a);
    snprintf(a.message, sizeof(a.message), "tab\there nl\nthere \x01 \xc3\xa9");
    size_t n = write_line(&a, buf, sizeof(buf));
    for (size_t i = 0; i < n; i++) CHECK((unsigned char)buf[i] >= 0x20 && (unsigned char)buf[i] < 0x7f);
    CHECK(strstr(buf, "tab\\there nl\\nthere \\u0001 \\u00c3\\u00a9") != NULL);
    CHECK_EQ(jsonl_parse(buf, n, &b, err, sizeof(err)), 0);
    CHECK_STR(b.message, "tab?here nl?there ? ??");
}

TEST(test_refusals_name_the_reason) {
    static jsonl_record_t r;
    char err[256];
    const char *run = "{\"format\":\"alichain-swarm\",\"v\":1,\"type\":\"run\",\"commit\":\"c\","
                      "\"first\":18446744073709551615,\"seeds\":2,\"block\":null,\"block_seeds\":null,"
                      "\"mutant\":null}";
    CHECK_EQ(jsonl_parse(run, strlen(run), &r, err, sizeof(err)), -1);   /* past UINT64_MAX */
    CHECK(strstr(err, "no range of seeds") != NULL);
    const char *half = "{\"format\":\"alichain-swarm\",\"v\":1,\"type\":\"run\",\"commit\":\"c\","
                       "\"first\":0,\"seeds\":2,\"block\":1,\"block_seeds\":null,\"mutant\":null}";
    CHECK_EQ(jsonl_parse(half, strlen(half), &r, err, sizeof(err)), -1);
    CHECK(strstr(err, "must both be null or both numbers") != NULL);
    const char *kind = "{\"format\":\"alichain-swarm\",\"v\":1,\"type\":\"other\",\"commit\":\"c\"}";
    CHECK_EQ(jsonl_parse(kind, strlen(kind), &r, err, sizeof(err)), -1);
    CHECK(strstr(err, "unknown type") != NULL);
    CHECK_EQ(jsonl_parse("{", 1, &r, err, sizeof(err)), -1);
    CHECK_EQ(jsonl_parse("", 0, &r, err, sizeof(err)), -1);
}

/* Changes a few bytes of a good line, or cuts it, or splices a token in. */
static size_t mutate(prng_t *p, const char *good, size_t n, char *out) {
    static const char *const tokens[] = {"{", "}", "\"", "\\", ",", ":", "null", "0", "01",
                                         "18446744073709551616", "-", "[", "\\u00", "{\"a\":{"};
    memcpy(out, good, n);
    uint64_t kind = prng_below(p, 3);
    if (kind == 0) return (size_t)prng_below(p, n + 1);   /* cut */
    if (kind == 1) {                                     /* flip bytes */
        for (uint64_t k = 0, m = 1 + prng_below(p, 4); k < m; k++)
            out[prng_below(p, n)] = (char)prng_below(p, 256);
        return n;
    }
    const char *t = tokens[prng_below(p, sizeof(tokens) / sizeof(tokens[0]))];   /* splice */
    size_t at = (size_t)prng_below(p, n + 1), tl = strlen(t);
    memmove(out + at + tl, good + at, n - at);
    memcpy(out + at, t, tl);
    return n + tl;
}

TEST(test_mutated_lines_parse_or_are_refused_and_what_parses_is_stable) {
    static jsonl_record_t a, b, c;
    static char good[LINE_BYTES], bad[LINE_BYTES + 64], again[LINE_BYTES];
    char err[256];
    prng_t p;
    prng_init(&p, MUTATION_SEED);
    seed_record(&a);
    size_t n = write_line(&a, good, sizeof(good));
    int parsed = 0, refused = 0;
    for (int round = 0; round < MUTATION_ROUNDS; round++) {
        size_t m = mutate(&p, good, n, bad);
        err[0] = '\0';
        if (jsonl_parse(bad, m, &b, err, sizeof(err)) != 0) {
            CHECK(err[0] != '\0');
            refused++;
            continue;
        }
        parsed++;
        size_t k = write_line(&b, again, sizeof(again));
        CHECK(k > 0);
        CHECK_EQ(jsonl_parse(again, k, &c, err, sizeof(err)), 0);
        CHECK(same(&b, &c));
    }
    CHECK(parsed > 0);
    CHECK(refused > 0);
}

/* The additive fields of version 1: the run line's host and attempt, a failing seed's
 * carried scenario (newlines and tabs kept there, and only there); absent when unset; a
 * scenario too long to fit a line is left out, the rest of the line kept. */
TEST(test_origin_and_carried_scenario_round_trip_and_are_additive) {
    static jsonl_record_t a, b;
    static char buf[LINE_BYTES];
    char err[256];
    run_record(&a, 0, 10);
    snprintf(a.host, sizeof(a.host), "node-7.example");
    snprintf(a.attempt, sizeof(a.attempt), "slurm job 41 restart 1");
    CHECK(round_trips(&a, "\"host\":\"node-7.example\",\"attempt\":\"slurm job 41 restart 1\"}"));
    a.host[0] = a.attempt[0] = '\0';
    size_t n = write_line(&a, buf, sizeof(buf));
    CHECK(n > 0 && strstr(buf, "host") == NULL && strstr(buf, "attempt") == NULL);
    seed_record(&a);
    CHECK(round_trips(&a, "\"scenario\":\"# shrunk\\nseed 7\\nat 1s o1:\\tclientA Ann Bob 5\\n\"}"));
    a.scenario[0] = '\0';
    n = write_line(&a, buf, sizeof(buf));
    CHECK(n > 0 && strstr(buf, "scenario") == NULL);
    /* too long once escaped (every byte a newline: two bytes each): left out */
    memset(a.scenario, '\n', JSONL_SCENARIO_LINE_BYTES / 2);
    a.scenario[JSONL_SCENARIO_LINE_BYTES / 2] = '\0';
    n = write_line(&a, buf, sizeof(buf));
    CHECK(n > 0 && strstr(buf, "scenario") == NULL);
    CHECK_EQ(jsonl_parse(buf, n, &b, err, sizeof(err)), 0);
    /* a newline in a one-line field reads back as '?' */
    const char *line = "{\"format\":\"alichain-swarm\",\"v\":1,\"type\":\"run\",\"commit\":\"a\\nb\",\"first\":0,"
                       "\"seeds\":1,\"block\":null,\"block_seeds\":null,\"mutant\":null,\"host\":\"h\\tx\"}";
    CHECK_EQ(jsonl_parse(line, strlen(line), &b, err, sizeof(err)), 0);
    CHECK(strcmp(b.commit, "a?b") == 0 && strcmp(b.host, "h?x") == 0);
    /* the wrong type is refused */
    const char *bad = "{\"format\":\"alichain-swarm\",\"v\":1,\"type\":\"run\",\"commit\":\"a\",\"first\":0,"
                      "\"seeds\":1,\"block\":null,\"block_seeds\":null,\"mutant\":null,\"attempt\":3}";
    CHECK(jsonl_parse(bad, strlen(bad), &b, err, sizeof(err)) != 0 && strstr(err, "attempt") != NULL);
}

int main(void) {
    RUN(test_origin_and_carried_scenario_round_trip_and_are_additive);
    RUN(test_seed_line_round_trips);
    RUN(test_run_line_round_trips_with_and_without_block);
    RUN(test_compare_lines_round_trip);
    RUN(test_control_and_high_bytes_are_escaped_and_read_back_as_question_marks);
    RUN(test_refusals_name_the_reason);
    RUN(test_mutated_lines_parse_or_are_refused_and_what_parses_is_stable);
    return CHECK_DONE();
}
