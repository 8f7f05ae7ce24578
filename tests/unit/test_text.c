/* test_text.c — unit tests of core/text.c: control characters escaped as \xHH, everything
 * else (UTF-8 included) kept, the result always terminated and cut at a whole character;
 * text_vformat writes what vsnprintf writes, for every format and any buffer size. */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "text.h"

TEST(test_escapes_control_characters) {
    char out[64];
    CHECK_EQ(text_escape("a\x1b[31mb\nc\x7f\td", out, sizeof(out)), strlen("a\\x1b[31mb\\x0ac\\x7f\\x09d"));
    CHECK(strcmp(out, "a\\x1b[31mb\\x0ac\\x7f\\x09d") == 0);
    text_escape("plain \xc3\xa9 \"text\" \\", out, sizeof(out));
    CHECK(strcmp(out, "plain \xc3\xa9 \"text\" \\") == 0);
    text_escape("", out, sizeof(out));
    CHECK(strcmp(out, "") == 0);
}

TEST(test_cut_at_a_whole_character) {
    char out[6];
    CHECK_EQ(text_escape("ab\x01", out, sizeof(out)), 2); /* "\x01" needs 4 more: not half */
    CHECK(strcmp(out, "ab") == 0);
    CHECK_EQ(text_escape("abcdefgh", out, sizeof(out)), 5);
    CHECK(strcmp(out, "abcde") == 0);
    char one[1];
    CHECK_EQ(text_escape("x", one, sizeof(one)), 0);
    CHECK(one[0] == '\0');
}

/* text_vformat against vsnprintf on one format and its arguments, at every buffer size
 * from 1 to past the whole line: the same bytes, and the length written. */
static int same_as_vsnprintf(const char *fmt, ...) {
    char want[512], got[512];
    int ok = 1;
    for (size_t cap = 1; cap <= sizeof(want) && ok; cap = cap < 64 ? cap + 1 : cap * 2) {
        va_list a, b;
        va_start(a, fmt);
        int n = vsnprintf(want, cap, fmt, a);
        va_end(a);
        memset(got, 'x', sizeof(got));
        va_start(b, fmt);
        size_t len = text_vformat(got, cap, fmt, b);
        va_end(b);
        size_t want_len = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
        ok = len == want_len && memcmp(got, want, want_len + 1) == 0;
        if (!ok) fprintf(stderr, "format \"%s\", cap %zu: got \"%s\" (%zu), want \"%s\" (%zu)\n", fmt, cap, got,
                         len, want, want_len);
    }
    return ok;
}

TEST(test_vformat_writes_what_vsnprintf_writes) {
    /* every conversion the core's lines use (messages.h, outbox_line and outbox_drop) */
    CHECK(same_as_vsnprintf("The current balance of \"%s\" is : %lld alicoins.", "Chinmay", 1000LL));
    CHECK(same_as_vsnprintf("The main server sent a request to server %c.", 'B'));
    CHECK(same_as_vsnprintf("port %u, %d, %d", 25001u, -7, INT_MIN));
    CHECK(same_as_vsnprintf("%llu %llu %lld %lld", 0ULL, (unsigned long long)UINT64_MAX, (long long)INT64_MIN,
                            (long long)INT64_MAX));
    CHECK(same_as_vsnprintf("%zu bytes, %lu, %ld, %i", (size_t)SIZE_MAX, 42UL, -42L, 5));
    CHECK(same_as_vsnprintf("[%.*s] [%.3s] [%.*s]", 4, "abcdefgh", "xy", -1, "whole"));
    CHECK(same_as_vsnprintf("[%-*s] [%*s] [%-*llu] [%*llu] [%-8s] [%5d] [%-5u] [%3c]", 12, "left", 12, "right", 10,
                            77ULL, 10, 77ULL, "w", -3, 9u, 'z'));
    CHECK(same_as_vsnprintf("[%-*s] [%*s]", -6, "neg", 2, "longer than its width"));
    CHECK(same_as_vsnprintf("100%% sure, %s%%", "and"));
    CHECK(same_as_vsnprintf("no conversion at all"));
    CHECK(same_as_vsnprintf(""));
    /* what it hands to vsnprintf: still vsnprintf's bytes */
    CHECK(same_as_vsnprintf("%05d|%x|%+d|%.3d|%s|%5.1f", 42, 255u, 7, 5, "after", 2.5));
    CHECK(same_as_vsnprintf("%s then %08llu", "before", 12ULL));
    char long_line[700];
    memset(long_line, 'q', sizeof(long_line) - 1);
    long_line[sizeof(long_line) - 1] = '\0';
    CHECK(same_as_vsnprintf("%s|%s", long_line, "tail"));
}

int main(void) {
    RUN(test_escapes_control_characters);
    RUN(test_vformat_writes_what_vsnprintf_writes);
    RUN(test_cut_at_a_whole_character);
    return CHECK_DONE();
}
