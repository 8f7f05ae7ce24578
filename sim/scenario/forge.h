/* forge.h — what a `forge X write|fence|replay` step sends (docs/SCENARIOS.md): the forged
 * datagrams of a forger on serverM's address who lacks the servers' key. One builder for
 * both drivers: the simulator's forger (sim/world/world.c) and the real hosts' UDP fault
 * relay (sim/hosts/relay.c), which sits on serverM's address in front of each backend. The
 * MAC is the caller's (an auth_t of FORGE_KEY: the simulator's model of a MAC, or
 * libsodium's HMAC for the real programs), so a datagram is well-formed apart from its MAC.
 * It lives in the scenario room because the FORGE_* constants of a step do. */
#ifndef ALICHAIN_SIM_FORGE_H
#define ALICHAIN_SIM_FORGE_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "scenario.h"
#include "tx.h"

#define FORGE_DGRAMS_MAX 2             /* FORGE_WRITE: a hello and a WRITE */
#define FORGE_FENCE_AHEAD 1000000u     /* FORGE_FENCE: serverM's incarnation + this (1 s of the
                                          real programs' microsecond incarnations: well within
                                          the backends' clock bound) */

/* The forger's key: any key but the servers' (a MAC of the wrong key verifies no better than
 * random bytes). AUTH_KEY_BYTES bytes. */
extern const uint8_t forge_key[AUTH_KEY_BYTES];

typedef struct {
    size_t len;
    uint8_t data[AUTH_DGRAM_BYTES_MAX];
} forge_dgram_t;

/* The datagrams a forger sends backend `backend` (0..2) for a FORGE_WRITE or FORGE_FENCE:
 * a hello (QUERY) of `incarnation` (FORGE_WRITE: serverM's, read off the wire) or of
 * incarnation + FORGE_FENCE_AHEAD (FORGE_FENCE), then for FORGE_WRITE a WRITE of the forged
 * transfer (FORGE_SERIAL, FORGE_SENDER -> FORGE_RECEIVER, FORGE_AMOUNT); each sealed by
 * forger with the next sequence number (*seq is incremented first, and is also the
 * request id). The WRITE carries `epoch`, the backend run's boot epoch, which every reply
 * of the backend shows on the wire (0 when the forger has seen none: the backend refuses it
 * as meant for another run). Writes them into out[0..) and returns how many (1 or 2), AC_EINVAL for
 * another kind (FORGE_REPLAY sends serverM's own datagram: nothing to build), or AC_ENOMEM. */
int forge_build(const auth_t *forger, int backend, int kind, uint64_t incarnation, uint64_t epoch,
                uint64_t *seq, forge_dgram_t out[FORGE_DGRAMS_MAX]);

/* The incarnation of serverM's request in dgram[0..len) (a datagram serverM sent a backend,
 * its trailer included): 0 with *incarnation set, or -1 when it is not one. */
int forge_incarnation(const uint8_t *dgram, size_t len, uint64_t *incarnation);

/* The boot epoch of the backend run that sent the reply in dgram[0..len) (its trailer
 * included): 0 with *epoch set, or -1 when it is not one. */
int forge_epoch(const uint8_t *dgram, size_t len, uint64_t *epoch);

/* 1 when t is the forger's transfer (FORGE_SENDER, or FORGE_SERIAL): the "forgery" checker
 * fails a run whose disks hold one. */
int forge_tx_is_forged(const tx_t *t);

#endif
