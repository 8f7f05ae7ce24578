/* serials.h — one ledger across the three block files: a serial is unique across all of
 * them (SPEC.md "Data"), and this is the one place that tells when it is not. serverM's
 * TXLIST merge and the `alichain-sim check` command walk the sources' ascending serials
 * through serials_merge_next(); serverM's batches, TXLIST and stats jobs also test the
 * backends' (largest serial, count) answers with serials_check_maxima(), which needs no
 * listing at all. A source is an index the caller names (a backend, a file). Pure. */
#ifndef ALICHAIN_SERIALS_H
#define ALICHAIN_SERIALS_H

#include "common.h"

#define SERIALS_SOURCES_MAX 8      /* sources one check compares (BACKEND_COUNT of them) */
#define SERIALS_UNNAMED 0          /* serials_dup_t.serial when only a count proves it */
_Static_assert(BACKEND_COUNT <= SERIALS_SOURCES_MAX, "the backends fit one check");

/* A serial held by two sources (first < second when both are known), or, with serial
 * SERIALS_UNNAMED, proof by counting that some serial is held twice: the sources hold
 * `count` transactions while the largest serial among them is `largest`. */
typedef struct {
    uint64_t serial;
    int first, second;             /* sources; -1 when unnamed */
    uint64_t count, largest;       /* the counting proof (serial == SERIALS_UNNAMED) */
} serials_dup_t;

/* The merge of ascending streams: the serials of every source, smallest first. */
typedef struct {
    uint64_t last;                 /* the serial merged last (0: none yet) */
    int last_source;
} serials_merge_t;

void serials_merge_init(serials_merge_t *m);

/* The next serial of the merge, from source `source`. Returns:
 *   0           serial = last + 1 (or the first serial is 1);
 *   1           a gap: serials last + 1 .. serial - 1 are held by no source (*gap_first,
 *               *gap_last say which); not an error by itself (hand-written blocks);
 *   AC_EDUP     serial equals the last one merged: *dup names it and both sources;
 *   AC_EINVAL   serial is below the last one (the caller's streams do not ascend).
 * Nothing changes on AC_EDUP or AC_EINVAL. */
int serials_merge_next(serials_merge_t *m, uint64_t serial, int source, uint64_t *gap_first,
                       uint64_t *gap_last, serials_dup_t *dup);

/* From what each source answered in answered_mask (bit s: source s): its largest serial
 * (0: empty) and its count of transactions. AC_EDUP when two sources report the same
 * largest serial (named: *dup says which serial and which two), or when the counts add
 * up to more than the largest serial of all (some serial is held twice: serials are
 * positive and distinct, so n of them need a largest of at least n; *dup unnamed).
 * Sound whatever the moments the answers were taken at, as long as serials only ever
 * join the source they were first written to. Returns 0 or AC_EDUP. */
int serials_check_maxima(const uint64_t *largest, const uint64_t *count, int sources,
                         uint32_t answered_mask, serials_dup_t *dup);

/* One line (no newline) saying what *dup found, with the sources named by name[source]
 * (e.g. "serverA", "block1.txt"); MSG_SERIAL_DUP or MSG_SERIAL_DUP_COUNT of messages.h.
 * Returns its length (truncated to cap - 1; cap > 0). */
size_t serials_dup_format(const serials_dup_t *dup, const char *const *name, char *buf, size_t cap);

#endif
