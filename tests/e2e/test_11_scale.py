# test_11_scale.py — 100,000 transactions over the three block files, one user ("Hub") in
# 20,000 of them with thousands of distinct partners: balance, the full stats table and the
# TXLIST file must equal what the Python model computes, exactly.
import random

from e2e_helpers import (
    Tx, balance_of, block_text, c_txlist_ok, expected_balance_lines, parse_stats_output,
    stats_of,
)

TOTAL = 100_000
HUB_TXS = 20_000
PARTNERS = 3_000
OTHERS = 10_000
SCALE_TIMEOUT_S = 60


def generate():
    rng = random.Random(20240601)
    serials = list(range(1, TOTAL + 1))
    rng.shuffle(serials)
    txs = []
    for k in range(TOTAL):
        if k < HUB_TXS:
            # skewed partner choice: a few heavy partners, a long tail, many ties
            if rng.random() < 0.5:
                p = f"P{min(int(rng.paretovariate(0.7)) - 1, PARTNERS - 1)}"
            else:
                p = f"P{rng.randrange(PARTNERS)}"
            if rng.random() < 0.6:
                s, r = p, "Hub"
            else:
                s, r = "Hub", p
        else:
            a, b = rng.sample(range(OTHERS), 2)
            s, r = f"U{a}", f"U{b}"
        txs.append(Tx(serials[k], s, r, rng.randint(1, 1000)))
    parts = [[], [], []]
    for t in txs:
        parts[rng.randrange(3)].append(t)
    return txs, [block_text(p) for p in parts]


def test_scale_balance_stats_txlist(make_network):
    txs, blocks = generate()
    expected_stats = stats_of(txs, "Hub")
    assert len(expected_stats) > 1000, "the generator must give Hub thousands of partners"
    assert sum(c for _, _, c, _ in expected_stats) == HUB_TXS
    net = make_network(blocks=blocks, ready_timeout=SCALE_TIMEOUT_S)

    for j, user in (("A", "Hub"), ("B", "P0"), ("A", "U17")):
        r = net.client(j, user, timeout=SCALE_TIMEOUT_S)
        assert (r.rc, r.lines) == (0, expected_balance_lines(j, user, balance_of(txs, user))), r

    r = net.client("B", "Hub", "stats", timeout=SCALE_TIMEOUT_S)
    assert r.rc == 0, r.err
    rows = parse_stats_output("B", "Hub", r.out)
    assert len(rows) == len(expected_stats)
    for got, want in zip(rows, expected_stats):
        assert got == want, f"first differing row: got {got}, expected {want}"

    r = net.client("A", "TXLIST", timeout=SCALE_TIMEOUT_S)
    assert (r.rc, r.lines[-1]) == (0, c_txlist_ok(TOTAL, "alichain.txt")), r
    expected_text = "".join(f"{t.line()}\n" for t in sorted(txs))
    got_text = (net.root / "alichain.txt").read_text()
    assert got_text == expected_text, "alichain.txt differs from the sorted transactions"
