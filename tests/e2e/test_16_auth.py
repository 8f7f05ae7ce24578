# test_16_auth.py — backends take writes only from the real serverM (README.md
# "Authenticated backends", docs/PROTOCOL.md 1.10 and 3.5, docs/THREATS.md). Each test is an
# attack or a mistake that worked, or went unexplained, before every serverM <-> backend
# datagram carried a MAC of the servers' shared key:
#   - a process that binds serverM's UDP port while serverM is down makes a backend store
#     a transfer of its own (a new user, no balance check);
#   - one datagram with incarnation 2**64-1 fenced the real serverM out until every backend
#     restarted;
#   - a genuine datagram replayed is taken again;
#   - a backend without a copy of the key (or with another) is only "unavailable";
#   - nothing says that a server runs without authentication.
import hashlib
import os
import re
import socket
import stat
import subprocess
import time

from e2e_helpers import (
    AUTH_TRAILER_BYTES, BACKENDS, REPO, TEST_KEY_FILE, expected_transfer_ok_lines, program_env,
    start_expect_exit, wait_file_text,
)

WIRE_QUERY = 1
WIRE_WRITE = 2
# the wire version the programs speak, from core/wire.h (a datagram of another is dropped
# before its MAC is looked at, which would make these tests pass for the wrong reason)
WIRE_VERSION = int(re.search(r"#define WIRE_VERSION (\d+)",
                             (REPO / "core" / "wire.h").read_text()).group(1))
AUTH_SCHEME_MAC = 2
REPORT_WAIT_S = 3          # drops are reported once their one-second window ends
INDEX = {"A": 0, "B": 1, "C": 2}
FORGED = "10 Chinmay Eve 800"


def header(typ, incarnation, request_id):
    return (bytes([0xA1, WIRE_VERSION, typ, 0]) + incarnation.to_bytes(8, "big") +
            request_id.to_bytes(8, "big"))


def name(s):
    return bytes([len(s)]) + s.encode()


def hello(incarnation, request_id=1):
    return header(WIRE_QUERY, incarnation, request_id) + bytes([0])


def varint(v):
    """LEB128, the shortest spelling (PROTOCOL.md 1.3)."""
    out = bytearray()
    while True:
        out.append((v & 0x7F) | (0x80 if v >= 0x80 else 0))
        v >>= 7
        if not v:
            return bytes(out)


def write(incarnation, request_id, serial, sender, receiver, amount, epoch=0):
    """A WRITE of one page transaction for the backend run of boot epoch `epoch` (a forger
    has not heard one: 0)."""
    return (header(WIRE_WRITE, incarnation, request_id) + epoch.to_bytes(8, "big") + bytes([1])
            + varint(serial) + name(sender) + name(receiver) + varint(amount))


def seal(msg, backend, seq, key):
    """The trailer of PROTOCOL.md 1.10, with key (bytes) the MAC's: BLAKE2b-256 keyed with
    the key (RFC 7693; libsodium's crypto_generichash)."""
    body = msg + bytes([AUTH_SCHEME_MAC, INDEX[backend]]) + seq.to_bytes(8, "big")
    return body + hashlib.blake2b(body, key=key, digest_size=32).digest()


def forge(msg, backend, seq=1):
    """What a forger without the key can send: the trailer with a MAC of another key."""
    return seal(msg, backend, seq, os.urandom(32))


def read_key(path=TEST_KEY_FILE):
    return bytes.fromhex(path.read_text().strip())


def now_us():
    return time.time_ns() // 1000


def m_socket(net):
    """A socket on serverM's UDP port, as the attacker of the issue binds it while serverM
    is down (backends take datagrams from that address only)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", net.ports["M"]))
    s.settimeout(0.5)
    return s


def replies(s, wait_s=0.5):
    got = []
    s.settimeout(wait_s)
    try:
        while True:
            got.append(s.recvfrom(4096)[0])
    except socket.timeout:
        pass
    return got


def stored_lines(net, b):
    return net.block_path(b).read_text().splitlines()


def test_forged_write_while_serverM_is_down_is_not_stored(net):
    net.stop("M")
    before = stored_lines(net, "A")
    inc = now_us()
    with m_socket(net) as s:
        a = ("127.0.0.1", net.ports["A"])
        # the attack as it worked: a hello to fence the backend, then the WRITE ...
        s.sendto(hello(inc), a)
        s.sendto(write(inc, 2, 10, "Chinmay", "Eve", 800), a)
        # ... and the same with a trailer whose MAC is not of the servers' key
        s.sendto(forge(hello(inc, 3), "A", 1), a)
        s.sendto(forge(write(inc, 4, 10, "Chinmay", "Eve", 800), "A", 2), a)
        assert replies(s) == [], "the backend answered a forger"
    ok, err = wait_file_text(net.servers["A"].err_path, lambda t: "bad MAC" in t, REPORT_WAIT_S)
    assert ok, f"serverA did not report the bad MACs: {err!r}"
    assert "copy serverM's key file here" in err, err
    assert FORGED not in net.block_path("A").read_text()
    assert stored_lines(net, "A") == before
    net.start_server("M")
    r = net.client("A", "Eve")
    assert r.rc == 1, r     # Eve is still not part of the network
    assert FORGED not in net.block_path("A").read_text()


def test_huge_incarnation_cannot_fence_out_the_real_serverM(net):
    net.stop("M")
    top = 2**64 - 1
    with m_socket(net) as s:
        for b in BACKENDS:
            to = ("127.0.0.1", net.ports[b])
            s.sendto(hello(top), to)                          # the forgery of the issue
            s.sendto(forge(hello(top, 2), b), to)             # with a trailer
        assert replies(s) == [], "a backend answered a forger"
    net.start_server("M")
    r = net.client("A", "Chinmay", "Luke", "20")
    assert (r.rc, r.lines) == (0, expected_transfer_ok_lines("A", "Chinmay", "Luke", 20, 861)), r


def test_incarnation_from_the_future_is_refused_even_with_the_key(net):
    """A holder of the key (a serverM whose clock ran wild) moves a backend's fence at most
    BACKEND_INCARNATION_AHEAD_MAX_US (an hour) past the backend's clock."""
    net.stop("M")
    key = read_key()
    with m_socket(net) as s:
        for b in BACKENDS:
            s.sendto(seal(hello(2**64 - 1), b, 1, key), ("127.0.0.1", net.ports[b]))
        assert replies(s) == []
        # an incarnation within the bound is taken (the hello is answered)
        s.sendto(seal(hello(now_us() + 60 * 10**6), "A", 2, key), ("127.0.0.1", net.ports["A"]))
        assert len(replies(s)) == 1
    ok, err = wait_file_text(net.servers["A"].err_path, lambda t: "ahead of this host's clock" in t,
                             REPORT_WAIT_S)
    assert ok, err
    net.start_server("M")   # its incarnation is below the one just taken: STALE for a while
    r = net.client("A", "Chinmay")
    assert r.rc == 3, r


def test_replayed_genuine_datagram_is_dropped(tapped_network):
    net, tap = tapped_network()
    r = net.client("A", "Chinmay", "Luke", "20")
    assert r.rc == 0, r
    with tap.lock:
        held = list(tap.writes.values())
    assert len(held) == 1, held
    w = held[0]
    assert len(w.data) > AUTH_TRAILER_BYTES
    # the backend flushes its screen lines after its reply is sent (at its loop turn's end):
    # the count is taken once it has stopped moving
    def count():
        return net.out(w.backend).count("received a request from the Main Server")
    received, deadline = -1, time.monotonic() + REPORT_WAIT_S
    while received != count() and time.monotonic() < deadline:
        received = count()
        time.sleep(0.2)
    line = "10 Chinmay Luke 20"
    # the WRITE serverM sent, replayed from the address the backend takes serverM's from
    tap._to_backends.sendto(w.data, ("127.0.0.1", net.ports[w.backend]))
    ok, err = wait_file_text(net.servers[w.backend].err_path, lambda t: "replayed" in t,
                             REPORT_WAIT_S)
    assert ok, f"server{w.backend} did not report the replay: {err!r}"
    assert net.out(w.backend).count("received a request from the Main Server") == received
    assert net.block_path(w.backend).read_text().splitlines().count(line) == 1
    # serverM's next requests (new sequence numbers) are served as before
    r = net.client("B", "Luke")
    assert r.rc == 0, r


def test_backend_without_the_key_says_so(make_network, tmp_path):
    other = tmp_path / "other.key"          # serverA's host never got serverM's key
    net = make_network(server_env={"A": {"ALICHAIN_KEY_FILE": str(other)}},
                       env={"ALICHAIN_TIMEOUT_MS": "400"})
    assert other.exists() and stat.S_IMODE(other.stat().st_mode) == 0o600
    assert "created a new key in" in net.err("A")
    r = net.client("A", "Chinmay")
    assert r.rc == 3, r                     # unavailable, as before, but no longer silent:
    ok, err = wait_file_text(net.servers["A"].err_path, lambda t: "bad MAC" in t, REPORT_WAIT_S)
    assert ok, err
    assert "copy serverM's key file here" in err, err


def test_insecure_mode_is_announced(make_network):
    net = make_network(env={"ALICHAIN_INSECURE": "1"})
    for srv in ("A", "B", "C", "M"):
        assert "WARNING: running WITHOUT authentication" in net.err(srv), (srv, net.err(srv))
    r = net.client("A", "Chinmay", "Luke", "20")
    assert r.rc == 0, r


def test_keyed_backend_refuses_an_insecure_serverM(make_network):
    net = make_network(server_env={"M": {"ALICHAIN_INSECURE": "1"}},
                       env={"ALICHAIN_TIMEOUT_MS": "400"})
    r = net.client("A", "Chinmay")
    assert r.rc == 3, r
    ok, err = wait_file_text(net.servers["A"].err_path, lambda t: "unauthenticated" in t,
                             REPORT_WAIT_S)
    assert ok, err


def refused(bin_dir, lease, tmp_path, key_path, program="serverA"):
    d = tmp_path / "run"
    d.mkdir(exist_ok=True)
    (d / "block1.txt").write_text("1 Ali Luke 5\n")
    return start_expect_exit(bin_dir / program, d,
                             program_env(lease.offset, {"ALICHAIN_KEY_FILE": str(key_path)}),
                             "up and running", log_dir=tmp_path / "logs")


def test_key_file_open_to_others_is_refused(bin_dir, lease, tmp_path):
    key = tmp_path / "k"
    key.write_text(os.urandom(32).hex() + "\n")
    for mode in (0o640, 0o604, 0o660):
        key.chmod(mode)
        for program in ("serverA", "serverM"):
            r = refused(bin_dir, lease, tmp_path, key, program)
            assert r.rc == 2 and r.out == "", r
            assert len(r.err.splitlines()) == 1, r
            assert f"key file {key} is open to group or others" in r.err, r


def test_key_file_that_is_no_key_is_refused(bin_dir, lease, tmp_path):
    key = tmp_path / "k"
    for content in (b"", b"abc\n", os.urandom(32), (os.urandom(32).hex() + "\n\n").encode(),
                    b"x" * 64):
        key.write_bytes(content)
        key.chmod(0o600)
        r = refused(bin_dir, lease, tmp_path, key)
        assert r.rc == 2 and r.out == "", r
        assert len(r.err.splitlines()) == 1 and f"key file {key}" in r.err, r


def test_servers_starting_together_create_one_key(bin_dir, lease, tmp_path):
    """The key file is missing: the four servers, started at once, each try to create it;
    one wins and all four use its key (they answer each other)."""
    key = tmp_path / "keys" / "shared.key"
    key.parent.mkdir()
    d = tmp_path / "run"
    d.mkdir()
    from e2e_helpers import sample_blocks, BLOCK_NAME
    for b, content in zip(BACKENDS, sample_blocks()):
        (d / BLOCK_NAME[b]).write_bytes(content)
    env = program_env(lease.offset, {"ALICHAIN_KEY_FILE": str(key)})
    procs = []
    try:
        for prog in ("serverA", "serverB", "serverC", "serverM"):
            procs.append(subprocess.Popen([str(bin_dir / prog)], cwd=d, env=env,
                                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE))
        time.sleep(0.5)
        assert all(p.poll() is None for p in procs), [p.poll() for p in procs]
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert [p.name for p in key.parent.iterdir()] == ["shared.key"]  # no temporary left
        r = subprocess.run([str(bin_dir / "clientA"), "Chinmay", "Luke", "20"], env=env,
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r
    finally:
        errs = []
        for p in procs:
            p.terminate()
        for p in procs:
            _, e = p.communicate(timeout=10)
            errs.append(e.decode())
    assert sum("created a new key" in e for e in errs) == 1, errs
