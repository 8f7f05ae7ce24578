/* disk.h — the files of the real front ends: a backend's block file held exclusively and
 * the storage effects core asks for (append, sync, truncate, marker, torn tail aside), and
 * serverM's atomic file write (temp file, fsync, rename, fsync of the directory).
 * Every function returns 0 or -1 with a one-line reason in err. */
#ifndef ALICHAIN_NET_DISK_H
#define ALICHAIN_NET_DISK_H

#include <stddef.h>
#include <stdint.h>

#include "blockfile.h"

#define DISK_FILE_BYTES_MAX BLOCKFILE_BYTES_MAX /* core's size rule: larger is not even read */
#define DISK_PATH_BYTES 4200                   /* a configured path plus a suffix */

/* Reads the whole file into a malloc'd buffer (*data, freed by the caller; never NULL on
 * success, even for an empty file). */
/* write() until every byte is written (EINTR retried). 0, or -1 with errno. */
int disk_write_full(int fd, const void *data, size_t len);
/* fsync the directory holding path, so a rename or create in it is durable. */
int disk_sync_dir(char *err, size_t err_cap, const char *path);

/* Temporary files of an atomic write (the TXLIST file, a block file's marker): created
 * beside the file as "<path>.tmp-<16 hex digits>" from the OS's randomness with
 * O_CREAT|O_EXCL|O_NOFOLLOW, mode 0644 less the umask, so nobody can pre-plant the name (a
 * symlink there is never written through), and held under an exclusive flock until it is
 * renamed or removed: a temporary file nobody holds is a killed writer's. */
#define DISK_TMP_INFIX ".tmp-"
#define DISK_TMP_HEX_DIGITS 16
#define DISK_TMP_ATTEMPTS 16       /* names tried before giving up (each 64 random bits) */
/* Creates one; its name into tmp (tmp_cap >= DISK_PATH_BYTES) and its descriptor into
 * *fd (locked, for writing). Returns 0 or -1 with err. */
int disk_tmp_create(char *err, size_t err_cap, const char *path, char *tmp, size_t tmp_cap, int *fd);
/* Removes the temporary files of path (that exact pattern, in path's directory) that no
 * living writer holds: regular files only, each after taking its lock. Counts them and
 * their bytes. Returns 0 or -1 with err (the directory cannot be read). */
int disk_tmp_sweep(char *err, size_t err_cap, const char *path, uint32_t *files, uint64_t *bytes);

/* A backend's block file, opened for reading and appending and held exclusively (an
 * advisory lock: a second backend on the same file refuses to start). What the bytes mean
 * and which steps to take in which order is core's (core/blockfile.h); these functions
 * only carry out one storage effect each. */
typedef struct {
    int fd;
    const char *path;     /* borrowed: lives as long as the block */
    char marker_path[DISK_PATH_BYTES];  /* "<path>.appended" */
    char torn_path[DISK_PATH_BYTES];    /* "<path>.torn" */
} disk_block_t;

/* Opens path and takes its lock (before anything is read or changed). Returns 0, -1, or
 * DISK_BLOCK_IN_USE when another process holds the lock. */
#define DISK_BLOCK_IN_USE (-2)
int disk_block_open(char *err, size_t err_cap, disk_block_t *blk, const char *path);
/* The whole file (malloc'd, freed by the caller) and its marker (NULL when absent). */
int disk_block_read(char *err, size_t err_cap, disk_block_t *blk, char **data, size_t *len,
                    char **marker, size_t *marker_len);
/* FX_BLOCK_APPEND: written, not yet durable. On failure -1 with errno kept (ENOSPC, EIO):
 * part of the data may be in the file. */
int disk_block_append(char *err, size_t err_cap, disk_block_t *blk, const void *data, size_t len);
/* FX_BLOCK_SYNC (and the group commit): fdatasync; on failure -1 with errno kept. */
int disk_block_sync(char *err, size_t err_cap, disk_block_t *blk);
/* FX_BLOCK_TRUNCATE: ftruncate to len, fsync. */
int disk_block_truncate(char *err, size_t err_cap, disk_block_t *blk, uint64_t len);
/* FX_MARKER_WRITE: the marker written atomically (temp file, fsync, rename, fsync of the
 * directory; on failure the old marker is untouched). */
int disk_block_mark(char *err, size_t err_cap, disk_block_t *blk, const void *data, size_t len);
/* FX_MARKER_REMOVE: unlink (absent is fine), fsync of the directory. */
int disk_block_unmark(char *err, size_t err_cap, disk_block_t *blk);
/* FX_TORN_APPEND: append to "<path>.torn" (created if need be), fsync file and directory. */
int disk_block_set_aside(char *err, size_t err_cap, disk_block_t *blk, const void *data,
                         size_t len);
/* Releases the lock and the descriptor. */
void disk_block_close(disk_block_t *blk);

#endif
