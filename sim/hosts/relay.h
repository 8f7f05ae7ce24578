/* relay.h — a UDP fault relay between serverM and a backend: what tc netem would do and
 * cannot here (loss, delay ranges, duplication, reordering), per direction, drawn from a
 * seeded PRNG by the simulator's own distribution (scenario/udp_fate.h), with counters of
 * what it really did. The plan (relay_t) is pure: the caller passes the time and asks for
 * the next deadline; relay_control_t hands it new settings from another process and takes
 * back its acknowledgement; relay_serve() is the poll() loop around both. */
#ifndef ALICHAIN_RELAY_H
#define ALICHAIN_RELAY_H

#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "prng.h"
#include "scenario/anchor.h"
#include "scenario/forge.h"
#include "scenario/udp_fate.h"

#define RELAY_DGRAM_BYTES_MAX 2048   /* above the protocol's DGRAM_BYTES_MAX */
#define RELAY_QUEUE_MAX 512          /* datagrams held at once; more are dropped and counted */
#define RELAY_DELAY_MS_MAX 60000
#define RELAY_LINKS_MAX 3            /* one per backend */
#define RELAY_COUNTS_TEXT_BYTES 512
#define RELAY_POLL_MS_MAX 100        /* the loop looks at *stop and its control at least this often */

enum { RELAY_DOWN = 0, RELAY_UP = 1, RELAY_DIRS = 2 }; /* down: serverM -> backend */

enum {
    RELAY_OK = 0,
    RELAY_ERR_ARG = -1,  /* a bad fault spec or address */
    RELAY_ERR_FULL = -2, /* the queue is full: the datagram is dropped (and counted) */
    RELAY_ERR_SYS = -3   /* a socket call failed */
};

/* One direction's faults: the simulator's settings of one link (scenario.h), drawn by
 * udp_fate_draw: loss, a second copy with its own delay, a delay range, and a hold of
 * 0 .. 2 x delay_max_us + 1 ms for a datagram picked for reordering. */
typedef sim_udp_t relay_fault_t;

/* What happened in one direction. reordered counts deliveries that really came after a
 * later-received datagram of the same link and direction (whatever the cause). */
typedef struct {
    uint64_t received;
    uint64_t lost;       /* dropped by the loss setting */
    uint64_t cut;        /* dropped by a partition: at arrival, or still queued when it began */
    uint64_t forwarded;  /* copies sent (duplicates included) */
    uint64_t duplicated; /* extra copies made */
    uint64_t delayed;    /* copies held more than 0 ms */
    uint64_t held;       /* picked for reordering */
    uint64_t reordered;
    uint64_t dropped_full;
    uint64_t foreign; /* from an address that is not this link's peer: not forwarded */
    /* the forger (relay_forge; down only): datagrams it made with a MAC of another key,
     * datagrams of serverM's it sent again, and forgeries it could not make because the
     * link had carried no datagram of serverM yet (nothing to replay, no incarnation) */
    uint64_t forged;
    uint64_t replayed;
    uint64_t forge_blind;
} relay_counts_t;

typedef struct {
    uint64_t due_us;
    uint64_t seq; /* arrival order within (link, dir) */
    int link;
    int dir;
    size_t len;
    uint8_t data[RELAY_DGRAM_BYTES_MAX];
} relay_item_t;

/* Steps anchored to protocol events (scenario/anchor.h), as the relays of one run see them:
 * a table in memory every relay and the runner share. A relay that reads a datagram of an
 * armed event counts it (every relay adds to one count); the one that reads the nth marks
 * the step fired, wakes the runner (fd) and holds that datagram until the runner has
 * carried the step out (done) — settings it hands meanwhile are applied, so they govern
 * that very datagram — or RELAY_ANCHOR_WAIT_MS passed (the runner reports the step late). */
#define RELAY_ANCHOR_WAIT_MS 5000
enum { RELAY_ANCHOR_ARMED = 0, RELAY_ANCHOR_FIRED, RELAY_ANCHOR_TAKEN, RELAY_ANCHOR_DONE };
typedef struct {
    scn_event_t ev;
    uint32_t seen;       /* datagrams of the event so far, all relays together (atomic) */
    uint32_t state;      /* RELAY_ANCHOR_* (atomic) */
    uint64_t fired_us;   /* proc_now_us() when it fired */
} relay_anchor_t;
typedef struct {
    uint32_t count;      /* armed events: a[0 .. count) */
    relay_anchor_t a[SCN_ANCHORS_MAX];
} relay_anchors_t;

typedef struct {
    relay_fault_t fault[RELAY_DIRS];
    uint8_t cut[RELAY_DIRS];
    relay_anchors_t *anchors;               /* NULL: none (relay_anchors_bind) */
    int anchors_fd;                         /* written when a step fired: wakes the runner */
    uint8_t link_backend[RELAY_LINKS_MAX];  /* SIM_NODE_A..C of each link */  /* a partition: as the simulator's, checked at arrival and at delivery */
    relay_counts_t counts[RELAY_DIRS];
    /* the forger on serverM's address (relay_forge): its MAC (of forge_key, not the
     * servers' key) and the last datagram serverM sent on each link (relay_take) */
    auth_t forger;
    size_t last_m_len[RELAY_LINKS_MAX];
    uint8_t last_m[RELAY_LINKS_MAX][AUTH_DGRAM_BYTES_MAX];
    size_t last_up_len[RELAY_LINKS_MAX];   /* the backend's last reply (0: none yet), whose */
    uint8_t last_up[RELAY_LINKS_MAX][AUTH_DGRAM_BYTES_MAX]; /* epoch a forged WRITE names */
    prng_t prng;
    uint64_t next_seq[RELAY_LINKS_MAX][RELAY_DIRS];
    uint64_t max_sent_seq[RELAY_LINKS_MAX][RELAY_DIRS]; /* highest seq + 1 delivered */
    size_t count;
    relay_item_t items[RELAY_QUEUE_MAX];
} relay_t;

/* Parses "delay=LO-HI,dup=PCT,reorder=PCT,loss=PCT" (delays in ms, any subset, "delay=N"
 * for a fixed delay, "none" for nothing) into f. Returns 0 or RELAY_ERR_ARG with a reason in err (cap bytes). */
int relay_fault_parse(char *err, size_t cap, const char *spec, relay_fault_t *f);

/* r is the caller's (it is large: allocate it, do not put it on a stack). */
void relay_init(relay_t *r, uint64_t seed, const relay_fault_t fault[RELAY_DIRS]);

/* A datagram of link in direction dir arrived at now_us: drops it (lost, counted) or
 * queues one copy (two when duplicated), each due after its drawn delay. Returns 0,
 * RELAY_ERR_FULL (dropped, counted) or RELAY_ERR_ARG (len over RELAY_DGRAM_BYTES_MAX, bad
 * link or dir). */
int relay_push(relay_t *r, uint64_t now_us, int link, int dir, const uint8_t *data, size_t len);

/* Makes r a forger too: forger seals its datagrams (a MAC of forge_key: an auth_t of the
 * real programs' MAC functions), link l carries backend node link_backend[l] (SIM_NODE_A..C).
 * Call after relay_init. */
void relay_forger_bind(relay_t *r, const auth_t *forger, const uint8_t link_backend[], int link_count);

/* The forger of a `forge X write|fence|replay` step on link (scenario/forge.h), on serverM's
 * address, at now_us: FORGE_WRITE and FORGE_FENCE queue forge_build's datagrams, with the
 * incarnation of serverM's last datagram on the link and sequence numbers after seq;
 * FORGE_REPLAY queues that last datagram as it was. Each goes down the link like one of
 * serverM's (its settings: loss, delay, a cut). Counts forged or replayed; returns how many
 * datagrams it queued: 0 when the link has carried no datagram of serverM yet (counted
 * forge_blind), or RELAY_ERR_ARG (bad link or kind, no forger bound). */
int relay_forge(relay_t *r, uint64_t now_us, int link, int kind, uint64_t seq);

/* The earliest due time, or UINT64_MAX when nothing is queued. */
uint64_t relay_next_due_us(const relay_t *r);

/* Moves the earliest item due at or before now_us (ties in arrival order) into *out and
 * counts its delivery; an item of a direction cut meanwhile is dropped (counted cut) on the
 * way. Returns 1 when it delivered one, 0 when nothing is due. */
int relay_pop(relay_t *r, uint64_t now_us, relay_item_t *out);

/* "down received=.. lost=.. forwarded=.. pending=.. ...; up ..." into buf; pending: copies
 * still queued (received + duplicated = lost + cut + forwarded + pending + dropped_full). */
void relay_counts_text(const relay_t *r, char *buf, size_t cap);

/* Settings handed to a relay that runs in another process, through memory both share (the
 * caller maps it). The controller writes wanted[] and bumps wanted_seq
 * (relay_control_set); the relay, before it plans every datagram it reads and at least
 * every RELAY_POLL_MS_MAX, copies wanted[] when the sequence moved and acknowledges by
 * storing it in applied_seq, and publishes its counters (relay_control_sync). So a setting
 * applies to the very next datagram read after it was acknowledged, and a controller that
 * waits for the acknowledgement knows the setting has landed. */
typedef struct {
    relay_fault_t wanted[RELAY_DIRS];
    uint8_t cut_wanted[RELAY_DIRS];
    uint32_t wanted_seq;
    uint32_t applied_seq;
    relay_counts_t published[RELAY_DIRS];
    /* a forgery (relay_control_forge): a command, carried out once, acknowledged by
     * forge_done = forge_wanted with what it sent in forge_sent */
    uint32_t forge_wanted;
    uint32_t forge_done;
    uint32_t forge_sent;
    uint8_t forge_link;
    uint8_t forge_kind;
    uint64_t forge_seq;
} relay_control_t;

/* The controller's side: dir's new settings, or dir cut (1) or healed (0); each returns the
 * sequence to wait for. */
uint32_t relay_control_set(relay_control_t *c, int dir, const relay_fault_t *f);
uint32_t relay_control_cut(relay_control_t *c, int dir, int cut);
/* 1 when the relay has applied every setting handed so far. */
int relay_control_acked(const relay_control_t *c);
/* The controller's side of a forgery: link's forger does kind (relay_forge, sequence
 * numbers after seq) when the relay next syncs. One at a time: wait for
 * relay_control_forged (1 when done, with the datagrams it sent in *sent) before the next. */
void relay_control_forge(relay_control_t *c, int link, int kind, uint64_t seq);
int relay_control_forged(const relay_control_t *c, uint32_t *sent);
/* The relay's side: applies what is wanted when the sequence moved (returns 1 then, else
 * 0), acknowledges it, and publishes r's counters. */
int relay_control_sync(relay_control_t *c, relay_t *r);
/* The relay's side of a forgery: carries out a command not done yet (relay_forge at now_us)
 * and acknowledges it. Returns 1 when it did one, else 0. */
int relay_control_forge_take(relay_control_t *c, relay_t *r, uint64_t now_us);
/* relay_control_sync and relay_control_forge_take (when c is not NULL), then relay_push:
 * how the serve loop takes every datagram, so none goes out under a setting older than the
 * last acknowledged; a datagram of serverM's (down) is kept as the link's last, for the
 * forger (relay_forge). */
int relay_take(relay_t *r, relay_control_t *c, uint64_t now_us, int link, int dir, const uint8_t *data,
               size_t len);

/* Makes r watch the events of table a (shared with the runner and the other relays of the
 * run); link l carries backend node link_backend[l]; a step that fires writes to fd (an
 * eventfd the runner polls). Call after relay_init. */
void relay_anchors_bind(relay_t *r, relay_anchors_t *a, int fd, const uint8_t link_backend[], int link_count);
/* The relay's side, for a datagram of link in direction dir read at now_us: counts it for
 * every armed event it is one of and marks the steps whose nth it is fired. Returns the
 * mask of steps it fired (bit k: a->a[k]); 0 for none. */
uint32_t relay_anchors_see(relay_t *r, int link, int dir, const uint8_t *data, size_t len, uint64_t now_us);
/* The runner's side: the index of a fired step it has not taken yet (now taken), with its
 * fire time, or -1; then relay_anchors_done when it has been carried out. */
int relay_anchors_take(relay_anchors_t *a, uint64_t *fired_us);
void relay_anchors_done(relay_anchors_t *a, int k);
/* 1 when every step of mask is done. */
int relay_anchors_all_done(const relay_anchors_t *a, uint32_t mask);

/* One link's sockets and peers: front faces serverM (bound where serverM believes the
 * backend is), back faces the backend (bound where the backend believes serverM is). */
typedef struct {
    struct sockaddr_in front_bind;
    struct sockaddr_in m_addr;
    struct sockaddr_in back_bind;
    struct sockaddr_in backend_addr;
} relay_link_t;

/* Parses "HOST:PORT" into a. Returns 0 or RELAY_ERR_ARG. */
int relay_addr_parse(char *err, size_t cap, const char *text, struct sockaddr_in *a);

/* Binds every link's two sockets: fds[2*l] front, fds[2*l+1] back (the caller closes them).
 * Returns 0, or RELAY_ERR_SYS with err naming the address when a bind fails. */
int relay_bind(char *err, size_t cap, const relay_link_t *links, int link_count, int fds[]);

/* Forwards through r until *stop becomes non-zero or for_ms passes (0: no limit). With a
 * control c (NULL: none), syncs it once per loop turn and before every datagram it plans
 * (relay_take); wake_fd (-1: none) is polled too, and a write to it (an eventfd or a pipe:
 * it is drained) wakes the loop at once, so a new setting is acknowledged without waiting
 * out a poll timeout. A datagram on a front socket from anyone but m_addr, or on a back
 * socket from anyone but backend_addr, is counted as foreign and not forwarded. */
void relay_serve(relay_t *r, const relay_link_t *links, int link_count, const int fds[],
                 volatile sig_atomic_t *stop, uint64_t for_ms, relay_control_t *c, int wake_fd);

#endif
