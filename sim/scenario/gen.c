/* gen.c — the swarm's scenario generator (and the fuzzers', through scenario_from_bytes).
 * Swarm testing: instead of every fault at once at a low rate, each seed switches each
 * fault kind on or off and picks its own intensity, so some seeds hammer one mechanism
 * (long delays with serverM crashes, bursts from one sender, slow syncs with crashes) and
 * others run with only mild loss, where every operation must succeed. Each scenario ends
 * its fault phase with `recover` and calm settings, then keeps issuing operations. */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define GEN_USERS_MAX 8
#define GEN_GHOSTS 2                   /* names that are never part of the network */
#define GEN_INITIAL_TXS_MAX 14
#define GEN_AMOUNT_SMALL_MAX 120
#define GEN_BURST_MAX 5
#define GEN_CALM_TAIL_US 4000000       /* operations keep coming this long after recover */
#define GEN_QUIET_MAX_US (180ull * 1000000ull)
#define GEN_SESSIONS_MAX 2             /* keep-alive sessions in one scenario */
#define GEN_SESSION_SPAN_US 8000000    /* its operations start within this: under serverM's
                                          10 s idle close (CONN_IDLE_US) */
_Static_assert(GEN_SESSION_SPAN_US < CONN_IDLE_US, "a session is never idle between its operations");

const gen_limits_t gen_limits_swarm = {.ops_max = 60, .fault_phase_max_us = 6000000};
const gen_limits_t gen_limits_real = {.ops_max = 6, .fault_phase_max_us = 10 * GEN_REAL_SLOT_US, .real_only = 1};

#define GEN_REAL_FAULTS_MAX 2
#define GEN_REAL_DOWN_SLOTS_MAX 4      /* 480 ms: under serverM's 2 s deadline, mostly */
#define GEN_REAL_TAIL_SLOTS 3          /* calm slots after recover, operations still come */
#define GEN_REAL_QUIET_MAX_US (60ull * 1000000ull)
_Static_assert(GEN_REAL_SLOT_US / 2 >= 50000, "an operation is >= 50 ms from any fault step");

static const char *const gen_names[GEN_USERS_MAX + GEN_GHOSTS] = {
    "Ann", "Bob", "Cid", "Dee", "Eve", "Fay", "Gus", "Hal", "Ghost", "Nobody.1",
};

static uint64_t rnd(gen_src_t *g, uint64_t n) { return n <= 1 ? 0 : g->below(g->ctx, n); }
static uint64_t rnd_range(gen_src_t *g, uint64_t lo, uint64_t hi) { return lo + rnd(g, hi - lo + 1); }
static int chance(gen_src_t *g, uint64_t num, uint64_t den) { return rnd(g, den) < num; }

static int add_op(scenario_t *s, uint64_t at, int client, uint32_t *nops, int argc, const char *const *argv) {
    scn_step_t *st = scenario_add_step(s, at, STEP_OP);
    if (st == NULL) return AC_ENOMEM;
    st->client = (uint8_t)client;
    snprintf(st->label, sizeof(st->label), "o%u", (*nops)++);
    return scenario_step_set_args(st, argc, argv);
}

static int add_node_pair(scenario_t *s, uint64_t at, uint64_t dur, step_kind_t a, step_kind_t b, int node) {
    scn_step_t *st = scenario_add_step(s, at, a);
    if (st == NULL) return AC_ENOMEM;
    st->node = (uint8_t)node;
    st = scenario_add_step(s, at + dur, b);
    if (st == NULL) return AC_ENOMEM;
    st->node = (uint8_t)node;
    return 0;
}

static int gen_blocks(gen_src_t *g, scenario_t *s, int users) {
    int n = (int)rnd_range(g, (uint64_t)users / 2, GEN_INITIAL_TXS_MAX);
    char line[128];
    for (int i = 0; i < n; i++) {
        int a = (int)rnd(g, (uint64_t)users);
        int b = (int)rnd(g, (uint64_t)users - 1);
        if (b >= a) b++;
        int bk = (int)rnd(g, BACKEND_COUNT);
        int len = snprintf(line, sizeof(line), "%d %s %s %llu\n", i + 1, gen_names[a], gen_names[b],
                           (unsigned long long)rnd_range(g, 1, 200));
        char *nb = realloc(s->block[bk], s->block_len[bk] + (size_t)len + 1);
        if (nb == NULL) return AC_ENOMEM;
        memcpy(nb + s->block_len[bk], line, (size_t)len + 1);
        s->block[bk] = nb;
        s->block_len[bk] += (size_t)len;
    }
    return 0;
}

/* The fault settings of the fault phase; returns 1 when the seed is "calm" (mild loss
 * only, no hard fault at all). */
static int gen_settings(gen_src_t *g, scenario_t *s) {
    sim_faults_t *f = &s->faults;
    int calm = chance(g, 1, 4);
    uint64_t dmin, dmax;
    switch (calm ? rnd(g, 2) : rnd(g, 4)) {
    case 0: dmin = 100; dmax = 1000; break;
    case 1: dmin = 1000; dmax = rnd_range(g, 2000, 10000); break;
    case 2: dmin = 5000; dmax = rnd_range(g, 20000, 60000); break;
    default: dmin = 1000; dmax = rnd_range(g, 100000, 400000); break; /* long tail: stale writes */
    }
    uint32_t loss = 0, dup = 0, reorder = 0;
    if (calm) loss = (uint32_t)rnd_range(g, 10000, 50000);
    else if (chance(g, 1, 2)) loss = chance(g, 1, 2) ? (uint32_t)rnd_range(g, 10000, 50000)
                                                     : (uint32_t)rnd_range(g, 100000, 400000);
    if (chance(g, 1, 3)) dup = (uint32_t)rnd_range(g, 10000, 200000);
    if (chance(g, 1, 3)) reorder = (uint32_t)rnd_range(g, 50000, 300000);
    for (int i = 0; i < SIM_SERVERS; i++) {
        for (int j = 0; j < SIM_SERVERS; j++) {
            if ((i == SIM_NODE_M) == (j == SIM_NODE_M)) continue; /* not a link in use */
            sim_udp_t *u = &f->udp[i][j];
            u->delay_min_us = dmin;
            u->delay_max_us = dmax;
            u->loss_ppm = loss;
            u->dup_ppm = dup;
            u->reorder_ppm = calm ? 0 : reorder;
        }
    }
    if (!calm && chance(g, 1, 4)) { /* one slow or lossy link */
        int b = (int)rnd_range(g, 1, 3);
        sim_udp_t *u = chance(g, 1, 2) ? &f->udp[0][b] : &f->udp[b][0];
        u->delay_max_us = dmax * 4;
        u->loss_ppm = (uint32_t)rnd_range(g, 0, 300000);
    }
    f->tcp.seg_min = 1;
    f->tcp.seg_max = (uint32_t)rnd_range(g, 1, 120);
    f->tcp.delay_min_us = 100;
    f->tcp.delay_max_us = rnd_range(g, 500, 5000);
    if (!calm && chance(g, 1, 5)) f->tcp.reset_ppm = (uint32_t)rnd_range(g, 5000, 30000);
    for (int b = 0; b < BACKEND_COUNT; b++) {
        f->disk[b].sync_min_us = 100;
        f->disk[b].sync_max_us = calm || chance(g, 1, 2) ? 2000 : rnd_range(g, 5000, 60000);
        f->disk[b].torn_ppm = chance(g, 1, 2) ? (uint32_t)rnd_range(g, 500000, 1000000) : 0;
    }
    return calm;
}

static int add_transfer(gen_src_t *g, scenario_t *s, uint64_t at, int users, int sender, uint32_t *nops) {
    char amount[24];
    int recv = (int)rnd(g, (uint64_t)users - 1);
    if (recv >= sender) recv++;
    snprintf(amount, sizeof(amount), "%llu", (unsigned long long)rnd_range(g, 1, GEN_AMOUNT_SMALL_MAX));
    const char *argv[] = {gen_names[sender], gen_names[recv], amount};
    return add_op(s, at, (int)rnd(g, 2), nops, 3, argv);
}

/* serverM's three outgoing links carry what is sent in [at, at + len) with a delay in
 * [lo, hi]; afterwards they are back to base_lo..base_hi. */
static int add_spike(scenario_t *s, uint64_t at, uint64_t len, uint64_t lo, uint64_t hi,
                     uint64_t base_lo, uint64_t base_hi) {
    for (int pass = 0; pass < 2; pass++) {
        for (int b = SIM_NODE_A; b <= SIM_NODE_C; b++) {
            scn_step_t *st = scenario_add_step(s, pass ? at + len : at, STEP_SET);
            if (st == NULL) return AC_ENOMEM;
            st->set = (sim_set_t){.what = SET_UDP, .from = SIM_NODE_M, .to = (uint8_t)b,
                                  .mask = SETF_DELAY, .min_us = pass ? base_lo : lo,
                                  .max_us = pass ? base_hi : hi};
        }
    }
    return 0;
}

/* Faults anchored to transfers, so that they hit a write in flight: a backend crash just
 * after a write (a slow sync makes the unsynced window wide), a serverM crash and quick
 * restart while its writes are still on the wire (stale writes), and outages longer than
 * serverM's deadline (writes in doubt) with transfers right after they heal. */
static int gen_anchored(gen_src_t *g, scenario_t *s, uint64_t phase, int users, uint32_t *nops) {
    int rc = 0;
    int n = (int)rnd_range(g, 1, 4);
    uint64_t base_lo = s->faults.udp[SIM_NODE_M][SIM_NODE_A].delay_min_us;
    uint64_t base_hi = s->faults.udp[SIM_NODE_M][SIM_NODE_A].delay_max_us;
    for (int i = 0; i < n && rc == 0; i++) {
        uint64_t a = rnd(g, phase);
        int sender = (int)rnd(g, (uint64_t)users);
        rc = add_transfer(g, s, a, users, sender, nops);
        switch (rnd(g, 5)) {
        case 3: { /* stale writes: serverM's writes crawl while it crashes and restarts */
            uint64_t len = rnd_range(g, 10000, 60000);
            uint64_t crash = a + 1000 + rnd_range(g, 4000, len);
            uint64_t back = a + 1000 + len + rnd(g, 5000) - crash;
            if (rc == 0) rc = add_spike(s, a + 1000, len, 200000, 600000, base_lo, base_hi);
            if (rc == 0) rc = add_node_pair(s, crash, back, STEP_CRASH, STEP_RESTART, SIM_NODE_M);
            int k_max = (int)rnd_range(g, 2, 4);
            for (int k = 0; k < k_max && rc == 0; k++)
                rc = add_transfer(g, s, crash + back + rnd_range(g, 1000, 20000), users,
                                  (int)rnd(g, (uint64_t)users), nops);
            break;
        }
        case 4: { /* writes in doubt: serverM's messages take longer than its deadline */
            uint64_t len = rnd_range(g, 2100000, 2600000);
            if (rc == 0) rc = add_spike(s, a + 500, len, 2200000, 3500000, base_lo, base_hi);
            int k_max = (int)rnd_range(g, 3, 6);
            for (int k = 0; k < k_max && rc == 0; k++)
                rc = add_transfer(g, s, a + 500 + len + rnd(g, 1000000), users,
                                  (int)rnd(g, (uint64_t)users), nops);
            break;
        }
        case 0: { /* backend crashes in the middle of a write, with slow syncs */
            if (rc == 0 && chance(g, 2, 3)) {
                scn_step_t *st = scenario_add_step(s, a > 1000 ? a - 1000 : 0, STEP_SET);
                if (st == NULL) return AC_ENOMEM;
                st->set = (sim_set_t){.what = SET_DISK, .from = SIM_NODE_ALL, .mask = SETF_DELAY,
                                      .min_us = 5000, .max_us = rnd_range(g, 20000, 80000)};
            }
            int crashes = (int)rnd_range(g, 1, 2);
            for (int k = 0; k < crashes && rc == 0; k++) {
                uint64_t at = a + rnd_range(g, 2000, 50000); /* draws in a fixed order */
                uint64_t down = rnd_range(g, 1000, 600000);
                int node = (int)rnd_range(g, 1, 3);
                rc = add_node_pair(s, at, down, STEP_CRASH, STEP_RESTART, node);
            }
            break;
        }
        case 1: { /* serverM crash while its writes travel slowly; the new one takes more transfers */
            if (rc == 0 && chance(g, 2, 3)) {
                scn_step_t *st = scenario_add_step(s, a > 1000 ? a - 1000 : 0, STEP_SET);
                if (st == NULL) return AC_ENOMEM;
                st->set = (sim_set_t){.what = SET_UDP, .from = SIM_NODE_ALL, .to = SIM_NODE_ALL,
                                      .mask = SETF_DELAY, .min_us = 1000, .max_us = rnd_range(g, 100000, 500000)};
            }
            uint64_t at = a + rnd_range(g, 2000, 700000);
            uint64_t back = rnd_range(g, 1000, 60000);
            if (rc == 0) rc = add_node_pair(s, at, back, STEP_CRASH, STEP_RESTART, SIM_NODE_M);
            int k_max = (int)rnd_range(g, 2, 5);
            for (int k = 0; k < k_max && rc == 0; k++) {
                uint64_t when = at + back + rnd(g, 60000);
                int from = (int)rnd(g, (uint64_t)users);
                rc = add_transfer(g, s, when, users, from, nops);
            }
            break;
        }
        default: { /* an outage longer than the deadline: the write is in doubt */
            uint64_t at = a + rnd(g, 20000);
            uint64_t len = rnd_range(g, 2100000, 5000000);
            int node = (int)rnd_range(g, 1, 3);
            uint64_t kind = rnd(g, 3);
            if (kind == 0) {
                rc = add_node_pair(s, at, len, STEP_PAUSE, STEP_RESUME, node);
            } else if (kind == 1) {
                rc = add_node_pair(s, at, len, STEP_CRASH, STEP_RESTART, node);
            } else {
                scn_step_t *st = scenario_add_step(s, at, STEP_PARTITION);
                if (st == NULL) return AC_ENOMEM;
                st->node = SIM_NODE_M;
                st->node2 = (uint8_t)node;
                st = scenario_add_step(s, at + len, STEP_HEAL);
                if (st == NULL) return AC_ENOMEM;
                st->node = SIM_NODE_M;
                st->node2 = (uint8_t)node;
            }
            int k_max = (int)rnd_range(g, 2, 6);
            for (int k = 0; k < k_max && rc == 0; k++) {
                uint64_t when = at + len + rnd(g, 700000);
                int from = (int)rnd(g, (uint64_t)users);
                rc = add_transfer(g, s, when, users, from, nops);
            }
            break;
        }
        }
    }
    return rc;
}

static int gen_faults(gen_src_t *g, scenario_t *s, uint64_t phase) {
    int rc = 0;
    int crashes = chance(g, 1, 3) ? (int)rnd_range(g, 1, 3) : 0;
    for (int i = 0; i < crashes && rc == 0; i++) {
        uint64_t at = rnd(g, phase);
        uint64_t down = rnd_range(g, 1000, 600000);
        int node = (int)rnd_range(g, 1, 3);
        rc = add_node_pair(s, at, down, STEP_CRASH, STEP_RESTART, node);
    }
    int mcrashes = chance(g, 1, 3) ? 1 : 0;
    for (int i = 0; i < mcrashes && rc == 0; i++) {
        uint64_t at = rnd(g, phase);
        rc = add_node_pair(s, at, rnd_range(g, 1000, 200000), STEP_CRASH, STEP_RESTART, SIM_NODE_M);
    }
    int pauses = chance(g, 1, 4) ? 1 : 0;
    for (int i = 0; i < pauses && rc == 0; i++) {
        uint64_t at = rnd(g, phase);
        uint64_t down = rnd_range(g, 10000, 2500000);
        int node = (int)rnd(g, 4);
        rc = add_node_pair(s, at, down, STEP_PAUSE, STEP_RESUME, node);
    }
    int parts = chance(g, 1, 4) ? (int)rnd_range(g, 1, 2) : 0;
    for (int i = 0; i < parts && rc == 0; i++) {
        uint64_t at = rnd(g, phase);
        scn_step_t *st = scenario_add_step(s, at, STEP_PARTITION);
        if (st == NULL) return AC_ENOMEM;
        int kind = (int)rnd(g, 3);
        int b = (int)rnd_range(g, 1, 3);
        if (kind == 0) {
            st->node = SIM_NODE_M;
            st->node2 = (uint8_t)b;
        } else if (kind == 1) {
            int out = chance(g, 1, 2);
            st->node = out ? SIM_NODE_M : (uint8_t)b;
            st->node2 = out ? (uint8_t)b : SIM_NODE_M;
            st->oneway = 1;
        } else {
            st->node = (uint8_t)(chance(g, 1, 4) ? SIM_NODE_CLIENTS : b);
            st->node2 = SIM_NODE_ALL;
        }
        scn_step_t copy = *st;
        st = scenario_add_step(s, at + rnd_range(g, 10000, 2000000), STEP_HEAL);
        if (st == NULL) return AC_ENOMEM;
        st->node = copy.node;
        st->node2 = copy.node2;
        st->oneway = copy.oneway;
    }
    return rc;
}

/* Some runs end with nodes still down, right while transfers are in flight: every backend
 * crashed at once (a power failure, disks slow and tearing), one backend crashed, serverM
 * crashed, or a node paused — none of them back before the run ends. The checkers must
 * hold there too: they read a crashed backend's disk as its restart would. */
static int gen_end_down(gen_src_t *g, scenario_t *s, uint64_t phase, int users, uint32_t *nops) {
    uint64_t at = phase + rnd_range(g, 10000, GEN_CALM_TAIL_US);
    int rc = 0;
    uint64_t sync_max = rnd_range(g, 10000, 60000); /* draws in a fixed order (FUZZING.md D1) */
    uint32_t torn = (uint32_t)rnd_range(g, 500000, 1000000);
    scn_step_t *st = scenario_add_step(s, at - 10000, STEP_SET);
    if (st == NULL) return AC_ENOMEM;
    st->set = (sim_set_t){.what = SET_DISK, .from = SIM_NODE_ALL, .mask = SETF_DELAY | SETF_TORN,
                          .min_us = 5000, .max_us = sync_max, .torn_ppm = torn};
    int k_max = (int)rnd_range(g, 2, 6);
    for (int k = 0; k < k_max && rc == 0; k++) {
        uint64_t when = at - rnd(g, 8000);
        int from = (int)rnd(g, (uint64_t)users);
        rc = add_transfer(g, s, when, users, from, nops);
    }
    uint64_t kind = rnd(g, 4);
    int node = (int)rnd_range(g, 1, 3);
    for (int b = SIM_NODE_A; b <= SIM_NODE_C && rc == 0; b++) {
        if (kind != 0 && b != node) continue;
        st = scenario_add_step(s, at + rnd(g, 2000), kind == 3 ? STEP_PAUSE : STEP_CRASH);
        if (st == NULL) return AC_ENOMEM;
        st->node = (uint8_t)(kind == 2 ? SIM_NODE_M : b);
    }
    return rc;
}

static int gen_ops(gen_src_t *g, scenario_t *s, int users, uint32_t ops, uint64_t span,
                   uint32_t *nops) {
    uint32_t made = *nops;
    ops += made;
    int rich = (int)rnd(g, (uint64_t)users); /* a hot sender: bursts and conflicts */
    char amount[24], amount2[24];
    int rc = 0;
    while (made < ops && rc == 0) {
        uint64_t at = rnd(g, span);
        int client = (int)rnd(g, 2);
        int sender = chance(g, 1, 3) ? rich : (int)rnd(g, (uint64_t)users);
        int recv = (int)rnd(g, (uint64_t)users - 1);
        if (recv >= sender) recv++;
        uint64_t kind = rnd(g, 100);
        if (kind < 40) {
            uint64_t amt = chance(g, 2, 3) ? rnd_range(g, 1, GEN_AMOUNT_SMALL_MAX) : rnd_range(g, 200, 1400);
            snprintf(amount, sizeof(amount), "%llu", (unsigned long long)amt);
            const char *argv[] = {gen_names[sender], gen_names[recv], amount};
            rc = add_op(s, at, client, &made, 3, argv);
        } else if (kind < 50) { /* a burst: one sender, several transfers at one instant */
            int k = (int)rnd_range(g, 2, GEN_BURST_MAX);
            for (int i = 0; i < k && rc == 0; i++) {
                int r = (int)rnd(g, (uint64_t)users - 1);
                if (r >= rich) r++;
                snprintf(amount2, sizeof(amount2), "%llu", (unsigned long long)rnd_range(g, 100, 700));
                const char *argv[] = {gen_names[rich], gen_names[r], amount2};
                rc = add_op(s, at, (int)rnd(g, 2), &made, 3, argv);
            }
        } else if (kind < 75) {
            const char *argv[] = {gen_names[chance(g, 1, 10) ? GEN_USERS_MAX : sender]};
            rc = add_op(s, at, client, &made, 1, argv);
        } else if (kind < 85) {
            const char *argv[] = {gen_names[sender], "stats"};
            rc = add_op(s, at, client, &made, 2, argv);
        } else if (kind < 91) {
            const char *argv[] = {"TXLIST"};
            rc = add_op(s, at, client, &made, 1, argv);
        } else {
            switch (rnd(g, 4)) {
            case 0: { /* a user who is not part of the network */
                const char *argv[] = {gen_names[sender], gen_names[GEN_USERS_MAX + 1], "5"};
                rc = add_op(s, at, client, &made, 3, argv);
                break;
            }
            case 1: {
                const char *argv[] = {gen_names[sender], gen_names[sender], "5"};
                rc = add_op(s, at, client, &made, 3, argv);
                break;
            }
            case 2: {
                const char *argv[] = {gen_names[GEN_USERS_MAX], "stats"};
                rc = add_op(s, at, client, &made, 2, argv);
                break;
            }
            default: {
                const char *argv[] = {gen_names[sender], gen_names[recv], "0"};
                rc = add_op(s, at, client, &made, 3, argv);
                break;
            }
            }
        }
    }
    *nops = made;
    return rc;
}

/* Some clients pipeline: a keep-alive session "ka<k>" of one client letter starts before
 * some of that client's operations, which then ride on it (at most TCP_PIPELINE_MAX - 1,
 * so a well-behaved session never hears BUSY); sometimes the session is shut down or
 * reset on the way. Operations that half-close stay on their own connections. */
static int gen_sessions(gen_src_t *g, scenario_t *s, uint64_t span_us) {
    int sessions = (int)rnd_range(g, 1, GEN_SESSIONS_MAX);
    for (int k = 0; k < sessions; k++) {
        int client = (int)rnd(g, 2);
        uint64_t t0 = rnd(g, span_us);
        scn_step_t *st = scenario_add_step(s, t0, STEP_OP);
        if (st == NULL) return AC_ENOMEM;
        st->client = (uint8_t)client;
        st->keepalive = 1;
        char label[SCN_LABEL_BYTES];
        snprintf(label, sizeof(label), "ka%d", k);
        memcpy(st->label, label, sizeof(label));
        uint32_t members = 0;
        for (size_t i = 0; i < s->step_count && members < TCP_PIPELINE_MAX - 1; i++) {
            scn_step_t *m = &s->steps[i];
            if (m->kind != STEP_OP || m->keepalive || m->session[0] != '\0' || m->half_close) continue;
            if (m->client != client || m->at_us <= t0 || m->at_us >= t0 + GEN_SESSION_SPAN_US) continue;
            if (!chance(g, 2, 3)) continue;
            memcpy(m->session, label, sizeof(label));
            members++;
        }
        if (chance(g, 1, 4)) {
            st = scenario_add_step(s, t0 + rnd(g, GEN_SESSION_SPAN_US), STEP_SESSION);
            if (st == NULL) return AC_ENOMEM;
            st->half_close = (uint8_t)chance(g, 1, 2); /* shutdown, else reset */
            memcpy(st->session, label, sizeof(label));
        }
    }
    return 0;
}

/* The real profile's network: serverM's links to and from the backends (the only UDP in
 * use), each kind of fault on or off for the whole run, as in gen_settings but only what the
 * namespace hosts' relay produces; TCP and disks keep their defaults. */
static void gen_real_settings(gen_src_t *g, scenario_t *s) {
    uint32_t loss = chance(g, 1, 3) ? (uint32_t)rnd_range(g, 10000, 200000) : 0;
    uint32_t dup = chance(g, 1, 4) ? (uint32_t)rnd_range(g, 10000, 200000) : 0;
    uint32_t reorder = chance(g, 1, 4) ? (uint32_t)rnd_range(g, 50000, 300000) : 0;
    uint64_t dmax = chance(g, 1, 3) ? rnd_range(g, 2000, 20000) : 1000;
    for (int i = 0; i < SIM_SERVERS; i++) {
        for (int j = 0; j < SIM_SERVERS; j++) {
            if ((i == SIM_NODE_M) == (j == SIM_NODE_M)) continue; /* not a link in use */
            sim_udp_t *u = &s->faults.udp[i][j];
            u->delay_max_us = dmax;
            u->loss_ppm = loss;
            u->dup_ppm = dup;
            u->reorder_ppm = reorder;
        }
    }
}

/* Up to GEN_REAL_FAULTS_MAX faults of the fault phase (slots 0 .. slots-1), each starting and
 * ending on a slot boundary and over by `recover` at the phase's end. */
static int gen_real_faults(gen_src_t *g, scenario_t *s, uint64_t slots) {
    int rc = 0;
    int n = (int)rnd(g, GEN_REAL_FAULTS_MAX + 1);
    for (int i = 0; i < n && rc == 0; i++) {
        uint64_t k = rnd(g, slots);
        uint64_t d = rnd_range(g, 1, GEN_REAL_DOWN_SLOTS_MAX);
        if (d > slots - k) d = slots - k;
        uint64_t at = k * GEN_REAL_SLOT_US, dur = d * GEN_REAL_SLOT_US;
        switch (rnd(g, 4)) {
        case 0: rc = add_node_pair(s, at, dur, STEP_CRASH, STEP_RESTART, (int)rnd_range(g, 1, 3)); break;
        case 1: rc = add_node_pair(s, at, dur, STEP_CRASH, STEP_RESTART, SIM_NODE_M); break;
        case 2: rc = add_node_pair(s, at, dur, STEP_PAUSE, STEP_RESUME, (int)rnd(g, 4)); break;
        default: {
            int b = (int)rnd_range(g, 1, 3);
            int oneway = chance(g, 1, 2), out = chance(g, 1, 2);
            for (int pass = 0; pass < 2; pass++) {
                scn_step_t *st = scenario_add_step(s, pass ? at + dur : at, pass ? STEP_HEAL : STEP_PARTITION);
                if (st == NULL) return AC_ENOMEM;
                st->node = (uint8_t)(oneway && !out ? b : SIM_NODE_M);
                st->node2 = (uint8_t)(oneway && !out ? SIM_NODE_M : b);
                st->oneway = (uint8_t)oneway;
            }
            break;
        }
        }
    }
    return rc;
}

/* A node-fault seed may also crash serverM at a protocol moment (anchor.h), the moment a
 * timed fault cannot aim at across real processes (a write goes out a few ms later there than
 * in the simulator): as its first write goes out, or as the write's acknowledgement comes
 * back (a write in doubt). Any backend's: which backend serverM writes to is its own random
 * choice, drawn from another seed by the real serverM than by the simulator's, so an event
 * or a crash naming one backend would fire on one side only (a false difference compare
 * rightly reports). `recover` restarts serverM like the timed crashes; a crash whose write
 * comes only after the recover stays until the end, which both sides see alike. */
static int gen_real_anchor(gen_src_t *g, scenario_t *s) {
    if (!chance(g, 1, 2)) return 0;
    int reply = chance(g, 1, 2);
    scn_step_t *st = scenario_add_step(s, 0, STEP_CRASH);
    if (st == NULL) return AC_ENOMEM;
    st->node = SIM_NODE_M;
    st->on = (scn_event_t){.type = (uint8_t)(reply ? WIRE_WRITE | WIRE_REPLY : WIRE_WRITE),
                           .backend = SIM_NODE_ALL, .nth = 1};
    return 0;
}

/* The steps in time order again, stable (insertion sort: a few dozen steps at most). */
static void steps_sort(scenario_t *s) {
    for (size_t i = 1; i < s->step_count; i++) {
        scn_step_t st = s->steps[i];
        size_t j = i;
        for (; j > 0 && s->steps[j - 1].at_us > st.at_us; j--) s->steps[j] = s->steps[j - 1];
        s->steps[j] = st;
    }
}

/* The real profile (gen_limits_real): a few faults, `recover`, a calm tail; operations drawn
 * as the swarm's (gen_ops), then each moved to the middle of its own slot, the next free one
 * at or after its own: two operations started at one instant (a burst) race, and which one a
 * real serverM takes first is real timing that compare cannot ask both sides to agree on. */
static int gen_real(gen_src_t *g, scenario_t *s, const gen_limits_t *lim, int users) {
    /* A seed has network faults or node faults, never both: under UDP loss or delay an
     * operation lasts as long as serverM's retransmissions take, which is chance (the relay's
     * draws are not the simulator's), so a crash or partition 60 ms later may or may not find
     * it in flight — 8 seeds of the first 760 differed that way, each a serverM crash under
     * 6-19 % loss. Without those, an operation is over in a few ms, long before the next
     * fault step. */
    int network = chance(g, 1, 3);
    if (network) gen_real_settings(g, s);
    uint64_t slots_max = lim->fault_phase_max_us / GEN_REAL_SLOT_US;
    uint64_t slots = rnd_range(g, 2, slots_max > 2 ? slots_max : 2);
    uint64_t phase = slots * GEN_REAL_SLOT_US;
    int rc = network ? 0 : gen_real_faults(g, s, slots);
    if (rc == 0 && scenario_add_step(s, phase, STEP_RECOVER) == NULL) rc = AC_ENOMEM;
    uint32_t nops = 0;
    uint32_t ops = (uint32_t)rnd_range(g, 1, lim->ops_max ? lim->ops_max : 1);
    if (rc == 0) rc = gen_ops(g, s, users, ops, phase + GEN_REAL_TAIL_SLOTS * GEN_REAL_SLOT_US, &nops);
    uint64_t free_slot = 0;
    for (size_t i = 0; rc == 0 && i < s->step_count; i++) {
        scn_step_t *st = &s->steps[i];
        if (st->kind != STEP_OP) continue;
        uint64_t slot = st->at_us / GEN_REAL_SLOT_US > free_slot ? st->at_us / GEN_REAL_SLOT_US : free_slot;
        st->at_us = slot * GEN_REAL_SLOT_US + GEN_REAL_SLOT_US / 2;
        free_slot = slot + 1;
    }
    if (rc == 0 && !network) rc = gen_real_anchor(g, s); /* drawn last: the rest is as before */
    steps_sort(s);
    s->until_quiet = 1;
    s->run_us = phase + GEN_REAL_QUIET_MAX_US;
    return rc;
}

/* Up to three fault steps on protocol events (anchor.h): a server crashed, restarted,
 * paused or resumed, a link of serverM's cut or healed, or serverM's links slowed past its
 * deadline, at the 1st..3rd datagram of some type on some link — faults that land inside a
 * batch, between a write and its acknowledgement, wherever the protocol happens to be. */
static int gen_on_events(gen_src_t *g, scenario_t *s) {
    static const uint8_t types[] = {WIRE_QUERY, WIRE_WRITE, WIRE_WRITE, WIRE_LIST, WIRE_STATS};
    int n = (int)rnd_range(g, 1, 3);
    for (int i = 0; i < n; i++) {
        int b = (int)rnd_range(g, SIM_NODE_A, SIM_NODE_C);
        int action = (int)rnd(g, 6);
        static const step_kind_t kinds[] = {STEP_CRASH, STEP_RESTART, STEP_PAUSE, STEP_RESUME, STEP_PARTITION,
                                            STEP_SET};
        scn_step_t *st = scenario_add_step(s, 0, kinds[action]);
        if (st == NULL) return AC_ENOMEM;
        st->on = (scn_event_t){.type = (uint8_t)(types[rnd(g, sizeof(types))] | (chance(g, 1, 2) ? WIRE_REPLY : 0)),
                               .backend = (uint8_t)(chance(g, 1, 2) ? SIM_NODE_ALL : rnd_range(g, SIM_NODE_A, SIM_NODE_C)),
                               .nth = (uint32_t)rnd_range(g, 1, 3)};
        st->node = (uint8_t)(chance(g, 1, 3) ? SIM_NODE_M : b);
        if (kinds[action] == STEP_PARTITION) {
            st->node = SIM_NODE_M;
            st->node2 = (uint8_t)b;
            st->oneway = (uint8_t)chance(g, 1, 2);
        } else if (kinds[action] == STEP_SET) {
            st->set = (sim_set_t){.what = SET_UDP, .from = SIM_NODE_M, .to = (uint8_t)b, .both = 1, .mask = SETF_DELAY,
                                  .min_us = rnd_range(g, 100000, 1000000), .max_us = 3000000};
        }
    }
    return 0;
}

/* One to three forgeries (STEP_FORGE) during the fault phase and its calm tail: a forged
 * WRITE, a forged hello of a newer incarnation, or a replay of serverM's last datagram, to
 * some backend. A correct system ignores them all, so they change no verdict; a backend
 * that took one is caught ("forgery", or the availability of the fenced-out serverM). */
static int gen_forgeries(gen_src_t *g, scenario_t *s, uint64_t phase) {
    int n = (int)rnd_range(g, 1, 3);
    for (int i = 0; i < n; i++) {
        scn_step_t *st = scenario_add_step(s, rnd(g, phase + GEN_CALM_TAIL_US), STEP_FORGE);
        if (st == NULL) return AC_ENOMEM;
        st->node = (uint8_t)rnd_range(g, SIM_NODE_A, SIM_NODE_C);
        st->forge = (uint8_t)rnd_range(g, 1, FORGE_KINDS - 1);
    }
    return 0;
}

/* A disk that fails for a while in the fault phase: full (ENOSPC on every append), or EIO
 * on writes or syncs with some probability, on one backend or all; off again before the
 * phase ends (and `recover` turns it off in any case). Refused transfers then answer
 * "disk is full" / "failed the write"; nothing refused may be on disk. */
static int gen_disk_errors(gen_src_t *g, scenario_t *s, uint64_t phase) {
    uint64_t from = rnd(g, phase / 2), to = from + rnd_range(g, 10000, phase / 2);
    uint8_t node = (uint8_t)(chance(g, 1, 2) ? SIM_NODE_ALL : rnd_range(g, SIM_NODE_A, SIM_NODE_C));
    uint64_t kind = rnd(g, 3);
    uint32_t ppm = (uint32_t)rnd_range(g, 100000, PPM_ONE);
    sim_set_t on = {.what = SET_DISK, .from = node};
    if (kind == 0) on = (sim_set_t){.what = SET_DISK, .from = node, .mask = SETF_FULL, .full = 1};
    if (kind == 1) on = (sim_set_t){.what = SET_DISK, .from = node, .mask = SETF_EIO_WRITE, .eio_write_ppm = ppm};
    if (kind == 2) on = (sim_set_t){.what = SET_DISK, .from = node, .mask = SETF_EIO_SYNC, .eio_sync_ppm = ppm};
    scn_step_t *st = scenario_add_step(s, from, STEP_SET);
    if (st == NULL) return AC_ENOMEM;
    st->set = on;
    st = scenario_add_step(s, to, STEP_SET);
    if (st == NULL) return AC_ENOMEM;
    st->set = (sim_set_t){.what = SET_DISK, .from = node, .mask = on.mask};
    return 0;
}

int gen_scenario(gen_src_t *g, uint64_t seed, const gen_limits_t *lim, scenario_t *s) {
    scenario_init(s);
    s->seed = seed;
    s->has_seed = 1;
    int users = (int)rnd_range(g, 3, GEN_USERS_MAX);
    int rc = gen_blocks(g, s, users);
    if (lim->real_only) {
        if (rc == 0) rc = gen_real(g, s, lim, users);
        if (rc == 0) rc = scenario_number_lines(s); /* reports name the reproducer's lines */
        if (rc != 0) scenario_free(s);
        return rc;
    }
    int calm = rc == 0 ? gen_settings(g, s) : 0;
    uint64_t phase = rnd_range(g, 500000, lim->fault_phase_max_us > 500000 ? lim->fault_phase_max_us : 500000);
    uint32_t nops = 0;
    if (rc == 0 && !calm) rc = gen_faults(g, s, phase);
    if (rc == 0 && !calm && chance(g, 2, 3)) rc = gen_anchored(g, s, phase, users, &nops);
    if (rc == 0) { /* the end of the fault phase: everything heals, the network calms */
        scn_step_t *st = scenario_add_step(s, phase, STEP_RECOVER);
        if (st == NULL) return AC_ENOMEM;
        st = scenario_add_step(s, phase, STEP_SET);
        if (st == NULL) return AC_ENOMEM;
        st->set = (sim_set_t){.what = SET_UDP, .from = SIM_NODE_ALL, .to = SIM_NODE_ALL,
                              .mask = SETF_DELAY, .min_us = 100, .max_us = 2000};
        st = scenario_add_step(s, phase, STEP_SET);
        if (st == NULL) return AC_ENOMEM;
        st->set = (sim_set_t){.what = SET_DISK, .from = SIM_NODE_ALL, .mask = SETF_DELAY,
                              .min_us = 100, .max_us = 2000};
    }
    if (rc == 0 && !calm && chance(g, 1, 5)) rc = gen_end_down(g, s, phase, users, &nops);
    uint32_t ops = (uint32_t)rnd_range(g, 1, lim->ops_max ? lim->ops_max : 1);
    if (rc == 0) rc = gen_ops(g, s, users, ops, phase + GEN_CALM_TAIL_US, &nops);
    /* some clients half-close their connection right after the request (core answers) */
    for (size_t i = 0; rc == 0 && i < s->step_count; i++) {
        if (s->steps[i].kind == STEP_OP && chance(g, 1, 8)) s->steps[i].half_close = 1;
    }
    if (rc == 0 && chance(g, 1, 3)) rc = gen_sessions(g, s, phase + GEN_CALM_TAIL_US);
    if (rc == 0 && !calm && chance(g, 1, 4)) rc = gen_on_events(g, s); /* drawn last: the rest as before */
    if (rc == 0 && chance(g, 1, 4)) rc = gen_forgeries(g, s, phase); /* after those: the same */
    if (rc == 0 && !calm && chance(g, 1, 5)) rc = gen_disk_errors(g, s, phase); /* after it: likewise */
    s->until_quiet = 1;
    s->run_us = phase + GEN_QUIET_MAX_US;
    if (rc == 0) rc = scenario_number_lines(s); /* reports name the reproducer's lines */
    if (rc != 0) scenario_free(s);
    return rc;
}

/* ------------------------------------------------------------------ from bytes */

typedef struct {
    const uint8_t *p;
    size_t len, pos;
} bytes_src_t;

static uint64_t bytes_below(void *ctx, uint64_t n) {
    bytes_src_t *b = ctx;
    uint64_t v = 0;
    for (uint64_t range = 1; range < n && range < (1ull << 56); range <<= 8) {
        uint8_t byte = b->pos < b->len ? b->p[b->pos++] : 0;
        v = (v << 8) | byte;
    }
    return v % n;
}

int scenario_from_bytes(const uint8_t *data, size_t len, scenario_t *out) {
    bytes_src_t b = {.p = data, .len = len};
    gen_src_t g = {.below = bytes_below, .ctx = &b};
    static const gen_limits_t lim = {.ops_max = 16, .fault_phase_max_us = 2000000};
    uint64_t seed = bytes_below(&b, UINT64_MAX);
    int rc = gen_scenario(&g, seed, &lim, out);
    if (rc == 0) out->run_us = 60ull * 1000000ull; /* keep fuzz runs short */
    return rc;
}
