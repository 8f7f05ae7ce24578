/* test_loop.c — net/loop.c's rules: readiness is level-triggered (data left unread is
 * reported again next turn); a handler that removes another ready descriptor, or removes it
 * and reuses its slot for a new one, in the same turn keeps the stale readiness from being
 * delivered; events are changed and cleared per slot; SIGTERM raises the stop flag and
 * ends the wait at once; the deadline bounds the wait. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "loop.h"

static loop_t lp; /* static: the tables are large */

typedef struct {
    int calls;
    short revents;
    int victim_slot; /* >= 0: remove this slot when called */
    int reuse_fd;    /* >= 0 (with a victim): register this fd in the freed slot */
    int reused_slot;
    int *reused_calls;
} probe_t;

static void on_ready(void *ctx, int fd, short revents) {
    (void)fd;
    probe_t *p = ctx;
    p->calls++;
    p->revents = revents;
    if (p->victim_slot >= 0) {
        loop_del(&lp, p->victim_slot);
        p->victim_slot = -1;
        if (p->reuse_fd >= 0) {
            static probe_t fresh;
            memset(&fresh, 0, sizeof(fresh));
            fresh.victim_slot = -1;
            fresh.reuse_fd = -1;
            p->reused_calls = &fresh.calls;
            p->reused_slot = loop_add(&lp, p->reuse_fd, POLLIN, on_ready, &fresh);
        }
    }
}

static int turn(uint64_t deadline_us) {
    char err[256];
    return loop_turn(&lp, deadline_us, err, sizeof(err));
}

TEST(test_level_triggered_and_events_changed) {
    char err[256];
    CHECK_EQ(loop_init(&lp, err, sizeof(err)), 0);
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    probe_t p = {.victim_slot = -1, .reuse_fd = -1};
    int slot = loop_add(&lp, sv[0], POLLIN, on_ready, &p);
    CHECK(slot >= 0);
    CHECK_EQ(turn(0), 0); /* nothing to read: the deadline (now) ends the wait */
    CHECK_EQ(p.calls, 0);
    CHECK_EQ(write(sv[1], "x", 1), 1);
    CHECK_EQ(turn(UINT64_MAX), 0);
    CHECK_EQ(p.calls, 1);
    CHECK((p.revents & POLLIN) != 0);
    CHECK_EQ(turn(0), 0); /* not read: reported again (level-triggered, as poll()) */
    CHECK_EQ(p.calls, 2);
    loop_set_events(&lp, slot, POLLOUT); /* writable, and no longer watched for reading */
    CHECK_EQ(turn(0), 0);
    CHECK_EQ(p.calls, 3);
    CHECK_EQ(p.revents & (POLLIN | POLLOUT), POLLOUT);
    loop_set_events(&lp, slot, 0);
    CHECK_EQ(turn(0), 0);
    CHECK_EQ(p.calls, 3);
    close(sv[1]); /* the peer closed: reported even with no events asked for */
    CHECK_EQ(turn(0), 0);
    CHECK_EQ(p.calls, 4);
    CHECK((p.revents & POLLHUP) != 0);
    loop_del(&lp, slot);
    close(sv[0]);
    loop_free(&lp);
}

TEST(test_removed_in_the_same_turn_is_not_called) {
    char err[256];
    CHECK_EQ(loop_init(&lp, err, sizeof(err)), 0);
    int a[2], b[2], c[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
    probe_t pa = {.victim_slot = -1, .reuse_fd = -1}, pb = {.victim_slot = -1, .reuse_fd = -1};
    int sa = loop_add(&lp, a[0], POLLIN, on_ready, &pa);
    int sb = loop_add(&lp, b[0], POLLIN, on_ready, &pb);
    CHECK(sa >= 0 && sb >= 0 && sa != sb);
    /* both ready; whichever runs first removes the other and puts c[0] in its slot */
    pa.victim_slot = sb;
    pa.reuse_fd = c[0];
    pb.victim_slot = sa;
    pb.reuse_fd = c[0];
    CHECK_EQ(write(a[1], "x", 1), 1);
    CHECK_EQ(write(b[1], "x", 1), 1);
    CHECK_EQ(write(c[1], "x", 1), 1); /* the new descriptor is ready too */
    CHECK_EQ(turn(UINT64_MAX), 0);
    CHECK_EQ(pa.calls + pb.calls, 1); /* the removed one's readiness was dropped */
    probe_t *first = pa.calls ? &pa : &pb;
    CHECK(first->reused_slot >= 0);
    CHECK(first->reused_calls != NULL);
    /* the slot was reused in this turn: the old registration's event is not the new one's */
    if (first->reused_calls != NULL) {
        CHECK_EQ(*first->reused_calls, 0);
        CHECK_EQ(turn(0), 0); /* next turn: the new descriptor's own readiness */
        CHECK_EQ(*first->reused_calls, 1);
    }
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
        close(c[i]);
    }
    loop_free(&lp);
}

TEST(test_sigterm_stops_the_wait) {
    char err[256];
    CHECK_EQ(loop_init(&lp, err, sizeof(err)), 0);
    CHECK_EQ(loop_catch_signals(&lp, err, sizeof(err)), 0);
    CHECK_EQ(lp.stop, 0);
    CHECK_EQ(raise(SIGTERM), 0);
    /* no deadline and nothing else watched: only the signal pipe can end this wait */
    alarm(60);
    CHECK_EQ(turn(UINT64_MAX), 0);
    alarm(0);
    CHECK_EQ(lp.stop, 1);
    alarm(60); /* a turn that waited would never end: the alarm ends the test, failed */
    CHECK_EQ(turn(UINT64_MAX), 0); /* stopping: a turn no longer waits */
    alarm(0);
    loop_free(&lp);
    signal(SIGTERM, SIG_DFL);
}

TEST(test_deadline_bounds_the_wait) {
    char err[256];
    CHECK_EQ(loop_init(&lp, err, sizeof(err)), 0);
    uint64_t t0 = loop_now_us();
    CHECK_EQ(turn(t0 + 20000u), 0);
    CHECK(loop_now_us() >= t0 + 20000u); /* rounded up to whole ms: never woken early */
    loop_free(&lp);
}

int main(void) {
    RUN(test_level_triggered_and_events_changed);
    RUN(test_removed_in_the_same_turn_is_not_called);
    RUN(test_sigterm_stops_the_wait);
    RUN(test_deadline_bounds_the_wait);
    return CHECK_DONE();
}
