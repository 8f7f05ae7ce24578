/* outcome.c — a client's screen lines read back (outcome.h). Each line is matched by walking
 * its messages.h format and the line together, so there is one spelling of every sentence;
 * numbers must be in printf's form; names, backend lists and stats rows are checked by
 * printing them again with client.c's own functions. */
#include "outcome.h"

#include <stdio.h> /* snprintf only: core never prints */
#include <string.h>

#include "client.h"
#include "messages.h"

#define OUTCOME_VALS_MAX 4
#define OUTCOME_ROW_BYTES_MAX 160 /* rank (20 digits), name (64), count (20), net (20), blanks */
/* net/drive.c starts every stderr line with the program's name ("clientA") and ": ". */
#define OUTCOME_PROGRAM_PREFIX "client"

/* A message: its format and what each of its conversions means, in order:
 * l letter, n name, a amount, b balance, c count, t timeout (ms), x text, s backend list,
 * v "has"/"have" for the backend list before it. */
typedef struct {
    outcome_msg_t msg;
    const char *format;
    const char *slots;
    int on_stderr;
} outcome_form_t;

static const outcome_form_t outcome_forms[] = {
    {OUTCOME_MSG_UP, MSG_C_UP, "l", 0},
    {OUTCOME_MSG_BALANCE_SENT, MSG_C_BALANCE_SENT, "n", 0},
    {OUTCOME_MSG_BALANCE, MSG_C_BALANCE, "nb", 0},
    {OUTCOME_MSG_NOUSER_REQUEST, MSG_C_NOUSER_REQUEST, "n", 0},
    {OUTCOME_MSG_TRANSFER_SENT, MSG_C_TRANSFER_SENT, "nan", 0},
    {OUTCOME_MSG_TRANSFER_OK, MSG_C_TRANSFER_OK, "nan", 0},
    {OUTCOME_MSG_INSUFFICIENT, MSG_C_INSUFFICIENT, "nan", 0},
    {OUTCOME_MSG_NOUSER_TX, MSG_C_NOUSER_TX, "n", 0},
    {OUTCOME_MSG_NOUSERS_TX, MSG_C_NOUSERS_TX, "nn", 0},
    {OUTCOME_MSG_SAME_TX, MSG_C_SAME_TX, "n", 0},
    {OUTCOME_MSG_TXLIST_SENT, MSG_C_TXLIST_SENT, "l", 0},
    {OUTCOME_MSG_TXLIST_OK, MSG_C_TXLIST_OK, "cx", 0},
    {OUTCOME_MSG_STATS_SENT, MSG_C_STATS_SENT, "n", 0},
    {OUTCOME_MSG_STATS_HEAD, MSG_C_STATS_HEAD, "n", 0},
    {OUTCOME_MSG_STATS_COLUMNS, MSG_C_STATS_COLUMNS, "", 0},
    {OUTCOME_MSG_STATS_ROW, MSG_C_STATS_ROW, NULL, 0}, /* columns: outcome_row_parse */
    {OUTCOME_MSG_UNAVAILABLE, MSG_C_UNAVAILABLE, "s", 1},
    {OUTCOME_MSG_STALE, MSG_C_STALE, "sv", 1},
    {OUTCOME_MSG_UNKNOWN, MSG_C_UNKNOWN, "", 1},
    {OUTCOME_MSG_BUSY, MSG_C_BUSY, "", 1},
    {OUTCOME_MSG_BADREQ, MSG_C_BADREQ, "", 1},
    {OUTCOME_MSG_INTERNAL, MSG_C_INTERNAL, "x", 1},
    {OUTCOME_MSG_FAIL_UNREACHABLE, MSG_C_FAIL_UNREACHABLE, "", 1},
    {OUTCOME_MSG_FAIL_MALFORMED, MSG_C_FAIL_MALFORMED, "", 1},
    {OUTCOME_MSG_FAIL_MALFORMED_ROW, MSG_C_FAIL_MALFORMED_ROW, "", 1},
    {OUTCOME_MSG_FAIL_ROWS_NOMEM, MSG_C_FAIL_ROWS_NOMEM, "", 1},
    {OUTCOME_MSG_FAIL_LINE_TOO_LONG, MSG_C_FAIL_LINE_TOO_LONG, "", 1},
    {OUTCOME_MSG_FAIL_CLOSED_MID_REPLY, MSG_C_FAIL_CLOSED_MID_REPLY, "", 1},
    {OUTCOME_MSG_FAIL_CLOSED, MSG_C_FAIL_CLOSED, "", 1},
    {OUTCOME_MSG_FAIL_TIMEOUT, MSG_C_FAIL_TIMEOUT, "t", 1},
};
_Static_assert(AC_ARRAY_LEN(outcome_forms) == OUTCOME_MSG_END - 1, "one form per message");

const char *outcome_msg_format(outcome_msg_t msg) {
    if (msg < 1 || msg >= OUTCOME_MSG_END) return NULL;
    AC_ASSERT(outcome_forms[msg - 1].msg == msg);
    return outcome_forms[msg - 1].format;
}

static int outcome_msg_fails(outcome_msg_t msg) {
    return msg >= OUTCOME_MSG_FAIL_UNREACHABLE && msg < OUTCOME_MSG_END;
}

/* ------------------------------------------------------------------ one line */

/* One conversion's value, as the walk found it in the line. */
typedef struct {
    const char *s; /* %s, %c: where it is in the line */
    size_t len;
    uint64_t u;    /* %u, %llu */
    int64_t i;     /* %lld */
} outcome_val_t;

/* The digits of an unsigned value as printf prints it at p[0..n): no sign, no leading zero;
 * the value at most max. Returns how many there are, 0 when none or malformed. */
static size_t digits_at(const char *p, size_t n, uint64_t max, uint64_t *v) {
    size_t k = 0;
    uint64_t x = 0;
    while (k < n && p[k] >= '0' && p[k] <= '9') {
        uint64_t d = (uint64_t)(p[k] - '0');
        if (k == 1 && x == 0) return 0; /* a leading zero */
        if (x > (max - d) / 10) return 0;
        x = x * 10 + d;
        k++;
    }
    *v = x;
    return k;
}

/* The same for a signed value ("-" and digits, never "-0"). */
static size_t signed_at(const char *p, size_t n, int64_t *v) {
    uint64_t u = 0;
    if (n > 0 && p[0] == '-') {
        size_t k = digits_at(p + 1, n - 1, (uint64_t)INT64_MAX + 1, &u);
        if (k == 0 || u == 0) return 0;
        *v = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
        return k + 1;
    }
    size_t k = digits_at(p, n, INT64_MAX, &u);
    *v = (int64_t)u;
    return k;
}

/* Walks format f and line[at..len) together; v receives one value per conversion. A %s is
 * at least one byte, as long as the rest still matches (the longest first), so "%s %s seen"
 * splits "serverA and serverB have seen" after "serverB". Returns 0 or AC_EINVAL. */
static int outcome_walk(const char *f, const char *line, size_t at, size_t len, outcome_val_t *v) {
    for (; *f != '\0' && *f != '%'; f++, at++)
        if (at >= len || line[at] != *f) return AC_EINVAL;
    if (*f == '\0') return at == len ? AC_OK : AC_EINVAL;
    f++;
    memset(v, 0, sizeof(*v));
    if (*f == 'c') {
        if (at >= len) return AC_EINVAL;
        v->s = line + at;
        v->len = 1;
        return outcome_walk(f + 1, line, at + 1, len, v + 1);
    }
    if (*f == 's') {
        const char *lit = f + 1;
        const char *pct = strchr(lit, '%');
        size_t lit_len = pct != NULL ? (size_t)(pct - lit) : strlen(lit);
        AC_ASSERT(pct == NULL || lit_len > 0); /* "%s%s": no message of messages.h */
        if (len - at < lit_len + 1) return AC_EINVAL;
        for (size_t end = len - lit_len; end > at; end--) {
            if (memcmp(line + end, lit, lit_len) == 0 && outcome_walk(lit, line, end, len, v + 1) == AC_OK) {
                v->s = line + at;
                v->len = end - at;
                return AC_OK;
            }
            if (pct == NULL) break; /* the literal ends the format: it ends the line */
        }
        return AC_EINVAL;
    }
    size_t k;
    if (f[0] == 'l' && f[1] == 'l' && f[2] == 'd') {
        k = signed_at(line + at, len - at, &v->i);
        f += 3;
    } else if (f[0] == 'l' && f[1] == 'l' && f[2] == 'u') {
        k = digits_at(line + at, len - at, UINT64_MAX, &v->u);
        f += 3;
    } else {
        AC_ASSERT(*f == 'u'); /* the conversions messages.h uses for clients */
        k = digits_at(line + at, len - at, UINT32_MAX, &v->u);
        f += 1;
    }
    if (k == 0) return AC_EINVAL;
    return outcome_walk(f, line, at + k, len, v + 1);
}

/* The backend letters whose list client_server_names prints as s[0..len), into text. */
static int outcome_servers(const char *s, size_t len, char *text) {
    for (unsigned mask = 1; mask < 8; mask++) { /* every non-empty subset of A..C, in order */
        char letters[4];
        size_t n = 0;
        for (unsigned b = 0; b < 3; b++)
            if (mask & (1u << b)) letters[n++] = (char)('A' + b);
        letters[n] = '\0';
        char names[CLIENT_SERVER_NAMES_BYTES];
        client_server_names(letters, names, sizeof(names));
        if (strlen(names) == len && memcmp(names, s, len) == 0) {
            memcpy(text, letters, n + 1);
            return AC_OK;
        }
    }
    return AC_EINVAL;
}

/* Checks the values v of form into l. Returns 0 or AC_EINVAL. */
static int outcome_take(const outcome_form_t *form, const outcome_val_t *v, outcome_line_t *l) {
    int names = 0;
    for (const char *slot = form->slots; *slot != '\0'; slot++, v++) {
        switch (*slot) {
        case 'l':
            if (v->s[0] != 'A' && v->s[0] != 'B') return AC_EINVAL;
            l->letter = v->s[0];
            break;
        case 'n':
            AC_ASSERT(names < 2);
            if (!tx_name_valid(v->s, v->len)) return AC_EINVAL;
            memcpy(l->names[names].s, v->s, v->len);
            l->names[names].s[v->len] = '\0';
            l->names[names].len = (uint8_t)v->len;
            names++;
            break;
        case 'a':
            if (v->i < 1 || v->i > AMOUNT_MAX) return AC_EINVAL;
            l->amount = v->i;
            break;
        case 'b': l->balance = v->i; break;
        case 'c': l->count = v->u; break;
        case 't': l->timeout_ms = (uint32_t)v->u; break;
        case 'x':
            if (v->len > PATH_BYTES_MAX || memchr(v->s, '\n', v->len) != NULL) return AC_EINVAL;
            memcpy(l->text, v->s, v->len);
            l->text[v->len] = '\0';
            break;
        case 's':
            if (outcome_servers(v->s, v->len, l->text) != AC_OK) return AC_EINVAL;
            break;
        default: {
            AC_ASSERT(*slot == 'v');
            const char *verb = l->text[1] != '\0' ? "have" : "has";
            if (v->len != strlen(verb) || memcmp(v->s, verb, v->len) != 0) return AC_EINVAL;
            break;
        }
        }
    }
    return AC_OK;
}

/* A stats row: four blank-separated values printed again with client_stats_row in the
 * widths their columns show, which must give the line back. */
static int outcome_row_parse(const char *line, size_t len, outcome_line_t *l) {
    size_t start[4], end[4], at = 0;
    if (len >= OUTCOME_ROW_BYTES_MAX) return AC_EINVAL;
    for (int k = 0; k < 4; k++) {
        if (k > 0 && (at >= len || line[at] != ' ')) return AC_EINVAL;
        while (k > 0 && at < len && line[at] == ' ') at++;
        start[k] = at;
        while (at < len && line[at] != ' ') at++;
        end[k] = at;
        if (end[k] == start[k]) return AC_EINVAL;
    }
    wire_crow_t *r = &l->row;
    size_t name_len = end[1] - start[1];
    if (at != len || !tx_name_valid(line + start[1], name_len) ||
        digits_at(line, end[0], UINT64_MAX, &r->rank) != end[0] || r->rank == 0 ||
        digits_at(line + start[2], end[2] - start[2], UINT64_MAX, &r->count) != end[2] - start[2] ||
        signed_at(line + start[3], end[3] - start[3], &r->net) != end[3] - start[3])
        return AC_EINVAL;
    memcpy(r->partner.s, line + start[1], name_len);
    r->partner.s[name_len] = '\0';
    r->partner.len = (uint8_t)name_len;
    client_stats_widths_t w = {.rank = (int)start[1] - 1, .name = (int)(start[2] - start[1]) - 1,
                               .count = (int)(start[3] - start[2]) - 1};
    if (w.rank < MSG_C_STATS_RANK_WIDTH_MIN || w.name < MSG_C_STATS_NAME_WIDTH_MIN ||
        w.count < MSG_C_STATS_COUNT_WIDTH_MIN)
        return AC_EINVAL;
    char again[OUTCOME_ROW_BYTES_MAX];
    int n = client_stats_row(again, sizeof(again), &w, r->rank, r->partner.s, r->count, r->net);
    if (n < 0 || (size_t)n != len || memcmp(again, line, len) != 0) return AC_EINVAL;
    l->widths[0] = w.rank;
    l->widths[1] = w.name;
    l->widths[2] = w.count;
    return AC_OK;
}

/* line as one of the forms (the row excepted). */
static int outcome_form_parse(const char *line, size_t len, outcome_line_t *l) {
    for (size_t i = 0; i < AC_ARRAY_LEN(outcome_forms); i++) {
        const outcome_form_t *form = &outcome_forms[i];
        outcome_val_t v[OUTCOME_VALS_MAX];
        if (form->slots == NULL || outcome_walk(form->format, line, 0, len, v) != AC_OK) continue;
        memset(l, 0, sizeof(*l));
        l->msg = form->msg;
        l->on_stderr = form->on_stderr;
        if (outcome_take(form, v, l) == AC_OK) return AC_OK;
    }
    memset(l, 0, sizeof(*l));
    return AC_EINVAL;
}

int outcome_line_parse(const char *line, size_t len, outcome_line_t *l) {
    memset(l, 0, sizeof(*l));
    if (outcome_form_parse(line, len, l) == AC_OK) return AC_OK;
    outcome_val_t why[OUTCOME_VALS_MAX];
    if (outcome_walk(MSG_C_FAIL_TRANSFER, line, 0, len, why) == AC_OK &&
        outcome_form_parse(why[0].s, why[0].len, l) == AC_OK && outcome_msg_fails(l->msg)) {
        l->in_doubt = 1;
        return AC_OK;
    }
    memset(l, 0, sizeof(*l));
    if (outcome_row_parse(line, len, l) != AC_OK) return AC_EINVAL;
    l->msg = OUTCOME_MSG_STATS_ROW;
    return AC_OK;
}

/* ------------------------------------------------------------------ a whole run */

typedef struct {
    const char *text;
    size_t len, at;
    unsigned line;      /* of the line last taken, from 1 */
    const char *name;   /* "stdout" or "stderr" */
} outcome_cursor_t;

/* The next line of c (without '\n'): 1, 0 at the end, AC_EINVAL when it has no '\n'. */
static int outcome_cursor_next(outcome_cursor_t *c, const char **line, size_t *len) {
    if (c->at >= c->len) return 0;
    const char *p = c->text + c->at;
    const char *nl = memchr(p, '\n', c->len - c->at);
    if (nl == NULL) return AC_EINVAL;
    *line = p;
    *len = (size_t)(nl - p);
    c->at += *len + 1;
    c->line++;
    return 1;
}

static int outcome_refuse(outcome_t *o, const outcome_cursor_t *c, const char *why) {
    snprintf(o->error, sizeof(o->error), "%s line %u: %s", c->name, c->line, why);
    return AC_EINVAL;
}

/* The next stdout line as a stdout sentence: 1, 0 at the end, or AC_EINVAL (o->error set). */
static int outcome_next(outcome_t *o, outcome_cursor_t *c, outcome_line_t *l) {
    const char *line;
    size_t len;
    int rc = outcome_cursor_next(c, &line, &len);
    if (rc == AC_EINVAL) return outcome_refuse(o, c, "the last line has no end");
    if (rc == 0) return 0;
    if (outcome_line_parse(line, len, l) != AC_OK || l->on_stderr)
        return outcome_refuse(o, c, "not a sentence of messages.h that a client prints there");
    return 1;
}

static int name_is(const wire_name_t *a, const wire_name_t *b) {
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

/* The "sent" line l into o->req. */
static int outcome_request(outcome_t *o, const outcome_cursor_t *c, const outcome_line_t *l) {
    wire_creq_t *req = &o->req;
    req->user = l->names[0];
    switch (l->msg) {
    case OUTCOME_MSG_BALANCE_SENT: req->op = CREQ_BALANCE; return AC_OK;
    case OUTCOME_MSG_STATS_SENT: req->op = CREQ_STATS; return AC_OK;
    case OUTCOME_MSG_TRANSFER_SENT:
        req->op = CREQ_TRANSFER;
        req->receiver = l->names[1];
        req->amount = l->amount;
        return AC_OK;
    case OUTCOME_MSG_TXLIST_SENT:
        req->op = CREQ_TXLIST;
        if (l->letter == o->letter) return AC_OK;
        return outcome_refuse(o, c, "another client's letter");
    default: return outcome_refuse(o, c, "not the line of a request sent");
    }
}

/* The rows after a stats table's columns line, to the end of stdout. */
static int outcome_rows(outcome_t *o, outcome_cursor_t *c, wire_crow_t *rows, size_t rows_cap) {
    outcome_line_t l;
    int widths[3] = {0, 0, 0};
    size_t name_max = 0;
    uint64_t count_max = 0, n = 0;
    int rc;
    while ((rc = outcome_next(o, c, &l)) == 1) {
        if (l.msg != OUTCOME_MSG_STATS_ROW || l.row.rank != n + 1)
            return outcome_refuse(o, c, "not the next row of the statistics");
        if (n > 0 && memcmp(widths, l.widths, sizeof(widths)) != 0)
            return outcome_refuse(o, c, "a row in other columns than the one before");
        memcpy(widths, l.widths, sizeof(widths));
        if (n < rows_cap) rows[n] = l.row;
        if (l.row.partner.len > name_max) name_max = l.row.partner.len;
        if (l.row.count > count_max) count_max = l.row.count;
        n++;
    }
    if (rc != 0) return rc;
    client_stats_widths_t w = client_stats_widths(n, name_max, count_max);
    if (n > 0 && (w.rank != widths[0] || w.name != widths[1] || w.count != widths[2]))
        return outcome_refuse(o, c, "the rows are not as wide as their widest value");
    o->reply.count = n;
    return AC_OK;
}

/* The result lines on stdout, from result line l on, into o->reply. */
static int outcome_result(outcome_t *o, outcome_cursor_t *c, outcome_line_t *l, wire_crow_t *rows,
                          size_t rows_cap) {
    const wire_creq_t *req = &o->req;
    wire_crep_t *rep = &o->reply;
    int transfer = req->op == CREQ_TRANSFER;
    int names_req = transfer && name_is(&l->names[0], &req->user) && name_is(&l->names[1], &req->receiver);
    int user = name_is(&l->names[0], &req->user);
    switch (l->msg) {
    case OUTCOME_MSG_BALANCE:
        if (req->op != CREQ_BALANCE || !user) break;
        rep->kind = CREP_BALANCE;
        rep->balance = l->balance;
        return AC_OK;
    case OUTCOME_MSG_TRANSFER_OK:
    case OUTCOME_MSG_INSUFFICIENT: {
        if (!names_req || l->amount != req->amount) break;
        rep->kind = l->msg == OUTCOME_MSG_TRANSFER_OK ? CREP_TRANSFER : CREP_INSUFFICIENT;
        outcome_line_t b;
        int rc = outcome_next(o, c, &b);
        if (rc < 0) return rc;
        if (rc == 0 || b.msg != OUTCOME_MSG_BALANCE || !name_is(&b.names[0], &req->user))
            return outcome_refuse(o, c, "not the sender's balance after a transfer");
        rep->balance = b.balance;
        return AC_OK;
    }
    case OUTCOME_MSG_NOUSER_REQUEST:
        if ((req->op != CREQ_BALANCE && req->op != CREQ_STATS) || !user) break;
        rep->kind = CREP_NOUSER;
        rep->names[0] = l->names[0];
        return AC_OK;
    case OUTCOME_MSG_NOUSER_TX:
        if (!transfer || (!user && !name_is(&l->names[0], &req->receiver))) break;
        rep->kind = CREP_NOUSER;
        rep->names[0] = l->names[0];
        return AC_OK;
    case OUTCOME_MSG_NOUSERS_TX:
        if (!names_req && !(transfer && name_is(&l->names[1], &req->user) &&
                            name_is(&l->names[0], &req->receiver)))
            break;
        rep->kind = CREP_NOUSERS;
        rep->names[0] = l->names[0];
        rep->names[1] = l->names[1];
        return AC_OK;
    case OUTCOME_MSG_SAME_TX:
        if (!transfer || !user) break;
        rep->kind = CREP_SAME;
        return AC_OK;
    case OUTCOME_MSG_TXLIST_OK:
        if (req->op != CREQ_TXLIST) break;
        rep->kind = CREP_TXLIST;
        rep->count = l->count;
        memcpy(rep->text, l->text, sizeof(rep->text));
        return AC_OK;
    case OUTCOME_MSG_STATS_HEAD: {
        if (req->op != CREQ_STATS || !user) break;
        rep->kind = CREP_STATS;
        outcome_line_t h;
        int rc = outcome_next(o, c, &h);
        if (rc < 0) return rc;
        if (rc == 0 || h.msg != OUTCOME_MSG_STATS_COLUMNS)
            return outcome_refuse(o, c, "not the columns line of the statistics");
        return outcome_rows(o, c, rows, rows_cap);
    }
    default: break;
    }
    return outcome_refuse(o, c, "not a result of the request sent");
}

/* Core's one stderr line l: an error reply, or why the client gave up. */
static int outcome_diagnostic(outcome_t *o, const outcome_cursor_t *c, const outcome_line_t *l) {
    int sent = o->req.op != 0;
    if (outcome_msg_fails(l->msg)) {
        /* stats rows shown so far come before it (client_fail) */
        if (o->reply.kind != 0 && o->reply.kind != CREP_STATS)
            return outcome_refuse(o, c, "a failure after a complete result");
        if (l->in_doubt != (sent && o->req.op == CREQ_TRANSFER))
            return outcome_refuse(o, c, "the transfer's unknown outcome said where it does not apply, or not said");
        o->failure = l->msg;
        o->timeout_ms = l->timeout_ms;
        o->in_doubt = l->in_doubt;
        return AC_OK;
    }
    if (!sent || o->reply.kind != 0)
        return outcome_refuse(o, c, "an error reply without a request, or after a result");
    static const crep_kind_t kinds[] = {CREP_UNAVAILABLE, CREP_STALE, CREP_UNKNOWN,
                                        CREP_BUSY, CREP_BADREQ, CREP_INTERNAL};
    AC_ASSERT(l->msg >= OUTCOME_MSG_UNAVAILABLE && l->msg <= OUTCOME_MSG_INTERNAL);
    o->reply.kind = kinds[l->msg - OUTCOME_MSG_UNAVAILABLE];
    if (o->reply.kind == CREP_UNKNOWN && o->req.op != CREQ_TRANSFER)
        return outcome_refuse(o, c, "an unknown outcome of a request that is not a transfer");
    o->in_doubt = o->reply.kind == CREP_UNKNOWN;
    memcpy(o->reply.text, l->text, sizeof(o->reply.text));
    return AC_OK;
}

/* stderr: the driver's prefix on every line; at most one line of core's. */
static int outcome_stderr(outcome_t *o, const char *err, size_t err_len) {
    outcome_cursor_t c = {.text = err != NULL ? err : "", .len = err != NULL ? err_len : 0, .name = "stderr"};
    char prefix[sizeof(OUTCOME_PROGRAM_PREFIX) + 3];
    size_t plen = (size_t)snprintf(prefix, sizeof(prefix), "%s%c: ", OUTCOME_PROGRAM_PREFIX, o->letter);
    const char *line;
    size_t len;
    int rc, core_lines = 0;
    while ((rc = outcome_cursor_next(&c, &line, &len)) == 1) {
        if (len < plen || memcmp(line, prefix, plen) != 0)
            return outcome_refuse(o, &c, "not a line of this client");
        outcome_line_t l;
        if (outcome_line_parse(line + plen, len - plen, &l) != AC_OK || !l.on_stderr) {
            o->driver_lines++;
            continue;
        }
        if (core_lines++ > 0) return outcome_refuse(o, &c, "a second diagnostic");
        rc = outcome_diagnostic(o, &c, &l);
        if (rc != AC_OK) return rc;
    }
    if (rc != 0) return outcome_refuse(o, &c, "the last line has no end");
    return AC_OK;
}

int outcome_parse(const char *out, size_t out_len, const char *err, size_t err_len,
                  outcome_t *o, wire_crow_t *rows, size_t rows_cap) {
    memset(o, 0, sizeof(*o));
    outcome_cursor_t c = {.text = out != NULL ? out : "", .len = out != NULL ? out_len : 0, .name = "stdout"};
    outcome_line_t l;
    int rc = outcome_next(o, &c, &l);
    if (rc < 0) return rc;
    if (rc == 0 || l.msg != OUTCOME_MSG_UP) return outcome_refuse(o, &c, "not the client's \"up\" line");
    o->letter = l.letter;
    rc = outcome_next(o, &c, &l);
    if (rc == 1) rc = outcome_request(o, &c, &l);
    if (rc == AC_OK && o->req.op != 0 && (rc = outcome_next(o, &c, &l)) == 1)
        rc = outcome_result(o, &c, &l, rows, rows_cap);
    if (rc == AC_OK && outcome_next(o, &c, &l) != 0)
        return outcome_refuse(o, &c, "more than the client prints");
    if (rc < 0) return rc;
    rc = outcome_stderr(o, err, err_len);
    if (rc != AC_OK) return rc;
    if (o->reply.kind == 0 && o->failure == 0) {
        snprintf(o->error, sizeof(o->error), "no result: neither a reply nor a failure is shown");
        return AC_EINVAL;
    }
    return AC_OK;
}

int outcome_exit_code(const outcome_t *o) {
    if (o->failure != 0) return CLIENT_EXIT_FAILED;
    return wire_crep_exit_code(o->reply.kind);
}
