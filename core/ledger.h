/* ledger.h — one backend's transactions, with the index every query is answered from.
 * Transactions are kept in ascending serial order (sorted once at load; serverM's appends
 * always carry a serial above the backend's largest), users are interned once with their
 * totals and a chain of their transactions; STATS pages aggregate that chain (cached). */
#ifndef ALICHAIN_LEDGER_H
#define ALICHAIN_LEDGER_H

#include "tx.h"

#define LEDGER_TXS_MAX (1u << 28)            /* transactions one backend holds */
#define LEDGER_PARTNER_CACHE_ENTRIES 4       /* users whose partner aggregates are cached */
#define LEDGER_NAME_HEAD_BYTES 7             /* name bytes kept in the user record */

typedef struct {
    uint64_t sent;       /* total sent by the user in this ledger (<= INT64_MAX) */
    uint64_t received;   /* total received (<= INT64_MAX) */
    uint32_t tx_count;   /* transactions naming the user */
    uint32_t head;       /* first / last transaction of the user's chain (index+1; 0 = none) */
    uint32_t tail;
    uint32_t name_off;   /* into the name arena (which holds every name whole) */
    uint8_t name_len;
    char name_head[LEDGER_NAME_HEAD_BYTES]; /* the name's first bytes, 0-padded: a lookup
                                               compares these first (in the padding) */
} ledger_user_t;

/* 32 bytes: the two chain links make a user's history walkable without any per-pair or
 * per-user arrays (a self-transfer is linked once, through next_s). */
typedef struct {
    uint64_t serial;
    int64_t amount;
    uint32_t sender;     /* user ids */
    uint32_t receiver;
    uint32_t next_s;     /* next transaction of the sender's chain (index+1; 0 = end) */
    uint32_t next_r;     /* next transaction of the receiver's chain */
} ledger_tx_t;

/* One partner aggregate of a cached user. */
typedef struct {
    uint32_t partner;    /* user id */
    uint32_t count;
    int64_t net;
} ledger_agg_t;

/* A user's partner aggregates in first-seen (serial) order, built from its chain and
 * brought up to date incrementally: a STATS page costs O(page) once it is built. */
typedef struct {
    uint32_t user;       /* index+1; 0 = a free entry */
    uint32_t walked;     /* transactions of the chain folded in */
    uint32_t last;       /* the last transaction folded in (index+1) */
    uint64_t generation; /* ledger generation it was built in */
    uint64_t used;       /* LRU tick */
    ledger_agg_t *aggs; uint32_t agg_count, agg_cap;
    uint32_t *slots; uint32_t slot_cap;  /* partner -> aggs index+1, open addressing */
} ledger_partner_cache_t;

typedef struct {
    ledger_tx_t *txs; uint32_t tx_count, tx_cap;   /* ascending serial once loaded */
    ledger_user_t *users; uint32_t user_count, user_cap;
    char *names; uint32_t names_len, names_cap;
    /* open-addressing hash of users: (32-bit hash << 32) | (index+1); 0 = empty */
    uint64_t *user_slots; uint32_t user_slot_cap;
    uint64_t max_serial;  /* 0 when empty */
    int loading;          /* between ledger_load_begin and _end: no order, no chains */
    int load_ascending;   /* every serial so far above the one before */
    int load_descending;  /* every serial so far below the one before */
    uint64_t generation;  /* bumped when positions move (an insert below max_serial) */
    uint64_t tick;        /* LRU clock of the partner cache */
    ledger_partner_cache_t cache[LEDGER_PARTNER_CACHE_ENTRIES];
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
/* dst (holding nothing: initialised or freed) becomes a copy of src (not loading) in memory
 * of its own, partner cache included: it answers and grows exactly as src would. Returns 0,
 * or AC_ENOMEM with dst holding nothing. */
int ledger_copy(ledger_t *dst, const ledger_t *src);

/* Adds a transaction at run time. Returns 0, AC_EDUP (serial present; ledger unchanged),
 * AC_ERANGE (a user's sent or received would pass INT64_MAX; unchanged) or AC_ENOMEM
 * (unchanged). A serial above max_serial is O(1); one below it (serverM never sends one)
 * is inserted in order in O(n) and moves the positions after it. */
int ledger_add(ledger_t *l, const tx_t *t);

/* Bulk load (a block file): ledger_load_begin, ledger_load_add_batch for the lines in file
 * order (up to LEDGER_LOAD_BATCH at a time), then ledger_load_end. Between them only
 * totals are kept (no lookups by serial, no pages); duplicates are found at the end.
 * lines_hint: the file's line count (the transaction array is sized to it). */
#define LEDGER_LOAD_BATCH 32
void ledger_load_begin(ledger_t *l, uint32_t lines_hint);
/* Adds txs[0..n) in order. Returns 0 (*added = n), or AC_ERANGE (an amount out of range or
 * a total over INT64_MAX) or AC_ENOMEM for txs[*added], the first line not added. */
int ledger_load_add_batch(ledger_t *l, const tx_t *txs, uint32_t n, uint32_t *added);
/* Sorts by serial and builds the chains. Returns 0, AC_ENOMEM, or AC_EDUP with *dup_at =
 * the load position (0-based, in the order lines were added) of the first line whose serial
 * an earlier line already had; txs[] is then still in load order and the ledger can only
 * be freed. Cost: O(n) when the lines came in ascending or descending order, else a
 * radix sort (O(n), three passes for serials within 2^33 of each other). */
int ledger_load_end(ledger_t *l, uint32_t *dup_at);

/* Position of the transaction with this serial, or -1 (a binary search). */
int64_t ledger_find_serial(const ledger_t *l, uint64_t serial);

/* Copies transaction i (0 <= i < tx_count; ascending serial) out as a tx_t. */
void ledger_get(const ledger_t *l, uint32_t i, tx_t *out);
/* A hint before ledger_get of transactions [i, i + n) in order, n <= LEDGER_PREFETCH_MAX:
 * their names, and the user records of [i + n, i + 2n), are fetched into the cache meanwhile
 * (they are scattered: a LIST page would otherwise wait on memory for each transaction);
 * hints for consecutive ranges thus find the records there. Changes nothing. */
#define LEDGER_PREFETCH_MAX 64
void ledger_prefetch(const ledger_t *l, uint32_t i, uint32_t n);

/* A user exists when at least one transaction names it. */
void ledger_totals(const ledger_t *l, const char *name, size_t name_len, ledger_totals_t *out);

/* ledger_totals of n <= LEDGER_TOTALS_MANY_MAX names at once (a QUERY's): the same answers,
 * with the lookups' memory fetched side by side (hash slots, then user records) instead of
 * one cache miss after the other. */
#define LEDGER_TOTALS_MANY_MAX 64
typedef struct {
    const char *s;
    size_t len;
} ledger_name_t;
void ledger_totals_many(const ledger_t *l, const ledger_name_t *names, size_t n,
                        ledger_totals_t *out);

/* Partner rows of a user in first-seen (serial) order, starting at *cursor (0 = first;
 * the number of rows before it). Writes at most max rows to out, advances *cursor, and
 * returns the number written; *done is set to 1 when no rows remain after these. An
 * unknown user, or a cursor past the rows, has no rows. Cursors stay valid across appends
 * above max_serial. Returns the rows written, or AC_ENOMEM when the user's aggregates
 * cannot be built (nothing written; the caller must not answer from a partial list).
 * Cost: O(rows) once the user's aggregates are cached; building them walks the user's
 * transactions once (later appends are folded in incrementally). */
int ledger_partners(ledger_t *l, const char *name, size_t name_len, uint32_t *cursor,
                    ledger_partner_t *out, uint32_t max, int *done);

#endif
