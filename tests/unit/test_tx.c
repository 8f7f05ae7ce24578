/* test_tx.c — unit tests of core/tx.c: the name, amount and serial parsers at and around
 * every boundary, block-line parsing (blanks, tabs, CRLF, each error reason) and the
 * canonical formatter, including a parse/format round trip. */
#include "check.h"
#include "tx.h"

#define S(lit) (lit), (sizeof(lit) - 1) /* a string literal as (pointer, length) */

static char name64[NAME_BYTES_MAX + 2];

static void names_fill(void) {
    memset(name64, 'a', NAME_BYTES_MAX + 1);
    name64[NAME_BYTES_MAX + 1] = '\0';
}

TEST(test_name_valid) {
    names_fill();
    CHECK_EQ(tx_name_valid(S("Alice")), 1);
    CHECK_EQ(tx_name_valid(S("a")), 1);
    CHECK_EQ(tx_name_valid(S("AZaz09_.-")), 1);
    CHECK_EQ(tx_name_valid(name64, NAME_BYTES_MAX), 1);
    CHECK_EQ(tx_name_valid(name64, NAME_BYTES_MAX + 1), 0);
    CHECK_EQ(tx_name_valid(S("")), 0);
    CHECK_EQ(tx_name_valid(NULL, 0), 0);
    CHECK_EQ(tx_name_valid(S("a b")), 0);
    CHECK_EQ(tx_name_valid(S("a/b")), 0);
    CHECK_EQ(tx_name_valid(S("a@")), 0);
    CHECK_EQ(tx_name_valid(S("[")), 0);
    CHECK_EQ(tx_name_valid(S("`")), 0);
    CHECK_EQ(tx_name_valid(S("{")), 0);
    CHECK_EQ(tx_name_valid(S(":")), 0);
    CHECK_EQ(tx_name_valid(S("\xc3\xa9")), 0); /* UTF-8 e-acute */
    CHECK_EQ(tx_name_valid("ab\0c", 4), 0);   /* an embedded NUL */
    CHECK_EQ(tx_name_valid("abc", 2), 1);       /* only len bytes are looked at */
    int allowed = 0; /* every byte value: exactly the 65 of [A-Za-z0-9_.-] */
    for (int c = 0; c < 256; c++) {
        char one = (char)c;
        int want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '.' || c == '-';
        CHECK_EQ(tx_name_valid(&one, 1), want);
        allowed += want;
    }
    CHECK_EQ(allowed, 65);
}

TEST(test_amount_parse) {
    int64_t v = -1;
    CHECK_EQ(tx_amount_parse(S("1"), &v), AC_OK);
    CHECK_EQ(v, 1);
    CHECK_EQ(tx_amount_parse(S("1000000000000"), &v), AC_OK);
    CHECK_EQ(v, AMOUNT_MAX);
    v = 7;
    /* one spelling per amount: a leading zero is refused at any length */
    CHECK_EQ(tx_amount_parse(S("0000000000042"), &v), AC_EINVAL); /* 13 digits */
    CHECK_EQ(tx_amount_parse(S("00000000000042"), &v), AC_EINVAL); /* 14 digits */
    CHECK_EQ(tx_amount_parse(S("0012"), &v), AC_EINVAL);
    CHECK_EQ(tx_amount_parse(S("01"), &v), AC_EINVAL);
    CHECK_EQ(tx_amount_parse(S("01000000000000"), &v), AC_EINVAL); /* 10^12 with a 0 */
    CHECK_EQ(v, 7); /* untouched on error */
    CHECK_EQ(tx_amount_parse(S("10"), &v), AC_OK); /* a zero that leads nothing */
    CHECK_EQ(v, 10);
    v = 7;
    CHECK_EQ(tx_amount_parse(S("1000000000001"), &v), AC_ERANGE);
    CHECK_EQ(tx_amount_parse(S("9999999999999"), &v), AC_ERANGE);
    CHECK_EQ(tx_amount_parse(S("0"), &v), AC_ERANGE);
    CHECK_EQ(tx_amount_parse(S("000"), &v), AC_EINVAL);
    CHECK_EQ(tx_amount_parse(S(""), &v), AC_EINVAL);
    CHECK_EQ(tx_amount_parse(S("-5"), &v), AC_EINVAL);
    CHECK_EQ(tx_amount_parse(S("+5"), &v), AC_EINVAL);
    CHECK_EQ(tx_amount_parse(S("5a"), &v), AC_EINVAL);
    CHECK_EQ(tx_amount_parse(S("1.5"), &v), AC_EINVAL);
    CHECK_EQ(tx_amount_parse(S(" 5"), &v), AC_EINVAL);
    CHECK_EQ(tx_amount_parse(S("99999999999999999999x"), &v), AC_EINVAL); /* not digits wins */
    CHECK_EQ(tx_amount_parse(S("99999999999999999999999"), &v), AC_ERANGE);
    CHECK_EQ(v, 7);
}

TEST(test_serial_parse) {
    uint64_t v = 0;
    CHECK_EQ(tx_serial_parse(S("1"), &v), AC_OK);
    CHECK_EQ(v, 1);
    CHECK_EQ(tx_serial_parse(S("18446744073709551615"), &v), AC_OK);
    CHECK(v == UINT64_MAX);
    CHECK_EQ(tx_serial_parse(S("18446744073709551614"), &v), AC_OK);
    CHECK(v == UINT64_MAX - 1);
    v = 5;
    CHECK_EQ(tx_serial_parse(S("18446744073709551616"), &v), AC_ERANGE); /* UINT64_MAX + 1 */
    CHECK_EQ(tx_serial_parse(S("18446744073709551620"), &v), AC_ERANGE);
    CHECK_EQ(tx_serial_parse(S("99999999999999999999"), &v), AC_ERANGE);
    CHECK_EQ(tx_serial_parse(S("100000000000000000000"), &v), AC_ERANGE); /* 21 digits */
    CHECK_EQ(v, 5);
    /* one rule with the amounts: one spelling, a leading zero is refused at any length */
    CHECK_EQ(tx_serial_parse(S("01"), &v), AC_EINVAL);
    CHECK_EQ(tx_serial_parse(S("000000000000000000001"), &v), AC_EINVAL);
    CHECK_EQ(tx_serial_parse(S("00000000000000000007"), &v), AC_EINVAL);
    CHECK_EQ(v, 5);
    CHECK_EQ(tx_serial_parse(S("0"), &v), AC_ERANGE);
    CHECK_EQ(tx_serial_parse(S("00"), &v), AC_EINVAL);
    CHECK_EQ(tx_serial_parse(S(""), &v), AC_EINVAL);
    CHECK_EQ(tx_serial_parse(S("-1"), &v), AC_EINVAL);
    CHECK_EQ(tx_serial_parse(S("1x"), &v), AC_EINVAL);
    CHECK_EQ(tx_serial_parse(S("0x10"), &v), AC_EINVAL);
    CHECK_EQ(v, 5);
}

/* Parses line and checks the return code and the reason. */
static void parse_expect_error(const char *line, size_t len, int rc_want, const char *why) {
    tx_t t;
    char err[64] = "unset";
    int rc = tx_parse_line(line, len, &t, err, sizeof err);
    CHECK_EQ(rc, rc_want);
    CHECK_STR(err, why);
    if (rc != rc_want || strcmp(err, why) != 0) fprintf(stderr, "  line: \"%.*s\"\n", (int)len, line);
}

TEST(test_parse_line_ok) {
    tx_t t;
    char err[64] = "";
    CHECK_EQ(tx_parse_line(S("7 Martin Luke 25"), &t, err, sizeof err), AC_OK);
    CHECK(t.serial == 7);
    CHECK_STR(t.sender, "Martin");
    CHECK_EQ(t.sender_len, 6);
    CHECK_STR(t.receiver, "Luke");
    CHECK_EQ(t.receiver_len, 4);
    CHECK_EQ(t.amount, 25);

    /* blanks: runs of spaces and tabs, leading and trailing; a trailing CR */
    CHECK_EQ(tx_parse_line(S(" \t 8\t\tA.b   c-d_9 \t1000000000000 \t"), &t, err, sizeof err),
             AC_OK);
    CHECK(t.serial == 8);
    CHECK_STR(t.sender, "A.b");
    CHECK_STR(t.receiver, "c-d_9");
    CHECK_EQ(t.amount, AMOUNT_MAX);
    CHECK_EQ(tx_parse_line(S("9 a b 3\r"), &t, err, sizeof err), AC_OK);
    CHECK_EQ(t.amount, 3);
    CHECK_EQ(tx_parse_line(S("9 a b 3 \r"), &t, err, sizeof err), AC_OK);
    CHECK_EQ(tx_parse_line(S("18446744073709551615 a b 1"), &t, err, sizeof err), AC_OK);
    CHECK(t.serial == UINT64_MAX);
    /* same sender and receiver: allowed in block lines */
    CHECK_EQ(tx_parse_line(S("10 Same Same 5"), &t, err, sizeof err), AC_OK);
    CHECK_STR(t.sender, t.receiver);

    /* 64-byte names are fine */
    char line[TX_LINE_BYTES_MAX + 8];
    char n64[NAME_BYTES_MAX + 1];
    memset(n64, 'x', NAME_BYTES_MAX);
    n64[NAME_BYTES_MAX] = '\0';
    int n = snprintf(line, sizeof line, "11 %s %s 5", n64, n64);
    CHECK_EQ(tx_parse_line(line, (size_t)n, &t, err, sizeof err), AC_OK);
    CHECK_EQ(t.sender_len, NAME_BYTES_MAX);
    CHECK_EQ(t.receiver_len, NAME_BYTES_MAX);
    CHECK_EQ(strlen(t.sender), NAME_BYTES_MAX);

    /* a NULL err buffer is fine, on success and on error */
    CHECK_EQ(tx_parse_line(S("1 a b 1"), &t, NULL, 0), AC_OK);
    CHECK_EQ(tx_parse_line(S("1 a b"), &t, NULL, 0), AC_EINVAL);
}

TEST(test_parse_line_errors) {
    parse_expect_error(S(""), AC_EINVAL, "expected 4 fields");
    parse_expect_error(S("\r"), AC_EINVAL, "expected 4 fields");
    parse_expect_error(S("   \t "), AC_EINVAL, "expected 4 fields");
    parse_expect_error(S("1 a b"), AC_EINVAL, "expected 4 fields");
    parse_expect_error(S("1 a b 5 6"), AC_EINVAL, "expected 4 fields");
    parse_expect_error(S("1 a b 5 6 7 8"), AC_EINVAL, "expected 4 fields");
    parse_expect_error(S("1 a b 5\r\r"), AC_EINVAL, "invalid amount"); /* one CR only */
    parse_expect_error(S("1 a b 5\r "), AC_EINVAL, "invalid amount");
    parse_expect_error(S("1,a,b,5"), AC_EINVAL, "expected 4 fields");
    parse_expect_error(S("x a b 5"), AC_EINVAL, "invalid serial");
    parse_expect_error(S("-1 a b 5"), AC_EINVAL, "invalid serial");
    parse_expect_error(S("0 a b 5"), AC_ERANGE, "serial 0");
    parse_expect_error(S("000 a b 5"), AC_EINVAL, "serial with a leading zero");
    parse_expect_error(S("01 a b 5"), AC_EINVAL, "serial with a leading zero");
    parse_expect_error(S("0x1 a b 5"), AC_EINVAL, "invalid serial");
    parse_expect_error(S("18446744073709551616 a b 5"), AC_ERANGE, "serial out of range");
    parse_expect_error(S("1 a! b 5"), AC_EINVAL, "invalid sender name");
    parse_expect_error(S("1 a b? 5"), AC_EINVAL, "invalid receiver name");
    parse_expect_error(S("1 a b five"), AC_EINVAL, "invalid amount");
    parse_expect_error(S("1 a b -5"), AC_EINVAL, "invalid amount");
    parse_expect_error(S("1 a b 0"), AC_ERANGE, "amount out of range");
    parse_expect_error(S("1 a b 1000000000001"), AC_ERANGE, "amount out of range");
    parse_expect_error(S("1 a b 00000000000001"), AC_EINVAL, "amount with a leading zero");
    parse_expect_error(S("1 a b 0012"), AC_EINVAL, "amount with a leading zero");
    parse_expect_error(S("1 a b 00"), AC_EINVAL, "amount with a leading zero");
    parse_expect_error(S("1 a\nb c 5"), AC_EINVAL, "invalid sender name");
    parse_expect_error("1 a\0 b 5", 8, AC_EINVAL, "invalid sender name");

    char line[2 * NAME_BYTES_MAX + 32];
    char n65[NAME_BYTES_MAX + 2];
    memset(n65, 'y', NAME_BYTES_MAX + 1);
    n65[NAME_BYTES_MAX + 1] = '\0';
    int n = snprintf(line, sizeof line, "1 %s b 5", n65);
    parse_expect_error(line, (size_t)n, AC_EINVAL, "invalid sender name");
    n = snprintf(line, sizeof line, "1 a %s 5", n65);
    parse_expect_error(line, (size_t)n, AC_EINVAL, "invalid receiver name");

    /* a small err buffer gets a truncated, terminated reason */
    tx_t t;
    char small[6];
    CHECK_EQ(tx_parse_line(S("1 a b"), &t, small, sizeof small), AC_EINVAL);
    CHECK_STR(small, "expec");
    char one[1] = {'z'};
    CHECK_EQ(tx_parse_line(S("1 a b"), &t, one, sizeof one), AC_EINVAL);
    CHECK_EQ(one[0], '\0');
}

TEST(test_format) {
    tx_t t;
    char buf[TX_LINE_BYTES_MAX];
    tx_set(&t, 7, S("Martin"), S("Luke"), 25);
    CHECK_EQ(tx_format(&t, buf, sizeof buf), 17);
    CHECK_STR(buf, "7 Martin Luke 25\n");

    /* the longest line fits TX_LINE_BYTES_MAX exactly (with its NUL) */
    char n64[NAME_BYTES_MAX + 1];
    memset(n64, 'q', NAME_BYTES_MAX);
    tx_set(&t, UINT64_MAX, n64, NAME_BYTES_MAX, n64, NAME_BYTES_MAX, AMOUNT_MAX);
    size_t want = 20 + 1 + 64 + 1 + 64 + 1 + 13 + 1;
    CHECK_EQ(tx_format(&t, buf, sizeof buf), want);
    CHECK_EQ(strlen(buf), want);
    CHECK(memcmp(buf, "18446744073709551615 qqq", 24) == 0);
    CHECK(memcmp(buf + want - 15, " 1000000000000\n", 15) == 0);
    /* too small by one (no room for the NUL), and NULL */
    CHECK_EQ(tx_format(&t, buf, want), 0);
    CHECK_EQ(tx_format(&t, NULL, 0), 0);
    tx_set(&t, 1, S("a"), S("b"), 1);
    CHECK_EQ(tx_format(&t, buf, 9), 8);
    CHECK_STR(buf, "1 a b 1\n");
    CHECK_EQ(tx_format(&t, buf, 8), 0);
    /* every number of digits, and each side of every power of ten, as printf writes them */
    for (uint64_t p = 1, k = 0; k < 20; k++, p *= 10) {
        const uint64_t vs[] = {p - 1, p, p + 1, p * 9 + p / 3};
        for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
            if (vs[i] == 0) continue;
            char want_line[TX_LINE_BYTES_MAX + 8];
            snprintf(want_line, sizeof want_line, "%llu a b %llu\n", (unsigned long long)vs[i],
                     (unsigned long long)(vs[i] % AMOUNT_MAX + 1));
            tx_set(&t, vs[i], S("a"), S("b"), (int64_t)(vs[i] % AMOUNT_MAX + 1));
            CHECK_EQ(tx_format(&t, buf, sizeof buf), strlen(want_line));
            CHECK_STR(buf, want_line);
        }
    }
}

TEST(test_roundtrip_and_equal) {
    tx_t a, b, c;
    char buf[TX_LINE_BYTES_MAX];
    tx_set(&a, 123456789012345ULL, S("x.y-z_1"), S("Q"), 999999999999);
    size_t n = tx_format(&a, buf, sizeof buf);
    CHECK(n > 0);
    CHECK_EQ(buf[n - 1], '\n');
    char err[64];
    CHECK_EQ(tx_parse_line(buf, n - 1, &b, err, sizeof err), AC_OK);
    CHECK(tx_equal(&a, &b));
    CHECK(tx_equal(&b, &a));

    c = b;
    c.serial++;
    CHECK(!tx_equal(&a, &c));
    c = b;
    c.amount--;
    CHECK(!tx_equal(&a, &c));
    tx_set(&c, a.serial, S("x.y-z_2"), S("Q"), a.amount);
    CHECK(!tx_equal(&a, &c));
    tx_set(&c, a.serial, S("x.y-z_1"), S("R"), a.amount);
    CHECK(!tx_equal(&a, &c));
    tx_set(&c, a.serial, S("x.y-z_1"), S("QQ"), a.amount);
    CHECK(!tx_equal(&a, &c));
    tx_set(&c, a.serial, S("x.y-z_"), S("Q"), a.amount);
    CHECK(!tx_equal(&a, &c));
    tx_set(&c, a.serial, S("x.y-z_1"), S("Q"), a.amount);
    CHECK(tx_equal(&a, &c));
    /* tx_set leaves no garbage after the names */
    CHECK_EQ(c.sender[c.sender_len], '\0');
    CHECK_EQ(c.receiver[c.receiver_len], '\0');
}

int main(void) {
    RUN(test_name_valid);
    RUN(test_amount_parse);
    RUN(test_serial_parse);
    RUN(test_parse_line_ok);
    RUN(test_parse_line_errors);
    RUN(test_format);
    RUN(test_roundtrip_and_equal);
    return CHECK_DONE();
}
