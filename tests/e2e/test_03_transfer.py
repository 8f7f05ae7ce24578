# test_03_transfer.py — TXCOINS: every refusal sentence and exit code, the order of serverM's
# checks (membership, then same user, then balance), serial = max + 1 and contiguous, each
# transfer on disk in exactly one block file as soon as the client returns, reproducible
# backend choice under ALICHAIN_SEED, and amounts/balances at the 10^12 and 2^53 edges.
from e2e_helpers import (
    BACKENDS, Tx, balance_of, block_text, c_balance, c_insufficient, c_nouser_tx,
    c_nousers_tx, c_same_tx, c_transfer_sent, c_up, expected_balance_lines,
    expected_transfer_ok_lines, m_recv_transfer, m_sent_result, parse_block,
)


def refused_lines(j, sender, receiver, amount, last):
    return [c_up(j), c_transfer_sent(sender, amount, receiver), *last]


def test_refusals_exact_messages(net):
    before = net.block_bytes()
    cases = [
        (("Nobody", "Luke", "5"), [c_nouser_tx("Nobody")]),
        (("Chinmay", "Nobody", "5"), [c_nouser_tx("Nobody")]),
        (("Nobody", "Ghost", "5"), [c_nousers_tx("Nobody", "Ghost")]),
        (("Chinmay", "Luke", "882"), [c_insufficient("Chinmay", 882, "Luke"),
                                      c_balance("Chinmay", 881)]),
        (("Chinmay", "Chinmay", "5"), [c_same_tx("Chinmay")]),
        # same user is checked before the balance
        (("Chinmay", "Chinmay", "5000"), [c_same_tx("Chinmay")]),
        # membership is checked before the balance
        (("Chinmay", "Nobody", "5000"), [c_nouser_tx("Nobody")]),
        (("Nobody", "Chinmay", "5000"), [c_nouser_tx("Nobody")]),
        # the largest valid amount is a refusal for lack of funds, not a usage error
        (("Chinmay", "Luke", "1000000000000"),
         [c_insufficient("Chinmay", 1000000000000, "Luke"), c_balance("Chinmay", 881)]),
    ]
    sent = {"A": 0, "B": 0}
    for n, (args, last) in enumerate(cases):
        j = "AB"[n % 2]
        r = net.client(j, *args)
        assert r.rc == 1, (args, r)
        assert r.lines == refused_lines(j, args[0], args[1], int(args[2]), last), args
        sent[j] += 1
        m = net.wait_line("M", m_sent_result(j), count=sent[j])
        assert m_recv_transfer(args[0], int(args[2]), args[1], net.ports["tcp" + j]) in m
    assert net.block_bytes() == before, "a refused transfer changed a block file"


def test_self_transfer_of_non_member_is_a_membership_refusal(net):
    # membership first: the "itself" sentence is only for members; sender and receiver
    # are both not part of the network, so the sentence names both
    r = net.client("A", "Ghost", "Ghost", "5")
    assert (r.rc, r.lines) == (1, refused_lines("A", "Ghost", "Ghost", 5,
                                                [c_nousers_tx("Ghost", "Ghost")])), r


def test_transfer_whole_balance_then_nothing_left(net):
    r = net.client("B", "Chinmay", "Luke", "881")
    assert (r.rc, r.lines) == (0, expected_transfer_ok_lines("B", "Chinmay", "Luke", 881, 0)), r
    m = net.wait_line("M", m_sent_result("B"))
    assert m_recv_transfer("Chinmay", 881, "Luke", net.ports["tcpB"]) in m
    r = net.client("A", "Chinmay", "Luke", "1")
    assert r.rc == 1, r
    assert r.lines[-2:] == [c_insufficient("Chinmay", 1, "Luke"), c_balance("Chinmay", 0)]
    assert net.client("A", "Chinmay").lines == expected_balance_lines("A", "Chinmay", 0)
    assert net.client("A", "Luke").lines == expected_balance_lines("A", "Luke", 1180 + 881)


def test_serials_contiguous_and_each_transfer_durable_in_one_file(net):
    txs = net.all_disk_txs()
    users = ["Chinmay", "Luke", "Rishil", "Alice", "Oliver", "Racheal"]
    for k in range(15):
        sender, receiver = users[k % 6], users[(k + 1 + k // 6) % 6]
        if sender == receiver:
            receiver = users[(k + 2) % 6]
        amount = k + 1
        j = "AB"[k % 2]
        r = net.client(j, sender, receiver, str(amount))
        expected = balance_of(txs, sender) - amount
        assert (r.rc, r.lines) == (0, expected_transfer_ok_lines(
            j, sender, receiver, amount, expected)), r
        new = Tx(10 + k, sender, receiver, amount)
        txs.append(new)
        # on disk right now (the backend synced before it confirmed), in exactly one file
        on_disk = net.disk_txs()
        holders = [b for b in BACKENDS if new in on_disk[b]]
        assert len(holders) == 1, f"{new} found in {holders}"
        assert sorted(t for b in BACKENDS for t in on_disk[b]) == sorted(txs)
    serials = sorted(t.serial for t in net.all_disk_txs())
    assert serials == list(range(1, 25))


def test_serial_is_max_plus_one_despite_gaps(make_network):
    net = make_network(blocks=["3 Ann Bob 5\n", "100 Bob Cid 7\n", "50 Cid Ann 9\n"])
    r = net.client("A", "Ann", "Cid", "1")
    assert r.rc == 0, r
    assert Tx(101, "Ann", "Cid", 1) in net.all_disk_txs()
    r = net.client("B", "Cid", "Bob", "2")
    assert r.rc == 0, r
    assert Tx(102, "Cid", "Bob", 2) in net.all_disk_txs()


def test_serials_run_out_without_wrapping(make_network):
    last = 2 ** 64 - 1
    net = make_network(blocks=[f"{last - 1} Ann Bob 5\n", "1 Bob Ann 1\n", ""])
    r = net.client("A", "Ann", "Bob", "3")
    assert r.rc == 0, r
    assert Tx(last, "Ann", "Bob", 3) in net.all_disk_txs()
    before = net.block_bytes()
    # no serial is left: the transfer fails (exit 3, the reason on stderr), never a
    # success, never a wrapped serial
    r = net.client("B", "Bob", "Ann", "2")
    assert (r.rc, r.lines) == (3, [c_up("B"), c_transfer_sent("Bob", 2, "Ann")]), r
    assert "no serial left" in r.err, r
    assert net.block_bytes() == before
    assert net.client("A", "Ann").lines == expected_balance_lines("A", "Ann", 1000 - 5 + 1 - 3)


def seeded_run(make_network, seed):
    net = make_network(env={"ALICHAIN_SEED": seed})
    users = ["Chinmay", "Luke", "Rishil", "Alice"]
    for k in range(12):
        r = net.client("AB"[k % 2], users[k % 4], users[(k + 1) % 4], str(k + 1))
        assert r.rc == 0, r
    files = net.block_bytes()
    for b in BACKENDS:
        net.stop(b)
    net.stop("M")
    return files


def test_seed_makes_backend_choice_reproducible(make_network):
    first = seeded_run(make_network, 4242)
    second = seeded_run(make_network, 4242)
    assert first == second
    grown = [b for b in BACKENDS if len(parse_block(first[b])) > 3]
    assert len(grown) >= 2, "12 transfers all landed on one backend"


def test_largest_amount_with_rich_sender(make_network):
    net = make_network(blocks=["1 Mint Rich 1000000000000\n", "2 Bob Carl 1\n", ""])
    r = net.client("A", "Rich", "Bob", "1000000000000")
    assert (r.rc, r.lines) == (0, expected_transfer_ok_lines(
        "A", "Rich", "Bob", 1000000000000, 1000)), r
    assert net.client("B", "Bob").lines == expected_balance_lines("B", "Bob", 1000000000999)
    # a balance may be negative when the blocks say so (1000 + received - sent)
    assert net.client("B", "Mint").lines == expected_balance_lines("B", "Mint", -999999999000)
    assert Tx(3, "Rich", "Bob", 1000000000000) in net.all_disk_txs()


def test_balances_exact_beyond_2_pow_53(make_network):
    # Big receives 9008 * 10^12 + 7 > 2^53: a float anywhere would lose the last digits
    txs = [Tx(k, "Mint", "Big", 10 ** 12) for k in range(1, 9009)]
    txs.append(Tx(9009, "Mint", "Big", 7))
    net = make_network(blocks=[block_text(txs[0::3]), block_text(txs[1::3]),
                               block_text(txs[2::3])])
    big = balance_of(txs, "Big")
    assert big == 9008000000001007 and big > 2 ** 53
    assert net.client("A", "Big").lines == expected_balance_lines("A", "Big", big)
    assert net.client("A", "Mint").lines == expected_balance_lines("A", "Mint", 2000 - big)
    r = net.client("B", "Big", "Mint", "1000000000000")
    assert (r.rc, r.lines) == (0, expected_transfer_ok_lines(
        "B", "Big", "Mint", 10 ** 12, big - 10 ** 12)), r
