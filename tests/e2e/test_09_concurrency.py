# test_09_concurrency.py — racing clients: 45 transfers of 50 from a sender holding exactly
# 1000, all launched at once with balance queries in between. Exactly 20 may succeed, the
# new balances they report are 950..0 once each (some one-at-a-time order), serials stay
# contiguous, nothing is spent twice, and every concurrent balance is a possible one.
from e2e_helpers import (
    Tx, balance_of, block_text, c_balance, c_insufficient, c_transfer_ok, communicate_all,
    expected_balance_lines,
)

RECEIVERS = ["Bob", "Cat", "Dan"]
TRANSFERS = 45
AMOUNT = 50
QUERIES = 12


def payer_blocks():
    # Payer holds exactly 1000; the receivers are members
    txs = [Tx(1, "Payer", "Bob", 1), Tx(2, "Bob", "Payer", 1), Tx(3, "Cat", "Dan", 2)]
    return txs, [block_text(txs[0:1]), block_text(txs[1:2]), block_text(txs[2:3])]


def test_racing_transfers_never_overdraw(make_network):
    base, blocks = payer_blocks()
    net = make_network(blocks=blocks)
    assert net.client("A", "Payer").lines == expected_balance_lines("A", "Payer", 1000)

    procs, kinds = [], []
    for k in range(TRANSFERS):
        procs.append(net.popen_client("AB"[k % 2], "Payer", RECEIVERS[k % 3], str(AMOUNT)))
        kinds.append(("tx", RECEIVERS[k % 3]))
        if k % 4 == 0 and len([x for x in kinds if x[0] == "q"]) < QUERIES:
            procs.append(net.popen_client("BA"[k % 2], "Payer"))
            kinds.append(("q", None))
    results = communicate_all(procs, timeout=60)

    ok_balances, refused, seen = [], 0, []
    for (kind, receiver), r in zip(kinds, results):
        if kind == "q":
            assert r.rc == 0, r
            bal = int(r.lines[-1].split(" is : ")[1].split()[0])
            assert r.lines[-1] == c_balance("Payer", bal), r
            assert 0 <= bal <= 1000 and bal % AMOUNT == 0, r
            seen.append(bal)
            continue
        assert r.rc in (0, 1), r
        if r.rc == 0:
            assert r.lines[-2] == c_transfer_ok("Payer", AMOUNT, receiver), r
            ok_balances.append(int(r.lines[-1].split(" is : ")[1].split()[0]))
        else:
            refused += 1
            # only a balance below 50, i.e. 0, can refuse a transfer of 50
            assert r.lines[-2:] == [c_insufficient("Payer", AMOUNT, receiver),
                                    c_balance("Payer", 0)], r
    assert len(ok_balances) == 1000 // AMOUNT
    assert refused == TRANSFERS - 1000 // AMOUNT
    assert sorted(ok_balances) == list(range(0, 1000, AMOUNT)), "not a one-at-a-time history"

    on_disk = net.all_disk_txs()
    new = sorted(t for t in on_disk if t not in base)
    assert [t.serial for t in new] == list(range(4, 4 + 1000 // AMOUNT)), new
    assert all(t.sender == "Payer" and t.amount == AMOUNT for t in new), new
    assert balance_of(on_disk, "Payer") == 0
    assert net.client("B", "Payer").lines == expected_balance_lines("B", "Payer", 0)
    for name in RECEIVERS:
        assert net.client("A", name).lines == \
            expected_balance_lines("A", name, balance_of(on_disk, name))


def test_racing_mixed_operations(net):
    # many users at once: each moves a little to the next; all succeed, totals conserved
    users = ["Chinmay", "Luke", "Rishil", "Alice", "Oliver", "Racheal", "John", "Ben",
             "Victor", "Martin", "Ali", "Rachit"]
    procs = []
    for k in range(36):
        a, b = users[k % 12], users[(k + 5) % 12]
        procs.append(net.popen_client("AB"[k % 2], a, b, str(k + 1)))
        if k % 6 == 0:
            procs.append(net.popen_client("A", "TXLIST"))
            procs.append(net.popen_client("B", a, "stats"))
    results = communicate_all(procs, timeout=60)
    assert all(r.rc == 0 for r in results), [r for r in results if r.rc != 0]
    on_disk = net.all_disk_txs()
    assert sorted(t.serial for t in on_disk) == list(range(1, 10 + 36))
    assert sum(balance_of(on_disk, u) for u in users) == 1000 * len(users)
    for u in users:
        assert net.client("A", u).lines == expected_balance_lines("A", u, balance_of(on_disk, u))
