/* serials.c — serials unique across the block files (serials.h): the merge's test for a
 * repeated or missing serial, and the counting test on the backends' largest serials. */
#include "serials.h"

#include <stdio.h> /* snprintf only: core never prints */
#include <string.h>

#include "messages.h"

void serials_merge_init(serials_merge_t *m) {
    AC_ASSERT(m != NULL);
    memset(m, 0, sizeof(*m));
    m->last_source = -1;
}

int serials_merge_next(serials_merge_t *m, uint64_t serial, int source, uint64_t *gap_first,
                       uint64_t *gap_last, serials_dup_t *dup) {
    AC_ASSERT(source >= 0 && source < SERIALS_SOURCES_MAX);
    if (serial < m->last) return AC_EINVAL;
    if (serial == m->last) { /* serial 0 never comes: a parsed serial is positive */
        memset(dup, 0, sizeof(*dup));
        dup->serial = serial;
        dup->first = m->last_source < source ? m->last_source : source;
        dup->second = m->last_source < source ? source : m->last_source;
        return AC_EDUP;
    }
    int gap = serial - m->last > 1;
    if (gap) {
        *gap_first = m->last + 1;
        *gap_last = serial - 1;
    }
    m->last = serial;
    m->last_source = source;
    return gap;
}

int serials_check_maxima(const uint64_t *largest, const uint64_t *count, int sources,
                         uint32_t answered_mask, serials_dup_t *dup) {
    AC_ASSERT(sources > 0 && sources <= SERIALS_SOURCES_MAX);
    memset(dup, 0, sizeof(*dup));
    dup->first = dup->second = -1;
    uint64_t top = 0, total = 0;
    int overflow = 0;
    for (int s = 0; s < sources; s++) {
        if (!(answered_mask & (1u << s))) continue;
        for (int t = s + 1; t < sources; t++) {
            if ((answered_mask & (1u << t)) && largest[s] != 0 && largest[s] == largest[t]) {
                dup->serial = largest[s];
                dup->first = s;
                dup->second = t;
                return AC_EDUP;
            }
        }
        if (largest[s] > top) top = largest[s];
        overflow |= __builtin_add_overflow(total, count[s], &total);
    }
    if (overflow || total > top) {
        dup->serial = SERIALS_UNNAMED;
        dup->count = total;
        dup->largest = top;
        return AC_EDUP;
    }
    return 0;
}

size_t serials_dup_format(const serials_dup_t *dup, const char *const *name, char *buf, size_t cap) {
    AC_ASSERT(cap > 0);
    int n;
    if (dup->serial != SERIALS_UNNAMED) {
        AC_ASSERT(dup->first >= 0 && dup->second >= 0);
        n = snprintf(buf, cap, MSG_SERIAL_DUP, (unsigned long long)dup->serial, name[dup->first],
                     name[dup->second]);
    } else {
        n = snprintf(buf, cap, MSG_SERIAL_DUP_COUNT, (unsigned long long)dup->count,
                     (unsigned long long)dup->largest);
    }
    AC_ASSERT(n >= 0);
    return (size_t)n < cap ? (size_t)n : cap - 1;
}
