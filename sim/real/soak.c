/* soak.c — the durability soak (soak.h): N transfers, C at a time, on the real programs (real.c's
 * process helpers, a realnet_t's hosts), kill -9 + restart of a random server every K ms, then
 * the checks over the block files read through core's blockfile_recover. */
#include "soak.h"

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blockfile.h"
#include "judge/judge.h"
#include "outcome.h"
#include "prng.h"
#include "proc/proc.h"
#include "real.h"

#define SOAK_USERS 20                   /* users on the ledger, each starting with 1000 */
#define SOAK_AMOUNT_MIN_RANGE 5         /* transfers send 1..max(this, what uniqueness needs) */
#define SOAK_REFUSED_EVERY 25           /* every 25th transfer asks for more than exists */
#define SOAK_POWER_SYNC_MIN_US 5000     /* --power-cut: a backend's sync delay */
#define SOAK_POWER_SYNC_MAX_US 20000
#define SOAK_TIMEOUT_MS 1000            /* serverM's wait for a backend (ALICHAIN_TIMEOUT_MS) */
#define SOAK_CLIENT_TIMEOUT_MS 5000     /* a client's wait (ALICHAIN_CLIENT_TIMEOUT_MS) */
#define SOAK_CLIENT_SLACK_MS 5000       /* past its own timeout a client counts as hung */
#define SOAK_START_MS_MAX 5000          /* a server prints its "up" line within this */
#define SOAK_STOP_MS_MAX 3000           /* SIGTERM'd servers exit within this */
#define SOAK_START_FAILURES_MAX 3       /* a server that exits by itself this often in a row is
                                         * given up: no new transfers start, the checks run */
#define SOAK_TICK_US 1000
#define SOAK_PATH_BYTES 512
#define SOAK_DIR_BYTES 128              /* the run's temp dir */
#define SOAK_ENV_BYTES 300
#define SOAK_ENV_MAX 6
#define SOAK_MSG_BYTES 400
#define SOAK_VIOLATIONS_SHOWN 20
#define SOAK_NAME_BYTES 16
#define SOAK_ARG_BYTES 32
#define SOAK_FILE_BYTES_MAX (256u << 20) /* a block file or an output read back */

static const char *const soak_prog[SIM_SERVERS] = {"serverM", "serverA", "serverB", "serverC"};

enum { OUT_PENDING, OUT_RUNNING, OUT_CONFIRMED, OUT_REFUSED, OUT_IN_DOUBT, OUT_UNAVAILABLE, OUT_OTHER, OUT_HUNG };

typedef struct {
    int sender, receiver;
    int64_t amount;
    int outcome;
    int exit_code;
    int64_t balance;          /* printed by a confirmed transfer */
    pid_t pid;
    uint64_t deadline_us;
    unsigned on_disk;         /* lines on the final disks naming this transfer */
    uint64_t serial;          /* the serial of one of them */
} soak_tx_t;

typedef struct {
    pid_t pid;
    int ready;
    unsigned generation;
    uint64_t started_us;
    unsigned failed_starts;   /* exits by itself since it was last up */
    int broken;               /* given up after SOAK_START_FAILURES_MAX of them */
} soak_srv_t;

typedef struct {
    const soak_options_t *o;
    realnet_t lo;
    realnet_t *net;
    int net_ready;
    char dir[SOAK_DIR_BYTES];
    unsigned offset;
    int lock_fd;
    prng_t rng;
    char users[SOAK_USERS][SOAK_NAME_BYTES];
    soak_tx_t *tx;
    int32_t *by_key;          /* (sender, receiver, amount <= range) -> transfer, or -1 */
    uint64_t range;           /* amounts 1..range (refused ones: above BALANCE_INITIAL x users) */
    soak_srv_t srv[SIM_SERVERS];
    uint64_t kills[SIM_SERVERS], restarts, self_exits;
    uint32_t violations;
    uint32_t torn_bad, recovery_bad;
    realdisk_t disk;          /* --power-cut: the disk fault file system over each server's dir */
    char first[SOAK_VIOLATIONS_SHOWN][SOAK_MSG_BYTES];
} soak_t;


static void violation(soak_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(soak_t *s, const char *fmt, ...) {
    if (s->violations < SOAK_VIOLATIONS_SHOWN) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->first[s->violations], SOAK_MSG_BYTES, fmt, ap);
        va_end(ap);
    }
    s->violations++;
}

/* ------------------------------------------------------------------ processes */

static void log_path(const soak_t *s, const char *name, unsigned n, const char *ext, char *p, size_t cap) {
    snprintf(p, cap, "%s/logs/%s.%u.%s", s->dir, name, n, ext);
}

static pid_t soak_spawn(soak_t *s, int node, const char *prog, int argc, char *const *args, const char *out,
                        const char *err) {
    real_env_t e = {.net = s->net, .programs = s->o->programs, .dir = s->dir, .offset = s->offset,
                    .timeout_ms = SOAK_TIMEOUT_MS, .client_timeout_ms = SOAK_CLIENT_TIMEOUT_MS};
    for (int n = 0; n < SIM_SERVERS; n++) e.node_dir[n] = s->disk.dir[n];
    uint64_t seed = s->o->seed + (node >= 0 && node < SIM_SERVERS ? s->srv[node].generation : 0);
    return real_spawn(&e, node, prog, seed, argc, args, out, err);
}

static int server_spawn(soak_t *s, int n) {
    char out[SOAK_PATH_BYTES], err[SOAK_PATH_BYTES];
    log_path(s, soak_prog[n], s->srv[n].generation, "out", out, sizeof(out));
    log_path(s, soak_prog[n], s->srv[n].generation, "err", err, sizeof(err));
    pid_t pid = soak_spawn(s, n, soak_prog[n], 0, NULL, out, err);
    if (pid < 0) return -1;
    s->srv[n].pid = pid;
    s->srv[n].ready = 0;
    s->srv[n].started_us = proc_now_us();
    return 0;
}

/* The last line of a server generation's stderr, for a report. */
static void server_last_err(const soak_t *s, int n, unsigned g, char *buf, size_t cap) {
    char path[SOAK_PATH_BYTES], *text = NULL;
    size_t len = 0;
    log_path(s, soak_prog[n], g, "err", path, sizeof(path));
    buf[0] = '\0';
    if (proc_file_read(path, SOAK_FILE_BYTES_MAX, &text, &len) != 0 || text == NULL) return;
    while (len > 0 && text[len - 1] == '\n') text[--len] = '\0';
    const char *last = strrchr(text, '\n');
    snprintf(buf, cap, "%s", last ? last + 1 : text);
    free(text);
}

/* Notices a server that is up (its "up" line) or that exited by itself (a violation: a
 * restart must recover its files); restarts the latter. Returns -1 when one cannot start. */
static int servers_poll(soak_t *s) {
    for (int n = 0; n < SIM_SERVERS; n++) {
        soak_srv_t *v = &s->srv[n];
        if (v->pid == 0) continue;
        int status;
        if (waitpid(v->pid, &status, WNOHANG) == v->pid) {
            char why[SOAK_MSG_BYTES / 2];
            server_last_err(s, n, v->generation, why, sizeof(why));
            violation(s, "restart: %s#%u exited by itself (status %d): %s", soak_prog[n], v->generation,
                      proc_exit_code(status), why);
            v->pid = 0;
            s->self_exits++;
            if (++v->failed_starts >= SOAK_START_FAILURES_MAX) {
                v->broken = 1;
                violation(s, "restart: %s given up after %d exits in a row; no new transfers start",
                          soak_prog[n], SOAK_START_FAILURES_MAX);
                continue;
            }
            v->generation++;
            if (server_spawn(s, n) != 0) return -1;
            continue;
        }
        if (!v->ready) {
            char path[SOAK_PATH_BYTES], up[SOAK_MSG_BYTES];
            log_path(s, soak_prog[n], v->generation, "out", path, sizeof(path));
            real_up_line(n, s->offset, up, sizeof(up));
            v->ready = proc_file_has(path, up);
            if (v->ready) v->failed_starts = 0;
            if (!v->ready && proc_now_us() - v->started_us > SOAK_START_MS_MAX * 1000ull) {
                violation(s, "restart: %s#%u printed no \"up\" line within %d ms", soak_prog[n], v->generation,
                          SOAK_START_MS_MAX);
                return -1;
            }
        }
    }
    return 0;
}

/* Waits until every server is up (deadline SOAK_START_MS_MAX each). */
static int servers_wait_ready(soak_t *s) {
    for (;;) {
        if (proc_interrupted() || servers_poll(s) != 0) return -1;
        int all = 1;
        for (int n = 0; n < SIM_SERVERS; n++) all &= s->srv[n].ready || s->srv[n].broken;
        if (all) return 0;
        proc_sleep_us(SOAK_TICK_US);
    }
}

/* kill -9 of a random server that is up (with --power-cut also a power cut of its disk:
 * what it had not synced is gone, its unsynced append maybe torn), and its restart at once. */
static int kill_one(soak_t *s) {
    int up[SIM_SERVERS], nup = 0;
    for (int n = 0; n < SIM_SERVERS; n++)
        if (s->srv[n].pid != 0 && s->srv[n].ready) up[nup++] = n;
    if (nup == 0) return 0;
    int n = up[prng_below(&s->rng, (uint64_t)nup)];
    char err[FAULTFS_ERR_BYTES];
    kill(s->srv[n].pid, SIGKILL);
    if (realdisk_cut(&s->disk, n, err, sizeof(err)) != 0 || realdisk_on(&s->disk, n, err, sizeof(err)) != 0) {
        violation(s, "harness: %s", err);
        return -1;
    }
    proc_kill(&s->srv[n].pid);
    s->kills[n]++;
    s->srv[n].generation++;
    s->restarts++;
    return server_spawn(s, n);
}

/* SIGTERM (finish, flush, exit 0), SIGKILL after SOAK_STOP_MS_MAX. */
static void servers_stop(soak_t *s) {
    pid_t pids[SIM_SERVERS];
    for (int n = 0; n < SIM_SERVERS; n++) pids[n] = s->srv[n].pid;
    unsigned late = proc_stop_all(pids, NULL, SIM_SERVERS, SOAK_STOP_MS_MAX * 1000ull);
    for (int n = 0; n < SIM_SERVERS; n++) {
        if (late & (1u << n))
            violation(s, "stop: %s did not exit within %d ms of SIGTERM", soak_prog[n], SOAK_STOP_MS_MAX);
        s->srv[n].pid = 0;
    }
}

/* ------------------------------------------------------------------ transfers */

static void tx_start(soak_t *s, uint32_t i) {
    soak_tx_t *t = &s->tx[i];
    char amount[SOAK_ARG_BYTES];
    snprintf(amount, sizeof(amount), "%lld", (long long)t->amount);
    char *args[3] = {s->users[t->sender], s->users[t->receiver], amount};
    char out[SOAK_PATH_BYTES], err[SOAK_PATH_BYTES];
    const char *prog = i % 2 ? "clientB" : "clientA";
    log_path(s, "tx", i, "out", out, sizeof(out));
    log_path(s, "tx", i, "err", err, sizeof(err));
    t->pid = soak_spawn(s, SIM_NODE_CLIENTS, prog, 3, args, out, err);
    t->outcome = OUT_RUNNING;
    t->deadline_us = proc_now_us() + (SOAK_CLIENT_TIMEOUT_MS + SOAK_CLIENT_SLACK_MS) * 1000ull;
    if (t->pid < 0) {
        t->pid = 0;
        t->outcome = OUT_OTHER;
        t->exit_code = 127;
    }
}

static void tx_finish(soak_t *s, uint32_t i, int status) {
    soak_tx_t *t = &s->tx[i];
    t->pid = 0;
    t->exit_code = proc_exit_code(status);
    char outp[SOAK_PATH_BYTES], errp[SOAK_PATH_BYTES], *out = NULL, *err = NULL;
    size_t ol = 0, el = 0;
    log_path(s, "tx", i, "out", outp, sizeof(outp));
    log_path(s, "tx", i, "err", errp, sizeof(errp));
    proc_file_read(outp, SOAK_FILE_BYTES_MAX, &out, &ol);
    proc_file_read(errp, SOAK_FILE_BYTES_MAX, &err, &el);
    outcome_t o; /* what the client printed, read by core/outcome.c */
    int shown = outcome_parse(out, ol, err, el, &o, NULL, 0) == 0 && outcome_exit_code(&o) == t->exit_code;
    if (t->exit_code == 0 && shown && o.reply.kind == CREP_TRANSFER) {
        t->outcome = OUT_CONFIRMED;
        t->balance = o.reply.balance;
    } else if (t->exit_code == 1) {
        t->outcome = OUT_REFUSED;
    } else if (t->exit_code == 3) {
        t->outcome = shown && o.in_doubt ? OUT_IN_DOUBT : OUT_UNAVAILABLE;
    } else {
        t->outcome = OUT_OTHER;
        violation(s, "client: transfer %u (%s -> %s %lld) ended with exit %d: %.120s", i, s->users[t->sender],
                  s->users[t->receiver], (long long)t->amount, t->exit_code, err ? err : "");
    }
    free(out);
    free(err);
    remove(outp);
    remove(errp);
}

/* Reaps ended clients and kills hung ones; returns how many still run. */
static uint32_t txs_reap(soak_t *s, uint32_t started) {
    uint32_t running = 0;
    uint64_t now = proc_now_us();
    for (uint32_t i = 0; i < started; i++) {
        soak_tx_t *t = &s->tx[i];
        if (t->outcome != OUT_RUNNING) continue;
        int status;
        if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
            tx_finish(s, i, status);
        } else if (now > t->deadline_us) {
            proc_kill(&t->pid);
            t->outcome = OUT_HUNG;
            violation(s, "liveness: transfer %u still ran %d ms after its client timeout", i, SOAK_CLIENT_SLACK_MS);
        } else {
            running++;
        }
    }
    return running;
}

/* Every transfer is unique (sender, receiver, amount), so a line on disk names one. */
static int txs_plan(soak_t *s) {
    uint32_t n = s->o->transfers;
    uint64_t pairs = (uint64_t)SOAK_USERS * (SOAK_USERS - 1);
    uint64_t range = (n + pairs - 1) / pairs;
    if (range < SOAK_AMOUNT_MIN_RANGE) range = SOAK_AMOUNT_MIN_RANGE;
    uint64_t all = pairs * range;
    uint32_t *pick = malloc(all * sizeof(*pick));
    s->tx = calloc(n + 1, sizeof(*s->tx));
    s->by_key = malloc(all * sizeof(*s->by_key));
    s->range = range;
    if (pick == NULL || s->tx == NULL || s->by_key == NULL) {
        free(pick);
        return -1;
    }
    for (uint64_t k = 0; k < all; k++) {
        pick[k] = (uint32_t)k;
        s->by_key[k] = -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t j = i + prng_below(&s->rng, all - i);
        uint32_t k = pick[j];
        pick[j] = pick[i];
        pick[i] = k;
        uint64_t pair = k / range;
        soak_tx_t *t = &s->tx[i];
        t->sender = (int)(pair / (SOAK_USERS - 1));
        t->receiver = (int)(pair % (SOAK_USERS - 1));
        if (t->receiver >= t->sender) t->receiver++;
        t->amount = (int64_t)(k % range) + 1;
        if (i % SOAK_REFUSED_EVERY == SOAK_REFUSED_EVERY - 1) /* more than the ledger holds: refused */
            t->amount = (int64_t)BALANCE_INITIAL * SOAK_USERS + 1 + i;
        else
            s->by_key[k] = (int32_t)i;
    }
    free(pick);
    return 0;
}

/* The users, and a ring of 1-coin transfers (serials 1..SOAK_USERS) so each exists. */
static int blocks_write(soak_t *s) {
    for (int u = 0; u < SOAK_USERS; u++) snprintf(s->users[u], SOAK_NAME_BYTES, "Soak%c%c", 'A' + u / 26, 'a' + u % 26);
    for (int b = 0; b < BACKEND_COUNT; b++) {
        char path[SOAK_PATH_BYTES];
        realdisk_path(&s->disk, SIM_NODE_A + b, blockfile_default_name(b), path, sizeof(path));
        FILE *f = fopen(path, "w");
        if (f == NULL) return -1;
        for (int u = b; u < SOAK_USERS; u += BACKEND_COUNT)
            fprintf(f, "%d %s %s 1\n", u + 1, s->users[u], s->users[(u + 1) % SOAK_USERS]);
        if (fclose(f) != 0) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ the checks */

static int user_of(const soak_t *s, const char *name) {
    for (int u = 0; u < SOAK_USERS; u++)
        if (strcmp(s->users[u], name) == 0) return u;
    return -1;
}

/* The transfer a disk transaction records: -2 an initial ring line, -1 none (a phantom). */
static long tx_of(const soak_t *s, const tx_t *t) {
    int a = user_of(s, t->sender), b = user_of(s, t->receiver);
    if (a < 0 || b < 0) return -1;
    if (t->serial <= SOAK_USERS && t->amount == 1 && b == (a + 1) % SOAK_USERS && (int)t->serial == a + 1) return -2;
    int64_t i = -1, over = t->amount - (int64_t)BALANCE_INITIAL * SOAK_USERS - 1;
    if (over >= 0 && over < (int64_t)s->o->transfers) i = over;
    else if (t->amount >= 1 && (uint64_t)t->amount <= s->range)
        i = s->by_key[((uint64_t)a * (SOAK_USERS - 1) + (uint64_t)(b > a ? b - 1 : b)) * s->range +
                      (uint64_t)t->amount - 1];
    if (i < 0 || s->tx[i].sender != a || s->tx[i].receiver != b || s->tx[i].amount != t->amount) return -1;
    return (long)i;
}

static int cmp_serial(const void *x, const void *y) {
    const hist_stored_t *a = x, *b = y;
    return a->tx.serial < b->tx.serial ? -1 : a->tx.serial > b->tx.serial;
}

/* 1 when hay[0..len) holds needle[0..n) at the start of a line. */
static int bytes_have(const char *hay, size_t len, const char *needle, size_t n) {
    for (size_t at = 0; at + n <= len;) {
        if (memcmp(hay + at, needle, n) == 0) return 1;
        const char *nl = memchr(hay + at, '\n', len - at);
        if (nl == NULL) return 0;
        at = (size_t)(nl - hay) + 1;
    }
    return 0;
}

/* 1 when line is a prefix of "<serial> <sender> <receiver> <amount>" of a transfer that was
 * never confirmed (in doubt, unavailable, hung), or of a confirmed one whose whole line,
 * that serial, is in the same block file img[0..len): an append torn by a power cut is
 * sent again by serverM once the backend is back (within its deadline), stored whole and
 * confirmed then. A confirmed line found only torn is a lost confirmed transfer. */
static int torn_line_ok(const soak_t *s, const char *line, const char *img, size_t len) {
    size_t d = strspn(line, "0123456789");
    const char *rest = line[d] == ' ' ? line + d + 1 : NULL;
    if (line[d] != '\0' && rest == NULL) return 0;
    for (uint32_t i = 0; i < s->o->transfers; i++) {
        const soak_tx_t *t = &s->tx[i];
        int confirmed = t->outcome == OUT_CONFIRMED;
        if (t->outcome != OUT_IN_DOUBT && t->outcome != OUT_UNAVAILABLE && t->outcome != OUT_HUNG && !confirmed)
            continue;
        if (rest == NULL) {
            if (!confirmed) return 1;
            continue; /* torn inside its serial: no whole line to look for */
        }
        char text[TX_LINE_BYTES_MAX + 1];
        snprintf(text, sizeof(text), "%s %s %lld", s->users[t->sender], s->users[t->receiver], (long long)t->amount);
        if (strncmp(text, rest, strlen(rest)) != 0) continue;
        if (!confirmed) return 1;
        char whole[TX_LINE_BYTES_MAX + 32];
        int n = snprintf(whole, sizeof(whole), "%.*s %s\n", (int)d, line, text);
        if (n > 0 && (size_t)n < sizeof(whole) && bytes_have(img, len, whole, (size_t)n)) return 1;
    }
    return 0;
}

/* Every line of "<block>.torn" and any torn tail recovery would set aside now. */
static void check_torn(soak_t *s, int b, const char *img, size_t len, const char *marker, size_t mlen,
                       uint32_t *torn) {
    char path[SOAK_PATH_BYTES + 8], *text = NULL, err[SOAK_MSG_BYTES];
    size_t tl = 0;
    realdisk_path(&s->disk, SIM_NODE_A + b, blockfile_default_name(b), path, sizeof(path));
    strncat(path, BLOCKFILE_TORN_SUFFIX, sizeof(path) - strlen(path) - 1);
    if (proc_file_read(path, SOAK_FILE_BYTES_MAX, &text, &tl) != 0) violation(s, "torn: cannot read %s", path);
    ledger_t l;
    ledger_init(&l);
    blockfile_recovery_t rec = {0};
    size_t extra = 0;
    if (blockfile_recover(&l, img, len, marker, mlen, blockfile_default_name(b), &rec, err, sizeof(err)) == 0)
        extra = rec.torn_len;
    ledger_free(&l);
    char *all = malloc(tl + extra + 2);
    if (all == NULL) {
        free(text);
        return;
    }
    memcpy(all, text ? text : "", tl);
    all[tl] = '\n';
    memcpy(all + tl + 1, img + (extra ? rec.load_len : 0), extra);
    all[tl + 1 + extra] = '\0';
    for (char *line = all, *nl; line != NULL; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl != NULL) *nl = '\0';
        if (*line == '\0') continue;
        (*torn)++;
        if (!torn_line_ok(s, line, img, len) && ++s->torn_bad)
            violation(s, "torn: %s line \"%.80s\" is no prefix of an append that was not confirmed, or confirmed "
                         "and stored whole after",
                      blockfile_default_name(b), line);
    }
    free(all);
    free(text);
}

static void file_append(const char *path, const char *line, size_t len) {
    FILE *f = fopen(path, "a");
    if (f == NULL) return;
    fwrite(line, 1, len, f);
    fclose(f);
}

/* The planted faults, on the line of the first confirmed transfer: drop-confirmed deletes it
 * from its block, torn-confirmed also writes it to that block's .torn file (a torn confirmed
 * append), copy-confirmed appends it to the next block as well (stored twice). */
static void plant_confirmed(soak_t *s, const check_txs_t *disk) {
    for (size_t k = 0; k < disk->count; k++) {
        long i = tx_of(s, &disk->txs[k].tx);
        if (i < 0 || s->tx[i].outcome != OUT_CONFIRMED) continue;
        int b = disk->txs[k].backend;
        char path[SOAK_PATH_BYTES], *img = NULL, line[TX_LINE_BYTES_MAX + 2];
        size_t len = 0;
        realdisk_path(&s->disk, SIM_NODE_A + b, blockfile_default_name(b), path, sizeof(path));
        size_t ll = tx_format(&disk->txs[k].tx, line, sizeof(line) - 1); /* ends in '\n' */
        line[ll] = '\0';
        if (s->o->plant == SOAK_PLANT_COPY_CONFIRMED) {
            int other = (b + 1) % BACKEND_COUNT;
            realdisk_path(&s->disk, SIM_NODE_A + other, blockfile_default_name(other), path, sizeof(path));
            file_append(path, line, ll);
            fprintf(s->o->report, "planted: copied \"%.*s\" (a confirmed transfer) from %s into %s\n",
                    (int)ll - 1, line, blockfile_default_name(b), blockfile_default_name(other));
            return;
        }
        if (proc_file_read(path, SOAK_FILE_BYTES_MAX, &img, &len) != 0 || img == NULL) return;
        char *at = strncmp(img, line, ll) == 0 ? img : NULL; /* a whole line: at the start or after '\n' */
        for (char *p = img; at == NULL && (p = strchr(p, '\n')) != NULL; p++)
            if (strncmp(p + 1, line, ll) == 0) at = p + 1;
        if (at != NULL) {
            memmove(at, at + ll, len - (size_t)(at - img) - ll + 1);
            FILE *f = fopen(path, "w");
            if (f != NULL) {
                fputs(img, f);
                fclose(f);
            }
            fprintf(s->o->report, "planted: deleted \"%.*s\" (a confirmed transfer) from %s\n", (int)ll - 1, line,
                    blockfile_default_name(b));
        }
        if (at != NULL && s->o->plant == SOAK_PLANT_TORN_CONFIRMED) { /* ... as if its append had torn */
            char torn[SOAK_PATH_BYTES + 8];
            snprintf(torn, sizeof(torn), "%s%s", path, BLOCKFILE_TORN_SUFFIX);
            file_append(torn, line, ll);
            fprintf(s->o->report, "planted: ... and put it in %s%s\n", blockfile_default_name(b), BLOCKFILE_TORN_SUFFIX);
        }
        free(img);
        return;
    }
}

static int read_disks(soak_t *s, check_txs_t *disk, uint32_t *torn) {
    for (int b = 0; b < BACKEND_COUNT; b++) {
        char path[SOAK_PATH_BYTES], mpath[SOAK_PATH_BYTES + 16], err[SOAK_MSG_BYTES];
        realdisk_path(&s->disk, SIM_NODE_A + b, blockfile_default_name(b), path, sizeof(path));
        snprintf(mpath, sizeof(mpath), "%s%s", path, BLOCKFILE_MARKER_SUFFIX);
        char *img = NULL, *marker = NULL;
        size_t len = 0, mlen = 0;
        if (proc_file_read(path, SOAK_FILE_BYTES_MAX, &img, &len) != 0 || img == NULL || proc_file_read(mpath, SOAK_FILE_BYTES_MAX, &marker, &mlen) != 0) {
            s->recovery_bad++;
            violation(s, "recovery: cannot read %s", path);
        } else {
            int bad = check_block_read(img, len, marker, mlen, b, disk, err, sizeof(err));
            if (bad < 0) {
                free(img);
                free(marker);
                return -1;
            }
            if (bad > 0 && ++s->recovery_bad)
                violation(s, "recovery: a restart could not recover %s: %s", blockfile_default_name(b), err);
            check_torn(s, b, img, len, marker, mlen, torn);
        }
        free(img);
        free(marker);
    }
    return 0;
}

static int check_all(soak_t *s, FILE *f) {
    check_txs_t disk = {0};
    uint32_t torn = 0;
    if (s->o->plant != SOAK_PLANT_NONE) {
        if (read_disks(s, &disk, &torn) != 0) return -1;
        plant_confirmed(s, &disk);
        check_txs_free(&disk);
        memset(&disk, 0, sizeof(disk));
        torn = 0;
    }
    s->torn_bad = s->recovery_bad = 0;
    if (read_disks(s, &disk, &torn) != 0) return -1;
    fprintf(f, "check recovery: %s (each block file read as a restarting backend reads it: blockfile_recover)\n",
            s->recovery_bad == 0 ? "ok" : "FAIL");
    fprintf(f, "check torn: %s (%u torn lines, each a prefix of an append not confirmed when it tore)\n",
            s->torn_bad == 0 ? "ok" : "FAIL", torn);
    qsort(disk.txs, disk.count, sizeof(*disk.txs), cmp_serial);

    /* serials unique and contiguous 1..max */
    uint32_t before = s->violations;
    uint64_t max = disk.count ? disk.txs[disk.count - 1].tx.serial : 0;
    for (size_t k = 0; k < disk.count; k++) {
        uint64_t want = k == 0 ? 1 : disk.txs[k - 1].tx.serial + 1;
        if (k > 0 && disk.txs[k].tx.serial == disk.txs[k - 1].tx.serial)
            violation(s, "serials: serial %llu is on disk twice (%s and %s)", (unsigned long long)disk.txs[k].tx.serial,
                      blockfile_default_name(disk.txs[k - 1].backend), blockfile_default_name(disk.txs[k].backend));
        else if (disk.txs[k].tx.serial != want)
            violation(s, "serials: a gap: %llu..%llu missing", (unsigned long long)want,
                      (unsigned long long)disk.txs[k].tx.serial - 1);
    }
    fprintf(f, "check serials: %s (%zu lines, serials 1..%llu)\n", s->violations == before ? "ok" : "FAIL",
            disk.count, (unsigned long long)max);

    /* walk in serial order: balances, and each line's transfer */
    int64_t bal[SOAK_USERS];
    for (int u = 0; u < SOAK_USERS; u++) bal[u] = BALANCE_INITIAL;
    uint32_t phantom = 0, wrong_balance = 0;
    for (size_t k = 0; k < disk.count; k++) {
        const tx_t *t = &disk.txs[k].tx;
        long i = tx_of(s, t);
        if (i == -1) {
            phantom++;
            violation(s, "no-phantom: serial %llu \"%s %s %lld\" is no transfer of this soak",
                      (unsigned long long)t->serial, t->sender, t->receiver, (long long)t->amount);
            continue;
        }
        int a = user_of(s, t->sender), b = user_of(s, t->receiver);
        if (k > 0 && t->serial == disk.txs[k - 1].tx.serial) {
            if (i >= 0) s->tx[i].on_disk++;
            continue; /* a copy: counted, applied once */
        }
        bal[a] -= t->amount;
        bal[b] += t->amount;
        if (i < 0) continue;
        soak_tx_t *x = &s->tx[i];
        x->on_disk++;
        x->serial = t->serial;
        if (x->outcome == OUT_CONFIRMED && x->on_disk == 1 && bal[a] != x->balance && wrong_balance++ < 3)
            violation(s, "confirmed: transfer %ld (serial %llu) printed balance %lld, the ledger gives %lld", i,
                      (unsigned long long)t->serial, (long long)x->balance, (long long)bal[a]);
    }
    fprintf(f, "check no-phantom: %s (%u lines no client asked for)\n", phantom == 0 ? "ok" : "FAIL", phantom);

    uint32_t confirmed = 0, lost = 0, twice = 0, refused_on = 0, doubt = 0, doubt_on = 0, doubt_twice = 0;
    for (uint32_t i = 0; i < s->o->transfers; i++) {
        const soak_tx_t *x = &s->tx[i];
        switch (x->outcome) {
        case OUT_CONFIRMED:
            confirmed++;
            if (x->on_disk == 0 && lost++ < 3)
                violation(s, "confirmed: transfer %u (%s -> %s %lld, printed balance %lld) is not on disk", i,
                          s->users[x->sender], s->users[x->receiver], (long long)x->amount, (long long)x->balance);
            if (x->on_disk > 1 && twice++ < 3)
                violation(s, "confirmed: transfer %u is on disk %u times", i, x->on_disk);
            break;
        case OUT_REFUSED:
            if (x->on_disk > 0 && refused_on++ < 3) violation(s, "refused: transfer %u is on disk although refused", i);
            break;
        case OUT_IN_DOUBT:
        case OUT_UNAVAILABLE:
        case OUT_HUNG:
            doubt++;
            doubt_on += x->on_disk == 1;
            if (x->on_disk > 1 && doubt_twice++ < 3)
                violation(s, "in-doubt: transfer %u is on disk %u times", i, x->on_disk);
            break;
        default:
            break;
        }
    }
    fprintf(f, "check confirmed: %s (%u confirmed: %u missing, %u more than once, %u with another balance)\n",
            lost + twice + wrong_balance == 0 ? "ok" : "FAIL", confirmed, lost, twice, wrong_balance);
    fprintf(f, "check refused: %s (refused transfers on disk: %u)\n", refused_on == 0 ? "ok" : "FAIL", refused_on);
    fprintf(f, "check in-doubt: %s (%u not confirmed: %u on disk once, %u absent, %u more than once)\n",
            doubt_twice == 0 ? "ok" : "FAIL", doubt, doubt_on, doubt - doubt_on - doubt_twice, doubt_twice);

    int64_t total = 0;
    int negative = 0;
    for (int u = 0; u < SOAK_USERS; u++) {
        total += bal[u];
        negative |= bal[u] < 0;
    }
    int conserved = total == (int64_t)BALANCE_INITIAL * SOAK_USERS && !negative;
    if (!conserved)
        violation(s, "conservation: %d users hold %lld coins (want %lld)%s", SOAK_USERS, (long long)total,
                  (long long)BALANCE_INITIAL * SOAK_USERS, negative ? ", one below 0" : "");
    fprintf(f, "check conservation: %s (%d users, %lld coins)\n", conserved ? "ok" : "FAIL", SOAK_USERS,
            (long long)total);
    check_txs_free(&disk);
    return 0;
}

/* ------------------------------------------------------------------ the run */

static void teardown(soak_t *s) {
    for (uint32_t i = 0; s->tx != NULL && i < s->o->transfers; i++) proc_kill(&s->tx[i].pid);
    for (int n = 0; n < SIM_SERVERS; n++) proc_kill(&s->srv[n].pid);
    realdisk_unmount(&s->disk);
    if (s->net_ready) s->net->teardown(s->net);
    s->net_ready = 0;
    if (s->dir[0] != '\0') proc_remove_tree(s->dir);
    s->dir[0] = '\0';
    if (s->lock_fd >= 0) close(s->lock_fd);
    s->lock_fd = -1;
}

/* Transfers, C at a time, with a kill (and restart) every kill_ms. */
static int drive(soak_t *s) {
    const soak_options_t *o = s->o;
    uint32_t started = 0;
    uint64_t next_kill = proc_now_us() + o->kill_ms * 1000ull;
    for (;;) {
        if (proc_interrupted() || servers_poll(s) != 0) return -1;
        uint32_t running = txs_reap(s, started);
        int broken = 0;
        for (int n = 0; n < SIM_SERVERS; n++) broken |= s->srv[n].broken;
        while (!broken && running < o->concurrency && started < o->transfers) {
            tx_start(s, started++);
            running++;
        }
        if (running == 0 && (started == o->transfers || broken)) return 0;
        uint64_t now = proc_now_us();
        if (o->kill_ms > 0 && now >= next_kill) {
            if (kill_one(s) != 0) return -1;
            next_kill += o->kill_ms * 1000ull;
            if (next_kill < now) next_kill = now + o->kill_ms * 1000ull; /* a slow tick: no burst */
        }
        proc_sleep_us(SOAK_TICK_US);
    }
}

static void report_counts(const soak_t *s, FILE *f) {
    uint32_t c[OUT_HUNG + 1] = {0};
    for (uint32_t i = 0; i < s->o->transfers; i++) c[s->tx[i].outcome]++;
    fprintf(f, "transfers: %u (confirmed %u, in doubt %u, refused %u, unavailable %u, hung %u, other %u, "
            "not started %u)\n", s->o->transfers, c[OUT_CONFIRMED], c[OUT_IN_DOUBT], c[OUT_REFUSED],
            c[OUT_UNAVAILABLE], c[OUT_HUNG], c[OUT_OTHER] + c[OUT_RUNNING], c[OUT_PENDING]);
    uint64_t kills = 0;
    for (int n = 0; n < SIM_SERVERS; n++) kills += s->kills[n];
    fprintf(f, "kills: %llu (serverM %llu, serverA %llu, serverB %llu, serverC %llu)\n", (unsigned long long)kills,
            (unsigned long long)s->kills[SIM_NODE_M], (unsigned long long)s->kills[SIM_NODE_A],
            (unsigned long long)s->kills[SIM_NODE_B], (unsigned long long)s->kills[SIM_NODE_C]);
    fprintf(f, "restarts: %llu (after a kill; %llu more after a server exited by itself)\n",
            (unsigned long long)s->restarts, (unsigned long long)s->self_exits);
    if (s->disk.mounted > 0) {
        char sum[REALDISK_SUMMARY_BYTES];
        realdisk_summary(&s->disk, sum, sizeof(sum));
        fprintf(f, "power cuts: %s\n", sum);
    }
}

int soak_run(const soak_options_t *o) {
    FILE *f = o->report;
    soak_t *s = calloc(1, sizeof(*s));
    if (s == NULL) return REAL_EXIT_REFUSED;
    s->o = o;
    s->lock_fd = -1;
    for (int n = 0; n < SIM_SERVERS; n++) s->disk.fs[n].wake_fd = -1;
    realnet_loopback(&s->lo);
    s->net = o->net != NULL ? o->net : &s->lo;
    prng_init(&s->rng, o->seed);
    proc_signals_t saved; /* SIGINT/SIGTERM: stop everything started, then report */
    proc_signals_catch(&saved);
    uint64_t wall0 = proc_now_us();

    char kills[96];
    if (o->kill_ms > 0)
        snprintf(kills, sizeof(kills), "kill -9%s of a random server every %u ms",
                 o->power_cut ? " and a power cut (syncs 5..20 ms, torn appends)" : "", o->kill_ms);
    else snprintf(kills, sizeof(kills), "no server killed (--kill-ms 0)");
    fprintf(f, "soak: %u transfers, concurrency %u, %s, seed %llu\n", o->transfers, o->concurrency, kills,
            (unsigned long long)o->seed);
    if (o->net != NULL) fprintf(f, "network: %s (a network namespace per host, 198.18.0.0/24)\n", s->net->name);
    else fprintf(f, "network: loopback (NO NAMESPACE HOSTS: every program on 127.0.0.1%s%s)\n",
                 o->net_note ? "; hosts unavailable: " : "", o->net_note ? o->net_note : "");
    char err[SOAK_MSG_BYTES] = "";
    char logs[SOAK_DIR_BYTES + 8];
    int rc = REAL_EXIT_REFUSED;
    /* --power-cut: a backend's sync takes SOAK_POWER_SYNC_MIN_US..MAX_US, so a busy backend
     * nearly always holds an unsynced append when its power goes, and every cut with unsynced
     * bytes keeps a torn part of them (a prefix of one or more lines); serverM's file delay
     * is the simulator's calm one */
    sim_faults_t disk_faults;
    sim_faults_default(&disk_faults);
    for (int b = 0; b < BACKEND_COUNT; b++) {
        disk_faults.disk[b].torn_ppm = PPM_ONE;
        disk_faults.disk[b].sync_min_us = SOAK_POWER_SYNC_MIN_US;
        disk_faults.disk[b].sync_max_us = SOAK_POWER_SYNC_MAX_US;
    }
    if (proc_mkdtemp(s->dir, sizeof(s->dir), "alichain-soak") != 0) {
        snprintf(err, sizeof(err), "cannot create a temp dir: %s", strerror(errno));
    } else if (snprintf(logs, sizeof(logs), "%s/logs", s->dir) < 0 || mkdir(logs, 0755) != 0) {
        snprintf(err, sizeof(err), "cannot create %s", logs);
    } else if (realdisk_init(&s->disk, o->power_cut ? REALDISK_FUSE : REALDISK_PLAIN, s->dir, err, sizeof(err)) != 0) {
        /* err says why (--power-cut without the disk fault file system) */
    } else if (blocks_write(s) != 0 || txs_plan(s) != 0) {
        snprintf(err, sizeof(err), "cannot write the blocks or plan the transfers");
    } else if (o->has_port_offset ? (s->offset = o->port_offset, 0)
                                  : proc_port_lease(&s->offset, &s->lock_fd, err, sizeof(err))) {
        /* err says why */
    } else if (s->net_ready = 1, s->net->setup(s->net, s->offset, err, sizeof(err)) != 0) {
        /* err says why */
    } else if (realdisk_mount(&s->disk, &disk_faults, o->seed, UINT64_MAX, err, sizeof(err)) != 0) {
        /* err says why */
    } else {
        fprintf(f, "port-offset: %u\n", s->offset);
        for (int n = SIM_NODE_A; n <= SIM_NODE_C && err[0] == '\0'; n++)
            if (server_spawn(s, n) != 0) snprintf(err, sizeof(err), "cannot fork %s", soak_prog[n]);
        if (err[0] == '\0' && server_spawn(s, SIM_NODE_M) != 0) snprintf(err, sizeof(err), "cannot fork serverM");
        if (err[0] == '\0' && servers_wait_ready(s) != 0) snprintf(err, sizeof(err), "the servers did not start");
        uint64_t t0 = proc_now_us();
        if (err[0] == '\0' && drive(s) != 0)
            snprintf(err, sizeof(err), "%s", proc_interrupted() ? "interrupted" : "a server could not be restarted");
        if (err[0] == '\0' && servers_wait_ready(s) != 0) snprintf(err, sizeof(err), "the servers did not come back");
        uint64_t t1 = proc_now_us();
        if (err[0] == '\0') {
            servers_stop(s);
            report_counts(s, f);
            fprintf(f, "transfer phase: %.3fs (%.1f transfers/s)\n", (double)(t1 - t0) / 1e6,
                    (double)o->transfers / ((double)(t1 - t0) / 1e6));
            if (check_all(s, f) != 0) snprintf(err, sizeof(err), "out of memory in the checks");
        }
    }
    if (err[0] != '\0') {
        if (s->tx != NULL && s->dir[0] != '\0') report_counts(s, f);
        fprintf(f, "refused: %s\n", proc_interrupted() ? "interrupted: everything started was stopped" : err);
    } else {
        rc = s->violations > 0;
    }
    uint32_t shown = s->violations < SOAK_VIOLATIONS_SHOWN ? s->violations : SOAK_VIOLATIONS_SHOWN;
    for (uint32_t i = 0; i < shown; i++) fprintf(f, "violation: %s\n", s->first[i]);
    if (s->violations > shown) fprintf(f, "violation: ... and %u more\n", s->violations - shown);
    teardown(s);
    fprintf(f, "wall: %.3fs\n", (double)(proc_now_us() - wall0) / 1e6);
    fprintf(f, "verdict: %s\n", rc == 0 ? "pass" : rc == 1 ? "fail" : "refused");
    free(s->tx);
    free(s->by_key);
    free(s);
    proc_signals_restore(&saved);
    return rc;
}
