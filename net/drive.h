/* drive.h — carrying out a core outbox (outbox.h) in a real process: screen lines to
 * stdout, diagnostics to stderr with the program's name, everything else handed to the
 * main's own handler, in order; plus the fatal-error and rate-limited-warning helpers. */
#ifndef ALICHAIN_NET_DRIVE_H
#define ALICHAIN_NET_DRIVE_H

/* Every net main includes this header. The planted bugs of core/mutant.h are for the
 * simulator's checkers only (make sim-mutants); a real program must never carry them. */
#if defined(ALICHAIN_MUTANTS)
#error "alichain: the real programs must not be built with ALICHAIN_MUTANTS (planted bugs)"
#endif

#include <stdint.h>

#include "outbox.h"

#define DRIVE_WARN_INTERVAL_US 1000000   /* a rate-limited warning: at most one a second */

/* A main's handler of one effect (never FX_STDOUT/FX_STDERR). Returns 0, or -1 with a
 * one-line reason in err (fatal). */
typedef int (*drive_fx_fn)(void *ctx, const outbox_t *o, const fx_t *f, char *err,
                           size_t err_cap);

typedef struct {
    const char *program;     /* stderr prefix, e.g. "serverA" */
    int fatal_exit_code;     /* exit code when draining fails (a client's differs) */
    drive_fx_fn on_fx;
    void *ctx;
} drive_t;

/* Carries out every effect of o in order, then clears it. An outbox that ran out of
 * memory, or a handler that fails, is fatal: one line on stderr, exit(fatal_exit_code). */
void drive_drain(const drive_t *d, outbox_t *o);

/* "<program>: <message>" on stderr. */
void drive_warn(const char *program, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* drive_warn, then exit(code) (stdout flushed). */
_Noreturn void drive_die(const char *program, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A warning that may repeat at line rate (stray datagrams): at most one line per
 * DRIVE_WARN_INTERVAL_US, saying how many were suppressed since the last one. */
typedef struct {
    uint64_t last_us;
    uint64_t suppressed;
    int printed;
} drive_limiter_t;
void drive_warn_limited(const char *program, drive_limiter_t *lim, uint64_t now_us,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
