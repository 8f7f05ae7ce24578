/* grow.c — grow_array (grow.h): doubling growth of a caller-owned heap array, with the
 * size_t overflow checks in one place. */
#include "grow.h"

#include <stdlib.h>
#include <string.h>

int grow_array(void *array_pp, size_t *cap, size_t need, size_t elem) {
    AC_ASSERT(array_pp != NULL && cap != NULL && elem > 0);
    if (need <= *cap) return AC_OK;
    size_t c = *cap > GROW_CAP_INITIAL ? *cap : GROW_CAP_INITIAL;
    while (c < need) { /* at most ~64 doublings: bounded */
        if (c > SIZE_MAX / 2) return AC_ENOMEM;
        c *= 2;
    }
    if (c > SIZE_MAX / elem) return AC_ENOMEM;
    void *old;
    memcpy(&old, array_pp, sizeof(old)); /* *array_pp is a T *, read without type punning */
    void *p = realloc(old, c * elem);
    if (p == NULL) return AC_ENOMEM;
    memcpy(array_pp, &p, sizeof(p));
    *cap = c;
    return AC_OK;
}
