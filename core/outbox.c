/* outbox.c — the effect list a core state machine fills and its driver drains.
 * Two growable arrays (effects, payload bytes; grow.h doubles them); an allocation
 * failure is recorded in `failed` rather than crashing, and drivers treat it as a crash. */
#include "outbox.h"

#include <stdarg.h>
#include <stdio.h> /* vsnprintf only: core never prints (make lint bans the stream calls) */
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "text.h"

#define OUTBOX_LINE_BYTES 1024 /* outbox_line formats into this; longer lines are cut */
#define OUTBOX_KEEP_BYTES (4u << 20) /* a payload arena kept across batches, at most */

void outbox_init(outbox_t *o) {
    AC_ASSERT(o != NULL);
    memset(o, 0, sizeof *o);
}

void outbox_free(outbox_t *o) {
    AC_ASSERT(o != NULL);
    free(o->fx);
    free(o->data);
    memset(o, 0, sizeof *o);
}

/* Forgets the effects and the failure flag: once the driver has drained a batch, including
 * noticing `failed`, the next batch starts clean. The memory is kept for the next batch,
 * unless the payload arena grew past OUTBOX_KEEP_BYTES (one event's STATS tables, up to
 * the memory rule's limit, common.h): that much is given back, not held for good. */
void outbox_clear(outbox_t *o) {
    AC_ASSERT(o != NULL);
    o->fx_count = 0;
    o->data_len = 0;
    o->failed = 0;
    if (o->data_cap > OUTBOX_KEEP_BYTES) {
        free(o->data);
        o->data = NULL;
        o->data_cap = 0;
    }
}

fx_t *outbox_push(outbox_t *o, fx_kind_t kind, uint32_t target, uint64_t token,
                  const void *data, size_t len) {
    AC_ASSERT(o != NULL);
    AC_ASSERT(data != NULL || len == 0);
    if (len > SIZE_MAX - o->data_len ||
        grow_array(&o->fx, &o->fx_cap, o->fx_count + 1, sizeof(fx_t)) != AC_OK ||
        grow_array(&o->data, &o->data_cap, o->data_len + len, 1) != AC_OK) {
        o->failed = 1;
        return NULL;
    }
    if (len > 0) memcpy(o->data + o->data_len, data, len);
    fx_t *f = &o->fx[o->fx_count++];
    f->kind = kind;
    f->target = target;
    f->token = token;
    f->arg = 0;
    f->data_off = o->data_len;
    f->data_len = len;
    o->data_len += len;
    return f;
}

/* One formatted line (prefix, then fmt) as an effect of this kind and arg. */
static void outbox_vline(outbox_t *o, fx_kind_t kind, uint64_t arg, const char *prefix,
                         const char *fmt, va_list ap) {
    AC_ASSERT(o != NULL);
    AC_ASSERT(kind == FX_STDOUT || kind == FX_STDERR);
    char buf[OUTBOX_LINE_BYTES];
    size_t at = strlen(prefix);
    AC_ASSERT(at < sizeof buf);
    memcpy(buf, prefix, at);
    size_t len = at + text_vformat(buf + at, sizeof buf - at, fmt, ap);
    fx_t *f = outbox_push(o, kind, 0, 0, buf, len);
    if (f != NULL) f->arg = arg;
}

void outbox_line(outbox_t *o, fx_kind_t kind, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    outbox_vline(o, kind, 0, "", fmt, ap);
    va_end(ap);
}

void outbox_drop(outbox_t *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    outbox_vline(o, FX_STDERR, FX_STDERR_DROP, OUTBOX_DROP_PREFIX, fmt, ap);
    va_end(ap);
}
