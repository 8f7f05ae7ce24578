/* relay.h — a UDP fault relay between serverM and a backend: what tc netem would do and
 * cannot here (delay ranges, duplication, reordering), per direction, drawn from a seeded
 * PRNG, with counters of what it really did. The plan (relay_t) is pure: the caller passes
 * the time and asks for the next deadline; relay_serve() is the poll() loop around it. */
#ifndef ALICHAIN_RELAY_H
#define ALICHAIN_RELAY_H

#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "prng.h"

#define RELAY_DGRAM_BYTES_MAX 2048   /* above the protocol's DGRAM_BYTES_MAX */
#define RELAY_QUEUE_MAX 512          /* datagrams held at once; more are dropped and counted */
#define RELAY_DELAY_MS_MAX 60000
#define RELAY_REORDER_HOLD_US 30000  /* extra hold of a datagram picked for reordering */
#define RELAY_LINKS_MAX 3            /* one per backend */
#define RELAY_COUNTS_TEXT_BYTES 512
#define RELAY_POLL_MS_MAX 100        /* the loop looks at *stop and on_turn at least this often */

enum { RELAY_DOWN = 0, RELAY_UP = 1, RELAY_DIRS = 2 }; /* down: serverM -> backend */

enum {
    RELAY_OK = 0,
    RELAY_ERR_ARG = -1,  /* a bad fault spec or address */
    RELAY_ERR_FULL = -2, /* the queue is full: the datagram is dropped (and counted) */
    RELAY_ERR_SYS = -3   /* a socket call failed */
};

/* One direction's faults. */
typedef struct {
    uint64_t delay_us_min;
    uint64_t delay_us_max;
    uint32_t dup_ppm;     /* a second copy, with its own delay */
    uint32_t reorder_ppm; /* held RELAY_REORDER_HOLD_US more, so later ones overtake it */
} relay_fault_t;

/* What happened in one direction. reordered counts deliveries that really came after a
 * later-received datagram of the same link and direction (whatever the cause). */
typedef struct {
    uint64_t received;
    uint64_t forwarded;  /* copies sent (duplicates included) */
    uint64_t duplicated; /* extra copies made */
    uint64_t delayed;    /* copies held more than 0 ms */
    uint64_t held;       /* picked for reordering */
    uint64_t reordered;
    uint64_t dropped_full;
    uint64_t foreign; /* from an address that is not this link's peer: not forwarded */
} relay_counts_t;

typedef struct {
    uint64_t due_us;
    uint64_t seq; /* arrival order within (link, dir) */
    int link;
    int dir;
    size_t len;
    uint8_t data[RELAY_DGRAM_BYTES_MAX];
} relay_item_t;

typedef struct {
    relay_fault_t fault[RELAY_DIRS];
    relay_counts_t counts[RELAY_DIRS];
    prng_t prng;
    uint64_t next_seq[RELAY_LINKS_MAX][RELAY_DIRS];
    uint64_t max_sent_seq[RELAY_LINKS_MAX][RELAY_DIRS]; /* highest seq + 1 delivered */
    size_t count;
    relay_item_t items[RELAY_QUEUE_MAX];
} relay_t;

/* Parses "delay=LO-HI,dup=PCT,reorder=PCT" (delays in ms, any subset, "delay=N" for a
 * fixed delay, "none" for nothing) into f. Returns 0 or RELAY_ERR_ARG with a reason in err (cap bytes). */
int relay_fault_parse(char *err, size_t cap, const char *spec, relay_fault_t *f);

/* r is the caller's (it is large: allocate it, do not put it on a stack). */
void relay_init(relay_t *r, uint64_t seed, const relay_fault_t fault[RELAY_DIRS]);

/* A datagram of link in direction dir arrived at now_us: queues one copy (two when
 * duplicated), each due after its drawn delay. Returns 0, RELAY_ERR_FULL (dropped,
 * counted) or RELAY_ERR_ARG (len over RELAY_DGRAM_BYTES_MAX, bad link or dir). */
int relay_push(relay_t *r, uint64_t now_us, int link, int dir, const uint8_t *data, size_t len);

/* The earliest due time, or UINT64_MAX when nothing is queued. */
uint64_t relay_next_due_us(const relay_t *r);

/* Moves the earliest item due at or before now_us (ties in arrival order) into *out and
 * counts its delivery. Returns 1 when it did, 0 when nothing is due. */
int relay_pop(relay_t *r, uint64_t now_us, relay_item_t *out);

/* "down received=.. forwarded=.. pending=.. ...; up ..." into buf; pending: copies still
 * queued (received + duplicated = forwarded + pending, dropped_full aside). */
void relay_counts_text(const relay_t *r, char *buf, size_t cap);

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

/* Forwards through r until *stop becomes non-zero or for_ms passes (0: no limit), calling
 * on_turn(ctx, r) (when not NULL) once per loop turn: a place to change r->fault and to
 * publish r->counts (at least every RELAY_POLL_MS_MAX ms). A
 * datagram on a front socket from anyone but m_addr, or on a back socket from anyone but
 * backend_addr, is counted as foreign and not forwarded. */
void relay_serve(relay_t *r, const relay_link_t *links, int link_count, const int fds[],
                 volatile sig_atomic_t *stop, uint64_t for_ms, void (*on_turn)(void *ctx, relay_t *r),
                 void *ctx);

#endif
