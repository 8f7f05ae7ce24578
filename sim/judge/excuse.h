/* excuse.h — the one rule for what excuses an outcome, shared by the simulator (world/) and
 * real mode (real/): an unavailable answer (exit 3) and a late one are excused only by a
 * fault that actually touched the system while the operation could be affected. Drivers
 * feed touches as they observe them; the rule and the report's `touches:` and `vacuous:`
 * lines live here, so both drivers judge by the same words. See docs/SIMULATOR.md. */
#ifndef ALICHAIN_JUDGE_EXCUSE_H
#define ALICHAIN_JUDGE_EXCUSE_H

#include <stdint.h>
#include <stdio.h>

#include "scenario/scenario.h"

#define EXCUSE_LOSS_CALM_PPM 50000       /* drops on a link losing at most 5%: retransmission copes */
#define EXCUSE_DELAY_DIVISOR 8           /* a datagram or sync slower than timeout/8 touches */
#define EXCUSE_TCP_CALM_DELAY_US 1000000 /* a client segment slower than 1 s touches */
#define EXCUSE_LOOKBACK_TIMEOUTS 3       /* a touch up to 3 x timeout before an op still excuses it */
#define EXCUSE_LIVENESS_SLACK_US 2000000 /* default liveness bound = 4 x timeout + this */
#define EXCUSE_NODES_MAX 8               /* nodes an interval touch may name (SIM_NODES fits) */
#define EXCUSE_SETTINGS (-1)             /* a touch's source: the scenario's settings at time 0 */

_Static_assert(SIM_NODES <= EXCUSE_NODES_MAX, "every node fits the open-interval table");

/* What counts as a touch. Points (with a duration) unless marked as an interval. */
typedef enum {
    TOUCH_LOST = 0,  /* a datagram lost on a link whose loss exceeds EXCUSE_LOSS_CALM_PPM */
    TOUCH_CUT,       /* a datagram dropped by a partition */
    TOUCH_LATE,      /* a datagram delivered more than timeout/8 after it was sent */
    TOUCH_SLOW_SYNC, /* a disk sync that took more than timeout/8 */
    TOUCH_STALLED,   /* a TCP segment or SYN held back by a partition, or slower than 1 s */
    TOUCH_DOWN,      /* interval: a node down (crash until restart) */
    TOUCH_PAUSED,    /* interval: a node paused (pause until resume) */
    TOUCH_DISK_ERROR,/* a write or sync of an append the disk failed (ENOSPC, EIO) */
    TOUCH_KINDS
} touch_kind_t;

extern const char *const touch_kind_names[TOUCH_KINDS];

typedef struct {
    uint64_t lookback_us, liveness_us, late_us; /* from the scenario's timeout */
    uint64_t last_end_us;     /* the latest end of any touch so far (valid when touched) */
    int touched;              /* any touch so far */
    uint32_t open_count;      /* interval touches in progress */
    int16_t open_source[TOUCH_KINDS][EXCUSE_NODES_MAX]; /* INT16_MIN: not open */
    uint64_t kind_count[TOUCH_KINDS];
    uint64_t total;           /* every touch so far (per-operation counts are differences) */
    uint64_t drawn;           /* ... of them, those a random draw decided: datagrams lost or
                               * late on a lossy or slow link (TOUCH_LOST, TOUCH_LATE). The
                               * two drivers draw differently, so an outcome they decided is
                               * chance, not a property of the programs (compare) */
    const scenario_t *scn;
    uint64_t *step_touches;   /* per step index: touches attributed to it */
    uint8_t *step_fault;      /* per step index: 1 = it set a fault that could touch */
    uint64_t settings_touches;
    uint8_t settings_fault;   /* the time-0 settings could touch */
} excuse_t;

/* Prepares ex for one run of s (not copied: it must outlive ex). Returns 0 or AC_ENOMEM. */
int excuse_init(excuse_t *ex, const scenario_t *s);
void excuse_free(excuse_t *ex);

/* 1 when a link with these settings may touch: loss above the calm bound, or a worst
 * one-way delay (tripled by reordering) above late_us. */
int excuse_udp_may_touch(const sim_udp_t *u, uint64_t late_us);
/* 1 when any part of f may touch (UDP links to and from backends, disks, client links). */
int excuse_faults_may_touch(const excuse_t *ex, const sim_faults_t *f);

/* Step index `step` (or EXCUSE_SETTINGS) has put in force a fault that could touch: the
 * report names it vacuous if nothing is ever attributed to it. */
void excuse_fault(excuse_t *ex, int step);
/* count touches of `kind` from `source` somewhere in [from_us, to_us]. */
void excuse_touch(excuse_t *ex, touch_kind_t kind, int source, uint64_t from_us, uint64_t to_us,
                  uint64_t count);
/* An interval touch (TOUCH_DOWN, TOUCH_PAUSED) of node begins or ends; a begin while open
 * and an end while closed are ignored. */
void excuse_begin(excuse_t *ex, touch_kind_t kind, int node, int source, uint64_t at_us);
void excuse_end(excuse_t *ex, touch_kind_t kind, int node, uint64_t at_us);

/* Asked when an operation that started at start_us ends (or the run ends), after every
 * touch up to then was fed: 1 when availability was owed — no touch lies in
 * [start_us - lookback, now] — 0 when excused. */
int excuse_owed(const excuse_t *ex, uint64_t start_us);
/* The time by which that operation had to end: liveness after the later of its start and
 * the last touch so far; UINT64_MAX while an interval touch is open. */
uint64_t excuse_bound_us(const excuse_t *ex, uint64_t start_us);

/* Prints "touches: lost=N cut=N ..." and, when a fault step touched nothing,
 * "vacuous: line L kind, ..." (they excuse nothing). */
void excuse_report(const excuse_t *ex, FILE *f);

#endif
