/* world.h — the simulator's internal state, shared by its runtime modules: world.c (the
 * event loop and the nodes), link.c (UDP and TCP, through its narrow link_t), disk.c
 * (block files that tear), trace.c (text/JSON traces and the trace hash) and the run's
 * checkers. Not a public API: the fuzzers and main use sim.h. */
#ifndef ALICHAIN_SIM_WORLD_H
#define ALICHAIN_SIM_WORLD_H

#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "buf.h"
#include "client.h"
#include "disk.h"
#include "coordinator.h"
#include "evq.h"
#include "judge/excuse.h"
#include "link.h"
#include "outbox.h"
#include "prng.h"
#include "sim.h"
#include "wire.h"


/* The n <= 8 bytes at p as a little-endian number (the trace hash's and the model MAC's
 * words: the same value on every host), in at most two loads, never past p + n. */
static inline uint64_t sim_load_le(const void *data, size_t n) {
    const uint8_t *p = data;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) v = (v << 8) | p[i - 1];
    return v;
#else
    if (n == 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    if (n >= 4) { /* two overlapping halves; the overlap ORs a byte with itself */
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        return (uint64_t)lo | ((uint64_t)hi << (8 * (n - 4)));
    }
    if (n >= 2) {
        uint16_t lo, hi;
        memcpy(&lo, p, 2);
        memcpy(&hi, p + n - 2, 2);
        return (uint64_t)lo | ((uint64_t)hi << (8 * (n - 2)));
    }
    return n ? p[0] : 0;
#endif
}

/* ---- nodes ---- */
typedef struct {
    int up;              /* not crashed */
    int paused;
    uint32_t epoch;      /* grows at every crash: stale timers and syncs are dropped */
    uint32_t timer_gen;
    uint64_t timer_at;   /* UINT64_MAX: no timer scheduled */
    sim_event_t *parked; /* events that arrived while paused, in order */
    size_t parked_count, parked_cap;
    uint64_t parked_dropped;
} sim_node_t;

/* serverM's alichain.txt: every version ever written (version 0: none). */
typedef struct {
    sim_buf_t *versions;
    uint32_t count, cap;
    uint32_t current;     /* 0: the file does not exist */
    sim_buf_t partial;    /* the chunks of the file being written (FX_FILE_MORE) */
    int partial_open;     /* chunks came and neither the last one nor an abort */
} sim_files_t;

/* ---- operations (client processes) ---- */
enum { OP_WAITING = SIM_OP_WAITING, OP_RUNNING = SIM_OP_RUNNING, OP_DONE = SIM_OP_DONE };

/* A keep-alive session (session.c): one client connection opened with ALICHAIN/1
 * KEEPALIVE; the operations "on" it send their request lines over it, pipelined, and it
 * hands each reply to the oldest operation still waiting for one. */
typedef struct {
    uint32_t *members;     /* op indexes, in the order they joined (= request order) */
    size_t member_count, member_cap;
    size_t sent;           /* members[0..sent) have sent their request line */
    size_t head;           /* members[head] gets the next reply */
    uint32_t members_total;/* operations of the scenario on this session */
    uint32_t members_started;
    uint32_t m_sends;      /* serverM's sends on the connection (0: its OK KEEPALIVE) */
    uint8_t connected;
    uint8_t got_ok;        /* OK KEEPALIVE arrived */
    uint8_t ended;         /* shut down or reset by the scenario: later operations go alone */
    uint8_t fin_pending;   /* "shutdown" before the connection was up */
    uint8_t closing;       /* the connection is gone: its operations are being failed */
    uint32_t lost;         /* operations that ended without their reply (the exit code) */
    wire_frame_t frame;    /* where serverM's reply being read ends (core/wire.h) */
} sim_session_t;

typedef struct {
    const scn_step_t *step;
    client_t *cl;
    uint32_t conn;        /* 0: none */
    uint8_t state;
    uint8_t parsed;       /* argv was valid */
    uint8_t have_reply;
    uint8_t disturbed;    /* a fault touched its own connection (a reset, a pipeline past its
                           * limit): availability exempt whatever judge/excuse.h says */
    int exit_code;
    wire_creq_t req;
    wire_crep_t reply;
    uint64_t inv_us, resp_us;
    uint64_t touches_at_start; /* excuse_t.total when it started ... */
    uint64_t touches;     /* ... and the touches while it ran (the report's per-op count) */
    uint64_t drawn_at_start, drawn; /* the same of excuse_t.drawn (random network touches) */
    uint32_t file_version;/* TXLIST: alichain.txt when serverM answered */
    uint32_t timer_gen;
    uint64_t timer_at;
    sim_buf_t out;        /* stdout lines, each ending in '\n' */
    sim_buf_t err;        /* stderr lines */
    uint32_t session;     /* "on S": S's op index + 1 (0: none, or S is not in the scenario) */
    uint8_t joined;       /* its request went (or waits to go) over its session's connection */
    sim_session_t *ka;    /* "keepalive": this op is a session (owned) */
    uint8_t model;        /* hist_model_t: the judge's verdict on its printed answer */
} sim_op_t;

/* ---- traces ---- */
typedef struct {
    uint64_t hash;
    FILE *text;
    FILE *json;
    uint64_t *json_ends;  /* per track: end of its last slice (JSON) */
    size_t json_ends_cap;
} sim_trace_t;

/* ---- the world ---- */
typedef struct world {
    const scenario_t *scn;
    const sim_options_t *opts;
    sim_result_t *res;
    prng_t rng;
    prng_t epoch_rng;   /* the backends' boot epochs: its own stream, so that drawing them
                           leaves every other choice of a seed as it was */
    evq_t q;
    uint64_t now_us;
    uint64_t events;
    outbox_t out;
    sim_faults_t faults;
    uint8_t cut[SIM_NODES][SIM_NODES];  /* [from][to]: 1 = partitioned */
    sim_node_t node[SIM_SERVERS];
    coord_t *coord;
    uint64_t incarnation;
    /* The servers' shared key (every node seals and opens with it, as the real ones do) and
     * the forger's, which is not it (STEP_FORGE); the last datagram serverM sent each
     * backend, for the forger to replay. */
    auth_t auth, forger;
    uint8_t last_m_dgram[BACKEND_COUNT][AUTH_DGRAM_BYTES_MAX];
    size_t last_m_len[BACKEND_COUNT];
    uint64_t forged_seq;
    backend_t *be[BACKEND_COUNT];
    simdisk_t disk[BACKEND_COUNT];
    uint64_t disk_last_sync_at[BACKEND_COUNT]; /* syncs complete in the order issued */
    uint64_t disk_failed[BACKEND_COUNT];  /* the token of an append whose write failed in the
                                             drain under way (0: none), and why */
    int disk_failed_why[BACKEND_COUNT];   /* BACKEND_DISK_* */
    sim_files_t files;
    link_t link;           /* the network (link.h): datagrams in flight, connections */
    sim_op_t *ops;
    uint32_t op_count;
    uint32_t ops_running;
    uint32_t steps_done;   /* timed steps carried out */
    uint32_t steps_timed;  /* steps on a time (the rest wait for an event: anchor.h) */
    uint32_t anchor_seen[SCN_ANCHORS_MAX]; /* datagrams of each anchored step's event so far */
    uint32_t anchors_due;  /* anchored steps fired and scheduled, not yet carried out */
    uint64_t inflight;     /* datagrams + connects + segments scheduled */
    uint64_t disk_pending; /* syncs and file writes scheduled */
    /* liveness / availability: the one rule of judge/excuse.h, fed with what touched the
     * run, each touch attributed to the step whose fault is in force (EXCUSE_SETTINGS: the
     * time-0 settings) */
    excuse_t ex;
    int16_t cut_src[SIM_NODES][SIM_NODES];
    int16_t udp_src[SIM_SERVERS][SIM_SERVERS];
    int16_t disk_src[BACKEND_COUNT];
    int16_t tcp_src;
    int16_t step_now;      /* the step being run (EXCUSE_SETTINGS outside one) */
    sim_trace_t trace;
    int stop;              /* a fatal runaway: stop the loop */
    uint32_t timer_spins;
    sim_buf_t sent_log;    /* drain_m: (conn id, bytes) of each FX_CONN_SEND, reported to
                              the core once its outbox is drained (coord_on_conn_sent) */
    sim_buf_t expect_log;  /* failed expectations, one line each, for the report */  /* serverM timer calls in a row that left its deadline at now */
    char scratch[1024];
} world_t;

/* world.c */
void world_violation(world_t *w, const char *checker, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* the same, at a given virtual time (the end-of-run checkers) */
void world_violation_at(world_t *w, uint64_t at_us, const char *checker, const char *msg);
void world_node_event(world_t *w, int node, const sim_event_t *e);

/* world.c, for session.c */
void world_drain_client(world_t *w, uint32_t i);
void world_op_finish(world_t *w, uint32_t i, int code);

/* session.c: keep-alive sessions (docs/SIMULATOR.md "Keep-alive sessions") */
int session_init(world_t *w);                      /* after w->ops: link members; AC_ENOMEM */
void session_free(world_t *w);
void session_start(world_t *w, uint32_t si);       /* the "keepalive" op starts: connect */
int session_join(world_t *w, uint32_t i);          /* 1: op i rides its session */
void session_connected(world_t *w, uint32_t si);
void session_connect_failed(world_t *w, uint32_t si);
void session_data(world_t *w, uint32_t si, const uint8_t *data, size_t len);
void session_closed(world_t *w, uint32_t si);
void session_member_done(world_t *w, uint32_t i);  /* a joined op finished */
void session_m_sent(world_t *w, uint32_t si, const uint8_t *data, size_t len);
void session_disturb(world_t *w, uint32_t si);     /* a fault touched the connection */
void session_step(world_t *w, const scn_step_t *st); /* STEP_SESSION */

/* trace.c */
void trace_open(world_t *w);
void trace_close(world_t *w);
/* One trace record: what happened at the current time on a track (node or op). */
void trace_event(world_t *w, int track, const char *what, const void *data, size_t len,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void trace_flow_send(world_t *w, int track, uint64_t id, const char *name);
void trace_flow_recv(world_t *w, int track, uint64_t id, const char *name);

/* world_check.c (end of run) */
void world_check_final(world_t *w);

#endif
