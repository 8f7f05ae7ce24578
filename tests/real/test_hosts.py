# test_hosts.py — the real programs on network-namespace hosts (alichain-hosts): layout and
# isolation of the hosts, client operations across them, nft loss and partitions with their
# counters, the UDP fault relay's delay/duplication/reordering with every answer still
# right, and teardown (also of a killed run's leftovers). Needs root, ip and nft: without
# them the tests say so and skip — except under CI=true, where they fail.
import itertools
import os
import re
import signal
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from hosts_helpers import (
    HOST_ADDR, HostNetwork, Hosts, ci, netns_list, parse_relay_counts, root_links, wait_until,
)
from e2e_helpers import (
    BACKENDS, BLOCK_NAME, SAMPLE_DIR, balance_of, expected_balance_lines, members_of,
    parse_block,
)

FAULT_TIMEOUT_MS = 1500       # serverM's backend deadline in the fault tests: "unavailable" soon, yet not on a loaded machine's slow answer
CLIENT_CUT_TIMEOUT_MS = 1500  # a client that cannot reach serverM gives up after this
RELAY_SEED = 20261130
RELAY_SPEC = "delay=2-25,dup=30,reorder=30"
CONCURRENT_CLIENTS = 12
RELAY_ROUNDS = 2              # rounds of concurrent clients: reordering needs datagrams in flight
_tags = itertools.count()


def sample_txs():
    return [t for b in BACKENDS
            for t in parse_block((SAMPLE_DIR / BLOCK_NAME[b]).read_bytes(), BLOCK_NAME[b])]


@pytest.fixture(scope="module")
def tool(bin_dir):
    path = bin_dir / "alichain-hosts"
    assert path.exists(), f"{path} is missing: build it with make (sim/sim.mk)"
    r = subprocess.run([str(path), "check"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        why = f"NAMESPACE HOSTS UNAVAILABLE: {r.stderr.strip()} (exit {r.returncode})"
        print(why)
        if ci():
            pytest.fail(why + " — CI=true: this must run here")
        pytest.skip(why)
    # a killed earlier run (its owner gone) leaves namespaces behind: remove them first
    r = subprocess.run([str(path), "sweep"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r
    return path


@pytest.fixture
def hosts(tool):
    """A run's hosts, up; always torn down, and the teardown itself is checked."""
    h = Hosts(tool, f"t{next(_tags)}")      # the prefix already holds our pid
    try:
        h.up()
        yield h
    finally:
        r = h.down()
    assert r.rc == 0, f"teardown failed: {r}"
    assert h.prefix not in netns_list()


@pytest.fixture
def make_net(hosts, bin_dir, tmp_path):
    nets = []

    def make(**kw):
        n = HostNetwork(hosts, bin_dir, tmp_path / f"net{len(nets)}", **kw)
        nets.append(n)
        return n.start()

    yield make
    problems = [p for n in nets for p in n.close()]
    assert not problems, problems


# ---- the hosts themselves --------------------------------------------------------------
def ip_in(ns, *args):
    return subprocess.run(["ip", "-n", ns, *args], capture_output=True, text=True, timeout=30,
                          check=True).stdout


def test_hosts_layout_addresses_no_route_outside(hosts):
    before_links = root_links()
    listed = netns_list()
    for h, addr in HOST_ADDR.items():
        ns = hosts.names[h]
        assert ns in listed
        assert f"inet {addr}/24" in ip_in(ns, "-4", "addr", "show", "dev", "eth0")
        routes = ip_in(ns, "-4", "route", "show").strip().splitlines()
        assert routes == [f"198.18.0.0/24 dev eth0 proto kernel scope link src {addr} "
                          .strip()], routes   # the link only: no default route, no gateway
    # the bridge lives in its own namespace, joined by one veth per host
    bridge_links = ip_in(hosts.prefix + "br", "-o", "link", "show")
    assert "br0" in bridge_links
    assert all(f"v{h}@" in bridge_links for h in HOST_ADDR)
    # nothing of the run shows up among the root namespace's interfaces
    assert not any(name.startswith(("vM", "vA", "vB", "vC", "vK", "br0")) for name in before_links
                   - root_links())


def test_a_client_op_across_hosts(make_net):
    net = make_net()
    r = net.client("A", "Chinmay")
    assert r.rc == 0, r
    assert r.lines == expected_balance_lines("A", "Chinmay", balance_of(sample_txs(), "Chinmay"))
    r = net.client("B", "Chinmay", "Oliver", "5")
    assert r.rc == 0, r
    r = net.client("A", "Oliver")
    assert r.lines[-1].endswith(f"{balance_of(sample_txs(), 'Oliver') + 5} alicoins."), r
    # serverM really heard the backends from their own hosts' addresses
    m_err = (net.logs / "serverM.err").read_text()
    assert "not a backend" not in m_err, m_err


# ---- kernel faults ------------------------------------------------------------------------
def assert_unavailable(r, backend):
    assert r.rc == 3, r
    assert f"unavailable: server{backend} did not answer the main server in time" in r.err, r


def test_full_loss_one_way_gives_unavailable_and_counts(make_net, hosts):
    net = make_net(env={"ALICHAIN_TIMEOUT_MS": FAULT_TIMEOUT_MS})
    hosts.op("loss", "A", "M", "100")          # serverA's answers never reach serverM
    r = net.client("A", "Chinmay")
    assert_unavailable(r, "A")
    c = hosts.counters()
    assert c.get("loss_A_M", 0) > 0, c          # the kernel really dropped them
    hosts.op("heal")
    r = net.client("A", "Chinmay")
    assert r.rc == 0, r


PARTIAL_LOSS_QUERIES_MAX = 40    # at 50 % a query's datagram survives: 2^-40 that none is lost


def test_partial_loss_draws_and_counts(make_net, hosts):
    net = make_net()
    hosts.op("loss", "M", "B", "50")           # half of serverM's datagrams to serverB
    txs = sample_txs()
    users = ("Chinmay", "Oliver", "Ben", "Luke", "Alice")
    # queries until the kernel has dropped one (each is a draw: five alone pass untouched
    # once in 32), every answer right all the same: retries carry the reads through
    for k in range(PARTIAL_LOSS_QUERIES_MAX):
        u = users[k % len(users)]
        r = net.client("A", u)
        assert r.rc == 0, r
        assert r.lines[-1].endswith(f"{balance_of(txs, u)} alicoins."), r
        if k + 1 >= len(users) and hosts.counters().get("loss_M_B", 0) > 0:
            break
    assert hosts.counters().get("loss_M_B", 0) > 0, "no datagram lost in %d queries" % PARTIAL_LOSS_QUERIES_MAX


def test_partition_both_ways_one_way_isolate_and_heal(make_net, hosts):
    net = make_net(env={"ALICHAIN_TIMEOUT_MS": FAULT_TIMEOUT_MS})
    hosts.op("partition", "M", "B")
    assert_unavailable(net.client("A", "Chinmay"), "B")
    c = hosts.counters()
    assert c.get("part_M_B", 0) > 0, c          # serverM's queries stopped at B's door
    hosts.op("heal", "M", "B")                  # one direction healed: B's answers still cut
    assert_unavailable(net.client("A", "Chinmay"), "B")
    assert hosts.counters().get("part_B_M", 0) > 0
    hosts.op("heal", "B", "M")
    assert net.client("A", "Chinmay").rc == 0
    # one way: the clients' host cannot reach serverM at all
    hosts.op("cut", "K", "M")
    r = net.client("B", "Chinmay", env={"ALICHAIN_CLIENT_TIMEOUT_MS": CLIENT_CUT_TIMEOUT_MS})
    assert r.rc == 3, r                         # its SYNs never arrive: its own deadline ends it
    assert hosts.counters().get("tcp_part_K_M", 0) > 0   # its SYNs: a partition's TCP
    hosts.op("heal")
    assert net.client("B", "Chinmay").rc == 0
    # isolate: serverC's host hears nothing and says nothing
    hosts.op("isolate", "C")
    assert_unavailable(net.client("A", "Chinmay"), "C")
    assert hosts.counters().get("iso_C", 0) > 0
    hosts.op("heal")
    r = net.client("A", "Chinmay")
    assert r.rc == 0, r


def test_fault_arguments_refused(hosts):
    for args in (("loss", "A", "M", "0"), ("loss", "A", "M", "101"), ("loss", "A", "A", "5"),
                 ("cut", "X", "M"), ("isolate", "Q")):
        r = hosts.op(*args, check=False)
        assert r.rc == 2, (args, r)
        assert r.err.startswith("alichain-hosts: "), r


# ---- the UDP fault relay -------------------------------------------------------------------
def test_relay_delay_dup_reorder_every_answer_right(make_net):
    net = make_net(relay={"seed": RELAY_SEED, "down": RELAY_SPEC, "up": RELAY_SPEC})
    txs = sample_txs()
    users = sorted(members_of(txs))
    for _ in range(RELAY_ROUNDS):
        procs = [(u, net.popen_client("AB"[i % 2], u))
                 for i, u in zip(range(CONCURRENT_CLIENTS), itertools.cycle(users))]
        for u, p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, (u, out, err)
            assert out.decode().splitlines()[-1].endswith(f"{balance_of(txs, u)} alicoins."), \
                (u, out)
    r = net.client("A", "Chinmay", "Oliver", "7")
    assert r.rc == 0, r
    r = net.client("B", "TXLIST")
    assert r.rc == 0, r
    total = {k: 0 for k in ("received", "forwarded", "pending", "duplicated", "delayed",
                            "reordered", "dropped_full", "foreign")}
    for b, counts in net.stop_relays().items():
        for d in ("down", "up"):
            for k in total:
                total[k] += counts[d][k]
        assert counts["down"]["received"] > 0 and counts["up"]["received"] > 0, (b, counts)
    print("relay totals:", total)
    assert total["duplicated"] > 0 and total["delayed"] > 0 and total["reordered"] > 0, total
    assert total["forwarded"] + total["pending"] + total["dropped_full"] == \
        total["received"] + total["duplicated"], total
    assert total["foreign"] == 0, total
    # the transfer is on disk exactly once, whatever the duplicates did
    on_disk = [t for b in BACKENDS
               for t in parse_block((net.root / BLOCK_NAME[b]).read_bytes(), BLOCK_NAME[b])]
    assert sum(1 for t in on_disk if (t.sender, t.receiver, t.amount) == ("Chinmay", "Oliver", 7)) == 1
    serials = sorted(t.serial for t in on_disk)
    assert serials == list(range(1, len(serials) + 1))


def test_realnet_back_end_drives_servers_and_faults(tool, bin_dir, build_dir):
    """sim/real/realnet_ns.c, the back end `alichain-sim real` uses for namespace hosts, driven
    through its realnet_t hooks by a C test (tests/sim/test_sim_realnet_ns.c)."""
    exe = build_dir / "tests" / "sim" / "test_sim_realnet_ns"
    assert exe.exists(), "build it with make test-run (TEST_RUN_EXTRA)"
    r = subprocess.run([str(exe), str(bin_dir), str(SAMPLE_DIR)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"\d+ passed, 0 failed", r.stdout)
    print(r.stdout)


def test_relay_refuses_bad_options(tool):
    for args in (["relay"], ["relay", "--seed", "1"], ["relay", "--seed", "x", "--link", "a"],
                 ["relay", "--seed", "1", "--down", "dup=200", "--link",
                  "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3,127.0.0.1:4"]):
        r = subprocess.run([str(tool), *args], capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, (args, r)


def test_relay_counts_a_stranger_and_forwards_nothing_from_it(tool, tmp_path):
    """On loopback (no namespace needed): a datagram to the front socket from anyone but
    serverM's address is counted as foreign and not forwarded."""
    import socket
    m = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    m.bind(("127.0.0.1", 0))
    backend = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    backend.bind(("127.0.0.2", 0))
    backend.settimeout(0.3)
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.3", 0))
    front_addr = front.getsockname()
    front.close()                                # the relay binds it next
    fp, mp, bp = front_addr[1], m.getsockname()[1], backend.getsockname()[1]
    link = f"127.0.0.3:{fp},127.0.0.1:{mp},127.0.0.4:{fp},127.0.0.2:{bp}"
    relay = subprocess.Popen([str(tool), "relay", "--seed", "1", "--link", link],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert relay.stdout.readline().startswith("relay: ready")
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.sendto(b"forged", front_addr)
        m.sendto(b"real", front_addr)
        got, src = backend.recvfrom(100)
        assert got == b"real" and src == ("127.0.0.4", fp)
        backend.sendto(b"answer", src)
        m.settimeout(2)
        got, src = m.recvfrom(100)
        assert got == b"answer" and src == front_addr   # from where serverM expects it
        with pytest.raises(socket.timeout):
            backend.recvfrom(100)                # the forged one never arrives
    finally:
        relay.send_signal(signal.SIGTERM)
        out, _ = relay.communicate(timeout=10)
    counts = parse_relay_counts(out)
    assert counts["down"]["foreign"] == 1 and counts["down"]["forwarded"] == 1, counts
    assert counts["up"]["forwarded"] == 1, counts


# ---- teardown ------------------------------------------------------------------------------
def test_down_removes_everything_and_kills_what_ran_inside(tool):
    links_before = root_links()
    h = Hosts(tool, "down")
    try:
        h.up()
        inside = subprocess.Popen(h.exec_argv("A", ["sleep", "60"]))
        assert h.op("down").rc == 0
        assert inside.wait(timeout=10) == -signal.SIGTERM   # a clean stop first (SIGKILL after a grace)
    finally:
        h.down()
    assert h.prefix not in netns_list()
    assert root_links() <= links_before     # no veth or bridge left behind in the root
    assert h.op("down").rc == 0             # idempotent


def test_interrupted_up_leaves_nothing(tool):
    """SIGINT while the hosts are being built (the bridge namespace exists, the rest not
    yet): `up` finishes the step, removes everything again and exits 130."""
    h = Hosts(tool, "intr")
    bridge = Path("/run/netns") / (h.prefix + "br")
    proc = subprocess.Popen([h.tool, "up", h.tag, "--owner", str(h.owner)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: bridge.exists() or proc.poll() is not None, 10, poll_s=0.001)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, (proc.returncode, out, err)
        assert "interrupted" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        h.down()
    assert h.prefix not in netns_list()


def test_sweep_removes_a_killed_runs_namespaces_only(tool):
    dead = subprocess.Popen(["sleep", "60"])
    live = Hosts(tool, "live")
    stale = Hosts(tool, "stale")
    stale.owner = dead.pid
    stale.prefix = f"alc-{dead.pid}-stale-"
    try:
        live.up()
        stale.up()
        dead.kill()
        dead.wait()
        r = live.run("sweep")
        assert re.match(r"sweep: removed [1-9]\d* stale namespace", r.out), r
        listed = netns_list()
        assert stale.prefix not in listed
        assert all(live.prefix + h in listed for h in HOST_ADDR)   # a live run is untouched
    finally:
        live.down()
        stale.down()
    assert live.prefix not in netns_list()


@pytest.mark.parametrize("args, rc, needle", [
    (["--help"], 0, "usage: alichain-hosts"),
    (["up", "t1", "-h"], 0, "usage: alichain-hosts"),
    (["nosuch", "t1"], 2, 'unknown command "nosuch"'),
    (["sweep", "now"], 2, 'unknown command "sweep" with arguments'),
    (["up", "a\x1b[2J"], 2, 'tag "a\\x1b[2J" is not'),
    (["up"], 2, "a TAG is needed"),
])
def test_help_unknown_commands_and_escaped_arguments(bin_dir, args, rc, needle):
    """No root needed: the command line is read before anything is touched."""
    r = subprocess.run([str(bin_dir / "alichain-hosts"), *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == rc, r
    text = r.stdout if rc == 0 else r.stderr
    assert needle in text.splitlines()[0], r
    assert "\x1b" not in r.stderr, r


def test_the_by_hand_session_of_the_docs_runs_as_written(tool, bin_dir, tmp_path):
    """docs/REAL-HOSTS.md's by-hand session, verbatim, from a checkout-like directory (the
    programs at its root after make, data/sample/): it started the servers where no block
    files were, and failed as written."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "REAL-HOSTS.md").read_text()
    block = re.search(r"A by-hand session \(root\).*?```\n(.*?)```", text, re.S).group(1)
    root = tmp_path / "checkout"
    (root / "data").mkdir(parents=True)
    (root / "data" / "sample").symlink_to(SAMPLE_DIR)
    for p in ("alichain-hosts", "serverM", "serverA", "serverB", "serverC", "clientA", "clientB"):
        (root / p).symlink_to(bin_dir / p)
    r = subprocess.run(["bash", "-c", block], cwd=root, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    subprocess.run([str(tool), "sweep"], capture_output=True, timeout=60)  # if it failed half-way
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert 'The current balance of "Chinmay" is : 881 alicoins.' in r.stdout, out
    assert "the ledger is unavailable: serverA did not answer" in r.stderr, out
    assert re.search(r"^counter loss_A_M host M packets [1-9]", r.stdout, re.M), out
    assert "-demo-" not in netns_list()


def test_without_root_it_says_so(tool):
    # a copy the other user can reach (the checkout may be private to root)
    d = Path(tempfile.mkdtemp(prefix="alichain-hosts-tool-"))
    try:
        d.chmod(0o755)
        shutil.copy2(tool, d / tool.name)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            str(d / tool.name), "check"], capture_output=True, text=True, timeout=30)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert r.returncode == 3, r
    assert "not root" in r.stderr, r
