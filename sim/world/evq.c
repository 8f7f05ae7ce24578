/* evq.c — binary min-heap of simulator events ordered by (at_us, seq). O(log n) push and
 * pop; the array doubles when full and never shrinks during a run. */
#include "evq.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

#define EVQ_CAP_INITIAL 1024

void evq_init(evq_t *q) { memset(q, 0, sizeof(*q)); }

void evq_free(evq_t *q) {
    free(q->heap);
    memset(q, 0, sizeof(*q));
}

static int evq_less(const sim_event_t *x, const sim_event_t *y) {
    if (x->at_us != y->at_us) return x->at_us < y->at_us;
    return x->seq < y->seq;
}

int evq_push(evq_t *q, const sim_event_t *e) {
    if (q->count == q->cap) {
        if (q->cap >= EVQ_EVENTS_MAX) return AC_EFULL;
        size_t cap = q->cap ? q->cap * 2 : EVQ_CAP_INITIAL;
        sim_event_t *h = realloc(q->heap, cap * sizeof(*h));
        if (h == NULL) return AC_ENOMEM;
        q->heap = h;
        q->cap = cap;
    }
    sim_event_t item = *e;
    item.seq = q->next_seq++;
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
    *out = q->heap[0];
    sim_event_t last = q->heap[--q->count];
    size_t n = q->count;
    size_t i = 0;
    for (;;) { /* sift down: at most log2(count) steps */
        size_t l = 2 * i + 1;
        if (l >= n) break;
        size_t m = l;
        if (l + 1 < n && evq_less(&q->heap[l + 1], &q->heap[l])) m = l + 1;
        if (!evq_less(&q->heap[m], &last)) break;
        q->heap[i] = q->heap[m];
        i = m;
    }
    if (n > 0) q->heap[i] = last;
    return 1;
}
