/* loop.h — the epoll event loop of the real front ends (level-triggered: poll()'s meaning
 * at O(ready) a turn): a bounded table of descriptors with one handler each, a single deadline per turn (the core's next timer), the
 * CLOCK_MONOTONIC clock in microseconds, and SIGINT/SIGTERM turned into a flag through a
 * self-pipe (so a signal never races with the wait that should notice it). */
#ifndef ALICHAIN_NET_LOOP_H
#define ALICHAIN_NET_LOOP_H

#include <poll.h>
#include <sys/epoll.h>
#include <stdint.h>

#include "common.h"

/* stdout of a server: fully buffered, flushed before every wait of loop_turn and before
 * any stderr line (drive.c), so lines keep their order and each turn costs one write. */
#define STDOUT_BUFFER_BYTES (64u << 10)

/* Client connections, listeners, the UDP socket and the signal pipe, with room to spare. */
#define LOOP_FDS_MAX (CONNECTIONS_MAX + 64)

/* Readiness reported per turn at most (more wait for the next turn: level-triggered). */
#define LOOP_EVENTS_MAX 256u
/* The signal pipe's registration key: no slot's (a slot's key is generation << 32 | slot,
 * and slots are below LOOP_FDS_MAX). */
#define LOOP_KEY_SIGNALS UINT64_MAX

/* Called when fd is ready; revents in poll()'s bits (POLLIN, POLLOUT, POLLERR, POLLHUP). */
typedef void (*loop_handler_t)(void *ctx, int fd, short revents);

typedef struct {
    int fd;                    /* -1: free slot */
    short events;              /* as registered, in poll()'s bits */
    uint32_t generation;       /* bumped on every reuse, so stale readiness is dropped */
    loop_handler_t handler;
    void *ctx;
} loop_slot_t;

typedef struct {
    loop_slot_t slots[LOOP_FDS_MAX];
    uint32_t used;             /* live slots */
    int epfd;
    struct epoll_event events[LOOP_EVENTS_MAX];
    int stop;                  /* SIGINT or SIGTERM arrived */
} loop_t;

/* Initialises an empty loop. Returns 0, or -1 when the epoll instance cannot be made
 * (err: why). */
int loop_init(loop_t *l, char *err, size_t err_cap);
/* Closes the epoll instance and the signal pipe; the caller closes its own descriptors. */
void loop_free(loop_t *l);

/* Watches fd for events (POLLIN, POLLOUT). Returns the slot (>= 0) that names it later, or
 * -1 when full (or the kernel refused the registration: errno). */
int loop_add(loop_t *l, int fd, short events, loop_handler_t handler, void *ctx);
void loop_set_events(loop_t *l, int slot, short events);
/* Stops watching (does not close the descriptor). Safe from inside a handler. */
void loop_del(loop_t *l, int slot);

/* One turn: flushes stdout, then waits (epoll_wait) until a descriptor is ready, a signal arrives or
 * the monotonic clock reaches deadline_us (UINT64_MAX: no deadline), then runs the handlers of the ready
 * descriptors. Returns 0, or -1 when epoll_wait() itself failed (err: why). */
int loop_turn(loop_t *l, uint64_t deadline_us, char *err, size_t err_cap);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t loop_now_us(void);
/* CLOCK_REALTIME in microseconds. */
uint64_t loop_wall_us(void);

/* SIGINT/SIGTERM set l->stop (noticed by the next loop_turn, which then returns at once);
 * SIGPIPE is ignored. Only one loop per process may catch signals. */
int loop_catch_signals(loop_t *l, char *err, size_t err_cap);

#endif
