/* tx.h — one transaction: parse and format a block line, validate names and amounts.
 * The same parsers serve block files, the client's argv and serverM's request checks,
 * so "valid" means one thing everywhere. */
#ifndef ALICHAIN_TX_H
#define ALICHAIN_TX_H

#include "common.h"

typedef struct {
    uint64_t serial;                     /* >= 1 */
    int64_t amount;                      /* AMOUNT_MIN..AMOUNT_MAX */
    uint8_t sender_len;
    uint8_t receiver_len;
    char sender[NAME_BYTES_MAX + 1];     /* NUL-terminated */
    char receiver[NAME_BYTES_MAX + 1];
} tx_t;

/* 1 when s[0..len) is a valid name: 1..64 bytes of [A-Za-z0-9_.-]; else 0. */
int tx_name_valid(const char *s, size_t len);

/* Parses a whole decimal amount in AMOUNT_MIN..AMOUNT_MAX, written the one way tx_format
 * writes it: digits only, the first not '0' ("0012" is refused, not read as 12), so at
 * most AMOUNT_DIGITS_MAX of them. The one rule for client argv, the TCP wire, block files
 * and scenario files. Returns 0, AC_EINVAL (not digits, or a leading zero) or AC_ERANGE
 * ("0", or above AMOUNT_MAX). */
int tx_amount_parse(const char *s, size_t len, int64_t *out);

/* Parses a serial: 1..UINT64_MAX by the amounts' rule, digits only, the first not '0'
 * ("01" is refused, not read as 1). Returns 0, AC_EINVAL (not digits, or a leading zero)
 * or AC_ERANGE ("0", or above UINT64_MAX). */
int tx_serial_parse(const char *s, size_t len, uint64_t *out);

/* Parses one block line (without its '\n'; a trailing '\r' is tolerated). Fields are
 * separated by one or more spaces or tabs; leading/trailing blanks are ignored.
 * Returns 0, or AC_EINVAL / AC_ERANGE with a short reason in err (e.g. "invalid name"). */
int tx_parse_line(const char *line, size_t len, tx_t *out, char *err, size_t err_cap);

/* Writes "<serial> <sender> <receiver> <amount>\n" into buf. Returns the length written
 * (without a NUL), or 0 if cap is too small. cap >= TX_LINE_BYTES_MAX always suffices. */
size_t tx_format(const tx_t *t, char *buf, size_t cap);

/* Fills a tx from parts; the names must be valid (asserted). */
void tx_set(tx_t *t, uint64_t serial, const char *sender, size_t sender_len,
            const char *receiver, size_t receiver_len, int64_t amount);

/* tx_set for names known valid already (a ledger's, checked when they entered it), on a
 * hot path (a LIST page): no check, and only the fields, the names' bytes and their NULs
 * are written; the arrays past each NUL keep what they held. */
void tx_fill(tx_t *t, uint64_t serial, const char *sender, size_t sender_len,
             const char *receiver, size_t receiver_len, int64_t amount);

/* 1 when a and b are the same transaction (all four fields). */
int tx_equal(const tx_t *a, const tx_t *b);

#endif
