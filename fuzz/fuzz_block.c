/* fuzz_block.c — libFuzzer target for the block-line parser (tx_parse_line, tx_format) and
 * the block file rules (blockfile_recover: loading, refusing, torn tails, the marker). The
 * input is a block file image; its size picks how it is read: as the user's file (size % 3
 * == 0), as a file appended to after a prefix the marker describes (1), or with the first
 * line taken as the marker's text (2). Every line that parses must format and re-parse to
 * the same transaction; a recovered ledger must agree with itself (serial index, user
 * totals, partner pages, coin conservation); recovering the recovered file again changes
 * nothing, with or without its marker; and one more append on the simulated disk, cut by a
 * crash at any byte, recovers to the old ledger or the old one plus that line — never
 * anything else. The same image cut into three hand-written files is judged together by
 * `alichain-sim check`'s judge/fsck.c (core's serials_merge_next): no problem exactly when
 * every part loads and no serial is in two parts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge/fsck.h"
#include "world/disk.h"
#include "fuzz.h"

#define FUZZ_BLOCK_PAGE 3      /* partner rows per page: small, to cross page edges */

static void line_check(const char *line, size_t len) {
    tx_t a, b;
    char err[64], buf[TX_LINE_BYTES_MAX + 1];
    if (tx_parse_line(line, len, &a, err, sizeof err) != 0) {
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err) != NULL);
        return;
    }
    size_t n = tx_format(&a, buf, sizeof buf);
    FUZZ_CHECK(n > 0 && n < TX_LINE_BYTES_MAX && buf[n - 1] == '\n');
    FUZZ_CHECK(tx_format(&a, buf, n) == 0); /* needs room for the NUL too */
    n = tx_format(&a, buf, sizeof buf);
    FUZZ_CHECK(tx_parse_line(buf, n - 1, &b, err, sizeof err) == 0 && tx_equal(&a, &b));
}

/* Serial index and ascending positions, user totals against ledger_totals, partner pages,
 * conservation of coins. */
static void users_check(ledger_t *l) {
    uint64_t sent = 0, received = 0, amounts = 0, prev = 0;
    for (uint32_t i = 0; i < l->tx_count; i++) {
        tx_t t;
        ledger_get(l, i, &t);
        FUZZ_CHECK(ledger_find_serial(l, t.serial) == (int64_t)i);
        FUZZ_CHECK(t.serial > prev); /* LIST's order: strictly ascending serials */
        prev = t.serial;
        amounts += (uint64_t)t.amount;
    }
    for (uint32_t u = 0; u < l->user_count; u++) {
        const ledger_user_t *user = &l->users[u];
        const char *name = l->names + user->name_off;
        ledger_totals_t tot;
        ledger_totals(l, name, user->name_len, &tot);
        FUZZ_CHECK(user->tx_count > 0);
        FUZZ_CHECK(tot.exists && tot.sent == user->sent && tot.received == user->received);
        sent += tot.sent;
        received += tot.received;
        uint64_t net = 0;
        uint32_t cursor = 0, rows = 0;
        ledger_partner_t page[FUZZ_BLOCK_PAGE];
        int done = 0;
        for (uint32_t calls = 0; !done; calls++) {
            FUZZ_CHECK(calls <= l->user_count + 1);
            int n = ledger_partners(l, name, user->name_len, &cursor, page, FUZZ_BLOCK_PAGE,
                                    &done);
            FUZZ_CHECK(n >= 0 && n <= FUZZ_BLOCK_PAGE && (n == FUZZ_BLOCK_PAGE || done));
            for (int k = 0; k < n; k++) {
                FUZZ_CHECK(page[k].count > 0 && tx_name_valid(page[k].name, page[k].name_len));
                net += (uint64_t)page[k].net; /* modulo 2^64, like the totals below */
            }
            rows += (uint32_t)n;
        }
        FUZZ_CHECK(rows <= l->user_count);
        FUZZ_CHECK(net == tot.received - tot.sent);
    }
    FUZZ_CHECK(sent == amounts && received == amounts);
}

/* Recovers img with marker into a fresh ledger l (the caller frees it). */
static int recover(ledger_t *l, const char *img, size_t len, const char *marker, size_t marker_len,
                   blockfile_recovery_t *res, char *err, size_t err_cap) {
    ledger_init(l);
    return blockfile_recover(l, img, len, marker, marker_len, "block1.txt", res, err, err_cap);
}

/* Carries out the storage effects of o on d. */
static void apply_all(simdisk_t *d, outbox_t *o) {
    FUZZ_CHECK(!o->failed);
    for (size_t i = 0; i < o->fx_count; i++) {
        if (simdisk_is_storage(o->fx[i].kind))
            FUZZ_CHECK(simdisk_apply(d, &o->fx[i], outbox_bytes(o, &o->fx[i])) >= 0);
    }
    outbox_clear(o);
}

/* What recovery found holds together, and survives recovering again and an append cut by
 * a crash at byte `cut` of what was not synced. */
static void recovered_check(ledger_t *l, const char *img, size_t size, const char *marker,
                            size_t marker_len, const blockfile_recovery_t *res, uint64_t cut) {
    FUZZ_CHECK(res->lines == l->tx_count);
    FUZZ_CHECK(res->load_len + res->torn_len == size);
    FUZZ_CHECK(res->hash == blockfile_hash(BLOCKFILE_HASH_INIT, img, res->load_len));
    if (res->torn_len > 0) { /* only behind a marker, only an unterminated last line */
        FUZZ_CHECK(res->appended);
        FUZZ_CHECK(res->load_len == 0 || img[res->load_len - 1] == '\n');
        FUZZ_CHECK(memchr(img + res->load_len, '\n', res->torn_len) == NULL);
    }
    users_check(l);

    /* the disk after the recovery's own steps: torn tail aside, marker gone */
    simdisk_t d;
    outbox_t o;
    outbox_init(&o);
    FUZZ_CHECK(simdisk_init(&d, img, size) == 0);
    if (marker != NULL) {
        FUZZ_CHECK(buf_append(&d.marker, marker, marker_len) == 0);
        d.marker_present = 1;
    }
    blockfile_recovery_effects(res, img, "block1.txt", &o);
    apply_all(&d, &o);
    FUZZ_CHECK(d.file.len == res->load_len && !d.marker_present);
    FUZZ_CHECK(d.torn.len == (res->torn_len ? res->torn_len + 1 : 0));

    /* recovering that again finds the same, and nothing torn */
    ledger_t again;
    blockfile_recovery_t r2;
    FUZZ_CHECK(recover(&again, simdisk_image(&d), d.file.len, NULL, 0, &r2, NULL, 0) == 0);
    FUZZ_CHECK(r2.lines == res->lines && r2.torn_len == 0 && r2.hash == res->hash);
    ledger_free(&again);
    if (marker != NULL) { /* a crash before the marker's removal: the same */
        FUZZ_CHECK(recover(&again, img, res->load_len, marker, marker_len, &r2, NULL, 0) == 0);
        FUZZ_CHECK(r2.lines == res->lines && r2.torn_len == 0);
        ledger_free(&again);
    }

    /* one more append, then a crash keeping `cut` of its unsynced bytes */
    if (l->max_serial < UINT64_MAX) {
        tx_t t;
        tx_set(&t, l->max_serial + 1, "Fz", 2, "Zz", 2, 1);
        char line[TX_LINE_BYTES_MAX + 1];
        size_t n = tx_format(&t, line, sizeof line);
        blockfile_t f;
        blockfile_init(&f, res, img);
        blockfile_append(&f, line, n, 1, &o);
        apply_all(&d, &o);
        FUZZ_CHECK(d.marker_present);
        size_t unsynced = simdisk_unsynced(&d);
        FUZZ_CHECK(unsynced == n); /* everything before the line was synced first */
        size_t keep = (size_t)(cut % (unsynced + 1));
        simdisk_crash(&d, keep);
        FUZZ_CHECK(simdisk_recover(&d, &again, "block1.txt", &r2, NULL, 0) == 0);
        FUZZ_CHECK(r2.lines == res->lines + (keep == n));
        FUZZ_CHECK((ledger_find_serial(&again, t.serial) >= 0) == (keep == n));
        FUZZ_CHECK(r2.torn_len == (keep == n ? 0 : keep));
        ledger_free(&again);
    }
    simdisk_free(&d);
    outbox_free(&o);
}

static int u64_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* text cut at two line ends h picks, as block1..3.txt without markers: fsck finds a
 * problem exactly when a part does not load or a serial is in two parts. */
static void fsck_check(const char *text, size_t size, uint64_t h) {
    size_t cut[2] = {(size_t)(h % (size + 1)), (size_t)((h >> 20) % (size + 1))};
    if (cut[0] > cut[1]) {
        size_t t = cut[0];
        cut[0] = cut[1];
        cut[1] = t;
    }
    for (int k = 0; k < 2; k++) while (cut[k] > 0 && text[cut[k] - 1] != '\n') cut[k]--;
    size_t at[4] = {0, cut[0], cut[1], size};
    fsck_file_t files[3];
    memset(files, 0, sizeof(files));
    int loads = 1;
    uint64_t *serials = malloc((size / 2 + 2) * sizeof(uint64_t));
    FUZZ_CHECK(serials != NULL);
    size_t n = 0;
    for (int b = 0; b < 3; b++) {
        files[b].name = blockfile_default_name(b);
        files[b].img = text + at[b];
        files[b].len = at[b + 1] - at[b];
        ledger_t l;
        blockfile_recovery_t r;
        ledger_init(&l);
        if (blockfile_recover(&l, files[b].img, files[b].len, NULL, 0, files[b].name, &r, NULL, 0) != 0) loads = 0;
        for (uint32_t i = 0; loads && i < l.tx_count; i++) serials[n++] = l.txs[i].serial;
        ledger_free(&l);
    }
    qsort(serials, n, sizeof(*serials), u64_cmp);
    int twice = 0;
    for (size_t i = 1; i < n; i++) twice |= serials[i] == serials[i - 1];
    free(serials);
    FILE *sink = fopen("/dev/null", "w");
    FUZZ_CHECK(sink != NULL);
    fsck_result_t res;
    FUZZ_CHECK(fsck_blocks(files, 3, sink, &res) == 0);
    fclose(sink);
    FUZZ_CHECK((res.problems == 0) == (loads && !twice));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    for (size_t pos = 0; pos < size;) {
        const char *nl = memchr(text + pos, '\n', size - pos);
        size_t len = nl != NULL ? (size_t)(nl - (text + pos)) : size - pos;
        line_check(text + pos, len);
        pos += len + 1;
    }
    /* how the image is read (see the top of the file) */
    const char *img = text, *marker = NULL;
    size_t len = size, marker_len = 0;
    char m[BLOCKFILE_MARKER_BYTES_MAX];
    uint64_t h = fuzz_hash(FUZZ_HASH_INIT, data, size);
    if (size % 3 == 1) { /* a marker describing a prefix: mostly one that ends a line */
        size_t p = (size_t)(h % (size + 1));
        if (h & 0x100) while (p > 0 && text[p - 1] != '\n') p--;
        marker_len = blockfile_marker_format(p, blockfile_hash(BLOCKFILE_HASH_INIT, text, p), m, sizeof m);
        marker = m;
    } else if (size % 3 == 2) { /* the first line is the marker's text */
        const char *nl = memchr(text, '\n', size);
        marker_len = nl != NULL ? (size_t)(nl - text) + 1 : size;
        marker = text;
        img = text + marker_len;
        len = size - marker_len;
    }
    /* A short error buffer for odd sizes: the message must be cut, never overflow. */
    size_t err_cap = (size & 1) ? 1 + size % 23 : 256;
    char *err = malloc(err_cap);
    FUZZ_CHECK(err != NULL);
    ledger_t l;
    blockfile_recovery_t res;
    int rc = recover(&l, img, len, marker, marker_len, &res, err, err_cap);
    FUZZ_CHECK(rc == 0 || rc == AC_EINVAL || rc == AC_EDUP || rc == AC_ERANGE);
    FUZZ_CHECK(memchr(err, '\0', err_cap) != NULL);
    if (rc != 0 && err_cap == 256)
        FUZZ_CHECK(strncmp(err, "block1.txt:", 11) == 0 || strncmp(err, "block1.txt.appended: ", 21) == 0);
    if (rc == 0) recovered_check(&l, img, len, marker, marker_len, &res, h >> 16);
    fsck_check(text, size, h);
    ledger_free(&l);
    free(err);
    return 0;
}
