/* excuse.c — the one rule for excusing an unavailable or late outcome (excuse.h): a log of
 * touches reduced to what the rule needs online (the latest touch end, the intervals still
 * open) plus per-kind and per-step counts for the report. Both drivers call it. */
#include "excuse.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "scenario/anchor.h"

const char *const touch_kind_names[TOUCH_KINDS] = {
    [TOUCH_LOST] = "lost", [TOUCH_CUT] = "cut", [TOUCH_LATE] = "late",
    [TOUCH_SLOW_SYNC] = "slow-sync", [TOUCH_STALLED] = "stalled", [TOUCH_DOWN] = "down",
    [TOUCH_PAUSED] = "paused", [TOUCH_DISK_ERROR] = "disk-error",
};

int excuse_init(excuse_t *ex, const scenario_t *s) {
    memset(ex, 0, sizeof(*ex));
    ex->scn = s;
    uint64_t timeout_us = (uint64_t)s->timeout_ms * 1000u;
    ex->lookback_us = EXCUSE_LOOKBACK_TIMEOUTS * timeout_us;
    ex->liveness_us = s->liveness_us ? s->liveness_us : 4u * timeout_us + EXCUSE_LIVENESS_SLACK_US;
    ex->late_us = timeout_us / EXCUSE_DELAY_DIVISOR;
    for (int k = 0; k < TOUCH_KINDS; k++)
        for (int n = 0; n < EXCUSE_NODES_MAX; n++) ex->open_source[k][n] = INT16_MIN;
    ex->step_touches = calloc(s->step_count + 1, sizeof(*ex->step_touches));
    ex->step_fault = calloc(s->step_count + 1, 1);
    if (ex->step_touches == NULL || ex->step_fault == NULL) {
        excuse_free(ex);
        return AC_ENOMEM;
    }
    ex->settings_fault = (uint8_t)excuse_faults_may_touch(ex, &s->faults);
    return 0;
}

void excuse_free(excuse_t *ex) {
    free(ex->step_touches);
    free(ex->step_fault);
    ex->step_touches = NULL;
    ex->step_fault = NULL;
}

int excuse_udp_may_touch(const sim_udp_t *u, uint64_t late_us) {
    uint64_t worst = u->delay_max_us * (u->reorder_ppm ? 3u : 1u);
    return u->loss_ppm > EXCUSE_LOSS_CALM_PPM || worst > late_us;
}

int excuse_faults_may_touch(const excuse_t *ex, const sim_faults_t *f) {
    for (int b = 1; b < SIM_SERVERS; b++) {
        if (excuse_udp_may_touch(&f->udp[SIM_NODE_M][b], ex->late_us)) return 1;
        if (excuse_udp_may_touch(&f->udp[b][SIM_NODE_M], ex->late_us)) return 1;
        const sim_disk_t *d = &f->disk[b - 1];
        if (d->sync_max_us > ex->late_us || d->full || d->eio_write_ppm || d->eio_sync_ppm) return 1;
    }
    return f->tcp.delay_max_us > EXCUSE_TCP_CALM_DELAY_US;
}

static int source_ok(const excuse_t *ex, int source) {
    return source == EXCUSE_SETTINGS || (source >= 0 && (size_t)source < ex->scn->step_count);
}

void excuse_fault(excuse_t *ex, int step) {
    AC_ASSERT(source_ok(ex, step));
    if (step == EXCUSE_SETTINGS) ex->settings_fault = 1;
    else ex->step_fault[step] = 1;
}

static void attribute(excuse_t *ex, touch_kind_t kind, int source, uint64_t count) {
    AC_ASSERT(kind < TOUCH_KINDS);
    AC_ASSERT(source_ok(ex, source));
    ex->kind_count[kind] += count;
    ex->total += count;
    if (kind == TOUCH_LOST || kind == TOUCH_LATE) ex->drawn += count;
    if (source == EXCUSE_SETTINGS) ex->settings_touches += count;
    else ex->step_touches[source] += count;
}

static void end_at(excuse_t *ex, uint64_t to_us) {
    if (!ex->touched || to_us > ex->last_end_us) ex->last_end_us = to_us;
    ex->touched = 1;
}

void excuse_touch(excuse_t *ex, touch_kind_t kind, int source, uint64_t from_us, uint64_t to_us,
                  uint64_t count) {
    AC_ASSERT(from_us <= to_us);
    if (count == 0) return;
    attribute(ex, kind, source, count);
    end_at(ex, to_us);
}

void excuse_begin(excuse_t *ex, touch_kind_t kind, int node, int source, uint64_t at_us) {
    AC_ASSERT(kind == TOUCH_DOWN || kind == TOUCH_PAUSED);
    AC_ASSERT(node >= 0 && node < EXCUSE_NODES_MAX);
    if (ex->open_source[kind][node] != INT16_MIN) return;
    ex->open_source[kind][node] = (int16_t)source;
    ex->open_count++;
    attribute(ex, kind, source, 1);
    end_at(ex, at_us);
}

void excuse_end(excuse_t *ex, touch_kind_t kind, int node, uint64_t at_us) {
    AC_ASSERT(kind == TOUCH_DOWN || kind == TOUCH_PAUSED);
    AC_ASSERT(node >= 0 && node < EXCUSE_NODES_MAX);
    if (ex->open_source[kind][node] == INT16_MIN) return;
    ex->open_source[kind][node] = INT16_MIN;
    AC_ASSERT(ex->open_count > 0);
    ex->open_count--;
    end_at(ex, at_us);
}

/* Every touch fed so far began no later than now (drivers feed as they go), so a touch
 * lies in [start - lookback, now] exactly when one is open or the latest end reaches
 * start - lookback. */
int excuse_owed(const excuse_t *ex, uint64_t start_us) {
    if (ex->open_count > 0) return 0;
    if (!ex->touched) return 1;
    return ex->last_end_us + ex->lookback_us < start_us;
}

uint64_t excuse_bound_us(const excuse_t *ex, uint64_t start_us) {
    if (ex->open_count > 0) return UINT64_MAX;
    uint64_t from = ex->touched && ex->last_end_us > start_us ? ex->last_end_us : start_us;
    return from + ex->liveness_us;
}

static const char *step_fault_name(const scn_step_t *st) {
    switch (st->kind) {
    case STEP_CRASH: return "crash";
    case STEP_PAUSE: return "pause";
    case STEP_PARTITION: return st->node2 == SIM_NODE_ALL ? "isolate" : "partition";
    case STEP_SET: return "settings";
    default: return "fault";
    }
}

void excuse_report(const excuse_t *ex, FILE *f) {
    fprintf(f, "touches: %llu", (unsigned long long)ex->total);
    for (int k = 0; k < TOUCH_KINDS; k++)
        fprintf(f, " %s=%llu", touch_kind_names[k], (unsigned long long)ex->kind_count[k]);
    fputc('\n', f);
    int listed = 0;
    if (ex->settings_fault && ex->settings_touches == 0) {
        fputs("vacuous: the time-0 settings", f);
        listed = 1;
    }
    for (size_t i = 0; i < ex->scn->step_count; i++) {
        if (!ex->step_fault[i] || ex->step_touches[i] > 0) continue;
        const scn_step_t *st = &ex->scn->steps[i];
        char when[SCN_EVENT_TEXT_BYTES + 8];
        scn_step_when(st, when, sizeof(when));
        fprintf(f, "%s line %u %s %s", listed ? "," : "vacuous:", st->line, step_fault_name(st), when);
        listed = 1;
    }
    if (listed) fputs(" (touched nothing: excuses nothing)\n", f);
}
