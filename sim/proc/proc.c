/* proc.c — the process toolkit (proc.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ports.h"

#define PROC_REAP_US 3000000u   /* a killed process is reaped within this */
#define PROC_REAP_TICK_US 1000u
#define PROC_PATH_BYTES 512

/* ------------------------------------------------------------------ time */

uint64_t proc_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t proc_now_us(void) { return proc_now_ns() / 1000u; }

void proc_sleep_us(uint64_t us) {
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000u), .tv_nsec = (long)(us % 1000000u) * 1000};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ signals */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
    (void)sig;
    interrupted = 1;
}

void proc_signals_catch(proc_signals_t *saved) {
    interrupted = 0;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &saved->old_int);
    sigaction(SIGTERM, &sa, &saved->old_term);
}

void proc_signals_restore(const proc_signals_t *saved) {
    sigaction(SIGINT, &saved->old_int, NULL);
    sigaction(SIGTERM, &saved->old_term, NULL);
}

int proc_interrupted(void) { return interrupted != 0; }

/* ------------------------------------------------------------------ files */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* The start time of process pid (clock ticks since boot, /proc/PID/stat field 22), or 0
 * when it does not exist or is a zombie (exited: as dead as an owner gets). */
static unsigned long long start_ticks(long pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    char state = 0;
    unsigned long long ticks = 0;
    /* after ") ": state (3), then fields 4..21 skipped, then starttime (22) */
    if (p == NULL || sscanf(p + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
                            &state, &ticks) != 2)
        return 0;
    return state == 'Z' ? 0 : ticks;
}

/* The temp roots the harness uses and the sweep looks in: $TMPDIR (when absolute) and /tmp. */
static const char *tmp_root(void) {
    const char *tmp = getenv("TMPDIR");
    return tmp != NULL && tmp[0] == '/' ? tmp : "/tmp";
}

/* Whether name is "alichain-<word>-<pid>-<ticks>-XXXXXX" (proc_mkdtemp's rule) with an
 * owner that is gone: no process pid, or one that started at another time (the pid was
 * reused). */
static int owner_gone(const char *name) {
    size_t len = strlen(name);
    if (strncmp(name, PROC_TMP_PREFIX, strlen(PROC_TMP_PREFIX)) != 0 || len < 8 || name[len - 7] != '-') return 0;
    const char *end = name + len - 7; /* the '-' before mkdtemp's six characters */
    const char *p = end;
    while (p > name && p[-1] >= '0' && p[-1] <= '9') p--;
    if (p == end || p == name || p[-1] != '-') return 0;
    const char *ticks_at = p;
    p--;
    const char *pid_end = p;
    while (p > name && p[-1] >= '0' && p[-1] <= '9') p--;
    if (p == pid_end || p[-1] != '-' || pid_end - p > 10 || end - ticks_at > 20) return 0;
    long pid = strtol(p, NULL, 10);
    unsigned long long ticks = strtoull(ticks_at, NULL, 10);
    return pid <= 0 || start_ticks(pid) != ticks;
}

static int sweep_root(const char *root) {
    DIR *d = opendir(root);
    if (d == NULL) return 0;
    int removed = 0;
    for (struct dirent *e = readdir(d); e != NULL && removed < PROC_TMP_SWEEP_MAX; e = readdir(d)) {
        char path[PROC_PATH_BYTES];
        struct stat st;
        if (!owner_gone(e->d_name)) continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, e->d_name) >= sizeof(path)) continue;
        /* a real directory of ours: never a link, never another user's */
        if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) continue;
        proc_remove_tree(path);
        removed++;
    }
    closedir(d);
    return removed;
}

int proc_tmp_sweep(void) {
    const char *root = tmp_root();
    int removed = sweep_root(root);
    if (strcmp(root, "/tmp") != 0) removed += sweep_root("/tmp");
    return removed;
}

int proc_mkdtemp(char *dir, size_t cap, const char *prefix) {
    const char *tmp = tmp_root(); /* temp dirs where the user keeps them */
    (void)proc_tmp_sweep();       /* a killed run's leftovers first */
    if (strncmp(prefix, PROC_TMP_PREFIX, strlen(PROC_TMP_PREFIX)) != 0 ||
        (size_t)snprintf(dir, cap, "%s/%s-%ld-%llu-XXXXXX", tmp, prefix, (long)getpid(),
                         start_ticks((long)getpid())) >= cap) {
        dir[0] = '\0';
        errno = ENAMETOOLONG;
        return -1;
    }
    if (mkdtemp(dir) == NULL) {
        dir[0] = '\0';
        return -1;
    }
    return 0;
}

void proc_remove_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

int proc_file_read(const char *path, size_t max, char **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) return errno == ENOENT ? 0 : -1;
    size_t cap = 4096, n = 0;
    char *p = malloc(cap + 1);
    int failed = p == NULL;
    while (!failed) {
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (n > max) {
            errno = EFBIG;
            failed = 1;
            break;
        }
        if (got == 0) {
            failed = ferror(f) != 0;
            break;
        }
        if (n == cap) {
            char *q = realloc(p, cap * 2 + 1);
            if (q == NULL) {
                failed = 1;
                break;
            }
            p = q;
            cap *= 2;
        }
    }
    int saved = errno;
    fclose(f);
    if (failed) {
        free(p);
        errno = saved;
        return -1;
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return 0;
}

int proc_file_write(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) return -1;
    int ok = (len == 0 || fwrite(data, 1, len, f) == len);
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int proc_file_has(const char *path, const char *needle) {
    char *text = NULL;
    size_t len = 0;
    /* a server's stdout before its "up" line is a few lines; 1 MiB is far beyond it */
    int found = proc_file_read(path, 1u << 20, &text, &len) == 0 && text != NULL && strstr(text, needle) != NULL;
    free(text);
    return found;
}

/* ------------------------------------------------------------------ processes */

/* The nice value children get back when the harness raised its own (proc_urgent). */
static int child_nice;
static int raised;

int proc_urgent(int on) {
    if (on && !raised) {
        errno = 0;
        int now = getpriority(PRIO_PROCESS, 0);
        if (errno != 0) return -1;
        if (setpriority(PRIO_PROCESS, 0, PROC_URGENT_NICE) != 0) return -1; /* needs root */
        child_nice = now;
        raised = 1;
    } else if (!on && raised) {
        raised = 0;
        if (setpriority(PRIO_PROCESS, 0, child_nice) != 0) return -1;
    }
    return 0;
}

pid_t proc_fork(void) {
    pid_t parent = getpid();
    sigset_t stop_sigs, old_mask;
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGINT);
    sigaddset(&stop_sigs, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_sigs, &old_mask);
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid == 0) {
        /* dies with the harness, even by kill -9; had the parent died before this line,
         * the child has a new parent already and no signal would ever come */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(PROC_ORPHAN_EXIT);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        if (raised) (void)setpriority(PRIO_PROCESS, 0, child_nice); /* the system under test runs as usual */
    }
    int saved = errno;
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    errno = saved;
    return pid;
}

pid_t proc_spawn(const proc_spec_t *spec) {
    pid_t pid = proc_fork();
    if (pid != 0) return pid;
    int mode = O_WRONLY | O_CREAT | (spec->truncate ? O_TRUNC : O_APPEND);
    int in = open("/dev/null", O_RDONLY);
    int out = spec->out_path ? open(spec->out_path, mode, 0644) : open("/dev/null", O_WRONLY);
    int er = spec->err_path ? open(spec->err_path, mode, 0644) : open("/dev/null", O_WRONLY);
    if (in < 0 || out < 0 || er < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(er, 2) < 0) _exit(127);
    if (spec->cwd != NULL && chdir(spec->cwd) != 0) _exit(127);
    for (int k = 0; k < PROC_ENV_MAX; k++)
        if (spec->unset[k] != NULL) unsetenv(spec->unset[k]);
    for (int k = 0; k < PROC_ENV_MAX; k++)
        if (spec->env[k] != NULL) putenv((char *)spec->env[k]);
    if (spec->in_child != NULL && spec->in_child(spec->in_child_arg) != 0) _exit(127);
    execvp(spec->argv[0], (char *const *)spec->argv);
    _exit(127);
}

int proc_wait_up(pid_t pid, const char *out_path, const char *up_needle, uint64_t timeout_us,
                 uint64_t tick_us, int *status) {
    uint64_t deadline = proc_now_us() + timeout_us;
    while (!proc_interrupted()) {
        if (proc_file_has(out_path, up_needle)) return 0;
        if (waitpid(pid, status, WNOHANG) == pid) return -1;
        if (proc_now_us() > deadline) return -2;
        proc_sleep_us(tick_us);
    }
    return -3;
}

int proc_wait_idle(pid_t pid, uint64_t timeout_us) {
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    uint64_t end = proc_now_us() + timeout_us;
    for (;;) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return 0;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0) return 0;
        buf[n] = '\0';
        const char *paren = strrchr(buf, ')'); /* "pid (comm) S ...": comm may hold spaces */
        if (paren == NULL || paren[1] != ' ') return 0;
        if (paren[2] != 'R') return 1;
        if (proc_now_us() >= end) return 0;
        sched_yield();
    }
}

void proc_kill(pid_t *pid) {
    if (*pid <= 0) return;
    kill(*pid, SIGKILL);
    kill(*pid, SIGCONT);
    uint64_t deadline = proc_now_us() + PROC_REAP_US;
    while (waitpid(*pid, NULL, WNOHANG) == 0 && proc_now_us() < deadline) proc_sleep_us(PROC_REAP_TICK_US);
    *pid = 0;
}

unsigned proc_stop_all(pid_t *pids, const int *term_skip, int n, uint64_t grace_us) {
    unsigned late = 0;
    for (int k = 0; k < n; k++)
        if (pids[k] > 0 && !(term_skip && term_skip[k])) kill(pids[k], SIGTERM);
    uint64_t deadline = proc_now_us() + grace_us;
    for (int k = 0; k < n; k++) {
        if (pids[k] <= 0 || (term_skip && term_skip[k])) continue;
        while (pids[k] > 0) { /* asked at least once, even past the deadline */
            if (waitpid(pids[k], NULL, WNOHANG) == pids[k]) pids[k] = 0;
            else if (proc_now_us() >= deadline) break;
            else proc_sleep_us(PROC_REAP_TICK_US);
        }
        if (pids[k] > 0) late |= 1u << k;
    }
    for (int k = 0; k < n; k++) proc_kill(&pids[k]);
    return late;
}

int proc_exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

/* ------------------------------------------------------------------ the port lease */

_Static_assert(PROC_LEASE_MAX == PORT_OFFSET_MAX, "the lease hands out valid offsets only");
_Static_assert(PROC_LEASE_MIN > PORT_OFFSET_DEFAULT, "the demo's default offset is never leased");

static int port_free(unsigned port, int tcp) {
    int fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1; /* as the servers: a TIME_WAIT leftover does not block, a listener does */
    if (tcp) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

int proc_port_lease(unsigned *offset, int *lock_fd, char *err, size_t cap) {
    mkdir(PROC_LEASE_DIR, 0777);
    chmod(PROC_LEASE_DIR, 0777); /* other users' runs share it (mkdir's mode obeys umask) */
    uint64_t x = proc_now_us() ^ ((uint64_t)getpid() << 20);
    for (int k = 0; k < PROC_LEASE_ATTEMPTS; k++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        unsigned off = PROC_LEASE_MIN + (unsigned)((x >> 33) % (PROC_LEASE_MAX - PROC_LEASE_MIN + 1));
        char path[PROC_PATH_BYTES];
        snprintf(path, sizeof(path), "%s/%u.lock", PROC_LEASE_DIR, off);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) continue;
        int free_ports = flock(fd, LOCK_EX | LOCK_NB) == 0;
        for (int p = 0; free_ports && p < PORT_COUNT; p++) /* core's table: UDP first, then TCP */
            free_ports = port_free(port_nth(p, off), p >= PORT_UDP_COUNT);
        if (!free_ports) {
            close(fd);
            continue;
        }
        *offset = off;
        *lock_fd = fd;
        return 0;
    }
    snprintf(err, cap, "no free port offset in %u..%u after %d attempts", PROC_LEASE_MIN, PROC_LEASE_MAX,
             PROC_LEASE_ATTEMPTS);
    return -1;
}
