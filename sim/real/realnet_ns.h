/* realnet_ns.h — the namespace back end of `alichain-sim real` (sim/real/realnet.h): each node
 * on its own network-namespace host (sim/hosts/netns.h), partitions as nftables rules, and
 * a UDP fault relay (sim/hosts/relay.h) in front of each backend for UDP loss, delay,
 * duplication and reordering. One run at a time per process (its state is static). */
#ifndef ALICHAIN_SIM_REALNET_NS_H
#define ALICHAIN_SIM_REALNET_NS_H

#include <stddef.h>

#include "realnet.h"

#define REALNET_NS_READY_TIMEOUT_MS 5000  /* a relay child binds its sockets by then */
#define REALNET_NS_STOP_TIMEOUT_MS 2000   /* a relay child exits on SIGTERM by then */
#define REALNET_NS_ACK_TIMEOUT_MS 1000    /* a relay acknowledges a new setting by then (it
                                           * takes tens of microseconds; past this it is stuck) */

/* Fills n with the namespace back end (name "netns", caps: partitions, UDP loss, delay,
 * duplication, reordering). Returns 0, or -1 with err saying why it cannot run here (not
 * root, ip or nft missing): the caller then runs on loopback and says so. Nothing is created
 * before n->setup. */
int realnet_netns(realnet_t *n, char *err, size_t err_cap);

#endif
