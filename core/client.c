/* client.c — clientA/clientB: argv -> one request line; reply lines -> the screen lines of
 * SPEC.md and an exit code. Diagnostics (unavailable, unknown outcome, timeouts) go to
 * stderr as FX_STDERR; the result ends with FX_DONE carrying the exit code. */
#include "client.h"

#include <stdio.h> /* snprintf only: core never prints */
#include <stdlib.h>
#include <string.h>

#include "messages.h"

/* In this order: client_fail relies on it (from CLIENT_WAITING on, the request went out). */
typedef enum {
    CLIENT_NEW = 0,
    CLIENT_CONNECTING,     /* started; the driver connects */
    CLIENT_WAITING,        /* the request is sent; waiting for the reply head */
    CLIENT_ROWS,           /* a STATS head arrived; rows to come */
    CLIENT_DONE,           /* FX_DONE pushed */
} client_state_t;

struct client {
    int index;
    char letter;
    client_state_t state;
    wire_creq_t req;
    uint32_t timeout_ms;
    uint64_t deadline_us;
    wire_lines_t lines;
    wire_crep_t reply;
    int have_reply;
    uint64_t rows_left;
    uint64_t rows_seen;
    /* The stats rows, held until the last one so the columns fit the widest value: each
     * row is count (8 bytes), net (8), name length (1), name. Owned; freed by client_free. */
    uint8_t *rows;
    size_t rows_len, rows_cap;
    size_t name_width;       /* the longest partner name so far */
    uint64_t count_max;      /* the largest count so far */
    int exit_code;
};

#define CLIENT_ROW_BYTES_MAX (8 + 8 + 1 + NAME_BYTES_MAX)
#define CLIENT_ROWS_CAP_INITIAL 1024
/* rank (20 digits), name (64), count (20), net (20 with its sign), three blanks */
#define CLIENT_ROW_LINE_BYTES 160

static const char usage_a[] =
    "usage: clientA <user>                        the user's balance (CHECK WALLET)\n"
    "       clientA <sender> <receiver> <amount>  transfer alicoins (TXCOINS)\n"
    "       clientA TXLIST                        write the sorted ledger on the main server\n"
    "       clientA <user> stats                  the user's transactions per partner\n"
    "names: 1-64 of A-Z a-z 0-9 _ - . ; amount: a whole number 1..1000000000000, no leading 0\n";
static const char usage_b[] =
    "usage: clientB <user>                        the user's balance (CHECK WALLET)\n"
    "       clientB <sender> <receiver> <amount>  transfer alicoins (TXCOINS)\n"
    "       clientB TXLIST                        write the sorted ledger on the main server\n"
    "       clientB <user> stats                  the user's transactions per partner\n"
    "names: 1-64 of A-Z a-z 0-9 _ - . ; amount: a whole number 1..1000000000000, no leading 0\n";

const char *client_usage(int client_index) { return client_index == 0 ? usage_a : usage_b; }

static int client_name_arg(const char *arg, const char *what, wire_name_t *out, char *err,
                           size_t err_cap) {
    size_t len = strlen(arg);
    if (!tx_name_valid(arg, len)) {
        snprintf(err, err_cap, "invalid %s name \"%.80s\" (1-64 of A-Z a-z 0-9 _ - .)", what, arg);
        return AC_EINVAL;
    }
    memcpy(out->s, arg, len + 1);
    out->len = (uint8_t)len;
    return 0;
}

int client_parse_argv(int argc, const char *const *argv, wire_creq_t *req, char *err,
                      size_t err_cap) {
    memset(req, 0, sizeof(*req));
    if (argc == 2 && strcmp(argv[1], "TXLIST") == 0) {
        req->op = CREQ_TXLIST;
        return 0;
    }
    if (argc == 2) {
        req->op = CREQ_BALANCE;
        return client_name_arg(argv[1], "user", &req->user, err, err_cap);
    }
    if (argc == 3) {
        if (strcmp(argv[2], "stats") != 0) {
            snprintf(err, err_cap, "\"%.40s\" after the user: two arguments are \"<user> stats\"",
                     argv[2]);
            return AC_EINVAL;
        }
        req->op = CREQ_STATS;
        return client_name_arg(argv[1], "user", &req->user, err, err_cap);
    }
    if (argc == 4) {
        req->op = CREQ_TRANSFER;
        int rc = client_name_arg(argv[1], "sender", &req->user, err, err_cap);
        if (rc != 0) return rc;
        rc = client_name_arg(argv[2], "receiver", &req->receiver, err, err_cap);
        if (rc != 0) return rc;
        if (tx_amount_parse(argv[3], strlen(argv[3]), &req->amount) != 0) {
            snprintf(err, err_cap, "invalid amount \"%.40s\" (a whole number from 1 to "
                     "1000000000000, no leading zeros)", argv[3]);
            return AC_EINVAL;
        }
        return 0;
    }
    if (argc < 2) snprintf(err, err_cap, "missing the operation: a user, or TXLIST");
    else snprintf(err, err_cap, "unexpected argument \"%.40s\" (at most 3 arguments)", argv[4]);
    return AC_EINVAL;
}

client_t *client_new(int client_index, const wire_creq_t *req, uint32_t timeout_ms) {
    AC_ASSERT(client_index == 0 || client_index == 1);
    client_t *c = calloc(1, sizeof(*c));
    if (c == NULL) return NULL;
    c->index = client_index;
    c->letter = (char)('A' + client_index);
    c->req = *req;
    c->timeout_ms = timeout_ms;
    c->deadline_us = UINT64_MAX;
    c->state = CLIENT_NEW;
    wire_lines_init(&c->lines, TCP_LINE_BYTES_MAX);
    return c;
}

void client_free(client_t *c) {
    if (c == NULL) return;
    free(c->rows);
    free(c);
}

static void client_finish(client_t *c, int code, outbox_t *out) {
    AC_ASSERT(c->state != CLIENT_DONE);
    c->state = CLIENT_DONE;
    c->exit_code = code;
    c->deadline_us = UINT64_MAX;
    fx_t *fx = outbox_push(out, FX_DONE, 0, 0, NULL, 0);
    if (fx != NULL) fx->arg = (uint64_t)code;
}

/* Fails the operation (the stats rows that arrived are printed first); for a transfer
 * whose request went out, the outcome is unknown. */
static void client_rows_print(client_t *c, outbox_t *out);
static void client_fail(client_t *c, const char *why, outbox_t *out) {
    client_rows_print(c, out);
    if (c->req.op == CREQ_TRANSFER && c->state >= CLIENT_WAITING) {
        outbox_line(out, FX_STDERR, MSG_C_FAIL_TRANSFER, why);
    } else {
        outbox_line(out, FX_STDERR, "%s", why);
    }
    client_finish(c, CLIENT_EXIT_FAILED, out);
}

void client_start(client_t *c, uint64_t now_us, outbox_t *out) {
    AC_ASSERT(c->state == CLIENT_NEW);
    outbox_line(out, FX_STDOUT, MSG_C_UP, c->letter);
    c->state = CLIENT_CONNECTING;
    c->deadline_us = now_us + (uint64_t)c->timeout_ms * 1000u;
}

void client_on_connected(client_t *c, uint64_t now_us, outbox_t *out) {
    (void)now_us;
    if (c->state != CLIENT_CONNECTING) return;
    char line[TCP_REQUEST_BYTES_MAX];
    size_t n = wire_creq_encode(&c->req, line, sizeof(line));
    AC_ASSERT(n > 0);
    outbox_push(out, FX_CONN_SEND, 0, 0, line, n);
    const wire_creq_t *r = &c->req;
    switch (r->op) {
    case CREQ_BALANCE:
        outbox_line(out, FX_STDOUT, MSG_C_BALANCE_SENT, r->user.s);
        break;
    case CREQ_TRANSFER:
        outbox_line(out, FX_STDOUT, MSG_C_TRANSFER_SENT, r->user.s, (long long)r->amount,
                    r->receiver.s);
        break;
    case CREQ_TXLIST:
        outbox_line(out, FX_STDOUT, MSG_C_TXLIST_SENT, c->letter);
        break;
    case CREQ_STATS:
        outbox_line(out, FX_STDOUT, MSG_C_STATS_SENT, r->user.s);
        break;
    case CREQ_KEEPALIVE: break; /* not a command line of clientA/B (client_parse_argv) */
    }
    c->state = CLIENT_WAITING;
}

void client_on_connect_failed(client_t *c, uint64_t now_us, outbox_t *out) {
    (void)now_us;
    if (c->state == CLIENT_DONE) return;
    client_fail(c, MSG_C_FAIL_UNREACHABLE, out);
}

/* 1 when the reply kind answers the request we sent. */
static int client_reply_fits(const client_t *c, crep_kind_t kind) {
    switch (kind) {
    case CREP_BALANCE: return c->req.op == CREQ_BALANCE;
    case CREP_TRANSFER:
    case CREP_NOUSERS:
    case CREP_SAME:
    case CREP_INSUFFICIENT:
    case CREP_UNKNOWN: return c->req.op == CREQ_TRANSFER;
    case CREP_TXLIST: return c->req.op == CREQ_TXLIST;
    case CREP_STATS: return c->req.op == CREQ_STATS;
    case CREP_NOUSER: return c->req.op != CREQ_TXLIST;
    case CREP_UNAVAILABLE:
    case CREP_STALE:
    case CREP_BUSY:
    case CREP_BADREQ:
    case CREP_INTERNAL: return 1;
    case CREP_KEEPALIVE: return 0; /* a one-shot client never asks for a persistent connection */
    }
    return 0;
}

void client_server_names(const char *letters, char *buf, size_t cap) {
    size_t n = strlen(letters);
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " and " : ", ";
        len += (size_t)snprintf(buf + len, cap - len, "%sserver%c", sep, letters[i]);
    }
}

/* Prints the result of a reply head; returns 1 when rows follow. */
static int client_show(client_t *c, const wire_crep_t *rep, outbox_t *out) {
    const wire_creq_t *r = &c->req;
    switch (rep->kind) {
    case CREP_BALANCE:
        outbox_line(out, FX_STDOUT, MSG_C_BALANCE, r->user.s, (long long)rep->balance);
        break;
    case CREP_TRANSFER:
        outbox_line(out, FX_STDOUT, MSG_C_TRANSFER_OK, r->user.s, (long long)r->amount,
                    r->receiver.s);
        outbox_line(out, FX_STDOUT, MSG_C_BALANCE, r->user.s, (long long)rep->balance);
        break;
    case CREP_INSUFFICIENT:
        outbox_line(out, FX_STDOUT, MSG_C_INSUFFICIENT, r->user.s, (long long)r->amount,
                    r->receiver.s);
        outbox_line(out, FX_STDOUT, MSG_C_BALANCE, r->user.s, (long long)rep->balance);
        break;
    case CREP_NOUSER:
        if (r->op == CREQ_TRANSFER) {
            outbox_line(out, FX_STDOUT, MSG_C_NOUSER_TX, rep->names[0].s);
        } else {
            outbox_line(out, FX_STDOUT, MSG_C_NOUSER_REQUEST, rep->names[0].s);
        }
        break;
    case CREP_NOUSERS:
        outbox_line(out, FX_STDOUT, MSG_C_NOUSERS_TX, rep->names[0].s, rep->names[1].s);
        break;
    case CREP_SAME:
        outbox_line(out, FX_STDOUT, MSG_C_SAME_TX, r->user.s);
        break;
    case CREP_TXLIST:
        outbox_line(out, FX_STDOUT, MSG_C_TXLIST_OK, (unsigned long long)rep->count, rep->text);
        break;
    case CREP_STATS:
        outbox_line(out, FX_STDOUT, MSG_C_STATS_HEAD, r->user.s);
        outbox_line(out, FX_STDOUT, MSG_C_STATS_COLUMNS);
        return rep->count > 0;
    case CREP_UNAVAILABLE: {
        char names[CLIENT_SERVER_NAMES_BYTES];
        client_server_names(rep->text, names, sizeof(names));
        outbox_line(out, FX_STDERR, MSG_C_UNAVAILABLE, names);
        break;
    }
    case CREP_STALE: {
        char names[CLIENT_SERVER_NAMES_BYTES];
        client_server_names(rep->text, names, sizeof(names));
        outbox_line(out, FX_STDERR, MSG_C_STALE, names, rep->text[1] != '\0' ? "have" : "has");
        break;
    }
    case CREP_UNKNOWN:
        outbox_line(out, FX_STDERR, MSG_C_UNKNOWN);
        break;
    case CREP_BUSY:
        outbox_line(out, FX_STDERR, MSG_C_BUSY);
        break;
    case CREP_BADREQ:
        outbox_line(out, FX_STDERR, MSG_C_BADREQ);
        break;
    case CREP_INTERNAL:
        outbox_line(out, FX_STDERR, MSG_C_INTERNAL, rep->text);
        break;
    case CREP_KEEPALIVE: break; /* refused by client_reply_fits before it gets here */
    }
    return 0;
}

/* Keeps one stats row for client_rows_print. Returns 0, or AC_ENOMEM. */
static int client_row_keep(client_t *c, const wire_crow_t *row) {
    if (c->rows_cap - c->rows_len < CLIENT_ROW_BYTES_MAX) {
        size_t cap = c->rows_cap == 0 ? CLIENT_ROWS_CAP_INITIAL : c->rows_cap * 2;
        uint8_t *p = realloc(c->rows, cap);
        if (p == NULL) return AC_ENOMEM;
        c->rows = p;
        c->rows_cap = cap;
    }
    uint8_t *w = c->rows + c->rows_len;
    memcpy(w, &row->count, 8);
    memcpy(w + 8, &row->net, 8);
    w[16] = row->partner.len;
    memcpy(w + 17, row->partner.s, row->partner.len);
    c->rows_len += 17 + (size_t)row->partner.len;
    if (row->partner.len > c->name_width) c->name_width = row->partner.len;
    if (row->count > c->count_max) c->count_max = row->count;
    return AC_OK;
}

static int digits_of(uint64_t v) {
    int n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static int width_at_least(int w, int min) { return w > min ? w : min; }

client_stats_widths_t client_stats_widths(uint64_t row_count, size_t name_len_max,
                                          uint64_t count_max) {
    AC_ASSERT(name_len_max <= NAME_BYTES_MAX);
    client_stats_widths_t w = {
        .rank = width_at_least(digits_of(row_count), MSG_C_STATS_RANK_WIDTH_MIN),
        .name = width_at_least((int)name_len_max, MSG_C_STATS_NAME_WIDTH_MIN),
        .count = width_at_least(digits_of(count_max), MSG_C_STATS_COUNT_WIDTH_MIN),
    };
    return w;
}

int client_stats_row(char *buf, size_t cap, const client_stats_widths_t *w, uint64_t rank,
                     const char *name, uint64_t count, int64_t net) {
    return snprintf(buf, cap, MSG_C_STATS_ROW, w->rank, (unsigned long long)rank, w->name, name,
                    w->count, (unsigned long long)count, (long long)net);
}

/* Prints the rows kept so far, in columns as wide as their widest value; forgets them. */
static void client_rows_print(client_t *c, outbox_t *out) {
    client_stats_widths_t w = client_stats_widths(c->rows_seen, c->name_width, c->count_max);
    uint64_t rank = 0;
    for (size_t off = 0; off < c->rows_len;) {
        const uint8_t *r = c->rows + off;
        uint64_t count;
        int64_t net;
        char name[NAME_BYTES_MAX + 1];
        char line[CLIENT_ROW_LINE_BYTES];
        memcpy(&count, r, 8);
        memcpy(&net, r + 8, 8);
        memcpy(name, r + 17, r[16]);
        name[r[16]] = '\0';
        off += 17 + (size_t)r[16];
        int n = client_stats_row(line, sizeof(line), &w, ++rank, name, count, net);
        AC_ASSERT(n > 0 && (size_t)n < sizeof(line));
        outbox_line(out, FX_STDOUT, "%s", line);
    }
    c->rows_len = 0;
}

static void client_on_line(client_t *c, const char *line, size_t len, outbox_t *out) {
    if (c->state == CLIENT_WAITING) {
        if (wire_crep_decode(line, len, &c->reply) != 0 || !client_reply_fits(c, c->reply.kind)) {
            client_fail(c, MSG_C_FAIL_MALFORMED, out);
            return;
        }
        c->have_reply = 1;
        if (client_show(c, &c->reply, out)) {
            c->state = CLIENT_ROWS;
            c->rows_left = c->reply.count;
            return;
        }
        client_finish(c, wire_crep_exit_code(c->reply.kind), out);
        return;
    }
    AC_ASSERT(c->state == CLIENT_ROWS);
    wire_crow_t row;
    if (wire_crow_decode(line, len, &row) != 0 || row.rank != c->rows_seen + 1) {
        client_fail(c, MSG_C_FAIL_MALFORMED_ROW, out);
        return;
    }
    if (client_row_keep(c, &row) != AC_OK) {
        client_fail(c, MSG_C_FAIL_ROWS_NOMEM, out);
        return;
    }
    c->rows_seen++;
    c->rows_left--;
    if (c->rows_left == 0) {
        client_rows_print(c, out);
        client_finish(c, CLIENT_EXIT_OK, out);
    }
}

void client_on_data(client_t *c, uint64_t now_us, const uint8_t *data, size_t len,
                    outbox_t *out) {
    (void)now_us;
    size_t off = 0;
    while (off < len && (c->state == CLIENT_WAITING || c->state == CLIENT_ROWS)) {
        size_t used = 0;
        const char *line = NULL;
        size_t line_len = 0;
        int rc = wire_lines_take(&c->lines, data + off, len - off, &used, &line, &line_len);
        off += used;
        if (rc == AC_EFULL) {
            client_fail(c, MSG_C_FAIL_LINE_TOO_LONG, out);
            return;
        }
        if (rc == 0) return;
        client_on_line(c, line, line_len, out);
    }
}

void client_on_closed(client_t *c, uint64_t now_us, outbox_t *out) {
    (void)now_us;
    if (c->state == CLIENT_DONE) return;
    client_fail(c, c->state == CLIENT_ROWS ? MSG_C_FAIL_CLOSED_MID_REPLY : MSG_C_FAIL_CLOSED, out);
}

void client_on_timer(client_t *c, uint64_t now_us, outbox_t *out) {
    if (c->state == CLIENT_DONE || now_us < c->deadline_us) return;
    char why[96];
    snprintf(why, sizeof(why), MSG_C_FAIL_TIMEOUT, c->timeout_ms);
    client_fail(c, why, out);
}

uint64_t client_deadline_us(const client_t *c) { return c->deadline_us; }

int client_result(const client_t *c, int *exit_code, wire_crep_t *reply) {
    if (c->state != CLIENT_DONE) return 0;
    if (exit_code != NULL) *exit_code = c->exit_code;
    if (reply != NULL) {
        if (c->have_reply) {
            *reply = c->reply;
        } else {
            memset(reply, 0, sizeof(*reply));
        }
    }
    return 1;
}
