/* evq.c — binary min-heap of simulator events ordered by (at_us, seq). O(log n) push and
 * pop; the arrays double when full and never shrink during a run. */
#include "evq.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "grow.h"

void evq_init(evq_t *q) { memset(q, 0, sizeof(*q)); }

void evq_free(evq_t *q) {
    free(q->heap);
    free(q->slots);
    free(q->free);
    memset(q, 0, sizeof(*q));
}

static int evq_less(const evq_entry_t *x, const evq_entry_t *y) {
    if (x->at_us != y->at_us) return x->at_us < y->at_us;
    return x->key < y->key;
}

int evq_push(evq_t *q, const sim_event_t *e) {
    _Static_assert(EVQ_EVENTS_MAX <= (1u << EVQ_SLOT_BITS), "a slot fits below the sequence number");
    if (q->count >= EVQ_EVENTS_MAX || q->next_seq >= EVQ_SEQ_MAX) return AC_EFULL;
    if (q->count == q->heap_cap && grow_array(&q->heap, &q->heap_cap, q->count + 1, sizeof(*q->heap)) != 0)
        return AC_ENOMEM;
    size_t slot;
    if (q->free_count > 0) {
        slot = q->free[--q->free_count];
    } else { /* a new slot; the free list can hold every slot */
        if (q->slot_hw == q->slot_cap && grow_array(&q->slots, &q->slot_cap, q->slot_hw + 1, sizeof(*q->slots)) != 0)
            return AC_ENOMEM;
        if (q->slot_hw == q->free_cap && grow_array(&q->free, &q->free_cap, q->slot_hw + 1, sizeof(*q->free)) != 0)
            return AC_ENOMEM;
        slot = q->slot_hw++;
    }
    sim_event_t *ev = &q->slots[slot];
    *ev = *e;
    ev->seq = q->next_seq++;
    evq_entry_t item = {.at_us = ev->at_us, .key = ev->seq << EVQ_SLOT_BITS | slot};
    size_t i = q->count++;
    while (i > 0) { /* sift up: at most log2(count) steps */
        size_t parent = (i - 1) / 2;
        if (!evq_less(&item, &q->heap[parent])) break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = item;
    return 0;
}

int evq_pop(evq_t *q, sim_event_t *out) {
    if (q->count == 0) return 0;
    uint32_t slot = (uint32_t)(q->heap[0].key & ((1u << EVQ_SLOT_BITS) - 1));
    *out = q->slots[slot];
    q->free[q->free_count++] = slot;
    evq_entry_t last = q->heap[--q->count];
    size_t n = q->count;
    if (n == 0) return 1;
    /* Floyd's pop: the hole goes down to a leaf along the smaller children (one comparison
     * a level), then the last entry rises from there (a step or two: it was a leaf). The
     * order is a strict total one (unique keys), so the pops come out as they did. */
    size_t i = 0;
    for (size_t l = 1; l < n; l = 2 * i + 1) {
        size_t m = l + 1 < n && evq_less(&q->heap[l + 1], &q->heap[l]) ? l + 1 : l;
        q->heap[i] = q->heap[m];
        i = m;
    }
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!evq_less(&last, &q->heap[parent])) break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = last;
    return 1;
}
