/* ports.h — SPEC.md's port table, written once: each program listens on its base port plus
 * ALICHAIN_PORT_OFFSET. net/ binds these, sim/ and bench/ point at them and look for free
 * offsets with them, and tests/ports.py reads the "#define PORT_... <number>" lines below
 * for the Python tests and ci/demo.sh (so keep each one a plain number on one line). */
#ifndef ALICHAIN_PORTS_H
#define ALICHAIN_PORTS_H

#include <stdint.h>

#include "common.h"

#define PORT_OFFSET_DEFAULT 319     /* ALICHAIN_PORT_OFFSET when it is not set */
#define PORT_OFFSET_MAX 999         /* ALICHAIN_PORT_OFFSET is 0..999 */
#define PORT_BASE_SERVER_A 21000    /* UDP: serverA (serverB, serverC follow PORT_STRIDE apart) */
#define PORT_BASE_SERVER_B 22000
#define PORT_BASE_SERVER_C 23000
#define PORT_BASE_M_UDP 24000       /* UDP: serverM, for the backends */
#define PORT_BASE_CLIENT_A 25000    /* TCP: serverM, for clientA (clientB's follows) */
#define PORT_BASE_CLIENT_B 26000
#define PORT_STRIDE 1000
#define PORT_COUNT 6                /* ports of one offset: port_nth 0..3 UDP, 4..5 TCP */
#define PORT_UDP_COUNT 4

_Static_assert(PORT_BASE_SERVER_B == PORT_BASE_SERVER_A + PORT_STRIDE, "B follows A");
_Static_assert(PORT_BASE_SERVER_C == PORT_BASE_SERVER_B + PORT_STRIDE, "C follows B");
_Static_assert(PORT_BASE_M_UDP == PORT_BASE_SERVER_C + PORT_STRIDE, "serverM's UDP follows C");
_Static_assert(PORT_BASE_CLIENT_A == PORT_BASE_M_UDP + PORT_STRIDE, "client A's TCP follows");
_Static_assert(PORT_BASE_CLIENT_B == PORT_BASE_CLIENT_A + PORT_STRIDE, "client B's follows A's");
_Static_assert(PORT_OFFSET_DEFAULT <= PORT_OFFSET_MAX, "the default is a valid offset");
_Static_assert(PORT_OFFSET_MAX < PORT_STRIDE, "offsets never reach the next base");
_Static_assert(PORT_BASE_CLIENT_B + PORT_OFFSET_MAX <= UINT16_MAX, "every port fits 16 bits");
_Static_assert(PORT_UDP_COUNT == BACKEND_COUNT + 1, "the backends', then serverM's UDP");

/* The k-th port of an offset (k < PORT_COUNT), in the order above: serverA, B, C and
 * serverM's UDP ports (k < PORT_UDP_COUNT), then serverM's TCP ports for clientA and B. */
static inline uint16_t port_nth(int k, uint32_t offset) {
    AC_ASSERT(k >= 0);
    AC_ASSERT(k < PORT_COUNT);
    AC_ASSERT(offset <= PORT_OFFSET_MAX);
    return (uint16_t)(PORT_BASE_SERVER_A + PORT_STRIDE * k + (int)offset);
}

/* Backend i's UDP port (0 serverA, 1 serverB, 2 serverC). */
static inline uint16_t port_backend(int i, uint32_t offset) {
    AC_ASSERT(i < BACKEND_COUNT);
    return port_nth(i, offset);
}

/* serverM's UDP port, where the backends answer. */
static inline uint16_t port_m_udp(uint32_t offset) { return port_nth(BACKEND_COUNT, offset); }

/* serverM's TCP port for client j (0 clientA, 1 clientB). */
static inline uint16_t port_client(int j, uint32_t offset) {
    AC_ASSERT(j >= 0);
    AC_ASSERT(j < 2);
    return port_nth(PORT_UDP_COUNT + j, offset);
}

#endif
