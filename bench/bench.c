/* bench.c — alichain-bench: generates a ledger, starts the four real servers on a free port
 * offset in a temp dir (or uses running ones), drives serverM with the load phases of
 * load.c, measures the floors of floor.c in the same run, backend memory, start-up time and
 * the simulator's speed, and prints every figure with its ratio to its floor (also as TSV
 * rows for bench/report.py). Exit 0 only when every answer was right. */
#include "bench.h"

#include "proc/proc.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "ports.h"

#define LIST_MAX 16                      /* entries of --txs, --conns, --modes */
#define CHILDREN_MAX 8                   /* servers started at once */
#define READY_POLL_NS 1000000ULL         /* 1 ms between looks at a server's stdout */
#define HOL_BALANCE_CONNS 8              /* balance clients while TXLISTs run */
#define MODE_PERSISTENT_PREFIX "p-"      /* --modes p-balance: balance on persistent connections */
#define SINGLE_CONNS 1                   /* stats and TXLIST latency: one client */
#define SIM_SEEDS_DEFAULT 200
#define SIM_PAIRS_DEFAULT 3              /* --sim-pairs with --sim-baseline (else one run) */
#define SIM_PAIRS_MAX 99
#define SIM_OUT_BYTES_MAX (16u << 20)    /* a swarm's report (failed seeds print lines each) */
#define SIM_LINE_BYTES 256                /* the last line of a failed swarm, in its error */
#define SIM_ERR_BYTES (BENCH_PATH_MAX + SIM_LINE_BYTES + 256)
#define SEED_DEFAULT 20260930ULL
#define SECONDS_DEFAULT 2.0
#define FLOOR_SECONDS_MAX 5.0            /* a floor is stable well before this */
#define SERVER_LINE_BYTES 256

volatile int bench_interrupted;

static pid_t g_children[CHILDREN_MAX];
static char g_tmpdir[BENCH_PATH_MAX];
static int g_failed;                      /* a wrong answer or an error was seen */

/* ---- helpers ---- */
uint64_t bench_now_ns(void) { return proc_now_ns(); }

void bench_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("alichain-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

void bench_path(char *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, BENCH_PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= BENCH_PATH_MAX) bench_die("path too long: %s...", out);
}

void *bench_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) bench_die("out of memory (%zu bytes)", n);
    return p;
}

void *bench_xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) bench_die("out of memory (%zu bytes)", n);
    return p;
}

/* The persistent hello and its answer, encoded once by the wire codec. */
static char g_hello[TCP_REQUEST_BYTES_MAX], g_hello_ok[TCP_LINE_BYTES_MAX];
static size_t g_hello_len, g_hello_ok_len;

static void hello_encode(void) {
    if (g_hello_len) return;
    g_hello_len = wire_hello_encode(g_hello, sizeof g_hello);
    wire_crep_t r;
    memset(&r, 0, sizeof r);
    r.kind = CREP_KEEPALIVE;
    g_hello_ok_len = wire_crep_encode(&r, g_hello_ok, sizeof g_hello_ok);
    AC_ASSERT(g_hello_len > 0);
    AC_ASSERT(g_hello_ok_len > 0);
}

const char *bench_hello_line(size_t *len) {
    hello_encode();
    *len = g_hello_len;
    return g_hello;
}

const char *bench_hello_reply(size_t *len) {
    hello_encode();
    *len = g_hello_ok_len;
    return g_hello_ok;
}

static void on_signal(int sig) {
    (void)sig;
    bench_interrupted = 1;
}

static void child_stop(pid_t *slot) {
    (void)proc_stop_all(slot, NULL, 1, BENCH_STOP_TIMEOUT_MS * 1000ULL);
}

static void cleanup(void) {
    for (int i = 0; i < CHILDREN_MAX; i++) child_stop(&g_children[i]);
    if (g_tmpdir[0]) proc_remove_tree(g_tmpdir);
    g_tmpdir[0] = '\0';
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-') return -1;
    *out = v;
    return 0;
}

static int parse_list(const char *s, uint64_t *out, int *n) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == LIST_MAX || parse_u64(t, &out[*n]) != 0) return -1;
        (*n)++;
    }
    return *n ? 0 : -1;
}

/* ---- output ---- */
static FILE *g_tsv;
static FILE *g_json;   /* --json: the same rows as JSON lines, with each ratio to its floor */

static void fmt_us(double us, char *buf, size_t cap) {
    if (us >= 1e6) snprintf(buf, cap, "%.2f s", us / 1e6);
    else if (us >= 1e3) snprintf(buf, cap, "%.2f ms", us / 1e3);
    else snprintf(buf, cap, "%.0f us", us);
}

typedef struct {
    double rate, p50, p99, p999;
} figures_t;

static figures_t figures_of(bench_result_t *r, bench_samples_t *s) {
    figures_t f;
    f.rate = r->secs > 0 ? (double)s->len / r->secs : 0;
    f.p50 = samples_pct(s, 50);
    f.p99 = samples_pct(s, 99);
    f.p999 = samples_pct(s, 99.9);
    return f;
}

/* One line on stdout, one TSV row: a load figure and its floor. */
static void report_load(uint64_t txs, const char *what, unsigned conns, bench_result_t *r,
                        bench_samples_t *s, const char *floor_name, const figures_t *floor) {
    figures_t f = figures_of(r, s);
    char p50[32], p99[32], p999[32];
    fmt_us(f.p50, p50, sizeof p50);
    fmt_us(f.p99, p99, sizeof p99);
    fmt_us(f.p999, p999, sizeof p999);
    printf("%-9llu %-13s c=%-3u %9.0f ops/s  p50 %-9s p99 %-9s p99.9 %-9s %llu ops",
           (unsigned long long)txs, what, conns, f.rate, p50, p99, p999,
           (unsigned long long)s->len);
    if (floor && floor->rate > 0)
        printf("  | %.2fx %s rate, p99 %.1fx", f.rate / floor->rate, floor_name,
               floor->p99 > 0 ? f.p99 / floor->p99 : 0);
    if (r->wrong || r->errors) {
        printf("  WRONG %llu ERRORS %llu", (unsigned long long)r->wrong,
               (unsigned long long)r->errors);
        if (r->wrong) printf(" (first: %s)", r->first_wrong);
        g_failed = 1;
    }
    printf("\n");
    fflush(stdout);
    if (g_tsv) {
        /* rates with 9 significant digits: a slow floor (a TXLIST file's write+sync under
         * load, a few per second) keeps its ratio to well under 0.1 % */
        fprintf(g_tsv, "load\t%llu\t%s\t%u\t%llu\t%.3f\t%.9g\t%.0f\t%.0f\t%.0f\t%llu\t%llu\t%s\t%.9g\t%.0f\t%.0f\n",
                (unsigned long long)txs, what, conns, (unsigned long long)s->len, r->secs,
                f.rate, f.p50, f.p99, f.p999, (unsigned long long)r->wrong,
                (unsigned long long)r->errors, floor ? floor_name : "-",
                floor ? floor->rate : 0, floor ? floor->p50 : 0, floor ? floor->p99 : 0);
        fflush(g_tsv);
    }
    if (g_json) {
        fprintf(g_json,
                "{\"kind\":\"load\",\"txs\":%llu,\"what\":\"%s\",\"conns\":%u,\"ops\":%llu,\"secs\":%.3f,"
                "\"rate\":%.9g,\"p50_us\":%.0f,\"p99_us\":%.0f,\"p999_us\":%.0f,\"wrong\":%llu,\"errors\":%llu,"
                "\"floor\":\"%s\",\"floor_rate\":%.9g,\"floor_p99_us\":%.0f,\"ratio\":%.4f}\n",
                (unsigned long long)txs, what, conns, (unsigned long long)s->len, r->secs, f.rate, f.p50, f.p99,
                f.p999, (unsigned long long)r->wrong, (unsigned long long)r->errors, floor ? floor_name : "-",
                floor ? floor->rate : 0, floor ? floor->p99 : 0,
                floor && floor->rate > 0 ? f.rate / floor->rate : 0);
        fflush(g_json);
    }
}

static void report_metric(uint64_t txs, const char *name, double value, const char *unit,
                          const char *floor_name, double floor) {
    printf("%-9llu %-28s %12.3f %-8s", (unsigned long long)txs, name, value, unit);
    if (floor > 0) printf("  | %.2fx %s (%.3f)", value / floor, floor_name, floor);
    printf("\n");
    fflush(stdout);
    if (g_tsv) {
        fprintf(g_tsv, "metric\t%llu\t%s\t%.6f\t%s\t%s\t%.6f\n", (unsigned long long)txs, name,
                value, unit, floor > 0 ? floor_name : "-", floor);
        fflush(g_tsv);
    }
    if (g_json) {
        fprintf(g_json,
                "{\"kind\":\"metric\",\"txs\":%llu,\"name\":\"%s\",\"value\":%.6f,\"unit\":\"%s\","
                "\"floor\":\"%s\",\"floor_value\":%.6f,\"ratio\":%.4f}\n",
                (unsigned long long)txs, name, value, unit, floor > 0 ? floor_name : "-", floor,
                floor > 0 ? value / floor : 0);
        fflush(g_json);
    }
}

/* ---- progress ---- */
static unsigned g_step, g_steps;
static uint64_t g_t0_ns;

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...) {
    char line[512];
    int n = snprintf(line, sizeof line, "[bench %3u/%u %6.0fs] ", ++g_step, g_steps,
                     (double)(bench_now_ns() - g_t0_ns) / 1e9);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);   /* one write: no interleaving with stdout's lines */
}

/* ---- ports ---- */
/* An offset whose six ports are free, held under the lease rule of sim/proc/proc.h (the lock
 * stays open until exit) so that tests, real runs and other benches never take it too. */
static unsigned lease_offset(void) {
    unsigned off;
    int fd;
    char err[200];
    if (proc_port_lease(&off, &fd, err, sizeof err) != 0) bench_die("%s", err);
    return off;
}

/* ---- servers ---- */
typedef struct {
    const char *bin;          /* directory of the programs */
    unsigned offset;
} net_t;

static long rss_kb(pid_t pid) {
    char path[64], line[SERVER_LINE_BYTES];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

/* Starts program (serverA...) in dir, stdout to dir/<program>.out; waits for its "up and
 * running" line. Returns the child's slot; *secs is the time from fork to that line. */
static int server_start(const net_t *n, const char *program, const char *dir, double *secs) {
    int slot = 0;
    while (slot < CHILDREN_MAX && g_children[slot] > 0) slot++;
    if (slot == CHILDREN_MAX) bench_die("too many servers");
    char exe[BENCH_PATH_MAX], out[BENCH_PATH_MAX], err[BENCH_PATH_MAX];
    bench_path(exe, "%s/%s", n->bin, program);
    bench_path(out, "%s/%s.out", dir, program);
    bench_path(err, "%s/%s.err", dir, program);
    const char *argv[] = {exe, NULL};
    proc_spec_t sp = {.argv = argv, .cwd = dir, .out_path = out, .err_path = err, .truncate = 1,
                      .env = {"ALICHAIN_SEED=1"},
                      .unset = {"ALICHAIN_BLOCK", "ALICHAIN_TXLIST", "ALICHAIN_TIMEOUT_MS", "ALICHAIN_HOST_M",
                                "ALICHAIN_HOST_A", "ALICHAIN_HOST_B", "ALICHAIN_HOST_C"}};
    char off_env[48], key_env[BENCH_PATH_MAX + 24];
    snprintf(off_env, sizeof off_env, "ALICHAIN_PORT_OFFSET=%u", n->offset);
    sp.env[1] = off_env;
    /* the servers' shared key: created by the first server in the run's directory, never
     * the user's ~/.alichain.key (ALICHAIN_INSECURE=1 in bench's environment passes on) */
    snprintf(key_env, sizeof key_env, "ALICHAIN_KEY_FILE=%s/alichain.key", dir);
    sp.env[2] = key_env;
    uint64_t t0 = bench_now_ns();
    pid_t pid = proc_spawn(&sp);
    if (pid < 0) bench_die("fork: %s", strerror(errno));
    g_children[slot] = pid;
    int status;
    switch (proc_wait_up(pid, out, "is up and running", BENCH_READY_TIMEOUT_MS * 1000ULL, READY_POLL_NS / 1000u,
                         &status)) {
    case 0: break;
    case -1:
        g_children[slot] = 0;
        bench_die("%s exited before it was up (see %s)", program, err);
    case -2: bench_die("%s not up within %d ms", program, BENCH_READY_TIMEOUT_MS);
    default:
        fprintf(stderr, "alichain-bench: interrupted\n");
        exit(130);   /* cleanup() stops the servers, removes the temp dir */
    }
    *secs = (double)(bench_now_ns() - t0) / 1e9;
    return slot;
}

/* ---- the run ---- */
typedef struct {
    uint64_t txs[LIST_MAX]; int txs_n;
    uint64_t conns[LIST_MAX]; int conns_n;
    bench_mode_t modes[LIST_MAX]; int modes_n;
    int modes_p[LIST_MAX];        /* that mode on persistent connections ("p-balance") */
    int persistent_all;           /* --persistent: every mode of --modes persistent */
    unsigned depth;               /* --depth: persistent requests in flight per connection */
    double secs;
    uint64_t ops;
    const char *bin;
    uint64_t seed;
    int floors;
    uint64_t sim_seeds;
    const char *sim_baseline;     /* another commit's alichain-sim, run in pairs with ours */
    int sim_pairs;                /* runs of each binary (0 until parsed: the default) */
    int external;
    unsigned offset;
    const char *ledger_dir;
} opts_t;

static double floor_secs(const opts_t *o) { return o->secs < FLOOR_SECONDS_MAX ? o->secs : FLOOR_SECONDS_MAX; }

/* The floors of the floor table, measured for every ledger size next to its phases. */
static void measure_floors(const opts_t *o, const char *dir, uint64_t txs) {
    if (!o->floors) return;
    bench_result_t r;
    progress("floor: loopback UDP round trip");
    floor_udp_run(floor_secs(o), &r);
    report_load(txs, "floor-udp", 1, &r, &r.lat, NULL, NULL);
    samples_free(&r.lat);
    progress("floor: append + fdatasync in %s", dir);
    floor_sync_run(dir, floor_secs(o), &r);
    report_load(txs, "floor-sync", 1, &r, &r.lat, NULL, NULL);
    samples_free(&r.lat);
}

/* A phase's own floor brackets it: half before, half after, added up. On a shared machine
 * the floor moves with the neighbours' load within seconds, and a ratio should compare
 * like with like (a floor measured at another time gave ratios far above 1). */
typedef enum { FLOOR_NONE, FLOOR_TCP, FLOOR_SYNC } floor_kind_t;

typedef struct {
    floor_kind_t kind;
    int persistent;               /* FLOOR_TCP: the persistent floor server, same depth */
    unsigned depth;
    pid_t tcp_pid;
    uint16_t tcp_port;
    bench_result_t r;
} bracket_t;

static void bracket_half(const opts_t *o, bracket_t *b, unsigned conns, const char *dir) {
    bench_result_t h;
    double secs = floor_secs(o) / 2;
    if (b->kind == FLOOR_TCP) {
        bench_load_t cfg = { .mode = MODE_FLOOR, .port = b->tcp_port, .conns = conns,
                             .secs = secs, .rng = o->seed, .persistent = b->persistent,
                             .depth = b->depth };
        load_run(&cfg, &h);
    } else {
        floor_sync_run(dir, secs, &h);
    }
    b->r.ops += h.ops;
    b->r.wrong += h.wrong;
    b->r.errors += h.errors;
    b->r.secs += h.secs;
    for (size_t i = 0; i < h.lat.len; i++) samples_add(&b->r.lat, (uint64_t)h.lat.us[i] * 1000);
    samples_free(&h.lat);
    samples_free(&h.aux);
}

static void run_phase(const opts_t *o, bench_ledger_t *l, uint16_t port, const char *dir,
                      bench_mode_t mode, int persistent, unsigned conns) {
    char what[64], hol_b[64], hol_t[64];
    const char *pre = persistent ? "p-" : "";
    snprintf(what, sizeof what, "%s%s", pre, bench_mode_name(mode));
    snprintf(hol_b, sizeof hol_b, "%shol-balance", pre);
    snprintf(hol_t, sizeof hol_t, "%shol-txlist", pre);
    const char *tcp_floor = persistent ? "min-ptcp" : "min-tcp";
    if (persistent)
        progress("txs=%llu %s, %u persistent connections, depth %u", (unsigned long long)l->txs,
                 bench_mode_name(mode), conns, o->depth);
    else
        progress("txs=%llu %s, %u connections", (unsigned long long)l->txs, bench_mode_name(mode), conns);
    bracket_t b;
    memset(&b, 0, sizeof b);
    b.persistent = persistent;
    b.depth = o->depth;
    unsigned floor_conns = mode == MODE_HOL ? conns - 1 : conns;
    /* the sync floor on the block files' filesystem; with external servers, the temp dir */
    const char *sync_dir = o->external ? g_tmpdir : dir;
    if (o->floors) {
        if (mode == MODE_TRANSFER || mode == MODE_HOT) b.kind = FLOOR_SYNC;
        else if (mode != MODE_TXLIST) b.kind = FLOOR_TCP;
    }
    if (b.kind == FLOOR_TCP) b.tcp_pid = floor_tcp_start(&b.tcp_port, persistent);
    if (b.kind != FLOOR_NONE) bracket_half(o, &b, floor_conns, sync_dir);
    bench_load_t cfg = { .mode = mode, .port = port, .conns = conns, .secs = o->secs,
                         .ops_max = o->ops, .ledger = l, .txlist_dir = dir,
                         .rng = o->seed ^ (l->txs << 8) ^ ((uint64_t)mode << 4) ^ conns ^
                                ((uint64_t)persistent << 40),
                         .persistent = persistent, .depth = o->depth };
    bench_result_t r;
    load_run(&cfg, &r);
    if (b.kind != FLOOR_NONE) bracket_half(o, &b, floor_conns, sync_dir);
    if (b.kind == FLOOR_TCP) floor_stop(b.tcp_pid);
    if (bench_interrupted) {   /* a cut phase is no figure */
        samples_free(&b.r.lat);
        samples_free(&r.lat);
        samples_free(&r.aux);
        return;
    }
    figures_t fl = figures_of(&b.r, &b.r.lat);
    const figures_t *floor = b.kind != FLOOR_NONE ? &fl : NULL;
    if (mode == MODE_BALANCE && floor)   /* the floor table's TCP rows */
        report_load(l->txs, persistent ? "floor-ptcp" : "floor-tcp", conns, &b.r, &b.r.lat,
                    NULL, NULL);
    switch (mode) {
    case MODE_TRANSFER: case MODE_HOT:
        report_load(l->txs, what, conns, &r, &r.lat, "append+fdatasync", floor);
        break;
    case MODE_MIX: case MODE_BALANCE: case MODE_STATS:
        report_load(l->txs, what, conns, &r, &r.lat, tcp_floor, floor);
        break;
    case MODE_TXLIST: {
        figures_t ff = { 0, 0, 0, 0 };
        char path[BENCH_PATH_MAX];
        struct stat st;
        bench_path(path, "%s/alichain.txt", dir ? dir : ".");
        if (o->floors && dir && stat(path, &st) == 0) {
            double s = floor_file_secs(dir, (uint64_t)st.st_size);
            ff = (figures_t){ 1 / s, s * 1e6, s * 1e6, s * 1e6 };
        }
        report_load(l->txs, what, conns, &r, &r.lat, "write+sync file", ff.rate > 0 ? &ff : NULL);
        break;
    }
    case MODE_HOL:
        report_load(l->txs, hol_b, floor_conns, &r, &r.lat, tcp_floor, floor);
        report_load(l->txs, hol_t, 1, &r, &r.aux, NULL, NULL);
        break;
    case MODE_FLOOR: case MODE_COUNT: break;
    }
    samples_free(&b.r.lat);
    samples_free(&r.lat);
    samples_free(&r.aux);
}

/* Whether a mode runs at every --conns (else at one count: phase_conns). One-shot balance,
 * transfer and mix do; persistent, only balance (the others at the largest count). */
static int mode_every_conns(bench_mode_t mode, int persistent) {
    return mode == MODE_BALANCE || (!persistent && (mode == MODE_TRANSFER || mode == MODE_MIX));
}

static unsigned phase_conns(const opts_t *o, bench_mode_t mode) {
    if (mode == MODE_HOL) return HOL_BALANCE_CONNS + 1;
    if (mode == MODE_STATS || mode == MODE_TXLIST) return SINGLE_CONNS;
    return (unsigned)o->conns[o->conns_n - 1];
}

static void run_modes(const opts_t *o, bench_ledger_t *l, uint16_t port, const char *dir) {
    for (int m = 0; m < o->modes_n && !bench_interrupted; m++) {
        bench_mode_t mode = o->modes[m];
        int persistent = o->modes_p[m];
        if (mode_every_conns(mode, persistent)) {
            for (int c = 0; c < o->conns_n && !bench_interrupted; c++)
                run_phase(o, l, port, dir, mode, persistent, (unsigned)o->conns[c]);
        } else {
            run_phase(o, l, port, dir, mode, persistent, phase_conns(o, mode));
        }
    }
}

static void write_tiny_block(const char *dir) {
    char path[BENCH_PATH_MAX];
    bench_path(path, "%s/block1.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs("1 u0 u1 1\n", f) < 0 || fclose(f) != 0) bench_die("cannot write %s", path);
}

static void mkdir_or_die(const char *path) {
    if (mkdir(path, 0755) != 0) bench_die("cannot create %s: %s", path, strerror(errno));
}

/* Start-up time and memory of one backend holding every line in one block file. */
static void measure_solo(const net_t *n, const bench_ledger_t *l, const char *dir) {
    char tiny[BENCH_PATH_MAX], solo[BENCH_PATH_MAX], file[BENCH_PATH_MAX];
    bench_path(tiny, "%s/tiny", dir);
    bench_path(solo, "%s/solo", dir);
    bench_path(file, "%s/block1.txt", solo);
    mkdir_or_die(tiny);
    write_tiny_block(tiny);
    double secs;
    progress("txs=%llu start-up and memory of one backend", (unsigned long long)l->txs);
    int s = server_start(n, "serverA", tiny, &secs);
    long base_kb = rss_kb(g_children[s]);
    child_stop(&g_children[s]);
    double read_secs = floor_read_secs(file);
    s = server_start(n, "serverA", solo, &secs);
    long kb = rss_kb(g_children[s]);
    child_stop(&g_children[s]);
    struct stat st;
    double line_bytes = stat(file, &st) == 0 ? (double)st.st_size / (double)l->txs : 0;
    unlink(file);
    report_metric(l->txs, "startup-one-file", secs, "s", "read file", read_secs);
    report_metric(l->txs, "backend-bytes-per-tx", (double)(kb - base_kb) * 1024.0 / (double)l->txs,
                  "B", "file bytes/tx", line_bytes);
}

static void run_size(const opts_t *o, uint64_t txs) {
    bench_ledger_t l;
    progress("txs=%llu generating the ledger", (unsigned long long)txs);
    ledger_init(&l, txs, o->seed);
    measure_floors(o, g_tmpdir, txs);
    if (o->external) {
        run_modes(o, &l, port_client(0, o->offset), o->ledger_dir);
        ledger_free(&l);
        return;
    }
    char dir[BENCH_PATH_MAX], solo[BENCH_PATH_MAX], all[BENCH_PATH_MAX];
    bench_path(dir, "%s/%llu", g_tmpdir, (unsigned long long)txs);
    bench_path(solo, "%s/solo", dir);
    bench_path(all, "%s/block1.txt", solo);
    mkdir_or_die(dir);
    mkdir_or_die(solo);
    ledger_write_blocks(&l, dir, all);
    net_t n = { o->bin, o->offset };
    measure_solo(&n, &l, dir);

    progress("txs=%llu starting serverA, serverB, serverC, serverM", (unsigned long long)txs);
    int slot[4];
    double secs[4];
    static const char *const names[4] = { "serverA", "serverB", "serverC", "serverM" };
    for (int i = 0; i < 4; i++) slot[i] = server_start(&n, names[i], dir, &secs[i]);
    long kb0[3];
    for (int i = 0; i < 3; i++) kb0[i] = rss_kb(g_children[slot[i]]);
    report_metric(txs, "startup-three-backends", secs[0] + secs[1] + secs[2], "s", "-", 0);
    run_modes(o, &l, port_client(0, o->offset), dir);
    if (bench_interrupted) {   /* cleanup() stops the servers, removes the dir */
        ledger_free(&l);
        return;
    }
    long grown = 0;
    for (int i = 0; i < 3; i++) grown += rss_kb(g_children[slot[i]]) - kb0[i];
    report_metric(txs, "backend-rss-growth-under-load", (double)grown, "kB", "-", 0);
    for (int i = 3; i >= 0; i--) child_stop(&g_children[slot[i]]);
    proc_remove_tree(dir);
    ledger_free(&l);
}

/* ---- the simulator's speed ----
 * `alichain-sim swarm --seeds N`, as its own process, timed by the CPU seconds the kernel
 * charges it (user + sys of the child and whatever it waited for, from wait4): seeds/s per
 * core is seeds over those seconds, so a neighbour taking a core away slows the wall clock
 * but not the figure. With --sim-baseline, another commit's alichain-sim runs the same
 * seeds in K pairs, each pair back to back and the order swapped every pair (baseline
 * first, then current first, ...): the machine is shared, so only figures taken in the same
 * minute compare, and a drift in its load falls on both sides alike. */
typedef struct {
    uint64_t seeds, events;
    double cpu_s;                 /* user + sys seconds of the run */
    double eps;                   /* alichain-sim's own events/s (wall clock of the swarm) */
} sim_run_t;

typedef struct {
    double seeds_core_med, seeds_core_best, events_core_med, eps_med, events_per_seed;
} sim_figures_t;

static double seconds_of(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; }

/* One swarm of exe, output in the run's temp dir. 0, or -1 with the reason in err. */
static int sim_run(const char *exe, uint64_t seeds, sim_run_t *r, char *err, size_t err_cap) {
    char seeds_arg[24], out[BENCH_PATH_MAX];
    snprintf(seeds_arg, sizeof seeds_arg, "%llu", (unsigned long long)seeds);
    bench_path(out, "%s/alichain-sim.out", g_tmpdir);
    const char *argv[] = {exe, "swarm", "--seeds", seeds_arg, NULL};
    /* its output to one file, stderr too: a failure's reason is then next to its report */
    proc_spec_t sp = {.argv = argv, .out_path = out, .err_path = out, .truncate = 1};
    pid_t pid = proc_spawn(&sp);
    if (pid < 0) {
        snprintf(err, err_cap, "cannot start %s: %s", exe, strerror(errno));
        return -1;
    }
    int status, stopped = 0;
    struct rusage ru;   /* the child's and its waited-for children's, threads included */
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) bench_die("wait4 of %s: %s", exe, strerror(errno));
        if (bench_interrupted && !stopped) {   /* SIGTERM: it stops at a seed boundary */
            kill(pid, SIGTERM);
            stopped = 1;
        }
    }
    char *text = NULL;
    size_t len;
    int got = proc_file_read(out, SIM_OUT_BYTES_MAX, &text, &len);
    if (got != 0 || !text) {
        snprintf(err, err_cap, "cannot read the output of %s: %s", exe, got ? strerror(errno) : "no file");
        free(text);
        return -1;
    }
    unsigned long long n = 0, failed = 0, events = 0;
    double secs, eps = -1;
    char last[SIM_LINE_BYTES] = "";   /* the reason when it failed (the file goes with the temp dir) */
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (sscanf(l, "swarm: %llu seeds, %llu failed", &n, &failed) == 2) {}
        if (sscanf(l, "events: %llu in %lfs (%lf events/s)", &events, &secs, &eps) == 3) {}
        snprintf(last, sizeof last, "%s", l);
    }
    free(text);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, err_cap, "`%s swarm --seeds %s` exited %s %d, %llu seeds failed; its last line: %s",
                 exe, seeds_arg, WIFEXITED(status) ? "with" : "on signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), failed, last[0] ? last : "(none)");
        return -1;
    }
    if (eps < 0 || n != seeds) {
        snprintf(err, err_cap, "`%s swarm --seeds %s` ran %llu seeds or printed no speed line; its last line: %s",
                 exe, seeds_arg, n, last[0] ? last : "(none)");
        return -1;
    }
    r->seeds = n;
    r->events = events;
    r->cpu_s = seconds_of(ru.ru_utime) + seconds_of(ru.ru_stime);
    r->eps = eps;
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n) (sorts v); n >= 1. */
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double per_core(double count, double cpu_s) { return cpu_s > 0 ? count / cpu_s : 0; }

static sim_figures_t sim_figures(const sim_run_t *r, int n) {
    double seeds[SIM_PAIRS_MAX], events[SIM_PAIRS_MAX], eps[SIM_PAIRS_MAX];
    sim_figures_t f;
    memset(&f, 0, sizeof f);
    for (int i = 0; i < n; i++) {
        seeds[i] = per_core((double)r[i].seeds, r[i].cpu_s);
        events[i] = per_core((double)r[i].events, r[i].cpu_s);
        eps[i] = r[i].eps;
        if (seeds[i] > f.seeds_core_best) f.seeds_core_best = seeds[i];
    }
    f.seeds_core_med = median(seeds, n);
    f.events_core_med = median(events, n);
    f.eps_med = median(eps, n);
    /* the same seeds make the same events in every run of one binary */
    f.events_per_seed = r[0].seeds ? (double)r[0].events / (double)r[0].seeds : 0;
    return f;
}

static void sim_run_line(const char *who, int k, int n, const sim_run_t *r) {
    printf("simulator %-8s run %d/%d: %llu seeds, %llu events in %.3f s CPU: %.1f seeds/s per core, "
           "%.0f events/s per core, %.1f events a seed\n", who, k + 1, n, (unsigned long long)r->seeds,
           (unsigned long long)r->events, r->cpu_s, per_core((double)r->seeds, r->cpu_s),
           per_core((double)r->events, r->cpu_s), r->seeds ? (double)r->events / (double)r->seeds : 0);
}

static void sim_speed(const opts_t *o) {
    char cur[BENCH_PATH_MAX], err[SIM_ERR_BYTES];
    bench_path(cur, "%s/alichain-sim", o->bin);
    const int base = o->sim_baseline != NULL;
    const int n = o->sim_pairs;
    sim_run_t rc[SIM_PAIRS_MAX], rb[SIM_PAIRS_MAX];
    double pair_ratio[SIM_PAIRS_MAX];
    if (base)
        printf("simulator: %d pair%s of %llu seeds, baseline %s\n", n, n == 1 ? "" : "s",
               (unsigned long long)o->sim_seeds, o->sim_baseline);
    for (int k = 0; k < n && !bench_interrupted; k++)
        for (int side = 0; side < 1 + base && !bench_interrupted; side++) {
            /* even pairs: the baseline first; odd pairs: the current binary first */
            int is_base = base && side == (k % 2 == 0 ? 0 : 1);
            const char *exe = is_base ? o->sim_baseline : cur;
            progress("simulator: %s swarm --seeds %llu%s", exe, (unsigned long long)o->sim_seeds,
                     base ? (is_base ? " (baseline)" : " (current)") : "");
            sim_run_t *r = is_base ? &rb[k] : &rc[k];
            if (sim_run(exe, o->sim_seeds, r, err, sizeof err) != 0) {
                if (bench_interrupted) return;   /* cancelled by our SIGTERM: not its failure */
                printf("simulator: %s\n", err);
                g_failed = 1;
                return;
            }
            sim_run_line(is_base ? "baseline" : "current", k, n, r);
            if (base && side == 1) {
                double sc = per_core((double)rc[k].seeds, rc[k].cpu_s);
                double sb = per_core((double)rb[k].seeds, rb[k].cpu_s);
                pair_ratio[k] = sb > 0 ? sc / sb : 0;
                printf("simulator pair %d/%d: current / baseline %.2fx seeds/s per core\n", k + 1, n,
                       pair_ratio[k]);
            }
        }
    if (bench_interrupted) return;
    if (base) {   /* the rows below divide medians; the pairs' own ratios, for a reader */
        printf("simulator: current / baseline seeds/s per core, pair by pair:");
        for (int k = 0; k < n; k++) printf(" %.2fx", pair_ratio[k]);
        printf(" (median %.2fx)\n", median(pair_ratio, n));
    }
    sim_figures_t c = sim_figures(rc, n);
    report_metric(0, "sim-events-per-s", c.eps_med, "ev/s", "-", 0);
    report_metric(0, "sim-seeds-per-core-s", c.seeds_core_med, "seeds/s", "-", 0);
    report_metric(0, "sim-events-per-core-s", c.events_core_med, "ev/s", "-", 0);
    report_metric(0, "sim-events-per-seed", c.events_per_seed, "ev/seed", "-", 0);
    if (!base) return;
    /* the baseline's figure stands where a floor would: compare then judges the ratio */
    sim_figures_t b = sim_figures(rb, n);
    report_metric(0, "sim-seeds-per-core-vs-base", c.seeds_core_med, "seeds/s", "baseline", b.seeds_core_med);
    report_metric(0, "sim-seeds-per-core-best-vs-base", c.seeds_core_best, "seeds/s", "baseline",
                  b.seeds_core_best);
    report_metric(0, "sim-events-per-core-vs-base", c.events_core_med, "ev/s", "baseline", b.events_core_med);
    report_metric(0, "sim-events-per-seed-vs-base", c.events_per_seed, "ev/seed", "baseline", b.events_per_seed);
}

static void usage(FILE *f) {
    fputs("usage: alichain-bench [--txs N[,N...]] [--conns C[,C...]] [--modes M[,M...]]\n"
          "                      [--persistent] [--depth D (1..64, default 16)]\n"
          "                      [--seconds S | --ops K] [--bin DIR] [--seed N] [--tsv FILE]\n"
          "                      [--no-floors] [--sim-seeds N (0: no simulator run)]\n"
          "                      [--sim-baseline ALICHAIN_SIM [--sim-pairs K (1..99, default 3)]]\n"
          "                      [--external --port-offset X [--ledger-dir DIR]]\n"
          "                      [--json FILE]\n"
          "       alichain-bench gen --txs N --dir DIR [--seed N]\n"
          "       alichain-bench compare OLD.tsv NEW.tsv [--noise PCT]   (two runs' --tsv, as ratios to floors)\n"
          "modes: balance transfer mix hot stats txlist hol, and p-balance p-transfer p-mix\n"
          "       p-hot p-stats p-hol on persistent connections (default: all of them)\n"
          "Generates ledgers of N transactions, starts the four servers of --bin (default:\n"
          "the directory of alichain-bench) on a free port offset in a temp dir, drives serverM with C\n"
          "one-shot connections per mode (p-: C persistent connections, ALICHAIN/1 KEEPALIVE, each\n"
          "with D requests in flight; p-transfer, p-mix, p-hot at the largest C only;\n"
          "--persistent: every mode given persistent), verifies every answer, and prints ops/s\n"
          "and p50/p99/p99.9 with ratios to this machine's floors. --external uses servers already\n"
          "running on --port-offset X over a ledger written by `alichain-bench gen` with the\n"
          "same --txs and --seed and nothing changed since. Exit 0 when every answer was right.\n"
          "The simulator: `alichain-sim swarm --seeds N` of --bin (default 200 seeds), its\n"
          "events/s, and seeds/s and events/s per core (over the CPU seconds it was charged).\n"
          "--sim-baseline: another commit's alichain-sim (make bench-sim-baseline) runs the same\n"
          "seeds in K pairs with ours, alternating which goes first; the rows *-vs-base give\n"
          "ours with the baseline's as its floor (median and best of K; events a seed too: the\n"
          "two swarms need not make the same work). Without --sim-baseline, --sim-pairs K runs\n"
          "ours K times (default once). --txs 0: no ledger, the simulator only.\n", f);
}

static void parse_args(int argc, char **argv, opts_t *o, int *gen, const char **gen_dir,
                       const char **tsv, const char **json) {
    memset(o, 0, sizeof *o);
    o->txs[0] = 1000; o->txs_n = 1;
    o->conns[0] = 1; o->conns[1] = 8; o->conns[2] = 64; o->conns_n = 3;
    for (int i = 0; i < MODE_FLOOR; i++) o->modes[o->modes_n++] = (bench_mode_t)i;
    for (int i = 0; i < MODE_FLOOR; i++)   /* then every mode but txlist persistent */
        if (i != MODE_TXLIST) {
            o->modes_p[o->modes_n] = 1;
            o->modes[o->modes_n++] = (bench_mode_t)i;
        }
    o->depth = BENCH_DEPTH_DEFAULT;
    o->secs = SECONDS_DEFAULT;
    o->bin = NULL;   /* the directory of alichain-bench itself */
    o->seed = SEED_DEFAULT;
    o->floors = 1;
    o->sim_seeds = SIM_SEEDS_DEFAULT;
    int i = 1;
    if (argc > 1 && strcmp(argv[1], "gen") == 0) { *gen = 1; i = 2; }
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u;
        int bad = 0, takes = 1;
        if (strcmp(a, "--help") == 0) { usage(stdout); exit(0); }
        else if (strcmp(a, "--no-floors") == 0) { o->floors = 0; takes = 0; }
        else if (strcmp(a, "--external") == 0) { o->external = 1; takes = 0; }
        else if (strcmp(a, "--persistent") == 0) { o->persistent_all = 1; takes = 0; }
        else if (!v) bad = 1;
        else if (strcmp(a, "--txs") == 0) bad = parse_list(v, o->txs, &o->txs_n);
        else if (strcmp(a, "--conns") == 0) bad = parse_list(v, o->conns, &o->conns_n);
        else if (strcmp(a, "--modes") == 0) {
            char buf[256];
            snprintf(buf, sizeof buf, "%s", v);
            o->modes_n = 0;
            for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && !bad;
                 t = strtok_r(NULL, ",", &save)) {
                int pers = strncmp(t, MODE_PERSISTENT_PREFIX, strlen(MODE_PERSISTENT_PREFIX)) == 0;
                if (pers) t += strlen(MODE_PERSISTENT_PREFIX);
                bad = o->modes_n == LIST_MAX || bench_mode_parse(t, &o->modes[o->modes_n]) != 0 ||
                      o->modes[o->modes_n] == MODE_FLOOR ||
                      (pers && o->modes[o->modes_n] == MODE_TXLIST);
                o->modes_p[o->modes_n++] = pers;
            }
            bad |= o->modes_n == 0;
        }
        else if (strcmp(a, "--seconds") == 0) { char *e; o->secs = strtod(v, &e); bad = *e || !(o->secs > 0); }
        else if (strcmp(a, "--ops") == 0) bad = parse_u64(v, &o->ops) || o->ops == 0;
        else if (strcmp(a, "--depth") == 0) {
            bad = parse_u64(v, &u) || u < 1 || u > BENCH_DEPTH_MAX;
            o->depth = (unsigned)u;
        }
        else if (strcmp(a, "--bin") == 0) o->bin = v;
        else if (strcmp(a, "--seed") == 0) bad = parse_u64(v, &o->seed);
        else if (strcmp(a, "--tsv") == 0) *tsv = v;
        else if (strcmp(a, "--json") == 0) *json = v;
        else if (strcmp(a, "--dir") == 0) *gen_dir = v;
        else if (strcmp(a, "--ledger-dir") == 0) o->ledger_dir = v;
        else if (strcmp(a, "--sim-seeds") == 0) bad = parse_u64(v, &o->sim_seeds);
        else if (strcmp(a, "--sim-baseline") == 0) o->sim_baseline = v;
        else if (strcmp(a, "--sim-pairs") == 0) {
            bad = parse_u64(v, &u) || u < 1 || u > SIM_PAIRS_MAX;
            o->sim_pairs = (int)u;
        }
        else if (strcmp(a, "--port-offset") == 0) { bad = parse_u64(v, &u) || u > PORT_OFFSET_MAX; o->offset = (unsigned)u; }
        else bad = 1;
        if (bad) {
            fprintf(stderr, "alichain-bench: bad option or value: %s%s%s\n", a, v && takes ? " " : "",
                    v && takes ? v : "");
            usage(stderr);
            exit(2);
        }
        i += takes;
    }
    if (o->txs_n == 1 && o->txs[0] == 0) o->txs_n = 0;   /* --txs 0: no ledger, the simulator only */
    for (int k = 0; k < o->txs_n; k++)
        if (o->txs[k] < BENCH_TXS_MIN || o->txs[k] > BENCH_TXS_MAX)
            bench_die("--txs %llu: outside %d..%llu (0 alone: no ledger, the simulator only)",
                      (unsigned long long)o->txs[k], BENCH_TXS_MIN, (unsigned long long)BENCH_TXS_MAX);
    if (o->persistent_all) {   /* one of each mode, persistent (txlist has no persistent phase) */
        int n = 0;
        for (int k = 0; k < o->modes_n; k++) {
            int seen = o->modes[k] == MODE_TXLIST;
            for (int j = 0; j < n && !seen; j++) seen = o->modes[j] == o->modes[k];
            if (seen) continue;
            o->modes[n] = o->modes[k];
            o->modes_p[n++] = 1;
        }
        if (n == 0) bench_die("--persistent: no mode left (txlist has no persistent phase)");
        o->modes_n = n;
    }
    for (int k = 0; k < o->conns_n; k++)
        if (o->conns[k] < 1 || o->conns[k] > BENCH_CONNS_MAX)
            bench_die("--conns %llu: outside 1..%d", (unsigned long long)o->conns[k], BENCH_CONNS_MAX);
    if (o->txs_n == 0 && o->sim_seeds == 0) bench_die("--txs 0 and --sim-seeds 0: nothing to run");
    if (o->sim_baseline && o->sim_seeds == 0) bench_die("--sim-baseline needs --sim-seeds N > 0");
    if (o->sim_pairs == 0) o->sim_pairs = o->sim_baseline ? SIM_PAIRS_DEFAULT : 1;
}

int main(int argc, char **argv) {
    opts_t o;
    int gen = 0;
    const char *gen_dir = NULL, *tsv = NULL, *json = NULL;
    if (argc > 1 && strcmp(argv[1], "compare") == 0) return bench_compare_main(argc, argv);
    parse_args(argc, argv, &o, &gen, &gen_dir, &tsv, &json);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (gen) {
        if (!gen_dir || o.txs_n != 1) bench_die("gen needs --txs N (one size) and --dir DIR");
        bench_ledger_t l;
        ledger_init(&l, o.txs[0], o.seed);
        ledger_write_blocks(&l, gen_dir, NULL);
        printf("wrote %s/block1.txt, block2.txt, block3.txt: %llu transactions, %u users\n",
               gen_dir, (unsigned long long)l.txs, l.users);
        ledger_free(&l);
        return 0;
    }
    if (o.external && o.txs_n != 1) bench_die("--external takes one --txs size");
    /* a wrong baseline path is said before any phase runs, not after a quarter of an hour */
    static char base_abs[BENCH_PATH_MAX];
    if (o.sim_baseline) {
        struct stat st;
        if (!realpath(o.sim_baseline, base_abs))
            bench_die("--sim-baseline %s: %s (an alichain-sim binary; make bench-sim-baseline builds one)",
                      o.sim_baseline, strerror(errno));
        if (stat(base_abs, &st) != 0 || !S_ISREG(st.st_mode) || access(base_abs, X_OK) != 0)
            bench_die("--sim-baseline %s: not an executable file (an alichain-sim binary)", o.sim_baseline);
        o.sim_baseline = base_abs;
    }
    static char bin_abs[BENCH_PATH_MAX];   /* the servers run in other directories */
    if (!realpath(o.bin ? o.bin : "/proc/self/exe", bin_abs))
        bench_die("--bin %s: %s", o.bin ? o.bin : "/proc/self/exe", strerror(errno));
    if (!o.bin) *strrchr(bin_abs, '/') = '\0';
    o.bin = bin_abs;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    atexit(cleanup);
    if (tsv && !(g_tsv = fopen(tsv, "w"))) bench_die("cannot write %s", tsv);
    if (json && !(g_json = fopen(json, "w"))) bench_die("cannot write %s", json);
    if (proc_mkdtemp(g_tmpdir, sizeof g_tmpdir, "alichain-bench") != 0)
        bench_die("cannot create a temp dir: %s", strerror(errno));
    if (!o.external && o.txs_n) o.offset = lease_offset();

    g_t0_ns = bench_now_ns();
    g_steps = (unsigned)o.txs_n * (unsigned)(o.floors ? 2 : 0) +
              (o.sim_seeds ? (unsigned)o.sim_pairs * (o.sim_baseline ? 2u : 1u) : 0);
    for (int m = 0; m < o.modes_n; m++)
        g_steps += (unsigned)o.txs_n *
                   (mode_every_conns(o.modes[m], o.modes_p[m]) ? (unsigned)o.conns_n : 1);
    g_steps += (unsigned)o.txs_n * (o.external ? 1 : 3);
    if (o.txs_n) {
        printf("alichain-bench: %s; port offset %u; %.1f s a phase%s\n",
               o.external ? "external servers" : "own servers", o.offset, o.secs,
               o.ops ? " (or --ops)" : "");
        printf("%-9s %-13s %-5s %15s  %-13s %-13s %-15s\n", "txs", "what", "conns", "rate", "p50",
               "p99", "p99.9");
    } else {
        printf("alichain-bench: the simulator only (--txs 0)\n");
    }
    for (int k = 0; k < o.txs_n && !bench_interrupted; k++) run_size(&o, o.txs[k]);
    if (o.sim_seeds && !bench_interrupted) sim_speed(&o);
    if (g_tsv) fclose(g_tsv);
    if (g_json) fclose(g_json);
    if (bench_interrupted) { fprintf(stderr, "alichain-bench: interrupted\n"); return 130; }
    if (g_failed) { printf("alichain-bench: FAILED: wrong answers or errors above\n"); return 1; }
    printf("alichain-bench: %s\n", o.txs_n ? "every answer verified" : "the simulator ran clean");
    return 0;
}
