# test_10_faults.py — faults on real processes: a paused backend makes requests fail fast
# with "unavailable" (exit 3) and recovery follows SIGCONT; kill -9 of a backend and of
# serverM during bursts of transfers loses no confirmed transfer, records none twice, and
# leaves serials contiguous once in-doubt writes resolve; short random pauses (forcing
# retransmissions) store every write once; SIGTERM/SIGINT exit 0.
import random
import signal
import threading
import time

import pytest

from e2e_helpers import (
    BACKENDS, Tx, balance_of, block_text, c_txlist_ok, communicate_all,
    expected_balance_lines, expected_transfer_ok_lines, m_sent_result, parse_block,
)

RESOLVE_TIMEOUT_S = 20   # after the faults, in-doubt writes must settle within this
TRANSFERS_PAUSED = 120   # amounts 1..120: 7260 of Rich's 11000


def test_paused_backend_means_unavailable_then_recovers(make_network):
    net = make_network(env={"ALICHAIN_TIMEOUT_MS": 500})
    net.pause("B")
    for args in (("Chinmay",), ("Chinmay", "Luke", "5"), ("TXLIST",), ("Chinmay", "stats")):
        r = net.client("A", *args, timeout=5)
        assert r.rc == 3, (args, r)
        assert "unavailable" in r.err.lower(), (args, r)
        assert "The current balance" not in r.out and "successfully" not in r.out, (args, r)
    assert net.servers["M"].proc.poll() is None, "serverM died"
    net.resume("B")
    assert net.client("A", "Chinmay", timeout=5).lines == \
        expected_balance_lines("A", "Chinmay", 881)
    r = net.client("B", "Chinmay", "Luke", "20", timeout=5)
    assert (r.rc, r.lines) == (0, expected_transfer_ok_lines("B", "Chinmay", "Luke", 20, 861)), r
    # the refused transfer of 5 was never recorded
    assert Tx(10, "Chinmay", "Luke", 20) in net.all_disk_txs()
    assert len(net.all_disk_txs()) == 10


def rich_blocks():
    # Rich holds 11000 from ten donors (the bursts move 9850 at most); Bob and Cat are members
    txs = [Tx(i, f"D{i}", "Rich", 1000) for i in range(1, 11)] + [Tx(11, "Bob", "Cat", 1)]
    return txs, [block_text(txs[0::3]), block_text(txs[1::3]), block_text(txs[2::3])]


def check_exactly_once(net, base, outcomes):
    """Every confirmed transfer is on disk once, nothing twice, nothing unasked for, serials
    1..n; returns all transactions on disk."""
    disk = net.disk_txs()
    all_disk = [t for b in BACKENDS for t in disk[b]]
    serials = sorted(t.serial for t in all_disk)
    assert serials == list(range(1, len(serials) + 1)), f"serials not 1..n: {serials}"
    by_key = {}
    for t in all_disk:
        if t not in base:
            by_key.setdefault((t.sender, t.receiver, t.amount), []).append(t)
    for key, ts in by_key.items():
        assert len(ts) == 1, f"transfer {key} recorded {len(ts)} times: {ts}"
    asked = {k for k, _ in outcomes}
    assert set(by_key) <= asked, f"unasked transfers on disk: {set(by_key) - asked}"
    for key, r in outcomes:
        if r.rc == 0:
            assert key in by_key, f"confirmed transfer {key} lost"
    return all_disk


def confirmed_count(net):
    lines = net.out_lines("M")
    return sum(lines.count(m_sent_result(j)) for j in "AB")


def burst(net, amounts, fault):
    """Launches one transfer per amount (Rich -> Bob or Cat), one after the other without
    waiting, and runs fault() once serverM has answered a third of them, while the rest are
    still being launched or in flight. Returns [(("Rich", receiver, amount), Result)]."""
    procs, keys = [], []
    answered_before = confirmed_count(net)
    faulted = False
    for k, a in enumerate(amounts):
        receiver = "Bob" if k % 2 else "Cat"
        procs.append(net.popen_client("AB"[k % 2], "Rich", receiver, str(a)))
        keys.append(("Rich", receiver, a))
        if not faulted and confirmed_count(net) - answered_before >= len(amounts) // 3:
            fault()
            faulted = True
    if not faulted:
        fault()
    return list(zip(keys, communicate_all(procs, timeout=60)))


def kill_and_restart(net, name):
    def fault():
        net.kill(name)
        net.start_server(name)
    return fault


def test_kill9_backend_and_main_server_during_bursts(make_network):
    base, blocks = rich_blocks()
    net = make_network(blocks=blocks, env={"ALICHAIN_TIMEOUT_MS": 1000})
    # a backend dies and comes straight back (serverM's retries may bridge the gap)
    outcomes = burst(net, range(1, 41), kill_and_restart(net, "B"))
    # a backend dies and stays down for the rest of the burst (writes in doubt)
    outcomes += burst(net, range(201, 221), lambda: net.kill("C"))
    net.start_server("C")
    # serverM dies and comes straight back (in-flight clients: outcome unknown)
    outcomes += burst(net, range(101, 141), kill_and_restart(net, "M"))

    for key, r in outcomes:
        assert r.rc in (0, 3), (key, r)   # Rich can afford all: never refused
        if r.rc == 3:
            assert r.err.strip() != "", r

    # in-doubt writes resolve: poll TXLIST until the serials are 1..n with no gap
    deadline = time.monotonic() + RESOLVE_TIMEOUT_S
    while True:
        r = net.client("A", "TXLIST", timeout=10)
        listed = parse_block((net.root / "alichain.txt").read_bytes()) if r.rc == 0 else []
        serials = [t.serial for t in listed]
        if r.rc == 0 and serials == list(range(1, len(serials) + 1)):
            break
        assert time.monotonic() < deadline, f"serials never contiguous: {serials} ({r})"
        time.sleep(0.2)
    assert r.lines[-1] == c_txlist_ok(len(listed), "alichain.txt")
    all_disk = check_exactly_once(net, base, outcomes)
    assert sorted(all_disk) == listed, "TXLIST differs from the block files"

    # balances served agree with the files, and the network still takes transfers
    for user in ("Rich", "Bob", "Cat"):
        assert net.client("B", user).lines == \
            expected_balance_lines("B", user, balance_of(all_disk, user))
    r = net.client("A", "Bob", "Cat", "1")
    assert r.rc == 0, r
    assert Tx(len(all_disk) + 1, "Bob", "Cat", 1) in net.all_disk_txs()


def test_backend_pauses_during_burst_lose_and_duplicate_nothing(make_network):
    # short pauses (well under the deadline) of random backends at random moments make
    # serverM retransmit to a frozen backend, which later reads every copy: each write
    # must be stored once, in one file, and every transfer must still succeed
    base, blocks = rich_blocks()
    net = make_network(blocks=blocks, env={"ALICHAIN_TIMEOUT_MS": 5000})
    rng = random.Random(5)
    stop = threading.Event()

    def pauser():
        while not stop.is_set():
            victim = rng.choice(BACKENDS)
            net.pause(victim)
            time.sleep(0.025)      # a fault window longer than the first retransmission
            net.resume(victim)
            time.sleep(rng.uniform(0, 0.005))

    procs, keys = [], []
    thread = threading.Thread(target=pauser)
    thread.start()
    try:
        for k in range(TRANSFERS_PAUSED):
            receiver = "Bob" if k % 2 else "Cat"
            procs.append(net.popen_client("AB"[k % 2], "Rich", receiver, str(k + 1)))
            keys.append(("Rich", receiver, k + 1))
            time.sleep(0.02)       # a steady stream of transfers across many pauses
        outcomes = list(zip(keys, communicate_all(procs, timeout=60)))
    finally:
        stop.set()
        thread.join()
    for key, r in outcomes:
        assert r.rc == 0, (key, r)
    all_disk = check_exactly_once(net, base, outcomes)
    assert len(all_disk) == len(base) + TRANSFERS_PAUSED
    assert net.client("A", "Rich").lines == expected_balance_lines(
        "A", "Rich", balance_of(all_disk, "Rich"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_servers_with_exit_0(net, sig):
    r = net.client("A", "Chinmay", "Luke", "20")
    assert r.rc == 0, r
    for name in ("M", "A", "B", "C"):
        assert net.stop(name, sig) == 0, f"server{name} exit code on {sig.name}"
    # the confirmed transfer survived the shutdown
    txs = [t for b in BACKENDS for t in parse_block(net.block_path(b).read_bytes())]
    assert Tx(10, "Chinmay", "Luke", 20) in txs


def test_restart_everything_keeps_the_ledger(net):
    for k in range(5):
        assert net.client("A", "Luke", "Ali", str(k + 1)).rc == 0
    for name in ("M", "A", "B", "C"):
        net.restart(name)
    assert net.client("B", "Luke").lines == expected_balance_lines("B", "Luke", 1180 - 15)
    r = net.client("A", "Ali", "Luke", "2")
    assert r.rc == 0, r
    assert Tx(15, "Ali", "Luke", 2) in net.all_disk_txs()
