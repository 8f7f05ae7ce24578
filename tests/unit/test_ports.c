/* test_ports.c — unit tests of core/ports.h against SPEC.md's port table, spelled out here
 * on purpose (the one place besides ports.h and test_01_example.py that writes the numbers):
 * each port at offset 0, the default and the largest offset, and the order of port_nth. */
#include "check.h"
#include "ports.h"

TEST(test_spec_table) {
    CHECK_EQ(PORT_OFFSET_DEFAULT, 319);
    CHECK_EQ(PORT_OFFSET_MAX, 999);
    CHECK_EQ(port_backend(0, 0), 21000);
    CHECK_EQ(port_backend(1, 0), 22000);
    CHECK_EQ(port_backend(2, 0), 23000);
    CHECK_EQ(port_m_udp(0), 24000);
    CHECK_EQ(port_client(0, 0), 25000);
    CHECK_EQ(port_client(1, 0), 26000);
    CHECK_EQ(port_backend(0, PORT_OFFSET_DEFAULT), 21319);
    CHECK_EQ(port_m_udp(PORT_OFFSET_DEFAULT), 24319);
    CHECK_EQ(port_client(1, PORT_OFFSET_MAX), 26999);
}

TEST(test_nth_order) {
    /* what the port-free checks walk: the three backends, serverM's UDP, then its TCP */
    for (int b = 0; b < BACKEND_COUNT; b++) CHECK_EQ(port_nth(b, 7), port_backend(b, 7));
    CHECK_EQ(port_nth(BACKEND_COUNT, 7), port_m_udp(7));
    CHECK_EQ(port_nth(PORT_UDP_COUNT, 7), port_client(0, 7));
    CHECK_EQ(port_nth(PORT_COUNT - 1, 7), port_client(1, 7));
}

int main(void) {
    RUN(test_spec_table);
    RUN(test_nth_order);
    return CHECK_DONE();
}
