/* test_sim_relay.c — unit tests of the UDP fault relay's pure plan (sim/hosts/relay.c): fault
 * specs, delays inside their range, duplicates, holds that really reorder, the bounded
 * queue, one seed giving one plan; the simulator's distribution (scenario/udp_fate.h: loss,
 * holds of 0 .. 2 x max + 1 ms, the same draw for the same seed); and the control block (a
 * new setting applies to the very next datagram and is acknowledged); the forger on serverM's
 * address (scenario/forge.h's datagrams, sealed with the real MAC, hosts/mac.h, of the wrong key). No
 * socket, no clock: the tests pass the time. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "hosts/mac.h"
#include "hosts/relay.h"
#include "scenario/forge.h"
#include "scenario/udp_fate.h"
#include "wire.h"

#define MS 1000u
#define PUSHES 400

static relay_t *relay_new(uint64_t seed, const char *down, const char *up) {
    relay_t *r = malloc(sizeof(*r));
    relay_fault_t f[RELAY_DIRS];
    char err[128];
    if (!r || relay_fault_parse(err, sizeof(err), down, &f[RELAY_DOWN]) < 0 ||
        relay_fault_parse(err, sizeof(err), up, &f[RELAY_UP]) < 0)
        abort();
    relay_init(r, seed, f);
    return r;
}

TEST(fault_spec_parses_and_refuses) {
    relay_fault_t f;
    char err[128];
    CHECK_EQ(relay_fault_parse(err, sizeof(err), "delay=5-40,dup=10,reorder=20", &f), 0);
    CHECK_EQ(f.delay_min_us, 5 * MS);
    CHECK_EQ(f.delay_max_us, 40 * MS);
    CHECK_EQ(f.dup_ppm, 100000);
    CHECK_EQ(f.reorder_ppm, 200000);
    CHECK_EQ(relay_fault_parse(err, sizeof(err), "delay=7", &f), 0);
    CHECK_EQ(f.delay_min_us, 7 * MS);
    CHECK_EQ(f.delay_max_us, 7 * MS);
    CHECK_EQ(relay_fault_parse(err, sizeof(err), "loss=25", &f), 0);
    CHECK_EQ(f.loss_ppm, 250000);
    CHECK_EQ(relay_fault_parse(err, sizeof(err), "none", &f), 0);
    CHECK_EQ(f.delay_max_us + f.dup_ppm + f.reorder_ppm + f.loss_ppm, 0);
    const char *bad[] = {"delay=40-5", "dup=101", "reorder=x", "jitter=3", "delay=5,,dup=1", "delay=60001",
                         "dup=5;", "loss=101", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        int rc = relay_fault_parse(err, sizeof(err), bad[i], &f);
        if (bad[i][0] == '\0') {
            CHECK_EQ(rc, 0); /* the empty spec is no fault at all */
        } else {
            CHECK_EQ(rc, RELAY_ERR_ARG);
            CHECK(strstr(err, bad[i]) != NULL);
        }
    }
}

TEST(addr_parses_and_refuses) {
    struct sockaddr_in a;
    char err[128];
    CHECK_EQ(relay_addr_parse(err, sizeof(err), "198.18.0.2:21319", &a), 0);
    CHECK_EQ(ntohs(a.sin_port), 21319);
    CHECK_EQ(ntohl(a.sin_addr.s_addr), 0xC6120002u);
    CHECK_EQ(relay_addr_parse(err, sizeof(err), "198.18.0.2", &a), RELAY_ERR_ARG);
    CHECK_EQ(relay_addr_parse(err, sizeof(err), "198.18.0.2:0", &a), RELAY_ERR_ARG);
    CHECK_EQ(relay_addr_parse(err, sizeof(err), "198.18.0.2:65536", &a), RELAY_ERR_ARG);
    CHECK_EQ(relay_addr_parse(err, sizeof(err), "host:80", &a), RELAY_ERR_ARG);
}

/* Without faults every datagram goes out at once, in order, byte for byte. */
TEST(no_fault_forwards_in_order) {
    relay_t *r = relay_new(1, "none", "none");
    for (uint8_t i = 0; i < 10; i++) CHECK_EQ(relay_push(r, 100 * MS, 0, RELAY_UP, &i, 1), 0);
    CHECK_EQ(relay_next_due_us(r), 100 * MS);
    relay_item_t it;
    for (uint8_t i = 0; i < 10; i++) {
        CHECK_EQ(relay_pop(r, 100 * MS, &it), 1);
        CHECK_EQ(it.data[0], i);
        CHECK_EQ(it.len, 1);
        CHECK_EQ(it.dir, RELAY_UP);
    }
    CHECK_EQ(relay_pop(r, 100 * MS, &it), 0);
    CHECK_EQ(relay_next_due_us(r), UINT64_MAX);
    CHECK_EQ(r->counts[RELAY_UP].forwarded, 10);
    CHECK_EQ(r->counts[RELAY_UP].reordered + r->counts[RELAY_UP].delayed + r->counts[RELAY_UP].duplicated, 0);
    free(r);
}

/* Every copy leaves within [min, max] of its arrival, never before it is due. */
TEST(delay_stays_in_range) {
    relay_t *r = relay_new(7, "delay=5-40", "none");
    uint8_t b = 0;
    for (int i = 0; i < 100; i++) CHECK_EQ(relay_push(r, 0, 1, RELAY_DOWN, &b, 1), 0);
    relay_item_t it;
    CHECK_EQ(relay_pop(r, 5 * MS - 1, &it), 0);
    uint64_t seen_min = UINT64_MAX, seen_max = 0;
    for (uint64_t t = 0; t <= 40 * MS; t += MS / 2)
        while (relay_pop(r, t, &it)) {
            CHECK(it.due_us <= t);
            if (it.due_us < seen_min) seen_min = it.due_us;
            if (it.due_us > seen_max) seen_max = it.due_us;
        }
    CHECK_EQ(r->count, 0);
    CHECK(seen_min >= 5 * MS);
    CHECK(seen_max <= 40 * MS);
    CHECK(seen_max > seen_min); /* a range, not one fixed delay */
    CHECK_EQ(r->counts[RELAY_DOWN].delayed, 100);
    free(r);
}

/* dup=100: two copies of each; dup=50: about half (the PRNG, not a fixed pattern). */
TEST(duplicates_are_counted_copies) {
    relay_t *r = relay_new(3, "dup=100", "dup=50");
    uint8_t b = 9;
    for (int i = 0; i < PUSHES / 2; i++) {
        CHECK_EQ(relay_push(r, 0, 0, RELAY_DOWN, &b, 1), 0);
        CHECK_EQ(relay_push(r, 0, 0, RELAY_UP, &b, 1), 0);
        relay_item_t it;
        while (relay_pop(r, 0, &it)) CHECK_EQ(it.data[0], 9);
    }
    CHECK_EQ(r->counts[RELAY_DOWN].duplicated, PUSHES / 2);
    CHECK_EQ(r->counts[RELAY_DOWN].forwarded, PUSHES);
    CHECK(r->counts[RELAY_UP].duplicated > PUSHES / 8);
    CHECK(r->counts[RELAY_UP].duplicated < PUSHES * 3 / 8);
    CHECK_EQ(r->counts[RELAY_UP].forwarded, PUSHES / 2 + r->counts[RELAY_UP].duplicated);
    /* a duplicate is not a reordering */
    CHECK_EQ(r->counts[RELAY_DOWN].reordered + r->counts[RELAY_UP].reordered, 0);
    free(r);
}

/* reorder=30 with no delay (a hold of 0 .. 1 ms, as the simulator's), a datagram every
 * 0.1 ms: a held datagram leaves after later ones; the counter counts exactly the
 * deliveries that came after a later arrival of the same link. */
TEST(holds_reorder_and_are_counted) {
    relay_t *r = relay_new(11, "reorder=30", "none");
    relay_item_t it;
    uint64_t delivered[PUSHES], n = 0, late = 0, max_seen = 0;
    for (int i = 0; i < PUSHES; i++) {
        uint8_t b[2] = {(uint8_t)(i >> 8), (uint8_t)i};
        uint64_t now = (uint64_t)i * MS / 10;
        CHECK_EQ(relay_push(r, now, 2, RELAY_DOWN, b, 2), 0);
        while (relay_pop(r, now, &it)) delivered[n++] = (uint64_t)(it.data[0] << 8 | it.data[1]);
    }
    while (relay_pop(r, UINT64_MAX, &it)) delivered[n++] = (uint64_t)(it.data[0] << 8 | it.data[1]);
    CHECK_EQ(n, PUSHES);
    for (uint64_t i = 0; i < n; i++) {
        if (i > 0 && delivered[i] < max_seen) late++;
        if (delivered[i] > max_seen) max_seen = delivered[i];
    }
    CHECK(r->counts[RELAY_DOWN].held > PUSHES / 5);
    CHECK(late > 0);
    CHECK_EQ(r->counts[RELAY_DOWN].reordered, late);
    /* links are ordered apart: a link's first datagram is never "late" for another's */
    CHECK_EQ(relay_push(r, 0, 0, RELAY_DOWN, (const uint8_t *)"x", 1), 0);
    CHECK_EQ(relay_pop(r, UINT64_MAX, &it), 1);
    CHECK_EQ(r->counts[RELAY_DOWN].reordered, late);
    free(r);
}

TEST(queue_is_bounded_and_input_checked) {
    relay_t *r = relay_new(5, "delay=100", "none");
    uint8_t big[RELAY_DGRAM_BYTES_MAX + 1] = {0};
    for (int i = 0; i < RELAY_QUEUE_MAX; i++) CHECK_EQ(relay_push(r, 0, 0, RELAY_DOWN, big, 1), 0);
    CHECK_EQ(relay_push(r, 0, 0, RELAY_DOWN, big, 1), RELAY_ERR_FULL);
    CHECK_EQ(r->counts[RELAY_DOWN].dropped_full, 1);
    CHECK_EQ(relay_push(r, 0, 0, RELAY_UP, big, sizeof(big)), RELAY_ERR_ARG);
    CHECK_EQ(relay_push(r, 0, RELAY_LINKS_MAX, RELAY_UP, big, 1), RELAY_ERR_ARG);
    CHECK_EQ(relay_push(r, 0, 0, RELAY_DIRS, big, 1), RELAY_ERR_ARG);
    free(r);
}

/* One seed, one plan: the same pushes give the same due times; another seed differs. */
TEST(seed_reproduces_the_plan) {
    relay_t *a = relay_new(42, "delay=1-50,dup=20,reorder=20", "delay=0-9");
    relay_t *b = relay_new(42, "delay=1-50,dup=20,reorder=20", "delay=0-9");
    relay_t *c = relay_new(43, "delay=1-50,dup=20,reorder=20", "delay=0-9");
    uint8_t x = 1;
    int differs = 0;
    for (int i = 0; i < 50; i++) {
        relay_push(a, 0, 0, i % 2, &x, 1);
        relay_push(b, 0, 0, i % 2, &x, 1);
        relay_push(c, 0, 0, i % 2, &x, 1);
    }
    CHECK_EQ(a->count, b->count);
    for (size_t i = 0; i < a->count && i < c->count; i++) {
        CHECK_EQ(a->items[i].due_us, b->items[i].due_us);
        differs |= a->items[i].due_us != c->items[i].due_us;
    }
    CHECK(differs);
    char text[RELAY_COUNTS_TEXT_BYTES];
    relay_counts_text(a, text, sizeof(text));
    CHECK(strstr(text, "down received=25 ") == text);
    CHECK(strstr(text, "; up received=25 ") != NULL);
    free(a);
    free(b);
    free(c);
}

/* The simulator's hold (sim/world/link.c): a copy picked for reordering waits its delay
 * plus 0 .. 2 x max + 1 ms — with no delay at most 1 ms (the relay once held it a fixed
 * 30 ms, longer than serverM's first retransmission), with delay=20 up to 61 ms, spread. */
TEST(reorder_holds_are_the_simulators) {
    relay_t *calm = relay_new(21, "reorder=100", "none");
    relay_t *slow = relay_new(22, "delay=20,reorder=100", "none");
    uint8_t b = 0;
    uint64_t slow_min = UINT64_MAX, slow_max = 0;
    for (int i = 0; i < PUSHES; i++) {
        CHECK_EQ(relay_push(calm, 0, 0, RELAY_DOWN, &b, 1), 0);
        if (i < RELAY_QUEUE_MAX) CHECK_EQ(relay_push(slow, 0, 0, RELAY_DOWN, &b, 1), 0);
        relay_item_t it;
        while (relay_pop(calm, UINT64_MAX, &it)) CHECK(it.due_us <= 1 * MS);
    }
    for (size_t i = 0; i < slow->count; i++) {
        uint64_t d = slow->items[i].due_us;
        CHECK(d >= 20 * MS);
        CHECK(d <= 20 * MS + 2 * 20 * MS + 1 * MS);
        if (d < slow_min) slow_min = d;
        if (d > slow_max) slow_max = d;
    }
    CHECK_EQ(calm->counts[RELAY_DOWN].held, PUSHES);
    CHECK(slow_min < 25 * MS);  /* a range from the delay ... */
    CHECK(slow_max > 55 * MS);  /* ... to near 2 x max + 1 ms above it, not one fixed hold */
    free(calm);
    free(slow);
}

/* One datagram, one draw: the relay's plan for a seed is udp_fate_draw's, the function
 * the simulator's network calls, on a PRNG of the same seed (loss, dup, delay, hold). */
TEST(relay_draws_what_the_simulator_draws) {
    relay_t *r = relay_new(77, "loss=20,dup=30,reorder=40,delay=2-9", "none");
    sim_udp_t u = {.delay_min_us = 2 * MS, .delay_max_us = 9 * MS, .loss_ppm = 200000, .dup_ppm = 300000,
                   .reorder_ppm = 400000};
    prng_t p;
    prng_init(&p, 77);
    uint8_t b = 0;
    uint64_t lost = 0;
    for (int i = 0; i < 100; i++) {
        size_t before = r->count;
        CHECK_EQ(relay_push(r, 0, 0, RELAY_DOWN, &b, 1), 0);
        udp_fate_t f;
        udp_fate_draw(&p, &u, &f);
        lost += f.lost;
        CHECK_EQ(r->count - before, f.copies);
        for (size_t k = 0; k < f.copies && before + k < r->count; k++)
            CHECK_EQ(r->items[before + k].due_us, f.delay_us[k]);
    }
    CHECK(lost > 0);
    CHECK_EQ(r->counts[RELAY_DOWN].lost, lost);
    char text[RELAY_COUNTS_TEXT_BYTES];
    relay_counts_text(r, text, sizeof(text));
    CHECK(strstr(text, "lost=") != NULL);
    free(r);
}

/* loss=100 drops every datagram (counted, never queued); loss=30 about a third. */
TEST(loss_drops_and_counts) {
    relay_t *r = relay_new(8, "loss=100", "loss=30");
    uint8_t b = 0;
    for (int i = 0; i < PUSHES; i++) {
        CHECK_EQ(relay_push(r, 0, 1, RELAY_DOWN, &b, 1), 0);
        CHECK_EQ(relay_push(r, 0, 1, RELAY_UP, &b, 1), 0);
    }
    CHECK_EQ(r->counts[RELAY_DOWN].lost, PUSHES);
    CHECK(r->counts[RELAY_UP].lost > PUSHES / 5);
    CHECK(r->counts[RELAY_UP].lost < PUSHES * 2 / 5);
    CHECK_EQ(r->count, PUSHES - r->counts[RELAY_UP].lost); /* only the up direction queued */
    free(r);
}

/* A setting handed through the control block applies to the very next datagram taken
 * after the sequence changed — not one loop turn later — and is acknowledged then; with
 * no datagram, a sync (the loop's turn) acknowledges it. */
TEST(control_applies_to_the_next_datagram) {
    relay_t *r = relay_new(9, "none", "none");
    relay_control_t ctl;
    memset(&ctl, 0, sizeof(ctl));
    uint8_t b = 0;
    CHECK(relay_control_acked(&ctl));
    CHECK_EQ(relay_take(r, &ctl, 10 * MS, 0, RELAY_DOWN, &b, 1), 0);
    CHECK_EQ(r->items[0].due_us, 10 * MS); /* calm: at once */
    relay_fault_t slow = {.delay_min_us = 50 * MS, .delay_max_us = 50 * MS};
    uint32_t seq = relay_control_set(&ctl, RELAY_DOWN, &slow);
    CHECK_EQ(seq, 1);
    CHECK(!relay_control_acked(&ctl));
    CHECK_EQ(relay_take(r, &ctl, 11 * MS, 0, RELAY_DOWN, &b, 1), 0);
    CHECK_EQ(r->items[1].due_us, 61 * MS); /* the very next datagram: delayed */
    CHECK(relay_control_acked(&ctl));
    CHECK_EQ(ctl.applied_seq, 1);
    CHECK_EQ(ctl.published[RELAY_DOWN].received, 1); /* published as of the sync, before this one */
    relay_fault_t calm = {0};
    (void)relay_control_set(&ctl, RELAY_DOWN, &calm);
    CHECK_EQ(relay_control_sync(&ctl, r), 1);
    CHECK(relay_control_acked(&ctl));
    CHECK_EQ(relay_control_sync(&ctl, r), 0); /* nothing new */
    CHECK_EQ(relay_take(r, &ctl, 12 * MS, 0, RELAY_DOWN, &b, 1), 0);
    CHECK_EQ(r->items[2].due_us, 12 * MS);
    free(r);
}

/* A cut direction drops what arrives (before any draw: the plan after the heal is the one
 * an uncut relay would have made) and what was still queued when the cut began, as the
 * simulator's partitions do at send and at arrival; the other direction flows. */
TEST(cut_drops_at_arrival_and_at_delivery) {
    static relay_control_t ctl; /* zeroed: nothing wanted, nothing applied */
    relay_item_t it;
    uint8_t b = 0;
    relay_t *r = relay_new(4, "delay=10", "none");
    CHECK_EQ(relay_take(r, &ctl, 0, 0, RELAY_DOWN, &b, 1), 0); /* queued, due at 10 ms */
    (void)relay_control_cut(&ctl, RELAY_DOWN, 1);
    CHECK_EQ(relay_take(r, &ctl, 1 * MS, 0, RELAY_DOWN, &b, 1), 0); /* cut at arrival */
    CHECK_EQ(relay_take(r, &ctl, 1 * MS, 0, RELAY_UP, &b, 1), 0);   /* the other way flows */
    CHECK(relay_control_acked(&ctl));
    CHECK_EQ(relay_pop(r, 20 * MS, &it), 1);
    CHECK_EQ(it.dir, RELAY_UP);
    CHECK_EQ(relay_pop(r, 20 * MS, &it), 0); /* the queued one met the cut at delivery */
    CHECK_EQ(r->counts[RELAY_DOWN].cut, 2);
    CHECK_EQ(r->counts[RELAY_DOWN].forwarded, 0);
    (void)relay_control_cut(&ctl, RELAY_DOWN, 0);
    CHECK_EQ(relay_take(r, &ctl, 30 * MS, 0, RELAY_DOWN, &b, 1), 0);
    CHECK_EQ(relay_pop(r, 40 * MS, &it), 1);
    CHECK_EQ(r->counts[RELAY_DOWN].forwarded, 1);
    free(r);
}

/* The servers' key of these tests: anything but forge_key. */
static const uint8_t servers_key[AUTH_KEY_BYTES] = "the servers' key of a unit test";

/* A datagram of serverM's to backend `peer`: a QUERY of incarnation, sealed with the
 * servers' key as sequence number seq. Returns its length. */
static size_t m_dgram(int peer, uint64_t incarnation, uint64_t seq, uint8_t *out) {
    static wire_req_t req; /* large */
    uint8_t msg[DGRAM_BYTES_MAX];
    const auth_t a = hosts_mac_auth(servers_key);
    memset(&req, 0, sizeof(req));
    req.type = WIRE_QUERY;
    req.incarnation = incarnation;
    req.request_id = seq;
    size_t n = wire_req_encode(&req, msg, sizeof(msg));
    if (n == 0) abort();
    return auth_seal(&a, peer, seq, msg, n, out, AUTH_DGRAM_BYTES_MAX);
}

/* The next delivered datagram opened as backend `peer` would: with the servers' key (it must
 * fail on the MAC: a forgery) and with the forger's (it must be well-formed); its request
 * into *req and its sequence number into *seq. */
static int forged_open(relay_t *r, uint64_t now_us, int peer, wire_req_t *req, uint64_t *seq) {
    relay_item_t it;
    size_t m = 0;
    const auth_t servers = hosts_mac_auth(servers_key);
    const auth_t forger = hosts_mac_auth(forge_key);
    if (relay_pop(r, now_us, &it) != 1 || it.dir != RELAY_DOWN) return -1;
    if (auth_open(&servers, peer, it.data, it.len, &m, seq) != AUTH_EMAC) return -2;
    if (auth_open(&forger, peer, it.data, it.len, &m, seq) != 0) return -3;
    return wire_req_decode(it.data, m, req) == 0 ? 0 : -4;
}

/* The forger: nothing to work from before serverM's first datagram on the link (counted
 * forge_blind, nothing sent); then a hello and a WRITE of the forged transfer under
 * serverM's incarnation, a hello of a newer one, each with the next sequence number and a
 * MAC that the servers' key refuses but is otherwise well-formed; a replay is serverM's
 * last datagram byte for byte. The control block carries a command out once. */
TEST(forger_forges_under_the_wrong_key_and_replays) {
    static wire_req_t req;
    static relay_control_t ctl;
    uint8_t genuine[AUTH_DGRAM_BYTES_MAX];
    uint64_t seq = 0;
    relay_item_t it;
    uint32_t sent = 99;
    CHECK(sodium_init() >= 0);
    relay_t *r = relay_new(11, "none", "none");
    const auth_t forger = hosts_mac_auth(forge_key);
    const uint8_t backend = SIM_NODE_B;
    CHECK_EQ(relay_forge(r, 0, 0, FORGE_WRITE, 0), RELAY_ERR_ARG); /* no forger bound yet */
    relay_forger_bind(r, &forger, &backend, 1);
    CHECK_EQ(relay_forge(r, 0, 0, FORGE_REPLAY, 0), 0);
    CHECK_EQ(relay_forge(r, 0, 0, FORGE_FENCE, 0), 0);
    CHECK_EQ(r->counts[RELAY_DOWN].forge_blind, 2);
    CHECK_EQ(r->count, 0);
    size_t glen = m_dgram(1, 123456789, 7, genuine);
    CHECK_EQ(relay_take(r, NULL, 1 * MS, 0, RELAY_DOWN, genuine, glen), 0);
    CHECK_EQ(relay_pop(r, 1 * MS, &it), 1);
    CHECK_EQ(relay_forge(r, 2 * MS, 0, FORGE_WRITE, 10), 2);
    CHECK_EQ(forged_open(r, 2 * MS, 1, &req, &seq), 0);
    CHECK_EQ(req.type, WIRE_QUERY);
    CHECK_EQ(req.incarnation, 123456789);
    CHECK_EQ(seq, 11);
    CHECK_EQ(req.request_id, 11);
    CHECK_EQ(forged_open(r, 2 * MS, 1, &req, &seq), 0);
    CHECK_EQ(req.type, WIRE_WRITE);
    CHECK_EQ(req.incarnation, 123456789);
    CHECK_EQ(seq, 12);
    CHECK_EQ(req.u.write.count, 1);
    CHECK_EQ(req.u.write.txs[0].serial, FORGE_SERIAL);
    CHECK_EQ(req.u.write.txs[0].amount, FORGE_AMOUNT);
    CHECK(strcmp(req.u.write.txs[0].sender, FORGE_SENDER) == 0);
    CHECK(strcmp(req.u.write.txs[0].receiver, FORGE_RECEIVER) == 0);
    CHECK(forge_tx_is_forged(&req.u.write.txs[0]));
    CHECK_EQ(relay_forge(r, 3 * MS, 0, FORGE_FENCE, 12), 1);
    CHECK_EQ(forged_open(r, 3 * MS, 1, &req, &seq), 0);
    CHECK_EQ(req.incarnation, 123456789 + FORGE_FENCE_AHEAD);
    CHECK_EQ(seq, 13);
    CHECK_EQ(relay_pop(r, 3 * MS, &it), 0);
    /* the replay, through the control block as the runner hands it */
    CHECK(relay_control_forged(&ctl, &sent)); /* nothing asked yet */
    relay_control_forge(&ctl, 0, FORGE_REPLAY, 0);
    CHECK(!relay_control_forged(&ctl, &sent));
    CHECK_EQ(relay_control_forge_take(&ctl, r, 4 * MS), 1);
    CHECK_EQ(relay_control_forge_take(&ctl, r, 4 * MS), 0); /* carried out once */
    CHECK(relay_control_forged(&ctl, &sent));
    CHECK_EQ(sent, 1);
    CHECK_EQ(relay_pop(r, 4 * MS, &it), 1);
    CHECK_EQ(it.len, glen);
    CHECK(memcmp(it.data, genuine, glen) == 0);
    CHECK_EQ(r->counts[RELAY_DOWN].forged, 3);
    CHECK_EQ(r->counts[RELAY_DOWN].replayed, 1);
    CHECK_EQ(ctl.published[RELAY_DOWN].forged, 3); /* published with the acknowledgement */
    CHECK_EQ(ctl.published[RELAY_DOWN].replayed, 1);
    CHECK_EQ(r->counts[RELAY_DOWN].received, 5);   /* serverM's, and the four the forger sent */
    free(r);
}

int main(void) {
    RUN(fault_spec_parses_and_refuses);
    RUN(addr_parses_and_refuses);
    RUN(no_fault_forwards_in_order);
    RUN(delay_stays_in_range);
    RUN(duplicates_are_counted_copies);
    RUN(holds_reorder_and_are_counted);
    RUN(queue_is_bounded_and_input_checked);
    RUN(seed_reproduces_the_plan);
    RUN(reorder_holds_are_the_simulators);
    RUN(relay_draws_what_the_simulator_draws);
    RUN(loss_drops_and_counts);
    RUN(control_applies_to_the_next_datagram);
    RUN(cut_drops_at_arrival_and_at_delivery);
    RUN(forger_forges_under_the_wrong_key_and_replays);
    return CHECK_DONE();
}
