/* ledger.c — one backend's transactions and the index every query is answered from:
 * transactions in ascending serial order (binary search, no serial hash), interned users
 * with totals and a chain through their transactions, one open-addressing user table
 * (tagged slots), and a small LRU cache of partner aggregates for STATS pages. */
#include "ledger.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"

/* ---- limits ----
 * Every count is a uint32 and every slot or link holds index+1, so the arrays must stay
 * well below 2^32 entries. A ledger this large would need tens of GB anyway. */
#define LEDGER_USERS_MAX (2u * LEDGER_TXS_MAX)  /* each tx names at most two new users */
#define LEDGER_NAME_BYTES_TOTAL_MAX (1u << 31)  /* the name arena */
#define LEDGER_SLOTS_MAX (1u << 30)             /* largest hash table capacity */
#define LEDGER_SLOTS_CAP_INITIAL 32u
#define LEDGER_TOTAL_MAX ((uint64_t)INT64_MAX)  /* a user's sent or received: nets fit int64 */
#define RADIX_BITS 11u                          /* digit of the load's LSD radix sort */
#define RADIX_BUCKETS (1u << RADIX_BITS)
#define SERIAL_SPAN_NARROW ((uint64_t)1 << 32)  /* (serial - min) fits a packed sort key */
#define SORT_SMALL_MAX 64u                      /* up to this many keys: insertion sort */
#define CHAIN_AHEAD 16u                         /* prefetch distance of chains_rebuild */

_Static_assert(LEDGER_SLOTS_MAX >= 2u * LEDGER_USERS_MAX, "user table fits at load 1/2");
_Static_assert(LEDGER_SLOTS_MAX <= ((uint64_t)1 << 32), "a slot's tag holds every index bit");
_Static_assert((LEDGER_SLOTS_CAP_INITIAL & (LEDGER_SLOTS_CAP_INITIAL - 1)) == 0,
               "table capacities are powers of two");
_Static_assert(NAME_BYTES_MAX <= 255, "name lengths fit the uint8 fields");
_Static_assert(LEDGER_TXS_MAX < UINT32_MAX, "positions and links fit uint32");
_Static_assert(AMOUNT_MAX < INT64_MAX, "an amount fits below the totals' limit");

/* ---- hashing ---- */

/* A 64-bit finalizer (the SplitMix64 one): every input bit affects the low bits we mask. */
static uint64_t hash_mix64(uint64_t x) {
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* FNV-1a over the name's bytes, then the finalizer; the low 32 bits are the slot's tag
 * (a table index is tag & mask, so a rehash needs no name). */
static uint32_t hash_name(const char *s, size_t len) {
    uint64_t h = 0xCBF29CE484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001B3ULL;
    }
    return (uint32_t)hash_mix64(h);
}

/* ---- growable arrays ---- */

/* The ledger's arrays grow through grow.h; their counts and capacities are uint32 (the
 * limits above), so need must stay within max, and a capacity that doubled past max is
 * recorded as max (its extra room is never used). Returns 0 or AC_ENOMEM (unchanged). */
static int array_reserve(void *array_pp, uint32_t *cap, uint32_t need, size_t elem, uint32_t max) {
    if (need <= *cap) return AC_OK;
    if (need > max) return AC_ENOMEM;
    size_t c = *cap;
    int rc = grow_array(array_pp, &c, need, elem);
    if (rc != AC_OK) return rc;
    *cap = c > max ? max : (uint32_t)c;
    return AC_OK;
}

/* ---- the user table: slots hold (tag << 32) | (index+1), 0 = empty ---- */

static void slots_put(uint64_t *slots, uint32_t cap, uint32_t tag, uint32_t id) {
    uint32_t mask = cap - 1;
    uint32_t i = tag & mask;
    for (uint32_t n = 0; n < cap; n++) {
        if (slots[i] == 0) {
            slots[i] = (uint64_t)tag << 32 | (id + 1u);
            return;
        }
        i = (i + 1) & mask;
    }
    AC_ASSERT(0); /* full: the load factor rule was broken */
}

/* Room for `count` users at load <= 1/2, rehashing from the old slots' tags. Returns 0
 * or AC_ENOMEM (unchanged). */
static int users_table_reserve(ledger_t *l, uint32_t count) {
    if ((uint64_t)count * 2 <= l->user_slot_cap) return AC_OK;
    uint64_t cap = l->user_slot_cap == 0 ? LEDGER_SLOTS_CAP_INITIAL : l->user_slot_cap;
    while (cap < (uint64_t)count * 2) cap *= 2; /* at most 32 doublings */
    if (cap > LEDGER_SLOTS_MAX) return AC_ENOMEM;
    uint64_t *slots = calloc((size_t)cap, sizeof *slots);
    if (slots == NULL) return AC_ENOMEM;
    for (uint32_t i = 0; i < l->user_slot_cap; i++) {
        uint64_t v = l->user_slots[i];
        if (v != 0) slots_put(slots, (uint32_t)cap, (uint32_t)(v >> 32), (uint32_t)v - 1u);
    }
    free(l->user_slots);
    l->user_slots = slots;
    l->user_slot_cap = (uint32_t)cap;
    return AC_OK;
}

/* The first LEDGER_NAME_HEAD_BYTES of a name, 0-padded. */
static void name_head(const char *name, size_t len, char head[LEDGER_NAME_HEAD_BYTES]) {
    memset(head, 0, LEDGER_NAME_HEAD_BYTES);
    memcpy(head, name, len < LEDGER_NAME_HEAD_BYTES ? len : LEDGER_NAME_HEAD_BYTES);
}

/* User u's name: its head when the whole name fits there (no visit to the name arena, whose
 * lines a LIST would otherwise fetch one per name), else the arena's copy. */
static const char *user_name(const ledger_t *l, const ledger_user_t *u) {
    return u->name_len <= LEDGER_NAME_HEAD_BYTES ? u->name_head : l->names + u->name_off;
}

/* 1 when user u is called name[0..len) (head: name_head of it). A short name is compared
 * within the user record alone: no access to the arena (a cache miss at load). */
static int user_is(const ledger_t *l, const ledger_user_t *u, const char *name, size_t len,
                   const char head[LEDGER_NAME_HEAD_BYTES]) {
    if (u->name_len != len || memcmp(u->name_head, head, LEDGER_NAME_HEAD_BYTES) != 0) return 0;
    if (len <= LEDGER_NAME_HEAD_BYTES) return 1;
    return memcmp(l->names + u->name_off + LEDGER_NAME_HEAD_BYTES, name + LEDGER_NAME_HEAD_BYTES,
                  len - LEDGER_NAME_HEAD_BYTES) == 0;
}

/* index+1 of the user, or 0 when absent; tag is hash_name(name, len). */
static uint32_t user_find_tagged(const ledger_t *l, const char *name, size_t len, uint32_t tag) {
    if (l->user_slot_cap == 0) return 0;
    char head[LEDGER_NAME_HEAD_BYTES];
    name_head(name, len, head);
    uint32_t mask = l->user_slot_cap - 1;
    uint32_t i = tag & mask;
    for (uint32_t n = 0; n < l->user_slot_cap; n++) {
        uint64_t v = l->user_slots[i];
        if (v == 0) return 0;
        if ((uint32_t)(v >> 32) == tag && user_is(l, &l->users[(uint32_t)v - 1u], name, len, head))
            return (uint32_t)v;
        i = (i + 1) & mask;
    }
    return 0;
}

static uint32_t user_find(const ledger_t *l, const char *name, size_t len) {
    if (len == 0 || len > NAME_BYTES_MAX) return 0;
    return user_find_tagged(l, name, len, hash_name(name, len));
}

/* Room for new_users more users (names_bytes more name bytes) and one more transaction.
 * Nothing observable changes. Returns 0 or AC_ENOMEM. */
static int ledger_reserve(ledger_t *l, uint32_t new_users, uint32_t names_bytes) {
    if (l->tx_count >= LEDGER_TXS_MAX) return AC_ENOMEM;
    if ((uint64_t)l->names_len + names_bytes > LEDGER_NAME_BYTES_TOTAL_MAX) return AC_ENOMEM;
    uint32_t users = l->user_count + new_users;
    int rc = array_reserve(&l->txs, &l->tx_cap, l->tx_count + 1, sizeof *l->txs, LEDGER_TXS_MAX);
    if (rc != AC_OK) return rc;
    rc = array_reserve(&l->users, &l->user_cap, users, sizeof *l->users, LEDGER_USERS_MAX);
    if (rc != AC_OK) return rc;
    rc = array_reserve(&l->names, &l->names_cap, l->names_len + names_bytes, 1,
                       LEDGER_NAME_BYTES_TOTAL_MAX);
    if (rc != AC_OK) return rc;
    return users_table_reserve(l, users);
}

/* Interns a user (space reserved). */
static uint32_t user_insert(ledger_t *l, const char *name, size_t len, uint32_t tag) {
    uint32_t id = l->user_count++;
    ledger_user_t *u = &l->users[id];
    memset(u, 0, sizeof *u);
    u->name_off = l->names_len;
    u->name_len = (uint8_t)len;
    name_head(name, len, u->name_head);
    memcpy(l->names + l->names_len, name, len);
    l->names_len += (uint32_t)len;
    slots_put(l->user_slots, l->user_slot_cap, tag, id);
    return id;
}

/* ---- chains ---- */

/* The link of tx t that continues user's chain (a self-transfer uses next_s only). */
static uint32_t *chain_link(ledger_tx_t *t, uint32_t user) {
    return t->sender == user ? &t->next_s : &t->next_r;
}

static void chain_append(ledger_t *l, uint32_t user, uint32_t i) {
    ledger_user_t *u = &l->users[user];
    if (u->tail != 0) {
        *chain_link(&l->txs[u->tail - 1], user) = i + 1;
    } else {
        u->head = i + 1;
    }
    u->tail = i + 1;
}

static void chain_add_tx(ledger_t *l, uint32_t i) {
    ledger_tx_t *t = &l->txs[i];
    t->next_s = 0;
    t->next_r = 0;
    chain_append(l, t->sender, i);
    if (t->receiver != t->sender) chain_append(l, t->receiver, i);
}

/* Rebuilds every chain in position order: O(transactions + users). Each link touches
 * two users and their tail transactions at random, so those are prefetched ahead: the
 * users CHAIN_AHEAD transactions ahead, their tails half as far (hints only). */
static void chains_rebuild(ledger_t *l) {
    for (uint32_t u = 0; u < l->user_count; u++) {
        l->users[u].head = 0;
        l->users[u].tail = 0;
    }
    uint32_t n = l->tx_count;
    for (uint32_t i = 0; i < n; i++) {
        if (i + CHAIN_AHEAD < n) {
            const ledger_tx_t *t = &l->txs[i + CHAIN_AHEAD];
            __builtin_prefetch(&l->users[t->sender], 1);
            __builtin_prefetch(&l->users[t->receiver], 1);
        }
        if (i + CHAIN_AHEAD / 2 < n) {
            const ledger_tx_t *t = &l->txs[i + CHAIN_AHEAD / 2];
            uint32_t ts = l->users[t->sender].tail, tr = l->users[t->receiver].tail;
            if (ts != 0) __builtin_prefetch(&l->txs[ts - 1], 1);
            if (tr != 0) __builtin_prefetch(&l->txs[tr - 1], 1);
        }
        chain_add_tx(l, i);
    }
}

/* ---- public API ---- */

void ledger_init(ledger_t *l) {
    AC_ASSERT(l != NULL);
    memset(l, 0, sizeof *l);
}

static void cache_entry_reset(ledger_partner_cache_t *e) {
    free(e->aggs);
    free(e->slots);
    memset(e, 0, sizeof *e);
}

void ledger_free(ledger_t *l) {
    AC_ASSERT(l != NULL);
    free(l->txs);
    free(l->users);
    free(l->names);
    free(l->user_slots);
    for (size_t i = 0; i < LEDGER_PARTNER_CACHE_ENTRIES; i++) cache_entry_reset(&l->cache[i]);
    memset(l, 0, sizeof *l);
}

/* *dst_pp = a new array of cap elements holding src's first count (NULL when cap is 0).
 * Returns 0 or AC_ENOMEM (*dst_pp NULL then). */
static int array_dup(void *dst_pp, const void *src, size_t count, size_t cap, size_t elem) {
    void *p = NULL;
    AC_ASSERT(count <= cap);
    if (cap > 0) {
        p = malloc(cap * elem);
        if (p == NULL) return AC_ENOMEM;
        if (count > 0) memcpy(p, src, count * elem);
    }
    memcpy(dst_pp, &p, sizeof(p)); /* *dst_pp is a T *, written without type punning */
    return AC_OK;
}

int ledger_copy(ledger_t *dst, const ledger_t *src) {
    AC_ASSERT(dst != NULL && src != NULL && dst != src);
    AC_ASSERT(!src->loading);
    *dst = *src; /* the counts, capacities and clocks; every pointer is replaced below */
    dst->txs = NULL;
    dst->users = NULL;
    dst->names = NULL;
    dst->user_slots = NULL;
    for (size_t i = 0; i < LEDGER_PARTNER_CACHE_ENTRIES; i++) {
        dst->cache[i].aggs = NULL;
        dst->cache[i].slots = NULL;
    }
    int rc = array_dup(&dst->txs, src->txs, src->tx_count, src->tx_cap, sizeof(*src->txs));
    if (rc == AC_OK)
        rc = array_dup(&dst->users, src->users, src->user_count, src->user_cap, sizeof(*src->users));
    if (rc == AC_OK)
        rc = array_dup(&dst->names, src->names, src->names_len, src->names_cap, 1);
    if (rc == AC_OK)
        rc = array_dup(&dst->user_slots, src->user_slots, src->user_slot_cap, src->user_slot_cap,
                       sizeof(*src->user_slots));
    for (size_t i = 0; i < LEDGER_PARTNER_CACHE_ENTRIES && rc == AC_OK; i++) {
        const ledger_partner_cache_t *e = &src->cache[i];
        rc = array_dup(&dst->cache[i].aggs, e->aggs, e->agg_count, e->agg_cap, sizeof(*e->aggs));
        if (rc == AC_OK)
            rc = array_dup(&dst->cache[i].slots, e->slots, e->slot_cap, e->slot_cap,
                           sizeof(*e->slots));
    }
    if (rc != AC_OK) ledger_free(dst);
    return rc;
}

static int amount_valid(const tx_t *t) {
    return t->serial != 0 && t->amount >= AMOUNT_MIN && t->amount <= AMOUNT_MAX;
}

/* The name tags of t: tags[0] the sender's, tags[1] the receiver's. */
static void tx_tags(const tx_t *t, uint32_t tags[2]) {
    tags[0] = hash_name(t->sender, t->sender_len);
    tags[1] = hash_name(t->receiver, t->receiver_len);
}

/* The two users of t (index+1, or 0 when new; tags from tx_tags) and the overflow check:
 * shared by the run-time and the load paths. Returns 0 or AC_ERANGE. */
static int users_of(const ledger_t *l, const tx_t *t, const uint32_t tags[2], uint32_t found[2],
                    int *same) {
    *same = t->sender_len == t->receiver_len &&
            memcmp(t->sender, t->receiver, t->sender_len) == 0;
    found[0] = user_find_tagged(l, t->sender, t->sender_len, tags[0]);
    found[1] = *same ? found[0] : user_find_tagged(l, t->receiver, t->receiver_len, tags[1]);
    uint64_t amount = (uint64_t)t->amount;
    /* With sender == receiver both checks apply to the one user, which is what happens. */
    if (found[0] != 0 && l->users[found[0] - 1].sent > LEDGER_TOTAL_MAX - amount) return AC_ERANGE;
    if (found[1] != 0 && l->users[found[1] - 1].received > LEDGER_TOTAL_MAX - amount)
        return AC_ERANGE;
    return AC_OK;
}

/* Reserves, interns the new users and writes t at position pos (moving the ones after it
 * up); updates totals and max_serial. Returns 0 or AC_ENOMEM (unchanged). */
static int tx_store(ledger_t *l, const tx_t *t, const uint32_t tags[2], const uint32_t found[2],
                    int same, uint32_t pos) {
    uint32_t new_users = (found[0] == 0) + (!same && found[1] == 0);
    uint32_t names_bytes = (found[0] == 0 ? t->sender_len : 0u) +
                           (!same && found[1] == 0 ? t->receiver_len : 0u);
    AC_ASSERT(pos <= l->tx_count);
    int rc = ledger_reserve(l, new_users, names_bytes);
    if (rc != AC_OK) return rc;
    /* Commit: nothing below can fail. */
    uint32_t sid = found[0] != 0 ? found[0] - 1 : user_insert(l, t->sender, t->sender_len, tags[0]);
    uint32_t rid = same ? sid
                        : found[1] != 0 ? found[1] - 1
                                        : user_insert(l, t->receiver, t->receiver_len, tags[1]);
    if (pos < l->tx_count) {
        memmove(&l->txs[pos + 1], &l->txs[pos], (size_t)(l->tx_count - pos) * sizeof *l->txs);
    }
    l->tx_count++;
    ledger_tx_t *x = &l->txs[pos];
    x->serial = t->serial;
    x->amount = t->amount;
    x->sender = sid;
    x->receiver = rid;
    x->next_s = 0;
    x->next_r = 0;
    if (t->serial > l->max_serial) l->max_serial = t->serial;
    ledger_user_t *su = &l->users[sid];
    ledger_user_t *ru = &l->users[rid];
    su->sent += (uint64_t)t->amount;
    ru->received += (uint64_t)t->amount;
    su->tx_count++;
    if (!same) ru->tx_count++;
    AC_ASSERT(su->sent <= LEDGER_TOTAL_MAX); /* users_of refused an overflow */
    AC_ASSERT(ru->received <= LEDGER_TOTAL_MAX);
    return AC_OK;
}

/* First position whose serial is >= serial (tx_count when none). */
static uint32_t lower_bound(const ledger_t *l, uint64_t serial) {
    uint32_t lo = 0, hi = l->tx_count;
    while (lo < hi) { /* halves every pass: at most 32 */
        uint32_t mid = lo + (hi - lo) / 2;
        if (l->txs[mid].serial < serial) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int ledger_add(ledger_t *l, const tx_t *t) {
    AC_ASSERT(l != NULL);
    AC_ASSERT(t != NULL);
    AC_ASSERT(!l->loading);
    AC_ASSERT(tx_name_valid(t->sender, t->sender_len));
    AC_ASSERT(tx_name_valid(t->receiver, t->receiver_len));
    /* A tx_t normally comes from tx_parse_line, but refuse out-of-range fields anyway:
     * they would break the overflow reasoning below. */
    if (!amount_valid(t)) return AC_ERANGE;
    /* serverM's appends carry max + 1 (serial = largest over the network + 1): O(1). */
    uint32_t pos = l->tx_count;
    if (l->tx_count > 0 && t->serial <= l->max_serial) {
        pos = lower_bound(l, t->serial);
        if (pos < l->tx_count && l->txs[pos].serial == t->serial) return AC_EDUP;
    }
    uint32_t tags[2], found[2];
    int same = 0;
    tx_tags(t, tags);
    int rc = users_of(l, t, tags, found, &same);
    if (rc != AC_OK) return rc;
    uint32_t count_before = l->tx_count;
    rc = tx_store(l, t, tags, found, same, pos);
    if (rc != AC_OK) return rc;
    /* stored once, in serial order */
    AC_ASSERT(l->tx_count == count_before + 1);
    AC_ASSERT(l->txs[pos].serial == t->serial);
    AC_ASSERT(pos == 0 || l->txs[pos - 1].serial < t->serial);
    AC_ASSERT(pos + 1 == l->tx_count || l->txs[pos + 1].serial > t->serial);
    AC_ASSERT(l->max_serial >= t->serial);
    if (pos + 1 == l->tx_count) {
        chain_add_tx(l, pos);
    } else {
        /* Positions after pos moved: every link and cached walk is stale. */
        chains_rebuild(l);
        l->generation++;
    }
    return AC_OK;
}

void ledger_load_begin(ledger_t *l, uint32_t lines_hint) {
    AC_ASSERT(l != NULL);
    AC_ASSERT(l->tx_count == 0);
    l->loading = 1;
    l->load_ascending = 1;
    l->load_descending = 1;
    if (lines_hint > LEDGER_TXS_MAX) lines_hint = LEDGER_TXS_MAX;
    /* Exactly the lines of the file: no doubling slack in the largest array. A failure
     * here is not one: the array then grows as usual. */
    (void)array_reserve(&l->txs, &l->tx_cap, lines_hint, sizeof *l->txs, LEDGER_TXS_MAX);
}

/* One line of a load, its tags computed. Returns 0, AC_ERANGE or AC_ENOMEM. */
static int load_add_tagged(ledger_t *l, const tx_t *t, const uint32_t tags[2]) {
    if (!amount_valid(t)) return AC_ERANGE;
    uint32_t found[2];
    int same = 0;
    int rc = users_of(l, t, tags, found, &same);
    if (rc != AC_OK) return rc;
    if (l->tx_count > 0) {
        uint64_t prev = l->txs[l->tx_count - 1].serial;
        l->load_ascending &= t->serial > prev;
        l->load_descending &= t->serial < prev;
    }
    return tx_store(l, t, tags, found, same, l->tx_count);
}

/* A load is bound by memory latency (a user lookup is three dependent cache misses: slot,
 * user, name), so a batch first touches what its lookups will read, stage by stage, with
 * every miss of a stage in flight at once; then adds its lines in order as usual. The
 * prefetches are hints only: the adds repeat every lookup. */
int ledger_load_add_batch(ledger_t *l, const tx_t *txs, uint32_t n, uint32_t *added) {
    AC_ASSERT(l != NULL);
    AC_ASSERT(txs != NULL || n == 0);
    AC_ASSERT(added != NULL);
    AC_ASSERT(l->loading);
    AC_ASSERT(n <= LEDGER_LOAD_BATCH);
    uint32_t tags[2 * LEDGER_LOAD_BATCH];
    uint32_t ids[2 * LEDGER_LOAD_BATCH];
    uint32_t mask = l->user_slot_cap - 1;
    for (uint32_t k = 0; k < n; k++) {
        tx_tags(&txs[k], &tags[2 * k]);
        if (l->user_slot_cap != 0) {
            __builtin_prefetch(&l->user_slots[tags[2 * k] & mask]);
            __builtin_prefetch(&l->user_slots[tags[2 * k + 1] & mask]);
        }
    }
    for (uint32_t j = 0; j < 2 * n; j++) {
        ids[j] = 0;
        if (l->user_slot_cap == 0) continue;
        uint64_t v = l->user_slots[tags[j] & mask];
        if (v != 0 && (uint32_t)(v >> 32) == tags[j]) {
            ids[j] = (uint32_t)v;
            __builtin_prefetch(&l->users[ids[j] - 1]);
        }
    }
    for (uint32_t j = 0; j < 2 * n; j++) {
        const ledger_user_t *u = ids[j] != 0 ? &l->users[ids[j] - 1] : NULL;
        if (u != NULL && u->name_len > LEDGER_NAME_HEAD_BYTES) __builtin_prefetch(l->names + u->name_off);
    }
    for (uint32_t k = 0; k < n; k++) {
        int rc = load_add_tagged(l, &txs[k], &tags[2 * k]);
        if (rc != AC_OK) {
            *added = k;
            return rc;
        }
    }
    *added = n;
    return AC_OK;
}

/* LSD radix sort of keys on bits [32, 32 + key_bits): the high half is (serial - min), the
 * low half the load position, so equal serials stay in load order (the sort is stable).
 * tmp holds n keys too; returns whichever of the two holds the sorted keys. */
static uint64_t *radix_sort(uint64_t *keys, uint64_t *tmp, uint32_t n, unsigned key_bits) {
    uint32_t count[RADIX_BUCKETS];
    for (unsigned shift = 32; shift < 32 + key_bits; shift += RADIX_BITS) { /* <= 3 passes */
        memset(count, 0, sizeof count);
        for (uint32_t i = 0; i < n; i++) count[(keys[i] >> shift) & (RADIX_BUCKETS - 1)]++;
        uint32_t sum = 0;
        for (uint32_t b = 0; b < RADIX_BUCKETS; b++) {
            uint32_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (uint32_t i = 0; i < n; i++) {
            uint64_t k = keys[i];
            tmp[count[(k >> shift) & (RADIX_BUCKETS - 1)]++] = k;
        }
        uint64_t *swap = keys;
        keys = tmp;
        tmp = swap;
    }
    return keys;
}

/* A few keys (a small block file, each of a fuzzer's restarts): an insertion sort, where
 * the radix sort's passes over RADIX_BUCKETS counters would cost far more than the keys.
 * Keys are distinct (the low half is the position), so the order is the same. */
static void keys_insertion_sort(uint64_t *keys, uint32_t n) {
    for (uint32_t i = 1; i < n; i++) {
        uint64_t k = keys[i];
        uint32_t j = i;
        for (; j > 0 && keys[j - 1] > k; j--) keys[j] = keys[j - 1];
        keys[j] = k;
    }
}

typedef struct {
    uint64_t serial;
    uint32_t pos;
} wide_key_t;

static int wide_key_cmp(const void *a, const void *b) {
    const wide_key_t *x = a, *y = b;
    if (x->serial != y->serial) return x->serial < y->serial ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* order[i] = the load position of the i-th smallest serial (ties in load order). Serials
 * within 2^32 of each other (every real ledger) use a radix sort on packed keys; others
 * qsort. Returns 0 or AC_ENOMEM. */
static int load_order(const ledger_t *l, uint32_t *order) {
    uint32_t n = l->tx_count;
    uint64_t min = UINT64_MAX;
    for (uint32_t i = 0; i < n; i++) {
        if (l->txs[i].serial < min) min = l->txs[i].serial;
    }
    uint64_t span = l->max_serial - min;
    if (span < SERIAL_SPAN_NARROW) {
        uint64_t *keys = malloc((size_t)n * sizeof *keys);
        uint64_t *tmp = malloc((size_t)n * sizeof *tmp);
        if (keys == NULL || tmp == NULL) {
            free(keys);
            free(tmp);
            return AC_ENOMEM;
        }
        for (uint32_t i = 0; i < n; i++) keys[i] = (l->txs[i].serial - min) << 32 | i;
        const uint64_t *sorted = keys;
        if (n <= SORT_SMALL_MAX) {
            keys_insertion_sort(keys, n);
        } else {
            unsigned bits = 0;
            while (bits < 32 && (span >> bits) != 0) bits++;
            sorted = radix_sort(keys, tmp, n, bits);
        }
        for (uint32_t i = 0; i < n; i++) order[i] = (uint32_t)sorted[i];
        free(keys);
        free(tmp);
        return AC_OK;
    }
    wide_key_t *w = malloc((size_t)n * sizeof *w);
    if (w == NULL) return AC_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        w[i].serial = l->txs[i].serial;
        w[i].pos = i;
    }
    qsort(w, n, sizeof *w, wide_key_cmp);
    for (uint32_t i = 0; i < n; i++) order[i] = w[i].pos;
    free(w);
    return AC_OK;
}

/* Puts the loaded transactions in serial order. Returns 0, AC_ENOMEM or AC_EDUP (with
 * *dup_at as ledger_load_end says). */
static int load_sort(ledger_t *l, uint32_t *dup_at) {
    uint32_t n = l->tx_count;
    if (l->load_ascending) return AC_OK; /* strictly ascending: sorted, no duplicates */
    if (l->load_descending) {            /* strictly descending (e.g. bench's block2) */
        for (uint32_t i = 0, j = n - 1; i < j; i++, j--) {
            ledger_tx_t t = l->txs[i];
            l->txs[i] = l->txs[j];
            l->txs[j] = t;
        }
        return AC_OK;
    }
    uint32_t *order = malloc((size_t)n * sizeof *order);
    if (order == NULL) return AC_ENOMEM;
    int rc = load_order(l, order);
    if (rc != AC_OK) {
        free(order);
        return rc;
    }
    /* A repeated serial: its later copies sort right after the first one, so the first
     * repeat in load order is the smallest position among all non-first copies. */
    uint32_t first_dup = UINT32_MAX;
    for (uint32_t i = 1; i < n; i++) {
        if (l->txs[order[i]].serial == l->txs[order[i - 1]].serial && order[i] < first_dup)
            first_dup = order[i];
    }
    if (first_dup != UINT32_MAX) {
        free(order);
        *dup_at = first_dup;
        return AC_EDUP;
    }
    ledger_tx_t *sorted = malloc((size_t)l->tx_cap * sizeof *sorted);
    if (sorted == NULL) {
        free(order);
        return AC_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) sorted[i] = l->txs[order[i]];
    free(order);
    free(l->txs);
    l->txs = sorted;
    return AC_OK;
}

int ledger_load_end(ledger_t *l, uint32_t *dup_at) {
    AC_ASSERT(l != NULL);
    AC_ASSERT(dup_at != NULL);
    AC_ASSERT(l->loading);
    l->loading = 0;
    if (l->tx_count == 0) return AC_OK;
    int rc = load_sort(l, dup_at);
    if (rc != AC_OK) return rc;
    chains_rebuild(l);
    return AC_OK;
}

int64_t ledger_find_serial(const ledger_t *l, uint64_t serial) {
    AC_ASSERT(l != NULL);
    AC_ASSERT(!l->loading);
    if (l->tx_count == 0 || serial > l->max_serial) return -1;
    uint32_t pos = lower_bound(l, serial);
    return pos < l->tx_count && l->txs[pos].serial == serial ? (int64_t)pos : -1;
}

void ledger_get(const ledger_t *l, uint32_t i, tx_t *out) {
    AC_ASSERT(l != NULL);
    AC_ASSERT(out != NULL);
    AC_ASSERT(i < l->tx_count);
    const ledger_tx_t *x = &l->txs[i];
    const ledger_user_t *s = &l->users[x->sender];
    const ledger_user_t *r = &l->users[x->receiver];
    /* its names were checked when they entered the ledger (ledger_add, the load) */
    tx_fill(out, x->serial, user_name(l, s), s->name_len, user_name(l, r), r->name_len, x->amount);
}

void ledger_prefetch(const ledger_t *l, uint32_t i, uint32_t n) {
    AC_ASSERT(l != NULL);
    AC_ASSERT(n <= LEDGER_PREFETCH_MAX);
    uint64_t count = l->tx_count;
    /* the names of [i, i + n), whose user records the hint before this one fetched (a
     * page follows the one before it) ... */
    for (uint64_t k = i; k < (uint64_t)i + n && k < count; k++) {
        __builtin_prefetch(user_name(l, &l->users[l->txs[k].sender]));
        __builtin_prefetch(user_name(l, &l->users[l->txs[k].receiver]));
    }
    /* ... and the user records of the n after them, for the next hint */
    for (uint64_t k = (uint64_t)i + n; k < (uint64_t)i + 2 * n && k < count; k++) {
        __builtin_prefetch(&l->users[l->txs[k].sender]);
        __builtin_prefetch(&l->users[l->txs[k].receiver]);
    }
}

/* The totals of user index+1 v (0: absent, all zero). */
static void totals_of(const ledger_t *l, uint32_t v, ledger_totals_t *out) {
    memset(out, 0, sizeof *out);
    if (v == 0) return;
    const ledger_user_t *u = &l->users[v - 1];
    if (NEVER(u->tx_count == 0)) return; /* users are interned with their first tx */
    out->exists = 1;
    out->sent = u->sent;
    out->received = u->received;
    out->tx_count = u->tx_count;
}

void ledger_totals(const ledger_t *l, const char *name, size_t name_len, ledger_totals_t *out) {
    AC_ASSERT(l != NULL);
    AC_ASSERT(out != NULL);
    totals_of(l, user_find(l, name, name_len), out);
}

void ledger_totals_many(const ledger_t *l, const ledger_name_t *names, size_t n,
                        ledger_totals_t *out) {
    AC_ASSERT(l != NULL);
    AC_ASSERT(n <= LEDGER_TOTALS_MANY_MAX);
    uint32_t tag[LEDGER_TOTALS_MANY_MAX];
    uint32_t mask = l->user_slot_cap - 1; /* unused when the table is empty */
    for (size_t i = 0; i < n; i++) {
        tag[i] = names[i].len == 0 || names[i].len > NAME_BYTES_MAX ? 0
                                                                   : hash_name(names[i].s, names[i].len);
        if (l->user_slot_cap > 0) __builtin_prefetch(&l->user_slots[tag[i] & mask]);
    }
    /* each name's first slot is in the cache or on its way: its user record next */
    for (size_t i = 0; i < n && l->user_slot_cap > 0; i++) {
        uint64_t v = l->user_slots[tag[i] & mask];
        if (v != 0 && (uint32_t)(v >> 32) == tag[i]) __builtin_prefetch(&l->users[(uint32_t)v - 1u]);
    }
    for (size_t i = 0; i < n; i++) {
        int valid = names[i].len > 0 && names[i].len <= NAME_BYTES_MAX;
        totals_of(l, valid ? user_find_tagged(l, names[i].s, names[i].len, tag[i]) : 0, &out[i]);
    }
}

/* ---- partner aggregates (the STATS cache) ---- */

/* Adds one transaction's share to partner's aggregate of entry e. Returns 0 or AC_ENOMEM
 * (e unchanged). */
static int cache_fold(ledger_partner_cache_t *e, uint32_t partner, int64_t delta) {
    if ((uint64_t)(e->agg_count + 1) * 2 > e->slot_cap) {
        uint64_t cap = e->slot_cap == 0 ? LEDGER_SLOTS_CAP_INITIAL : (uint64_t)e->slot_cap * 2;
        if (cap > LEDGER_SLOTS_MAX) return AC_ENOMEM;
        uint32_t *slots = calloc((size_t)cap, sizeof *slots);
        if (slots == NULL) return AC_ENOMEM;
        for (uint32_t a = 0; a < e->agg_count; a++) {
            uint32_t i = (uint32_t)hash_mix64(e->aggs[a].partner) & (uint32_t)(cap - 1);
            while (slots[i] != 0) i = (i + 1) & (uint32_t)(cap - 1); /* load < 1/2: ends */
            slots[i] = a + 1;
        }
        free(e->slots);
        e->slots = slots;
        e->slot_cap = (uint32_t)cap;
    }
    uint32_t mask = e->slot_cap - 1;
    uint32_t i = (uint32_t)hash_mix64(partner) & mask;
    for (uint32_t n = 0; n < e->slot_cap && e->slots[i] != 0; n++) {
        ledger_agg_t *a = &e->aggs[e->slots[i] - 1];
        if (a->partner == partner) {
            a->count++;
            a->net += delta; /* in [-sent, received], both <= INT64_MAX: no overflow */
            return AC_OK;
        }
        i = (i + 1) & mask;
    }
    AC_ASSERT(e->slots[i] == 0);
    int rc = array_reserve(&e->aggs, &e->agg_cap, e->agg_count + 1, sizeof *e->aggs,
                           LEDGER_USERS_MAX);
    if (rc != AC_OK) return rc;
    ledger_agg_t *a = &e->aggs[e->agg_count];
    a->partner = partner;
    a->count = 1;
    a->net = delta;
    e->slots[i] = ++e->agg_count;
    return AC_OK;
}

/* Folds the user's transactions that e has not seen yet (those after e->last in the
 * chain: appends only ever extend it). Returns 0 or AC_ENOMEM (e stays consistent:
 * what was folded is recorded, the rest is folded next time). */
static int cache_catch_up(ledger_t *l, ledger_partner_cache_t *e, uint32_t user) {
    const ledger_user_t *u = &l->users[user];
    uint32_t next = e->last == 0 ? u->head : *chain_link(&l->txs[e->last - 1], user);
    /* Each step walks one transaction of the chain, which holds tx_count of them. */
    while (next != 0 && e->walked < u->tx_count) {
        ledger_tx_t *t = &l->txs[next - 1];
        uint32_t partner;
        int64_t delta;
        if (t->sender == user) {
            partner = t->receiver;
            delta = t->receiver == user ? 0 : -t->amount;
        } else {
            AC_ASSERT(t->receiver == user);
            partner = t->sender;
            delta = t->amount;
        }
        int rc = cache_fold(e, partner, delta);
        if (rc != AC_OK) return rc;
        e->last = next;
        e->walked++;
        next = *chain_link(t, user);
    }
    AC_ASSERT(e->walked == u->tx_count);
    AC_ASSERT(next == 0);
    return AC_OK;
}

/* The cache entry of user, up to date; NULL when out of memory. */
static ledger_partner_cache_t *cache_get(ledger_t *l, uint32_t user) {
    ledger_partner_cache_t *e = NULL;
    ledger_partner_cache_t *victim = &l->cache[0];
    for (size_t i = 0; i < LEDGER_PARTNER_CACHE_ENTRIES; i++) {
        ledger_partner_cache_t *c = &l->cache[i];
        if (c->user == user + 1 && c->generation == l->generation) e = c;
        if (c->used < victim->used) victim = c;
    }
    if (e == NULL) {
        cache_entry_reset(victim);
        e = victim;
        e->user = user + 1;
        e->generation = l->generation;
    }
    e->used = ++l->tick;
    if (cache_catch_up(l, e, user) != AC_OK) return NULL;
    return e;
}

int ledger_partners(ledger_t *l, const char *name, size_t name_len, uint32_t *cursor,
                    ledger_partner_t *out, uint32_t max, int *done) {
    AC_ASSERT(l != NULL);
    AC_ASSERT(!l->loading);
    AC_ASSERT(cursor != NULL);
    AC_ASSERT(done != NULL);
    AC_ASSERT(out != NULL || max == 0);
    *done = 1;
    uint32_t v = user_find(l, name, name_len);
    if (v == 0 || l->users[v - 1].tx_count == 0) return 0;
    ledger_partner_cache_t *e = cache_get(l, v - 1);
    if (e == NULL) return AC_ENOMEM;
    uint32_t pos = *cursor;
    if (pos >= e->agg_count) return 0; /* at the end, or a cursor from nowhere (network) */
    uint32_t n = e->agg_count - pos < max ? e->agg_count - pos : max;
    for (uint32_t k = 0; k < n; k++) {
        const ledger_agg_t *a = &e->aggs[pos + k];
        const ledger_user_t *p = &l->users[a->partner];
        out[k].name = l->names + p->name_off;
        out[k].name_len = p->name_len;
        out[k].count = a->count;
        out[k].net = a->net;
    }
    *cursor = pos + n;
    *done = pos + n >= e->agg_count;
    return (int)n;
}
