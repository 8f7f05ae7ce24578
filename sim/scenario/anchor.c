/* anchor.c — steps anchored to protocol events (anchor.h). */
#include "anchor.h"

#include <stdio.h>
#include <string.h>

#include "wire.h"

static const char *const type_names[] = {[WIRE_QUERY] = "QUERY", [WIRE_WRITE] = "WRITE", [WIRE_LIST] = "LIST",
                                         [WIRE_STATS] = "STATS"};
#define TYPE_LAST WIRE_STATS
#define LINK_TEXT_BYTES 16

static int fail(char *err, size_t cap, const char *msg, const char *word) {
    snprintf(err, cap, "%s%s%s%s", msg, word ? " \"" : "", word ? word : "", word ? "\"" : "");
    return AC_EINVAL;
}

/* "first", or N followed by st, nd, rd or th (N >= 1). */
static int ordinal_parse(const char *w, uint32_t *nth) {
    if (strcmp(w, "first") == 0) {
        *nth = 1;
        return 0;
    }
    uint64_t v = 0;
    const char *p = w;
    if (*p < '1' || *p > '9') return -1;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p++ - '0');
        if (v > UINT32_MAX) return -1;
    }
    if (strcmp(p, "st") != 0 && strcmp(p, "nd") != 0 && strcmp(p, "rd") != 0 && strcmp(p, "th") != 0) return -1;
    *nth = (uint32_t)v;
    return 0;
}

static int backend_parse(const char *s, size_t len) {
    if (len != 1) return -1;
    if (s[0] == '*') return SIM_NODE_ALL;
    if (s[0] >= 'A' && s[0] <= 'C') return SIM_NODE_A + (s[0] - 'A');
    return -1;
}

int scn_event_parse(const char *const *words, int n, scn_event_t *ev, char *err, size_t cap) {
    memset(ev, 0, sizeof(*ev));
    ev->nth = 1;
    int i = 0;
    if (i < n && ordinal_parse(words[i], &ev->nth) == 0) i++;
    else if (i < n && words[i][0] >= '0' && words[i][0] <= '9')
        return fail(err, cap, "expected an ordinal (first, 2nd, 3rd, 4th, ...), got", words[i]);
    if (i >= n) return fail(err, cap, "on [first|2nd|...] QUERY|WRITE|LIST|STATS LINK: STEP", NULL);
    for (int t = WIRE_QUERY; t <= TYPE_LAST; t++) {
        if (strcmp(words[i], type_names[t]) == 0) ev->type = (uint8_t)t;
    }
    if (ev->type == 0) return fail(err, cap, "expected QUERY, WRITE, LIST or STATS, got", words[i]);
    i++;
    int reply = 0, ack = 0;
    if (i < n && strcmp(words[i], "reply") == 0) {
        reply = 1;
        i++;
    }
    if (n > i && strcmp(words[n - 1], "ack") == 0) {
        ack = 1;
        n--;
    }
    char link[LINK_TEXT_BYTES];
    size_t len = 0;
    for (; i < n; i++) { /* the link, possibly split over words: "M", "->", "B" */
        size_t w = strlen(words[i]);
        if (len + w >= sizeof(link)) return fail(err, cap, "expected a link M->X or X->M, got", words[i]);
        memcpy(link + len, words[i], w);
        len += w;
    }
    link[len] = '\0';
    const char *arrow = strstr(link, "->");
    if (arrow == NULL) return fail(err, cap, "expected a link M->X or X->M (X: A, B, C or *), got", link);
    const char *left = link, *right = arrow + 2;
    size_t left_len = (size_t)(arrow - link), right_len = strlen(right);
    int down = left_len == 1 && left[0] == 'M';
    int up = right_len == 1 && right[0] == 'M';
    int b = down ? backend_parse(right, right_len) : up ? backend_parse(left, left_len) : -1;
    if (b < 0) return fail(err, cap, "expected a link M->X or X->M (X: A, B, C or *), got", link);
    if (ack && !down) return fail(err, cap, "\"ack\" follows a request's link M->X, not", link);
    if (reply && down) return fail(err, cap, "a reply goes from a backend to M, not", link);
    ev->backend = (uint8_t)b;
    if (up || ack) ev->type |= WIRE_REPLY;
    return 0;
}

void scn_event_format(const scn_event_t *ev, char *buf, size_t cap) {
    int t = ev->type & ~WIRE_REPLY;
    const char *name = t >= WIRE_QUERY && t <= TYPE_LAST ? type_names[t] : "?";
    char b = ev->backend == SIM_NODE_ALL ? '*' : (char)('A' + ev->backend - SIM_NODE_A);
    int reply = (ev->type & WIRE_REPLY) != 0;
    char ord[16];
    uint32_t n = ev->nth;
    const char *suffix = (n % 100 >= 11 && n % 100 <= 13) ? "th"
                         : n % 10 == 1                   ? "st"
                         : n % 10 == 2                   ? "nd"
                         : n % 10 == 3                   ? "rd"
                                                         : "th";
    if (n == 1) snprintf(ord, sizeof(ord), "first");
    else snprintf(ord, sizeof(ord), "%u%s", (unsigned)n, suffix);
    if (reply) snprintf(buf, cap, "%s %s %c->M", ord, name, b);
    else snprintf(buf, cap, "%s %s M->%c", ord, name, b);
}

int scn_event_matches(const scn_event_t *ev, int src, int dst, const uint8_t *data, size_t len) {
    if (ev->type == 0 || wire_type_of(data, len) != ev->type) return 0;
    int reply = (ev->type & WIRE_REPLY) != 0;
    int m = reply ? dst : src, b = reply ? src : dst;
    if (m != SIM_NODE_M || b < SIM_NODE_A || b > SIM_NODE_C) return 0;
    return ev->backend == SIM_NODE_ALL || ev->backend == b;
}

int scn_fired_init(scn_fired_t *f, const scenario_t *s) {
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < s->step_count; i++) {
        if (s->steps[i].on.type == 0) continue;
        if (f->count == SCN_ANCHORS_MAX) return AC_ERANGE;
        f->step[f->count] = (uint32_t)i;
        f->at_us[f->count++] = UINT64_MAX;
    }
    return 0;
}

int scn_anchor_applies_at_once(const scn_step_t *st) {
    return st->on.after_us == 0 && (st->kind == STEP_SET || st->kind == STEP_PARTITION || st->kind == STEP_HEAL);
}

void scn_step_when(const scn_step_t *st, char *buf, size_t cap) {
    if (st->on.type == 0) {
        snprintf(buf, cap, "at %.3fs", (double)st->at_us / 1e6);
        return;
    }
    char ev[SCN_EVENT_TEXT_BYTES];
    scn_event_format(&st->on, ev, sizeof(ev));
    if (st->on.after_us == 0) snprintf(buf, cap, "on %s", ev);
    else snprintf(buf, cap, "on %s +%.3fms", ev, (double)st->on.after_us / 1e3);
}

void scn_fired_report(const scn_fired_t *f, const scenario_t *s, FILE *out) {
    if (f->count == 0) return;
    uint32_t never = 0;
    fputs("anchors:", out);
    for (uint32_t k = 0; k < f->count; k++) {
        const scn_step_t *st = &s->steps[f->step[k]];
        char ev[SCN_EVENT_TEXT_BYTES];
        scn_event_format(&st->on, ev, sizeof(ev));
        fprintf(out, "%s line %u (on %s) ", k ? ";" : "", st->line, ev);
        if (f->at_us[k] == UINT64_MAX) {
            fputs("NEVER FIRED", out);
            never++;
        } else {
            fprintf(out, "fired at %.6fs", (double)f->at_us[k] / 1e6);
        }
    }
    fprintf(out, " (%u of %u fired%s)\n", f->count - never, f->count,
            never ? ": a step whose event never came did nothing" : "");
}
