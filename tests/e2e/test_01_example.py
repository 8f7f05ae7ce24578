# test_01_example.py — SPEC.md's worked example on the sample blocks, exactly: every screen
# line of the clients and the serverM/backend lines that go with each operation.
from e2e_helpers import (
    BACKENDS, BLOCK_NAME, C_STATS_COLUMNS, Tx, b_received, b_sent, c_stats_head,
    c_stats_sent, c_txlist_ok, c_txlist_sent, c_up, expected_balance_lines,
    expected_transfer_ok_lines, m_recv_balance, m_recv_feedback, m_recv_stats,
    m_recv_transfer, m_recv_txlist, m_recv_txs, m_sent_backend, m_sent_balance,
    m_sent_result, m_sent_stats, m_wrote_txlist, parse_block, parse_stats_output,
)

SAMPLE_SORTED = [
    "1 Racheal John 45", "2 Rishil Alice 30", "3 Oliver Rachit 94", "4 Ben Victor 85",
    "5 Chinmay Oliver 129", "6 Racheal Alice 49", "7 Martin Luke 25", "8 Rishil Chinmay 10",
    "9 Ali Luke 155",
]


def assert_in_order(lines, expected, what):
    """Each expected line occurs in lines, in this order (other lines may interleave)."""
    pos = 0
    for e in expected:
        try:
            pos = lines.index(e, pos) + 1
        except ValueError:
            raise AssertionError(f"{what}: {e!r} missing (after line {pos}); log:\n"
                                 + "\n".join(lines)) from None


def test_servers_announce_their_ports(net):
    # the ports of SPEC.md's table, spelled out here rather than taken from the helpers
    for b, base in (("A", 21000), ("B", 22000), ("C", 23000)):
        assert net.out_lines(b)[0] == \
            f"The Server{b} is up and running using UDP on port {base + net.offset}."
    assert net.out_lines("M")[0] == "The main server is up and running."


def test_balance_clientA_chinmay(net):
    r = net.client("A", "Chinmay")
    assert r.rc == 0, r
    assert r.lines == expected_balance_lines("A", "Chinmay", 881)
    m = net.wait_line("M", m_sent_balance("A"))
    assert_in_order(m, [m_recv_balance("Chinmay", 25000 + net.offset)], "serverM")
    # serverM asked every backend and heard from every backend, before answering
    for b in BACKENDS:
        assert_in_order(m, [m_recv_balance("Chinmay", net.ports["tcpA"]), m_sent_backend(b),
                            m_recv_txs(b, net.ports[b]), m_sent_balance("A")], "serverM")
        lines = net.wait_line(b, b_sent(b))
        assert_in_order(lines, [b_received(b), b_sent(b)], f"server{b}")


def test_balance_clientB_luke(net):
    r = net.client("B", "Luke")
    assert r.rc == 0, r
    assert r.lines == expected_balance_lines("B", "Luke", 1180)
    m = net.wait_line("M", m_sent_balance("B"))
    assert_in_order(m, [m_recv_balance("Luke", 26000 + net.offset), m_sent_balance("B")],
                    "serverM")


def test_worked_example_sequence(net):
    off = net.offset
    assert net.client("A", "Chinmay").lines == expected_balance_lines("A", "Chinmay", 881)
    assert net.client("B", "Luke").lines == expected_balance_lines("B", "Luke", 1180)

    r = net.client("A", "Chinmay", "Luke", "20")
    assert r.rc == 0, r
    assert r.lines == expected_transfer_ok_lines("A", "Chinmay", "Luke", 20, 861)

    # serial 10 is on disk in exactly one block file, and serverM's log names that backend
    holders = [b for b in BACKENDS
               if Tx(10, "Chinmay", "Luke", 20) in parse_block(net.block_path(b).read_bytes())]
    assert len(holders) == 1, f"serial 10 found in {holders}"
    chosen = holders[0]
    m = net.wait_line("M", m_sent_result("A"))
    assert_in_order(m, [m_recv_transfer("Chinmay", 20, "Luke", 25000 + off),
                        m_recv_feedback(chosen, net.ports[chosen]), m_sent_result("A")],
                    "serverM")
    assert m_sent_backend(chosen) in m

    r = net.client("B", "TXLIST")
    assert r.rc == 0, r
    assert r.lines == [c_up("B"), c_txlist_sent("B"), c_txlist_ok(10, "alichain.txt")]
    text = (net.root / "alichain.txt").read_text()
    assert text == "\n".join(SAMPLE_SORTED + ["10 Chinmay Luke 20"]) + "\n"
    m = net.wait_line("M", m_wrote_txlist("alichain.txt"))
    assert_in_order(m, [m_recv_txlist("B", 26000 + off), m_wrote_txlist("alichain.txt")],
                    "serverM")

    r = net.client("A", "Chinmay", "stats")
    assert r.rc == 0, r
    assert r.lines[:4] == [c_up("A"), c_stats_sent("Chinmay"), c_stats_head("Chinmay"),
                           C_STATS_COLUMNS]
    rows = parse_stats_output("A", "Chinmay", r.out)
    assert rows == [(1, "Luke", 1, -20), (2, "Oliver", 1, -129), (3, "Rishil", 1, 10)]
    # the example row of SPEC.md, column-aligned
    assert r.lines[4].split() == ["1", "Luke", "1", "-20"]
    m = net.wait_line("M", m_sent_stats("A"))
    assert_in_order(m, [m_recv_stats("Chinmay", "A", 25000 + off), m_sent_stats("A")],
                    "serverM")

    # balances after the transfer, from both clients
    assert net.client("B", "Chinmay").lines == expected_balance_lines("B", "Chinmay", 861)
    assert net.client("A", "Luke").lines == expected_balance_lines("A", "Luke", 1200)


def test_txlist_from_clientA_on_sample(net):
    r = net.client("A", "TXLIST")
    assert r.rc == 0, r
    assert r.lines == [c_up("A"), c_txlist_sent("A"), c_txlist_ok(9, "alichain.txt")]
    assert (net.root / "alichain.txt").read_text() == "\n".join(SAMPLE_SORTED) + "\n"
    m = net.wait_line("M", m_wrote_txlist("alichain.txt"))
    assert m_recv_txlist("A", 25000 + net.offset) in m
    for b in BACKENDS:
        assert m_sent_backend(b) in m
        assert m_recv_txs(b, net.ports[b]) in m


def test_block_files_untouched_by_reads(net):
    before = net.block_bytes()
    for args, rc in ((("Chinmay",), 0), (("TXLIST",), 0), (("Luke", "stats"), 0),
                     (("Nobody",), 1), (("Chinmay", "Luke", "5000"), 1)):
        r = net.client("A", *args)
        assert r.rc == rc, (args, r)
    assert net.block_bytes() == before
    assert sorted(BLOCK_NAME.values()) == sorted(
        p.name for p in net.root.iterdir() if p.name.startswith("block"))
