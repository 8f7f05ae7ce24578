/* blockfile.h — what a block file means on disk, in one place: what recovery loads, what it
 * refuses (with "file:line"), what it sets aside, and the ordered steps of an append. The
 * backend emits those steps as storage effects (outbox.h, FX_BLOCK_* / FX_MARKER_* /
 * FX_TORN_APPEND); the real programs carry them out with syscalls and the simulator, the
 * fuzz targets and the unit tests with one simulated disk (sim/world/disk.c). The simulator's
 * checkers read disks through blockfile_recover() as well.
 *
 * The rule (docs/DESIGN-NOTES.md, "Block files"):
 *  - A file alichain has never appended to is the user's: every line counts, the last one
 *    with or without its '\n'; any line that does not parse is an error naming it, and
 *    nothing on disk changes.
 *  - Before a run's first append, the backend terminates a hand-written last line, syncs,
 *    and writes the marker "<block>.appended" durably. The marker names the file it
 *    describes by content: the size and hash of the file as it was before that first append.
 *    Every byte after that size is an append of the backend's own, each ending in '\n' and
 *    acknowledged only once synced, so an unterminated last line there is a torn append —
 *    even when it parses — and recovery moves it to "<block>.torn" (never silently dropped).
 *  - A marker whose size and hash do not match the file (the file was replaced or edited by
 *    hand since) describes another file: it is removed and the file read as the user's.
 *  - At start-up, after any torn tail is set aside, and at a clean stop, after a final
 *    sync, the marker is removed: the file then ends in '\n' and holds nothing ambiguous. */
#ifndef ALICHAIN_BLOCKFILE_H
#define ALICHAIN_BLOCKFILE_H

#include "ledger.h"
#include "outbox.h"

#define BLOCKFILE_MARKER_SUFFIX ".appended"  /* the marker: "<block>.appended" */
#define BLOCKFILE_TORN_SUFFIX ".torn"          /* torn tails set aside: "<block>.torn" */
#define BLOCKFILE_MARKER_MAGIC "alichain-appended 1"
/* The size rule, for start-up and appends alike: a block file is at most this long.
 * Recovery refuses a longer one (AC_ERANGE, "larger than 2 GiB"); an append that would
 * make it longer is refused (blockfile_fits; the backend answers WIRE_TX_FULL). */
#define BLOCKFILE_BYTES_MAX ((uint64_t)1 << 31)
/* "alichain-appended 1 <size> <16 hex digits>\n" */
#define BLOCKFILE_MARKER_BYTES_MAX (sizeof(BLOCKFILE_MARKER_MAGIC) + 1 + 20 + 1 + 16 + 1)

/* Backend b's block file by default (0..2: SPEC.md's "block1.txt".."block3.txt"). */
const char *blockfile_default_name(int b);

/* What blockfile_recover() found. */
typedef struct {
    int marker_present;  /* a marker was given */
    int appended;        /* ... and it describes this image: the tail may be torn */
    size_t load_len;     /* [0, load_len) holds the ledger's lines */
    size_t torn_len;     /* bytes of a torn tail at load_len, set aside (0: none) */
    uint32_t lines;      /* transactions loaded */
    uint64_t hash;       /* blockfile_hash of [0, load_len) */
} blockfile_recovery_t;

/* The append state of one running backend's block file (owned by backend_t). */
typedef struct {
    uint64_t size;       /* bytes in the file as this run has written it */
    uint64_t hash;       /* hash of those bytes, kept only until the marker is written */
    int ends_open;       /* the last byte is not '\n' (a hand-written last line) */
    int marked;          /* this run has written its marker */
    uint64_t bytes_max;  /* BLOCKFILE_BYTES_MAX (unit tests lower it to reach it) */
    /* The file before the run's first append prepared it (the '\n', the sync, the marker):
     * a cut back into that append undoes the preparation too (blockfile_cut). */
    uint64_t prep_size, prep_hash, mark_size;
    int prep_open;
} blockfile_t;

/* 64-bit hash of bytes, continued from h (start with BLOCKFILE_HASH_INIT). Not
 * cryptographic: it tells a hand-replaced file from the one the marker describes. */
#define BLOCKFILE_HASH_INIT 0xcbf29ce484222325ULL
uint64_t blockfile_hash(uint64_t h, const void *data, size_t len);

/* Recovery: decides what the image means and loads its lines into the empty ledger l.
 * marker: the content of "<block>.appended", or NULL when there is none. Returns 0, or
 * AC_EINVAL / AC_EDUP / AC_ERANGE / AC_ENOMEM with "<file_name>:<line>: <reason>" (or
 * "<file_name>.appended: <reason>" for a marker alichain did not write) in err; l may then
 * hold part of the file. Pure: changes nothing on disk (see blockfile_recovery_effects). */
int blockfile_recover(ledger_t *l, const char *img, size_t len, const char *marker,
                      size_t marker_len, const char *file_name, blockfile_recovery_t *res,
                      char *err, size_t err_cap);

/* The start-up steps after a successful recovery, in order: append the torn tail (and a
 * '\n') to "<block>.torn" durably; truncate the block file to load_len durably; remove the
 * marker durably. Nothing when there is neither a torn tail nor a marker. An FX_STDERR line
 * says what was set aside. img is the image recovered. */
void blockfile_recovery_effects(const blockfile_recovery_t *r, const char *img,
                                const char *file_name, outbox_t *out);

/* The append state of a file just recovered (its size after the recovery effects). */
void blockfile_init(blockfile_t *f, const blockfile_recovery_t *r, const char *img);

/* 1 when an append of len bytes keeps the file within f->bytes_max (with the '\n' a
 * hand-written last line gets first), else 0: the append must not be made. */
int blockfile_fits(const blockfile_t *f, size_t len);

/* One append of whole lines (each ending in '\n'): FX_BLOCK_APPEND(lines, token), preceded
 * at the run's first append by FX_BLOCK_APPEND("\n", 0) when the file ends open,
 * FX_BLOCK_SYNC and FX_MARKER_WRITE. The driver calls backend_on_durable(token) once a sync
 * covers the lines. */
void blockfile_append(blockfile_t *f, const char *lines, size_t len, uint64_t token,
                      outbox_t *out);

/* The appends from `size` on failed (their write or sync): FX_BLOCK_TRUNCATE(size), which
 * the drivers carry out durably; later appends go on from there. size <= f->size, an
 * append's own start. When that is the run's first append (size <= the marker's size), its
 * preparation may have failed as well (the driver's write of the '\n', the sync, the
 * marker): the file is cut back to before the '\n' and the next append prepares again,
 * writing the same marker (a marker left behind describes a longer file than there is, so
 * recovery removes it and reads the file as the user's: blockfile_recover). */
void blockfile_cut(blockfile_t *f, uint64_t size, outbox_t *out);

/* A clean stop, once every append is durable: FX_BLOCK_SYNC, FX_MARKER_REMOVE (nothing when
 * this run never appended). */
void blockfile_close(blockfile_t *f, outbox_t *out);

/* The marker's text for a file of `size` bytes with hash `hash`; returns its length
 * (< cap, NUL-terminated). cap >= BLOCKFILE_MARKER_BYTES_MAX. */
size_t blockfile_marker_format(uint64_t size, uint64_t hash, char *buf, size_t cap);

#endif
