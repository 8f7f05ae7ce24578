/* tx.c — one transaction: strict parsers for names, amounts, serials and block lines,
 * and the canonical formatter. Block files, client argv and serverM's checks all go
 * through these, so every part of the system agrees on what "valid" means. */
#include "tx.h"

#include <string.h>

#include "text.h"

/* 1 for a byte allowed in a name: ASCII letter, digit, '_', '-' or '.'. A table: every
 * name of every listed transaction is checked on its way in and out (tx_name_valid). */
#define NAME_RUN_2(c) [c] = 1, [(c) + 1] = 1
#define NAME_RUN_5(c) NAME_RUN_2(c), NAME_RUN_2((c) + 2), [(c) + 4] = 1
#define NAME_RUN_10(c) NAME_RUN_5(c), NAME_RUN_5((c) + 5)
#define NAME_RUN_26(c) NAME_RUN_10(c), NAME_RUN_10((c) + 10), NAME_RUN_5((c) + 20), [(c) + 25] = 1
static const uint8_t name_byte_ok[256] = {
    ['-'] = 1, ['.'] = 1, ['_'] = 1, NAME_RUN_10('0'), NAME_RUN_26('A'), NAME_RUN_26('a'),
};
_Static_assert('9' == '0' + 9 && 'Z' == 'A' + 25 && 'z' == 'a' + 25, "ASCII runs");

/* 1 when s[0..len) is one or more ASCII digits. */
static int digits_only(const char *s, size_t len) {
    if (len == 0) return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
    }
    return 1;
}

static int blank_byte(char c) { return c == ' ' || c == '\t'; }

int tx_name_valid(const char *s, size_t len) {
    if (len < 1 || len > NAME_BYTES_MAX) return 0;
    AC_ASSERT(s != NULL);
    unsigned ok = 1;
    for (size_t i = 0; i < len; i++) ok &= name_byte_ok[(unsigned char)s[i]];
    return (int)ok;
}

int tx_amount_parse(const char *s, size_t len, int64_t *out) {
    AC_ASSERT(out != NULL);
    if (!digits_only(s, len)) return AC_EINVAL;
    if (len > 1 && s[0] == '0') return AC_EINVAL; /* one spelling per amount: no leading 0 */
    if (len > AMOUNT_DIGITS_MAX) return AC_ERANGE;
    /* 13 digits are < 10^13, far below INT64_MAX: no overflow is possible here. */
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) v = v * 10 + (s[i] - '0');
    if (v < AMOUNT_MIN || v > AMOUNT_MAX) return AC_ERANGE;
    *out = v;
    return AC_OK;
}

int tx_serial_parse(const char *s, size_t len, uint64_t *out) {
    AC_ASSERT(out != NULL);
    if (!digits_only(s, len)) return AC_EINVAL;
    if (len > 1 && s[0] == '0') return AC_EINVAL; /* the amounts' rule: one spelling, no leading 0 */
    if (len > SERIAL_DIGITS_MAX) return AC_ERANGE;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return AC_ERANGE; /* v * 10 + d would overflow */
        v = v * 10 + d;
    }
    if (v == 0) return AC_ERANGE;
    *out = v;
    return AC_OK;
}

/* Copies a short reason into err (truncated, always NUL-terminated when err_cap > 0). */
static void err_set(char *err, size_t err_cap, const char *reason) {
    if (err == NULL || err_cap == 0) return;
    size_t n = strlen(reason);
    if (n >= err_cap) n = err_cap - 1;
    memcpy(err, reason, n);
    err[n] = '\0';
}

/* The most fields we look for: one more than a line has, so "too many" is detectable. */
#define TX_FIELDS 4

int tx_parse_line(const char *line, size_t len, tx_t *out, char *err, size_t err_cap) {
    AC_ASSERT(out != NULL);
    AC_ASSERT(line != NULL || len == 0);
    if (len > 0 && line[len - 1] == '\r') len--;

    /* Split on runs of blanks; stop as soon as a fifth field shows up. */
    const char *field[TX_FIELDS];
    size_t field_len[TX_FIELDS];
    size_t count = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && blank_byte(line[i])) i++;
        if (i == len) break;
        size_t start = i;
        while (i < len && !blank_byte(line[i])) i++;
        if (count == TX_FIELDS) {
            count++;
            break;
        }
        field[count] = line + start;
        field_len[count] = i - start;
        count++;
    }
    if (count != TX_FIELDS) {
        err_set(err, err_cap, "expected 4 fields");
        return AC_EINVAL;
    }

    uint64_t serial = 0;
    int rc = tx_serial_parse(field[0], field_len[0], &serial);
    if (rc == AC_EINVAL) {
        int zero_led = field_len[0] > 1 && field[0][0] == '0' && digits_only(field[0], field_len[0]);
        err_set(err, err_cap, zero_led ? "serial with a leading zero" : "invalid serial");
        return rc;
    }
    if (rc == AC_ERANGE) {
        /* all digits: either all zeros ("serial 0") or more than UINT64_MAX */
        int zero = 1;
        for (size_t k = 0; k < field_len[0]; k++) zero &= field[0][k] == '0';
        err_set(err, err_cap, zero ? "serial 0" : "serial out of range");
        return rc;
    }
    if (!tx_name_valid(field[1], field_len[1])) {
        err_set(err, err_cap, "invalid sender name");
        return AC_EINVAL;
    }
    if (!tx_name_valid(field[2], field_len[2])) {
        err_set(err, err_cap, "invalid receiver name");
        return AC_EINVAL;
    }
    /* Sender == receiver is accepted here on purpose: a block file is data someone wrote,
     * and refusing it would keep a backend from starting. Only new transfers (checked by
     * serverM) must name two different users. */
    int64_t amount = 0;
    rc = tx_amount_parse(field[3], field_len[3], &amount);
    if (rc != AC_OK) {
        int zero_led = field_len[3] > 1 && field[3][0] == '0';
        err_set(err, err_cap, zero_led ? "amount with a leading zero"
                              : rc == AC_EINVAL ? "invalid amount" : "amount out of range");
        return rc;
    }
    /* tx_set's fields without its checks (done above) and without clearing the name
     * buffers: block files are parsed line by line at start-up. */
    out->serial = serial;
    out->amount = amount;
    out->sender_len = (uint8_t)field_len[1];
    out->receiver_len = (uint8_t)field_len[2];
    memcpy(out->sender, field[1], field_len[1]);
    out->sender[field_len[1]] = '\0';
    memcpy(out->receiver, field[2], field_len[2]);
    out->receiver[field_len[2]] = '\0';
    return AC_OK;
}


size_t tx_format(const tx_t *t, char *buf, size_t cap) {
    AC_ASSERT(t != NULL);
    AC_ASSERT(t->amount >= AMOUNT_MIN);
    AC_ASSERT(t->amount <= AMOUNT_MAX);
    AC_ASSERT(t->sender_len <= NAME_BYTES_MAX);
    AC_ASSERT(t->receiver_len <= NAME_BYTES_MAX);
    char line[TX_LINE_BYTES_MAX];
    size_t n = text_u64(t->serial, line);
    line[n++] = ' ';
    memcpy(line + n, t->sender, t->sender_len);
    n += t->sender_len;
    line[n++] = ' ';
    memcpy(line + n, t->receiver, t->receiver_len);
    n += t->receiver_len;
    line[n++] = ' ';
    n += text_u64((uint64_t)t->amount, line + n);
    line[n++] = '\n';
    AC_ASSERT(n < sizeof line);
    /* The caller gets a NUL too, so it needs one byte more than the line itself. */
    if (buf == NULL || cap < n + 1) return 0;
    memcpy(buf, line, n);
    buf[n] = '\0';
    return n;
}

void tx_set(tx_t *t, uint64_t serial, const char *sender, size_t sender_len,
            const char *receiver, size_t receiver_len, int64_t amount) {
    AC_ASSERT(t != NULL);
    AC_ASSERT(tx_name_valid(sender, sender_len));
    AC_ASSERT(tx_name_valid(receiver, receiver_len));
    memset(t, 0, sizeof *t);
    tx_fill(t, serial, sender, sender_len, receiver, receiver_len, amount);
}

void tx_fill(tx_t *t, uint64_t serial, const char *sender, size_t sender_len,
             const char *receiver, size_t receiver_len, int64_t amount) {
    t->serial = serial;
    t->amount = amount;
    t->sender_len = (uint8_t)sender_len;
    t->receiver_len = (uint8_t)receiver_len;
    memcpy(t->sender, sender, sender_len);
    t->sender[sender_len] = '\0';
    memcpy(t->receiver, receiver, receiver_len);
    t->receiver[receiver_len] = '\0';
}

int tx_equal(const tx_t *a, const tx_t *b) {
    AC_ASSERT(a != NULL);
    AC_ASSERT(b != NULL);
    return a->serial == b->serial && a->amount == b->amount &&
           a->sender_len == b->sender_len && a->receiver_len == b->receiver_len &&
           memcmp(a->sender, b->sender, a->sender_len) == 0 &&
           memcmp(a->receiver, b->receiver, a->receiver_len) == 0;
}
