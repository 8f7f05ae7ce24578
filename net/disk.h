/* disk.h — the files of the real front ends: loading a block file, moving a torn tail
 * aside, the append-only block log (append, then one fdatasync for a group of appends),
 * and serverM's atomic file write (temp file, fsync, rename, fsync of the directory).
 * Every function returns 0 or -1 with a one-line reason in err. */
#ifndef ALICHAIN_NET_DISK_H
#define ALICHAIN_NET_DISK_H

#include <stddef.h>
#include <stdint.h>

#define DISK_FILE_BYTES_MAX ((size_t)1 << 31)  /* a block file larger than 2 GiB is refused */
#define DISK_PATH_BYTES 4200                   /* a configured path plus a suffix */

/* Reads the whole file into a malloc'd buffer (*data, freed by the caller; never NULL on
 * success, even for an empty file). */
int disk_read_all(char *err, size_t err_cap, const char *path, char **data, size_t *len);

/* A crash left a torn last line (unterminated) at data[torn_offset..len): appends
 * those bytes and a '\n' to "<path>.torn" (so several torn tails stay apart) and syncs it,
 * then truncates path to torn_offset and syncs. Nothing is ever silently dropped. */
int disk_set_aside_torn(char *err, size_t err_cap, const char *path, const char *data,
                        size_t len, size_t torn_offset);

/* "<path>.appended" marks a block file that a backend has appended to. Our appends end in
 * '\n' and are acknowledged only when synced whole, so in a marked file an unterminated
 * last line can only be a torn append (even one that happens to parse, like "10 A B 2"
 * cut from "10 A B 25"); in an unmarked one it is a hand-written line lacking its final
 * newline, which SPEC.md allows. 1 when the marker exists. */
int disk_marker_exists(const char *path);

/* Start of the last line when the image ends in a line without its '\n'; else len. */
size_t disk_unterminated_tail(const char *data, size_t len);

/* The block file opened for appends. */
typedef struct {
    int fd;
    int needs_newline;    /* the file ends in a line without its '\n' */
    int marked;           /* "<path>.appended" exists (made after the last line is terminated
                             and synced, before our first append) */
    const char *path;     /* borrowed: lives as long as the log */
} disk_log_t;

int disk_log_open(char *err, size_t err_cap, disk_log_t *log, const char *path);
/* Drops the last drop_bytes bytes of the file (0: none), then appends data, preceded by a
 * '\n' when the file does not end in one. Not yet durable: call disk_log_sync. */
int disk_log_append(char *err, size_t err_cap, disk_log_t *log, uint64_t drop_bytes,
                    const void *data, size_t len);
/* fdatasync: every append so far is durable when this returns 0. */
int disk_log_sync(char *err, size_t err_cap, disk_log_t *log);
void disk_log_close(disk_log_t *log);

/* Writes data to path atomically: "<path>.tmp.<pid>", fsync, rename, fsync the directory.
 * On failure the temp file is removed and path is untouched. */
int disk_write_atomic(char *err, size_t err_cap, const char *path, const void *data,
                      size_t len);

#endif
