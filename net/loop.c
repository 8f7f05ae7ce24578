/* loop.c — the epoll event loop (see loop.h). Level-triggered, so it keeps poll()'s meaning:
 * a descriptor is reported while it is ready. A turn costs O(ready descriptors), not
 * O(watched): serverM watches every client connection (up to CONNECTIONS_MAX) and most are
 * idle at any moment. Each registration carries its slot and the slot's generation, so a
 * readiness reported for a slot removed (or removed and reused) earlier in the same turn is
 * dropped. */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <unistd.h>

/* The self-pipe: the signal handler may only touch these. */
static int loop_sig_pipe[2] = {-1, -1};

static void loop_on_signal(int sig) {
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (loop_sig_pipe[1] >= 0) (void)!write(loop_sig_pipe[1], &b, 1);
    errno = saved;
}

int loop_init(loop_t *l, char *err, size_t err_cap) {
    memset(l, 0, sizeof(*l));
    for (uint32_t i = 0; i < LOOP_FDS_MAX; i++) l->slots[i].fd = -1;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        snprintf(err, err_cap, "epoll_create1: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void loop_free(loop_t *l) {
    if (l->epfd >= 0) close(l->epfd);
    l->epfd = -1;
    for (int i = 0; i < 2; i++) {
        if (loop_sig_pipe[i] >= 0) close(loop_sig_pipe[i]);
        loop_sig_pipe[i] = -1;
    }
}

/* poll()'s event bits as epoll's, and back: the handlers keep poll()'s names. */
static uint32_t to_epoll(short events) {
    return ((events & POLLIN) ? EPOLLIN : 0u) | ((events & POLLOUT) ? EPOLLOUT : 0u);
}

static short from_epoll(uint32_t ev) {
    return (short)(((ev & EPOLLIN) ? POLLIN : 0) | ((ev & EPOLLOUT) ? POLLOUT : 0) |
                   ((ev & EPOLLERR) ? POLLERR : 0) | ((ev & EPOLLHUP) ? POLLHUP : 0));
}

static int loop_ctl(loop_t *l, int op, int fd, short events, uint64_t key) {
    struct epoll_event ev = {.events = to_epoll(events), .data.u64 = key};
    return epoll_ctl(l->epfd, op, fd, &ev);
}

static uint64_t slot_key(uint32_t slot, uint32_t generation) {
    return (uint64_t)generation << 32 | slot;
}

int loop_catch_signals(loop_t *l, char *err, size_t err_cap) {
    if (pipe(loop_sig_pipe) < 0) {
        snprintf(err, err_cap, "pipe: %s", strerror(errno));
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(loop_sig_pipe[i], F_GETFL, 0);
        if (fl < 0 || fcntl(loop_sig_pipe[i], F_SETFL, fl | O_NONBLOCK) < 0 ||
            fcntl(loop_sig_pipe[i], F_SETFD, FD_CLOEXEC) < 0) {
            snprintf(err, err_cap, "fcntl: %s", strerror(errno));
            return -1;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = loop_on_signal;
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) {
        snprintf(err, err_cap, "sigaction: %s", strerror(errno));
        return -1;
    }
    if (loop_ctl(l, EPOLL_CTL_ADD, loop_sig_pipe[0], POLLIN, LOOP_KEY_SIGNALS) < 0) {
        snprintf(err, err_cap, "epoll_ctl: %s", strerror(errno));
        return -1;
    }
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &sa, NULL);
    return 0;
}

int loop_add(loop_t *l, int fd, short events, loop_handler_t handler, void *ctx) {
    AC_ASSERT(fd >= 0);
    if (l->used >= LOOP_FDS_MAX) return -1;
    /* first free slot: O(LOOP_FDS_MAX) per add, fine at this size */
    for (uint32_t i = 0; i < LOOP_FDS_MAX; i++) {
        loop_slot_t *s = &l->slots[i];
        if (s->fd >= 0) continue;
        if (loop_ctl(l, EPOLL_CTL_ADD, fd, events, slot_key(i, s->generation + 1u)) < 0) return -1;
        s->fd = fd;
        s->events = events;
        s->generation++;
        s->handler = handler;
        s->ctx = ctx;
        l->used++;
        return (int)i;
    }
    AC_ASSERT(0); /* used < LOOP_FDS_MAX means a free slot exists */
    return -1;
}

void loop_set_events(loop_t *l, int slot, short events) {
    AC_ASSERT(slot >= 0 && slot < LOOP_FDS_MAX);
    loop_slot_t *s = &l->slots[slot];
    AC_ASSERT(s->fd >= 0);
    if (s->events == events) return; /* a system call only for a change */
    /* cannot fail for a descriptor that is registered and open (the callers' rule) */
    if (loop_ctl(l, EPOLL_CTL_MOD, s->fd, events, slot_key((uint32_t)slot, s->generation)) < 0) AC_ASSERT(0);
    s->events = events;
}

void loop_del(loop_t *l, int slot) {
    AC_ASSERT(slot >= 0 && slot < LOOP_FDS_MAX);
    loop_slot_t *s = &l->slots[slot];
    AC_ASSERT(s->fd >= 0);
    (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL); /* before the caller's close() */
    s->fd = -1;
    s->generation++;
    s->handler = NULL;
    s->ctx = NULL;
    AC_ASSERT(l->used > 0);
    l->used--;
}

uint64_t loop_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t loop_wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* epoll_wait() timeout in ms for a deadline: rounded up, so the core is never woken early
 * over and over; -1 for no deadline. */
static int loop_timeout_ms(uint64_t deadline_us) {
    if (deadline_us == UINT64_MAX) return -1;
    uint64_t now = loop_now_us();
    if (deadline_us <= now) return 0;
    uint64_t ms = (deadline_us - now + 999u) / 1000u;
    const uint64_t ms_max = 3600000u; /* wake at least hourly; harmless */
    return (int)(ms < ms_max ? ms : ms_max);
}

/* Reads what the signal handler wrote and raises the stop flag. */
static void loop_drain_signals(loop_t *l) {
    unsigned char buf[64];
    for (int i = 0; i < 16; i++) {
        ssize_t n = read(loop_sig_pipe[0], buf, sizeof(buf));
        if (n <= 0) break;
        l->stop = 1;
    }
}

int loop_turn(loop_t *l, uint64_t deadline_us, char *err, size_t err_cap) {
    int timeout = l->stop ? 0 : loop_timeout_ms(deadline_us);
    fflush(stdout); /* the screen lines of the turn, in one write, before any wait */
    int ready = epoll_wait(l->epfd, l->events, LOOP_EVENTS_MAX, timeout);
    if (ready < 0) {
        if (errno == EINTR) return 0;
        snprintf(err, err_cap, "epoll_wait: %s", strerror(errno));
        return -1;
    }
    for (int k = 0; k < ready; k++) {
        uint64_t key = l->events[k].data.u64;
        if (key == LOOP_KEY_SIGNALS) {
            loop_drain_signals(l);
            continue;
        }
        uint32_t slot = (uint32_t)key, generation = (uint32_t)(key >> 32);
        AC_ASSERT(slot < LOOP_FDS_MAX);
        loop_slot_t *s = &l->slots[slot];
        /* removed (or removed and reused) by an earlier handler of this turn */
        if (s->fd < 0 || s->generation != generation) continue;
        s->handler(s->ctx, s->fd, from_epoll(l->events[k].events));
    }
    return 0;
}
