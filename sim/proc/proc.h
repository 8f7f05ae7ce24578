/* proc.h — the process room: the one toolkit for running real programs from the harness
 * (real mode, the soak, the namespace hosts, bench/): the clock, SIGINT/SIGTERM during a
 * run, temporary trees and whole-file reads, spawn with signals blocked across fork, the
 * "up" line, kill and stop, and the port-offset lease. Linux and POSIX only; no simulator
 * types, so bench/ links it without the simulator. */
#ifndef ALICHAIN_SIM_PROC_H
#define ALICHAIN_SIM_PROC_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- time ---- */
/* CLOCK_MONOTONIC: every wall-clock time of the harness (bench/ measures in ns). */
uint64_t proc_now_ns(void);
uint64_t proc_now_us(void);
/* Sleeps us microseconds; a caught signal cuts it short (callers check proc_interrupted). */
void proc_sleep_us(uint64_t us);

/* ---- SIGINT / SIGTERM during a run ---- */
/* proc_signals_catch clears the flag and installs a handler that only sets it, saving the
 * old actions; proc_signals_restore puts them back; proc_interrupted says whether one came.
 * The runner then stops everything it started before it returns. */
typedef struct {
    struct sigaction old_int, old_term;
} proc_signals_t;
void proc_signals_catch(proc_signals_t *saved);
void proc_signals_restore(const proc_signals_t *saved);
int proc_interrupted(void);

/* ---- files ---- */
/* Temp directories carry their owner: proc_mkdtemp makes
 * "$TMPDIR/<prefix>-<pid>-<ticks>-XXXXXX" (TMPDIR unset or relative: /tmp), prefix starting
 * PROC_TMP_PREFIX, pid and ticks the calling process's pid and start time (/proc/PID/stat
 * field 22, clock ticks since boot) into dir[cap]. A harness removes its directory when it
 * ends; one killed with kill -9 cannot, so proc_tmp_sweep removes, in $TMPDIR and /tmp,
 * every directory of that rule owned by the calling user whose owner is gone (no such
 * process, a zombie, or one started at another time: the pid was reused), never a live
 * owner's, never a link, at most PROC_TMP_SWEEP_MAX a call; it returns how many.
 * proc_mkdtemp sweeps first, so the next run cleans up after a killed one (and
 * `alichain-hosts sweep` runs it too). proc_mkdtemp returns 0, or -1 with errno (dir then
 * empty; ENAMETOOLONG for a prefix not of the rule). */
#define PROC_TMP_PREFIX "alichain-"
#define PROC_TMP_SWEEP_MAX 256
int proc_mkdtemp(char *dir, size_t cap, const char *prefix);
int proc_tmp_sweep(void);
/* Removes dir and everything below it (best effort, links not followed). */
void proc_remove_tree(const char *dir);
/* The whole file into a NUL-terminated malloc'd *buf. A file that does not exist is 0 with
 * *buf NULL; a file larger than max bytes is -1 with errno EFBIG (never a silent prefix);
 * other errors -1 with errno. */
int proc_file_read(const char *path, size_t max, char **buf, size_t *len);
/* Writes data[0..len) as the whole file (created 0644 or truncated). 0 or -1. */
int proc_file_write(const char *path, const char *data, size_t len);
/* 1 when the file exists and holds needle (the "up" line of a server's stdout). */
int proc_file_has(const char *path, const char *needle);

/* ---- processes ---- */
#define PROC_ENV_MAX 16
typedef struct {
    const char *const *argv;      /* NULL-terminated; argv[0] is run through PATH if it has no '/' */
    const char *cwd;              /* NULL: the caller's */
    const char *env[PROC_ENV_MAX];/* "NAME=value" set in the child (NULL entries ignored) */
    const char *unset[PROC_ENV_MAX]; /* names removed from the child's environment */
    const char *out_path;         /* stdout to this file (NULL: /dev/null) ... */
    const char *err_path;         /* ... stderr to this one (NULL: /dev/null) */
    int truncate;                 /* 0: append to out/err (a server's generations share
                                   * nothing, but a run's log may); 1: truncate first */
    int (*in_child)(const void *arg); /* NULL, or run in the child just before exec (after
                                   * the environment is set): e.g. joining a host's network
                                   * namespace; non-zero: the child exits 127 */
    const void *in_child_arg;
} proc_spec_t;
/* fork() with the child bound to the harness: it gets SIGKILL when the calling thread
 * ends (PR_SET_PDEATHSIG; the harness is single-threaded), and exits PROC_ORPHAN_EXIT at
 * once when the caller was gone before it could ask (the parent's pid, taken before the
 * fork, is checked after). The setting survives exec in the same process but not a fork:
 * a program the child execs that forks the real work off (`ip netns exec` does) leaves that
 * work unbound, so a process meant to die with the harness is exec'd directly (a host's
 * namespace is joined by in_child, not by `ip netns exec`). Also with SIGINT and SIGTERM
 * blocked across it: one arriving in between would otherwise
 * run the caller's handler in the child (which then execs a program, or serves a relay,
 * that never heard of it). The child takes the default actions back (SIGPIPE too) before
 * it unblocks them; the parent gets its mask back. Every fork of the harness is this one.
 * Returns as fork(). */
#define PROC_ORPHAN_EXIT 125
pid_t proc_fork(void);
/* A fault injector must be more responsive than the system it injects into: with on, the
 * calling process runs at nice PROC_URGENT_NICE (root only: -1 otherwise, nothing changed)
 * while every child of proc_fork gets the caller's old value back; with 0, that value is
 * restored. Under a storm of client processes on 2 cores, a runner at the default nice
 * woke tens of ms late for its timed steps. */
#define PROC_URGENT_NICE (-10)
int proc_urgent(int on);
/* proc_fork, then exec spec with stdin /dev/null. A child that cannot set up or exec
 * exits 127. Returns the pid, or -1 with errno. */
pid_t proc_spawn(const proc_spec_t *spec);

/* Waits until out_path holds up_needle (0), pid exits first (-1, *status its wait status),
 * timeout_us passes (-2) or proc_interrupted() (-3). Polls every tick_us. */
int proc_wait_up(pid_t pid, const char *out_path, const char *up_needle, uint64_t timeout_us,
                 uint64_t tick_us, int *status);
/* kill -9 (and SIGCONT, so a stopped process dies too) and reap within 3 s; *pid set to 0. */
void proc_kill(pid_t *pid);
/* Waits until process pid is not running on a CPU (its /proc state is not R: it sleeps, in
 * poll() between two events for the servers), for at most timeout_us. 1 when it was seen
 * idle, 0 at the timeout or when its state cannot be read. */
int proc_wait_idle(pid_t pid, uint64_t timeout_us);
/* Stops n processes together: SIGTERM (finish, flush, exit 0) to each pids[k] > 0 whose
 * term_skip[k] is 0 (term_skip may be NULL; a paused process is skipped: it cannot act on
 * SIGTERM), waits up to grace_us for them, then kill -9 to the rest and to the skipped.
 * Every pids[k] is 0 on return. Returns a mask of the SIGTERM'd ones that outlived the
 * grace (bit k for pids[k]). */
unsigned proc_stop_all(pid_t *pids, const int *term_skip, int n, uint64_t grace_us);
/* The exit code a wait status stands for: the code, or 128 + the signal. */
int proc_exit_code(int status);

/* ---- the port-offset lease ----
 * Every harness that starts the real programs on loopback (real mode, the soak, bench,
 * tests/e2e's Network) takes its ALICHAIN_PORT_OFFSET by one rule, so parallel runs never
 * collide: an offset in PROC_LEASE_MIN..PROC_LEASE_MAX (core/ports.h's range, above its
 * default, which the demo uses), the file PROC_LEASE_DIR/<offset>.lock opened (created 0666) and flock'd
 * LOCK_EX|LOCK_NB for as long as the offset is in use, and then the six ports of that
 * offset bound once to check they are free. tests/e2e/e2e_helpers.py follows the same
 * rule (it names this header). */
#define PROC_LEASE_DIR "/tmp/alichain-e2e-ports"
#define PROC_LEASE_MIN 400u
#define PROC_LEASE_MAX 999u
#define PROC_LEASE_ATTEMPTS 300
/* A free offset under the lock; *lock_fd stays open (close it to release). 0, or -1 with err. */
int proc_port_lease(unsigned *offset, int *lock_fd, char *err, size_t cap);

#endif
