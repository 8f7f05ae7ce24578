/* fuzz_block.c — libFuzzer target for the block-line parser (tx_parse_line, tx_format) and
 * the whole-file loader (ledger_load), torn tails included. The input is a block file image.
 * Every line that parses must format and re-parse to the same transaction; a loaded ledger
 * must agree with itself (serial index, user totals, partner pages, coin conservation),
 * reloading the part before a torn tail must give the same ledger, and popping every
 * transaction must leave no user behind. */
#include <string.h>

#include "fuzz.h"
#include "ledger.h"

#define FUZZ_BLOCK_POP_MAX 512 /* pop-everything check only on small ledgers (O(n^2)) */
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

/* Serial index, user totals against ledger_totals, partner pages, conservation of coins. */
static void users_check(const ledger_t *l) {
    uint64_t sent = 0, received = 0, amounts = 0;
    for (uint32_t i = 0; i < l->tx_count; i++) {
        tx_t t;
        ledger_get(l, i, &t);
        FUZZ_CHECK(ledger_find_serial(l, t.serial) == (int64_t)i);
        amounts += (uint64_t)t.amount;
    }
    for (uint32_t u = 0; u < l->user_count; u++) {
        const ledger_user_t *user = &l->users[u];
        const char *name = l->names + user->name_off;
        ledger_totals_t tot;
        ledger_totals(l, name, user->name_len, &tot);
        if (user->tx_count == 0) { /* left over after a pop: must look absent */
            FUZZ_CHECK(!tot.exists);
            continue;
        }
        FUZZ_CHECK(tot.exists && tot.sent == user->sent && tot.received == user->received);
        sent += tot.sent;
        received += tot.received;
        uint64_t net = 0;
        uint32_t cursor = 0, rows = 0;
        ledger_partner_t page[FUZZ_BLOCK_PAGE];
        int done = 0;
        for (uint32_t calls = 0; !done; calls++) {
            FUZZ_CHECK(calls <= l->pair_count + 1);
            uint32_t n = ledger_partners(l, name, user->name_len, &cursor, page,
                                         FUZZ_BLOCK_PAGE, &done);
            FUZZ_CHECK(n <= FUZZ_BLOCK_PAGE && (n == FUZZ_BLOCK_PAGE || done));
            for (uint32_t k = 0; k < n; k++) {
                FUZZ_CHECK(page[k].count > 0 && tx_name_valid(page[k].name, page[k].name_len));
                net += (uint64_t)page[k].net; /* modulo 2^64, like the totals below */
            }
            rows += n;
        }
        FUZZ_CHECK(rows <= l->user_count);
        FUZZ_CHECK(net == tot.received - tot.sent);
    }
    FUZZ_CHECK(sent == amounts && received == amounts);
}

static void ledger_check(ledger_t *l, const char *data, size_t size, const ledger_load_t *res) {
    FUZZ_CHECK(res->lines == l->tx_count);
    FUZZ_CHECK(res->torn_offset == size || res->tail_offset == size);
    size_t open = res->torn_offset < size ? res->torn_offset : res->tail_offset;
    if (open < size) { /* the unterminated last line starts right after a '\n' */
        FUZZ_CHECK(open == 0 || data[open - 1] == '\n');
        FUZZ_CHECK(memchr(data + open, '\n', size - open) == NULL);
    }
    users_check(l);
    if (res->torn_offset < size) { /* the file cut before its torn tail loads the same */
        ledger_t again;
        ledger_load_t r2;
        ledger_init(&again);
        FUZZ_CHECK(ledger_load(&again, data, res->torn_offset, "b", &r2, NULL, 0) == 0);
        FUZZ_CHECK(r2.lines == res->lines && r2.torn_offset == res->torn_offset);
        ledger_free(&again);
    }
    if (res->tail_offset < size) { /* the parsed tail is the last one added */
        FUZZ_CHECK(ledger_find_serial(l, res->tail_serial) == (int64_t)l->tx_count - 1);
        tx_t t;
        ledger_get(l, l->tx_count - 1, &t);
        ledger_pop(l);
        FUZZ_CHECK(ledger_find_serial(l, t.serial) == -1);
        FUZZ_CHECK(ledger_add(l, &t) == 0);
    }
    if (l->tx_count > FUZZ_BLOCK_POP_MAX) return;
    while (l->tx_count > 0) ledger_pop(l);
    users_check(l);
    FUZZ_CHECK(l->max_serial == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    for (size_t pos = 0; pos < size;) {
        const char *nl = memchr(text + pos, '\n', size - pos);
        size_t len = nl != NULL ? (size_t)(nl - (text + pos)) : size - pos;
        line_check(text + pos, len);
        pos += len + 1;
    }
    /* A short error buffer for odd sizes: the message must be cut, never overflow. */
    size_t err_cap = (size & 1) ? 1 + size % 23 : 256;
    char *err = malloc(err_cap);
    FUZZ_CHECK(err != NULL);
    ledger_t l;
    ledger_load_t res;
    ledger_init(&l);
    int rc = ledger_load(&l, text, size, "block1.txt", &res, err, err_cap);
    FUZZ_CHECK(rc == 0 || rc == AC_EINVAL || rc == AC_EDUP || rc == AC_ERANGE);
    FUZZ_CHECK(memchr(err, '\0', err_cap) != NULL);
    if (rc != 0 && err_cap == 256) FUZZ_CHECK(strncmp(err, "block1.txt:", 11) == 0);
    if (rc == 0) ledger_check(&l, text, size, &res);
    ledger_free(&l);
    free(err);
    return 0;
}
