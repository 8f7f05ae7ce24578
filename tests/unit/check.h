/* check.h — the unit-test runner: CHECK()/CHECK_EQ() record failures and go on; each
 * test_<noun>.c defines its tests with TEST() and lists them in main via RUN(). The
 * executable exits 1 when any check failed and prints "N passed, N failed". */
#ifndef ALICHAIN_CHECK_H
#define ALICHAIN_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_failures_;
static int check_tests_passed_;
static int check_tests_failed_;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures_++;                                                       \
        }                                                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                                    \
    do {                                                                                  \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                   \
        if (check_a_ != check_b_) {                                                       \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", __FILE__, \
                    __LINE__, #a, check_a_, #b, check_b_);                                \
            check_failures_++;                                                            \
        }                                                                                 \
    } while (0)

#define CHECK_STR(a, b)                                                                   \
    do {                                                                                  \
        const char *check_a_ = (a), *check_b_ = (b);                                      \
        if (strcmp(check_a_, check_b_) != 0) {                                            \
            fprintf(stderr, "%s:%d: CHECK_STR failed:\n  %s = \"%s\"\n  %s = \"%s\"\n",     \
                    __FILE__, __LINE__, #a, check_a_, #b, check_b_);                      \
            check_failures_++;                                                            \
        }                                                                                 \
    } while (0)

/* The boot epoch of the backends unit tests start (backend_init), which their WRITEs carry. */
#define TEST_EPOCH 0x5eedull

#define TEST(name) static void name(void)

#define RUN(name)                                                   \
    do {                                                            \
        int check_before_ = check_failures_;                        \
        name();                                                     \
        if (check_failures_ == check_before_) {                     \
            check_tests_passed_++;                                  \
        } else {                                                    \
            check_tests_failed_++;                                  \
            fprintf(stderr, "FAILED: %s\n", #name);                 \
        }                                                           \
    } while (0)

#define CHECK_DONE()                                                                   \
    (printf("%d passed, %d failed\n", check_tests_passed_, check_tests_failed_),       \
     check_tests_failed_ == 0 && check_tests_passed_ > 0 ? 0 : 1)

#endif
