/* test_grow.c — grow_array (core/grow.h), the one growth helper of core: it grows from
 * nothing, doubles, keeps the contents, and refuses a size that overflows without
 * touching the array. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "grow.h"

TEST(grows_from_nothing_and_doubles) {
    int *a = NULL;
    size_t cap = 0;
    CHECK_EQ(grow_array(&a, &cap, 1, sizeof(int)), AC_OK);
    CHECK(a != NULL);
    CHECK_EQ(cap, GROW_CAP_INITIAL);
    for (int i = 0; i < GROW_CAP_INITIAL; i++) a[i] = i * 7;
    CHECK_EQ(grow_array(&a, &cap, GROW_CAP_INITIAL, sizeof(int)), AC_OK); /* fits: no change */
    CHECK_EQ(cap, GROW_CAP_INITIAL);
    CHECK_EQ(grow_array(&a, &cap, GROW_CAP_INITIAL + 1, sizeof(int)), AC_OK);
    CHECK_EQ(cap, 2 * GROW_CAP_INITIAL);
    CHECK_EQ(grow_array(&a, &cap, 5 * GROW_CAP_INITIAL, sizeof(int)), AC_OK); /* 2x until enough */
    CHECK_EQ(cap, 8 * GROW_CAP_INITIAL);
    for (int i = 0; i < GROW_CAP_INITIAL; i++) CHECK_EQ(a[i], i * 7);
    free(a);
}

TEST(an_overflowing_size_changes_nothing) {
    char *a = NULL;
    size_t cap = 0;
    CHECK_EQ(grow_array(&a, &cap, 10, 1), AC_OK);
    memcpy(a, "abcdefghi", 10);
    char *before = a;
    CHECK_EQ(grow_array(&a, &cap, SIZE_MAX, 1), AC_ENOMEM);            /* doubling overflows */
    CHECK_EQ(grow_array(&a, &cap, SIZE_MAX / 8 + 1, 16), AC_ENOMEM);   /* bytes overflow */
    CHECK(a == before);
    CHECK_EQ(cap, GROW_CAP_INITIAL);
    CHECK_STR(a, "abcdefghi");
    free(a);
}

int main(void) {
    RUN(grows_from_nothing_and_doubles);
    RUN(an_overflowing_size_changes_nothing);
    return CHECK_DONE();
}
