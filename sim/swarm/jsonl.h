/* jsonl.h — the swarm's JSON-lines results (format "alichain-swarm", version 1, documented
 * in docs/SCALING.md): one "run" line per swarm, then one "seed" line per seed. The writer
 * (swarm.c) and the strict reader (report.c) share the record below, so they cannot drift. */
#ifndef ALICHAIN_SIM_JSONL_H
#define ALICHAIN_SIM_JSONL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scenario/scenario.h"

#define JSONL_FORMAT "alichain-swarm"
#define JSONL_VERSION 1
#define JSONL_LINE_BYTES_MAX 16384   /* a longer line is damaged input */
#define JSONL_FIELDS_MAX 64          /* fields of one line, nested ones included */
#define JSONL_DEPTH_MAX 2            /* the line's object and one level of objects in it */
#define JSONL_KEY_BYTES 48
#define JSONL_COMMIT_BYTES 64
#define JSONL_NAME_BYTES 64          /* checker, mutant */
#define JSONL_MESSAGE_BYTES 480      /* as sim_result_t.first_failure */
#define JSONL_PATH_BYTES 1024        /* reproducer path, reproduce command */
#define JSONL_HOST_BYTES 128         /* the run line's host and attempt */
#define JSONL_SCENARIO_BYTES 8192    /* a carried scenario's text, NUL included */
#define JSONL_SCENARIO_LINE_BYTES 12288   /* ... escaped; a longer one is not carried */
_Static_assert(JSONL_SCENARIO_LINE_BYTES + 2 * JSONL_PATH_BYTES + 2 * JSONL_MESSAGE_BYTES < JSONL_LINE_BYTES_MAX,
               "a seed line with a carried scenario fits a line");

typedef enum { JSONL_RUN = 0, JSONL_SEED } jsonl_kind_t;

typedef enum {
    JSONL_PASS = 0,
    JSONL_FAIL,
    JSONL_IGNORED,   /* --mutant: fails without the mutant too, so not counted */
    JSONL_INCONCLUSIVE, /* compare: a real fault landed late, the run proves nothing */
    JSONL_VERDICT_COUNT
} jsonl_verdict_t;
extern const char *const jsonl_verdict_names[JSONL_VERDICT_COUNT];

typedef struct {
    jsonl_kind_t kind;
    char commit[JSONL_COMMIT_BYTES];
    /* kind JSONL_RUN: the seeds this run was asked for */
    uint64_t first, seeds;
    int has_block;                   /* 0: "block" and "block_seeds" are null */
    uint64_t block, block_seeds;
    char mutant[JSONL_NAME_BYTES];   /* "" when none (null) */
    int compare;                     /* "mode":"compare" (compare --generated); absent: swarm */
    char host[JSONL_HOST_BYTES];     /* "host": the machine that ran it ("" when absent) */
    char attempt[JSONL_HOST_BYTES];  /* "attempt": which try of the block ("" when absent) */
    /* kind JSONL_SEED */
    uint64_t seed;
    jsonl_verdict_t verdict;
    uint64_t events, virtual_us, wall_us;
    uint64_t faults[FAULT_COUNT];
    int has_violation;               /* 0: "violation" is null */
    char checker[JSONL_NAME_BYTES];
    uint64_t at_us;
    char message[JSONL_MESSAGE_BYTES];
    char reproducer[JSONL_PATH_BYTES];   /* shrunk scenario path, "" when none (null) */
    char reproduce[JSONL_PATH_BYTES];    /* the command that reproduces, "" when none */
    char scenario[JSONL_SCENARIO_BYTES]; /* "scenario": the reproducer's text, carried with the
                                          * results ("" when absent: none, or too long) */
    /* kind JSONL_SEED of a compare run: the "compare" object (absent: a swarm seed) */
    int has_compare;
    uint64_t cmp_ops, cmp_output_compared, cmp_differences, cmp_ledger_compared;
    uint64_t cmp_model_checked;   /* not as text, checked against the model on both sides */
    uint64_t cmp_model_rejected;  /* answers a side's model rejected (both: 0 when absent) */
    char cmp_first_difference[JSONL_MESSAGE_BYTES];  /* "" when none (null) */
    char cmp_why[JSONL_MESSAGE_BYTES];               /* fail without a difference, inconclusive */
} jsonl_record_t;

/* Writes r as one line (newline included). Returns 0, or -1 when f reports an error.
 * host, attempt and scenario are written only when set (additive fields of version 1); a
 * scenario longer than JSONL_SCENARIO_LINE_BYTES escaped is left out. */
int jsonl_write(FILE *f, const jsonl_record_t *r);

/* Reads the file at path (a written reproducer) into r->scenario. Returns 0, or -1 (and
 * r->scenario "") when it cannot be read or does not fit. */
int jsonl_scenario_load(jsonl_record_t *r, const char *path);

/* Parses one line (len bytes, no newline) into r. Returns 0, or -1 with the reason in err:
 * not JSON, not an object, a field missing or of the wrong type, another format or
 * version. Unknown fields are allowed (later minor additions); never reads past len.
 * Strings come back as printable ASCII (other bytes as '?'). Not reentrant (one static
 * parser state: report reads one line at a time). */
int jsonl_parse(const char *line, size_t len, jsonl_record_t *r, char *err, size_t cap);

#endif
