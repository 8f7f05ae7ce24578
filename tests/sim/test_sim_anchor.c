/* test_sim_anchor.c — unit tests of steps anchored to protocol events (sim/scenario/anchor.c,
 * the world's firing in sim/world/world.c, the relays' shared table in sim/hosts/relay.c):
 * the words of an event parse to the canonical form and back, a datagram matches by its
 * header's type and its link, "on" statements round-trip through the printer, the
 * simulator fires a step at the nth datagram (settings before that datagram's fate is
 * drawn, node events before it is delivered), and relays of different links count one
 * event together and hold it until the runner is done. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hosts/relay.h"
#include "scenario/anchor.h"
#include "wire.h"
#include "world/sim.h"

static int ev_parse(const char *text, scn_event_t *ev, char *err, size_t cap) {
    char buf[200];
    const char *words[16];
    int n = 0;
    snprintf(buf, sizeof(buf), "%s", text);
    for (char *p = strtok(buf, " "); p != NULL && n < 16; p = strtok(NULL, " ")) words[n++] = p;
    return scn_event_parse(words, n, ev, err, cap);
}

static void check_canonical(const char *text, const char *want) {
    scn_event_t ev, again;
    char err[200] = "", out[SCN_EVENT_TEXT_BYTES];
    CHECK_EQ(ev_parse(text, &ev, err, sizeof(err)), 0);
    if (err[0] != '\0') fprintf(stderr, "  %s: %s\n", text, err);
    scn_event_format(&ev, out, sizeof(out));
    CHECK_STR(out, want);
    CHECK_EQ(ev_parse(out, &again, err, sizeof(err)), 0);
    CHECK(memcmp(&ev, &again, sizeof(ev)) == 0);
}

TEST(events_parse_to_their_canonical_words) {
    check_canonical("first WRITE M->B", "first WRITE M->B");
    check_canonical("WRITE M->B", "first WRITE M->B");
    check_canonical("WRITE M -> B", "first WRITE M->B");
    check_canonical("WRITE M->B ack", "first WRITE B->M");
    check_canonical("2nd QUERY reply C->M", "2nd QUERY C->M");
    check_canonical("3rd LIST M->*", "3rd LIST M->*");
    check_canonical("11th STATS *->M", "11th STATS *->M");
    check_canonical("21st WRITE M->A", "21st WRITE M->A");
    check_canonical("112th WRITE M->A", "112th WRITE M->A");
    check_canonical("1st WRITE M->A", "first WRITE M->A");
}

TEST(bad_events_are_refused_with_a_reason) {
    static const char *const bad[] = {
        "",                   /* nothing */
        "first",              /* no type */
        "first PING M->B",    /* not a message type */
        "WRITE",              /* no link */
        "WRITE M->D",         /* not a backend */
        "WRITE A->B",         /* not serverM's link */
        "WRITE M->M",
        "WRITE B->M ack",     /* ack follows a request */
        "WRITE reply M->B",   /* a reply goes to M */
        "0th WRITE M->B",     /* no zeroth */
        "99999999999th WRITE M->B",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        scn_event_t ev;
        char err[200] = "";
        int rc = ev_parse(bad[i], &ev, err, sizeof(err));
        if (rc == 0) fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
        CHECK_EQ(rc, AC_EINVAL);
        CHECK(err[0] != '\0');
    }
}

static size_t write_req(uint8_t *buf, size_t cap) {
    wire_req_t m;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_WRITE;
    m.incarnation = 1;
    m.request_id = 7;
    m.u.write.count = 1;
    tx_t *t = &m.u.write.txs[0];
    t->serial = 10;
    memcpy(t->sender, "Ann", 3);
    t->sender_len = 3;
    memcpy(t->receiver, "Bob", 3);
    t->receiver_len = 3;
    t->amount = 5;
    return wire_req_encode(&m, buf, cap);
}

TEST(a_datagram_matches_by_type_and_link) {
    uint8_t req[DGRAM_BYTES_MAX], rep[DGRAM_BYTES_MAX];
    size_t rn = write_req(req, sizeof(req));
    CHECK(rn > 0);
    wire_reply_t r;
    memset(&r, 0, sizeof(r));
    r.type = WIRE_WRITE | WIRE_REPLY;
    r.incarnation = 1;
    r.request_id = 7;
    r.u.write.count = 1;
    r.u.write.serials[0] = 10;
    size_t pn = wire_reply_encode(&r, rep, sizeof(rep));
    CHECK(pn > 0);
    scn_event_t to_b, to_any, from_b, query;
    char err[100];
    CHECK_EQ(ev_parse("WRITE M->B", &to_b, err, sizeof(err)), 0);
    CHECK_EQ(ev_parse("WRITE M->*", &to_any, err, sizeof(err)), 0);
    CHECK_EQ(ev_parse("WRITE M->B ack", &from_b, err, sizeof(err)), 0);
    CHECK_EQ(ev_parse("QUERY M->B", &query, err, sizeof(err)), 0);
    CHECK(scn_event_matches(&to_b, SIM_NODE_M, SIM_NODE_B, req, rn));
    CHECK(!scn_event_matches(&to_b, SIM_NODE_M, SIM_NODE_A, req, rn));   /* another backend */
    CHECK(!scn_event_matches(&to_b, SIM_NODE_B, SIM_NODE_M, req, rn));   /* the other way */
    CHECK(scn_event_matches(&to_any, SIM_NODE_M, SIM_NODE_C, req, rn));
    CHECK(!scn_event_matches(&query, SIM_NODE_M, SIM_NODE_B, req, rn));  /* another type */
    CHECK(!scn_event_matches(&to_b, SIM_NODE_M, SIM_NODE_B, rep, pn));   /* the reply */
    CHECK(scn_event_matches(&from_b, SIM_NODE_B, SIM_NODE_M, rep, pn));
    CHECK(!scn_event_matches(&from_b, SIM_NODE_B, SIM_NODE_M, req, rn));
    req[0] ^= 1; /* not this protocol's magic */
    CHECK(!scn_event_matches(&to_b, SIM_NODE_M, SIM_NODE_B, req, rn));
    CHECK(!scn_event_matches(&to_b, SIM_NODE_M, SIM_NODE_B, req, 3)); /* shorter than a header */
}

static const char blocks[] = "block A 1 Ann Bob 10\nblock B 2 Bob Cid 5\nblock C 3 Cid Ann 1\n";

static int parse(const char *body, scenario_t *s, char *err, size_t cap) {
    char text[2048];
    snprintf(text, sizeof(text), "%s%s", blocks, body);
    return scenario_parse(text, strlen(text), s, err, cap);
}

TEST(on_statements_round_trip_and_keep_their_order) {
    scenario_t a, b;
    char err[200] = "";
    CHECK_EQ(parse("at 0ms t: clientA Ann Cid 1\n"
                   "on first WRITE M->*: crash M\n"
                   "on WRITE M->B ack : pause B\n"
                   "on 2nd QUERY C->M: net udp M->C delay 5ms loss 0.5\n"
                   "on first WRITE M->*: partition M -> A\n"
                   "at 1s heal\n",
                   &a, err, sizeof(err)),
             0);
    CHECK_STR(err, "");
    CHECK_EQ(a.step_count, 6);
    size_t anchored = 0;
    for (size_t i = 0; i < a.step_count; i++) anchored += a.steps[i].on.type != 0;
    CHECK_EQ(anchored, 4);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK_EQ(scenario_print(&a, f), 0);
    fclose(f);
    CHECK(strstr(text, "on first WRITE M->*: crash M\n") != NULL);
    CHECK(strstr(text, "on first WRITE B->M: pause B\n") != NULL);
    CHECK(strstr(text, "on 2nd QUERY C->M: net udp M->C") != NULL);
    CHECK_EQ(scenario_parse(text, len, &b, err, sizeof(err)), 0);
    CHECK_EQ(b.step_count, a.step_count);
    for (size_t i = 0; i < a.step_count && i < b.step_count; i++) {
        CHECK(memcmp(&a.steps[i].on, &b.steps[i].on, sizeof(scn_event_t)) == 0);
        CHECK_EQ(a.steps[i].kind, b.steps[i].kind);
        CHECK_EQ(a.steps[i].at_us, b.steps[i].at_us);
    }
    scn_fired_t fa;
    CHECK_EQ(scn_fired_init(&fa, &a), 0);
    CHECK_EQ(fa.count, 4);
    CHECK_EQ(a.steps[fa.step[0]].kind, STEP_CRASH); /* in file order */
    CHECK_EQ(a.steps[fa.step[3]].kind, STEP_PARTITION);
    free(text);
    scenario_free(&a);
    scenario_free(&b);
}

TEST(on_statements_hold_faults_only) {
    static const char *const bad[] = {
        "on first WRITE M->B: t: clientA Ann\n",   /* operations stay timed */
        "on first WRITE M->B: clientA Ann\n",
        "on first WRITE M->B: recover\n",
        "on first WRITE M->B: reset k\n",
        "on first WRITE M->B crash M\n",           /* no colon */
        "on first WRITE M->B:\n",                  /* no step */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        scenario_t s;
        char err[200] = "";
        CHECK_EQ(parse(bad[i], &s, err, sizeof(err)), AC_EINVAL);
        CHECK(strstr(err, "line 4:") != NULL); /* after the three block lines */
    }
    char many[SCN_ANCHORS_MAX * 40 + 64] = "";
    for (int k = 0; k <= SCN_ANCHORS_MAX; k++) strcat(many, "on first WRITE M->A: crash A\n");
    scenario_t s;
    char err[200] = "";
    CHECK_EQ(parse(many, &s, err, sizeof(err)), AC_ERANGE);
    CHECK(strstr(err, "more than") != NULL);
}

static void run(const char *body, sim_result_t *r) {
    scenario_t s;
    char err[200] = "";
    if (parse(body, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "parse: %s\n", err);
        abort();
    }
    (void)sim_run(&s, NULL, r);
    scenario_free(&s);
}

/* Settings apply to the datagram that fired them: with every M->backend link cut at the
 * first WRITE, that WRITE is cut, the transfer stays in doubt past serverM's deadline, and
 * its resends land once the links heal; a crash is carried out before the datagram that
 * fired it is delivered. */
TEST(the_simulator_fires_at_the_nth_datagram) {
    sim_result_t r;
    run("at 0ms t: clientA Ann Cid 1\n"
        "on first WRITE M->*: partition M -> A\n"
        "on first WRITE M->*: partition M -> B\n"
        "on first WRITE M->*: partition M -> C\n"
        "at 5s heal\n"
        "run until quiet max 60s\n"
        "expect t exit 3\n"
        "expect t stderr \"the outcome of the transfer is unknown\"\n"
        "expect ledger count 4\n",
        &r);
    CHECK_EQ(r.fired.count, 3);
    CHECK(r.fired.at_us[0] != UINT64_MAX);
    CHECK(r.fired.at_us[0] == r.fired.at_us[2]); /* one datagram fired all three */
    CHECK(r.faults[FAULT_CUT] >= 1);            /* that very WRITE was cut */
    CHECK_EQ(r.expects_failed, 0);
    /* healed before any resend: the one datagram cut is the WRITE that fired the cuts */
    run("at 0ms t: clientA Ann Cid 1\n"
        "on first WRITE M->*: partition M -> A\n"
        "on first WRITE M->*: partition M -> B\n"
        "on first WRITE M->*: partition M -> C\n"
        "at 4ms heal\n"
        "run until quiet max 60s\n"
        "expect t exit 0\n",
        &r);
    CHECK(r.fired.at_us[0] < 4000);
    CHECK_EQ(r.faults[FAULT_CUT], 1);
    CHECK_EQ(r.expects_failed, 0);
    run("at 0ms t: clientA Ann Cid 1\n"
        "on first WRITE *->M: crash M\n"
        "on 2nd WRITE M->*: crash A\n"   /* never: the first write was answered */
        "run until quiet max 60s\n"
        "expect t exit 3\n"
        "expect ledger count 4\n",       /* stored, the reply met a crashed serverM */
        &r);
    CHECK_EQ(r.fired.count, 2);
    CHECK(r.fired.at_us[0] != UINT64_MAX);
    CHECK(r.fired.at_us[1] == UINT64_MAX);
    CHECK_EQ(r.faults[FAULT_CRASHES], 1);
    CHECK(r.faults[FAULT_TO_DOWN] >= 1);
    CHECK_EQ(r.expects_failed, 0);
    /* the same scenario with its steps timed instead has no anchors and the same hash as
     * before anchors existed: firing adds no draw */
    sim_result_t a, b;
    run("at 0ms t: clientA Ann Cid 1\nrun until quiet max 60s\n", &a);
    run("at 0ms t: clientA Ann Cid 1\non 9th LIST M->A: crash M\nrun until quiet max 60s\n", &b);
    CHECK(a.trace_hash == b.trace_hash); /* an anchor that never fires changes nothing */
    CHECK_EQ(b.fired.at_us[0], UINT64_MAX);
}

/* Two relays (links to A and to B) share one table: "2nd WRITE M->*" fires at the second
 * WRITE whichever relay sees it; the runner takes a fired step once; done releases it. */
TEST(relays_count_one_event_together) {
    static relay_anchors_t table;
    relay_t *ra = calloc(1, sizeof(*ra)), *rb = calloc(1, sizeof(*rb));
    relay_fault_t calm[RELAY_DIRS] = {{0}, {0}};
    relay_init(ra, 1, calm);
    relay_init(rb, 2, calm);
    const uint8_t a = SIM_NODE_A, b = SIM_NODE_B;
    relay_anchors_bind(ra, &table, -1, &a, 1);
    relay_anchors_bind(rb, &table, -1, &b, 1);
    char err[100];
    CHECK_EQ(ev_parse("2nd WRITE M->*", &table.a[0].ev, err, sizeof(err)), 0);
    CHECK_EQ(ev_parse("WRITE M->A ack", &table.a[1].ev, err, sizeof(err)), 0);
    table.count = 2;
    uint8_t req[DGRAM_BYTES_MAX];
    size_t n = write_req(req, sizeof(req));
    uint64_t at;
    CHECK_EQ(relay_anchors_see(ra, 0, RELAY_UP, req, n, 1), 0);  /* a request going up: no */
    CHECK_EQ(relay_anchors_see(ra, 0, RELAY_DOWN, req, n, 2), 0); /* the first WRITE */
    CHECK_EQ(relay_anchors_take(&table, &at), -1);
    CHECK_EQ(relay_anchors_see(rb, 0, RELAY_DOWN, req, n, 3), 1u << 0); /* the second, at B */
    CHECK(!relay_anchors_all_done(&table, 1u << 0));
    CHECK_EQ(relay_anchors_take(&table, &at), 0);
    CHECK_EQ(at, 3);
    CHECK_EQ(relay_anchors_take(&table, &at), -1); /* taken once */
    relay_anchors_done(&table, 0);
    CHECK(relay_anchors_all_done(&table, 1u << 0));
    CHECK_EQ(relay_anchors_see(ra, 0, RELAY_DOWN, req, n, 4), 0); /* the third: fired already */
    free(ra);
    free(rb);
}

int main(void) {
    RUN(events_parse_to_their_canonical_words);
    RUN(bad_events_are_refused_with_a_reason);
    RUN(a_datagram_matches_by_type_and_link);
    RUN(on_statements_round_trip_and_keep_their_order);
    RUN(on_statements_hold_faults_only);
    RUN(the_simulator_fires_at_the_nth_datagram);
    RUN(relays_count_one_event_together);
    return CHECK_DONE();
}
