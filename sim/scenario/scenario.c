/* scenario.c — the scenario language of docs/SCENARIOS.md: a line-based parser into
 * scenario_t, the printer that writes one back (the swarm's shrunk reproducers), and the
 * small editing helpers the shrinker uses. Exact integer arithmetic throughout (times in
 * microseconds, probabilities in parts per million), so a printed scenario parses back to
 * the very same run. */
#include "scenario.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "anchor.h"
#include "tx.h"

#define SCN_TOKENS_MAX 64
#define SCN_TOKEN_BYTES_MAX 4096
#define SCN_LINE_BYTES_MAX 8192
#define SCN_RUN_US_DEFAULT (600ull * 1000000ull)   /* run until quiet, at most 600 s */
#define SCN_SEED_DEFAULT 1

const char *const sim_fault_names[FAULT_COUNT] = {
    "dgrams", "lost", "duplicated", "reordered", "cut", "to-down", "split", "resets", "stalled",
    "crashes", "restarts", "pauses", "partitions", "torn", "unsynced", "nospace", "eio",
    "forged", "replayed",
};

/* ------------------------------------------------------------------ defaults */

void sim_faults_default(sim_faults_t *f) {
    memset(f, 0, sizeof(*f));
    for (int i = 0; i < SIM_SERVERS; i++) {
        for (int j = 0; j < SIM_SERVERS; j++) {
            f->udp[i][j].delay_min_us = 100;
            f->udp[i][j].delay_max_us = 1000;
        }
    }
    f->tcp.delay_min_us = 100;
    f->tcp.delay_max_us = 1000;
    f->tcp.seg_min = 1;
    f->tcp.seg_max = 100;
    for (int b = 0; b < BACKEND_COUNT; b++) {
        f->disk[b].sync_min_us = 200;
        f->disk[b].sync_max_us = 2000;
    }
    f->file_min_us = 500;
    f->file_max_us = 3000;
}

static void set_apply_udp(sim_udp_t *u, const sim_set_t *s) {
    if (s->mask & SETF_DELAY) {
        u->delay_min_us = s->min_us;
        u->delay_max_us = s->max_us;
    }
    if (s->mask & SETF_LOSS) u->loss_ppm = s->loss_ppm;
    if (s->mask & SETF_DUP) u->dup_ppm = s->dup_ppm;
    if (s->mask & SETF_REORDER) u->reorder_ppm = s->reorder_ppm;
}

static int node_is_server(int n) { return n >= SIM_NODE_M && n <= SIM_NODE_C; }

void sim_set_apply(sim_faults_t *f, const sim_set_t *s) {
    switch (s->what) {
    case SET_UDP:
        for (int i = 0; i < SIM_SERVERS; i++) {
            for (int j = 0; j < SIM_SERVERS; j++) {
                if ((i == SIM_NODE_M) == (j == SIM_NODE_M)) continue; /* not a link in use */
                int match = (s->from == SIM_NODE_ALL || s->from == i) &&
                            (s->to == SIM_NODE_ALL || s->to == j);
                int back = s->both && (s->from == SIM_NODE_ALL || s->from == j) &&
                           (s->to == SIM_NODE_ALL || s->to == i);
                if (match || back) set_apply_udp(&f->udp[i][j], s);
            }
        }
        break;
    case SET_TCP:
        if (s->mask & SETF_DELAY) {
            f->tcp.delay_min_us = s->min_us;
            f->tcp.delay_max_us = s->max_us;
        }
        if (s->mask & SETF_SEGMENT) {
            f->tcp.seg_min = s->seg_min;
            f->tcp.seg_max = s->seg_max;
        }
        if (s->mask & SETF_RESET) f->tcp.reset_ppm = s->reset_ppm;
        break;
    case SET_DISK:
        for (int b = 0; b < BACKEND_COUNT; b++) {
            if (s->from != SIM_NODE_ALL && s->from != b + 1) continue;
            if (s->mask & SETF_DELAY) {
                f->disk[b].sync_min_us = s->min_us;
                f->disk[b].sync_max_us = s->max_us;
            }
            if (s->mask & SETF_TORN) f->disk[b].torn_ppm = s->torn_ppm;
            if (s->mask & SETF_FULL) f->disk[b].full = s->full;
            if (s->mask & SETF_EIO_WRITE) f->disk[b].eio_write_ppm = s->eio_write_ppm;
            if (s->mask & SETF_EIO_SYNC) f->disk[b].eio_sync_ppm = s->eio_sync_ppm;
        }
        break;
    case SET_FILE:
        if (s->mask & SETF_DELAY) {
            f->file_min_us = s->min_us;
            f->file_max_us = s->max_us;
        }
        break;
    default:
        break;
    }
}

void sim_faults_calm(sim_faults_t *f) {
    for (int i = 0; i < SIM_SERVERS; i++) {
        for (int j = 0; j < SIM_SERVERS; j++) {
            f->udp[i][j].loss_ppm = 0;
            f->udp[i][j].dup_ppm = 0;
            f->udp[i][j].reorder_ppm = 0;
        }
    }
    f->tcp.reset_ppm = 0;
    for (int b = 0; b < BACKEND_COUNT; b++) {
        f->disk[b].full = 0;
        f->disk[b].eio_write_ppm = 0;
        f->disk[b].eio_sync_ppm = 0;
    }
}

/* ------------------------------------------------------------------ scenario memory */

void scenario_init(scenario_t *s) {
    memset(s, 0, sizeof(*s));
    s->seed = SCN_SEED_DEFAULT;
    sim_faults_default(&s->faults);
    s->timeout_ms = TIMEOUT_MS_DEFAULT;
    s->client_timeout_ms = CLIENT_TIMEOUT_MS_DEFAULT;
    s->until_quiet = 1;
    s->run_us = SCN_RUN_US_DEFAULT;
}

static void step_free(scn_step_t *st) {
    for (int i = 0; i < SCN_ARGS_MAX; i++) {
        free(st->argv[i]);
        st->argv[i] = NULL;
    }
}

void scenario_free(scenario_t *s) {
    for (int b = 0; b < BACKEND_COUNT; b++) free(s->block[b]);
    for (size_t i = 0; i < s->step_count; i++) step_free(&s->steps[i]);
    free(s->steps);
    for (size_t i = 0; i < s->expect_count; i++) free(s->expects[i].text);
    free(s->expects);
    scenario_init(s);
}

scn_step_t *scenario_add_step(scenario_t *s, uint64_t at_us, step_kind_t kind) {
    if (s->step_count >= SCN_STEPS_MAX) return NULL;
    if (s->step_count == s->step_cap) {
        size_t cap = s->step_cap ? s->step_cap * 2 : 16;
        scn_step_t *p = realloc(s->steps, cap * sizeof(*p));
        if (p == NULL) return NULL;
        s->steps = p;
        s->step_cap = cap;
    }
    /* insert after every step of time <= at_us: stable in file order */
    size_t pos = s->step_count;
    while (pos > 0 && s->steps[pos - 1].at_us > at_us) pos--;
    memmove(&s->steps[pos + 1], &s->steps[pos], (s->step_count - pos) * sizeof(scn_step_t));
    s->step_count++;
    scn_step_t *st = &s->steps[pos];
    memset(st, 0, sizeof(*st));
    st->at_us = at_us;
    st->kind = (uint8_t)kind;
    return st;
}

int scenario_step_set_args(scn_step_t *st, int argc, const char *const *argv) {
    if (argc < 0 || argc > SCN_ARGS_MAX) return AC_EINVAL;
    step_free(st);
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (n > SCN_ARG_BYTES_MAX) return AC_EINVAL;
        st->argv[i] = malloc(n + 1);
        if (st->argv[i] == NULL) return AC_ENOMEM;
        memcpy(st->argv[i], argv[i], n + 1);
    }
    st->argc = (uint8_t)argc;
    return 0;
}

void scenario_remove_step(scenario_t *s, size_t i) {
    AC_ASSERT(i < s->step_count);
    step_free(&s->steps[i]);
    memmove(&s->steps[i], &s->steps[i + 1], (s->step_count - i - 1) * sizeof(scn_step_t));
    s->step_count--;
}

static scn_expect_t *scenario_add_expect(scenario_t *s) {
    if (s->expect_count >= SCN_EXPECTS_MAX) return NULL;
    if (s->expect_count == s->expect_cap) {
        size_t cap = s->expect_cap ? s->expect_cap * 2 : 8;
        scn_expect_t *p = realloc(s->expects, cap * sizeof(*p));
        if (p == NULL) return NULL;
        s->expects = p;
        s->expect_cap = cap;
    }
    scn_expect_t *e = &s->expects[s->expect_count++];
    memset(e, 0, sizeof(*e));
    return e;
}

static char *mem_dup(const char *p, size_t n) {
    char *d = malloc(n + 1);
    if (d == NULL) return NULL;
    if (n) memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

int scenario_copy(scenario_t *dst, const scenario_t *src) {
    scenario_init(dst);
    *dst = *src;
    dst->steps = NULL;
    dst->step_count = dst->step_cap = 0;
    dst->expects = NULL;
    dst->expect_count = dst->expect_cap = 0;
    for (int b = 0; b < BACKEND_COUNT; b++) {
        dst->block[b] = NULL;
        if (src->block[b] == NULL) continue;
        dst->block[b] = mem_dup(src->block[b], src->block_len[b]);
        if (dst->block[b] == NULL) goto fail;
    }
    for (size_t i = 0; i < src->step_count; i++) {
        const scn_step_t *a = &src->steps[i];
        scn_step_t *st = scenario_add_step(dst, a->at_us, (step_kind_t)a->kind);
        if (st == NULL) goto fail;
        *st = *a;
        memset(st->argv, 0, sizeof(st->argv));
        st->argc = 0;
        if (scenario_step_set_args(st, a->argc, (const char *const *)a->argv) != 0) goto fail;
    }
    for (size_t i = 0; i < src->expect_count; i++) {
        scn_expect_t *e = scenario_add_expect(dst);
        if (e == NULL) goto fail;
        *e = src->expects[i];
        e->text = NULL;
        if (src->expects[i].text != NULL) {
            e->text = mem_dup(src->expects[i].text, strlen(src->expects[i].text));
            if (e->text == NULL) goto fail;
        }
    }
    return 0;
fail:
    scenario_free(dst);
    return AC_ENOMEM;
}

/* ------------------------------------------------------------------ tokens */

typedef struct {
    char *s;       /* NUL-terminated, into the parser's token arena */
    size_t len;
    int quoted;
} tok_t;

/* Which statement wrote which bytes of a block: bytes up to `end` of block `block` came
 * from scenario line `line` (or an earlier mark's). */
typedef struct {
    size_t end;
    uint32_t line;
    int block;
} scn_mark_t;

typedef struct {
    scenario_t *scn;
    const char *base_dir;   /* NULL: "block X file" refused */
    uint32_t line;
    scn_mark_t *marks;      /* owned; freed when the parse ends */
    size_t mark_count, mark_cap;
    tok_t tok[SCN_TOKENS_MAX];
    int ntok;
    char arena[SCN_LINE_BYTES_MAX + SCN_TOKENS_MAX];
    char *err;
    size_t err_cap;
    int have_run;
    int have_timeout, have_client_timeout; /* given once each, as seed (has_seed) and run */
} parser_t;

static int perr(parser_t *p, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(parser_t *p, int rc, const char *fmt, ...) {
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->err != NULL && p->err_cap > 0) snprintf(p->err, p->err_cap, "line %u: %s", p->line, msg);
    return rc;
}

/* Splits one line into tokens: blanks separate, "..." is one token (escapes \" \\ \n \r
 * \t \xHH), '#' outside quotes starts a comment. */
static int tokenize(parser_t *p, const char *line, size_t len) {
    p->ntok = 0;
    size_t i = 0, out = 0;
    if (len > SCN_LINE_BYTES_MAX) return perr(p, AC_EINVAL, "line longer than %d bytes", SCN_LINE_BYTES_MAX);
    while (i < len) {
        char c = line[i];
        if (c == ' ' || c == '\t' || c == '\r') {
            i++;
            continue;
        }
        if (c == '#') break;
        if (p->ntok == SCN_TOKENS_MAX) return perr(p, AC_EINVAL, "more than %d words", SCN_TOKENS_MAX);
        tok_t *t = &p->tok[p->ntok++];
        t->s = p->arena + out;
        t->quoted = 0;
        size_t start = out;
        if (c == '"') {
            t->quoted = 1;
            i++;
            int closed = 0;
            while (i < len) {
                char d = line[i++];
                if (d == '"') {
                    closed = 1;
                    break;
                }
                if (d == '\\') {
                    if (i >= len) break;
                    char e = line[i++];
                    switch (e) {
                    case 'n': d = '\n'; break;
                    case 'r': d = '\r'; break;
                    case 't': d = '\t'; break;
                    case '\\': d = '\\'; break;
                    case '"': d = '"'; break;
                    case 'x': {
                        int v = 0;
                        for (int k = 0; k < 2; k++) {
                            char h = i < len ? line[i] : 0;
                            int hv = (h >= '0' && h <= '9') ? h - '0'
                                     : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                                     : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
                            if (hv < 0) return perr(p, AC_EINVAL, "bad \\x escape");
                            v = v * 16 + hv;
                            i++;
                        }
                        d = (char)v;
                        break;
                    }
                    default:
                        return perr(p, AC_EINVAL, "unknown escape \\%c", e);
                    }
                }
                p->arena[out++] = d;
            }
            if (!closed) return perr(p, AC_EINVAL, "unterminated string");
        } else {
            while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
                   line[i] != '#') {
                p->arena[out++] = line[i++];
            }
        }
        t->len = out - start;
        p->arena[out++] = '\0';
    }
    return 0;
}

static int tok_is(const tok_t *t, const char *w) { return !t->quoted && strcmp(t->s, w) == 0; }

/* ------------------------------------------------------------------ numbers */

/* Unsigned decimal, no sign, at most 19 digits. */
static int parse_u64(const char *s, uint64_t *out) {
    if (*s == '\0') return AC_EINVAL;
    uint64_t v = 0;
    int digits = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return AC_EINVAL;
        if (++digits > 19) return AC_ERANGE;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* A count or serial kept in an int64_t field: parse_u64 up to INT64_MAX. */
static int parse_num(const char *s, uint64_t *out) {
    int rc = parse_u64(s, out);
    if (rc == 0 && *out > (uint64_t)INT64_MAX) return AC_ERANGE;
    return rc;
}

static int parse_i64(const char *s, int64_t *out) {
    int neg = 0;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    uint64_t v;
    int rc = parse_u64(s, &v);
    if (rc != 0) return rc;
    if (v > (uint64_t)INT64_MAX) return AC_ERANGE;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* "<digits>[.<digits>]" scaled by 10^scale_digits exactly; rejects precision finer than
 * the scale. */
static int parse_fixed(const char *s, size_t len, int scale_digits, uint64_t *out) {
    uint64_t ip = 0, fp = 0;
    size_t i = 0;
    int idig = 0, fdig = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (++idig > 12) return AC_ERANGE;
        ip = ip * 10 + (uint64_t)(s[i++] - '0');
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (++fdig > scale_digits) {
                if (s[i] != '0') return AC_ERANGE;
                i++;
                continue;
            }
            fp = fp * 10 + (uint64_t)(s[i++] - '0');
        }
        if (fdig == 0) return AC_EINVAL;
    }
    if (idig == 0 && fdig == 0) return AC_EINVAL;
    if (i != len) return AC_EINVAL;
    for (int k = fdig < scale_digits ? fdig : scale_digits; k < scale_digits; k++) fp *= 10;
    uint64_t scale = 1;
    for (int k = 0; k < scale_digits; k++) scale *= 10;
    *out = ip * scale + fp;
    return 0;
}

/* A duration: NUMBER followed by us, ms or s. */
static int parse_duration(const char *s, uint64_t *out_us) {
    size_t len = strlen(s);
    int scale;
    size_t unit;
    if (len > 2 && strcmp(s + len - 2, "us") == 0) {
        scale = 0;
        unit = 2;
    } else if (len > 2 && strcmp(s + len - 2, "ms") == 0) {
        scale = 3;
        unit = 2;
    } else if (len > 1 && s[len - 1] == 's') {
        scale = 6;
        unit = 1;
    } else {
        return AC_EINVAL;
    }
    uint64_t v;
    int rc = parse_fixed(s, len - unit, scale, &v);
    if (rc != 0) return rc;
    if (v > SIM_TIME_US_MAX) return AC_ERANGE;
    *out_us = v;
    return 0;
}

/* A probability: 0..1 as a decimal (0.05) or a percentage (5%). */
static int parse_prob(const char *s, uint32_t *ppm) {
    size_t len = strlen(s);
    uint64_t v;
    int rc;
    if (len > 0 && s[len - 1] == '%') {
        rc = parse_fixed(s, len - 1, 4, &v);
    } else {
        rc = parse_fixed(s, len, 6, &v);
    }
    if (rc != 0) return rc;
    if (v > PPM_ONE) return AC_ERANGE;
    *ppm = (uint32_t)v;
    return 0;
}

/* "A..B" or a single value "A" (= A..A). */
static int parse_range_us(const char *s, uint64_t *lo, uint64_t *hi) {
    const char *dots = strstr(s, "..");
    char a[64], b[64];
    if (dots == NULL) {
        int rc = parse_duration(s, lo);
        *hi = *lo;
        return rc;
    }
    size_t la = (size_t)(dots - s), lb = strlen(dots + 2);
    if (la == 0 || lb == 0 || la >= sizeof(a) || lb >= sizeof(b)) return AC_EINVAL;
    memcpy(a, s, la);
    a[la] = '\0';
    memcpy(b, dots + 2, lb + 1);
    int rc = parse_duration(a, lo);
    if (rc == 0) rc = parse_duration(b, hi);
    if (rc == 0 && *lo > *hi) rc = AC_ERANGE;
    return rc;
}

static int parse_range_u32(const char *s, uint32_t *lo, uint32_t *hi) {
    const char *dots = strstr(s, "..");
    char a[32];
    uint64_t x, y;
    if (dots == NULL) return AC_EINVAL;
    size_t la = (size_t)(dots - s);
    if (la == 0 || la >= sizeof(a)) return AC_EINVAL;
    memcpy(a, s, la);
    a[la] = '\0';
    if (parse_u64(a, &x) != 0 || parse_u64(dots + 2, &y) != 0) return AC_EINVAL;
    if (x < 1 || x > y || y > 65536) return AC_ERANGE;
    *lo = (uint32_t)x;
    *hi = (uint32_t)y;
    return 0;
}

/* ------------------------------------------------------------------ names */

/* STEP_FORGE's kinds, by FORGE_* (0 unused). */
const char *const forge_names[FORGE_KINDS] = {"", "write", "fence", "replay"};

static int node_parse(const char *s) {
    if (strcmp(s, "M") == 0 || strcmp(s, "serverM") == 0) return SIM_NODE_M;
    if (strcmp(s, "A") == 0 || strcmp(s, "serverA") == 0) return SIM_NODE_A;
    if (strcmp(s, "B") == 0 || strcmp(s, "serverB") == 0) return SIM_NODE_B;
    if (strcmp(s, "C") == 0 || strcmp(s, "serverC") == 0) return SIM_NODE_C;
    if (strcmp(s, "clients") == 0) return SIM_NODE_CLIENTS;
    return -1;
}

static const char *node_name(int n) {
    static const char *const names[SIM_NODES] = {"M", "A", "B", "C", "clients"};
    return n >= 0 && n < SIM_NODES ? names[n] : "?";
}

/* A label: 1..31 of [A-Za-z0-9_.-], not a keyword of "expect". */
static int label_valid(const char *s, size_t len) {
    static const char *const reserved[] = {"balance", "alichain.txt", "ledger", "invariants",
                                           "fault"};
    if (len == 0 || len >= SCN_LABEL_BYTES) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '.';
        if (!ok) return 0;
    }
    for (size_t r = 0; r < AC_ARRAY_LEN(reserved); r++) {
        if (strlen(reserved[r]) == len && memcmp(reserved[r], s, len) == 0) return 0;
    }
    return 1;
}

static const scn_step_t *scenario_find_label(const scenario_t *s, const char *label) {
    for (size_t i = 0; i < s->step_count; i++) {
        if (s->steps[i].kind == STEP_OP && strcmp(s->steps[i].label, label) == 0) return &s->steps[i];
    }
    return NULL;
}

/* ------------------------------------------------------------------ statements */

static int block_append(parser_t *p, int b, const char *data, size_t len) {
    scenario_t *s = p->scn;
    if (s->block_len[b] + len > SCN_BLOCK_BYTES_MAX) return perr(p, AC_ERANGE, "block too large");
    char *n = realloc(s->block[b], s->block_len[b] + len + 1);
    if (n == NULL) return perr(p, AC_ENOMEM, "out of memory");
    memcpy(n + s->block_len[b], data, len);
    s->block_len[b] += len;
    n[s->block_len[b]] = '\0';
    s->block[b] = n;
    if (p->mark_count > 0 && p->marks[p->mark_count - 1].block == b &&
        p->marks[p->mark_count - 1].line == p->line) {
        p->marks[p->mark_count - 1].end = s->block_len[b];
        return 0;
    }
    if (p->mark_count == p->mark_cap) {
        size_t cap = p->mark_cap == 0 ? 64 : p->mark_cap * 2;
        scn_mark_t *m = realloc(p->marks, cap * sizeof(*m));
        if (m == NULL) return perr(p, AC_ENOMEM, "out of memory");
        p->marks = m;
        p->mark_cap = cap;
    }
    p->marks[p->mark_count++] = (scn_mark_t){.end = s->block_len[b], .line = p->line, .block = b};
    return 0;
}

static int parse_block(parser_t *p, int first) {
    if (first >= p->ntok) return perr(p, AC_EINVAL, "block: which backend (A, B or C)?");
    int node = node_parse(p->tok[first].s);
    if (node < SIM_NODE_A || node > SIM_NODE_C) return perr(p, AC_EINVAL, "block: backend must be A, B or C");
    int b = node - 1;
    int i = first + 1;
    if (i < p->ntok && tok_is(&p->tok[i], "raw")) {
        if (p->ntok != i + 2 || !p->tok[i + 1].quoted) return perr(p, AC_EINVAL, "block X raw \"text\"");
        return block_append(p, b, p->tok[i + 1].s, p->tok[i + 1].len);
    }
    if (i < p->ntok && tok_is(&p->tok[i], "file")) {
        if (p->ntok != i + 2) return perr(p, AC_EINVAL, "block X file PATH");
        if (p->base_dir == NULL) return perr(p, AC_EINVAL, "block X file: files cannot be read here");
        char path[4096];
        const char *f = p->tok[i + 1].s;
        if (f[0] == '/') snprintf(path, sizeof(path), "%s", f);
        else snprintf(path, sizeof(path), "%s/%s", p->base_dir, f);
        FILE *fp = fopen(path, "rb");
        if (fp == NULL) return perr(p, AC_EINVAL, "cannot read %s: %s", path, strerror(errno));
        char buf[65536];
        size_t n;
        int rc = 0;
        while (rc == 0 && (n = fread(buf, 1, sizeof(buf), fp)) > 0) rc = block_append(p, b, buf, n);
        int read_errno = ferror(fp) ? errno : 0; /* a directory opens, then fails to read */
        fclose(fp);
        if (rc == 0 && read_errno != 0)
            return perr(p, AC_EINVAL, "cannot read %s: %s", path, strerror(read_errno));
        return rc;
    }
    if (p->ntok - i != 4) return perr(p, AC_EINVAL, "block X SERIAL SENDER RECEIVER AMOUNT (or raw/file)");
    char line[SCN_LINE_BYTES_MAX];
    size_t len = 0;
    for (int k = i; k < p->ntok; k++) {
        len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", k > i ? " " : "", p->tok[k].s);
    }
    line[len++] = '\n';
    return block_append(p, b, line, len);
}

/* "X->Y", "X<->Y", "X -> Y", "X <-> Y" starting at tok[*i]. */
static int parse_link(parser_t *p, int *i, uint8_t *from, uint8_t *to, uint8_t *both) {
    char buf[64];
    int k = *i;
    size_t len = 0;
    /* glue up to three tokens: "M", "->", "A" */
    for (int n = 0; n < 3 && k + n < p->ntok && len < sizeof(buf) - 8; n++) {
        const tok_t *t = &p->tok[k + n];
        if (t->len >= sizeof(buf) - len - 1) break;
        memcpy(buf + len, t->s, t->len);
        len += t->len;
        buf[len] = '\0';
        const char *arrow = strstr(buf, "<->");
        int alen = 3;
        if (arrow == NULL) {
            arrow = strstr(buf, "->");
            alen = 2;
        }
        if (arrow == NULL || arrow[alen] == '\0') continue;
        char a[16], b[16];
        size_t la = (size_t)(arrow - buf);
        if (la == 0 || la >= sizeof(a) || strlen(arrow + alen) >= sizeof(b)) return -1;
        memcpy(a, buf, la);
        a[la] = '\0';
        snprintf(b, sizeof(b), "%s", arrow + alen);
        int na = node_parse(a), nb = node_parse(b);
        if (na < 0 || nb < 0 || na == nb) return -1;
        *from = (uint8_t)na;
        *to = (uint8_t)nb;
        *both = alen == 3;
        *i = k + n + 1;
        return 0;
    }
    return -1;
}

/* net udp|tcp ..., disk [X] ..., file delay RANGE: tokens from `first` (which is "net",
 * "disk" or "file"). */
static int parse_setting(parser_t *p, int first, sim_set_t *set) {
    memset(set, 0, sizeof(*set));
    int i = first + 1;
    const char *kw = p->tok[first].s;
    set->from = set->to = SIM_NODE_ALL;
    if (strcmp(kw, "net") == 0) {
        if (i >= p->ntok) return perr(p, AC_EINVAL, "net udp|tcp ...");
        if (tok_is(&p->tok[i], "udp")) {
            set->what = SET_UDP;
            i++;
            if (i < p->ntok && (strstr(p->tok[i].s, "->") != NULL ||
                                (i + 1 < p->ntok && strstr(p->tok[i + 1].s, "->") != NULL))) {
                if (parse_link(p, &i, &set->from, &set->to, &set->both) != 0)
                    return perr(p, AC_EINVAL, "net udp: bad link (M->A, A<->M, ...)");
                if (!node_is_server(set->from) || !node_is_server(set->to) ||
                    (set->from != SIM_NODE_M && set->to != SIM_NODE_M))
                    return perr(p, AC_EINVAL, "net udp: links join M and a backend");
            } else if (i < p->ntok && tok_is(&p->tok[i], "all")) {
                i++;
            }
        } else if (tok_is(&p->tok[i], "tcp")) {
            set->what = SET_TCP;
            i++;
        } else {
            return perr(p, AC_EINVAL, "net udp|tcp ...");
        }
    } else if (strcmp(kw, "disk") == 0) {
        set->what = SET_DISK;
        if (i < p->ntok) {
            int n = node_parse(p->tok[i].s);
            if (n >= SIM_NODE_A && n <= SIM_NODE_C) {
                set->from = (uint8_t)n;
                i++;
            }
        }
    } else {
        set->what = SET_FILE;
    }
    if (i >= p->ntok) return perr(p, AC_EINVAL, "%s: which setting?", kw);
    while (i < p->ntok) {
        const char *f = p->tok[i].s;
        if (i + 1 >= p->ntok) return perr(p, AC_EINVAL, "%s: value missing", f);
        const char *v = p->tok[i + 1].s;
        int rc = AC_EINVAL;
        uint32_t bit = 0;
        if ((strcmp(f, "delay") == 0 && set->what != SET_DISK) ||
            (strcmp(f, "sync") == 0 && set->what == SET_DISK)) {
            bit = SETF_DELAY;
            rc = parse_range_us(v, &set->min_us, &set->max_us);
        } else if (strcmp(f, "loss") == 0 && set->what == SET_UDP) {
            bit = SETF_LOSS;
            rc = parse_prob(v, &set->loss_ppm);
        } else if (strcmp(f, "dup") == 0 && set->what == SET_UDP) {
            bit = SETF_DUP;
            rc = parse_prob(v, &set->dup_ppm);
        } else if (strcmp(f, "reorder") == 0 && set->what == SET_UDP) {
            bit = SETF_REORDER;
            rc = parse_prob(v, &set->reorder_ppm);
        } else if (strcmp(f, "segment") == 0 && set->what == SET_TCP) {
            bit = SETF_SEGMENT;
            rc = parse_range_u32(v, &set->seg_min, &set->seg_max);
        } else if (strcmp(f, "reset") == 0 && set->what == SET_TCP) {
            bit = SETF_RESET;
            rc = parse_prob(v, &set->reset_ppm);
        } else if (strcmp(f, "torn") == 0 && set->what == SET_DISK) {
            bit = SETF_TORN;
            rc = parse_prob(v, &set->torn_ppm);
        } else if (strcmp(f, "full") == 0 && set->what == SET_DISK) {
            bit = SETF_FULL;
            set->full = strcmp(v, "on") == 0;
            rc = set->full || strcmp(v, "off") == 0 ? 0 : AC_EINVAL;
        } else if (strcmp(f, "eio-write") == 0 && set->what == SET_DISK) {
            bit = SETF_EIO_WRITE;
            rc = parse_prob(v, &set->eio_write_ppm);
        } else if (strcmp(f, "eio-sync") == 0 && set->what == SET_DISK) {
            bit = SETF_EIO_SYNC;
            rc = parse_prob(v, &set->eio_sync_ppm);
        } else {
            return perr(p, AC_EINVAL, "%s: unknown setting \"%s\"", kw, f);
        }
        if (rc != 0) return perr(p, rc, "%s %s: bad value \"%s\"", kw, f, v);
        set->mask |= bit;
        i += 2;
    }
    return 0;
}

static int parse_partition(parser_t *p, int i, scn_step_t *st, int heal) {
    st->node = st->node2 = SIM_NODE_ALL;
    if (i == p->ntok) {
        if (!heal) return perr(p, AC_EINVAL, "partition X Y | partition X -> Y");
        return 0; /* heal: every link */
    }
    if (i + 1 == p->ntok) {
        int n = node_parse(p->tok[i].s);
        if (n < 0) return perr(p, AC_EINVAL, "unknown node \"%s\" (M A B C clients)", p->tok[i].s);
        if (!heal) return perr(p, AC_EINVAL, "partition needs two nodes (or: isolate X)");
        st->node = (uint8_t)n; /* heal X: every link of X */
        return 0;
    }
    int k = i;
    uint8_t from, to, both;
    if (parse_link(p, &k, &from, &to, &both) == 0 && k == p->ntok) {
        st->node = from;
        st->node2 = to;
        st->oneway = !both;
        return 0;
    }
    if (i + 2 == p->ntok) {
        int a = node_parse(p->tok[i].s), b = node_parse(p->tok[i + 1].s);
        if (a < 0 || b < 0 || a == b) return perr(p, AC_EINVAL, "two different nodes of M A B C clients");
        st->node = (uint8_t)a;
        st->node2 = (uint8_t)b;
        return 0;
    }
    return perr(p, AC_EINVAL, "partition/heal: X Y, X -> Y or X <-> Y");
}

/* A step from token i on, at time `at` or, when on->type != 0, on that event. */
static int parse_step(parser_t *p, uint64_t at, int i, const scn_event_t *on) {
    scenario_t *s = p->scn;
    int rc;
    char label[SCN_LABEL_BYTES] = "";
    const tok_t *t = &p->tok[i];
    if (!t->quoted && t->len > 1 && t->s[t->len - 1] == ':') {
        if (!label_valid(t->s, t->len - 1)) return perr(p, AC_EINVAL, "bad label \"%s\"", t->s);
        memcpy(label, t->s, t->len - 1);
        label[t->len - 1] = '\0';
        if (scenario_find_label(s, label) != NULL) return perr(p, AC_EINVAL, "label \"%s\" used twice", label);
        i++;
        if (i >= p->ntok) return perr(p, AC_EINVAL, "label without an operation");
    }
    int half_close = 0; /* "half-close clientA ...": FIN after the request (docs/SCENARIOS.md) */
    int keepalive = 0;  /* "keepalive clientA": a session; "on S clientA ...": a request on it */
    char session[SCN_LABEL_BYTES] = "";
    if (tok_is(&p->tok[i], "half-close")) {
        half_close = 1;
        i++;
        if (i >= p->ntok) return perr(p, AC_EINVAL, "half-close clientA|clientB WORDS...");
    } else if (tok_is(&p->tok[i], "keepalive")) {
        keepalive = 1;
        i++;
        if (i + 1 != p->ntok) return perr(p, AC_EINVAL, "keepalive clientA|clientB");
    } else if (tok_is(&p->tok[i], "on")) {
        if (i + 2 >= p->ntok || !label_valid(p->tok[i + 1].s, p->tok[i + 1].len))
            return perr(p, AC_EINVAL, "on SESSION clientA|clientB WORDS...");
        memcpy(session, p->tok[i + 1].s, p->tok[i + 1].len + 1);
        i += 2;
    }
    const char *w = p->tok[i].s;
    int client = -1;
    if (tok_is(&p->tok[i], "clientA")) client = 0;
    if (tok_is(&p->tok[i], "clientB")) client = 1;
    if (on->type != 0 && (client >= 0 || label[0] != '\0' || half_close || keepalive || session[0] != '\0' ||
                          tok_is(&p->tok[i], "recover") || tok_is(&p->tok[i], "shutdown") ||
                          tok_is(&p->tok[i], "reset")))
        return perr(p, AC_EINVAL, "on EVENT: a fault (crash, restart, pause, resume, partition, isolate, "
                                  "heal, net, disk, file); operations, sessions and recover stay timed");
    if (label[0] != '\0' && client < 0) return perr(p, AC_EINVAL, "only client operations have labels");
    if (half_close && client < 0) return perr(p, AC_EINVAL, "half-close clientA|clientB WORDS...");
    if ((keepalive || session[0] != '\0') && client < 0)
        return perr(p, AC_EINVAL, "keepalive|on SESSION: clientA or clientB expected");
    scn_step_t tmp;
    memset(&tmp, 0, sizeof(tmp));
    if (client >= 0) {
        int argc = p->ntok - i - 1;
        if (argc > SCN_ARGS_MAX) return perr(p, AC_EINVAL, "at most %d words after the client", SCN_ARGS_MAX);
        const char *argv[SCN_ARGS_MAX];
        for (int k = 0; k < argc; k++) {
            if (p->tok[i + 1 + k].len > SCN_ARG_BYTES_MAX || strlen(p->tok[i + 1 + k].s) != p->tok[i + 1 + k].len)
                return perr(p, AC_EINVAL, "a word is too long or holds a NUL byte");
            argv[k] = p->tok[i + 1 + k].s;
        }
        scn_step_t *st = scenario_add_step(s, at, STEP_OP);
        if (st == NULL) return perr(p, AC_ENOMEM, "too many steps");
        st->client = (uint8_t)client;
        st->half_close = (uint8_t)half_close;
        st->keepalive = (uint8_t)keepalive;
        memcpy(st->session, session, sizeof(session));
        st->line = p->line;
        /* an unlabelled operation is "op<line>" (".2", ".3", ... if a label took it) */
        if (label[0] == '\0') snprintf(label, sizeof(label), "op%u", p->line);
        for (unsigned k = 2; scenario_find_label(s, label) != NULL && k < SCN_STEPS_MAX; k++)
            snprintf(label, sizeof(label), "op%u.%u", p->line, k);
        memcpy(st->label, label, sizeof(label));
        if (scenario_step_set_args(st, argc, argv) != 0) return perr(p, AC_ENOMEM, "out of memory");
        return 0;
    }
    step_kind_t kind;
    if (strcmp(w, "crash") == 0) kind = STEP_CRASH;
    else if (strcmp(w, "restart") == 0) kind = STEP_RESTART;
    else if (strcmp(w, "pause") == 0) kind = STEP_PAUSE;
    else if (strcmp(w, "resume") == 0) kind = STEP_RESUME;
    else if (strcmp(w, "partition") == 0 || strcmp(w, "isolate") == 0) kind = STEP_PARTITION;
    else if (strcmp(w, "heal") == 0) kind = STEP_HEAL;
    else if (strcmp(w, "recover") == 0) kind = STEP_RECOVER;
    else if (strcmp(w, "net") == 0 || strcmp(w, "disk") == 0 || strcmp(w, "file") == 0) kind = STEP_SET;
    else if (strcmp(w, "shutdown") == 0 || strcmp(w, "reset") == 0) kind = STEP_SESSION;
    else if (strcmp(w, "forge") == 0) kind = STEP_FORGE;
    else return perr(p, AC_EINVAL, "unknown event \"%s\"", w);
    tmp.kind = (uint8_t)kind;
    tmp.line = p->line;
    switch (kind) {
    case STEP_CRASH:
    case STEP_RESTART:
    case STEP_PAUSE:
    case STEP_RESUME: {
        int n = p->ntok == i + 2 ? node_parse(p->tok[i + 1].s) : -1;
        if (n < 0 || !node_is_server(n)) return perr(p, AC_EINVAL, "%s M|A|B|C", w);
        tmp.node = (uint8_t)n;
        break;
    }
    case STEP_PARTITION:
        if (strcmp(w, "isolate") == 0) {
            int n = p->ntok == i + 2 ? node_parse(p->tok[i + 1].s) : -1;
            if (n < 0) return perr(p, AC_EINVAL, "isolate M|A|B|C|clients");
            tmp.node = (uint8_t)n;
            tmp.node2 = SIM_NODE_ALL;
        } else {
            rc = parse_partition(p, i + 1, &tmp, 0);
            if (rc != 0) return rc;
        }
        break;
    case STEP_HEAL:
        rc = parse_partition(p, i + 1, &tmp, 1);
        if (rc != 0) return rc;
        break;
    case STEP_RECOVER:
        if (p->ntok != i + 1) return perr(p, AC_EINVAL, "recover takes no arguments");
        break;
    case STEP_SET:
        rc = parse_setting(p, i, &tmp.set);
        if (rc != 0) return rc;
        break;
    case STEP_FORGE: {
        int n = p->ntok == i + 3 ? node_parse(p->tok[i + 1].s) : -1;
        int k = 0;
        for (int f = 1; n >= 0 && f < FORGE_KINDS; f++)
            if (strcmp(p->tok[i + 2].s, forge_names[f]) == 0) k = f;
        if (n < SIM_NODE_A || n > SIM_NODE_C || k == 0)
            return perr(p, AC_EINVAL, "forge A|B|C write|fence|replay");
        tmp.node = (uint8_t)n;
        tmp.forge = (uint8_t)k;
        break;
    }
    case STEP_SESSION: /* the session is checked when the whole file is read (scenario_check_sessions) */
        if (p->ntok != i + 2 || !label_valid(p->tok[i + 1].s, p->tok[i + 1].len))
            return perr(p, AC_EINVAL, "%s SESSION", w);
        tmp.half_close = strcmp(w, "shutdown") == 0;
        memcpy(tmp.session, p->tok[i + 1].s, p->tok[i + 1].len + 1);
        break;
    default:
        break;
    }
    scn_step_t *st = scenario_add_step(s, at, kind);
    if (st == NULL) return perr(p, AC_ENOMEM, "too many steps");
    tmp.at_us = at;
    tmp.on = *on;
    *st = tmp;
    return 0;
}

static int parse_timed(parser_t *p) {
    if (p->ntok < 3) return perr(p, AC_EINVAL, "at TIME what");
    uint64_t at;
    int rc = parse_duration(p->tok[1].s, &at);
    if (rc != 0) return perr(p, rc, "bad time \"%s\" (e.g. 0ms, 250us, 1.5s)", p->tok[1].s);
    const scn_event_t timed = {0};
    return parse_step(p, at, 2, &timed);
}

/* "on EVENT: STEP" (anchor.h): the event's words end at the first word that is ':' or ends
 * with it. */
static int parse_on(parser_t *p) {
    const char *words[SCN_TOKENS_MAX];
    char last[SCN_TOKEN_BYTES_MAX];
    int n = 0, colon = -1;
    for (int i = 1; i < p->ntok && colon < 0; i++) {
        const tok_t *t = &p->tok[i];
        if (t->quoted) return perr(p, AC_EINVAL, "on EVENT: STEP (no quoted words in an event)");
        if (t->len > 0 && t->s[t->len - 1] == ':') {
            colon = i;
            if (t->len == 1) break;
            if (t->len > sizeof(last)) return perr(p, AC_EINVAL, "word too long");
            memcpy(last, t->s, t->len - 1);
            last[t->len - 1] = '\0';
            words[n++] = last;
            break;
        }
        words[n++] = t->s;
    }
    if (colon < 0 || colon + 1 >= p->ntok) return perr(p, AC_EINVAL, "on EVENT: STEP (e.g. on first WRITE M->B: crash M)");
    uint64_t after = 0; /* "on first WRITE M->B +10ms: ...": a while after the event */
    if (n > 0 && words[n - 1][0] == '+') {
        if (parse_duration(words[n - 1] + 1, &after) != 0 || after == 0 || after > SIM_TIME_US_MAX)
            return perr(p, AC_EINVAL, "bad delay after the event \"%s\" (e.g. +10ms)", words[n - 1]);
        n--;
    }
    scn_event_t ev;
    char why[200];
    if (scn_event_parse(words, n, &ev, why, sizeof(why)) != 0) return perr(p, AC_EINVAL, "%s", why);
    ev.after_us = after;
    size_t anchored = 0;
    for (size_t i = 0; i < p->scn->step_count; i++) anchored += p->scn->steps[i].on.type != 0;
    if (anchored >= SCN_ANCHORS_MAX) return perr(p, AC_ERANGE, "more than %d steps on events", SCN_ANCHORS_MAX);
    return parse_step(p, 0, colon + 1, &ev);
}

static int fault_parse(const char *s) {
    for (int f = 0; f < FAULT_COUNT; f++) {
        if (strcmp(sim_fault_names[f], s) == 0) return f;
    }
    return -1;
}

static int expect_text(parser_t *p, scn_expect_t *e, int i) {
    if (i + 1 != p->ntok || !p->tok[i].quoted)
        return perr(p, AC_EINVAL, "expected one \"quoted text\"");
    if (p->tok[i].len >= SCN_EXPECT_TEXT_BYTES || strlen(p->tok[i].s) != p->tok[i].len)
        return perr(p, AC_EINVAL, "text too long or holds a NUL byte");
    e->text = mem_dup(p->tok[i].s, p->tok[i].len);
    if (e->text == NULL) return perr(p, AC_ENOMEM, "out of memory");
    return 0;
}

static int parse_expect(parser_t *p) {
    scenario_t *s = p->scn;
    if (p->ntok < 2) return perr(p, AC_EINVAL, "expect what?");
    scn_expect_t *e = scenario_add_expect(s);
    if (e == NULL) return perr(p, AC_ENOMEM, "too many expectations");
    e->line = p->line;
    const char *w = p->tok[1].s;
    uint64_t u;
    int64_t v;
    if (tok_is(&p->tok[1], "invariants")) {
        if (p->ntok != 2) return perr(p, AC_EINVAL, "expect invariants");
        e->kind = EXP_INVARIANTS;
        return 0;
    }
    if (tok_is(&p->tok[1], "balance")) {
        if (p->ntok != 4 || !tx_name_valid(p->tok[2].s, p->tok[2].len))
            return perr(p, AC_EINVAL, "expect balance USER N|absent");
        e->text = mem_dup(p->tok[2].s, p->tok[2].len); /* the user's name */
        if (e->text == NULL) return perr(p, AC_ENOMEM, "out of memory");
        if (tok_is(&p->tok[3], "absent")) {
            e->kind = EXP_ABSENT;
            return 0;
        }
        if (parse_i64(p->tok[3].s, &v) != 0) return perr(p, AC_EINVAL, "expect balance USER N|absent");
        e->kind = EXP_BALANCE;
        e->num = v;
        return 0;
    }
    if (tok_is(&p->tok[1], "alichain.txt")) {
        if (p->ntok >= 3 && tok_is(&p->tok[2], "absent") && p->ntok == 3) {
            e->kind = EXP_TXLIST_ABSENT;
            return 0;
        }
        if (p->ntok == 4 && tok_is(&p->tok[2], "lines") && parse_num(p->tok[3].s, &u) == 0) {
            e->kind = EXP_TXLIST_LINES;
            e->num = (int64_t)u;
            return 0;
        }
        if (p->ntok >= 3 && tok_is(&p->tok[2], "line")) {
            e->kind = EXP_TXLIST_LINE;
            return expect_text(p, e, 3);
        }
        return perr(p, AC_EINVAL, "expect alichain.txt line \"...\" | lines N | absent");
    }
    if (tok_is(&p->tok[1], "ledger")) {
        if (p->ntok == 4 && tok_is(&p->tok[2], "count") && parse_num(p->tok[3].s, &u) == 0) {
            e->kind = EXP_LEDGER_COUNT;
            e->num = (int64_t)u;
            return 0;
        }
        if (p->ntok >= 3 && tok_is(&p->tok[2], "has")) {
            e->kind = EXP_LEDGER_HAS;
            return expect_text(p, e, 3);
        }
        return perr(p, AC_EINVAL, "expect ledger count N | has \"S SENDER RECEIVER AMOUNT\"");
    }
    if (tok_is(&p->tok[1], "fault")) {
        int f = p->ntok == 5 ? fault_parse(p->tok[2].s) : -1;
        if (f < 0) return perr(p, AC_EINVAL, "expect fault NAME >=|==|<= N (names: docs/SCENARIOS.md)");
        e->kind = EXP_FAULT;
        e->fault = (uint8_t)f;
        const char *op = p->tok[3].s;
        if (strcmp(op, ">=") == 0) e->cmp = CMP_GE;
        else if (strcmp(op, "==") == 0) e->cmp = CMP_EQ;
        else if (strcmp(op, "<=") == 0) e->cmp = CMP_LE;
        else return perr(p, AC_EINVAL, "comparison must be >=, == or <=");
        if (parse_num(p->tok[4].s, &u) != 0) return perr(p, AC_EINVAL, "bad count");
        e->num = (int64_t)u;
        return 0;
    }
    /* LABEL ... */
    if (!label_valid(w, p->tok[1].len) || scenario_find_label(s, w) == NULL)
        return perr(p, AC_EINVAL, "expect: no operation labelled \"%s\" above", w);
    memcpy(e->label, w, p->tok[1].len + 1);
    if (p->ntok < 4) return perr(p, AC_EINVAL, "expect LABEL exit|stdout|no-stdout|stderr|serial ...");
    const char *what = p->tok[2].s;
    if (strcmp(what, "exit") == 0) {
        e->kind = EXP_EXIT;
        for (int k = 3; k < p->ntok; k++) {
            char *save = p->tok[k].s;
            char *tokp = save;
            while (*tokp) {
                char num[8];
                size_t n = 0;
                while (*tokp && *tokp != ',' && n < sizeof(num) - 1) num[n++] = *tokp++;
                num[n] = '\0';
                if (*tokp == ',') tokp++;
                if (n == 0) continue;
                if (parse_u64(num, &u) != 0 || u > 31) return perr(p, AC_EINVAL, "exit codes 0..31, e.g. 0,3");
                e->exit_mask |= 1u << u;
            }
        }
        if (e->exit_mask == 0) return perr(p, AC_EINVAL, "exit: which code?");
        return 0;
    }
    if (strcmp(what, "stdout") == 0) {
        e->kind = EXP_STDOUT;
        return expect_text(p, e, 3);
    }
    if (strcmp(what, "no-stdout") == 0) {
        e->kind = EXP_NO_STDOUT;
        return expect_text(p, e, 3);
    }
    if (strcmp(what, "stderr") == 0) {
        e->kind = EXP_STDERR;
        return expect_text(p, e, 3);
    }
    if (strcmp(what, "serial") == 0 && p->ntok == 4 && parse_num(p->tok[3].s, &u) == 0) {
        e->kind = EXP_SERIAL;
        e->num = (int64_t)u;
        return 0;
    }
    return perr(p, AC_EINVAL, "expect LABEL exit|stdout|no-stdout|stderr|serial ...");
}

static int parse_statement(parser_t *p) {
    scenario_t *s = p->scn;
    if (p->ntok == 0) return 0;
    const tok_t *t = &p->tok[0];
    uint64_t u;
    int rc;
    if (t->quoted) return perr(p, AC_EINVAL, "a statement starts with a keyword");
    if (strcmp(t->s, "seed") == 0) {
        if (p->ntok != 2 || parse_u64(p->tok[1].s, &u) != 0) return perr(p, AC_EINVAL, "seed N");
        if (s->has_seed) return perr(p, AC_EINVAL, "seed given twice");
        s->seed = u;
        s->has_seed = 1;
        return 0;
    }
    if (strcmp(t->s, "timeout") == 0 || strcmp(t->s, "client-timeout") == 0) {
        if (p->ntok != 2 || parse_duration(p->tok[1].s, &u) != 0 || u < 1000 || u > 3600000000ull)
            return perr(p, AC_EINVAL, "%s DURATION (1ms..3600s)", t->s);
        if (u % 1000 != 0) return perr(p, AC_EINVAL, "%s: whole milliseconds", t->s);
        int *given = t->s[0] == 't' ? &p->have_timeout : &p->have_client_timeout;
        if (*given) return perr(p, AC_EINVAL, "%s given twice", t->s);
        *given = 1;
        if (t->s[0] == 't') s->timeout_ms = (uint32_t)(u / 1000);
        else s->client_timeout_ms = (uint32_t)(u / 1000);
        return 0;
    }
    if (strcmp(t->s, "liveness") == 0) {
        if (p->ntok != 2 || parse_duration(p->tok[1].s, &u) != 0 || u == 0)
            return perr(p, AC_EINVAL, "liveness DURATION");
        s->liveness_us = u;
        return 0;
    }
    if (strcmp(t->s, "block") == 0) return parse_block(p, 1);
    if (strcmp(t->s, "net") == 0 || strcmp(t->s, "disk") == 0 || strcmp(t->s, "file") == 0) {
        sim_set_t set;
        rc = parse_setting(p, 0, &set);
        if (rc != 0) return rc;
        sim_set_apply(&s->faults, &set);
        return 0;
    }
    if (strcmp(t->s, "at") == 0) return parse_timed(p);
    if (strcmp(t->s, "on") == 0) return parse_on(p);
    if (strcmp(t->s, "run") == 0) {
        if (p->have_run) return perr(p, AC_EINVAL, "run given twice");
        p->have_run = 1;
        if (p->ntok == 2) {
            rc = parse_duration(p->tok[1].s, &u);
            if (rc != 0 || u == 0) return perr(p, AC_EINVAL, "run DURATION | run until quiet [max DURATION]");
            s->until_quiet = 0;
            s->run_us = u;
            return 0;
        }
        if (p->ntok >= 3 && tok_is(&p->tok[1], "until") && tok_is(&p->tok[2], "quiet")) {
            s->until_quiet = 1;
            s->run_us = SCN_RUN_US_DEFAULT;
            if (p->ntok == 3) return 0;
            if (p->ntok == 5 && tok_is(&p->tok[3], "max") && parse_duration(p->tok[4].s, &u) == 0 && u > 0) {
                s->run_us = u;
                return 0;
            }
        }
        return perr(p, AC_EINVAL, "run DURATION | run until quiet [max DURATION]");
    }
    if (strcmp(t->s, "expect") == 0) return parse_expect(p);
    return perr(p, AC_EINVAL, "unknown statement \"%s\"", t->s);
}

/* One serial of the initial blocks and where it is. */
typedef struct {
    uint64_t serial;
    size_t pos;      /* byte offset of its line in the block */
    uint32_t line;   /* 1-based, in its block */
    int block;       /* 0..2 */
} scn_serial_t;

static int scn_serial_cmp(const void *a, const void *b) {
    const scn_serial_t *x = a, *y = b;
    if (x->serial != y->serial) return x->serial < y->serial ? -1 : 1;
    if (x->block != y->block) return x->block - y->block;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* The scenario line of the statement that wrote byte pos of block b. */
static uint32_t scenario_line_of(const parser_t *p, int b, size_t pos) {
    for (size_t i = 0; i < p->mark_count; i++) {
        if (p->marks[i].block == b && pos < p->marks[i].end) return p->marks[i].line;
    }
    return p->line; /* cannot happen: every byte was appended under a mark */
}

/* Serials are unique across all three blocks (SPEC.md "Data"): a scenario whose initial
 * blocks repeat one (in two blocks, or twice in one) is refused here rather than run and
 * blamed on the system. Lines that do not parse are left to the backend, which names them.
 * Returns 0, AC_EDUP with "line N: initial blocks repeat serial S: block1.txt:L and
 * block2.txt:M" in err (N: the statement that wrote the second), or AC_ENOMEM. */
static int scenario_check_serials(parser_t *p) {
    const scenario_t *s = p->scn;
    size_t cap = 0, n = 0;
    for (int b = 0; b < BACKEND_COUNT; b++) cap += s->block_len[b] / 2 + 1; /* "1\n" is shortest */
    scn_serial_t *all = malloc(cap * sizeof(*all));
    if (all == NULL) return perr(p, AC_ENOMEM, "out of memory");
    for (int b = 0; b < BACKEND_COUNT; b++) {
        const char *d = s->block[b];
        size_t len = s->block_len[b], pos = 0;
        uint32_t line = 0;
        while (d != NULL && pos < len) {
            const char *nl = memchr(d + pos, '\n', len - pos);
            size_t end = nl != NULL ? (size_t)(nl - d) : len;
            tx_t t;
            line++;
            if (tx_parse_line(d + pos, end - pos, &t, NULL, 0) == AC_OK && ALWAYS(n < cap))
                all[n++] = (scn_serial_t){.serial = t.serial, .pos = pos, .line = line, .block = b};
            pos = end + 1;
        }
    }
    qsort(all, n, sizeof(*all), scn_serial_cmp);
    int rc = 0;
    for (size_t i = 1; i < n && rc == 0; i++) {
        if (all[i].serial != all[i - 1].serial) continue;
        p->line = scenario_line_of(p, all[i].block, all[i].pos);
        rc = perr(p, AC_EDUP, "initial blocks repeat serial %llu: block%d.txt:%u and "
                  "block%d.txt:%u", (unsigned long long)all[i].serial, all[i - 1].block + 1,
                  all[i - 1].line, all[i].block + 1, all[i].line);
    }
    free(all);
    return rc;
}

/* The keep-alive step that starts session name, or NULL. */
static const scn_step_t *session_start(const scenario_t *s, const char *name) {
    for (size_t i = 0; i < s->step_count; i++)
        if (s->steps[i].kind == STEP_OP && s->steps[i].keepalive && strcmp(s->steps[i].label, name) == 0)
            return &s->steps[i];
    return NULL;
}

/* Every "shutdown|reset SESSION" and "on SESSION" names a session some keepalive statement
 * starts (anywhere in the file): a misspelt one was silently nothing. Returns 0 or
 * AC_EINVAL with its line. */
static int scenario_check_sessions(parser_t *p) {
    const scenario_t *s = p->scn;
    for (size_t i = 0; i < s->step_count; i++) {
        const scn_step_t *st = &s->steps[i];
        int names = st->kind == STEP_SESSION || (st->kind == STEP_OP && !st->keepalive && st->session[0] != '\0');
        if (!names || session_start(s, st->session) != NULL) continue;
        p->line = st->line;
        return perr(p, AC_EINVAL, "no keepalive statement starts session \"%s\"", st->session);
    }
    return 0;
}

void scenario_drop_orphans(scenario_t *s) {
    for (size_t i = 0; i < s->step_count;) {
        scn_step_t *st = &s->steps[i];
        int orphan = (st->kind == STEP_SESSION || (st->kind == STEP_OP && !st->keepalive)) &&
                     st->session[0] != '\0' && session_start(s, st->session) == NULL;
        if (orphan && st->kind == STEP_SESSION) {
            scenario_remove_step(s, i); /* it shut down or reset nothing */
            continue;
        }
        if (orphan) st->session[0] = '\0'; /* it made its own connection all along */
        i++;
    }
}

static int scenario_parse_in(const char *text, size_t len, const char *base_dir, scenario_t *out,
                             char *err, size_t err_cap) {
    static parser_t parser; /* large arena; the simulator is single-threaded */
    parser_t *p = &parser;
    memset(p, 0, offsetof(parser_t, tok));
    p->scn = out;
    p->base_dir = base_dir;
    p->err = err;
    p->err_cap = err_cap;
    p->have_run = 0;
    p->have_timeout = p->have_client_timeout = 0;
    p->ntok = 0;
    scenario_init(out);
    if (err != NULL && err_cap > 0) err[0] = '\0';
    if (len > SCN_TEXT_BYTES_MAX) {
        p->line = 0;
        return perr(p, AC_ERANGE, "scenario larger than %u bytes", SCN_TEXT_BYTES_MAX);
    }
    size_t pos = 0;
    int rc = 0;
    while (pos < len && rc == 0) {
        size_t end = pos;
        while (end < len && text[end] != '\n') end++;
        p->line++;
        rc = tokenize(p, text + pos, end - pos);
        if (rc == 0) rc = parse_statement(p);
        pos = end + 1;
    }
    if (rc == 0) rc = scenario_check_serials(p);
    if (rc == 0) rc = scenario_check_sessions(p);
    free(p->marks);
    p->marks = NULL;
    if (rc != 0) scenario_free(out);
    return rc;
}

int scenario_parse(const char *text, size_t len, scenario_t *out, char *err, size_t err_cap) {
    return scenario_parse_in(text, len, NULL, out, err, err_cap);
}

int scenario_load(const char *path, scenario_t *out, char *err, size_t err_cap) {
    scenario_init(out);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, err_cap, "cannot open %s: %s", path, strerror(errno));
        return AC_EINVAL;
    }
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    int rc = 0;
    while (text != NULL) {
        if (len == cap) {
            if (cap >= SCN_TEXT_BYTES_MAX) {
                rc = AC_ERANGE;
                break;
            }
            char *n = realloc(text, cap * 2);
            if (n == NULL) {
                free(text);
                text = NULL;
                break;
            }
            text = n;
            cap *= 2;
        }
        size_t got = fread(text + len, 1, cap - len, fp);
        if (got == 0) break;
        len += got;
    }
    int read_errno = ferror(fp) ? errno : 0; /* a directory opens, then fails to read */
    fclose(fp);
    if (text != NULL && rc == 0 && read_errno != 0) {
        free(text);
        snprintf(err, err_cap, "cannot read %s: %s", path, strerror(read_errno));
        return AC_EINVAL;
    }
    if (text == NULL) {
        snprintf(err, err_cap, "out of memory reading %s", path);
        return AC_ENOMEM;
    }
    if (rc != 0) {
        free(text);
        snprintf(err, err_cap, "%s: larger than %u bytes", path, SCN_TEXT_BYTES_MAX);
        return rc;
    }
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL) *slash = '\0';
    else snprintf(dir, sizeof(dir), ".");
    char msg[400];
    rc = scenario_parse_in(text, len, dir, out, msg, sizeof(msg));
    if (rc != 0) snprintf(err, err_cap, "%s: %s", path, msg);
    free(text);
    return rc;
}

/* ------------------------------------------------------------------ printing */

static void print_duration(FILE *f, uint64_t us) {
    if (us % 1000000 == 0) {
        fprintf(f, "%llus", (unsigned long long)(us / 1000000));
    } else if (us % 1000 == 0 && us < 10000000) {
        fprintf(f, "%llums", (unsigned long long)(us / 1000));
    } else if (us < 1000000) {
        fprintf(f, "%lluus", (unsigned long long)us);
    } else { /* seconds with the fraction's trailing zeros cut: exact, and readable */
        char frac[8];
        snprintf(frac, sizeof(frac), "%06llu", (unsigned long long)(us % 1000000));
        int n = 6;
        while (n > 1 && frac[n - 1] == '0') n--;
        frac[n] = '\0';
        fprintf(f, "%llu.%ss", (unsigned long long)(us / 1000000), frac);
    }
}

static void print_range(FILE *f, uint64_t lo, uint64_t hi) {
    print_duration(f, lo);
    if (hi != lo) {
        fputs("..", f);
        print_duration(f, hi);
    }
}

static void print_prob(FILE *f, uint32_t ppm) {
    if (ppm == 0) {
        fputs("0", f);
        return;
    }
    if (ppm == PPM_ONE) {
        fputs("1", f);
        return;
    }
    char frac[16];
    snprintf(frac, sizeof(frac), "%06u", ppm);
    int n = 6;
    while (n > 1 && frac[n - 1] == '0') n--;
    frac[n] = '\0';
    fprintf(f, "0.%s", frac);
}

/* A word that the tokenizer would read back as itself, or else a quoted string. */
static void print_word(FILE *f, const char *w, size_t len, int force_quote) {
    int plain = len > 0 && !force_quote;
    for (size_t i = 0; i < len && plain; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c <= ' ' || c >= 0x7f || c == '"' || c == '#' || c == '\\') plain = 0;
    }
    if (plain) {
        fwrite(w, 1, len, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c == '"') fputs("\\\"", f);
        else if (c == '\\') fputs("\\\\", f);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < ' ' || c >= 0x7f) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void print_set(FILE *f, const sim_set_t *s) {
    switch (s->what) {
    case SET_UDP:
        fputs("net udp", f);
        if (s->from != SIM_NODE_ALL) {
            fprintf(f, " %s%s%s", node_name(s->from), s->both ? "<->" : "->", node_name(s->to));
        }
        break;
    case SET_TCP:
        fputs("net tcp", f);
        break;
    case SET_DISK:
        fputs("disk", f);
        if (s->from != SIM_NODE_ALL) fprintf(f, " %s", node_name(s->from));
        break;
    default:
        fputs("file", f);
        break;
    }
    if (s->mask & SETF_DELAY) {
        fputs(s->what == SET_DISK ? " sync " : " delay ", f);
        print_range(f, s->min_us, s->max_us);
    }
    if (s->mask & SETF_LOSS) {
        fputs(" loss ", f);
        print_prob(f, s->loss_ppm);
    }
    if (s->mask & SETF_DUP) {
        fputs(" dup ", f);
        print_prob(f, s->dup_ppm);
    }
    if (s->mask & SETF_REORDER) {
        fputs(" reorder ", f);
        print_prob(f, s->reorder_ppm);
    }
    if (s->mask & SETF_SEGMENT) fprintf(f, " segment %u..%u", s->seg_min, s->seg_max);
    if (s->mask & SETF_RESET) {
        fputs(" reset ", f);
        print_prob(f, s->reset_ppm);
    }
    if (s->mask & SETF_TORN) {
        fputs(" torn ", f);
        print_prob(f, s->torn_ppm);
    }
    if (s->mask & SETF_FULL) fputs(s->full ? " full on" : " full off", f);
    if (s->mask & SETF_EIO_WRITE) {
        fputs(" eio-write ", f);
        print_prob(f, s->eio_write_ppm);
    }
    if (s->mask & SETF_EIO_SYNC) {
        fputs(" eio-sync ", f);
        print_prob(f, s->eio_sync_ppm);
    }
    fputc('\n', f);
}

/* The statements that turn the default settings into fs (every differing item, whole),
 * each handed to emit: print_faults prints them, one line each; scenario_number_lines
 * counts them. */
static void faults_sets(const sim_faults_t *fs, void (*emit)(void *ctx, const sim_set_t *s), void *ctx) {
    sim_faults_t d;
    sim_faults_default(&d);
    /* the used links are M<->A, M<->B, M<->C; one statement when all six agree */
    const sim_udp_t *first = &fs->udp[SIM_NODE_M][SIM_NODE_A];
    int same = 1;
    for (int b = SIM_NODE_A; b <= SIM_NODE_C; b++) {
        same &= memcmp(&fs->udp[SIM_NODE_M][b], first, sizeof(*first)) == 0;
        same &= memcmp(&fs->udp[b][SIM_NODE_M], first, sizeof(*first)) == 0;
    }
    if (same && memcmp(first, &d.udp[SIM_NODE_M][SIM_NODE_A], sizeof(*first)) != 0) {
        sim_set_t s = {.what = SET_UDP, .from = SIM_NODE_ALL, .to = SIM_NODE_ALL,
                       .mask = SETF_DELAY | SETF_LOSS | SETF_DUP | SETF_REORDER,
                       .min_us = first->delay_min_us, .max_us = first->delay_max_us,
                       .loss_ppm = first->loss_ppm, .dup_ppm = first->dup_ppm,
                       .reorder_ppm = first->reorder_ppm};
        emit(ctx, &s);
    }
    for (int i = 0; i < SIM_SERVERS && !same; i++) {
        for (int j = 0; j < SIM_SERVERS; j++) {
            const sim_udp_t *u = &fs->udp[i][j];
            if ((i == SIM_NODE_M) == (j == SIM_NODE_M)) continue; /* not a link in use */
            if (memcmp(u, &d.udp[i][j], sizeof(*u)) == 0) continue;
            sim_set_t s = {.what = SET_UDP, .from = (uint8_t)i, .to = (uint8_t)j,
                           .mask = SETF_DELAY | SETF_LOSS | SETF_DUP | SETF_REORDER,
                           .min_us = u->delay_min_us, .max_us = u->delay_max_us,
                           .loss_ppm = u->loss_ppm, .dup_ppm = u->dup_ppm,
                           .reorder_ppm = u->reorder_ppm};
            emit(ctx, &s);
        }
    }
    if (memcmp(&fs->tcp, &d.tcp, sizeof(d.tcp)) != 0) {
        sim_set_t s = {.what = SET_TCP, .mask = SETF_DELAY | SETF_SEGMENT | SETF_RESET,
                       .min_us = fs->tcp.delay_min_us, .max_us = fs->tcp.delay_max_us,
                       .seg_min = fs->tcp.seg_min, .seg_max = fs->tcp.seg_max,
                       .reset_ppm = fs->tcp.reset_ppm};
        emit(ctx, &s);
    }
    for (int b = 0; b < BACKEND_COUNT; b++) {
        if (memcmp(&fs->disk[b], &d.disk[b], sizeof(d.disk[b])) == 0) continue;
        const sim_disk_t *k = &fs->disk[b];
        uint32_t errors = (k->full ? SETF_FULL : 0) | (k->eio_write_ppm ? SETF_EIO_WRITE : 0) |
                          (k->eio_sync_ppm ? SETF_EIO_SYNC : 0); /* printed when set */
        sim_set_t s = {.what = SET_DISK, .from = (uint8_t)(b + 1), .mask = SETF_DELAY | SETF_TORN | errors,
                       .min_us = k->sync_min_us, .max_us = k->sync_max_us, .torn_ppm = k->torn_ppm,
                       .full = k->full, .eio_write_ppm = k->eio_write_ppm, .eio_sync_ppm = k->eio_sync_ppm};
        emit(ctx, &s);
    }
    if (fs->file_min_us != d.file_min_us || fs->file_max_us != d.file_max_us) {
        sim_set_t s = {.what = SET_FILE, .mask = SETF_DELAY, .min_us = fs->file_min_us,
                       .max_us = fs->file_max_us};
        emit(ctx, &s);
    }
}

static void print_set_to(void *f, const sim_set_t *s) { print_set(f, s); }

static void print_faults(FILE *f, const sim_faults_t *fs) { faults_sets(fs, print_set_to, f); }

/* A block image: plain "block X s a b n" lines where that reads back the same, else raw. */
static void print_block(FILE *f, int b, const char *data, size_t len) {
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && data[end] != '\n') end++;
        int plain = end < len && end > pos;
        int words = 0, in_word = 0;
        for (size_t i = pos; i < end && plain; i++) {
            char c = data[i];
            if (c == ' ') {
                if (!in_word || i + 1 == end || data[i + 1] == ' ') plain = 0;
                in_word = 0;
            } else {
                if ((unsigned char)c <= ' ' || (unsigned char)c >= 0x7f || c == '"' || c == '#' ||
                    c == '\\')
                    plain = 0;
                if (!in_word) words++;
                in_word = 1;
            }
        }
        if (plain && words == 4 && data[pos] != ' ' && strncmp(data + pos, "raw ", 4) != 0 &&
            strncmp(data + pos, "file ", 5) != 0) {
            fprintf(f, "block %s ", node_name(b + 1));
            fwrite(data + pos, 1, end - pos, f);
            fputc('\n', f);
        } else {
            fprintf(f, "block %s raw ", node_name(b + 1));
            print_word(f, data + pos, (end < len ? end + 1 : end) - pos, 1);
            fputc('\n', f);
        }
        pos = end + 1;
    }
}

static void print_step(FILE *f, const scn_step_t *st) {
    if (st->on.type != 0) {
        char ev[SCN_EVENT_TEXT_BYTES];
        scn_event_format(&st->on, ev, sizeof(ev));
        fprintf(f, "on %s", ev);
        if (st->on.after_us != 0) {
            fputs(" +", f);
            print_duration(f, st->on.after_us);
        }
        fputs(": ", f);
    } else {
        fputs("at ", f);
        print_duration(f, st->at_us);
        fputc(' ', f);
    }
    switch (st->kind) {
    case STEP_OP:
        fprintf(f, "%s: ", st->label);
        if (st->keepalive) fputs("keepalive ", f);
        else if (st->session[0] != '\0') fprintf(f, "on %s ", st->session);
        else if (st->half_close) fputs("half-close ", f);
        fprintf(f, "client%c", st->client ? 'B' : 'A');
        for (int i = 0; i < st->argc; i++) {
            fputc(' ', f);
            print_word(f, st->argv[i], strlen(st->argv[i]), 0);
        }
        fputc('\n', f);
        break;
    case STEP_CRASH: fprintf(f, "crash %s\n", node_name(st->node)); break;
    case STEP_RESTART: fprintf(f, "restart %s\n", node_name(st->node)); break;
    case STEP_PAUSE: fprintf(f, "pause %s\n", node_name(st->node)); break;
    case STEP_RESUME: fprintf(f, "resume %s\n", node_name(st->node)); break;
    case STEP_PARTITION:
    case STEP_HEAL: {
        const char *w = st->kind == STEP_HEAL ? "heal" : "partition";
        if (st->kind == STEP_PARTITION && st->node2 == SIM_NODE_ALL) fprintf(f, "isolate %s\n", node_name(st->node));
        else if (st->node == SIM_NODE_ALL) fprintf(f, "%s\n", w);
        else if (st->node2 == SIM_NODE_ALL) fprintf(f, "%s %s\n", w, node_name(st->node));
        else if (st->oneway) fprintf(f, "%s %s -> %s\n", w, node_name(st->node), node_name(st->node2));
        else fprintf(f, "%s %s %s\n", w, node_name(st->node), node_name(st->node2));
        break;
    }
    case STEP_RECOVER: fputs("recover\n", f); break;
    case STEP_SET: print_set(f, &st->set); break;
    case STEP_SESSION: fprintf(f, "%s %s\n", st->half_close ? "shutdown" : "reset", st->session); break;
    case STEP_FORGE:
        fprintf(f, "forge %s %s\n", node_name(st->node),
                st->forge < FORGE_KINDS ? forge_names[st->forge] : "?");
        break;
    default: fputs("# unknown step\n", f); break;
    }
}

static void print_expect(FILE *f, const scn_expect_t *e) {
    fputs("expect ", f);
    const char *user = e->text != NULL ? e->text : "";
    switch (e->kind) {
    case EXP_EXIT: {
        fprintf(f, "%s exit ", e->label);
        int first = 1;
        for (int c = 0; c < 32; c++) {
            if (!(e->exit_mask & (1u << c))) continue;
            fprintf(f, "%s%d", first ? "" : ",", c);
            first = 0;
        }
        fputc('\n', f);
        return;
    }
    case EXP_STDOUT: fprintf(f, "%s stdout ", e->label); break;
    case EXP_NO_STDOUT: fprintf(f, "%s no-stdout ", e->label); break;
    case EXP_STDERR: fprintf(f, "%s stderr ", e->label); break;
    case EXP_SERIAL: fprintf(f, "%s serial %lld\n", e->label, (long long)e->num); return;
    case EXP_BALANCE: fprintf(f, "balance %s %lld\n", user, (long long)e->num); return;
    case EXP_ABSENT: fprintf(f, "balance %s absent\n", user); return;
    case EXP_TXLIST_LINE: fputs("alichain.txt line ", f); break;
    case EXP_TXLIST_LINES: fprintf(f, "alichain.txt lines %lld\n", (long long)e->num); return;
    case EXP_TXLIST_ABSENT: fputs("alichain.txt absent\n", f); return;
    case EXP_LEDGER_COUNT: fprintf(f, "ledger count %lld\n", (long long)e->num); return;
    case EXP_LEDGER_HAS: fputs("ledger has ", f); break;
    case EXP_INVARIANTS: fputs("invariants\n", f); return;
    case EXP_FAULT:
        fprintf(f, "fault %s %s %lld\n", sim_fault_names[e->fault],
                e->cmp == CMP_GE ? ">=" : e->cmp == CMP_EQ ? "==" : "<=", (long long)e->num);
        return;
    default: fputs("invariants\n", f); return;
    }
    print_word(f, e->text ? e->text : "", e->text ? strlen(e->text) : 0, 1);
    fputc('\n', f);
}

int scenario_print(const scenario_t *s, FILE *f) {
    fprintf(f, "seed %llu\n", (unsigned long long)s->seed);
    if (s->timeout_ms != TIMEOUT_MS_DEFAULT) {
        fputs("timeout ", f);
        print_duration(f, (uint64_t)s->timeout_ms * 1000);
        fputc('\n', f);
    }
    if (s->client_timeout_ms != CLIENT_TIMEOUT_MS_DEFAULT) {
        fputs("client-timeout ", f);
        print_duration(f, (uint64_t)s->client_timeout_ms * 1000);
        fputc('\n', f);
    }
    if (s->liveness_us != 0) {
        fputs("liveness ", f);
        print_duration(f, s->liveness_us);
        fputc('\n', f);
    }
    for (int b = 0; b < BACKEND_COUNT; b++) {
        if (s->block[b] != NULL) print_block(f, b, s->block[b], s->block_len[b]);
    }
    print_faults(f, &s->faults);
    for (size_t i = 0; i < s->step_count; i++) print_step(f, &s->steps[i]);
    if (s->until_quiet) {
        fputs("run until quiet max ", f);
        print_duration(f, s->run_us);
        fputc('\n', f);
    } else {
        fputs("run ", f);
        print_duration(f, s->run_us);
        fputc('\n', f);
    }
    for (size_t i = 0; i < s->expect_count; i++) print_expect(f, &s->expects[i]);
    return ferror(f) ? AC_EINVAL : 0;
}

static void count_set(void *ctx, const sim_set_t *s) {
    (void)s;
    (*(uint32_t *)ctx)++;
}

/* The lines print_block writes for a block image: one for each piece between newlines. */
static uint32_t block_lines(const char *data, size_t len) {
    uint32_t n = 0;
    for (size_t pos = 0; pos < len; n++) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        pos = nl == NULL ? len : (size_t)(nl - data) + 1;
    }
    return n;
}

/* The lines scenario_print writes before the steps (seed, timeout, blocks, settings),
 * counted the way it writes them, without formatting any. */
static uint32_t header_lines(const scenario_t *s) {
    uint32_t n = 1; /* seed */
    n += s->timeout_ms != TIMEOUT_MS_DEFAULT;
    n += s->client_timeout_ms != CLIENT_TIMEOUT_MS_DEFAULT;
    n += s->liveness_us != 0;
    for (int b = 0; b < BACKEND_COUNT; b++) {
        if (s->block[b] != NULL) n += block_lines(s->block[b], s->block_len[b]);
    }
    faults_sets(&s->faults, count_set, &n);
    return n;
}

/* Every step prints as one line beginning "at " or "on " (print_step: names, words and
 * event texts are quoted or escaped, never a raw newline), in the order of s->steps, right
 * after the header; so step k is on line header + 1 + k of scenario_print's text. */
int scenario_number_lines(scenario_t *s) {
    uint32_t line = header_lines(s) + 1;
    for (size_t k = 0; k < s->step_count; k++) s->steps[k].line = line++;
    return 0;
}

void sim_group_commit_format(const sim_group_commit_t *g, char *buf, size_t cap) {
    snprintf(buf, cap, "batches ahead=%llu, transfers caught up=%llu, discarded=%llu",
             (unsigned long long)g->ahead, (unsigned long long)g->caught_up,
             (unsigned long long)g->discarded);
}

void sim_group_commit_add(sim_group_commit_t *sum, const sim_group_commit_t *add) {
    sum->ahead += add->ahead;
    sum->caught_up += add->caught_up;
    sum->discarded += add->discarded;
}

void sim_faults_format(const uint64_t *faults, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 1; k < FAULT_COUNT && len < cap; k++) {
        if (faults[k] == 0) continue;
        len += (size_t)snprintf(buf + len, cap - len, "%s%s=%llu", len ? " " : "",
                                sim_fault_names[k], (unsigned long long)faults[k]);
    }
    if (len == 0) snprintf(buf, cap, "none");
}
