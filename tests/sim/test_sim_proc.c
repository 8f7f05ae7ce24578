/* test_sim_proc.c — unit tests of the process toolkit (sim/proc/proc.c): whole-file reads
 * that refuse a file over their limit instead of returning a prefix, spawn with its
 * environment and the "up" line, the default signal actions a child gets back even where
 * the caller ignores them, stop-all naming the process that outlived SIGTERM, and the port
 * lease handing out distinct, locked offsets. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "check.h"
#include "ports.h"
#include "proc/proc.h"

static char dir[256];

static void path_of(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", dir, name); }

TEST(file_read_whole_missing_and_over_the_limit) {
    char p[512];
    path_of(p, sizeof(p), "f");
    CHECK_EQ(proc_file_write(p, "0123456789", 10), 0);
    char *buf = NULL;
    size_t len = 0;
    CHECK_EQ(proc_file_read(p, 10, &buf, &len), 0);
    CHECK(buf != NULL && len == 10 && strcmp(buf, "0123456789") == 0);
    free(buf);
    /* one byte over the limit: an error, never the first 9 bytes */
    errno = 0;
    CHECK_EQ(proc_file_read(p, 9, &buf, &len), -1);
    CHECK_EQ(errno, EFBIG);
    CHECK(buf == NULL && len == 0);
    /* a big file read across many growth steps */
    char big[100000];
    for (size_t i = 0; i < sizeof(big); i++) big[i] = (char)('a' + i % 26);
    CHECK_EQ(proc_file_write(p, big, sizeof(big)), 0);
    CHECK_EQ(proc_file_read(p, sizeof(big), &buf, &len), 0);
    CHECK(len == sizeof(big) && memcmp(buf, big, len) == 0);
    free(buf);
    path_of(p, sizeof(p), "missing");
    CHECK_EQ(proc_file_read(p, 10, &buf, &len), 0);
    CHECK(buf == NULL && len == 0);
    CHECK_EQ(proc_file_has(p, "x"), 0);
}

TEST(spawn_sets_the_environment_and_the_up_line_is_seen) {
    char out[512], err[512];
    path_of(out, sizeof(out), "sh.out");
    path_of(err, sizeof(err), "sh.err");
    const char *argv[] = {"sh", "-c", "echo \"$GREETING\"; echo oops >&2; echo up and running; sleep 5", NULL};
    setenv("GONE", "still here", 1);
    proc_spec_t sp = {.argv = argv, .cwd = dir, .out_path = out, .err_path = err, .truncate = 1,
                      .env = {"GREETING=hello from proc"}, .unset = {"GONE"}};
    pid_t pid = proc_spawn(&sp);
    CHECK(pid > 0);
    int status = 0;
    CHECK_EQ(proc_wait_up(pid, out, "up and running", 5000000u, 1000u, &status), 0);
    CHECK(proc_file_has(out, "hello from proc"));
    CHECK(proc_file_has(err, "oops"));
    pid_t pids[1] = {pid};
    CHECK_EQ(proc_stop_all(pids, NULL, 1, 3000000u), 0u); /* sh obeys SIGTERM */
    CHECK_EQ(pids[0], 0);
    /* a program that exits before its "up" line: -1 and its status */
    const char *argv2[] = {"sh", "-c", "exit 3", NULL};
    proc_spec_t sp2 = {.argv = argv2, .out_path = out, .err_path = err, .truncate = 1};
    pid = proc_spawn(&sp2);
    CHECK_EQ(proc_wait_up(pid, out, "never", 5000000u, 1000u, &status), -1);
    CHECK_EQ(proc_exit_code(status), 3);
    unsetenv("GONE");
}

TEST(a_child_gets_default_signal_actions_back) {
    /* The caller ignores SIGINT (an ignored disposition survives exec): the child must not. */
    struct sigaction ign = {0}, old;
    ign.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ign, &old);
    char out[512];
    path_of(out, sizeof(out), "sig.out");
    const char *argv[] = {"sh", "-c", "kill -INT $$; echo survived", NULL};
    proc_spec_t sp = {.argv = argv, .out_path = out, .truncate = 1};
    pid_t pid = proc_spawn(&sp);
    sigaction(SIGINT, &old, NULL);
    CHECK(pid > 0);
    int status = 0;
    CHECK_EQ(proc_wait_up(pid, out, "survived", 5000000u, 1000u, &status), -1);
    CHECK_EQ(proc_exit_code(status), 128 + SIGINT);
}

TEST(stop_all_names_the_one_that_outlived_sigterm) {
    const char *stubborn[] = {"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done", NULL};
    const char *polite[] = {"sh", "-c", "echo ready; exec sleep 30", NULL};
    char out0[512], out1[512];
    path_of(out0, sizeof(out0), "stubborn.out");
    path_of(out1, sizeof(out1), "polite.out");
    proc_spec_t a = {.argv = stubborn, .out_path = out0, .truncate = 1};
    proc_spec_t b = {.argv = polite, .out_path = out1, .truncate = 1};
    pid_t pids[2] = {proc_spawn(&a), proc_spawn(&b)};
    int status;
    CHECK_EQ(proc_wait_up(pids[0], out0, "ready", 5000000u, 1000u, &status), 0);
    CHECK_EQ(proc_wait_up(pids[1], out1, "ready", 5000000u, 1000u, &status), 0);
    pid_t keep0 = pids[0];
    CHECK_EQ(proc_stop_all(pids, NULL, 2, 300000u), 1u); /* bit 0: the stubborn one */
    CHECK(pids[0] == 0 && pids[1] == 0);
    CHECK(kill(keep0, 0) != 0); /* killed and reaped */
}

TEST(the_lease_hands_out_distinct_locked_offsets) {
    unsigned a, b;
    int fa, fb;
    char err[200];
    CHECK_EQ(proc_port_lease(&a, &fa, err, sizeof(err)), 0);
    CHECK_EQ(proc_port_lease(&b, &fb, err, sizeof(err)), 0);
    CHECK(a != b);
    CHECK(a >= PROC_LEASE_MIN && a <= PROC_LEASE_MAX && b >= PROC_LEASE_MIN && b <= PROC_LEASE_MAX);
    /* the lock is held: another open file description cannot take it */
    char path[512];
    snprintf(path, sizeof(path), "%s/%u.lock", PROC_LEASE_DIR, a);
    int other = open(path, O_RDWR);
    CHECK(other >= 0);
    CHECK(flock(other, LOCK_EX | LOCK_NB) != 0);
    close(fa);
    CHECK_EQ(flock(other, LOCK_EX | LOCK_NB), 0); /* released with its descriptor */
    close(other);
    close(fb);
}

int main(void) {
    if (proc_mkdtemp(dir, sizeof(dir), "alichain-test-proc") != 0) {
        perror("mkdtemp");
        return 1;
    }
    RUN(file_read_whole_missing_and_over_the_limit);
    RUN(spawn_sets_the_environment_and_the_up_line_is_seen);
    RUN(a_child_gets_default_signal_actions_back);
    RUN(stop_all_names_the_one_that_outlived_sigterm);
    RUN(the_lease_hands_out_distinct_locked_offsets);
    proc_remove_tree(dir);
    return CHECK_DONE();
}
