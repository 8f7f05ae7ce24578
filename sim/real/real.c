/* real.c — the real-mode runner: writes a scenario's blocks to a temp dir, starts serverA/B/C
 * and serverM as processes, runs each labelled client operation at its wall-clock time,
 * injects crash/restart (kill -9, new process) and pause/resume (SIGSTOP/SIGCONT) itself and
 * network faults through a realnet_t, then judges the run with judge.h; plus the loopback
 * back end and `compare`. Trade-offs are written down in docs/REAL.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blockfile.h"
#include "ports.h"
#include "judge/excuse.h"
#include "judge/judge.h"
#include "client.h"
#include "messages.h"
#include "outcome.h"
#include "prng.h"
#include "proc/proc.h"
#include "real.h"
#include "realdisk.h"
#include "realsess.h"
#include "scenario/anchor.h"

#define REAL_START_MS_MAX 5000          /* a server prints its "up" line within this */
#define REAL_STOP_MS_MAX 3000           /* SIGTERM'd servers exit within this */
#define REAL_TICK_US 1000               /* the main loop wakes at least this often */
#define REAL_END_SLACK_MS 5000          /* quiet run: beyond the longest client deadline */
#define REAL_FILE_BYTES_MAX (64u << 20) /* a block file, alichain.txt or an output read back */
#define REAL_PATH_BYTES 512
#define REAL_DIR_BYTES 256              /* the run's directory, the programs' directory */
#define REAL_ENV_BYTES 600
#define REAL_MSG_BYTES 480
#define REAL_SESSIONS_POLLED 64        /* keep-alive connections polled at once (more: served
                                        * every tick all the same) */
#define REAL_LOG_LINES_MAX 5            /* a failed run reports this many stderr lines a server */

static const char *const server_prog[SIM_SERVERS] = {"serverM", "serverA", "serverB", "serverC"};
static const char *const host_env[SIM_SERVERS] = {"ALICHAIN_HOST_M", "ALICHAIN_HOST_A",
                                                   "ALICHAIN_HOST_B", "ALICHAIN_HOST_C"};

/* ------------------------------------------------------------------ loopback back end */

static const char *lo_host(const realnet_t *n, int node) {
    (void)n;
    (void)node;
    return "127.0.0.1";
}
static void lo_wrap(const realnet_t *n, int node, const char *const **words, int *count) {
    (void)n;
    (void)node;
    *words = NULL;
    *count = 0;
}
static int lo_setup(realnet_t *n, unsigned off, char *err, size_t cap) {
    (void)n;
    (void)off;
    (void)err;
    (void)cap;
    return 0;
}
static int lo_partition(realnet_t *n, int a, int b, int oneway, char *err, size_t cap) {
    (void)n;
    (void)a;
    (void)b;
    (void)oneway;
    snprintf(err, cap, "loopback cannot cut links");
    return REALNET_UNSUPPORTED;
}
static int lo_heal(realnet_t *n, int a, int b, int oneway, char *err, size_t cap) {
    (void)n;
    (void)a;
    (void)b;
    (void)oneway;
    (void)err;
    (void)cap;
    return REALNET_OK; /* nothing is ever cut on loopback */
}
static int lo_udp(realnet_t *n, int from, int to, const sim_udp_t *u, char *err, size_t cap) {
    (void)n;
    snprintf(err, cap, "loopback cannot change UDP link %d->%d (loss %u ppm)", from, to, u->loss_ppm);
    return REALNET_UNSUPPORTED;
}
static void lo_counters(realnet_t *n, realnet_counters_t c) {
    (void)n;
    (void)c;
}
static void lo_teardown(realnet_t *n) {
    (void)n;
}

void realnet_loopback(realnet_t *n) {
    memset(n, 0, sizeof(*n));
    snprintf(n->name, sizeof(n->name), "loopback");
    n->setup = lo_setup;
    n->host = lo_host;
    n->wrap = lo_wrap;
    n->partition = lo_partition;
    n->heal = lo_heal;
    n->udp = lo_udp;
    n->counters = lo_counters;
    n->teardown = lo_teardown;
}

/* ------------------------------------------------------------------ what can run */

static void name_add(char names[REAL_SKIPPED_MAX][REAL_FAULT_NAME_BYTES], int *count, const char *name) {
    for (int i = 0; i < *count; i++) {
        if (strcmp(names[i], name) == 0) return;
    }
    if (*count < REAL_SKIPPED_MAX) snprintf(names[(*count)++], REAL_FAULT_NAME_BYTES, "%s", name);
}

/* A capability of the runner itself, beside the network back end's REALNET_CAN_*: the
 * disk fault file system is mounted over every server's directory (realdisk.h). */
#define REAL_CAN_DISK (1u << 31)

/* The faults of settings f that net cannot produce. */
static void faults_unsupported(const sim_faults_t *f, uint32_t caps,
                               char names[REAL_SKIPPED_MAX][REAL_FAULT_NAME_BYTES], int *count) {
    sim_faults_t calm;
    sim_faults_default(&calm);
    for (int i = 0; i < SIM_SERVERS; i++) {
        for (int j = 0; j < SIM_SERVERS; j++) {
            const sim_udp_t *u = &f->udp[i][j];
            if (u->loss_ppm && !(caps & REALNET_CAN_UDP_LOSS)) name_add(names, count, "udp loss");
            if (u->dup_ppm && !(caps & REALNET_CAN_UDP_DUP)) name_add(names, count, "udp duplication");
            if (u->reorder_ppm && !(caps & REALNET_CAN_UDP_REORDER)) name_add(names, count, "udp reordering");
            if ((u->delay_min_us != calm.udp[i][j].delay_min_us || u->delay_max_us != calm.udp[i][j].delay_max_us) &&
                !(caps & REALNET_CAN_UDP_DELAY))
                name_add(names, count, "udp delay");
        }
    }
    int tcp = (caps & REALNET_CAN_TCP) != 0;
    if (!tcp && (f->tcp.seg_min != calm.tcp.seg_min || f->tcp.seg_max != calm.tcp.seg_max))
        name_add(names, count, "tcp segment sizes");
    if (!tcp && f->tcp.reset_ppm) name_add(names, count, "tcp reset");
    if (!tcp && (f->tcp.delay_min_us != calm.tcp.delay_min_us || f->tcp.delay_max_us != calm.tcp.delay_max_us))
        name_add(names, count, "tcp delay");
    for (int b = 0; b < BACKEND_COUNT && !(caps & REAL_CAN_DISK); b++) {
        if (f->disk[b].torn_ppm) name_add(names, count, "torn write");
        if (f->disk[b].full) name_add(names, count, "disk full");
        if (f->disk[b].eio_write_ppm || f->disk[b].eio_sync_ppm) name_add(names, count, "disk I/O error");
        if (f->disk[b].sync_min_us != calm.disk[b].sync_min_us || f->disk[b].sync_max_us != calm.disk[b].sync_max_us)
            name_add(names, count, "disk sync delay");
    }
    if ((f->file_min_us != calm.file_min_us || f->file_max_us != calm.file_max_us) && !(caps & REAL_CAN_DISK))
        name_add(names, count, "file write delay");
}

/* 1 when s needs the TCP fault proxy: a TCP setting other than the calm default at any time,
 * a half-close operation, or an expectation on what it counts (split, resets). Without one the clients connect straight to serverM, as
 * before the proxy existed (a proxy changes how a crashed serverM looks: docs/REAL.md). */
static int scenario_uses_tcp(const scenario_t *s) {
    sim_faults_t calm;
    sim_faults_default(&calm);
    const sim_tcp_t *t = &s->faults.tcp, *c = &calm.tcp;
    int uses = t->seg_min != c->seg_min || t->seg_max != c->seg_max || t->reset_ppm != c->reset_ppm ||
               t->delay_min_us != c->delay_min_us || t->delay_max_us != c->delay_max_us;
    for (size_t i = 0; !uses && i < s->step_count; i++) {
        const scn_step_t *st = &s->steps[i];
        uses = (st->kind == STEP_OP && st->half_close) || (st->kind == STEP_SET && st->set.what == SET_TCP);
    }
    for (size_t i = 0; !uses && i < s->expect_count; i++) {
        const scn_expect_t *e = &s->expects[i];
        uses = e->kind == EXP_FAULT && (e->fault == FAULT_SPLIT || e->fault == FAULT_RESETS);
    }
    return uses;
}

/* The fault counters real mode can measure on net: the runner's own (it makes crashes,
 * restarts, pauses and partitions itself), what the back end reads back (the TCP proxy's
 * split and resets only when the clients pass it: via_proxy), and with the disk fault file
 * system (disk) its torn and unsynced counts. */
static uint32_t real_measured(const realnet_t *net, int via_proxy, int disk) {
    uint32_t tcp = 1u << FAULT_SPLIT | 1u << FAULT_RESETS; /* the proxy's: only when it is in the way */
    return (net->measured & (via_proxy ? UINT32_MAX : ~tcp)) | 1u << FAULT_CRASHES | 1u << FAULT_RESTARTS |
           1u << FAULT_PAUSES | 1u << FAULT_PARTITIONS |
           (disk ? 1u << FAULT_TORN | 1u << FAULT_UNSYNCED | 1u << FAULT_NOSPACE | 1u << FAULT_EIO : 0);
}

/* The faults of s that net cannot produce, each named once (e.g. "udp loss", "torn write"),
 * and each `expect fault X` whose counter it cannot measure ("expect fault split"): judged
 * it would fail for the wrong reason (>= 1) or pass for nothing (== 0). */
static int real_unsupported(const scenario_t *s, const realnet_t *net, int via_proxy, int disk,
                            char names[REAL_SKIPPED_MAX][REAL_FAULT_NAME_BYTES]) {
    int count = 0;
    uint32_t caps = net->caps | (disk ? REAL_CAN_DISK : 0);
    for (size_t i = 0; i < s->expect_count; i++) {
        const scn_expect_t *e = &s->expects[i];
        if (e->kind != EXP_FAULT || (real_measured(net, via_proxy, disk) & (1u << e->fault))) continue;
        char name[REAL_FAULT_NAME_BYTES];
        snprintf(name, sizeof(name), "expect fault %s", sim_fault_names[e->fault]);
        name_add(names, &count, name);
    }
    sim_faults_t f = s->faults;
    faults_unsupported(&f, caps, names, &count);
    for (size_t i = 0; i < s->step_count; i++) {
        const scn_step_t *st = &s->steps[i];
        if (st->kind == STEP_OP && st->half_close && !(caps & REALNET_CAN_TCP)) name_add(names, &count, "half-close");
        /* keep-alive sessions: the runner's own connections (realsess.h), on every back end */
        if (st->kind == STEP_PARTITION && !(caps & REALNET_CAN_PARTITION)) name_add(names, &count, "partition");
        /* the forger sits on serverM's address in front of each backend: the UDP relay's */
        if (st->kind == STEP_FORGE && !(caps & REALNET_CAN_FORGE))
            name_add(names, &count, "forge (no relay on serverM's address)");
        if (st->on.type != 0 && !(caps & REALNET_CAN_ANCHOR)) name_add(names, &count, "step on a protocol event");
        if (st->kind == STEP_SET) {
            sim_set_apply(&f, &st->set);
            faults_unsupported(&f, caps, names, &count);
        }
        if (st->kind == STEP_RECOVER) {
            sim_faults_calm(&f);
        }
    }
    return count;
}

/* ------------------------------------------------------------------ the run's state */

typedef struct {
    pid_t pid;                /* 0: not running */
    int paused;
    int awaiting_up;          /* restarted, its "up" line not waited for yet (restarts_wait) */
    unsigned generation;      /* restarts so far (log file names) */
} real_server_t;

typedef struct {
    const scn_step_t *step;
    pid_t pid;
    check_op_t c;             /* state, times, exit code, req, reply */
    char out_path[REAL_PATH_BYTES], err_path[REAL_PATH_BYTES];
    char *out, *err, *file;   /* read back (owned) */
    size_t out_len, err_len, file_len;
    uint64_t touches_at_start, touches; /* excuse_t.total at its start; touches while it ran */
    uint64_t drawn_at_start, drawn;     /* the same of excuse_t.drawn */
    uint8_t model;            /* hist_model_t: the judge's verdict on its printed answer */
    int driven;               /* a keep-alive session, or an operation on one: the runner's
                               * own connection (realsess.h), no process */
    int disturbed;            /* its failure is its own doing (a reset session, past the
                               * pipelining limit): no availability case */
} real_op_t;

typedef struct {
    const scenario_t *scn;
    const real_options_t *opts;
    real_result_t *res;
    realnet_t lo;
    realnet_t *net;
    int net_ready;
    char dir[REAL_DIR_BYTES];
    char programs[REAL_DIR_BYTES];
    unsigned offset;
    int lock_fd;
    uint64_t seed;
    uint64_t t0_us;           /* wall clock of time 0 */
    uint64_t landed_us;       /* run time the current step's injections were all acknowledged */
    uint64_t *land_us;        /* per step: its landing, UINT64_MAX when not a timed fault */
    real_server_t srv[SIM_SERVERS];
    real_op_t *ops;
    size_t op_count;
    int cut;                  /* a partition is active */
    int hard;                 /* a partition, a server down or paused: the run is not settled */
    /* the one rule of judge/excuse.h, fed with what real mode observes: its own crash,
     * restart and pause intervals, and the injectors' counters sampled over time */
    excuse_t ex;
    const sim_faults_t *faults_now; /* the settings in force: &faults_cur while steps run */
    sim_faults_t faults_cur;  /* kept in r, not on run_body's stack: the clients still
                               * reaped after it returns sample touches against them */
    int16_t step_now;         /* the step being run (EXCUSE_SETTINGS outside one) */
    int anchor_fd;            /* readable when a step on a protocol event fired (-1: none armed) */
    uint64_t anchor_due[SCN_ANCHORS_MAX]; /* run time a fired "+D" step is due (UINT64_MAX: none) */
    uint32_t anchors_due;     /* of them, not yet carried out */
    realsess_t *rs;           /* the keep-alive sessions' connections */
    int via_proxy;            /* the clients pass the back end's TCP fault proxy */
    int16_t cut_src, udp_src; /* the partition / net udp step counters are attributed to */
    int16_t disk_src;         /* the step that set the disk settings slow syncs happen under */
    realdisk_t disk;          /* each server's directory; the disk fault file system over it */
    int defer_up;             /* node_restart leaves the "up" wait to restarts_wait */
    uint64_t sampled_us;      /* run time of the last counters sample */
    char violations[SIM_VIOLATIONS_MAX][REAL_MSG_BYTES];
    size_t running;           /* operations started and not yet reaped */
    uint32_t violation_count;
    uint32_t safety_count;    /* violations of a safety checker: no timing excuses them */
    char *expect_log;
    size_t expect_log_len;
    uint32_t expects_failed;
    uint64_t forged_seq;      /* the forger's sequence numbers so far, counted as the
                               * simulator's world counts them (scenario/forge.h) */
    char forge_note[REAL_MSG_BYTES]; /* forge steps that sent nothing, for the report */
} real_t;

static uint64_t run_us(const real_t *r) {
    return proc_now_us() - r->t0_us;
}

static void violation(real_t *r, const char *checker, uint64_t at_us, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void violation(real_t *r, const char *checker, uint64_t at_us, const char *fmt, ...) {
    char msg[REAL_MSG_BYTES - 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (r->violation_count < SIM_VIOLATIONS_MAX)
        snprintf(r->violations[r->violation_count], REAL_MSG_BYTES, "%s at t=%.6fs: %s", checker,
                 (double)at_us / 1e6, msg);
    if (r->res->first_failure[0] == '\0')
        snprintf(r->res->first_failure, sizeof(r->res->first_failure), "%s: %s", checker, msg);
    r->violation_count++;
    /* availability and liveness are promises about time: a fault that landed late may
     * explain them; every other checker (serials, durability, phantoms, overdraft,
     * linearizability, ...) judges what the programs did, whenever the faults came */
    if (strcmp(checker, "availability") != 0 && strcmp(checker, "liveness") != 0) r->safety_count++;
}

static void sink_violation(void *ctx, const char *checker, uint64_t at_us, const char *msg) {
    violation(ctx, checker, at_us, "%s", msg);
}

static void sink_expect(void *ctx, const scn_expect_t *e, const char *msg) {
    real_t *r = ctx;
    char line[REAL_MSG_BYTES + 64];
    int n = snprintf(line, sizeof(line), "expect failed: line %u: %s\n", e->line, msg);
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    char *p = realloc(r->expect_log, r->expect_log_len + len + 1);
    if (p != NULL) {
        memcpy(p + r->expect_log_len, line, len);
        r->expect_log = p;
        r->expect_log_len += len;
        p[r->expect_log_len] = '\0';
    }
    r->expects_failed++;
    if (r->res->first_failure[0] == '\0')
        snprintf(r->res->first_failure, sizeof(r->res->first_failure), "expect (line %u): %s", e->line, msg);
}

/* ------------------------------------------------------------------ processes */

void real_up_line(int node, unsigned offset, char *buf, size_t cap) {
    if (node == SIM_NODE_M) snprintf(buf, cap, MSG_M_UP);
    else snprintf(buf, cap, MSG_BACKEND_UP, 'A' + node - 1, port_backend(node - 1, offset));
}

/* What the child of real_spawn needs to put itself on its node (proc_spec_t.in_child). */
typedef struct {
    const realnet_t *net;
    int node;
} real_enter_t;

static int real_enter(const void *arg) {
    const real_enter_t *at = arg;
    return at->net->enter(at->net, at->node);
}

pid_t real_spawn(const real_env_t *e, int node, const char *prog, uint64_t seed, int argc, char *const *args,
                 const char *out_path, const char *err_path) {
    char path[REAL_PATH_BYTES];
    snprintf(path, sizeof(path), "%s/%s", e->programs, prog);
    const char *const *wrap;
    int nwrap;
    e->net->wrap(e->net, node, &wrap, &nwrap);
    const char *argv[REALNET_WRAP_ARGS_MAX + SCN_ARGS_MAX + 2];
    int na = 0;
    for (int k = 0; k < nwrap && k < REALNET_WRAP_ARGS_MAX; k++) argv[na++] = wrap[k];
    argv[na++] = path;
    for (int k = 0; k < argc && k < SCN_ARGS_MAX; k++) argv[na++] = args[k];
    argv[na] = NULL;
    char env[6 + SIM_SERVERS][REAL_ENV_BYTES];
    /* a server works in its own directory when it has one (its disk: realdisk.h) */
    const char *home = node < SIM_SERVERS && e->node_dir[node] != NULL ? e->node_dir[node] : e->dir;
    proc_spec_t sp = {.argv = argv, .cwd = home, .out_path = out_path, .err_path = err_path};
    int ne = 0;
    snprintf(env[ne++], REAL_ENV_BYTES, "ALICHAIN_PORT_OFFSET=%u", e->offset);
    snprintf(env[ne++], REAL_ENV_BYTES, "ALICHAIN_TIMEOUT_MS=%u", e->timeout_ms);
    snprintf(env[ne++], REAL_ENV_BYTES, "ALICHAIN_CLIENT_TIMEOUT_MS=%u", e->client_timeout_ms);
    snprintf(env[ne++], REAL_ENV_BYTES, "ALICHAIN_SEED=%llu", (unsigned long long)seed);
    /* the servers' shared key, created by the first to start, in the run's directory: never
     * the user's ~/.alichain.key */
    snprintf(env[ne++], REAL_ENV_BYTES, "ALICHAIN_KEY_FILE=%s/alichain.key", e->dir);
    if (node >= SIM_NODE_A && node <= SIM_NODE_C)
        snprintf(env[ne++], REAL_ENV_BYTES, "ALICHAIN_BLOCK=%s/%s", home, blockfile_default_name(node - 1));
    /* where each server is, as this program sees it (serverM may see the relays instead) */
    for (int h = 0; h < SIM_SERVERS; h++) {
        const char *host = e->net->host(e->net, h);
        if (node == SIM_NODE_M && h != SIM_NODE_M && e->net->host_seen_by_m != NULL)
            host = e->net->host_seen_by_m(e->net, h);
        if (node == SIM_NODE_CLIENTS && h == SIM_NODE_M && e->client_m_host != NULL) host = e->client_m_host;
        snprintf(env[ne++], REAL_ENV_BYTES, "%s=%s", host_env[h], host);
    }
    for (int k = 0; k < ne; k++) sp.env[k] = env[k];
    real_enter_t at = {.net = e->net, .node = node}; /* the child's copy is the one used */
    if (e->net->enter != NULL) {
        sp.in_child = real_enter;
        sp.in_child_arg = &at;
    }
    return proc_spawn(&sp);
}

static pid_t spawn(real_t *r, int node, const char *prog, int argc, char *const *args,
                   const char *out_path, const char *err_path, const char *client_m_host) {
    real_env_t e = {.net = r->net, .programs = r->programs, .dir = r->dir, .offset = r->offset,
                    .timeout_ms = r->scn->timeout_ms, .client_timeout_ms = r->scn->client_timeout_ms,
                    .client_m_host = client_m_host};
    for (int n = 0; n < SIM_SERVERS; n++) e.node_dir[n] = r->disk.dir[n];
    uint64_t seed = r->seed;
    if (node == SIM_NODE_M && r->srv[node].generation == 0) {
        /* the seed the simulator gives serverM's first coordinator: the first draw of the
         * world's PRNG (world.c m_start), so that its random choices (the backend a batch's
         * write goes to: "seed 3 picks B") are the simulator's; a restarted serverM's seed is
         * drawn there at a moment real mode cannot know, so it keeps the scenario's */
        prng_t p;
        prng_init(&p, r->seed);
        seed = prng_next(&p);
    }
    return real_spawn(&e, node, prog, seed, argc, args, out_path, err_path);
}

static void server_log(const real_t *r, int node, const char *ext, char *path, size_t cap) {
    snprintf(path, cap, "%s/logs/%s.%u.%s", r->dir, server_prog[node], r->srv[node].generation, ext);
}

/* Starts server node and waits for its "up" line. Returns 0 or -1 with err. */
static int server_spawn(real_t *r, int node, char *err, size_t cap) {
    char out[REAL_PATH_BYTES], er[REAL_PATH_BYTES];
    server_log(r, node, "out", out, sizeof(out));
    server_log(r, node, "err", er, sizeof(er));
    pid_t pid = spawn(r, node, server_prog[node], 0, NULL, out, er, NULL);
    if (pid < 0) {
        snprintf(err, cap, "cannot fork %s: %s", server_prog[node], strerror(errno));
        return -1;
    }
    r->srv[node].pid = pid;
    r->srv[node].paused = 0;
    if (r->t0_us != 0) r->landed_us = run_us(r); /* a restart lands when its process starts:
                                                  * its own start-up is the program's time */
    return 0;
}

/* Waits for the "up" line of the server node that server_spawn started. */
static int server_wait_up(real_t *r, int node, char *err, size_t cap) {
    char out[REAL_PATH_BYTES], er[REAL_PATH_BYTES], up[REAL_MSG_BYTES];
    server_log(r, node, "out", out, sizeof(out));
    server_log(r, node, "err", er, sizeof(er));
    pid_t pid = r->srv[node].pid;
    real_up_line(node, r->offset, up, sizeof(up));
    int status = 0;
    switch (proc_wait_up(pid, out, up, REAL_START_MS_MAX * 1000ull, REAL_TICK_US, &status)) {
    case 0: return 0;
    case -1: {
        r->srv[node].pid = 0;
        char *e = NULL;
        size_t el = 0;
        proc_file_read(er, REAL_FILE_BYTES_MAX, &e, &el);
        if (e != NULL && el > 0 && e[el - 1] == '\n') e[el - 1] = '\0';
        snprintf(err, cap, "%s exited at start (status %d): %.300s", server_prog[node], proc_exit_code(status),
                 e ? e : "");
        free(e);
        return -1;
    }
    case -2:
        snprintf(err, cap, "%s printed no \"up\" line within %d ms", server_prog[node], REAL_START_MS_MAX);
        return -1;
    default: snprintf(err, cap, "interrupted"); return -1;
    }
}

static int server_start(real_t *r, int node, char *err, size_t cap) {
    if (server_spawn(r, node, err, cap) != 0) return -1;
    return server_wait_up(r, node, err, cap);
}

/* ------------------------------------------------------------------ faults in force, touches (availability, liveness) */

/* Whether the run is settled (no partition, every server up and running), and the down
 * and paused intervals the runner itself makes, as touches (judge/excuse.h). */
static void faults_update(real_t *r) {
    uint64_t now = run_us(r);
    int hard = r->cut;
    for (int n = 0; n < SIM_SERVERS; n++) {
        hard |= r->srv[n].pid == 0 || r->srv[n].paused;
        if (r->srv[n].pid == 0) excuse_begin(&r->ex, TOUCH_DOWN, n, r->step_now, now);
        else excuse_end(&r->ex, TOUCH_DOWN, n, now);
        if (r->srv[n].paused) excuse_begin(&r->ex, TOUCH_PAUSED, n, r->step_now, now);
        else excuse_end(&r->ex, TOUCH_PAUSED, n, now);
    }
    r->hard = hard;
}

/* 1 when a UDP link to or from a backend has settings under which its datagrams touch:
 * loss (what = 0) or delay (what = 1) beyond the calm bounds of judge/excuse.h. */
static int links_may_touch(const real_t *r, int what) {
    for (int b = 1; b < SIM_SERVERS; b++) {
        const sim_udp_t *u[2] = {&r->faults_now->udp[SIM_NODE_M][b], &r->faults_now->udp[b][SIM_NODE_M]};
        for (int k = 0; k < 2; k++) {
            sim_udp_t only = *u[k];
            if (what == 0) only.delay_max_us = 0, only.reorder_ppm = 0;
            else only.loss_ppm = 0;
            if (excuse_udp_may_touch(&only, r->ex.late_us)) return 1;
        }
    }
    return 0;
}

/* Reads what the injectors counted since the last sample (the relays' shared counters and,
 * on namespace hosts, nftables': a process spawn, so this runs at step boundaries and when
 * operations end, not every loop turn) and feeds it to the rule as touches somewhere in
 * [last sample, now]. Per-interval totals, not per link: a cut is attributed to the latest
 * partition step, a loss or a late datagram to the latest net udp step (sampling before a
 * step would attribute better but delays its landing by a process spawn). Datagrams that
 * crossed while a link's delay exceeds timeout/8 count as late: the relay does not time
 * them, so real mode takes them as possibly late. */
static void touches_sample(real_t *r) {
    if (r->faults_now == NULL) return;
    realnet_counters_t d = {0};
    if (r->net->counters != NULL) r->net->counters(r->net, d);
    uint64_t slow = realdisk_counters(&r->disk, d); /* torn and unsynced: counted at power cuts */
    for (int k = 0; k < FAULT_COUNT; k++) r->res->faults[k] += d[k];
    uint64_t now = run_us(r), from = r->sampled_us;
    r->sampled_us = now;
    excuse_touch(&r->ex, TOUCH_CUT, r->cut_src, from, now, d[FAULT_CUT]);
    excuse_touch(&r->ex, TOUCH_STALLED, r->cut_src, from, now, d[FAULT_STALLED]);
    /* a reset the TCP proxy drew: the simulator disturbs that connection's operation; the
     * proxy cannot tell which operation a connection is, so it touches the interval */
    excuse_touch(&r->ex, TOUCH_STALLED, r->udp_src, from, now, d[FAULT_RESETS]);
    if (links_may_touch(r, 0)) excuse_touch(&r->ex, TOUCH_LOST, r->udp_src, from, now, d[FAULT_LOST]);
    if (links_may_touch(r, 1)) excuse_touch(&r->ex, TOUCH_LATE, r->udp_src, from, now, d[FAULT_DGRAMS]);
    excuse_touch(&r->ex, TOUCH_SLOW_SYNC, r->disk_src, from, now, slow); /* a sync over timeout/8 */
    excuse_touch(&r->ex, TOUCH_DISK_ERROR, r->disk_src, from, now, d[FAULT_NOSPACE] + d[FAULT_EIO]);
}

/* ------------------------------------------------------------------ operations */

/* A socket on the clients' host, connecting to where a client of letter j reaches serverM
 * (the proxy's front when the clients pass it); fd -1 when none could be made. */
static void session_connect(real_t *r, size_t i, int j) {
    char err[REAL_MSG_BYTES];
    int fd = r->net->socket != NULL ? r->net->socket(r->net, SIM_NODE_CLIENTS, err, sizeof(err))
                                    : socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = -1, e = EINVAL;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port_client(j, r->offset))};
    const char *host = r->via_proxy ? r->net->tcp_front(r->net, 0) : r->net->host(r->net, SIM_NODE_M);
    if (fd >= 0 && inet_pton(AF_INET, host, &a.sin_addr) == 1) {
        rc = connect(fd, (const struct sockaddr *)&a, sizeof(a));
        e = rc < 0 ? errno : 0;
    }
    realsess_start(r->rs, (uint32_t)i, fd, rc, e, run_us(r));
}

static void op_start(real_t *r, real_op_t *op, size_t i) {
    const scn_step_t *st = op->step;
    snprintf(op->out_path, sizeof(op->out_path), "%s/logs/op%zu.out", r->dir, i);
    snprintf(op->err_path, sizeof(op->err_path), "%s/logs/op%zu.err", r->dir, i);
    char err[200];
    const char *argv[SCN_ARGS_MAX + 1] = {st->client ? "clientB" : "clientA"};
    for (int k = 0; k < st->argc && k < SCN_ARGS_MAX; k++) argv[k + 1] = st->argv[k];
    op->c.parsed = !st->keepalive && client_parse_argv(st->argc + 1, argv, &op->c.req, err, sizeof(err)) == 0;
    uint64_t now = run_us(r);
    op->c.inv_us = now;
    op->c.state = CHECK_OP_RUNNING;
    op->touches_at_start = r->ex.total;
    op->drawn_at_start = r->ex.drawn;
    r->running++;
    if (st->keepalive || realsess_join(r->rs, (uint32_t)i, now)) { /* the runner's own connection */
        op->driven = 1;
        if (st->keepalive) session_connect(r, i, st->client);
        return;
    }
    const char *front = r->via_proxy ? r->net->tcp_front(r->net, st->half_close) : NULL;
    op->pid = spawn(r, SIM_NODE_CLIENTS, st->client ? "clientB" : "clientA", st->argc, st->argv,
                    op->out_path, op->err_path, front);
    if (op->pid < 0) {
        r->running--;
        op->pid = 0;
        op->c.state = CHECK_OP_DONE;
        op->c.exit_code = 127;
        op->c.resp_us = now;
    }
}

/* The reply head a real client's output shows, read by core/outcome.c (when it is what
 * client.c prints for this request and exit code). A transfer's serial is not printed:
 * real_assign_serials finds it on disk. */
static void op_reply_from_output(real_op_t *op) {
    check_op_t *c = &op->c;
    wire_crep_t *rep = &c->reply;
    memset(rep, 0, sizeof(*rep));
    if (!c->parsed || (c->exit_code != 0 && c->exit_code != 1)) return;
    outcome_t o;
    if (outcome_parse(op->out, op->out_len, op->err, op->err_len, &o, NULL, 0) == 0 &&
        outcome_exit_code(&o) == c->exit_code && o.req.op == c->req.op)
        *rep = o.reply;
    c->have_reply = rep->kind != 0;
}

/* An operation ended at resp_us with its output in op: the TXLIST file it saw, then the
 * judging every operation gets when it ends (a keep-alive session itself is not judged:
 * its operations are; nor is a failure the client brought on itself). */
static void op_end(real_t *r, real_op_t *op, uint64_t resp_us, int exit_code) {
    AC_ASSERT(r->running > 0);
    r->running--;
    op->pid = 0;
    op->c.resp_us = resp_us;
    op->c.state = CHECK_OP_DONE;
    op->touches = r->ex.total - op->touches_at_start;
    op->drawn = r->ex.drawn - op->drawn_at_start;
    op->c.exit_code = exit_code;
    /* alichain.txt as serverM answered (read now: a later TXLIST may replace it) */
    if (op->c.parsed && op->c.req.op == CREQ_TXLIST && op->c.exit_code == 0) {
        char path[REAL_PATH_BYTES];
        realdisk_path(&r->disk, SIM_NODE_M, "alichain.txt", path, sizeof(path));
        proc_file_read(path, REAL_FILE_BYTES_MAX, &op->file, &op->file_len);
    }
    const scn_step_t *st = op->step;
    if (st->keepalive) return;
    /* a result the checkers cannot read would pass unjudged: say so */
    if (op->c.parsed && (op->c.exit_code == 0 || op->c.exit_code == 1) && !op->c.have_reply)
        violation(r, "harness", op->c.resp_us, "%s exited %d but its stdout shows no result real mode "
                  "can read (core/messages.h changed?)", st->label, op->c.exit_code);
    if (op->c.exit_code == CLIENT_EXIT_FAILED && !op->disturbed && excuse_owed(&r->ex, op->c.inv_us))
        violation(r, "availability", op->c.resp_us, "%s (client%c) ended with exit 3 although no fault "
                  "touched the run from %.6fs (its start %.6fs less the lookback) on", st->label,
                  st->client ? 'B' : 'A',
                  (double)(op->c.inv_us > r->ex.lookback_us ? op->c.inv_us - r->ex.lookback_us : 0) / 1e6,
                  (double)op->c.inv_us / 1e6);
    uint64_t bound = excuse_bound_us(&r->ex, op->c.inv_us);
    if (op->c.resp_us > bound)
        violation(r, "liveness", op->c.resp_us, "%s ended at %.6fs, after its bound %.6fs", st->label,
                  (double)op->c.resp_us / 1e6, (double)bound / 1e6);
}

static void op_finish(real_t *r, real_op_t *op, int status) {
    proc_file_read(op->out_path, REAL_FILE_BYTES_MAX, &op->out, &op->out_len);
    proc_file_read(op->err_path, REAL_FILE_BYTES_MAX, &op->err, &op->err_len);
    op->c.exit_code = proc_exit_code(status);
    op_reply_from_output(op);
    op_end(r, op, run_us(r), op->c.exit_code);
}

static char *text_dup(const char *p, size_t len) {
    char *d = malloc(len + 1);
    if (d != NULL) {
        memcpy(d, p, len);
        d[len] = '\0';
    }
    return d;
}

/* A driven operation's output so far, copied into op (realsess.h keeps its own). */
static void sess_output(real_t *r, real_op_t *op, uint32_t i) {
    const char *out, *err;
    size_t out_len, err_len;
    realsess_output(r->rs, i, &out, &out_len, &err, &err_len);
    free(op->out);
    free(op->err);
    op->out = text_dup(out, out_len);
    op->err = text_dup(err, err_len);
    op->out_len = op->out ? out_len : 0;
    op->err_len = op->err ? err_len : 0;
}

/* realsess's hooks: a session or an operation on one ended; serverM broke its framing. */
static void sess_done(void *ctx, uint32_t i, uint64_t now_us, const realsess_end_t *e) {
    real_t *r = ctx;
    real_op_t *op = &r->ops[i];
    if (op->c.state != CHECK_OP_RUNNING) return;
    touches_sample(r); /* what touched it, before it is judged */
    sess_output(r, op, i);
    op->c.reply = e->reply;
    op->c.have_reply = e->have_reply;
    op->c.session = e->session;
    op->c.session_seq = e->seq;
    op->disturbed = e->disturbed;
    op_end(r, op, now_us, e->exit_code);
}

static void sess_violation(void *ctx, const char *checker, uint64_t now_us, const char *msg) {
    violation(ctx, checker, now_us, "%s", msg);
}

/* Reaps every client that has exited; returns how many are still running. */
/* Set by SIGCHLD: some child ended since ops_reap last looked. Without it the runner asked
 * every running client with waitpid on every loop turn — 100,000 calls in a 1,200-transfer
 * run, enough to make its timed fault steps land tens of ms late. */
static volatile sig_atomic_t child_ended = 1;
static void on_child(int sig) {
    (void)sig;
    child_ended = 1;
}

static size_t ops_reap(real_t *r) {
    if (!child_ended) return r->running;
    child_ended = 0; /* cleared first: an exit during the walk is seen on the next turn */
    int sampled = 0;
    for (size_t i = 0; i < r->op_count && r->running > 0; i++) {
        real_op_t *op = &r->ops[i];
        if (op->c.state != CHECK_OP_RUNNING || op->pid <= 0) continue;
        int status;
        if (waitpid(op->pid, &status, WNOHANG) != op->pid) continue;
        if (!sampled) touches_sample(r); /* what touched it, before it is judged */
        sampled = 1;
        op_finish(r, op, status);
    }
    return r->running;
}

/* ------------------------------------------------------------------ fault steps */

/* Hands every UDP link whose settings differ between before and after to the back end. */
static int udp_apply(real_t *r, const sim_faults_t *before, const sim_faults_t *after, char *err, size_t cap) {
    for (int a = 0; a < SIM_SERVERS; a++) {
        for (int b = 0; b < SIM_SERVERS; b++) {
            if (memcmp(&before->udp[a][b], &after->udp[a][b], sizeof(sim_udp_t)) == 0) continue;
            int rc = r->net->udp(r->net, a, b, &after->udp[a][b], err, cap);
            if (rc == REALNET_UNSUPPORTED && r->opts->skip_unsupported) continue;
            if (rc != REALNET_OK) return -1;
        }
    }
    return 0;
}

static int udp_supported(const real_t *r) {
    return (r->net->caps & (REALNET_CAN_UDP_LOSS | REALNET_CAN_UDP_DUP | REALNET_CAN_UDP_REORDER |
                            REALNET_CAN_UDP_DELAY)) != 0;
}

/* Restarts node n (its disk's power back first). With r->defer_up its "up" line is waited
 * for later (restarts_wait), so restarts due at the same time all start at their time. */
static int node_restart(real_t *r, int n, char *err, size_t cap) {
    if (r->srv[n].pid != 0) return 0;
    if (realdisk_on(&r->disk, n, err, cap) != 0) return -1; /* its disk has power again */
    r->srv[n].generation++;
    r->res->faults[FAULT_RESTARTS]++;
    int rc = server_spawn(r, n, err, cap);
    if (rc == 0 && r->defer_up) {
        r->srv[n].awaiting_up = 1;
        return 0;
    }
    if (rc == 0) rc = server_wait_up(r, n, err, cap);
    if (rc != 0) {
        if (proc_interrupted()) return -1;
        violation(r, "durability", run_us(r), "a restart failed: %s", err);
        return 0; /* judged, not a harness failure: the node stays down */
    }
    return 0;
}

/* Waits for the "up" line of every restart node_restart deferred. */
static int restarts_wait(real_t *r, char *err, size_t cap) {
    for (int n = 0; n < SIM_SERVERS; n++) {
        if (!r->srv[n].awaiting_up) continue;
        r->srv[n].awaiting_up = 0;
        if (server_wait_up(r, n, err, cap) == 0) continue;
        if (proc_interrupted()) return -1;
        violation(r, "durability", run_us(r), "a restart failed: %s", err);
    }
    faults_update(r);
    return 0;
}

/* Makes the network faults handed over so far land (realnet_t.commit): returns once every
 * injector acknowledged them. 0, or -1 with err. */
static int net_commit(real_t *r, char *err, size_t cap) {
    if (r->net->commit == NULL) return 0;
    return r->net->commit(r->net, err, cap) == REALNET_OK ? 0 : -1;
}

static int step_do(real_t *r, const scn_step_t *st, sim_faults_t *faults, size_t *next_op,
                   char *err, size_t cap);

/* One timed step; sets r->landed_us to the run time its injections were acknowledged (a
 * restart's: when its process started). Returns 0, or -1 with err (a harness failure: the
 * run fails). */
static int step_run(real_t *r, const scn_step_t *st, sim_faults_t *faults, size_t *next_op,
                    char *err, size_t cap) {
    r->step_now = (int16_t)(st - r->scn->steps);
    int rc = step_do(r, st, faults, next_op, err, cap);
    if (rc == 0 && st->kind != STEP_OP) touches_sample(r); /* a step boundary */
    r->step_now = EXCUSE_SETTINGS;
    return rc;
}

static int step_do(real_t *r, const scn_step_t *st, sim_faults_t *faults, size_t *next_op,
                   char *err, size_t cap) {
    int n = st->node;
    switch ((step_kind_t)st->kind) {
    case STEP_OP:
        op_start(r, &r->ops[*next_op], *next_op);
        (*next_op)++;
        return 0;
    case STEP_CRASH:
        if (n < SIM_SERVERS && r->srv[n].pid != 0) {
            /* kill -9, then the power cut of its disk (a sync it sleeps in fails: a killed
             * process waits for the file system's answer), then the reaping */
            kill(r->srv[n].pid, SIGKILL);
            if (realdisk_cut(&r->disk, n, err, cap) != 0) return -1;
            proc_kill(&r->srv[n].pid);
            r->srv[n].paused = 0;
            r->res->faults[FAULT_CRASHES]++;
            excuse_fault(&r->ex, r->step_now);
        }
        break;
    case STEP_RESTART:
        if (n < SIM_SERVERS && node_restart(r, n, err, cap) != 0) return -1;
        break;
    case STEP_PAUSE:
        if (n < SIM_SERVERS && r->srv[n].pid != 0 && !r->srv[n].paused) {
            kill(r->srv[n].pid, SIGSTOP);
            r->srv[n].paused = 1;
            r->res->faults[FAULT_PAUSES]++;
            excuse_fault(&r->ex, r->step_now);
        }
        break;
    case STEP_RESUME:
        if (n < SIM_SERVERS && r->srv[n].pid != 0 && r->srv[n].paused) {
            kill(r->srv[n].pid, SIGCONT);
            r->srv[n].paused = 0;
        }
        break;
    case STEP_PARTITION: {
        int rc = r->net->partition(r->net, n, st->node2, st->oneway, err, cap);
        if (rc == REALNET_UNSUPPORTED && r->opts->skip_unsupported) break;
        if (rc != REALNET_OK) return -1;
        r->cut++;
        r->res->faults[FAULT_PARTITIONS]++;
        r->cut_src = r->step_now;
        excuse_fault(&r->ex, r->step_now); /* vacuous in the report if it cuts nothing */
        break;
    }
    case STEP_HEAL:
        if (r->net->heal(r->net, n, st->node2, st->oneway, err, cap) != REALNET_OK) return -1;
        if (n == SIM_NODE_ALL || r->cut <= 1) r->cut = 0;
        else r->cut--;
        break;
    case STEP_RECOVER: {
        /* the network first (heal, calm rates: one commit), then the processes, so the
         * restarts' start-up does not delay the network's landing */
        if (r->net->heal(r->net, SIM_NODE_ALL, SIM_NODE_ALL, 0, err, cap) != REALNET_OK) return -1;
        r->cut = 0;
        sim_faults_t before = *faults;
        sim_faults_calm(faults);
        if (udp_supported(r) && udp_apply(r, &before, faults, err, cap) != 0) return -1;
        if (realdisk_set(&r->disk, faults, err, cap) != 0) return -1; /* the disks' errors off */
        if (r->via_proxy && r->net->tcp(r->net, &faults->tcp, err, cap) != REALNET_OK) return -1;
        if (net_commit(r, err, cap) != 0) return -1;
        r->landed_us = run_us(r);
        for (int k = 0; k < SIM_SERVERS; k++) {
            if (r->srv[k].pid != 0 && r->srv[k].paused) {
                kill(r->srv[k].pid, SIGCONT);
                r->srv[k].paused = 0;
            }
            if (node_restart(r, k, err, cap) != 0) return -1;
        }
        faults_update(r);
        return 0;
    }
    case STEP_SET: {
        sim_faults_t before = *faults;
        sim_set_apply(faults, &st->set);
        r->udp_src = r->step_now;
        if (excuse_faults_may_touch(&r->ex, faults) && memcmp(&before, faults, sizeof(before)) != 0)
            excuse_fault(&r->ex, r->step_now);
        if (st->set.what == SET_UDP && udp_supported(r) && udp_apply(r, &before, faults, err, cap) != 0)
            return -1;
        if (st->set.what == SET_DISK || st->set.what == SET_FILE) {
            r->disk_src = r->step_now;
            if (realdisk_set(&r->disk, faults, err, cap) != 0) return -1; /* no-op without the file system */
        }
        if (st->set.what == SET_TCP && r->via_proxy && r->net->tcp(r->net, &faults->tcp, err, cap) != REALNET_OK)
            return -1;
        break;
    }
    case STEP_SESSION: /* the session's client half-closes or resets its own connection */
        /* Counted, never an excuse (as in the simulator, sim/world/session.c): the
         * operations it cuts are marked disturbed, failing by design; no other is touched. */
        if (realsess_end(r->rs, st->session, !st->half_close, run_us(r))) r->res->faults[FAULT_RESETS]++;
        break;
    case STEP_FORGE: { /* refused before the run where the back end has no forger (real_unsupported) */
        uint64_t seq = r->forged_seq;
        r->forged_seq += st->forge == FORGE_WRITE ? 2u : st->forge == FORGE_FENCE ? 1u : 0u;
        if (r->net->forge == NULL || !(r->net->caps & REALNET_CAN_FORGE)) break; /* --skip-unsupported */
        uint32_t sent = 0;
        if (r->net->forge(r->net, n, st->forge, seq, &sent, err, cap) != REALNET_OK) return -1;
        if (sent == 0) { /* named, never silently kept: a forgery that sent nothing proves nothing */
            size_t used = strlen(r->forge_note);
            snprintf(r->forge_note + used, sizeof(r->forge_note) - used, "%sline %u forge %c %s",
                     used ? ", " : "", st->line, backend_letter(n - SIM_NODE_A), forge_names[st->forge]);
        }
        break;
    }
    }
    if (net_commit(r, err, cap) != 0) return -1;
    if (st->kind != STEP_RESTART) r->landed_us = run_us(r);
    faults_update(r);
    return 0;
}

/* ------------------------------------------------------------------ judging */

/* Coins over the final files: every user's balance from the distinct transactions, none
 * negative, and their sum 1000 x users (the real index is not visible from outside). */
static int conservation_files(real_t *r, const check_txs_t *disk) {
    check_disks_t x;
    if (check_disks_index(&x, disk) != 0) {
        check_disks_free(&x);
        return AC_ENOMEM;
    }
    int64_t total = check_disks_coins(&x), users = x.users;
    if (total != users * BALANCE_INITIAL)
        violation(r, "conservation", run_us(r), "the final block files hold %lld coins for %lld users, "
                  "not %lld", (long long)total, (long long)users, (long long)(users * BALANCE_INITIAL));
    check_disks_free(&x);
    return 0;
}

/* The judge's stop(): a SIGINT or SIGTERM during judging ends it (run_stop). */
static int judge_stop(void *ctx) {
    (void)ctx;
    return proc_interrupted();
}

static int judge(real_t *r, int settled) {
    check_txs_t disk = {0}, initial = {0};
    int rc = 0;
    for (int b = 0; rc == 0 && b < BACKEND_COUNT; b++) {
        char path[REAL_PATH_BYTES], mpath[REAL_PATH_BYTES + 16], err[REAL_MSG_BYTES];
        realdisk_path(&r->disk, SIM_NODE_A + b, blockfile_default_name(b), path, sizeof(path));
        snprintf(mpath, sizeof(mpath), "%s%s", path, BLOCKFILE_MARKER_SUFFIX);
        char *img = NULL, *marker = NULL;
        size_t len = 0, mlen = 0;
        if (proc_file_read(path, REAL_FILE_BYTES_MAX, &img, &len) != 0 || proc_file_read(mpath, REAL_FILE_BYTES_MAX, &marker, &mlen) != 0) {
            violation(r, "durability", run_us(r), "cannot read %s", path);
        } else {
            int bad = check_block_read(img ? img : "", len, marker, mlen, b, &disk, err, sizeof(err));
            if (bad < 0) rc = bad;
            else if (bad > 0)
                violation(r, "durability", run_us(r), "a restart could not recover %s: %s",
                          blockfile_default_name(b), err);
        }
        free(img);
        free(marker);
        if (rc == 0 && r->scn->block[b] != NULL) {
            int ib = check_block_read(r->scn->block[b], r->scn->block_len[b], NULL, 0, b, &initial, err, sizeof(err));
            if (ib < 0) rc = ib;
        }
    }
    check_op_t *ops = calloc(r->op_count + 1, sizeof(*ops));
    uint8_t *model = calloc(r->op_count + 1, 1);
    char *txlist = NULL;
    size_t txlist_len = 0;
    char tpath[REAL_PATH_BYTES];
    realdisk_path(&r->disk, SIM_NODE_M, "alichain.txt", tpath, sizeof(tpath));
    if (ops == NULL || model == NULL || proc_file_read(tpath, REAL_FILE_BYTES_MAX, &txlist, &txlist_len) != 0) rc = AC_ENOMEM;
    if (rc == 0) {
        for (size_t i = 0; i < r->op_count; i++) {
            ops[i] = r->ops[i].c;
            ops[i].out = r->ops[i].out;
            ops[i].out_len = r->ops[i].out_len;
            ops[i].err = r->ops[i].err;
            ops[i].err_len = r->ops[i].err_len;
            ops[i].file = r->ops[i].file;
            ops[i].file_len = r->ops[i].file_len;
        }
        /* said before the work, so a caller (tests/real) can see judging has begun */
        if (r->opts->report != NULL)
            fprintf(stderr, "judging %zu operations and %zu disk lines\n", r->op_count, disk.count);
        for (uint64_t until = proc_now_us() + r->opts->judge_hold_ms * 1000ull;
             proc_now_us() < until && !proc_interrupted();)
            proc_sleep_us(REAL_TICK_US);
        rc = check_assign_serials(ops, r->op_count, &disk, &initial, judge_stop, NULL);
    }
    if (rc == 0) {
        check_input_t in = {.scn = r->scn, .ops = ops, .op_count = r->op_count, .disk = &disk,
                            .txlist = txlist, .txlist_len = txlist_len, .faults = r->res->faults,
                            .faults_unmeasured = ~real_measured(r->net, r->via_proxy, r->disk.mounted > 0),
                            .settled = settled, .stop = judge_stop, .model = model};
        check_sink_t sink = {.violation = sink_violation, .expect_failed = sink_expect, .ctx = r};
        rc = check_judge(&in, &sink);
        for (size_t i = 0; rc == 0 && i < r->op_count; i++) r->ops[i].model = model[i];
        if (rc == 0) rc = conservation_files(r, &disk);
    }
    if (rc == 0) { /* handed to compare */
        r->res->final = (real_final_t){.known = 1, .disks = disk, .txlist = txlist, .txlist_len = txlist_len};
        disk = (check_txs_t){0};
        txlist = NULL;
    }
    free(ops);
    free(model);
    free(txlist);
    check_txs_free(&disk);
    check_txs_free(&initial);
    return rc;
}

/* ------------------------------------------------------------------ the run */

/* A failed run's diagnostics, before its directory goes: the last lines of every server
 * process's stderr (each generation: a restart is a new process). */
static void report_server_logs(const real_t *r, FILE *f) {
    for (int n = 0; n < SIM_SERVERS; n++) {
        for (unsigned g = 0; g <= r->srv[n].generation; g++) {
            char path[REAL_PATH_BYTES], *text = NULL;
            size_t len = 0;
            snprintf(path, sizeof(path), "%s/logs/%s.%u.err", r->dir, server_prog[n], g);
            if (proc_file_read(path, REAL_FILE_BYTES_MAX, &text, &len) != 0 || text == NULL || len == 0) {
                free(text);
                continue;
            }
            const char *from = text + len;
            for (int lines = 0; from > text && lines <= REAL_LOG_LINES_MAX; from--) lines += from[-1] == '\n';
            if (from > text) from += 1;
            for (const char *p = from; *p != '\0';) {
                const char *nl = strchr(p, '\n');
                int l = nl ? (int)(nl - p) : (int)strlen(p);
                if (l > 0) fprintf(f, "log %s#%u: %.*s\n", server_prog[n], g, l, p);
                p += l + (nl != NULL);
            }
            free(text);
        }
    }
}

static void landing_report(const real_t *r, FILE *f);

static void report_print(const real_t *r, FILE *f, uint64_t wall_us) {
    real_result_t *res = r->res;
    const char *why = r->opts->net_note;
    if (strcmp(r->net->name, "loopback") != 0)
        fprintf(f, "network: %s (a network namespace per host, 198.18.0.0/24)\n", r->net->name);
    else if (why != NULL)
        fprintf(f, "network: loopback (no namespaces: every program on 127.0.0.1; hosts "
                   "unavailable: %s)\n", why);
    else
        fprintf(f, "network: loopback (no namespaces: every program on 127.0.0.1)\n");
    if (r->disk.mounted > 0) {
        char sum[REALDISK_SUMMARY_BYTES];
        realdisk_summary(&r->disk, sum, sizeof(sum));
        fprintf(f, "disk: faultfs (a fault file system over each server's directory: %s)\n", sum);
    } else {
        fprintf(f, "disk: plain (the run's directory; disk faults refused: %s)\n", r->disk.note);
    }
    fprintf(f, "port-offset: %u\n", r->offset);
    if (res->skipped_count > 0) {
        fprintf(f, "skipped (--skip-unsupported):");
        for (int i = 0; i < res->skipped_count; i++) fprintf(f, "%s %s", i ? "," : "", res->skipped[i]);
        fputc('\n', f);
    }
    uint32_t ok = 0, refused = 0, usage = 0, failed = 0, pending = 0;
    for (size_t i = 0; i < r->op_count; i++) {
        const real_op_t *op = &r->ops[i];
        const scn_step_t *st = op->step;
        fprintf(f, "op %s: client%c", st->label, st->client ? 'B' : 'A');
        for (int k = 0; k < st->argc; k++) fprintf(f, " %s", st->argv[k]);
        if (op->c.state == CHECK_OP_DONE) {
            fprintf(f, "  [%.6fs .. %.6fs] exit %d", (double)op->c.inv_us / 1e6, (double)op->c.resp_us / 1e6,
                    op->c.exit_code);
            if (op->touches > 0) fprintf(f, "  touches %llu", (unsigned long long)op->touches);
            fputc('\n', f);
        } else if (op->c.state == CHECK_OP_RUNNING)
            fprintf(f, "  [%.6fs .. ] still running\n", (double)op->c.inv_us / 1e6);
        else fprintf(f, "  never started\n");
        if (op->c.state != CHECK_OP_DONE) pending++;
        else if (op->c.exit_code == 0) ok++;
        else if (op->c.exit_code == 1) refused++;
        else if (op->c.exit_code == 2) usage++;
        else failed++;
        for (int k = 0; r->opts->verbose && k < 2; k++) {
            const char *text = k ? op->err : op->out;
            for (const char *p = text; p != NULL && *p != '\0';) {
                const char *nl = strchr(p, '\n');
                int len = nl ? (int)(nl - p) : (int)strlen(p);
                fprintf(f, "    %s %.*s\n", k ? "stderr:" : "stdout:", len, p);
                p += len + (nl != NULL);
            }
        }
    }
    fprintf(f, "ops: %zu (ok %u, refused %u, usage %u, failed %u, pending %u)\n", r->op_count, ok, refused,
            usage, failed, pending);
    fprintf(f, "faults: dgrams=%llu", (unsigned long long)res->faults[FAULT_DGRAMS]);
    for (int k = 1; k < FAULT_COUNT; k++)
        fprintf(f, " %s=%llu", sim_fault_names[k], (unsigned long long)res->faults[k]);
    fputc('\n', f);
    if (r->via_proxy && r->net->note != NULL) r->net->note(r->net, f); /* what the TCP proxy did */
    if (r->forge_note[0] != '\0')
        fprintf(f, "forger: sent nothing: %s (the link had carried no datagram of serverM yet: "
                   "nothing to replay, no incarnation to forge under)\n", r->forge_note);
    excuse_report(&r->ex, f);
    scn_fired_report(&res->fired, r->scn, f);
    landing_report(r, f);
    fprintf(f, "wall: %.3fs\n", (double)wall_us / 1e6);
    uint32_t shown = r->violation_count < SIM_VIOLATIONS_MAX ? r->violation_count : SIM_VIOLATIONS_MAX;
    for (uint32_t i = 0; i < shown; i++) fprintf(f, "violation: %s\n", r->violations[i]);
    if (r->violation_count > shown) fprintf(f, "violation: ... and %u more\n", r->violation_count - shown);
    if (r->expect_log != NULL) fputs(r->expect_log, f);
    if (r->violation_count > 0 || r->expects_failed > 0) report_server_logs(r, f);
}

/* Stops every process, undoes the back end, and removes the run's directory. */
static void teardown(real_t *r) {
    for (size_t i = 0; i < r->op_count; i++) proc_kill(&r->ops[i].pid);
    realsess_free(r->rs); /* the sessions' connections */
    r->rs = NULL;
    for (int n = 0; n < SIM_SERVERS; n++) proc_kill(&r->srv[n].pid);
    realdisk_unmount(&r->disk);
    if (r->net_ready) r->net->teardown(r->net);
    r->net_ready = 0;
    if (r->dir[0] != '\0') proc_remove_tree(r->dir);
    if (r->lock_fd >= 0) close(r->lock_fd);
    r->lock_fd = -1;
}

/* Stops servers at the end: SIGTERM (finish, flush, exit 0) to the running ones, SIGKILL to
 * the paused ones and to any that outlive REAL_STOP_MS_MAX. */
static void servers_stop(real_t *r) {
    pid_t pids[SIM_SERVERS];
    int paused[SIM_SERVERS];
    for (int n = 0; n < SIM_SERVERS; n++) {
        pids[n] = r->srv[n].pid;
        paused[n] = r->srv[n].paused;
    }
    proc_stop_all(pids, paused, SIM_SERVERS, REAL_STOP_MS_MAX * 1000ull);
    for (int n = 0; n < SIM_SERVERS; n++) r->srv[n].pid = 0;
}

static int refuse(real_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(real_t *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->res->first_failure, sizeof(r->res->first_failure), fmt, ap);
    va_end(ap);
    teardown(r);
    return REAL_EXIT_REFUSED;
}

/* Carries out every step on a protocol event that fired since the last look (the relay
 * that saw its datagram holds it meanwhile) and records when it fired and how long it
 * took to land. 0, or -1 with err (a harness failure). */
#define REAL_ANCHOR_IDLE_US 5000  /* how long a crash or pause on an event waits for its node */

static int anchor_carry_out(real_t *r, int k, uint64_t from_us, char *err, size_t cap) {
    uint32_t si = r->res->fired.step[k];
    const scn_step_t *st = &r->scn->steps[si];
    size_t no_op = 0;
    /* The simulator crashes or pauses a node once it has handled the event that sent the
     * datagram (its other effects of that moment, a reply to a client, go out too): here the
     * node is let finish the same way, until it sleeps in poll() again, before the signal. */
    if ((st->kind == STEP_CRASH || st->kind == STEP_PAUSE) && st->node < SIM_SERVERS && r->srv[st->node].pid > 0)
        (void)proc_wait_idle(r->srv[st->node].pid, REAL_ANCHOR_IDLE_US);
    if (step_run(r, st, &r->faults_cur, &no_op, err, cap) != 0) return -1;
    r->land_us[si] = r->landed_us > from_us ? r->landed_us - from_us : 0;
    return 0;
}

static int anchors_serve(real_t *r, char *err, size_t cap) {
    uint64_t fired_us;
    int k;
    while (r->anchor_fd >= 0 && (k = r->net->anchor_take(r->net, &fired_us)) >= 0) {
        scn_fired_t *f = &r->res->fired;
        uint64_t fired_at = fired_us > r->t0_us ? fired_us - r->t0_us : 0, after = r->scn->steps[f->step[k]].on.after_us;
        f->at_us[k] = fired_at;
        if (after > 0) { /* "+D": the datagram goes on; the step comes D later (below) */
            r->net->anchor_done(r->net, k);
            r->anchor_due[k] = fired_at + after;
            r->anchors_due++;
            continue;
        }
        int rc = anchor_carry_out(r, k, fired_at, err, cap);
        r->net->anchor_done(r->net, k);
        if (rc != 0) return -1;
    }
    uint64_t now = run_us(r);
    for (uint32_t d = 0; r->anchors_due > 0 && d < r->res->fired.count; d++) {
        if (r->anchor_due[d] > now) continue;
        uint64_t due = r->anchor_due[d];
        r->anchor_due[d] = UINT64_MAX;
        r->anchors_due--;
        if (anchor_carry_out(r, (int)d, due, err, cap) != 0) return -1; /* its landing counts from due */
    }
    return 0;
}

/* The earliest run time a fired "+D" step is due, or UINT64_MAX. */
static uint64_t anchors_next_due(const real_t *r) {
    uint64_t next = UINT64_MAX;
    for (uint32_t d = 0; r->anchors_due > 0 && d < r->res->fired.count; d++)
        if (r->anchor_due[d] < next) next = r->anchor_due[d];
    return next;
}

/* Waits until run time at_us, reaping clients and carrying out steps on events; 0, or -1
 * when interrupted or a step failed (err). */
static int wait_until(real_t *r, uint64_t at_us, int stop_when_quiet, char *err, size_t cap) {
    for (;;) {
        if (proc_interrupted()) {
            snprintf(err, cap, "interrupted");
            return -1;
        }
        if (anchors_serve(r, err, cap) != 0) return -1;
        size_t running = ops_reap(r);
        uint64_t now = run_us(r);
        if (now >= at_us || (stop_when_quiet && running == 0 && r->anchors_due == 0)) return 0;
        uint64_t until = anchors_next_due(r) < at_us ? anchors_next_due(r) : at_us;
        uint64_t left = until > now ? until - now : 0, tick = left < REAL_TICK_US ? left : REAL_TICK_US;
        /* woken at once when a relay holds the datagram of a step's event, or a session's
         * connection has something */
        struct pollfd p[1 + REAL_SESSIONS_POLLED];
        int n = 0;
        if (r->anchor_fd >= 0) p[n++] = (struct pollfd){.fd = r->anchor_fd, .events = POLLIN};
        n += realsess_pollfds(r->rs, p + n, REAL_SESSIONS_POLLED);
        if (n == 0) proc_sleep_us(tick);
        else (void)poll(p, (nfds_t)n, (int)((tick + 999) / 1000));
        realsess_serve(r->rs, run_us(r));
    }
}

/* 1 for a fault step whose landing is measured and held to REAL_LAND_TOLERANCE_US; an
 * operation's start is judged by compare's overlap test, and a skipped step injects nothing. */
static int step_timed(const scn_step_t *st) {
    return st->kind != STEP_OP && st->kind != STEP_SESSION;
}

/* "partition", "net udp", ... of a timed step, for the report. */
static const char *step_word(const scn_step_t *st) {
    switch ((step_kind_t)st->kind) {
    case STEP_CRASH: return "crash";
    case STEP_RESTART: return "restart";
    case STEP_PAUSE: return "pause";
    case STEP_RESUME: return "resume";
    case STEP_PARTITION: return st->node2 == SIM_NODE_ALL ? "isolate" : "partition";
    case STEP_HEAL: return "heal";
    case STEP_RECOVER: return "recover";
    case STEP_SET:
        return st->set.what == SET_UDP    ? "net udp"
               : st->set.what == SET_TCP  ? "net tcp"
               : st->set.what == SET_DISK ? "disk"
               : st->set.what == SET_FILE ? "file delay"
                                          : "net (skipped)";
    case STEP_SESSION: return st->half_close ? "shutdown" : "reset";
    case STEP_FORGE: return "forge";
    case STEP_OP: break;
    }
    return "?";
}

/* The landing of every timed step into res (max, the late ones) and the report. */
static void landing_report(const real_t *r, FILE *f) {
    real_result_t *res = r->res;
    size_t used = 0, late_n = 0;
    size_t worst = SIZE_MAX;
    res->late[0] = '\0';
    for (size_t i = 0; i < r->scn->step_count; i++) {
        const scn_step_t *st = &r->scn->steps[i];
        if (r->land_us[i] == UINT64_MAX) continue;
        res->steps_timed++;
        if (worst == SIZE_MAX || r->land_us[i] > res->land_max_us) {
            worst = i;
            res->land_max_us = r->land_us[i];
        }
        int late = r->land_us[i] > REAL_LAND_TOLERANCE_US;
        char when[SCN_EVENT_TEXT_BYTES + 8]; /* its landing counts from its time or its event */
        scn_step_when(st, when, sizeof(when));
        if (f != NULL)
            fprintf(f, "landed: line %u %s %s +%.3f ms%s\n", st->line, step_word(st), when,
                    (double)r->land_us[i] / 1e3, late ? "  LATE" : "");
        if (!late) continue;
        late_n++;
        int n = snprintf(res->late + used, sizeof(res->late) - used, "%sline %u %s %s +%.3f ms",
                         used ? "; " : "", st->line, step_word(st), when, (double)r->land_us[i] / 1e3);
        if (n > 0 && (size_t)n < sizeof(res->late) - used) used += (size_t)n;
    }
    res->inconclusive = late_n > 0;
    if (f == NULL) return;
    if (res->steps_timed == 0) {
        fprintf(f, "landing: no timed fault steps\n");
        return;
    }
    const scn_step_t *w = &r->scn->steps[worst];
    fprintf(f, "landing: %u timed steps, max +%.3f ms (line %u %s), tolerance %.1f ms: %s\n", res->steps_timed,
            (double)res->land_max_us / 1e3, w->line, step_word(w), REAL_LAND_TOLERANCE_US / 1e3,
            late_n ? (r->safety_count ? "LATE, but a safety checker fired: the run fails"
                                      : "LATE, the run is inconclusive")
                   : "kept");
}

/* Carries out step i and, for a fault step, records how late it landed. */
static int step_land(real_t *r, size_t i, sim_faults_t *faults, size_t *next_op, char *err, size_t cap) {
    const scn_step_t *st = &r->scn->steps[i];
    if (step_run(r, st, faults, next_op, err, cap) != 0) return -1;
    /* a session's shutdown or reset is measured too (it is never run ahead of operations) */
    if (step_timed(st) || st->kind == STEP_SESSION)
        r->land_us[i] = r->landed_us > st->at_us ? r->landed_us - st->at_us : 0;
    return 0;
}

static int run_body(real_t *r, char *err, size_t cap) {
    const scenario_t *s = r->scn;
    sim_faults_t *faults = &r->faults_cur;
    *faults = s->faults;
    sim_faults_t calm;
    sim_faults_default(&calm);
    if (udp_supported(r) && udp_apply(r, &calm, faults, err, cap) != 0) return -1;
    if (r->via_proxy && r->net->tcp(r->net, &faults->tcp, err, cap) != REALNET_OK) return -1;
    if (net_commit(r, err, cap) != 0) return -1;
    if (r->res->fired.count > 0 && (r->net->caps & REALNET_CAN_ANCHOR)) {
        r->anchor_fd = r->net->anchor_arm(r->net, s, &r->res->fired, err, cap);
        if (r->anchor_fd < 0) return -1;
    }
    for (int n = SIM_NODE_A; n <= SIM_NODE_C; n++) {
        if (server_start(r, n, err, cap) != 0) return -1;
    }
    if (server_start(r, SIM_NODE_M, err, cap) != 0) return -1;
    r->t0_us = proc_now_us();
    if (r->net->counters != NULL) r->net->counters(r->net, r->res->faults); /* start-up: no touch */
    r->faults_now = faults;
    faults_update(r);
    size_t next_op = 0;
    uint8_t *done = calloc(s->step_count + 1, 1);
    if (done == NULL) return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->step_count; i++) {
        if (done[i]) continue;
        if (s->steps[i].on.type != 0) continue; /* carried out when its event comes (anchors_serve) */
        if (wait_until(r, s->steps[i].at_us, 0, err, cap) != 0) {
            rc = -1;
            break;
        }
        /* A runner behind its schedule (starting hundreds of clients a second) first carries
         * out every fault step already due, then the operations ahead of them: a fault lands
         * at its time, and an operation that starts late is the operation's slip, which
         * compare's overlap test judges. Fault steps keep their order among themselves. */
        if (s->steps[i].kind == STEP_OP) {
            uint64_t now = run_us(r);
            for (size_t j = i + 1; rc == 0 && j < s->step_count && s->steps[j].at_us <= now; j++) {
                if (done[j] || !step_timed(&s->steps[j]) || s->steps[j].on.type != 0) continue;
                rc = step_land(r, j, faults, &next_op, err, cap);
                done[j] = 1;
            }
        }
        if (rc == 0 && s->steps[i].kind == STEP_RESTART) {
            /* restarts due at one time all start then, and are waited for together: one after
             * another, the third landed two start-ups late */
            r->defer_up = 1;
            rc = step_land(r, i, faults, &next_op, err, cap);
            for (size_t j = i + 1; rc == 0 && j < s->step_count && s->steps[j].at_us == s->steps[i].at_us; j++) {
                if (done[j] || s->steps[j].kind != STEP_RESTART || s->steps[j].on.type != 0) continue;
                rc = step_land(r, j, faults, &next_op, err, cap);
                done[j] = 1;
            }
            r->defer_up = 0;
            if (rc == 0) rc = restarts_wait(r, err, cap);
        } else if (rc == 0) {
            rc = step_land(r, i, faults, &next_op, err, cap);
        }
        done[i] = 1;
    }
    free(done);
    if (rc == 0 && wait_until(r, s->run_us, s->until_quiet, err, cap) != 0) rc = -1;
    if (rc == 0 && anchors_serve(r, err, cap) != 0) rc = -1;
    return rc;
}

int real_run(const scenario_t *s, const real_options_t *o, real_result_t *res) {
    memset(res, 0, sizeof(*res));
    real_t *r = calloc(1, sizeof(*r));
    if (r == NULL) return REAL_EXIT_REFUSED;
    r->scn = s;
    r->opts = o;
    r->res = res;
    r->lock_fd = -1;
    realnet_loopback(&r->lo);
    r->net = o->net != NULL ? o->net : &r->lo;
    r->seed = o->has_seed ? o->seed : s->seed;
    r->step_now = r->cut_src = r->udp_src = r->disk_src = EXCUSE_SETTINGS;
    for (int n = 0; n < SIM_SERVERS; n++) r->disk.fs[n].wake_fd = -1;
    r->anchor_fd = -1;
    for (size_t k = 0; k < SCN_ANCHORS_MAX; k++) r->anchor_due[k] = UINT64_MAX;
    if (scn_fired_init(&res->fired, s) != 0 || excuse_init(&r->ex, s) != 0) {
        free(r);
        return REAL_EXIT_REFUSED;
    }
    uint64_t wall0 = proc_now_us();
    int rc;
    proc_signals_t saved;
    proc_signals_catch(&saved);
    int urgent = proc_urgent(1) == 0; /* timed steps land on time under a storm of clients */
    struct sigaction on_chld = {0}, old_chld;
    on_chld.sa_handler = on_child;
    on_chld.sa_flags = SA_RESTART | SA_NOCLDSTOP; /* a paused server is no ended child */
    sigemptyset(&on_chld.sa_mask);
    child_ended = 1;
    sigaction(SIGCHLD, &on_chld, &old_chld);

    /* the disk fault file system, where this machine can mount it (--disk auto) */
    char disk_why[FAULTFS_ERR_BYTES] = "";
    int disk_fuse = o->disk != REALDISK_PLAIN && faultfs_available(disk_why, sizeof(disk_why)) == 0;
    char names[REAL_SKIPPED_MAX][REAL_FAULT_NAME_BYTES];
    r->via_proxy = (r->net->caps & REALNET_CAN_TCP) && r->net->tcp != NULL && scenario_uses_tcp(s);
    int nu = real_unsupported(s, r->net, r->via_proxy, disk_fuse, names);
    for (int i = 0; i < nu; i++) name_add(res->skipped, &res->skipped_count, names[i]);
    r->op_count = 0;
    for (size_t i = 0; i < s->step_count; i++) r->op_count += s->steps[i].kind == STEP_OP;
    r->ops = calloc(r->op_count + 1, sizeof(*r->ops));
    res->ops = calloc(r->op_count + 1, sizeof(*res->ops));
    r->land_us = malloc((s->step_count + 1) * sizeof(*r->land_us));
    for (size_t i = 0; r->land_us != NULL && i <= s->step_count; i++) r->land_us[i] = UINT64_MAX;
    snprintf(r->programs, sizeof(r->programs), "%s", o->programs);
    char err[REAL_MSG_BYTES] = "";
    const scn_step_t **op_steps = calloc(r->op_count + 1, sizeof(*op_steps));
    for (size_t i = 0, k = 0; op_steps != NULL && i < s->step_count; i++) {
        if (s->steps[i].kind == STEP_OP) op_steps[k++] = &s->steps[i];
    }
    realsess_hooks_t hooks = {.done = sess_done, .violation = sess_violation, .ctx = r};
    r->rs = op_steps != NULL ? realsess_new(op_steps, r->op_count, s->client_timeout_ms, &hooks) : NULL;
    free(op_steps);
    if (r->ops == NULL || res->ops == NULL || r->land_us == NULL || r->rs == NULL) {
        rc = refuse(r, "out of memory");
    } else if (o->disk == REALDISK_FUSE && !disk_fuse) {
        rc = refuse(r, "--disk fuse: %s", disk_why);
    } else if (strlen(o->programs) >= sizeof(r->programs)) {
        rc = refuse(r, "--programs: a path longer than %d bytes", REAL_DIR_BYTES - 1);
    } else if (nu > 0 && !o->skip_unsupported) {
        res->unsupported = 1;
        char list[REAL_SKIPPED_MAX * (REAL_FAULT_NAME_BYTES + 2)] = "";
        for (int i = 0; i < nu; i++) {
            strcat(list, i ? ", " : "");
            strcat(list, names[i]);
        }
        rc = refuse(r, "the %s network cannot produce: %s (--skip-unsupported skips them)", r->net->name, list);
    } else {
        for (size_t i = 0, k = 0; i < s->step_count; i++) {
            if (s->steps[i].kind == STEP_OP) r->ops[k].step = r->ops[k].c.step = &s->steps[i], k++;
        }
        char logs[REAL_PATH_BYTES + 8];
        if (proc_mkdtemp(r->dir, sizeof(r->dir), "alichain-real") != 0) {
            rc = refuse(r, "cannot create a temp dir: %s", strerror(errno));
        } else if (snprintf(logs, sizeof(logs), "%s/logs", r->dir) < 0 || mkdir(logs, 0755) != 0) {
            rc = refuse(r, "cannot create %s", logs);
        } else if (realdisk_init(&r->disk, disk_fuse ? REALDISK_FUSE : REALDISK_PLAIN, r->dir, err, sizeof(err)) != 0) {
            rc = refuse(r, "%s", err);
        } else {
            rc = 0;
            if (!disk_fuse && o->disk != REALDISK_PLAIN) snprintf(r->disk.note, sizeof(r->disk.note), "%s", disk_why);
            for (int b = 0; rc == 0 && b < BACKEND_COUNT; b++) {
                char path[REAL_PATH_BYTES];
                realdisk_path(&r->disk, SIM_NODE_A + b, blockfile_default_name(b), path, sizeof(path));
                if (proc_file_write(path, s->block[b] ? s->block[b] : "", s->block[b] ? s->block_len[b] : 0) != 0)
                    rc = refuse(r, "cannot write %s", path);
            }
            if (rc == 0 && o->has_port_offset) r->offset = o->port_offset;
            else if (rc == 0 && proc_port_lease(&r->offset, &r->lock_fd, err, sizeof(err)) != 0) rc = refuse(r, "%s", err);
            if (rc == 0 && r->net->setup(r->net, r->offset, err, sizeof(err)) != 0) {
                r->net_ready = 1;
                rc = refuse(r, "network %s: %s", r->net->name, err);
            }
            if (rc == 0 && realdisk_mount(&r->disk, &s->faults, r->seed, r->ex.late_us, err, sizeof(err)) != 0) {
                r->net_ready = 1;
                rc = refuse(r, "disks: %s", err);
            }
            if (rc == 0) {
                r->net_ready = 1;
                if (run_body(r, err, sizeof(err)) != 0) {
                    rc = refuse(r, "%s", proc_interrupted() ? "interrupted: everything started was stopped"
                                                           : err);
                }
            }
        }
    }
    if (rc == 0) {
        touches_sample(r);
        uint64_t end = run_us(r);
        for (size_t i = 0; i < r->op_count; i++) {
            real_op_t *op = &r->ops[i];
            if (op->c.state != CHECK_OP_RUNNING) continue;
            if (op->driven) {
                sess_output(r, op, (uint32_t)i);
            } else {
                proc_kill(&op->pid);
                proc_file_read(op->out_path, REAL_FILE_BYTES_MAX, &op->out, &op->out_len);
                proc_file_read(op->err_path, REAL_FILE_BYTES_MAX, &op->err, &op->err_len);
            }
            uint64_t bound = excuse_bound_us(&r->ex, op->c.inv_us);
            if (end > bound)
                violation(r, "liveness", end, "%s still running at the end (%.6fs), past its bound %.6fs",
                          op->step->label, (double)end / 1e6, (double)bound / 1e6);
        }
        int settled = !r->hard;
        for (size_t i = 0; i < r->op_count; i++) settled &= r->ops[i].c.state != CHECK_OP_RUNNING;
        servers_stop(r);
        r->faults_now = NULL; /* run_body's are gone; what remains is counted, not judged */
        if (r->net->counters != NULL) r->net->counters(r->net, res->faults);
        (void)realdisk_counters(&r->disk, res->faults);
        int jr = judge(r, settled);
        if (jr == HIST_ESTOPPED || proc_interrupted()) { /* no verdict: the run is refused */
            rc = refuse(r, "interrupted while judging %zu operations: every process was stopped and "
                        "the run's directory removed; no verdict", r->op_count);
            res->verdict = 1;
            goto out;
        }
        if (jr != 0) violation(r, "runaway", run_us(r), "out of memory in the final checks");
        res->verdict = r->violation_count > 0 || r->expects_failed > 0;
        if (o->report != NULL) report_print(r, o->report, proc_now_us() - wall0);
        else landing_report(r, NULL);
        for (size_t i = 0; i < r->op_count; i++) {
            real_outcome_t *out = &res->ops[i];
            snprintf(out->label, sizeof(out->label), "%s", r->ops[i].step->label);
            out->state = r->ops[i].c.state;
            out->exit_code = r->ops[i].c.exit_code;
            out->inv_us = r->ops[i].c.inv_us;
            out->touches = r->ops[i].touches;
            out->drawn = r->ops[i].drawn;
            out->resp_us = r->ops[i].c.state == CHECK_OP_DONE ? r->ops[i].c.resp_us : UINT64_MAX;
            out->out = r->ops[i].out;
            out->out_len = r->ops[i].out_len;
            out->err = r->ops[i].err;
            out->err_len = r->ops[i].err_len;
            out->model = r->ops[i].model;
            r->ops[i].out = r->ops[i].err = NULL;
        }
        res->op_count = r->op_count;
        teardown(r);
        res->safety_failed = r->safety_count > 0;
        rc = res->inconclusive && r->safety_count == 0 ? REAL_EXIT_INCONCLUSIVE : res->verdict;
        res->inconclusive = rc == REAL_EXIT_INCONCLUSIVE;
    } else {
        res->verdict = 1;
    }
out:
    for (size_t i = 0; r->ops != NULL && i < r->op_count; i++) {
        free(r->ops[i].out);
        free(r->ops[i].err);
        free(r->ops[i].file);
    }
    free(r->ops);
    free(r->land_us);
    free(r->expect_log);
    realsess_free(r->rs);
    excuse_free(&r->ex);
    free(r);
    sigaction(SIGCHLD, &old_chld, NULL);
    if (urgent) proc_urgent(0);
    proc_signals_restore(&saved);
    return rc;
}

void real_result_free(real_result_t *r) {
    check_txs_free(&r->final.disks);
    free(r->final.txlist);
    r->final = (real_final_t){0};
    for (size_t i = 0; r->ops != NULL && i < r->op_count; i++) {
        free(r->ops[i].out);
        free(r->ops[i].err);
    }
    free(r->ops);
    r->ops = NULL;
    r->op_count = 0;
}
