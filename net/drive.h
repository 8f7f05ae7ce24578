/* drive.h — carrying out a core outbox (outbox.h) in a real process: screen lines to
 * stdout, diagnostics to stderr with the program's name, everything else handed to the
 * main's own handler, in order; plus the fatal-error and rate-limited-warning helpers, and
 * the count of dropped datagrams (one line a second at most, never one per datagram). */
#ifndef ALICHAIN_NET_DRIVE_H
#define ALICHAIN_NET_DRIVE_H

/* Every net main includes this header. The planted bugs of core/mutant.h never reach a
 * normal build of the real programs: only `make real-mutants` compiles them with
 * -DALICHAIN_MUTANTS together with -DALICHAIN_REAL_MUTANTS (tests/real/test_real.py checks). */
#if defined(ALICHAIN_MUTANTS) && !defined(ALICHAIN_REAL_MUTANTS)
#error "alichain: the real programs must not be built with ALICHAIN_MUTANTS (planted bugs) outside make real-mutants (-DALICHAIN_REAL_MUTANTS)"
#endif
#if defined(ALICHAIN_REAL_MUTANTS) && !defined(ALICHAIN_MUTANTS)
#error "alichain: -DALICHAIN_REAL_MUTANTS needs -DALICHAIN_MUTANTS"
#endif

#include <stdint.h>

#include "outbox.h"

#define DRIVE_WARN_INTERVAL_US 1000000   /* a rate-limited warning: at most one a second */
#define DRIVE_DROP_REASONS_MAX 4          /* reasons told apart in one report; more: "other" */
#define DRIVE_DROP_REASON_BYTES 96

/* Datagrams dropped (stray, oversized, malformed, unsendable) are counted, not reported one
 * by one: the first drop opens a one-second window, and when it ends one line reports it,
 * "dropped N datagrams in the last second: <reason> (n), ...". */
typedef struct {
    uint64_t window_start_us;    /* of the first drop not yet reported */
    uint64_t count;              /* drops not yet reported; 0: no window open */
    uint64_t other;              /* of count: drops whose reason did not fit the table */
    int reasons;
    uint64_t reason_count[DRIVE_DROP_REASONS_MAX];
    char reason[DRIVE_DROP_REASONS_MAX][DRIVE_DROP_REASON_BYTES];
} drive_drops_t;

/* Counts one dropped datagram; the reason (printf-style, e.g. "from 10.0.0.9:4000, not
 * serverM") groups drops in the report. Reports an earlier window that has ended first. */
void drive_drop(const char *program, drive_drops_t *d, uint64_t now_us, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prints the report of the open window once it has lasted a second (or at once when
 * `now` is UINT64_MAX: a stopping program) and closes it. */
void drive_drops_report(const char *program, drive_drops_t *d, uint64_t now_us);
/* When the open window ends (the main's loop wakes then to report it), or UINT64_MAX. */
uint64_t drive_drops_deadline_us(const drive_drops_t *d);

/* A main's handler of one effect (never FX_STDOUT/FX_STDERR). Returns 0, or -1 with a
 * one-line reason in err (fatal). */
typedef int (*drive_fx_fn)(void *ctx, const outbox_t *o, const fx_t *f, char *err,
                           size_t err_cap);

typedef struct {
    const char *program;     /* stderr prefix, e.g. "serverA" */
    int fatal_exit_code;     /* exit code when draining fails (a client's differs) */
    drive_fx_fn on_fx;
    void *ctx;
    drive_drops_t *drops;    /* counts the core's FX_STDERR_DROP lines; NULL: printed */
} drive_t;

/* Carries out every effect of o in order, then clears it. An FX_STDERR line marked
 * FX_STDERR_DROP (outbox_drop) is counted in d->drops (when set) instead of printed. An outbox that
 * ran out of memory, or a handler that fails, is fatal: one line on stderr,
 * exit(fatal_exit_code). */
void drive_drain(const drive_t *d, outbox_t *o);

/* The real-mutants build only: ALICHAIN_MUTANT=NAME (core/mutant.h's names) plants that bug,
 * an unknown name is fatal. In every other build it does nothing and reads no variable. */
void drive_mutant_select(const char *program);

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
