/* jsonl.c — writes and strictly reads the swarm's JSON lines (jsonl.h). The reader is a
 * small bounded JSON parser for exactly what the writer produces (objects, strings, whole
 * numbers, null; objects nested one level): any other input is refused with a reason, never
 * a crash, since report reads files that crossed machines and may be cut or corrupted.
 * Decoded strings are printable ASCII: any other byte reads back as '?'. */
#include "jsonl.h"

#include <stdarg.h>
#include <string.h>

const char *const jsonl_verdict_names[JSONL_VERDICT_COUNT] = {"pass", "fail", "ignored", "inconclusive"};

/* ------------------------------------------------------------------ writing */

/* A JSON string: quote, backslash and control bytes escaped; bytes >= 0x80 as \u00XX
 * (the simulator writes ASCII; this keeps any stray byte valid JSON). */
static void put_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p < 0x20 || *p >= 0x7f) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* The bytes put_str writes for s, quotes included. */
static size_t str_escaped_len(const char *s) {
    size_t n = 2;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\' || *p == '\n' || *p == '\t') n += 2;
        else if (*p < 0x20 || *p >= 0x7f) n += 6;
        else n++;
    }
    return n;
}

static void put_str_or_null(FILE *f, const char *s) {
    if (s[0] == '\0') fputs("null", f);
    else put_str(f, s);
}

static void put_u64(FILE *f, const char *key, uint64_t v) {
    fprintf(f, ",\"%s\":%llu", key, (unsigned long long)v);
}

int jsonl_write(FILE *f, const jsonl_record_t *r) {
    fprintf(f, "{\"format\":\"%s\",\"v\":%d,\"type\":\"%s\",\"commit\":", JSONL_FORMAT, JSONL_VERSION,
            r->kind == JSONL_RUN ? "run" : "seed");
    put_str(f, r->commit);
    if (r->kind == JSONL_RUN) {
        put_u64(f, "first", r->first);
        put_u64(f, "seeds", r->seeds);
        if (r->has_block) {
            put_u64(f, "block", r->block);
            put_u64(f, "block_seeds", r->block_seeds);
        } else {
            fputs(",\"block\":null,\"block_seeds\":null", f);
        }
        fputs(",\"mutant\":", f);
        put_str_or_null(f, r->mutant);
        if (r->compare) fputs(",\"mode\":\"compare\"", f); /* swarm lines stay as they were */
        if (r->host[0]) {
            fputs(",\"host\":", f);
            put_str(f, r->host);
        }
        if (r->attempt[0]) {
            fputs(",\"attempt\":", f);
            put_str(f, r->attempt);
        }
    } else {
        put_u64(f, "seed", r->seed);
        fprintf(f, ",\"verdict\":\"%s\"", jsonl_verdict_names[r->verdict]);
        put_u64(f, "events", r->events);
        put_u64(f, "virtual_us", r->virtual_us);
        put_u64(f, "wall_us", r->wall_us);
        fputs(",\"faults\":{", f);
        for (int k = 0; k < FAULT_COUNT; k++)
            fprintf(f, "%s\"%s\":%llu", k ? "," : "", sim_fault_names[k], (unsigned long long)r->faults[k]);
        fputs("},\"violation\":", f);
        if (r->has_violation) {
            fputs("{\"checker\":", f);
            put_str(f, r->checker);
            put_u64(f, "at_us", r->at_us);
            fputs(",\"message\":", f);
            put_str(f, r->message);
            fputc('}', f);
        } else {
            fputs("null", f);
        }
        fputs(",\"reproducer\":", f);
        put_str_or_null(f, r->reproducer);
        fputs(",\"reproduce\":", f);
        put_str_or_null(f, r->reproduce);
        if (r->scenario[0] && str_escaped_len(r->scenario) <= JSONL_SCENARIO_LINE_BYTES) {
            fputs(",\"scenario\":", f);
            put_str(f, r->scenario);
        }
        if (r->has_compare) {
            fputs(",\"compare\":{\"ops\":", f);
            fprintf(f, "%llu", (unsigned long long)r->cmp_ops);
            put_u64(f, "output_compared", r->cmp_output_compared);
            put_u64(f, "differences", r->cmp_differences);
            put_u64(f, "ledger_compared", r->cmp_ledger_compared);
            fputs(",\"first_difference\":", f);
            put_str_or_null(f, r->cmp_first_difference);
            fputs(",\"why\":", f);
            put_str_or_null(f, r->cmp_why);
            put_u64(f, "model_checked", r->cmp_model_checked);   /* added: absent reads 0 */
            put_u64(f, "model_rejected", r->cmp_model_rejected);
            fputc('}', f);
        }
    }
    fputs("}\n", f);
    return ferror(f) ? -1 : 0;
}

int jsonl_scenario_load(jsonl_record_t *r, const char *path) {
    r->scenario[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (f == NULL) return -1;
    size_t n = fread(r->scenario, 1, sizeof(r->scenario), f);
    int bad = ferror(f) || n == sizeof(r->scenario) || memchr(r->scenario, '\0', n) != NULL;
    fclose(f);
    if (bad) {
        r->scenario[0] = '\0';
        return -1;
    }
    r->scenario[n] = '\0';
    return 0;
}

/* ------------------------------------------------------------------ parsing */

typedef enum { JV_NULL = 0, JV_NUM, JV_STR, JV_OBJ } jv_type_t;

typedef struct {
    char key[JSONL_KEY_BYTES];   /* "name", or "parent.name" inside a nested object */
    jv_type_t type;
    uint64_t num;
    const char *str;             /* into parser_t.strings, NUL-terminated */
} jv_field_t;

typedef struct {
    const char *p, *end;
    jv_field_t fields[JSONL_FIELDS_MAX];
    size_t count;
    char strings[JSONL_LINE_BYTES_MAX + 1];   /* decoded strings: never longer than the line */
    size_t used;
    char *err;
    size_t cap;
} parser_t;

static int perr(parser_t *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(parser_t *ps, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err, ps->cap, fmt, ap);
    va_end(ap);
    return -1;
}

static void skip_ws(parser_t *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r')) ps->p++;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A string at ps->p (the opening quote), decoded into ps->strings; *out points at it. */
static int parse_string(parser_t *ps, const char **out) {
    if (ps->p >= ps->end || *ps->p != '"') return perr(ps, "expected a string");
    ps->p++;
    char *dst = ps->strings + ps->used;
    size_t n = 0;
    for (;;) {
        if (ps->p >= ps->end) return perr(ps, "unterminated string");
        unsigned char c = (unsigned char)*ps->p++;
        if (c == '"') break;
        if (c < 0x20) return perr(ps, "control byte 0x%02x in a string", c);
        if (c == '\\') {
            if (ps->p >= ps->end) return perr(ps, "unterminated escape");
            char e = *ps->p++;
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
            const char *hit = strchr(from, e);
            if (e != '\0' && hit != NULL) {
                c = (unsigned char)to[hit - from];
            } else if (e == 'u') {
                unsigned v = 0;
                for (int k = 0; k < 4; k++) {
                    int h = ps->p < ps->end ? hex_digit(*ps->p) : -1;
                    if (h < 0) return perr(ps, "bad \\u escape");
                    v = v * 16 + (unsigned)h;
                    ps->p++;
                }
                if (v == 0) return perr(ps, "\\u0000 in a string");
                c = v <= 0xff ? (unsigned char)v : '?';   /* the writer never escapes above 0xff */
            } else {
                return perr(ps, "bad escape \\%c", e >= 0x20 && e < 0x7f ? e : '?');
            }
        }
        /* report prints them: ASCII only; newline and tab stay for a carried scenario's text
         * (get_string with lines), get_str turns them to '?' too */
        dst[n++] = (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t' ? (char)c : '?';
    }
    dst[n] = '\0';
    ps->used += n + 1;
    *out = dst;
    return 0;
}

/* A whole number without sign, fraction, exponent or leading zero, in uint64_t. */
static int parse_number(parser_t *ps, uint64_t *out) {
    const char *start = ps->p;
    uint64_t v = 0;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        unsigned d = (unsigned)(*ps->p - '0');
        if (v > (UINT64_MAX - d) / 10) return perr(ps, "number too large");
        v = v * 10 + d;
        ps->p++;
    }
    if (ps->p == start) return perr(ps, "expected a value");
    if (*start == '0' && ps->p - start > 1) return perr(ps, "number with a leading zero");
    if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E'))
        return perr(ps, "not a whole number");
    *out = v;
    return 0;
}

static int parse_object(parser_t *ps, const char *prefix, int depth);

static int add_field(parser_t *ps, const char *prefix, const char *name, jv_field_t **out) {
    if (ps->count == JSONL_FIELDS_MAX) return perr(ps, "more than %d fields", JSONL_FIELDS_MAX);
    char key[JSONL_KEY_BYTES];
    int len = snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "", name);
    if (len < 0 || (size_t)len >= sizeof(key)) return perr(ps, "field name too long");
    for (size_t i = 0; i < ps->count; i++)
        if (strcmp(ps->fields[i].key, key) == 0) return perr(ps, "field \"%.40s\" twice", key);
    jv_field_t *f = &ps->fields[ps->count++];
    memset(f, 0, sizeof(*f));
    memcpy(f->key, key, (size_t)len + 1);
    *out = f;
    return 0;
}

static int parse_value(parser_t *ps, jv_field_t *f, int depth) {
    skip_ws(ps);
    if (ps->p >= ps->end) return perr(ps, "expected a value");
    char c = *ps->p;
    if (c == '"') {
        f->type = JV_STR;
        return parse_string(ps, &f->str);
    }
    if (c == '{') {
        f->type = JV_OBJ;
        char prefix[JSONL_KEY_BYTES];
        snprintf(prefix, sizeof(prefix), "%s", f->key);
        return parse_object(ps, prefix, depth + 1);
    }
    if ((size_t)(ps->end - ps->p) >= 4 && memcmp(ps->p, "null", 4) == 0) {
        ps->p += 4;
        f->type = JV_NULL;
        return 0;
    }
    if (c >= '0' && c <= '9') {
        f->type = JV_NUM;
        return parse_number(ps, &f->num);
    }
    return perr(ps, "unexpected '%c' (only strings, whole numbers, null and objects)",
                c >= 0x20 && c < 0x7f ? c : '?');
}

static int parse_object(parser_t *ps, const char *prefix, int depth) {
    if (depth > JSONL_DEPTH_MAX) return perr(ps, "objects nested deeper than %d", JSONL_DEPTH_MAX);
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != '{') return perr(ps, "not a JSON object");
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        skip_ws(ps);
        const char *name = "";
        jv_field_t *f = NULL;
        if (parse_string(ps, &name) != 0 || add_field(ps, prefix, name, &f) != 0) return -1;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') return perr(ps, "expected ':' after \"%.40s\"", name);
        ps->p++;
        if (parse_value(ps, f, depth) != 0) return -1;
        skip_ws(ps);
        if (ps->p >= ps->end) return perr(ps, "unterminated object");
        if (*ps->p == '}') {
            ps->p++;
            return 0;
        }
        if (*ps->p != ',') return perr(ps, "expected ',' or '}'");
        ps->p++;
    }
}

static const jv_field_t *field_get(const parser_t *ps, const char *key) {
    for (size_t i = 0; i < ps->count; i++)
        if (strcmp(ps->fields[i].key, key) == 0) return &ps->fields[i];
    return NULL;
}

static const char *const type_names[] = {"null", "a number", "a string", "an object"};

/* The field of that key and type (or null when nullable); NULL with err set otherwise. */
static const jv_field_t *need(parser_t *ps, const char *key, jv_type_t type, int nullable) {
    const jv_field_t *f = field_get(ps, key);
    if (f == NULL) {
        perr(ps, "no field \"%s\"", key);
        return NULL;
    }
    if (f->type != type && !(nullable && f->type == JV_NULL)) {
        perr(ps, "field \"%s\" is %s, not %s", key, type_names[f->type], type_names[type]);
        return NULL;
    }
    return f;
}

static int get_num(parser_t *ps, const char *key, uint64_t *out) {
    const jv_field_t *f = need(ps, key, JV_NUM, 0);
    if (f == NULL) return -1;
    *out = f->num;
    return 0;
}

/* A number field added later: absent reads 0, anything but a number is an error. */
static int get_num_added(parser_t *ps, const char *key, uint64_t *out) {
    const jv_field_t *f = field_get(ps, key);
    if (f != NULL && f->type != JV_NUM) return perr(ps, "field \"%s\" is not a number", key);
    *out = f != NULL ? f->num : 0;
    return 0;
}

/* A string field into dst ("" for null when nullable), newlines and tabs kept when lines;
 * too long for dst is an error. */
static int get_string(parser_t *ps, const char *key, int nullable, int lines, char *dst, size_t cap) {
    const jv_field_t *f = need(ps, key, JV_STR, nullable);
    if (f == NULL) return -1;
    if (f->type == JV_NULL) {
        dst[0] = '\0';
        return 0;
    }
    size_t n = strlen(f->str);
    if (n >= cap) return perr(ps, "field \"%s\" longer than %zu bytes", key, cap - 1);
    for (size_t i = 0; i <= n; i++) dst[i] = !lines && (f->str[i] == '\n' || f->str[i] == '\t') ? '?' : f->str[i];
    return 0;
}

/* A one-line string field (every field but a carried scenario). */
static int get_str(parser_t *ps, const char *key, int nullable, char *dst, size_t cap) {
    return get_string(ps, key, nullable, 0, dst, cap);
}

/* An optional string field: absent leaves dst "". */
static int get_optional(parser_t *ps, const char *key, int lines, char *dst, size_t cap) {
    dst[0] = '\0';
    return field_get(ps, key) != NULL ? get_string(ps, key, 0, lines, dst, cap) : 0;
}

static int record_run(parser_t *ps, jsonl_record_t *r) {
    if (get_num(ps, "first", &r->first) || get_num(ps, "seeds", &r->seeds)) return -1;
    if (r->seeds == 0 || r->seeds - 1 > UINT64_MAX - r->first)
        return perr(ps, "\"first\" and \"seeds\" are no range of seeds");
    const jv_field_t *b = need(ps, "block", JV_NUM, 1), *bs = need(ps, "block_seeds", JV_NUM, 1);
    if (b == NULL || bs == NULL) return -1;
    if ((b->type == JV_NULL) != (bs->type == JV_NULL))
        return perr(ps, "\"block\" and \"block_seeds\" must both be null or both numbers");
    r->has_block = b->type == JV_NUM;
    r->block = b->num;
    r->block_seeds = bs->num;
    const jv_field_t *mode = field_get(ps, "mode");   /* absent: a swarm run */
    if (mode != NULL) {
        char name[16];
        if (get_str(ps, "mode", 0, name, sizeof(name))) return -1;
        if (strcmp(name, "compare") != 0) return perr(ps, "unknown mode \"%.15s\"", name);
        r->compare = 1;
    }
    if (get_optional(ps, "host", 0, r->host, sizeof(r->host)) ||
        get_optional(ps, "attempt", 0, r->attempt, sizeof(r->attempt)))
        return -1;
    return get_str(ps, "mutant", 1, r->mutant, sizeof(r->mutant));
}

static int record_seed(parser_t *ps, jsonl_record_t *r) {
    char verdict[16];
    if (get_num(ps, "seed", &r->seed) || get_str(ps, "verdict", 0, verdict, sizeof(verdict)) ||
        get_num(ps, "events", &r->events) || get_num(ps, "virtual_us", &r->virtual_us) ||
        get_num(ps, "wall_us", &r->wall_us))
        return -1;
    int v = 0;
    while (v < JSONL_VERDICT_COUNT && strcmp(jsonl_verdict_names[v], verdict) != 0) v++;
    if (v == JSONL_VERDICT_COUNT) return perr(ps, "unknown verdict \"%.20s\"", verdict);
    r->verdict = (jsonl_verdict_t)v;
    if (need(ps, "faults", JV_OBJ, 0) == NULL) return -1;
    for (int k = 0; k < FAULT_COUNT; k++) {
        char key[JSONL_KEY_BYTES];
        snprintf(key, sizeof(key), "faults.%s", sim_fault_names[k]);
        if (get_num_added(ps, key, &r->faults[k])) return -1; /* a counter added later */
    }
    const jv_field_t *viol = need(ps, "violation", JV_OBJ, 1);
    if (viol == NULL) return -1;
    r->has_violation = viol->type == JV_OBJ;
    if (r->has_violation &&
        (get_str(ps, "violation.checker", 0, r->checker, sizeof(r->checker)) ||
         get_num(ps, "violation.at_us", &r->at_us) ||
         get_str(ps, "violation.message", 0, r->message, sizeof(r->message))))
        return -1;
    if (r->verdict == JSONL_FAIL && !r->has_violation)
        return perr(ps, "a failed seed without a violation");
    if (field_get(ps, "compare") != NULL) {
        r->has_compare = 1;
        if (need(ps, "compare", JV_OBJ, 0) == NULL || get_num(ps, "compare.ops", &r->cmp_ops) ||
            get_num(ps, "compare.output_compared", &r->cmp_output_compared) ||
            get_num(ps, "compare.differences", &r->cmp_differences) ||
            get_num(ps, "compare.ledger_compared", &r->cmp_ledger_compared) ||
            get_num_added(ps, "compare.model_checked", &r->cmp_model_checked) ||
            get_num_added(ps, "compare.model_rejected", &r->cmp_model_rejected) ||
            get_str(ps, "compare.first_difference", 1, r->cmp_first_difference, sizeof(r->cmp_first_difference)) ||
            get_str(ps, "compare.why", 1, r->cmp_why, sizeof(r->cmp_why)))
            return -1;
    } else if (r->verdict == JSONL_INCONCLUSIVE) {
        return perr(ps, "an inconclusive seed that is no compare");
    }
    return get_str(ps, "reproducer", 1, r->reproducer, sizeof(r->reproducer)) ||
                   get_str(ps, "reproduce", 1, r->reproduce, sizeof(r->reproduce)) ||
                   get_optional(ps, "scenario", 1, r->scenario, sizeof(r->scenario))
               ? -1
               : 0;
}

int jsonl_parse(const char *line, size_t len, jsonl_record_t *r, char *err, size_t cap) {
    static parser_t ps;   /* large; report reads one line at a time */
    memset(r, 0, sizeof(*r));
    if (len > JSONL_LINE_BYTES_MAX) {
        snprintf(err, cap, "line longer than %d bytes", JSONL_LINE_BYTES_MAX);
        return -1;
    }
    ps.p = line;
    ps.end = line + len;
    ps.count = 0;
    ps.used = 0;
    ps.err = err;
    ps.cap = cap;
    if (parse_object(&ps, "", 1) != 0) return -1;
    skip_ws(&ps);
    if (ps.p != ps.end) return perr(&ps, "text after the object");
    char format[32], type[16];
    uint64_t v;
    if (get_str(&ps, "format", 0, format, sizeof(format)) || get_num(&ps, "v", &v)) return -1;
    if (strcmp(format, JSONL_FORMAT) != 0) return perr(&ps, "format \"%.31s\", not " JSONL_FORMAT, format);
    if (v != JSONL_VERSION)
        return perr(&ps, "version %llu; this alichain-sim reads version %d", (unsigned long long)v,
                    JSONL_VERSION);
    if (get_str(&ps, "type", 0, type, sizeof(type)) ||
        get_str(&ps, "commit", 0, r->commit, sizeof(r->commit)))
        return -1;
    if (strcmp(type, "run") == 0) r->kind = JSONL_RUN;
    else if (strcmp(type, "seed") == 0) r->kind = JSONL_SEED;
    else return perr(&ps, "unknown type \"%.15s\"", type);
    return r->kind == JSONL_RUN ? record_run(&ps, r) : record_seed(&ps, r);
}
