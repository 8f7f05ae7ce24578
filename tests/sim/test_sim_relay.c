/* test_sim_relay.c — unit tests of the UDP fault relay's pure plan (sim/hosts/relay.c): fault
 * specs, delays inside their range, duplicates, holds that really reorder, the bounded
 * queue, and one seed giving one plan. No socket, no clock: the tests pass the time. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hosts/relay.h"

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
    CHECK_EQ(f.delay_us_min, 5 * MS);
    CHECK_EQ(f.delay_us_max, 40 * MS);
    CHECK_EQ(f.dup_ppm, 100000);
    CHECK_EQ(f.reorder_ppm, 200000);
    CHECK_EQ(relay_fault_parse(err, sizeof(err), "delay=7", &f), 0);
    CHECK_EQ(f.delay_us_min, 7 * MS);
    CHECK_EQ(f.delay_us_max, 7 * MS);
    CHECK_EQ(relay_fault_parse(err, sizeof(err), "none", &f), 0);
    CHECK_EQ(f.delay_us_max + f.dup_ppm + f.reorder_ppm, 0);
    const char *bad[] = {"delay=40-5", "dup=101", "reorder=x", "loss=3", "delay=5,,dup=1", "delay=60001",
                         "dup=5;", ""};
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

/* reorder=30 with no delay: a held datagram leaves after later ones; the counter counts
 * exactly the deliveries that came after a later arrival of the same link. */
TEST(holds_reorder_and_are_counted) {
    relay_t *r = relay_new(11, "reorder=30", "none");
    relay_item_t it;
    uint64_t delivered[PUSHES], n = 0, late = 0, max_seen = 0;
    for (int i = 0; i < PUSHES; i++) {
        uint8_t b[2] = {(uint8_t)(i >> 8), (uint8_t)i};
        CHECK_EQ(relay_push(r, (uint64_t)i * MS, 2, RELAY_DOWN, b, 2), 0);
        while (relay_pop(r, (uint64_t)i * MS, &it)) delivered[n++] = (uint64_t)(it.data[0] << 8 | it.data[1]);
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

int main(void) {
    RUN(fault_spec_parses_and_refuses);
    RUN(addr_parses_and_refuses);
    RUN(no_fault_forwards_in_order);
    RUN(delay_stays_in_range);
    RUN(duplicates_are_counted_copies);
    RUN(holds_reorder_and_are_counted);
    RUN(queue_is_bounded_and_input_checked);
    RUN(seed_reproduces_the_plan);
    return CHECK_DONE();
}
