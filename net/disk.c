/* disk.c — block files and the TXLIST file on a real disk (see disk.h). Short writes and
 * EINTR are retried; every durable step is an fsync/fdatasync whose failure is reported,
 * never ignored (the caller then exits and recovers from what the disk holds). */
#include "disk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int disk_fail(char *err, size_t err_cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int disk_fail(char *err, size_t err_cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_cap, fmt, ap);
    va_end(ap);
    return -1;
}

/* write() until all of data is written; -1 with errno on failure. */
static int disk_write_full(int fd, const void *data, size_t len) {
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

int disk_read_all(char *err, size_t err_cap, const char *path, char **data, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return disk_fail(err, err_cap, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) < 0) why = strerror(errno);
    else if (!S_ISREG(st.st_mode)) why = "not a regular file";
    else if ((uint64_t)st.st_size > DISK_FILE_BYTES_MAX) why = "larger than 2 GiB";
    if (why != NULL) {
        close(fd);
        return disk_fail(err, err_cap, "cannot read %s: %s", path, why);
    }
    size_t cap = (size_t)st.st_size;
    char *buf = malloc(cap + 1);
    if (buf == NULL) {
        close(fd);
        return disk_fail(err, err_cap, "cannot read %s: out of memory", path);
    }
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return disk_fail(err, err_cap, "cannot read %s: %s", path, strerror(e));
        }
        if (n == 0) break; /* shrank while we read: take what is there */
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return 0;
}

/* fsync of the directory holding path, so a created or renamed entry is durable. */
static int disk_sync_dir(char *err, size_t err_cap, const char *path) {
    char dir[DISK_PATH_BYTES];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) snprintf(dir, sizeof(dir), ".");
    else if (slash == path) snprintf(dir, sizeof(dir), "/");
    else snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return disk_fail(err, err_cap, "cannot open directory %s: %s", dir, strerror(errno));
    int r = fsync(fd);
    int e = errno;
    close(fd);
    if (r < 0) return disk_fail(err, err_cap, "fsync of directory %s: %s", dir, strerror(e));
    return 0;
}

int disk_set_aside_torn(char *err, size_t err_cap, const char *path, const char *data,
                        size_t len, size_t torn_offset) {
    if (torn_offset >= len) return 0;
    char torn[DISK_PATH_BYTES];
    if ((size_t)snprintf(torn, sizeof(torn), "%s.torn", path) >= sizeof(torn))
        return disk_fail(err, err_cap, "path too long: %s", path);
    int fd = open(torn, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return disk_fail(err, err_cap, "cannot open %s: %s", torn, strerror(errno));
    int bad = disk_write_full(fd, data + torn_offset, len - torn_offset) < 0 ||
              disk_write_full(fd, "\n", 1) < 0 || fsync(fd) < 0;
    int e = errno;
    close(fd);
    if (bad) return disk_fail(err, err_cap, "cannot write %s: %s", torn, strerror(e));
    if (disk_sync_dir(err, err_cap, torn) < 0) return -1;
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return disk_fail(err, err_cap, "cannot open %s: %s", path, strerror(errno));
    bad = ftruncate(fd, (off_t)torn_offset) < 0 || fsync(fd) < 0;
    e = errno;
    close(fd);
    if (bad) return disk_fail(err, err_cap, "cannot truncate %s: %s", path, strerror(e));
    return 0;
}

/* Looks at the last byte: does the file end in a line without its '\n'? */
static int disk_log_check_tail(char *err, size_t err_cap, disk_log_t *log) {
    struct stat st;
    if (fstat(log->fd, &st) < 0) return disk_fail(err, err_cap, "fstat: %s", strerror(errno));
    log->needs_newline = 0;
    if (st.st_size == 0) return 0;
    char last;
    if (pread(log->fd, &last, 1, st.st_size - 1) != 1)
        return disk_fail(err, err_cap, "pread: %s", strerror(errno));
    log->needs_newline = last != '\n';
    return 0;
}

static int disk_marker_path(const char *path, char *out, size_t cap) {
    return (size_t)snprintf(out, cap, "%s.appended", path) < cap ? 0 : -1;
}

int disk_marker_exists(const char *path) {
    char marker[DISK_PATH_BYTES];
    struct stat st;
    return disk_marker_path(path, marker, sizeof(marker)) == 0 && stat(marker, &st) == 0;
}

size_t disk_unterminated_tail(const char *data, size_t len) {
    if (len == 0 || data[len - 1] == '\n') return len;
    size_t start = len;
    while (start > 0 && data[start - 1] != '\n') start--;
    return start;
}

/* Before the first append: terminates a hand-written last line and syncs the file, then
 * creates the marker durably (file and directory entry synced). In that order, a crash
 * can never leave a marker beside a hand-written unterminated line (which would then be
 * taken for a torn append). */
static int disk_log_mark(char *err, size_t err_cap, disk_log_t *log) {
    if (log->needs_newline) {
        if (disk_write_full(log->fd, "\n", 1) < 0)
            return disk_fail(err, err_cap, "write: %s", strerror(errno));
        log->needs_newline = 0;
    }
    if (fdatasync(log->fd) < 0) return disk_fail(err, err_cap, "fdatasync: %s", strerror(errno));
    char marker[DISK_PATH_BYTES];
    if (disk_marker_path(log->path, marker, sizeof(marker)) < 0)
        return disk_fail(err, err_cap, "path too long: %s", log->path);
    int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return disk_fail(err, err_cap, "cannot create %s: %s", marker, strerror(errno));
    int bad = fsync(fd) < 0;
    int e = errno;
    close(fd);
    if (bad) return disk_fail(err, err_cap, "fsync of %s: %s", marker, strerror(e));
    if (disk_sync_dir(err, err_cap, marker) < 0) return -1;
    log->marked = 1;
    return 0;
}

int disk_log_open(char *err, size_t err_cap, disk_log_t *log, const char *path) {
    log->path = path;
    log->marked = disk_marker_exists(path);
    log->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (log->fd < 0) return disk_fail(err, err_cap, "cannot open %s: %s", path, strerror(errno));
    if (disk_log_check_tail(err, err_cap, log) < 0) {
        disk_log_close(log);
        return -1;
    }
    return 0;
}

int disk_log_append(char *err, size_t err_cap, disk_log_t *log, uint64_t drop_bytes,
                    const void *data, size_t len) {
    if (drop_bytes > 0) {
        struct stat st;
        if (fstat(log->fd, &st) < 0) return disk_fail(err, err_cap, "fstat: %s", strerror(errno));
        if ((uint64_t)st.st_size < drop_bytes)
            return disk_fail(err, err_cap, "cannot drop %llu bytes of a %lld-byte file",
                             (unsigned long long)drop_bytes, (long long)st.st_size);
        if (ftruncate(log->fd, st.st_size - (off_t)drop_bytes) < 0)
            return disk_fail(err, err_cap, "ftruncate: %s", strerror(errno));
        if (disk_log_check_tail(err, err_cap, log) < 0) return -1;
    }
    if (len == 0) return 0;
    if (!log->marked && disk_log_mark(err, err_cap, log) < 0) return -1;
    if (log->needs_newline && disk_write_full(log->fd, "\n", 1) < 0)
        return disk_fail(err, err_cap, "write: %s", strerror(errno));
    if (disk_write_full(log->fd, data, len) < 0)
        return disk_fail(err, err_cap, "write: %s", strerror(errno));
    log->needs_newline = ((const char *)data)[len - 1] != '\n';
    return 0;
}

int disk_log_sync(char *err, size_t err_cap, disk_log_t *log) {
    if (fdatasync(log->fd) < 0) return disk_fail(err, err_cap, "fdatasync: %s", strerror(errno));
    return 0;
}

void disk_log_close(disk_log_t *log) {
    if (log->fd >= 0) close(log->fd);
    log->fd = -1;
}

int disk_write_atomic(char *err, size_t err_cap, const char *path, const void *data,
                      size_t len) {
    char tmp[DISK_PATH_BYTES];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
        return disk_fail(err, err_cap, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return disk_fail(err, err_cap, "cannot create %s: %s", tmp, strerror(errno));
    int bad = disk_write_full(fd, data, len) < 0 || fsync(fd) < 0;
    int e = errno;
    if (close(fd) < 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad && rename(tmp, path) < 0) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(tmp);
        return disk_fail(err, err_cap, "cannot write %s: %s", path, strerror(e));
    }
    return disk_sync_dir(err, err_cap, path);
}
