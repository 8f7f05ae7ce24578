/* link.h — the simulated network's narrow interface (link.c). link.c owns the datagram
 * slots, the client connections and the per-link sequence numbers; everything else it
 * needs from its world (clock, PRNG, fault options, partitions, counters, the node hooks
 * that turn a delivery into a core call) comes in one link_t that world.c fills once.
 * link.c never sees world_t. */
#ifndef ALICHAIN_SIM_LINK_H
#define ALICHAIN_SIM_LINK_H

#include "auth.h"
#include "common.h"
#include "evq.h"
#include "prng.h"
#include "scenario/scenario.h"

#define TRACE_TRACK_OP0 16   /* trace track of operation i = TRACE_TRACK_OP0 + i */

enum { DIR_TO_M = 0, DIR_TO_CLIENT = 1 };

/* ---- TCP ---- */
typedef struct {
    uint64_t at_us;      /* earliest delivery */
    uint64_t id;         /* message id (traces) */
    uint32_t len;        /* 0 with fin: the close */
    uint8_t fin;
} sim_seg_t;

typedef struct {
    uint8_t *bytes;      /* queued bytes, [head, len) not yet delivered (grow.h) */
    size_t head, len, cap;
    sim_seg_t *segs;     /* FIFO ring of segments */
    uint32_t seg_head, seg_count, seg_cap;
    int scheduled;       /* the head segment has an EV_TCP in the queue (or parked) */
    uint64_t last_at_us; /* keeps delivery times monotone */
    int fin_sent;
} sim_stream_t;

typedef enum { CONN_CONNECTING = 1, CONN_OPEN, CONN_DEAD } sim_conn_state_t;

typedef struct {
    uint32_t op;         /* index of the operation (client process) */
    uint32_t m_epoch;    /* serverM's epoch when accepted */
    uint8_t state;       /* sim_conn_state_t */
    uint8_t m_open;      /* serverM has it open (coord_on_conn_open delivered, not closed) */
    uint8_t c_open;      /* the client process still has it */
    uint8_t accepted;
    sim_stream_t dir[2]; /* DIR_TO_M, DIR_TO_CLIENT */
} sim_conn_t;

/* What link.c calls back into its world; ctx is the world. Deliveries end in a core call
 * (and the draining of its effects) on serverM or a client process. */
typedef struct {
    void *ctx;
    int (*push)(void *ctx, sim_event_t *e);             /* schedule; 0 or an error */
    void (*violation)(void *ctx, const char *checker, const char *msg);
    /* one trace record; text is "" unless trace_detail() (the hash ignores it) */
    void (*trace)(void *ctx, int track, const char *what, const void *data, size_t len,
                  const char *text);
    int (*trace_detail)(void *ctx);                     /* 1: a text or JSON trace is on */
    void (*flow)(void *ctx, int track, uint64_t id, const char *name, int recv);
    int (*node_up)(void *ctx, int node);
    uint32_t (*node_epoch)(void *ctx, int node);
    int (*gate)(void *ctx, int node, const sim_event_t *e); /* 0: parked (node paused) */
    void (*op_disturb)(void *ctx, uint32_t op);         /* a fault touched the op's connection */
    /* A fault touched link src -> dst (judge/excuse.h's kinds: lost, cut, late, stalled),
     * somewhere in [now, until_us] (until_us: when a late datagram arrives) */
    void (*touch)(void *ctx, int kind, int src, int dst, uint64_t until_us);
    void (*m_conn_open)(void *ctx, uint32_t conn);
    void (*m_conn_data)(void *ctx, uint32_t conn, const uint8_t *data, size_t len);
    void (*m_conn_eof)(void *ctx, uint32_t conn);       /* the client's FIN */
    void (*m_conn_reset)(void *ctx, uint32_t conn);
    void (*client_connected)(void *ctx, uint32_t op);
    void (*client_connect_failed)(void *ctx, uint32_t op);
    void (*client_data)(void *ctx, uint32_t op, const uint8_t *data, size_t len);
    void (*client_closed)(void *ctx, uint32_t op);      /* serverM's FIN, or a reset */
} link_hooks_t;

typedef struct {
    /* the world's, read (or counted) here; set by link_init */
    link_hooks_t hooks;
    prng_t *rng;                          /* the run's one PRNG */
    const uint64_t *now_us;
    const sim_faults_t *faults;           /* udp[][] and tcp, read at every send */
    const uint8_t (*cut)[SIM_NODES];      /* [from][to]: 1 = partitioned */
    uint64_t *fault_counts;               /* sim_result_t.faults[] */
    int *stop;                            /* set to 1 on a runaway */
    uint64_t late_us;                     /* a datagram slower than this touches (timeout/8) */
    /* link's own */
    uint64_t msg_ids;                     /* message ids for traces and flows */
    uint64_t seq[SIM_SERVERS][SIM_SERVERS];       /* datagrams sent per link */
    uint64_t delivered[SIM_SERVERS][SIM_SERVERS]; /* highest sequence delivered */
    uint8_t (*slots)[AUTH_DGRAM_BYTES_MAX];    /* datagram payloads in flight ... */
    uint32_t *slot_free;                  /* ... with a free list */
    size_t slot_cap, slot_free_cap;
    uint32_t slot_count, slot_free_count;
    sim_conn_t *conns;                    /* conn id = index + 1 */
    size_t conn_cap;
    uint32_t conn_count;
} link_t;

/* Fills l (its own tables empty); the pointers must outlive it. */
void link_init(link_t *l, const link_hooks_t *hooks, prng_t *rng, const uint64_t *now_us,
               const sim_faults_t *faults, const uint8_t (*cut)[SIM_NODES],
               uint64_t *fault_counts, int *stop);
void link_free(link_t *l);

/* UDP */
void link_dgram_send(link_t *l, int src, int dst, const uint8_t *data, size_t len);
/* An EV_DGRAM reached its host: 1 when it is to be delivered now (the payload is
 * link_slot_bytes(e->a) until link_slot_release), 0 when it was dropped (slot released). */
int link_dgram_arrive(link_t *l, const sim_event_t *e);
const uint8_t *link_slot_bytes(const link_t *l, uint32_t slot);
void link_slot_release(link_t *l, uint32_t slot);

/* TCP. Connection ids are 1.. in order of creation; 0 is "none". */
uint32_t link_conn_new(link_t *l, uint32_t op); /* 0: a runaway (reported) */
sim_conn_t *link_conn(link_t *l, uint32_t conn); /* NULL for 0 or an unknown id */
void link_connect(link_t *l, uint32_t conn);
void link_tcp_send(link_t *l, uint32_t conn, int dir, const uint8_t *data, size_t len);
void link_tcp_fin(link_t *l, uint32_t conn, int dir);
void link_tcp_reset(link_t *l, uint32_t conn, int notify_m, int notify_client);
/* EV_CONNECT, EV_ACCEPT, EV_CONNECTED, EV_CONNFAIL, EV_RESET and EV_TCP. */
void link_on_event(link_t *l, const sim_event_t *e);

#endif
