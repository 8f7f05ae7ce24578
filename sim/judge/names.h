/* names.h — user names to dense indexes 0, 1, 2, ... for the judge's checkers, so a user's
 * balance or history is found in O(1) instead of by scanning the disks (open addressing over
 * FNV-1a). The table keeps the caller's pointers: those strings must outlive it. */
#ifndef ALICHAIN_SIM_NAMES_H
#define ALICHAIN_SIM_NAMES_H

#include <stdint.h>

typedef struct {
    const char **names;   /* [count]: index -> name (the caller's string) */
    uint32_t count, cap;
    uint32_t *slots;      /* open addressing: index + 1, 0 empty */
    uint32_t slot_cap;    /* a power of two, more than twice count */
} names_t;

/* The index of name; when it is new, -1 (create == 0) or the next index (create != 0; the
 * table then keeps the pointer name). Returns AC_ENOMEM when it cannot grow. */
int64_t names_find(names_t *t, const char *name, int create);
/* The index of name, or -1: a lookup that never adds. */
int64_t names_index(const names_t *t, const char *name);
void names_free(names_t *t);

#endif
