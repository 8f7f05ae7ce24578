/* test_text.c — unit tests of core/text.c: control characters escaped as \xHH, everything
 * else (UTF-8 included) kept, the result always terminated and cut at a whole character. */
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

int main(void) {
    RUN(test_escapes_control_characters);
    RUN(test_cut_at_a_whole_character);
    return CHECK_DONE();
}
