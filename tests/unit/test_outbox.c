/* test_outbox.c — unit tests of core/outbox.c: pushing effects and their payload copies,
 * growth past the initial capacities, clear/free, formatted lines and their truncation,
 * and the `failed` flag when a push cannot get memory. */
#include <stdint.h>
#include <wchar.h>

#include "backend.h"
#include "check.h"
#include "outbox.h"

/* 1 when effect f holds exactly the bytes s[0..len). */
static int fx_data_is(const outbox_t *o, const fx_t *f, const char *s, size_t len) {
    return f->data_len == len && memcmp(outbox_bytes(o, f), s, len) == 0;
}

TEST(test_init_push_clear_free) {
    outbox_t o;
    outbox_init(&o);
    CHECK_EQ(o.fx_count, 0);
    CHECK_EQ(o.data_len, 0);
    CHECK_EQ(o.failed, 0);

    char msg[] = "hello";
    fx_t *f = outbox_push(&o, FX_DGRAM, 2, 99, msg, 5);
    CHECK(f != NULL);
    if (f == NULL) return;
    CHECK_EQ(f->kind, FX_DGRAM);
    CHECK_EQ(f->target, 2);
    CHECK_EQ(f->token, 99);
    CHECK_EQ(f->arg, 0);
    f->arg = 17; /* callers set arg through the returned pointer */
    msg[0] = 'J'; /* the outbox holds a copy */
    CHECK(fx_data_is(&o, &o.fx[0], "hello", 5));
    CHECK_EQ(o.fx[0].arg, 17);

    f = outbox_push(&o, FX_CONN_CLOSE, 7, 0, NULL, 0);
    CHECK(f != NULL);
    CHECK_EQ(o.fx_count, 2);
    CHECK_EQ(o.fx[1].data_len, 0);
    CHECK_EQ(o.fx[1].data_off, 5);

    outbox_clear(&o);
    CHECK_EQ(o.fx_count, 0);
    CHECK_EQ(o.data_len, 0);
    f = outbox_push(&o, FX_BLOCK_APPEND, 0, 1, "x", 1);
    CHECK(f != NULL);
    CHECK_EQ(o.fx_count, 1);
    CHECK_EQ(o.fx[0].data_off, 0);
    CHECK(fx_data_is(&o, &o.fx[0], "x", 1));

    outbox_free(&o);
    CHECK(o.fx == NULL);
    CHECK(o.data == NULL);
    CHECK_EQ(o.fx_cap, 0);
    outbox_free(&o); /* freeing twice is harmless */
}

TEST(test_growth) {
    outbox_t o;
    outbox_init(&o);
    enum { COUNT = 5000 };
    char buf[64];
    for (int i = 0; i < COUNT; i++) {
        int n = snprintf(buf, sizeof buf, "payload-%d", i);
        fx_t *f = outbox_push(&o, FX_CONN_SEND, (uint32_t)i, (uint64_t)i * 3, buf, (size_t)n);
        CHECK(f != NULL);
    }
    /* one big payload, larger than several doublings at once */
    static char big[100000];
    memset(big, 'b', sizeof big);
    CHECK(outbox_push(&o, FX_FILE_WRITE, 0, 0, big, sizeof big) != NULL);
    CHECK_EQ(o.fx_count, COUNT + 1);
    CHECK(o.fx_cap >= o.fx_count);
    CHECK(o.data_cap >= o.data_len);
    int bad = 0;
    for (int i = 0; i < COUNT; i++) {
        int n = snprintf(buf, sizeof buf, "payload-%d", i);
        const fx_t *f = &o.fx[i];
        bad += f->kind != FX_CONN_SEND || f->target != (uint32_t)i ||
               f->token != (uint64_t)i * 3 || !fx_data_is(&o, f, buf, (size_t)n);
    }
    CHECK_EQ(bad, 0);
    CHECK(fx_data_is(&o, &o.fx[COUNT], big, sizeof big));
    CHECK_EQ(o.failed, 0);
    outbox_free(&o);
}

TEST(test_line) {
    outbox_t o;
    outbox_init(&o);
    outbox_line(&o, FX_STDOUT, "The Server%c is up and running using UDP on port %d.", 'A',
                21319);
    outbox_line(&o, FX_STDERR, "%s", "");
    CHECK_EQ(o.fx_count, 2);
    const char *want = "The ServerA is up and running using UDP on port 21319.";
    CHECK(fx_data_is(&o, &o.fx[0], want, strlen(want)));
    CHECK_EQ(o.fx[0].kind, FX_STDOUT);
    CHECK_EQ(o.fx[1].kind, FX_STDERR);
    CHECK_EQ(o.fx[1].data_len, 0);

    /* longer than the line buffer: cut to 1023 bytes */
    static char longer[3000];
    memset(longer, 'L', sizeof longer - 1);
    outbox_line(&o, FX_STDOUT, "%s!", longer);
    CHECK_EQ(o.fx[2].data_len, 1023);
    CHECK_EQ(outbox_bytes(&o, &o.fx[2])[1022], 'L');

    /* exactly 1023 bytes fit */
    longer[1023] = '\0';
    outbox_line(&o, FX_STDOUT, "%s", longer);
    CHECK_EQ(o.fx[3].data_len, 1023);
    longer[1022] = '\0';
    outbox_line(&o, FX_STDOUT, "%s!", longer);
    CHECK_EQ(o.fx[4].data_len, 1023);
    CHECK_EQ(outbox_bytes(&o, &o.fx[4])[1022], '!');

    /* a formatting error (an unencodable wide character in the C locale) still gives
     * one line, an empty one */
    static const wchar_t wide[] = {0x100, 0};
    outbox_line(&o, FX_STDERR, "%ls", wide);
    CHECK_EQ(o.fx_count, 6);
    CHECK_EQ(o.fx[5].data_len, 0);
    CHECK_EQ(o.failed, 0);
    outbox_free(&o);
}

/* A dropped input is reported as a marked diagnostic, so that a driver can count it. */
TEST(test_drop) {
    outbox_t o;
    outbox_init(&o);
    outbox_drop(&o, "a malformed datagram of %d bytes", 9);
    outbox_line(&o, FX_STDERR, "dropped by hand, not marked");
    CHECK_EQ(o.fx_count, 2);
    CHECK_EQ(o.fx[0].kind, FX_STDERR);
    CHECK(o.fx[0].arg == FX_STDERR_DROP);
    CHECK_EQ(o.fx[0].data_len, strlen("dropped a malformed datagram of 9 bytes"));
    CHECK(memcmp(outbox_bytes(&o, &o.fx[0]), "dropped a malformed datagram of 9 bytes", o.fx[0].data_len) == 0);
    CHECK(o.fx[1].arg == 0);
    outbox_free(&o);
    /* the backend's garbage path uses it */
    backend_t b;
    backend_init(&b, 0, TEST_EPOCH);
    outbox_init(&o);
    backend_on_datagram(&b, 0, (const uint8_t *)"junk", 4, &o);
    CHECK_EQ(o.fx_count, 1);
    CHECK(o.fx[0].arg == FX_STDERR_DROP);
    backend_free(&b);
    outbox_free(&o);
}

TEST(test_failed) {
    outbox_t o;
    outbox_init(&o);
    CHECK(outbox_push(&o, FX_STDOUT, 0, 0, "ok", 2) != NULL);
    /* a payload no allocator can provide: refused before any allocation is tried */
    static const char one = 'x';
    CHECK(outbox_push(&o, FX_DGRAM, 0, 0, &one, SIZE_MAX) == NULL);
    CHECK_EQ(o.failed, 1);
    CHECK_EQ(o.fx_count, 1);
    CHECK_EQ(o.data_len, 2);
    CHECK(fx_data_is(&o, &o.fx[0], "ok", 2));
    outbox_clear(&o);
    CHECK_EQ(o.failed, 0);

    /* from an empty outbox too (the doubling itself overflows) */
    outbox_t e;
    outbox_init(&e);
    CHECK(outbox_push(&e, FX_DGRAM, 0, 0, &one, SIZE_MAX) == NULL);
    CHECK_EQ(e.failed, 1);
    CHECK_EQ(e.fx_count, 0);
    outbox_free(&e);
    outbox_free(&o);
}

int main(void) {
    RUN(test_init_push_clear_free);
    RUN(test_growth);
    RUN(test_line);
    RUN(test_drop);
    RUN(test_failed);
    return CHECK_DONE();
}
