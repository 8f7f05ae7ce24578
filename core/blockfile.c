/* blockfile.c — the on-disk rules of a block file (see blockfile.h for the rule itself):
 * parsing a whole image into a ledger, telling a torn append from a hand-written last line
 * by the "<block>.appended" marker, and the ordered storage effects of recovery, appends
 * and a clean stop. Pure: the drivers carry the effects out. */
#include "blockfile.h"

#include <stdio.h> /* snprintf only: core never prints */
#include <string.h>

#include "mutant.h"

/* Room for the reason tx_parse_line gives; its reasons are short. */
#define LOAD_REASON_BYTES 64
#define BLOCKFILE_FNV_PRIME 0x100000001b3ULL

const char *blockfile_default_name(int b) {
    static const char *const names[BACKEND_COUNT] = {"block1.txt", "block2.txt", "block3.txt"};
    AC_ASSERT(b >= 0 && b < BACKEND_COUNT);
    return names[b];
}

uint64_t blockfile_hash(uint64_t h, const void *data, size_t len) {
    /* FNV-1a: one multiply a byte, about 1 s for 10^9 bytes; recovery parses the same bytes
     * at a far higher cost per byte, so this stays a small part of start-up. */
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= BLOCKFILE_FNV_PRIME;
    }
    return h;
}

size_t blockfile_marker_format(uint64_t size, uint64_t hash, char *buf, size_t cap) {
    AC_ASSERT(cap >= BLOCKFILE_MARKER_BYTES_MAX);
    int n = snprintf(buf, cap, "%s %llu %016llx\n", BLOCKFILE_MARKER_MAGIC,
                     (unsigned long long)size, (unsigned long long)hash);
    AC_ASSERT(n > 0);
    AC_ASSERT((size_t)n < cap);
    return (size_t)n;
}

/* Parses "<magic> <size> <hash>\n" strictly (the exact text blockfile_marker_format
 * writes). Returns 0 or AC_EINVAL. */
static int marker_parse(const char *m, size_t len, uint64_t *size, uint64_t *hash) {
    const size_t magic_len = sizeof(BLOCKFILE_MARKER_MAGIC) - 1;
    if (len < magic_len + 1 || memcmp(m, BLOCKFILE_MARKER_MAGIC " ", magic_len + 1) != 0)
        return AC_EINVAL;
    size_t i = magic_len + 1;
    uint64_t s = 0;
    size_t digits = 0;
    for (; i < len && m[i] >= '0' && m[i] <= '9'; i++, digits++) {
        uint64_t d = (uint64_t)(m[i] - '0');
        if (s > UINT64_MAX / 10 || (s == UINT64_MAX / 10 && d > UINT64_MAX % 10)) return AC_EINVAL;
        s = s * 10 + d;
    }
    if (digits == 0 || (digits > 1 && m[i - digits] == '0')) return AC_EINVAL;
    if (i + 1 + 16 + 1 != len || m[i] != ' ' || m[len - 1] != '\n') return AC_EINVAL;
    uint64_t h = 0;
    for (i++; i < len - 1; i++) {
        char c = m[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) return AC_EINVAL;
        h = h << 4 | (uint64_t)v;
    }
    *size = s;
    *hash = h;
    return 0;
}

static int line_blank(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    }
    return 1;
}

static int load_fail(char *err, size_t err_cap, const char *file_name, size_t line_no,
                     const char *reason, int rc) {
    if (err != NULL && err_cap > 0) snprintf(err, err_cap, "%s:%zu: %s", file_name, line_no, reason);
    return rc;
}

/* The line at *pos of data[0..len) (without its '\n'): its start and length; *pos moves
 * past it and its '\n'. Called only while *pos < len. */
static const char *line_next(const char *data, size_t len, size_t *pos, size_t *line_len) {
    const char *line = data + *pos;
    const char *nl = memchr(line, '\n', len - *pos);
    *line_len = nl != NULL ? (size_t)(nl - line) : len - *pos;
    *pos += *line_len + (nl != NULL);
    return line;
}

/* A capacity hint for the ledger: the lines of data[0..len) (blank ones included). */
static uint32_t lines_count(const char *data, size_t len) {
    uint64_t n = 0;
    for (const char *p = data, *end = data + len; p < end; n++) { /* one line a pass */
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl != NULL ? nl + 1 : end;
    }
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* The 1-based line number of the transaction loaded at position tx (0-based, blank lines
 * not counted): only on the error path, so a second pass is fine. */
static size_t line_of_tx(const char *data, size_t len, uint32_t tx) {
    size_t pos = 0, line_no = 0;
    uint32_t seen = 0;
    while (pos < len) { /* each pass consumes at least one byte */
        size_t line_len;
        const char *line = line_next(data, len, &pos, &line_len);
        line_no++;
        if (line_blank(line, line_len)) continue;
        if (seen++ == tx) return line_no;
    }
    AC_ASSERT(!"tx is a position the load reached");
    return line_no;
}

/* Parsed lines waiting for one ledger_load_add_batch, with their line numbers. */
typedef struct {
    tx_t txs[LEDGER_LOAD_BATCH];
    size_t line_no[LEDGER_LOAD_BATCH];
    uint32_t count;
} load_batch_t;

/* Adds the batch's lines to l. Returns 0, or an error with its line in *line_no and the
 * reason in reason. */
static int load_flush(ledger_t *l, load_batch_t *b, uint32_t *lines, size_t *line_no,
                      char *reason, size_t reason_cap) {
    uint32_t added = 0;
    int rc = ledger_load_add_batch(l, b->txs, b->count, &added);
    *lines += added;
    if (rc != AC_OK) {
        *line_no = b->line_no[added];
        snprintf(reason, reason_cap, "%s", rc == AC_ERANGE ? "totals overflow" : "out of memory");
    }
    b->count = 0;
    return rc;
}

/* Every line of data[0..len) into l: blank lines (spaces, tabs, CR only) skipped, a
 * trailing CR tolerated, the last line with or without its '\n'. Any other line that does
 * not parse, a duplicate serial, or an overflow is an error naming the line — the first
 * such line of the file: duplicates are found by the sort at the end of the load, so a
 * later error yields to a duplicate before it. *hash is continued over every byte read
 * (the marker's hash of data[0..len) on success). */
static int load_lines(ledger_t *l, const char *data, size_t len, const char *file_name,
                      uint32_t *lines, uint64_t *hash, char *err, size_t err_cap) {
    size_t pos = 0;
    size_t line_no = 0;
    int rc = AC_OK;
    char reason[LOAD_REASON_BYTES] = "";
    load_batch_t batch; /* ~5 kB: parsed lines wait here for one ledger_load_add_batch */
    batch.count = 0;
    ledger_load_begin(l, lines_count(data, len));
    /* Each pass consumes at least one byte (a line or its '\n'): at most len passes. */
    while (pos < len && rc == AC_OK) {
        line_no++;
        size_t line_len;
        size_t start = pos;
        const char *line = line_next(data, len, &pos, &line_len);
        /* the marker's hash, line by line: its multiply chain overlaps the parsing */
        *hash = blockfile_hash(*hash, data + start, pos - start);
        if (line_len > BLOCK_LINE_BYTES_MAX) {
            rc = AC_EINVAL;
            snprintf(reason, sizeof reason, "line too long");
        } else if (!line_blank(line, line_len)) {
            rc = tx_parse_line(line, line_len, &batch.txs[batch.count], reason, sizeof reason);
            if (rc == AC_OK) batch.line_no[batch.count++] = line_no;
        }
        /* the lines before an error go in too: a duplicate among them is reported first */
        if (batch.count == LEDGER_LOAD_BATCH || (rc != AC_OK && batch.count > 0)) {
            size_t at = line_no;
            char why[LOAD_REASON_BYTES];
            int frc = load_flush(l, &batch, lines, &at, why, sizeof why);
            if (frc != AC_OK) {
                rc = frc;
                line_no = at;
                memcpy(reason, why, sizeof reason);
            }
        }
    }
    if (rc == AC_OK && batch.count > 0) rc = load_flush(l, &batch, lines, &line_no, reason, sizeof reason);
    uint32_t dup_at = 0;
    int end = ledger_load_end(l, &dup_at);
    if (end == AC_EDUP) {
        snprintf(reason, sizeof reason, "duplicate serial %llu",
                 (unsigned long long)l->txs[dup_at].serial);
        return load_fail(err, err_cap, file_name, line_of_tx(data, len, dup_at), reason, end);
    }
    if (rc == AC_OK && end != AC_OK) {
        rc = end;
        snprintf(reason, sizeof reason, "out of memory");
    }
    if (rc != AC_OK) return load_fail(err, err_cap, file_name, line_no, reason, rc);
    return AC_OK;
}

/* Start of the unterminated last line of data[0..len), or len when the image ends in '\n'
 * (or is empty). */
static size_t open_tail_start(const char *data, size_t len) {
    if (len == 0 || data[len - 1] == '\n') return len;
    size_t start = len;
    while (start > 0 && data[start - 1] != '\n') start--;
    return start;
}

int blockfile_recover(ledger_t *l, const char *img, size_t len, const char *marker,
                      size_t marker_len, const char *file_name, blockfile_recovery_t *res,
                      char *err, size_t err_cap) {
    AC_ASSERT(l != NULL);
    AC_ASSERT(res != NULL);
    AC_ASSERT(img != NULL || len == 0);
    AC_ASSERT(l->tx_count == 0);
    if (file_name == NULL) file_name = "block";
    if (err != NULL && err_cap > 0) err[0] = '\0';
    memset(res, 0, sizeof(*res));
    res->load_len = len;
    if ((uint64_t)len > BLOCKFILE_BYTES_MAX) {
        if (err != NULL && err_cap > 0)
            snprintf(err, err_cap, "%s: larger than 2 GiB (%zu bytes)", file_name, len);
        return AC_ERANGE;
    }
    if (marker != NULL) {
        uint64_t size, hash;
        res->marker_present = 1;
        if (marker_parse(marker, marker_len, &size, &hash) != 0) {
            if (err != NULL && err_cap > 0)
                snprintf(err, err_cap, "%s.appended: not a marker alichain wrote (expected \"%s "
                         "<size> <hash>\"); remove it if %s was replaced by hand",
                         file_name, BLOCKFILE_MARKER_MAGIC, file_name);
            return AC_EINVAL;
        }
        /* The marker describes this file when the file still starts with exactly the bytes
         * it had before the first append; everything after them is the backend's own. */
        res->appended = size <= len && blockfile_hash(BLOCKFILE_HASH_INIT, img, (size_t)size) == hash;
    }
    if (res->appended && !MUTANT(MUT_KEEP_TORN_TAIL)) {
        res->load_len = open_tail_start(img, len);
        res->torn_len = len - res->load_len;
    }
    res->hash = BLOCKFILE_HASH_INIT;
    int rc = load_lines(l, img, res->load_len, file_name, &res->lines, &res->hash, err, err_cap);
    if (rc != AC_OK) return rc;
    return AC_OK;
}

void blockfile_recovery_effects(const blockfile_recovery_t *r, const char *img,
                                const char *file_name, outbox_t *out) {
    if (r->torn_len > 0) {
        /* The torn bytes and a '\n' go to "<block>.torn", durably, before the block file
         * forgets them: a crash in between sets them aside again, never loses them. */
        char nl = '\n';
        fx_t *fx = outbox_push(out, FX_TORN_APPEND, 0, 0, img + r->load_len, r->torn_len);
        if (fx != NULL) outbox_push(out, FX_TORN_APPEND, 0, 0, &nl, 1);
        fx = outbox_push(out, FX_BLOCK_TRUNCATE, 0, 0, NULL, 0);
        if (fx != NULL) fx->arg = r->load_len;
        outbox_line(out, FX_STDERR, "%s: moved a torn last line (%zu bytes, from a crash) to %s.torn",
                    file_name, r->torn_len, file_name);
    }
    if (r->marker_present) outbox_push(out, FX_MARKER_REMOVE, 0, 0, NULL, 0);
}

void blockfile_init(blockfile_t *f, const blockfile_recovery_t *r, const char *img) {
    memset(f, 0, sizeof(*f));
    f->size = r->load_len;
    f->hash = r->hash;
    f->ends_open = r->load_len > 0 && img[r->load_len - 1] != '\n';
    f->bytes_max = BLOCKFILE_BYTES_MAX;
}

int blockfile_fits(const blockfile_t *f, size_t len) {
    uint64_t need = (uint64_t)len + (f->ends_open ? 1u : 0u);
    return f->size <= f->bytes_max && need <= f->bytes_max - f->size;
}

void blockfile_append(blockfile_t *f, const char *lines, size_t len, uint64_t token,
                      outbox_t *out) {
    AC_ASSERT(len > 0);
    AC_ASSERT(lines[len - 1] == '\n');
    AC_ASSERT(blockfile_fits(f, len)); /* the backend asked first */
    if (!f->marked && !MUTANT(MUT_NO_MARKER)) {
        f->prep_size = f->size;
        f->prep_hash = f->hash;
        f->prep_open = f->ends_open;
        /* A hand-written last line gets its '\n' and is synced before the marker exists:
         * the marker must never stand beside an unterminated line of the user's. */
        if (f->ends_open) {
            const char nl = '\n';
            outbox_push(out, FX_BLOCK_APPEND, 0, 0, &nl, 1);
            f->hash = blockfile_hash(f->hash, &nl, 1);
            f->size++;
            f->ends_open = 0;
        }
        outbox_push(out, FX_BLOCK_SYNC, 0, 0, NULL, 0);
        char m[BLOCKFILE_MARKER_BYTES_MAX];
        size_t n = blockfile_marker_format(f->size, f->hash, m, sizeof m);
        outbox_push(out, FX_MARKER_WRITE, 0, 0, m, n);
        f->marked = 1;
        f->mark_size = f->size;
    }
    if (f->ends_open) { /* only with MUT_NO_MARKER: keep lines apart all the same */
        const char nl = '\n';
        outbox_push(out, FX_BLOCK_APPEND, 0, 0, &nl, 1);
        f->size++;
        f->ends_open = 0;
    }
    outbox_push(out, FX_BLOCK_APPEND, 0, token, lines, len);
    f->size += len;
}

void blockfile_cut(blockfile_t *f, uint64_t size, outbox_t *out) {
    AC_ASSERT(size <= f->size);
    if (f->marked && size <= f->mark_size) { /* the run's first append: prepare again */
        AC_ASSERT(size == f->mark_size);
        size = f->prep_size;
        f->hash = f->prep_hash;
        f->ends_open = f->prep_open;
        f->marked = 0;
    }
    fx_t *fx = outbox_push(out, FX_BLOCK_TRUNCATE, 0, 0, NULL, 0);
    if (fx != NULL) fx->arg = size;
    f->size = size;
}

void blockfile_close(blockfile_t *f, outbox_t *out) {
    if (!f->marked) return;
    outbox_push(out, FX_BLOCK_SYNC, 0, 0, NULL, 0);
    outbox_push(out, FX_MARKER_REMOVE, 0, 0, NULL, 0);
    f->marked = 0;
}
