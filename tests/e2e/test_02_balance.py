# test_02_balance.py — CHECK WALLET and the refusals of balance and stats requests: exact
# screen lines and exit codes, every sample member's balance against the reference model,
# names at the edges of the name rules, case sensitivity.
from e2e_helpers import (
    Tx, balance_of, block_text, c_nouser_request, c_stats_sent, c_up, c_balance_sent,
    expected_balance_lines, m_recv_balance, m_recv_stats, m_sent_balance, m_sent_stats,
    members_of, sample_blocks, parse_block,
)


def sample_txs():
    return [t for data in sample_blocks() for t in parse_block(data)]


def test_every_sample_member_balance(net):
    txs = sample_txs()
    for i, user in enumerate(sorted(members_of(txs))):
        j = "AB"[i % 2]
        r = net.client(j, user)
        assert (r.rc, r.lines) == (0, expected_balance_lines(j, user, balance_of(txs, user))), r


def test_balance_of_non_member(net):
    for j in "AB":
        r = net.client(j, "Nobody")
        assert r.rc == 1, r
        assert r.lines == [c_up(j), c_balance_sent("Nobody"), c_nouser_request("Nobody")]
        m = net.wait_line("M", m_sent_balance(j))
        assert m_recv_balance("Nobody", net.ports["tcp" + j]) in m


def test_names_are_case_sensitive(net):
    r = net.client("A", "chinmay")
    assert (r.rc, r.lines[-1]) == (1, c_nouser_request("chinmay")), r
    r = net.client("A", "CHINMAY")
    assert (r.rc, r.lines[-1]) == (1, c_nouser_request("CHINMAY")), r


def test_longest_valid_name_reaches_server(net):
    name = "N" * 64
    r = net.client("B", name)
    assert r.rc == 1, r
    assert r.lines == [c_up("B"), c_balance_sent(name), c_nouser_request(name)]


def test_stats_of_non_member(net):
    for j in "AB":
        r = net.client(j, "Ghost", "stats")
        assert r.rc == 1, r
        assert r.lines == [c_up(j), c_stats_sent("Ghost"), c_nouser_request("Ghost")]
        m = net.wait_line("M", m_sent_stats(j))
        assert m_recv_stats("Ghost", j, net.ports["tcp" + j]) in m


def test_names_with_every_allowed_character(make_network):
    odd = ["a.b-c_9", "_", "x-", ".", "Z" * 64, "0123456789"]
    txs = [Tx(i + 1, odd[i], odd[(i + 1) % len(odd)], 10 * (i + 1)) for i in range(len(odd))]
    net = make_network(blocks=[block_text(txs[0::3]), block_text(txs[1::3]),
                               block_text(txs[2::3])])
    for user in odd:
        r = net.client("A", user)
        assert (r.rc, r.lines) == (0, expected_balance_lines("A", user, balance_of(txs, user))), r


def test_member_only_as_receiver_or_sender(net):
    # John only received (45), Ben only sent (85)
    assert net.client("A", "John").lines == expected_balance_lines("A", "John", 1045)
    assert net.client("B", "Ben").lines == expected_balance_lines("B", "Ben", 915)
