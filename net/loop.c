/* loop.c — the poll() event loop (see loop.h). O(live descriptors) per turn to rebuild the
 * pollfd array: at most LOOP_FDS_MAX entries, cheap next to the system call itself, and it
 * keeps slots stable while handlers add and remove descriptors. */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The self-pipe: the signal handler may only touch these. */
static int loop_sig_pipe[2] = {-1, -1};

static void loop_on_signal(int sig) {
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (loop_sig_pipe[1] >= 0) (void)!write(loop_sig_pipe[1], &b, 1);
    errno = saved;
}

void loop_init(loop_t *l) {
    memset(l, 0, sizeof(*l));
    for (uint32_t i = 0; i < LOOP_FDS_MAX; i++) l->slots[i].fd = -1;
}

void loop_free(loop_t *l) {
    (void)l;
    for (int i = 0; i < 2; i++) {
        if (loop_sig_pipe[i] >= 0) close(loop_sig_pipe[i]);
        loop_sig_pipe[i] = -1;
    }
}

int loop_catch_signals(loop_t *l, char *err, size_t err_cap) {
    (void)l;
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
    AC_ASSERT(l->slots[slot].fd >= 0);
    l->slots[slot].events = events;
}

void loop_del(loop_t *l, int slot) {
    AC_ASSERT(slot >= 0 && slot < LOOP_FDS_MAX);
    loop_slot_t *s = &l->slots[slot];
    AC_ASSERT(s->fd >= 0);
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

/* poll() timeout in ms for a deadline: rounded up, so the core is never woken early
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
    nfds_t n = 0;
    int has_pipe = loop_sig_pipe[0] >= 0;
    if (has_pipe) {
        l->pfds[n] = (struct pollfd){.fd = loop_sig_pipe[0], .events = POLLIN, .revents = 0};
        l->pfd_slot[n] = UINT32_MAX;
        n++;
    }
    for (uint32_t i = 0; i < LOOP_FDS_MAX && n < l->used + 1u; i++) {
        const loop_slot_t *s = &l->slots[i];
        if (s->fd < 0) continue;
        l->pfds[n] = (struct pollfd){.fd = s->fd, .events = s->events, .revents = 0};
        l->pfd_slot[n] = i;
        l->pfd_generation[n] = s->generation;
        n++;
    }
    int timeout = l->stop ? 0 : loop_timeout_ms(deadline_us);
    fflush(stdout); /* the screen lines of the turn, in one write, before any wait */
    int ready = poll(l->pfds, n, timeout);
    if (ready < 0) {
        if (errno == EINTR) return 0;
        snprintf(err, err_cap, "poll: %s", strerror(errno));
        return -1;
    }
    for (nfds_t k = 0; k < n && ready > 0; k++) {
        short rev = l->pfds[k].revents;
        if (rev == 0) continue;
        ready--;
        if (l->pfd_slot[k] == UINT32_MAX) {
            loop_drain_signals(l);
            continue;
        }
        loop_slot_t *s = &l->slots[l->pfd_slot[k]];
        /* removed (or removed and reused) by an earlier handler of this turn */
        if (s->fd < 0 || s->generation != l->pfd_generation[k]) continue;
        s->handler(s->ctx, s->fd, rev);
    }
    return 0;
}
