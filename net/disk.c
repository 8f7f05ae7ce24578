/* disk.c — block files and the TXLIST file on a real disk (see disk.h): mechanics only;
 * what the bytes mean is core/blockfile.c's. Short writes and
 * EINTR are retried; every durable step is an fsync/fdatasync whose failure is reported,
 * never ignored, with errno kept: a backend refuses the write on ENOSPC or EIO from an
 * append's path (core cuts the bytes away; docs/PROTOCOL.md "Disk errors"), and exits on any
 * other failure, recovering from what the disk holds. */
#include "disk.h"

#include "blockfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static int disk_fail(char *err, size_t err_cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* -1 with the message in err; errno is kept (callers tell ENOSPC and EIO apart). */
static int disk_fail(char *err, size_t err_cap, const char *fmt, ...) {
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_cap, fmt, ap);
    va_end(ap);
    errno = e;
    return -1;
}

/* write() until all of data is written; -1 with errno on failure. */
int disk_write_full(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static const char *disk_split(const char *path, char *dir, size_t cap);

/* Reads fd (a regular file) whole into a malloc'd, NUL-terminated buffer. */
static int disk_read_fd(char *err, size_t err_cap, int fd, const char *path, char **data,
                        size_t *len) {
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) < 0) why = strerror(errno);
    else if (!S_ISREG(st.st_mode)) why = "not a regular file";
    else if ((uint64_t)st.st_size > DISK_FILE_BYTES_MAX) why = "larger than 2 GiB";
    if (why != NULL) return disk_fail(err, err_cap, "cannot read %s: %s", path, why);
    size_t cap = (size_t)st.st_size;
    char *buf = malloc(cap + 1);
    if (buf == NULL) return disk_fail(err, err_cap, "cannot read %s: out of memory", path);
    size_t got = 0;
    while (got < cap) {
        ssize_t n = pread(fd, buf + got, cap - got, (off_t)got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            return disk_fail(err, err_cap, "cannot read %s: %s", path, strerror(e));
        }
        if (n == 0) break; /* shrank while we read: take what is there */
        got += (size_t)n;
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return 0;
}

/* fsync of the directory holding path, so a created or renamed entry is durable. */
int disk_sync_dir(char *err, size_t err_cap, const char *path) {
    char dir[DISK_PATH_BYTES];
    (void)disk_split(path, dir, sizeof(dir));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return disk_fail(err, err_cap, "cannot open directory %s: %s", dir, strerror(errno));
    int r = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    if (r < 0) return disk_fail(err, err_cap, "fsync of directory %s: %s", dir, strerror(e));
    return 0;
}

/* path's directory (".": none) and the start of its last component. */
static const char *disk_split(const char *path, char *dir, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (slash == NULL) snprintf(dir, cap, ".");
    else if (slash == path) snprintf(dir, cap, "/");
    else snprintf(dir, cap, "%.*s", (int)(slash - path), path);
    return slash == NULL ? path : slash + 1;
}

int disk_tmp_create(char *err, size_t err_cap, const char *path, char *tmp, size_t tmp_cap, int *fd) {
    *fd = -1;
    for (int attempt = 0; attempt < DISK_TMP_ATTEMPTS; attempt++) {
        uint64_t r;
        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
            return disk_fail(err, err_cap, "cannot create a temporary file for %s: no randomness: %s", path,
                             strerror(errno));
        if ((size_t)snprintf(tmp, tmp_cap, "%s%s%016llx", path, DISK_TMP_INFIX, (unsigned long long)r) >= tmp_cap)
            return disk_fail(err, err_cap, "path too long: %s", path);
        int f = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f < 0 && errno == EEXIST) continue; /* taken (or planted): another name */
        if (f < 0) return disk_fail(err, err_cap, "cannot create %s: %s", tmp, strerror(errno));
        struct stat st;
        /* a sweep may take the lock between the create and ours, and remove the name */
        if (flock(f, LOCK_EX) == 0 && fstat(f, &st) == 0 && st.st_nlink > 0) {
            *fd = f;
            return 0;
        }
        close(f);
    }
    return disk_fail(err, err_cap, "cannot create a temporary file for %s: %d names taken", path,
                     DISK_TMP_ATTEMPTS);
}

/* 1 when name is base followed by DISK_TMP_INFIX and exactly the hex digits of a
 * temporary file's name. */
static int disk_tmp_name(const char *name, const char *base) {
    size_t bl = strlen(base), il = strlen(DISK_TMP_INFIX);
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, DISK_TMP_INFIX, il) != 0) return 0;
    const char *hex = name + bl + il;
    if (strlen(hex) != DISK_TMP_HEX_DIGITS) return 0;
    for (; *hex != '\0'; hex++) {
        if (!((*hex >= '0' && *hex <= '9') || (*hex >= 'a' && *hex <= 'f'))) return 0;
    }
    return 1;
}

int disk_tmp_sweep(char *err, size_t err_cap, const char *path, uint32_t *files, uint64_t *bytes) {
    char dir[DISK_PATH_BYTES];
    const char *base = disk_split(path, dir, sizeof(dir));
    *files = 0;
    *bytes = 0;
    DIR *d = opendir(dir);
    if (d == NULL) return disk_fail(err, err_cap, "cannot read directory %s: %s", dir, strerror(errno));
    int dfd = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!disk_tmp_name(e->d_name, base)) continue;
        int f = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (f < 0) continue; /* a symlink or worse: not one of ours, left alone */
        struct stat st, now;
        /* a living writer holds its lock; and the name must still be this very file */
        if (fstat(f, &st) == 0 && S_ISREG(st.st_mode) && flock(f, LOCK_EX | LOCK_NB) == 0 &&
            fstatat(dfd, e->d_name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == st.st_dev &&
            now.st_ino == st.st_ino && unlinkat(dfd, e->d_name, 0) == 0) {
            (*files)++;
            *bytes += (uint64_t)st.st_size;
        }
        close(f);
    }
    closedir(d);
    return 0;
}

static int disk_suffixed(char *out, size_t cap, const char *path, const char *suffix) {
    return (size_t)snprintf(out, cap, "%s%s", path, suffix) < cap ? 0 : -1;
}

int disk_block_open(char *err, size_t err_cap, disk_block_t *blk, const char *path) {
    memset(blk, 0, sizeof(*blk));
    blk->fd = -1;
    blk->path = path;
    if (disk_suffixed(blk->marker_path, sizeof(blk->marker_path), path, BLOCKFILE_MARKER_SUFFIX) < 0 ||
        disk_suffixed(blk->torn_path, sizeof(blk->torn_path), path, BLOCKFILE_TORN_SUFFIX) < 0)
        return disk_fail(err, err_cap, "path too long: %s", path);
    blk->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (blk->fd < 0) return disk_fail(err, err_cap, "cannot open %s: %s", path, strerror(errno));
    if (flock(blk->fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        disk_block_close(blk);
        if (e == EWOULDBLOCK) {
            disk_fail(err, err_cap, "%s is in use by another backend (it holds the file's lock)", path);
            return DISK_BLOCK_IN_USE;
        }
        return disk_fail(err, err_cap, "cannot lock %s: %s", path, strerror(e));
    }
    return 0;
}

int disk_block_read(char *err, size_t err_cap, disk_block_t *blk, char **data, size_t *len,
                    char **marker, size_t *marker_len) {
    *marker = NULL;
    *marker_len = 0;
    if (disk_read_fd(err, err_cap, blk->fd, blk->path, data, len) < 0) return -1;
    int fd = open(blk->marker_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return 0;
    int rc = fd < 0 ? disk_fail(err, err_cap, "cannot open %s: %s", blk->marker_path, strerror(errno))
                    : disk_read_fd(err, err_cap, fd, blk->marker_path, marker, marker_len);
    if (fd >= 0) close(fd);
    if (rc < 0) {
        free(*data);
        *data = NULL;
    }
    return rc;
}

int disk_block_append(char *err, size_t err_cap, disk_block_t *blk, const void *data, size_t len) {
    if (disk_write_full(blk->fd, data, len) < 0) return disk_fail(err, err_cap, "write: %s", strerror(errno));
    return 0;
}

int disk_block_sync(char *err, size_t err_cap, disk_block_t *blk) {
    if (fdatasync(blk->fd) < 0) return disk_fail(err, err_cap, "fdatasync: %s", strerror(errno));
    return 0;
}

int disk_block_truncate(char *err, size_t err_cap, disk_block_t *blk, uint64_t len) {
    if (ftruncate(blk->fd, (off_t)len) < 0 || fsync(blk->fd) < 0)
        return disk_fail(err, err_cap, "cannot truncate %s: %s", blk->path, strerror(errno));
    return 0;
}

/* Writes data to path atomically: a temporary file (disk_tmp_create), fsync, rename, fsync
 * the directory.
 * On failure the temp file is removed and path is untouched. */
static int disk_write_atomic(char *err, size_t err_cap, const char *path, const void *data, size_t len);

int disk_block_mark(char *err, size_t err_cap, disk_block_t *blk, const void *data, size_t len) {
    return disk_write_atomic(err, err_cap, blk->marker_path, data, len);
}

int disk_block_unmark(char *err, size_t err_cap, disk_block_t *blk) {
    if (unlink(blk->marker_path) < 0) {
        if (errno == ENOENT) return 0;
        return disk_fail(err, err_cap, "cannot remove %s: %s", blk->marker_path, strerror(errno));
    }
    return disk_sync_dir(err, err_cap, blk->marker_path);
}

int disk_block_set_aside(char *err, size_t err_cap, disk_block_t *blk, const void *data,
                         size_t len) {
    int fd = open(blk->torn_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return disk_fail(err, err_cap, "cannot open %s: %s", blk->torn_path, strerror(errno));
    int bad = disk_write_full(fd, data, len) < 0 || fsync(fd) < 0;
    int e = errno;
    close(fd);
    if (bad) return disk_fail(err, err_cap, "cannot write %s: %s", blk->torn_path, strerror(e));
    return disk_sync_dir(err, err_cap, blk->torn_path);
}

void disk_block_close(disk_block_t *blk) {
    if (blk->fd >= 0) close(blk->fd); /* releases the lock */
    blk->fd = -1;
}

static int disk_write_atomic(char *err, size_t err_cap, const char *path, const void *data,
                      size_t len) {
    char tmp[DISK_PATH_BYTES];
    int fd;
    if (disk_tmp_create(err, err_cap, path, tmp, sizeof(tmp), &fd) < 0) return -1;
    int bad = disk_write_full(fd, data, len) < 0 || fsync(fd) < 0;
    int e = errno;
    if (!bad && rename(tmp, path) < 0) { /* renamed while its lock is held */
        bad = 1;
        e = errno;
    }
    if (close(fd) < 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(tmp);
        errno = e;
        return disk_fail(err, err_cap, "cannot write %s: %s", path, strerror(e));
    }
    return disk_sync_dir(err, err_cap, path);
}
