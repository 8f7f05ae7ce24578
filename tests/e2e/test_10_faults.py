# test_10_faults.py — faults on real processes, each opened on an event, never after a
# sleep: a paused backend makes requests fail fast with "unavailable" (exit 3) and recovery
# follows SIGCONT. The kill -9 tests put a UdpTap between serverM and the backends and
# kill at the moment a WRITE is durable on its backend but its acknowledgement has not
# reached serverM (or, for fencing, before the WRITE reached the backend), so every such
# test has a write really in doubt and then checks that it resolves exactly once:
# confirmed across a backend restart, "outcome unknown" then stored when the backend
# returns, stored though serverM died, or refused (UNFENCED by a restarted backend, STALE
# once the next serverM has read) when an old serverM's WRITE arrives late.
# A WRITE lost on the wire past its deadline stays in doubt (no serial handed out twice)
# and lands once when the link heals. Backends paused by the tap when a request reaches
# them read serverM's retransmission too, and lost acknowledgements make serverM resend
# writes already stored: every write is still stored once. SIGTERM/SIGINT exit 0, and
# serverM stopping with a write in flight finishes it first.
import signal
import socket
import time

import pytest

from e2e_helpers import (
    BACKENDS, WIRE_QUERY, WIRE_ST_STALE, WIRE_ST_UNFENCED, WIRE_WRITE, Tx, b_received,
    balance_of, block_text, c_txlist_ok, communicate_all, expected_balance_lines,
    expected_transfer_ok_lines, m_recv_balance, m_sent_result, parse_block,
)

RESOLVE_TIMEOUT_S = 20   # after the faults, in-doubt writes must settle within this
EVENT_TIMEOUT_S = 10     # an event the test waits for before it injects a fault
TRANSFERS_PAUSED = 90    # amounts 1..90: 4095 of Rich's 11000
UNKNOWN = "the outcome of the transfer is unknown"


# serverM's backend deadline where a test waits for "unavailable" or "unknown" and then needs
# the same servers to work again: short enough to wait for, long enough that a slow
# fdatasync or a descheduled backend on a loaded CI machine is not taken for a fault
RECOVERING_TIMEOUT_MS = 1500


def test_paused_backend_means_unavailable_then_recovers(make_network):
    net = make_network(env={"ALICHAIN_TIMEOUT_MS": RECOVERING_TIMEOUT_MS})
    net.pause("B")
    ops = (("Chinmay",), ("Chinmay", "Luke", "5"), ("TXLIST",), ("Chinmay", "stats"))
    results = communicate_all([net.popen_client("A", *args) for args in ops], timeout=5)
    for args, r in zip(ops, results):
        assert r.rc == 3, (args, r)
        assert "unavailable" in r.err.lower(), (args, r)
        assert "unavailable: serverB did not answer the main server in time" in r.err, \
            ("the message names exactly server B", args, r)
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
    # Rich holds 11000 from ten donors (a burst moves 1265 at most); Bob and Cat are members.
    # Every transfer names Rich, so serverM runs each in a batch of its own: one WRITE
    # datagram holds exactly one transfer.
    txs = [Tx(i, f"D{i}", "Rich", 1000) for i in range(1, 11)] + [Tx(11, "Bob", "Cat", 1)]
    return txs, [block_text(txs[0::3]), block_text(txs[1::3]), block_text(txs[2::3])]


def key_of(t):
    return (t.sender, t.receiver, t.amount)


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
            by_key.setdefault(key_of(t), []).append(t)
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


def launch_burst(net, amounts, first=0):
    """Launches one transfer per amount (Rich -> Bob or Cat, clients A and B in turn;
    `first`: the index of the first one in its burst) without waiting; returns
    (keys, procs)."""
    procs, keys = [], []
    for k, a in enumerate(amounts, start=first):
        receiver = "Bob" if k % 2 else "Cat"
        procs.append(net.popen_client("AB"[k % 2], "Rich", receiver, str(a)))
        keys.append(("Rich", receiver, a))
    return keys, procs


def wait_confirmed(net, n):
    """Waits until serverM has sent n transfer results (its log), so that the fault lands
    in the middle of the burst."""
    deadline = time.monotonic() + EVENT_TIMEOUT_S
    while confirmed_count(net) < n:
        assert time.monotonic() < deadline, (
            f"serverM confirmed {confirmed_count(net)} of the burst's transfers within "
            f"{EVENT_TIMEOUT_S} s, expected {n}; stderr: {net.err('M')[-2000:]}")
        time.sleep(0.005)


def held_write_on_disk(net, tap, after):
    """Waits for the WRITE acknowledgement the tap was told to keep from serverM (it cuts
    that backend's link). Returns the HeldWrite, after checking that its transfers are
    durable on their backend: an in-doubt write that really happened."""
    held = tap.wait(f"no WRITE was acknowledged after {after} confirmed transfers")
    # a batch validates Rich's transfers one after the other against running balances, so
    # one WRITE may hold several: all of them are in doubt together
    assert held.txs and all(t.sender == "Rich" for t in held.txs), held
    on_disk = parse_block(net.block_path(held.backend).read_bytes())
    for t in held.txs:
        assert t in on_disk, f"{t} acknowledged but not on disk"
    return held


def resolve_txlist(net):
    """Polls TXLIST until it succeeds with serials 1..n (in-doubt writes settled); returns
    the transactions listed."""
    deadline = time.monotonic() + RESOLVE_TIMEOUT_S
    while True:
        r = net.client("A", "TXLIST", timeout=10)
        listed = parse_block((net.root / "alichain.txt").read_bytes()) if r.rc == 0 else []
        serials = [t.serial for t in listed]
        if r.rc == 0 and serials == list(range(1, len(serials) + 1)):
            break
        assert time.monotonic() < deadline, f"serials never contiguous: {serials} ({r})"
        time.sleep(0.05)
    assert r.lines[-1] == c_txlist_ok(len(listed), "alichain.txt")
    return listed


def check_served(net, all_disk):
    """Balances served agree with the files, and the network still takes a transfer."""
    for user in ("Rich", "Bob", "Cat"):
        assert net.client("B", user).lines == \
            expected_balance_lines("B", user, balance_of(all_disk, user))
    r = net.client("A", "Bob", "Cat", "1")
    assert r.rc == 0, r
    assert Tx(len(all_disk) + 1, "Bob", "Cat", 1) in net.all_disk_txs()


def kill_during_burst(tapped_network, timeout_ms, amounts, after, fault):
    """A network on rich_blocks() with ALICHAIN_TIMEOUT_MS=timeout_ms and a tap; launches
    the first `after` transfers of a burst, waits until they are confirmed, then holds the
    next WRITE acknowledgement and launches the rest (a batch takes every transfer waiting,
    so the second wave is written after the hold is armed), and calls fault(net, tap, held)
    at that moment. Returns (base, net, tap, held, [(key, Result)]) once every client has
    ended."""
    base, blocks = rich_blocks()
    net, tap = tapped_network(blocks=blocks, env={"ALICHAIN_TIMEOUT_MS": timeout_ms})
    keys, procs = launch_burst(net, list(amounts)[:after])
    wait_confirmed(net, after)
    tap.hold_next_write_ack()
    more_keys, more_procs = launch_burst(net, list(amounts)[after:], first=after)
    held = held_write_on_disk(net, tap, after)
    fault(net, tap, held)
    return base, net, tap, held, list(zip(keys + more_keys, communicate_all(procs + more_procs, timeout=60)))


def restart_and_resolve(net, tap, name, base, outcomes):
    """Heals the tap, starts server `name` again, waits until the in-doubt writes settle
    (TXLIST with serials 1..n), checks exactly-once; returns all transactions on disk."""
    tap.heal()
    net.start_server(name)
    listed = resolve_txlist(net)
    all_disk = check_exactly_once(net, base, outcomes)
    assert sorted(all_disk) == listed, "TXLIST differs from the block files"
    return all_disk


def test_kill9_backend_with_unacknowledged_write_confirms_it_after_restart(tapped_network):
    # the backend stored the write, serverM never heard, the backend dies and comes back:
    # serverM's retransmission reaches the new process (UNFENCED, hello, WRITE again), which
    # acknowledges the serial it already holds: confirmed across the kill, stored once
    def fault(net, tap, held):
        net.kill(held.backend)
        tap.heal()
        net.start_server(held.backend)

    base, net, tap, held, outcomes = kill_during_burst(
        tapped_network, 5000, range(1, 31), 10, fault)
    for key, r in outcomes:
        assert r.rc == 0, (key, r)        # Rich can afford all, and nothing timed out
    for t in held.txs:
        r = dict(outcomes)[key_of(t)]
        assert r.lines[-2].endswith(f'successfully transferred {t.amount} alicoins to '
                                    f'"{t.receiver}".'), r
    assert b_received(held.backend) in net.out_lines(held.backend), \
        "the restarted backend never heard the retransmitted WRITE"
    all_disk = check_exactly_once(net, base, outcomes)
    assert len(all_disk) == len(base) + 30
    assert sorted(all_disk) == resolve_txlist(net)
    check_served(net, all_disk)


def test_kill9_backend_leaves_write_in_doubt_until_it_returns(tapped_network):
    # the backend stored the write and dies before serverM heard: after the deadline that
    # client is told "outcome unknown", every later request "unavailable" (no batch starts
    # while a write is in doubt); when the backend returns, the retried write settles once
    base, net, tap, held, outcomes = kill_during_burst(
        tapped_network, 1000, range(201, 221), 5, lambda net, tap, held: net.kill(held.backend))
    unavailable = []
    held_keys = {key_of(t) for t in held.txs}
    for key, r in outcomes:
        if key in held_keys:
            assert r.rc == 3 and UNKNOWN in r.err, ("an in-doubt transfer", key, r)
        elif r.rc != 0:
            assert r.rc == 3 and "unavailable" in r.err, (key, r)
            unavailable.append(key)
    assert sum(r.rc == 0 for _, r in outcomes) >= 5
    assert unavailable, "no request came after the in-doubt write"

    all_disk = restart_and_resolve(net, tap, held.backend, base, outcomes)
    for t in held.txs:
        assert t in all_disk, "an in-doubt write was lost"
    on_disk_keys = {key_of(t) for t in all_disk}
    assert not on_disk_keys & set(unavailable), "a transfer answered 'unavailable' was stored"
    check_served(net, all_disk)


def test_kill9_main_server_after_a_durable_write(tapped_network):
    # the backend stored the write and acknowledged it, serverM dies before it heard: the
    # client is told "outcome unknown" and the write counts, once, for the next serverM
    base, net, tap, held, outcomes = kill_during_burst(
        tapped_network, 1000, range(101, 131), 10, lambda net, tap, held: net.kill("M"))
    for key, r in outcomes:
        assert r.rc in (0, 3), (key, r)    # which were served before the kill is timing
        if key in {key_of(t) for t in held.txs}:
            assert r.rc == 3 and UNKNOWN in r.err, ("an in-doubt transfer", key, r)
    all_disk = restart_and_resolve(net, tap, "M", base, outcomes)
    # exactly the confirmed transfers and those in doubt are stored (one batch in flight)
    stored = {key_of(t) for t in all_disk if t not in base}
    assert stored == {k for k, r in outcomes if r.rc == 0} | {key_of(t) for t in held.txs}
    check_served(net, all_disk)


@pytest.mark.parametrize("backend_restarts", [False, True],
                         ids=["backend-up", "backend-restarted"])
def test_write_of_a_dead_main_server_is_fenced_out(tapped_network, backend_restarts):
    # serverM dies with its WRITE still on the wire. If its backend restarted meanwhile
    # (forgetting its fence), the old WRITE reaching it first is refused UNFENCED. Then
    # the next serverM reads every backend, and the old WRITE arriving again is refused
    # STALE. Nothing is stored, and the serial goes to the next transfer. Nothing here waits
    # for a timeout: a long one only keeps a slow fdatasync under a loaded machine's I/O from
    # being taken for a lost write (1 s was, once, in CI's sanitizer lane: outcome unknown)
    net, tap = tapped_network(env={"ALICHAIN_TIMEOUT_MS": 5000})
    before = net.block_bytes()
    tap.hold_next_write()
    p = net.popen_client("A", "Chinmay", "Luke", "20")
    held = tap.wait("serverM sent no WRITE for a transfer")
    assert held.txs == [Tx(10, "Chinmay", "Luke", 20)], held
    net.kill("M")
    [r] = communicate_all([p])
    assert r.rc == 3 and UNKNOWN in r.err, r
    tap.heal()
    if backend_restarts:
        net.kill(held.backend)
        net.start_server(held.backend)
        assert tap.release_write() == WIRE_ST_UNFENCED
    net.start_server("M")
    assert net.client("B", "Chinmay").lines == expected_balance_lines("B", "Chinmay", 881)
    assert tap.release_write() == WIRE_ST_STALE
    assert net.block_bytes() == before, "an old serverM's WRITE changed a block file"
    r = net.client("B", "Chinmay", "Luke", "25")
    assert (r.rc, r.lines) == (0, expected_transfer_ok_lines("B", "Chinmay", "Luke", 25, 856)), r
    assert Tx(10, "Chinmay", "Luke", 25) in net.all_disk_txs()
    assert len(net.all_disk_txs()) == 10


def test_write_lost_on_the_wire_stays_in_doubt_and_lands_once(tapped_network):
    # every WRITE to the chosen backend is lost (its reads still pass) past the deadline:
    # the client is told "outcome unknown"; no batch starts while that write is in doubt
    # (a new request is "unavailable", and no serial is handed out twice); once the link
    # heals the retried write lands, once, and the next transfer gets the next serial
    net, tap = tapped_network(env={"ALICHAIN_TIMEOUT_MS": RECOVERING_TIMEOUT_MS, "ALICHAIN_SEED": 7})
    before = net.block_bytes()
    tap.drop_next_writes()
    p = net.popen_client("A", "Chinmay", "Luke", "20")
    held = tap.wait("serverM sent no WRITE for a transfer")
    assert held.txs == [Tx(10, "Chinmay", "Luke", 20)], held
    [r] = communicate_all([p])
    assert r.rc == 3 and UNKNOWN in r.err, r
    assert net.block_bytes() == before, "the dropped WRITE landed"
    r = net.client("B", "Luke", "Ali", "5")
    assert r.rc == 3 and "unavailable" in r.err, r
    assert f"unavailable: server{held.backend} did not answer the main server in time" in r.err, \
        f"'unavailable' does not name exactly backend {held.backend}: {r.err!r}"
    tap.heal()
    listed = resolve_txlist(net)
    base = [t for data in before.values() for t in parse_block(data)]
    assert sorted(listed) == sorted(base + held.txs)
    assert held.txs[0] in parse_block(net.block_path(held.backend).read_bytes())
    r = net.client("B", "Luke", "Ali", "5")
    assert r.rc == 0, r
    assert Tx(11, "Luke", "Ali", 5) in net.all_disk_txs()


def test_backend_paused_or_unheard_stores_each_write_once(tapped_network):
    # the tap pauses a backend just before every 3rd WRITE and every 15th QUERY reaches it
    # and resumes it once serverM's retransmission has reached it too (the backend reads
    # both copies, the second while the first is syncing), and loses the first
    # acknowledgement of every 3rd WRITE but one (the retransmission reaches a backend
    # that already holds the serial): every write must be stored once and succeed
    base, blocks = rich_blocks()
    net, tap = tapped_network(blocks=blocks, env={"ALICHAIN_TIMEOUT_MS": 5000})
    tap.pause_on_requests(lambda b: net.servers[b].proc.pid, {WIRE_WRITE: 3, WIRE_QUERY: 15})
    tap.lose_write_acks(3, 1)
    # one after the other, so that each transfer is a batch and a WRITE of its own (a
    # batch takes every transfer waiting: a burst would share few WRITEs)
    keys, outcomes = [], []
    for k in range(TRANSFERS_PAUSED):
        more_keys, procs = launch_burst(net, [k + 1], first=k)
        outcomes += list(zip(more_keys, communicate_all(procs, timeout=90)))
    for key, r in outcomes:
        assert r.rc == 0, (key, r)
    assert tap.type_seen[WIRE_WRITE] == TRANSFERS_PAUSED, tap.type_seen
    assert tap.counts["paused"] >= TRANSFERS_PAUSED // 3, tap.counts
    assert tap.counts["duplicates_delivered"] == tap.counts["paused"], tap.counts
    assert tap.counts["pause_timeouts"] == 0, tap.counts
    assert tap.counts["acks_lost"] == TRANSFERS_PAUSED // 3, tap.counts
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


def wait_listener_closed(port):
    """Waits until a TCP connect to port is refused (serverM closes its listeners as soon
    as it starts stopping). A probe that was in the listener's queue when it closed is
    reset instead of refused: that is the same news."""
    deadline = time.monotonic() + EVENT_TIMEOUT_S
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except (ConnectionRefusedError, ConnectionResetError):
            return
        assert time.monotonic() < deadline, f"port {port} still accepts connections"
        time.sleep(0.005)


def test_sigterm_lets_the_transfer_in_flight_finish(tapped_network):
    # SPEC: on SIGTERM a server finishes what is in flight. serverM gets it while a write
    # is durable on its backend but unacknowledged and a balance request waits behind it;
    # once the acknowledgement gets through, both clients are answered, and only then
    # serverM exits 0
    net, tap = tapped_network(env={"ALICHAIN_TIMEOUT_MS": 2000})
    tap.hold_next_write_ack()
    p = net.popen_client("A", "Chinmay", "Luke", "20")
    held = tap.wait("serverM sent no WRITE for a transfer")
    assert held.txs == [Tx(10, "Chinmay", "Luke", 20)], held
    # a second request arrives meanwhile and waits for the next batch
    q = net.popen_client("B", "Luke")
    net.wait_line("M", m_recv_balance("Luke", net.ports["tcpB"]))
    net.servers["M"].expected_exit = True
    net.send_signal("M", signal.SIGTERM)
    wait_listener_closed(net.ports["tcpA"])          # serverM is stopping now
    assert net.servers["M"].proc.poll() is None, "serverM left its transfer in flight"
    tap.heal()
    r, rq = communicate_all([p, q])
    assert (r.rc, r.lines) == (0, expected_transfer_ok_lines(
        "A", "Chinmay", "Luke", 20, 861)), r
    assert (rq.rc, rq.lines) == (0, expected_balance_lines("B", "Luke", 1200)), rq
    assert net.servers["M"].proc.wait(timeout=10) == 0
    assert Tx(10, "Chinmay", "Luke", 20) in net.all_disk_txs()


def test_restart_everything_keeps_the_ledger(net):
    for k in range(5):
        assert net.client("A", "Luke", "Ali", str(k + 1)).rc == 0
    for name in ("M", "A", "B", "C"):
        net.restart(name)
    assert net.client("B", "Luke").lines == expected_balance_lines("B", "Luke", 1180 - 15)
    r = net.client("A", "Ali", "Luke", "2")
    assert r.rc == 0, r
    assert Tx(15, "Ali", "Luke", 2) in net.all_disk_txs()
