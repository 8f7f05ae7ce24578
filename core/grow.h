/* grow.h — the one growth helper of core: a heap array that doubles until it holds what
 * is needed. Every growable array in core (the outbox, the ledger's arrays, the
 * coordinator's listings and merge tables) grows through it, so the overflow checks and
 * the doubling are written once. */
#ifndef ALICHAIN_GROW_H
#define ALICHAIN_GROW_H

#include "common.h"

#define GROW_CAP_INITIAL 16 /* elements of a first allocation */

/* Makes the array at *array_pp (the address of a `T *`, NULL when nothing is allocated
 * yet) hold at least `need` elements of `elem` bytes; *cap is its capacity in elements.
 * The capacity doubles from max(*cap, GROW_CAP_INITIAL) until it is enough. Returns 0,
 * or AC_ENOMEM when the size overflows size_t or realloc fails: then nothing changed.
 * The caller owns the array (free() it); pointers into it are stale after a growth. */
int grow_array(void *array_pp, size_t *cap, size_t need, size_t elem);

#endif
