/* drive.c — draining an outbox in a real process (see drive.h). Screen lines are written
 * whole with their '\n' to a line-buffered stdout, so they appear in effect order. */
#include "drive.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "mutant.h"
#include "text.h"

#define DRIVE_ERR_BYTES 512

/* One line: what it echoes (a name, a path, a value) has its control characters escaped. */
static void drive_vwarn(const char *program, const char *fmt, va_list ap) {
    char line[DRIVE_ERR_BYTES], shown[DRIVE_ERR_BYTES * 4];
    vsnprintf(line, sizeof(line), fmt, ap);
    text_escape(line, shown, sizeof(shown));
    fflush(stdout); /* stdout is buffered for a loop turn: its lines come first */
    fprintf(stderr, "%s: %s\n", program, shown);
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

void drive_drops_report(const char *program, drive_drops_t *d, uint64_t now_us) {
    if (d->count == 0 || now_us - d->window_start_us < DRIVE_WARN_INTERVAL_US) return;
    char line[DRIVE_ERR_BYTES];
    size_t len = 0;
    len += (size_t)snprintf(line, sizeof(line), "dropped %llu datagram%s in the last second:",
                            (unsigned long long)d->count, d->count == 1 ? "" : "s");
    for (int r = 0; r < d->reasons && len < sizeof(line); r++)
        len += (size_t)snprintf(line + len, sizeof(line) - len, "%s %s (%llu)", r ? "," : "",
                                d->reason[r], (unsigned long long)d->reason_count[r]);
    if (d->other > 0 && len < sizeof(line))
        snprintf(line + len, sizeof(line) - len, ", other reasons (%llu)",
                 (unsigned long long)d->other);
    fprintf(stderr, "%s: %s\n", program, line);
    memset(d, 0, sizeof(*d));
}

uint64_t drive_drops_deadline_us(const drive_drops_t *d) {
    return d->count == 0 ? UINT64_MAX : d->window_start_us + DRIVE_WARN_INTERVAL_US;
}

/* Counts one drop whose reason is already text. */
static void drive_drop_text(const char *program, drive_drops_t *d, uint64_t now_us,
                            const char *reason) {
    drive_drops_report(program, d, now_us); /* a window that has ended */
    if (d->count == 0) d->window_start_us = now_us;
    d->count++;
    for (int r = 0; r < d->reasons; r++) {
        if (strcmp(d->reason[r], reason) == 0) {
            d->reason_count[r]++;
            return;
        }
    }
    if (d->reasons == DRIVE_DROP_REASONS_MAX) {
        d->other++;
        return;
    }
    snprintf(d->reason[d->reasons], DRIVE_DROP_REASON_BYTES, "%s", reason);
    d->reason_count[d->reasons++] = 1;
}

void drive_drop(const char *program, drive_drops_t *d, uint64_t now_us, const char *fmt, ...) {
    char reason[DRIVE_DROP_REASON_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    drive_drop_text(program, d, now_us, reason);
}

void drive_drain(const drive_t *d, outbox_t *o) {
    if (o->failed) drive_die(d->program, d->fatal_exit_code, "out of memory in the core");
    for (size_t i = 0; i < o->fx_count; i++) {
        const fx_t *f = &o->fx[i];
        const uint8_t *bytes = outbox_bytes(o, f);
        if (f->kind == FX_STDOUT) {
            fwrite(bytes, 1, f->data_len, stdout);
            fputc('\n', stdout);
        } else if (f->kind == FX_STDERR && f->arg == FX_STDERR_DROP && d->drops != NULL) {
            /* "dropped a malformed datagram of 9 bytes": counted by reason, not printed */
            char reason[DRIVE_DROP_REASON_BYTES];
            size_t skip = strlen(OUTBOX_DROP_PREFIX);
            AC_ASSERT(f->data_len >= skip);
            size_t n = f->data_len - skip < sizeof(reason) - 1 ? f->data_len - skip
                                                               : sizeof(reason) - 1;
            memcpy(reason, bytes + skip, n);
            reason[n] = '\0';
            drive_drop_text(d->program, d->drops, loop_now_us(), reason);
        } else if (f->kind == FX_STDERR) {
            /* prefixed with the program's name, unless the core already did */
            size_t plen = strlen(d->program);
            int named = f->data_len > plen + 1 && memcmp(bytes, d->program, plen) == 0 &&
                        bytes[plen] == ':';
            fflush(stdout); /* in the order the core emitted them */
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

void drive_mutant_select(const char *program) {
#if defined(ALICHAIN_REAL_MUTANTS)
    const char *name = getenv("ALICHAIN_MUTANT");
    const char *slash = strrchr(program, '/');
    if (slash != NULL) program = slash + 1; /* argv[0]: the name, as in every other line */
    if (name == NULL) return;
    for (int m = 0; m < MUT_COUNT; m++) {
        if (strcmp(mutant_names[m], name) == 0) {
            ac_mutant = (mutant_t)m;
            if (m != MUT_NONE) drive_warn(program, "planted bug \"%s\" (real-mutants build)", name);
            return;
        }
    }
    drive_die(program, 1, "ALICHAIN_MUTANT: unknown planted bug \"%.60s\"", name);
#else
    (void)program;
#endif
}
