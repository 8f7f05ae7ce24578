# test_12_connections.py — what EOF, half-close and reset mean on a client connection to
# the real serverM (docs/PROTOCOL.md 2.5; decided in core/coord_conn.c, so the simulator
# does the same: sim/scenarios/27_half_close.scn). A raw socket plays the client: it sends
# its request line, shuts down its writing side, and must still read the whole reply.
import socket

import pytest

from e2e_helpers import (
    m_sent_balance, m_sent_result, m_sent_stats, read_until_closed, transfer_then_reset,
)

REPLY_TIMEOUT_S = 5
# well under serverM's 10 s idle timeout: a close that only the idle timer made is too late
PROMPT_CLOSE_S = 3


def half_close_exchange(net, port_key, line):
    """Sends one request line, then shutdown(SHUT_WR); returns everything read until
    serverM closed the connection (failing if it did not within REPLY_TIMEOUT_S)."""
    s = socket.create_connection(("127.0.0.1", net.ports[port_key]), timeout=5)
    try:
        s.sendall(line)
        s.shutdown(socket.SHUT_WR)
        closed, data = read_until_closed(s, REPLY_TIMEOUT_S)
    finally:
        s.close()
    assert closed, f"serverM did not close the connection; got {data!r}"
    return data


@pytest.mark.parametrize("line, reply, sent_line", [
    (b"ALICHAIN/1 BALANCE Chinmay\n", b"OK BALANCE 881\n", m_sent_balance("A")),
    (b"ALICHAIN/1 TRANSFER Chinmay Luke 20\n", b"OK TRANSFER 861 10\n", m_sent_result("A")),
    (b"ALICHAIN/1 STATS Oliver\n", b"OK STATS 2\n1 Chinmay 1 129\n2 Rachit 1 -94\n",
     m_sent_stats("A")),
], ids=["balance", "transfer", "stats"])
def test_request_then_half_close_is_answered(net, line, reply, sent_line):
    assert half_close_exchange(net, "tcpA", line) == reply
    net.wait_line("M", sent_line)


def test_half_close_on_client_b_port(net):
    assert half_close_exchange(net, "tcpB", b"ALICHAIN/1 TXLIST\n") == b"OK TXLIST 9 alichain.txt\n"
    assert (net.root / "alichain.txt").read_text().count("\n") == 9


@pytest.mark.parametrize("partial", [b"", b"ALICHAIN/1 BAL"], ids=["nothing", "partial-line"])
def test_half_close_before_a_whole_request_closes_at_once(net, partial):
    s = socket.create_connection(("127.0.0.1", net.ports["tcpA"]), timeout=5)
    try:
        if partial:
            s.sendall(partial)
        s.shutdown(socket.SHUT_WR)
        closed, data = read_until_closed(s, PROMPT_CLOSE_S)
    finally:
        s.close()
    assert (closed, data) == (True, b""), "a partial request is dropped, with no reply"
    r = net.client("A", "Chinmay")
    assert r.rc == 0, r


def test_reset_after_the_request_still_completes_the_transfer(net):
    transfer_then_reset(net, "tcpB")


BIG_PARTNERS = 110_000         # x ~75-byte rows: a stats reply of ~8 MB, more than the
                               # loopback socket buffers hold, so serverM is still
                               # flushing it when the client's FIN arrives
BIG_TIMEOUT_S = 60


def big_stats_blocks():
    """Hub sends 1 coin to each of BIG_PARTNERS partners with 64-byte names."""
    lines = [[], [], []]
    for i in range(1, BIG_PARTNERS + 1):
        lines[i % 3].append(f"{i} Hub P{i:063d} 1\n")
    return ["".join(b) for b in lines]


def test_half_close_while_a_long_reply_is_flushed_gets_all_of_it(make_network):
    net = make_network(blocks=big_stats_blocks(), ready_timeout=BIG_TIMEOUT_S)
    s = socket.create_connection(("127.0.0.1", net.ports["tcpA"]), timeout=BIG_TIMEOUT_S)
    try:
        s.sendall(b"ALICHAIN/1 STATS Hub\n")
        # by event: the core has handed the whole reply to the driver and asked to close;
        # we have not read a byte, so most of it is still in serverM's queue
        net.wait_line("M", m_sent_stats("A"), timeout=BIG_TIMEOUT_S)
        s.shutdown(socket.SHUT_WR)
        closed, data = read_until_closed(s, BIG_TIMEOUT_S)
    finally:
        s.close()
    assert closed
    lines = data.decode().splitlines()
    assert lines[0] == f"OK STATS {BIG_PARTNERS}"
    assert len(lines) == 1 + BIG_PARTNERS, "the reply was cut short"
    assert lines[-1] == f"{BIG_PARTNERS} P{BIG_PARTNERS:063d} 1 -1"
