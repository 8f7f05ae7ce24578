/* buf.c — the simulator's growable byte buffer (buf.h). */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "grow.h"

int buf_reserve(sim_buf_t *b, size_t extra) {
    if (extra > SIZE_MAX - b->len) return AC_ENOMEM;
    return grow_array(&b->p, &b->cap, b->len + extra, 1);
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
