/* test_serials.c — core/serials.c: the merge names a serial two sources hold (and the
 * two), reports gaps without calling them errors, refuses a stream that does not ascend;
 * the counting test on the largest serials names what it can and proves the rest. */
#include <string.h>

#include "check.h"
#include "messages.h"
#include "serials.h"

static const char *const names[3] = {"serverA", "serverB", "serverC"};

TEST(merge_of_contiguous_serials_is_clean) {
    serials_merge_t m;
    serials_merge_init(&m);
    uint64_t gf = 0, gl = 0;
    serials_dup_t d;
    for (uint64_t s = 1; s <= 9; s++) CHECK_EQ(serials_merge_next(&m, s, (int)(s % 3), &gf, &gl, &d), 0);
    CHECK_EQ(gf, 0);
}

TEST(merge_names_a_serial_of_two_sources) {
    serials_merge_t m;
    serials_merge_init(&m);
    uint64_t gf, gl;
    serials_dup_t d;
    CHECK_EQ(serials_merge_next(&m, 1, 1, &gf, &gl, &d), 0);
    CHECK_EQ(serials_merge_next(&m, 1, 0, &gf, &gl, &d), AC_EDUP);
    CHECK_EQ(d.serial, 1);
    CHECK_EQ(d.first, 0); /* in source order, whichever came first */
    CHECK_EQ(d.second, 1);
    char buf[256];
    serials_dup_format(&d, names, buf, sizeof buf);
    CHECK(strstr(buf, "serial 1 is stored by both serverA and serverB") != NULL);
    CHECK_EQ(serials_merge_next(&m, 2, 2, &gf, &gl, &d), 0); /* nothing changed: goes on */
}

TEST(merge_reports_gaps_and_refuses_a_descent) {
    serials_merge_t m;
    serials_merge_init(&m);
    uint64_t gf = 0, gl = 0;
    serials_dup_t d;
    CHECK_EQ(serials_merge_next(&m, 3, 0, &gf, &gl, &d), 1); /* 1..2 missing */
    CHECK_EQ(gf, 1);
    CHECK_EQ(gl, 2);
    CHECK_EQ(serials_merge_next(&m, 4, 1, &gf, &gl, &d), 0);
    CHECK_EQ(serials_merge_next(&m, 10, 1, &gf, &gl, &d), 1);
    CHECK_EQ(gf, 5);
    CHECK_EQ(gl, 9);
    CHECK_EQ(serials_merge_next(&m, 7, 2, &gf, &gl, &d), AC_EINVAL);
    CHECK_EQ(m.last, 10);
}

TEST(maxima_of_a_valid_ledger_pass) {
    serials_dup_t d;
    uint64_t largest[3] = {9, 8, 7}, count[3] = {3, 3, 3};
    CHECK_EQ(serials_check_maxima(largest, count, 3, 7, &d), 0);
    uint64_t gaps[3] = {9, 0, 0}, gcount[3] = {3, 0, 0}; /* 1, 5, 9: gaps and empty files */
    CHECK_EQ(serials_check_maxima(gaps, gcount, 3, 7, &d), 0);
    uint64_t none[3] = {0, 0, 0};
    CHECK_EQ(serials_check_maxima(none, none, 3, 7, &d), 0);
}

TEST(maxima_name_one_largest_serial_of_two_backends) {
    serials_dup_t d;
    uint64_t largest[3] = {9, 8, 9}, count[3] = {3, 3, 1};
    CHECK_EQ(serials_check_maxima(largest, count, 3, 7, &d), AC_EDUP);
    CHECK_EQ(d.serial, 9);
    CHECK_EQ(d.first, 0);
    CHECK_EQ(d.second, 2);
    /* a backend that did not answer is left out */
    CHECK_EQ(serials_check_maxima(largest, count, 3, 3, &d), 0);
}

TEST(counts_over_the_largest_serial_prove_a_duplicate) {
    serials_dup_t d;
    uint64_t largest[3] = {9, 8, 7}, count[3] = {3, 4, 3}; /* 10 transactions, serials <= 9 */
    CHECK_EQ(serials_check_maxima(largest, count, 3, 7, &d), AC_EDUP);
    CHECK_EQ(d.serial, SERIALS_UNNAMED);
    CHECK_EQ(d.count, 10);
    CHECK_EQ(d.largest, 9);
    char buf[256];
    serials_dup_format(&d, names, buf, sizeof buf);
    CHECK(strstr(buf, "hold 10 transactions under serials up to 9") != NULL);
    uint64_t huge[3] = {UINT64_MAX - 1, 1, 2}, hcount[3] = {UINT64_MAX, 1, 1}; /* the sum overflows */
    CHECK_EQ(serials_check_maxima(huge, hcount, 3, 7, &d), AC_EDUP);
}

TEST(dup_text_fits_an_internal_reply) {
    serials_dup_t d = {.serial = UINT64_MAX, .first = 0, .second = 2};
    char buf[PATH_BYTES_MAX + 1];
    size_t n = serials_dup_format(&d, names, buf, sizeof buf);
    CHECK(n < sizeof buf);
    CHECK(strstr(buf, "18446744073709551615 is stored by both serverA and serverC") != NULL);
    CHECK(strstr(buf, "alichain-sim check DIR") != NULL); /* not cut short */
    serials_dup_t u = {.serial = SERIALS_UNNAMED, .first = -1, .second = -1, .count = UINT64_MAX,
                       .largest = UINT64_MAX};
    n = serials_dup_format(&u, names, buf, sizeof buf);
    CHECK(strstr(buf, "alichain-sim check DIR") != NULL);
}

int main(void) {
    RUN(merge_of_contiguous_serials_is_clean);
    RUN(merge_names_a_serial_of_two_sources);
    RUN(merge_reports_gaps_and_refuses_a_descent);
    RUN(maxima_of_a_valid_ledger_pass);
    RUN(maxima_name_one_largest_serial_of_two_backends);
    RUN(counts_over_the_largest_serial_prove_a_duplicate);
    RUN(dup_text_fits_an_internal_reply);
    return CHECK_DONE();
}
