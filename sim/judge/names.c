/* names.c — the judge's name table (names.h): a user name to a dense index in O(1), the same
 * for history.c's users and disks.c's balances. */
#include "names.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int names_grow_slots(names_t *t) {
    uint32_t cap = t->slot_cap ? t->slot_cap * 2 : 64;
    uint32_t *s = calloc(cap, sizeof(*s));
    if (s == NULL) return AC_ENOMEM;
    for (uint32_t i = 0; i < t->count; i++) {
        uint32_t p = (uint32_t)name_hash(t->names[i]) & (cap - 1);
        while (s[p]) p = (p + 1) & (cap - 1);
        s[p] = i + 1;
    }
    free(t->slots);
    t->slots = s;
    t->slot_cap = cap;
    return 0;
}

int64_t names_index(const names_t *t, const char *name) {
    if (t->slot_cap == 0) return -1;
    uint32_t p = (uint32_t)name_hash(name) & (t->slot_cap - 1);
    while (t->slots[p]) { /* the load stays under one half: an empty slot ends the probe */
        if (strcmp(t->names[t->slots[p] - 1], name) == 0) return t->slots[p] - 1;
        p = (p + 1) & (t->slot_cap - 1);
    }
    return -1;
}

int64_t names_find(names_t *t, const char *name, int create) {
    int64_t i = names_index(t, name);
    if (i >= 0 || !create) return i;
    if ((t->count + 1) * 2 > t->slot_cap && names_grow_slots(t) != 0) return AC_ENOMEM;
    if (t->count == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 32;
        const char **n = realloc(t->names, cap * sizeof(*n));
        if (n == NULL) return AC_ENOMEM;
        t->names = n;
        t->cap = cap;
    }
    t->names[t->count] = name;
    uint32_t p = (uint32_t)name_hash(name) & (t->slot_cap - 1);
    while (t->slots[p]) p = (p + 1) & (t->slot_cap - 1);
    t->slots[p] = t->count + 1;
    return t->count++;
}

void names_free(names_t *t) {
    free(t->names);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}
