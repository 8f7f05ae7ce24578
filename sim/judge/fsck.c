/* fsck.c — block files judged together (fsck.h). Every rule comes from core: what a backend
 * loads, refuses or sets aside is blockfile_recover's, what makes two files one ledger is
 * serials_merge_next's; this file only walks the files and words the findings. */
#include "fsck.h"

#include <stdarg.h>
#include <string.h>

#include "blockfile.h"
#include "serials.h"
#include "tx.h"

typedef struct {
    ledger_t ledger;
    int loaded;                    /* recovered: ascending, in the merge */
    uint32_t next;                 /* the merge's position in it */
} fsck_src_t;

static void finding(FILE *f, fsck_result_t *res, int problem, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void finding(FILE *f, fsck_result_t *res, int problem, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs(problem ? "problem: " : "note: ", f);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    va_end(ap);
    if (problem) res->problems++;
    else res->notes++;
}

/* The 1-based line of img holding serial s (0: none). Only on a finding. */
static size_t fsck_line_of(const char *img, size_t len, uint64_t s) {
    size_t pos = 0, line_no = 0;
    while (pos < len) {
        const char *nl = memchr(img + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - img) : len;
        tx_t t;
        line_no++;
        if (tx_parse_line(img + pos, end - pos, &t, NULL, 0) == AC_OK && t.serial == s) return line_no;
        pos = end + 1;
    }
    return 0;
}

/* One file as a restarting backend reads it. Returns 0 or AC_ENOMEM. */
static int fsck_one(const fsck_file_t *x, fsck_src_t *src, FILE *f, fsck_result_t *res) {
    char err[256];
    blockfile_recovery_t r;
    int rc = blockfile_recover(&src->ledger, x->img, x->len, x->marker, x->marker_len, x->name, &r, err,
                               sizeof(err));
    if (rc == AC_ENOMEM) return rc;
    if (rc != AC_OK) {
        finding(f, res, 1, "%s (its backend refuses to start; left out of the checks across files)", err);
        return 0;
    }
    src->loaded = 1;
    res->transactions += src->ledger.tx_count;
    if (src->ledger.max_serial > res->largest) res->largest = src->ledger.max_serial;
    if (r.torn_len > 0)
        finding(f, res, 1, "%s: a torn last line (%zu bytes) after its backend's appends: a crash "
                "tore it; the backend moves it to %s%s at start", x->name, r.torn_len, x->name,
                BLOCKFILE_TORN_SUFFIX);
    else if (r.appended)
        finding(f, res, 0, "%s%s: its backend appended since its last clean stop (it runs, or was "
                "killed); nothing torn", x->name, BLOCKFILE_MARKER_SUFFIX);
    else if (r.marker_present)
        finding(f, res, 0, "%s%s describes another file (%s was replaced by hand): its backend "
                "removes it at start", x->name, BLOCKFILE_MARKER_SUFFIX, x->name);
    else if (x->len > 0 && x->img[x->len - 1] != '\n')
        finding(f, res, 0, "%s: the last line has no newline (read as written by hand)", x->name);
    if (x->torn_present)
        finding(f, res, 0, "%s%s holds %zu bytes of torn lines set aside by earlier recoveries",
                x->name, BLOCKFILE_TORN_SUFFIX, x->torn_len);
    return 0;
}

/* The loaded files as one ledger: smallest serial first, through serials_merge_next. */
static void fsck_across(const fsck_file_t *files, fsck_src_t *src, int n, FILE *f, fsck_result_t *res) {
    serials_merge_t m;
    serials_merge_init(&m);
    uint32_t dups = 0, gaps = 0;
    int all = 1; /* gaps mean something only when every file is in */
    for (int i = 0; i < n; i++) all &= src[i].loaded;
    if (!all) finding(f, res, 0, "gaps in the serials not checked: a file did not load");
    for (;;) {
        int best = -1;
        tx_t bt;
        for (int i = 0; i < n; i++) {
            if (!src[i].loaded || src[i].next >= src[i].ledger.tx_count) continue;
            tx_t t;
            ledger_get(&src[i].ledger, src[i].next, &t);
            if (best < 0 || t.serial < bt.serial) {
                best = i;
                bt = t;
            }
        }
        if (best < 0) break;
        src[best].next++;
        uint64_t gf = 0, gl = 0;
        serials_dup_t d;
        int rc = serials_merge_next(&m, bt.serial, best, &gf, &gl, &d);
        AC_ASSERT(rc != AC_EINVAL); /* each ledger ascends, and the smallest head goes first */
        if (rc == AC_EDUP && ++dups <= FSCK_LINES_MAX) {
            const fsck_file_t *a = &files[d.first], *b = &files[d.second];
            finding(f, res, 1, "serial %llu is in both %s:%zu and %s:%zu (serials are unique "
                    "across the block files; serverM refuses to serve over it)",
                    (unsigned long long)d.serial, a->name, fsck_line_of(a->img, a->len, d.serial), b->name,
                    fsck_line_of(b->img, b->len, d.serial));
        } else if (rc == AC_EDUP) {
            res->problems++;
        }
        if (rc == 1 && !all) continue;
        if (rc == 1 && ++gaps <= FSCK_LINES_MAX) {
            if (gf == gl) finding(f, res, 0, "serial %llu is in no file (a gap)", (unsigned long long)gf);
            else finding(f, res, 0, "serials %llu..%llu are in no file (a gap)", (unsigned long long)gf,
                         (unsigned long long)gl);
        } else if (rc == 1) {
            res->notes++;
        }
    }
    if (dups > FSCK_LINES_MAX)
        fprintf(f, "problem: ... and %u more serials in two files\n", dups - FSCK_LINES_MAX);
    if (gaps > FSCK_LINES_MAX) fprintf(f, "note: ... and %u more gaps\n", gaps - FSCK_LINES_MAX);
}

int fsck_blocks(const fsck_file_t *files, int n, FILE *report, fsck_result_t *res) {
    AC_ASSERT(n > 0 && n <= FSCK_FILES_MAX);
    fsck_src_t src[FSCK_FILES_MAX];
    memset(res, 0, sizeof(*res));
    memset(src, 0, sizeof(src));
    int rc = AC_OK;
    for (int i = 0; i < n; i++) ledger_init(&src[i].ledger);
    for (int i = 0; i < n && rc == AC_OK; i++) rc = fsck_one(&files[i], &src[i], report, res);
    if (rc == AC_OK) fsck_across(files, src, n, report, res);
    for (int i = 0; i < n; i++) ledger_free(&src[i].ledger);
    if (rc != AC_OK) return rc;
    fprintf(report, "check: %d files, %llu transactions, largest serial %llu: %s (%u problems, %u notes)\n", n,
            (unsigned long long)res->transactions, (unsigned long long)res->largest,
            res->problems == 0 ? "clean" : "PROBLEMS", res->problems, res->notes);
    return AC_OK;
}
