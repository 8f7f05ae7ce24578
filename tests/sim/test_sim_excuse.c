/* test_sim_excuse.c — the one rule for excuses (sim/judge/excuse.h): a touch excuses exactly the
 * operations whose [start - lookback, end] it reaches, liveness runs from the last touch,
 * an open interval excuses everything, and a fault step that touched nothing is reported
 * vacuous. Each check fails on a planted off-by-one in the rule. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "judge/excuse.h"

#define TIMEOUT_MS 1000u
#define S_US 1000000ull

static void scenario_two_steps(scenario_t *s) {
    scenario_init(s);
    s->timeout_ms = TIMEOUT_MS;
    sim_faults_default(&s->faults);
    scn_step_t *p = scenario_add_step(s, 0, STEP_PARTITION);
    p->line = 7;
    scn_step_t *c = scenario_add_step(s, 2 * S_US, STEP_CRASH);
    c->line = 8;
}

TEST(nothing_touched_owes_availability) {
    scenario_t s;
    scenario_two_steps(&s);
    excuse_t ex;
    CHECK_EQ(excuse_init(&ex, &s), 0);
    CHECK_EQ(ex.lookback_us, 3 * S_US);
    CHECK_EQ(ex.late_us, S_US / 8);
    CHECK_EQ(ex.liveness_us, 4 * S_US + EXCUSE_LIVENESS_SLACK_US);
    CHECK(excuse_owed(&ex, 5 * S_US));
    CHECK_EQ(excuse_bound_us(&ex, 5 * S_US), 5 * S_US + ex.liveness_us);
    excuse_touch(&ex, TOUCH_LOST, 0, S_US, S_US, 0); /* a count of 0 is no touch */
    CHECK(excuse_owed(&ex, 5 * S_US));
    excuse_free(&ex);
    scenario_free(&s);
}

TEST(a_touch_excuses_its_lookback_window_only) {
    scenario_t s;
    scenario_two_steps(&s);
    excuse_t ex;
    CHECK_EQ(excuse_init(&ex, &s), 0);
    excuse_touch(&ex, TOUCH_CUT, 0, 10 * S_US, 10 * S_US, 2);
    CHECK(!excuse_owed(&ex, 10 * S_US));            /* running at the touch */
    CHECK(!excuse_owed(&ex, 13 * S_US));            /* exactly lookback after: still excused */
    CHECK(excuse_owed(&ex, 13 * S_US + 1));         /* one microsecond later: owed */
    CHECK_EQ(excuse_bound_us(&ex, 9 * S_US), 10 * S_US + ex.liveness_us); /* from the touch */
    CHECK_EQ(excuse_bound_us(&ex, 11 * S_US), 11 * S_US + ex.liveness_us); /* from its start */
    CHECK_EQ(ex.kind_count[TOUCH_CUT], 2);
    CHECK_EQ(ex.total, 2);
    excuse_free(&ex);
    scenario_free(&s);
}

TEST(an_open_interval_excuses_everything_until_it_ends) {
    scenario_t s;
    scenario_two_steps(&s);
    excuse_t ex;
    CHECK_EQ(excuse_init(&ex, &s), 0);
    excuse_begin(&ex, TOUCH_DOWN, SIM_NODE_A, 1, 2 * S_US);
    excuse_begin(&ex, TOUCH_DOWN, SIM_NODE_A, 1, 3 * S_US); /* already open: ignored */
    CHECK(!excuse_owed(&ex, 100 * S_US));
    CHECK_EQ(excuse_bound_us(&ex, 100 * S_US), UINT64_MAX);
    excuse_end(&ex, TOUCH_DOWN, SIM_NODE_A, 20 * S_US);
    excuse_end(&ex, TOUCH_DOWN, SIM_NODE_A, 30 * S_US);     /* already closed: ignored */
    CHECK(!excuse_owed(&ex, 23 * S_US));
    CHECK(excuse_owed(&ex, 23 * S_US + 1));
    CHECK_EQ(excuse_bound_us(&ex, 5 * S_US), 20 * S_US + ex.liveness_us);
    CHECK_EQ(ex.kind_count[TOUCH_DOWN], 1);
    excuse_free(&ex);
    scenario_free(&s);
}

TEST(calm_settings_cannot_touch) {
    sim_udp_t u = {0};
    CHECK(!excuse_udp_may_touch(&u, S_US / 8));
    u.loss_ppm = EXCUSE_LOSS_CALM_PPM;
    CHECK(!excuse_udp_may_touch(&u, S_US / 8));             /* 5 %: the protocol copes */
    u.loss_ppm++;
    CHECK(excuse_udp_may_touch(&u, S_US / 8));
    u = (sim_udp_t){.delay_max_us = S_US / 8};
    CHECK(!excuse_udp_may_touch(&u, S_US / 8));
    u.reorder_ppm = 1;                                      /* reordering triples the worst */
    CHECK(excuse_udp_may_touch(&u, S_US / 8));
}

static char *report(const excuse_t *ex) {
    static char text[1024];
    FILE *f = fmemopen(text, sizeof(text), "w");
    excuse_report(ex, f);
    fclose(f);
    return text;
}

TEST(a_fault_step_that_touched_nothing_is_vacuous) {
    scenario_t s;
    scenario_two_steps(&s);
    excuse_t ex;
    CHECK_EQ(excuse_init(&ex, &s), 0);
    excuse_fault(&ex, 0);                                   /* the partition: cuts nothing */
    excuse_fault(&ex, 1);                                   /* the crash: a node down */
    excuse_begin(&ex, TOUCH_DOWN, SIM_NODE_B, 1, 2 * S_US);
    char *r = report(&ex);
    CHECK(strstr(r, "touches: 1 lost=0 cut=0 late=0 slow-sync=0 stalled=0 down=1 paused=0 disk-error=0\n") == r);
    CHECK(strstr(r, "vacuous: line 7 partition at 0.000s (touched nothing: excuses nothing)\n") != NULL);
    CHECK(strstr(r, "line 8") == NULL);
    excuse_touch(&ex, TOUCH_CUT, 0, 3 * S_US, 3 * S_US, 1);
    CHECK(strstr(report(&ex), "vacuous:") == NULL);
    excuse_free(&ex);
    scenario_free(&s);
}

int main(void) {
    RUN(nothing_touched_owes_availability);
    RUN(a_touch_excuses_its_lookback_window_only);
    RUN(an_open_interval_excuses_everything_until_it_ends);
    RUN(calm_settings_cannot_touch);
    RUN(a_fault_step_that_touched_nothing_is_vacuous);
    return CHECK_DONE();
}
