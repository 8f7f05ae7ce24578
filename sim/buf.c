/* buf.c — the simulator's growable byte buffer (buf.h). */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

int buf_reserve(sim_buf_t *b, size_t extra) {
    if (b->len + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) {
        if (cap > SIZE_MAX / 4) return AC_ENOMEM;
        cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (p == NULL) return AC_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int buf_append(sim_buf_t *b, const void *data, size_t len) {
    if (len == 0) return 0;
    int rc = buf_reserve(b, len);
    if (rc != 0) return rc;
    memcpy(b->p + b->len, data, len);
    b->len += len;
    return 0;
}

void buf_free(sim_buf_t *b) {
    free(b->p);
    memset(b, 0, sizeof(*b));
}
