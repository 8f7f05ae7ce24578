# test_14_one_ledger.py — one ledger across three files (README.md "One ledger across three
# files"): a serial stored in two block files is named by serverM (stderr: the serial and
# both backends) and refused to the client (ERROR INTERNAL, exit 3) on TXLIST, balances,
# transfers and stats; alichain.txt is never written with it. Valid ledgers are untouched.
from e2e_helpers import sample_blocks

DUP_LINE = "serial 1 is stored by both serverA and serverB"
# balances, transfers and stats see only each backend's largest serial and count: ten
# transactions under serials up to 9 prove a duplicate without naming it
COUNT_LINE = "the block files hold 10 transactions under serials up to 9, so a serial is stored twice"


def dup_blocks():
    """The sample, with block2.txt also holding block1.txt's serial 1 (a restore gone
    wrong): Racheal's and John's totals would count it twice."""
    a, b, c = (x.decode() for x in sample_blocks())
    return a, b + "1 Racheal John 45\n", c


def assert_named_refusal(r, line=DUP_LINE):
    assert r.rc == 3, r
    assert "the main server failed: the ledger is inconsistent" in r.err, r
    assert line in r.err, r


def test_txlist_refuses_a_serial_in_two_blocks(make_network):
    net = make_network(blocks=dup_blocks())
    (net.root / "alichain.txt").write_text("the previous list\n")
    r = net.client("A", "TXLIST")
    assert_named_refusal(r)
    assert (net.root / "alichain.txt").read_text() == "the previous list\n", \
        "alichain.txt written with a duplicate"
    net.wait_err("M", lambda t: DUP_LINE in t)
    leftovers = [p.name for p in net.root.iterdir() if ".tmp" in p.name]
    assert leftovers == [], leftovers


def test_balance_and_transfer_refuse_a_serial_in_two_blocks(make_network):
    net = make_network(blocks=dup_blocks())
    assert_named_refusal(net.client("A", "John"), COUNT_LINE)   # 1090 over the copy, not 1045
    assert_named_refusal(net.client("B", "Chinmay"), COUNT_LINE)  # not even touched by it
    assert_named_refusal(net.client("A", "Racheal", "Ali", "5"), COUNT_LINE)
    assert "10 " not in net.block_path("A").read_text() + net.block_path("B").read_text() + \
        net.block_path("C").read_text(), "a transfer was stored over an inconsistent ledger"
    net.wait_err("M", lambda t: COUNT_LINE in t)


def test_stats_refuses_a_serial_in_two_blocks(make_network):
    net = make_network(blocks=dup_blocks())
    assert_named_refusal(net.client("A", "John", "stats"), COUNT_LINE)  # else count 2 with Racheal


def test_counting_proves_a_duplicate_the_maxima_do_not_name(make_network):
    """Serial 2 in block1.txt and block3.txt: the largest serials (9, 8, 7) all differ, but
    nine serials up to 9 cannot be ten transactions. The balance is refused on that proof;
    TXLIST names the serial from the merged pages."""
    a, b, c = (x.decode() for x in sample_blocks())
    net = make_network(blocks=(a, b, c + "2 Rishil Alice 30\n"))
    r = net.client("A", "Alice")
    assert r.rc == 3, r
    assert "hold 10 transactions under serials up to 9" in r.err, r
    r = net.client("A", "TXLIST")
    assert r.rc == 3, r
    assert "serial 2 is stored by both serverB and serverC" in r.err, r
    assert not (net.root / "alichain.txt").exists()


def test_valid_ledger_with_gaps_is_served(make_network):
    """Gaps are not duplicates: serials 1, 5 and 9 alone give the usual answers."""
    net = make_network(blocks=("5 Chinmay Oliver 129\n1 Racheal John 45\n9 Ali Luke 155\n", "", ""))
    r = net.client("A", "Chinmay")
    assert r.rc == 0 and "is : 871 alicoins." in r.out, r
    r = net.client("A", "TXLIST")
    assert r.rc == 0, r
    r = net.client("A", "Chinmay", "stats")
    assert r.rc == 0, r
