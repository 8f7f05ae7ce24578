/* trace.c — what a run did, three ways: a 64-bit hash of every trace record (always on:
 * "trace-hash:" proves two runs identical), a text trace (--trace, one event a line), and
 * a Chrome trace-event JSON file (--trace-json) with one track per node and per client and
 * every message drawn as a flow arrow, which Perfetto and chrome://tracing open.
 * The hash covers time, track, kind and payload bytes, never an address. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "world.h"

#define TRACE_DETAIL_BYTES 1024
#define HASH_SEED 0x9E3779B97F4A7C15ull
#define HASH_MUL 0xBF58476D1CE4E5B9ull

static uint64_t hash_word(uint64_t h, uint64_t v) {
    h ^= v + HASH_SEED + (h << 6) + (h >> 2);
    h *= HASH_MUL;
    return h ^ (h >> 31);
}

static void trace_hash_bytes(world_t *w, const void *data, size_t len) {
    const uint8_t *p = data;
    uint64_t h = w->trace.hash;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) h = hash_word(h, sim_load_le(p + i, 8)); /* a little-endian word */
    h = hash_word(h, sim_load_le(p + i, len - i) ^ ((uint64_t)len << 56));
    w->trace.hash = h;
}

static const char *trace_track_name(const world_t *w, int track, char *buf, size_t cap) {
    static const char *const names[SIM_SERVERS] = {"serverM", "serverA", "serverB", "serverC"};
    if (track >= 0 && track < SIM_SERVERS) return names[track];
    uint32_t op = (uint32_t)(track - TRACE_TRACK_OP0);
    if (track >= TRACE_TRACK_OP0 && op < w->op_count) {
        snprintf(buf, cap, "%s", w->ops[op].step->label);
        return buf;
    }
    return "sim";
}

static void json_string(FILE *f, const char *s, size_t len) {
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static int json_tid(int track) { return track + 1; }

/* Slices on one track may not overlap: events of the same microsecond are laid end to
 * end, 1 us each (only the picture shifts; the text trace keeps exact times). */
static uint64_t json_slice_ts(world_t *w, int track) {
    sim_trace_t *t = &w->trace;
    size_t idx = (size_t)track;
    if (idx >= t->json_ends_cap) {
        size_t cap = t->json_ends_cap ? t->json_ends_cap : 64;
        while (cap <= idx) cap *= 2;
        uint64_t *n = realloc(t->json_ends, cap * sizeof(*n));
        if (n == NULL) return w->now_us;
        memset(n + t->json_ends_cap, 0, (cap - t->json_ends_cap) * sizeof(*n));
        t->json_ends = n;
        t->json_ends_cap = cap;
    }
    uint64_t ts = w->now_us > t->json_ends[idx] ? w->now_us : t->json_ends[idx];
    t->json_ends[idx] = ts + 1;
    return ts;
}

static void json_meta(world_t *w, int track) {
    char buf[64];
    const char *name = trace_track_name(w, track, buf, sizeof(buf));
    fprintf(w->trace.json, ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":%d,\"args\":{\"name\":",
            json_tid(track));
    json_string(w->trace.json, name, strlen(name));
    fprintf(w->trace.json, "}},\n{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":1,\"tid\":%d,"
            "\"args\":{\"sort_index\":%d}}", json_tid(track), track);
}

void trace_open(world_t *w) {
    w->trace.hash = HASH_SEED;
    const sim_options_t *o = w->opts;
    if (o->trace_path != NULL) {
        w->trace.text = fopen(o->trace_path, "w");
        if (w->trace.text == NULL) fprintf(stderr, "alichain-sim: cannot write %s\n", o->trace_path);
    }
    if (o->trace_json_path != NULL) {
        w->trace.json = fopen(o->trace_json_path, "w");
        if (w->trace.json == NULL) {
            fprintf(stderr, "alichain-sim: cannot write %s\n", o->trace_json_path);
            return;
        }
        fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n"
              "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"args\":{\"name\":\"alichain-sim\"}}",
              w->trace.json);
        for (int t = 0; t < SIM_SERVERS; t++) json_meta(w, t);
    }
}

void trace_close(world_t *w) {
    if (w->trace.text != NULL) {
        fprintf(w->trace.text, "# trace-hash: %016llx\n", (unsigned long long)w->trace.hash);
        fclose(w->trace.text);
    }
    if (w->trace.json != NULL) {
        for (uint32_t i = 0; i < w->op_count; i++) json_meta(w, TRACE_TRACK_OP0 + (int)i);
        fputs("\n]}\n", w->trace.json);
        fclose(w->trace.json);
    }
    w->trace.text = w->trace.json = NULL;
    free(w->trace.json_ends);
    w->trace.json_ends = NULL;
    w->trace.json_ends_cap = 0;
}

void trace_event(world_t *w, int track, const char *what, const void *data, size_t len,
                 const char *fmt, ...) {
    uint64_t h = hash_word(w->trace.hash, w->now_us);
    h = hash_word(h, (uint64_t)(int64_t)track);
    w->trace.hash = h;
    trace_hash_bytes(w, what, strlen(what));
    trace_hash_bytes(w, data, len);
    if (w->trace.text == NULL && w->trace.json == NULL) return;
    char detail[TRACE_DETAIL_BYTES];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    size_t dlen = n < 0 ? 0 : (size_t)n < sizeof(detail) ? (size_t)n : sizeof(detail) - 1;
    char name[64];
    const char *tn = trace_track_name(w, track, name, sizeof(name));
    if (w->trace.text != NULL) {
        fprintf(w->trace.text, "%llu.%06llu %-8s %-10s ", (unsigned long long)(w->now_us / 1000000),
                (unsigned long long)(w->now_us % 1000000), tn, what);
        for (size_t i = 0; i < dlen; i++) { /* one event, one line: escape what would break it */
            unsigned char c = (unsigned char)detail[i];
            if (c == '\n') fputs("\\n", w->trace.text);
            else if (c < 0x20 || c >= 0x7f) fprintf(w->trace.text, "\\x%02x", c);
            else fputc(c, w->trace.text);
        }
        fputc('\n', w->trace.text);
    }
    if (w->trace.json != NULL) {
        uint64_t ts = json_slice_ts(w, track);
        fprintf(w->trace.json, ",\n{\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%llu,\"dur\":1,\"name\":",
                json_tid(track), (unsigned long long)ts);
        json_string(w->trace.json, what, strlen(what));
        fputs(",\"args\":{\"detail\":", w->trace.json);
        json_string(w->trace.json, detail, dlen);
        fprintf(w->trace.json, ",\"t_us\":%llu}}", (unsigned long long)w->now_us);
    }
}

static void trace_flow(world_t *w, int track, uint64_t id, const char *name, int start) {
    if (w->trace.json == NULL) return;
    uint64_t ts = json_slice_ts(w, track);
    fprintf(w->trace.json, ",\n{\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%llu,\"dur\":1,\"name\":\"%s %s\"}",
            json_tid(track), (unsigned long long)ts, start ? "send" : "recv", name);
    fprintf(w->trace.json, ",\n{\"ph\":\"%s\",%s\"id\":%llu,\"cat\":\"msg\",\"name\":\"%s\",\"pid\":1,"
            "\"tid\":%d,\"ts\":%llu}", start ? "s" : "f", start ? "" : "\"bp\":\"e\",",
            (unsigned long long)id, name, json_tid(track), (unsigned long long)ts);
}

void trace_flow_send(world_t *w, int track, uint64_t id, const char *name) {
    trace_flow(w, track, id, name, 1);
}

void trace_flow_recv(world_t *w, int track, uint64_t id, const char *name) {
    trace_flow(w, track, id, name, 0);
}
