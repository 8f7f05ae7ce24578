/* forge.c — the forger's datagrams (forge.h), shared by the simulator's forger and the real
 * hosts' relay. Pure: no clock, no socket; the MAC is the caller's auth_t. */
#include "forge.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* 32 bytes: the string's NUL is not part of the key */
const uint8_t forge_key[AUTH_KEY_BYTES] = "a forger's key, not the servers";
_Static_assert(sizeof("a forger's key, not the servers") == AUTH_KEY_BYTES, "the key fills AUTH_KEY_BYTES");

/* Encodes req and seals it with the next sequence number into *d. */
static void forge_seal(const auth_t *forger, int backend, wire_req_t *req, uint64_t *seq, forge_dgram_t *d) {
    uint8_t msg[AUTH_DGRAM_BYTES_MAX];
    req->request_id = ++*seq;
    size_t n = wire_req_encode(req, msg, DGRAM_BYTES_MAX);
    AC_ASSERT(n > 0); /* a fixed, valid message */
    d->len = auth_seal(forger, backend, *seq, msg, n, d->data, sizeof(d->data));
    AC_ASSERT(d->len > n);
}

int forge_build(const auth_t *forger, int backend, int kind, uint64_t incarnation, uint64_t epoch,
                uint64_t *seq, forge_dgram_t out[FORGE_DGRAMS_MAX]) {
    AC_ASSERT(backend >= 0 && backend < BACKEND_COUNT);
    if (kind != FORGE_WRITE && kind != FORGE_FENCE) return AC_EINVAL;
    wire_req_t *req = calloc(1, sizeof(*req)); /* a WRITE's room is large: not on a stack */
    if (req == NULL) return AC_ENOMEM;
    /* a hello first, of serverM's incarnation (FORGE_WRITE: the forger read it off the
     * wire) or a newer one within the backend's clock bound (FORGE_FENCE) */
    req->type = WIRE_QUERY;
    req->incarnation = kind == FORGE_FENCE ? incarnation + FORGE_FENCE_AHEAD : incarnation;
    forge_seal(forger, backend, req, seq, &out[0]);
    int count = 1;
    if (kind == FORGE_WRITE) {
        req->type = WIRE_WRITE;
        req->u.write.epoch = epoch;
        req->u.write.count = 1;
        tx_t *t = &req->u.write.txs[0];
        t->serial = FORGE_SERIAL;
        t->amount = FORGE_AMOUNT;
        t->sender_len = (uint8_t)strlen(FORGE_SENDER);
        t->receiver_len = (uint8_t)strlen(FORGE_RECEIVER);
        memcpy(t->sender, FORGE_SENDER, t->sender_len + 1u);
        memcpy(t->receiver, FORGE_RECEIVER, t->receiver_len + 1u);
        forge_seal(forger, backend, req, seq, &out[count++]);
    }
    free(req);
    return count;
}

int forge_incarnation(const uint8_t *dgram, size_t len, uint64_t *incarnation) {
    if (len <= AUTH_TRAILER_BYTES || len > AUTH_DGRAM_BYTES_MAX) return -1;
    wire_req_t *req = malloc(sizeof(*req));
    if (req == NULL) return -1;
    int rc = wire_req_decode(dgram, len - AUTH_TRAILER_BYTES, req) == 0 ? 0 : -1;
    if (rc == 0) *incarnation = req->incarnation;
    free(req);
    return rc;
}

int forge_epoch(const uint8_t *dgram, size_t len, uint64_t *epoch) {
    if (len <= AUTH_TRAILER_BYTES || len > AUTH_DGRAM_BYTES_MAX) return -1;
    wire_reply_t *rep = malloc(sizeof(*rep));
    if (rep == NULL) return -1;
    int rc = wire_reply_decode(dgram, len - AUTH_TRAILER_BYTES, rep) == 0 ? 0 : -1;
    if (rc == 0) *epoch = rep->epoch;
    free(rep);
    return rc;
}

int forge_tx_is_forged(const tx_t *t) {
    return strcmp(t->sender, FORGE_SENDER) == 0 || t->serial == FORGE_SERIAL;
}
