/* relay.c — the UDP fault relay (see relay.h): first the pure plan (parse, push, pop,
 * counters, the control block; no clock, no socket), then relay_serve(), the poll() loop
 * that feeds it.
 * The queue is an array scanned for its earliest item: O(RELAY_QUEUE_MAX), fine here. */
#include "relay.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "proc/proc.h"

_Static_assert(RELAY_DGRAM_BYTES_MAX > DGRAM_BYTES_MAX, "the relay carries any protocol datagram");
_Static_assert(RELAY_DGRAM_BYTES_MAX >= AUTH_DGRAM_BYTES_MAX, "the relay carries any sealed datagram");
_Static_assert(UDP_FATE_COPIES_MAX == 2, "a datagram is queued at most twice");
_Static_assert(sizeof(relay_counts_t) % sizeof(uint64_t) == 0, "the counters are published as words");

#define RELAY_HOST_BYTES 64
#define PPM_PER_PCT 10000u
#define RELAY_READS_PER_EVENT 64  /* datagrams read from one socket per poll() turn */

static int relay_fail(char *err, size_t cap, const char *msg, const char *what) {
    snprintf(err, cap, "%s \"%s\"", msg, what);
    return RELAY_ERR_ARG;
}

/* A decimal number 0..max ending at *end (one of stop_chars or NUL). */
static int parse_num(const char **p, uint32_t max, uint32_t *out) {
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9') return -1;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > max) return -1;
        s++;
    }
    *out = (uint32_t)v;
    *p = s;
    return 0;
}

int relay_fault_parse(char *err, size_t cap, const char *spec, relay_fault_t *f) {
    memset(f, 0, sizeof(*f));
    if (strcmp(spec, "none") == 0) return 0;
    const char *p = spec;
    while (*p) {
        uint32_t lo = 0, hi = 0, pct = 0;
        if (strncmp(p, "delay=", 6) == 0) {
            p += 6;
            if (parse_num(&p, RELAY_DELAY_MS_MAX, &lo) < 0)
                return relay_fail(err, cap, "delay is not 0..60000 ms in", spec);
            hi = lo;
            if (*p == '-') {
                p++;
                if (parse_num(&p, RELAY_DELAY_MS_MAX, &hi) < 0 || hi < lo)
                    return relay_fail(err, cap, "delay range is not LO-HI with LO <= HI <= 60000 in", spec);
            }
            f->delay_min_us = (uint64_t)lo * 1000u;
            f->delay_max_us = (uint64_t)hi * 1000u;
        } else if (strncmp(p, "dup=", 4) == 0) {
            p += 4;
            if (parse_num(&p, 100, &pct) < 0) return relay_fail(err, cap, "dup is not 0..100 in", spec);
            f->dup_ppm = pct * PPM_PER_PCT;
        } else if (strncmp(p, "loss=", 5) == 0) {
            p += 5;
            if (parse_num(&p, 100, &pct) < 0) return relay_fail(err, cap, "loss is not 0..100 in", spec);
            f->loss_ppm = pct * PPM_PER_PCT;
        } else if (strncmp(p, "reorder=", 8) == 0) {
            p += 8;
            if (parse_num(&p, 100, &pct) < 0) return relay_fail(err, cap, "reorder is not 0..100 in", spec);
            f->reorder_ppm = pct * PPM_PER_PCT;
        } else {
            return relay_fail(err, cap, "expected delay=LO-HI, dup=PCT, reorder=PCT, loss=PCT or none in", spec);
        }
        if (*p == ',') p++;
        else if (*p != '\0') return relay_fail(err, cap, "expected ',' between faults in", spec);
    }
    return 0;
}

void relay_init(relay_t *r, uint64_t seed, const relay_fault_t fault[RELAY_DIRS]) {
    memset(r, 0, offsetof(relay_t, items));
    prng_init(&r->prng, seed);
    for (int d = 0; d < RELAY_DIRS; d++) r->fault[d] = fault[d];
}

/* One queued copy, due after its drawn delay (hold included). */
static int relay_queue(relay_t *r, uint64_t now_us, uint64_t delay_us, int held, int link, int dir, uint64_t seq,
                       const uint8_t *data, size_t len) {
    relay_counts_t *c = &r->counts[dir];
    if (r->count == RELAY_QUEUE_MAX) {
        c->dropped_full++;
        return RELAY_ERR_FULL;
    }
    if (held) c->held++;
    if (delay_us > 0) c->delayed++;
    relay_item_t *it = &r->items[r->count++];
    it->due_us = now_us + delay_us;
    it->seq = seq;
    it->link = link;
    it->dir = dir;
    it->len = len;
    memcpy(it->data, data, len);
    return 0;
}

int relay_push(relay_t *r, uint64_t now_us, int link, int dir, const uint8_t *data, size_t len) {
    if (link < 0 || link >= RELAY_LINKS_MAX || dir < 0 || dir >= RELAY_DIRS || len > RELAY_DGRAM_BYTES_MAX)
        return RELAY_ERR_ARG;
    relay_counts_t *c = &r->counts[dir];
    c->received++;
    if (r->cut[dir]) { /* before any draw, as the simulator's send checks its partitions */
        c->cut++;
        return 0;
    }
    udp_fate_t fate; /* the simulator's draw (sim/world/link.c makes the same call) */
    udp_fate_draw(&r->prng, &r->fault[dir], &fate);
    if (fate.lost) {
        c->lost++;
        return 0;
    }
    uint64_t seq = r->next_seq[link][dir]++;
    if (fate.copies == 2) c->duplicated++;
    int rc = 0;
    for (int k = 0; k < fate.copies && rc == 0; k++)
        rc = relay_queue(r, now_us, fate.delay_us[k], fate.held[k], link, dir, seq, data, len);
    return rc;
}

void relay_forger_bind(relay_t *r, const auth_t *forger, const uint8_t link_backend[], int link_count) {
    assert(link_count >= 1 && link_count <= RELAY_LINKS_MAX);
    r->forger = *forger;
    for (int l = 0; l < link_count; l++) r->link_backend[l] = link_backend[l];
}

int relay_forge(relay_t *r, uint64_t now_us, int link, int kind, uint64_t seq) {
    if (link < 0 || link >= RELAY_LINKS_MAX || r->forger.mac == NULL || r->link_backend[link] < SIM_NODE_A ||
        r->link_backend[link] > SIM_NODE_C || kind < FORGE_WRITE || kind >= FORGE_KINDS)
        return RELAY_ERR_ARG;
    relay_counts_t *c = &r->counts[RELAY_DOWN];
    const uint8_t *last = r->last_m[link];
    size_t last_len = r->last_m_len[link];
    uint64_t incarnation = 0;
    if (last_len == 0 || (kind != FORGE_REPLAY && forge_incarnation(last, last_len, &incarnation) != 0)) {
        c->forge_blind++; /* nothing of serverM's seen on this link: nothing to work from */
        return 0;
    }
    if (kind == FORGE_REPLAY) {
        c->replayed++;
        (void)relay_push(r, now_us, link, RELAY_DOWN, last, last_len); /* a full queue counts its drop */
        return 1;
    }
    forge_dgram_t d[FORGE_DGRAMS_MAX];
    uint64_t epoch = 0; /* decoded only here, not for every reply the relay carries */
    if (r->last_up_len[link] > 0 && forge_epoch(r->last_up[link], r->last_up_len[link], &epoch) != 0) epoch = 0;
    int n = forge_build(&r->forger, r->link_backend[link] - SIM_NODE_A, kind, incarnation, epoch, &seq, d);
    for (int k = 0; k < n; k++) {
        c->forged++;
        (void)relay_push(r, now_us, link, RELAY_DOWN, d[k].data, d[k].len);
    }
    if (n < 0) c->forge_blind++; /* out of memory: nothing made */
    return n < 0 ? 0 : n;
}

static size_t relay_earliest(const relay_t *r) {
    size_t best = 0;
    for (size_t i = 1; i < r->count; i++) {
        const relay_item_t *a = &r->items[i], *b = &r->items[best];
        if (a->due_us < b->due_us || (a->due_us == b->due_us && a->seq < b->seq)) best = i;
    }
    return best;
}

uint64_t relay_next_due_us(const relay_t *r) {
    return r->count == 0 ? UINT64_MAX : r->items[relay_earliest(r)].due_us;
}

int relay_pop(relay_t *r, uint64_t now_us, relay_item_t *out) {
    size_t i;
    for (;;) {
        if (r->count == 0) return 0;
        i = relay_earliest(r);
        if (r->items[i].due_us > now_us) return 0;
        if (!r->cut[r->items[i].dir]) break;
        r->counts[r->items[i].dir].cut++; /* in flight when the partition began */
        r->items[i] = r->items[--r->count];
    }
    *out = r->items[i];
    r->items[i] = r->items[--r->count];
    relay_counts_t *c = &r->counts[out->dir];
    uint64_t *max_sent = &r->max_sent_seq[out->link][out->dir];
    c->forwarded++;
    if (out->seq + 1 < *max_sent) c->reordered++; /* a later datagram went first */
    if (out->seq + 1 > *max_sent) *max_sent = out->seq + 1;
    return 1;
}

void relay_counts_text(const relay_t *r, char *buf, size_t cap) {
    static const char *const names[RELAY_DIRS] = {"down", "up"};
    size_t used = 0;
    for (int d = 0; d < RELAY_DIRS && used < cap; d++) {
        const relay_counts_t *c = &r->counts[d];
        unsigned long long pending = 0; /* still held when the counters were read */
        for (size_t i = 0; i < r->count; i++) pending += r->items[i].dir == d;
        int n = snprintf(buf + used, cap - used,
                         "%s%s received=%llu lost=%llu cut=%llu forwarded=%llu pending=%llu duplicated=%llu "
                         "delayed=%llu held=%llu reordered=%llu dropped_full=%llu foreign=%llu "
                         "forged=%llu replayed=%llu forge_blind=%llu",
                         d ? "; " : "", names[d], (unsigned long long)c->received, (unsigned long long)c->lost,
                         (unsigned long long)c->cut,
                         (unsigned long long)c->forwarded,
                         pending, (unsigned long long)c->duplicated,
                         (unsigned long long)c->delayed, (unsigned long long)c->held,
                         (unsigned long long)c->reordered, (unsigned long long)c->dropped_full,
                         (unsigned long long)c->foreign, (unsigned long long)c->forged,
                         (unsigned long long)c->replayed, (unsigned long long)c->forge_blind);
        if (n < 0) return;
        used += (size_t)n;
    }
}

/* ---- the control block (relay.h): plain words in shared memory, ordered by the sequence */

uint32_t relay_control_set(relay_control_t *c, int dir, const relay_fault_t *f) {
    assert(dir >= 0 && dir < RELAY_DIRS);
    c->wanted[dir] = *f; /* the relay reads it only after it sees the new sequence */
    return __atomic_add_fetch(&c->wanted_seq, 1, __ATOMIC_RELEASE);
}

uint32_t relay_control_cut(relay_control_t *c, int dir, int cut) {
    assert(dir >= 0 && dir < RELAY_DIRS);
    c->cut_wanted[dir] = cut != 0;
    return __atomic_add_fetch(&c->wanted_seq, 1, __ATOMIC_RELEASE);
}

int relay_control_acked(const relay_control_t *c) {
    return __atomic_load_n(&c->applied_seq, __ATOMIC_ACQUIRE) == __atomic_load_n(&c->wanted_seq, __ATOMIC_ACQUIRE);
}

int relay_control_sync(relay_control_t *c, relay_t *r) {
    uint32_t seq = __atomic_load_n(&c->wanted_seq, __ATOMIC_ACQUIRE);
    int changed = seq != __atomic_load_n(&c->applied_seq, __ATOMIC_RELAXED);
    if (changed) {
        memcpy(r->fault, c->wanted, sizeof(r->fault));
        memcpy(r->cut, c->cut_wanted, sizeof(r->cut));
        __atomic_store_n(&c->applied_seq, seq, __ATOMIC_RELEASE);
    }
    const uint64_t *from = (const uint64_t *)r->counts;
    uint64_t *to = (uint64_t *)c->published;
    for (size_t i = 0; i < sizeof(r->counts) / (sizeof(uint64_t)); i++) __atomic_store_n(&to[i], from[i], __ATOMIC_RELAXED);
    return changed;
}

void relay_control_forge(relay_control_t *c, int link, int kind, uint64_t seq) {
    assert(link >= 0 && link < RELAY_LINKS_MAX);
    assert(kind >= FORGE_WRITE && kind < FORGE_KINDS);
    c->forge_link = (uint8_t)link; /* the relay reads them only after it sees the new sequence */
    c->forge_kind = (uint8_t)kind;
    c->forge_seq = seq;
    (void)__atomic_add_fetch(&c->forge_wanted, 1, __ATOMIC_RELEASE);
}

int relay_control_forged(const relay_control_t *c, uint32_t *sent) {
    if (__atomic_load_n(&c->forge_done, __ATOMIC_ACQUIRE) != __atomic_load_n(&c->forge_wanted, __ATOMIC_ACQUIRE))
        return 0;
    *sent = c->forge_sent; /* written before forge_done's release */
    return 1;
}

int relay_control_forge_take(relay_control_t *c, relay_t *r, uint64_t now_us) {
    uint32_t seq = __atomic_load_n(&c->forge_wanted, __ATOMIC_ACQUIRE);
    if (seq == __atomic_load_n(&c->forge_done, __ATOMIC_RELAXED)) return 0;
    int n = relay_forge(r, now_us, c->forge_link, c->forge_kind, c->forge_seq);
    c->forge_sent = n > 0 ? (uint32_t)n : 0;
    __atomic_store_n(&c->forge_done, seq, __ATOMIC_RELEASE);
    (void)relay_control_sync(c, r); /* publishes the forger's counts with the acknowledgement */
    return 1;
}

int relay_take(relay_t *r, relay_control_t *c, uint64_t now_us, int link, int dir, const uint8_t *data,
               size_t len) {
    if (c != NULL) {
        (void)relay_control_sync(c, r);
        (void)relay_control_forge_take(c, r, now_us);
    }
    if (dir == RELAY_DOWN && link >= 0 && link < RELAY_LINKS_MAX && len > 0 && len <= AUTH_DGRAM_BYTES_MAX) {
        memcpy(r->last_m[link], data, len); /* for the forger: replay, incarnation */
        r->last_m_len[link] = len;
    }
    if (dir == RELAY_UP && link >= 0 && link < RELAY_LINKS_MAX && len > 0 && len <= AUTH_DGRAM_BYTES_MAX) {
        memcpy(r->last_up[link], data, len); /* for the forger: the run its WRITE must name */
        r->last_up_len[link] = len;
    }
    return relay_push(r, now_us, link, dir, data, len);
}

/* ---- steps anchored to events (relay.h): a table every relay and the runner share ---- */

void relay_anchors_bind(relay_t *r, relay_anchors_t *a, int fd, const uint8_t link_backend[], int link_count) {
    assert(link_count >= 1 && link_count <= RELAY_LINKS_MAX);
    r->anchors = a;
    r->anchors_fd = fd;
    for (int l = 0; l < link_count; l++) r->link_backend[l] = link_backend[l];
}

uint32_t relay_anchors_see(relay_t *r, int link, int dir, const uint8_t *data, size_t len, uint64_t now_us) {
    relay_anchors_t *a = r->anchors;
    if (a == NULL) return 0;
    uint32_t count = __atomic_load_n(&a->count, __ATOMIC_ACQUIRE), fired = 0;
    int b = r->link_backend[link];
    int src = dir == RELAY_DOWN ? SIM_NODE_M : b, dst = dir == RELAY_DOWN ? b : SIM_NODE_M;
    for (uint32_t k = 0; k < count && k < SCN_ANCHORS_MAX; k++) {
        relay_anchor_t *x = &a->a[k];
        if (!scn_event_matches(&x->ev, src, dst, data, len)) continue;
        if (__atomic_add_fetch(&x->seen, 1, __ATOMIC_ACQ_REL) != x->ev.nth) continue;
        x->fired_us = now_us; /* published by the state's release below */
        __atomic_store_n(&x->state, RELAY_ANCHOR_FIRED, __ATOMIC_RELEASE);
        fired |= 1u << k;
    }
    return fired;
}

int relay_anchors_take(relay_anchors_t *a, uint64_t *fired_us) {
    uint32_t count = __atomic_load_n(&a->count, __ATOMIC_ACQUIRE);
    for (uint32_t k = 0; k < count && k < SCN_ANCHORS_MAX; k++) {
        uint32_t want = RELAY_ANCHOR_FIRED;
        if (__atomic_compare_exchange_n(&a->a[k].state, &want, RELAY_ANCHOR_TAKEN, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            *fired_us = a->a[k].fired_us;
            return (int)k;
        }
    }
    return -1;
}

void relay_anchors_done(relay_anchors_t *a, int k) {
    assert(k >= 0 && k < SCN_ANCHORS_MAX);
    __atomic_store_n(&a->a[k].state, RELAY_ANCHOR_DONE, __ATOMIC_RELEASE);
}

int relay_anchors_all_done(const relay_anchors_t *a, uint32_t mask) {
    for (int k = 0; k < SCN_ANCHORS_MAX; k++) {
        if ((mask >> k & 1u) && __atomic_load_n(&a->a[k].state, __ATOMIC_ACQUIRE) != RELAY_ANCHOR_DONE) return 0;
    }
    return 1;
}

/* ---- the poll() loop ------------------------------------------------------------------ */

/* Holds the datagram that fired the steps of mask: wakes the runner, then waits until it
 * has carried them out, applying (and acknowledging) any setting it hands meanwhile. */
static void anchors_hold(relay_t *r, relay_control_t *ctl, int wake_fd, uint32_t mask) {
    uint64_t one = 1;
    (void)!write(r->anchors_fd, &one, sizeof(one));
    uint64_t end_us = proc_now_us() + RELAY_ANCHOR_WAIT_MS * 1000ull;
    for (;;) {
        if (ctl != NULL) (void)relay_control_sync(ctl, r);
        if (ctl != NULL) (void)relay_control_forge_take(ctl, r, proc_now_us());
        if (relay_anchors_all_done(r->anchors, mask) || proc_now_us() >= end_us) return;
        struct pollfd p = {.fd = wake_fd, .events = POLLIN}; /* a negative fd: a plain 1 ms wait */
        if (poll(&p, 1, 1) > 0 && (p.revents & POLLIN)) {
            uint64_t drain[8];
            (void)!read(wake_fd, drain, sizeof(drain));
        }
    }
}


int relay_addr_parse(char *err, size_t cap, const char *text, struct sockaddr_in *a) {
    char host[RELAY_HOST_BYTES];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof(host)) return relay_fail(err, cap, "expected HOST:PORT, got", text);
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    const char *p = colon + 1;
    uint32_t port = 0;
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    if (parse_num(&p, 65535, &port) < 0 || *p != '\0' || port == 0 || inet_pton(AF_INET, host, &a->sin_addr) != 1)
        return relay_fail(err, cap, "expected an IPv4 address and a port 1..65535, got", text);
    a->sin_port = htons((uint16_t)port);
    return 0;
}

static int udp_bound(char *err, size_t cap, const struct sockaddr_in *at, int *fd_out) {
    char text[INET_ADDRSTRLEN] = "?";
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && bind(fd, (const struct sockaddr *)at, sizeof(*at)) == 0) {
        *fd_out = fd;
        return 0;
    }
    int e = errno;
    if (fd >= 0) close(fd);
    inet_ntop(AF_INET, &at->sin_addr, text, sizeof(text));
    snprintf(err, cap, "cannot bind UDP %s:%u: %s", text, (unsigned)ntohs(at->sin_port), strerror(e));
    return RELAY_ERR_SYS;
}

static int same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b) {
    return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

/* Reads what waits on one link's socket (front: from serverM, down; back: from the
 * backend, up) into the plan, each datagram under the latest setting of c. */
static void relay_read(relay_t *r, relay_control_t *ctl, int wake_fd, const relay_link_t *l, int link, int dir,
                       int fd) {
    const struct sockaddr_in *peer = dir == RELAY_DOWN ? &l->m_addr : &l->backend_addr;
    for (int i = 0; i < RELAY_READS_PER_EVENT; i++) {
        uint8_t buf[RELAY_DGRAM_BYTES_MAX];
        struct sockaddr_in src;
        socklen_t src_len = sizeof(src);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&src, &src_len);
        if (n < 0) return;
        if (src_len != sizeof(src) || !same_addr(&src, peer)) {
            r->counts[dir].foreign++;
            continue;
        }
        uint64_t now = proc_now_us();
        uint32_t fired = relay_anchors_see(r, link, dir, buf, (size_t)n, now);
        if (fired != 0) {
            anchors_hold(r, ctl, wake_fd, fired);
            now = proc_now_us(); /* its delay counts from when it was let go */
        }
        (void)relay_take(r, ctl, now, link, dir, buf, (size_t)n); /* a full queue counts its drop */
    }
}

int relay_bind(char *err, size_t cap, const relay_link_t *links, int link_count, int fds[]) {
    assert(link_count >= 1);
    assert(link_count <= RELAY_LINKS_MAX);
    for (int i = 0; i < link_count * RELAY_DIRS; i++) {
        const relay_link_t *l = &links[i / 2];
        int rc = udp_bound(err, cap, i % 2 ? &l->back_bind : &l->front_bind, &fds[i]);
        if (rc < 0) {
            while (i-- > 0) close(fds[i]);
            return rc;
        }
    }
    return 0;
}

void relay_serve(relay_t *r, const relay_link_t *links, int link_count, const int fds[],
                 volatile sig_atomic_t *stop, uint64_t for_ms, relay_control_t *c, int wake_fd) {
    struct pollfd pfds[RELAY_LINKS_MAX * RELAY_DIRS + 1];
    int nfds = link_count * RELAY_DIRS;
    assert(link_count >= 1);
    assert(link_count <= RELAY_LINKS_MAX);
    uint64_t end_us = for_ms ? proc_now_us() + for_ms * 1000u : UINT64_MAX;
    while (!*stop) {
        if (c != NULL) (void)relay_control_sync(c, r); /* also acknowledges a setting no datagram met yet */
        uint64_t now = proc_now_us();
        if (c != NULL) (void)relay_control_forge_take(c, r, now); /* queued: sent below when due */
        if (now >= end_us) break;
        relay_item_t it;
        while (relay_pop(r, now, &it)) {
            const relay_link_t *l = &links[it.link];
            int fd = it.dir == RELAY_DOWN ? fds[2 * it.link + 1] : fds[2 * it.link];
            const struct sockaddr_in *to = it.dir == RELAY_DOWN ? &l->backend_addr : &l->m_addr;
            (void)sendto(fd, it.data, it.len, 0, (const struct sockaddr *)to, sizeof(*to)); /* UDP: may be lost */
        }
        uint64_t due = relay_next_due_us(r);
        uint64_t wake = due < end_us ? due : end_us;
        uint64_t wait_ms = wake > now ? (wake - now + 999) / 1000 : 0;
        if (wait_ms > RELAY_POLL_MS_MAX) wait_ms = RELAY_POLL_MS_MAX;
        for (int i = 0; i < nfds; i++) pfds[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        pfds[nfds] = (struct pollfd){.fd = wake_fd, .events = POLLIN}; /* a negative fd is ignored */
        if (poll(pfds, (nfds_t)nfds + 1, (int)wait_ms) <= 0) continue; /* timeout, or EINTR: look at *stop */
        if (wake_fd >= 0 && (pfds[nfds].revents & POLLIN)) {
            uint64_t drain[8];
            (void)!read(wake_fd, drain, sizeof(drain)); /* an eventfd resets; a pipe gives up to 64 wakes */
        }
        for (int i = 0; i < nfds; i++)
            if (pfds[i].revents & POLLIN)
                relay_read(r, c, wake_fd, &links[i / 2], i / 2, i % 2 ? RELAY_UP : RELAY_DOWN, fds[i]);
    }
}
