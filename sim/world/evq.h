/* evq.h — the simulator's event queue: a binary min-heap of events keyed by (time,
 * sequence number). The sequence number is assigned at push, so events of equal time
 * run in the order they were scheduled: the tie-break that makes every run replayable.
 * Events are small fixed-size records in a slot table that grows with the heap (no
 * per-event malloc); the heap orders 16-byte keys that name their slots. */
#ifndef ALICHAIN_SIM_EVQ_H
#define ALICHAIN_SIM_EVQ_H

#include <stdint.h>
#include <stddef.h>

#define EVQ_EVENTS_MAX (1u << 26) /* 64 Mi events pending at once: a runaway, not a load */

typedef struct {
    uint64_t at_us;
    uint64_t seq;
    uint64_t id;     /* message id (traces), token, ... by kind */
    uint64_t b;      /* by kind */
    uint32_t a;      /* by kind: step, conn, op, buffer */
    uint32_t len;
    uint32_t epoch;  /* incarnation of the target this event belongs to */
    uint8_t kind;
    uint8_t node;    /* target server node, or client marker */
    uint8_t src;
    uint8_t flags;
} sim_event_t;

/* sim_event_t.kind: what an event is (world.c dispatches them; link.c owns the network ones) */
enum {
    EV_SCRIPT = 1,   /* a = step index */
    EV_DGRAM,        /* src -> node; a = payload slot; len; b = link sequence; id = message */
    EV_TCP,          /* a = conn; flags = direction: the head segment arrives */
    EV_CONNECT,      /* a = conn: the client's SYN reaches serverM's host */
    EV_ACCEPT,       /* a = conn: serverM's process accepts (parked while paused) */
    EV_CONNECTED,    /* a = conn: the client learns it is connected */
    EV_CONNFAIL,     /* a = conn: connection refused (serverM is down) */
    EV_RESET,        /* a = conn; flags = direction whose end hears the reset */
    EV_TIMER,        /* node (server) or a = op (client, node = EV_NODE_CLIENT); epoch = gen */
    EV_SYNC,         /* node = backend; b = token; epoch */
    EV_FILE,         /* node = M; a = file version; b = token; epoch */
};
#define EV_NODE_CLIENT 0xfe   /* event.node for client-side events */

/* A heap entry: the event's time and its sequence number with its slot below it (the
 * event itself waits in slots[], so a sift moves 16 bytes, not 48). The sequence numbers
 * are unique, so ordering by (at_us, key) is ordering by (at_us, seq). */
#define EVQ_SLOT_BITS 26 /* slots < EVQ_EVENTS_MAX */
#define EVQ_SEQ_MAX (1ull << (64 - EVQ_SLOT_BITS)) /* 2.7e11 events a run: never reached */
typedef struct {
    uint64_t at_us;
    uint64_t key; /* seq << EVQ_SLOT_BITS | slot */
} evq_entry_t;

typedef struct {
    evq_entry_t *heap;
    sim_event_t *slots;  /* cap events; a pending event's slot is taken */
    uint32_t *free;      /* slots given back, taken before slot_hw grows */
    size_t count, heap_cap, slot_hw, slot_cap, free_count, free_cap;
    uint64_t next_seq;
} evq_t;

void evq_init(evq_t *q);
void evq_free(evq_t *q);
/* Pushes a copy of e with a fresh sequence number. Returns 0, AC_ENOMEM or AC_EFULL. */
int evq_push(evq_t *q, const sim_event_t *e);
/* Pops the earliest event into *out. Returns 1, or 0 when empty. */
int evq_pop(evq_t *q, sim_event_t *out);
/* The time of the earliest event, or UINT64_MAX when empty. */
static inline uint64_t evq_next_us(const evq_t *q) {
    return q->count ? q->heap[0].at_us : UINT64_MAX;
}

#endif
