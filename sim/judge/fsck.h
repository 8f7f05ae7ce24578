/* fsck.h — a set of block files judged together, the way `git fsck` judges a repository
 * (`alichain-sim check DIR`): each file read as a restarting backend reads it (core's
 * blockfile_recover: malformed lines and serials repeated in one file with file:line,
 * torn tails, markers), then all of them as one ledger (core's serials_merge_next: a serial
 * in two files, gaps). Images in, report lines out: the caller reads the files. */
#ifndef ALICHAIN_SIM_FSCK_H
#define ALICHAIN_SIM_FSCK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"

#define FSCK_FILES_MAX BACKEND_COUNT
#define FSCK_LINES_MAX 20          /* duplicates or gaps named one by one; then a count */

/* One block file as found on disk. */
typedef struct {
    const char *name;              /* as the report names it, e.g. "block1.txt" */
    const char *img;               /* its bytes */
    size_t len;
    const char *marker;            /* "<name>.appended", NULL when absent */
    size_t marker_len;
    int torn_present;              /* "<name>.torn" exists */
    size_t torn_len;
} fsck_file_t;

typedef struct {
    uint32_t problems;             /* what a backend refuses or repairs, or a serial twice */
    uint32_t notes;                /* worth knowing, not wrong: gaps, markers, no final '\n' */
    uint64_t transactions;         /* loaded from the files that load */
    uint64_t largest;              /* their largest serial */
} fsck_result_t;

/* Judges files[0..n) together; one line per finding on report ("problem: ..." or
 * "note: ..."), then a summary line. Returns 0, or AC_ENOMEM. */
int fsck_blocks(const fsck_file_t *files, int n, FILE *report, fsck_result_t *res);

#endif
