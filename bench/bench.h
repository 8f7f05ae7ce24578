/* bench.h — shared declarations of alichain-bench (docs/BENCHMARKS.md): the generated
 * ledger and its model (gen.c), the floors of this machine (floor.c), the many-connection
 * TCP load driver with exact latency percentiles (load.c), and small helpers (bench.c). */
#ifndef ALICHAIN_BENCH_H
#define ALICHAIN_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "wire.h"

/* ---- limits ---- */
#define BENCH_CONNS_MAX 1000           /* concurrent connections of one load phase */
#define BENCH_TXS_MIN 100              /* smallest ledger the generator writes */
#define BENCH_TXS_MAX 100000000ULL     /* largest ledger the generator writes (10^8) */
#define BENCH_USERS_MIN 16             /* users of the smallest ledger */
#define BENCH_USERS_MAX 1000000        /* users of the largest ledgers */
#define BENCH_TXS_PER_USER 10          /* users = txs / this, within the bounds above */
#define BENCH_GRANT 1000000000LL       /* serial k <= users: "mint" grants user k-1 this */
#define BENCH_AMOUNT_GEN_MAX 1000      /* generated transactions move 1..this */
#define BENCH_STATS_USERS 16           /* users whose stats the model keeps */
#define BENCH_HOT_SENDERS 8            /* the hot-sender phase's senders */
#define BENCH_REPLY_BYTES_MAX (64u << 20) /* one reply (a STATS of many partners) */
#define BENCH_SAMPLES_MAX 100000000u   /* latency samples of one phase */
#define BENCH_OP_TIMEOUT_MS 120000     /* a balance/transfer/stats reply must come by then
                                          * (beyond clients' 30 s: head-of-line waits are measured) */
#define BENCH_TXLIST_TIMEOUT_MS 300000 /* a TXLIST reply must come by then */
#define BENCH_READY_TIMEOUT_MS 120000  /* a server prints "up and running" by then */
#define BENCH_STOP_TIMEOUT_MS 10000    /* SIGTERM -> exit, else SIGKILL */
#define BENCH_POLL_MS_MAX 50           /* longest single poll() of the driver */
#define BENCH_PATH_MAX 4096
/* Persistent connections (docs/PROTOCOL.md 2.5; the hello and its answer come from the wire
 * codec, CREQ_KEEPALIVE and CREP_KEEPALIVE): requests in flight on one connection. */
#define BENCH_DEPTH_MAX TCP_PIPELINE_MAX   /* what serverM allows unanswered */
#define BENCH_DEPTH_DEFAULT 16         /* --depth: requests in flight per persistent connection */

/* ---- helpers (bench.c) ---- */
uint64_t bench_now_ns(void);
/* compare.c: `alichain-bench compare OLD.tsv NEW.tsv [--noise PCT]`; its exit status. */
int bench_compare_main(int argc, char **argv);

void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* snprintf into a BENCH_PATH_MAX buffer; a path that does not fit is fatal. */
void bench_path(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void *bench_xmalloc(size_t n);
void *bench_xrealloc(void *p, size_t n);
extern volatile int bench_interrupted;   /* SIGINT/SIGTERM seen: stop and clean up */
/* The persistent hello (ALICHAIN/1 KEEPALIVE) and its answer (OK KEEPALIVE), each a whole
 * line with its newline, from the wire codec; *len is its length. */
const char *bench_hello_line(size_t *len);
const char *bench_hello_reply(size_t *len);

/* ---- the ledger (gen.c) ----
 * Serial k (1..txs) is a pure function of (seed, k): serials 1..users are grants from the
 * user "mint" (index users) to user k-1, so no later transfer is ever refused; the others
 * move 1..BENCH_AMOUNT_GEN_MAX between two distinct random users. Block files get each
 * serial at random; block2.txt is written in descending serial order. Transfers the bench
 * makes later are appended to the model's log (serial txs+1, txs+2, ...). */
typedef struct {
    uint32_t sender, receiver;   /* user indexes; index users is "mint" */
    int64_t amount;
} bench_tx_t;

typedef struct {
    uint64_t seed;
    uint64_t txs;                /* generated transactions: serials 1..txs */
    uint32_t users;              /* u0 .. u<users-1>, plus "mint" */
    int64_t *balance;            /* users + 1 entries: the current model balance */
    bench_tx_t *log;             /* transfers made by the bench: serial txs + 1 + i */
    uint64_t log_len, log_cap;
} bench_ledger_t;

typedef struct {
    uint32_t partner;
    uint64_t count;
    int64_t net;
} bench_row_t;

typedef struct {                  /* the expected stats of BENCH_STATS_USERS users */
    uint32_t user[BENCH_STATS_USERS];
    bench_row_t *rows[BENCH_STATS_USERS];
    size_t rows_len[BENCH_STATS_USERS];
} bench_stats_model_t;

void ledger_init(bench_ledger_t *l, uint64_t txs, uint64_t seed);
void ledger_free(bench_ledger_t *l);
uint64_t ledger_max_serial(const bench_ledger_t *l);
/* The name of user index u (users -> "mint") into buf (>= NAME_BYTES_MAX + 1). */
size_t ledger_name(const bench_ledger_t *l, uint32_t u, char *buf);
/* Writes block1.txt, block2.txt, block3.txt into dir; and, when all_path is not NULL, every
 * line into that one file too. Dies on an I/O error. */
void ledger_write_blocks(const bench_ledger_t *l, const char *dir, const char *all_path);
/* Applies a confirmed transfer as the next serial. */
void ledger_apply(bench_ledger_t *l, uint32_t sender, uint32_t receiver, int64_t amount);
/* The stats of the users chosen in m->user[], from every transaction so far. */
void stats_model_build(const bench_ledger_t *l, bench_stats_model_t *m);
void stats_model_free(bench_stats_model_t *m);
/* Checks a whole alichain.txt against the model: 0 when every line is right, else -1
 * with the first difference in err. */
int ledger_check_txlist(const bench_ledger_t *l, const char *path, uint64_t count,
                        char *err, size_t err_cap);

/* ---- latency samples (load.c) ---- */
typedef struct {
    uint32_t *us;                 /* one latency a completed operation, microseconds */
    size_t len, cap;
} bench_samples_t;
void samples_add(bench_samples_t *s, uint64_t ns);
/* Sorts and gives the exact percentile p (0 < p <= 100) in microseconds (0 when empty). */
double samples_pct(bench_samples_t *s, double p);
void samples_free(bench_samples_t *s);

/* ---- the load driver (load.c) ---- */
typedef enum {
    MODE_BALANCE, MODE_TRANSFER, MODE_MIX, MODE_HOT, MODE_STATS, MODE_TXLIST, MODE_HOL,
    MODE_FLOOR, MODE_COUNT
} bench_mode_t;

typedef struct {
    uint64_t ops;                 /* completed and verified */
    uint64_t wrong;               /* answers that contradict the model */
    uint64_t errors;              /* connection failures, timeouts, ERROR replies */
    double secs;                  /* wall time of the phase */
    bench_samples_t lat;          /* the phase's main operation */
    bench_samples_t aux;          /* HOL: the TXLISTs running meanwhile */
    char first_wrong[512];        /* what the first wrong answer was */
} bench_result_t;

typedef struct {
    bench_mode_t mode;
    uint16_t port;                /* serverM's TCP port (client A's) */
    unsigned conns;
    double secs;                  /* run this long ... */
    uint64_t ops_max;             /* ... or this many operations (0: no limit) */
    bench_ledger_t *ledger;       /* NULL for MODE_FLOOR */
    const char *txlist_dir;       /* where serverM writes alichain.txt (NULL: count only) */
    uint64_t rng;
    int persistent;               /* 0: one-shot connections; 1: ALICHAIN/1 KEEPALIVE ones */
    unsigned depth;               /* persistent: requests in flight per connection, 1..64 */
} bench_load_t;

const char *bench_mode_name(bench_mode_t m);
int bench_mode_parse(const char *s, bench_mode_t *m);
/* Runs one phase; fills r (caller frees r->lat, r->aux with samples_free). */
void load_run(const bench_load_t *cfg, bench_result_t *r);

/* ---- floors (floor.c) ---- */
/* A minimal TCP server in a child process (epoll). One-shot: reads one line, answers a
 * balance line of the real reply's size, closes. Persistent: answers "OK KEEPALIVE" to the
 * hello and a balance-sized line to every other line, in order, until the client's EOF.
 * Returns its pid; *port is where it listens. */
pid_t floor_tcp_start(uint16_t *port, int persistent);
/* Loopback UDP round trips (a QUERY-sized request, a QUERY-reply-sized answer) one at a
 * time against an echo child, for secs: rate and latencies. */
void floor_udp_run(double secs, bench_result_t *r);
/* append + fdatasync of one block line at a time in dir, for secs. */
void floor_sync_run(const char *dir, double secs, bench_result_t *r);
/* Seconds to write bytes to a new file in dir, fdatasync it and rename it (TXLIST floor). */
double floor_file_secs(const char *dir, uint64_t bytes);
/* Seconds to read a whole file (start-up floor). */
double floor_read_secs(const char *path);
void floor_stop(pid_t pid);

/* splitmix64: the generator's and the driver's random numbers */
static inline uint64_t bench_mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}
static inline uint64_t bench_rand(uint64_t *state) {
    *state += 0x9E3779B97F4A7C15ULL;
    return bench_mix(*state);
}

#endif
