/* drive.c — draining an outbox in a real process (see drive.h). Screen lines are written
 * whole with their '\n' to a line-buffered stdout, so they appear in effect order. */
#include "drive.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRIVE_ERR_BYTES 512

static void drive_vwarn(const char *program, const char *fmt, va_list ap) {
    char line[DRIVE_ERR_BYTES];
    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(stderr, "%s: %s\n", program, line);
}

void drive_warn(const char *program, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    drive_vwarn(program, fmt, ap);
    va_end(ap);
}

void drive_die(const char *program, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    drive_vwarn(program, fmt, ap);
    va_end(ap);
    fflush(stdout);
    exit(code);
}

void drive_warn_limited(const char *program, drive_limiter_t *lim, uint64_t now_us,
                        const char *fmt, ...) {
    if (lim->printed && now_us - lim->last_us < DRIVE_WARN_INTERVAL_US) {
        lim->suppressed++;
        return;
    }
    char line[DRIVE_ERR_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (lim->suppressed > 0)
        fprintf(stderr, "%s: %s (and %llu more like it in the last second)\n", program, line,
                (unsigned long long)lim->suppressed);
    else fprintf(stderr, "%s: %s\n", program, line);
    lim->printed = 1;
    lim->last_us = now_us;
    lim->suppressed = 0;
}

void drive_drain(const drive_t *d, outbox_t *o) {
    if (o->failed) drive_die(d->program, d->fatal_exit_code, "out of memory in the core");
    for (size_t i = 0; i < o->fx_count; i++) {
        const fx_t *f = &o->fx[i];
        const uint8_t *bytes = outbox_bytes(o, f);
        if (f->kind == FX_STDOUT) {
            fwrite(bytes, 1, f->data_len, stdout);
            fputc('\n', stdout);
        } else if (f->kind == FX_STDERR) {
            /* prefixed with the program's name, unless the core already did */
            size_t plen = strlen(d->program);
            int named = f->data_len > plen + 1 && memcmp(bytes, d->program, plen) == 0 &&
                        bytes[plen] == ':';
            fprintf(stderr, "%s%s%.*s\n", named ? "" : d->program, named ? "" : ": ",
                    (int)f->data_len, (const char *)bytes);
        } else {
            char err[DRIVE_ERR_BYTES] = "";
            if (d->on_fx(d->ctx, o, f, err, sizeof(err)) < 0)
                drive_die(d->program, d->fatal_exit_code, "%s", err);
        }
    }
    outbox_clear(o);
}
