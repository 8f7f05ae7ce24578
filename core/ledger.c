/* ledger.c — one backend's transactions and the index every query is answered from:
 * interned user names, per-user totals, per-(user, partner) aggregates chained in
 * first-seen order, and a serial set. Three open-addressing hash tables (linear probing,
 * power-of-two capacity, load <= 1/2) make every lookup O(1) on average. */
#include "ledger.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"

/* ---- limits ----
 * Every count is a uint32 and every slot holds index+1, so the tables must stay well
 * below 2^32 entries. A ledger this large would need tens of GB anyway. */
#define LEDGER_TXS_MAX (1u << 28)
#define LEDGER_USERS_MAX (2u * LEDGER_TXS_MAX)  /* each tx names at most two new users */
#define LEDGER_PAIRS_MAX (2u * LEDGER_TXS_MAX)  /* and creates at most two new pairs */
#define LEDGER_NAME_BYTES_TOTAL_MAX (1u << 31)  /* the name arena */
#define LEDGER_SLOTS_MAX (1u << 30)             /* largest hash table capacity */
#define LEDGER_SLOTS_CAP_INITIAL 32u

_Static_assert(LEDGER_SLOTS_MAX >= 2u * LEDGER_USERS_MAX, "user table fits at load 1/2");
_Static_assert(LEDGER_SLOTS_MAX >= 2u * LEDGER_PAIRS_MAX, "pair table fits at load 1/2");
_Static_assert(LEDGER_SLOTS_MAX >= 2u * LEDGER_TXS_MAX, "serial table fits at load 1/2");
_Static_assert((LEDGER_SLOTS_CAP_INITIAL & (LEDGER_SLOTS_CAP_INITIAL - 1)) == 0,
               "table capacities are powers of two");
_Static_assert(NAME_BYTES_MAX <= 255, "name lengths fit the uint8 fields");

/* ---- hashing ---- */

/* A 64-bit finalizer (the SplitMix64 one): every input bit affects the low bits we mask. */
static uint64_t hash_mix64(uint64_t x) {
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* FNV-1a over the name's bytes, then the finalizer (FNV alone is weak in its low bits). */
static uint64_t hash_name(const char *s, size_t len) {
    uint64_t h = 0xCBF29CE484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001B3ULL;
    }
    return hash_mix64(h);
}

static uint64_t hash_pair(uint32_t user, uint32_t partner) {
    return hash_mix64(((uint64_t)user << 32) | partner);
}

static uint64_t hash_serial(uint64_t serial) { return hash_mix64(serial); }

/* ---- the three tables ---- */

typedef enum { TABLE_USER, TABLE_PAIR, TABLE_SERIAL } table_kind_t;

/* The hash of item `id` of a table, recomputed from the item itself (tables store ids
 * only, so a rehash walks the items rather than the old slots). */
static uint64_t table_item_hash(const ledger_t *l, table_kind_t kind, uint32_t id) {
    if (kind == TABLE_USER) {
        return hash_name(l->names + l->users[id].name_off, l->users[id].name_len);
    }
    if (kind == TABLE_PAIR) return hash_pair(l->pairs[id].user, l->pairs[id].partner);
    AC_ASSERT(kind == TABLE_SERIAL);
    return hash_serial(l->txs[id].serial);
}

static uint32_t table_item_count(const ledger_t *l, table_kind_t kind) {
    if (kind == TABLE_USER) return l->user_count;
    if (kind == TABLE_PAIR) return l->pair_count;
    AC_ASSERT(kind == TABLE_SERIAL);
    return l->tx_count;
}

/* The slot array of a table, and (through cap) its capacity field. */
static uint32_t **table_slots(ledger_t *l, table_kind_t kind, uint32_t **cap) {
    if (kind == TABLE_USER) {
        *cap = &l->user_slot_cap;
        return &l->user_slots;
    }
    if (kind == TABLE_PAIR) {
        *cap = &l->pair_slot_cap;
        return &l->pair_slots;
    }
    AC_ASSERT(kind == TABLE_SERIAL);
    *cap = &l->serial_slot_cap;
    return &l->serial_slots;
}

/* Puts id+1 in the first free slot from hash h; the table has free slots (load <= 1/2). */
static void slots_put(uint32_t *slots, uint32_t cap, uint64_t h, uint32_t id) {
    uint32_t mask = cap - 1;
    uint32_t i = (uint32_t)h & mask;
    for (uint32_t n = 0; n < cap; n++) {
        if (slots[i] == 0) {
            slots[i] = id + 1;
            return;
        }
        i = (i + 1) & mask;
    }
    AC_ASSERT(0); /* full: the load factor rule was broken */
}

/* Clears the slots and inserts every item again (capacity unchanged). */
static void table_refill(ledger_t *l, table_kind_t kind) {
    uint32_t *cap = NULL;
    uint32_t *slots = *table_slots(l, kind, &cap);
    uint32_t count = table_item_count(l, kind);
    if (*cap == 0) return;
    memset(slots, 0, (size_t)*cap * sizeof *slots);
    for (uint32_t id = 0; id < count; id++) {
        slots_put(slots, *cap, table_item_hash(l, kind, id), id);
    }
}

/* Makes sure the table can hold `count` items at load <= 1/2, rehashing into a larger
 * array if needed. Returns 0 or AC_ENOMEM (the table is unchanged then). */
static int table_reserve(ledger_t *l, table_kind_t kind, uint32_t count) {
    uint32_t *cap_field = NULL;
    uint32_t **slots_field = table_slots(l, kind, &cap_field);
    if ((uint64_t)count * 2 <= *cap_field) return AC_OK;
    uint64_t cap = *cap_field == 0 ? LEDGER_SLOTS_CAP_INITIAL : *cap_field;
    while (cap < (uint64_t)count * 2) cap *= 2; /* at most 32 doublings */
    if (cap > LEDGER_SLOTS_MAX) return AC_ENOMEM;
    uint32_t *slots = calloc((size_t)cap, sizeof *slots);
    if (slots == NULL) return AC_ENOMEM;
    free(*slots_field);
    *slots_field = slots;
    *cap_field = (uint32_t)cap;
    table_refill(l, kind);
    return AC_OK;
}

/* ---- lookups (return index+1, or 0 when absent) ---- */

static uint32_t user_find(const ledger_t *l, const char *name, size_t len) {
    if (l->user_slot_cap == 0 || len == 0 || len > NAME_BYTES_MAX) return 0;
    uint32_t mask = l->user_slot_cap - 1;
    uint32_t i = (uint32_t)hash_name(name, len) & mask;
    for (uint32_t n = 0; n < l->user_slot_cap; n++) {
        uint32_t v = l->user_slots[i];
        if (v == 0) return 0;
        const ledger_user_t *u = &l->users[v - 1];
        if (u->name_len == len && memcmp(l->names + u->name_off, name, len) == 0) return v;
        i = (i + 1) & mask;
    }
    return 0;
}

static uint32_t pair_find(const ledger_t *l, uint32_t user, uint32_t partner) {
    if (l->pair_slot_cap == 0) return 0;
    uint32_t mask = l->pair_slot_cap - 1;
    uint32_t i = (uint32_t)hash_pair(user, partner) & mask;
    for (uint32_t n = 0; n < l->pair_slot_cap; n++) {
        uint32_t v = l->pair_slots[i];
        if (v == 0) return 0;
        const ledger_pair_t *p = &l->pairs[v - 1];
        if (p->user == user && p->partner == partner) return v;
        i = (i + 1) & mask;
    }
    return 0;
}

static uint32_t serial_find(const ledger_t *l, uint64_t serial) {
    if (l->serial_slot_cap == 0) return 0;
    uint32_t mask = l->serial_slot_cap - 1;
    uint32_t i = (uint32_t)hash_serial(serial) & mask;
    for (uint32_t n = 0; n < l->serial_slot_cap; n++) {
        uint32_t v = l->serial_slots[i];
        if (v == 0) return 0;
        if (l->txs[v - 1].serial == serial) return v;
        i = (i + 1) & mask;
    }
    return 0;
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

/* Room for one more tx, new_users more users (names_bytes more name bytes) and
 * new_pairs more pairs, in the arrays and in the tables. Nothing observable changes. */
static int ledger_reserve(ledger_t *l, uint32_t new_users, uint32_t names_bytes,
                          uint32_t new_pairs) {
    if (l->tx_count >= LEDGER_TXS_MAX) return AC_ENOMEM;
    uint32_t txs = l->tx_count + 1;
    uint32_t users = l->user_count + new_users;
    uint32_t pairs = l->pair_count + new_pairs;
    if ((uint64_t)l->names_len + names_bytes > LEDGER_NAME_BYTES_TOTAL_MAX) return AC_ENOMEM;
    uint32_t names = l->names_len + names_bytes;
    int rc = array_reserve(&l->txs, &l->tx_cap, txs, sizeof *l->txs, LEDGER_TXS_MAX);
    if (rc != AC_OK) return rc;
    rc = array_reserve(&l->users, &l->user_cap, users, sizeof *l->users, LEDGER_USERS_MAX);
    if (rc != AC_OK) return rc;
    rc = array_reserve(&l->pairs, &l->pair_cap, pairs, sizeof *l->pairs, LEDGER_PAIRS_MAX);
    if (rc != AC_OK) return rc;
    rc = array_reserve(&l->names, &l->names_cap, names, 1, LEDGER_NAME_BYTES_TOTAL_MAX);
    if (rc != AC_OK) return rc;
    rc = table_reserve(l, TABLE_SERIAL, txs);
    if (rc != AC_OK) return rc;
    rc = table_reserve(l, TABLE_USER, users);
    if (rc != AC_OK) return rc;
    return table_reserve(l, TABLE_PAIR, pairs);
}

/* ---- inserts (space already reserved) ---- */

static uint32_t user_insert(ledger_t *l, const char *name, size_t len) {
    uint32_t id = l->user_count++;
    ledger_user_t *u = &l->users[id];
    memset(u, 0, sizeof *u);
    u->name_off = l->names_len;
    u->name_len = (uint8_t)len;
    memcpy(l->names + l->names_len, name, len);
    l->names_len += (uint32_t)len;
    slots_put(l->user_slots, l->user_slot_cap, hash_name(name, len), id);
    return id;
}

/* The aggregate of (user, partner): `found` is its index+1 from pair_find, or 0 when it
 * does not exist yet; then it is created at the end of the user's chain. */
static ledger_pair_t *pair_use(ledger_t *l, uint32_t found, uint32_t user, uint32_t partner) {
    if (found != 0) return &l->pairs[found - 1];
    uint32_t id = l->pair_count++;
    ledger_pair_t *p = &l->pairs[id];
    memset(p, 0, sizeof *p);
    p->user = user;
    p->partner = partner;
    ledger_user_t *u = &l->users[user];
    if (u->pair_tail != 0) {
        l->pairs[u->pair_tail - 1].next = id + 1;
    } else {
        u->pair_head = id + 1;
    }
    u->pair_tail = id + 1;
    slots_put(l->pair_slots, l->pair_slot_cap, hash_pair(user, partner), id);
    return p;
}

/* ---- public API ---- */

void ledger_init(ledger_t *l) {
    AC_ASSERT(l != NULL);
    memset(l, 0, sizeof *l);
}

void ledger_free(ledger_t *l) {
    AC_ASSERT(l != NULL);
    free(l->txs);
    free(l->users);
    free(l->pairs);
    free(l->names);
    free(l->user_slots);
    free(l->pair_slots);
    free(l->serial_slots);
    memset(l, 0, sizeof *l);
}

int ledger_add(ledger_t *l, const tx_t *t) {
    AC_ASSERT(l != NULL);
    AC_ASSERT(t != NULL);
    AC_ASSERT(tx_name_valid(t->sender, t->sender_len));
    AC_ASSERT(tx_name_valid(t->receiver, t->receiver_len));
    /* A tx_t normally comes from tx_parse_line, but refuse out-of-range fields anyway:
     * they would break the overflow reasoning below. */
    if (t->serial == 0 || t->amount < AMOUNT_MIN || t->amount > AMOUNT_MAX) return AC_ERANGE;
    /* Block files mostly grow by max_serial + 1: such a serial cannot be present, and
     * skipping the probe saves a cache miss per line on big loads. */
    if (t->serial <= l->max_serial && serial_find(l, t->serial) != 0) return AC_EDUP;

    uint64_t amount = (uint64_t)t->amount;
    int same = t->sender_len == t->receiver_len &&
               memcmp(t->sender, t->receiver, t->sender_len) == 0;
    uint32_t s = user_find(l, t->sender, t->sender_len);
    uint32_t r = same ? s : user_find(l, t->receiver, t->receiver_len);

    /* Overflow checks first, so that a refused tx leaves everything as it was. With
     * sender == receiver both checks apply to the one user, which is what happens. */
    if (s != 0 && l->users[s - 1].sent > UINT64_MAX - amount) return AC_ERANGE;
    if (r != 0 && l->users[r - 1].received > UINT64_MAX - amount) return AC_ERANGE;
    uint32_t ps = 0, pr = 0; /* pair (sender, receiver) and (receiver, sender), index+1 */
    if (s != 0 && r != 0) {
        ps = pair_find(l, s - 1, r - 1);
        pr = same ? ps : pair_find(l, r - 1, s - 1);
    }
    if (!same) {
        if (ps != 0 && l->pairs[ps - 1].net < INT64_MIN + t->amount) return AC_ERANGE;
        if (pr != 0 && l->pairs[pr - 1].net > INT64_MAX - t->amount) return AC_ERANGE;
    }

    uint32_t new_users = (s == 0) + (!same && r == 0);
    uint32_t names_bytes = (s == 0 ? t->sender_len : 0u) +
                           (!same && r == 0 ? t->receiver_len : 0u);
    uint32_t new_pairs = same ? (ps == 0) : (uint32_t)(ps == 0) + (pr == 0);
    int rc = ledger_reserve(l, new_users, names_bytes, new_pairs);
    if (rc != AC_OK) return rc;

    /* Commit: nothing below can fail. */
    uint32_t sid = s != 0 ? s - 1 : user_insert(l, t->sender, t->sender_len);
    uint32_t rid = same ? sid : r != 0 ? r - 1 : user_insert(l, t->receiver, t->receiver_len);
    uint32_t id = l->tx_count++;
    ledger_tx_t *x = &l->txs[id];
    x->serial = t->serial;
    x->amount = t->amount;
    x->sender = sid;
    x->receiver = rid;
    slots_put(l->serial_slots, l->serial_slot_cap, hash_serial(t->serial), id);
    if (t->serial > l->max_serial) l->max_serial = t->serial;

    ledger_user_t *su = &l->users[sid];
    ledger_user_t *ru = &l->users[rid];
    su->sent += amount;
    ru->received += amount;
    su->tx_count++;
    ledger_pair_t *sp = pair_use(l, ps, sid, rid);
    sp->count++;
    if (!same) {
        ru->tx_count++;
        sp->net -= t->amount;
        ledger_pair_t *rp = pair_use(l, pr, rid, sid);
        rp->count++;
        rp->net += t->amount;
    }
    return AC_OK;
}


int64_t ledger_find_serial(const ledger_t *l, uint64_t serial) {
    AC_ASSERT(l != NULL);
    uint32_t v = serial_find(l, serial);
    return v == 0 ? -1 : (int64_t)v - 1;
}

void ledger_get(const ledger_t *l, uint32_t i, tx_t *out) {
    AC_ASSERT(l != NULL);
    AC_ASSERT(out != NULL);
    AC_ASSERT(i < l->tx_count);
    const ledger_tx_t *x = &l->txs[i];
    const ledger_user_t *s = &l->users[x->sender];
    const ledger_user_t *r = &l->users[x->receiver];
    tx_set(out, x->serial, l->names + s->name_off, s->name_len, l->names + r->name_off,
           r->name_len, x->amount);
}

void ledger_totals(const ledger_t *l, const char *name, size_t name_len, ledger_totals_t *out) {
    AC_ASSERT(l != NULL);
    AC_ASSERT(out != NULL);
    memset(out, 0, sizeof *out);
    uint32_t v = user_find(l, name, name_len);
    if (v == 0) return;
    const ledger_user_t *u = &l->users[v - 1];
    if (u->tx_count == 0) return; /* only named by popped transactions */
    out->exists = 1;
    out->sent = u->sent;
    out->received = u->received;
    out->tx_count = u->tx_count;
}

/* The pair after position `pos` (index+1 of a pair of this user, or 0 = before the
 * first) in the user's chain; index+1, or 0 at the end. */
static uint32_t pair_after(const ledger_t *l, const ledger_user_t *u, uint32_t pos) {
    return pos == 0 ? u->pair_head : l->pairs[pos - 1].next;
}

/* The cursor is the position (pair index+1) of the last pair already walked over, or 0.
 * Pointing at the last row seen rather than the next one keeps a cursor that reached
 * the end valid: pairs appended later are found from it. Cursors arrive over the network,
 * so one that is not a pair of this user is treated as "no more rows". */
uint32_t ledger_partners(const ledger_t *l, const char *name, size_t name_len, uint32_t *cursor,
                         ledger_partner_t *out, uint32_t max, int *done) {
    AC_ASSERT(l != NULL);
    AC_ASSERT(cursor != NULL);
    AC_ASSERT(done != NULL);
    AC_ASSERT(out != NULL || max == 0);
    *done = 1;
    uint32_t v = user_find(l, name, name_len);
    if (v == 0) return 0;
    uint32_t user = v - 1;
    const ledger_user_t *u = &l->users[user];
    uint32_t pos = *cursor;
    if (pos != 0 && (pos > l->pair_count || l->pairs[pos - 1].user != user)) return 0;

    uint32_t written = 0;
    /* Each step moves along the chain, which has at most pair_count links. */
    for (uint32_t steps = 0; steps < l->pair_count; steps++) {
        uint32_t next = pair_after(l, u, pos);
        if (next == 0) break;
        const ledger_pair_t *p = &l->pairs[next - 1];
        if (p->count != 0) {
            if (written == max) {
                *done = 0; /* a row remains; it is the first of the next call */
                break;
            }
            const ledger_user_t *partner = &l->users[p->partner];
            out[written].name = l->names + partner->name_off;
            out[written].name_len = partner->name_len;
            out[written].count = p->count;
            out[written].net = p->net;
            written++;
        }
        pos = next;
    }
    *cursor = pos;
    return written;
}

