/* fuzz_sim.c — libFuzzer target for the whole system under the simulator: the input bytes
 * choose a small scenario (blocks, client operations, and the fault schedule: loss,
 * duplication, reordering, partitions, crashes, restarts, torn writes) through
 * scenario_from_bytes(), and one sim_run() plays it. Any checker violation (conservation,
 * serials, confirmed transfers, linearizability, liveness) aborts with the scenario text;
 * the same input must also replay to the same trace (determinism). Inputs that start with
 * "#scenario" are scenario text instead (how reproducers are kept). */
#include <string.h>

#include "fuzz.h"
#include "world/sim.h"

#define FUZZ_SIM_EVENTS_MAX 2000000ull /* per run: keeps one input well under a second */
/* An input starting with this line is scenario text (a comment line of the scenario
 * language), run as written: reproducers are kept that way in fuzz/regress/fuzz_sim/,
 * because the scenario scenario_from_bytes() builds from given bytes may depend on the
 * compiler (see docs/FUZZING.md). */
#define FUZZ_SIM_TEXT "#scenario\n"

static void sim_once(const scenario_t *s, sim_result_t *res) {
    sim_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.events_max = FUZZ_SIM_EVENTS_MAX;
    opts.repro = "fuzz_sim <this input>";
    int rc = sim_run(s, &opts, res);
    if (res->violation_count > 0 || rc < 0) {
        fprintf(stderr, "fuzz_sim: rc %d, %u violation(s): %s\nscenario:\n", rc,
                res->violation_count, res->first_failure);
        scenario_print(s, stderr);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static scenario_t s;
    static sim_result_t first, again;
    if (size >= sizeof FUZZ_SIM_TEXT - 1 && memcmp(data, FUZZ_SIM_TEXT, sizeof FUZZ_SIM_TEXT - 1) == 0) {
        char err[160]; /* a scenario written out: the same run whatever compiled gen.c */
        if (scenario_parse((const char *)data, size, &s, err, sizeof err) != 0) return 0;
    } else {
        FUZZ_CHECK(scenario_from_bytes(data, size, &s) == 0);
    }
    if (getenv("FUZZ_TRACE") != NULL) scenario_print(&s, stderr); /* what the bytes chose */
    sim_once(&s, &first);
    sim_once(&s, &again);
    if (getenv("FUZZ_TRACE") != NULL)
        fprintf(stderr, "ops %u (ok %u, refused %u, failed %u), events %llu; first failure: %s\n",
                first.ops, first.ops_ok, first.ops_refused, first.ops_failed,
                (unsigned long long)first.events, first.first_failure);
    FUZZ_CHECK(first.trace_hash == again.trace_hash && first.events == again.events);
    scenario_free(&s);
    return 0;
}
