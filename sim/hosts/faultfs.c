/* faultfs.c — the disk fault file system (faultfs.h): the runner's side (start, command,
 * stop, sweep) and, in the child it forks, a libfuse3 high-level file system over one
 * directory. Every file with bytes not yet durable has an entry: the file as processes see
 * it is the backing file's first ov_off bytes followed by the overlay (ov), len bytes in
 * all; a sync writes the overlay to the backing file, a power cut drops it (keeping a torn
 * prefix of the log file's append). One mutex guards the entries; a sync sleeps on a
 * condition variable, so a power cut wakes it at once (the killed process waits for its
 * answer). Trade-off: the model is exact for appends, the only writes the programs make;
 * an overwrite inside the durable part becomes part of the overlay and is dropped or
 * synced whole. */
#define _GNU_SOURCE
#include "faultfs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc/proc.h"

#define FAULTFS_ACK_POLL_US 50
#define FAULTFS_REAP_TICK_US 2000

static int ff_fail(char *err, size_t cap, const char *what, const char *why) {
    snprintf(err, cap, "%s: %s", what, why);
    return -1;
}

#ifdef ALICHAIN_FUSE

#define FUSE_USE_VERSION 312
#include <fuse.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <dirent.h>
#include <time.h>

#include "prng.h"
#include "scenario/disk_fate.h"

#define FF_POLL_MS 100          /* the control thread looks at its stop flag this often */
#define FF_FILES_MAX 1024       /* entries at once (open or unsynced files) */
#define FF_OVERLAY_BYTES_MAX (64u << 20) /* unsynced bytes of one file */

typedef struct ff_file {
    struct ff_file *next;
    char path[FAULTFS_PATH_BYTES]; /* "" once unlinked */
    int fd;                        /* the backing file, O_RDWR */
    int handles;                   /* opens not released */
    int is_log;
    size_t len;                    /* as processes see it */
    size_t ov_off;                 /* the overlay starts here; backing holds [0, ov_off) */
    size_t dlen;                   /* the backing file's length */
    unsigned char *ov;             /* bytes [ov_off, len) */
    size_t ov_cap;
    uint64_t writes;               /* write requests since the last sync */
} ff_file_t;

typedef struct {
    ff_file_t *f;
    int flags;
} ff_handle_t;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;             /* CLOCK_MONOTONIC: a sync's sleep; a cut broadcasts */
    int root_fd;                   /* the directory as it was before the mount */
    char log_name[FAULTFS_NAME_BYTES];
    faultfs_control_t *ctl;
    int wake_fd;
    volatile int stop;
    prng_t rng;
    sim_disk_t disk;
    uint64_t late_us;
    int off;                       /* power off: writes refused */
    uint64_t gen;                  /* power cuts so far: a sync that slept across one fails */
    uint64_t last_sync_at_us;      /* syncs complete in order, as the simulator's */
    ff_file_t *files;
    size_t file_count;
    faultfs_counts_t counts;
} ff;

static char ff_dir[FAULTFS_PATH_BYTES]; /* the mount point, for the signal handler */

static const char *ff_rel(const char *path) {
    while (path != NULL && *path == '/') path++;
    return path == NULL || *path == '\0' ? "." : path;
}

static void ff_publish(void) {
    faultfs_counts_t *p = &ff.ctl->published;
    const faultfs_counts_t *c = &ff.counts;
    __atomic_store_n(&p->writes, c->writes, __ATOMIC_RELAXED);
    __atomic_store_n(&p->syncs, c->syncs, __ATOMIC_RELAXED);
    __atomic_store_n(&p->slow_syncs, c->slow_syncs, __ATOMIC_RELAXED);
    __atomic_store_n(&p->cuts, c->cuts, __ATOMIC_RELAXED);
    __atomic_store_n(&p->unsynced, c->unsynced, __ATOMIC_RELAXED);
    __atomic_store_n(&p->torn, c->torn, __ATOMIC_RELAXED);
    __atomic_store_n(&p->bytes_lost, c->bytes_lost, __ATOMIC_RELAXED);
    __atomic_store_n(&p->bytes_kept, c->bytes_kept, __ATOMIC_RELAXED);
    __atomic_store_n(&p->refused, c->refused, __ATOMIC_RELAXED);
    __atomic_store_n(&p->nospace, c->nospace, __ATOMIC_RELAXED);
    __atomic_store_n(&p->eio, c->eio, __ATOMIC_RELAXED);
}

static uint64_t ff_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- entries (under ff.mu) ---- */

static ff_file_t *ff_find(const char *rel) {
    for (ff_file_t *f = ff.files; f != NULL; f = f->next)
        if (f->path[0] != '\0' && strcmp(f->path, rel) == 0) return f;
    return NULL;
}

static int ff_dirty(const ff_file_t *f) {
    return f->len != f->ov_off || f->dlen != f->len;
}

static void ff_release_if_idle(ff_file_t *f) {
    if (f->handles > 0 || (ff_dirty(f) && f->path[0] != '\0')) return;
    for (ff_file_t **p = &ff.files; *p != NULL; p = &(*p)->next) {
        if (*p != f) continue;
        *p = f->next;
        break;
    }
    close(f->fd);
    free(f->ov);
    free(f);
    ff.file_count--;
}

/* The entry of rel, made (its backing file opened) when there is none: NULL with *e. */
static ff_file_t *ff_entry(const char *rel, int *e) {
    ff_file_t *f = ff_find(rel);
    if (f != NULL) return f;
    if (ff.file_count >= FF_FILES_MAX || strlen(rel) >= FAULTFS_PATH_BYTES) {
        *e = ENFILE;
        return NULL;
    }
    int fd = openat(ff.root_fd, rel, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        *e = errno;
        if (fd >= 0) close(fd);
        return NULL;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        close(fd);
        *e = ENOMEM;
        return NULL;
    }
    snprintf(f->path, sizeof(f->path), "%s", rel);
    f->fd = fd;
    f->len = f->ov_off = f->dlen = (size_t)st.st_size;
    f->is_log = ff.log_name[0] != '\0' && strcmp(rel, ff.log_name) == 0;
    f->next = ff.files;
    ff.files = f;
    ff.file_count++;
    return f;
}

static int ff_overlay_reserve(ff_file_t *f, size_t need) {
    if (need <= f->ov_cap) return 0;
    if (need > FF_OVERLAY_BYTES_MAX) return -EFBIG;
    size_t cap = f->ov_cap ? f->ov_cap : 4096;
    while (cap < need) cap *= 2;
    unsigned char *p = realloc(f->ov, cap);
    if (p == NULL) return -ENOMEM;
    f->ov = p;
    f->ov_cap = cap;
    return 0;
}

/* Makes the overlay start at or before off (reading the durable bytes in between). */
static int ff_overlay_from(ff_file_t *f, size_t off) {
    if (off >= f->ov_off) return 0;
    size_t add = f->ov_off - off, have = f->len - f->ov_off;
    int rc = ff_overlay_reserve(f, have + add);
    if (rc != 0) return rc;
    memmove(f->ov + add, f->ov, have);
    ssize_t n = pread(f->fd, f->ov, add, (off_t)off);
    if (n < 0) return -errno;
    if ((size_t)n < add) memset(f->ov + n, 0, add - (size_t)n);
    f->ov_off = off;
    return 0;
}

/* The file as processes see it is cut or extended (zeros) to len. */
static int ff_resize(ff_file_t *f, size_t len) {
    if (len <= f->ov_off) f->writes = 0; /* every unsynced write is cut away */
    if (len < f->ov_off) {
        f->ov_off = len;
    } else if (len > f->len) {
        int rc = ff_overlay_reserve(f, len - f->ov_off);
        if (rc != 0) return rc;
        memset(f->ov + (f->len - f->ov_off), 0, len - f->len);
    }
    f->len = len;
    return 0;
}

/* Writes the overlay's first n bytes to the backing file; with cut, the backing file then
 * ends there. Returns 0 or -errno. */
static int ff_persist(ff_file_t *f, size_t n, int cut) {
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(f->fd, f->ov + done, n - done, (off_t)(f->ov_off + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? -errno : -EIO;
        done += (size_t)w;
    }
    size_t end = f->ov_off + n;
    if (cut && ftruncate(f->fd, (off_t)end) < 0) return -errno;
    if (cut || end > f->dlen) f->dlen = end;
    if (f->len > end) memmove(f->ov, f->ov + n, f->len - end); /* ov may be NULL when empty */
    f->ov_off = end;
    return 0;
}

/* A power cut: every entry's overlay dropped; the log file keeps a torn prefix of its
 * unsynced append when the settings draw one. */
static void ff_cut(void) {
    ff.counts.cuts++;
    for (ff_file_t *f = ff.files, *next; f != NULL; f = next) {
        next = f->next;
        size_t unsynced = f->len - f->ov_off;
        size_t keep = 0;
        if (f->is_log) {
            ff.counts.unsynced += f->writes;
            if (f->dlen == f->ov_off) keep = disk_fate_keep(&ff.rng, &ff.disk, unsynced);
        }
        if (keep > 0 && ff_persist(f, keep, 1) == 0) {
            char last = 0;
            if (pread(f->fd, &last, 1, (off_t)(f->dlen - 1)) == 1 && last != '\n') ff.counts.torn++;
        } else {
            keep = 0;
        }
        ff.counts.bytes_kept += keep;
        ff.counts.bytes_lost += unsynced - keep;
        struct stat st;
        if (fstat(f->fd, &st) == 0) f->dlen = (size_t)st.st_size;
        f->len = f->ov_off = f->dlen;
        f->writes = 0;
        ff_release_if_idle(f);
    }
    ff.gen++;
    ff.off = 1;
    pthread_cond_broadcast(&ff.cv);
}

/* ---- the FUSE operations ---- */

static ff_handle_t *ff_h(const struct fuse_file_info *fi) {
    return fi != NULL && fi->fh != 0 ? (ff_handle_t *)(uintptr_t)fi->fh : NULL;
}

static void *ff_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
    (void)conn;
    cfg->direct_io = 1;       /* no page cache: reads and writes all come here */
    cfg->kernel_cache = 0;
    cfg->attr_timeout = 0;
    cfg->entry_timeout = 0;
    cfg->negative_timeout = 0;
    cfg->hard_remove = 1;     /* an unlinked open file is gone, not renamed .fuse_hidden */
    cfg->nullpath_ok = 1;
    return NULL;
}

static int ff_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
    pthread_mutex_lock(&ff.mu);
    ff_handle_t *h = ff_h(fi);
    ff_file_t *f = h != NULL ? h->f : path != NULL ? ff_find(ff_rel(path)) : NULL;
    int rc = f != NULL ? fstat(f->fd, st) : fstatat(ff.root_fd, ff_rel(path), st, AT_SYMLINK_NOFOLLOW);
    rc = rc < 0 ? -errno : 0;
    if (rc == 0 && f != NULL) st->st_size = (off_t)f->len;
    pthread_mutex_unlock(&ff.mu);
    return rc;
}

static int ff_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
                      enum fuse_readdir_flags flags) {
    (void)off;
    (void)fi;
    (void)flags;
    int fd = openat(ff.root_fd, ff_rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (fill(buf, e->d_name, NULL, 0, 0) != 0) break;
    }
    closedir(d);
    return 0;
}

static int ff_refuse_off(void) {
    if (!ff.off) return 0;
    ff.counts.refused++;
    ff_publish();
    return -EIO;
}

static int ff_mkdir(const char *path, mode_t mode) {
    pthread_mutex_lock(&ff.mu);
    int rc = ff_refuse_off();
    if (rc == 0 && mkdirat(ff.root_fd, ff_rel(path), mode) < 0) rc = -errno;
    pthread_mutex_unlock(&ff.mu);
    return rc;
}

static int ff_rmdir(const char *path) {
    pthread_mutex_lock(&ff.mu);
    int rc = ff_refuse_off();
    if (rc == 0 && unlinkat(ff.root_fd, ff_rel(path), AT_REMOVEDIR) < 0) rc = -errno;
    pthread_mutex_unlock(&ff.mu);
    return rc;
}

static void ff_forget(ff_file_t *f) {
    if (f == NULL) return;
    f->path[0] = '\0';
    ff_release_if_idle(f);
}

static int ff_unlink(const char *path) {
    pthread_mutex_lock(&ff.mu);
    const char *rel = ff_rel(path);
    int rc = ff_refuse_off();
    if (rc == 0 && unlinkat(ff.root_fd, rel, 0) < 0) rc = -errno;
    if (rc == 0) ff_forget(ff_find(rel));
    pthread_mutex_unlock(&ff.mu);
    return rc;
}

static int ff_rename(const char *from, const char *to, unsigned int flags) {
    pthread_mutex_lock(&ff.mu);
    const char *rf = ff_rel(from), *rt = ff_rel(to);
    int rc = ff_refuse_off();
    if (rc == 0 && renameat2(ff.root_fd, rf, ff.root_fd, rt, flags) < 0) rc = -errno;
    if (rc == 0 && strlen(rt) >= FAULTFS_PATH_BYTES) rc = -ENAMETOOLONG;
    if (rc == 0) {
        ff_file_t *src = ff_find(rf), *dst = ff_find(rt);
        if (dst != NULL && dst != src) ff_forget(dst);
        if (src != NULL) {
            snprintf(src->path, sizeof(src->path), "%s", rt);
            src->is_log = ff.log_name[0] != '\0' && strcmp(rt, ff.log_name) == 0;
        }
    }
    pthread_mutex_unlock(&ff.mu);
    return rc;
}

static int ff_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
    pthread_mutex_lock(&ff.mu);
    int rc = ff_refuse_off(), e = 0;
    ff_handle_t *h = ff_h(fi);
    ff_file_t *f = rc != 0 ? NULL : h != NULL ? h->f : ff_entry(ff_rel(path), &e);
    if (rc == 0 && f == NULL) rc = -e;
    if (rc == 0) rc = ff_resize(f, (size_t)size);
    if (f != NULL && h == NULL) ff_release_if_idle(f);
    pthread_mutex_unlock(&ff.mu);
    return rc;
}

/* Opens (after create, when created) with a handle on the entry of rel. */
static int ff_open_entry(const char *rel, struct fuse_file_info *fi) {
    int e = 0;
    ff_file_t *f = ff_entry(rel, &e);
    if (f == NULL) return -e;
    ff_handle_t *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        ff_release_if_idle(f);
        return -ENOMEM;
    }
    h->f = f;
    h->flags = fi->flags;
    f->handles++;
    if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY) (void)ff_resize(f, 0);
    fi->fh = (uint64_t)(uintptr_t)h;
    fi->direct_io = 1;
    fi->keep_cache = 0;
    return 0;
}

static int ff_open(const char *path, struct fuse_file_info *fi) {
    pthread_mutex_lock(&ff.mu);
    int rc = (fi->flags & O_ACCMODE) != O_RDONLY ? ff_refuse_off() : 0;
    if (rc == 0) rc = ff_open_entry(ff_rel(path), fi);
    pthread_mutex_unlock(&ff.mu);
    return rc;
}

static int ff_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
    pthread_mutex_lock(&ff.mu);
    const char *rel = ff_rel(path);
    int rc = ff_refuse_off();
    if (rc == 0) {
        int fd = openat(ff.root_fd, rel, (fi->flags & (O_EXCL | O_TRUNC)) | O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                        mode);
        if (fd < 0) rc = -errno;
        else close(fd);
    }
    if (rc == 0) rc = ff_open_entry(rel, fi);
    pthread_mutex_unlock(&ff.mu);
    return rc;
}

static int ff_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)path;
    pthread_mutex_lock(&ff.mu);
    ff_file_t *f = ff_h(fi)->f;
    size_t at = (size_t)off, got = 0;
    int rc = 0;
    if (at < f->len) {
        size_t n = f->len - at < size ? f->len - at : size;
        if (at < f->ov_off) {
            size_t part = f->ov_off - at < n ? f->ov_off - at : n;
            ssize_t r = pread(f->fd, buf, part, (off_t)at);
            if (r < 0) rc = -errno;
            else if ((size_t)r < part) memset(buf + r, 0, part - (size_t)r);
            got = part;
        }
        if (rc == 0 && got < n) {
            memcpy(buf + got, f->ov + (at + got - f->ov_off), n - got);
            got = n;
        }
    }
    pthread_mutex_unlock(&ff.mu);
    return rc < 0 ? rc : (int)got;
}

static int ff_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)path;
    pthread_mutex_lock(&ff.mu);
    ff_handle_t *h = ff_h(fi);
    ff_file_t *f = h->f;
    int rc = ff_refuse_off();
    /* O_APPEND: the end as this file system sees it (the kernel's idea of the size may be
     * stale after a power cut) */
    size_t at = (h->flags & O_APPEND) ? f->len : (size_t)off;
    /* the disk's errors (the log file's writes only, as the simulator's appends): half of
     * the write goes in, then ENOSPC or EIO */
    size_t kept = size;
    int fate = rc == 0 && f->is_log ? disk_fate_write(&ff.rng, &ff.disk, size, &kept) : DISK_FATE_OK;
    if (fate == DISK_FATE_OK) kept = size;
    if (rc == 0) rc = ff_overlay_from(f, at < f->len ? at : f->len);
    if (rc == 0 && at > f->len) rc = ff_resize(f, at);
    if (rc == 0) rc = ff_overlay_reserve(f, at + kept - f->ov_off);
    if (rc == 0) {
        memcpy(f->ov + (at - f->ov_off), buf, kept);
        if (at + kept > f->len) f->len = at + kept;
        f->writes += fate == DISK_FATE_OK; /* a failed one is no append awaiting its sync */
        ff.counts.writes++;
        if (fate != DISK_FATE_OK) {
            rc = fate == DISK_FATE_NOSPACE ? -ENOSPC : -EIO;
            if (fate == DISK_FATE_NOSPACE) ff.counts.nospace++;
            else ff.counts.eio++;
        }
        ff_publish();
    }
    pthread_mutex_unlock(&ff.mu);
    return rc < 0 ? rc : (int)size;
}

/* fsync / fdatasync: after the drawn delay (the log file's, or every file's without one),
 * the bytes written before the call are durable; a power cut meanwhile fails it. */
static int ff_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
    (void)path;
    (void)datasync;
    pthread_mutex_lock(&ff.mu);
    ff_file_t *f = ff_h(fi)->f;
    int rc = ff_refuse_off();
    if (rc == 0 && ff_dirty(f)) {
        uint64_t gen = ff.gen, writes = f->writes;
        size_t upto = f->len;
        /* only a sync of appended bytes takes the drawn time, as in the simulator (its
         * marker, truncation and torn-file changes are durable at once) */
        if ((ff.log_name[0] == '\0' || f->is_log) && writes > 0) {
            uint64_t now = ff_now_us(), delay = disk_fate_sync_us(&ff.rng, &ff.disk);
            uint64_t at = now + delay > ff.last_sync_at_us ? now + delay : ff.last_sync_at_us;
            ff.last_sync_at_us = at;
            if (at - now > ff.late_us) ff.counts.slow_syncs++;
            ff_publish(); /* a slow sync touches what waits for it from now on */
            struct timespec ts = {.tv_sec = (time_t)(at / 1000000u), .tv_nsec = (long)(at % 1000000u) * 1000};
            while (ff.gen == gen && ff_now_us() < at) pthread_cond_timedwait(&ff.cv, &ff.mu, &ts);
        }
        if (ff.gen != gen) {
            rc = -EIO; /* the power went while it waited: nothing became durable */
        } else if (f->is_log && writes > 0 && disk_fate_sync(&ff.rng, &ff.disk) != DISK_FATE_OK) {
            /* "eio-sync": nothing became durable; the bytes stay as processes see them
             * (a later sync would write them: the backend must not count on either) */
            rc = -EIO;
            ff.counts.eio++;
        } else {
            size_t n = upto > f->ov_off ? (upto < f->len ? upto : f->len) - f->ov_off : 0;
            rc = ff_persist(f, n, f->len <= upto); /* no later write: the file ends there */
            if (rc == 0) {
                f->writes -= writes < f->writes ? writes : f->writes;
                ff.counts.syncs++;
            }
        }
        ff_publish();
    }
    pthread_mutex_unlock(&ff.mu);
    return rc;
}

static int ff_flush(const char *path, struct fuse_file_info *fi) {
    (void)path;
    (void)fi;
    return 0; /* close() is no sync */
}

static int ff_release(const char *path, struct fuse_file_info *fi) {
    (void)path;
    pthread_mutex_lock(&ff.mu);
    ff_handle_t *h = ff_h(fi);
    if (h != NULL) {
        h->f->handles--;
        ff_release_if_idle(h->f);
        free(h);
        fi->fh = 0;
    }
    pthread_mutex_unlock(&ff.mu);
    return 0;
}

static int ff_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi) {
    (void)path;
    (void)datasync;
    (void)fi;
    return 0; /* namespace changes are durable at once (the simulator's marker and torn file) */
}

static int ff_statfs(const char *path, struct statvfs *st) {
    (void)path;
    return fstatvfs(ff.root_fd, st) < 0 ? -errno : 0;
}

static int ff_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
    (void)fi;
    return fchmodat(ff.root_fd, ff_rel(path), mode, 0) < 0 ? -errno : 0;
}

static int ff_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
    (void)fi;
    return utimensat(ff.root_fd, ff_rel(path), tv, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static const struct fuse_operations ff_ops = {
    .init = ff_init,
    .getattr = ff_getattr,
    .readdir = ff_readdir,
    .mkdir = ff_mkdir,
    .rmdir = ff_rmdir,
    .unlink = ff_unlink,
    .rename = ff_rename,
    .truncate = ff_truncate,
    .open = ff_open,
    .create = ff_create,
    .read = ff_read,
    .write = ff_write,
    .fsync = ff_fsync,
    .flush = ff_flush,
    .release = ff_release,
    .fsyncdir = ff_fsyncdir,
    .statfs = ff_statfs,
    .chmod = ff_chmod,
    .utimens = ff_utimens,
    /* no .flock, no .lock: the kernel keeps flock locks itself (FUSE without
     * FUSE_CAP_FLOCK_LOCKS), which is exact on one machine */
};

/* The control thread: carries out each command handed through ff.ctl and acknowledges it. */
static void *ff_control(void *arg) {
    (void)arg;
    while (!ff.stop) {
        struct pollfd p = {.fd = ff.wake_fd, .events = POLLIN};
        (void)poll(&p, 1, FF_POLL_MS);
        uint64_t drain;
        (void)!read(ff.wake_fd, &drain, sizeof(drain));
        uint64_t wanted = __atomic_load_n(&ff.ctl->wanted, __ATOMIC_ACQUIRE);
        if (wanted == __atomic_load_n(&ff.ctl->acked, __ATOMIC_RELAXED)) continue;
        pthread_mutex_lock(&ff.mu);
        switch (ff.ctl->cmd) {
        case FAULTFS_CMD_SET:
            ff.disk = ff.ctl->want;
            ff.late_us = ff.ctl->late_us;
            break;
        case FAULTFS_CMD_CUT: ff_cut(); break;
        case FAULTFS_CMD_ON: ff.off = 0; break;
        default: break;
        }
        ff_publish();
        pthread_mutex_unlock(&ff.mu);
        __atomic_store_n(&ff.ctl->acked, wanted, __ATOMIC_RELEASE);
    }
    return NULL;
}

static void ff_on_stop(int sig) {
    (void)sig;
    (void)umount2(ff_dir, MNT_DETACH); /* the loop then ends: /dev/fuse says ENODEV */
}

/* The child: mounts over dir, says so on ready_fd ('+', or the error's text), serves until
 * the mount goes (faultfs_stop unmounts; a SIGTERM, also when the runner dies, unmounts
 * lazily). Never returns. */
static void ff_child(faultfs_t *fs, const char *log_name, uint64_t seed, int ready_fd) {
    char err[FAULTFS_ERR_BYTES];
    (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
    snprintf(ff_dir, sizeof(ff_dir), "%s", fs->dir);
    struct sigaction sa = {0};
    sa.sa_handler = ff_on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    ff.ctl = fs->ctl;
    ff.wake_fd = fs->wake_fd;
    ff.disk = fs->ctl->want;
    ff.late_us = fs->ctl->late_us;
    snprintf(ff.log_name, sizeof(ff.log_name), "%s", log_name);
    prng_init(&ff.rng, seed);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ff.cv, &ca);
    pthread_mutex_init(&ff.mu, NULL);
    ff.root_fd = open(fs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ff.root_fd < 0) {
        snprintf(err, sizeof(err), "cannot open %s: %s", fs->dir, strerror(errno));
        (void)!write(ready_fd, err, strlen(err));
        _exit(1);
    }
    char fsname[64];
    snprintf(fsname, sizeof(fsname), "fsname=%s.%ld,subtype=alichain", FAULTFS_FSNAME, (long)getppid());
    char *argv[] = {"alichain-faultfs", "-o", fsname, NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, argv);
    struct fuse *f = fuse_new(&args, &ff_ops, sizeof(ff_ops), NULL);
    if (f == NULL || fuse_mount(f, fs->dir) != 0) {
        snprintf(err, sizeof(err), "cannot mount the fault file system over %s", fs->dir);
        (void)!write(ready_fd, err, strlen(err));
        _exit(1);
    }
    pthread_t ctl;
    if (pthread_create(&ctl, NULL, ff_control, NULL) != 0) {
        fuse_unmount(f);
        (void)!write(ready_fd, "no control thread", 17);
        _exit(1);
    }
    (void)!write(ready_fd, "+", 1);
    close(ready_fd);
    struct fuse_loop_config *cfg = fuse_loop_cfg_create();
    if (cfg != NULL) fuse_loop_cfg_set_max_threads(cfg, 8);
    (void)fuse_loop_mt(f, cfg);
    ff.stop = 1;
    pthread_join(ctl, NULL);
    fuse_unmount(f);
    fuse_destroy(f);
    if (cfg != NULL) fuse_loop_cfg_destroy(cfg);
    _exit(0);
}

int faultfs_available(char *err, size_t cap) {
    if (geteuid() != 0) return ff_fail(err, cap, "fault file system unavailable", "not root");
    int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0) return ff_fail(err, cap, "fault file system unavailable: /dev/fuse", strerror(errno));
    close(fd);
    return 0;
}

#else /* built without libfuse3 */

static void ff_child(faultfs_t *fs, const char *log_name, uint64_t seed, int ready_fd) {
    (void)fs;
    (void)log_name;
    (void)seed;
    (void)!write(ready_fd, "built without libfuse3", 22);
    _exit(1);
}

int faultfs_available(char *err, size_t cap) {
    return ff_fail(err, cap, "fault file system unavailable",
                   "built without libfuse3 (install libfuse3-dev: make deps, then rebuild)");
}

#endif

/* ---- the runner's side ---- */

int faultfs_start(faultfs_t *fs, const char *dir, const char *log_name, uint64_t seed, const sim_disk_t *d,
                  uint64_t late_us, char *err, size_t cap) {
    memset(fs, 0, sizeof(*fs));
    fs->wake_fd = -1;
    if (strlen(dir) >= sizeof(fs->dir)) return ff_fail(err, cap, "fault file system", "path too long");
    snprintf(fs->dir, sizeof(fs->dir), "%s", dir);
    faultfs_control_t *ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ctl == MAP_FAILED) return ff_fail(err, cap, "mmap", strerror(errno));
    fs->ctl = ctl;
    ctl->want = *d;
    ctl->late_us = late_us;
    fs->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int p[2] = {-1, -1};
    if (fs->wake_fd < 0 || pipe2(p, O_CLOEXEC) < 0) {
        int e = errno;
        faultfs_stop(fs);
        return ff_fail(err, cap, "fault file system", strerror(e));
    }
    pid_t pid = proc_fork();
    if (pid == 0) {
        close(p[0]);
        ff_child(fs, log_name, seed, p[1]);
        _exit(1);
    }
    close(p[1]);
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        faultfs_stop(fs);
        return ff_fail(err, cap, "fork", strerror(e));
    }
    fs->pid = pid;
    char msg[FAULTFS_ERR_BYTES] = "";
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    int ready = poll(&pfd, 1, FAULTFS_READY_TIMEOUT_MS);
    ssize_t got = ready > 0 ? read(p[0], msg, sizeof(msg) - 1) : -1;
    close(p[0]);
    if (got == 1 && msg[0] == '+') return 0;
    if (got > 0) msg[got] = '\0';
    snprintf(err, cap, "fault file system over %s: %s", dir,
             got > 0 ? msg : ready == 0 ? "not mounted in time" : "exited before it mounted");
    faultfs_stop(fs);
    return -1;
}

int faultfs_command(faultfs_t *fs, uint32_t cmd, const sim_disk_t *d, char *err, size_t cap) {
    if (fs->ctl == NULL || fs->pid <= 0) return ff_fail(err, cap, "fault file system", "not mounted");
    faultfs_control_t *c = fs->ctl;
    if (d != NULL) c->want = *d;
    c->cmd = cmd;
    uint64_t seq = __atomic_load_n(&c->wanted, __ATOMIC_RELAXED) + 1;
    __atomic_store_n(&c->wanted, seq, __ATOMIC_RELEASE);
    uint64_t one = 1;
    (void)!write(fs->wake_fd, &one, sizeof(one));
    uint64_t deadline = proc_now_us() + FAULTFS_ACK_TIMEOUT_MS * 1000ull;
    while (__atomic_load_n(&c->acked, __ATOMIC_ACQUIRE) != seq) {
        if (proc_now_us() >= deadline) {
            snprintf(err, cap, "the fault file system over %s did not acknowledge within %d ms", fs->dir,
                     FAULTFS_ACK_TIMEOUT_MS);
            return -1;
        }
        proc_sleep_us(FAULTFS_ACK_POLL_US);
    }
    return 0;
}

void faultfs_counts(const faultfs_t *fs, faultfs_counts_t *out) {
    memset(out, 0, sizeof(*out));
    if (fs->ctl == NULL) return;
    const faultfs_counts_t *p = &fs->ctl->published;
    out->writes = __atomic_load_n(&p->writes, __ATOMIC_RELAXED);
    out->syncs = __atomic_load_n(&p->syncs, __ATOMIC_RELAXED);
    out->slow_syncs = __atomic_load_n(&p->slow_syncs, __ATOMIC_RELAXED);
    out->cuts = __atomic_load_n(&p->cuts, __ATOMIC_RELAXED);
    out->unsynced = __atomic_load_n(&p->unsynced, __ATOMIC_RELAXED);
    out->torn = __atomic_load_n(&p->torn, __ATOMIC_RELAXED);
    out->bytes_lost = __atomic_load_n(&p->bytes_lost, __ATOMIC_RELAXED);
    out->bytes_kept = __atomic_load_n(&p->bytes_kept, __ATOMIC_RELAXED);
    out->refused = __atomic_load_n(&p->refused, __ATOMIC_RELAXED);
    out->nospace = __atomic_load_n(&p->nospace, __ATOMIC_RELAXED);
    out->eio = __atomic_load_n(&p->eio, __ATOMIC_RELAXED);
}

void faultfs_stop(faultfs_t *fs) {
    if (fs->pid > 0) {
        if (umount2(fs->dir, 0) < 0) (void)umount2(fs->dir, MNT_DETACH);
        uint64_t deadline = proc_now_us() + FAULTFS_STOP_TIMEOUT_MS * 1000ull;
        while (waitpid(fs->pid, NULL, WNOHANG) == 0) {
            if (proc_now_us() >= deadline) {
                kill(fs->pid, SIGKILL);
                (void)waitpid(fs->pid, NULL, 0);
                break;
            }
            proc_sleep_us(FAULTFS_REAP_TICK_US);
        }
        (void)umount2(fs->dir, MNT_DETACH); /* a child killed while mounted leaves it */
        fs->pid = 0;
    }
    if (fs->ctl != NULL) munmap(fs->ctl, sizeof(*fs->ctl));
    fs->ctl = NULL;
    if (fs->wake_fd >= 0) close(fs->wake_fd);
    fs->wake_fd = -1;
}

int faultfs_sweep(void) {
    FILE *m = fopen("/proc/self/mounts", "r");
    if (m == NULL) return 0;
    char line[2 * FAULTFS_PATH_BYTES + 256];
    char dirs[16][FAULTFS_PATH_BYTES];
    int n = 0;
    const size_t prefix = strlen(FAULTFS_FSNAME) + 1;
    while (n < 16 && fgets(line, sizeof(line), m) != NULL) {
        char dev[128], dir[FAULTFS_PATH_BYTES];
        if (sscanf(line, "%127s %255s", dev, dir) != 2) continue;
        if (strncmp(dev, FAULTFS_FSNAME ".", prefix) != 0) continue;
        long pid = strtol(dev + prefix, NULL, 10);
        if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH)) continue; /* its runner lives */
        snprintf(dirs[n++], FAULTFS_PATH_BYTES, "%s", dir);
    }
    fclose(m);
    int removed = 0;
    for (int i = 0; i < n; i++) removed += umount2(dirs[i], MNT_DETACH) == 0;
    return removed;
}
