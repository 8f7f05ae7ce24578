/* test_blockfile.c — unit tests of core/blockfile.c: what recovery loads, refuses (with
 * file:line) and sets aside, how the marker tells a torn append from a hand-written last
 * line, and the exact order of the storage effects of recovery, appends and a clean stop. */
#include <stdlib.h>
#include <string.h>

#include "blockfile.h"
#include "check.h"
#include "mutant.h"

/* ---- helpers ---- */

static int recover(ledger_t *l, const char *img, size_t len, const char *marker,
                   blockfile_recovery_t *res, char *err, size_t err_cap) {
    ledger_init(l);
    return blockfile_recover(l, img, len, marker, marker ? strlen(marker) : 0, "block2.txt", res,
                             err, err_cap);
}

static void expect_error(const char *img, size_t len, const char *marker, int rc_want,
                         const char *msg) {
    ledger_t l;
    blockfile_recovery_t res;
    char err[256] = "unset";
    CHECK_EQ(recover(&l, img, len, marker, &res, err, sizeof err), rc_want);
    CHECK_STR(err, msg);
    ledger_free(&l);
}

/* The marker for the first `size` bytes of img. */
static const char *marker_of(const char *img, size_t size) {
    static char m[BLOCKFILE_MARKER_BYTES_MAX];
    blockfile_marker_format(size, blockfile_hash(BLOCKFILE_HASH_INIT, img, size), m, sizeof m);
    return m;
}

static void check_fx(const outbox_t *o, size_t i, fx_kind_t kind, const char *data, uint64_t token) {
    CHECK(i < o->fx_count);
    if (i >= o->fx_count) return;
    const fx_t *f = &o->fx[i];
    CHECK_EQ(f->kind, kind);
    CHECK(f->token == token);
    if (data != NULL) {
        CHECK_EQ(f->data_len, strlen(data));
        CHECK(memcmp(outbox_bytes(o, f), data, f->data_len) == 0);
    }
}

/* ---- the hash and the marker's text ---- */

TEST(test_hash) {
    /* FNV-1a 64 reference values */
    CHECK(blockfile_hash(BLOCKFILE_HASH_INIT, "", 0) == 0xcbf29ce484222325ULL);
    CHECK(blockfile_hash(BLOCKFILE_HASH_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
    CHECK(blockfile_hash(BLOCKFILE_HASH_INIT, "foobar", 6) == 0x85944171f73967e8ULL);
    /* continuing a hash is the same as hashing at once (the first append extends it) */
    uint64_t h = blockfile_hash(BLOCKFILE_HASH_INIT, "1 a b 5", 7);
    CHECK(blockfile_hash(h, "\n", 1) == blockfile_hash(BLOCKFILE_HASH_INIT, "1 a b 5\n", 8));
    char m[BLOCKFILE_MARKER_BYTES_MAX];
    size_t n = blockfile_marker_format(8, 0xaf63dc4c8601ec8cULL, m, sizeof m);
    CHECK_STR(m, "alichain-appended 1 8 af63dc4c8601ec8c\n");
    CHECK_EQ(n, strlen(m));
    n = blockfile_marker_format(UINT64_MAX, UINT64_MAX, m, sizeof m);
    CHECK_STR(m, "alichain-appended 1 18446744073709551615 ffffffffffffffff\n");
    CHECK(n < BLOCKFILE_MARKER_BYTES_MAX);
}

/* ---- files nobody appended to: the user's ---- */

TEST(test_hand_written_ok) {
    ledger_t l;
    blockfile_recovery_t res;
    char err[128] = "";
    const char *data = "5 Chinmay Oliver 129\n1 Racheal John 45\n9 Ali Luke 155\n";
    CHECK_EQ(recover(&l, data, strlen(data), NULL, &res, err, sizeof err), AC_OK);
    CHECK_EQ(res.lines, 3);
    CHECK_EQ(res.load_len, strlen(data));
    CHECK_EQ(res.torn_len, 0);
    CHECK_EQ(res.appended, 0);
    CHECK_EQ(res.marker_present, 0);
    CHECK(res.hash == blockfile_hash(BLOCKFILE_HASH_INIT, data, strlen(data)));
    CHECK_STR(err, "");
    CHECK(l.max_serial == 9);
    ledger_free(&l);

    /* empty file; NULL image with length 0 */
    CHECK_EQ(recover(&l, "", 0, NULL, &res, err, sizeof err), AC_OK);
    CHECK_EQ(res.lines, 0);
    CHECK_EQ(res.load_len, 0);
    ledger_free(&l);
    CHECK_EQ(recover(&l, NULL, 0, NULL, &res, NULL, 0), AC_OK);
    ledger_free(&l);

    /* blank lines of every kind, CRLF, tabs */
    data = "\n\n  \t \r\n1 a b 5\r\n\t2\tb\tc\t6\t\r\n\r\n   \n3  c   a 7 \n";
    CHECK_EQ(recover(&l, data, strlen(data), NULL, &res, err, sizeof err), AC_OK);
    CHECK_EQ(res.lines, 3);
    ledger_free(&l);

    /* an unterminated last line that parses counts (SPEC: a file may lack the final
     * newline), also with a CR and as the only line */
    data = "1 a b 5\n2 b c 6";
    CHECK_EQ(recover(&l, data, strlen(data), NULL, &res, err, sizeof err), AC_OK);
    CHECK_EQ(res.lines, 2);
    CHECK_EQ(res.load_len, strlen(data));
    CHECK_EQ(res.torn_len, 0);
    CHECK(ledger_find_serial(&l, 2) >= 0);
    ledger_free(&l);
    data = "7 a b 5\r";
    CHECK_EQ(recover(&l, data, strlen(data), NULL, &res, err, sizeof err), AC_OK);
    CHECK_EQ(res.lines, 1);
    ledger_free(&l);

    /* an unterminated blank last line is blank */
    data = "1 a b 5\n \r";
    CHECK_EQ(recover(&l, data, strlen(data), NULL, &res, err, sizeof err), AC_OK);
    CHECK_EQ(res.lines, 1);
    CHECK_EQ(res.load_len, strlen(data));
    ledger_free(&l);
}

TEST(test_hand_written_errors) {
    const char *d;
    d = "1 a b 5\n\n\n\n\n\n7 a b x\n";
    expect_error(d, strlen(d), NULL, AC_EINVAL, "block2.txt:7: invalid amount");
    d = "4 a b 5\r\n\r\n1 b c 1\r\n2 c d 2\r\n\r\n3 d e 3\r\n\r\n\r\n4 x y 1\r\n";
    expect_error(d, strlen(d), NULL, AC_EDUP, "block2.txt:9: duplicate serial 4");
    d = "0 a b 5\n";
    expect_error(d, strlen(d), NULL, AC_ERANGE, "block2.txt:1: serial 0");
    d = "1 a b 1000000000001\n";
    expect_error(d, strlen(d), NULL, AC_ERANGE, "block2.txt:1: amount out of range");
    d = "1 a! b 5\n";
    expect_error(d, strlen(d), NULL, AC_EINVAL, "block2.txt:1: invalid sender name");
    d = "1 a b 5\nrubbish\n2 a b 5";
    expect_error(d, strlen(d), NULL, AC_EINVAL, "block2.txt:2: expected 4 fields");
    expect_error("1 a\0 b 5\n", 9, NULL, AC_EINVAL, "block2.txt:1: invalid sender name");
    /* a parseable last line with a duplicate serial */
    d = "1 a b 5\n1 a b 5";
    expect_error(d, strlen(d), NULL, AC_EDUP, "block2.txt:2: duplicate serial 1");

    /* A malformed unterminated last line of a hand-written file is an error naming it,
     * not a "torn" tail: alichain never appended to the file, so no crash made it. */
    const char *bad[] = {"1", "12 a", "12 a b", "12 a b ", "12 a b 0", "12 a b x",
                         "1 a b 10000000000000", "0 a b 1", "12 a b 1\r\r"};
    const char *why[] = {"expected 4 fields", "expected 4 fields", "expected 4 fields",
                         "expected 4 fields", "amount out of range", "invalid amount",
                         "amount out of range", "serial 0", "invalid amount"};
    for (size_t i = 0; i < AC_ARRAY_LEN(bad); i++) {
        char buf[64], msg[96];
        int n = snprintf(buf, sizeof buf, "3 x y 1\n\n%s", bad[i]);
        snprintf(msg, sizeof msg, "block2.txt:3: %s", why[i]);
        expect_error(buf, (size_t)n, NULL, i == 4 || i == 6 || i == 7 ? AC_ERANGE : AC_EINVAL, msg);
    }

    /* line length: BLOCK_LINE_BYTES_MAX is fine, one more is an error, terminated or not */
    static char big[BLOCK_LINE_BYTES_MAX + 2];
    memset(big, ' ', sizeof big);
    memcpy(big, "1 a b 5", 7);
    big[BLOCK_LINE_BYTES_MAX] = '\n';
    ledger_t l;
    blockfile_recovery_t res;
    char err[128] = "";
    CHECK_EQ(recover(&l, big, BLOCK_LINE_BYTES_MAX + 1, NULL, &res, err, sizeof err), AC_OK);
    CHECK_EQ(res.lines, 1);
    ledger_free(&l);
    big[BLOCK_LINE_BYTES_MAX] = ' ';
    big[BLOCK_LINE_BYTES_MAX + 1] = '\n';
    expect_error(big, sizeof big, NULL, AC_EINVAL, "block2.txt:1: line too long");
    expect_error(big, sizeof big - 1, NULL, AC_EINVAL, "block2.txt:1: line too long");

    /* the message is truncated to the buffer; no buffer at all is fine; NULL name */
    char small[8];
    d = "1 a b x\n";
    CHECK_EQ(recover(&l, d, strlen(d), NULL, &res, small, sizeof small), AC_EINVAL);
    CHECK_STR(small, "block2.");
    ledger_free(&l);
    CHECK_EQ(recover(&l, d, strlen(d), NULL, &res, NULL, 0), AC_EINVAL);
    ledger_free(&l);
    ledger_init(&l);
    CHECK_EQ(blockfile_recover(&l, d, strlen(d), NULL, 0, NULL, &res, err, sizeof err), AC_EINVAL);
    CHECK_STR(err, "block:1: invalid amount");
    ledger_free(&l);
}

/* ---- files a backend appended to ---- */

/* Duplicates are found by the load's sort, at the end: the error still names the first
 * bad line of the file, whether that is a duplicate or a later parse error, across the
 * load's batches (lines 1..40 here, scrambled). */
TEST(test_first_error_wins) {
    static char img[4096];
    size_t len = 0;
    for (unsigned i = 1; i <= 40; i++) {
        unsigned serial = (i * 7) % 41; /* 1..40 scrambled */
        if (i == 35) serial = (3 * 7) % 41; /* line 35 repeats line 3's serial */
        len += (size_t)snprintf(img + len, sizeof img - len, "%u a b %u\n", serial, i);
    }
    char msg[64];
    snprintf(msg, sizeof msg, "block2.txt:35: duplicate serial %u", (3 * 7) % 41);
    expect_error(img, len, NULL, AC_EDUP, msg);
    /* a parse error after the duplicate: the duplicate is reported */
    size_t with_bad = len + (size_t)snprintf(img + len, sizeof img - len, "41 a b x\n");
    expect_error(img, with_bad, NULL, AC_EDUP, msg);
    /* a parse error before it (line 20): that is reported */
    char *l20 = img;
    for (int n = 0; n < 19; n++) l20 = strchr(l20, '\n') + 1;
    l20[0] = 'x';
    expect_error(img, len, NULL, AC_EINVAL, "block2.txt:20: invalid serial");
}

TEST(test_marker_torn_tail) {
    /* before the first append the file held "1 a b 5\n"; appends followed */
    const char *before = "1 a b 5\n";
    const char *marker = marker_of(before, strlen(before));
    ledger_t l;
    blockfile_recovery_t res;
    char err[128] = "";

    /* every prefix of two appends, cut anywhere after the marked size: whole lines load,
     * a cut line is set aside — even where the cut leaves something that parses */
    const char *img = "1 a b 5\n22 b c 65\n23 c a 100\n";
    size_t len = strlen(img);
    for (size_t cut = strlen(before); cut <= len; cut++) {
        CHECK_EQ(recover(&l, img, cut, marker, &res, err, sizeof err), AC_OK);
        size_t whole = cut;
        while (whole > 0 && img[whole - 1] != '\n') whole--;
        CHECK_EQ(res.appended, 1);
        CHECK_EQ(res.load_len, whole);
        CHECK_EQ(res.torn_len, cut - whole);
        uint32_t lines = 0;
        for (size_t i = 0; i < whole; i++) lines += img[i] == '\n';
        CHECK_EQ(res.lines, lines);
        CHECK_EQ(l.tx_count, lines);
        CHECK(res.hash == blockfile_hash(BLOCKFILE_HASH_INIT, img, whole));
        ledger_free(&l);
    }
    /* "23 c a 10" parses, yet it is a torn "23 c a 100" */
    CHECK_EQ(recover(&l, img, len - 2, marker, &res, err, sizeof err), AC_OK);
    CHECK_EQ(res.torn_len, strlen("23 c a 10"));
    CHECK_EQ(ledger_find_serial(&l, 23), -1);
    ledger_free(&l);

    /* a malformed whole line after the marked size is still an error (not a torn tail) */
    const char *broken = "1 a b 5\n22 b c x\n23 c";
    expect_error(broken, strlen(broken), marker, AC_EINVAL, "block2.txt:2: invalid amount");

    /* the file was empty before the first append */
    const char *empty_marker = marker_of("", 0);
    CHECK_EQ(recover(&l, "9 a b", 5, empty_marker, &res, err, sizeof err), AC_OK);
    CHECK_EQ(res.appended, 1);
    CHECK_EQ(res.torn_len, 5);
    CHECK_EQ(res.lines, 0);
    ledger_free(&l);
}

TEST(test_marker_of_another_file) {
    /* The marker describes "1 a b 5\n" (8 bytes); the file was replaced by hand since:
     * the marker is stale, the file is the user's, its unterminated last line counts. */
    const char *marker = marker_of("1 a b 5\n", 8);
    ledger_t l;
    blockfile_recovery_t res;
    char err[128] = "";
    const char *replaced = "1 a b 6\n2 b c 7";
    CHECK_EQ(recover(&l, replaced, strlen(replaced), marker, &res, err, sizeof err), AC_OK);
    CHECK_EQ(res.marker_present, 1);
    CHECK_EQ(res.appended, 0);
    CHECK_EQ(res.torn_len, 0);
    CHECK_EQ(res.lines, 2);
    CHECK(ledger_find_serial(&l, 2) >= 0);
    ledger_free(&l);
    /* shorter than the marked size */
    CHECK_EQ(recover(&l, "1 a b 5", 7, marker, &res, err, sizeof err), AC_OK);
    CHECK_EQ(res.appended, 0);
    CHECK_EQ(res.lines, 1);
    ledger_free(&l);
    /* ... and a stale marker never hides a malformed line of the user's */
    expect_error("1 a b 6\n2 b", 11, marker, AC_EINVAL, "block2.txt:2: expected 4 fields");
}

TEST(test_marker_malformed) {
    const char *img = "1 a b 5\n";
    const char *bad[] = {"", "alichain-appended 1 8 af63dc4c8601ec8c", /* no newline */
                         "alichain-appended 2 8 af63dc4c8601ec8c\n",
                         "alichain-appended 1 08 af63dc4c8601ec8c\n",
                         "alichain-appended 1 8 AF63DC4C8601EC8C\n",
                         "alichain-appended 1 8 af63dc4c8601ec8\n",
                         "alichain-appended 1 8 af63dc4c8601ec8c0\n",
                         "alichain-appended 1  8 af63dc4c8601ec8c\n",
                         "alichain-appended 1 99999999999999999999 af63dc4c8601ec8c\n",
                         "alichain-appended 1 8 af63dc4c8601ec8c\n\n"};
    for (size_t i = 0; i < AC_ARRAY_LEN(bad); i++) {
        expect_error(img, strlen(img), bad[i], AC_EINVAL,
                     "block2.txt.appended: not a marker alichain wrote (expected "
                     "\"alichain-appended 1 <size> <hash>\"); remove it if block2.txt was "
                     "replaced by hand");
    }
    /* the largest size parses (and describes no file this short) */
    ledger_t l;
    blockfile_recovery_t res;
    char err[256] = "";
    CHECK_EQ(recover(&l, img, strlen(img), "alichain-appended 1 18446744073709551615 0000000000000000\n",
                     &res, err, sizeof err), AC_OK);
    CHECK_EQ(res.appended, 0);
    ledger_free(&l);
}

/* ---- the ordered effects ---- */

TEST(test_recovery_effects) {
    const char *img = "1 a b 5\n22 b c 6";
    const char *marker = marker_of(img, 8);
    ledger_t l;
    blockfile_recovery_t res;
    char err[128] = "";
    outbox_t o;
    outbox_init(&o);

    CHECK_EQ(recover(&l, img, strlen(img), marker, &res, err, sizeof err), AC_OK);
    blockfile_recovery_effects(&res, img, "block2.txt", &o);
    CHECK_EQ(o.fx_count, 5);
    check_fx(&o, 0, FX_TORN_APPEND, "22 b c 6", 0);
    check_fx(&o, 1, FX_TORN_APPEND, "\n", 0);
    check_fx(&o, 2, FX_BLOCK_TRUNCATE, "", 0);
    CHECK(o.fx[2].arg == 8);
    check_fx(&o, 3, FX_STDERR, "block2.txt: moved a torn last line (8 bytes, from a crash) to block2.txt.torn", 0);
    check_fx(&o, 4, FX_MARKER_REMOVE, "", 0);
    outbox_clear(&o);
    ledger_free(&l);

    /* a marker but nothing torn: only the marker goes */
    CHECK_EQ(recover(&l, img, 8, marker, &res, err, sizeof err), AC_OK);
    blockfile_recovery_effects(&res, img, "block2.txt", &o);
    CHECK_EQ(o.fx_count, 1);
    check_fx(&o, 0, FX_MARKER_REMOVE, "", 0);
    outbox_clear(&o);
    ledger_free(&l);

    /* a hand-written file: nothing at all, whatever its last line looks like */
    CHECK_EQ(recover(&l, img, strlen(img), NULL, &res, err, sizeof err), AC_OK);
    blockfile_recovery_effects(&res, img, "block2.txt", &o);
    CHECK_EQ(o.fx_count, 0);
    ledger_free(&l);
    outbox_free(&o);
}

TEST(test_append_steps) {
    ledger_t l;
    blockfile_recovery_t res;
    blockfile_t f;
    char err[128] = "";
    outbox_t o;
    outbox_init(&o);

    /* a hand-written last line without '\n': terminated and synced before the marker */
    const char *img = "1 a b 5";
    CHECK_EQ(recover(&l, img, strlen(img), NULL, &res, err, sizeof err), AC_OK);
    blockfile_init(&f, &res, img);
    CHECK_EQ(f.ends_open, 1);
    blockfile_append(&f, "2 b c 6\n", 8, 41, &o);
    CHECK_EQ(o.fx_count, 4);
    check_fx(&o, 0, FX_BLOCK_APPEND, "\n", 0);
    check_fx(&o, 1, FX_BLOCK_SYNC, "", 0);
    check_fx(&o, 2, FX_MARKER_WRITE, marker_of("1 a b 5\n", 8), 0);
    check_fx(&o, 3, FX_BLOCK_APPEND, "2 b c 6\n", 41);
    outbox_clear(&o);
    /* later appends are appends only */
    blockfile_append(&f, "3 c a 7\n4 a c 1\n", 16, 42, &o);
    CHECK_EQ(o.fx_count, 1);
    check_fx(&o, 0, FX_BLOCK_APPEND, "3 c a 7\n4 a c 1\n", 42);
    CHECK(f.size == 8 + 8 + 16);
    outbox_clear(&o);
    /* a clean stop: sync, then the marker goes; twice is once */
    blockfile_close(&f, &o);
    CHECK_EQ(o.fx_count, 2);
    check_fx(&o, 0, FX_BLOCK_SYNC, "", 0);
    check_fx(&o, 1, FX_MARKER_REMOVE, "", 0);
    outbox_clear(&o);
    blockfile_close(&f, &o);
    CHECK_EQ(o.fx_count, 0);
    ledger_free(&l);

    /* a file ending in '\n' gets no extra newline; a run that never appends leaves no
     * marker to remove */
    img = "1 a b 5\n";
    CHECK_EQ(recover(&l, img, strlen(img), NULL, &res, err, sizeof err), AC_OK);
    blockfile_init(&f, &res, img);
    blockfile_close(&f, &o);
    CHECK_EQ(o.fx_count, 0);
    blockfile_append(&f, "2 b c 6\n", 8, 7, &o);
    CHECK_EQ(o.fx_count, 3);
    check_fx(&o, 0, FX_BLOCK_SYNC, "", 0);
    check_fx(&o, 1, FX_MARKER_WRITE, marker_of(img, 8), 0);
    check_fx(&o, 2, FX_BLOCK_APPEND, "2 b c 6\n", 7);
    outbox_clear(&o);
    ledger_free(&l);

    /* after a recovery that set a torn tail aside, the marker describes the cut file */
    img = "1 a b 5\n22 b c 6";
    CHECK_EQ(recover(&l, img, strlen(img), marker_of(img, 8), &res, err, sizeof err), AC_OK);
    blockfile_init(&f, &res, img);
    CHECK_EQ(f.ends_open, 0);
    blockfile_append(&f, "22 b c 65\n", 10, 9, &o);
    check_fx(&o, 1, FX_MARKER_WRITE, marker_of(img, 8), 0);
    outbox_clear(&o);
    ledger_free(&l);
    outbox_free(&o);
}

int main(void) {
    RUN(test_hash);
    RUN(test_hand_written_ok);
    RUN(test_hand_written_errors);
    RUN(test_first_error_wins);
    RUN(test_marker_torn_tail);
    RUN(test_marker_of_another_file);
    RUN(test_marker_malformed);
    RUN(test_recovery_effects);
    RUN(test_append_steps);
    return CHECK_DONE();
}
