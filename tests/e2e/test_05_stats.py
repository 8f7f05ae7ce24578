# test_05_stats.py — the stats table: one row per partner, count in either direction, net
# total (received - sent, negative when the user paid more), ordered by count desc then
# partner name in byte order ("Zed" < "alice"), ranks 1..n; checked against the model.
import re

from e2e_helpers import Tx, block_text, parse_stats_output, stats_of

U = "U"
LONG = "L" * 64


def crafted_txs():
    spec = [
        (U, "Bob", 10), ("Bob", U, 5), ("Bob", U, 30),          # Bob: 3, +25
        (U, "Carl", 100), (U, "Carl", 1),                         # Carl: 2, -101
        (U, "Eve", 5), ("Eve", U, 5),                             # Eve: 2, 0
        ("Zed", U, 7), (U, "alice", 3), (U, "Abe", 1), ("_x", U, 2),
        (U, "9nine", 4), (".dot", U, 6), (U, "-dash", 8), (LONG, U, 11),
        ("Bob", "Carl", 50), ("Zed", "alice", 1),                 # not about U
    ]
    return [Tx(i + 1, s, r, a) for i, (s, r, a) in enumerate(spec)]


def three_blocks(txs):
    return [block_text(txs[0::3]), block_text(txs[1::3]), block_text(txs[2::3])]


def test_stats_order_counts_totals_and_ranks(make_network):
    txs = crafted_txs()
    net = make_network(blocks=three_blocks(txs))
    expected = stats_of(txs, U)
    # spelled out, so the model itself is checked too
    assert [(p, c, n) for _, p, c, n in expected] == [
        ("Bob", 3, 25), ("Carl", 2, -101), ("Eve", 2, 0), ("-dash", 1, -8), (".dot", 1, 6),
        ("9nine", 1, -4), ("Abe", 1, -1), (LONG, 1, 11), ("Zed", 1, 7), ("_x", 1, 2),
        ("alice", 1, -3)]
    for j in "AB":
        r = net.client(j, U, "stats")
        assert r.rc == 0, r
        assert parse_stats_output(j, U, r.out) == expected


def test_stats_follow_a_new_transfer(make_network):
    txs = crafted_txs()
    net = make_network(blocks=three_blocks(txs))
    for k, (s, rcv, a) in enumerate([("Zed", U, 40), (U, "Zed", 1), ("Zed", U, 2)]):
        r = net.client("A", s, rcv, str(a))
        assert r.rc == 0, r
        txs.append(Tx(len(txs) + 1, s, rcv, a))
    r = net.client("B", U, "stats")
    assert r.rc == 0, r
    rows = parse_stats_output("B", U, r.out)
    assert rows == stats_of(txs, U)
    assert rows[0] == (1, "Zed", 4, 48)


def test_stats_of_user_who_paid_itself(make_network):
    # a block line may name the same user twice: one transaction with itself, net 0
    txs = [Tx(1, "Self", "Self", 40), Tx(2, "Self", "Ann", 5), Tx(3, "Ann", "Bo", 1)]
    net = make_network(blocks=three_blocks(txs))
    r = net.client("A", "Self", "stats")
    assert r.rc == 0, r
    rows = parse_stats_output("A", "Self", r.out)
    assert rows == [(1, "Ann", 1, -5), (2, "Self", 1, 0)]
    r = net.client("A", "Self")
    assert (r.rc, r.lines[-1]) == (0, 'The current balance of "Self" is : 995 alicoins.'), r


def test_stats_rows_are_column_aligned(net):
    assert net.client("B", "Chinmay", "Luke", "20").rc == 0
    r = net.client("A", "Chinmay", "stats")
    assert r.rc == 0, r
    rows = r.lines[4:]
    assert len(rows) == 3
    # aligned: in every column, the fields all start (left-aligned) or all end
    # (right-aligned) at the same position
    spans = [[m.span() for m in re.finditer(r"\S+", row)] for row in rows]
    for col in range(4):
        starts = {sp[col][0] for sp in spans}
        ends = {sp[col][1] for sp in spans}
        assert len(starts) == 1 or len(ends) == 1, f"column {col} not aligned: {rows}"
