# test_04_txlist.py — TXLIST: alichain.txt in serverM's working directory, sorted by serial
# (numerically), one block line per transaction, the count in the client's sentence,
# ALICHAIN_TXLIST, replacement of an old file, no temporary files left behind, and
# concurrent requests each seeing a complete file.
from e2e_helpers import (
    Tx, c_txlist_ok, c_txlist_sent, c_up, communicate_all, m_recv_txlist, m_wrote_txlist,
    parse_block, sample_blocks, split_block_files,
)


def sample_sorted_lines():
    txs = sorted(t for data in sample_blocks() for t in parse_block(data))
    return [t.line() for t in txs]


def listing(root):
    return {p.name for p in root.iterdir()}


def test_txlist_writes_sorted_file_and_nothing_else(net):
    before = listing(net.root)
    assert "alichain.txt" not in before
    r = net.client("B", "TXLIST")
    assert r.rc == 0, r
    assert r.lines == [c_up("B"), c_txlist_sent("B"), c_txlist_ok(9, "alichain.txt")]
    assert (net.root / "alichain.txt").read_text() == "\n".join(sample_sorted_lines()) + "\n"
    assert listing(net.root) - before == {"alichain.txt"}, "temporary files left behind"
    m = net.wait_line("M", m_wrote_txlist("alichain.txt"))
    assert m_recv_txlist("B", net.ports["tcpB"]) in m
    # a second run replaces the file (same content, still no leftovers)
    r = net.client("A", "TXLIST")
    assert (r.rc, r.lines[-1]) == (0, c_txlist_ok(9, "alichain.txt")), r
    assert listing(net.root) - before == {"alichain.txt"}


def test_txlist_replaces_an_old_file_and_counts_new_transfers(net):
    (net.root / "alichain.txt").write_text("stale content that must disappear\n" * 50)
    r = net.client("A", "Luke", "Ali", "5")
    assert r.rc == 0, r
    r = net.client("A", "TXLIST")
    assert (r.rc, r.lines[-1]) == (0, c_txlist_ok(10, "alichain.txt")), r
    expected = sample_sorted_lines() + ["10 Luke Ali 5"]
    assert (net.root / "alichain.txt").read_text() == "\n".join(expected) + "\n"


def test_txlist_env_path(make_network):
    net = make_network(server_env={"M": {"ALICHAIN_TXLIST": "out/list.txt"}}, start=False)
    (net.root / "out").mkdir()
    net.start()
    before = listing(net.root)
    r = net.client("A", "TXLIST")
    assert r.rc == 0, r
    assert r.lines == [c_up("A"), c_txlist_sent("A"), c_txlist_ok(9, "out/list.txt")]
    assert (net.root / "out" / "list.txt").read_text() == \
        "\n".join(sample_sorted_lines()) + "\n"
    assert not (net.root / "alichain.txt").exists()
    assert listing(net.root) == before
    assert listing(net.root / "out") == {"list.txt"}, "temporary files left behind"
    net.wait_line("M", m_wrote_txlist("out/list.txt"))


def test_txlist_sorts_numerically(make_network):
    # includes serials above 2^63: a signed comparison would put them first
    serials = [1000, 2, 100, 11, 1, 99, 10, 12345678901234, 3, 2 ** 63 + 1, 2 ** 64 - 1,
               2 ** 63 - 1]
    txs = [Tx(s, f"U{i}", f"V{i}", i + 1) for i, s in enumerate(serials)]
    net = make_network(blocks=split_block_files(txs))
    r = net.client("B", "TXLIST")
    assert (r.rc, r.lines[-1]) == (0, c_txlist_ok(len(txs), "alichain.txt")), r
    expected = [t.line() for t in sorted(txs)]
    assert (net.root / "alichain.txt").read_text().splitlines() == expected


def test_txlist_of_empty_network(make_network):
    net = make_network(blocks=["", "", ""])
    r = net.client("A", "TXLIST")
    assert (r.rc, r.lines[-1]) == (0, c_txlist_ok(0, "alichain.txt")), r
    assert (net.root / "alichain.txt").read_bytes() == b""


def test_concurrent_txlists_each_see_a_complete_file(net):
    before = listing(net.root)
    procs = [net.popen_client("AB"[k % 2], "TXLIST") for k in range(6)]
    for r in communicate_all(procs):
        assert (r.rc, r.lines[-1]) == (0, c_txlist_ok(9, "alichain.txt")), r
    assert (net.root / "alichain.txt").read_text() == "\n".join(sample_sorted_lines()) + "\n"
    assert listing(net.root) - before == {"alichain.txt"}, "temporary files left behind"
