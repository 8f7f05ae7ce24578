/* fuzz_scenario.c — libFuzzer target for the scenario-file parser (sim/scenario/scenario.c). The
 * input is scenario text. A refused text must say which line ("line N: ..."); an accepted
 * one must print (scenario_print) as text that parses again and prints the very same way,
 * and a deep copy must print the same too. Nothing is run. */
#include <string.h>

#include "fuzz.h"
#include "scenario/scenario.h"

/* Prints s into a heap string (*len bytes); the caller frees it. */
static char *scenario_text(const scenario_t *s, size_t *len) {
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(scenario_print(s, f) == 0);
    FUZZ_CHECK(fclose(f) == 0);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static scenario_t s1, s2, s3;
    char err[160];
    if (scenario_parse((const char *)data, size, &s1, err, sizeof err) != 0) {
        FUZZ_CHECK(strncmp(err, "line ", 5) == 0);
        FUZZ_CHECK(s1.step_count == 0 && s1.expect_count == 0); /* freed and empty */
        return 0;
    }
    size_t n1 = 0, n2 = 0, n3 = 0;
    char *t1 = scenario_text(&s1, &n1);
    int rc = scenario_parse(t1, n1, &s2, err, sizeof err);
    if (rc != 0) fprintf(stderr, "printed scenario does not parse: %s\n%s", err, t1);
    FUZZ_CHECK(rc == 0);
    char *t2 = scenario_text(&s2, &n2);
    FUZZ_CHECK(n1 == n2 && memcmp(t1, t2, n1) == 0);
    FUZZ_CHECK(s2.step_count == s1.step_count && s2.expect_count == s1.expect_count);
    FUZZ_CHECK(scenario_copy(&s3, &s1) == 0);
    char *t3 = scenario_text(&s3, &n3);
    FUZZ_CHECK(n1 == n3 && memcmp(t1, t3, n1) == 0);
    free(t1);
    free(t2);
    free(t3);
    scenario_free(&s1);
    scenario_free(&s2);
    scenario_free(&s3);
    return 0;
}
