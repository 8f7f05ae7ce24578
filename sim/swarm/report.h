/* report.h — `alichain-sim report FILE...`: merges the swarm's JSON-lines results (jsonl.h)
 * from any number of machines into one summary: seeds run, missing and duplicated seed
 * ranges, failures grouped by checker and message, speed, virtual time. */
#ifndef ALICHAIN_SIM_REPORT_H
#define ALICHAIN_SIM_REPORT_H

#include <stdint.h>
#include <stdio.h>

#define REPORT_EXIT_PASS 0
#define REPORT_EXIT_FAILED 1     /* some seed failed */
#define REPORT_EXIT_DAMAGED 2    /* damaged input: unreadable, malformed, short, missing or duplicated
                                  * seeds, or results of more than one commit (unless allowed) */

typedef struct {
    const char *const *files;
    int file_count;
    int has_expect;              /* the seeds expected, besides those the run lines declare;
                                  * 0: every seed from the lowest to the highest declared */
    uint64_t expect_first, expect_seeds;
    FILE *out;                   /* the report */
    int allow_mixed;             /* results of several commits merge (else damaged input) */
    const char *scenario_dir;    /* or NULL: where the failing seeds' carried scenarios are
                                  * written (seed-S.scn, compare-S.scn), created when missing */
} report_options_t;

/* Reads every file, prints the report to o->out. Returns REPORT_EXIT_*: damaged input
 * wins over failed seeds (a result with holes in it is not a result). Never aborts on
 * input: every damaged line is named (file:line: reason). */
int report_run(const report_options_t *o);

#endif
