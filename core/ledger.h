/* ledger.h — one backend's transactions, with the index every query is answered from.
 * Users are interned once; per user we keep sent, received and a chain of partner
 * aggregates; serials live in a hash set. Lookups are O(1) on average; nothing rescans
 * the transactions after load. Append-only: positions (cursors) stay valid forever. */
#ifndef ALICHAIN_LEDGER_H
#define ALICHAIN_LEDGER_H

#include "tx.h"

typedef struct {
    uint64_t sent;       /* total sent by the user in this ledger */
    uint64_t received;   /* total received */
    uint32_t tx_count;   /* transactions naming the user */
    uint32_t pair_head;  /* first partner aggregate (index+1; 0 = none) */
    uint32_t pair_tail;
    uint32_t name_off;   /* into the name arena */
    uint8_t name_len;
} ledger_user_t;

typedef struct {
    uint32_t user;       /* owner user id */
    uint32_t partner;    /* partner user id */
    uint32_t count;      /* transactions between the two, either direction */
    uint32_t next;       /* next aggregate of the same owner (index+1; 0 = end) */
    int64_t net;         /* received from partner minus sent to partner */
} ledger_pair_t;

typedef struct {
    uint64_t serial;
    int64_t amount;
    uint32_t sender;     /* user ids */
    uint32_t receiver;
} ledger_tx_t;

typedef struct {
    ledger_tx_t *txs;  uint32_t tx_count, tx_cap;
    ledger_user_t *users; uint32_t user_count, user_cap;
    ledger_pair_t *pairs; uint32_t pair_count, pair_cap;
    char *names; uint32_t names_len, names_cap;
    /* open-addressing hash tables of indexes+1 (0 = empty), capacities powers of two */
    uint32_t *user_slots; uint32_t user_slot_cap;
    uint32_t *pair_slots; uint32_t pair_slot_cap;
    uint32_t *serial_slots; uint32_t serial_slot_cap;
    uint64_t max_serial;  /* 0 when empty */
} ledger_t;

/* One user's totals in this ledger (all zero when absent). */
typedef struct {
    int exists;
    uint64_t sent;
    uint64_t received;
    uint32_t tx_count;
} ledger_totals_t;

/* One partner row as returned by ledger_partners(). */
typedef struct {
    const char *name;   /* points into the ledger; not NUL-terminated */
    uint8_t name_len;
    uint32_t count;
    int64_t net;
} ledger_partner_t;

void ledger_init(ledger_t *l);
void ledger_free(ledger_t *l);

/* Adds a transaction. Returns 0, AC_EDUP (serial present; ledger unchanged), AC_ERANGE
 * (a user's totals would overflow; unchanged) or AC_ENOMEM (unchanged). */
int ledger_add(ledger_t *l, const tx_t *t);

/* Index of the transaction with this serial, or -1. */
int64_t ledger_find_serial(const ledger_t *l, uint64_t serial);

/* Copies transaction i (0 <= i < tx_count) out as a tx_t. */
void ledger_get(const ledger_t *l, uint32_t i, tx_t *out);

/* A user exists when at least one transaction names it. */
void ledger_totals(const ledger_t *l, const char *name, size_t name_len, ledger_totals_t *out);

/* Partner rows of a user, starting at *cursor (0 = first). Writes at most max rows to
 * out, advances *cursor, and returns the number written; *done is set to 1 when no rows
 * remain after these. An unknown user has no rows. Cursors stay valid across appends. */
uint32_t ledger_partners(const ledger_t *l, const char *name, size_t name_len, uint32_t *cursor,
                         ledger_partner_t *out, uint32_t max, int *done);

#endif
