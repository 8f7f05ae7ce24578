/* load.c — the load driver of alichain-bench: up to BENCH_CONNS_MAX concurrent TCP
 * connections to serverM, one-shot (one request, read the reply to EOF, like clientA) or
 * persistent (ALICHAIN/1 KEEPALIVE, then up to --depth requests in flight, replies in order),
 * non-blocking, one poll() loop; every answer checked against the ledger model, latencies
 * (send to reply) kept exactly.
 * Concurrent transfers are checked after the phase: replayed in serial order, their serials
 * must be contiguous and each new balance right; a balance read meanwhile must be the
 * user's balance after some serial between the last confirmed one and the last sent one. */
#include "bench.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MIX_TRANSFER_PERCENT 10
#define FLOOR_USERS 1000                 /* names asked of the floor server */

typedef enum { OP_BALANCE, OP_TRANSFER, OP_STATS, OP_TXLIST } op_kind_t;

typedef struct {
    op_kind_t kind;
    int aux;                 /* HOL's TXLIST: counted apart */
    uint32_t user, receiver; /* user indexes (FLOOR: a number for the name) */
    unsigned stats_slot;
    uint64_t lo_serial;      /* MIX balance: largest serial confirmed before it was sent */
} op_t;

/* one-shot: CONNECTING -> SENDING -> READING (to EOF) -> FREE;
 * persistent: CONNECTING -> OPEN (hello answered, then requests in flight) -> FREE */
enum { CONN_FREE, CONN_CONNECTING, CONN_SENDING, CONN_READING, CONN_OPEN };

#define PCONN_OUT_BYTES ((BENCH_DEPTH_MAX + 1) * TCP_REQUEST_BYTES_MAX)   /* hello + pipeline */

typedef struct {             /* a persistent connection's request awaiting its reply */
    op_t op;
    uint64_t t0_ns;
} pending_t;

typedef struct {
    int fd, state;
    op_t op;                 /* one-shot: the request */
    char req[TCP_REQUEST_BYTES_MAX];
    size_t req_len, req_off;
    char *rep;               /* bytes received (persistent: from rep_off on, not yet parsed) */
    size_t rep_len, rep_cap, rep_off;
    uint64_t t0_ns, deadline_ns;   /* one-shot: the request's; persistent: the hello's */
    /* persistent only */
    int hello;               /* OK KEEPALIVE not received yet */
    unsigned depth;          /* requests in flight at most */
    pending_t q[BENCH_DEPTH_MAX];  /* in flight, oldest at q_head */
    unsigned q_head, q_len;
    char *out;               /* PCONN_OUT_BYTES: requests [out_off, out_len) not yet written */
    size_t out_off, out_len;
    size_t scan_at;          /* bytes of the reply at rep_off already framed ... */
    wire_frame_t frame;      /* ... by core's framing of persistent replies */
} conn_t;

typedef struct {
    uint64_t serial;
    uint32_t sender, receiver;
    int64_t new_balance;
} xfer_t;

typedef struct {
    uint32_t user;
    uint64_t lo, hi;
    int64_t value;
} seen_t;

typedef struct {
    const bench_load_t *cfg;
    bench_result_t *r;
    bench_ledger_t *l;
    bench_stats_model_t stats;
    uint64_t base;                 /* max serial when the phase began */
    uint64_t rng;
    uint64_t started;              /* main operations started */
    uint64_t sent_transfers, max_acked_serial;
    uint64_t aux_done, aux_inflight;
    xfer_t *xf; size_t xf_len, xf_cap;
    seen_t *seen; size_t seen_len, seen_cap;
    int64_t *start_balance;        /* MIX: the balances when the phase began */
    uint64_t end_ns;               /* --seconds are up */
} phase_t;

static const char *const mode_names[MODE_COUNT] = {
    "balance", "transfer", "mix", "hot", "stats", "txlist", "hol", "floor" };

const char *bench_mode_name(bench_mode_t m) { return mode_names[m]; }

int bench_mode_parse(const char *s, bench_mode_t *m) {
    for (int i = 0; i < MODE_COUNT; i++)
        if (strcmp(s, mode_names[i]) == 0) { *m = (bench_mode_t)i; return 0; }
    return -1;
}

/* ---- samples ---- */
void samples_add(bench_samples_t *s, uint64_t ns) {
    if (s->len == BENCH_SAMPLES_MAX) return;   /* a phase this long keeps its first ones */
    if (s->len == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 4096;
        s->us = bench_xrealloc(s->us, s->cap * sizeof *s->us);
    }
    uint64_t us = ns / 1000;
    s->us[s->len++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int u32_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

double samples_pct(bench_samples_t *s, double p) {
    if (s->len == 0) return 0;
    qsort(s->us, s->len, sizeof *s->us, u32_cmp);
    /* nearest rank: the smallest sample with at least p % of the samples at or below it */
    double rank = p / 100.0 * (double)s->len;
    size_t i = (size_t)rank;
    if ((double)i < rank) i++;
    if (i == 0) i = 1;
    if (i > s->len) i = s->len;
    return s->us[i - 1];
}

void samples_free(bench_samples_t *s) {
    free(s->us);
    memset(s, 0, sizeof *s);
}

/* ---- answers ---- */
static void wrong(phase_t *ph, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wrong(phase_t *ph, const char *fmt, ...) {
    if (ph->r->wrong++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ph->r->first_wrong, sizeof ph->r->first_wrong, fmt, ap);
        va_end(ap);
    }
}

static int is_error_kind(crep_kind_t k) { return wire_crep_exit_code(k) == 3; }

/* Splits the reply into lines; returns the count of lines, each '\n'-terminated, or -1. */
static int reply_lines(char *rep, size_t len, const char **line, size_t *line_len, int max) {
    int n = 0;
    size_t at = 0;
    while (at < len) {
        char *nl = memchr(rep + at, '\n', len - at);
        if (!nl || n == max) return -1;
        line[n] = rep + at;
        line_len[n] = (size_t)(nl - (rep + at));
        n++;
        at = (size_t)(nl - rep) + 1;
    }
    return n;
}

static void check_stats(phase_t *ph, const op_t *op, const wire_crep_t *head, char *rep,
                        size_t len) {
    unsigned s = op->stats_slot;
    size_t want = ph->stats.rows_len[s];
    if (head->count != want) {
        wrong(ph, "STATS u%u: %llu rows, expected %zu", op->user,
              (unsigned long long)head->count, want);
        return;
    }
    const char *p = (const char *)memchr(rep, '\n', len) + 1;   /* after the head line */
    const char *end = rep + len;
    for (size_t i = 0; i < want; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        wire_crow_t row;
        const bench_row_t *m = &ph->stats.rows[s][i];
        char name[NAME_BYTES_MAX + 1];
        ledger_name(ph->l, m->partner, name);
        if (!nl || wire_crow_decode(p, (size_t)(nl - p), &row) != 0 || row.rank != i + 1 ||
            strcmp(row.partner.s, name) != 0 || row.count != m->count || row.net != m->net) {
            wrong(ph, "STATS u%u row %zu: got \"%.*s\", expected %zu %s %llu %lld", op->user,
                  i + 1, nl ? (int)(nl - p) : 0, p, i + 1, name, (unsigned long long)m->count,
                  (long long)m->net);
            return;
        }
        p = nl + 1;
    }
    if (p != end) wrong(ph, "STATS u%u: bytes after the last row", op->user);
}

/* Checks the whole reply text[0..len) to op, sent at t0_ns, against the model. */
static void check_reply(phase_t *ph, const op_t *op, char *text, size_t len, uint64_t t0_ns,
                        uint64_t now_ns) {
    const char *line[2];
    size_t line_len[2];
    wire_crep_t rep;
    int lines = reply_lines(text, len, line, line_len, 1);
    if (len == 0 || !memchr(text, '\n', len)) {
        ph->r->errors++;                       /* closed before a whole reply */
        return;
    }
    const char *nl = memchr(text, '\n', len);
    if (wire_crep_decode(text, (size_t)(nl - text), &rep) != 0) {
        wrong(ph, "undecodable reply \"%.*s\"", (int)(nl - text), text);
        return;
    }
    if (is_error_kind(rep.kind)) { ph->r->errors++; return; }
    if (op->kind != OP_STATS && lines != 1) {
        wrong(ph, "bytes after the reply line \"%.*s\"", (int)line_len[0], line[0]);
        return;
    }
    bench_ledger_t *l = ph->l;
    switch (op->kind) {
    case OP_BALANCE:
        if (rep.kind != CREP_BALANCE) { wrong(ph, "BALANCE: reply kind %d", (int)rep.kind); return; }
        if (ph->cfg->mode == MODE_FLOOR) break;
        if (ph->cfg->mode == MODE_MIX) {
            if (ph->seen_len == ph->seen_cap) {
                ph->seen_cap = ph->seen_cap ? 2 * ph->seen_cap : 4096;
                ph->seen = bench_xrealloc(ph->seen, ph->seen_cap * sizeof *ph->seen);
            }
            ph->seen[ph->seen_len++] = (seen_t){ op->user, op->lo_serial,
                                                 ph->base + ph->sent_transfers, rep.balance };
        } else if (rep.balance != l->balance[op->user]) {
            wrong(ph, "BALANCE u%u: %lld, expected %lld", op->user, (long long)rep.balance,
                  (long long)l->balance[op->user]);
        }
        break;
    case OP_TRANSFER:
        if (rep.kind != CREP_TRANSFER) {
            wrong(ph, "TRANSFER u%u -> u%u: reply \"%.*s\"", op->user, op->receiver,
                  (int)(nl - text), text);
            return;
        }
        if (ph->xf_len == ph->xf_cap) {
            ph->xf_cap = ph->xf_cap ? 2 * ph->xf_cap : 4096;
            ph->xf = bench_xrealloc(ph->xf, ph->xf_cap * sizeof *ph->xf);
        }
        ph->xf[ph->xf_len++] = (xfer_t){ rep.serial, op->user, op->receiver, rep.balance };
        if (rep.serial > ph->max_acked_serial) ph->max_acked_serial = rep.serial;
        break;
    case OP_STATS:
        if (rep.kind != CREP_STATS) { wrong(ph, "STATS: reply kind %d", (int)rep.kind); return; }
        check_stats(ph, op, &rep, text, len);
        break;
    case OP_TXLIST:
        if (rep.kind != CREP_TXLIST) { wrong(ph, "TXLIST: reply kind %d", (int)rep.kind); return; }
        if (rep.count != ledger_max_serial(l))
            wrong(ph, "TXLIST: %llu transactions, expected %llu", (unsigned long long)rep.count,
                  (unsigned long long)ledger_max_serial(l));
        if (ph->cfg->txlist_dir && ph->aux_done + ph->r->ops == 0) {  /* the file, once */
            char path[BENCH_PATH_MAX], err[512];
            if (rep.text[0] == '/') snprintf(path, sizeof path, "%s", rep.text);
            else bench_path(path, "%s/%s", ph->cfg->txlist_dir, rep.text);
            if (ledger_check_txlist(l, path, rep.count, err, sizeof err) != 0)
                wrong(ph, "TXLIST file: %s", err);
        }
        break;
    }
    if (op->aux) {
        ph->aux_done++;
        samples_add(&ph->r->aux, now_ns - t0_ns);
    } else {
        ph->r->ops++;
        samples_add(&ph->r->lat, now_ns - t0_ns);
    }
}

/* ---- transfers and the balances read meanwhile, after the phase ---- */
static int xf_cmp(const void *a, const void *b) {
    const xfer_t *x = a, *y = b;
    return x->serial < y->serial ? -1 : x->serial > y->serial;
}

typedef struct {
    uint32_t user;
    uint64_t serial;
    int64_t balance;
} change_t;

static int change_cmp(const void *a, const void *b) {
    const change_t *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    return x->serial < y->serial ? -1 : x->serial > y->serial;
}

/* Is v the user's balance after some serial in [lo, hi]? ch[from..to) are its changes. */
static int seen_ok(const change_t *ch, size_t from, size_t to, int64_t start, const seen_t *s) {
    int64_t at_lo = start;
    size_t i = from;
    for (; i < to && ch[i].serial <= s->lo; i++) at_lo = ch[i].balance;
    if (at_lo == s->value) return 1;
    for (; i < to && ch[i].serial <= s->hi; i++)
        if (ch[i].balance == s->value) return 1;
    return 0;
}

static void finish_transfers(phase_t *ph) {
    bench_ledger_t *l = ph->l;
    if (ph->xf_len) qsort(ph->xf, ph->xf_len, sizeof *ph->xf, xf_cmp);
    change_t *ch = ph->seen_len ? bench_xmalloc(2 * ph->xf_len * sizeof *ch + 1) : NULL;
    size_t ch_len = 0;
    for (size_t i = 0; i < ph->xf_len; i++) {
        const xfer_t *x = &ph->xf[i];
        if (x->serial != ph->base + 1 + i) {
            wrong(ph, "TRANSFER serials not contiguous: serial %llu at place %llu",
                  (unsigned long long)x->serial, (unsigned long long)(ph->base + 1 + i));
            free(ch);
            return;   /* the model cannot follow; the run fails */
        }
        ledger_apply(l, x->sender, x->receiver, 1);
        if (l->balance[x->sender] != x->new_balance)
            wrong(ph, "TRANSFER serial %llu u%u: new balance %lld, expected %lld",
                  (unsigned long long)x->serial, x->sender, (long long)x->new_balance,
                  (long long)l->balance[x->sender]);
        if (ch) {
            ch[ch_len++] = (change_t){ x->sender, x->serial, l->balance[x->sender] };
            ch[ch_len++] = (change_t){ x->receiver, x->serial, l->balance[x->receiver] };
        }
    }
    if (!ch) return;
    qsort(ch, ch_len, sizeof *ch, change_cmp);
    for (size_t i = 0; i < ph->seen_len; i++) {
        const seen_t *s = &ph->seen[i];
        size_t lo = 0, hi = ch_len;                 /* first change of the user */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (ch[mid].user < s->user) lo = mid + 1; else hi = mid;
        }
        size_t to = lo;
        while (to < ch_len && ch[to].user == s->user) to++;
        if (!seen_ok(ch, lo, to, ph->start_balance[s->user], s))
            wrong(ph, "BALANCE u%u during transfers: %lld is its balance after no serial in "
                  "%llu..%llu", s->user, (long long)s->value, (unsigned long long)s->lo,
                  (unsigned long long)s->hi);
    }
    free(ch);
}

/* ---- connections ---- */
static uint32_t pick_user(phase_t *ph) { return (uint32_t)(bench_rand(&ph->rng) % ph->l->users); }

static uint32_t pick_other(phase_t *ph, uint32_t u) {
    uint32_t n = ph->l->users;
    return (uint32_t)((u + 1 + bench_rand(&ph->rng) % (n - 1)) % n);
}

static void choose_op(phase_t *ph, unsigned slot, op_t *op) {
    memset(op, 0, sizeof *op);
    switch (ph->cfg->mode) {
    case MODE_FLOOR:
        op->kind = OP_BALANCE;
        op->user = (uint32_t)(bench_rand(&ph->rng) % FLOOR_USERS);
        return;
    case MODE_BALANCE:
        op->kind = OP_BALANCE;
        op->user = pick_user(ph);
        return;
    case MODE_MIX:
        if (bench_rand(&ph->rng) % 100 >= MIX_TRANSFER_PERCENT) {
            op->kind = OP_BALANCE;
            op->user = pick_user(ph);
            op->lo_serial = ph->max_acked_serial;
            return;
        }
        op->kind = OP_TRANSFER;
        op->user = pick_user(ph);
        op->receiver = pick_other(ph, op->user);
        return;
    case MODE_TRANSFER:
        op->kind = OP_TRANSFER;
        op->user = pick_user(ph);
        op->receiver = pick_other(ph, op->user);
        return;
    case MODE_HOT:
        op->kind = OP_TRANSFER;
        op->user = (uint32_t)(bench_rand(&ph->rng) % BENCH_HOT_SENDERS);
        op->receiver = pick_other(ph, op->user);
        return;
    case MODE_STATS:
        op->kind = OP_STATS;
        op->stats_slot = (unsigned)(bench_rand(&ph->rng) % BENCH_STATS_USERS);
        op->user = ph->stats.user[op->stats_slot];
        return;
    case MODE_TXLIST:
        op->kind = OP_TXLIST;
        return;
    case MODE_HOL:
        if (slot == 0) { op->kind = OP_TXLIST; op->aux = 1; return; }
        op->kind = OP_BALANCE;
        op->user = pick_user(ph);
        return;
    case MODE_COUNT: break;
    }
    bench_die("unknown mode");
}

static void set_name(wire_name_t *n, const phase_t *ph, uint32_t u) {
    if (ph->l) {
        n->len = (uint8_t)ledger_name(ph->l, u, n->s);
    } else {
        n->len = (uint8_t)snprintf(n->s, sizeof n->s, "u%u", u);
    }
}

/* The request line of op into buf (>= TCP_REQUEST_BYTES_MAX); returns its length. */
static size_t encode_op(const phase_t *ph, const op_t *op, char *buf) {
    wire_creq_t q;
    memset(&q, 0, sizeof q);
    switch (op->kind) {
    case OP_BALANCE: q.op = CREQ_BALANCE; set_name(&q.user, ph, op->user); break;
    case OP_TRANSFER:
        q.op = CREQ_TRANSFER;
        set_name(&q.user, ph, op->user);
        set_name(&q.receiver, ph, op->receiver);
        q.amount = 1;
        break;
    case OP_STATS: q.op = CREQ_STATS; set_name(&q.user, ph, op->user); break;
    case OP_TXLIST: q.op = CREQ_TXLIST; break;
    }
    size_t n = wire_creq_encode(&q, buf, TCP_REQUEST_BYTES_MAX);
    AC_ASSERT(n > 0);
    return n;
}

/* Chooses the next operation of a slot and counts it as started. */
static void op_begin(phase_t *ph, unsigned slot, op_t *op) {
    choose_op(ph, slot, op);
    if (op->aux) ph->aux_inflight++; else ph->started++;
    if (op->kind == OP_TRANSFER) ph->sent_transfers++;
}

static uint64_t op_timeout_ns(const op_t *op) {
    return (op->kind == OP_TXLIST ? BENCH_TXLIST_TIMEOUT_MS : BENCH_OP_TIMEOUT_MS) * 1000000ULL;
}

/* A non-blocking connect to serverM's port: 0 (c->fd, c->state set) or -1. */
static int conn_connect(const phase_t *ph, conn_t *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) return -1;
    int one = 1;   /* pipelined requests go out at once, not behind an unacknowledged one */
    if (ph->cfg->persistent &&
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(ph->cfg->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) == 0) c->state = CONN_SENDING;
    else if (errno == EINPROGRESS) c->state = CONN_CONNECTING;
    else return -1;
    return 0;
}

/* Makes room for another TCP_LINE_BYTES_MAX in c->rep; -1 past BENCH_REPLY_BYTES_MAX. */
static int rep_reserve(conn_t *c) {
    if (c->rep_cap - c->rep_len >= TCP_LINE_BYTES_MAX) return 0;
    if (c->rep_cap >= BENCH_REPLY_BYTES_MAX) return -1;
    c->rep_cap = c->rep_cap ? 2 * c->rep_cap : 4096;
    c->rep = bench_xrealloc(c->rep, c->rep_cap);
    return 0;
}

static void conn_close(conn_t *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->state = CONN_FREE;
    c->rep_len = 0;
}

static void conn_fail(phase_t *ph, conn_t *c) {
    ph->r->errors++;
    if (c->op.aux && ph->aux_inflight) ph->aux_inflight--;
    conn_close(c);
}

static void conn_start(phase_t *ph, conn_t *c, unsigned slot, uint64_t now_ns) {
    op_begin(ph, slot, &c->op);
    c->req_len = encode_op(ph, &c->op, c->req);
    c->req_off = 0;
    c->t0_ns = now_ns;
    c->deadline_ns = now_ns + op_timeout_ns(&c->op);
    c->rep_len = 0;
    if (conn_connect(ph, c) != 0) conn_fail(ph, c);
}

/* Writes buf[*off..len) until done (0), the socket is full (1) or it fails (-1). */
static int write_some(int fd, const char *buf, size_t len, size_t *off) {
    while (*off < len) {
        ssize_t n = write(fd, buf + *off, len - *off);
        if (n < 0 && errno == EAGAIN) return 1;
        if (n <= 0) return -1;
        *off += (size_t)n;
    }
    return 0;
}

static void conn_send(phase_t *ph, conn_t *c) {
    int rc = write_some(c->fd, c->req, c->req_len, &c->req_off);
    if (rc < 0) conn_fail(ph, c);
    else if (rc == 0) c->state = CONN_READING;
}

static void conn_read(phase_t *ph, conn_t *c) {
    for (;;) {
        if (rep_reserve(c) != 0) { conn_fail(ph, c); return; }
        ssize_t n = read(c->fd, c->rep + c->rep_len, c->rep_cap - c->rep_len);
        if (n < 0 && errno == EAGAIN) return;
        if (n < 0) { conn_fail(ph, c); return; }
        if (n == 0) break;
        c->rep_len += (size_t)n;
    }
    if (c->op.aux && ph->aux_inflight) ph->aux_inflight--;
    check_reply(ph, &c->op, c->rep, c->rep_len, c->t0_ns, bench_now_ns());
    conn_close(c);
}

static int keep_starting(const phase_t *ph, unsigned slot, uint64_t now_ns) {
    uint64_t end_ns = ph->end_ns;
    if (bench_interrupted) return 0;
    const bench_load_t *cfg = ph->cfg;
    if (cfg->mode == MODE_HOL) {
        /* TXLISTs back to back until the time is up and one has finished; balances only
         * while a TXLIST runs */
        int time_up = now_ns >= end_ns || (cfg->ops_max && ph->started >= cfg->ops_max);
        if (slot == 0) return !(time_up && ph->aux_done > 0);
        return ph->aux_inflight > 0 && !(time_up && ph->aux_done > 0);
    }
    if (cfg->ops_max && ph->started >= cfg->ops_max) return 0;
    if (cfg->ops_max) return 1;
    /* --seconds, and past them only until the first operation has ended (a phase shorter
     * than one slow operation, say a STATS under sanitizers, would measure nothing) */
    const bench_result_t *r = ph->r;
    return now_ns < end_ns || r->ops + r->wrong + r->errors == 0;
}

/* ---- persistent connections ---- */
/* The phase is over for good (HOL: its TXLIST slot stops; otherwise every slot does). */
static int phase_done(const phase_t *ph, uint64_t now_ns) { return !keep_starting(ph, 0, now_ns); }

static void pconn_close(conn_t *c) {
    conn_close(c);
    c->q_len = 0;
    c->q_head = 0;
    c->hello = 0;
    c->out_off = c->out_len = 0;
    c->rep_off = 0;
    c->scan_at = 0;
}

/* A failed persistent connection: every request in flight (or the hello) is an error. */
static void pconn_fail(phase_t *ph, conn_t *c) {
    ph->r->errors += c->q_len ? c->q_len : 1;
    for (unsigned i = 0; i < c->q_len; i++)
        if (c->q[(c->q_head + i) % BENCH_DEPTH_MAX].op.aux && ph->aux_inflight) ph->aux_inflight--;
    pconn_close(c);
}

static void pconn_open(phase_t *ph, conn_t *c, unsigned slot, uint64_t now_ns) {
    if (!c->out) c->out = bench_xmalloc(PCONN_OUT_BYTES);
    /* HOL's TXLIST slot: one TXLIST at a time, as one-shot */
    c->depth = ph->cfg->mode == MODE_HOL && slot == 0 ? 1 : ph->cfg->depth;
    c->hello = 1;
    size_t hello_len;
    const char *hello = bench_hello_line(&hello_len);
    memcpy(c->out, hello, hello_len);
    c->out_off = 0;
    c->out_len = hello_len;
    c->rep_len = c->rep_off = 0;
    c->scan_at = 0;
    wire_frame_init(&c->frame);
    c->deadline_ns = now_ns + BENCH_OP_TIMEOUT_MS * 1000000ULL;
    if (conn_connect(ph, c) != 0) { pconn_fail(ph, c); return; }
    c->state = c->state == CONN_SENDING ? CONN_OPEN : CONN_CONNECTING;
}

/* Tops the pipeline up to its depth (once the hello is answered). */
static void pconn_fill(phase_t *ph, conn_t *c, unsigned slot, uint64_t now_ns) {
    if (c->hello) return;
    while (c->q_len < c->depth && keep_starting(ph, slot, now_ns)) {
        pending_t *pd = &c->q[(c->q_head + c->q_len) % BENCH_DEPTH_MAX];
        op_begin(ph, slot, &pd->op);
        pd->t0_ns = now_ns;
        c->q_len++;
        if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
        if (PCONN_OUT_BYTES - c->out_len < TCP_REQUEST_BYTES_MAX) {
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        AC_ASSERT(PCONN_OUT_BYTES - c->out_len >= TCP_REQUEST_BYTES_MAX);
        c->out_len += encode_op(ph, &pd->op, c->out + c->out_len);
    }
}

static void pconn_flush(phase_t *ph, conn_t *c) {
    if (write_some(c->fd, c->out, c->out_len, &c->out_off) < 0) pconn_fail(ph, c);
}

/* The length of the whole reply at rep_off (its head line, and for OK STATS its rows:
 * wire_frame_take), 0 while part of it is still to come, -1 when it cannot be framed (a line
 * over TCP_LINE_BYTES_MAX). A head line that is no reply is a reply of its own, which
 * check_reply calls wrong. Bytes already framed are not scanned again. */
static long pconn_frame(conn_t *c) {
    size_t at = c->rep_off + c->scan_at, used = 0;
    int rc = wire_frame_take(&c->frame, (const uint8_t *)c->rep + at, c->rep_len - at, &used);
    c->scan_at += used;
    if (rc == 0) return 0;
    if (rc == AC_EFULL) return -1;
    size_t n = c->scan_at;   /* rc 1, or AC_EINVAL: the reply ends here */
    c->scan_at = 0;
    return (long)n;
}

/* Checks every whole reply received, in the order of the requests. */
static void pconn_parse(phase_t *ph, conn_t *c, uint64_t now_ns) {
    for (;;) {
        long n = pconn_frame(c);
        if (n < 0) { wrong(ph, "a reply too long to frame"); pconn_fail(ph, c); return; }
        if (n == 0) break;
        char *text = c->rep + c->rep_off;
        if (c->hello) {
            if (c->frame.head.kind != CREP_KEEPALIVE) {   /* 0 for a line that is no reply */
                wrong(ph, "KEEPALIVE: reply \"%.*s\"", (int)n - 1, text);
                pconn_fail(ph, c);
                return;
            }
            c->hello = 0;
        } else if (c->q_len == 0) {
            wrong(ph, "a reply to no request: \"%.*s\"", (int)n - 1, text);
            pconn_fail(ph, c);
            return;
        } else {
            pending_t *pd = &c->q[c->q_head];
            c->q_head = (c->q_head + 1) % BENCH_DEPTH_MAX;
            c->q_len--;
            if (pd->op.aux && ph->aux_inflight) ph->aux_inflight--;
            check_reply(ph, &pd->op, text, (size_t)n, pd->t0_ns, now_ns);
        }
        c->rep_off += (size_t)n;
    }
    if (c->rep_off == c->rep_len) {
        c->rep_off = c->rep_len = 0;
    } else if (c->rep_off > c->rep_cap / 2) {
        memmove(c->rep, c->rep + c->rep_off, c->rep_len - c->rep_off);
        c->rep_len -= c->rep_off;
        c->rep_off = 0;
    }
}

static void pconn_read(phase_t *ph, conn_t *c) {
    while (c->state == CONN_OPEN) {
        if (rep_reserve(c) != 0) { pconn_fail(ph, c); return; }
        ssize_t n = read(c->fd, c->rep + c->rep_len, c->rep_cap - c->rep_len);
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) {   /* a reset, or serverM closed: an error only with replies owed */
            if (c->q_len || c->hello || c->rep_off < c->rep_len) pconn_fail(ph, c);
            else pconn_close(c);
            return;
        }
        c->rep_len += (size_t)n;
        pconn_parse(ph, c, bench_now_ns());
    }
}

/* The deadline of a persistent connection: its hello's, else its oldest request's. */
static uint64_t pconn_deadline(const conn_t *c) {
    if (c->hello || c->q_len == 0) return c->hello ? c->deadline_ns : UINT64_MAX;
    const pending_t *pd = &c->q[c->q_head];
    return pd->t0_ns + op_timeout_ns(&pd->op);
}

/* One turn of the loop for a persistent connection: open, top up, send, end, time out.
 * Returns the poll events it waits for (0: free). */
static short pconn_turn(phase_t *ph, conn_t *c, unsigned slot, uint64_t now_ns) {
    if (c->state == CONN_FREE && !phase_done(ph, now_ns) && keep_starting(ph, slot, now_ns))
        pconn_open(ph, c, slot, now_ns);
    if (c->state == CONN_OPEN) pconn_fill(ph, c, slot, now_ns);
    if (c->state == CONN_OPEN) pconn_flush(ph, c);
    if (c->state == CONN_OPEN && !c->hello && c->q_len == 0 && phase_done(ph, now_ns))
        pconn_close(c);
    if (c->state != CONN_FREE && now_ns >= pconn_deadline(c)) pconn_fail(ph, c);
    if (c->state == CONN_FREE) return 0;
    if (c->state == CONN_CONNECTING) return POLLOUT;
    return (short)(POLLIN | (c->out_off < c->out_len ? POLLOUT : 0));
}

static void pconn_event(phase_t *ph, conn_t *c, short revents) {
    if (c->state == CONN_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            pconn_fail(ph, c);
            return;
        }
        c->state = CONN_OPEN;
    }
    if (c->state == CONN_OPEN && (revents & POLLOUT)) pconn_flush(ph, c);
    if (c->state == CONN_OPEN && (revents & (POLLIN | POLLHUP | POLLERR))) pconn_read(ph, c);
}

void load_run(const bench_load_t *cfg, bench_result_t *r) {
    AC_ASSERT(cfg->conns >= 1);
    AC_ASSERT(cfg->conns <= BENCH_CONNS_MAX);
    AC_ASSERT(!cfg->persistent || (cfg->depth >= 1 && cfg->depth <= BENCH_DEPTH_MAX));
    memset(r, 0, sizeof *r);
    phase_t ph;
    memset(&ph, 0, sizeof ph);
    ph.cfg = cfg;
    ph.r = r;
    ph.l = cfg->ledger;
    ph.rng = cfg->rng;
    if (ph.l) {
        ph.base = ledger_max_serial(ph.l);
        ph.max_acked_serial = ph.base;
        if (cfg->mode == MODE_STATS) {
            for (unsigned i = 0; i < BENCH_STATS_USERS; i++)    /* not the hot senders */
                ph.stats.user[i] = (uint32_t)((ph.l->users / 2 + i) % ph.l->users);
            stats_model_build(ph.l, &ph.stats);
        }
        if (cfg->mode == MODE_MIX) {
            size_t n = ((size_t)ph.l->users + 1) * sizeof *ph.start_balance;
            ph.start_balance = bench_xmalloc(n);
            memcpy(ph.start_balance, ph.l->balance, n);
        }
    }
    conn_t *conns = bench_xmalloc(cfg->conns * sizeof *conns);
    struct pollfd *pfd = bench_xmalloc(cfg->conns * sizeof *pfd);
    unsigned *who = bench_xmalloc(cfg->conns * sizeof *who);
    memset(conns, 0, cfg->conns * sizeof *conns);
    for (unsigned i = 0; i < cfg->conns; i++) conns[i].fd = -1;

    uint64_t t_start = bench_now_ns();
    ph.end_ns = t_start + (uint64_t)(cfg->secs * 1e9);
    for (;;) {
        uint64_t now = bench_now_ns();
        unsigned n = 0;
        for (unsigned i = 0; i < cfg->conns; i++) {
            conn_t *c = &conns[i];
            if (cfg->persistent) {
                short ev = pconn_turn(&ph, c, i, now);
                if (!ev) continue;
                pfd[n].fd = c->fd;
                pfd[n].events = ev;
                pfd[n].revents = 0;
                who[n++] = i;
                continue;
            }
            if (c->state == CONN_FREE && keep_starting(&ph, i, now))
                conn_start(&ph, c, i, now);
            if (c->state == CONN_SENDING) conn_send(&ph, c);
            if (c->state != CONN_FREE && now >= c->deadline_ns) conn_fail(&ph, c);
            if (c->state == CONN_FREE) continue;
            pfd[n].fd = c->fd;
            pfd[n].events = c->state == CONN_READING ? POLLIN : POLLOUT;
            pfd[n].revents = 0;
            who[n++] = i;
        }
        if (n == 0) {
            /* nothing in flight: done, unless HOL's balances wait for the next TXLIST */
            int more = 0;
            for (unsigned i = 0; i < cfg->conns && !more; i++)
                more = keep_starting(&ph, i, now);
            if (!more) break;
            continue;
        }
        int ready = poll(pfd, n, BENCH_POLL_MS_MAX);
        if (ready < 0 && errno != EINTR) bench_die("poll failed");
        for (unsigned k = 0; ready > 0 && k < n; k++) {
            if (!pfd[k].revents) continue;
            conn_t *c = &conns[who[k]];
            if (cfg->persistent) {
                pconn_event(&ph, c, pfd[k].revents);
            } else if (c->state == CONN_CONNECTING) {
                int err = 0;
                socklen_t len = sizeof err;
                if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
                    conn_fail(&ph, c);
                    continue;
                }
                c->state = CONN_SENDING;
                conn_send(&ph, c);
            } else if (c->state == CONN_SENDING) {
                conn_send(&ph, c);
            } else if (c->state == CONN_READING) {
                conn_read(&ph, c);
            }
        }
    }
    r->secs = (double)(bench_now_ns() - t_start) / 1e9;
    if (ph.l && (cfg->mode == MODE_TRANSFER || cfg->mode == MODE_HOT || cfg->mode == MODE_MIX))
        finish_transfers(&ph);
    for (unsigned i = 0; i < cfg->conns; i++) {
        conn_close(&conns[i]);
        free(conns[i].rep);
        free(conns[i].out);
    }
    free(conns);
    free(pfd);
    free(who);
    free(ph.xf);
    free(ph.seen);
    free(ph.start_balance);
    stats_model_free(&ph.stats);
}
