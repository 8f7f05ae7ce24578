# test_13_keepalive.py — the persistent, pipelined TCP protocol (docs/PROTOCOL.md 2.5) on
# the real serverM, one rule a test: replies in request order, ERROR BUSY beyond
# TCP_PIPELINE_MAX unanswered, BADREQ closes after the earlier replies, a half-close answers
# everything, a reset still completes, idle close, and one-shot connections unchanged.
import socket
import time

from e2e_helpers import (
    m_recv_balance, m_recv_transfer, m_sent_balance, m_sent_result, m_sent_stats,
    read_until_closed, transfer_then_reset,
)

TCP_PIPELINE_MAX = 64          # core/common.h
TCP_REQUEST_BYTES_MAX = 256    # core/common.h
CONN_IDLE_S = 10               # core/common.h CONN_IDLE_US
REPLY_TIMEOUT_S = 10
SHORT_TIMEOUT_MS = 400         # serverM's backend deadline where a backend is paused
KEEPALIVE = b"ALICHAIN/1 KEEPALIVE\n"


def connect(net, port_key="tcpA"):
    return socket.create_connection(("127.0.0.1", net.ports[port_key]), timeout=5)


def read_lines(sock, count, timeout=REPLY_TIMEOUT_S):
    """Reads until `count` whole lines arrived; returns them (without newlines). Fails when
    they do not arrive in time or the connection closes first."""
    sock.settimeout(0.2)
    data = b""
    deadline = time.monotonic() + timeout
    while data.count(b"\n") < count:
        assert time.monotonic() < deadline, f"only {data!r} within {timeout} s"
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        assert chunk, f"serverM closed the connection after {data!r}"
        data += chunk
    lines = data.decode().split("\n")
    assert lines[count:] == [""], f"more than {count} lines: {data!r}"
    return lines[:count]


def closed_with(sock, timeout=REPLY_TIMEOUT_S):
    closed, data = read_until_closed(sock, timeout)
    assert closed, f"serverM did not close the connection; got {data!r}"
    return data


def test_pipelined_requests_are_answered_in_order(net):
    s = connect(net)
    try:
        s.sendall(KEEPALIVE +
                  b"ALICHAIN/1 TRANSFER Chinmay Luke 20\n"
                  b"ALICHAIN/1 BALANCE Luke\n"
                  b"ALICHAIN/1 STATS Chinmay\n"
                  b"ALICHAIN/1 TXLIST\n"
                  b"ALICHAIN/1 KEEPALIVE\n"
                  b"ALICHAIN/1 BALANCE Nobody\n"
                  b"ALICHAIN/1 BALANCE Chinmay\n")
        lines = read_lines(s, 11)
        # still open: one more request on the same connection
        s.sendall(b"ALICHAIN/1 BALANCE Rishil\n")
        more = read_lines(s, 1)
    finally:
        s.close()
    assert lines == [
        "OK KEEPALIVE",
        "OK TRANSFER 861 10",          # SPEC.md's worked example
        "OK BALANCE 1200",             # after the transfer: it was asked after it
        "OK STATS 3", "1 Luke 1 -20", "2 Oliver 1 -129", "3 Rishil 1 10",
        "OK TXLIST 10 alichain.txt",
        "OK KEEPALIVE",
        "REFUSED NOUSER Nobody",
        "OK BALANCE 861",
    ]
    assert more == ["OK BALANCE 960"]
    assert (net.root / "alichain.txt").read_text().count("\n") == 10
    # the screen: exactly what the one-shot requests print
    out = net.wait_line("M", m_sent_balance("A"), count=4)
    assert out.count(m_sent_result("A")) == 1
    assert out.count(m_sent_stats("A")) == 1
    assert out.count(m_recv_balance("Chinmay", net.ports["tcpA"])) == 1
    assert out.count(m_recv_transfer("Chinmay", 20, "Luke", net.ports["tcpA"])) == 1
    assert not any("KEEPALIVE" in line for line in out)


def test_busy_beyond_the_pipeline_limit(make_network):
    net = make_network(env={"ALICHAIN_TIMEOUT_MS": SHORT_TIMEOUT_MS})
    net.pause("A")  # every balance waits for its deadline: none is answered early
    extra = 3
    s = connect(net, "tcpB")
    try:
        s.sendall(KEEPALIVE + b"ALICHAIN/1 BALANCE Luke\n" * (TCP_PIPELINE_MAX + extra))
        lines = read_lines(s, 1 + TCP_PIPELINE_MAX + extra)
        net.resume("A")
        s.sendall(b"ALICHAIN/1 BALANCE Luke\n")  # room again: served
        more = read_lines(s, 1)
    finally:
        s.close()
    assert lines[0] == "OK KEEPALIVE"
    assert lines[1:1 + TCP_PIPELINE_MAX] == ["ERROR UNAVAILABLE A"] * TCP_PIPELINE_MAX
    assert lines[1 + TCP_PIPELINE_MAX:] == ["ERROR BUSY"] * extra
    assert more == ["OK BALANCE 1180"]
    # no work was done for the refused ones: serverM printed 64 + 1 requests
    out = net.wait_line("M", m_recv_balance("Luke", net.ports["tcpB"]), count=TCP_PIPELINE_MAX + 1)
    assert out.count(m_recv_balance("Luke", net.ports["tcpB"])) == TCP_PIPELINE_MAX + 1


def test_malformed_line_is_answered_in_turn_then_closed(net):
    s = connect(net)
    try:
        s.sendall(KEEPALIVE + b"ALICHAIN/1 BALANCE Chinmay\nnonsense\nALICHAIN/1 BALANCE Luke\n")
        data = closed_with(s)
    finally:
        s.close()
    assert data == b"OK KEEPALIVE\nOK BALANCE 881\nERROR BADREQ\n"
    # the line after the bad one was not read
    assert m_recv_balance("Luke", net.ports["tcpA"]) not in net.out_lines("M")


def test_overlong_line_is_answered_in_turn_then_closed(net):
    s = connect(net)
    try:
        s.sendall(KEEPALIVE + b"ALICHAIN/1 BALANCE Chinmay\n" + b"x" * (TCP_REQUEST_BYTES_MAX + 10))
        data = closed_with(s)
    finally:
        s.close()
    assert data == b"OK KEEPALIVE\nOK BALANCE 881\nERROR BADREQ\n"


def test_half_close_answers_every_request_then_closes(net):
    s = connect(net, "tcpB")
    try:
        s.sendall(KEEPALIVE + b"ALICHAIN/1 TRANSFER Chinmay Luke 20\nALICHAIN/1 BALANCE Chinmay\n"
                  b"ALICHAIN/1 STATS Oliver\nALICHAIN/1 BAL")  # a partial line is dropped
        s.shutdown(socket.SHUT_WR)
        data = closed_with(s)
    finally:
        s.close()
    assert data == (b"OK KEEPALIVE\nOK TRANSFER 861 10\nOK BALANCE 861\n"
                    b"OK STATS 2\n1 Chinmay 1 129\n2 Rachit 1 -94\n")


def test_half_close_with_nothing_owed_closes_at_once(net):
    s = connect(net)
    try:
        s.sendall(KEEPALIVE)
        assert read_lines(s, 1) == ["OK KEEPALIVE"]
        s.shutdown(socket.SHUT_WR)
        assert closed_with(s, timeout=3) == b""
    finally:
        s.close()


def test_reset_mid_pipeline_still_completes_the_transfer(net):
    transfer_then_reset(net, "tcpA", before=KEEPALIVE + b"ALICHAIN/1 BALANCE Luke\n")


def test_idle_persistent_connection_is_closed_after_10_s(net):
    """The slow test of this file: CONN_IDLE_US has no knob, so it waits the real 10 s."""
    s = connect(net)
    try:
        s.sendall(KEEPALIVE + b"ALICHAIN/1 BALANCE Chinmay\n")
        assert read_lines(s, 2) == ["OK KEEPALIVE", "OK BALANCE 881"]
        start = time.monotonic()
        assert closed_with(s, timeout=CONN_IDLE_S + 5) == b""
        waited = time.monotonic() - start
    finally:
        s.close()
    assert waited >= CONN_IDLE_S - 1, f"closed after {waited:.1f} s, before the idle time"
    assert "closed a connection idle" in net.err("M")


def test_one_shot_connection_unchanged(net):
    s = connect(net)
    try:  # a second line, even a KEEPALIVE, is ignored: one request, one reply, closed
        s.sendall(b"ALICHAIN/1 BALANCE Chinmay\n" + KEEPALIVE + b"ALICHAIN/1 BALANCE Luke\n")
        data = closed_with(s)
    finally:
        s.close()
    assert data == b"OK BALANCE 881\n"
    r = net.client("B", "Chinmay", "Luke", "20")
    assert r.rc == 0, r
    assert r.lines[-1] == 'The current balance of "Chinmay" is : 861 alicoins.', r
