# test_06_usage.py — every program's command line and settings: wrong arguments, invalid
# names and amounts, unknown options, repeated flags, values out of range or unusable
# (directories, control characters) exit 2 with one line on stderr naming the argument,
# nothing on stdout, nothing created and nothing sent; a flag overrides a malformed
# variable; "--" ends the options; one amount rule (no leading zeros) on argv, the wire and
# block files; stats columns fit 64-byte names; "unavailable" names the silent backends;
# dropped datagrams are reported as a count; --help exits 0; an unreachable serverM exits 3.
import os
import signal
import socket
import subprocess
import time

import pytest

from e2e_helpers import (
    READY_TIMEOUT_S, SAMPLE_DIR, c_insufficient, c_nouser_request, c_up, m_client_requests,
    m_recv_balance, m_sent_balance, parse_stats_output, program_env, read_until_closed, run_program,
    start_expect_exit, wait_file_text,
)

BAD_NAMES = ["N" * 65, "a b", "\u00e9", "a/b", "", "a\tb", "na*me", "x;y"]
BAD_AMOUNTS = ["0", "-5", "+5", "1.5", "1e3", "abc", "1000000000001", "", " 5", "5 ",
               "0x10", "99999999999999999999999", "18446744073709551621", "0012", "05",
               "01000000000000"]

USAGE_CASES = (
    [()]
    + [("a", "b", "c", "d"), ("Chinmay", "Luke", "5", "extra", "more")]
    + [(n,) for n in BAD_NAMES]
    + [(n, "stats") for n in BAD_NAMES]
    + [(n, "Luke", "5") for n in BAD_NAMES]
    + [("Chinmay", n, "5") for n in BAD_NAMES]
    + [("Chinmay", "Luke", a) for a in BAD_AMOUNTS]
    + [("Chinmay", "STATS"), ("Chinmay", "Stats"), ("Chinmay", "stat"), ("TXLIST", "now"),
       ("Chinmay", "Luke")]
)


def test_usage_errors_exit_2_and_send_nothing(net):
    for n, args in enumerate(USAGE_CASES):
        j = "AB"[n % 2]
        r = net.client(j, *args)
        assert r.rc == 2, (args, r)
        assert r.out == "", (args, r)
        assert len(r.err.strip().splitlines()) == 1, (args, r)  # one line, not the usage
    # nothing reached serverM: after one valid request, it has logged exactly one request
    r = net.client("A", "Chinmay")
    assert r.rc == 0, r
    lines = net.wait_line("M", m_recv_balance("Chinmay", net.ports["tcpA"]))
    assert m_client_requests(lines) == [m_recv_balance("Chinmay", net.ports["tcpA"])], lines


def test_largest_amount_is_valid(net):
    r = net.client("B", "Chinmay", "Luke", "1000000000000")
    assert r.rc == 1, r
    assert c_insufficient("Chinmay", 1000000000000, "Luke") in r.lines


@pytest.mark.parametrize("j", ["A", "B"])
def test_help_exits_0_with_usage_on_stdout(bin_dir, lease, j):
    r = run_program(bin_dir / f"client{j}", ["--help"], env=program_env(lease.offset))
    assert r.rc == 0, r
    low = r.out.lower()
    assert "usage" in low, r
    assert "TXLIST" in r.out and "stats" in r.out, r


@pytest.mark.parametrize("args", [("Chinmay",), ("Chinmay", "Luke", "5"), ("TXLIST",),
                                  ("Chinmay", "stats")])
def test_unreachable_main_server_exits_3(bin_dir, lease, tmp_path, args):
    r = run_program(bin_dir / "clientA", args, cwd=tmp_path, env=program_env(lease.offset))
    assert r.rc == 3, r
    assert r.err.strip() != "", r
    assert "The current balance" not in r.out and "successfully" not in r.out, r


# ---- one line naming the argument, nothing created, nothing bound ------------------------
def one_line_naming(r, named):
    """Asserts exit 2, empty stdout, exactly one stderr line, and that it names `named`."""
    assert r.rc == 2, r
    assert r.out == "", r
    lines = [l for l in r.err.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {r.err!r}"
    assert named in lines[0], (named, lines[0])


def server_dir(tmp_path):
    """A working directory with the sample blocks and a subdirectory `sub`."""
    d = tmp_path / "d"
    d.mkdir()
    for name in ("block1.txt", "block2.txt", "block3.txt"):
        (d / name).write_bytes((SAMPLE_DIR / name).read_bytes())
    (d / "sub").mkdir()
    return d


def listing(d):
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


SERVER_REFUSALS = [
    ("serverA", ["--bogus"], {}, '"--bogus"'),
    ("serverB", ["extra"], {}, '"extra"'),
    ("serverC", ["--", "x"], {}, '"x"'),
    ("serverM", ["--", "--seed", "1"], {}, '"--seed"'),
    ("serverM", ["--seed"], {}, "--seed needs a value"),
    ("serverM", ["--seed", "18446744073709551616"], {}, "--seed"),
    ("serverM", ["--seed", "1", "--seed", "2"], {}, "--seed is given twice"),
    ("serverA", ["--port-offset", "1000"], {}, "--port-offset"),
    ("serverA", ["--port-offset=abc"], {}, "--port-offset"),
    ("serverM", ["--timeout-ms", "0"], {}, "--timeout-ms"),
    ("serverM", ["--timeout-ms", "600001"], {}, "--timeout-ms"),
    ("serverM", ["--block", "block1.txt"], {}, '"--block"'),         # not serverM's
    ("serverA", ["--txlist", "x.txt"], {}, '"--txlist"'),            # not a backend's
    ("serverA", ["--block", "sub"], {}, "--block"),                  # a directory
    ("serverB", [], {"ALICHAIN_BLOCK": "sub"}, "ALICHAIN_BLOCK"),
    ("serverB", ["--block", "bl\nock2.txt"], {}, "--block"),         # a control character
    ("serverM", [], {"ALICHAIN_TXLIST": "a\x01b.txt"}, "ALICHAIN_TXLIST"),
    ("serverM", [], {"ALICHAIN_TXLIST": "a\nb.txt"}, "ALICHAIN_TXLIST"),
    ("serverM", ["--txlist", "sub"], {}, "--txlist"),                # a directory
    ("serverM", ["--txlist", "missing/list.txt"], {}, "--txlist"),   # no such directory
    ("serverM", ["--txlist", "x" * 201], {}, "--txlist"),            # longer than 200 bytes
    ("serverM", [], {"ALICHAIN_HOST_A": "nohost"}, "ALICHAIN_HOST_A"),
    ("serverA", [], {"ALICHAIN_HOST_M": "1.2.3"}, "ALICHAIN_HOST_M"),
    # where a program sends, "any" and broadcast are no address (issue 17 item 8)
    ("serverA", [], {"ALICHAIN_HOST_M": "0.0.0.0"}, "ALICHAIN_HOST_M"),
    ("serverM", [], {"ALICHAIN_HOST_B": "255.255.255.255"}, "ALICHAIN_HOST_B"),
]


@pytest.mark.parametrize("program,args,extra,named", SERVER_REFUSALS,
                         ids=[f"{p}-{i}" for i, (p, *_rest) in enumerate(SERVER_REFUSALS)])
def test_server_refuses_with_one_line_naming_it(bin_dir, lease, tmp_path, program, args, extra,
                                                named):
    d = server_dir(tmp_path)
    before = listing(d)
    r = start_expect_exit(bin_dir / program, d, program_env(lease.offset, extra),
                          "up and running", log_dir=tmp_path / "logs", args=args)
    one_line_naming(r, named)
    assert listing(d) == before, "a refused start created files"


def start_until_up(path, args, cwd, env, up_line, log_dir):
    """Starts a server that must start: waits for up_line, stops it with SIGTERM, returns
    (exit code, stdout, stderr)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_p, err_p = log_dir / "up.out", log_dir / "up.err"
    with open(out_p, "wb") as fo, open(err_p, "wb") as fe:
        proc = subprocess.Popen([str(path), *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=fo, stderr=fe)
    try:
        up, _ = wait_file_text(out_p, lambda t: up_line in t, READY_TIMEOUT_S, proc)
        assert up, f"did not start: {out_p.read_text()!r} {err_p.read_text()!r}"
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return rc, out_p.read_text(), err_p.read_text()


@pytest.mark.parametrize("program,extra,args", [
    ("serverA", {"ALICHAIN_PORT_OFFSET": "abc"}, ["--port-offset", "{off}"]),
    ("serverB", {"ALICHAIN_PORT_OFFSET": "{off}", "ALICHAIN_BLOCK": "sub"},
     ["--block", "block2.txt"]),
    ("serverM", {"ALICHAIN_PORT_OFFSET": "{off}", "ALICHAIN_SEED": "-1",
                 "ALICHAIN_TIMEOUT_MS": "0", "ALICHAIN_TXLIST": "a\nb"},
     ["--seed", "5", "--timeout-ms", "100", "--txlist", "out.txt"]),
])
def test_a_flag_overrides_a_malformed_variable(bin_dir, lease, tmp_path, program, extra, args):
    d = server_dir(tmp_path)
    off = str(lease.offset)
    env = program_env(None, {k: v.replace("{off}", off) for k, v in extra.items()})
    args = [a.replace("{off}", off) for a in args]
    rc, out, err = start_until_up(bin_dir / program, args, d, env, "up and running",
                                  tmp_path / "logs")
    assert rc == 0, (out, err)
    assert err == "", err


def test_client_flag_overrides_a_malformed_variable(net):
    env = program_env(None, {"ALICHAIN_PORT_OFFSET": "abc", "ALICHAIN_CLIENT_TIMEOUT_MS": "-"})
    r = run_program(net.bin_dir / "clientA",
                    ["--port-offset", str(net.offset), "--client-timeout-ms", "5000", "Chinmay"],
                    env=env)
    assert r.rc == 0, r
    assert r.lines[-1] == 'The current balance of "Chinmay" is : 881 alicoins.', r


CLIENT_REFUSALS = [
    (["--bogus", "Chinmay"], '"--bogus"'),
    (["Chinmay", "--port-offset", "5"], '"--port-offset"'),
    (["--port-offset", "5", "--port-offset", "6", "Chinmay"], "--port-offset is given twice"),
    (["--port-offset"], "--port-offset needs a value"),
    (["--client-timeout-ms", "0", "Chinmay"], "--client-timeout-ms"),
    (["--port-offset", "1000", "Chinmay"], "--port-offset"),
    ([], "missing the operation"),
    (["--"], "missing the operation"),
    (["Chinmay", "Luke", "5", "x"], '"x"'),
    (["Chinmay", "Stats"], '"Stats"'),
    (["Chinmay", "Luke", "0012"], '"0012"'),
    (["Chin may"], '"Chin may"'),
]


@pytest.mark.parametrize("args,named", CLIENT_REFUSALS)
def test_client_refuses_with_one_line_naming_it(net, args, named):
    r = net.client("A", *args)
    one_line_naming(r, named)
    # nothing reached serverM: after one valid request, it has logged exactly that one
    r = net.client("B", "Luke")
    assert r.rc == 0, r
    lines = net.wait_line("M", m_recv_balance("Luke", net.ports["tcpB"]))
    assert m_client_requests(lines) == [m_recv_balance("Luke", net.ports["tcpB"])], lines


def test_client_malformed_variable_without_flag_is_refused(net):
    env = program_env(None, {"ALICHAIN_PORT_OFFSET": "abc"})
    one_line_naming(run_program(net.bin_dir / "clientA", ["Chinmay"], env=env),
                    "ALICHAIN_PORT_OFFSET")


def test_control_characters_in_an_argument_are_escaped(net):
    r = net.client("A", "Ann\x1b[2Jx")
    one_line_naming(r, '"Ann\\x1b[2Jx"')
    assert "\x1b" not in r.err, r


@pytest.mark.parametrize("host", ["0.0.0.0", "255.255.255.255"])
def test_client_refuses_an_address_no_server_is_reached_at(net, host):
    # 0.0.0.0 was accepted, and then every operation was "unavailable"
    env = program_env(net.offset, {"ALICHAIN_HOST_M": host})
    r = run_program(net.bin_dir / "clientA", ["Chinmay"], env=env)
    one_line_naming(r, "ALICHAIN_HOST_M")
    assert "no address a server is reached at" in r.err, r


def test_double_dash_ends_the_options(net):
    # "--help" after "--" is a user name (valid characters), not a request for help
    r = net.client("A", "--", "--help")
    assert r.rc == 1, r
    assert r.lines == [c_up("A"), '"--help" sent a balance enquiry request to the main server.',
                       c_nouser_request("--help")], r
    r = net.client("A", "Chinmay", "--help")  # before "--": help, anywhere
    assert r.rc == 0 and "usage" in r.out, r


# ---- amounts: one rule (no leading zeros) on argv, the TCP wire and block files ----------
def test_amount_with_leading_zero_refused_on_the_wire(net):
    def send(line):
        s = socket.create_connection(("127.0.0.1", net.ports["tcpA"]), timeout=5)
        try:
            s.sendall(line)
            return read_until_closed(s, 5)[1]
        finally:
            s.close()
    assert send(b"ALICHAIN/1 TRANSFER Chinmay Luke 0012\n") == b"ERROR BADREQ\n"
    net.wait_err("M", lambda t: "malformed request line" in t)
    assert send(b"ALICHAIN/1 TRANSFER Chinmay Luke 12\n").startswith(b"OK TRANSFER 869 ")


@pytest.mark.parametrize("data, reason", [
    (b"1 Ann Bob 5\n2 Bob Ann 0012\n", "block1.txt:2: amount with a leading zero"),
    (b"01 Ann Bob 5\n", "block1.txt:1: serial with a leading zero"),  # one rule for both
])
def test_leading_zero_refused_in_a_block_file(bin_dir, lease, tmp_path, data, reason):
    d = tmp_path / "d"
    d.mkdir()
    (d / "block1.txt").write_bytes(data)
    r = start_expect_exit(bin_dir / "serverA", d, program_env(lease.offset), "up and running",
                          log_dir=tmp_path / "logs")
    assert r.rc != 0 and r.out == "", r
    assert reason in r.err, r
    assert sorted(p.name for p in d.iterdir()) == ["block1.txt"]


# ---- stats columns, unavailable backends, dropped datagrams -----------------------------
def test_stats_columns_aligned_for_64_byte_names(make_network):
    long_name = "L" * 64
    blocks = [f"1 Hub {long_name} 5\n2 Hub Al 7\n", "3 Bo Hub 1\n4 Hub Bo 2\n", ""]
    net = make_network(blocks=blocks)
    r = net.client("A", "Hub", "stats")
    assert r.rc == 0, r
    rows = parse_stats_output("A", "Hub", r.out)
    assert [name for _, name, _, _ in rows] == ["Bo", "Al", long_name]
    row_lines = r.lines[4:]

    def starts(line):
        return [i for i, ch in enumerate(line) if ch != " " and (i == 0 or line[i - 1] == " ")]
    assert len({tuple(starts(l)) for l in row_lines}) == 1, row_lines


def test_unavailable_names_every_backend_that_did_not_answer(make_network):
    # 1 s: serverA, which is not paused, must answer in time even on a loaded machine
    net = make_network(server_env={"M": {"ALICHAIN_TIMEOUT_MS": 1000}})
    net.pause("B")
    net.pause("C")
    try:
        r = net.client("A", "Chinmay")
    finally:
        net.resume("B")
        net.resume("C")
    assert r.rc == 3, r
    assert "serverB and serverC did not answer" in r.err, r
    assert "serverA" not in r.err, r
    # serverM says what it answered: not "sent the current balance" (issue 17 item 8)
    net.wait_err("M", lambda t: "answered client A without a result: ERROR UNAVAILABLE BC" in t)
    assert m_sent_balance("A") not in net.out_lines("M"), net.out("M")
    r = net.client("A", "Chinmay")
    assert r.rc == 0, r
    net.wait_line("M", m_sent_balance("A"))


def test_dropped_datagrams_are_reported_as_a_count(net):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _ in range(50):
            s.sendto(b"stray", ("127.0.0.1", net.ports["A"]))
    finally:
        s.close()
    net.wait_err("A", lambda t: "dropped" in t)
    dropped = [l for l in net.err("A").splitlines() if "dropped" in l]
    assert len(dropped) == 1, dropped
    assert "dropped 50 datagrams in the last second: from 127.0.0.1:" in dropped[0], dropped
    assert dropped[0].endswith(", not serverM (50)"), dropped
